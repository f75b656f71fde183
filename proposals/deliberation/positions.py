"""Positions: where each stakeholder stands on a proposal, why, and on what conditions.

One position per stakeholder (the acting identity) and proposal; changing it keeps the
previous state as a `PositionRevision`. A conditional position may point to an open
amendment that would meet its condition; when that amendment is accepted,
`condition_met_at` is set (see `proposals.deliberation.amendments.accept_amendment`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from coord import audit, signals
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.text import clean_text
from proposals import permissions as perm
from proposals import services
from proposals.deliberation import signatures
from proposals.deliberation.models import (
    Amendment,
    AmendmentStatus,
    Position,
    PositionRevision,
    PositionStance,
)
from proposals.models import Proposal
from proposals.vocabulary import INTERESTS
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

MAX_TAGS = 5
MAX_TAG_LENGTH = 20
MAX_STATEMENT = 2000
MAX_CONDITIONS = 500

#: Tags are typed as one line: commas (also full-width and the Chinese enumeration
#: comma), semicolons and line breaks separate them.
_TAG_SEPARATORS = re.compile(r"[,，、;；\n]+")

_FIELDS = ("stance", "interests", "tags", "statement", "conditions", "condition_amendment_id")


@dataclass(frozen=True)
class PositionRow:
    """A position with its stakeholder and the amendment its condition points to."""

    position: Position
    stakeholder: Stakeholder
    amendment_status: str | None
    revisions: int = 0

    @property
    def condition_met(self) -> bool:
        return self.position.condition_met_at is not None


def normalise_tags(value: str | list[str] | None) -> list[str]:
    """Split, normalise (NFKC, lower case, inner spaces collapsed, no leading '#') and
    de-duplicate free tags, keeping their order."""
    parts = _TAG_SEPARATORS.split(value) if isinstance(value, str) else list(value or [])
    rv: list[str] = []
    for part in parts:
        tag = unicodedata.normalize("NFKC", clean_text(part)).strip().lstrip("#＃").strip()
        tag = " ".join(tag.lower().split())
        if tag and tag not in rv:
            rv.append(tag)
    return rv


def _validate(data: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise the submitted position; raise DomainError on the first problem."""
    try:
        stance = PositionStance(data.get("stance") or "")
    except ValueError:
        raise DomainError(str(_l("Choose where you stand.")), field="stance") from None
    interests = list(dict.fromkeys(data.get("interests") or []))
    if any(i not in INTERESTS for i in interests):
        raise DomainError(str(_l("Choose interests from the list.")), field="interests")
    tags = normalise_tags(data.get("tags"))
    if len(tags) > MAX_TAGS:
        raise DomainError(str(_l("Give at most %(n)d tags.", n=MAX_TAGS)), field="tags")
    if any(len(t) > MAX_TAG_LENGTH for t in tags):
        raise DomainError(
            str(_l("Each tag may have at most %(n)d characters.", n=MAX_TAG_LENGTH)),
            field="tags",
        )
    statement = clean_text(data.get("statement") or "").strip()
    if len(statement) > MAX_STATEMENT:
        raise DomainError(
            str(_l("The statement may have at most %(n)d characters.", n=MAX_STATEMENT)),
            field="statement",
        )
    conditions = clean_text(data.get("conditions") or "").strip()
    amendment_id = data.get("condition_amendment_id") or None
    if amendment_id is not None and not isinstance(amendment_id, int):
        raise DomainError(
            str(_l("Choose one of this proposal's open amendments.")),
            field="condition_amendment_id",
        )
    if stance != PositionStance.CONDITIONAL:
        conditions, amendment_id = "", None
    elif not conditions:
        raise DomainError(
            str(_l("Say on which conditions you would support the proposal.")),
            field="conditions",
        )
    if len(conditions) > MAX_CONDITIONS:
        raise DomainError(
            str(_l("The conditions may have at most %(n)d characters.", n=MAX_CONDITIONS)),
            field="conditions",
        )
    return {
        "stance": stance,
        "interests": interests,
        "tags": tags,
        "statement": statement,
        "conditions": conditions,
        "condition_amendment_id": amendment_id,
    }


def _check_amendment(proposal: Proposal, amendment_id: int, position: Position | None) -> None:
    """A condition may point to an open amendment of the same proposal (or keep its link)."""
    if position is not None and position.condition_amendment_id == amendment_id:
        return
    row = db.session.execute(
        sa.select(Amendment.proposal_id, Amendment.status).where(Amendment.id == amendment_id)
    ).first()
    if row is None or row.proposal_id != proposal.id or row.status != AmendmentStatus.OPEN:
        raise DomainError(
            str(_l("Choose one of this proposal's open amendments.")),
            field="condition_amendment_id",
        )


