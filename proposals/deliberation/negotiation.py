"""The negotiation panel of a proposal: who stands where, who cares about what, which
conditions are still open and which amendments address them (pure: plain tuples in,
frozen dataclasses out).

Inputs are plain tuples, so the module knows nothing of the database:

- a position: ``(stakeholder_kind, stance, interests, condition_met)``;
- a condition: ``(ref, stakeholder_kind, conditions, amendment_id, condition_met)``, where
  ``ref`` is whatever the caller uses to find the position again (its id);
- an amendment: ``(amendment_id, status)``.

Bars are given as percentages (start and width, rounded to two decimals) so that the
page can draw them with SVG attributes, which the content security policy allows where
inline styles are forbidden.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final


def N_(s: str) -> str:
    """Mark a string for translation without translating it."""
    return s


#: Stakeholder kinds in the order the panel shows them.
KINDS: Final = ("government", "business", "social_organization", "resident")

#: Stances from agreement to refusal (the order of the bar's segments).
STANCES: Final = ("support", "conditional", "neutral", "oppose")

STANCE_LABELS: Final[dict[str, str]] = {
    "support": N_("Support"),
    "conditional": N_("Conditional support"),
    "neutral": N_("Neutral"),
    "oppose": N_("Oppose"),
}


@dataclass(frozen=True)
class Segment:
    """One stance's share of a bar: count, and start and width in percent."""

    stance: str
    count: int
    start: float
    width: float


@dataclass(frozen=True)
class Distribution:
    """How many positions of one stakeholder kind (or "all") take each stance."""

    kind: str
    total: int
    counts: dict[str, int]
    segments: tuple[Segment, ...]

    def count(self, stance: str) -> int:
        """Return how many positions take `stance`."""
        return self.counts.get(stance, 0)


@dataclass(frozen=True)
class Cell:
    """The positions of one kind that name one interest, by stance."""

    support: int = 0
    conditional: int = 0
    neutral: int = 0
    oppose: int = 0

    @property
    def total(self) -> int:
        return self.support + self.conditional + self.neutral + self.oppose

    @property
    def lean(self) -> str:
        """Say which side the cell leans to: "support", "oppose", "mixed" (as many for as
        against), "neutral" (only neutral positions) or "none".

        Conditional support counts as support here: it is a "yes, if".
        """
        pro, con = self.support + self.conditional, self.oppose
        if not self.total:
            return "none"
        if pro > con:
            return "support"
        if con > pro:
            return "oppose"
        return "mixed" if pro else "neutral"


@dataclass(frozen=True)
class MatrixRow:
    """One stakeholder kind's cells, one per interest column."""

    kind: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Panel:
    """Stance distributions and the kinds × interests matrix."""

    total: int
    overall: Distribution
    by_kind: tuple[Distribution, ...]
    interests: tuple[str, ...]
    matrix: tuple[MatrixRow, ...]
    conditional: int
    conditions_met: int

    @property
    def conditions_open(self) -> int:
        return self.conditional - self.conditions_met


@dataclass(frozen=True)
class OpenCondition:
    """A conditional position whose condition is not met yet."""

    ref: Hashable
    kind: str
    conditions: str
    amendment_id: int | None
    amendment_status: str | None


@dataclass(frozen=True)
class AmendmentLinks:
    """The conditions an amendment addresses: still open, and met by its acceptance."""

    amendment_id: int
    status: str | None
    open: tuple[Hashable, ...] = ()
    met: tuple[Hashable, ...] = ()


@dataclass(frozen=True)
class Conditions:
    """Open conditions (ordered by kind) and, per amendment, the conditions it addresses."""

    open: tuple[OpenCondition, ...]
    met_count: int
    by_amendment: tuple[AmendmentLinks, ...] = field(default=())

    def links_for(self, amendment_id: int) -> AmendmentLinks | None:
        """Return what `amendment_id` addresses, or None."""
        return next((a for a in self.by_amendment if a.amendment_id == amendment_id), None)


def _check(kind: str, stance: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown stakeholder kind {kind!r}")
    if stance not in STANCES:
        raise ValueError(f"unknown stance {stance!r}")


def _distribution(kind: str, counts: Counter) -> Distribution:
    total = sum(counts.values())
    segments = []
    start = 0.0
    done = 0
    for stance in STANCES:
        n = counts.get(stance, 0)
        if not n:
            continue
        done += n
        # Cumulative rounding: the widths always add up to exactly 100.
        end = round(100 * done / total, 2)
        segments.append(Segment(stance, n, start, round(end - start, 2)))
        start = end
    return Distribution(kind, total, {s: counts.get(s, 0) for s in STANCES}, tuple(segments))


def summarise(
    positions: Iterable[tuple[str, str, Iterable[str], bool]],
    interests_order: Sequence[str] = (),
) -> Panel:
    """Aggregate positions into stance distributions and the kinds × interests matrix.

    Interest columns are those named at least once, in `interests_order` first, then
    any others alphabetically. An interest named twice by one position counts once.
    """
    by_kind: dict[str, Counter] = {k: Counter() for k in KINDS}
    cells: dict[tuple[str, str], Counter] = {}
    conditional = met = 0
    for kind, stance, interests, condition_met in positions:
        _check(kind, stance)
        by_kind[kind][stance] += 1
        for interest in dict.fromkeys(interests):
            cells.setdefault((kind, interest), Counter())[stance] += 1
        if stance == "conditional":
            conditional += 1
            met += bool(condition_met)
    named = {interest for _k, interest in cells}
    known = [i for i in interests_order if i in named]
    columns = (*known, *sorted(named - set(known)))
    overall = sum(by_kind.values(), Counter())
    matrix = tuple(
        MatrixRow(
            kind,
            tuple(Cell(**dict(cells.get((kind, interest), Counter()))) for interest in columns),
        )
        for kind in KINDS
    )
    return Panel(
        total=sum(overall.values()),
        overall=_distribution("all", overall),
        by_kind=tuple(_distribution(k, by_kind[k]) for k in KINDS),
        interests=columns,
        matrix=matrix,
        conditional=conditional,
        conditions_met=met,
    )


def conditions(
    rows: Iterable[tuple[Hashable, str, str, int | None, bool]],
    amendments: Mapping[int, str] | Iterable[tuple[int, str]] = (),
) -> Conditions:
    """List the open conditions and which amendments address which conditions.

    `rows` are the conditional positions; `amendments` maps amendment ids to statuses.
    """
    status = dict(amendments)
    open_rows: list[OpenCondition] = []
    links: dict[int, dict[str, list]] = {}
    met_count = 0
    for ref, kind, text, amendment_id, met in rows:
        if kind not in KINDS:
            raise ValueError(f"unknown stakeholder kind {kind!r}")
        if met:
            met_count += 1
        else:
            open_rows.append(OpenCondition(ref, kind, text, amendment_id, status.get(amendment_id)))
        if amendment_id is not None:
            bucket = links.setdefault(amendment_id, {"open": [], "met": []})
            bucket["met" if met else "open"].append(ref)
    open_rows.sort(key=lambda c: KINDS.index(c.kind))
    by_amendment = tuple(
        AmendmentLinks(a, status.get(a), tuple(v["open"]), tuple(v["met"]))
        for a, v in sorted(links.items())
    )
    return Conditions(tuple(open_rows), met_count, by_amendment)
