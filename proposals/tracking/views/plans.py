"""Plan approvals: the list, the forms, the plan section of the proposal page and the
review's actions (route, decisions, sign-off), attachments and milestones."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from coord.db import db, utcnow
from coord.models import Community
from coord.permissions import require
from coord.web import form_status, int_arg, run
from proposals import lifecycle, services
from proposals import permissions as perm
from proposals.models import Proposal
from proposals.queries import Filters, proposal_list
from proposals.tracking import plans, queries
from proposals.tracking import review_route as rr
from proposals.tracking.forms import (
    AttachmentForm,
    DecisionForm,
    MilestoneCommentForm,
    MilestoneForm,
    MilestoneUpdateForm,
    MoveForm,
    PlanDetailsForm,
    PlanForm,
    RouteForm,
    SignOffForm,
)
from proposals.tracking.models import Plan, ReviewStep
from proposals.tracking.permissions import (
    acts_for,
    can_submit_plans,
    is_plan_street_office,
    plan_of,
    reviewers_of,
)
from proposals.tracking.views.common import (
    bp,
    on_field,
    page_url,
    refuse_unless,
    run_form,
    state_after,
    uploaded_files,
)
from proposals.viewer import Viewer
from stakeholders import acting
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

#: Plan moves the plan section offers (the review has its own forms).
PLAN_MOVES = ("submit", "implement", "close")


# -- The plan section of the proposal page -----------------------------------------------------


def plan_part(proposal: Proposal, viewer: Viewer) -> dict[str, Any] | None:
    """Context of the plan section: details, review rounds, decision and milestones."""
    if proposal.kind != "plan":
        return None
    plan = plan_of(proposal.id)
    if plan is None:
        return None
    author = "author" in viewer.roles
    status = proposal.status
    attachments = queries.attachments_of(proposal.id)
    log = queries.milestone_log(proposal.id)
    return {
        "plan": plan,
        **_review(plan, proposal, viewer),
        "is_author": author,
        "moves": [
            t.action
            for t in lifecycle.allowed_actions("plan", status, viewer.roles)
            if t.action in PLAN_MOVES
        ],
        "can_edit_details": viewer.can_edit,
        "can_resubmit": author and status == "changes_requested",
        "reviewed_version": plans.reviewed_version(plan) if plan.round else None,
        "attachments": [a for a in attachments if a.purpose == "plan"],
        "attachment_by_id": {a.id: a for a in attachments},
        **_consultation(plan, viewer),
        "milestones": log.milestones,
        "updates": log.updates,
        "update_names": log.names,
        "can_add_milestone": author and status in ("approved", "implementing"),
        "can_report": author and status == "implementing",
        "can_comment": viewer.user is not None and status == "implementing",
        "milestone_states": plans.MILESTONE_STATES,
        "decided": status in ("approved", "implementing", "closed", "rejected")
        and plan.decided_at is not None,
        "now": utcnow(),
    }


def _review(plan: Plan, proposal: Proposal, viewer: Viewer) -> dict[str, Any]:
    """The review: its rounds, the steps still to come, and the viewer's part in it."""
    user, actor_id = viewer.user, viewer.actor.stakeholder.id if viewer.actor else None
    rows = plans.steps_of(plan)
    state = plans.state_of(plan, rows) if plan.route else None
    route_names = queries.stakeholders_by_id(
        {s["owner_id"] for g in plan.route for s in g} | {plan.street_office_id}
    )
    rounds: dict[int, list[ReviewStep]] = {}
    for row in rows:
        rounds.setdefault(row.round, []).append(row)
    under_review = proposal.status == "under_review"
    is_office = user is not None and is_plan_street_office(user, plan)
    awaiting_signoff = (
        state is not None and state.outcome == rr.APPROVED_PENDING_SIGNOFF and under_review
    )
    can_route = is_office and proposal.status == "submitted"
    return {
        "state": state,
        "rounds": sorted(rounds.items()),
        "waiting": _steps_to_come(plan, state, rounds, under_review),
        "route_names": route_names,
        "office": route_names.get(plan.street_office_id),
        "is_office": is_office,
        "can_route": can_route,
        "reviewers": reviewers_of(proposal.community.street_id) if can_route else [],
        "awaiting_signoff": awaiting_signoff,
        "can_signoff": is_office and awaiting_signoff,
        "my_steps": [
            r
            for r in rounds.get(plan.round, [])
            if r.decision == rr.PENDING and under_review and acts_for(user, actor_id, r.owner_id)
        ],
    }


