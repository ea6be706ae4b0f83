"""Helpers for the budget tests (meter, dispatcher, feed checks). Not a test module."""

from __future__ import annotations

import importlib


def no_database(monkeypatch) -> None:
    """Make any attempt to reach Postgres fail loudly: what runs next must not wake a sleeping compute."""
    c = importlib.import_module("shared.db.connection")  # the package re-exports a function of the same name

    def refuse():
        raise AssertionError("the database was touched")
    monkeypatch.setattr(c, "get_pool", refuse)
