"""Reading deliberation for the home page: conditional positions whose condition was met."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from coord.db import db
from coord.models import User
from coord.tasks import Task
from proposals import lifecycle
from proposals.deliberation.models import Position, PositionStance
from proposals.models import Proposal
from stakeholders.queries import speaker_ids


def _open_for_discussion() -> sa.ColumnElement[bool]:
    return sa.or_(
        *(
            sa.and_(Proposal.kind == kind, Proposal.status == state)
            for kind in lifecycle.KINDS
            for state in lifecycle.STATES[kind]
            if lifecycle.is_open_for_discussion(kind, state)
        )
    )


def condition_tasks(user: User) -> list[Task]:
    """List the user's conditional positions whose condition an accepted amendment met and
    that they have not revisited since."""
    rows = db.session.execute(
        sa.select(Proposal.id, Proposal.title, Proposal.deadline_at)
        .join(Position, Position.proposal_id == Proposal.id)
        .where(
            Position.stakeholder_id.in_(speaker_ids(user)),
            Position.stance == PositionStance.CONDITIONAL,
            Position.condition_met_at.is_not(None),
            Position.updated_at < Position.condition_met_at,
            _open_for_discussion(),
        )
        .distinct()
    )
    label = str(_("Condition met"))
    return [
        Task(r.title, url_for("proposals.detail", proposal_id=r.id), r.deadline_at, label)
        for r in rows
    ]
