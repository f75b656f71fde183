"""Pages and actions of plan approvals and tracked requests (blueprint ``tracking``).

The plan's review and the request's chain of custody are sections of the proposal page
(`add_detail_part`); the actions post here, run one service, commit once and redirect
back to the section with a message (PRG). A proposal the viewer may not see is a 404;
an action they may not take is a 403 (or a message on the page when the service refuses).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from coord import uploads
from coord.db import db, utcnow
from coord.errors import DomainError
from coord.i18n import AUDIT_LABELS
from coord.models import Community, Grid
from coord.permissions import require
from coord.web import MAX_ID, form_error, form_status, int_arg
from proposals import lifecycle, services
from proposals import permissions as perm
from proposals.models import Attachment, Milestone, MilestoneUpdate, Proposal, Visibility
from proposals.queries import Filters, proposal_list
from proposals.tracking import plans, requests
from proposals.tracking import review_route as rr
from proposals.tracking.deadlines import add_workdays, request_deadlines
from proposals.tracking.forms import (
    AssignForm,
    AttachmentForm,
    DecisionForm,
    MergeForm,
    MilestoneCommentForm,
    MilestoneForm,
    MilestoneUpdateForm,
    MoveForm,
    PlanDetailsForm,
    PlanForm,
    ProgressForm,
    RateForm,
    RequestForm,
    RouteForm,
    SignOffForm,
    TransferForm,
)
from proposals.tracking.models import Plan, ReviewStep, TrackedRequest
from proposals.tracking.permissions import (
    acts_for,
    handler_filter,
    handlers_of,
    plan_of,
    reviewers_of,
    tracked_request_of,
)
from proposals.viewer import Viewer
from stakeholders import acting
from stakeholders.models import ResidenceStatus, ResidentProfile, Stakeholder

bp = Blueprint("tracking", __name__)

AUDIT_LABELS.update(
    {
        "request.submit": _l("filed a request"),
        "request.assign": _l("assigned a request to a handler"),
        "request.transfer": _l("transferred a request to another handler"),
        "request.progress": _l("posted progress on a request"),
        "request.rate": _l("rated the handling of a request"),
        "plan.set_route": _l("set the review route of a plan"),
        "plan.decide_step": _l("decided a review step of a plan"),
        "plan.sign_off": _l("signed off a plan"),
        "plan.attach": _l("attached a file to a plan"),
        "milestone.add": _l("added a milestone to a plan"),
        "milestone.update": _l("reported progress on a milestone"),
    }
)
for _action, _label in {
    "proposal.submit": _l("submitted a plan for approval"),
    "proposal.start_review": _l("started the review of a plan"),
    "proposal.request_changes": _l("asked for changes to a plan"),
    "proposal.resubmit": _l("resubmitted a revised plan"),
    "proposal.approve": _l("approved a plan"),
    "proposal.implement": _l("started implementing"),
    "proposal.accept": _l("accepted a request"),
    "proposal.start": _l("started work on a request"),
    "proposal.resolve": _l("marked a request resolved"),
    "proposal.confirm": _l("confirmed a resolution"),
    "proposal.reopen": _l("reopened a request"),
    "proposal.merge": _l("merged a duplicate request"),
}.items():
    AUDIT_LABELS.setdefault(_action, _label)

#: Plan moves the plan section offers (the review has its own forms).
_PLAN_MOVES = ("submit", "implement", "close")

#: Request actions shown as buttons: action → (who, needs a reason).
_MOVES = {
    "accept": ("handler", False),
    "start": ("handler", False),
    "resolve": ("handler", True),
    "reopen": ("requester", True),
    "reject": ("triage", True),
}


@bp.record_once
def _register_filters(state) -> None:
    filters = state.app.jinja_env.filters
    filters["request_category"] = lambda c: _(requests.CATEGORIES.get(c, c or ""))
    filters["decision_label"] = lambda d: _(rr.DECISION_LABELS.get(d, d))
    filters["milestone_label"] = lambda s: _(plans.MILESTONE_STATES.get(s, s or ""))
    filters["local_date"] = _local_date
    filters["filesize"] = _filesize


def _filesize(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:,.0f} KB"


def _local_date(value: Any) -> str:
    from flask_babel import format_date

    return format_date(value, "yyyy-MM-dd") if value else ""


# -- Helpers -----------------------------------------------------------------------------------


def _files(name: str) -> list[requests.Upload]:
    """Read the uploaded files of a field (empty file inputs are skipped)."""
    return [
        requests.Upload(f.filename or "", f.read())
        for f in request.files.getlist(name)
        if f and f.filename
    ]


def _visible(proposal_id: int, kind: str) -> Proposal:
    proposal = db.get_or_404(Proposal, proposal_id)
    require(proposal.kind == kind and perm.can_view(current_user, proposal), 404)
    return proposal


def _tracked_or_404(proposal_id: int) -> TrackedRequest:
    proposal = _visible(proposal_id, "request")
    rv = tracked_request_of(proposal.id)
    if rv is None:
        abort(404)
    return rv


def _plan_or_404(proposal_id: int) -> Plan:
    proposal = _visible(proposal_id, "plan")
    rv = plan_of(proposal.id)
    if rv is None:
        abort(404)
    return rv


def _page(proposal_id: int, anchor: str) -> str:
    return url_for("proposals.detail", proposal_id=proposal_id, _anchor=anchor)


def _done(run: Any, success: str, target: str) -> Response:
    """Run one use case: commit and flash `success`, or roll back and flash why not."""
    try:
        run()
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 403:
            abort(403, exc.message)
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(target)


def _invalid(form: Any, target: str) -> Response:
    """Report a form that did not validate and go back."""
    messages = [m for errors in form.errors.values() for m in errors if isinstance(m, str)]
    flash(" ".join(messages) or _("Please check the form."), "error")
    return redirect(target)


def _names(ids: set[int | None]) -> dict[int, Stakeholder]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {
        s.id: s for s in db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(ids)))
    }


def _attachments(proposal_id: int) -> list[Attachment]:
    return list(
        db.session.scalars(
            sa.select(Attachment)
            .where(Attachment.proposal_id == proposal_id, Attachment.is_sealed.is_(False))
            .order_by(Attachment.id)
        )
    )


def _communities() -> list[Community]:
    return list(db.session.scalars(sa.select(Community).order_by(Community.id)))


# -- The request section of the proposal page --------------------------------------------------


def request_part(proposal: Proposal, viewer: Viewer) -> dict[str, Any] | None:
    """Context of the request section: deadlines, custody, photos and the viewer's actions."""
    if proposal.kind != "request":
        return None
    tracked = tracked_request_of(proposal.id)
    if tracked is None:
        return None
    user, actor_id = viewer.user, viewer.actor.stakeholder.id if viewer.actor else None
    events = requests.events_of(tracked)
    names = _names(
        {tracked.handler_id}
        | {e.actor_id for e in events}
        | {e.from_handler_id for e in events}
        | {e.to_handler_id for e in events}
    )
    status = proposal.status
    is_open = status in requests.OPEN_STATES
    triage = (
        user is not None
        and status == "submitted"
        and tracked.handler_id is None
        and requests.can_triage(user, tracked)
    )
    handler = user is not None and requests.is_handler(user, actor_id, tracked)
    transfer = (
        user is not None
        and is_open
        and tracked.handler_id is not None
        and requests.can_transfer(user, actor_id, tracked)
    )
    requester = user is not None and requests.is_requester(user, actor_id, tracked)
    moves = [
        action
        for action in lifecycle.allowed_actions("request", status, viewer.roles)
        if action.action in _MOVES
        and (_MOVES[action.action][0] != "triage" or triage or handler)
        and (action.action != "accept" or tracked.handler_id is not None)
    ]
    handlers = handlers_of(proposal.community.street_id) if (triage or transfer or handler) else []
    member_of_handler = (
        user is not None
        and not handler
        and tracked.handler_id is not None
        and tracked.handler_id in {s.id for s in acting.identities(user)}
    )
    return {
        "tracked": tracked,
        "events": events,
        "names": names,
        "deadlines": requests.deadlines(tracked),
        "photos": [a for a in _attachments(proposal.id) if a.purpose == "request"],
        "can_triage": triage,
        "is_handler": handler and is_open,
        "member_of_handler": member_of_handler,
        "can_transfer": transfer,
        "can_rate": requester and status == "resolved" and tracked.satisfaction is None,
        "moves": [(t, _MOVES[t.action][1]) for t in moves],
        "handlers": [h for h in handlers if h.id != tracked.handler_id],
        "event_texts": _event_texts(events, names, tracked),
        "late_custody": _late_custody(events, tracked),
        "now": utcnow(),
    }


