"""The stdlib HS256 check (shared/auth/hs256.py) against PyJWT itself, the library that issues our tokens.

Truth comes from outside: every token below is written by PyJWT (or by PyJWT and then tampered with), and
PyJWT's own `decode` with the options the app used before is the reference. What the check must never do is
accept a token PyJWT refuses; what PyJWT issues in the app's form must verify.
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import time

import jwt
import pytest

from shared.auth import hs256

KEY = "k" * 48
NOW = int(time.time())  # at collection: claims meant to be valid or in the future are days away from it
CLAIMS = {"sub": "owner", "iat": NOW, "iatms": NOW * 1000, "exp": NOW + 3600, "jti": "a" * 32, "typ": "session",
          "pwv": "0123456789abcdef"}


def pyjwt_decode(token, key=KEY):
    return jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp", "iat", "sub"]})


def pyjwt_accepts(token, key=KEY) -> bool:
    try:
        pyjwt_decode(token, key)
        return True
    except jwt.PyJWTError:
        return False


def ours_accepts(token, key=KEY) -> bool:
    try:
        hs256.verify(token, key)
        return True
    except hs256.InvalidToken:
        return False


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge(header: dict | bytes, payload: dict | bytes, key: str = KEY) -> str:
    """A token whose signature is right for its content, with any header and payload (PyJWT would not write
    most of these): what an attacker who knows the format but not the key can only do with the key."""
    import hashlib
    import hmac

    h = b64(header if isinstance(header, bytes) else json.dumps(header).encode())
    p = b64(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    sig = hmac.new(key.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(sig)}"


def test_tokens_pyjwt_issues_verify_with_the_same_claims():
    for claims, headers in [(CLAIMS, None), ({**CLAIMS, "extra": [1, {"x": None}]}, None),
                            (CLAIMS, {"kid": "k1"}), (CLAIMS, {"typ": "JWT", "cty": "x"}),
                            ({"sub": "owner", "iat": NOW, "exp": NOW + 10 ** 6, "nbf": NOW - 1}, None),
                            ({"sub": "ü ✓", "iat": NOW - 0.5, "exp": NOW + 10 ** 6 + 0.5}, None)]:
        token = jwt.encode(claims, KEY, algorithm="HS256", headers=headers)
        assert hs256.verify(token, KEY) == pyjwt_decode(token) == json.loads(json.dumps(claims))


def test_the_apps_own_session_tokens_verify_and_verifying_never_imports_pyjwt(backing):
    from conftest import ROOT

    from shared.config import get_config
    from shared.security.tokens import issue_session_token, verify_session_token

    token, exp = issue_session_token()
    claims = verify_session_token(token)
    assert claims["exp"] == exp and claims["typ"] == "session"
    assert claims == pyjwt_decode(token, get_config().jwt_secret)
    code = ("import sys; from shared.security.tokens import verify_session_token; "
            f"verify_session_token({token!r}); print('jwt' in sys.modules, 'cryptography' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("case", ["signature", "payload", "header"])
def test_every_single_character_change_is_refused(case):
    token = jwt.encode(CLAIMS, KEY, algorithm="HS256")
    h, p, s = token.split(".")
    seg = {"header": h, "payload": p, "signature": s}[case]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    tried = 0
    for i in range(len(seg)):
        for c in random.Random(i).sample(alphabet, 6):
            if c == seg[i]:
                continue
            changed = seg[:i] + c + seg[i + 1:]
            bad = ".".join(changed if part == seg else part for part in (h, p, s))
            assert not ours_accepts(bad), (case, i, c)
            tried += 1
    assert tried > 100


def test_a_payload_changed_and_not_re_signed_is_refused():
    token = jwt.encode(CLAIMS, KEY, algorithm="HS256")
    h, _, s = token.split(".")
    for change in ({"exp": NOW + 10 ** 6}, {"sub": "someone"}, {"typ": "session", "iatms": 0}):
        p = b64(json.dumps({**CLAIMS, **change}).encode())
        assert not ours_accepts(f"{h}.{p}.{s}") and not pyjwt_accepts(f"{h}.{p}.{s}")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS384", "HS512", "RS256", "ES256", "hs256", "HS256 ",
                                 None, 256, ["HS256"]])
def test_only_hs256_is_accepted_even_when_the_rest_is_right(alg):
    header = {"typ": "JWT"} if alg is None else {"alg": alg, "typ": "JWT"}
    token = forge(header, CLAIMS)
    assert not ours_accepts(token)
    assert not pyjwt_accepts(token)


def test_alg_none_as_pyjwt_writes_it_is_refused():
    token = jwt.encode(CLAIMS, None, algorithm="none")
    assert not ours_accepts(token) and not pyjwt_accepts(token)
    assert not ours_accepts(token + "AAAA")  # with some signature appended


@pytest.mark.parametrize("change", [
    {"exp": None}, {"iat": None}, {"sub": None}, {"exp": NOW - 1}, {"exp": NOW}, {"exp": NOW - 10 ** 6},
    {"iat": NOW + 10 ** 6}, {"nbf": NOW + 10 ** 6}, {"exp": "never"}, {"aud": "someone"}, {"aud": ["a"]},
    {"sub": 7}, {"sub": ["owner"]}, {"jti": 5}, {"iat": "x"}, {"nbf": "x"}, {"exp": [NOW + 10]},
])
def test_claims_pyjwt_refuses_are_refused(change):
    claims = {**CLAIMS, **change}
    claims = {k: v for k, v in claims.items() if v is not None}
    token = jwt.encode(claims, KEY, algorithm="HS256")
    assert not pyjwt_accepts(token)  # the reference says no
    assert not ours_accepts(token)


def test_an_expired_token_says_so_and_a_wrong_key_does_not():
    expired = jwt.encode({**CLAIMS, "exp": NOW - 5}, KEY, algorithm="HS256")
    with pytest.raises(hs256.ExpiredToken):
        hs256.verify(expired, KEY)
    with pytest.raises(jwt.ExpiredSignatureError):
        pyjwt_decode(expired)
    wrong = jwt.encode(CLAIMS, "w" * 48, algorithm="HS256")
    with pytest.raises(hs256.InvalidToken) as err:
        hs256.verify(wrong, KEY)
    assert not isinstance(err.value, hs256.ExpiredToken)
    assert not pyjwt_accepts(wrong)


def test_an_empty_key_verifies_nothing():
    token = forge({"alg": "HS256"}, CLAIMS, key="")
    assert not ours_accepts(token, key="")
    assert not pyjwt_accepts(token, key="")


def test_malformed_tokens_are_refused():
    token = jwt.encode(CLAIMS, KEY, algorithm="HS256")
    h, p, s = token.split(".")
    malformed = [
        "", ".", "..", "a.b", f"{h}.{p}", f"{h}.{p}.{s}.", f"{h}.{p}.{s}.{s}", f".{p}.{s}", f"{h}..{s}", f"{h}.{p}.",
        f"{h}=.{p}.{s}", f"{h}.{p}.{s}=", f"{h}.{p}.{s}==", f"{h}.{p}+.{s}", f"{h}.{p}.{s[:-1]}", f"{h}.{p}.{s}A",
        f"{h} .{p}.{s}", f"{h}.{p}.{s}\n", f"{h}.{p}.{s}é",
        forge(b"not json", CLAIMS), forge({"alg": "HS256"}, b"not json"), forge(b'["HS256"]', CLAIMS),
        forge({"alg": "HS256"}, b"[1, 2]"), forge({"alg": "HS256"}, b'"owner"'), forge({"alg": "HS256"}, b"null"),
        forge({"alg": "HS256"}, b"\xff\xfe{}"),
        forge({"alg": "HS256"}, json.dumps(CLAIMS).replace(str(NOW + 3600), "NaN").encode()),
        forge({"alg": "HS256"}, json.dumps(CLAIMS).replace(str(NOW + 3600), "Infinity").encode()),
        forge({"alg": "HS256"}, json.dumps(CLAIMS).replace(str(NOW + 3600), "1e400").encode()),  # parses to inf
        forge({"alg": "HS256", "crit": ["exp"]}, CLAIMS),
        forge({"alg": "HS256", "crit": ["b64"], "b64": False}, CLAIMS),
    ]
    standard_alphabet = jwt.encode({**CLAIMS, "jti": "?>?>?~~~"}, KEY, algorithm="HS256")
    assert "-" in standard_alphabet or "_" in standard_alphabet
    malformed.append(standard_alphabet.replace("-", "+").replace("_", "/"))
    for bad in malformed:
        assert not ours_accepts(bad), bad
        if bad.isascii():
            assert not pyjwt_accepts(bad) or bad in (f"{h}=.{p}.{s}", f"{h}.{p}.{s}=", f"{h}.{p}.{s}==",
                                                      f"{h}.{p}+.{s}", f"{h} .{p}.{s}", f"{h}.{p}.{s}\n",
                                                      malformed[-1]), bad


def test_a_second_spelling_of_the_same_signature_is_refused():
    """43 base64 characters carry 258 bits for a 256-bit signature: the last character has 2 spare bits, and a
    lenient decoder would take 4 spellings of one signature. Only the canonical one (what PyJWT writes) passes."""
    for i in range(50):
        token = jwt.encode({**CLAIMS, "jti": str(i)}, KEY, algorithm="HS256")
        h, p, s = token.split(".")
        last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(s[-1])
        twin = s[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last ^ 1]
        assert base64.urlsafe_b64decode(twin + "=") == base64.urlsafe_b64decode(s + "=")  # the same bytes
        assert not ours_accepts(f"{h}.{p}.{twin}")
        assert not pyjwt_accepts(f"{h}.{p}.{twin}")


def test_random_mutations_never_pass_ours_unless_pyjwt_accepts_them_too():
    rng = random.Random(15)
    valid = [jwt.encode({**CLAIMS, "jti": str(i)}, KEY, algorithm="HS256") for i in range(20)]
    accepted = 0
    for _ in range(4000):
        token = list(rng.choice(valid))
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            pos = rng.randrange(len(token))
            if op < 0.4:
                token[pos] = rng.choice("ABCxyz019-_.=+/ ")
            elif op < 0.7:
                del token[pos]
            else:
                token.insert(pos, rng.choice("Aa0-_."))
        candidate = "".join(token)
        if ours_accepts(candidate):
            accepted += 1
            assert pyjwt_accepts(candidate), candidate
            assert candidate in valid, candidate  # only a mutation that changed nothing (a char for itself)
    assert accepted < 400


def test_the_signature_is_compared_in_constant_time(monkeypatch):
    import hmac as real_hmac

    calls = []
    real = real_hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hs256.hmac, "compare_digest", spy)
    token = jwt.encode(CLAIMS, KEY, algorithm="HS256")
    hs256.verify(token, KEY)
    with pytest.raises(hs256.InvalidToken):
        hs256.verify(jwt.encode(CLAIMS, "w" * 48, algorithm="HS256"), KEY)
    assert len(calls) == 2 and all(len(a) == 32 and isinstance(a, bytes) for a, _ in calls)
