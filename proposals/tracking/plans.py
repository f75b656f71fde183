"""Plan approvals (方案报批): submit, route, review in rounds, sign off, implement.

A plan is a `Proposal` of kind ``plan`` plus its `Plan`. The rules of the review live in
the pure state machine `proposals.tracking.review_route`; this module stores its state as
`ReviewStep` rows (one per step and round, created when the step's group becomes active)
and rebuilds the `RouteState` from them by replaying the decisions (`state_of`).

- The submitting organisation (a residents committee, property manager, owners committee
  or social organisation) files the plan to its street office.
- The street office sets the route — groups of parallel steps owned by itself or its
  departments, each due a number of working days after its group became active — and
  starts the review.
- A step's owner approves, asks for changes or rejects, always with an opinion. Changes
  send the plan back; the author edits it (a new version) and resubmits; the next round
  starts at the group that asked. A rejection ends the review.
- When all groups approved, the street office signs off (approve or reject, with an
  opinion); an approved plan moves on to ``implementing`` with milestones.

Lifecycle moves made elsewhere (the proposal page's buttons, the JSON API) are kept in
step by `on_transitioned`, which refuses those that would bypass the review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from coord import audit, uploads
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import Community
from coord.notifications import N_, Note, notify, register_kind
from proposals import permissions as perm
from proposals import services
from proposals.models import Milestone, MilestoneUpdate, Proposal, Visibility
from proposals.notify import proposal_url, recipients
from proposals.tracking import review_route as rr
from proposals.tracking.deadlines import CalendarUnknown, add_workdays, local_tz
from proposals.tracking.models import Plan, ReviewStep
from proposals.tracking.permissions import (
    acts_for,
    can_submit_plans,
    is_plan_street_office,
    plan_of,
    reviewers_of,
    street_office_of,
)
from proposals.tracking.requests import Upload, member_user_ids, store_attachment
from stakeholders.acting import Actor

ATTACHMENT_TYPES = frozenset({uploads.PDF, uploads.PNG, uploads.JPEG})
MAX_ATTACHMENTS = 10
MAX_STEPS = 12
MAX_DUE_WORKDAYS = 60
BUDGET_MAX = Decimal("999999999999.99")
OPINION_MAX = 2000

MILESTONE_STATES: dict[str, str] = {
    "scheduled": N_("Scheduled"),
    "met": N_("Met"),
    "not_met": N_("Not met"),
    "partially_met": N_("Partially met"),
}

REVIEW = "plan_review"
register_kind(REVIEW, N_("Plan review steps for my organisation"))
MESSAGES = {
    "step": N_("The plan “%(title)s” waits for your review (due %(due)s)."),
    "due_soon": N_("The review of “%(title)s” by %(owner)s is due %(due)s."),
    "overdue": N_("The review of “%(title)s” by %(owner)s is overdue (due %(due)s)."),
    "signoff": N_("Every reviewer approved “%(title)s”: it waits for your sign-off."),
}

#: Consultation result providers: voting registers one (`voting.plan_results`) so that a
#: plan's page shows its consultation's poll result without proposals importing voting.
#: Each returns a short text or None.
_consultation_results: list[Callable[[Proposal], str | None]] = []


def add_consultation_result(provider: Callable[[Proposal], str | None]) -> None:
    """Register `provider(consultation) -> str | None` (a poll result summary)."""
    if provider not in _consultation_results:
        _consultation_results.append(provider)


def consultation_result(consultation: Proposal) -> str | None:
    """Return a registered summary of the consultation's poll result, if any."""
    for provider in _consultation_results:
        rv = provider(consultation)
        if rv:
            return rv
    return None


# -- The route and its stored state ------------------------------------------------------------


def route_of(plan: Plan) -> rr.Route:
    """Return the plan's review route as the pure state machine's value."""
    return rr.Route(
        tuple(
            tuple(rr.Step(s["id"], s["owner_id"], s["due_workdays"]) for s in group)
            for group in plan.route
        )
    )


def steps_of(plan: Plan) -> list[ReviewStep]:
    """Return every stored review step of a plan, by round and route order."""
    return list(
        db.session.scalars(
            sa.select(ReviewStep)
            .options(sa.orm.joinedload(ReviewStep.owner))
            .where(ReviewStep.plan_id == plan.id)
            .order_by(ReviewStep.round, ReviewStep.group_index, ReviewStep.id)
        )
    )