def _late_custody(events: list[Any], tracked: TrackedRequest) -> set[int]:
    """Return the custody events whose handler answered late (or not yet, past due)."""
    first_days, _days = request_deadlines(tracked.category)
    now = utcnow()
    rv = set()
    for e in events:
        if e.type in requests.CUSTODY_EVENTS:
            due = add_workdays(e.created_at, first_days)
            if (e.responded_at or now) > due:
                rv.add(e.id)
    return rv


def _event_texts(
    events: list[Any], names: dict[int, Stakeholder], tracked: TrackedRequest
) -> dict[int, str]:
    def name(i: int | None) -> str:
        return names[i].name if i in names else "—"

    return {
        e.id: _(requests.EVENT_LABELS.get(e.type, e.type))
        % {
            "to": name(e.to_handler_id),
            "from": name(e.from_handler_id),
            "rating": tracked.satisfaction or "—",
        }
        for e in events
    }


@bp.get("/requests")
def request_index():
    """Requests: my own, those to triage, those my organisation handles, or all visible."""
    actor = acting.current_actor()
    view = request.args.get("view", "all")
    query = (
        sa.select(TrackedRequest)
        .join(Proposal, TrackedRequest.proposal_id == Proposal.id)
        .where(Proposal.kind == "request", perm.visible_filter(current_user))
        .options(sa.orm.contains_eager(TrackedRequest.proposal).joinedload(Proposal.community))
    )
    if view == "mine" and actor is not None:
        query = query.where(Proposal.author_id == actor.stakeholder.id)
    elif view == "triage":
        moderated = perm.committee_ids(current_user)
        query = query.where(
            Proposal.community_id.in_(moderated or [0]),
            Proposal.status == "submitted",
            TrackedRequest.handler_id.is_(None),
        )
    elif view == "handling" and actor is not None:
        query = query.where(
            TrackedRequest.handler_id == actor.stakeholder.id,
            Proposal.status.in_(requests.OPEN_STATES),
        )
    else:
        view = "all"
    community_id = int_arg("community")
    if community_id:
        query = query.where(Proposal.community_id == community_id)
    status = request.args.get("status")
    if status in lifecycle.STATES["request"]:
        query = query.where(Proposal.status == status)
    query = query.order_by(TrackedRequest.submitted_at.desc(), Proposal.id.desc())
    page = db.paginate(query, per_page=20, error_out=False)
    names = _names({t.handler_id for t in page.items})
    return render_template(
        "tracking/requests.html",
        page=page,
        view=view,
        names=names,
        communities=_communities(),
        community_id=community_id,
        status=status,
        states=lifecycle.STATES["request"],
        now=utcnow(),
    )


