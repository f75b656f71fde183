"""Who sees a declared relation: the SQL clause and the predicate agree."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from network_helpers import build_world, declare

from coord.db import db
from stakeholders.models import Relation
from stakeholders.network import permissions as network_permissions


@pytest.fixture
def world(community, committee, make_org, make_user, make_resident):
    return build_world(community, committee, make_org, make_user, make_resident)


def _visible_ids(user) -> set[int]:
    query = sa.select(Relation.id).where(network_permissions.visible_clause(user))
    return set(db.session.scalars(query))


def test_managers_only_relations_are_seen_by_the_sides_the_committee_and_the_street_office(world):
    public = declare(world, "owners", world.volunteers, "alliance")
    hidden = declare(world, "owners", world.anju, "dispute", visibility="managers")
    street_hidden = declare(world, "heshun", world.anju, "affiliation", visibility="managers")
    everything = {public.id, hidden.id, street_hidden.id}
    assert _visible_ids(None) == {public.id}
    assert _visible_ids(world.stranger) == {public.id}
    assert _visible_ids(world.residents[0]) == {public.id}
    assert _visible_ids(world.volunteers_user) == {public.id}
    assert _visible_ids(world.owners_user) == {public.id, hidden.id}
    assert _visible_ids(world.anju_user) == everything
    assert _visible_ids(world.committee_user) == everything
    assert _visible_ids(world.street_user) == everything
    for user, rel, allowed in [
        (world.stranger, hidden, False),
        (world.heshun_user, hidden, False),
        (world.owners_user, hidden, True),
        (world.committee_user, street_hidden, True),
        (world.street_user, hidden, True),
        (None, public, True),
    ]:
        assert network_permissions.can_see(user, rel) is allowed
