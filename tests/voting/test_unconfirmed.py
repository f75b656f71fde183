"""Only organisations the street office confirmed vote: by kind, by invitation, as a unit."""

from __future__ import annotations

import pytest
from voting_helpers import vote

from coord.db import db
from coord.errors import DomainError, NotAllowed
from stakeholders.models import Function, Kind
from voting import services

from helpers import use_english


@pytest.fixture
def unconfirmed(make_org, make_user):
    """A business nobody has confirmed, with an admin who would cast its vote."""
    admin = make_user("shadow_admin")
    rv = make_org(
        "冒名物业", Kind.BUSINESS, Function.PROPERTY_MANAGER, admin=admin, confirmed=False
    )
    rv.admin_user = admin
    return rv


def test_an_electorate_by_kind_leaves_unconfirmed_organisations_out(make_poll, orgs, unconfirmed):
    poll = make_poll(unit="organisation", kinds=["business"])
    assert poll.electorate_size == 1  # 安居物业, not 冒名物业
    assert services.in_electorate(poll, orgs["business"].id)
    assert not services.in_electorate(poll, unconfirmed.id)


def test_an_unconfirmed_organisation_is_refused_with_the_reason(make_poll, orgs, unconfirmed):
    poll = make_poll(
        unit="organisation",
        kinds=["business", "government"],
        rule="weighted",
        shares={"business": 50, "government": 50},
    )
    with pytest.raises(NotAllowed, match="until the street office has confirmed it"):
        vote(unconfirmed.admin_user, poll, "yes", as_=unconfirmed)
    db.session.rollback()
    vote(orgs["business"].admin_user, poll, "yes", as_=orgs["business"])


def test_an_unconfirmed_organisation_cannot_be_invited(make_poll, orgs, unconfirmed, community):
    with pytest.raises(DomainError, match="冒名物业") as info:
        make_poll(unit="organisation", kinds=["business"], invited=[unconfirmed.id])
    assert info.value.field == "invited"
    db.session.rollback()
    assert unconfirmed not in services.invitable(community)
    assert orgs["business"] in services.invitable(community)


def test_the_poll_page_says_why_the_organisation_cannot_vote(
    client, login_as, make_poll, orgs, unconfirmed
):
    poll = make_poll(unit="organisation", kinds=["business"])
    login_as(unconfirmed.admin_user, acting_as=unconfirmed)
    use_english(client)
    html = client.get(f"/polls/{poll.id}").get_data(as_text=True)
    assert "cannot vote: the street office has not confirmed it yet" in html
    assert 'class="badge unconfirmed"' in html
