"""Amendments: proposed new texts of a proposal, their supporters and the owner's decision.

An amendment is written against a version (`base_version`, the current one when it was
written). Accepting it makes the next version through
`services.new_version_from_amendment`. When the proposal's text changed since the base
version, the amendment and the current text are merged three ways (`proposals.deliberation.merge`);
where they conflict, the owner must submit a resolved text without conflict markers.
Accepting marks the conditions of positions that point to the amendment as met.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from coord import audit, signals
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.text import clean_text, render_markdown
from proposals import decision, lifecycle, services
from proposals import permissions as perm
from proposals.deliberation import merge, positions, signatures
from proposals.deliberation.models import Amendment, AmendmentStatus, AmendmentSupport
from proposals.deliberation.permissions import can_decide_amendments
from proposals.diff import diff_lines
from proposals.models import Proposal, ProposalVersion, Visibility
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

MAX_TITLE = 120
MAX_BODY = 50_000
MAX_RATIONALE = 2000
MAX_REASON = 500

STATUS_LABELS = {
    "open": _l("Open"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}


@dataclass(frozen=True)
class AmendmentRow:
    """An amendment with the stakeholder who proposed it."""

    amendment: Amendment
    stakeholder: Stakeholder


@dataclass(frozen=True)
class AcceptPlan:
    """What accepting an amendment would make of the proposal's text now."""

    version: int  # the proposal's current version, checked again on submission
    is_stale: bool  # written against an older version whose text changed since
    title: str  # the resulting title (with conflict markers when `title_conflict`)
    body: str  # the resulting body (with conflict markers where the texts conflict)
    conflicts: list[merge.Conflict]
    title_conflict: bool
    chunks: tuple[merge.Chunk, ...] = ()
    sources: tuple[str, ...] = ()  # texts whose own marker-like lines are not leftovers

    @property
    def needs_resolution(self) -> bool:
        return bool(self.conflicts) or self.title_conflict


def _check_open_proposal(proposal: Proposal) -> None:
    if not lifecycle.is_open_for_discussion(proposal.kind, proposal.status):
        raise Conflict(str(_l("This proposal is not open for amendments.")))


def _check_open(amendment: Amendment) -> None:
    if amendment.status != AmendmentStatus.OPEN:
        raise Conflict(str(_l("This amendment has already been decided or withdrawn.")))


def version_text(proposal: Proposal, number: int) -> tuple[str, str] | None:
    """Return the title and body of one version of a proposal."""
    row = db.session.execute(
        sa.select(ProposalVersion.title, ProposalVersion.body_source).where(
            ProposalVersion.proposal_id == proposal.id, ProposalVersion.number == number
        )
    ).first()
    return (row.title, row.body_source) if row else None


def _is_public(proposal: Proposal) -> bool:
    return proposal.visibility == Visibility.PUBLIC


def propose_amendment(actor: Actor, proposal: Proposal, data: dict[str, Any]) -> Amendment:
    """Propose a new title and body against a version of the proposal, with a rationale,
    signed as `data["signature"]` asks (see `signatures.sign`)."""
    _check_open_proposal(proposal)
    if not perm.can_participate(actor.user, proposal):
        raise NotAllowed(str(_l("You cannot amend this proposal.")))
    base_version = data.get("base_version") or proposal.version
    if not isinstance(base_version, int) or not 1 <= base_version <= proposal.version:
        raise DomainError(str(_l("Amend an existing version of the proposal.")))
    title = clean_text(data.get("title") or "").strip()
    body = clean_text(data.get("body") or "")
    rationale = clean_text(data.get("rationale") or "").strip()
    if not title:
        raise DomainError(str(_l("Give the proposal a title.")), field="title")
    if len(title) > MAX_TITLE:
        raise DomainError(
            str(_l("The title may have at most %(n)d characters.", n=MAX_TITLE)), field="title"
        )
    if len(body) > MAX_BODY:
        raise DomainError(
            str(_l("The text may have at most %(n)d characters.", n=MAX_BODY)), field="body"
        )
    if not rationale:
        raise DomainError(str(_l("Explain why the text should change.")), field="rationale")
    if len(rationale) > MAX_RATIONALE:
        raise DomainError(
            str(_l("The rationale may have at most %(n)d characters.", n=MAX_RATIONALE)),
            field="rationale",
        )
    base = version_text(proposal, base_version)
    if base is not None and _same_text(base, (title, body)):
        raise DomainError(str(_l("The amendment does not change the text.")), field="body")
    signed = signatures.sign(actor, proposal, data.get("signature"))
    amendment = Amendment(
        proposal_id=proposal.id,
        base_version=base_version,
        user_id=actor.user.id,
        actor_id=actor.stakeholder.id,
        title=title,
        body_source=body,
        body_html=render_markdown(body),
        rationale=rationale,
        status=AmendmentStatus.OPEN,
        support_count=0,
    )
    db.session.add(amendment)
    db.session.flush()
    services.follow(actor, proposal)
    services.touch(proposal)
    audit.record(
        "amendment.propose",
        "amendment",
        amendment.id,
        community_id=proposal.community_id,
        is_public=_is_public(proposal),
        data={
            "proposal_id": proposal.id,
            "base_version": base_version,
            **signatures.audit_note(signed),
        },
        **actor.audit_ids,
    )
    return amendment


