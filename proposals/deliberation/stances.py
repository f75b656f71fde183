"""Stances from deliberation for the stakeholder network (see `stakeholders.network.stances`).

Two stance sources, from public behaviour only — published proposals with public
visibility that are not hidden (`proposals.stances.public_clause`), and their visible
comments:

* positions: ``proposal/<id>``, support and conditional support +1, oppose -1, neutral 0;
* comments and reactions: ``proposal/<id>/comment/<id>``, the author +1 (a comment speaks
  for its author, as in Pol.is), agree +1, disagree -1, pass 0.

New positions and comments mark the community's network as changed. `init_app` registers
the sources and connects the receivers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from coord.db import db
from proposals.deliberation.models import (
    Comment,
    CommentReaction,
    Position,
    PositionStance,
    Reaction,
)
from proposals.models import Proposal
from proposals.stances import proposals_version, public_proposal_ids
from stakeholders.network import services as network_service

POSITION_VALUES = {
    PositionStance.SUPPORT: 1,
    PositionStance.CONDITIONAL: 1,
    PositionStance.OPPOSE: -1,
    PositionStance.NEUTRAL: 0,
}
REACTION_VALUES = {Reaction.AGREE: 1, Reaction.DISAGREE: -1, Reaction.PASS: 0}


def _visible_comments(community_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        Comment.proposal_id.in_(public_proposal_ids(community_id)),
        Comment.deleted_at.is_(None),
        Comment.hidden_reason.is_(None),
    )


def raw_rows(query: sa.Select) -> list[tuple]:
    """Run a column query and return the driver's plain tuples (no per-row processing).

    Only for columns whose raw values are usable as they are (ids, numbers, strings, enums
    stored as their values): these can be many rows.
    """
    result = db.session.connection().execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _utc(value: Any) -> datetime | None:
    """A stored UTC timestamp as the driver returns it (text on SQLite), timezone-aware."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_POSITION_VALUES = {k.value: v for k, v in POSITION_VALUES.items()}
_REACTION_VALUES = {k.value: v for k, v in REACTION_VALUES.items()}


def position_stances(community_id: int) -> Iterator[tuple]:
    """Yield (stakeholder, proposal item, value, when) for public positions."""
    rows = raw_rows(
        sa.select(
            Position.stakeholder_id, Position.proposal_id, Position.stance, Position.updated_at
        )
        .where(Position.proposal_id.in_(public_proposal_ids(community_id)))
        .order_by(Position.id)
    )
    for sid, pid, stance, when in rows:
        yield sid, f"proposal/{pid}", _POSITION_VALUES[stance], _utc(when)


def comment_stances(community_id: int) -> Iterator[tuple]:
    """Yield the authors' own stances and the reactions on visible comments."""
    authors = raw_rows(
        sa.select(Comment.actor_id, Comment.proposal_id, Comment.id, Comment.created_at)
        .where(_visible_comments(community_id))
        .order_by(Comment.id)
    )
    for sid, pid, cid, when in authors:
        yield sid, f"proposal/{pid}/comment/{cid}", 1, _utc(when)
    reactions = raw_rows(
        sa.select(
            CommentReaction.actor_id,
            CommentReaction.proposal_id,
            CommentReaction.comment_id,
            CommentReaction.value,
            CommentReaction.updated_at,
        )
        .join(Comment, Comment.id == CommentReaction.comment_id)
        .where(_visible_comments(community_id))
        .order_by(CommentReaction.id)
    )
    for sid, pid, cid, value, when in reactions:
        yield sid, f"proposal/{pid}/comment/{cid}", _REACTION_VALUES[value], _utc(when)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def position_version(community_id: int) -> list:
    """Change marker of the community's public positions (one query)."""
    row = db.session.execute(
        sa.select(
            sa.func.count(), sa.func.max(Position.id), sa.func.max(Position.updated_at)
        ).where(Position.proposal_id.in_(public_proposal_ids(community_id)))
    ).one()
    return [row[0], row[1], _iso(row[2]), proposals_version(community_id)]


def comment_version(community_id: int) -> list:
    """Change marker of the community's visible comments and reactions (one query)."""
    visible = _visible_comments(community_id)
    reactions = sa.select(CommentReaction.id).join(
        Comment, Comment.id == CommentReaction.comment_id
    )
    row = db.session.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(Comment).where(visible).scalar_subquery(),
            sa.select(sa.func.max(Comment.id)).where(visible).scalar_subquery(),
            reactions.with_only_columns(sa.func.count()).where(visible).scalar_subquery(),
            reactions.with_only_columns(sa.func.max(CommentReaction.id))
            .where(visible)
            .scalar_subquery(),
            reactions.with_only_columns(sa.func.max(CommentReaction.updated_at))
            .where(visible)
            .scalar_subquery(),
        )
    ).one()
    return [*(str(v) for v in row), proposals_version(community_id)]


def _mark(community_id: int | None) -> None:
    if community_id is not None:
        network_service.mark_dirty([community_id])


def on_position(position: Position, **extra) -> None:
    """Mark the network of a position's community as changed."""
    proposal = db.session.get(Proposal, position.proposal_id)
    _mark(proposal.community_id if proposal else None)


def on_comment(comment: Comment, **extra) -> None:
    """Mark the network of a comment's community as changed."""
    proposal = db.session.get(Proposal, comment.proposal_id)
    _mark(proposal.community_id if proposal else None)
