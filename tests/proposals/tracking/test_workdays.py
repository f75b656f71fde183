from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from proposals.tracking.holidays import official_calendar
from proposals.tracking.workdays import UnknownYearError, WorkCalendar

PLAIN = WorkCalendar()
#: China's calendar from the chinesecalendar package (every year it knows).
CHINA = official_calendar()
CST = timezone(timedelta(hours=8))

# March 2026: Monday 2nd ... Friday 6th, weekend 7th-8th, Monday 9th.
MON, FRI, SAT, SUN = date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8)


def d(s: str) -> date:
    return date.fromisoformat(s)


def test_plain_week() -> None:
    assert [PLAIN.is_workday(MON + timedelta(days=i)) for i in range(7)] == [True] * 5 + [False] * 2
    assert PLAIN.is_workday(datetime(2026, 3, 7, 10, 0)) is False
    assert PLAIN.is_workday(datetime(2026, 3, 6, 23, 59)) is True


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (MON, 0, MON),
        (MON, 1, d("2026-03-03")),
        (MON, 4, FRI),
        (MON, 5, d("2026-03-09")),
        (MON, 10, d("2026-03-16")),
        (FRI, 1, d("2026-03-09")),
        (SAT, 0, d("2026-03-09")),  # rolls forward to the next working day
        (SUN, 0, d("2026-03-09")),
        (SAT, 1, d("2026-03-10")),  # the whole of Monday, then Tuesday
        (SUN, 2, d("2026-03-11")),
        (d("2026-12-31"), 1, d("2027-01-01")),  # no 2027 holidays configured
    ],
)
def test_add_workdays_plain(start: date, n: int, expected: date) -> None:
    assert PLAIN.add_workdays(start, n) == expected
    assert PLAIN.workdays_between(start, expected) == n


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (datetime(2026, 3, 2, 10, 30), 1, datetime(2026, 3, 3, 10, 30)),
        (datetime(2026, 3, 6, 17, 30), 1, datetime(2026, 3, 9, 17, 30)),
        (datetime(2026, 3, 6, 17, 30), 0, datetime(2026, 3, 6, 17, 30)),
        (datetime(2026, 3, 7, 10, 0), 0, datetime(2026, 3, 9, 0, 0)),
        (datetime(2026, 3, 7, 10, 0), 1, datetime(2026, 3, 10, 0, 0)),
        (datetime(2026, 3, 8, 23, 59), 3, datetime(2026, 3, 12, 0, 0)),
    ],
)
def test_add_workdays_datetimes_keep_time_of_day(
    start: datetime, n: int, expected: datetime
) -> None:
    rv = PLAIN.add_workdays(start, n)
    assert rv == expected
    assert type(rv) is datetime
    assert PLAIN.workday_hours_between(start, rv) == 24 * n


def test_add_workdays_keeps_timezone() -> None:
    start = datetime(2026, 3, 6, 17, 30, tzinfo=CST)
    assert PLAIN.add_workdays(start, 1) == datetime(2026, 3, 9, 17, 30, tzinfo=CST)
    assert PLAIN.add_workdays(start, 1).tzinfo is CST
    saturday = datetime(2026, 3, 7, 8, 0, tzinfo=CST)
    assert PLAIN.add_workdays(saturday, 0) == datetime(2026, 3, 9, tzinfo=CST)
    assert PLAIN.add_workdays(saturday, 0).tzinfo is CST


def test_add_workdays_rejects_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        PLAIN.add_workdays(MON, -1)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (MON, MON, 0),
        (MON, d("2026-03-03"), 1),
        (MON, d("2026-03-09"), 5),
        (FRI, SAT, 1),
        (SAT, d("2026-03-09"), 0),
        (SAT, d("2026-03-10"), 1),
        (d("2026-03-09"), MON, 0),  # b before a
        (MON, d("2026-03-30"), 20),
        (d("2026-03-04"), d("2026-03-17"), 9),  # Wed..Mon: 3 + 5 + 1
        (d("2026-01-01"), d("2027-01-01"), 261),  # 52 weeks and a Thursday
    ],
)
def test_workdays_between_plain(a: date, b: date, expected: int) -> None:
    assert PLAIN.workdays_between(a, b) == expected