def _request_form() -> RequestForm:
    form = RequestForm()
    communities = _communities()
    form.community_id.choices = [SelectChoice(c.id, c.name) for c in communities]
    form.category.choices = [SelectChoice(k, _(v)) for k, v in requests.CATEGORIES.items()]
    names = {c.id: c.name for c in communities}
    grids = db.session.scalars(sa.select(Grid).order_by(Grid.community_id, Grid.number)).all()
    form.grid_id.choices = [SelectChoice("", _("Not sure"))] + [
        SelectChoice(g.id, f"{names.get(g.community_id, '')} · {g.name or g.number}") for g in grids
    ]
    return form


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def request_create():
    actor = acting.require_actor()
    form = _request_form()
    if request.method == "GET":
        home = db.session.scalar(
            sa.select(ResidentProfile.community_id).where(
                ResidentProfile.user_id == current_user.id,
                ResidentProfile.status == ResidenceStatus.VERIFIED,
            )
        )
        form.community_id.data = int_arg("community") or home or form.community_id.data
    if form.validate_on_submit():
        data = {
            "community_id": form.community_id.data,
            "category": form.category.data,
            "title": form.title.data,
            "description": form.description.data,
            "location": form.location.data,
            "grid_id": form.grid_id.data,
            "handlers_only": form.visibility.data == "handlers",
            "photos": _files("photos"),
        }
        try:
            tracked = requests.create_request(actor, data)
        except DomainError as exc:
            if exc.field == "file":  # an upload refused by coord.uploads
                exc.field = "photos"
            form_error(form, exc)
        else:
            db.session.commit()
            flash(_("Your request was sent to the residents committee."), "success")
            return redirect(_page(tracked.proposal_id, "request"))
    return render_template("tracking/request_form.html", form=form), form_status(form)


