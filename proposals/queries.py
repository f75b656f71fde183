"""Browsing and searching proposals (one query per list, never per row)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from coord.db import db
from coord.models import User
from coord.tasks import Highlight, Section
from proposals import lifecycle
from proposals import permissions as perm
from proposals.models import Proposal
from stakeholders.models import Kind, Stakeholder

SORTS = {
    "newest": (Proposal.created_at.desc(), Proposal.id.desc()),
    "active": (Proposal.last_activity_at.desc(), Proposal.id.desc()),
    "deadline": (Proposal.deadline_at.is_(None), Proposal.deadline_at.asc(), Proposal.id.desc()),
}

#: The states that record a decision (shown among the home page's recent decisions).
DECIDED = ("decided_adopted", "decided_rejected", "approved", "rejected", "awarded")


@dataclass(frozen=True)
class Filters:
    """What a reader asked for on the browse page or the API."""

    community_id: int | None = None
    kind: str | None = None
    status: str | None = None
    category: str | None = None
    author_kind: str | None = None
    q: str = ""
    sort: str = "newest"


def _like_terms(q: str) -> list[str]:
    terms = unicodedata.normalize("NFKC", q).lower().split()
    escape = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})
    return [f"%{t.translate(escape)}%" for t in terms[:10]]


def proposal_list(user: User | None, filters: Filters) -> sa.Select:
    """Select the proposals `user` may see, filtered, searched and sorted."""
    rv = (
        sa.select(Proposal)
        .join(Stakeholder, Stakeholder.id == Proposal.author_id)
        .options(sa.orm.contains_eager(Proposal.author), sa.orm.joinedload(Proposal.community))
        .where(perm.visible_filter(user))
    )
    if filters.community_id:
        rv = rv.where(Proposal.community_id == filters.community_id)
    if filters.kind:
        rv = rv.where(Proposal.kind == filters.kind)
    if filters.status:
        rv = rv.where(Proposal.status == filters.status)
    if filters.category:
        rv = rv.where(Proposal.category == filters.category)
    if filters.author_kind in {k.value for k in Kind}:
        rv = rv.where(Stakeholder.kind == filters.author_kind)
    for term in _like_terms(filters.q):
        rv = rv.where(Proposal.search_text.like(term, escape="\\"))
    return rv.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def _public_list(condition: sa.ColumnElement[bool], order: sa.ColumnElement, limit: int) -> list:
    return list(
        db.session.execute(
            sa.select(Proposal.id, Proposal.title, Proposal.status, Proposal.kind)
            .where(perm.visible_filter(None), Proposal.hidden_reason.is_(None), condition)
            .order_by(order, Proposal.id.desc())
            .limit(limit)
        )
    )


def active_consultations(limit: int = 5) -> Section:
    """List the public consultations under deliberation, most active first."""
    rows = _public_list(
        sa.and_(Proposal.kind == "consultation", Proposal.status == "deliberation"),
        Proposal.last_activity_at.desc(),
        limit,
    )
    items = [Highlight(r.title, url_for("proposals.detail", proposal_id=r.id)) for r in rows]
    return Section(_("Consultations under way"), items, order=10)


def recent_decisions(limit: int = 5) -> Section:
    """List the public proposals decided most recently, with the decision."""
    decided = sa.and_(Proposal.kind != "request", Proposal.status.in_(DECIDED))
    rows = _public_list(decided, Proposal.last_activity_at.desc(), limit)
    items = [
        Highlight(
            r.title,
            url_for("proposals.detail", proposal_id=r.id),
            _(lifecycle.STATE_LABELS[r.status]),
        )
        for r in rows
    ]
    return Section(_("Recent decisions"), items, order=30)
