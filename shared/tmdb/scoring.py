"""Score, tie-break and confidence of frontend-contract §3.3 rules 9 and 11 (pure).

Score (0-400): popularity min(pop × 0.5, 100), × 1.5 for today and × 1.2 for weekly; trending 50 − rank/3 (or
50 − upcoming rank/5); 10 per approved genre (max 30) + 10 for a high-demand genre; major studio +40, a top one
+20 more; few votes −30 / −15 / −5 (< 500 / < 1000 / < 2000); a collection +25; rating ≥ 8 +20, ≥ 7 +10,
≥ 6 +5; released within the next 7 days +15.
Tie-break when two scores are within 0.1: vote_average × log10(vote_count + 1), then popularity, vote count,
rating, collection membership.
"""

from __future__ import annotations

import math
from datetime import date
from functools import cmp_to_key

from shared.tmdb.candidate import Candidate
from shared.tmdb.filters import APPROVED_GENRES, HIGH_DEMAND_GENRES, is_major, is_top

_POPULARITY_WEIGHT = {"today": 1.5, "weekly": 1.2}


def score(c: Candidate, module: str, today: date) -> float:
    s = min(c.popularity * 0.5, 100.0) * _POPULARITY_WEIGHT.get(module, 1.0)
    if c.trending_rank is not None and c.trending_rank <= 150:
        s += max(0.0, 50 - c.trending_rank / 3)
    elif c.upcoming_rank is not None:
        s += max(0.0, 50 - c.upcoming_rank / 5)
    approved = len(set(c.genre_ids) & APPROVED_GENRES)
    s += min(10 * approved, 30)
    if set(c.genre_ids) & HIGH_DEMAND_GENRES:
        s += 10
    if is_major(c.companies):
        s += 40
        if is_top(c.companies):
            s += 20
    if c.vote_count < 500:
        s -= 30
    elif c.vote_count < 1000:
        s -= 15
    elif c.vote_count < 2000:
        s -= 5
    if c.in_collection:
        s += 25
    if c.vote_average >= 8:
        s += 20
    elif c.vote_average >= 7:
        s += 10
    elif c.vote_average >= 6:
        s += 5
    if c.release_date is not None and 0 <= (c.release_date - today).days <= 7:
        s += 15
    return round(max(0.0, min(400.0, s)), 3)


def tie_break_key(c: Candidate) -> tuple:
    return (c.vote_average * math.log10(c.vote_count + 1), c.popularity, c.vote_count, c.vote_average,
            1 if c.in_collection else 0)


def rank(scored: list[tuple[Candidate, float]]) -> list[tuple[Candidate, float]]:
    """Best first. Scores more than 0.1 apart decide; closer ones go to the tie-break; the TMDb id keeps the
    order stable when everything is equal."""

    def cmp(a: tuple[Candidate, float], b: tuple[Candidate, float]) -> int:
        if abs(a[1] - b[1]) > 0.1:
            return -1 if a[1] > b[1] else 1
        ka, kb = tie_break_key(a[0]), tie_break_key(b[0])
        if ka != kb:
            return -1 if ka > kb else 1
        return (a[0].tmdb_id > b[0].tmdb_id) - (a[0].tmdb_id < b[0].tmdb_id)

    return sorted(scored, key=cmp_to_key(cmp))


def confidence(scores: list[float], votes: list[int]) -> float:
    """0.6 × min(avg score / 300, 1) + 0.4 × min(avg votes / 5000, 1)."""
    if not scores:
        return 0.0
    avg_s = sum(scores) / len(scores)
    avg_v = sum(votes) / len(votes) if votes else 0
    return round(0.6 * min(avg_s / 300, 1) + 0.4 * min(avg_v / 5000, 1), 4)
