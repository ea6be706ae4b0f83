"""shared/config.py reads the environment itself (no pydantic-settings on the cold path); it must read it as
pydantic-settings did. The reference is pydantic-settings itself, given the same fields and defaults."""

from __future__ import annotations

import pytest

from shared.config import Config, ConfigError


def _reference():
    from pydantic_settings import BaseSettings, SettingsConfigDict

    namespace = {"__annotations__": dict(Config.__annotations__),
                 "model_config": SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)}
    namespace.update({name: getattr(Config, name) for name in Config.__annotations__})
    return type("ReferenceConfig", (BaseSettings,), namespace)


def _samples(kind) -> list[str]:
    from typing import Literal, get_args, get_origin

    if kind is bool:
        return ["true", "False", "1", "0", "yes", "NO", "on", "off", "t", "f", "y", "n", " true "]
    if kind is int:
        return ["0", "42", "-7", " 12 ", "5.0", "1_000", "2.5", "1e3"]
    if kind is float:
        return ["0", "2.5", "-1.25", "1e3", " 3 "]
    if get_origin(kind) is Literal:
        return list(get_args(kind))
    return ["", "plain", "with spaces and = signs", "https://example.com/a/", "ünïcode"]


def test_every_field_parses_as_pydantic_settings_parsed_it(monkeypatch):
    from pydantic import ValidationError

    reference = _reference()
    checked = 0
    for name, kind in Config.__annotations__.items():
        for raw in _samples(kind):
            env_name = name.upper() if checked % 2 else name  # names are case-insensitive
            monkeypatch.setenv(env_name, raw)
            try:
                expected = getattr(reference(), name)
            except ValidationError:  # refused by the reference: refused here, naming the variable
                with pytest.raises(ConfigError, match=name.upper()):
                    Config()
            else:
                if name == "public_base_url":
                    expected = expected.rstrip("/")
                assert getattr(Config(), name) == expected, (name, raw)
                assert type(getattr(Config(), name)) is type(expected), (name, raw)
            monkeypatch.delenv(env_name)
            checked += 1
    assert checked > 400


@pytest.mark.parametrize("name,raw", [("login_max_attempts", "five"), ("login_max_attempts", "2.5"),
                                      ("tiktok_app_audited", "maybe"), ("media_worker_idle_wait_seconds", "soon"),
                                      ("app_env", "prod"), ("publish_mode", "LIVE")])
def test_a_value_pydantic_settings_refused_is_a_config_error_naming_the_variable(monkeypatch, name, raw):
    from pydantic import ValidationError

    monkeypatch.setenv(name.upper(), raw)
    with pytest.raises(ValidationError):
        _reference()()
    with pytest.raises(ConfigError, match=name.upper()):
        Config()


def test_defaults_keyword_overrides_and_unknown_variables(monkeypatch):
    monkeypatch.setenv("SOMETHING_ELSE_ENTIRELY", "x")
    monkeypatch.delenv("LOGIN_MAX_ATTEMPTS", raising=False)
    assert Config().login_max_attempts == 5
    monkeypatch.setenv("LOGIN_MAX_ATTEMPTS", "9")
    assert Config(login_max_attempts=3).login_max_attempts == 3
    assert Config().login_max_attempts == 9
    with pytest.raises(TypeError):
        Config(not_a_field=1)
