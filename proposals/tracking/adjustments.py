"""Use cases of the working-day calendar's local adjustments (the street office's page).

An adjustment overrides the official calendar for one day: a day off (a typhoon, a local
holiday) or a worked day. Entering a whole year the holiday package does not know yet,
and then declaring the year complete, lets deadlines run into it before the package is
updated. Every change is an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from coord import audit
from coord.db import db
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import User
from proposals.tracking.deadlines import forget_calendar
from proposals.tracking.holidays import official_calendar
from proposals.tracking.models import WorkdayAdjustment, WorkdayYear
from proposals.tracking.permissions import can_edit_calendar

FIRST_YEAR, LAST_YEAR = 2000, 2100
REASON_MAX = 200


@dataclass(frozen=True)
class CalendarState:
    """What the calendar page shows: the package's years, declared years, adjustments."""

    package_years: tuple[int, int]
    declared_years: list[WorkdayYear]
    adjustments: list[WorkdayAdjustment]


def calendar_state() -> CalendarState:
    """Return the sources of the working-day calendar."""
    years = official_calendar().years or frozenset()
    return CalendarState(
        package_years=(min(years), max(years)),
        declared_years=list(db.session.scalars(sa.select(WorkdayYear).order_by(WorkdayYear.year))),
        adjustments=list(
            db.session.scalars(sa.select(WorkdayAdjustment).order_by(WorkdayAdjustment.day.desc()))
        ),
    )


def _require_editor(user: User) -> None:
    if not can_edit_calendar(user):
        raise NotAllowed(_("Only the street office keeps the working-day calendar."))


def _check_year(year: int, field: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DomainError(
            _("Choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR),
            field=field,
        )


def add_adjustment(user: User, day: date, is_working_day: bool, reason: str) -> WorkdayAdjustment:
    """Make `day` a working day or a day off, whatever the official calendar says."""
    _require_editor(user)
    _check_year(day.year, "day")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the day is changed."), field="reason")
    taken = db.session.scalar(sa.select(WorkdayAdjustment.id).where(WorkdayAdjustment.day == day))
    if taken is not None:
        raise Conflict(_("This day is already adjusted; remove that first."))
    rv = WorkdayAdjustment(
        day=day, is_working_day=is_working_day, reason=reason[:REASON_MAX], created_by_id=user.id
    )
    db.session.add(rv)
    db.session.flush()
    audit.record(
        "calendar.adjust",
        "workday_adjustment",
        rv.id,
        user_id=user.id,
        is_public=True,
        data={"day": day.isoformat(), "is_working_day": is_working_day, "reason": rv.reason},
    )
    forget_calendar()
    return rv


def remove_adjustment(user: User, adjustment: WorkdayAdjustment) -> None:
    """Remove an adjustment: the official calendar decides that day again."""
    _require_editor(user)
    audit.record(
        "calendar.remove_adjustment",
        "workday_adjustment",
        adjustment.id,
        user_id=user.id,
        is_public=True,
        data={"day": adjustment.day.isoformat(), "is_working_day": adjustment.is_working_day},
    )
    db.session.delete(adjustment)
    db.session.flush()
    forget_calendar()


def declare_year(user: User, year: int) -> WorkdayYear:
    """Declare that every holiday and adjusted working day of `year` has been entered."""
    _require_editor(user)
    _check_year(year, "year")
    if year in (official_calendar().years or ()):
        raise Conflict(_("The holiday package already knows %(year)d.", year=year))
    if db.session.get(WorkdayYear, year) is not None:
        raise Conflict(_("%(year)d is already declared complete.", year=year))
    rv = WorkdayYear(year=year, created_by_id=user.id)
    db.session.add(rv)
    db.session.flush()
    audit.record("calendar.declare_year", "workday_year", year, user_id=user.id, is_public=True)
    forget_calendar()
    return rv


def withdraw_year(user: User, declared: WorkdayYear) -> None:
    """Withdraw a year's declaration: its days are unknown again (unless the package knows them)."""
    _require_editor(user)
    audit.record(
        "calendar.withdraw_year", "workday_year", declared.year, user_id=user.id, is_public=True
    )
    db.session.delete(declared)
    db.session.flush()
    forget_calendar()
