"""The working-day calendar: the official holidays, the street office's adjustments over
them, and years no source knows — refused for deadlines, warned about on the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import tracking_helpers
from tracking_helpers import World, build_world, new_request

from coord.audit import AuditEvent
from coord.db import db
from proposals.tracking import deadlines, requests
from proposals.tracking.holidays import official_calendar
from proposals.tracking.models import WorkdayAdjustment, WorkdayYear

from helpers import use_english

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Uploads into a temporary folder, English messages (an autouse fixture).
tracking_setup = tracking_helpers.tracking_setup


@pytest.fixture
def world(app, community, make_user) -> World:
    return build_world(community, make_user)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


# -- The calendar of the app: package + adjustments --------------------------------------------


def test_2026_comes_from_the_package_unchanged(app):
    for day in range(1, 8):
        assert not deadlines.is_workday(local(2026, 10, day, 12))  # National Day
    assert deadlines.is_workday(local(2026, 10, 10, 12))  # a Saturday worked (调休)
    assert deadlines.is_workday(local(2026, 9, 20, 12))  # a Sunday worked
    assert deadlines.add_workdays(local(2026, 9, 30, 10), 1) == local(2026, 10, 8, 10)


def test_2027_national_day_is_no_working_day_or_the_app_says_it_cannot_know(app, monkeypatch):
    monkeypatch.setitem(app.config, "WORK_CALENDAR_ASSUMED_YEARS", [])
    moment = local(2027, 10, 1, 12)
    if 2027 in (deadlines.work_calendar().years or ()):
        assert not deadlines.is_workday(moment)
        return
    with pytest.raises(deadlines.CalendarUnknown) as refused:
        deadlines.is_workday(moment)
    assert refused.value.year == 2027 and refused.value.status == 409
    assert "2027 public holidays have not been entered" in refused.value.message
    with pytest.raises(deadlines.CalendarUnknown):
        deadlines.add_workdays(local(2026, 12, 30, 10), 5)
    assert deadlines.workdays_between(local(2026, 12, 30, 10), local(2027, 1, 5, 10)) is None


def test_an_adjustment_overrides_the_package(world, client, login_as):
    typhoon = local(2026, 9, 15, 12)  # a Tuesday
    assert deadlines.is_workday(typhoon)
    login_as(world.users["office"])
    response = client.post(
        "/calendar", data={"day": "2026-09-15", "kind": "off", "reason": "台风停工"}
    )
    assert response.status_code == 302
    row = db.session.scalar(sa.select(WorkdayAdjustment))
    assert (row.day, row.is_working_day, row.reason) == (date(2026, 9, 15), False, "台风停工")
    assert row.created_by_id == world.users["office"].id
    assert actions()[-1] == "calendar.adjust"
    assert not deadlines.is_workday(typhoon)
    assert deadlines.add_workdays(local(2026, 9, 14, 10), 1) == local(2026, 9, 16, 10)

    client.post("/calendar", data={"day": "2026-10-07", "kind": "work", "reason": "补班"})
    assert deadlines.is_workday(local(2026, 10, 7, 12))  # a package holiday made worked

    client.post(f"/calendar/adjustments/{row.id}/remove")
    assert actions()[-1] == "calendar.remove_adjustment"
    assert deadlines.is_workday(typhoon)


def test_a_year_entered_and_declared_complete_is_known(world, client, login_as, app, monkeypatch):
    """The street office enters next year's holidays before the package knows them."""
    monkeypatch.setitem(app.config, "WORK_CALENDAR", {"years": [2026]})  # knows 2026 only
    monkeypatch.setitem(app.config, "WORK_CALENDAR_ASSUMED_YEARS", [])
    tracked = new_request(world)
    monkeypatch.setattr(requests, "utcnow", lambda: local(2026, 12, 30, 10))  # a Wednesday
    login_as(world.users["rc"], world.committee)
    use_english(client)
    page = f"/requests/{tracked.proposal_id}"
    assign = {"handler_id": world.anju.id, "note": ""}

    refused = client.post(f"{page}/assign", data=assign, follow_redirects=True)
    assert "The 2027 public holidays have not been entered yet" in refused.get_data(as_text=True)
    assert db.session.get(type(tracked), tracked.id).handler_id is None

    login_as(world.users["office"])
    client.post("/calendar", data={"day": "2027-01-01", "kind": "off", "reason": "元旦"})
    assert client.post("/calendar/years", data={"year": "2027"}).status_code == 302
    assert actions()[-1] == "calendar.declare_year"

    login_as(world.users["rc"], world.committee)
    assert client.post(f"{page}/assign", data=assign).status_code == 302
    db.session.expire_all()
    tracked = db.session.get(type(tracked), tracked.id)
    assert tracked.first_response_due_at == local(2026, 12, 31, 10)
    assert tracked.resolution_due_at == local(2027, 1, 7, 10)  # 31, (1 Jan off), 4, 5, 6, 7

    login_as(world.users["office"])
    assert client.post("/calendar/years/2027/withdraw").status_code == 302
    assert db.session.get(WorkdayYear, 2027) is None
    assert actions()[-1] == "calendar.withdraw_year"


