"""Deadlines in working days, from the working-day calendar and the app's configuration.

The calendar is the official one — China's holidays from the chinesecalendar package
(`proposals.tracking.holidays`), or ``WORK_CALENDAR`` when set (a mapping for
`WorkCalendar.from_config`) — with the local adjustments of the street office laid over
it (`WorkdayAdjustment`; `WorkdayYear` marks a year whose holidays are all entered).
``WORK_CALENDAR_ASSUMED_YEARS`` lists years to count with weekends only although no source
knows their holidays: the test suite and a local trial set it, so that they do not depend
on today's date; production leaves it empty.

A day of a year that no source knows is never taken for a working day: a deadline that
runs into it is refused (`CalendarUnknown`, a DomainError), a duration over it is not
measured (None, until `flask coord tracking recompute`), and the supervision
dashboard warns ahead (`missing_years`).

``REQUEST_DEADLINES``: working days per request category, e.g.
``{"default": {"first_response": 1, "resolution": 5}, "water": {"resolution": 2}}``;
a category without an entry (or a missing key) uses ``default``, then 1 and 5.

Working days are judged on the local wall clock (``BABEL_DEFAULT_TIMEZONE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import gettext as _

from coord.db import db
from coord.errors import DomainError
from proposals.tracking.holidays import official_calendar
from proposals.tracking.models import WorkdayAdjustment, WorkdayYear
from proposals.tracking.workdays import UnknownYearError, WorkCalendar

DEFAULT_FIRST_RESPONSE_DAYS = 1
DEFAULT_RESOLUTION_DAYS = 5
#: How far ahead the dashboard looks for a year whose holidays are not entered.
WARNING_DAYS = 60

_CACHE = "coord_work_calendar"


class CalendarUnknown(DomainError):
    """A deadline would run into a year whose public holidays nobody has entered."""

    status = 409

    def __init__(self, year: int) -> None:
        super().__init__(
            _(
                "The %(year)d public holidays have not been entered yet, so no deadline can "
                "be counted into %(year)d. The street office enters them on the working-day "
                "calendar page.",
                year=year,
            )
        )
        self.year = year


def local_tz() -> ZoneInfo:
    """Return the time zone in which working days are counted."""
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def work_calendar() -> WorkCalendar:
    """Return the working-day calendar with the local adjustments (read once per app context
    or request; `forget_calendar` after changing them)."""
    config = current_app.config.get("WORK_CALENDAR")
    cached = g.get(_CACHE)
    if cached is not None and cached[0] == config:
        return cached[1]
    base = WorkCalendar.from_config(config) if config else official_calendar()
    days = db.session.execute(sa.select(WorkdayAdjustment.day, WorkdayAdjustment.is_working_day))
    years = [
        *db.session.scalars(sa.select(WorkdayYear.year)),
        *current_app.config.get("WORK_CALENDAR_ASSUMED_YEARS", ()),
    ]
    rv = base.adjusted({day: worked for day, worked in days}, years)
    setattr(g, _CACHE, (config, rv))
    return rv


def forget_calendar() -> None:
    """Drop the calendar read in this context (its adjustments changed)."""
    g.pop(_CACHE, None)


def missing_years(now: datetime, days: int = WARNING_DAYS) -> list[int]:
    """Return the years of the next `days` days (local time) whose holidays are unknown."""
    today = now.astimezone(local_tz()).date()
    return work_calendar().unknown_years(today, today + timedelta(days=days))


def add_workdays(start: datetime, days: int) -> datetime:
    """Return the UTC moment `days` working days after `start` (counted in local time);
    raise `CalendarUnknown` when that runs into a year whose holidays are unknown."""
    local = start.astimezone(local_tz())
    try:
        return work_calendar().add_workdays(local, days).astimezone(UTC)
    except UnknownYearError as exc:
        raise CalendarUnknown(exc.year) from exc


def workdays_between(start: datetime, end: datetime) -> float | None:
    """Return the working time from `start` to `end` in working days (24 working hours each);
    None when it spans a year whose holidays are unknown."""
    tz = local_tz()
    try:
        hours = work_calendar().workday_hours_between(start.astimezone(tz), end.astimezone(tz))
    except UnknownYearError:
        return None
    return hours / 24


def is_workday(moment: datetime) -> bool:
    """Tell whether `moment` falls on a working day (local time); raise `CalendarUnknown`
    when its year's holidays are unknown."""
    try:
        return work_calendar().is_workday(moment.astimezone(local_tz()))
    except UnknownYearError as exc:
        raise CalendarUnknown(exc.year) from exc


def request_deadlines(category: str) -> tuple[int, int]:
    """Return (first response, resolution) working days for a request category."""
    table: Mapping[str, Mapping[str, int]] = current_app.config.get("REQUEST_DEADLINES") or {}
    default = table.get("default") or {}
    own = table.get(category) or {}
    rv = []
    for key, fallback in (
        ("first_response", DEFAULT_FIRST_RESPONSE_DAYS),
        ("resolution", DEFAULT_RESOLUTION_DAYS),
    ):
        value = own.get(key, default.get(key, fallback))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"REQUEST_DEADLINES[{category!r}][{key!r}] must be an integer >= 1")
        rv.append(value)
    return rv[0], rv[1]
