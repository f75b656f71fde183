"""The supervision dashboard's figures, from aggregate queries (never one query per item).

Requests in scope are those of the street (optionally one community, one handler)
*submitted* in the time range. For them:

- received, open (submitted, accepted or in progress), overdue (open, and past the
  resolution deadline or — not yet answered by the current handler — past the
  first-response deadline), satisfaction (average of the ratings), reopen rate
  (reopened ÷ resolved at least once): one grouped COUNT/SUM query;
- time to first response: per custody (an ``assigned`` or ``transferred`` event to its
  `responded_at`), so a handler who passes a request on late is measured, not the next one;
- time to resolution: from the first assignment to the (last) resolution.

Durations are in *working days*: the working hours between the two moments (weekends and
holidays of the configured calendar excluded, in local time) divided by 24. The database
returns only epoch seconds (one query per kind of duration); the working time, medians
and 90th percentiles (linear interpolation, like PostgreSQL's ``percentile_cont``) are
computed with numpy.

Review steps in scope are those of plans submitted to the street's office, activated in
the range: pending, overdue (pending past their due time) and the median working days
from activation to decision, per owner.

The public view (`public=True`) shows the same figures for one community, but hides
every figure that rests on fewer than ``DASHBOARD_MIN_GROUP`` (default 5) items, so that
no figure describes one person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app

from coord.db import db, utcnow
from coord.models import Community
from proposals.deadlines import local_tz, work_calendar
from proposals.models import Proposal
from proposals.tracking_models import Plan, RequestEvent, ReviewStep, TrackedRequest
from proposals.workdays import WorkCalendar
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
)
STEP_METRICS = ("steps_pending", "steps_overdue", "steps_decided")


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
    `WorkCalendar.workday_hours_between` × 3600 (for a zone without daylight saving).
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
    return np.maximum(rv, 0.0)


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


@dataclass
class StepRow:
    """The review-step figures of one owner (a department or the street office)."""

    key: int | None
    name: str
    pending: int = 0
    overdue: int = 0
    decided: int = 0
    review: Stats = field(default_factory=Stats)


@dataclass(frozen=True)
class Trend:
    """Weekly series: received and resolved requests, median resolution, satisfaction."""

    weeks: list[date]
    received: list[int]
    resolved: list[int]
    median_resolution: list[float | None]
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
    return sa.extract("epoch", column)


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


def _is_open() -> sa.ColumnElement[bool]:
    return Proposal.status.in_(OPEN_STATES)


def _is_overdue(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _is_open(),
        sa.or_(
            TrackedRequest.resolution_due_at < now,
            sa.and_(
                TrackedRequest.handler_id.is_not(None),
                TrackedRequest.first_response_at.is_(None),
                TrackedRequest.first_response_due_at < now,
            ),
        ),
    )


def _resolved_once() -> sa.ColumnElement[bool]:
    return sa.or_(TrackedRequest.resolved_at.is_not(None), TrackedRequest.reopen_count > 0)


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
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
        "open": _is_open(),
        "overdue": _is_overdue(now),
        "resolution": sa.and_(
            TrackedRequest.resolved_at.is_not(None), TrackedRequest.assigned_at.is_not(None)
        ),
        "rated": TrackedRequest.satisfaction.is_not(None),
        "reopened": TrackedRequest.reopen_count > 0,
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
        "steps_decided": sa.and_(
            ReviewStep.decision.in_(DECIDED), ReviewStep.decided_at.is_not(None)
        ),
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


def _arrays(rows: Sequence[Sequence[Any]], columns: int) -> list[np.ndarray]:
    if not rows:
        return [np.zeros(0) for _ in range(columns)]
    data = np.array([[(-1 if v is None else v) for v in row] for row in rows], dtype=np.float64)
    return [data[:, i] for i in range(columns)]


def compute(scope: Scope, now: datetime | None = None) -> Dashboard:
    """Compute every figure of the dashboard for `scope` (a fixed number of queries)."""
    now = now or utcnow()
    calendar = work_calendar()
    offset = _utc_offset()
    min_group = int(current_app.config.get("DASHBOARD_MIN_GROUP") or DEFAULT_MIN_GROUP)
    where = _request_scope(scope)
    if scope.handler_id is not None:
        handler_where = [*where, TrackedRequest.handler_id == scope.handler_id]
    else:
        handler_where = where

    # 1. Counts per (community, current handler).
    counts = db.session.execute(
        sa.select(
            TrackedRequest.community_id,
            TrackedRequest.handler_id,
            sa.func.count(),
            _count(_is_open()),
            _count(_is_overdue(now)),
            sa.func.count(TrackedRequest.satisfaction),
            sa.func.coalesce(sa.func.sum(TrackedRequest.satisfaction), 0),
            _count(_resolved_once()),
            _count(TrackedRequest.reopen_count > 0),
        )
        .join(Proposal, Proposal.id == TrackedRequest.proposal_id)
        .where(*handler_where)
        .group_by(TrackedRequest.community_id, TrackedRequest.handler_id)
    ).all()

    # 2. Resolution: first assignment → resolution (current handler), with the rating.
    resolution_rows = db.session.execute(
        sa.select(
            TrackedRequest.community_id,
            TrackedRequest.handler_id,
            epoch(TrackedRequest.assigned_at),
            epoch(TrackedRequest.resolved_at),
            TrackedRequest.satisfaction,
        ).where(
            *handler_where,
            TrackedRequest.resolved_at.is_not(None),
            TrackedRequest.assigned_at.is_not(None),
        )
    ).all()

    # 3. First response per custody (the handler who had it).
    custody = (
        sa.select(
            TrackedRequest.community_id,
            RequestEvent.to_handler_id,
            epoch(RequestEvent.created_at),
            epoch(RequestEvent.responded_at),
        )
        .join(TrackedRequest, TrackedRequest.id == RequestEvent.request_id)
        .where(
            *where,
            RequestEvent.type.in_(CUSTODY),
            RequestEvent.responded_at.is_not(None),
        )
    )
    if scope.handler_id is not None:
        custody = custody.where(RequestEvent.to_handler_id == scope.handler_id)
    custody_rows = db.session.execute(custody).all()

    # 4. Requests received per week (local weeks starting on Monday).
    origin_day = scope.start.astimezone(local_tz()).date()
    origin_day -= timedelta(days=origin_day.weekday())
    origin = datetime.combine(origin_day, time(0), tzinfo=local_tz()).astimezone(UTC)
    e0 = origin.timestamp()
    bucket_expr = (epoch(TrackedRequest.submitted_at) - e0) / WEEK
    if _dialect() == "sqlite":
        bucket = sa.cast(bucket_expr, sa.Integer)
    else:
        bucket = sa.cast(sa.func.floor(bucket_expr), sa.Integer)
    received_weeks = dict(
        db.session.execute(
            sa.select(bucket.label("week"), sa.func.count())
            .where(*handler_where)
            .group_by(sa.literal_column("week"))
        ).all()
    )

    # 5. Review steps per owner; 6. review durations.
    pending = sa.and_(ReviewStep.decision == "pending", Proposal.status == "under_review")
    step_base = (
        sa.select(
            ReviewStep.owner_id,
            _count(pending),
            _count(sa.and_(pending, ReviewStep.due_at < now)),
            _count(sa.and_(ReviewStep.decision.in_(DECIDED), ReviewStep.decided_at.is_not(None))),
        )
        .join(Plan, Plan.id == ReviewStep.plan_id)
        .join(Proposal, Proposal.id == Plan.proposal_id)
        .where(*_step_scope(scope))
        .group_by(ReviewStep.owner_id)
    )
    step_counts = db.session.execute(step_base).all()
    step_times = db.session.execute(
        sa.select(ReviewStep.owner_id, epoch(ReviewStep.activated_at), epoch(ReviewStep.decided_at))
        .join(Plan, Plan.id == ReviewStep.plan_id)
        .join(Proposal, Proposal.id == Plan.proposal_id)
        .where(
            *_step_scope(scope),
            ReviewStep.decision.in_(DECIDED),
            ReviewStep.decided_at.is_not(None),
        )
    ).all()

    # 7. Names.
    ids = {h for _c, h, *_ in counts} | {h for _c, h, *_ in custody_rows}
    ids |= {o for o, *_ in step_counts}
    ids.discard(None)
    names = (
        dict(
            db.session.execute(
                sa.select(Stakeholder.id, Stakeholder.name).where(Stakeholder.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    communities = dict(
        db.session.execute(
            sa.select(Community.id, Community.name).where(Community.street_id == scope.street_id)
        ).all()
    )

    # Rows from the counts.
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

    # Durations.
    r_comm, r_handler, r_start, r_end, r_rating = _arrays(resolution_rows, 5)
    r_days = workday_seconds(r_start, r_end, calendar, offset) / DAY
    total.resolution = Stats.of(r_days)
    for key, stats in _group_stats(r_handler, r_days).items():
        by_handler.setdefault(key, Row(key, names.get(key, ""))).resolution = stats
    for key, stats in _group_stats(r_comm, r_days).items():
        by_community.setdefault(key, Row(key, communities.get(key, ""))).resolution = stats
    c_comm, c_handler, c_start, c_end = _arrays(custody_rows, 4)
    c_days = workday_seconds(c_start, c_end, calendar, offset) / DAY
    total.first_response = Stats.of(c_days)
    for key, stats in _group_stats(c_handler, c_days).items():
        by_handler.setdefault(key, Row(key, names.get(key, ""))).first_response = stats
    for key, stats in _group_stats(c_comm, c_days).items():
        by_community.setdefault(key, Row(key, communities.get(key, ""))).first_response = stats

    # Steps.
    steps_total = StepRow(None, "")
    owners: dict[int, StepRow] = {}
    for owner_id, p, o, d in step_counts:
        row = owners.setdefault(owner_id, StepRow(owner_id, names.get(owner_id, "")))
        row.pending, row.overdue, row.decided = int(p or 0), int(o or 0), int(d or 0)
        steps_total.pending += row.pending
        steps_total.overdue += row.overdue
        steps_total.decided += row.decided
    s_owner, s_start, s_end = _arrays(step_times, 3)
    s_days = workday_seconds(s_start, s_end, calendar, offset) / DAY
    steps_total.review = Stats.of(s_days)
    for key, stats in _group_stats(s_owner, s_days).items():
        owners.setdefault(key, StepRow(key, names.get(key, ""))).review = stats

    # Trend.
    weeks = max(1, int(np.ceil((scope.end.timestamp() - e0) / WEEK)))
    resolved = np.zeros(weeks, dtype=np.int64)
    medians: list[float | None] = [None] * weeks
    satisfaction: list[float | None] = [None] * weeks
    if len(r_end):
        week_of = np.floor((r_end - e0) / WEEK).astype(np.int64)
        inside = (week_of >= 0) & (week_of < weeks)
        resolved = np.bincount(week_of[inside], minlength=weeks)[:weeks]
        for w in np.unique(week_of[inside]):
            chosen = week_of == w
            medians[int(w)] = float(np.median(r_days[chosen]))
            rated = r_rating[chosen]
            rated = rated[rated >= 1]
            if len(rated):
                satisfaction[int(w)] = float(rated.mean())
    trend = Trend(
        weeks=[origin_day + timedelta(weeks=i) for i in range(weeks)],
        received=[int(received_weeks.get(i, 0)) for i in range(weeks)],
        resolved=[int(v) for v in resolved],
        median_resolution=medians,
        satisfaction=satisfaction,
    )

    handler_rows = sorted(by_handler.values(), key=lambda r: (r.key is None, r.name, r.key or 0))
    community_rows = sorted(by_community.values(), key=lambda r: r.key or 0)
    return Dashboard(
        scope=scope,
        now=now,
        total=total,
        by_handler=handler_rows,
        by_community=community_rows,
        steps_total=steps_total,
        by_owner=sorted(owners.values(), key=lambda r: (r.name, r.key or 0)),
        trend=trend,
        min_group=min_group,
    )
