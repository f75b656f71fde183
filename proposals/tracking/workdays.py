"""Working-day calendar for deadlines (办理时限), with holidays and adjusted workdays (pure).

In China some weekend days become working days to make a holiday longer (调休), so a
calendar has public holidays *and* extra working days on top of the usual weekend.

Dates and datetimes are judged by their own wall-clock date: convert an aware UTC
datetime to local time (Asia/Shanghai) before asking the calendar.

``add_workdays(start, n)`` returns the earliest working day ``r`` such that
``workdays_between(start, r) == n``; datetimes keep their time of day. A start on a
non-working day first rolls forward to the start (00:00) of the next working day, so
adding 0 to a Saturday gives Monday (00:00 for a datetime), and adding 1 to Saturday
10:00 gives Tuesday 00:00 — i.e. after the whole of Monday. For datetimes this keeps
``workday_hours_between(start, add_workdays(start, n)) == 24 * n``.

Public holidays are decided each year (China's State Council publishes the next year's in
the autumn), so a calendar knows some `years` only: asking it about a day of another year
raises `UnknownYearError` rather than guessing that the day is worked. The holidays are
injected — `from_days` takes a lookup of special days (in the app, from the chinesecalendar
package: `proposals.tracking.holidays`), and `adjusted` lays local changes over it (a
typhoon day off, or next year's holidays entered before the package knows them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TypeVar

D = TypeVar("D", date, datetime)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RANGE = re.compile(r"\s*(\S+)\s*\.\.\s*(\S+)\s*")


class UnknownYearError(ValueError):
    """The calendar does not know the public holidays of a year."""

    def __init__(self, year: int) -> None:
        super().__init__(f"The public holidays of {year} are not known")
        self.year = year


@dataclass(frozen=True)
class WorkCalendar:
    """A week with weekend days, plus public holidays and extra (adjusted) workdays.

    `years` are the years whose holidays are known; None means every year (a calendar of
    weekends only, or one configured without a list of years).
    """

    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    weekend: tuple[int, ...] = (5, 6)  # Monday is 0, as in date.weekday()
    years: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if self.years is not None:
            years = frozenset(self.years)
            if not all(isinstance(y, int) and not isinstance(y, bool) for y in years):
                raise ValueError(f"Years must be integers: {sorted(years, key=str)!r}")
            object.__setattr__(self, "years", years)
        holidays = frozenset(_as_date(d) for d in self.holidays)
        extra = frozenset(_as_date(d) for d in self.extra_workdays)
        weekend = tuple(sorted(set(self.weekend)))
        if not all(isinstance(d, int) and 0 <= d <= 6 for d in weekend):
            raise ValueError(f"Weekend days must be integers 0 (Monday) to 6: {self.weekend!r}")
        if len(weekend) == 7:
            raise ValueError("A calendar needs at least one working weekday")
        both = holidays & extra
        if both:
            raise ValueError(f"Dates both holiday and workday: {_fmt(both)}")
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "extra_workdays", extra)
        object.__setattr__(self, "weekend", weekend)

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> WorkCalendar:
        """Build a calendar from ``{"holidays": [...], "workdays": [...], "weekend": [...],
        "years": [...]}``.

        Dates are ISO strings ``YYYY-MM-DD`` (or ``date`` objects); an inclusive range may
        be written ``"2026-10-01..2026-10-07"``. All keys are optional; without ``years``
        the calendar claims to know every year.
        """
        unknown = set(config) - {"holidays", "workdays", "weekend", "years"}
        if unknown:
            raise ValueError(f"Unknown calendar keys: {', '.join(sorted(unknown))}")
        weekend = config.get("weekend", (5, 6))
        if isinstance(weekend, str) or not isinstance(weekend, Iterable):
            raise ValueError(f"'weekend' must be a list of weekday numbers: {weekend!r}")
        years = config.get("years")
        if years is not None and (isinstance(years, str) or not isinstance(years, Iterable)):
            raise ValueError(f"'years' must be a list of years: {years!r}")
        return cls(
            holidays=_parse_dates(config.get("holidays", ()), "holidays"),
            extra_workdays=_parse_dates(config.get("workdays", ()), "workdays"),
            weekend=tuple(weekend),
            years=None if years is None else frozenset(years),
        )

    @classmethod
    def from_days(
        cls, days: Mapping[date, bool], years: Iterable[int], weekend: tuple[int, ...] = (5, 6)
    ) -> WorkCalendar:
        """Build the calendar of `years` from its special days: False for a holiday (on a
        weekday or not), True for a worked day (a weekend day made a working day)."""
        return cls(
            holidays=frozenset(d for d, worked in days.items() if not worked),
            extra_workdays=frozenset(d for d, worked in days.items() if worked),
            weekend=weekend,
            years=frozenset(years),
        )

    def adjusted(
        self, days: Mapping[date, bool], complete_years: Iterable[int] = ()
    ) -> WorkCalendar:
        """Return this calendar with `days` overriding it (False: a day off, True: worked),
        and knowing `complete_years` too (their holidays are all among `days`)."""
        off = frozenset(_as_date(d) for d, worked in days.items() if not worked)
        on = frozenset(_as_date(d) for d, worked in days.items() if worked)
        return replace(
            self,
            holidays=(self.holidays - on) | off,
            extra_workdays=(self.extra_workdays - off) | on,
            years=None if self.years is None else self.years | frozenset(complete_years),
        )

    def unknown_years(self, first: date, last: date) -> list[int]:
        """Return the years from `first` to `last` (inclusive) whose holidays are unknown."""
        if self.years is None:
            return []
        span = range(_as_date(first).year, _as_date(last).year + 1)
        return [year for year in span if year not in self.years]

    def _require(self, first: date, last: date) -> None:
        missing = self.unknown_years(first, last)
        if missing:
            raise UnknownYearError(missing[0])

    def is_workday(self, d: date) -> bool:
        """Return whether ``d`` (a date, or a datetime's date) is a working day."""
        d = _as_date(d)
        self._require(d, d)
        if d in self.extra_workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() not in self.weekend

    def next_workday(self, d: D) -> D:
        """Return ``d`` if it falls on a working day, else the start of the next one."""
        if self.is_workday(d):
            return d
        day = _as_date(d) + timedelta(days=1)
        while not self.is_workday(day):
            day += timedelta(days=1)
        if isinstance(d, datetime):
            return datetime.combine(day, time(0), tzinfo=d.tzinfo)
        return day

    def add_workdays(self, start: D, n: int) -> D:
        """Return the moment ``n`` whole working days after ``start`` (see module doc)."""
        if n < 0:
            raise ValueError(f"Cannot add a negative number of working days: {n}")
        rv = self.next_workday(start)
        day = _as_date(rv)
        for _ in range(n):
            day += timedelta(days=1)
            while not self.is_workday(day):
                day += timedelta(days=1)
        if isinstance(rv, datetime):
            return datetime.combine(day, rv.timetz())
        return day

    def workdays_between(self, a: date, b: date) -> int:
        """Return the number of working days in ``[a, b)`` (0 when ``b <= a``)."""
        a, b = _as_date(a), _as_date(b)
        if b <= a:
            return 0
        self._require(a, b - timedelta(days=1))
        days = (b - a).days
        weeks, rest = divmod(days, 7)
        working_per_week = 7 - len(self.weekend)
        rv = weeks * working_per_week
        rv += sum(1 for i in range(rest) if (a.weekday() + i) % 7 not in self.weekend)
        rv -= sum(1 for d in self.holidays if a <= d < b and d.weekday() not in self.weekend)
        rv += sum(1 for d in self.extra_workdays if a <= d < b and d.weekday() in self.weekend)
        return rv

    def workday_hours_between(self, a: datetime, b: datetime) -> float:
        """Return the hours of ``[a, b)`` that fall on working days (0 when ``b <= a``)."""
        if a.tzinfo is not None and b.tzinfo is not None:
            b = b.astimezone(a.tzinfo)
        if b <= a:
            return 0.0
        seconds = 0.0
        day = a.date()
        while day <= b.date():
            if self.is_workday(day):
                begin = max(a, datetime.combine(day, time(0), tzinfo=a.tzinfo))
                end = min(b, datetime.combine(day + timedelta(days=1), time(0), tzinfo=a.tzinfo))
                seconds += max((end - begin).total_seconds(), 0.0)
            day += timedelta(days=1)
        return seconds / 3600


def _as_date(d: date) -> date:
    """Return the calendar date of a date or datetime."""
    if isinstance(d, datetime):
        return d.date()
    if isinstance(d, date):
        return d
    raise TypeError(f"Expected a date or datetime, got {type(d).__name__}")


def _fmt(days: Iterable[date]) -> str:
    """Format dates for an error message."""
    return ", ".join(d.isoformat() for d in sorted(days))


def _parse_date(value: object, key: str) -> date:
    """Parse one ISO date, with an error naming the config key."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(
        f"Invalid date in {key!r}: {value!r} (expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)"
    )


def _parse_dates(values: object, key: str) -> frozenset[date]:
    """Parse a list of ISO dates and inclusive ``first..last`` ranges."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValueError(f"{key!r} must be a list of dates, got {values!r}")
    rv: set[date] = set()
    for value in values:
        match = _RANGE.fullmatch(value) if isinstance(value, str) else None
        if not match:
            rv.add(_parse_date(value, key))
            continue
        first, last = _parse_date(match[1], key), _parse_date(match[2], key)
        if last < first:
            raise ValueError(f"Empty date range in {key!r}: {value!r}")
        rv.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return frozenset(rv)
