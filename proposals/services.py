"""Proposal use cases: create, publish, edit (versions), move through the lifecycle, follow."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from coord import audit, signals
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import Community
from coord.text import SANITIZER_VERSION, clean_text, render_markdown
from proposals import decision, lifecycle
from proposals import permissions as perm
from proposals.models import (
    Follow,
    Proposal,
    ProposalInvite,
    ProposalTransition,
    ProposalVersion,
    Visibility,
)
from proposals.vocabulary import CATEGORIES
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

#: The actions that decide a proposal and so record a decision text.
DECISIONS = ("adopt", "reject")
#: The action that makes a draft of each kind public.
PUBLISH_ACTION = {"consultation": "publish", "plan": "submit", "tender": "publish"}


def search_text(*parts: str) -> str:
    """Normalise text for substring search: NFKC (full-width → ASCII) and lower case."""
    return unicodedata.normalize("NFKC", " ".join(parts)).lower()


def _apply_text(proposal: Proposal, title: str, summary: str, body: str) -> None:
    proposal.title, proposal.summary = title, summary
    proposal.body_source = clean_text(body)
    proposal.body_html = render_markdown(body)
    proposal.sanitizer_version = SANITIZER_VERSION
    proposal.search_text = search_text(title, summary, proposal.body_source)


def _snapshot(
    proposal: Proposal, actor: Actor, note: str = "", amendment_id: int | None = None
) -> None:
    db.session.add(
        ProposalVersion(
            proposal_id=proposal.id,
            number=proposal.version,
            title=proposal.title,
            summary=proposal.summary,
            body_source=proposal.body_source,
            body_html=proposal.body_html,
            note=note,
            amendment_id=amendment_id,
            user_id=actor.user.id,
            actor_id=actor.stakeholder.id,
        )
    )


def _check_deadline(deadline: datetime | None) -> None:
    if deadline is not None and deadline <= utcnow():
        raise DomainError(str(_l("The deadline must be in the future.")), field="deadline")


def _set_invites(proposal: Proposal, stakeholder_ids: list[int]) -> None:
    wanted = set(stakeholder_ids)
    if wanted:
        found = set(db.session.scalars(sa.select(Stakeholder.id).where(Stakeholder.id.in_(wanted))))
        if found != wanted:
            raise DomainError(str(_l("Invite only existing stakeholders.")), field="invited")
    db.session.execute(sa.delete(ProposalInvite).where(ProposalInvite.proposal_id == proposal.id))
    db.session.add_all(
        ProposalInvite(proposal_id=proposal.id, stakeholder_id=i) for i in sorted(wanted)
    )


def create_proposal(actor: Actor, data: dict[str, Any]) -> Proposal:
    """Create a proposal as a draft (requests are submitted at once); publish if asked."""
    kind = data["kind"]
    if kind not in lifecycle.KINDS:
        raise DomainError(str(_l("Unknown kind of proposal.")), field="kind")
    community = db.session.get(Community, data["community_id"])
    if community is None:
        raise DomainError(str(_l("Choose a community.")), field="community_id")
    if data.get("category") and data["category"] not in CATEGORIES:
        raise DomainError(str(_l("Unknown category.")), field="category")
    _check_deadline(data.get("deadline"))
    proposal = Proposal(
        kind=kind,
        status=lifecycle.INITIAL[kind],
        community_id=community.id,
        author_id=actor.stakeholder.id,
        created_by_id=actor.user.id,
        category=data.get("category") or "",
        visibility=Visibility(data.get("visibility") or "public"),
        deadline_at=data.get("deadline"),
        version=1,
    )
    _apply_text(proposal, data["title"], data["summary"], data.get("body") or "")
    db.session.add(proposal)
    db.session.flush()
    _set_invites(proposal, data.get("invited") or [])
    follow(actor, proposal)
    _record_transition(proposal, actor, "create", None, proposal.status)
    if lifecycle.is_public(kind, proposal.status):
        _published(proposal, actor)
    elif data.get("publish"):
        publish_proposal(actor, proposal)
    return proposal


def _published(proposal: Proposal, actor: Actor) -> None:
    proposal.published_at = proposal.last_activity_at = utcnow()
    _snapshot(proposal, actor)
    signals.proposal_published.send(proposal, actor=actor)


def publish_proposal(actor: Actor, proposal: Proposal) -> None:
    """Make a draft public (consultations go to deliberation, plans are submitted)."""
    action = PUBLISH_ACTION.get(proposal.kind)
    if action is None or lifecycle.is_public(proposal.kind, proposal.status):
        raise Conflict(str(_l("This proposal is already published.")))
    transition_proposal(actor, proposal, action)


def edit_proposal(actor: Actor, proposal: Proposal, data: dict[str, Any], note: str = "") -> None:
    """Change the text; a published proposal gets a new version, a draft is overwritten."""
    if not perm.can_edit(actor.user, actor.stakeholder.id, proposal):
        raise NotAllowed(str(_l("Only the author can edit this proposal now.")))
    if data.get("category") and data["category"] not in CATEGORIES:
        raise DomainError(str(_l("Unknown category.")), field="category")
    if data.get("deadline") != proposal.deadline_at:
        _check_deadline(data.get("deadline"))
    published = proposal.published_at is not None
    new_text = (data["title"], data["summary"], clean_text(data.get("body") or ""))
    text_changed = new_text != (proposal.title, proposal.summary, proposal.body_source)
    _apply_text(proposal, data["title"], data["summary"], data.get("body") or "")
    proposal.category = data.get("category") or ""
    proposal.deadline_at = data.get("deadline")
    if "visibility" in data:
        proposal.visibility = Visibility(data["visibility"])
    if "invited" in data:
        _set_invites(proposal, data["invited"] or [])
    if published and text_changed:
        proposal.version += 1
        proposal.last_activity_at = utcnow()
        _snapshot(proposal, actor, note)
        audit.record(
            "proposal.edit",
            "proposal",
            proposal.id,
            community_id=proposal.community_id,
            data={"version": proposal.version},
            **actor.audit_ids,
        )
        signals.proposal_edited.send(proposal, actor=actor)


def new_version_from_amendment(
    actor: Actor, proposal: Proposal, title: str, body: str, amendment_id: int, note: str
) -> int:
    """Apply an accepted amendment's text as the next version; return its number."""
    _apply_text(proposal, title, proposal.summary, body)
    proposal.version += 1
    proposal.last_activity_at = utcnow()
    _snapshot(proposal, actor, note, amendment_id=amendment_id)
    return proposal.version


