"""Entry points over the runner: submit a (content, platform) pair under an idempotency key, and turn a
publication row into the outcome callers see."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from shared.config import get_config
from shared.db.rows import one
from shared.publishing.engine import publications as pubs
from shared.publishing.engine import runner
from shared.publishing.platforms import TARGETS, normalize_target
from shared.publishing.staging.eligibility import TARGETS as STAGEABLE


def publish_mode(settings: dict[str, Any] | None = None) -> str:
    """The owner's `publishMode` setting wins over PUBLISH_MODE, so rules can be tried from the UI."""
    if settings is None:
        from shared.settings.store import read_settings

        settings = read_settings(["publishMode"])
    mode = settings.get("publishMode") or ""
    return mode if mode in ("live", "dry_run") else get_config().publish_mode


def parse_when(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value) / (1000 if value > 1e11 else 1), timezone.utc)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"scheduledAt is not an ISO date: {value}") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def submit(*, key: str, platform: str, content: dict[str, Any], source: str, source_ref: str | None = None,
           retry_failed: bool = False, retry_failed_kinds: tuple[str, ...] = ()) -> tuple[dict, str]:
    """Create (or find) the publication and run it now, or schedule it. Returns (row, how) where how is
    `ran`, `scheduled`, `existing` or `busy` (another worker holds it)."""
    from shared.db import connection
    from shared.settings.store import read_settings

    target = normalize_target(platform)
    when = parse_when(content.get("scheduledAt"))

    def create_or_get(c) -> tuple[dict, bool]:
        return pubs.create_or_get(key=stored_key, target=target, family=TARGETS[target], source=source,
                                  source_ref=source_ref, content=content, dry_run=dry, not_before=when, conn=c)

    with connection() as c:  # settings and the idempotent insert share one checkout
        settings = read_settings(["publishMode", "platformSettings"], conn=c)  # serves the whole run
        dry = publish_mode(settings) == "dry_run"
        stored_key = f"dry_run:{key}" if dry else key
        row, created = create_or_get(c)
    for _ in range(5):
        got = _submit_row(row, created, source, settings,
                          retry_failed or row.get("error_kind") in retry_failed_kinds)
        if got is not None:
            return got
        # the planned row found was deleted before it could be claimed (a carrier withdrawing a publication it
        # prepared ahead and never ran: staging/ahead.py). Nothing was sent under the key: create it again
        with connection() as c:
            row, created = create_or_get(c)
    raise RuntimeError(f"the publication {stored_key} kept being deleted before it could run")


def _submit_row(row: dict, created: bool, source: str, settings: dict[str, Any],
                wanted: bool) -> tuple[dict, str] | None:
    """Run (or schedule) the row `submit` created or found; None when it was deleted before the claim."""
    if not created and wanted and row["state"] == "failed" and rearm(row, source):
        row = one(pubs.get(str(row["id"])))  # re-armed just now: it exists
        created = True
    if row["state"] == "planned":
        nb = row["not_before"]
        if nb is not None and nb > datetime.now(timezone.utc):
            if created:
                runner.schedule_run(row, nb, "scheduled")
                _stage_if_due(row)
            return row, "scheduled"
        res = runner.run(str(row["id"]), settings)
        if res.details.get("claimed") is False:
            if res.state == "missing":
                return None
            return res.publication, "busy" if res.publication.get("state") == "publishing" else "existing"
        return res.publication, "ran"
    return row, ("busy" if row["state"] == "publishing" else "existing")


def prepare(*, key: str, platform: str, content: dict[str, Any], source: str, source_ref: str | None,
            at: datetime) -> tuple[dict, bool] | None:
    """Create (or find) the publication ahead of its slot: `planned`, not_before = `at`, neither run nor given a
    run message (whoever carries it runs it: a staged send, or the capability's own delivery at the slot, whose
    `submit` with the same key finds this row). Returns (row, created); None in dry-run mode: a dry run is
    recorded at its time, never ahead (and never staged)."""
    from shared.db import connection
    from shared.settings.store import read_settings

    target = normalize_target(platform)
    with connection() as c:
        if publish_mode(read_settings(["publishMode"], conn=c)) == "dry_run":
            return None
        return pubs.create_or_get(key=key, target=target, family=TARGETS[target], source=source,
                                  source_ref=source_ref, content=content, dry_run=False, not_before=at, conn=c)


def _stage_if_due(row: dict) -> None:
    """The database is awake for this request: pre-stage the post now if it is due within the horizon
    (shared/publishing/staging); otherwise a later window stages it, or it runs on the database path."""
    cfg = get_config()
    if not cfg.publish_staging or row["platform"] not in STAGEABLE:
        return
    nb = row["not_before"]
    if (nb - datetime.now(timezone.utc)).total_seconds() > cfg.publish_stage_horizon_seconds:
        return
    from shared.publishing.staging.stage import durable_here, stage_one

    try:
        if durable_here():
            stage_one(row)
    except Exception:  # it stays planned: the database path runs it at its time
        import logging

        logging.getLogger("screndly.publishing").exception("staging publication %s failed", row["id"])


def rearm(row: dict, by: str) -> bool:
    """Run a failed publication again on an explicit new request (compose re-send, an approved RSS retry, a
    gateway retry of a failure that may clear up). Every path goes through here, and it only succeeds when the
    failed attempt is proven to have posted nothing (`absent_proof`, the structured "safe to post again")."""
    from shared import activity

    if not pubs.rearm_failed(str(row["id"])):
        return False
    activity.log("publishing", "info", f"running the {row['platform']} publication again ({by} asked; nothing was "
                 f"posted: {row.get('absent_proof')})",
                 {"publicationId": str(row["id"]), "platform": row["platform"], "absentProof": row.get("absent_proof"),
                  "by": by})
    return True


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt else None