@bp.post("/requests/<int:proposal_id>/assign")
@login_required
def request_assign(proposal_id: int):
    tracked = _tracked_or_404(proposal_id)
    actor = acting.require_actor()
    require(requests.can_triage(current_user, tracked))
    form = AssignForm()
    form.handler_id.choices = [SelectChoice(h.id, h.name) for h in _all_handlers(tracked)]
    target = _page(proposal_id, "request")
    if not form.validate_on_submit():
        return _invalid(form, target)
    return _done(
        lambda: requests.assign_request(actor, tracked, form.handler_id.data, form.note.data or ""),
        _("The request was assigned."),
        target,
    )


def _all_handlers(tracked: TrackedRequest) -> list[Stakeholder]:
    """Every stakeholder id is a valid choice for the form; the service checks handlers."""
    wanted = request.form.get("handler_id", "")
    if not wanted.isdigit() or not 0 < int(wanted) <= MAX_ID:
        return []
    return list(db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id == int(wanted))))


@bp.post("/requests/<int:proposal_id>/transfer")
@login_required
def request_transfer(proposal_id: int):
    tracked = _tracked_or_404(proposal_id)
    actor = acting.require_actor()
    require(requests.can_transfer(current_user, actor.stakeholder.id, tracked))
    form = TransferForm()
    form.handler_id.choices = [SelectChoice(h.id, h.name) for h in _all_handlers(tracked)]
    target = _page(proposal_id, "request")
    if not form.validate_on_submit():
        return _invalid(form, target)
    return _done(
        lambda: requests.transfer_request(
            actor, tracked, form.handler_id.data, form.reason.data or ""
        ),
        _("The request was transferred."),
        target,
    )


@bp.post("/requests/<int:proposal_id>/progress")
@login_required
def request_progress(proposal_id: int):
    tracked = _tracked_or_404(proposal_id)
    actor = acting.require_actor()
    require(requests.is_handler(current_user, actor.stakeholder.id, tracked))
    form = ProgressForm()
    target = _page(proposal_id, "request")
    if not form.validate_on_submit():
        return _invalid(form, target)
    photos = _files("photo")
    return _done(
        lambda: requests.post_progress(
            actor, tracked, form.text.data or "", photos[0] if photos else None
        ),
        _("Your progress update was posted."),
        target,
    )


@bp.post("/requests/<int:proposal_id>/move")
@login_required
def request_move(proposal_id: int):
    tracked = _tracked_or_404(proposal_id)
    actor = acting.require_actor()
    form = MoveForm()
    target = _page(proposal_id, "request")
    if not form.validate_on_submit() or form.action.data not in _MOVES:
        return _invalid(form, target)

    def run() -> None:
        requests.move_request(actor, tracked, form.action.data, form.reason.data or "")

    state = _("The request is now: %(state)s.", state="%(state)s")
    try:
        run()
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 403:
            abort(403, exc.message)
        flash(exc.message, "error")
    else:
        db.session.commit()
        label = _(lifecycle.STATE_LABELS.get(tracked.proposal.status, ""))
        flash(state % {"state": label}, "success")
    return redirect(target)


@bp.post("/requests/<int:proposal_id>/merge")
@login_required
def request_merge(proposal_id: int):
    tracked = _tracked_or_404(proposal_id)
    actor = acting.require_actor()
    form = MergeForm()
    target = _page(proposal_id, "request")
    if not form.validate_on_submit():
        return _invalid(form, target)
    return _done(
        lambda: requests.merge_request(actor, tracked, form.target.data, form.reason.data or ""),
        _("The request was merged into its duplicate."),
        target,
    )


