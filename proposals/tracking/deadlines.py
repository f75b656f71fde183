"""Deadlines in working days, from the app's configuration.

- ``WORK_CALENDAR``: a mapping for `WorkCalendar.from_config` (``holidays``, ``workdays``,
  ``weekend``); default China's 2026 calendar (`proposals.tracking.workdays.CHINA_2026_CONFIG`).
- ``REQUEST_DEADLINES``: working days per request category, e.g.
  ``{"default": {"first_response": 1, "resolution": 5}, "water": {"resolution": 2}}``;
  a category without an entry (or a missing key) uses ``default``, then 1 and 5.

Working days are judged on the local wall clock (``BABEL_DEFAULT_TIMEZONE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from proposals.tracking.workdays import CHINA_2026_CONFIG, WorkCalendar

DEFAULT_FIRST_RESPONSE_DAYS = 1
DEFAULT_RESOLUTION_DAYS = 5

_CACHE = "coord_work_calendar"


def local_tz() -> ZoneInfo:
    """Return the time zone in which working days are counted."""
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def work_calendar() -> WorkCalendar:
    """Return the configured working-day calendar (built once per configuration)."""
    config = current_app.config.get("WORK_CALENDAR") or CHINA_2026_CONFIG
    cached = current_app.extensions.get(_CACHE)
    if cached is not None and cached[0] == config:
        return cached[1]
    rv = WorkCalendar.from_config(config)
    current_app.extensions[_CACHE] = (config, rv)
    return rv


def add_workdays(start: datetime, days: int) -> datetime:
    """Return the UTC moment `days` working days after `start` (counted in local time)."""
    local = start.astimezone(local_tz())
    return work_calendar().add_workdays(local, days).astimezone(UTC)


def workdays_between(start: datetime, end: datetime) -> float:
    """Return the working time from `start` to `end` in working days (24 working hours each)."""
    tz = local_tz()
    return work_calendar().workday_hours_between(start.astimezone(tz), end.astimezone(tz)) / 24


def is_workday(moment: datetime) -> bool:
    """Tell whether `moment` falls on a working day (local time)."""
    return work_calendar().is_workday(moment.astimezone(local_tz()))


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
