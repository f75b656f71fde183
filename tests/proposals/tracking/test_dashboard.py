"""The supervision dashboard: figures checked against hand-computed values on a small fixture.

The fixture lives in the first half of November 2026 (no public holidays): six requests of
the street in two communities, one older, one of another street; two plans with review
steps. "Now" is Monday 16 November, 12:00 in Shanghai. Durations are in working days.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa
import tracking_helpers
from hypothesis import given, settings
from hypothesis import strategies as st
from tracking_helpers import World, build_world

from coord.db import db
from coord.models import Community, Street
from proposals import services
from proposals.models import Proposal, Visibility
from proposals.tracking import dashboard as dash
from proposals.tracking.deadlines import workdays_between
from proposals.tracking.holidays import official_calendar
from proposals.tracking.models import Plan, RequestEvent, ReviewStep, TrackedRequest
from proposals.tracking.workdays import UnknownYearError, WorkCalendar
from stakeholders.acting import Actor

from helpers import identity, use_english

#: Uploads into a temporary folder, English messages (an autouse fixture).
tracking_setup = tracking_helpers.tracking_setup

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 16, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 13)


def at(day: int, hour: int, month: int = 11) -> datetime:
    """A local moment in November 2026, as UTC."""
    return datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI).astimezone(UTC)


class Fixture:
    """The hand-computed neighbourhood."""

    def __init__(self, world: World) -> None:
        self.world = world
        w = world
        far_street = db.session.scalar(sa.select(Street).where(Street.name == "东湖街道"))
        self.far_community = Community(street=far_street, name="东湖社区")
        db.session.add(self.far_community)
        db.session.flush()
        A, B = w.community, w.other_community
        self.requests = {}
        # R1: Urban Management, answered in 2 hours, resolved in 2 working days, rated 5.
        r1 = self.request("r1", A, "lighting", at(2, 9))
        self.assign(r1, w.urban, at(2, 10), responded=at(2, 12))
        self.close(r1, resolved=at(4, 10), rating=5)
        # R2: Anju answers after 2 working days, hands over to the water company, which
        # answers after 1; resolved after 5, reopened, resolved after 6; rated 2.
        r2 = self.request("r2", A, "water", at(2, 9))
        self.assign(r2, w.anju, at(2, 10), responded=at(4, 10))
        self.transfer(r2, w.anju, w.water, at(5, 10), responded=at(6, 10))
        r2.reopen_count = 1
        self.close(r2, resolved=at(10, 10), rating=2)
        # R3: Anju answers after one working day (over a weekend); still open, overdue.
        r3 = self.request("r3", B, "property", at(6, 16))
        self.assign(r3, w.anju, at(6, 17), responded=at(9, 17))
        r3.proposal.status = "in_progress"
        # R4: waiting for triage. R5: rejected at triage.
        self.request("r4", B, "noise", at(10, 9))
        r5 = self.request("r5", A, "other", at(11, 9))
        r5.proposal.status, r5.closed_at = "rejected", at(11, 11)
        # R6: assigned to Urban Management, no answer yet: the first response is overdue.
        r6 = self.request("r6", A, "lighting", at(12, 9))
        self.assign(r6, w.urban, at(12, 10))
        # Outside the scope: an older request and one of another street.
        old = self.request("old", A, "lighting", at(20, 9, month=10))
        self.assign(old, w.urban, at(20, 10, month=10), responded=at(20, 11, month=10))
        self.request("far", self.far_community, "lighting", at(3, 9))
        # Plans: P1 in community A under review, P2 in B sent back for changes.
        p1 = self.plan(A, "under_review")
        self.step(p1, "s1", w.urban, at(2, 9), 3, "approved", at(3, 15))
        self.step(p1, "s2", w.social, at(3, 15), 3)
        self.step(p1, "s3", w.office, at(3, 15), 2, "approved", at(4, 15))
        p2 = self.plan(B, "changes_requested")
        self.step(p2, "s1", w.urban, at(5, 9), 3, "changes_requested", at(9, 9))
        db.session.commit()

    def request(self, key, community, category, submitted) -> TrackedRequest:
        resident = self.world.users["chen"]
        proposal = services.create_proposal(
            Actor(resident, identity(resident)),
            {
                "kind": "request",
                "community_id": community.id,
                "title": f"诉求 {key}",
                "summary": "说明",
            },
        )
        tracked = db.session.scalar(
            sa.select(TrackedRequest).where(TrackedRequest.proposal_id == proposal.id)
        )
        tracked.category, tracked.submitted_at = category, submitted
        for event in db.session.scalars(
            sa.select(RequestEvent).where(RequestEvent.request_id == tracked.id)
        ):
            event.created_at = submitted  # the "submitted" event
        self.requests[key] = tracked
        return tracked

    def assign(self, tracked, handler, when, responded=None) -> None:
        tracked.handler_id, tracked.assigned_at = handler.id, when
        tracked.first_response_due_at = dash_add(when, 1)
        tracked.resolution_due_at = dash_add(when, 5)
        tracked.first_response_at = responded
        db.session.add(
            RequestEvent(
                request_id=tracked.id,
                type="assigned",
                to_handler_id=handler.id,
                created_at=when,
                responded_at=responded,
                response_workdays=workdays_between(when, responded) if responded else None,
            )
        )
        if responded:
            tracked.proposal.status = "accepted"

    def transfer(self, tracked, old, new, when, responded=None) -> None:
        tracked.handler_id = new.id
        tracked.first_response_due_at = dash_add(when, 1)
        tracked.first_response_at = responded
        db.session.add(
            RequestEvent(
                request_id=tracked.id,
                type="transferred",
                from_handler_id=old.id,
                to_handler_id=new.id,
                created_at=when,
                responded_at=responded,
                response_workdays=workdays_between(when, responded) if responded else None,
            )
        )

    def close(self, tracked, resolved, rating) -> None:
        tracked.resolved_at, tracked.satisfaction = resolved, rating
        tracked.resolution_workdays = workdays_between(tracked.assigned_at, resolved)
        tracked.closed_at = resolved + timedelta(hours=8)
        tracked.proposal.status = "closed"

    def plan(self, community, status) -> Plan:
        anju = self.world.actor("anju", self.world.anju)
        proposal = services.create_proposal(
            anju,
            {"kind": "plan", "community_id": community.id, "title": "方案", "summary": "摘要"},
        )
        proposal.status = status
        rv = Plan(proposal_id=proposal.id, street_office_id=self.world.office.id, route=[], round=1)
        db.session.add(rv)
        db.session.flush()
        return rv

    def step(self, plan, key, owner, activated, days, decision="pending", decided=None):
        db.session.add(
            ReviewStep(
                plan_id=plan.id,
                round=1,
                group_index=0,
                step_key=key,
                owner_id=owner.id,
                decision=decision,
                activated_at=activated,
                due_at=dash_add(activated, days),
                decided_at=decided,
            )
        )


def dash_add(moment: datetime, days: int) -> datetime:
    return official_calendar().add_workdays(moment.astimezone(SHANGHAI), days).astimezone(UTC)


@pytest.fixture
def world(app, community, make_user) -> World:
    return build_world(community, make_user)


@pytest.fixture
def fixture(world) -> Fixture:
    return Fixture(world)


def scope(world: World, **kwargs) -> dash.Scope:
    return dash.Scope.for_dates(world.street.id, FIRST, LAST, **kwargs)


def rows_by_name(rows):
    return {r.key: r for r in rows}


# -- Working time --------------------------------------------------------------------------------


def test_workday_seconds_on_known_spans():
    starts = [at(2, 10), at(6, 17), at(2, 10), at(7, 10), at(30, 17, month=9)]
    ends = [at(4, 10), at(9, 17), at(9, 10), at(8, 12), at(9, 9, month=10)]
    seconds = dash.workday_seconds(
        np.array([s.timestamp() for s in starts]),
        np.array([e.timestamp() for e in ends]),
        official_calendar(),
        8 * 3600,
    )
    # Two days; a weekend skipped; a whole week; a weekend only; National Day skipped
    # (30 Sept 17:00 → midnight, then Thursday 8 Oct... the 7th is a holiday, 9th 09:00).
    assert list(seconds / 3600) == [48, 24, 120, 0, 7 + 24 + 9]


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(datetime(2025, 12, 20), datetime(2026, 12, 31)),
    st.floats(min_value=0, max_value=40 * 86400),
)
def test_workday_seconds_agree_with_the_calendar(start, span):
    a = start.replace(tzinfo=SHANGHAI)
    b = a + timedelta(seconds=span)
    got = dash.workday_seconds(
        np.array([a.timestamp()]), np.array([b.timestamp()]), official_calendar(), 8 * 3600
    )[0]
    try:
        expected = official_calendar().workday_hours_between(a, b) * 3600
    except UnknownYearError:  # into a year whose holidays the package does not know
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-3)


def test_workday_seconds_over_a_year_of_unknown_holidays_are_nan():
    calendar = WorkCalendar(years=frozenset({2026}))
    starts = [datetime(2026, 12, 30, 9, tzinfo=UTC), datetime(2026, 12, 1, 9, tzinfo=UTC)]
    ends = [datetime(2027, 1, 4, 9, tzinfo=UTC), datetime(2026, 12, 2, 9, tzinfo=UTC)]
    got = dash.workday_seconds(
        np.array([s.timestamp() for s in starts]),
        np.array([e.timestamp() for e in ends]),
        calendar,
        0,
    )
    assert np.isnan(got[0]) and got[1] == 24 * 3600


def test_workday_seconds_with_a_six_day_week():
    calendar = WorkCalendar(weekend=(6,))
    a, b = datetime(2026, 11, 6, 12, tzinfo=UTC), datetime(2026, 11, 9, 12, tzinfo=UTC)
    got = dash.workday_seconds(np.array([a.timestamp()]), np.array([b.timestamp()]), calendar, 0)
    assert got[0] == pytest.approx(calendar.workday_hours_between(a, b) * 3600) == 48 * 3600


# -- Figures -------------------------------------------------------------------------------------


def test_totals_match_the_hand_computed_values(fixture):
    board = dash.compute(scope(fixture.world), NOW)
    t = board.total
    assert (t.received, t.open, t.overdue) == (6, 3, 2)
    assert (t.rated, t.satisfaction) == (2, 3.5)
    assert (t.resolved_once, t.reopened, t.reopen_rate) == (2, 1, 0.5)
    # First responses per custody: 2 h (Urban), 2 d and 1 d (Anju), 1 d (water company).
    assert t.first_response.n == 4
    assert t.first_response.median == pytest.approx(1.0)
    assert t.first_response.p90 == pytest.approx(1.7)
    # Resolution: R1 in 2 working days, R2 in 6 (a weekend excluded, the reopening included).
    assert (t.resolution.n, t.resolution.median, t.resolution.p90) == (2, 4.0, pytest.approx(5.6))


def test_figures_per_handler(fixture):
    w = fixture.world
    rows = rows_by_name(dash.compute(scope(w), NOW).by_handler)
    assert set(rows) == {w.urban.id, w.anju.id, w.water.id, None}
    urban, anju, water, none = rows[w.urban.id], rows[w.anju.id], rows[w.water.id], rows[None]
    assert (urban.received, urban.open, urban.overdue, urban.satisfaction) == (2, 1, 1, 5.0)
    assert urban.first_response.median == pytest.approx(2 / 24)
    assert urban.resolution.median == 2.0 and urban.reopen_rate == 0
    # Anju holds only R3 now, but its slow answer on R2 still counts against it.
    assert (anju.received, anju.open, anju.overdue, anju.rated) == (1, 1, 1, 0)
    assert (anju.first_response.n, anju.first_response.median) == (2, 1.5)
    assert anju.first_response.p90 == pytest.approx(1.9)
    assert anju.satisfaction is None and anju.reopen_rate is None
    assert (water.received, water.satisfaction, water.reopen_rate) == (1, 2.0, 1.0)
    assert water.first_response.median == 1.0 and water.resolution.median == 6.0
    assert (none.received, none.open, none.overdue) == (2, 1, 0)
    assert urban.name == "城市管理科"


def test_figures_per_community(fixture):
    w = fixture.world
    rows = rows_by_name(dash.compute(scope(w), NOW).by_community)
    a, b = rows[w.community.id], rows[w.other_community.id]
    assert (a.received, a.open, a.overdue, a.rated) == (4, 1, 1, 2)
    assert a.first_response.n == 3 and a.first_response.median == 1.0
    assert (b.received, b.open, b.overdue) == (2, 2, 1)
    assert b.first_response.median == 1.0 and b.resolution.n == 0


def test_review_steps(fixture):
    w = fixture.world
    board = dash.compute(scope(w), NOW)
    s = board.steps_total
    assert (s.pending, s.overdue, s.decided) == (1, 1, 3)
    assert s.review.median == pytest.approx(1.25)
    owners = rows_by_name(board.by_owner)
    assert (owners[w.urban.id].decided, owners[w.urban.id].review.median) == (2, 1.625)
    assert (owners[w.social.id].pending, owners[w.social.id].overdue) == (1, 1)
    assert owners[w.office.id].review.median == 1.0


def test_the_weekly_trend(fixture):
    trend = dash.compute(scope(fixture.world), NOW).trend
    assert trend.weeks == [date(2026, 11, 2), date(2026, 11, 9)]
    assert trend.received == [3, 3]
    assert trend.resolved == [1, 1]
    assert trend.mean_resolution == [2.0, 6.0]
    assert trend.satisfaction == [5.0, 2.0]


def test_filters_by_community_handler_and_time(fixture):
    w = fixture.world
    only_b = dash.compute(scope(w, community_id=w.other_community.id), NOW)
    assert (only_b.total.received, only_b.total.open) == (2, 2)
    assert only_b.steps_total.decided == 1 and only_b.steps_total.pending == 0
    anju = dash.compute(scope(w, handler_id=w.anju.id), NOW)
    assert anju.total.received == 1 and anju.total.first_response.n == 2
    assert [r.key for r in anju.by_owner] == []
    october = dash.compute(
        dash.Scope.for_dates(w.street.id, date(2026, 10, 1), date(2026, 10, 31)), NOW
    )
    assert october.total.received == 1 and october.total.first_response.n == 1


def test_an_empty_scope(world):
    board = dash.compute(scope(world), NOW)
    assert board.total.received == 0 and board.total.first_response.median is None
    assert board.by_handler == [] and board.trend.received == [0, 0]


def test_the_dashboard_runs_a_fixed_number_of_queries(fixture, count_queries):
    w = fixture.world
    with count_queries() as small:
        dash.compute(scope(w), NOW)
    for i in range(5):
        fixture.request(f"more{i}", w.community, "roads", at(3, 9 + i))
        fixture.assign(fixture.requests[f"more{i}"], w.social, at(3, 10 + i), at(3, 11 + i))
    db.session.commit()
    with count_queries() as large:
        dash.compute(scope(w), NOW)
    assert small.count == large.count <= 10


def test_the_public_view_hides_small_groups(fixture, app, monkeypatch):
    w = fixture.world
    board = dash.compute(scope(w, community_id=w.community.id, public=True), NOW)
    assert board.total.received == 4
    assert not board.shown(4, 4)  # fewer than five requests
    assert board.shown(0, 0)
    monkeypatch.setitem(app.config, "DASHBOARD_MIN_GROUP", 3)
    board = dash.compute(scope(w, community_id=w.community.id, public=True), NOW)
    assert board.shown(board.total.received, board.total.received)
    assert not board.shown(board.total.satisfaction, board.total.rated)  # two ratings only


# -- Pages ---------------------------------------------------------------------------------------

RANGE = {"from": FIRST.isoformat(), "to": LAST.isoformat()}


def test_the_street_office_and_its_departments_see_the_full_dashboard(fixture, client, login_as):
    w = fixture.world
    use_english(client)
    for user, org in (("office", w.office), ("urban", w.urban)):
        login_as(w.users[user], org)
        page = client.get("/dashboard", query_string=RANGE).get_data(as_text=True)
        assert "Full dashboard" in page
        assert 'id="kpi-received"><a href="/dashboard/items?' in page
        assert "安居物业" in page and "清源供水维修" in page
        assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2
        assert 'style="' not in page.split("<main")[1]


@pytest.mark.parametrize("who", [None, "chen", "far"])
def test_others_see_the_public_aggregate_of_one_community(fixture, client, login_as, who):
    w = fixture.world
    use_english(client)
    if who == "far":
        login_as(w.users["far"], w.far_dept)
    elif who:
        login_as(w.users[who])
    page = client.get(
        "/dashboard", query_string=RANGE | {"street": w.street.id, "community": w.community.id}
    ).get_data(as_text=True)
    assert "Public figures for 兰苑社区" in page and "Full dashboard" not in page
    assert "fewer than 5" in page
    main = page.split("<main")[1]
    assert "诉求 r1" not in main and ">chen<" not in main  # no items, no people
    assert 'id="by-community"' not in page


def test_a_resident_sees_their_own_community_by_default(fixture, client, login_as):
    login_as(fixture.world.users["chen"])
    use_english(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Public figures for 兰苑社区" in page


def test_unknown_places_are_404(fixture, client, login_as):
    assert client.get("/dashboard?community=999999").status_code == 404
    login_as(fixture.world.users["office"], fixture.world.office)
    assert client.get(f"/dashboard?street={fixture.world.street.id + 99}").status_code == 404
    assert client.get("/dashboard/items?metric=nonsense").status_code == 404


@pytest.mark.parametrize(
    ("metric", "extra", "expected"),
    [
        ("received", {}, {"r1", "r2", "r3", "r4", "r5", "r6"}),
        ("open", {}, {"r3", "r4", "r6"}),
        ("overdue", {}, {"r3", "r6"}),
        ("first_response", {"handler": "anju"}, {"r2", "r3"}),
        ("resolution", {}, {"r1", "r2"}),
        ("reopened", {}, {"r2"}),
        ("rated", {"community": "community"}, {"r1", "r2"}),
    ],
)
def test_every_figure_lists_the_items_behind_it(fixture, client, login_as, metric, extra, expected):
    w = fixture.world
    login_as(w.users["office"], w.office)
    query = RANGE | {"metric": metric}
    if "handler" in extra:
        query["handler"] = getattr(w, extra["handler"]).id
    if "community" in extra:
        query["community"] = w.community.id
    page = client.get("/dashboard/items", query_string=query).get_data(as_text=True)
    listed = {key for key, t in fixture.requests.items() if f"诉求 {key}<" in page}
    assert listed == expected


def test_the_steps_behind_the_figures(fixture, client, login_as):
    w = fixture.world
    login_as(w.users["office"], w.office)
    use_english(client)
    page = client.get(
        "/dashboard/items", query_string=RANGE | {"metric": "steps_overdue"}
    ).get_data(as_text=True)
    assert page.count("decision-pending") == 1 and "社会事务科" in page


def test_the_public_lists_only_public_items(fixture, client):
    w = fixture.world
    fixture.requests["r1"].proposal.visibility = Visibility.INVITED
    db.session.commit()
    page = client.get(
        "/dashboard/items",
        query_string=RANGE | {"metric": "resolution", "community": w.community.id},
    ).get_data(as_text=True)
    assert "诉求 r2" in page and "诉求 r1" not in page


def test_csv_export(fixture, client, login_as):
    w = fixture.world
    w.water.name = '=HYPERLINK("http://evil")'
    db.session.commit()
    login_as(w.users["office"], w.office)
    response = client.get("/dashboard/export.csv", query_string=RANGE)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    total = dict(zip(header, rows[1], strict=True))
    assert total["table"] == "total" and total["received"] == "6" and total["overdue"] == "2"
    assert total["first_response_median_workdays"] == "1.0"
    assert total["satisfaction_average"] == "3.5" and total["reopen_rate"] == "0.5"
    names = [r[2] for r in rows[1:] if len(r) > 2]
    assert '\'=HYPERLINK("http://evil")' in names
    assert any(r[:1] == ["review_steps_total"] for r in rows)


def test_public_csv_hides_small_figures(fixture, client):
    w = fixture.world
    response = client.get(
        "/dashboard/export.csv", query_string=RANGE | {"community": w.community.id}
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    total = dict(zip(rows[0], rows[1], strict=True))
    assert total["received"] == "" and total["satisfaction_average"] == ""


def test_the_demo_makes_the_dashboard_meaningful(make_app, tmp_path):
    """Story 5 at first start: Anju answers slowly; both stories are on record."""
    from flask_migrate import upgrade

    from coord.cli import load_demo

    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}")
    with app.app_context():
        upgrade()
        created = load_demo()
        orgs = created["organisations"]
        street_id = orgs["street_office"].street_id
        today = datetime.now(UTC).astimezone(SHANGHAI).date()
        board = dash.compute(dash.Scope.for_dates(street_id, today - timedelta(days=83), today))
        rows = rows_by_name(board.by_handler)
        anju, urban = rows[orgs["anju"].id], rows[orgs["urban"].id]
        assert anju.first_response.median > 1 > urban.first_response.median
        assert anju.satisfaction < urban.satisfaction
        assert board.total.overdue >= 1 and board.steps_total.overdue >= 1
        lane = db.session.scalar(sa.select(Proposal).where(Proposal.title.contains("小巷路灯")))
        leak = db.session.scalar(sa.select(Proposal).where(Proposal.title.contains("楼道水管")))
        lane_t, leak_t = (
            db.session.scalar(sa.select(TrackedRequest).where(TrackedRequest.proposal_id == p.id))
            for p in (lane, leak)
        )
        assert (lane_t.handler_id, lane_t.satisfaction) == (orgs["urban"].id, 5)
        assert (leak_t.handler_id, leak_t.satisfaction, leak_t.reopen_count) == (
            orgs["water"].id,
            2,
            1,
        )
        assert leak_t.resolved_at > leak_t.resolution_due_at  # it was late
        db.session.remove()


def test_the_json_dashboard(fixture, client, login_as):
    w = fixture.world
    anonymous = client.application.test_client()
    login_as(w.users["office"], w.office)
    data = client.get("/api/v1/dashboard", query_string=RANGE).get_json()
    assert data["scope"]["public"] is False
    assert data["total"]["received"] == {"value": 6, "n": 6, "hidden": False}
    assert data["total"]["first_response_workdays"]["p90"] == pytest.approx(1.7)
    anju = next(r for r in data["handlers"] if r["id"] == w.anju.id)
    assert anju["first_response_workdays"]["median"] == 1.5
    public = anonymous.get(
        "/api/v1/dashboard", query_string=RANGE | {"community": w.community.id}
    ).get_json()
    assert public["scope"]["public"] is True
    assert public["total"]["received"] == {"value": None, "n": None, "hidden": True}
    assert public["trend"]["received"] is None
    assert anonymous.get("/api/v1/dashboard?street=999").status_code == 404


def test_the_json_handling_of_a_request_and_review_of_a_plan(fixture, client, login_as):
    w = fixture.world
    r2 = fixture.requests["r2"]
    data = client.get(f"/api/v1/requests/{r2.proposal_id}/handling").get_json()
    assert data["handler"] == {"id": w.water.id, "name": "清源供水维修"}
    assert [e["type"] for e in data["custody"]] == ["submitted", "assigned", "transferred"]
    assert data["resolution"]["workdays"] == 6.0 and data["satisfaction"] == 2
    r2.proposal.visibility = Visibility.INVITED
    db.session.commit()
    assert client.get(f"/api/v1/requests/{r2.proposal_id}/handling").status_code == 404
    plan = db.session.scalar(sa.select(Plan).order_by(Plan.id))
    review = client.get(f"/api/v1/plans/{plan.proposal_id}/review").get_json()
    assert [(s["step"], s["decision"]) for s in review["steps"]] == [
        ("s1", "approved"),
        ("s2", "pending"),
        ("s3", "approved"),
    ]
    assert client.get(f"/api/v1/plans/{r2.proposal_id}/review").status_code == 404


# -- Lateness stays on the record ---------------------------------------------------------------


def late_step(fixture: Fixture) -> None:
    """Social Affairs decides a one-day step two working days late (3 → 5 November)."""
    plan = fixture.plan(fixture.world.community, "approved")
    fixture.step(plan, "s1", fixture.world.social, at(2, 9), 1, "approved", at(5, 9))
    db.session.commit()


def test_late_decisions_and_resolutions_are_counted_beside_the_open_overdue(fixture):
    w = fixture.world
    late_step(fixture)
    board = dash.compute(scope(w), NOW)
    assert (board.total.overdue, board.total.resolved_late) == (2, 1)  # R3, R6 open; R2 late
    handlers = rows_by_name(board.by_handler)
    assert handlers[w.water.id].resolved_late == 1 and handlers[w.urban.id].resolved_late == 0
    s = board.steps_total
    assert (s.overdue, s.decided, s.late) == (1, 4, 1)
    owners = rows_by_name(board.by_owner)
    assert (owners[w.social.id].late, owners[w.urban.id].late) == (1, 0)


def test_the_dashboard_page_lists_what_was_done_late(fixture, client, login_as):
    w = fixture.world
    late_step(fixture)
    login_as(w.users["office"], w.office)
    use_english(client)
    page = client.get("/dashboard", query_string=RANGE).get_data(as_text=True)
    assert 'id="kpi-steps-late"' in page and 'id="kpi-resolved-late"' in page
    steps = client.get("/dashboard/items", query_string=RANGE | {"metric": "steps_late"})
    html = steps.get_data(as_text=True)
    assert html.count("decision-approved") == 1 and "done 2 working days late" in html
    resolved = client.get("/dashboard/items", query_string=RANGE | {"metric": "resolved_late"})
    listed = {k for k in fixture.requests if f"诉求 {k}<" in resolved.get_data(as_text=True)}
    assert listed == {"r2"}
    csv_text = client.get("/dashboard/export.csv", query_string=RANGE).get_data(as_text=True)
    header, total = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))[:2]
    assert dict(zip(header, total, strict=True))["resolved_late"] == "1"
    data = client.get("/api/v1/dashboard", query_string=RANGE).get_json()
    assert data["total"]["resolved_late"]["value"] == 1
    assert data["review_steps"][0]["decided_late"] == 1