@bp.post("/requests/<int:proposal_id>/rate")
@login_required
def request_rate(proposal_id: int):
    tracked = _tracked_or_404(proposal_id)
    actor = acting.require_actor()
    form = RateForm()
    target = _page(proposal_id, "request")
    if not form.validate_on_submit():
        return _invalid(form, target)
    rating = int(form.rating.data) if (form.rating.data or "").isdigit() else None
    return _done(
        lambda: requests.rate_request(actor, tracked, rating, form.comment.data or ""),
        _("Thank you: the request is closed with your rating."),
        target,
    )


@bp.get("/attachments/<int:attachment_id>")
def attachment(attachment_id: int):
    """Serve an attachment as a download (never inline), to whoever may see its proposal."""
    row = db.get_or_404(Attachment, attachment_id)
    proposal = db.get_or_404(Proposal, row.proposal_id)
    require(not row.is_sealed and perm.can_view(current_user, proposal), 404)
    try:
        return uploads.download(row.storage_key, row.filename, row.content_type)
    except FileNotFoundError:
        abort(404)


# -- The plan section of the proposal page -----------------------------------------------------


def plan_part(proposal: Proposal, viewer: Viewer) -> dict[str, Any] | None:
    """Context of the plan section: details, review rounds, decision and milestones."""
    if proposal.kind != "plan":
        return None
    plan = plan_of(proposal.id)
    if plan is None:
        return None
    user, actor_id = viewer.user, viewer.actor.stakeholder.id if viewer.actor else None
    rows = plans.steps_of(plan)
    state = plans.state_of(plan, rows) if plan.route else None
    route_names = _names({s["owner_id"] for g in plan.route for s in g} | {plan.street_office_id})
    rounds: dict[int, list[ReviewStep]] = {}
    for row in rows:
        rounds.setdefault(row.round, []).append(row)
    waiting = []
    if state is not None and state.outcome == rr.IN_PROGRESS and proposal.status == "under_review":
        active = {r.group_index for r in rounds.get(plan.round, [])}
        for index, group in enumerate(plan.route):
            if index > max(active, default=-1):
                waiting.extend((index, s) for s in group)
    status = proposal.status
    is_office = user is not None and plans.is_plan_street_office(user, plan)
    awaiting_signoff = (
        state is not None
        and state.outcome == rr.APPROVED_PENDING_SIGNOFF
        and status == "under_review"
    )
    my_steps = [
        r
        for r in rounds.get(plan.round, [])
        if r.decision == rr.PENDING
        and status == "under_review"
        and acts_for(user, actor_id, r.owner_id)
    ]
    author = "author" in viewer.roles
    moves = [
        t.action
        for t in lifecycle.allowed_actions("plan", status, viewer.roles)
        if t.action in _PLAN_MOVES
    ]
    attachments = _attachments(proposal.id)
    milestones = list(
        db.session.scalars(
            sa.select(Milestone)
            .where(Milestone.proposal_id == proposal.id)
            .order_by(Milestone.due_on, Milestone.id)
        )
    )
    updates: dict[int, list[MilestoneUpdate]] = {}
    update_names: dict[int, Stakeholder] = {}
    if milestones:
        rows_u = db.session.execute(
            sa.select(MilestoneUpdate, Stakeholder)
            .join(Stakeholder, Stakeholder.id == MilestoneUpdate.actor_id)
            .where(MilestoneUpdate.milestone_id.in_([m.id for m in milestones]))
            .order_by(MilestoneUpdate.id)
        ).all()
        for update, who in rows_u:
            updates.setdefault(update.milestone_id, []).append(update)
            update_names[who.id] = who
    consultation = db.session.get(Proposal, plan.consultation_id) if plan.consultation_id else None
    return {
        "plan": plan,
        "state": state,
        "rounds": sorted(rounds.items()),
        "waiting": waiting,
        "route_names": route_names,
        "office": route_names.get(plan.street_office_id),
        "is_office": is_office,
        "can_route": is_office and status == "submitted",
        "reviewers": reviewers_of(proposal.community.street_id)
        if is_office and status == "submitted"
        else [],
        "awaiting_signoff": awaiting_signoff,
        "can_signoff": is_office and awaiting_signoff,
        "my_steps": my_steps,
        "is_author": author,
        "moves": moves,
        "can_edit_details": viewer.can_edit,
        "can_resubmit": author and status == "changes_requested",
        "reviewed_version": plans.reviewed_version(plan) if plan.round else None,
        "attachments": [a for a in attachments if a.purpose == "plan"],
        "attachment_by_id": {a.id: a for a in attachments},
        "consultation": consultation
        if consultation is not None and perm.can_view(user, consultation)
        else None,
        "consultation_result": plans.consultation_result(consultation) if consultation else None,
        "milestones": milestones,
        "updates": updates,
        "update_names": update_names,
        "can_add_milestone": author and status in ("approved", "implementing"),
        "can_report": author and status == "implementing",
        "can_comment": user is not None and status == "implementing",
        "milestone_states": plans.MILESTONE_STATES,
        "decided": status in ("approved", "implementing", "closed", "rejected")
        and plan.decided_at is not None,
        "now": utcnow(),
    }


