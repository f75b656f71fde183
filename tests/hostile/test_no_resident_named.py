"""No resident is named as anyone's opponent, ally or party to a conflict (the privacy rule).

Loads the demo and walks, anonymously and as a plain resident, every network, stakeholder,
community, relation, grid and interests page, their exports and their JSON API, plus the
conflict-map part of every proposal page; fails when another resident's name appears.
A resident's own profile may name them; a relation names a resident to its two sides.
"""

from __future__ import annotations

import re
from itertools import combinations

import pytest
import sqlalchemy as sa
from hostile.test_get_never_writes import readable_urls

from coord import accounts
from coord.cli import load_demo
from coord.db import db
from coord.models import Community, User
from proposals.models import Proposal
from stakeholders.models import Kind, Membership, Relation, Stakeholder

READERS = [None, "wangguihua"]
SCOPE = re.compile(
    r"^/(api/v1/)?(communities|stakeholders|relations|network)(/|$|\.)|^/api/v1/network"
)
CONFLICT_MAP = re.compile(r'<section class="conflict-map".*?</section>\s*$', re.S | re.M)


def _residents() -> dict[int, set[str]]:
    """Every resident stakeholder's names (its own name and its user's display name)."""
    rows = db.session.execute(
        sa.select(Stakeholder.id, Stakeholder.name, User.display_name)
        .outerjoin(User, User.id == Stakeholder.user_id)
        .where(Stakeholder.kind == Kind.RESIDENT, Stakeholder.deleted_at.is_(None))
    ).all()
    return {sid: {n for n in (name, shown) if n} for sid, name, shown in rows}


def _extra_urls() -> list[str]:
    """Profiles of every stakeholder, every relation, exports and conflict-of-interest checks."""
    stakeholders = db.session.scalars(sa.select(Stakeholder.id)).all()
    relations = db.session.scalars(sa.select(Relation.id)).all()
    communities = db.session.scalars(sa.select(Community.id)).all()
    orgs = db.session.scalars(
        sa.select(Stakeholder.id).where(Stakeholder.kind != Kind.RESIDENT).order_by(Stakeholder.id)
    ).all()
    rv = [f"/stakeholders/{i}" for i in stakeholders]
    rv += [f"/api/v1/stakeholders/{i}" for i in stakeholders]
    rv += [f"/relations/{i}" for i in relations] + [f"/api/v1/relations/{i}" for i in relations]
    for c in communities:
        base = f"/communities/{c}"
        rv += [
            base,
            f"{base}?kind=resident",
            f"{base}/network",
            f"{base}/network/grid",
            f"{base}/network/export.json",
            f"{base}/network/export.graphml",
            f"/api/v1{base}/network",
            f"/api/v1{base}/network?aggregate=kind",
            f"/api/v1{base}/network.graphml",
            f"/api/v1{base}/network/report",
        ]
        for a, b in list(combinations(orgs, 2))[:3]:
            rv.append(f"{base}/network/interests?a={a}&b={b}&hops=3")
            rv.append(f"/api/v1{base}/network/conflicts-of-interest?a={a}&b={b}&max_hops=3")
    return rv


def _own(reader: User | None) -> set[int]:
    """The stakeholders whose names the reader may see: themself, the other members of their
    organisations and the sides of their relations."""
    if reader is None:
        return set()
    me = db.session.scalar(sa.select(Stakeholder.id).where(Stakeholder.user_id == reader.id))
    orgs = sa.select(Membership.organisation_id).where(Membership.user_id == reader.id)
    fellows = sa.select(Membership.user_id).where(Membership.organisation_id.in_(orgs))
    rv = {
        me,
        *db.session.scalars(sa.select(Stakeholder.id).where(Stakeholder.user_id.in_(fellows))),
    }
    for s, t in db.session.execute(
        sa.select(Relation.source_id, Relation.target_id).where(
            sa.or_(Relation.source_id == me, Relation.target_id == me)
        )
    ):
        rv.update((s, t))
    return rv


def _named(text: str, names: dict[int, set[str]], allowed: set[int]) -> list[str]:
    return sorted(n for sid, ns in names.items() if sid not in allowed for n in ns if n in text)


# It walks every page of the demo for several readers: ~30 s alone, more beside other
# workers; the suite-wide 60 s limit is for single pages.
@pytest.mark.timeout(240)
def test_no_page_names_a_resident_in_the_network(app, client, login_as):
    load_demo()
    names = _residents()
    assert len(names) >= 40
    urls = [u for u in readable_urls(app) if SCOPE.match(u)] + _extra_urls()
    proposals = db.session.scalars(sa.select(Proposal.id)).all()
    problems = []
    for username in READERS:
        reader = accounts.find_user(username) if username else None
        if reader is not None:
            login_as(reader)
        allowed = _own(reader)
        for url in sorted(set(urls)):
            response = client.get(url)
            assert response.status_code < 500, url
            own = {int(url.rsplit("/", 1)[1])} if re.search(r"/stakeholders/\d+$", url) else set()
            found = _named(response.get_data(as_text=True), names, allowed | own)
            if found:
                problems.append(f"{username or 'anonymous'} {url}: {found[:3]}")
        for pid in proposals:
            page = client.get(f"/proposals/{pid}").get_data(as_text=True)
            part = CONFLICT_MAP.search(page)
            found = _named(part.group(0), names, allowed) if part else []
            if found:
                problems.append(f"{username or 'anonymous'} conflict map {pid}: {found[:3]}")
    assert not problems, "\n".join(problems[:40])