def _steps_to_come(
    plan: Plan,
    state: rr.RouteState | None,
    rounds: dict[int, list[ReviewStep]],
    under_review: bool,
) -> list[tuple[int, dict[str, Any]]]:
    """The (group, step) pairs of the route whose group has not started in this round."""
    if state is None or state.outcome != rr.IN_PROGRESS or not under_review:
        return []
    last_active = max((r.group_index for r in rounds.get(plan.round, [])), default=-1)
    return [
        (index, step)
        for index, group in enumerate(plan.route)
        if index > last_active
        for step in group
    ]


def _consultation(plan: Plan, viewer: Viewer) -> dict[str, Any]:
    """The linked consultation, if the viewer may see it, and its poll's result."""
    consultation = db.session.get(Proposal, plan.consultation_id) if plan.consultation_id else None
    if consultation is None or not perm.can_view(viewer.user, consultation):
        return {"consultation": None, "consultation_result": None}
    return {
        "consultation": consultation,
        "consultation_result": plans.consultation_result(consultation),
    }


# -- The list and the forms --------------------------------------------------------------------


def _planned(proposal_id: int) -> tuple[Plan, Actor]:
    """The plan (404 unless visible) and the current actor (401 when signed out)."""
    return queries.visible_plan(proposal_id, current_user), acting.require_actor()


@bp.get("/plans")
def plan_index():
    """Plans: those waiting for the viewer's review or route, then every visible plan."""
    actor = acting.current_actor()
    page = db.paginate(
        proposal_list(current_user, Filters(kind="plan", sort="newest")),
        per_page=20,
        error_out=False,
    )
    return render_template(
        "tracking/plans.html",
        page=page,
        my_steps=queries.steps_waiting_for(actor.stakeholder.id) if actor else [],
        can_submit=can_submit_plans(actor),
        now=utcnow(),
    )


def _consultation_choices(community_ids: list[int]) -> list[SelectChoice]:
    return [SelectChoice("", _("None"))] + [
        SelectChoice(p.id, f"{p.title} ({_(lifecycle.STATE_LABELS.get(p.status, p.status))})")
        for p in queries.linkable_consultations(community_ids)
    ]


def _communities_of(org: Stakeholder) -> list[Community]:
    """The communities an organisation works in (all of its street's, or its own)."""
    return [
        c
        for c in queries.all_communities()
        if (org.community_id is None and org.street_id in (None, c.street_id))
        or org.community_id == c.id
    ]


def _plan_data(form: PlanForm) -> dict[str, Any]:
    return {
        "community_id": form.community_id.data,
        "title": form.title.data,
        "summary": form.summary.data,
        "body": form.body.data or "",
        "budget": form.budget.data,
        "schedule": form.schedule.data,
        "consultation_id": form.consultation_id.data,
        "attachments": uploaded_files("attachments"),
        "submit": bool(form.submit.data),
    }


@bp.route("/plans/new", methods=["GET", "POST"])
@login_required
def plan_create():
    actor = acting.require_actor()
    if not can_submit_plans(actor):
        flash(
            _("Act as an organisation (not the street office) to submit a plan for approval."),
            "error",
        )
        return redirect(url_for(".plan_index"))
    form = PlanForm()
    communities = _communities_of(actor.stakeholder)
    form.community_id.choices = [SelectChoice(c.id, c.name) for c in communities]
    form.consultation_id.choices = _consultation_choices([c.id for c in communities])
    if request.method == "GET" and int_arg("community"):
        form.community_id.data = int_arg("community")
    if form.validate_on_submit():
        data = _plan_data(form)
        done = run(
            on_field("attachments", lambda: plans.create_plan(actor, data), instead_of="file"),
            _("The plan was submitted to the street office.")
            if data["submit"]
            else _("The draft was saved."),
            lambda plan: page_url(plan.proposal_id, "plan"),
            form=form,
        )
        if done is not None:
            return done
    return render_template("tracking/plan_form.html", form=form), form_status(form)