def test_workdays_between_accepts_datetimes() -> None:
    assert PLAIN.workdays_between(datetime(2026, 3, 2, 23, 0), datetime(2026, 3, 4, 1, 0)) == 2


def test_six_day_week() -> None:
    cal = WorkCalendar(weekend=(6,))
    assert cal.is_workday(SAT)
    assert cal.add_workdays(FRI, 1) == SAT
    assert cal.workdays_between(MON, d("2026-03-09")) == 6


# China 2026 (调休). National Day 10-01 (Thu) .. 10-07 (Wed), adjusted workdays Sun 09-20 and
# Sat 10-10; Mid-Autumn 09-25 (Fri) .. 09-27; Spring Festival 02-15 (Sun) .. 02-23 (Mon) with
# adjusted workdays Sat 02-14 and Sat 02-28; New Year 01-01 (Thu) .. 01-03, Sun 01-04 worked.


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-10-01", False),
        ("2026-10-05", False),  # a Monday inside the holiday
        ("2026-10-08", True),
        ("2026-10-10", True),  # Saturday worked
        ("2026-10-11", False),
        ("2026-09-20", True),  # Sunday worked
        ("2026-09-25", False),  # Mid-Autumn, a Friday
        ("2026-02-14", True),
        ("2026-02-23", False),
        ("2026-02-28", True),
        ("2026-01-04", True),
        ("2026-01-02", False),
        ("2026-06-19", False),
        ("2026-07-01", True),
    ],
)
def test_china_2026_days(day: str, expected: bool) -> None:
    assert CHINA.is_workday(d(day)) is expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2026-09-30", 1, "2026-10-08"),  # over National Day
        ("2026-10-01", 0, "2026-10-08"),
        ("2026-10-08", 2, "2026-10-10"),  # Saturday 10-10 is worked
        ("2026-10-08", 3, "2026-10-12"),
        ("2026-09-18", 1, "2026-09-20"),  # Sunday 09-20 is worked
        ("2026-09-24", 1, "2026-09-28"),  # over Mid-Autumn
        ("2026-09-18", 10, "2026-10-09"),  # 20, 21-24, 28-30, 8, 9
        ("2026-02-13", 1, "2026-02-14"),
        ("2026-02-14", 1, "2026-02-24"),  # over the Spring Festival
        ("2025-12-31", 1, "2026-01-04"),  # over the year end and New Year
        ("2025-12-31", 2, "2026-01-05"),
        ("2026-04-03", 1, "2026-04-07"),  # Qingming Sat..Mon
        ("2026-04-30", 1, "2026-05-06"),  # Labour Day Fri..Tue
        ("2026-05-08", 1, "2026-05-09"),  # Saturday 05-09 is worked
    ],
)
def test_china_2026_add_workdays(start: str, n: int, expected: str) -> None:
    assert CHINA.add_workdays(d(start), n) == d(expected)
    assert CHINA.workdays_between(d(start), d(expected)) == n


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("2026-09-28", "2026-10-12", 6),  # 28, 29, 30, 8, 9, 10
        ("2026-09-14", "2026-09-28", 10),  # 14-18, 20, 21-24
        ("2026-02-09", "2026-03-02", 11),  # 9-13, 14, 24-27, 28
        ("2025-12-29", "2026-01-06", 5),  # 29, 30, 31, 4, 5
        ("2026-10-01", "2026-10-08", 0),
        ("2026-01-01", "2027-01-01", 248),  # 261 weekdays - 19 holidays + 6 adjusted
    ],
)
def test_china_2026_workdays_between(a: str, b: str, expected: int) -> None:
    assert CHINA.workdays_between(d(a), d(b)) == expected
    # The arithmetic agrees with counting day by day.
    days = (d(b) - d(a)).days
    assert sum(CHINA.is_workday(d(a) + timedelta(days=i)) for i in range(days)) == expected


def test_year_end_with_next_years_holiday() -> None:
    cal = CHINA.adjusted({d("2027-01-01"): False}, complete_years=[2027])
    assert cal.add_workdays(d("2026-12-31"), 1) == d("2027-01-04")  # Fri holiday, weekend
    assert cal.workdays_between(d("2026-12-28"), d("2027-01-11")) == 9


