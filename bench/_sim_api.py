"""The API as the day simulation runs it: the production app (functions/api.py) in its own process. At exit (the
simulation stops it with SIGTERM) the instance writes out its last usage batch, as a function instance's last
flush would.

    python -m bench._sim_api <port>
"""

from __future__ import annotations

import atexit
import sys


def main() -> None:
    import os

    import uvicorn

    from functions.api import app
    from shared.usage import flush

    if os.environ.get("SIM_FAKE_PORT"):  # the live scenarios: the platforms' hostnames go to their fakes
        from pathlib import Path

        sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))
        from publishing_mp.worker import install_transport

        install_transport(set(os.environ["SIM_FAKE_HOSTS"].split(",")), int(os.environ["SIM_FAKE_PORT"]))

    atexit.register(flush.flush_now)
    import signal

    # uvicorn re-raises the SIGTERM it caught after a graceful shutdown; with the default handler that kills the
    # process before atexit runs. Exit normally instead, so the instance's last batch is written (a Vercel
    # instance that is simply frozen loses it: at most STALE_SECONDS of counts from invocations that neither
    # ran a delivery nor touched Postgres, see shared/usage/flush.py)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    import logging

    # the dispatcher says why each window woke the database: the simulation reads it back from this log
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
    logging.getLogger("screndly.dispatch").setLevel(logging.INFO)
    if os.environ.get("SIM_DEBUG"):  # why a post was not carried ahead (shared/publishing/staging/ahead.py)
        for name in ("screndly.rss.queue", "screndly.tmdb.delivery", "screndly.publishing.staging"):
            logging.getLogger(name).setLevel(logging.INFO)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
