"""Tracked requests: the list, the form, the request's own page (at its proposal URL) and the
handling actions (triage, transfer, progress, moves, merge, rating)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from coord.db import db, utcnow
from coord.permissions import require
from coord.web import MAX_ID, form_status, int_arg, run
from proposals import lifecycle
from proposals.models import Proposal
from proposals.tracking import queries, requests
from proposals.tracking.deadlines import CalendarUnknown, add_workdays, request_deadlines
from proposals.tracking.forms import (
    AssignForm,
    MergeForm,
    MoveForm,
    ProgressForm,
    RateForm,
    RequestForm,
    TransferForm,
)
from proposals.tracking.models import RequestEvent, TrackedRequest
from proposals.tracking.permissions import (
    can_transfer,
    can_triage,
    handlers_of,
    is_handler,
    is_requester,
    tracked_request_of,
)
from proposals.tracking.views.common import (
    bp,
    on_field,
    page_url,
    run_form,
    state_after,
    uploaded_files,
)
from proposals.viewer import Viewer
from proposals.views import is_following
from stakeholders import acting
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

#: Request actions shown as buttons: action → (who, needs a reason).
MOVES = {
    "accept": ("handler", False),
    "start": ("handler", False),
    "resolve": ("handler", True),
    "reopen": ("requester", True),
    "reject": ("triage", True),
}


# -- The request's page ------------------------------------------------------------------------


def request_page(proposal: Proposal, viewer: Viewer) -> str | None:
    """Render a request's own page (None for a request without tracking: the generic page)."""
    part = request_part(proposal, viewer)
    if part is None:
        return None
    return render_template(
        "tracking/request.html",
        proposal=proposal,
        viewer=viewer,
        part=part,
        following=is_following(proposal, viewer),
        action_labels=lifecycle.ACTION_LABELS,
    )


def request_part(proposal: Proposal, viewer: Viewer) -> dict[str, Any] | None:
    """Context of the request page: deadlines, custody, photos and the viewer's actions."""
    if proposal.kind != "request":
        return None
    tracked = tracked_request_of(proposal.id)
    if tracked is None:
        return None
    events = requests.events_of(tracked)
    names = queries.stakeholders_by_id(
        {tracked.handler_id}
        | {e.actor_id for e in events}
        | {e.from_handler_id for e in events}
        | {e.to_handler_id for e in events}
    )
    return {
        "tracked": tracked,
        "events": events,
        "names": names,
        "deadlines": requests.deadlines(tracked),
        "photos": [a for a in queries.attachments_of(proposal.id) if a.purpose == "request"],
        **_request_actions(proposal, tracked, viewer),
        "event_texts": _event_texts(events, names, tracked),
        "late_custody": _late_custody(events, tracked),
        "now": utcnow(),
    }


def _request_actions(proposal: Proposal, tracked: TrackedRequest, viewer: Viewer) -> dict[str, Any]:
    """What the viewer may do with the request: triage, handle, transfer, move, rate."""
    user, actor_id = viewer.user, viewer.actor.stakeholder.id if viewer.actor else None
    status = proposal.status
    is_open = status in requests.OPEN_STATES
    assigned = tracked.handler_id is not None
    signed_in = user is not None
    triage = signed_in and status == "submitted" and not assigned and can_triage(user, tracked)
    handler = signed_in and is_handler(user, actor_id, tracked)
    transfer = signed_in and is_open and assigned and can_transfer(user, actor_id, tracked)
    requester = signed_in and is_requester(user, actor_id, tracked)
    moves = [
        action
        for action in lifecycle.allowed_actions("request", status, viewer.roles)
        if action.action in MOVES
        and (MOVES[action.action][0] != "triage" or triage or handler)
        and (action.action != "accept" or assigned)
    ]
    handlers = handlers_of(proposal.community.street_id) if (triage or transfer or handler) else []
    member_of_handler = (
        signed_in
        and not handler
        and assigned
        and tracked.handler_id in {s.id for s in acting.identities(user)}
    )
    return {
        "can_triage": triage,
        "is_handler": handler and is_open,
        "member_of_handler": member_of_handler,
        "can_transfer": transfer,
        "can_rate": requester and status == "resolved" and tracked.satisfaction is None,
        "moves": [(t, MOVES[t.action][1]) for t in moves],
        "handlers": [h for h in handlers if h.id != tracked.handler_id],
    }


def _late_custody(events: list[RequestEvent], tracked: TrackedRequest) -> set[int]:
    """Return the custody events whose handler answered late (or not yet, past due); a
    deadline in a year whose holidays are unknown is not judged."""
    first_days, _days = request_deadlines(tracked.category)
    now = utcnow()
    rv = set()
    for e in events:
        if e.type not in requests.CUSTODY_EVENTS:
            continue
        try:
            if (e.responded_at or now) > add_workdays(e.created_at, first_days):
                rv.add(e.id)
        except CalendarUnknown:
            continue
    return rv