@bp.get("/plans")
def plan_index():
    """Plans: those waiting for the viewer's review or route, then every visible plan."""
    actor = acting.current_actor()
    my_steps = []
    if actor is not None:
        my_steps = db.session.execute(
            sa.select(ReviewStep, Proposal)
            .join(Plan, Plan.id == ReviewStep.plan_id)
            .join(Proposal, Proposal.id == Plan.proposal_id)
            .where(
                ReviewStep.owner_id == actor.stakeholder.id,
                ReviewStep.decision == rr.PENDING,
                Proposal.status == "under_review",
            )
            .order_by(ReviewStep.due_at)
        ).all()
    page = db.paginate(
        proposal_list(current_user, Filters(kind="plan", sort="newest")),
        per_page=20,
        error_out=False,
    )
    return render_template(
        "tracking/plans.html",
        page=page,
        my_steps=my_steps,
        can_submit=plans.can_submit_plans(actor),
        now=utcnow(),
    )


def _consultation_choices(community_ids: list[int]) -> list[SelectChoice]:
    rows = db.session.scalars(
        sa.select(Proposal)
        .where(
            Proposal.kind == "consultation",
            Proposal.community_id.in_(community_ids or [0]),
            Proposal.published_at.is_not(None),
            Proposal.visibility == Visibility.PUBLIC,
        )
        .order_by(Proposal.id.desc())
        .limit(200)
    )
    return [SelectChoice("", _("None"))] + [
        SelectChoice(p.id, f"{p.title} ({_(lifecycle.STATE_LABELS.get(p.status, p.status))})")
        for p in rows
    ]


@bp.route("/plans/new", methods=["GET", "POST"])
@login_required
def plan_create():
    actor = acting.require_actor()
    if not plans.can_submit_plans(actor):
        flash(
            _("Act as an organisation (not the street office) to submit a plan for approval."),
            "error",
        )
        return redirect(url_for(".plan_index"))
    form = PlanForm()
    org = actor.stakeholder
    communities = [
        c
        for c in _communities()
        if (org.community_id is None and org.street_id in (None, c.street_id))
        or org.community_id == c.id
    ]
    form.community_id.choices = [SelectChoice(c.id, c.name) for c in communities]
    form.consultation_id.choices = _consultation_choices([c.id for c in communities])
    if request.method == "GET" and int_arg("community"):
        form.community_id.data = int_arg("community")
    if form.validate_on_submit():
        data = {
            "community_id": form.community_id.data,
            "title": form.title.data,
            "summary": form.summary.data,
            "body": form.body.data or "",
            "budget": form.budget.data,
            "schedule": form.schedule.data,
            "consultation_id": form.consultation_id.data,
            "attachments": _files("attachments"),
            "submit": bool(form.submit.data),
        }
        try:
            plan = plans.create_plan(actor, data)
        except DomainError as exc:
            if exc.field == "file":  # an upload refused by coord.uploads
                exc.field = "attachments"
            form_error(form, exc)
        else:
            db.session.commit()
            flash(
                _("The plan was submitted to the street office.")
                if form.submit.data
                else _("The draft was saved."),
                "success",
            )
            return redirect(_page(plan.proposal_id, "plan"))
    return render_template("tracking/plan_form.html", form=form), form_status(form)


