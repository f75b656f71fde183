"""Tracked requests (诉求): submit, triage, hand over, respond, resolve, rate or reopen.

A request is a `Proposal` of kind ``request`` plus its `TrackedRequest`; every step of its
chain of custody is a `RequestEvent`. The lifecycle (proposals.lifecycle) moves it
submitted → accepted → in_progress → resolved → closed, or rejected / merged; these
use cases add what the lifecycle does not know:

- Triage: the residents committee (or the street office) assigns a handler — an
  organisation of the street whose function may handle requests
  (`permissions.HANDLER_FUNCTIONS`). The request stays ``submitted`` until the handler
  accepts it. Deadlines start at the assignment: first response after
  ``first_response`` working days, resolution after ``resolution`` working days
  (``REQUEST_DEADLINES``, per category; see proposals.tracking.deadlines).
- Custody: an ``assigned`` or ``transferred`` event starts a handler's custody. The
  handler's first action (accept, start, progress, transfer, resolve) is the custody's
  first response (`RequestEvent.responded_at`, and `TrackedRequest.first_response_at` for
  the current custody). A transfer gives the new handler a fresh first-response deadline
  but never moves the resolution deadline: handing a request on does not buy time.
- A reopened request keeps its history and its resolution deadline (a resolution that did
  not hold was no resolution), and counts in `reopen_count` against its handler.

Lifecycle moves made elsewhere (the proposal page's buttons, the JSON API) are kept in
step by `on_transitioned`, which also refuses moves that lack what they need: confirming
without a rating, merging without naming the duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from coord import audit, uploads
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import Community, Grid
from coord.notifications import N_, Note, notify, register_kind
from coord.text import shorten
from proposals import services
from proposals.models import Attachment, Proposal, ProposalInvite, ProposalTransition, Visibility
from proposals.notify import proposal_url, recipients
from proposals.tracking.dashboard import workday_seconds
from proposals.tracking.deadlines import (
    add_workdays,
    local_tz,
    request_deadlines,
    work_calendar,
    workdays_between,
)
from proposals.tracking.models import RequestEvent, TrackedRequest
from proposals.tracking.permissions import (
    can_transfer,
    can_triage,
    handler_filter,
    is_handler,
    is_member,
    is_requester,
    street_office_of,
    tracked_request_of,
)
from stakeholders.acting import Actor
from stakeholders.models import Membership, MembershipStatus, Stakeholder
from stakeholders.permissions import residents_committee_of, street_office_ids

#: Request categories (English msgids) and the proposal category each one files under.
CATEGORIES: dict[str, str] = {
    "lighting": N_("Street lights and lighting"),
    "water": N_("Water supply and leaks"),
    "sanitation": N_("Sanitation and waste"),
    "roads": N_("Roads and paths"),
    "noise": N_("Noise"),
    "parking": N_("Parking"),
    "property": N_("Property services"),
    "safety": N_("Safety hazards"),
    "other": N_("Other"),
}
PROPOSAL_CATEGORY = {
    "lighting": "facilities",
    "water": "facilities",
    "sanitation": "environment",
    "roads": "facilities",
    "noise": "environment",
    "parking": "parking",
    "property": "property",
    "safety": "safety",
    "other": "other",
}
_FROM_PROPOSAL_CATEGORY = {
    "facilities": "other",
    "environment": "sanitation",
    "parking": "parking",
    "property": "property",
    "safety": "safety",
}

OPEN_STATES = ("submitted", "accepted", "in_progress")
CLOSED_STATES = ("closed", "rejected", "merged")

#: Chain-of-custody event types and their labels.
EVENT_LABELS: dict[str, str] = {
    "submitted": N_("submitted the request"),
    "assigned": N_("assigned it to %(to)s"),
    "transferred": N_("transferred it from %(from)s to %(to)s"),
    "accepted": N_("accepted it"),
    "started": N_("started work"),
    "progress": N_("posted progress"),
    "resolved": N_("marked it resolved"),
    "confirmed": N_("confirmed the resolution and rated it %(rating)s/5"),
    "closed": N_("closed it"),
    "reopened": N_("reopened it"),
    "rejected": N_("rejected it"),
    "merged": N_("merged it into a duplicate"),
}
#: Events that are a handler's response to the request.
RESPONSE_EVENTS = ("accepted", "started", "progress", "transferred", "resolved")
CUSTODY_EVENTS = ("assigned", "transferred")

MAX_PHOTOS = 5
DEFAULT_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = frozenset({uploads.PNG, uploads.JPEG})
DESCRIPTION_MAX = 2000
TEXT_MAX = 1000

HANDLING, PROGRESS = "request_handling", "request_progress"
register_kind(HANDLING, N_("Requests assigned to my organisation"))
register_kind(PROGRESS, N_("Progress on requests I filed"))

MESSAGES = {
    "assigned": N_("%(name)s assigned the request “%(title)s” to %(handler)s."),
    "progress": N_("%(name)s posted progress on your request “%(title)s”."),
}


@dataclass(frozen=True)
class Upload:
    """A file as received from a form: its name and bytes."""

    filename: str
    data: bytes


def upload_limit() -> int:
    """Return the largest accepted upload, in bytes (``TRACKING_UPLOAD_MAX_BYTES``)."""
    return int(current_app.config.get("TRACKING_UPLOAD_MAX_BYTES") or DEFAULT_UPLOAD_MAX_BYTES)


def store_attachment(
    actor: Actor,
    proposal: Proposal,
    purpose: str,
    upload: Upload,
    allowed: frozenset[str],
) -> Attachment:
    """Check an upload by content and size, strip its metadata, store it renamed."""
    checked = uploads.check_upload(
        upload.filename, upload.data, allowed=allowed, max_bytes=upload_limit()
    )
    rv = _store_checked(actor, proposal, purpose, checked)
    db.session.flush()
    return rv


def _check_photos(photos: Iterable[Upload]) -> list[uploads.CheckedFile]:
    """Check every photo before anything is stored."""
    photos = list(photos)
    if len(photos) > MAX_PHOTOS:
        raise DomainError(_("Attach at most %(n)d photos.", n=MAX_PHOTOS), field="photos")
    return [
        uploads.check_upload(p.filename, p.data, allowed=PHOTO_TYPES, max_bytes=upload_limit())
        for p in photos
    ]


def _store_checked(
    actor: Actor, proposal: Proposal, purpose: str, checked: uploads.CheckedFile
) -> Attachment:
    rv = Attachment(
        proposal_id=proposal.id,
        purpose=purpose,
        filename=checked.filename,
        storage_key=uploads.store(checked.data),
        content_type=checked.content_type,
        size=len(checked.data),
        sha256=checked.sha256,
        user_id=actor.user.id,
    )
    db.session.add(rv)
    return rv


# -- Submitting --------------------------------------------------------------------------------


def create_request(actor: Actor, data: dict[str, Any]) -> TrackedRequest:
    """File a request: title, description, category, optional place, grid and photos."""
    category = data.get("category") or "other"
    if category not in CATEGORIES:
        raise DomainError(_("Unknown category."), field="category")
    community = db.session.get(Community, data.get("community_id") or 0)
    if community is None:
        raise DomainError(_("Choose a community."), field="community_id")
    description = (data.get("description") or "").strip()
    if not description:
        raise DomainError(_("Describe the problem."), field="description")
    if len(description) > DESCRIPTION_MAX:
        raise DomainError(
            _("Write at most %(n)d characters.", n=DESCRIPTION_MAX), field="description"
        )
    grid_id = data.get("grid_id") or None
    if grid_id is not None:
        grid = db.session.get(Grid, grid_id)
        if grid is None or grid.community_id != community.id:
            raise DomainError(_("Choose a grid of this community."), field="grid_id")
    handlers_only = bool(data.get("handlers_only"))
    office = street_office_of(community.street_id)
    checked = _check_photos(data.get("photos") or ())
    summary = shorten(description, 500)
    proposal = services.create_proposal(
        actor,
        {
            "kind": "request",
            "community_id": community.id,
            "title": data["title"],
            "summary": summary,
            "body": description if len(description) > 500 else "",
            "category": PROPOSAL_CATEGORY[category],
            "visibility": Visibility.INVITED.value if handlers_only else Visibility.PUBLIC.value,
            "invited": [office.id] if handlers_only and office else [],
        },
    )
    tracked = tracked_request_of(proposal.id) or track(proposal)
    tracked.category = category
    tracked.location = (data.get("location") or "").strip()[:200]
    tracked.grid_id = grid_id
    tracked.handlers_only = handlers_only
    for photo in checked:
        _store_checked(actor, proposal, "request", photo)
    audit.record(
        "request.submit",
        "proposal",
        proposal.id,
        community_id=community.id,
        is_public=not handlers_only,
        data={"category": category},
        **actor.audit_ids,
    )
    db.session.flush()
    return tracked


def track(proposal: Proposal) -> TrackedRequest:
    """Create the tracking part of a request proposal and its first event."""
    rv = TrackedRequest(
        proposal_id=proposal.id,
        community_id=proposal.community_id,
        category=_FROM_PROPOSAL_CATEGORY.get(proposal.category, "other"),
        handlers_only=proposal.visibility != Visibility.PUBLIC,
        submitted_at=proposal.published_at or utcnow(),
    )
    db.session.add(rv)
    db.session.flush()
    db.session.add(
        RequestEvent(
            request_id=rv.id,
            type="submitted",
            user_id=proposal.created_by_id,
            actor_id=proposal.author_id,
            created_at=rv.submitted_at,
        )
    )
    return rv


def on_published(proposal: Proposal, **extra: Any) -> None:
    """Track every request, however it was filed (form, JSON API)."""
    if proposal.kind == "request" and tracked_request_of(proposal.id) is None:
        track(proposal)


# -- On whose behalf ---------------------------------------------------------------------------


def _on_behalf(actor: Actor, tracked: TrackedRequest) -> Actor:
    """The organisation a triage is recorded for: the one acted as, else the community's
    residents committee or the street office the user works for (the chain of custody
    names who decided, not the staff member's private identity)."""
    if actor.stakeholder.is_organisation:
        return actor
    community = tracked.proposal.community
    committee = residents_committee_of(community.id)
    if committee is not None and is_member(actor.user, committee.id):
        return Actor(actor.user, committee)
    office_id = street_office_ids(actor.user).get(community.street_id)
    office = db.session.get(Stakeholder, office_id) if office_id else None
    return Actor(actor.user, office) if office is not None else actor


def _valid_handler(tracked: TrackedRequest, handler_id: int | None) -> Stakeholder:
    street_id = tracked.proposal.community.street_id
    handler = (
        db.session.scalar(
            sa.select(Stakeholder).where(Stakeholder.id == handler_id, handler_filter(street_id))
        )
        if handler_id
        else None
    )
    if handler is None:
        raise DomainError(
            _("Choose an organisation of this street that handles requests."), field="handler_id"
        )
    return handler


def _require_open(tracked: TrackedRequest) -> None:
    if tracked.proposal.status not in OPEN_STATES:
        raise Conflict(_("This request is no longer open."))


# -- Triage and custody ------------------------------------------------------------------------


def _event(
    tracked: TrackedRequest,
    actor: Actor | None,
    type_: str,
    *,
    text: str = "",
    from_id: int | None = None,
    to_id: int | None = None,
    when: datetime | None = None,
) -> RequestEvent:
    rv = RequestEvent(
        request_id=tracked.id,
        type=type_,
        from_handler_id=from_id,
        to_handler_id=to_id,
        text=text,
        user_id=actor.user.id if actor else None,
        actor_id=actor.stakeholder.id if actor else None,
        created_at=when or utcnow(),
    )
    db.session.add(rv)
    return rv


def _custody(tracked: TrackedRequest) -> RequestEvent | None:
    """Return the event that started the current handler's custody."""
    return db.session.scalar(
        sa.select(RequestEvent)
        .where(RequestEvent.request_id == tracked.id, RequestEvent.type.in_(CUSTODY_EVENTS))
        .order_by(RequestEvent.id.desc())
        .limit(1)
    )


def _responded(tracked: TrackedRequest, actor: Actor | None, when: datetime) -> None:
    """Record the current handler's first response, if this is it."""
    if actor is None or tracked.handler_id is None or actor.stakeholder.id != tracked.handler_id:
        return
    if tracked.first_response_at is None:
        tracked.first_response_at = when
    custody = _custody(tracked)
    if custody is not None and custody.responded_at is None:
        custody.responded_at = when
        custody.response_workdays = workdays_between(custody.created_at, when)


def invite(proposal: Proposal, stakeholder_id: int) -> None:
    """Let a handler see a handlers-only request."""
    if proposal.visibility == Visibility.PUBLIC:
        return
    exists = db.session.scalar(
        sa.select(ProposalInvite.id).where(
            ProposalInvite.proposal_id == proposal.id,
            ProposalInvite.stakeholder_id == stakeholder_id,
        )
    )
    if exists is None:
        db.session.add(ProposalInvite(proposal_id=proposal.id, stakeholder_id=stakeholder_id))
        db.session.flush()


def member_user_ids(org_id: int) -> list[int]:
    """Return the ids of an organisation's active members."""
    return list(
        db.session.scalars(
            sa.select(Membership.user_id).where(
                Membership.organisation_id == org_id,
                Membership.status == MembershipStatus.ACTIVE,
            )
        )
    )


def _tell_handler(tracked: TrackedRequest, actor: Actor, handler: Stakeholder) -> None:
    proposal = tracked.proposal
    params = {"name": actor.stakeholder.name, "title": proposal.title, "handler": handler.name}
    users = recipients(proposal, followers=False, user_ids=member_user_ids(handler.id), actor=actor)
    url = proposal_url(proposal.id, "request")
    notify(Note(user, HANDLING, MESSAGES["assigned"], params, url) for user in users)


def assign_request(actor: Actor, tracked: TrackedRequest, handler_id: int, note: str = "") -> None:
    """Triage: give a submitted request to a handler; its deadlines start now."""
    if not can_triage(actor.user, tracked):
        raise NotAllowed(_("Only the residents committee or the street office assigns requests."))
    proposal = tracked.proposal
    if proposal.status != "submitted":
        raise Conflict(_("This request is no longer waiting for triage."))
    if tracked.handler_id is not None:
        raise Conflict(_("This request is already assigned; transfer it instead."))
    handler = _valid_handler(tracked, handler_id)
    now = utcnow()
    first_days, resolution_days = request_deadlines(tracked.category)
    tracked.handler_id = handler.id
    tracked.assigned_at = now
    tracked.first_response_at = None
    tracked.first_response_due_at = add_workdays(now, first_days)
    tracked.resolution_due_at = add_workdays(now, resolution_days)
    _event(
        tracked,
        _on_behalf(actor, tracked),
        "assigned",
        text=note.strip()[:TEXT_MAX],
        to_id=handler.id,
        when=now,
    )
    invite(proposal, handler.id)
    services.touch(proposal)
    audit.record(
        "request.assign",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=proposal.visibility == Visibility.PUBLIC,
        data={"handler_id": handler.id},
        **actor.audit_ids,
    )
    db.session.flush()
    _tell_handler(tracked, actor, handler)


def transfer_request(actor: Actor, tracked: TrackedRequest, handler_id: int, reason: str) -> None:
    """Hand a request on to another handler, with a reason (the chain of custody grows)."""
    if not can_transfer(actor.user, actor.stakeholder.id, tracked):
        raise NotAllowed(_("Only the assigned handler or the street office can transfer it."))
    _require_open(tracked)
    if tracked.handler_id is None:
        raise Conflict(_("Assign the request before transferring it."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason for the transfer."), field="reason")
    handler = _valid_handler(tracked, handler_id)
    if handler.id == tracked.handler_id:
        raise DomainError(_("The request is already with this handler."), field="handler_id")
    now = utcnow()
    _responded(tracked, actor, now)
    first_days, _days = request_deadlines(tracked.category)
    previous = tracked.handler_id
    tracked.handler_id = handler.id
    tracked.first_response_at = None
    tracked.first_response_due_at = add_workdays(now, first_days)
    _event(
        tracked,
        _on_behalf(actor, tracked),
        "transferred",
        text=reason[:TEXT_MAX],
        from_id=previous,
        to_id=handler.id,
        when=now,
    )
    proposal = tracked.proposal
    invite(proposal, handler.id)
    services.touch(proposal)
    audit.record(
        "request.transfer",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=proposal.visibility == Visibility.PUBLIC,
        data={"from": previous, "to": handler.id},
        **actor.audit_ids,
    )
    db.session.flush()
    _tell_handler(tracked, actor, handler)


def post_progress(
    actor: Actor, tracked: TrackedRequest, text: str, photo: Upload | None = None
) -> RequestEvent:
    """The handler tells the resident how the work goes (optionally with a photo)."""
    if not is_handler(actor.user, actor.stakeholder.id, tracked):
        raise NotAllowed(_("Only the assigned handler can post progress."))
    _require_open(tracked)
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write what was done."), field="text")
    checked = _check_photos([photo] if photo else [])
    now = utcnow()
    _responded(tracked, actor, now)
    rv = _event(tracked, actor, "progress", text=text[:TEXT_MAX], when=now)
    proposal = tracked.proposal
    for item in checked:
        _store_checked(actor, proposal, "request", item)
    services.touch(proposal)
    audit.record(
        "request.progress",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=proposal.visibility == Visibility.PUBLIC,
        **actor.audit_ids,
    )
    db.session.flush()
    params = {"name": actor.stakeholder.name, "title": proposal.title}
    users = recipients(
        proposal,
        followers=False,
        user_ids=[proposal.created_by_id, proposal.author.user_id],
        actor=actor,
    )
    url = proposal_url(proposal.id, "request")
    notify(Note(user, PROGRESS, MESSAGES["progress"], params, url) for user in users)
    return rv


def move_request(actor: Actor, tracked: TrackedRequest, action: str, reason: str = "") -> str:
    """Accept, start, resolve, reopen or reject: a lifecycle move (roles decide who)."""
    if action not in ("accept", "start", "resolve", "reopen", "reject"):
        raise DomainError(_("Unknown action."))
    return services.transition_proposal(actor, tracked.proposal, action, reason)


def merge_request(
    actor: Actor, tracked: TrackedRequest, target_id: int | None, reason: str = ""
) -> None:
    """Close a request as a duplicate of another open request of the same community."""
    proposal = tracked.proposal
    target = db.session.get(Proposal, target_id) if target_id else None
    if (
        target is None
        or target.id == proposal.id
        or target.kind != "request"
        or target.community_id != proposal.community_id
        or target.status in CLOSED_STATES
    ):
        raise DomainError(
            _("Choose another open request of this community as the duplicate."), field="target"
        )
    tracked.merged_into_id = target.id
    try:
        services.transition_proposal(actor, proposal, "merge", reason, target=str(target.id))
    except DomainError:
        tracked.merged_into_id = None
        raise


def rate_request(actor: Actor, tracked: TrackedRequest, rating: Any, comment: str = "") -> None:
    """The requester confirms the resolution and rates it 1–5 (once)."""
    if not is_requester(actor.user, actor.stakeholder.id, tracked):
        raise NotAllowed(_("Only the resident who filed the request can rate it."))
    if tracked.satisfaction is not None:
        raise Conflict(_("This request has already been rated."))
    if tracked.proposal.status != "resolved":
        raise Conflict(_("You can rate the request once it is marked resolved."))
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise DomainError(_("Rate from 1 to 5."), field="rating")
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise DomainError(_("Write at most %(n)d characters.", n=500), field="comment")
    tracked.satisfaction = rating
    tracked.satisfaction_comment = comment
    proposal = tracked.proposal
    services.transition_proposal(actor, proposal, "confirm")
    audit.record(
        "request.rate",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        data={"rating": rating, "handler_id": tracked.handler_id},
        **actor.audit_ids,
    )


# -- Keeping lifecycle moves in step -----------------------------------------------------------


def _last_reason(proposal: Proposal) -> str:
    return (
        db.session.scalar(
            sa.select(ProposalTransition.reason)
            .where(ProposalTransition.proposal_id == proposal.id)
            .order_by(ProposalTransition.id.desc())
            .limit(1)
        )
        or ""
    )


def on_transitioned(
    proposal: Proposal, actor: Actor | None = None, action: str = "", **extra: Any
) -> None:
    """Record each lifecycle move of a request in its chain of custody (or refuse it)."""
    if proposal.kind != "request":
        return
    tracked = tracked_request_of(proposal.id)
    if tracked is None:
        return
    now = utcnow()
    if (
        action in ("reject", "merge")
        and actor is not None
        and not (
            can_triage(actor.user, tracked) or is_handler(actor.user, actor.stakeholder.id, tracked)
        )
    ):
        # The lifecycle's "street office" is every government unit of the street; turning
        # a request away is for its residents committee, the street office or its handler.
        raise NotAllowed(
            _("Only the residents committee, the street office or the handler can do this.")
        )
    if action == "confirm" and actor is not None and tracked.satisfaction is None:
        raise DomainError(_("Rate the resolution to confirm it."), status=409)
    if action == "merge" and tracked.merged_into_id is None:
        raise DomainError(_("Choose the duplicate on the request's page to merge it."), status=409)
    if action in ("accept", "start", "resolve"):
        _responded(tracked, actor, now)
    if action == "resolve":
        tracked.resolved_at = now
        if tracked.assigned_at is not None:
            tracked.resolution_workdays = workdays_between(tracked.assigned_at, now)
    elif action == "reopen":
        tracked.reopen_count += 1
        tracked.resolved_at = tracked.resolution_workdays = None
    elif action in ("confirm", "reject", "merge"):
        tracked.closed_at = now
    event_type = {
        "accept": "accepted",
        "start": "started",
        "resolve": "resolved",
        "reopen": "reopened",
        "confirm": "confirmed" if tracked.satisfaction is not None else "closed",
        "reject": "rejected",
        "merge": "merged",
    }.get(action)
    if event_type is not None:
        if actor is not None and action in ("reject", "merge"):
            actor = _on_behalf(actor, tracked)
        _event(tracked, actor, event_type, text=_last_reason(proposal)[:TEXT_MAX], when=now)
        db.session.flush()


# -- Reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """A deadline as shown: when, whether it is met, late or still running."""

    due_at: datetime | None
    done_at: datetime | None

    @property
    def is_overdue(self) -> bool:
        if self.due_at is None:
            return False
        return (self.done_at or utcnow()) > self.due_at

    @property
    def gap_workdays(self) -> float:
        """Working days left before the due time, or by which it was (or is being) missed."""
        if self.due_at is None:
            return 0.0
        end = self.done_at or utcnow()
        return workdays_between(*sorted((end, self.due_at)))


def deadlines(tracked: TrackedRequest) -> dict[str, Deadline]:
    """Return the current first-response and resolution deadlines."""
    open_ = tracked.proposal.status in OPEN_STATES
    return {
        "first_response": Deadline(
            tracked.first_response_due_at,
            tracked.first_response_at or (None if open_ else tracked.closed_at or utcnow()),
        ),
        "resolution": Deadline(
            tracked.resolution_due_at,
            tracked.resolved_at or (None if open_ else tracked.closed_at or utcnow()),
        ),
    }


def events_of(tracked: TrackedRequest) -> list[RequestEvent]:
    """Return the chain of custody, oldest first."""
    return list(
        db.session.scalars(
            sa.select(RequestEvent)
            .where(RequestEvent.request_id == tracked.id)
            .order_by(RequestEvent.created_at, RequestEvent.id)
        )
    )


def recompute_workdays(batch: int = 5000) -> tuple[int, int]:
    """Recompute the stored working days (after the calendar changed, e.g. a new year's
    holidays were entered); return how many requests and custodies were updated. A duration
    over a year whose holidays are still unknown stays unmeasured (None)."""
    calendar = work_calendar()
    offset = (utcnow().astimezone(local_tz()).utcoffset() or timedelta()).total_seconds()
    done = []
    for model, start, end, target in (
        (
            TrackedRequest,
            TrackedRequest.assigned_at,
            TrackedRequest.resolved_at,
            "resolution_workdays",
        ),
        (RequestEvent, RequestEvent.created_at, RequestEvent.responded_at, "response_workdays"),
    ):
        rows = db.session.execute(
            sa.select(model.id, start, end).where(start.is_not(None), end.is_not(None))
        ).all()
        for i in range(0, len(rows), batch):
            chunk = rows[i : i + batch]
            seconds = workday_seconds(
                np.array([r[1].timestamp() for r in chunk]),
                np.array([r[2].timestamp() for r in chunk]),
                calendar,
                offset,
            )
            db.session.execute(
                sa.update(model),
                [
                    {"id": r[0], target: None if np.isnan(v) else float(v) / 86400}
                    for r, v in zip(chunk, seconds, strict=True)
                ],
            )
        done.append(len(rows))
    return done[0], done[1]
