"""The live day-simulation scenarios point the API process at the platform fakes (tests/publishing_fakes/world.py
`World.env`, which names a YouTube host of its own, yt.test) and at the comment automation's stand-ins
(bench/_sim_comments.py). The comment polls must keep reaching the stand-ins: yt.test is not among the hosts the
live scenarios route to the fakes, so a poll sent there fails with a connection error and the live scenarios would
measure a day without the comment automation's work."""

from publishing_fakes.world import World

from bench import _sim_comments
from bench.day_simulation import LIVE, SCENARIOS, api_environment

STAND_INS = "http://127.0.0.1:18123"


def test_live_scenarios_poll_comments_from_the_stand_ins():
    fakes = {**World().env(), "SIM_FAKE_PORT": "1", "SIM_FAKE_HOSTS": "x.test,graph.test"}
    for name in ("default-live", "default-live-staged"):
        env = api_environment(_sim_comments.env(STAND_INS), fakes, SCENARIOS[name][2])
        assert env["YOUTUBE_API_BASE"] == STAND_INS, name
        assert env["OPENAI_BASE_URL"] == STAND_INS + "/v1", name
        assert env["PUBLISH_MODE"] == LIVE["PUBLISH_MODE"]
        # the posts still go to the fakes
        assert env["X_API_BASE"] == "https://x.test" and env["META_GRAPH_BASE"] == "https://graph.test"

