"""China's public holidays and adjusted working days (调休), from the chinesecalendar package.

The package is updated every year when the State Council publishes the next year's
holidays (usually in the autumn): upgrade it (`pip install -U chinesecalendar`) to learn a
new year. Until then the street office can enter that year itself (the working-day
calendar page); the days a version of the package knows are its `years`.
"""

from __future__ import annotations

from functools import cache

import chinese_calendar

from proposals.tracking.workdays import WorkCalendar


@cache
def official_calendar() -> WorkCalendar:
    """Return the calendar of every year the installed chinesecalendar package knows."""
    days = {d: False for d in chinese_calendar.holidays} | {
        d: True for d in chinese_calendar.workdays
    }
    known = {d.year for d in days}
    return WorkCalendar.from_days(days, range(min(known), max(known) + 1))
