"""Reading polls for the home page: the polls a user may still vote in, the open ones."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from coord.db import db, utcnow
from coord.models import User
from coord.tasks import Highlight, Section, Task
from proposals import permissions as proposal_perm
from proposals.models import Proposal
from stakeholders.models import Role
from stakeholders.queries import speaker_ids
from voting.models import Elector, Participation, Poll, PollStatus


def _open_now() -> sa.ColumnElement[bool]:
    return sa.and_(Poll.status == PollStatus.OPEN, Poll.closes_at > utcnow())


def vote_tasks(user: User) -> list[Task]:
    """List the open polls where the user, or an organisation they vote for, has not voted."""
    voted = sa.select(Participation.id).where(
        Participation.poll_id == Poll.id, Participation.voter_id == Elector.stakeholder_id
    )
    rows = db.session.execute(
        sa.select(Poll.id, Poll.title, Poll.closes_at)
        .join(Elector, Elector.poll_id == Poll.id)
        .where(
            _open_now(),
            Elector.stakeholder_id.in_(speaker_ids(user, (Role.ADMIN, Role.DELEGATE))),
            ~voted.exists(),
        )
        .distinct()
    )
    label = str(_("Vote"))
    return [Task(r.title, url_for("voting.detail", poll_id=r.id), r.closes_at, label) for r in rows]


def open_polls(limit: int = 5) -> Section:
    """List the open polls everyone may see, closing soonest first."""
    public = sa.or_(
        Poll.proposal_id.is_(None),
        Poll.proposal_id.in_(sa.select(Proposal.id).where(proposal_perm.visible_filter(None))),
    )
    rows = db.session.execute(
        sa.select(Poll.id, Poll.title)
        .where(_open_now(), public)
        .order_by(Poll.closes_at)
        .limit(limit)
    )
    items = [Highlight(r.title, url_for("voting.detail", poll_id=r.id)) for r in rows]
    return Section(_("Open polls"), items, order=20)
