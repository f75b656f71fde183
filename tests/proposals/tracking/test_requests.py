"""Tracked requests: submit, triage, custody, deadlines, progress, resolution, rating, reopening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import tracking_helpers
from tracking_helpers import (
    PDF,
    World,
    build_world,
    count,
    jpeg_with_gps,
    new_request,
    png,
)

from coord import uploads
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import AuditEvent, Notification
from proposals import services
from proposals.models import Attachment, Proposal, ProposalInvite, Visibility
from proposals.tracking import deadlines, requests
from proposals.tracking.models import RequestEvent, TrackedRequest

from helpers import identity

#: Uploads into a temporary folder, English messages (an autouse fixture).
tracking_setup = tracking_helpers.tracking_setup


@pytest.fixture
def world(app, community, make_user) -> World:
    return build_world(community, make_user)


def events(tracked: TrackedRequest) -> list[tuple[str, int | None, int | None]]:
    return [(e.type, e.from_handler_id, e.to_handler_id) for e in requests.events_of(tracked)]


def assign(world: World, tracked: TrackedRequest, handler=None) -> None:
    requests.assign_request(world.actor("rc", world.committee), tracked, (handler or world.anju).id)
    db.session.commit()


def move(world: World, tracked: TrackedRequest, who: str, org, action: str, reason: str = ""):
    requests.move_request(world.actor(who, org), tracked, action, reason)
    db.session.commit()


# -- Submitting ------------------------------------------------------------------------------


def test_a_resident_files_a_request_with_photos_whose_location_is_stripped(world):
    tracked = new_request(
        world,
        location="5号楼北侧小巷",
        grid_id=world.grid.id,
        photos=[
            requests.Upload("IMG_0001.jpg", jpeg_with_gps()),
            requests.Upload("../../lane.png", png(b"GPS\x0031.2,121.4")),
        ],
    )
    proposal = tracked.proposal
    assert (proposal.kind, proposal.status, proposal.visibility) == (
        "request",
        "submitted",
        Visibility.PUBLIC,
    )
    assert (tracked.category, tracked.location, tracked.grid_id) == (
        "lighting",
        "5号楼北侧小巷",
        world.grid.id,
    )
    assert tracked.handler_id is None and tracked.first_response_due_at is None
    assert events(tracked) == [("submitted", None, None)]
    photos = db.session.scalars(sa.select(Attachment).order_by(Attachment.id)).all()
    assert [p.filename for p in photos] == ["IMG_0001.jpg", "lane.png"]
    for photo in photos:
        stored = uploads.load(photo.storage_key)
        assert b"GPS" not in stored
        assert photo.storage_key not in photo.filename and len(photo.storage_key) == 40
    assert db.session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
        "request.submit"
    )


def test_a_handlers_only_request_is_hidden_from_the_public(world, client, login_as):
    tracked = new_request(world, handlers_only=True)
    proposal = tracked.proposal
    assert proposal.visibility == Visibility.INVITED
    invited = set(db.session.scalars(sa.select(ProposalInvite.stakeholder_id)))
    assert invited == {world.office.id}
    url = f"/proposals/{proposal.id}"
    assert client.get(url).status_code == 404
    login_as(world.users["anju"], world.anju)
    assert client.get(url).status_code == 404  # not assigned yet
    assign(world, tracked)
    assert client.get(url).status_code == 200  # the handler is invited on assignment
    login_as(world.users["far"], world.far_dept)
    assert client.get(url).status_code == 404
    login_as(world.users["rc"], world.committee)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"category": "aliens"}, "category"),
        ({"description": "   "}, "description"),
        ({"description": "长" * 2001}, "description"),
        ({"community_id": 999_999}, "community_id"),
        ({"photos": [requests.Upload("x.png", b"<svg onload=alert(1)></svg>")]}, "file"),
        ({"photos": [requests.Upload("x.jpg", PDF)]}, "file"),
        ({"photos": [requests.Upload(f"{i}.png", png()) for i in range(6)]}, "photos"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_stored(world, data, field):
    with pytest.raises(DomainError) as exc:
        new_request(world, **data)
    assert exc.value.field == field
    db.session.rollback()
    assert count(Proposal) == count(TrackedRequest) == count(Attachment) == 0


def test_a_grid_of_another_community_is_refused(world):
    from coord.models import Grid

    other = Grid(community=world.other_community, number=4)
    db.session.add(other)
    db.session.commit()
    with pytest.raises(DomainError) as exc:
        new_request(world, grid_id=other.id)
    assert exc.value.field == "grid_id"


def test_photos_over_the_size_limit_are_refused(world, monkeypatch, app):
    monkeypatch.setitem(app.config, "TRACKING_UPLOAD_MAX_BYTES", 1024 * 1024)
    big = png(b"x" * (1024 * 1024))
    with pytest.raises(DomainError, match="MB"):
        new_request(world, photos=[requests.Upload("big.png", big)])


def test_a_request_made_through_the_generic_proposal_form_is_tracked(world):
    actor = world.actor("zhao")
    proposal = services.create_proposal(
        actor,
        {
            "kind": "request",
            "community_id": world.community.id,
            "title": "楼道漏水",
            "summary": "12楼楼道天花板漏水。",
            "category": "property",
        },
    )
    db.session.commit()
    tracked = db.session.scalar(sa.select(TrackedRequest))
    assert tracked.proposal_id == proposal.id and tracked.category == "property"
    assert events(tracked) == [("submitted", None, None)]


# -- Triage and custody ----------------------------------------------------------------------


def test_the_committee_assigns_and_the_deadlines_count_working_days(world):
    tracked = new_request(world)
    before = utcnow()
    assign(world, tracked)
    assert tracked.handler_id == world.anju.id
    assert tracked.proposal.status == "submitted"  # until the handler accepts
    assigned = tracked.assigned_at
    assert before <= assigned <= utcnow()
    assert tracked.first_response_due_at == deadlines.add_workdays(assigned, 1)
    assert tracked.resolution_due_at == deadlines.add_workdays(assigned, 5)
    assert events(tracked) == [("submitted", None, None), ("assigned", None, world.anju.id)]
    notes = db.session.scalars(sa.select(Notification.user_id)).all()
    assert world.users["anju"].id in notes


def test_deadlines_are_configurable_per_category(world, app, monkeypatch):
    monkeypatch.setitem(
        app.config,
        "REQUEST_DEADLINES",
        {"default": {"first_response": 2, "resolution": 10}, "lighting": {"resolution": 3}},
    )
    tracked = new_request(world)
    assign(world, tracked)
    assert tracked.first_response_due_at == deadlines.add_workdays(tracked.assigned_at, 2)
    assert tracked.resolution_due_at == deadlines.add_workdays(tracked.assigned_at, 3)


def test_the_work_calendar_is_configurable(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "WORK_CALENDAR", {"weekend": [], "holidays": []})
    tracked = new_request(world)
    assign(world, tracked)
    assert tracked.resolution_due_at == tracked.assigned_at + timedelta(days=5)


@pytest.mark.parametrize("who", ["chen", "anju", "urban", "far"])
def test_only_the_committee_or_the_street_office_assigns(world, who):
    tracked = new_request(world)
    org = {"anju": world.anju, "urban": world.urban, "far": world.far_dept}.get(who)
    with pytest.raises(NotAllowed):
        requests.assign_request(world.actor(who, org), tracked, world.anju.id)
    db.session.rollback()
    assert tracked.handler_id is None and count(RequestEvent) == 1


def test_the_street_office_may_assign_too(world):
    tracked = new_request(world)
    requests.assign_request(world.actor("office", world.office), tracked, world.urban.id)
    assert tracked.handler_id == world.urban.id


@pytest.mark.parametrize("target", ["shop", "far_dept", "chen", "missing"])
def test_assigning_to_a_non_handler_is_refused(world, target):
    tracked = new_request(world)
    if target == "chen":
        handler_id = identity(world.users["chen"]).id
    elif target == "missing":
        handler_id = 999_999
    else:
        handler_id = getattr(world, target).id
    with pytest.raises(DomainError, match="handles requests") as exc:
        requests.assign_request(world.actor("rc", world.committee), tracked, handler_id)
    assert exc.value.field == "handler_id"
    db.session.rollback()
    assert tracked.handler_id is None and count(RequestEvent) == 1


def test_a_request_is_assigned_once_then_transferred(world):
    tracked = new_request(world)
    assign(world, tracked)
    with pytest.raises(Conflict):
        requests.assign_request(world.actor("rc", world.committee), tracked, world.urban.id)


def test_the_chain_of_custody_records_each_handler_and_its_first_response(world):
    tracked = new_request(world, category="water", title="楼道水管漏水")
    assign(world, tracked)
    resolution_due = tracked.resolution_due_at
    move(world, tracked, "anju", world.anju, "accept")
    accepted_at = tracked.first_response_at
    assert accepted_at is not None and tracked.proposal.status == "accepted"
    requests.transfer_request(
        world.actor("anju", world.anju), tracked, world.water.id, "主管道属于供水公司维修范围"
    )
    db.session.commit()
    assert tracked.handler_id == world.water.id
    assert tracked.first_response_at is None  # the new handler has not answered yet
    assert tracked.first_response_due_at > accepted_at
    assert tracked.resolution_due_at == resolution_due  # a transfer buys no time
    assert events(tracked) == [
        ("submitted", None, None),
        ("assigned", None, world.anju.id),
        ("accepted", None, None),
        ("transferred", world.anju.id, world.water.id),
    ]
    custody = db.session.scalars(
        sa.select(RequestEvent)
        .where(RequestEvent.type.in_(["assigned", "transferred"]))
        .order_by(RequestEvent.id)
    ).all()
    assert custody[0].responded_at == accepted_at and custody[1].responded_at is None
    requests.post_progress(world.actor("water", world.water), tracked, "已关闭阀门，明天换管。")
    db.session.commit()
    assert custody[1].responded_at == tracked.first_response_at is not None
    # The requester hears of the progress.
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == world.users["chen"].id)
    )


@pytest.mark.parametrize(
    ("who", "org_name"), [("urban", "urban"), ("chen", None), ("anju", None), ("far", "far_dept")]
)
def test_only_the_handler_or_the_street_office_transfers(world, who, org_name):
    tracked = new_request(world)
    assign(world, tracked)
    org = getattr(world, org_name) if org_name else None
    with pytest.raises(NotAllowed):
        requests.transfer_request(world.actor(who, org), tracked, world.urban.id, "不归我们管")
    db.session.rollback()
    assert tracked.handler_id == world.anju.id and count(RequestEvent) == 2


def test_the_street_office_may_transfer(world):
    tracked = new_request(world)
    assign(world, tracked)
    requests.transfer_request(world.actor("office", world.office), tracked, world.urban.id, "路灯")
    assert tracked.handler_id == world.urban.id


@pytest.mark.parametrize(
    ("target", "reason", "message"),
    [
        ("urban", "  ", "reason"),
        ("shop", "给商户", "handles requests"),
        ("far_dept", "给东湖", "handles requests"),
        ("anju", "给自己", "already with this handler"),
    ],
)
def test_bad_transfers_are_refused_and_nothing_is_stored(world, target, reason, message):
    tracked = new_request(world)
    assign(world, tracked)
    with pytest.raises(DomainError, match=message):
        requests.transfer_request(
            world.actor("anju", world.anju), tracked, getattr(world, target).id, reason
        )
    db.session.rollback()
    assert tracked.handler_id == world.anju.id and count(RequestEvent) == 2


@pytest.mark.parametrize(("who", "org"), [("urban", "urban"), ("chen", None), ("rc", "committee")])
def test_only_the_assigned_handler_moves_a_request(world, who, org):
    tracked = new_request(world)
    assign(world, tracked)
    actor = world.actor(who, getattr(world, org) if org else None)
    for action in ("accept", "start"):
        with pytest.raises(DomainError) as exc:
            requests.move_request(actor, tracked, action)
        assert exc.value.status in (403, 409)
    with pytest.raises(NotAllowed):
        requests.post_progress(actor, tracked, "进展")
    db.session.rollback()
    assert tracked.proposal.status == "submitted" and tracked.first_response_at is None


def test_a_member_of_the_handler_acting_as_themself_does_not_handle(world):
    tracked = new_request(world)
    assign(world, tracked)
    with pytest.raises(DomainError) as exc:
        requests.move_request(world.actor("anju"), tracked, "accept")
    assert exc.value.status == 403


# -- Resolution, rating and reopening --------------------------------------------------------


def resolved_request(world: World) -> TrackedRequest:
    tracked = new_request(world)
    assign(world, tracked, world.urban)
    move(world, tracked, "urban", world.urban, "accept")
    move(world, tracked, "urban", world.urban, "start")
    move(world, tracked, "urban", world.urban, "resolve", "已更换灯泡并检查线路。")
    return tracked


def test_the_handler_resolves_and_the_requester_rates(world):
    tracked = resolved_request(world)
    assert tracked.proposal.status == "resolved" and tracked.resolved_at is not None
    requests.rate_request(world.actor("chen"), tracked, 5, "修得很快，谢谢！")
    db.session.commit()
    assert tracked.proposal.status == "closed"
    assert (tracked.satisfaction, tracked.satisfaction_comment) == (5, "修得很快，谢谢！")
    assert [e for e, *_ in events(tracked)][-2:] == ["resolved", "confirmed"]
    resolved_event = requests.events_of(tracked)[-2]
    assert resolved_event.text == "已更换灯泡并检查线路。"


def test_resolving_needs_a_note(world):
    tracked = new_request(world)
    assign(world, tracked, world.urban)
    move(world, tracked, "urban", world.urban, "accept")
    move(world, tracked, "urban", world.urban, "start")
    with pytest.raises(DomainError):
        requests.move_request(world.actor("urban", world.urban), tracked, "resolve", " ")


@pytest.mark.parametrize(
    ("who", "org", "error"),
    [("zhao", None, NotAllowed), ("urban", "urban", NotAllowed), ("rc", "committee", NotAllowed)],
)
def test_only_the_requester_rates(world, who, org, error):
    tracked = resolved_request(world)
    with pytest.raises(error, match="Only the resident"):
        requests.rate_request(world.actor(who, getattr(world, org) if org else None), tracked, 4)
    db.session.rollback()
    assert tracked.satisfaction is None and tracked.proposal.status == "resolved"


def test_rating_before_resolution_is_refused(world):
    tracked = new_request(world)
    assign(world, tracked)
    with pytest.raises(Conflict, match="once it is marked resolved"):
        requests.rate_request(world.actor("chen"), tracked, 5)
    db.session.rollback()
    assert tracked.satisfaction is None


def test_a_second_rating_is_refused(world):
    tracked = resolved_request(world)
    requests.rate_request(world.actor("chen"), tracked, 5)
    db.session.commit()
    with pytest.raises(Conflict, match="already been rated"):
        requests.rate_request(world.actor("chen"), tracked, 1)
    db.session.rollback()
    assert tracked.satisfaction == 5


@pytest.mark.parametrize("rating", [0, 6, -1, "5", None, True, 4.5])
def test_ratings_are_whole_numbers_from_one_to_five(world, rating):
    tracked = resolved_request(world)
    with pytest.raises(DomainError) as exc:
        requests.rate_request(world.actor("chen"), tracked, rating)
    assert exc.value.field == "rating"
    db.session.rollback()
    assert tracked.satisfaction is None and tracked.proposal.status == "resolved"


def test_confirming_without_a_rating_is_refused(world):
    tracked = resolved_request(world)
    with pytest.raises(DomainError, match="Rate the resolution"):
        services.transition_proposal(world.actor("chen"), tracked.proposal, "confirm")
    db.session.rollback()
    assert tracked.proposal.status == "resolved"


def test_reopening_keeps_the_history_and_counts_against_the_handler(world):
    tracked = resolved_request(world)
    due = tracked.resolution_due_at
    move(world, tracked, "chen", None, "reopen", "晚上还是不亮。")
    assert tracked.proposal.status == "in_progress"
    assert tracked.reopen_count == 1 and tracked.resolved_at is None
    assert tracked.resolution_due_at == due  # a resolution that did not hold buys no time
    move(world, tracked, "urban", world.urban, "resolve", "更换了整条线路。")
    requests.rate_request(world.actor("chen"), tracked, 3)
    db.session.commit()
    kinds = [e for e, *_ in events(tracked)]
    assert kinds == [
        "submitted",
        "assigned",
        "accepted",
        "started",
        "resolved",
        "reopened",
        "resolved",
        "confirmed",
    ]


def test_only_the_requester_reopens(world):
    tracked = resolved_request(world)
    with pytest.raises(DomainError) as exc:
        requests.move_request(world.actor("zhao"), tracked, "reopen", "我也觉得没修好")
    assert exc.value.status == 403


# -- Triage: reject and merge ----------------------------------------------------------------


def test_the_committee_rejects_with_a_reason(world):
    tracked = new_request(world)
    with pytest.raises(DomainError):
        requests.move_request(world.actor("rc", world.committee), tracked, "reject", "")
    move(world, tracked, "rc", world.committee, "reject", "不属于社区事务，请拨打12345。")
    assert tracked.proposal.status == "rejected" and tracked.closed_at is not None
    assert requests.events_of(tracked)[-1].text == "不属于社区事务，请拨打12345。"


def test_a_duplicate_is_merged_into_an_open_request(world):
    first = new_request(world)
    second = new_request(world, who="zhao", title="小巷路灯坏了")
    requests.merge_request(
        world.actor("rc", world.committee), second, first.proposal_id, "同一盏灯"
    )
    db.session.commit()
    assert second.proposal.status == "merged" and second.merged_into_id == first.proposal_id
    assert requests.events_of(second)[-1].type == "merged"


@pytest.mark.parametrize("target", ["self", "missing", "closed", None])
def test_merging_needs_another_open_request(world, target):
    first = new_request(world)
    second = new_request(world, who="zhao")
    if target == "closed":
        move(world, first, "rc", world.committee, "reject", "重复")
    target_id = {
        "self": second.proposal_id,
        "missing": 999_999,
        "closed": first.proposal_id,
        None: None,
    }[target]
    with pytest.raises(DomainError) as exc:
        requests.merge_request(world.actor("rc", world.committee), second, target_id)
    assert exc.value.field == "target"
    db.session.rollback()
    assert second.proposal.status == "submitted" and second.merged_into_id is None


def test_a_generic_merge_without_the_duplicate_is_refused(world):
    first = new_request(world)
    second = new_request(world, who="zhao")
    with pytest.raises(DomainError):
        services.transition_proposal(
            world.actor("rc", world.committee), second.proposal, "merge", target=str(first.id)
        )
    db.session.rollback()
    assert second.proposal.status == "submitted"


def test_deadline_status(world):
    tracked = new_request(world)
    assign(world, tracked)
    deadline = requests.deadlines(tracked)
    assert not deadline["first_response"].is_overdue
    tracked.first_response_due_at = utcnow() - timedelta(hours=1)
    assert requests.deadlines(tracked)["first_response"].is_overdue


def test_a_triage_is_recorded_for_the_committee_not_the_staff_member(world):
    tracked = new_request(world)
    requests.assign_request(world.actor("rc"), tracked, world.anju.id)  # acting as themself
    requests.transfer_request(world.actor("office"), tracked, world.urban.id, "路灯归城管")
    assigned, transferred = requests.events_of(tracked)[1:]
    assert assigned.actor_id == world.committee.id and assigned.user_id == world.users["rc"].id
    assert transferred.actor_id == world.office.id


def test_the_request_section_runs_a_fixed_number_of_queries(world, count_queries):
    from proposals.tracking.views.requests import request_part
    from proposals.viewer import Viewer

    viewer = Viewer(None, None, frozenset(), False, False, False)
    short = new_request(world)
    long = new_request(
        world, who="zhao", photos=[requests.Upload(f"{i}.png", png()) for i in range(3)]
    )
    assign(world, long)
    move(world, long, "anju", world.anju, "accept")
    requests.transfer_request(world.actor("anju", world.anju), long, world.water.id, "供水管网")
    requests.post_progress(world.actor("water", world.water), long, "已修复")
    db.session.commit()
    counts = []
    for tracked in (short, long):
        db.session.expire_all()
        proposal = db.session.get(Proposal, tracked.proposal_id)
        with count_queries() as counter:
            request_part(proposal, viewer)
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_stored_working_days_are_recomputed_after_the_calendar_changes(world, app, runner):
    tracked = new_request(world)
    assign(world, tracked)
    move(world, tracked, "anju", world.anju, "accept")
    tracked.assigned_at = datetime(2026, 11, 6, 9, tzinfo=UTC)  # a Friday, 17:00 in Shanghai
    tracked.resolved_at = datetime(2026, 11, 9, 9, tzinfo=UTC)  # the Monday after
    db.session.commit()
    result = runner.invoke(args=["coord", "tracking", "recompute"])
    assert "Recomputed 1 resolution(s) and 1 first response(s)." in result.output, result.output
    db.session.expire_all()
    assert tracked.resolution_workdays == pytest.approx(1.0)
    app.config["WORK_CALENDAR"] = {"weekend": []}
    try:
        runner.invoke(args=["coord", "tracking", "recompute"])
        db.session.expire_all()
        assert tracked.resolution_workdays == pytest.approx(3.0)
    finally:
        del app.config["WORK_CALENDAR"]
