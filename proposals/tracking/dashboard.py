"""The supervision dashboard's figures, from aggregate queries (never one query per item).

Requests in scope are those of the street (optionally one community, one handler)
*submitted* in the time range. For them:

- received, open (neither resolved nor closed: submitted, accepted or in progress),
  overdue (open, and past the resolution deadline or — not yet answered by the current
  handler — past the first-response deadline), satisfaction (average of the ratings),
  reopen rate (reopened ÷ resolved at least once), resolved late (after the resolution
  deadline: lateness stays on the record), per community and current handler;
- time to first response, per custody (an ``assigned`` or ``transferred`` event and its
  `response_workdays`): a handler who passes a request on late is measured, not the next;
- time to resolution: from the first assignment to the last resolution
  (`resolution_workdays`), per community and current handler;
- per week: requests received; requests resolved, their average time and rating.

Durations are in *working days* (working hours ÷ 24: weekends and the holidays of the
working-day calendar excluded, in local time; see proposals.tracking.deadlines), stored by
proposals.tracking.requests when a handler answers and when a request is resolved, so no
query needs the calendar (a duration over a year of unknown holidays is not stored, and
not counted). Medians and 90th
percentiles interpolate linearly (PostgreSQL's ``percentile_cont``, numpy's default).

PostgreSQL computes everything: grouped counts, percentiles over grouping sets, weekly
sums. SQLite has no percentile functions, so its durations are fetched — one row per
request and one per custody, numbers only — and numpy computes percentiles, counts and
weekly series from that one scan of a covering index (`ix_tracked_requests_dashboard`).
`benchmarks/dashboard.py` times both on 50,000 requests.

Review steps in scope are those of plans submitted to the street's office, activated in
the range: pending, overdue (pending past their due time), decided late (after their due
time, whatever the decision) and the median working days
from activation to decision, per owner (a few thousand rows at most: computed here).

The public view (`public=True`) shows the same figures for one community, but hides
every figure that rests on fewer than ``DASHBOARD_MIN_GROUP`` (default 5) items, so that
no figure describes one person.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app

from coord.db import db, utcnow
from coord.models import Community
from proposals.models import Proposal
from proposals.tracking.deadlines import local_tz, work_calendar
from proposals.tracking.models import Plan, RequestEvent, ReviewStep, TrackedRequest
from proposals.tracking.workdays import WorkCalendar
from stakeholders.models import Stakeholder

OPEN_STATES = ("submitted", "accepted", "in_progress")
DECIDED = ("approved", "changes_requested", "rejected")
CUSTODY = ("assigned", "transferred")
DAY = 86400.0
WEEK = 7 * DAY
DEFAULT_MIN_GROUP = 5

#: Request metrics that can be listed (click-through) and the steps' metrics.
REQUEST_METRICS = (
    "received",
    "open",
    "overdue",
    "first_response",
    "resolution",
    "rated",
    "reopened",
    "resolved_late",
)
STEP_METRICS = ("steps_pending", "steps_overdue", "steps_decided", "steps_late")


# -- Working time, vectorised ------------------------------------------------------------------


def _day_array(days: Iterable[date]) -> np.ndarray:
    epoch = date(1970, 1, 1)
    return np.array(sorted((d - epoch).days for d in days), dtype=np.int64)


def workday_seconds(
    starts: np.ndarray, ends: np.ndarray, calendar: WorkCalendar, utc_offset: float
) -> np.ndarray:
    """Return the seconds of [start, end) that fall on working days, element-wise.

    `starts` and `ends` are UTC epoch seconds; `utc_offset` (seconds) turns them into
    local wall-clock time, on which working days are judged. Agrees with
    `WorkCalendar.workday_hours_between` × 3600 (for a zone without daylight saving); NaN
    where that raises, for a span over a year whose holidays the calendar does not know.
    """
    a = np.asarray(starts, dtype=np.float64) + utc_offset
    b = np.asarray(ends, dtype=np.float64) + utc_offset
    b = np.maximum(a, b)
    day_a = np.floor(a / DAY).astype(np.int64)
    day_b = np.floor(b / DAY).astype(np.int64)
    weekend = np.array(sorted(calendar.weekend), dtype=np.int64)
    holidays = _day_array(calendar.holidays)
    extra = _day_array(calendar.extra_workdays)

    def is_work(days: np.ndarray) -> np.ndarray:
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (3)
        rv = ~np.isin(weekday, weekend) & ~np.isin(days, holidays)
        return rv | np.isin(days, extra)

    # Working days in [x, y): whole weeks, the rest by a lookup table, then corrections.
    per_week = 7 - len(weekend)
    table = np.zeros((7, 7), dtype=np.int64)  # table[start weekday, rest] = working days
    for start in range(7):
        for rest in range(7):
            table[start, rest] = sum(1 for i in range(rest) if (start + i) % 7 not in weekend)
    x, y = day_a + 1, np.maximum(day_b, day_a + 1)
    span = y - x
    weeks, rest = np.divmod(span, 7)
    counted = weeks * per_week + table[(x + 3) % 7, rest]
    weekday_holidays = holidays[~np.isin((holidays + 3) % 7, weekend)]
    weekend_extra = extra[np.isin((extra + 3) % 7, weekend)]
    counted -= np.searchsorted(weekday_holidays, y) - np.searchsorted(weekday_holidays, x)
    counted += np.searchsorted(weekend_extra, y) - np.searchsorted(weekend_extra, x)
    same = day_a == day_b
    first = np.where(is_work(day_a), (day_a + 1) * DAY - a, 0.0)
    last = np.where(is_work(day_b), b - day_b * DAY, 0.0)
    rv = np.where(same, np.where(is_work(day_a), b - a, 0.0), first + last + counted * DAY)
    return np.where(_unknown(day_a, day_b, calendar), np.nan, np.maximum(rv, 0.0))


def _unknown(day_a: np.ndarray, day_b: np.ndarray, calendar: WorkCalendar) -> np.ndarray:
    """Tell which spans of days (since 1970-01-01) touch a year the calendar does not know."""
    rv = np.zeros(len(day_a), dtype=bool)
    if calendar.years is None or len(day_a) == 0:
        return rv
    year_a = day_a.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    year_b = day_b.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    pairs, where = np.unique(np.stack([year_a, year_b], axis=1), axis=0, return_inverse=True)
    bad = [bool(calendar.unknown_years(date(a, 1, 1), date(b, 1, 1))) for a, b in pairs]
    return np.asarray(bad, dtype=bool)[where.reshape(-1)]


# -- Values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Count, median and 90th percentile of durations in working days (None when empty)."""

    n: int = 0
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, values: np.ndarray) -> Stats:
        if len(values) == 0:
            return cls()
        median, p90 = np.percentile(values, [50, 90])
        return cls(len(values), float(median), float(p90))