def state_of(plan: Plan, rows: Iterable[ReviewStep] | None = None) -> rr.RouteState:
    """Rebuild the review state by replaying the stored decisions, round after round."""
    route = route_of(plan)
    rows = steps_of(plan) if rows is None else list(rows)
    state = rr.start(route)
    for number in range(1, plan.round + 1):
        if number > 1:
            state = rr.resubmit(route, state)
        decided = sorted(
            (r for r in rows if r.round == number and r.decision in rr.DECISIONS),
            key=lambda r: (r.group_index, r.decided_at or utcnow(), r.id),
        )
        for row in decided:
            state = rr.decide(route, state, row.step_key, row.decision, row.opinion)
    if state.outcome == rr.APPROVED_PENDING_SIGNOFF and plan.decided_at is not None:
        approved = plan.proposal.status in ("approved", "implementing", "closed")
        state = rr.sign_off(
            route, state, rr.APPROVED if approved else rr.REJECTED, plan.signoff_opinion
        )
    return state


def _route_error(exc: rr.RouteError) -> DomainError:
    message = _(exc.message) % exc.params
    if exc.code == "opinion_required":
        return DomainError(message, field="opinion")
    if exc.code in ("unknown_step", "unknown_decision"):
        return DomainError(message)
    return Conflict(message)


def _activate(plan: Plan, group_index: int, now: datetime, actor: Actor | None) -> None:
    """Open the steps of a group in the current round; tell their owners."""
    route = route_of(plan)
    proposal = plan.proposal
    rows = []
    for step in route.groups[group_index]:
        row = ReviewStep(
            plan_id=plan.id,
            round=plan.round,
            group_index=group_index,
            step_key=step.id,
            owner_id=step.owner,
            decision=rr.PENDING,
            version=proposal.version,
            activated_at=now,
            due_at=add_workdays(now, step.due_workdays),
        )
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    for row in rows:
        due = row.due_at.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M")
        users = recipients(
            proposal, followers=False, user_ids=member_user_ids(row.owner_id), actor=actor
        )
        notify(
            Note(
                user,
                REVIEW,
                MESSAGES["step"],
                {"title": proposal.title, "due": due},
                proposal_url(proposal.id, "review"),
            )
            for user in users
        )


def _current_rows(plan: Plan) -> list[ReviewStep]:
    return list(
        db.session.scalars(
            sa.select(ReviewStep).where(
                ReviewStep.plan_id == plan.id, ReviewStep.round == plan.round
            )
        )
    )


# -- Submitting --------------------------------------------------------------------------------


