"""Row helpers for statements that always return a row (INSERT ... RETURNING, aggregates)."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def one(row: T | None) -> T:
    """The row a statement is certain to return; a missing one is a bug, not a 404, so it raises."""
    if row is None:
        raise LookupError("the statement returned no row")
    return row