def _record_transition(
    proposal: Proposal,
    actor: Actor | None,
    action: str,
    from_state: str | None,
    to_state: str,
    reason: str = "",
) -> None:
    db.session.add(
        ProposalTransition(
            proposal_id=proposal.id,
            action=action,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            user_id=actor.user.id if actor else None,
            actor_id=actor.stakeholder.id if actor else None,
        )
    )


def transition_proposal(
    actor: Actor | None,
    proposal: Proposal,
    action: str,
    reason: str = "",
    *,
    target: str | None = None,
    system: bool = False,
) -> str:
    """Move a proposal through its lifecycle; refuse illegal moves with a clear message."""
    roles = {"system"} if system else perm.roles_for(actor.user, actor.stakeholder.id, proposal)
    try:
        new_state = lifecycle.transition(
            proposal.kind,
            proposal.status,
            action,
            roles,
            reason=reason.strip() or None,
            target=target,
        )
    except lifecycle.LifecycleError as exc:
        raise DomainError(
            _lifecycle_message(exc), status=403 if exc.code == "forbidden" else 409
        ) from exc
    old_state, was_public = proposal.status, lifecycle.is_public(proposal.kind, proposal.status)
    proposal.status = new_state
    proposal.last_activity_at = utcnow()
    _record_transition(proposal, actor, action, old_state, new_state, reason.strip())
    if system and is_decision(proposal, action):
        _record_decision(proposal, None, decision.draft(proposal, action, conditions=False))
    audit.record(
        f"proposal.{action}",
        "proposal",
        proposal.id,
        community_id=proposal.community_id,
        is_public=proposal.visibility == Visibility.PUBLIC
        and lifecycle.is_public(proposal.kind, new_state),
        data={
            "from": old_state,
            "to": new_state,
            **({"reason": r} if (r := reason.strip()) else {}),
        },
        **(actor.audit_ids if actor else {}),
    )
    if not was_public and lifecycle.is_public(proposal.kind, new_state):
        _published(proposal, actor)
    signals.proposal_transitioned.send(
        proposal, actor=actor, action=action, from_state=old_state, reason=reason.strip()
    )
    return new_state


def is_decision(proposal: Proposal, action: str) -> bool:
    """Tell whether the action decides the proposal (and so records a decision text)."""
    return proposal.kind == "consultation" and action in DECISIONS


def _record_decision(proposal: Proposal, actor: Actor | None, text: str) -> None:
    proposal.decision_text = text
    proposal.decided_by_id = actor.user.id if actor else None
    proposal.decided_as_id = actor.stakeholder.id if actor else None
    proposal.decided_at = utcnow()


def decide(
    actor: Actor, proposal: Proposal, action: str, text: str, tie_acknowledged: bool = False
) -> str:
    """Adopt or reject a proposal with a decision text citing its evidence (tie rule applies)."""
    if not is_decision(proposal, action):
        raise DomainError(gettext("Choose to adopt or to reject."))
    text = text.strip()
    if (message := decision.problem(proposal, text, tie_acknowledged)) is not None:
        raise DomainError(message, field="text")
    new_state = transition_proposal(actor, proposal, action, text)
    _record_decision(proposal, actor, text)
    return new_state


def _lifecycle_message(exc: lifecycle.LifecycleError) -> str:
    params = {}
    for key, value in exc.params.items():
        labels = lifecycle.PARAM_LABELS.get(key)
        params[key] = gettext(labels[value]) if labels and value in labels else value
    return gettext(exc.message) % params


def follow(actor: Actor, proposal: Proposal) -> None:
    """Follow a proposal (idempotent)."""
    exists = db.session.scalar(
        sa.select(Follow.id).where(
            Follow.proposal_id == proposal.id, Follow.user_id == actor.user.id
        )
    )
    if exists is None:
        db.session.add(Follow(proposal_id=proposal.id, user_id=actor.user.id))
        db.session.flush()


def unfollow(actor: Actor, proposal: Proposal) -> None:
    """Stop following a proposal."""
    db.session.execute(
        sa.delete(Follow).where(Follow.proposal_id == proposal.id, Follow.user_id == actor.user.id)
    )


def touch(proposal: Proposal) -> None:
    """Record activity on a proposal (for sorting by most active)."""
    proposal.last_activity_at = utcnow()