def _budget(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        rv = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(_("Give the budget as an amount in yuan."), field="budget") from exc
    if rv < 0 or rv > BUDGET_MAX or not rv.is_finite():
        raise DomainError(_("Give the budget as an amount in yuan."), field="budget")
    return rv


def _consultation(community_id: int, consultation_id: int | None) -> int | None:
    if not consultation_id:
        return None
    consultation = db.session.get(Proposal, consultation_id)
    if (
        consultation is None
        or consultation.kind != "consultation"
        or consultation.community_id != community_id
        or consultation.published_at is None
        or consultation.visibility != Visibility.PUBLIC
    ):
        raise DomainError(
            _("Choose a public consultation of the same community."), field="consultation_id"
        )
    return consultation.id


def create_plan(actor: Actor, data: dict[str, Any]) -> Plan:
    """Create a plan (a draft, submitted at once if asked) with its attachments."""
    if not can_submit_plans(actor):
        raise NotAllowed(
            _("Act as an organisation (not the street office) to submit a plan for approval.")
        )
    community = db.session.get(Community, data.get("community_id") or 0)
    if community is None:
        raise DomainError(_("Choose a community."), field="community_id")
    org = actor.stakeholder
    if (org.community_id is not None and org.community_id != community.id) or (
        org.community_id is None and org.street_id not in (None, community.street_id)
    ):
        raise DomainError(
            _("%(org)s does not work in this community.", org=org.name), field="community_id"
        )
    office = street_office_of(community.street_id)
    if office is None:
        raise DomainError(_("This community's street has no street office on Coord yet."))
    budget = _budget(data.get("budget"))
    consultation_id = _consultation(community.id, data.get("consultation_id"))
    files = list(data.get("attachments") or ())
    if len(files) > MAX_ATTACHMENTS:
        raise DomainError(_("Attach at most %(n)d files.", n=MAX_ATTACHMENTS), field="attachments")
    proposal = services.create_proposal(
        actor,
        {
            "kind": "plan",
            "community_id": community.id,
            "title": data["title"],
            "summary": data["summary"],
            "body": data.get("body") or "",
            "category": data.get("category") or "",
            "visibility": Visibility.PUBLIC.value,
        },
    )
    plan = Plan(
        proposal_id=proposal.id,
        street_office_id=office.id,
        budget=budget,
        schedule=(data.get("schedule") or "").strip()[:2000],
        consultation_id=consultation_id,
        route=[],
        round=0,
    )
    plan.proposal = proposal
    db.session.add(plan)
    db.session.flush()
    for upload in files:
        store_attachment(actor, proposal, "plan", upload, ATTACHMENT_TYPES)
    if data.get("submit"):
        submit_plan(actor, plan)
    return plan


def edit_plan_details(actor: Actor, plan: Plan, data: dict[str, Any]) -> None:
    """Change the budget, schedule or consultation while the author may edit the plan."""
    proposal = plan.proposal
    if not perm.can_edit(actor.user, actor.stakeholder.id, proposal):
        raise NotAllowed(_("Only the author can edit this plan now."))
    plan.budget = _budget(data.get("budget"))
    plan.schedule = (data.get("schedule") or "").strip()[:2000]
    plan.consultation_id = _consultation(proposal.community_id, data.get("consultation_id"))
    services.touch(proposal)


def attach_file(actor: Actor, plan: Plan, upload: Upload, purpose: str = "plan") -> Any:
    """Add a document or picture to a plan (its author, while editable or implementing)."""
    proposal = plan.proposal
    if not perm.is_author(actor.user, actor.stakeholder.id, proposal):
        raise NotAllowed(_("Only the plan's author can attach files."))
    if not (perm.can_edit(actor.user, actor.stakeholder.id, proposal) or purpose == "milestone"):
        raise Conflict(_("Files can be attached while the plan can be edited."))
    rv = store_attachment(actor, proposal, purpose, upload, ATTACHMENT_TYPES)
    audit.record(
        "plan.attach",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=True,
        data={"attachment_id": rv.id},
        **actor.audit_ids,
    )
    return rv


def submit_plan(actor: Actor, plan: Plan) -> None:
    """Submit a draft plan to the street office."""
    services.publish_proposal(actor, plan.proposal)


# -- Reviewing ---------------------------------------------------------------------------------


def parse_route(rows: Iterable[tuple[Any, Any, Any]]) -> list[list[dict[str, Any]]]:
    """Turn (owner id, group number, due working days) rows into route groups.

    Rows without an owner are ignored; equal group numbers review in parallel; groups run
    in ascending order.
    """
    groups: dict[int, list[dict[str, Any]]] = {}
    count = 0
    for owner_id, group, days in rows:
        if not owner_id:
            continue
        count += 1
        if not isinstance(group, int) or not 1 <= group <= MAX_STEPS:
            raise DomainError(
                _("Give each step a group number from 1 to %(n)d.", n=MAX_STEPS), field="steps"
            )
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise DomainError(
                _("A step must be due at least one working day after it starts."), field="steps"
            )
        if days > MAX_DUE_WORKDAYS:
            raise DomainError(
                _("A step may take at most %(n)d working days.", n=MAX_DUE_WORKDAYS),
                field="steps",
            )
        groups.setdefault(group, []).append(
            {"id": f"s{count}", "owner_id": int(owner_id), "due_workdays": days}
        )
    if not groups:
        raise DomainError(_("Add at least one review step."), field="steps")
    if count > MAX_STEPS:
        raise DomainError(_("Use at most %(n)d steps.", n=MAX_STEPS), field="steps")
    return [groups[k] for k in sorted(groups)]


def set_route(
    actor: Actor, plan: Plan, groups: list[list[dict[str, Any]]], *, start: bool = True
) -> None:
    """The street office sets who reviews the plan, in which order and how fast."""
    proposal = plan.proposal
    if not is_plan_street_office(actor.user, plan):
        raise NotAllowed(_("Only the street office sets the review route."))
    if proposal.status != "submitted":
        raise Conflict(_("The route can be set only before the review starts."))
    allowed = {s.id for s in reviewers_of(proposal.community.street_id)}
    for group in groups:
        for step in group:
            if step["owner_id"] not in allowed:
                raise DomainError(
                    _("Each step belongs to the street office or one of its departments."),
                    field="steps",
                )
    try:
        route = rr.Route(
            tuple(
                tuple(rr.Step(s["id"], s["owner_id"], s["due_workdays"]) for s in g) for g in groups
            )
        )
    except ValueError as exc:
        raise DomainError(_("This review route is not valid."), field="steps") from exc
    plan.route = [
        [{"id": s.id, "owner_id": s.owner, "due_workdays": s.due_workdays} for s in group]
        for group in route.groups
    ]
    audit.record(
        "plan.set_route",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=True,
        data={"steps": len(route.steps), "groups": len(route.groups)},
        **actor.audit_ids,
    )
    if start:
        services.transition_proposal(actor, proposal, "start_review")


def decide_step(actor: Actor, plan: Plan, step_key: str, decision: str, opinion: str) -> None:
    """A step's owner approves, asks for changes or rejects — always with an opinion."""
    proposal = plan.proposal
    route = route_of(plan) if plan.route else None
    step = next((s for s in route.steps if s.id == step_key), None) if route else None
    if step is None:
        raise DomainError(_("There is no such review step."), status=404)
    if not acts_for(actor.user, actor.stakeholder.id, step.owner):
        raise NotAllowed(_("Only the owner of this step can decide it."))
    if proposal.status != "under_review":
        raise Conflict(_("The plan is not under review now."))
    opinion = (opinion or "").strip()
    if len(opinion) > OPINION_MAX:
        raise DomainError(_("Write at most %(n)d characters.", n=OPINION_MAX), field="opinion")
    rows = _current_rows(plan)
    before = state_of(plan)
    try:
        after = rr.decide(route, before, step_key, decision, opinion)
    except rr.RouteError as exc:
        raise _route_error(exc) from exc
    now = utcnow()
    by_key = {r.step_key: r for r in rows}
    for d in after.decisions:
        row = by_key.get(d.step_id)
        if row is None or row.decision != rr.PENDING or d.decision == rr.PENDING:
            continue
        row.decision, row.opinion = d.decision, d.opinion
        if d.step_id == step_key:
            row.decided_at, row.decided_by_id = now, actor.user.id
        else:
            row.decided_at = now
    audit.record(
        "plan.decide_step",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=True,
        data={"step": step_key, "round": plan.round, "decision": decision},
        **actor.audit_ids,
    )
    db.session.flush()
    if after.outcome == rr.IN_PROGRESS and after.group != before.group:
        _activate(plan, after.group, now, actor)
    elif after.outcome == rr.CHANGES_REQUESTED:
        services.transition_proposal(actor, proposal, "request_changes", opinion)
    elif after.outcome == rr.REJECTED:
        services.transition_proposal(actor, proposal, "reject", opinion)
    else:
        services.touch(proposal)
        if after.outcome == rr.APPROVED_PENDING_SIGNOFF:
            users = recipients(
                proposal,
                followers=False,
                user_ids=member_user_ids(plan.street_office_id),
                actor=actor,
            )
            url = proposal_url(proposal.id, "signoff")
            message = MESSAGES["signoff"]
            notify(Note(u, REVIEW, message, {"title": proposal.title}, url) for u in users)


def resubmit_plan(actor: Actor, plan: Plan) -> None:
    """The author sends the revised plan back; the review resumes where it stopped."""
    services.transition_proposal(actor, plan.proposal, "resubmit")


def sign_off(actor: Actor, plan: Plan, decision: str, opinion: str) -> None:
    """The street office's final decision, published with every step's opinion."""
    proposal = plan.proposal
    if not is_plan_street_office(actor.user, plan):
        raise NotAllowed(_("Only the street office signs off a plan."))
    if proposal.status != "under_review":
        raise Conflict(_("The plan is not under review now."))
    opinion = (opinion or "").strip()
    if len(opinion) > OPINION_MAX:
        raise DomainError(_("Write at most %(n)d characters.", n=OPINION_MAX), field="opinion")
    try:
        rr.sign_off(route_of(plan), state_of(plan), decision, opinion)
    except rr.RouteError as exc:
        raise _route_error(exc) from exc
    plan.decided_at = utcnow()
    plan.signoff_opinion = opinion
    audit.record(
        "plan.sign_off",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=True,
        data={"decision": decision},
        **actor.audit_ids,
    )
    if decision == rr.APPROVED:
        services.transition_proposal(actor, proposal, "approve", opinion)
    else:
        services.transition_proposal(actor, proposal, "reject", opinion)


def reviewed_version(plan: Plan) -> int | None:
    """Return the version the last request for changes was about."""
    return db.session.scalar(
        sa.select(ReviewStep.version)
        .where(ReviewStep.plan_id == plan.id, ReviewStep.decision == rr.CHANGES_REQUESTED)
        .order_by(ReviewStep.round.desc())
        .limit(1)
    )


def on_published(proposal: Proposal, **extra: Any) -> None:
    if proposal.kind == "plan":
        plan = plan_of(proposal.id)
        if plan is not None and plan.submitted_at is None:
            plan.submitted_at = utcnow()


def on_transitioned(
    proposal: Proposal, actor: Actor | None = None, action: str = "", **extra: Any
) -> None:
    """Keep the review in step with the plan's lifecycle; refuse moves that bypass it."""
    if proposal.kind != "plan":
        return
    plan = plan_of(proposal.id)
    if plan is None:
        return
    now = utcnow()
    if action == "start_review":
        if not plan.route:
            raise DomainError(_("Set the review route first."), status=409)
        plan.round = 1
        _activate(plan, 0, now, actor)
    elif action == "request_changes":
        if not any(r.decision == rr.CHANGES_REQUESTED for r in _current_rows(plan)):
            raise DomainError(
                _("Decide your review step, with your opinion, in the review section."),
                status=409,
            )
    elif action == "reject":
        if plan.decided_at is None and not any(
            r.decision == rr.REJECTED for r in _current_rows(plan)
        ):
            raise DomainError(
                _("Decide your review step, with your opinion, in the review section."),
                status=409,
            )
        plan.decided_at = plan.decided_at or now
    elif action == "approve":
        if plan.decided_at is None:
            raise DomainError(_("Sign off in the review section, with your opinion."), status=409)
    elif action == "resubmit":
        reviewed = reviewed_version(plan) or 0
        if proposal.version <= reviewed:
            raise DomainError(
                _("Revise the plan (edit its text) before resubmitting it."), status=409
            )
        state = rr.resubmit(route_of(plan), state_of(plan))
        plan.round += 1
        _activate(plan, state.group, now, actor)
    elif action == "close" and actor is not None:
        if not (
            perm.is_author(actor.user, actor.stakeholder.id, proposal)
            or is_plan_street_office(actor.user, plan)
        ):
            raise NotAllowed(_("Only the plan's author or the street office closes it."))
    elif action == "withdraw":
        for row in _current_rows(plan):
            if row.decision == rr.PENDING:
                row.decision, row.decided_at = rr.NOT_NEEDED, now


# -- Implementation: milestones ----------------------------------------------------------------


def _local_date_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=local_tz()).astimezone(UTC)


