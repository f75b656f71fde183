"""Residents' signatures on proposals: record the choice, load the public labels of a page.

Every contribution of a resident to a proposal (comment, reply, position, amendment,
support of an amendment) goes through `sign` first: the first one records the signature
(the form's choice, else the account's default), later ones keep it or switch it from
`resident` to `named`. Pages load every label of a proposal in one query (`labels_for`);
the rules themselves are pure (`proposals.deliberation.attribution`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from coord import audit
from coord.db import db, utcnow
from coord.errors import DomainError
from coord.models import Community, Signature
from coord.notifications import stakeholder_ref, translatable
from proposals.deliberation import attribution
from proposals.deliberation.models import ProposalSignature
from proposals.models import Proposal
from stakeholders.acting import Actor
from stakeholders.models import Kind, ResidenceStatus, ResidentProfile, Stakeholder


@dataclass(frozen=True)
class SignedAs:
    """A building-signed author as others see them: the translated label and its facts."""

    text: str
    verified: bool
    building: str

    def json(self) -> dict[str, Any]:
        """Return the author of a JSON body: the label, never the name or the id."""
        return {
            "label": self.text,
            "kind": Kind.RESIDENT.value,
            "verified": self.verified,
            "building": self.building or None,
        }


def text_of(label: attribution.Label) -> str:
    """Translate a label into the current language."""
    return _(label.msgid, **label.params)


def _signed_as(label: attribution.Label) -> SignedAs:
    return SignedAs(text_of(label), label.verified, label.building)


# -- Recording the choice ----------------------------------------------------------------------


def current_mode(proposal_id: int, stakeholder_id: int) -> Signature | None:
    """Return how a stakeholder signs a proposal (None before their first contribution)."""
    return db.session.scalar(
        sa.select(ProposalSignature.mode).where(
            ProposalSignature.proposal_id == proposal_id,
            ProposalSignature.stakeholder_id == stakeholder_id,
        )
    )


def _refusal(wanted: Any) -> DomainError:
    if wanted in attribution.MODES:
        return DomainError(
            _(
                "You signed this proposal by your name and readers have seen it: it cannot"
                " be signed as a resident of your building now."
            ),
            field="signature",
        )
    return DomainError(_("Choose how to sign from the list."), field="signature")


def _row(proposal: Proposal, stakeholder_id: int) -> ProposalSignature | None:
    return db.session.scalar(
        sa.select(ProposalSignature).where(
            ProposalSignature.proposal_id == proposal.id,
            ProposalSignature.stakeholder_id == stakeholder_id,
        )
    )


def sign(actor: Actor, proposal: Proposal, wanted: Any = None) -> Signature | None:
    """Apply the acting resident's signature to their contribution (None: an organisation).

    `wanted` (`named`, `resident` or None for "as before, else the account's default")
    is recorded at the first contribution; later, only `resident` → `named` changes it.
    """
    wanted = wanted or None
    if actor.stakeholder.kind != Kind.RESIDENT:
        if wanted not in (None, Signature.NAMED.value):
            raise DomainError(_("Organisations always sign by their name."), field="signature")
        return None
    row = _row(proposal, actor.stakeholder.id)
    current = row.mode.value if row is not None else None
    try:
        mode = Signature(
            attribution.resolve_mode(current, wanted, actor.user.signature_default or "")
        )
    except (ValueError, PermissionError):
        raise _refusal(wanted) from None
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    ProposalSignature(
                        proposal_id=proposal.id, stakeholder_id=actor.stakeholder.id, mode=mode
                    )
                )
        except IntegrityError:  # a parallel first contribution: its choice stands
            return sign(actor, proposal, None if wanted == Signature.RESIDENT else wanted)
    elif row.mode != mode:
        row.mode, row.changed_at = mode, utcnow()
        audit.record(
            "signature.named",
            "proposal",
            proposal.id,
            community_id=proposal.community_id,
            **actor.audit_ids,
        )
    return mode


def audit_note(mode: Signature | None) -> dict[str, str]:
    """Mark a public audit event whose author signed by building: the supervision page then
    shows "a resident" in place of their name."""
    return {"signed": Signature.RESIDENT.value} if mode == Signature.RESIDENT else {}


# -- Loading labels ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageSignatures:
    """The signatures of one proposal's page, loaded in one query."""

    labels: dict[int, SignedAs]  # building-signed authors → their label
    modes: dict[int, Signature]  # residents who contributed → their signature
    own: SignedAs | None = None  # the viewer's label, were they to sign by building


def _residence(status: Any, building: Any, community: Any) -> attribution.Residence | None:
    if status is None:
        return None
    return attribution.Residence(
        community=community or "",
        building=building or "",
        verified=status == ResidenceStatus.VERIFIED,
        rejected=status == ResidenceStatus.REJECTED,
    )


