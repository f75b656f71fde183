"""Attacks on plan reviews, tracked requests and the dashboard: the wrong people, forged
identities, bad values, hostile uploads and markup. Every refusal is a clear 4xx (or a
message on the page) and stores nothing; nothing answers 500."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
import tracking_helpers
from tracking_helpers import PDF, World, build_world, count, new_plan, new_request, png

from coord.db import db
from proposals.models import Attachment, Milestone
from proposals.tracking import plans, requests
from proposals.tracking.models import RequestEvent, ReviewStep, TrackedRequest

from helpers import use_english

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


#: Uploads into a temporary folder, English messages (an autouse fixture).
tracking_setup = tracking_helpers.tracking_setup


@pytest.fixture
def world(app, community, make_user) -> World:
    return build_world(community, make_user)


def assigned_request(world: World, **data) -> TrackedRequest:
    tracked = new_request(world, **data)
    requests.assign_request(world.actor("rc", world.committee), tracked, world.anju.id)
    db.session.commit()
    return tracked


def reviewing_plan(world: World):
    plan = new_plan(world)
    groups = plans.parse_route([(world.urban.id, 1, 3), (world.social.id, 2, 3)])
    plans.set_route(world.actor("office", world.office), plan, groups)
    db.session.commit()
    return plan


def events(tracked: TrackedRequest) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(RequestEvent.request_id == tracked.id)
    )


# -- Who may move a request ----------------------------------------------------------------------

REQUEST_POSTS = [
    ("assign", {"handler_id": "{urban}"}),
    ("transfer", {"handler_id": "{urban}", "reason": "转给城管"}),
    ("progress", {"text": "处理中"}),
    ("move", {"action": "accept"}),
    ("move", {"action": "start"}),
    ("move", {"action": "resolve", "reason": "修好了"}),
    ("move", {"action": "reject", "reason": "不受理"}),
    ("merge", {"target": "{other}"}),
    ("rate", {"rating": "1"}),
]


@pytest.mark.parametrize(("action", "data"), REQUEST_POSTS)
@pytest.mark.parametrize(
    ("who", "org"),
    [("zhao", None), ("urban", "urban"), ("far", "far_dept"), ("shop", "shop"), ("anju", None)],
)
def test_outsiders_cannot_move_a_request(world, client, login_as, action, data, who, org):
    tracked = assigned_request(world)
    other = new_request(world, who="zhao", title="另一条诉求")
    before = (events(tracked), tracked.handler_id, tracked.proposal.status)
    login_as(world.users[who], getattr(world, org) if org else None)
    form = {k: v.format(urban=world.urban.id, other=other.proposal_id) for k, v in data.items()}
    response = client.post(f"/requests/{tracked.proposal_id}/{action}", data=form)
    assert response.status_code in (302, 403)
    db.session.expire_all()
    assert (events(tracked), tracked.handler_id, tracked.proposal.status) == before


def test_anonymous_users_are_sent_to_sign_in(world, client):
    tracked = assigned_request(world)
    for action, data in REQUEST_POSTS:
        response = client.post(f"/requests/{tracked.proposal_id}/{action}", data=data)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/requests/new").status_code == 302


def test_a_forged_acting_as_does_not_make_a_handler(world, client, login_as):
    tracked = assigned_request(world)
    # Urban Management's staff pretends to act as Anju, which they do not belong to.
    login_as(world.users["urban"], world.anju)
    response = client.post(f"/requests/{tracked.proposal_id}/move", data={"action": "accept"})
    assert response.status_code in (302, 403)
    response = client.post(f"/requests/{tracked.proposal_id}/progress", data={"text": "x"})
    assert response.status_code == 403
    db.session.expire_all()
    assert tracked.proposal.status == "submitted" and events(tracked) == 2


def test_a_handlers_only_request_is_invisible_to_other_streets(world, client, login_as):
    tracked = assigned_request(world, handlers_only=True)
    login_as(world.users["far"], world.far_dept)
    pid = tracked.proposal_id
    assert client.get(f"/proposals/{pid}").status_code == 404
    assert client.post(f"/requests/{pid}/transfer", data={"handler_id": 1}).status_code == 404
    page = client.get("/requests").get_data(as_text=True)
    assert tracked.proposal.title not in page


def test_the_rating_cannot_be_posted_twice(world, client, login_as):
    tracked = assigned_request(world)
    anju = world.actor("anju", world.anju)
    for action, reason in (("accept", ""), ("start", ""), ("resolve", "修好了")):
        requests.move_request(anju, tracked, action, reason)
    db.session.commit()
    login_as(world.users["chen"])
    use_english(client)
    url = f"/requests/{tracked.proposal_id}/rate"
    client.post(url, data={"rating": "5", "comment": "好"})
    page = client.post(url, data={"rating": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "already been rated" in page
    db.session.expire_all()
    assert tracked.satisfaction == 5


@pytest.mark.parametrize("rating", ["0", "6", "-1", "five", "4.5", "", "99999999999999999999"])
def test_bad_ratings_are_refused(world, client, login_as, rating):
    tracked = assigned_request(world)
    anju = world.actor("anju", world.anju)
    for action, reason in (("accept", ""), ("start", ""), ("resolve", "修好了")):
        requests.move_request(anju, tracked, action, reason)
    db.session.commit()
    login_as(world.users["chen"])
    response = client.post(f"/requests/{tracked.proposal_id}/rate", data={"rating": rating})
    assert response.status_code == 302
    db.session.expire_all()
    assert tracked.satisfaction is None and tracked.proposal.status == "resolved"


@pytest.mark.parametrize(
    "handler_id", ["0", "-1", "abc", "99999999999999999999", "{shop}", "{far}", "{chen}"]
)
def test_assigning_to_nonsense_is_refused(world, client, login_as, handler_id):
    from helpers import identity

    tracked = new_request(world)
    login_as(world.users["rc"], world.committee)
    value = handler_id.format(
        shop=world.shop.id, far=world.far_dept.id, chen=identity(world.users["chen"]).id
    )
    response = client.post(f"/requests/{tracked.proposal_id}/assign", data={"handler_id": value})
    assert response.status_code == 302
    db.session.expire_all()
    assert tracked.handler_id is None and events(tracked) == 1


def test_unknown_actions_and_ids(world, client, login_as):
    tracked = assigned_request(world)
    login_as(world.users["anju"], world.anju)
    pid = tracked.proposal_id
    response = client.post(f"/requests/{pid}/move", data={"action": "confirm"})
    assert response.status_code == 302
    response = client.post(f"/requests/{pid}/move", data={"action": "__class__"})
    assert response.status_code == 302
    assert client.post("/requests/99999999999/move", data={"action": "accept"}).status_code == 404
    assert client.post("/requests/2147483647/move", data={"action": "accept"}).status_code == 404
    plan = new_plan(world)
    # A plan is not a request, and a request is not a plan.
    response = client.post(f"/requests/{plan.proposal_id}/move", data={"action": "accept"})
    assert response.status_code == 404
    assert client.get(f"/plans/{pid}/route").status_code == 404
    db.session.expire_all()
    assert tracked.proposal.status == "submitted"


# -- Who may decide a plan ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "org", "status"),
    [
        ("social", "social", 403),  # a department, but not this step's owner
        ("far", "far_dept", 403),  # a department of another street
        ("office", "office", 403),  # the street office does not own this step
        ("anju", "anju", 403),  # the plan's author
        ("chen", None, 403),
    ],
)
def test_only_the_steps_owner_decides_it(world, client, login_as, who, org, status):
    plan = reviewing_plan(world)
    login_as(world.users[who], getattr(world, org) if org else None)
    response = client.post(
        f"/plans/{plan.proposal_id}/steps/s1", data={"decision": "approved", "opinion": "同意"}
    )
    assert response.status_code == status
    assert [r.decision for r in plans.steps_of(plan)] == ["pending"]


def test_step_keys_and_decisions_are_checked(world, client, login_as):
    plan = reviewing_plan(world)
    login_as(world.users["urban"], world.urban)
    pid = plan.proposal_id
    for key in ("s2", "s99", "x" * 500, "%00", "s1'--"):
        response = client.post(
            f"/plans/{pid}/steps/{key}", data={"decision": "approved", "opinion": "同意"}
        )
        assert response.status_code in (302, 403, 404)
    for decision in ("", "maybe", "APPROVED", "approved\x00"):
        response = client.post(
            f"/plans/{pid}/steps/s1", data={"decision": decision, "opinion": "同意"}
        )
        assert response.status_code == 302
    response = client.post(f"/plans/{pid}/steps/s1", data={"decision": "approved"})
    assert response.status_code == 302
    assert [r.decision for r in plans.steps_of(plan)] == ["pending"]


@pytest.mark.parametrize(
    ("who", "org"), [("urban", "urban"), ("far", "far_dept"), ("anju", "anju"), ("chen", None)]
)
def test_only_the_street_office_routes_and_signs_off(world, client, login_as, who, org):
    plan = new_plan(world)
    login_as(world.users[who], getattr(world, org) if org else None)
    pid = plan.proposal_id
    data = {"steps-0-owner_id": str(world.urban.id), "steps-0-group": "1", "steps-0-days": "3"}
    assert client.post(f"/plans/{pid}/route", data=data).status_code == 403
    response = client.post(f"/plans/{pid}/signoff", data={"decision": "approved", "opinion": "好"})
    assert response.status_code == 403
    assert plan.route == [] and plan.proposal.status == "submitted"


def test_route_form_nonsense_stores_nothing(world, client, login_as):
    plan = new_plan(world)
    login_as(world.users["office"], world.office)
    pid = plan.proposal_id
    for data in (
        {"steps-0-owner_id": str(world.far_dept.id), "steps-0-group": "1", "steps-0-days": "3"},
        {"steps-0-owner_id": str(world.anju.id), "steps-0-group": "1", "steps-0-days": "3"},
        {"steps-0-owner_id": "abc", "steps-0-group": "1", "steps-0-days": "3"},
        {"steps-0-owner_id": str(world.urban.id), "steps-0-group": "x", "steps-0-days": "3"},
        {"steps-0-owner_id": str(world.urban.id), "steps-0-group": "1", "steps-0-days": "-2"},
        {"steps-0-owner_id": str(world.urban.id), "steps-0-group": "1", "steps-0-days": "1e9"},
        {},
    ):
        response = client.post(f"/plans/{pid}/route", data=data)
        assert response.status_code in (200, 422), data
    db.session.expire_all()
    assert plan.route == [] and count(ReviewStep) == 0 and plan.proposal.status == "submitted"


def test_a_milestone_in_the_past_or_without_a_date(world, client, login_as):
    plan = new_plan(world)
    plans.set_route(
        world.actor("office", world.office),
        plan,
        plans.parse_route([(world.urban.id, 1, 3)]),
    )
    plans.decide_step(world.actor("urban", world.urban), plan, "s1", "approved", "同意")
    plans.sign_off(world.actor("office", world.office), plan, "approved", "同意")
    db.session.commit()
    login_as(world.users["anju"], world.anju)
    use_english(client)
    pid = plan.proposal_id
    for due in ("2020-01-01", "", "not a date", "2026-02-30"):
        page = client.post(
            f"/plans/{pid}/milestones", data={"title": "完成", "due_on": due}, follow_redirects=True
        ).get_data(as_text=True)
        assert "past" in page or "due date" in page or "Not a valid date" in page
    assert count(Milestone) == 0


# -- Uploads -------------------------------------------------------------------------------------

HOSTILE_FILES = [
    ("evil.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("evil.jpg", b"<html><script>alert(1)</script></html>"),
    ("evil.pdf.png", b"GIF89a<script>alert(1)</script>"),
    ("run.sh", b"#!/bin/sh\nrm -rf /\n"),
    ("empty.png", b""),
    ("broken.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"),
]


@pytest.mark.parametrize(("name", "data"), HOSTILE_FILES)
def test_hostile_photos_are_refused_and_nothing_is_stored(world, client, login_as, name, data):
    login_as(world.users["chen"])
    response = client.post(
        "/requests/new",
        data={
            "community_id": world.community.id,
            "category": "lighting",
            "title": "路灯",
            "description": "不亮",
            "visibility": "public",
            "photos": [(io.BytesIO(data), name)],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert count(TrackedRequest) == count(Attachment) == 0


def test_an_upload_over_the_request_limit_is_413(world, client, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    login_as(world.users["chen"])
    response = client.post(
        "/requests/new",
        data={"title": "x", "photos": [(io.BytesIO(png(b"x" * 4096)), "big.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert count(Attachment) == 0


def test_stored_files_are_renamed_and_served_as_downloads(world, client, login_as):
    plan = new_plan(
        world,
        attachments=[plans.Upload('../../etc/passwd"\r\nX-Evil: 1;.pdf', PDF)],
    )
    attachment = db.session.scalar(sa.select(Attachment))
    assert "/" not in attachment.filename and "\r" not in attachment.filename
    assert re.fullmatch(r"[0-9a-f]{40}", attachment.storage_key)
    with client.get(f"/attachments/{attachment.id}") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "X-Evil" not in response.headers
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert plan.proposal.status == "submitted"


def test_a_photo_upload_by_a_non_handler_is_refused(world, client, login_as):
    tracked = assigned_request(world)
    login_as(world.users["zhao"])
    response = client.post(
        f"/requests/{tracked.proposal_id}/progress",
        data={"text": "我来", "photo": [(io.BytesIO(png()), "x.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert count(Attachment) == 0


# -- Markup --------------------------------------------------------------------------------------


def test_user_text_is_never_live_markup(world, client, login_as):
    tracked = new_request(world, title=XSS[:120], description=XSS, location=XSS[:200])
    requests.assign_request(world.actor("rc", world.committee), tracked, world.anju.id, XSS)
    requests.post_progress(world.actor("anju", world.anju), tracked, XSS)
    requests.move_request(world.actor("anju", world.anju), tracked, "accept")
    requests.move_request(world.actor("anju", world.anju), tracked, "start")
    requests.move_request(world.actor("anju", world.anju), tracked, "resolve", XSS)
    requests.rate_request(world.actor("chen"), tracked, 1, XSS)
    plan = new_plan(world, title=XSS[:120], summary=XSS, schedule=XSS)
    plans.set_route(
        world.actor("office", world.office), plan, plans.parse_route([(world.urban.id, 1, 3)])
    )
    plans.decide_step(world.actor("urban", world.urban), plan, "s1", "changes_requested", XSS)
    db.session.commit()
    for url in (
        f"/proposals/{tracked.proposal_id}",
        f"/proposals/{plan.proposal_id}",
        "/requests",
        "/plans",
    ):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;" in page, url
    login_as(world.users["office"], world.office)
    page = client.get("/dashboard/items?metric=received").get_data(as_text=True)
    assert "<script>alert" not in page


# -- The dashboard -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13-45", "to": "yesterday"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "2026-12-01", "to": "2026-01-01"},
        {"community": "abc", "handler": "-5"},
        {"community": "99999999999999999999"},
        {"handler": "2147483647"},
        {"metric": "received", "page": "-3"},
        {"street": "0"},
    ],
)
def test_the_dashboard_survives_nonsense(world, client, login_as, query):
    new_request(world)
    login_as(world.users["office"], world.office)
    for url, extra in (
        ("/dashboard", {}),
        ("/dashboard/export.csv", {}),
        ("/dashboard/items", {"metric": "open"}),
    ):
        response = client.get(url, query_string=extra | query)
        assert response.status_code in (200, 404), (url, query)


def test_the_public_dashboard_hides_handlers_only_items(world, client):
    tracked = assigned_request(world, handlers_only=True)
    page = client.get(
        "/dashboard/items", query_string={"metric": "received", "community": world.community.id}
    ).get_data(as_text=True)
    assert tracked.proposal.title not in page
