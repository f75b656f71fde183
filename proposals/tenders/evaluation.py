"""Evaluating bids on plain values: price points, scores that deviate, totals and ranking (pure).

Pure module: stdlib only. The services feed it the qualified bids (anything with `id`,
`price` and `submitted_at`), the quality criteria and the panel's scores.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

DEVIATION_POINTS = 25  # a score this far from the panel's median score is flagged


class ScoredBid(Protocol):
    """What the ranking needs of a bid."""

    id: int
    price: Decimal | None
    submitted_at: datetime


@dataclass
class Ranked:
    """One qualified bid's scores: price points, mean quality points per criterion, total."""

    bid: Any
    price_points: float
    quality_points: dict[str, float]
    total: float
    rank: int = 0


@dataclass
class Evaluation:
    """The state of a tender's evaluation: who must still score what, ranking, deviations."""

    scorers: list[Any]
    ranking: list[Ranked]
    missing: dict[int, int]  # user id -> number of scores still missing
    deviations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    undeclared: int = 0

    @property
    def complete(self) -> bool:
        """Whether every scoring member declared their ties and scored everything."""
        return (
            bool(self.ranking)
            and bool(self.scorers)
            and not any(self.missing.values())
            and not self.undeclared
        )


def price_points(lowest: Decimal, price: Decimal, weight: int) -> float:
    """Price score: lowest qualified price ÷ this bid's price × the price weight."""
    return float(lowest / price) * weight


def deviations(
    scores: Iterable[tuple[int, int, str, int]], limit: float = DEVIATION_POINTS
) -> dict[int, list[dict[str, Any]]]:
    """Flag scores more than `limit` points from the panel's median score on the same bid and
    criterion: {user id: [{"bid_id", "criterion", "score", "panel_median"}]}.

    The median (not the mean, not standard deviations) because panels are small: with three
    members one outlier pulls the mean and the spread so far that everyone, or no one, would
    be flagged; the median stays with the majority. With two members the median is their
    mean, so both are flagged when they are more than 2 × `limit` apart."""
    by_item: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    for user_id, bid_id, criterion, score in scores:
        by_item[(bid_id, criterion)][user_id] = score
    rv: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (bid_id, criterion), marks in sorted(by_item.items()):
        if len(marks) < 2:
            continue
        median = statistics.median(marks.values())
        for user_id, score in sorted(marks.items()):
            if abs(score - median) > limit:
                rv[user_id].append(
                    {
                        "bid_id": bid_id,
                        "criterion": criterion,
                        "score": score,
                        "panel_median": float(median),
                    }
                )
    return dict(rv)


def missing_scores(
    scorer_ids: Iterable[int], scores: Iterable[tuple[int, int, str, int]], expected: int
) -> dict[int, int]:
    """Return how many scores each scoring member still owes: {user id: count}."""
    have: dict[int, int] = defaultdict(int)
    for user_id, *_ in scores:
        have[user_id] += 1
    return {u: max(0, expected - have[u]) for u in scorer_ids}


def rank(
    bids: Sequence[ScoredBid],
    criteria: Sequence[Mapping[str, Any]],
    scores: Iterable[tuple[int, int, str, int]],
    price_weight: int,
) -> list[Ranked]:
    """Total and rank qualified bids from the scores (user id, bid id, criterion, 0–100).

    Quality points per criterion = the mean of the members' scores × weight / 100; price
    points = lowest price ÷ bid price × price weight; total = sum. Ties rank by lower price,
    then earlier submission.
    """
    if not bids:
        return []
    marks: dict[tuple[int, str], list[int]] = defaultdict(list)
    for _user_id, bid_id, criterion, score in scores:
        marks[(bid_id, criterion)].append(score)
    lowest = min(b.price for b in bids)  # type: ignore[type-var]
    rv = []
    for bid in bids:
        quality = {
            c["key"]: (
                statistics.fmean(marks[(bid.id, c["key"])]) * c["weight"] / 100
                if marks[(bid.id, c["key"])]
                else 0.0
            )
            for c in criteria
        }
        points = price_points(lowest, bid.price, price_weight)  # type: ignore[arg-type]
        rv.append(Ranked(bid, points, quality, points + sum(quality.values())))
    rv.sort(key=lambda r: (-round(r.total, 6), r.bid.price, r.bid.submitted_at))
    for i, r in enumerate(rv, start=1):
        r.rank = i
    return rv