def add_milestone(actor: Actor, plan: Plan, title: str, due_on: date | None) -> Milestone:
    """The author plans a milestone of an approved plan (its due date not in the past)."""
    proposal = plan.proposal
    if not perm.is_author(actor.user, actor.stakeholder.id, proposal):
        raise NotAllowed(_("Only the plan's author adds milestones."))
    if proposal.status not in ("approved", "implementing"):
        raise Conflict(_("Milestones are added once the plan is approved."))
    title = (title or "").strip()
    if not title:
        raise DomainError(_("Name the milestone."), field="title")
    if due_on is None:
        raise DomainError(_("Give a due date."), field="due_on")
    if due_on < utcnow().astimezone(local_tz()).date():
        raise DomainError(_("The due date cannot be in the past."), field="due_on")
    rv = Milestone(proposal_id=proposal.id, title=title[:120], due_on=_local_date_start(due_on))
    db.session.add(rv)
    db.session.flush()
    audit.record(
        "milestone.add",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=True,
        data={"milestone_id": rv.id},
        **actor.audit_ids,
    )
    services.touch(proposal)
    return rv


def update_milestone(
    actor: Actor, milestone: Milestone, status: str, text: str, evidence: Upload | None = None
) -> MilestoneUpdate:
    """The author reports progress on a milestone, with its status and optional evidence."""
    proposal = db.session.get(Proposal, milestone.proposal_id)
    if not perm.is_author(actor.user, actor.stakeholder.id, proposal):
        raise NotAllowed(_("Only the plan's author reports on milestones."))
    if proposal.status != "implementing":
        raise Conflict(_("Progress is reported while the plan is being implemented."))
    if status not in MILESTONE_STATES:
        raise DomainError(_("Choose a status."), field="status")
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Describe the progress."), field="text")
    attachment = None
    if evidence is not None:
        attachment = store_attachment(actor, proposal, "milestone", evidence, ATTACHMENT_TYPES)
    milestone.status = status
    rv = MilestoneUpdate(
        milestone_id=milestone.id,
        text=text[:2000],
        status=status,
        attachment_id=attachment.id if attachment else None,
        user_id=actor.user.id,
        actor_id=actor.stakeholder.id,
    )
    db.session.add(rv)
    db.session.flush()
    audit.record(
        "milestone.update",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=True,
        data={"milestone_id": milestone.id, "status": status},
        **actor.audit_ids,
    )
    services.touch(proposal)
    return rv


