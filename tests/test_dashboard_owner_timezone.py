"""The dashboard's "today" follows the owner's `timezone` setting; a name that is no zone falls back to the
default. owner_timezone() (migration 1100) decides it without reading pg_timezone_names on every poll."""

from __future__ import annotations

import pytest
from psycopg.types.json import Jsonb


def test_every_zone_postgres_lists_is_accepted_as_it_is(db):
    names = [r["name"] for r in db.execute("SELECT name FROM pg_timezone_names")]
    assert len(names) > 300
    rejected = [r["name"] for r in db.execute(
        "SELECT name FROM pg_timezone_names WHERE owner_timezone(name, 'fallback') <> name")]
    assert rejected == []


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "", "not a zone", "../../etc/passwd", "5", "+03",
                                   "UTC; DROP TABLE settings"])
def test_a_name_that_is_no_zone_falls_back(db, value):
    assert db.execute("SELECT owner_timezone(%s, 'Africa/Lagos') AS tz", (value,)).fetchone()["tz"] == "Africa/Lagos"
    assert db.execute("SELECT owner_timezone(NULL, 'UTC') AS tz").fetchone()["tz"] == "UTC"


@pytest.mark.parametrize(("setting", "expected"), [(Jsonb("Pacific/Kiritimati"), "Pacific/Kiritimati"),
                                                  (Jsonb("Nowhere/Atlantis"), "Africa/Lagos"),
                                                  (Jsonb(14), "Africa/Lagos"), (None, "Africa/Lagos")])
def test_the_dashboards_day_starts_at_the_owners_midnight(clean_state, db, setting, expected):
    from shared.dashboard import stats

    if setting is not None:
        db.execute("INSERT INTO settings (key, value) VALUES ('timezone', %s)", (setting,))
    row = db.execute(stats._DAY_START + "SELECT day.tz, day.start, "
                     "date_trunc('day', now() AT TIME ZONE %(expected)s) AT TIME ZONE %(expected)s AS want FROM day",
                     {"tz": "Africa/Lagos", "expected": expected}).fetchone()
    assert row["tz"] == expected and row["start"] == row["want"]