def _with_residence(source: sa.FromClause, *columns: Any) -> sa.Select:
    """Select `columns` and each stakeholder's residence from `source` (which has them)."""
    return (
        sa.select(
            *columns,
            Stakeholder.id,
            Stakeholder.kind,
            Stakeholder.deleted_at,
            ResidentProfile.status,
            ResidentProfile.building,
            Community.name,
        )
        .select_from(source)
        .outerjoin(ResidentProfile, ResidentProfile.user_id == Stakeholder.user_id)
        .outerjoin(Community, Community.id == ResidentProfile.community_id)
    )


def _label(mode: Any, kind: Any, deleted_at: Any, *residence: Any) -> attribution.Label | None:
    return attribution.public_label(
        getattr(kind, "value", kind),
        deleted_at is not None,
        getattr(mode, "value", mode),
        _residence(*residence),
    )


def labels_for(proposal_id: int, viewer_id: int | None = None) -> PageSignatures:
    """Load the signatures of a proposal, and the label the viewing stakeholder `viewer_id`
    would have, in one query."""
    ids = sa.select(ProposalSignature.stakeholder_id).where(
        ProposalSignature.proposal_id == proposal_id
    )
    if viewer_id is not None:
        ids = sa.union(ids, sa.select(sa.literal(viewer_id)))
    source = sa.outerjoin(
        Stakeholder,
        ProposalSignature,
        sa.and_(
            ProposalSignature.stakeholder_id == Stakeholder.id,
            ProposalSignature.proposal_id == proposal_id,
        ),
    )
    rows = db.session.execute(
        _with_residence(source, ProposalSignature.mode).where(Stakeholder.id.in_(ids))
    ).all()
    labels: dict[int, SignedAs] = {}
    modes: dict[int, Signature] = {}
    own = None
    for mode, sid, *facts in rows:
        if mode is not None:
            modes[sid] = mode
            label = _label(mode, *facts)
            if label is not None:
                labels[sid] = _signed_as(label)
        if sid == viewer_id:
            label = _label(Signature.RESIDENT, *facts)
            own = _signed_as(label) if label is not None else None
    return PageSignatures(labels, modes, own)


def _pair_labels(condition: sa.ColumnElement[bool]) -> list[tuple[int, int, attribution.Label]]:
    source = sa.join(
        ProposalSignature, Stakeholder, Stakeholder.id == ProposalSignature.stakeholder_id
    )
    rows = db.session.execute(
        _with_residence(source, ProposalSignature.proposal_id).where(
            condition, ProposalSignature.mode == Signature.RESIDENT
        )
    ).all()
    return [
        (pid, sid, label)
        for pid, sid, *facts in rows
        if (label := _label(Signature.RESIDENT, *facts)) is not None
    ]


def labels_for_pairs(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], SignedAs]:
    """Map (proposal, stakeholder) pairs to labels where building-signed (one query at most)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    condition = sa.tuple_(ProposalSignature.proposal_id, ProposalSignature.stakeholder_id).in_(
        pairs
    )
    return {(pid, sid): _signed_as(label) for pid, sid, label in _pair_labels(condition)}


def author_param(proposal_id: int, stakeholder_id: int) -> dict[str, Any]:
    """Name an author in a notification as its readers may see them (one query)."""
    rows = _pair_labels(
        sa.and_(
            ProposalSignature.proposal_id == proposal_id,
            ProposalSignature.stakeholder_id == stakeholder_id,
        )
    )
    if rows:
        label = rows[0][2]
        return translatable(label.msgid, **label.params)
    return stakeholder_ref(stakeholder_id)


# -- The choice on contribution forms ---------------------------------------------------------


@dataclass(frozen=True)
class SignatureChoice:
    """What a resident's contribution form offers: their signature so far (None before their
    first contribution), the option to preselect, and the options with their own labels."""

    mode: str | None
    selected: str
    options: list[tuple[str, str]]


def choice_for(actor: Actor | None, page: PageSignatures) -> SignatureChoice | None:
    """Return the signature choice to offer `actor` (None for organisations and visitors)."""
    if actor is None or actor.stakeholder.kind != Kind.RESIDENT or page.own is None:
        return None
    mode = page.modes.get(actor.stakeholder.id)
    current = mode.value if mode is not None else None
    default = actor.user.signature_default or Signature.RESIDENT
    return SignatureChoice(
        mode=current,
        selected=current or getattr(default, "value", default),
        options=[
            (
                Signature.NAMED.value,
                _("By my name (%(name)s)", name=actor.stakeholder.name),
            ),
            (Signature.RESIDENT.value, _("As “%(label)s”", label=page.own.text)),
        ],
    )
