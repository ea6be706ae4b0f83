"""schemathesis against the whole API over a real socket (fixed seed, a few hundred cases): no answer >= 500
but the documented 502/503, and every answer matches what /openapi.json declares. `make bench`
(bench/fuzz.py) runs the same loop with >= 5,000 cases."""

from __future__ import annotations

import pytest

from bench.fuzz import fuzz, report_lines

PER_OPERATION = 5


@pytest.mark.long
def test_generated_requests_never_break_the_api(live_api, app, clean_state):
    from shared.security.tokens import issue_session_token

    res = fuzz(app.openapi(), live_api.url, per_operation=PER_OPERATION,
               auth=lambda: {"Authorization": f"Bearer {issue_session_token()[0]}"})
    print("\n".join(report_lines(res)))
    assert res.cases >= 200
    assert res.server_errors == 0 and res.failures == [], "\n".join(report_lines(res))
    assert sum(n for s, n in res.statuses.items() if s < 300) > 0.1 * res.cases  # the handlers were reached
