"""Reading tenders for the home page: the tenders a user's business may still bid on."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from coord.db import db, utcnow
from coord.models import User
from coord.tasks import Task
from proposals import permissions as proposal_perm
from proposals.models import Proposal
from proposals.tenders.models import Bid, Tender
from stakeholders.models import Kind, Stakeholder
from stakeholders.queries import speaker_ids

#: The states in which businesses ask questions and bid.
ANSWERABLE = ("enquiry", "bidding")


def bid_tasks(user: User) -> list[Task]:
    """List the open tenders a confirmed business of the user's has not yet bid on."""
    bid = sa.select(Bid.id).where(Bid.tender_id == Tender.id, Bid.bidder_id == Stakeholder.id)
    rows = db.session.execute(
        sa.select(Tender.id, Proposal.title, Tender.bid_deadline_at)
        .join(Proposal, Proposal.id == Tender.proposal_id)
        .join(Stakeholder, Stakeholder.id.in_(speaker_ids(user)))
        .where(
            Proposal.status.in_(ANSWERABLE),
            Tender.bid_deadline_at > utcnow(),
            proposal_perm.visible_filter(user),
            Stakeholder.kind == Kind.BUSINESS,
            Stakeholder.is_confirmed.is_(True),
            ~bid.exists(),
        )
        .distinct()
    )
    label = str(_("Tender"))
    return [
        Task(r.title, url_for("tenders.detail", tender_id=r.id), r.bid_deadline_at, label)
        for r in rows
    ]