def support_amendment(actor: Actor, amendment: Amendment) -> None:
    """Support an open amendment (once per stakeholder; not one's own)."""
    proposal = db.session.get(Proposal, amendment.proposal_id)
    _check_open(amendment)
    if not perm.can_participate(actor.user, proposal):
        raise NotAllowed(str(_l("You cannot take part in this proposal now.")))
    if actor.stakeholder.id == amendment.actor_id:
        raise NotAllowed(str(_l("You cannot support your own amendment.")))
    already = db.session.scalar(
        sa.select(AmendmentSupport.id).where(
            AmendmentSupport.amendment_id == amendment.id,
            AmendmentSupport.stakeholder_id == actor.stakeholder.id,
        )
    )
    if already is not None:
        raise Conflict(str(_l("You already support this amendment.")))
    signatures.sign(actor, proposal)
    db.session.add(
        AmendmentSupport(
            amendment_id=amendment.id, stakeholder_id=actor.stakeholder.id, user_id=actor.user.id
        )
    )
    try:
        db.session.flush()
    except IntegrityError as exc:  # a parallel request of the same stakeholder
        raise Conflict(str(_l("You already support this amendment."))) from exc
    db.session.execute(
        sa.update(Amendment)
        .where(Amendment.id == amendment.id)
        .values(support_count=Amendment.support_count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(amendment, ["support_count"])
    services.touch(proposal)
    audit.record(
        "amendment.support",
        "amendment",
        amendment.id,
        community_id=proposal.community_id,
        data={"proposal_id": proposal.id},
        **actor.audit_ids,
    )


def withdraw_amendment(actor: Actor, amendment: Amendment) -> None:
    """Withdraw an open amendment (only the stakeholder who proposed it)."""
    if actor.stakeholder.id != amendment.actor_id:
        raise NotAllowed(str(_l("Only the stakeholder who proposed it can withdraw it.")))
    _check_open(amendment)
    proposal = db.session.get(Proposal, amendment.proposal_id)
    amendment.status = AmendmentStatus.WITHDRAWN
    amendment.decided_by_id = actor.user.id
    amendment.decided_at = utcnow()
    signed = signatures.current_mode(proposal.id, actor.stakeholder.id)
    audit.record(
        "amendment.withdraw",
        "amendment",
        amendment.id,
        community_id=proposal.community_id,
        is_public=_is_public(proposal),
        data={"proposal_id": proposal.id, **signatures.audit_note(signed)},
        **actor.audit_ids,
    )


def accept_plan(amendment: Amendment, proposal: Proposal) -> AcceptPlan:
    """Work out the text that accepting the amendment now would give (one query at most)."""
    theirs = (amendment.title, amendment.body_source)
    ours = (proposal.title, proposal.body_source)
    if amendment.base_version == proposal.version:
        return AcceptPlan(proposal.version, False, *theirs, [], False)
    base = version_text(proposal, amendment.base_version) or ("", "")
    if _same_text(base, ours):
        return AcceptPlan(proposal.version, False, *theirs, [], False)
    labels = {
        "ours_label": gettext("current text (version %(n)d)", n=proposal.version),
        "theirs_label": gettext("amendment #%(n)d", n=amendment.id),
    }
    body = merge.merge3(base[1], ours[1], theirs[1], **labels)
    title = merge.merge3(base[0], ours[0], theirs[0], **labels)
    return AcceptPlan(
        version=proposal.version,
        is_stale=True,
        title=title.text.strip("\n") if title.clean else theirs[0],
        body=body.text,
        conflicts=body.conflicts,
        title_conflict=not title.clean,
        chunks=body.chunks,
        sources=(ours[1], theirs[1]),
    )


def _same_text(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return a[0] == b[0] and a[1].strip("\n") == b[1].strip("\n")


def _checked_note(note: str) -> str:
    note = clean_text(note).strip()
    if len(note) > MAX_REASON:
        raise DomainError(
            str(_l("The note may have at most %(n)d characters.", n=MAX_REASON)), field="note"
        )
    return note


def _resolved_text(plan: AcceptPlan, title: str | None, body: str | None) -> tuple[str, str]:
    """Check the owner's resolution of conflicting texts: no markers left, within limits."""
    new_title = clean_text(title or "").strip()
    new_body = clean_text(body or "")
    if not new_body.strip() and not new_title:
        raise DomainError(
            str(_l("The texts conflict. Resolve the conflicts and submit the text.")),
            field="body",
        )
    if not new_title or merge.leftover_markers(new_title):
        raise DomainError(str(_l("Give the resolved title.")), field="title")
    if len(new_title) > MAX_TITLE:
        raise DomainError(
            str(_l("The title may have at most %(n)d characters.", n=MAX_TITLE)),
            field="title",
        )
    if len(new_body) > MAX_BODY:
        raise DomainError(
            str(_l("The text may have at most %(n)d characters.", n=MAX_BODY)), field="body"
        )
    left = merge.leftover_markers(new_body, *plan.sources)
    if left:
        raise DomainError(
            str(
                _l(
                    "Remove the conflict markers (<<<<<<<, =======, >>>>>>>) and keep"
                    " the text you want. First marker on line %(n)d.",
                    n=left[0],
                )
            ),
            field="body",
        )
    return new_title, new_body


def accept_amendment(
    actor: Actor,
    amendment: Amendment,
    *,
    version: int | None = None,
    title: str | None = None,
    body: str | None = None,
    note: str = "",
) -> int:
    """Accept an amendment: its text becomes the next version; return that version's number.

    When the amendment conflicts with changes made since its base version, `title` and
    `body` must carry the owner's resolution (no conflict markers left), and `version` the
    version they resolved against (refused if the proposal changed in the meantime).
    """
    proposal = db.session.get(Proposal, amendment.proposal_id)
    if not can_decide_amendments(actor, proposal):
        raise NotAllowed(str(_l("Only the proposal's owner decides on amendments.")))
    _check_open(amendment)
    _check_open_proposal(proposal)
    if version is not None and version != proposal.version:
        raise Conflict(
            str(_l("The proposal has changed in the meantime. Please check the text again."))
        )
    note = _checked_note(note)
    plan = accept_plan(amendment, proposal)
    new_title, new_body = plan.title, plan.body
    if plan.needs_resolution:
        new_title, new_body = _resolved_text(plan, title, body)
    number = services.new_version_from_amendment(
        actor, proposal, new_title, new_body, amendment.id, amendment.rationale[:300]
    )
    now = utcnow()
    amendment.status = AmendmentStatus.ACCEPTED
    amendment.decided_by_id = actor.user.id
    amendment.decided_at = now
    amendment.decision_reason = note
    amendment.resulting_version = number
    met = positions.mark_conditions_met(amendment, now)
    audit.record(
        "amendment.accept",
        "amendment",
        amendment.id,
        community_id=proposal.community_id,
        is_public=_is_public(proposal),
        data={
            "proposal_id": proposal.id,
            "version": number,
            "merged": plan.is_stale,
            "conditions_met": met,
        },
        **actor.audit_ids,
    )
    signals.amendment_decided.send(amendment, actor=actor)
    return number


def reject_amendment(actor: Actor, amendment: Amendment, reason: str) -> None:
    """Reject an amendment, with a reason (only the proposal's owner)."""
    proposal = db.session.get(Proposal, amendment.proposal_id)
    if not can_decide_amendments(actor, proposal):
        raise NotAllowed(str(_l("Only the proposal's owner decides on amendments.")))
    _check_open(amendment)
    reason = clean_text(reason or "").strip()
    if not reason:
        raise DomainError(str(_l("Give a reason for the rejection.")), field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(
            str(_l("The reason may have at most %(n)d characters.", n=MAX_REASON)),
            field="reason",
        )
    amendment.status = AmendmentStatus.REJECTED
    amendment.decided_by_id = actor.user.id
    amendment.decided_at = utcnow()
    amendment.decision_reason = reason
    services.touch(proposal)
    audit.record(
        "amendment.reject",
        "amendment",
        amendment.id,
        community_id=proposal.community_id,
        is_public=_is_public(proposal),
        data={"proposal_id": proposal.id},
        **actor.audit_ids,
    )
    signals.amendment_decided.send(amendment, actor=actor)


def amendment_diff(amendment: Amendment, proposal: Proposal) -> dict[str, Any]:
    """Return the base text and a line diff of base vs proposed body (one query)."""
    base = version_text(proposal, amendment.base_version) or ("", "")
    return {
        "base_title": base[0],
        "title_changed": base[0] != amendment.title,
        "title_lines": diff_lines(base[0], amendment.title),
        "diff": diff_lines(base[1], amendment.body_source),
    }


def supporters(amendment: Amendment) -> list[Stakeholder]:
    """Return the stakeholders who support an amendment, in the order they did."""
    return list(
        db.session.scalars(
            sa.select(Stakeholder)
            .join(AmendmentSupport, AmendmentSupport.stakeholder_id == Stakeholder.id)
            .where(AmendmentSupport.amendment_id == amendment.id)
            .order_by(AmendmentSupport.created_at, AmendmentSupport.id)
        )
    )


def rows_for(proposal: Proposal) -> list[AmendmentRow]:
    """Load a proposal's amendments with their authors in one query (open ones first)."""
    is_open = sa.case((Amendment.status == AmendmentStatus.OPEN, 0), else_=1)
    rows = db.session.execute(
        sa.select(Amendment, Stakeholder)
        .join(Stakeholder, Stakeholder.id == Amendment.actor_id)
        .where(Amendment.proposal_id == proposal.id)
        .order_by(is_open, Amendment.created_at.desc(), Amendment.id.desc())
    ).all()
    return [AmendmentRow(a, s) for a, s in rows]


def open_choices(proposal: Proposal) -> list[tuple[int, str]]:
    """Return (id, label source) pairs of a proposal's open amendments, for a select."""
    rows = db.session.execute(
        sa.select(Amendment.id, Amendment.rationale)
        .where(Amendment.proposal_id == proposal.id, Amendment.status == AmendmentStatus.OPEN)
        .order_by(Amendment.id)
    ).all()
    return [(r.id, r.rationale) for r in rows]


def accepted_evidence(proposal: Proposal) -> decision.Evidence | None:
    """Summarise the proposal's accepted amendments for its decision (None when there are none)."""
    accepted = db.session.scalars(
        sa.select(Amendment)
        .where(Amendment.proposal_id == proposal.id, Amendment.status == AmendmentStatus.ACCEPTED)
        .order_by(Amendment.id)
    ).all()
    if not accepted:
        return None
    return decision.Evidence(
        gettext(
            "Accepted amendments: %(list)s.",
            list=gettext("; ").join(
                f"“{a.title}” (v{a.resulting_version})" if a.resulting_version else f"“{a.title}”"
                for a in accepted
            ),
        )
    )
