"""A request's own page: what, where, who holds it, time left, record and rating — no debate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import tracking_helpers
from tracking_helpers import World, build_world, new_request, png

from coord.db import db
from proposals.deliberation import page as deliberation_page
from proposals.tracking import deadlines, requests
from proposals.tracking.models import RequestEvent, TrackedRequest

tracking_setup = tracking_helpers.tracking_setup

DELIBERATION_MARKS = ("conflict-map", "立场", "修正案", "stance", 'id="positions"', "amendments")


@pytest.fixture
def world(app, community, make_user) -> World:
    return build_world(community, make_user)


def handled(world: World, *, rate: bool = True) -> TrackedRequest:
    """A request with photos, handed over once, answered, resolved and (optionally) rated."""
    tracked = new_request(world, location="5号楼后巷", photos=[requests.Upload("lamp.png", png())])
    requests.assign_request(world.actor("rc", world.committee), tracked, world.anju.id)
    requests.move_request(world.actor("anju", world.anju), tracked, "accept")
    requests.transfer_request(
        world.actor("anju", world.anju), tracked, world.water.id, "线路属于供电维修"
    )
    requests.post_progress(world.actor("water", world.water), tracked, "明早更换灯头")
    requests.move_request(world.actor("water", world.water), tracked, "start")
    requests.move_request(world.actor("water", world.water), tracked, "resolve", "已更换灯头")
    if rate:
        requests.rate_request(world.actor("chen"), tracked, 4, "修得挺快")
    db.session.commit()
    return tracked


def test_a_request_page_shows_the_handling_and_nothing_of_deliberation(world, client):
    tracked = handled(world)
    html = client.get(f"/proposals/{tracked.proposal_id}").get_data(as_text=True)
    assert "5号楼后面的小巷路灯坏了一周" in html  # the description
    assert "lamp.png" in html and "5号楼后巷" in html  # photo and location
    chain = html[html.index('id="custody"') : html.index('id="rating"')]
    assert chain.index("安居物业") < chain.index("清源供水维修")
    assert "原因：线路属于供电维修" in chain
    assert "明早更换灯头" in html  # the progress update
    assert "★★★★☆" in html and "修得挺快" in html
    for mark in DELIBERATION_MARKS:
        assert mark not in html, mark


def test_a_request_timeline_speaks_of_requests(world, client):
    tracked = handled(world)
    html = client.get(f"/proposals/{tracked.proposal_id}").get_data(as_text=True)
    record = html[html.index('id="timeline"') :]
    for words in (
        "提交了诉求",
        "交办至安居物业",
        "转办至清源供水维修",
        "答复了",
        "办结",
        "评价 4/5",
    ):
        assert words in record, words
    assert "创建了提案" not in html and "created it" not in html


def test_time_left_and_lateness_are_counted_in_working_days(world, client):
    tracked = new_request(world)
    requests.assign_request(world.actor("rc", world.committee), tracked, world.anju.id)
    db.session.commit()
    html = client.get(f"/proposals/{tracked.proposal_id}").get_data(as_text=True)
    assert "个工作日" in html and "还剩" in html and "超期" not in html
    tracked.resolution_due_at -= timedelta(days=30)
    tracked.first_response_due_at -= timedelta(days=30)
    db.session.commit()
    html = client.get(f"/proposals/{tracked.proposal_id}").get_data(as_text=True)
    assert "已超期" in html


def test_a_request_resolved_late_stays_marked_late(world, client):
    tracked = handled(world, rate=False)
    tracked.resolution_due_at = tracked.resolved_at - timedelta(days=14)
    db.session.commit()
    days = deadlines.workdays_between(tracked.resolution_due_at, tracked.resolved_at)
    html = client.get(f"/proposals/{tracked.proposal_id}").get_data(as_text=True)
    assert f"超期 {round(days, 1):g} 个工作日后完成" in html


def test_only_the_requester_is_offered_the_rating(world, client, login_as):
    tracked = handled(world, rate=False)
    url = f"/proposals/{tracked.proposal_id}"
    assert 'name="rating"' not in client.get(url).get_data(as_text=True)  # anonymous
    login_as(world.users["zhao"])
    assert 'name="rating"' not in client.get(url).get_data(as_text=True)  # another resident
    login_as(world.users["chen"])
    html = client.get(url).get_data(as_text=True)
    assert 'name="rating"' in html and 'name="csrf_token"' in html


def test_only_the_handler_is_offered_progress(world, client, login_as):
    tracked = new_request(world)
    requests.assign_request(world.actor("rc", world.committee), tracked, world.anju.id)
    db.session.commit()
    url = f"/proposals/{tracked.proposal_id}"
    login_as(world.users["water"], world.water)
    assert "progress-text" not in client.get(url).get_data(as_text=True)
    login_as(world.users["anju"], world.anju)
    assert "progress-text" in client.get(url).get_data(as_text=True)


def test_the_request_page_runs_a_fixed_number_of_queries(world, client, count_queries):
    short = new_request(world)
    long = handled(world)
    counts = []
    for tracked in (short, long):
        db.session.expire_all()
        with count_queries() as counter:
            assert client.get(f"/proposals/{tracked.proposal_id}").status_code == 200
        # The working-day calendar is read once, when the page shows a deadline.
        calendar = [q for q in counter.statements if "FROM workday_" in q]
        assert len(calendar) <= 2
        counts.append(counter.count - len(calendar))
    assert counts[0] == counts[1]


def test_deliberation_sections_apply_to_every_kind_but_requests(world):
    tracked = new_request(world)
    assert not deliberation_page.is_deliberated(tracked.proposal)
    tracked.proposal.kind = "consultation"
    assert deliberation_page.is_deliberated(tracked.proposal)
    db.session.rollback()


def test_an_untracked_request_falls_back_to_the_generic_page_without_deliberation(world, client):
    tracked = new_request(world)
    proposal_id = tracked.proposal_id
    db.session.execute(sa.delete(RequestEvent).where(RequestEvent.request_id == tracked.id))
    db.session.delete(tracked)
    db.session.commit()
    html = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert 'id="timeline"' in html and 'id="deadlines"' not in html  # the generic page
    for mark in DELIBERATION_MARKS:
        assert mark not in html, mark


def test_the_requester_may_edit_while_submitted(world, client, login_as):
    tracked = new_request(world)
    edit = f"/proposals/{tracked.proposal_id}/edit"
    assert edit not in client.get(f"/proposals/{tracked.proposal_id}").get_data(as_text=True)
    login_as(world.users["chen"])
    assert edit in client.get(f"/proposals/{tracked.proposal_id}").get_data(as_text=True)


def test_the_requests_list_is_cards_on_a_phone(world, client, app):
    tracked = new_request(world)
    html = client.get("/requests").get_data(as_text=True)
    row = html[html.index('class="request-card') :]
    assert tracked.proposal.title in row
    for cls in ("card-title", "card-status", "card-handler", "card-due"):
        assert cls in row, cls
    css = Path(app.static_folder, "css", "dashboard.css").read_text(encoding="utf-8")
    assert "@media (max-width: 600px)" in css and ".table.requests tr.request-card" in css
