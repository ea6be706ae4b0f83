"""The free tiers Screndly must stay inside, with where each number comes from (pure data).

`limit` is per `period` ("day": the provider resets it at UTC midnight; "month": per calendar month). A tier
with `limit=None` is metered but has no free allowance to compare against (paid per use, or a one-off credit).
Conflicting sources are kept in `note` (⚠) — see ../shared/reference/field-notes.md §4 and §8 — and the
stricter reading is used where the cost of being wrong is being cut off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Period = Literal["day", "month"]


@dataclass(frozen=True)
class Tier:
    key: str  # the resource key the report uses
    label: str
    unit: str
    period: Period
    limit: float | None
    source: str
    as_of: str
    note: str = ""
    counter: str = ""  # the meter unit it is measured from ("" = derived, e.g. awake time)


TIERS: tuple[Tier, ...] = (
    Tier("qstash.messages", "QStash messages", "messages", "day", 1000,
         "https://upstash.com/pricing/qstash.md (field-notes §4)", "2026",
         "⚠ an older pricing page says 500/day; retries are billed per the FAQ (\"each retry is counted as an "
         "additional message\") although the pricing page says retries are free: we count them (field-notes §8)",
         counter="qstash.messages"),
    Tier("redis.commands", "Upstash Redis commands", "commands", "month", 500_000,
         "https://upstash.com/docs/redis/overall/billing (redis/overall/billing.mdx, field-notes §4)", "2026-11",
         "⚠ pre-2025 sources say 10,000/day; every command of a pipeline or transaction is one, a script is one "
         "plus each command it runs (https://upstash.com/docs/redis/sdks/ratelimit-ts/costs); console browsing "
         "also spends commands",
         counter="redis.commands"),
    Tier("neon.cu_hours", "Neon compute (CU-hours)", "CU-hours", "month", 100,
         "https://neon.com/faqs/free-plan-limits-and-quotas", "2026",
         "scale to zero after 5 min without a query (cannot be disabled on Free); 100 CU-hours = 400 h at "
         "0.25 CU; the project is suspended when they run out. ⚠ the plans page snapshot of 2025-08 said 50 "
         "CU-hours, the legacy Free plan 191.9 compute hours"),
    Tier("pg.storage_bytes", "Neon storage", "bytes", "month", 0.5 * 1024**3,
         "https://neon.com/faqs/free-plan-limits-and-quotas", "2026", "0.5 GB per project; a level, not a sum",
         counter="pg.storage_bytes"),
    Tier("fn.invocations", "Vercel function invocations", "invocations", "month", 1_000_000,
         "https://vercel.com/pricing (Hobby: 1M function invocations)", "2026-05",
         counter="fn.invocations"),
    Tier("fn.cpu_ms", "Vercel active CPU", "ms", "month", 4 * 3600 * 1000,
         "https://vercel.com/pricing (Hobby: 4 h active CPU)", "2026-05",
         "active CPU only: time waiting on I/O is not billed (Fluid compute)", counter="fn.cpu_ms"),
    Tier("b2.class_b", "B2 class B transactions", "calls", "day", 2500,
         "https://www.backblaze.com/cloud-storage/transaction-pricing", "2026",
         "GetObject, HeadObject (the first 2,500 a day are free)", counter="b2.class_b"),
    Tier("b2.class_c", "B2 class C transactions", "calls", "day", 2500,
         "https://www.backblaze.com/cloud-storage/transaction-pricing", "2026",
         "ListObjectsV2, ListMultipartUploads, HeadBucket, CopyObject, ... (first 2,500 a day free); "
         "class A (uploads, deletes) is free", counter="b2.class_c"),
    Tier("b2.stored_bytes", "B2 storage", "bytes", "month", 10 * 1000**3,
         "https://www.backblaze.com/cloud-storage/pricing (first 10 GB free)", "2026", "a level, not a sum",
         counter="b2.stored_bytes"),
    Tier("openai.tokens", "OpenAI tokens", "tokens", "month", None, "https://openai.com/api/pricing", "2026",
         "no free tier: paid per token", counter="openai.tokens"),
    Tier("serper.calls", "Serper searches", "searches", "month", None, "https://serper.dev", "2026",
         "2,500 free searches once at sign-up, then paid credits", counter="serper.calls"),
    Tier("tmdb.calls", "TMDb requests", "requests", "month", None,
         "https://developer.themoviedb.org/docs/rate-limiting", "2026",
         "free, rate-limited (~50 requests/s), no monthly quota", counter="tmdb.calls"),
)

BY_KEY = {t.key: t for t in TIERS}
GAUGES = frozenset({"pg.storage_bytes", "b2.stored_bytes"})


def tier(key: str) -> Tier:
    return BY_KEY[key]