def test_workday_hours_between() -> None:
    cal = CHINA
    # Fri 18:00 -> Mon 09:00 across a weekend whose Sunday (09-20) is worked: 6 + 24 + 9.
    assert cal.workday_hours_between(datetime(2026, 9, 18, 18), datetime(2026, 9, 21, 9)) == 39
    assert cal.workday_hours_between(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 17, 30)) == 8.5
    assert cal.workday_hours_between(datetime(2026, 10, 1, 9), datetime(2026, 10, 7, 9)) == 0
    assert cal.workday_hours_between(datetime(2026, 3, 3), datetime(2026, 3, 2)) == 0
    # Aware datetimes in different zones are compared in the zone of the first.
    a = datetime(2026, 3, 6, 20, 0, tzinfo=CST)
    b = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # Mon 09:00 in Shanghai
    assert cal.workday_hours_between(a, b) == 4 + 9


def test_hours_invariant_over_holidays() -> None:
    start = datetime(2026, 9, 17, 8, 0)
    for n in range(25):
        assert CHINA.workday_hours_between(start, CHINA.add_workdays(start, n)) == 24 * n


def test_from_config_ranges_and_dates() -> None:
    cal = WorkCalendar.from_config(
        {"holidays": ["2026-10-01..2026-10-03", date(2026, 12, 25)], "workdays": ["2026-10-10"]}
    )
    assert cal.holidays == {d("2026-10-01"), d("2026-10-02"), d("2026-10-03"), d("2026-12-25")}
    assert cal.extra_workdays == {d("2026-10-10")}
    assert cal.weekend == (5, 6)
    assert WorkCalendar.from_config({}) == PLAIN
    assert WorkCalendar.from_config({"weekend": [6]}).weekend == (6,)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"holidays": ["2026-13-01"]}, "Invalid date in 'holidays': '2026-13-01'"),
        ({"workdays": ["2026/10/10"]}, "Invalid date in 'workdays'"),
        ({"holidays": ["tomorrow"]}, "expected YYYY-MM-DD"),
        ({"holidays": [20261001]}, "Invalid date"),
        ({"holidays": ["20261001"]}, "Invalid date"),
        ({"holidays": [datetime(2026, 10, 1)]}, "Invalid date"),
        ({"holidays": ["2026-10-07..2026-10-01"]}, "Empty date range"),
        ({"holidays": ["2026-10-01..oops"]}, "Invalid date"),
        ({"holidays": "2026-10-01"}, "must be a list"),
        ({"holiday": ["2026-10-01"]}, "Unknown calendar keys: holiday"),
        ({"holidays": ["2026-10-10"], "workdays": ["2026-10-10"]}, "both holiday and workday"),
        ({"weekend": [7]}, "Weekend days"),
        ({"weekend": "sat"}, "'weekend' must be a list"),
        ({"weekend": list(range(7))}, "at least one working weekday"),
    ],
)
def test_from_config_errors(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkCalendar.from_config(config)


def test_calendar_is_immutable_and_normalised() -> None:
    cal = WorkCalendar(holidays=[d("2026-10-01")], weekend=[6, 5, 5])  # type: ignore[arg-type]
    assert cal.holidays == frozenset({d("2026-10-01")})
    assert cal.weekend == (5, 6)
    with pytest.raises(AttributeError):
        cal.weekend = (6,)  # type: ignore[misc]
    with pytest.raises(TypeError):
        cal.is_workday("2026-10-01")  # type: ignore[arg-type]


# The State Council's notice of 2025-11-04 (国务院办公厅关于2026年部分节假日安排的通知), which
# the code held before the package: the package must say the same of 2026.
NOTICE_2026 = {
    "holidays": (
        "2026-01-01..2026-01-03",  # New Year's Day 元旦
        "2026-02-15..2026-02-23",  # Spring Festival 春节
        "2026-04-04..2026-04-06",  # Qingming 清明节
        "2026-05-01..2026-05-05",  # Labour Day 劳动节
        "2026-06-19..2026-06-21",  # Dragon Boat Festival 端午节
        "2026-09-25..2026-09-27",  # Mid-Autumn Festival 中秋节
        "2026-10-01..2026-10-07",  # National Day 国庆节
    ),
    "workdays": (
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ),
}


def test_the_package_agrees_with_the_2026_notice() -> None:
    notice = WorkCalendar.from_config(NOTICE_2026)
    assert {h for h in CHINA.holidays if h.year == 2026} == notice.holidays
    assert {w for w in CHINA.extra_workdays if w.year == 2026} == notice.extra_workdays
    days = [d("2026-01-01") + timedelta(days=i) for i in range(365)]
    assert [CHINA.is_workday(x) for x in days] == [notice.is_workday(x) for x in days]


def test_a_year_no_source_knows_is_never_taken_for_working_days() -> None:
    """2027-10-01 is National Day: either the calendar knows it, or it says it cannot know."""
    if 2027 in CHINA.years:  # a chinesecalendar published after the 2027 notice
        assert CHINA.is_workday(d("2027-10-01")) is False
        return
    for ask in (
        lambda: CHINA.is_workday(d("2027-10-01")),
        lambda: CHINA.add_workdays(d("2026-12-30"), 5),
        lambda: CHINA.workdays_between(d("2026-12-28"), d("2027-01-05")),
        lambda: CHINA.workday_hours_between(datetime(2026, 12, 31, 9), datetime(2027, 1, 4, 9)),
    ):
        with pytest.raises(UnknownYearError) as caught:
            ask()
        assert caught.value.year == 2027
    # Up to the year's last day, the calendar still answers.
    assert CHINA.add_workdays(d("2026-12-28"), 3) == d("2026-12-31")
    assert CHINA.workdays_between(d("2026-12-28"), d("2027-01-01")) == 4


def test_adjustments_override_the_package() -> None:
    typhoon, worked = d("2026-09-15"), d("2026-10-07")  # a Tuesday off; a holiday worked
    cal = CHINA.adjusted({typhoon: False, worked: True})
    assert CHINA.is_workday(typhoon) and not cal.is_workday(typhoon)
    assert not CHINA.is_workday(worked) and cal.is_workday(worked)
    assert cal.add_workdays(d("2026-09-14"), 1) == d("2026-09-16")
    assert cal.add_workdays(d("2026-09-30"), 1) == d("2026-10-07")
    assert cal.workdays_between(d("2026-09-14"), d("2026-09-21")) == 5  # 14, 16, 17, 18, 20
    assert CHINA.workdays_between(d("2026-09-14"), d("2026-09-21")) == 6
    assert cal.years == CHINA.years  # adjusting days declares no new year


def test_a_year_entered_by_hand_and_declared_complete_is_known() -> None:
    national_day = {d("2027-10-01") + timedelta(days=i): False for i in range(7)}
    partial = CHINA.adjusted(national_day)
    complete = CHINA.adjusted(national_day, complete_years=[2027])
    if 2027 not in CHINA.years:
        with pytest.raises(UnknownYearError):
            partial.is_workday(d("2027-10-01"))
    assert complete.is_workday(d("2027-10-01")) is False
    assert complete.add_workdays(d("2027-09-30"), 1) == d("2027-10-08")


@pytest.mark.parametrize(
    ("years", "first", "last", "expected"),
    [
        (None, "2030-01-01", "2031-12-31", []),
        ([2026], "2026-12-02", "2027-01-31", [2027]),
        ([2026, 2027], "2026-12-02", "2027-01-31", []),
        ([2025], "2026-06-01", "2028-01-01", [2026, 2027, 2028]),
    ],
)
def test_unknown_years(years, first, last, expected) -> None:
    cal = WorkCalendar(years=None if years is None else frozenset(years))
    assert cal.unknown_years(d(first), d(last)) == expected


def test_from_config_years() -> None:
    cal = WorkCalendar.from_config({"holidays": ["2026-10-01"], "years": [2026]})
    assert cal.years == {2026}
    with pytest.raises(UnknownYearError):
        cal.is_workday(d("2027-03-01"))
    with pytest.raises(ValueError, match="'years' must be a list"):
        WorkCalendar.from_config({"years": "2026"})
    with pytest.raises(ValueError, match="Years must be integers"):
        WorkCalendar(years=frozenset({"2026"}))  # type: ignore[arg-type]