@dataclass
class Row:
    """The request figures of one handler, community, or all of them."""

    key: int | None
    name: str
    received: int = 0
    open: int = 0
    overdue: int = 0
    rated: int = 0
    satisfaction_sum: int = 0
    resolved_once: int = 0
    reopened: int = 0
    resolved_late: int = 0
    first_response: Stats = field(default_factory=Stats)
    resolution: Stats = field(default_factory=Stats)

    @property
    def satisfaction(self) -> float | None:
        return self.satisfaction_sum / self.rated if self.rated else None

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.resolved_once if self.resolved_once else None

    def add(self, other: Row) -> None:
        for name in ("received", "open", "overdue", "rated", "satisfaction_sum"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.resolved_once += other.resolved_once
        self.reopened += other.reopened
        self.resolved_late += other.resolved_late


@dataclass
class StepRow:
    """The review-step figures of one owner (a department or the street office)."""

    key: int | None
    name: str
    pending: int = 0
    overdue: int = 0
    decided: int = 0
    late: int = 0
    review: Stats = field(default_factory=Stats)


@dataclass(frozen=True)
class Trend:
    """Weekly series: requests received; requests resolved, their average working days to
    resolution and average rating."""

    weeks: list[date]
    received: list[int]
    resolved: list[int]
    mean_resolution: list[float | None]
    satisfaction: list[float | None]


@dataclass(frozen=True)
class Scope:
    """What the dashboard covers: a street, optionally one community and one handler."""

    street_id: int
    start: datetime
    end: datetime
    community_id: int | None = None
    handler_id: int | None = None
    public: bool = False

    @classmethod
    def for_dates(cls, street_id: int, first: date, last: date, **kwargs: Any) -> Scope:
        """Cover local days `first` to `last` (inclusive)."""
        tz = local_tz()
        start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        return cls(street_id, start, end, **kwargs)


@dataclass
class Dashboard:
    """Every figure of the dashboard for one scope."""

    scope: Scope
    now: datetime
    total: Row
    by_handler: list[Row]
    by_community: list[Row]
    steps_total: StepRow
    by_owner: list[StepRow]
    trend: Trend
    min_group: int

    def shown(self, value: Any, n: int) -> bool:
        """Tell whether a figure resting on `n` items may be shown (public view rule)."""
        return not self.scope.public or n >= self.min_group or (n == 0 and value in (0, None))


# -- SQL helpers -------------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def epoch(column: Any) -> sa.ColumnElement[float]:
    """Seconds since 1970 (UTC) of a timestamp column, in SQL."""
    if _dialect() == "sqlite":
        return (sa.func.julianday(column) - 2440587.5) * DAY
    return sa.cast(sa.extract("epoch", column), sa.Float)


def _moment(column: Any) -> sa.ColumnElement[Any]:
    """A timestamp column as the cheapest value to fetch: SQLite's stored text as it is
    (numpy parses it much faster than SQL's julianday), PostgreSQL's epoch seconds."""
    if _dialect() == "sqlite":
        return sa.type_coerce(column, sa.String)
    return epoch(column)


def _week(column: Any, e0: float) -> sa.ColumnElement[Any]:
    """Where a timestamp falls: its UTC hour as text on SQLite (cheap to group by; numpy
    turns the hours into weeks), its week since `e0` on PostgreSQL."""
    if _dialect() == "sqlite":
        return sa.func.substr(sa.type_coerce(column, sa.String), 1, 13)
    return sa.cast(sa.func.floor((epoch(column) - e0) / WEEK), sa.Integer)


def _epochs(values: Sequence[Any]) -> np.ndarray:
    """Epoch seconds from the values of `_moment` or `_hour`."""
    if not values:
        return np.zeros(0)
    if isinstance(values[0], str):
        text = np.array(values if len(values[0]) > 13 else [v + ":00" for v in values])
        return text.astype("datetime64[us]").astype(np.int64) / 1e6
    return np.asarray(values, dtype=np.float64)


def _utc_offset() -> float:
    offset = utcnow().astimezone(local_tz()).utcoffset()
    return offset.total_seconds() if offset else 0.0


def _request_scope(scope: Scope) -> list[sa.ColumnElement[bool]]:
    rv = [
        TrackedRequest.submitted_at >= scope.start,
        TrackedRequest.submitted_at < scope.end,
    ]
    if scope.community_id is not None:
        rv.append(TrackedRequest.community_id == scope.community_id)
    else:
        rv.append(
            TrackedRequest.community_id.in_(
                sa.select(Community.id).where(Community.street_id == scope.street_id)
            )
        )
    return rv


def is_open() -> sa.ColumnElement[bool]:
    """Submitted, accepted or in progress: neither resolved nor closed (see
    proposals.tracking.requests, which keeps `resolved_at` and `closed_at` in step with the status),
    so that the figures need no join to the proposals."""
    return sa.and_(TrackedRequest.resolved_at.is_(None), TrackedRequest.closed_at.is_(None))


def is_overdue(now: datetime) -> sa.ColumnElement[bool]:
    """Open and past its resolution deadline, or assigned and past its first-response one."""
    return sa.and_(
        is_open(),
        sa.or_(
            TrackedRequest.resolution_due_at < now,
            sa.and_(
                TrackedRequest.handler_id.is_not(None),
                TrackedRequest.first_response_at.is_(None),
                TrackedRequest.first_response_due_at < now,
            ),
        ),
    )


def _resolved_late() -> sa.ColumnElement[bool]:
    """Resolved after the resolution deadline: lateness stays on the record once answered."""
    return TrackedRequest.resolved_at > TrackedRequest.resolution_due_at


def _decided_late() -> sa.ColumnElement[bool]:
    """A review step decided after its due time."""
    return sa.and_(_decided(), ReviewStep.decided_at > ReviewStep.due_at)


def _decided() -> sa.ColumnElement[bool]:
    return sa.and_(ReviewStep.decision.in_(DECIDED), ReviewStep.decided_at.is_not(None))


def _resolved_once() -> sa.ColumnElement[bool]:
    return sa.or_(TrackedRequest.resolved_at.is_not(None), TrackedRequest.reopen_count > 0)


def count_where(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """Count the rows meeting `condition` (0 when there are none)."""
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def request_condition(metric: str, scope: Scope, now: datetime) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses selecting the requests behind a figure (for lists)."""
    rv = _request_scope(scope)
    if metric == "first_response":
        custody = sa.select(RequestEvent.request_id).where(
            RequestEvent.type.in_(CUSTODY), RequestEvent.responded_at.is_not(None)
        )
        if scope.handler_id is not None:
            custody = custody.where(RequestEvent.to_handler_id == scope.handler_id)
        return [*rv, TrackedRequest.id.in_(custody)]
    if scope.handler_id is not None:
        rv.append(TrackedRequest.handler_id == scope.handler_id)
    extra = {
        "received": sa.true(),
        "open": is_open(),
        "overdue": is_overdue(now),
        "resolution": sa.and_(
            TrackedRequest.resolved_at.is_not(None), TrackedRequest.assigned_at.is_not(None)
        ),
        "rated": TrackedRequest.satisfaction.is_not(None),
        "reopened": TrackedRequest.reopen_count > 0,
        "resolved_late": _resolved_late(),
    }[metric]
    return [*rv, extra]


def _step_scope(scope: Scope) -> list[sa.ColumnElement[bool]]:
    rv = [
        ReviewStep.activated_at >= scope.start,
        ReviewStep.activated_at < scope.end,
        Plan.street_office_id.in_(
            sa.select(Stakeholder.id).where(Stakeholder.street_id == scope.street_id)
        ),
    ]
    if scope.community_id is not None:
        rv.append(Proposal.community_id == scope.community_id)
    if scope.handler_id is not None:
        rv.append(ReviewStep.owner_id == scope.handler_id)
    return rv


def step_condition(metric: str, scope: Scope, now: datetime) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses selecting the review steps behind a figure (join Plan, Proposal)."""
    pending = sa.and_(ReviewStep.decision == "pending", Proposal.status == "under_review")
    extra = {
        "steps_pending": pending,
        "steps_overdue": sa.and_(pending, ReviewStep.due_at < now),
        "steps_decided": _decided(),
        "steps_late": _decided_late(),
    }[metric]
    return [*_step_scope(scope), extra]


# -- Computing ---------------------------------------------------------------------------------


def _group_stats(keys: np.ndarray, values: np.ndarray) -> dict[Any, Stats]:
    """Stats of `values` per distinct key (None keys are skipped)."""
    rv: dict[Any, Stats] = {}
    if len(keys) == 0:
        return rv
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    for chunk_keys, chunk in zip(np.split(keys, bounds), np.split(values, bounds), strict=True):
        key = int(chunk_keys[0])
        if key >= 0:
            rv[key] = Stats.of(chunk)
    return rv


def _rows(statement: sa.Select) -> list[tuple[Any, ...]]:
    """Run a statement and fetch its rows as the database driver returns them.

    These statements select only integers, floats and text (see `_moment`), which need no
    result processing, and making tens of thousands of `Row` objects would cost more than
    the query itself.
    """
    result = db.session.connection().execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _columns(rows: list[Any], width: int, moments: tuple[int, ...]) -> list[np.ndarray]:
    """Turn rows into `width` numpy arrays, one per column; `moments` are timestamp columns.

    The other columns must be numbers (no NULL: coalesce them in SQL).
    """
    if not rows:
        return [np.zeros(0) for _ in range(width)]
    columns = list(zip(*rows, strict=True))
    return [
        _epochs(values) if i in moments else np.asarray(values, dtype=np.float64)
        for i, values in enumerate(columns)
    ]


def _week_index(values: Sequence[Any], e0: float) -> np.ndarray:
    """The week (since `e0`) of each `_week` value."""
    if len(values) and isinstance(values[0], str):  # SQLite's hours: parse each one once
        position = {hour: i for i, hour in enumerate(dict.fromkeys(values))}
        inverse = np.fromiter(map(position.__getitem__, values), np.int64, len(values))
        return np.floor((_epochs(list(position)) - e0) / WEEK).astype(np.int64)[inverse]
    return np.asarray(values, dtype=np.int64)


def _per_week(week_of: np.ndarray, values: Sequence[Any], weeks: int) -> np.ndarray:
    """Sum `values` per week (weeks outside 0…weeks-1 are left out)."""
    inside = (week_of >= 0) & (week_of < weeks)
    weights = np.asarray(values, dtype=np.float64)[inside]
    return np.bincount(week_of[inside], weights=weights, minlength=weeks)[:weeks]


def _weekly(rows: list[tuple[Any, ...]], width: int, e0: float, weeks: int) -> list[np.ndarray]:
    """Sum the `width` values of (`_week`, value, …) rows per week since `e0`."""
    if not rows:
        return [np.zeros(weeks) for _ in range(width)]
    columns = list(zip(*rows, strict=True))
    week_of = _week_index(columns[0], e0)
    return [_per_week(week_of, values, weeks) for values in columns[1:]]


_Grouped = tuple[Stats, dict[int, Stats], dict[int, Stats]]


def _stats_by(statement: sa.Select) -> _Grouped:
    """Count, median and 90th percentile of (a, b, value) rows: overall, per a, per b.

    PostgreSQL computes them (``percentile_cont`` over grouping sets); on SQLite the
    values are fetched (one number per row) and numpy computes the same interpolation.
    A key of -1 (a NULL coalesced) is left out of the groups.
    """
    if _dialect() == "postgresql":
        sub = statement.subquery()
        a, b, value = sub.c
        rows = _rows(
            sa.select(
                a,
                b,
                sa.func.grouping(a, b),
                sa.func.count(),
                sa.func.percentile_cont(0.5).within_group(value),
                sa.func.percentile_cont(0.9).within_group(value),
            ).group_by(sa.func.grouping_sets(sa.tuple_(a), sa.tuple_(b), sa.text("()")))
        )
        total, by_a, by_b = Stats(), {}, {}
        for key_a, key_b, grouping, n, median, p90 in rows:
            if not n:  # the empty grouping set of no rows at all
                continue
            stats = Stats(int(n), float(median), float(p90))
            if grouping == 3:
                total = stats
            elif grouping == 1 and key_a != -1:
                by_a[key_a] = stats
            elif grouping == 2 and key_b != -1:
                by_b[key_b] = stats
        return total, by_a, by_b
    keys_a, keys_b, values = _columns(_rows(statement), 3, ())
    return Stats.of(values), _group_stats(keys_a, values), _group_stats(keys_b, values)


def _counts_statement(where: list[sa.ColumnElement[bool]], now: datetime) -> sa.Select:
    """Counts per (community, current handler): one aggregate over a covering index."""
    return (
        sa.select(
            TrackedRequest.community_id,
            TrackedRequest.handler_id,
            sa.func.count(),
            count_where(is_open()),
            count_where(is_overdue(now)),
            sa.func.count(TrackedRequest.satisfaction),
            sa.func.coalesce(sa.func.sum(TrackedRequest.satisfaction), 0),
            count_where(_resolved_once()),
            count_where(TrackedRequest.reopen_count > 0),
            count_where(_resolved_late()),
        )
        .where(*where)
        .group_by(TrackedRequest.community_id, TrackedRequest.handler_id)
    )


def _resolution_aggregated(
    where: list[sa.ColumnElement[bool]], e0: float, weeks: int
) -> tuple[_Grouped, np.ndarray, list[np.ndarray]]:
    """Resolution figures and weekly series from aggregate queries (PostgreSQL)."""
    resolution = _stats_by(
        sa.select(
            TrackedRequest.community_id,
            sa.func.coalesce(TrackedRequest.handler_id, -1),
            TrackedRequest.resolution_workdays,
        ).where(*where, TrackedRequest.resolution_workdays.is_not(None))
    )
    received_week = _week(TrackedRequest.submitted_at, e0).label("week")
    (received,) = _weekly(
        _rows(
            sa.select(received_week, sa.func.count())
            .where(*where)
            .group_by(sa.literal_column("week"))
        ),
        1,
        e0,
        weeks,
    )
    resolved_week = _week(TrackedRequest.resolved_at, e0).label("week")
    resolved = _weekly(
        _rows(
            sa.select(
                resolved_week,
                sa.func.count(),
                sa.func.sum(TrackedRequest.resolution_workdays),
                sa.func.count(TrackedRequest.satisfaction),
                sa.func.coalesce(sa.func.sum(TrackedRequest.satisfaction), 0),
            )
            .where(*where, TrackedRequest.resolution_workdays.is_not(None))
            .group_by(sa.literal_column("week"))
        ),
        4,
        e0,
        weeks,
    )
    return resolution, received, resolved


def _requests_fetched(
    where: list[sa.ColumnElement[bool]], now: datetime, e0: float, weeks: int
) -> tuple[list[tuple[Any, ...]], _Grouped, np.ndarray, list[np.ndarray]]:
    """Counts, resolution figures and weekly series from one scan (SQLite).

    Without percentile functions SQLite hands over the durations anyway, one row per
    request. The conditions the counts need come along as the bits of one small integer
    (simple tests SQLite evaluates quickly; numpy combines them exactly as
    `_counts_statement` does), which costs less than a second pass over the requests.
    """
    t = TrackedRequest
    tests = (
        t.resolved_at.is_(None),
        t.closed_at.is_(None),
        t.resolution_due_at < now,
        t.first_response_at.is_(None),
        t.first_response_due_at < now,
        t.reopen_count > 0,
        t.resolved_at > t.resolution_due_at,
    )
    bits = sum(sa.case((test, 1 << i), else_=0) for i, test in enumerate(tests))
    rows = _rows(
        sa.select(
            t.community_id,
            sa.func.coalesce(t.handler_id, -1),
            sa.func.coalesce(t.resolution_workdays, -1.0),
            _moment(t.submitted_at),
            _moment(t.resolved_at),
            sa.func.coalesce(t.satisfaction, 0),
            bits,
        ).where(*where)
    )
    if not rows:
        return [], (Stats(), {}, {}), np.zeros(weeks), [np.zeros(weeks) for _ in range(4)]
    columns = list(zip(*rows, strict=True))
    community, handler, days = (np.asarray(c, dtype=np.float64) for c in columns[:3])
    submitted = [moment[:13] for moment in columns[3]]  # the hour: weeks come from hours
    resolved_at = columns[4]
    rating = np.asarray(columns[5], dtype=np.float64)
    code = np.asarray(columns[6], dtype=np.int64)
    unresolved, unclosed, late, unanswered, answer_late, reopened, resolved_late = (
        (code >> i) & 1 == 1 for i in range(len(tests))
    )
    is_open = unresolved & unclosed
    overdue = is_open & (late | ((handler >= 0) & unanswered & answer_late))
    resolved_once = ~unresolved | reopened
    keys, group = np.unique(community * 2**32 + handler + 1, return_inverse=True)
    sums = [
        np.bincount(group, weights=w, minlength=len(keys)).astype(np.int64)
        for w in (
            np.ones(len(rows)),
            is_open,
            overdue,
            rating > 0,
            rating,
            resolved_once,
            reopened,
            resolved_late,
        )
    ]
    counts = []
    for i, key in enumerate(keys.astype(np.int64)):
        c, h = divmod(int(key), 2**32)
        counts.append((c, h - 1 if h else None, *(int(total[i]) for total in sums)))
    done = days >= 0
    resolution = (
        Stats.of(days[done]),
        _group_stats(community[done], days[done]),
        _group_stats(handler[done], days[done]),
    )
    received = _per_week(_week_index(submitted, e0), np.ones(len(rows)), weeks)
    week_of = _week_index([h[:13] for h, d in zip(resolved_at, done, strict=True) if d], e0)
    rated = rating[done]
    resolved = [
        _per_week(week_of, values, weeks)
        for values in (np.ones(int(done.sum())), days[done], rated > 0, rated)
    ]
    return counts, resolution, received, resolved


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while tens of thousands of tuples are made (they
    hold no cycles; collecting while they pile up costs more than the query)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute(scope: Scope, now: datetime | None = None) -> Dashboard:
    """Compute every figure of the dashboard for `scope` (a fixed number of queries)."""
    with _no_gc():
        return _compute(scope, now or utcnow())


def _compute(scope: Scope, now: datetime) -> Dashboard:
    where = _request_scope(scope)
    if scope.handler_id is not None:
        handler_where = [*where, TrackedRequest.handler_id == scope.handler_id]
    else:
        handler_where = where
    origin_day, e0, weeks = _week_origin(scope)
    counts, resolution, received, resolved_weekly = _request_figures(handler_where, now, e0, weeks)
    first_response = _first_response(scope, where)
    step_counts, step_times = _step_figures(scope, now)
    names = _names(
        {h for _c, h, *_ in counts} | set(first_response[2]) | {o for o, *_ in step_counts}
    )
    communities = dict(
        db.session.execute(
            sa.select(Community.id, Community.name).where(Community.street_id == scope.street_id)
        ).all()
    )
    total, by_handler, by_community = _request_rows(counts, names, communities)
    for stats, name in ((resolution, "resolution"), (first_response, "first_response")):
        _add_durations(name, stats, total, by_handler, by_community, names, communities)
    steps_total, owners = _step_rows(step_counts, step_times, names)
    return Dashboard(
        scope=scope,
        now=now,
        total=total,
        by_handler=sorted(by_handler.values(), key=lambda r: (r.key is None, r.name, r.key or 0)),
        by_community=sorted(by_community.values(), key=lambda r: r.key or 0),
        steps_total=steps_total,
        by_owner=sorted(owners.values(), key=lambda r: (r.name, r.key or 0)),
        trend=_trend(origin_day, weeks, received, resolved_weekly),
        min_group=int(current_app.config.get("DASHBOARD_MIN_GROUP") or DEFAULT_MIN_GROUP),
    )


def _week_origin(scope: Scope) -> tuple[date, float, int]:
    """The Monday (local) of the scope's first week, its epoch seconds and the weeks."""
    origin_day = scope.start.astimezone(local_tz()).date()
    origin_day -= timedelta(days=origin_day.weekday())
    origin = datetime.combine(origin_day, time(0), tzinfo=local_tz()).astimezone(UTC)
    e0 = origin.timestamp()
    weeks = max(1, int(np.ceil((scope.end.timestamp() - e0) / WEEK)))
    return origin_day, e0, weeks


def _request_figures(
    where: list[sa.ColumnElement[bool]], now: datetime, e0: float, weeks: int
) -> tuple[list[tuple[Any, ...]], _Grouped, np.ndarray, list[np.ndarray]]:
    """Counts per (community, current handler); resolution (working days from the first
    assignment to the resolution, stored when resolved) per community and current handler;
    requests received and resolved per week."""
    if _dialect() == "sqlite":
        return _requests_fetched(where, now, e0, weeks)
    counts = _rows(_counts_statement(where, now))
    return (counts, *_resolution_aggregated(where, e0, weeks))


def _first_response(scope: Scope, where: list[sa.ColumnElement[bool]]) -> _Grouped:
    """First response per custody (the handler who had it; stored when it answered).

    SQLite joins best from the custody events (materialised first) to their requests.
    """
    events = sa.select(
        RequestEvent.request_id, RequestEvent.to_handler_id, RequestEvent.response_workdays
    ).where(RequestEvent.type.in_(CUSTODY), RequestEvent.response_workdays.is_not(None))
    if scope.handler_id is not None:
        events = events.where(RequestEvent.to_handler_id == scope.handler_id)
    events = events.cte("custody")
    if _dialect() == "sqlite":
        events = events.prefix_with("MATERIALIZED")
    return _stats_by(
        sa.select(TrackedRequest.community_id, events.c.to_handler_id, events.c.response_workdays)
        .select_from(events)
        .join(TrackedRequest, TrackedRequest.id == events.c.request_id)
        .where(*where)
    )


def _step_figures(
    scope: Scope, now: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Review steps per owner (pending, overdue, decided, decided late) and the decided
    steps' times."""
    pending = sa.and_(ReviewStep.decision == "pending", Proposal.status == "under_review")
    decided = _decided()
    counts = _rows(
        sa.select(
            ReviewStep.owner_id,
            count_where(pending),
            count_where(sa.and_(pending, ReviewStep.due_at < now)),
            count_where(decided),
            count_where(_decided_late()),
        )
        .join(Plan, Plan.id == ReviewStep.plan_id)
        .join(Proposal, Proposal.id == Plan.proposal_id)
        .where(*_step_scope(scope))
        .group_by(ReviewStep.owner_id)
    )
    times = _rows(
        sa.select(
            ReviewStep.owner_id, _moment(ReviewStep.activated_at), _moment(ReviewStep.decided_at)
        )
        .join(Plan, Plan.id == ReviewStep.plan_id)
        .join(Proposal, Proposal.id == Plan.proposal_id)
        .where(*_step_scope(scope), decided)
    )
    return counts, times


def _names(ids: set[int | None]) -> dict[int, str]:
    """The names of these stakeholders (one query; None skipped)."""
    ids.discard(None)
    if not ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(Stakeholder.id, Stakeholder.name).where(Stakeholder.id.in_(ids))
        ).all()
    )


def _request_rows(
    counts: list[tuple[Any, ...]], names: dict[int, str], communities: dict[int, str]
) -> tuple[Row, dict[int | None, Row], dict[int, Row]]:
    """The total, per-handler and per-community rows from the counts."""
    total = Row(None, "")
    by_handler: dict[int | None, Row] = {}
    by_community: dict[int, Row] = {}
    for community_id, handler_id, *values in counts:
        part = Row(None, "", *[int(v or 0) for v in values])
        total.add(part)
        by_handler.setdefault(handler_id, Row(handler_id, names.get(handler_id, ""))).add(part)
        by_community.setdefault(
            community_id, Row(community_id, communities.get(community_id, ""))
        ).add(part)
    return total, by_handler, by_community


def _add_durations(
    name: str,
    stats: _Grouped,
    total: Row,
    by_handler: dict[int | None, Row],
    by_community: dict[int, Row],
    names: dict[int, str],
    communities: dict[int, str],
) -> None:
    """Set the duration figures `name` of the rows (adding rows without counts)."""
    total_stats, by_community_stats, by_handler_stats = stats
    setattr(total, name, total_stats)
    for key, value in by_handler_stats.items():
        setattr(by_handler.setdefault(key, Row(key, names.get(key, ""))), name, value)
    for key, value in by_community_stats.items():
        setattr(by_community.setdefault(key, Row(key, communities.get(key, ""))), name, value)


def _step_rows(
    counts: list[tuple[Any, ...]], times: list[tuple[Any, ...]], names: dict[int, str]
) -> tuple[StepRow, dict[int, StepRow]]:
    """The total and per-owner review-step rows, with the working days to a decision."""
    total = StepRow(None, "")
    owners: dict[int, StepRow] = {}
    for owner_id, *values in counts:
        row = owners.setdefault(owner_id, StepRow(owner_id, names.get(owner_id, "")))
        row.pending, row.overdue, row.decided, row.late = (int(v or 0) for v in values)
        total.pending += row.pending
        total.overdue += row.overdue
        total.decided += row.decided
        total.late += row.late
    owner, start, end = _columns(times, 3, (1, 2))
    days = workday_seconds(start, end, work_calendar(), _utc_offset()) / DAY
    known = ~np.isnan(days)  # a review over a year of unknown holidays is not measured
    owner, days = owner[known], days[known]
    total.review = Stats.of(days)
    for key, stats in _group_stats(owner, days).items():
        owners.setdefault(key, StepRow(key, names.get(key, ""))).review = stats
    return total, owners


def _trend(
    origin_day: date, weeks: int, received: np.ndarray, resolved_weekly: list[np.ndarray]
) -> Trend:
    """The weekly series from the weekly sums."""
    resolved, days, rated, rating = resolved_weekly
    return Trend(
        weeks=[origin_day + timedelta(weeks=i) for i in range(weeks)],
        received=[int(v) for v in received],
        resolved=[int(v) for v in resolved],
        mean_resolution=[float(d / n) if n else None for d, n in zip(days, resolved, strict=True)],
        satisfaction=[float(s / n) if n else None for s, n in zip(rating, rated, strict=True)],
    )


def count_overdue(now: datetime | None = None) -> int:
    """Return how many open requests are overdue now (the metrics gauge; one count)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(TrackedRequest)
            .where(is_overdue(now or utcnow()))
        )
        or 0
    )