@bp.route("/plans/<int:proposal_id>/details", methods=["GET", "POST"])
@login_required
def plan_details(proposal_id: int):
    plan = _plan_or_404(proposal_id)
    actor = acting.require_actor()
    proposal = plan.proposal
    require(perm.can_edit(current_user, actor.stakeholder.id, proposal))
    form = PlanDetailsForm()
    form.consultation_id.choices = _consultation_choices([proposal.community_id])
    if request.method == "GET":
        form.budget.data = str(plan.budget) if plan.budget is not None else ""
        form.schedule.data = plan.schedule
        form.consultation_id.data = plan.consultation_id
    if form.validate_on_submit():
        try:
            plans.edit_plan_details(
                actor,
                plan,
                {
                    "budget": form.budget.data,
                    "schedule": form.schedule.data,
                    "consultation_id": form.consultation_id.data,
                },
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            db.session.commit()
            flash(_("The plan's details were saved."), "success")
            return redirect(_page(proposal.id, "plan"))
    return render_template("tracking/plan_details.html", form=form, proposal=proposal), form_status(
        form
    )


@bp.post("/plans/<int:proposal_id>/attachments")
@login_required
def plan_attach(proposal_id: int):
    plan = _plan_or_404(proposal_id)
    actor = acting.require_actor()
    require(perm.is_author(current_user, actor.stakeholder.id, plan.proposal))
    form = AttachmentForm()
    target = _page(proposal_id, "plan")
    files = _files("file")
    if not form.validate_on_submit() or not files:
        flash(_("Choose a file."), "error")
        return redirect(target)
    return _done(
        lambda: [plans.attach_file(actor, plan, f) for f in files[: plans.MAX_ATTACHMENTS]],
        _("The file was attached."),
        target,
    )


@bp.route("/plans/<int:proposal_id>/route", methods=["GET", "POST"])
@login_required
def plan_route(proposal_id: int):
    plan = _plan_or_404(proposal_id)
    actor = acting.require_actor()
    require(plans.is_plan_street_office(current_user, plan))
    proposal = plan.proposal
    reviewers = reviewers_of(proposal.community.street_id)
    form = RouteForm()
    choices = [SelectChoice("", "—")] + [SelectChoice(s.id, s.name) for s in reviewers]
    for i, entry in enumerate(form.steps):
        entry.form.owner_id.choices = choices
        if request.method == "GET":
            entry.form.group.data = i + 1
            entry.form.days.data = 5
    if request.method == "GET" and plan.route:
        for i, (index, step) in enumerate((gi, s) for gi, g in enumerate(plan.route) for s in g):
            if i < len(form.steps):
                entry = form.steps[i].form
                entry.owner_id.data = step["owner_id"]
                entry.group.data = index + 1
                entry.days.data = step["due_workdays"]
    if form.validate_on_submit():
        try:
            groups = plans.parse_route(
                (e.form.owner_id.data, e.form.group.data, e.form.days.data) for e in form.steps
            )
            plans.set_route(actor, plan, groups)
        except DomainError as exc:
            db.session.rollback()
            form.steps.errors = [exc.message]
        else:
            db.session.commit()
            flash(_("The review has started."), "success")
            return redirect(_page(proposal.id, "review"))
    if proposal.status != "submitted" and request.method == "GET":
        flash(_("The route can be set only before the review starts."), "error")
        return redirect(_page(proposal.id, "review"))
    return render_template("tracking/route_form.html", form=form, proposal=proposal, plan=plan), (
        422 if form.steps.errors and request.method == "POST" else 200
    )


@bp.post("/plans/<int:proposal_id>/steps/<step_key>")
@login_required
def plan_decide(proposal_id: int, step_key: str):
    plan = _plan_or_404(proposal_id)
    actor = acting.require_actor()
    form = DecisionForm()
    target = _page(proposal_id, "review")
    if not form.validate_on_submit():
        return _invalid(form, target)
    if not form.decision.data:
        flash(_("Choose a decision."), "error")
        return redirect(target)
    return _done(
        lambda: plans.decide_step(
            actor, plan, step_key[:40], form.decision.data, form.opinion.data or ""
        ),
        _("Your decision was recorded."),
        target,
    )


@bp.post("/plans/<int:proposal_id>/move")
@login_required
def plan_move(proposal_id: int):
    """Submit a draft, start implementing an approved plan, or close it."""
    plan = _plan_or_404(proposal_id)
    actor = acting.require_actor()
    form = MoveForm()
    target = _page(proposal_id, "plan")
    if not form.validate_on_submit() or form.action.data not in _PLAN_MOVES:
        return _invalid(form, target)
    state = _("The proposal is now: %(state)s.", state="%(state)s")

    def run() -> None:
        if form.action.data == "submit":
            plans.submit_plan(actor, plan)
        else:
            services.transition_proposal(actor, plan.proposal, form.action.data)

    try:
        run()
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 403:
            abort(403, exc.message)
        flash(exc.message, "error")
    else:
        db.session.commit()
        label = _(lifecycle.STATE_LABELS.get(plan.proposal.status, ""))
        flash(state % {"state": label}, "success")
    return redirect(target)


@bp.post("/plans/<int:proposal_id>/resubmit")
@login_required
def plan_resubmit(proposal_id: int):
    plan = _plan_or_404(proposal_id)
    actor = acting.require_actor()
    return _done(
        lambda: plans.resubmit_plan(actor, plan),
        _("The revised plan was resubmitted; the review resumes."),
        _page(proposal_id, "review"),
    )


@bp.post("/plans/<int:proposal_id>/signoff")
@login_required
def plan_signoff(proposal_id: int):
    plan = _plan_or_404(proposal_id)
    actor = acting.require_actor()
    require(plans.is_plan_street_office(current_user, plan))
    form = SignOffForm()
    target = _page(proposal_id, "review")
    if not form.validate_on_submit():
        return _invalid(form, target)
    if not form.decision.data:
        flash(_("Choose a decision."), "error")
        return redirect(target)
    return _done(
        lambda: plans.sign_off(actor, plan, form.decision.data, form.opinion.data or ""),
        _("The decision was published."),
        target,
    )


@bp.post("/plans/<int:proposal_id>/milestones")
@login_required
def milestone_add(proposal_id: int):
    plan = _plan_or_404(proposal_id)
    actor = acting.require_actor()
    require(perm.is_author(current_user, actor.stakeholder.id, plan.proposal))
    form = MilestoneForm()
    target = _page(proposal_id, "milestones")
    if not form.validate_on_submit():
        return _invalid(form, target)
    return _done(
        lambda: plans.add_milestone(actor, plan, form.title.data, form.due_on.data),
        _("The milestone was added."),
        target,
    )


def _milestone_or_404(milestone_id: int) -> tuple[Milestone, Proposal]:
    milestone = db.get_or_404(Milestone, milestone_id)
    proposal = db.get_or_404(Proposal, milestone.proposal_id)
    require(perm.can_view(current_user, proposal), 404)
    return milestone, proposal


@bp.post("/milestones/<int:milestone_id>/updates")
@login_required
def milestone_update(milestone_id: int):
    milestone, proposal = _milestone_or_404(milestone_id)
    actor = acting.require_actor()
    require(perm.is_author(current_user, actor.stakeholder.id, proposal))
    form = MilestoneUpdateForm()
    form.status.choices = list(plans.MILESTONE_STATES)
    target = _page(proposal.id, f"milestone-{milestone.id}")
    if not form.validate_on_submit():
        return _invalid(form, target)
    files = _files("evidence")
    return _done(
        lambda: plans.update_milestone(
            actor, milestone, form.status.data, form.text.data or "", files[0] if files else None
        ),
        _("Your progress report was published."),
        target,
    )


@bp.post("/milestones/<int:milestone_id>/comments")
@login_required
def milestone_comment(milestone_id: int):
    milestone, proposal = _milestone_or_404(milestone_id)
    actor = acting.require_actor()
    form = MilestoneCommentForm()
    target = _page(proposal.id, f"milestone-{milestone.id}")
    if not form.validate_on_submit():
        return _invalid(form, target)
    return _done(
        lambda: plans.comment_on_milestone(actor, milestone, form.text.data or ""),
        _("Your comment was posted."),
        target,
    )


def handler_choices(street_id: int) -> list[Stakeholder]:
    """Return the handlers of a street (for filters)."""
    return list(
        db.session.scalars(
            sa.select(Stakeholder).where(handler_filter(street_id)).order_by(Stakeholder.name)
        )
    )
