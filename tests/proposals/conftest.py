"""Fixtures for proposal tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from coord.db import db
from coord.models import User
from proposals import services
from proposals.models import Proposal
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

from helpers import identity


@pytest.fixture
def make_proposal(app, community) -> Callable[..., Proposal]:
    """Create a proposal as `user` (acting as `as_` or themself); published unless draft=True."""

    def make(
        user: User, *, as_: Stakeholder | None = None, draft: bool = False, **data
    ) -> Proposal:
        actor = Actor(user, as_ or identity(user))
        values = {
            "kind": "consultation",
            "community_id": community.id,
            "title": "3号楼加装电梯方案",
            "summary": "为3号楼加装电梯征求全体居民意见。",
            "body": "**方案**：在3号楼北侧加装电梯。",
            "category": "facilities",
            "visibility": "public",
            "publish": not draft,
        } | data
        proposal = services.create_proposal(actor, values)
        db.session.commit()
        return proposal

    return make