@bp.route("/plans/<int:proposal_id>/details", methods=["GET", "POST"])
@login_required
def plan_details(proposal_id: int):
    plan, actor = _planned(proposal_id)
    proposal = plan.proposal
    require(perm.can_edit(current_user, actor.stakeholder.id, proposal))
    form = PlanDetailsForm()
    form.consultation_id.choices = _consultation_choices([proposal.community_id])
    if request.method == "GET":
        form.budget.data = str(plan.budget) if plan.budget is not None else ""
        form.schedule.data = plan.schedule
        form.consultation_id.data = plan.consultation_id
    if form.validate_on_submit():
        data = {
            "budget": form.budget.data,
            "schedule": form.schedule.data,
            "consultation_id": form.consultation_id.data,
        }
        done = run(
            lambda: plans.edit_plan_details(actor, plan, data),
            _("The plan's details were saved."),
            page_url(proposal.id, "plan"),
            form=form,
        )
        if done is not None:
            return done
    return render_template("tracking/plan_details.html", form=form, proposal=proposal), form_status(
        form
    )


@bp.post("/plans/<int:proposal_id>/attachments")
@login_required
def plan_attach(proposal_id: int):
    plan, actor = _planned(proposal_id)
    require(perm.is_author(current_user, actor.stakeholder.id, plan.proposal))
    files = uploaded_files("file")
    return run_form(
        AttachmentForm(),
        lambda: [plans.attach_file(actor, plan, f) for f in files[: plans.MAX_ATTACHMENTS]],
        _("The file was attached."),
        page_url(proposal_id, "plan"),
        ok=bool(files),
        message=_("Choose a file."),
    )


# -- The review --------------------------------------------------------------------------------


def _route_form(plan: Plan, reviewers: list[Stakeholder]) -> RouteForm:
    """The route form: the reviewers to choose from, and on GET the route set so far."""
    form = RouteForm()
    choices = [SelectChoice("", "—")] + [SelectChoice(s.id, s.name) for s in reviewers]
    for i, entry in enumerate(form.steps):
        entry.form.owner_id.choices = choices
        if request.method == "GET":
            entry.form.group.data = i + 1
            entry.form.days.data = 5
    if request.method == "GET" and plan.route:
        steps = [(index, step) for index, group in enumerate(plan.route) for step in group]
        for entry, (index, step) in zip(form.steps, steps, strict=False):
            entry.form.owner_id.data = step["owner_id"]
            entry.form.group.data = index + 1
            entry.form.days.data = step["due_workdays"]
    return form


def _set_route(actor: Actor, plan: Plan, form: RouteForm) -> None:
    groups = plans.parse_route(
        (e.form.owner_id.data, e.form.group.data, e.form.days.data) for e in form.steps
    )
    plans.set_route(actor, plan, groups)


@bp.route("/plans/<int:proposal_id>/route", methods=["GET", "POST"])
@login_required
def plan_route(proposal_id: int):
    plan, actor = _planned(proposal_id)
    require(is_plan_street_office(current_user, plan))
    proposal = plan.proposal
    form = _route_form(plan, reviewers_of(proposal.community.street_id))
    if form.validate_on_submit():
        done = run(
            on_field("steps", lambda: _set_route(actor, plan, form)),
            _("The review has started."),
            page_url(proposal.id, "review"),
            form=form,
        )
        if done is not None:
            return done
    if proposal.status != "submitted" and request.method == "GET":
        flash(_("The route can be set only before the review starts."), "error")
        return redirect(page_url(proposal.id, "review"))
    return render_template(
        "tracking/route_form.html", form=form, proposal=proposal, plan=plan
    ), form_status(form)


