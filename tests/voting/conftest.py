"""Fixtures for voting tests: consultations, residents, organisations and polls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from voting_helpers import actor

from coord.db import db, utcnow
from coord.models import User
from proposals import services as proposal_services
from proposals.models import Proposal
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind, Role, Stakeholder
from voting import services
from voting.models import Poll


@pytest.fixture
def make_proposal(app, community) -> Callable[..., Proposal]:
    """A published consultation by `user` (acting as `as_`)."""

    def make(user: User, *, as_: Stakeholder | None = None, **data) -> Proposal:
        values = {
            "kind": "consultation",
            "community_id": community.id,
            "title": "3号楼加装电梯费用分摊",
            "summary": "三种费用分摊方案，请投票。",
            "body": "方案见正文。",
            "visibility": "public",
            "publish": True,
        } | data
        rv = proposal_services.create_proposal(actor(user, as_), values)
        db.session.commit()
        return rv

    return make


@pytest.fixture
def residents(make_resident) -> Callable[[int], list[User]]:
    """`residents(n)`: n verified residents of the community."""
    counter = iter(range(1, 10_000))

    def make(n: int, **kw) -> list[User]:
        return [make_resident(f"voter{next(counter):03d}", **kw) for _ in range(n)]

    return make


@pytest.fixture
def make_poll(app, committee, community) -> Callable[..., Poll]:
    """Open a poll (stand-alone in the community unless `proposal_id` is given) and commit."""

    def make(by: Actor | None = None, **data) -> Poll:
        now = utcnow()
        values = {
            "community_id": community.id,
            "title": "电梯费用分摊方式",
            "method": "yes_no",
            "closes_at": now + timedelta(days=7),
        } | data
        rv = services.open_poll(by or actor(committee.admin_user, committee), values)
        db.session.commit()
        return rv

    return make


@pytest.fixture
def orgs(make_org, make_user) -> dict[str, Stakeholder]:
    """One confirmed organisation of each non-resident kind, each with an admin and a delegate."""
    rv = {}
    for kind, function, name in (
        (Kind.GOVERNMENT, Function.STREET_OFFICE, "清河街道办事处"),
        (Kind.BUSINESS, Function.PROPERTY_MANAGER, "安居物业"),
        (Kind.SOCIAL_ORGANIZATION, Function.VOLUNTEER_ASSOCIATION, "银龄志愿者协会"),
    ):
        admin = make_user(f"{kind.value}_admin")
        delegate = make_user(f"{kind.value}_delegate")
        member = make_user(f"{kind.value}_member")
        members = {delegate: Role.DELEGATE, member: Role.MEMBER}
        org = make_org(name, kind, function, admin=admin, members=members)
        org.admin_user, org.delegate_user, org.member_user = admin, delegate, member
        rv[kind.value] = org
    return rv