# -- The page: who may use it, bad input --------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("chen", 403), ("urban", 403), ("anju", 403), ("office", 200), ("admin", 200)],
)
def test_who_keeps_the_calendar(world, client, login_as, make_user, who, status):
    if who == "admin":
        login_as(make_user("boss", is_admin=True))
    elif who:
        login_as(world.users[who])
    assert client.get("/calendar").status_code == status
    posted = client.post("/calendar", data={"day": "2026-09-15", "kind": "off", "reason": "x"})
    assert posted.status_code == (302 if status != 403 else 403)
    stored = db.session.scalar(sa.select(sa.func.count()).select_from(WorkdayAdjustment))
    assert stored == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"day": "2026-09-15", "kind": "off", "reason": ""}, 422, "This field is required"),
        ({"day": "15/09/2026", "kind": "off", "reason": "x"}, 422, "Not a valid date value"),
        ({"day": "1999-01-01", "kind": "off", "reason": "x"}, 422, "Choose a year from 2000"),
        ({"day": "2026-09-15", "kind": "maybe", "reason": "x"}, 422, "Not a valid choice"),
        ({"day": "2026-09-15", "kind": "off", "reason": "x" * 201}, 422, "longer than 200"),
    ],
)
def test_bad_adjustments_are_refused(world, client, login_as, data, status, message):
    login_as(world.users["office"])
    use_english(client)
    response = client.post("/calendar", data=data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkdayAdjustment)) == 0


def test_a_day_is_adjusted_once_and_a_known_year_is_not_declared(world, client, login_as):
    login_as(world.users["office"])
    use_english(client)
    day = {"day": "2026-09-15", "kind": "off", "reason": "台风"}
    assert client.post("/calendar", data=day).status_code == 302
    again = client.post("/calendar", data=day)
    assert again.status_code == 409 and "already adjusted" in again.get_data(as_text=True)
    known = client.post("/calendar/years", data={"year": "2026"})
    assert known.status_code == 409 and "already knows 2026" in known.get_data(as_text=True)
    assert client.post("/calendar/years", data={"year": "abc"}).status_code == 422
    assert client.post("/calendar/adjustments/999999/remove").status_code == 404
    assert client.post("/calendar/years/2999/withdraw").status_code == 404
    page = client.get("/calendar").get_data(as_text=True)
    years = official_calendar().years
    assert "台风" in page and f"{min(years)}–{max(years)}" in page


def test_the_calendar_forms_need_a_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    for url in ("/calendar", "/calendar/years", "/calendar/adjustments/1/remove"):
        assert client.post(url, data={"day": "2026-09-15"}).status_code == 400


# -- The dashboard warns ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "warned"), [({"years": []}, True), ({"weekend": [5, 6]}, False)]
)
def test_the_dashboard_warns_of_a_year_no_source_knows(
    world, client, login_as, app, monkeypatch, config, warned
):
    monkeypatch.setitem(app.config, "WORK_CALENDAR", config)
    monkeypatch.setitem(app.config, "WORK_CALENDAR_ASSUMED_YEARS", [])
    login_as(world.users["office"])
    use_english(client)
    page = client.get("/dashboard").get_data(as_text=True)
    year = datetime.now(SHANGHAI).year
    banner = f"The {year} public holidays have not been entered yet"
    assert (banner in page) is warned
    assert ('href="/calendar"' in page) is warned  # the office is shown where to enter them


def test_the_public_dashboard_warns_without_the_link(world, client, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "WORK_CALENDAR", {"years": []})
    monkeypatch.setitem(app.config, "WORK_CALENDAR_ASSUMED_YEARS", [])
    login_as(world.users["chen"])
    page = client.get("/dashboard", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f"{datetime.now(SHANGHAI).year}年节假日安排尚未录入" in page
    assert 'href="/calendar"' not in page