def _decision(form: DecisionForm | SignOffForm) -> str:
    """The decision chosen on the form (refused when none is)."""
    refuse_unless(form.decision.data, _("Choose a decision."))
    return form.decision.data


@bp.post("/plans/<int:proposal_id>/steps/<step_key>")
@login_required
def plan_decide(proposal_id: int, step_key: str):
    plan, actor = _planned(proposal_id)
    form = DecisionForm()
    return run_form(
        form,
        lambda: plans.decide_step(
            actor, plan, step_key[:40], _decision(form), form.opinion.data or ""
        ),
        _("Your decision was recorded."),
        page_url(proposal_id, "review"),
    )


def _move_plan(actor: Actor, plan: Plan, action: str) -> None:
    if action == "submit":
        plans.submit_plan(actor, plan)
    else:
        services.transition_proposal(actor, plan.proposal, action)


@bp.post("/plans/<int:proposal_id>/move")
@login_required
def plan_move(proposal_id: int):
    """Submit a draft, start implementing an approved plan, or close it."""
    plan, actor = _planned(proposal_id)
    form = MoveForm()
    action = form.action.data
    state = state_after("plan", plan.proposal.status, action)
    return run_form(
        form,
        lambda: _move_plan(actor, plan, action),
        _("The proposal is now: %(state)s.", state=state),
        page_url(proposal_id, "plan"),
        ok=action in PLAN_MOVES,
    )


@bp.post("/plans/<int:proposal_id>/resubmit")
@login_required
def plan_resubmit(proposal_id: int):
    plan, actor = _planned(proposal_id)
    return run(
        lambda: plans.resubmit_plan(actor, plan),
        _("The revised plan was resubmitted; the review resumes."),
        page_url(proposal_id, "review"),
    )


@bp.post("/plans/<int:proposal_id>/signoff")
@login_required
def plan_signoff(proposal_id: int):
    plan, actor = _planned(proposal_id)
    require(is_plan_street_office(current_user, plan))
    form = SignOffForm()
    return run_form(
        form,
        lambda: plans.sign_off(actor, plan, _decision(form), form.opinion.data or ""),
        _("The decision was published."),
        page_url(proposal_id, "review"),
    )


# -- Milestones --------------------------------------------------------------------------------


@bp.post("/plans/<int:proposal_id>/milestones")
@login_required
def milestone_add(proposal_id: int):
    plan, actor = _planned(proposal_id)
    require(perm.is_author(current_user, actor.stakeholder.id, plan.proposal))
    form = MilestoneForm()
    return run_form(
        form,
        lambda: plans.add_milestone(actor, plan, form.title.data, form.due_on.data),
        _("The milestone was added."),
        page_url(proposal_id, "milestones"),
    )


@bp.post("/milestones/<int:milestone_id>/updates")
@login_required
def milestone_update(milestone_id: int):
    milestone, proposal = queries.visible_milestone(milestone_id, current_user)
    actor = acting.require_actor()
    require(perm.is_author(current_user, actor.stakeholder.id, proposal))
    form = MilestoneUpdateForm()
    form.status.choices = list(plans.MILESTONE_STATES)
    evidence = next(iter(uploaded_files("evidence")), None)
    return run_form(
        form,
        lambda: plans.update_milestone(
            actor, milestone, form.status.data, form.text.data or "", evidence
        ),
        _("Your progress report was published."),
        page_url(proposal.id, f"milestone-{milestone.id}"),
    )


@bp.post("/milestones/<int:milestone_id>/comments")
@login_required
def milestone_comment(milestone_id: int):
    milestone, proposal = queries.visible_milestone(milestone_id, current_user)
    actor = acting.require_actor()
    form = MilestoneCommentForm()
    return run_form(
        form,
        lambda: plans.comment_on_milestone(actor, milestone, form.text.data or ""),
        _("Your comment was posted."),
        page_url(proposal.id, f"milestone-{milestone.id}"),
    )
