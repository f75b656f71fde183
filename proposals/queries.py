"""Browsing and searching proposals (one query per list, never per row)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from coord.models import User
from proposals import permissions as perm
from proposals.models import Proposal
from stakeholders.models import Kind, Stakeholder

SORTS = {
    "newest": (Proposal.created_at.desc(), Proposal.id.desc()),
    "active": (Proposal.last_activity_at.desc(), Proposal.id.desc()),
    "deadline": (Proposal.deadline_at.is_(None), Proposal.deadline_at.asc(), Proposal.id.desc()),
}


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