def comment_on_milestone(actor: Actor, milestone: Milestone, text: str) -> MilestoneUpdate:
    """Anyone who may take part comments on a milestone's progress (no status change)."""
    proposal = db.session.get(Proposal, milestone.proposal_id)
    if proposal.status != "implementing" or not perm.can_view(actor.user, proposal):
        raise Conflict(_("Comments on progress are open while the plan is being implemented."))
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write your comment."), field="text")
    rv = MilestoneUpdate(
        milestone_id=milestone.id,
        text=text[:1000],
        status=None,
        user_id=actor.user.id,
        actor_id=actor.stakeholder.id,
    )
    db.session.add(rv)
    db.session.flush()
    services.touch(proposal)
    return rv


# -- Reminders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderCounts:
    """What `send_reminders` did."""

    due_soon: int
    overdue: int


def send_reminders(now: datetime | None = None) -> ReminderCounts:
    """Notify owners and the street office of steps due within a working day or overdue.

    Idempotent: a step is reminded once (`reminded_at`) and flagged overdue once
    (`overdue_notified_at`).
    """
    now = now or utcnow()
    try:
        horizon = add_workdays(now, 1)
    except CalendarUnknown:  # the dashboard warns; meanwhile remind a calendar day ahead
        horizon = now + timedelta(days=1)
    rows = db.session.execute(
        sa.select(ReviewStep, Plan, Proposal)
        .join(Plan, Plan.id == ReviewStep.plan_id)
        .join(Proposal, Proposal.id == Plan.proposal_id)
        .where(
            ReviewStep.decision == rr.PENDING,
            Proposal.status == "under_review",
            ReviewStep.due_at.is_not(None),
            sa.or_(
                sa.and_(ReviewStep.due_at <= now, ReviewStep.overdue_notified_at.is_(None)),
                sa.and_(
                    ReviewStep.due_at > now,
                    ReviewStep.due_at <= horizon,
                    ReviewStep.reminded_at.is_(None),
                ),
            ),
        )
        .order_by(ReviewStep.id)
    ).all()
    soon = late = 0
    tz = local_tz()
    for step, plan, proposal in rows:
        overdue = step.due_at <= now
        users = recipients(
            proposal,
            followers=False,
            user_ids=[*member_user_ids(step.owner_id), *member_user_ids(plan.street_office_id)],
        )
        params = {
            "title": proposal.title,
            "owner": step.owner.name,
            "due": step.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        }
        message = MESSAGES["overdue" if overdue else "due_soon"]
        url = proposal_url(proposal.id, "review")
        notify(Note(user, REVIEW, message, params, url) for user in users)
        if overdue:
            step.overdue_notified_at = now
            step.reminded_at = step.reminded_at or now
            late += 1
        else:
            step.reminded_at = now
            soon += 1
    db.session.flush()
    return ReminderCounts(soon, late)


def remind_on_tick(now: datetime) -> int:
    """Send the reminders due at `now` (the scheduler's tick); return how many steps changed."""
    counts = send_reminders(now)
    return counts.due_soon + counts.overdue
