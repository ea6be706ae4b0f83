"""Pure decisions of the foundation: table tests and hypothesis properties."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

# --- login lockout ---------------------------------------------------------------------------------
from shared.auth.client_ip import client_id, parse_networks
from shared.auth.lockout import GLOBAL_FREE, MAX_DELAY, decide, slowdown
from shared.maintenance.cleanup import retention_hours
from shared.settings.inventory import DEFAULTS, SPECS
from shared.settings.validation import check_patch, check_value, is_masked_echo


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failures
@given(count=st.integers(1, 50), ttl=st.integers(-2, 900), g=st.integers(1, 100_000),
       max_attempts=st.integers(1, 10))
def test_lockout_decision_properties(count, ttl, g, max_attempts):
    gate = decide(count, ttl, g, max_attempts=max_attempts, window_seconds=900)
    # only the client's own failures refuse it; however busy everyone else was, it is checked (maybe later)
    assert gate.allowed is (count <= max_attempts)
    if gate.allowed:
        assert gate.remaining == max_attempts - count and gate.retry_after == 0
        assert 0 <= gate.delay <= MAX_DELAY
        assert (gate.delay > 0) is (g > GLOBAL_FREE)
    else:
        assert gate.remaining == 0 and 1 <= gate.retry_after <= 900


def test_slowdown_grows_then_stays_bounded():
    delays = [slowdown(g) for g in range(GLOBAL_FREE + 200)]
    assert delays[:GLOBAL_FREE + 1] == [0] * (GLOBAL_FREE + 1)
    assert delays == sorted(delays) and delays[-1] == MAX_DELAY


PROXIES = parse_networks("10.0.0.0/8, 2001:db8:ffff::/48")


@pytest.mark.parametrize("headers,peer,header,expected", [
    # nothing declared: the peer, whatever the client wrote
    ({"x-forwarded-for": "198.51.100.1"}, "203.0.113.7", "", "203.0.113.7"),
    ({"x-forwarded-for": "198.51.100.1", "x-vercel-forwarded-for": "198.51.100.2"}, "203.0.113.7", "",
     "203.0.113.7"),
    # a declared platform header: its first entry
    ({"x-vercel-forwarded-for": "198.51.100.2", "x-forwarded-for": "6.6.6.6"}, "10.1.1.1",
     "x-vercel-forwarded-for", "198.51.100.2"),
    ({"x-forwarded-for": "6.6.6.6"}, "192.0.2.5", "x-vercel-forwarded-for", "192.0.2.5"),  # absent: the peer
    # our own proxy (10/8) in front: right to left, skipping our proxies
    ({"x-forwarded-for": "forged, 203.0.113.9, 10.0.0.3"}, "10.0.0.2", "", "203.0.113.9"),
    ({"x-forwarded-for": "203.0.113.9"}, "10.0.0.2", "", "203.0.113.9"),
    ({"x-forwarded-for": "10.0.0.4, 10.0.0.3"}, "10.0.0.2", "", "10.0.0.4"),  # only proxies: the leftmost
    ({"x-forwarded-for": "junk-token, 10.0.0.3"}, "10.0.0.2", "", "junk-token"),
    ({}, "10.0.0.2", "", "10.0.0.2"),
    # IPv6: one /64 is one client; ports and brackets stripped
    ({}, "2001:db8:1:2:aaaa::1", "", "2001:db8:1:2::/64"),
    ({"x-vercel-forwarded-for": "[2001:DB8:1:2::9]:443"}, None, "x-vercel-forwarded-for", "2001:db8:1:2::/64"),
    ({"x-vercel-forwarded-for": " 198.51.100.3:5123 "}, None, "x-vercel-forwarded-for", "198.51.100.3"),
    ({}, "::ffff:192.0.2.7", "", "192.0.2.7"),
    ({}, None, "", "unknown"),
    ({"x-vercel-forwarded-for": ","}, "192.0.2.9", "x-vercel-forwarded-for", "192.0.2.9"),
])
def test_client_id(headers, peer, header, expected):
    assert client_id(headers, peer, header=header, trusted_proxies=PROXIES) == expected


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failures
@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=50)), st.booleans())
def test_client_id_is_bounded_and_never_empty(xff, peer, declared):
    cid = client_id({"x-forwarded-for": xff, "x-vercel-forwarded-for": xff}, peer,
                    header="x-vercel-forwarded-for" if declared else "", trusted_proxies=PROXIES)
    assert cid and len(cid) <= 64 and cid.isprintable() and not any(ch.isspace() for ch in cid)


# --- settings validation ------------------------------------------------------------------------------


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(SPECS)), value=json_values)
def test_check_value_matches_the_kind(key, value):
    spec = SPECS[key]
    why = check_value(spec, value)
    if value is None:
        assert why is None
    elif spec.secret:
        assert (why is None) == isinstance(value, str)
    elif spec.kind == "bool":
        assert (why is None) == isinstance(value, bool)
    elif spec.kind == "list":
        assert (why is None) == isinstance(value, list)
    elif spec.kind == "number":
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric and isinstance(value, str):
            try:
                numeric = math.isfinite(float(value)) and bool(value.strip())
            except ValueError:
                numeric = False
        assert (why is None) == numeric


def test_every_default_passes_its_own_check():
    for key, default in DEFAULTS.items():
        assert check_value(SPECS[key], default) is None, key


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failures
@given(st.dictionaries(st.text(min_size=1, max_size=12), st.integers(), max_size=6))
def test_unknown_keys_are_exactly_those_outside_the_inventory(patch):
    assert check_patch(patch).unknown == sorted(k for k in patch if k not in SPECS)


@pytest.mark.parametrize("value,echo", [("sk-p••••6789", True), ("••••••••", True), ("••••••••••••••••", True),
                                        ("sk-proj-real", False), ("", False), (None, False), (12, False)])
def test_masked_echo(value, echo):
    assert is_masked_echo(value) is echo


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failures
@given(st.text(min_size=1, max_size=80).filter(lambda s: "•" not in s))
def test_a_mask_is_always_recognised_as_an_echo(secret):
    from shared.security.secretbox import mask_secret

    assert is_masked_echo(mask_secret(secret))
    if len(secret) <= 12:  # short secrets reveal nothing at all
        assert mask_secret(secret) == "••••••••"


# --- cleanup --------------------------------------------------------------------------------------------



@pytest.mark.parametrize("value,default,expected", [
    (168, 1, 168.0), ("24", 1, 24.0), ("", 7, 7), (None, 7, 7), ("soon", 7, 7), (0, 7, None), (-5, 7, None),
])
def test_retention_hours(value, default, expected):
    assert retention_hours(value, default) == expected


# --- cold start guard ------------------------------------------------------------------------------------

HEAVY = ("psycopg", "psycopg_pool", "upstash_redis", "qstash", "boto3", "botocore", "feedparser", "jwt", "argon2",
         "cryptography", "imageio_ffmpeg", "PIL", "httpx", "openai", "mangum")


def test_the_vercel_entry_imports_no_heavy_library():
    """Modules reachable from the API must import heavy libraries inside the functions that use them
    (bench/imports.py shows the cost). This guards every router other areas register."""
    code = f"import sys, functions.api; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT),
           "APP_ENV": "development"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    loaded = [m for m in out.stdout.strip().split(",") if m]
    assert not loaded, f"imported at cold start (make these imports lazy): {loaded}"


def test_password_hash_command():
    from shared.security.passwords import verify_password

    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "shared.security.passwords"], input="a long enough password\n",
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    h = r.stdout.strip()
    assert h.startswith("$argon2id$") and verify_password("a long enough password", h)
    assert not verify_password("a long enough passwore", h)
    r = subprocess.run([sys.executable, "-m", "shared.security.passwords"], input="short\n", cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "12 characters" in r.stderr