def current_position(proposal: Proposal, stakeholder_id: int) -> Position | None:
    """Return a stakeholder's position on a proposal."""
    return db.session.scalar(
        sa.select(Position).where(
            Position.proposal_id == proposal.id, Position.stakeholder_id == stakeholder_id
        )
    )


def _state(position: Position) -> tuple:
    return (
        position.stance,
        list(position.interests or []),
        list(position.tags or []),
        position.statement,
        position.conditions,
        position.condition_amendment_id,
    )


def declare_position(actor: Actor, proposal: Proposal, data: dict[str, Any]) -> Position:
    """Declare or change the acting stakeholder's position, signed as `data["signature"]`
    asks (see `signatures.sign`); keep the previous one as history."""
    if not perm.can_participate(actor.user, proposal):
        raise NotAllowed(str(_l("You cannot declare a position on this proposal now.")))
    clean = _validate(data)
    signatures.sign(actor, proposal, data.get("signature"))
    position = current_position(proposal, actor.stakeholder.id)
    if clean["condition_amendment_id"] is not None:
        _check_amendment(proposal, clean["condition_amendment_id"], position)
    new_state = tuple(clean[k] for k in _FIELDS)
    if position is not None and _state(position) == new_state:
        return position  # nothing changed: no revision, no notification
    changed = position is not None
    if position is None:
        position = Position(proposal_id=proposal.id, stakeholder_id=actor.stakeholder.id)
        db.session.add(position)
    else:
        db.session.add(_revision(position))
        if position.condition_amendment_id != clean["condition_amendment_id"]:
            # "Met" means: the amendment named as meeting the condition was accepted.
            position.condition_met_at = None
    for key, value in clean.items():
        setattr(position, key, value)
    position.user_id = actor.user.id
    position.updated_at = utcnow()
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same stakeholder declared in a parallel request
        raise Conflict(str(_l("Your position was just saved elsewhere. Try again."))) from exc
    services.follow(actor, proposal)
    services.touch(proposal)
    audit.record(
        "position.change" if changed else "position.declare",
        "position",
        position.id,
        community_id=proposal.community_id,
        data={"proposal_id": proposal.id, "stance": position.stance.value},
        **actor.audit_ids,
    )
    signals.position_declared.send(position, actor=actor)
    return position


def _revision(position: Position) -> PositionRevision:
    """Return the position's current state as a revision (dated when it was declared)."""
    return PositionRevision(
        position_id=position.id,
        user_id=position.user_id,
        stance=position.stance,
        interests=list(position.interests or []),
        tags=list(position.tags or []),
        statement=position.statement,
        conditions=position.conditions,
        created_at=position.updated_at,
    )


def history(position: Position) -> list[PositionRevision]:
    """Return the earlier states of a position, newest first."""
    return list(
        db.session.scalars(
            sa.select(PositionRevision)
            .where(PositionRevision.position_id == position.id)
            .order_by(PositionRevision.created_at.desc(), PositionRevision.id.desc())
        )
    )


def mark_conditions_met(amendment: Amendment, when: datetime) -> int:
    """Mark the conditions that point to an accepted amendment as met; return how many."""
    result = db.session.execute(
        sa.update(Position)
        .where(
            Position.condition_amendment_id == amendment.id,
            Position.stance == PositionStance.CONDITIONAL,
            Position.condition_met_at.is_(None),
        )
        .values(condition_met_at=when)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def rows_for(proposal: Proposal) -> list[PositionRow]:
    """Load every position of a proposal with its stakeholder, the status of the amendment
    its condition points to and its number of earlier versions, in one query."""
    revisions = (
        sa.select(sa.func.count(PositionRevision.id))
        .where(PositionRevision.position_id == Position.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Position, Stakeholder, Amendment.status, revisions)
        .join(Stakeholder, Stakeholder.id == Position.stakeholder_id)
        .outerjoin(Amendment, Amendment.id == Position.condition_amendment_id)
        .where(Position.proposal_id == proposal.id)
        .order_by(Position.updated_at.desc(), Position.id.desc())
    ).all()
    return [
        PositionRow(p, s, status.value if status is not None else None, n or 0)
        for p, s, status, n in rows
    ]
