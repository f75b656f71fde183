"""Conflicts of interest: ties between panel members and opened bidders found in the network,
and the members' declarations (and recusals)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from coord.db import db
from coord.errors import Conflict, NotAllowed
from coord.models import User
from coord.text import clean_text
from proposals.tenders import clock
from proposals.tenders.models import ConflictDeclaration, Score, Tender
from proposals.tenders.services import (
    panelist_for,
    panelists,
    record_event,
    refusal,
    require_status,
    stakeholder_names,
)
from stakeholders.models import Membership, MembershipStatus, Relation, RelationStatus, Stakeholder
from stakeholders.network import analysis as network


def _identity_and_orgs(user_ids: Iterable[int]) -> dict[int, set[int]]:
    """Map each user to their own resident identity and the organisations they belong to."""
    ids = list(user_ids)
    rv: dict[int, set[int]] = {u: set() for u in ids}
    for sid, uid in db.session.execute(
        sa.select(Stakeholder.id, Stakeholder.user_id).where(Stakeholder.user_id.in_(ids or [0]))
    ):
        rv[uid].add(sid)
    for uid, org in db.session.execute(
        sa.select(Membership.user_id, Membership.organisation_id).where(
            Membership.user_id.in_(ids or [0]), Membership.status == MembershipStatus.ACTIVE
        )
    ):
        rv[uid].add(org)
    return rv


def conflict_paths(
    user_ids: Iterable[int], bidder_ids: Iterable[int], max_hops: int = 2
) -> dict[tuple[int, int], list[list[dict[str, Any]]]]:
    """Find ties of at most `max_hops` between each user and each bidder.

    A user's nodes are their resident identity and the organisations they belong to. Ties
    are declared relations of the conflict types (membership, affiliation, contract,
    alliance; any status but retracted) and organisation memberships (a member's identity —
    the organisation). Returns {(user_id, bidder_id): [path, …]}, each path a list of
    steps {"source", "target", "type"} with stakeholder ids. This is the one place to swap
    for the network service's `conflict_of_interest` when it exists.
    """
    starts = _identity_and_orgs(user_ids)
    bidders = set(bidder_ids)
    edges: list[tuple[int, int, str, str]] = []
    for s, t, kind in db.session.execute(
        sa.select(Relation.source_id, Relation.target_id, Relation.type).where(
            Relation.type.in_(network.CONFLICT_TYPES), Relation.status != RelationStatus.RETRACTED
        )
    ):
        edges.append((s, t, str(kind), ""))
    members = db.session.execute(
        sa.select(Stakeholder.id, Membership.organisation_id)
        .join(Membership, Membership.user_id == Stakeholder.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE)
    ).all()
    edges.extend((identity, org, "membership", "") for identity, org in members)
    node_ids = {e[0] for e in edges} | {e[1] for e in edges} | bidders
    node_ids |= {s for nodes in starts.values() for s in nodes}
    kinds = dict(
        db.session.execute(
            sa.select(Stakeholder.id, Stakeholder.kind).where(Stakeholder.id.in_(node_ids or [0]))
        ).all()
    )
    nodes = [(i, str(kinds[i])) for i in node_ids if i in kinds]
    edges = [e for e in edges if e[0] in kinds and e[1] in kinds and e[0] != e[1]]
    rv: dict[tuple[int, int], list[list[dict[str, Any]]]] = {}
    for user_id, own in starts.items():
        for bidder in bidders:
            found: list[list[dict[str, Any]]] = []
            seen: set[tuple] = set()
            if bidder in own:
                found.append([{"source": bidder, "target": bidder, "type": "member"}])
            for start in sorted(own - {bidder}):
                for path in network.conflict_paths(nodes, edges, start, bidder, max_hops=max_hops):
                    inner = [s.target for s in path.steps[:-1]]
                    if any(n in own for n in inner):
                        continue  # found shorter from that node
                    key = tuple((s.source, s.target, s.type) for s in path.steps)
                    if key not in seen:
                        seen.add(key)
                        found.append(
                            [
                                {"source": s.source, "target": s.target, "type": s.type}
                                for s in path.steps
                            ]
                        )
            if found:
                rv[(user_id, bidder)] = found
    return rv


def find_conflicts(tender: Tender, bidder_ids: set[int]) -> list[ConflictDeclaration]:
    """Search the network for ties between each panel member and each opened bidder."""
    seats = panelists(tender)
    found = conflict_paths([s.user_id for s in seats], bidder_ids)
    names = stakeholder_names(
        {
            n
            for paths in found.values()
            for p in paths
            for s in p
            for n in (s["source"], s["target"])
        }
    )
    rv = []
    for (user_id, bidder_id), paths in sorted(found.items()):
        for path in paths:
            for step in path:
                step["source_name"] = names.get(step["source"], "")
                step["target_name"] = names.get(step["target"], "")
        row = ConflictDeclaration(
            tender_id=tender.id, user_id=user_id, bidder_id=bidder_id, paths=paths
        )
        db.session.add(row)
        rv.append(row)
    db.session.flush()
    return rv


def declarations(tender: Tender, user: User | None = None) -> list[ConflictDeclaration]:
    """Return the flagged pairs of the tender (of one member if `user` is given)."""
    query = sa.select(ConflictDeclaration).where(ConflictDeclaration.tender_id == tender.id)
    if user is not None:
        query = query.where(ConflictDeclaration.user_id == user.id)
    return db.session.scalars(query.order_by(ConflictDeclaration.id)).all()


def declare_conflicts(user: User, tender: Tender, statement: str, *, recuse: bool) -> None:
    """A panel member declares their flagged ties (a statement) and may recuse themself."""
    seat = panelist_for(user, tender)
    if seat is None:
        raise NotAllowed(str(_l("Only members of the evaluation panel declare here.")))
    require_status(
        tender,
        "opened",
        message=_l("Declarations are made after opening and before the evaluation is complete."),
    )
    if seat.recused_at is not None:
        raise Conflict(str(_l("You have recused yourself from this evaluation.")))
    statement = clean_text(statement or "").strip()
    if not 1 <= len(statement) <= 2000:
        raise refusal(
            _l("Write a statement about these ties (up to 2000 characters)."), "statement"
        )
    rows = declarations(tender, user)
    if not rows and not recuse:
        raise refusal(_l("No tie was found for you: there is nothing to declare."), status=409)
    now = clock.now()
    for row in rows:
        row.statement, row.declared_at, row.recused = statement, now, recuse
    if rows:
        record_event(
            "tender.conflict_declare",
            tender,
            None,
            {"bidders": [r.bidder_id for r in rows], "recused": recuse},
            user=user,
        )
    if recuse:
        seat.recused_at = now
        db.session.execute(
            sa.delete(Score).where(Score.tender_id == tender.id, Score.user_id == user.id)
        )
        record_event("tender.recuse", tender, None, {"share_index": seat.share_index}, user=user)
