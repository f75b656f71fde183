"""Every stakeholder page as anonymous, as a stranger and as the right role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from coord.db import db
from stakeholders.models import (
    Function,
    Kind,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Role,
)

from helpers import identity, use_english


@dataclass
class World:
    community: object
    committee: object
    org: object
    org_admin: object
    claimant: object
    profile: object
    pending: object
    stranger: object
    admin: object


@pytest.fixture
def world(app, community, committee, make_user, make_org, make_resident) -> World:
    org_admin = make_user("boss")
    org = make_org("绿园餐饮", admin=org_admin)
    claimant = make_resident("claimant", status=ResidenceStatus.PENDING)
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == claimant.id)
    )
    pending = Membership(user_id=claimant.id, organisation_id=org.id, role=Role.MEMBER)
    db.session.add(pending)
    db.session.commit()
    return World(
        community,
        committee,
        org,
        org_admin,
        claimant,
        profile,
        pending,
        make_user("stranger"),
        make_user("root", is_admin=True),
    )


def _url(template: str, w: World) -> str:
    return template.format(c=w.community.id, o=w.org.id, p=w.profile.id, m=w.pending.id)


# (method, url, who may: "anyone" | "user" | role name), expected for anonymous/stranger/right
PAGES = [
    ("GET", "/", "anyone", 200, 200, 200),
    ("GET", "/supervision", "anyone", 200, 200, 200),
    ("GET", "/communities/{c}", "anyone", 200, 200, 200),
    ("GET", "/stakeholders/{o}", "anyone", 200, 200, 200),
    ("GET", "/residence", "user", 302, 200, 200),
    ("GET", "/organisations/new", "user", 302, 200, 200),
    ("GET", "/account/", "user", 302, 200, 200),
    ("GET", "/stakeholders/{o}/members", "org_admin", 302, 403, 200),
    ("POST", "/memberships/{m}/accept", "org_admin", 302, 403, 302),
    ("POST", "/memberships/{m}/role", "org_admin", 302, 403, 302),
    ("GET", "/communities/{c}/verification", "committee", 302, 403, 200),
    ("POST", "/residence/{p}/verify", "committee", 302, 404, 302),
    ("GET", "/residence/{p}/reveal", "committee", 302, 404, 200),
    ("GET", "/admin/organisations", "admin", 302, 403, 200),
    ("POST", "/stakeholders/{o}/confirm", "admin", 302, 403, 302),
]


def _right_user(who: str, w: World):
    return {
        "user": w.stranger,
        "org_admin": w.org_admin,
        "committee": w.committee.admin_user,
        "admin": w.admin,
        "anyone": w.stranger,
    }[who]


@pytest.mark.parametrize(("method", "url", "who", "anonymous", "stranger", "right"), PAGES)
def test_access_table(client, login_as, world, method, url, who, anonymous, stranger, right):
    url = _url(url, world)
    assert client.open(url, method=method).status_code == anonymous
    login_as(world.stranger)
    assert client.open(url, method=method).status_code == stranger
    login_as(_right_user(who, world))
    assert client.open(url, method=method, data={"role": "delegate"}).status_code == right


def test_directory_filters_by_kind_and_counts_residents_in_groups(client, world, make_resident):
    use_english(client)
    residents = [make_resident(f"verified_{i}", building="7") for i in range(3)]
    lone = make_resident("verified_one", building="8")
    page = client.get(f"/communities/{world.community.id}").get_data(as_text=True)
    assert not any(identity(r).name in page for r in [*residents, lone])  # never by name
    assert "Residents of building 7 (3)" in page and "4 verified residents" in page
    assert "claimant" not in page  # unverified claims are not listed
    page = client.get(f"/communities/{world.community.id}?kind=business").get_data(as_text=True)
    assert "绿园餐饮" in page and "verified_one" not in page
    assert client.get(f"/communities/{world.community.id}?kind=alien").status_code == 200


def test_profile_never_shows_personal_data(client, world, login_as):
    me = identity(world.claimant)
    login_as(world.stranger)
    page = client.get(f"/stakeholders/{me.id}").get_data(as_text=True)
    assert "13812345678" not in page and "138****5678" not in page and "501" not in page


def test_verification_queue_masks_phone_and_reveal_is_audited(client, world, login_as):
    login_as(world.committee.admin_user)
    page = client.get(f"/communities/{world.community.id}/verification").get_data(as_text=True)
    assert "138****5678" in page and "13812345678" not in page
    r = client.post(f"/residence/{world.profile.id}/reveal", data={"reason": "上门核实身份"})
    assert r.status_code == 200 and "13812345678" in r.get_data(as_text=True)
    from coord.models import AuditEvent

    assert (
        db.session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc()))
        == "personal_data.read"
    )


def test_committee_verifies_and_supervision_lists_it(client, world, login_as):
    login_as(world.committee.admin_user)
    r = client.post(f"/residence/{world.profile.id}/verify")
    assert r.status_code == 302
    db.session.expire_all()
    assert world.profile.status == ResidenceStatus.VERIFIED
    use_english(client)
    page = client.get("/supervision").get_data(as_text=True)
    assert "verified a resident" in page and "兰苑社区居委会" in page and "claimant" in page
    assert "13812345678" not in page


def test_reject_needs_a_reason(client, world, login_as):
    login_as(world.committee.admin_user)
    client.post(f"/residence/{world.profile.id}/reject", data={"reason": ""})
    db.session.expire_all()
    assert world.profile.status == ResidenceStatus.PENDING


def test_claim_residence_form_keeps_input_on_error(client, world, login_as):
    login_as(world.stranger)
    use_english(client)
    r = client.post(
        "/residence",
        data={
            "community_id": world.community.id,
            "building": "七号楼",
            "unit": "302",
            "phone": "12345",
        },
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "11-digit" in page and 'value="七号楼"' in page
    assert (
        db.session.scalar(
            sa.select(ResidentProfile).where(ResidentProfile.user_id == world.stranger.id)
        )
        is None
    )


def test_claim_residence_with_unknown_community(client, world, login_as):
    login_as(world.stranger)
    r = client.post(
        "/residence",
        data={"community_id": 999999, "building": "1", "unit": "1", "phone": "13812345678"},
    )
    assert r.status_code == 422


def test_switch_acting_as(client, world, login_as):
    login_as(world.org_admin)
    r = client.post("/acting-as", data={"stakeholder_id": world.org.id, "next": "/account/"})
    assert r.status_code == 302 and r.headers["Location"] == "/account/"
    page = client.get("/").get_data(as_text=True)
    assert f'<option value="{world.org.id}" selected>' in page


@pytest.mark.parametrize("value", ["abc", "", "-1", "99999999999999999999"])
def test_switch_acting_as_bad_values(client, world, login_as, value):
    login_as(world.org_admin)
    assert client.post("/acting-as", data={"stakeholder_id": value}).status_code == 400


def test_forged_acting_as_is_refused_and_nothing_stored(client, world, login_as):
    login_as(world.stranger)
    r = client.post("/acting-as", data={"stakeholder_id": world.org.id})
    assert r.status_code == 403
    with client.session_transaction() as session:
        assert "acting_as" not in session


def test_actions_record_the_acting_stakeholder(client, world, login_as):
    login_as(world.org_admin)
    client.post("/acting-as", data={"stakeholder_id": world.org.id})
    client.post(f"/memberships/{world.pending.id}/accept")
    from coord.models import AuditEvent

    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "membership.accept"))
    assert event.user_id == world.org_admin.id and event.actor_id == world.org.id


def test_join_request_then_accept(client, world, login_as):
    newcomer = world.stranger
    login_as(newcomer)
    assert client.post(f"/stakeholders/{world.org.id}/join").status_code == 302
    again = client.post(f"/stakeholders/{world.org.id}/join", follow_redirects=True)
    assert again.status_code == 200  # refused with a message, not an error page
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.user_id == newcomer.id, Membership.organisation_id == world.org.id
        )
    )
    assert membership.status == MembershipStatus.PENDING
    login_as(world.org_admin)
    client.post(f"/memberships/{membership.id}/accept")
    db.session.expire_all()
    assert membership.status == MembershipStatus.ACTIVE


def test_create_organisation_form(client, world, login_as):
    login_as(world.stranger)
    r = client.post(
        "/organisations/new",
        data={
            "name": "新河便利店",
            "kind": "business",
            "function": "shop",
            "community_id": world.community.id,
        },
    )
    assert r.status_code == 302
    r = client.post(
        "/organisations/new",
        data={
            "name": "假街道办",
            "kind": "government",
            "function": "street_office",
            "community_id": 0,
        },
    )
    assert r.status_code == 422  # not a choice for a non-admin
    from stakeholders.models import Stakeholder

    assert db.session.scalar(sa.select(Stakeholder).where(Stakeholder.name == "假街道办")) is None


def test_admin_creates_a_government_unit(client, world, login_as):
    login_as(world.admin)
    r = client.post(
        "/organisations/new",
        data={
            "name": "城市管理科",
            "kind": "government",
            "function": "department",
            "community_id": 0,
        },
    )
    assert r.status_code == 302
    from stakeholders.models import Stakeholder

    unit = db.session.scalar(sa.select(Stakeholder).where(Stakeholder.name == "城市管理科"))
    assert (
        unit.kind == Kind.GOVERNMENT and unit.function == Function.DEPARTMENT and unit.is_confirmed
    )


def test_directory_query_count_does_not_grow_with_rows(client, world, make_resident, count_queries):
    url = f"/communities/{world.community.id}"
    make_resident("first")
    db.session.expire_all()
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for i in range(15):
        make_resident(f"more{i}")
    db.session.expire_all()
    with count_queries() as many:
        client.get(url)
    assert many.count == few.count <= 6
