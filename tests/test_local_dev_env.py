"""`make dev`: a value the user sets in the environment wins over every local default."""

from __future__ import annotations

from shared.local.dev import effective_env

LOCAL = {"ALLOW_PRIVATE_NETWORK_FETCH": "true", "PUBLIC_BASE_URL": "http://localhost:3000", "APP_ENV": "development",
         "PUBLISH_MODE": "dry_run", "JWT_SECRET": "local-secret", "B2_REGION": "us-east-1",
         "UPSTASH_REDIS_REST_URL": "http://127.0.0.1:1111", "UPSTASH_REDIS_REST_TOKEN": "local-token"}


def test_an_explicit_value_wins_for_every_variable():
    explicit = {"ALLOW_PRIVATE_NETWORK_FETCH": "false", "APP_ENV": "test", "PUBLISH_MODE": "live",
                "JWT_SECRET": "mine" * 10, "B2_REGION": "eu-central-003", "PUBLIC_BASE_URL": "https://x.example"}
    env = effective_env(LOCAL, {**explicit, "PATH": "/usr/bin"})
    assert {k: env[k] for k in explicit} == explicit
    assert "PATH" not in env  # only the stack's own variables are decided here


def test_without_explicit_values_the_local_defaults_stand():
    assert effective_env(LOCAL, {"HOME": "/root"}) == LOCAL


def test_a_cloud_service_wins_only_as_a_complete_group():
    half = effective_env(LOCAL, {"UPSTASH_REDIS_REST_URL": "https://eu1.upstash.io"})
    assert half["UPSTASH_REDIS_REST_URL"] == "http://127.0.0.1:1111"  # a URL without its token would never work
    whole = effective_env(LOCAL, {"UPSTASH_REDIS_REST_URL": "https://eu1.upstash.io", "UPSTASH_REDIS_REST_TOKEN": "t"})
    assert whole["UPSTASH_REDIS_REST_URL"] == "https://eu1.upstash.io" and whole["UPSTASH_REDIS_REST_TOKEN"] == "t"

