"""Declared relations between stakeholders: declare, confirm, dispute, verify, retract.

A relation is declared by one side (the *source*: the declarer acts as it) about another
stakeholder of the same community (the *target*). The target's side confirms it or disputes
it; a dispute never deletes anything: the declarer's note and the other side's answer are
both kept and shown. The community's residents committee may verify a relation it has
checked. The declarer may retract it (kept for the record, left out of the network).

Visibility: ``public`` relations are shown to everybody; ``managers`` relations (sensitive
disputes) only to the two sides, to the members of the community's residents committee and
of the street office (`stakeholders.network.permissions`).

Street-level relations (both sides are organisations of the whole street, such as the street
office supervising the property manager) have no community and appear in the network of
every community of the street; all other relations belong to the community they were
declared in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from coord import audit
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.i18n import AUDIT_LABELS
from coord.models import Community, User
from coord.text import clean_text
from stakeholders import permissions as perm
from stakeholders import queries
from stakeholders.acting import Actor
from stakeholders.models import (
    RELATION_SIGNS,
    Kind,
    Relation,
    RelationStatus,
    RelationType,
    RelationVisibility,
    Stakeholder,
)
from stakeholders.network import permissions as network_permissions

MAX_NOTE = 500
MAX_EVIDENCE = 1000
MIN_REASON = 2  # characters: "不实" is a reason

#: Statuses that count in the network (retracted relations are kept for the record only).
LIVE_STATUSES = (
    RelationStatus.CLAIMED,
    RelationStatus.CONFIRMED,
    RelationStatus.DISPUTED,
    RelationStatus.VERIFIED,
)

TYPE_LABELS = {
    "cooperation": _l("cooperation"),
    "alliance": _l("alliance"),
    "contract": _l("service contract"),
    "supervision": _l("supervision"),
    "membership": _l("membership"),
    "affiliation": _l("affiliation"),
    "dispute": _l("dispute"),
    "conflict": _l("conflict"),
}

STATUS_LABELS = {
    "claimed": _l("claimed by one side"),
    "confirmed": _l("confirmed by both sides"),
    "disputed": _l("disputed by the other side"),
    "verified": _l("verified by the residents committee"),
    "retracted": _l("retracted"),
}

VISIBILITY_LABELS = {
    "public": _l("Public"),
    "managers": _l("Residents committee and street office only"),
}

AUDIT_LABELS.update(
    {
        "relation.declare": _l("declared a relation"),
        "relation.confirm": _l("confirmed a relation"),
        "relation.dispute": _l("disputed a relation"),
        "relation.verify": _l("verified a relation"),
        "relation.retract": _l("retracted a relation"),
    }
)


# -- Use cases --------------------------------------------------------------------------------


def _stakeholder(value: Any, field: str) -> Stakeholder:
    stakeholder = None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        stakeholder = db.session.get(Stakeholder, value)
    elif isinstance(value, str) and value.isdigit() and len(value) < 11:
        stakeholder = db.session.get(Stakeholder, int(value))
    if stakeholder is None or stakeholder.is_deleted:
        raise DomainError(str(_l("This stakeholder does not exist or was deleted.")), field=field)
    return stakeholder


def _text(value: Any, limit: int, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DomainError(str(_l("This field must be text.")), field=field)
    rv = clean_text(value).strip()
    if len(rv) > limit:
        raise DomainError(str(_l("Keep this under %(max)d characters.", max=limit)), field=field)
    return rv


def _int_in(value: Any, allowed: Iterable[int]) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value in set(allowed) else None


def _is_street_level(s: Stakeholder) -> bool:
    return s.kind != Kind.RESIDENT and s.community_id is None


def _in_community(community: Community, ids: set[int]) -> set[int]:
    rows = db.session.scalars(
        queries.community_stakeholders(community)
        .with_only_columns(Stakeholder.id)
        .where(Stakeholder.id.in_(ids))
        .order_by(None)
    )
    return set(rows)


def _existing(source_id: int, target_id: int, type_: RelationType) -> list[Relation]:
    return db.session.scalars(
        sa.select(Relation).where(
            Relation.type == type_,
            sa.or_(
                sa.and_(Relation.source_id == source_id, Relation.target_id == target_id),
                sa.and_(Relation.source_id == target_id, Relation.target_id == source_id),
            ),
        )
    ).all()


def declare_relation(actor: Actor, community: Community, data: dict[str, Any]) -> Relation:
    """Declare a relation from the actor's side (`source_id`, default: the acting stakeholder).

    `data`: target_id, type, strength (1–3), optional sign (must be the type's), note,
    evidence, visibility (public | managers). Every refusal raises a DomainError before
    anything is written.
    """
    type_ = _relation_type(data)
    strength = _int_in(data.get("strength", 1), (1, 2, 3))
    if strength is None:
        raise DomainError(str(_l("The strength must be 1, 2 or 3.")), field="strength")
    try:
        visibility = RelationVisibility(data.get("visibility") or RelationVisibility.PUBLIC)
    except ValueError:
        raise DomainError(str(_l("Choose who may see the relation.")), field="visibility") from None
    note = _text(data.get("note"), MAX_NOTE, "note")
    evidence = _text(data.get("evidence"), MAX_EVIDENCE, "evidence")
    source, target = _sides(actor, community, data)
    existing = _existing(source.id, target.id, type_)
    if any(r.status != RelationStatus.RETRACTED for r in existing):
        raise Conflict(
            str(_l("This relation between these two stakeholders was already declared.")),
            field="target_id",
        )
    now = utcnow()
    rv = next((r for r in existing if r.source_id == source.id), None)
    if rv is None:
        rv = Relation(source_id=source.id, target_id=target.id, type=type_, created_at=now)
        db.session.add(rv)
    rv.sign = RELATION_SIGNS[type_]
    rv.strength = strength
    rv.note, rv.evidence, rv.response_note = note, evidence, ""
    rv.visibility = visibility
    rv.status = RelationStatus.CLAIMED
    rv.community_id = (
        None if _is_street_level(source) and _is_street_level(target) else community.id
    )
    rv.declared_by_user_id = actor.user.id
    rv.updated_at = now
    db.session.flush()
    _record("relation.declare", rv, actor.user.id, source.id, {"strength": strength})
    return rv


def _relation_type(data: dict[str, Any]) -> RelationType:
    """Read the type of a declared relation, refusing a sign other than the type's."""
    try:
        type_ = RelationType(data.get("type"))
    except ValueError:
        raise DomainError(str(_l("Choose a type of relation.")), field="type") from None
    expected_sign = RELATION_SIGNS[type_]
    if data.get("sign") not in (None, ""):
        sign = _int_in(data["sign"], (-1, 1))
        if sign is None:
            raise DomainError(str(_l("The sign must be +1 or -1.")), field="sign")
        if sign != expected_sign:
            raise DomainError(
                str(
                    _l(
                        "A relation of type “%(type)s” always has the sign %(sign)s.",
                        type=TYPE_LABELS[type_.value],
                        sign="+1" if expected_sign > 0 else "-1",
                    )
                ),
                field="sign",
            )
    return type_


def _sides(
    actor: Actor, community: Community, data: dict[str, Any]
) -> tuple[Stakeholder, Stakeholder]:
    """Return the source (the actor's side) and the target, both of this community."""
    source_raw = data.get("source_id")
    source = (
        actor.stakeholder if source_raw in (None, "") else _stakeholder(source_raw, "source_id")
    )
    if source.is_deleted:
        raise DomainError(
            str(_l("This stakeholder does not exist or was deleted.")), field="source_id"
        )
    if not perm.can_act_as(actor.user, source):
        raise NotAllowed(
            str(
                _l(
                    "You can only declare relations for yourself or for an organisation "
                    "you belong to."
                )
            ),
            field="source_id",
        )
    target = _stakeholder(data.get("target_id"), "target_id")
    if target.id == source.id:
        raise DomainError(
            str(_l("A stakeholder cannot have a relation with itself.")), field="target_id"
        )
    if _in_community(community, {source.id, target.id}) != {source.id, target.id}:
        raise DomainError(
            str(_l("Both stakeholders must belong to this community.")), field="target_id"
        )
    return source, target


def _record(action: str, relation: Relation, user_id: int, actor_id: int, extra=None) -> None:
    public = relation.visibility == RelationVisibility.PUBLIC
    audit.record(
        action,
        "relation",
        relation.id,
        user_id=user_id,
        actor_id=actor_id,
        community_id=relation.community_id,
        is_public=public,
        data={
            "source_id": relation.source_id,
            "target_id": relation.target_id,
            "type": relation.type.value,
            **(extra or {}),
        },
    )
    mark_changed(relation)


def mark_changed(relation: Relation) -> None:
    """Tell the network service that the relation's communities need a new report."""
    from stakeholders.network import services as network_service

    network_service.mark_dirty(relation_community_ids(relation))


def relation_community_ids(relation: Relation) -> list[int]:
    """Return the communities whose network shows this relation."""
    if relation.community_id is not None:
        return [relation.community_id]
    street = relation.source.street_id
    return list(db.session.scalars(sa.select(Community.id).where(Community.street_id == street)))


def confirm_relation(actor: Actor, relation: Relation, note: str = "") -> None:
    """Confirm a relation declared about the actor's side."""
    if not network_permissions.can_respond(actor.user, relation):
        raise NotAllowed(str(_l("Only the other side of a relation can confirm it.")))
    if relation.status not in (RelationStatus.CLAIMED, RelationStatus.DISPUTED):
        raise Conflict(str(_l("This relation cannot be confirmed in its current state.")))
    relation.status = RelationStatus.CONFIRMED
    if note:
        relation.response_note = _text(note, MAX_NOTE, "note")
    relation.updated_at = utcnow()
    _record("relation.confirm", relation, actor.user.id, relation.target_id)


def dispute_relation(actor: Actor, relation: Relation, note: str) -> None:
    """Dispute a relation declared about the actor's side: both sides stay on record."""
    if not network_permissions.can_respond(actor.user, relation):
        raise NotAllowed(str(_l("Only the other side of a relation can dispute it.")))
    if relation.status not in (RelationStatus.CLAIMED, RelationStatus.CONFIRMED):
        raise Conflict(str(_l("This relation cannot be disputed in its current state.")))
    text = _text(note, MAX_NOTE, "note")
    if len(text) < MIN_REASON:
        raise DomainError(str(_l("Say why you dispute this relation.")), field="note")
    relation.status = RelationStatus.DISPUTED
    relation.response_note = text
    relation.updated_at = utcnow()
    _record("relation.dispute", relation, actor.user.id, relation.target_id)


def verify_relation(actor: Actor, relation: Relation) -> None:
    """Mark a relation as checked by the community's residents committee."""
    committee = network_permissions.verifying_committee(actor.user, relation)
    if committee is None:
        raise NotAllowed(str(_l("Only the community's residents committee verifies relations.")))
    if relation.status in (RelationStatus.VERIFIED, RelationStatus.RETRACTED):
        raise Conflict(str(_l("This relation cannot be verified in its current state.")))
    relation.status = RelationStatus.VERIFIED
    relation.updated_at = utcnow()
    _record("relation.verify", relation, actor.user.id, committee.id)


def retract_relation(actor: Actor, relation: Relation) -> None:
    """Withdraw a relation one's side declared (kept for the record)."""
    if not network_permissions.can_retract(actor.user, relation):
        raise NotAllowed(str(_l("Only the side that declared a relation can retract it.")))
    if relation.status == RelationStatus.RETRACTED:
        raise Conflict(str(_l("This relation was already retracted.")))
    relation.status = RelationStatus.RETRACTED
    relation.updated_at = utcnow()
    _record("relation.retract", relation, actor.user.id, relation.source_id)


# -- Reading ----------------------------------------------------------------------------------


def community_relations_clause(community: Community) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Relation` for the relations of a community's network."""
    street_level = sa.select(Stakeholder.id).where(
        Stakeholder.street_id == community.street_id,
        Stakeholder.community_id.is_(None),
        Stakeholder.kind != Kind.RESIDENT,
    )
    return sa.or_(
        Relation.community_id == community.id,
        sa.and_(Relation.community_id.is_(None), Relation.source_id.in_(street_level)),
    )


def relations_of(stakeholder: Stakeholder, user: User | None) -> list[Relation]:
    """Return the relations of a stakeholder that `user` may see, newest first (one query)."""
    source = sa.orm.aliased(Stakeholder)
    target = sa.orm.aliased(Stakeholder)
    return list(
        db.session.scalars(
            sa.select(Relation)
            .join(source, source.id == Relation.source_id)
            .join(target, target.id == Relation.target_id)
            .options(
                sa.orm.contains_eager(Relation.source.of_type(source)),
                sa.orm.contains_eager(Relation.target.of_type(target)),
            )
            .where(
                sa.or_(Relation.source_id == stakeholder.id, Relation.target_id == stakeholder.id),
                network_permissions.visible_clause(user),
            )
            .order_by(Relation.updated_at.desc(), Relation.id.desc())
        )
    )