def _event_texts(
    events: list[RequestEvent], names: dict[int, Stakeholder], tracked: TrackedRequest
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


# -- The list and the form ---------------------------------------------------------------------


@bp.get("/requests")
def request_index():
    """Requests: my own, those to triage, those my organisation handles, or all visible."""
    actor = acting.current_actor()
    view = request.args.get("view", "all")
    if view not in queries.REQUEST_VIEWS or (view in ("mine", "handling") and actor is None):
        view = "all"
    community_id = int_arg("community")
    status = request.args.get("status")
    query = queries.request_list(
        current_user,
        actor.stakeholder.id if actor else None,
        view,
        community_id,
        status if status in lifecycle.STATES["request"] else None,
    )
    page = db.paginate(query, per_page=20, error_out=False)
    return render_template(
        "tracking/requests.html",
        page=page,
        view=view,
        names=queries.stakeholders_by_id(t.handler_id for t in page.items),
        communities=queries.all_communities(),
        community_id=community_id,
        status=status,
        states=lifecycle.STATES["request"],
        now=utcnow(),
    )


def _request_form() -> RequestForm:
    form = RequestForm()
    communities = queries.all_communities()
    form.community_id.choices = [SelectChoice(c.id, c.name) for c in communities]
    form.category.choices = [SelectChoice(k, _(v)) for k, v in requests.CATEGORIES.items()]
    names = {c.id: c.name for c in communities}
    form.grid_id.choices = [SelectChoice("", _("Not sure"))] + [
        SelectChoice(g.id, f"{names.get(g.community_id, '')} · {g.name or g.number}")
        for g in queries.all_grids()
    ]
    return form


def _request_data(form: RequestForm) -> dict[str, Any]:
    return {
        "community_id": form.community_id.data,
        "category": form.category.data,
        "title": form.title.data,
        "description": form.description.data,
        "location": form.location.data,
        "grid_id": form.grid_id.data,
        "handlers_only": form.visibility.data == "handlers",
        "photos": uploaded_files("photos"),
    }


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def request_create():
    actor = acting.require_actor()
    form = _request_form()
    if request.method == "GET":
        home = queries.home_community_id(current_user)
        form.community_id.data = int_arg("community") or home or form.community_id.data
    if form.validate_on_submit():
        data = _request_data(form)
        done = run(
            on_field("photos", lambda: requests.create_request(actor, data), instead_of="file"),
            _("Your request was sent to the residents committee."),
            lambda tracked: page_url(tracked.proposal_id, "request"),
            form=form,
        )
        if done is not None:
            return done
    return render_template("tracking/request_form.html", form=form), form_status(form)


# -- Handling ----------------------------------------------------------------------------------


def _handled(proposal_id: int) -> tuple[TrackedRequest, Actor]:
    """The request (404 unless visible) and the current actor (401 when signed out)."""
    return queries.visible_tracked_request(proposal_id, current_user), acting.require_actor()


def _posted_handler() -> list[Stakeholder]:
    """The stakeholder the form names is the only choice: the service checks handlers."""
    wanted = request.form.get("handler_id", "")
    if not wanted.isdigit() or not 0 < int(wanted) <= MAX_ID:
        return []
    return queries.stakeholder_by_id(int(wanted))


@bp.post("/requests/<int:proposal_id>/assign")
@login_required
def request_assign(proposal_id: int):
    tracked, actor = _handled(proposal_id)
    require(can_triage(current_user, tracked))
    form = AssignForm()
    form.handler_id.choices = [SelectChoice(h.id, h.name) for h in _posted_handler()]
    return run_form(
        form,
        lambda: requests.assign_request(actor, tracked, form.handler_id.data, form.note.data or ""),
        _("The request was assigned."),
        page_url(proposal_id, "request"),
    )


@bp.post("/requests/<int:proposal_id>/transfer")
@login_required
def request_transfer(proposal_id: int):
    tracked, actor = _handled(proposal_id)
    require(can_transfer(current_user, actor.stakeholder.id, tracked))
    form = TransferForm()
    form.handler_id.choices = [SelectChoice(h.id, h.name) for h in _posted_handler()]
    return run_form(
        form,
        lambda: requests.transfer_request(
            actor, tracked, form.handler_id.data, form.reason.data or ""
        ),
        _("The request was transferred."),
        page_url(proposal_id, "request"),
    )


@bp.post("/requests/<int:proposal_id>/progress")
@login_required
def request_progress(proposal_id: int):
    tracked, actor = _handled(proposal_id)
    require(is_handler(current_user, actor.stakeholder.id, tracked))
    form = ProgressForm()
    photo = next(iter(uploaded_files("photo")), None)
    return run_form(
        form,
        lambda: requests.post_progress(actor, tracked, form.text.data or "", photo),
        _("Your progress update was posted."),
        page_url(proposal_id, "request"),
    )


@bp.post("/requests/<int:proposal_id>/move")
@login_required
def request_move(proposal_id: int):
    tracked, actor = _handled(proposal_id)
    form = MoveForm()
    action = form.action.data
    state = state_after("request", tracked.proposal.status, action)
    return run_form(
        form,
        lambda: requests.move_request(actor, tracked, action, form.reason.data or ""),
        _("The request is now: %(state)s.", state=state),
        page_url(proposal_id, "request"),
        ok=action in MOVES,
    )


@bp.post("/requests/<int:proposal_id>/merge")
@login_required
def request_merge(proposal_id: int):
    tracked, actor = _handled(proposal_id)
    form = MergeForm()
    return run_form(
        form,
        lambda: requests.merge_request(actor, tracked, form.target.data, form.reason.data or ""),
        _("The request was merged into its duplicate."),
        page_url(proposal_id, "request"),
    )


@bp.post("/requests/<int:proposal_id>/rate")
@login_required
def request_rate(proposal_id: int):
    tracked, actor = _handled(proposal_id)
    form = RateForm()
    rating = int(form.rating.data) if (form.rating.data or "").isdigit() else None
    return run_form(
        form,
        lambda: requests.rate_request(actor, tracked, rating, form.comment.data or ""),
        _("Thank you: the request is closed with your rating."),
        page_url(proposal_id, "request"),
    )
