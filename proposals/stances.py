"""What every stance source about proposals shares (see `stakeholders.network.stances`):
which proposals are public, their change marker and the names of their topics.

Families register the sources themselves (`proposals.deliberation.stances`: positions,
comments and reactions; voting: ballots).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import url_for

from coord.db import db
from proposals import lifecycle
from proposals.models import Proposal, Visibility


def public_clause() -> sa.ColumnElement[bool]:
    """A WHERE clause on `Proposal` for what everybody may see: published, public, not hidden."""
    states = [
        sa.and_(
            Proposal.kind == kind,
            Proposal.status.in_(
                [s for s in lifecycle.STATES[kind] if lifecycle.is_public(kind, s)]
            ),
        )
        for kind in lifecycle.KINDS
    ]
    return sa.and_(
        sa.or_(*states),
        Proposal.visibility == Visibility.PUBLIC,
        Proposal.hidden_reason.is_(None),
    )


def public_proposal_ids(community_id: int) -> sa.Select:
    """Select the ids of a community's public proposals."""
    return sa.select(Proposal.id).where(Proposal.community_id == community_id, public_clause())


def proposals_version(community_id: int) -> list:
    """Change marker of the community's public proposals (part of every source's marker)."""
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(Proposal.id)).where(
            Proposal.community_id == community_id, public_clause()
        )
    ).one()
    return [row[0], row[1]]


def proposal_labels(topics: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Name ``proposal/<id>`` topics by the titles of public proposals (one query)."""
    ids = {int(t.split("/")[1]) for t in topics if t.startswith("proposal/") and t[9:].isdigit()}
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Proposal.id, Proposal.title).where(Proposal.id.in_(ids), public_clause())
    )
    return {
        f"proposal/{pid}": (title, url_for("proposals.detail", proposal_id=pid))
        for pid, title in rows
    }
