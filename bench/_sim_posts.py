"""Why an RSS post planned during the simulated day goes out after it (pure).

The live scenarios count the posts each platform fake accepted. A platform can fall short of the others without
anything going wrong: the posting rules (shared/rss/schedule.py `place`, the frontend contract's "Daily quotas:
X 50, Threads 100, Facebook 25, Pinterest 100" and quiet hours 00:00-07:00 local) may have put some of its posts
after the window's end. This says, per platform, how many and which rule put them there, so a shortfall in the
simulation's output carries its reason.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from shared.rss.schedule import PostingRules, in_quiet_hours, local_day

# what holds a slot, as shared/rss/repo.py `taken_slots` counts them for the quota
TAKEN = ("planned", "publishing", "waiting", "posted", "dry_run")
NOT_SENT = ("planned", "publishing", "waiting")
QUOTA_SETTING = {"x": "dailyQuotaX", "threads": "dailyQuotaThreads", "facebook": "dailyQuotaFacebook",
                 "pinterest": "dailyQuotaPinterest"}


def held_past(rows: list[tuple[str, str, datetime]], rules: PostingRules, end: datetime) -> dict[str, str]:
    """Per platform with posts planned at or after `end` and not sent yet: how many, when (owner's local time)
    and why. `rows`: every planned post as (platform, status, scheduled_at)."""
    out: dict[str, str] = {}
    for platform in sorted({p for p, _, _ in rows}):
        mine = [(status, at) for p, status, at in rows if p == platform and status in TAKEN]
        later = sorted(at for status, at in mine if status in NOT_SENT and at >= end)
        if not later:
            continue
        tz = rules.tz
        first, last = later[0].astimezone(tz), later[-1].astimezone(tz)
        when = f"{first:%Y-%m-%d %H:%M}" + (f"-{last:%H:%M}" if last != first else "") + f" {tz.key}"
        per_day = Counter(local_day(at, tz) for _, at in mine)
        day_before = local_day(later[0], tz) - timedelta(days=1)
        quota = rules.quota(platform)
        before_first = later[0] - timedelta(seconds=1)
        if per_day[day_before] >= quota:
            setting = QUOTA_SETTING.get(platform, f"the {platform} quota")
            why = (f"{setting} = {quota}: the {per_day[day_before]} slots of {day_before} (local day) were all "
                   f"taken, so place() moved these to the next local day")
            if rules.quiet_enabled and in_quiet_hours(before_first, rules):
                why += f", from the end of its quiet hours ({rules.quiet_end:02d}:00)"
        elif rules.quiet_enabled and in_quiet_hours(before_first, rules):
            why = (f"quiet hours {rules.quiet_start:02d}:00-{rules.quiet_end:02d}:00 local: planned for their end "
                   f"(items that arrived late in the window)")
        else:
            why = "the next free slots (minimum gap, post grid) fall after the window"
        out[platform] = f"{len(later)} at {when}: {why}"
    return out
