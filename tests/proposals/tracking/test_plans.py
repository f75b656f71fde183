"""Plan approvals: submission, review routes in rounds, sign-off, milestones, reminders, pages."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import tracking_helpers
from tracking_helpers import (
    PDF,
    World,
    build_world,
    count,
    new_plan,
    png,
)

from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import AuditEvent, Notification
from proposals import services
from proposals.models import Attachment, Milestone, MilestoneUpdate, Proposal, ProposalVersion
from proposals.tracking import deadlines, plans
from proposals.tracking import review_route as rr
from proposals.tracking.models import Plan, ReviewStep
from proposals.tracking.views.plans import plan_part

from helpers import use_english

#: Uploads into a temporary folder, English messages (an autouse fixture).
tracking_setup = tracking_helpers.tracking_setup


@pytest.fixture
def world(app, community, make_user) -> World:
    return build_world(community, make_user)


def today() -> date:
    """The local date (Asia/Shanghai), which is what due dates are about."""
    return utcnow().astimezone(deadlines.local_tz()).date()


def route(world: World, *groups: list[tuple[str, int]]) -> list[list[dict]]:
    """Route groups from (org attribute, due working days) pairs."""
    rows = [
        (getattr(world, name).id, number, days)
        for number, group in enumerate(groups, start=1)
        for name, days in group
    ]
    return plans.parse_route(rows)


def start_review(world: World, plan: Plan, groups=None) -> None:
    groups = groups or route(world, [("urban", 3)], [("social", 5), ("office", 2)])
    plans.set_route(world.actor("office", world.office), plan, groups)
    db.session.commit()


def decide(world: World, plan: Plan, who: str, step: str, decision: str, opinion: str) -> None:
    org = {"urban": world.urban, "social": world.social, "office": world.office}[who]
    plans.decide_step(world.actor(who, org), plan, step, decision, opinion)
    db.session.commit()


def rows(plan: Plan) -> list[tuple[int, str, str]]:
    return [(r.round, r.step_key, r.decision) for r in plans.steps_of(plan)]


def revise(world: World, plan: Plan) -> None:
    proposal = plan.proposal
    services.edit_proposal(
        world.actor("anju", world.anju),
        proposal,
        {
            "title": proposal.title,
            "summary": proposal.summary,
            "body": proposal.body_source + "\n\n施工时间避开22:00至次日7:00。",
        },
        note="按城管科意见修改施工时间",
    )
    db.session.commit()


# -- Submitting ------------------------------------------------------------------------------


def test_a_property_manager_submits_a_plan_with_attachments(world):
    plan = new_plan(
        world,
        attachments=[
            plans.Upload("施工图.pdf", PDF),
            plans.Upload("现场.png", png(b"GPS\x0031.2")),
        ],
    )
    proposal = plan.proposal
    assert (proposal.kind, proposal.status) == ("plan", "submitted")
    assert plan.street_office_id == world.office.id and plan.submitted_at is not None
    assert str(plan.budget) == "680000.00" and plan.round == 0 and plan.route == []
    files = db.session.scalars(sa.select(Attachment).order_by(Attachment.id)).all()
    assert [(f.filename, f.purpose) for f in files] == [
        ("施工图.pdf", "plan"),
        ("现场.png", "plan"),
    ]


def test_a_draft_is_submitted_later(world):
    plan = new_plan(world, submit=False)
    assert plan.proposal.status == "draft" and plan.submitted_at is None
    plans.submit_plan(world.actor("anju", world.anju), plan)
    assert plan.proposal.status == "submitted" and plan.submitted_at is not None


@pytest.mark.parametrize(("who", "org"), [("chen", None), ("urban", "urban"), ("office", "office")])
def test_residents_and_the_government_do_not_submit_plans(world, who, org):
    with pytest.raises(NotAllowed):
        plans.create_plan(
            world.actor(who, getattr(world, org) if org else None),
            {"community_id": world.community.id, "title": "t", "summary": "s"},
        )
    assert count(Proposal) == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"budget": "很多"}, "budget"),
        ({"budget": "-5"}, "budget"),
        ({"budget": "1e20"}, "budget"),
        ({"consultation_id": 999_999}, "consultation_id"),
        ({"attachments": [plans.Upload("x.pdf", b"<html><script>alert(1)</script>")]}, "file"),
        ({"attachments": [plans.Upload("x.svg", b"<svg onload='alert(1)'/>")]}, "file"),
    ],
)
def test_bad_plans_are_refused_and_nothing_is_stored(world, data, field):
    with pytest.raises(DomainError) as exc:
        new_plan(world, **data)
    assert exc.value.field == field
    db.session.rollback()
    assert count(Proposal) == count(Plan) == count(Attachment) == 0


def test_a_plan_links_a_consultation_of_its_community(world, make_proposal):
    lift = make_proposal(world.users["rc"], as_=world.committee, title="加装电梯意见征询")
    plan = new_plan(world, consultation_id=lift.id)
    assert plan.consultation_id == lift.id
    elsewhere = make_proposal(
        world.users["rc"], as_=world.committee, community_id=world.other_community.id
    )
    with pytest.raises(DomainError):
        new_plan(world, consultation_id=elsewhere.id)


# -- The review ------------------------------------------------------------------------------


def test_the_street_office_sets_the_route_and_the_first_group_starts(world):
    plan = new_plan(world)
    start_review(world, plan)
    assert plan.proposal.status == "under_review" and plan.round == 1
    assert plan.route == [
        [{"id": "s1", "owner_id": world.urban.id, "due_workdays": 3}],
        [
            {"id": "s2", "owner_id": world.social.id, "due_workdays": 5},
            {"id": "s3", "owner_id": world.office.id, "due_workdays": 2},
        ],
    ]
    (step,) = plans.steps_of(plan)
    assert (step.round, step.step_key, step.owner_id, step.decision) == (
        1,
        "s1",
        world.urban.id,
        "pending",
    )
    assert step.due_at == deadlines.add_workdays(step.activated_at, 3)
    users = set(db.session.scalars(sa.select(Notification.user_id)))
    assert world.users["urban"].id in users


@pytest.mark.parametrize(
    ("who", "org"), [("urban", "urban"), ("anju", "anju"), ("far", "far_dept")]
)
def test_only_the_street_office_sets_the_route(world, who, org):
    plan = new_plan(world)
    with pytest.raises(NotAllowed):
        plans.set_route(world.actor(who, getattr(world, org)), plan, route(world, [("urban", 3)]))
    db.session.rollback()
    assert plan.proposal.status == "submitted" and count(ReviewStep) == 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "at least one review step"),
        ([("urban", 1, 0)], "at least one working day"),
        ([("urban", 1, -3)], "at least one working day"),
        ([("urban", 1, 61)], "at most 60 working days"),
        ([("urban", 0, 3)], "group number"),
        ([("anju", 1, 3)], "street office or one of its departments"),
        ([("far_dept", 1, 3)], "street office or one of its departments"),
    ],
)
def test_bad_routes_are_refused_and_nothing_is_stored(world, rows, message):
    plan = new_plan(world)
    with pytest.raises(DomainError, match=message):
        groups = plans.parse_route((getattr(world, o).id, g, d) for o, g, d in rows)
        plans.set_route(world.actor("office", world.office), plan, groups)
    db.session.rollback()
    assert plan.route == [] and count(ReviewStep) == 0 and plan.proposal.status == "submitted"


def test_a_generic_start_review_without_a_route_is_refused(world):
    plan = new_plan(world)
    with pytest.raises(DomainError, match="review route first"):
        services.transition_proposal(
            world.actor("office", world.office), plan.proposal, "start_review"
        )


def test_sequential_and_parallel_steps_with_a_new_round_after_changes(world):
    plan = new_plan(world)
    start_review(world, plan)
    decide(world, plan, "urban", "s1", "approved", "符合市容管理要求。")
    assert rows(plan) == [(1, "s1", "approved"), (1, "s2", "pending"), (1, "s3", "pending")]
    decide(world, plan, "social", "s2", "changes_requested", "请补充施工期间老人出行安排。")
    assert plan.proposal.status == "changes_requested"
    assert rows(plan) == [
        (1, "s1", "approved"),
        (1, "s2", "changes_requested"),
        (1, "s3", "not_needed"),
    ]
    # Resubmitting the same text is refused: the reviewers asked for a revision.
    with pytest.raises(DomainError, match="Revise the plan"):
        plans.resubmit_plan(world.actor("anju", world.anju), plan)
    db.session.rollback()
    revise(world, plan)
    assert plan.proposal.version == 2 and plans.reviewed_version(plan) == 1
    plans.resubmit_plan(world.actor("anju", world.anju), plan)
    db.session.commit()
    assert plan.proposal.status == "under_review" and plan.round == 2
    # Round 2 resumes at the group that asked; round 1 stays on record.
    assert rows(plan) == [
        (1, "s1", "approved"),
        (1, "s2", "changes_requested"),
        (1, "s3", "not_needed"),
        (2, "s2", "pending"),
        (2, "s3", "pending"),
    ]
    assert {r.version for r in plans.steps_of(plan) if r.round == 2} == {2}
    decide(world, plan, "office", "s3", "approved", "程序合规。")
    decide(world, plan, "social", "s2", "approved", "已补充出行安排，同意。")
    state = plans.state_of(plan)
    assert state.outcome == rr.APPROVED_PENDING_SIGNOFF and state.round == 2
    assert [h.outcome for h in state.history] == ["changes_requested"]
    plans.sign_off(world.actor("office", world.office), plan, "approved", "同意实施，注意安全。")
    db.session.commit()
    assert plan.proposal.status == "approved" and plan.decided_at is not None
    assert plans.state_of(plan).outcome == rr.APPROVED
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("plan.decide_step") == 4 and "plan.sign_off" in actions


def test_the_street_office_hears_when_every_reviewer_approved(world):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3)]))
    decide(world, plan, "urban", "s1", "approved", "同意。")
    messages = db.session.scalars(
        sa.select(Notification.message).where(Notification.user_id == world.users["office"].id)
    ).all()
    assert plans.MESSAGES["signoff"] in messages


def test_a_rejection_by_a_step_ends_the_review(world):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3), ("social", 3)]))
    decide(world, plan, "urban", "s1", "rejected", "占用消防通道，不予同意。")
    assert plan.proposal.status == "rejected" and plan.decided_at is not None
    assert rows(plan) == [(1, "s1", "rejected"), (1, "s2", "not_needed")]
    assert plans.state_of(plan).outcome == rr.REJECTED


def test_the_street_office_may_reject_at_sign_off(world):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3)]))
    decide(world, plan, "urban", "s1", "approved", "同意。")
    plans.sign_off(world.actor("office", world.office), plan, "rejected", "预算来源不明。")
    db.session.commit()
    assert plan.proposal.status == "rejected" and plan.signoff_opinion == "预算来源不明。"


@pytest.mark.parametrize(
    ("who", "org"), [("social", "social"), ("anju", "anju"), ("far", "far_dept")]
)
def test_only_a_steps_owner_decides_it(world, who, org):
    plan = new_plan(world)
    start_review(world, plan)
    with pytest.raises(NotAllowed, match="Only the owner"):
        plans.decide_step(world.actor(who, getattr(world, org)), plan, "s1", "approved", "同意")
    db.session.rollback()
    assert rows(plan) == [(1, "s1", "pending")]


def test_a_member_acting_as_themself_does_not_decide(world):
    plan = new_plan(world)
    start_review(world, plan)
    with pytest.raises(NotAllowed):
        plans.decide_step(world.actor("urban"), plan, "s1", "approved", "同意")


@pytest.mark.parametrize("opinion", ["", "   ", "\n"])
def test_a_decision_without_an_opinion_is_refused_and_nothing_is_stored(world, opinion):
    plan = new_plan(world)
    start_review(world, plan)
    with pytest.raises(DomainError, match="write your opinion") as exc:
        decide(world, plan, "urban", "s1", "approved", opinion)
    assert exc.value.field == "opinion"
    db.session.rollback()
    assert rows(plan) == [(1, "s1", "pending")]
    assert "plan.decide_step" not in db.session.scalars(sa.select(AuditEvent.action)).all()


def test_steps_are_decided_in_order_and_once(world):
    plan = new_plan(world)
    start_review(world, plan)
    with pytest.raises(Conflict, match="not under review now"):
        decide(world, plan, "social", "s2", "approved", "同意")
    db.session.rollback()
    decide(world, plan, "urban", "s1", "approved", "同意")
    with pytest.raises(Conflict, match="already been decided"):
        decide(world, plan, "urban", "s1", "rejected", "改主意了")
    db.session.rollback()
    with pytest.raises(DomainError) as exc:
        decide(world, plan, "urban", "s9", "approved", "同意")
    assert exc.value.status == 404
    with pytest.raises(DomainError, match="not a valid decision"):
        decide(world, plan, "social", "s2", "maybe", "再说")


def test_sign_off_needs_the_street_office_an_opinion_and_every_approval(world):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3)]))
    with pytest.raises(Conflict, match="not waiting for the final sign-off"):
        plans.sign_off(world.actor("office", world.office), plan, "approved", "同意")
    db.session.rollback()
    decide(world, plan, "urban", "s1", "approved", "同意。")
    with pytest.raises(NotAllowed):
        plans.sign_off(world.actor("urban", world.urban), plan, "approved", "同意")
    with pytest.raises(DomainError, match="write your opinion"):
        plans.sign_off(world.actor("office", world.office), plan, "approved", "  ")
    db.session.rollback()
    assert plan.proposal.status == "under_review" and plan.decided_at is None


@pytest.mark.parametrize(
    ("who", "org", "action"),
    [
        ("office", "office", "approve"),
        ("office", "office", "reject"),
        ("urban", "urban", "request_changes"),
        ("urban", "urban", "reject"),
    ],
)
def test_lifecycle_buttons_cannot_bypass_the_review(world, who, org, action):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3)]))
    with pytest.raises(DomainError):
        services.transition_proposal(
            world.actor(who, getattr(world, org)), plan.proposal, action, "绕过审查"
        )
    db.session.rollback()
    assert plan.proposal.status == "under_review"


def test_withdrawing_closes_the_pending_steps(world):
    plan = new_plan(world)
    start_review(world, plan)
    services.transition_proposal(
        world.actor("anju", world.anju), plan.proposal, "withdraw", "业主意见分歧，暂缓。"
    )
    db.session.commit()
    assert rows(plan) == [(1, "s1", "not_needed")]


# -- Implementation --------------------------------------------------------------------------


def approved_plan(world: World) -> Plan:
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3)]))
    decide(world, plan, "urban", "s1", "approved", "同意。")
    plans.sign_off(world.actor("office", world.office), plan, "approved", "同意实施。")
    db.session.commit()
    return plan


def test_milestones_are_met_with_evidence_and_residents_comment(world):
    plan = approved_plan(world)
    anju = world.actor("anju", world.anju)
    milestone = plans.add_milestone(anju, plan, "完成基坑开挖", today() + timedelta(days=30))
    services.transition_proposal(anju, plan.proposal, "implement")
    plans.update_milestone(
        anju, milestone, "met", "基坑开挖完成，验收合格。", plans.Upload("验收.pdf", PDF)
    )
    plans.comment_on_milestone(world.actor("chen"), milestone, "施工噪音比较大，请注意时间。")
    db.session.commit()
    assert milestone.status == "met"
    updates = db.session.scalars(sa.select(MilestoneUpdate).order_by(MilestoneUpdate.id)).all()
    assert [(u.status, u.attachment_id is not None) for u in updates] == [
        ("met", True),
        (None, False),
    ]


def test_a_milestone_due_in_the_past_is_refused_and_nothing_is_stored(world):
    plan = approved_plan(world)
    with pytest.raises(DomainError, match="cannot be in the past") as exc:
        plans.add_milestone(
            world.actor("anju", world.anju), plan, "完成", today() - timedelta(days=2)
        )
    assert exc.value.field == "due_on"
    db.session.rollback()
    assert count(Milestone) == 0


@pytest.mark.parametrize(("who", "org"), [("chen", None), ("office", "office")])
def test_only_the_author_plans_and_reports_milestones(world, who, org):
    plan = approved_plan(world)
    actor = world.actor(who, getattr(world, org) if org else None)
    with pytest.raises(NotAllowed):
        plans.add_milestone(actor, plan, "完成", today() + timedelta(days=3))
    milestone = plans.add_milestone(
        world.actor("anju", world.anju), plan, "完成", today() + timedelta(days=3)
    )
    services.transition_proposal(world.actor("anju", world.anju), plan.proposal, "implement")
    with pytest.raises(NotAllowed):
        plans.update_milestone(actor, milestone, "met", "完成了")


def test_milestone_status_and_text_are_checked(world):
    plan = approved_plan(world)
    anju = world.actor("anju", world.anju)
    milestone = plans.add_milestone(anju, plan, "完成", today())
    with pytest.raises(Conflict):
        plans.update_milestone(anju, milestone, "met", "还没开始实施")
    services.transition_proposal(anju, plan.proposal, "implement")
    with pytest.raises(DomainError):
        plans.update_milestone(anju, milestone, "done", "完成")
    with pytest.raises(DomainError):
        plans.update_milestone(anju, milestone, "met", " ")


# -- Reminders -------------------------------------------------------------------------------


def test_reminders_for_steps_due_soon_and_overdue_are_sent_once(world, runner):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3), ("social", 3)]))
    decide(world, plan, "urban", "s1", "approved", "同意")
    urban_step = plans.steps_of(plan)[0]
    social_step = plans.steps_of(plan)[1]
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    now = utcnow()
    social_step.due_at = deadlines.add_workdays(now, 1) - timedelta(minutes=1)
    db.session.commit()
    counts = plans.send_reminders(now)
    assert (counts.due_soon, counts.overdue) == (1, 0)
    assert social_step.reminded_at == now and urban_step.reminded_at is None
    social_step.due_at = now - timedelta(hours=1)
    db.session.commit()
    result = runner.invoke(args=["coord", "tracking", "remind"])
    assert result.exit_code == 0 and "flagged 1 overdue" in result.output
    again = runner.invoke(args=["coord", "tracking", "remind"])
    assert "Reminded 0 step(s) due soon; flagged 0 overdue." in again.output
    notified = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == plans.REVIEW)
    ).all()
    after = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    # The social affairs department and the street office, twice (due soon, then overdue).
    assert notified.count(world.users["social"].id) >= 2
    assert notified.count(world.users["office"].id) == 2
    assert after > before


def _review_state(plan: Plan) -> list[tuple]:
    rows = db.session.execute(
        sa.select(ReviewStep.id, ReviewStep.reminded_at, ReviewStep.overdue_notified_at)
        .where(ReviewStep.plan_id == plan.id)
        .order_by(ReviewStep.id)
    ).all()
    return [tuple(r) for r in rows] + [(count(Notification), count(AuditEvent))]


def test_a_page_past_a_steps_deadline_writes_nothing_and_the_tick_settles_it(
    world, client, login_as, runner
):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3)]))
    step = plans.steps_of(plan)[0]
    step.due_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    before = _review_state(plan)
    use_english(client)
    login_as(world.users["urban"], world.urban)
    for url in (f"/proposals/{plan.proposal_id}", "/plans"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Overdue" in response.get_data(as_text=True)  # the effective state
    assert client.get("/dashboard?metric=steps_overdue").status_code == 200
    assert client.get("/dashboard/items?metric=steps_overdue").status_code == 200
    db.session.expire_all()
    assert _review_state(plan) == before
    assert step.overdue_notified_at is None
    result = runner.invoke(args=["coord", "tick"])
    assert result.exit_code == 0 and "remind_on_tick: 1" in result.output
    db.session.expire_all()
    assert step.overdue_notified_at is not None
    assert count(Notification) > before[-1][0]
    again = runner.invoke(args=["coord", "tick"])
    assert "remind_on_tick: 0" in again.output


def test_the_plan_page_shows_its_consultations_poll_result(world, client, make_proposal):
    from voting import services as voting

    lift = make_proposal(world.users["rc"], as_=world.committee, title="加装电梯意见征询")
    poll = voting.open_poll(
        world.actor("rc", world.committee),
        {
            "proposal_id": lift.id,
            "title": "加装电梯表决",
            "method": "yes_no",
            "closes_at": utcnow() + timedelta(days=7),
        },
    )
    db.session.commit()
    voting.cast_ballot(world.actor("chen"), poll, "yes")
    db.session.commit()
    plan = new_plan(world, consultation_id=lift.id)
    use_english(client)
    url = f"/proposals/{plan.proposal_id}"
    page = client.get(url).get_data(as_text=True)
    assert "加装电梯意见征询" in page and "加装电梯表决" not in page  # no result while open
    poll.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    voting.close_poll(poll)
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    turnout = poll.result["tally"]["turnout"]
    assert (
        f"Poll “加装电梯表决”: Carried ({turnout['voted']} of {turnout['electorate']} "
        "eligible voters took part)." in page
    )


# -- Pages -----------------------------------------------------------------------------------


def test_the_plan_section_shows_the_rounds_and_the_published_decision(world, client, login_as):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3)]))
    decide(world, plan, "urban", "s1", "changes_requested", "请调整施工时间。")
    revise(world, plan)
    plans.resubmit_plan(world.actor("anju", world.anju), plan)
    db.session.commit()
    decide(world, plan, "urban", "s1", "approved", "已调整，同意。")
    plans.sign_off(world.actor("office", world.office), plan, "approved", "同意实施，注意安全。")
    db.session.commit()
    use_english(client)
    page = client.get(f"/proposals/{plan.proposal_id}").get_data(as_text=True)
    for text in (
        "Round 1",
        "Round 2",
        "请调整施工时间。",
        "已调整，同意。",
        "同意实施，注意安全。",
    ):
        assert text in page
    assert "Decision: Approved" in page
    assert f"/proposals/{plan.proposal_id}/diff?a=1&amp;b=2" in page


def test_the_plan_section_runs_a_fixed_number_of_queries(world, count_queries):
    from proposals.viewer import Viewer

    viewer = Viewer(None, None, frozenset(), False, False, False)
    small = new_plan(world)
    start_review(world, small, route(world, [("urban", 3)]))
    big = new_plan(world, title="第二个方案")
    start_review(world, big, route(world, [("urban", 3)], [("social", 3), ("office", 2)]))
    decide(world, big, "urban", "s1", "changes_requested", "改")
    revise(world, big)
    plans.resubmit_plan(world.actor("anju", world.anju), big)
    decide(world, big, "urban", "s1", "approved", "好")
    db.session.expire_all()
    counts = []
    for plan in (small, big):
        proposal = db.session.get(Proposal, plan.proposal_id)
        with count_queries() as counter:
            plan_part(proposal, viewer)
        counts.append(counter.count)
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("url", "anonymous", "resident", "department", "office"),
    [
        ("/plans", 200, 200, 200, 200),
        ("/plans/new", 302, 302, 302, 302),
        ("/plans/{id}/route", 302, 403, 403, 200),
        ("/plans/{id}/details", 302, 403, 403, 403),
    ],
)
def test_plan_pages_by_role(world, client, login_as, url, anonymous, resident, department, office):
    plan = new_plan(world)
    url = url.format(id=plan.proposal_id)
    assert client.get(url).status_code == anonymous
    login_as(world.users["chen"])
    assert client.get(url).status_code == resident
    login_as(world.users["urban"], world.urban)
    assert client.get(url).status_code == department
    login_as(world.users["office"], world.office)
    assert client.get(url).status_code == office


def test_the_whole_review_through_the_pages(world, client, login_as):
    use_english(client)
    login_as(world.users["anju"], world.anju)
    assert client.get("/plans/new").status_code == 200
    response = client.post(
        "/plans/new",
        data={
            "community_id": world.community.id,
            "title": "楼道照明改造方案",
            "summary": "更换全部楼道灯为声控LED灯。",
            "body": "更换120盏灯。",
            "budget": "36,000",
            "schedule": "两周",
            "attachments": [(io.BytesIO(PDF), "报价单.pdf"), (io.BytesIO(png()), "现场.png")],
            "submit": "1",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422  # "36,000" is not an amount
    assert "amount in yuan" in response.get_data(as_text=True)
    assert count(Proposal) == 0 and count(Attachment) == 0
    response = client.post(
        "/plans/new",
        data={
            "community_id": world.community.id,
            "title": "楼道照明改造方案",
            "summary": "更换全部楼道灯为声控LED灯。",
            "body": "更换120盏灯。",
            "budget": "36000",
            "schedule": "两周",
            "attachments": [(io.BytesIO(PDF), "报价单.pdf"), (io.BytesIO(png()), "现场.png")],
            "submit": "1",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    plan = db.session.scalar(sa.select(Plan))
    pid = plan.proposal_id
    login_as(world.users["office"], world.office)
    data = {
        "steps-0-owner_id": str(world.urban.id),
        "steps-0-group": "1",
        "steps-0-days": "0",
    }
    response = client.post(f"/plans/{pid}/route", data=data)
    assert response.status_code == 422
    assert "at least one working day" in response.get_data(as_text=True)
    data["steps-0-days"] = "3"
    assert client.post(f"/plans/{pid}/route", data=data).status_code == 302
    # A department of another street is refused; the owner decides.
    login_as(world.users["far"], world.far_dept)
    response = client.post(f"/plans/{pid}/steps/s1", data={"decision": "approved", "opinion": "好"})
    assert response.status_code == 403  # it sees the public plan but reviews nothing here
    login_as(world.users["social"], world.social)
    response = client.post(f"/plans/{pid}/steps/s1", data={"decision": "approved", "opinion": "好"})
    assert response.status_code == 403
    login_as(world.users["urban"], world.urban)
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert f'action="/plans/{pid}/steps/s1"' in page
    response = client.post(f"/plans/{pid}/steps/s1", data={"decision": "approved", "opinion": ""})
    assert response.status_code == 302
    assert rows(plan) == [(1, "s1", "pending")]
    client.post(f"/plans/{pid}/steps/s1", data={"decision": "approved", "opinion": "同意。"})
    login_as(world.users["office"], world.office)
    client.post(f"/plans/{pid}/signoff", data={"decision": "approved", "opinion": "同意实施。"})
    db.session.expire_all()
    assert db.session.get(Proposal, pid).status == "approved"
    attachment = db.session.scalars(sa.select(Attachment).order_by(Attachment.id)).first()
    client.get("/")  # forget the session's identity caches
    with client.get(f"/attachments/{attachment.id}") as response:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.get_data() == PDF


def test_attachments_of_a_draft_are_not_served_to_others(world, client, login_as):
    plan = new_plan(world, submit=False, attachments=[plans.Upload("草案.pdf", PDF)])
    attachment = db.session.scalar(sa.select(Attachment))
    assert client.get(f"/attachments/{attachment.id}").status_code == 404
    login_as(world.users["chen"])
    assert client.get(f"/attachments/{attachment.id}").status_code == 404
    login_as(world.users["anju"], world.anju)
    with client.get(f"/attachments/{attachment.id}") as response:
        assert response.status_code == 200
    assert plan.proposal.status == "draft"


def test_versions_are_kept_for_the_diff(world):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3)]))
    decide(world, plan, "urban", "s1", "changes_requested", "请调整")
    revise(world, plan)
    numbers = db.session.scalars(
        sa.select(ProposalVersion.number).where(ProposalVersion.proposal_id == plan.proposal_id)
    ).all()
    assert sorted(numbers) == [1, 2]


def test_a_step_decided_late_stays_marked_late(world, client):
    plan = new_plan(world)
    start_review(world, plan, route(world, [("urban", 3)], [("office", 2)]))
    decide(world, plan, "urban", "s1", "approved", "同意。")
    step = plans.steps_of(plan)[0]
    url = f"/proposals/{plan.proposal_id}"
    use_english(client)
    assert "working days late" not in client.get(url).get_data(as_text=True)
    step.due_at = step.decided_at - timedelta(days=14)
    db.session.commit()
    days = deadlines.workdays_between(step.due_at, step.decided_at)
    page = client.get(url).get_data(as_text=True)
    assert f"done {round(days, 1):g} working days late" in page
