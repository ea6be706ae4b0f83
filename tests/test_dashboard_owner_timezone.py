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


def test_the_zone_check_works_when_postgres_plans_in_parallel(db):
    """Its EXCEPTION block is a subtransaction, which a parallel worker cannot start (Postgres 15/16): the function
    is parallel unsafe, so a big table's parallel plan keeps it in the leader instead of failing the dashboard."""
    from shared.dashboard import stats

    name = db.execute("SELECT name FROM pg_settings WHERE name IN ('debug_parallel_query', 'force_parallel_mode')"
                      ).fetchone()["name"]
    db.execute(f"SET {name} = on")
    db.execute("SET parallel_setup_cost = 0")
    db.execute("SET parallel_tuple_cost = 0")
    try:
        assert db.execute("SELECT owner_timezone('Nowhere/Atlantis', 'UTC') AS tz").fetchone()["tz"] == "UTC"
        assert db.execute("SELECT owner_timezone('Europe/Paris', 'UTC') AS tz").fetchone()["tz"] == "Europe/Paris"
        assert db.execute(stats._STATS_SQL, {"tz": stats._default_tz()}).fetchone()["stats"]["system"] is not None
    finally:
        db.execute(f"RESET {name}")
        db.execute("RESET parallel_setup_cost")
        db.execute("RESET parallel_tuple_cost")
