"""Stakeholder use cases: organisations, memberships, residence, personal data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from coord.db import db
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import AuditEvent
from stakeholders import services
from stakeholders.acting import Actor
from stakeholders.models import (
    Function,
    Kind,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Role,
)

from helpers import identity


def actor_for(user, stakeholder=None) -> Actor:
    return Actor(user, stakeholder or identity(user))


def _events(action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_create_business_makes_creator_admin(app, make_user, community):
    user = make_user()
    org = services.create_organisation(
        actor_for(user),
        {"kind": "business", "function": "shop", "name": "小卖部", "community_id": community.id},
    )
    db.session.commit()
    assert org.kind == Kind.BUSINESS and not org.is_confirmed
    membership = db.session.scalar(
        sa.select(Membership).where(Membership.organisation_id == org.id)
    )
    assert (membership.user_id, membership.role, membership.status) == (
        user.id,
        Role.ADMIN,
        MembershipStatus.ACTIVE,
    )
    [event] = _events("organisation.create")
    assert event.is_public and event.user_id == user.id


def test_nobody_but_the_admin_creates_a_government_unit(app, make_user, community):
    data = {
        "kind": "government",
        "function": "street_office",
        "name": "假街道办",
        "community_id": None,
    }
    with pytest.raises(NotAllowed):
        services.create_organisation(actor_for(make_user()), data)
    admin = make_user("root", is_admin=True)
    org = services.create_organisation(actor_for(admin), data)
    assert org.is_confirmed


def test_residents_committee_only_by_admin_and_one_per_community(app, make_user, community):
    data = {
        "kind": "social_organization",
        "function": "residents_committee",
        "name": "居委会",
        "community_id": community.id,
    }
    with pytest.raises(NotAllowed):
        services.create_organisation(actor_for(make_user()), data)
    admin = make_user("root", is_admin=True)
    services.create_organisation(actor_for(admin), data)
    with pytest.raises(Conflict):
        services.create_organisation(actor_for(admin), data)


def test_function_must_fit_kind(app, make_user):
    with pytest.raises(DomainError) as exc:
        services.create_organisation(
            actor_for(make_user()),
            {"kind": "business", "function": "owners_committee", "name": "x"},
        )
    assert exc.value.field == "function"


def test_membership_flow_and_roles(app, make_user, make_org):
    boss, newcomer, stranger = make_user("boss"), make_user("newcomer"), make_user("stranger")
    org = make_org(admin=boss)
    membership = services.request_membership(actor_for(newcomer), org)
    with pytest.raises(Conflict):
        services.request_membership(actor_for(newcomer), org)
    with pytest.raises(NotAllowed):
        services.decide_membership(actor_for(stranger), membership, True)
    services.decide_membership(actor_for(boss), membership, True)
    assert membership.status == MembershipStatus.ACTIVE
    with pytest.raises(Conflict):
        services.decide_membership(actor_for(boss), membership, True)
    services.set_role(actor_for(boss), membership, Role.DELEGATE)
    assert membership.role == Role.DELEGATE
    [event] = _events("membership.set_role")
    assert event.data["from"] == "member" and event.data["to"] == "delegate" and event.is_public


def test_last_admin_cannot_step_down_or_leave(app, make_user, make_org):
    boss = make_user("boss")
    org = make_org(admin=boss)
    [membership] = org.memberships
    with pytest.raises(DomainError):
        services.set_role(actor_for(boss), membership, Role.MEMBER)
    with pytest.raises(DomainError):
        services.leave_organisation(actor_for(boss), membership)


def test_declined_member_may_ask_again(app, make_user, make_org):
    boss, newcomer = make_user("boss"), make_user("newcomer")
    org = make_org(admin=boss)
    membership = services.request_membership(actor_for(newcomer), org)
    services.decide_membership(actor_for(boss), membership, False)
    again = services.request_membership(actor_for(newcomer), org)
    assert again.id == membership.id and again.status == MembershipStatus.PENDING


def _claim(user, community, **extra):
    data = {"community_id": community.id, "building": "3", "unit": "501", "phone": "13812345678"}
    return services.claim_residence(actor_for(user), data | extra)


def test_residence_claim_verify_and_reject(app, make_user, community, committee):
    user = make_user()
    profile = _claim(user, community)
    assert profile.status == ResidenceStatus.PENDING
    staff = committee.admin_user
    services.verify_residence(actor_for(staff), profile)
    assert profile.status == ResidenceStatus.VERIFIED and profile.decided_by_id == committee.id
    [event] = _events("residence.verify")
    assert event.actor_id == committee.id and event.is_public
    assert event.data == {"resident_id": identity(user).id}  # ids only, no personal data
    with pytest.raises(Conflict):
        services.verify_residence(actor_for(staff), profile)
    other = _claim(make_user(), community)
    with pytest.raises(DomainError):
        services.reject_residence(actor_for(staff), other, "  ")
    services.reject_residence(actor_for(staff), other, "查无此户")
    assert other.status == ResidenceStatus.REJECTED and other.reason == "查无此户"


def test_only_the_communitys_committee_verifies(app, make_user, community, make_org):
    profile = _claim(make_user(), community)
    outsider = make_user("outsider")
    make_org("别的居委会", Kind.SOCIAL_ORGANIZATION, Function.OWNERS_COMMITTEE, admin=outsider)
    with pytest.raises(NotAllowed):
        services.verify_residence(actor_for(outsider), profile)


def test_reclaim_after_rejection_goes_back_to_pending(app, make_user, community, committee):
    user = make_user()
    profile = _claim(user, community)
    services.reject_residence(actor_for(committee.admin_user), profile, "地址不符")
    again = _claim(user, community, building="4")
    assert (
        again.id == profile.id and again.status == ResidenceStatus.PENDING and again.building == "4"
    )


def test_reveal_personal_data_is_audited_with_reason(app, make_user, community, committee):
    profile = _claim(make_user(), community)
    staff = committee.admin_user
    with pytest.raises(DomainError):
        services.reveal_personal_data(actor_for(staff), profile, "")
    data = services.reveal_personal_data(actor_for(staff), profile, "上门核实")
    assert data["phone"] == "13812345678"
    [event] = _events("personal_data.read")
    assert event.data == {"reason": "上门核实"} and not event.is_public
    with pytest.raises(NotAllowed):
        services.reveal_personal_data(actor_for(make_user()), profile, "好奇")


def test_erase_personal_data(app, make_resident):
    user = make_resident(phone="13900000000")
    services.erase_personal_data(user)
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == user.id)
    )
    assert profile.phone is None and profile.building == ""
    assert identity(user).is_deleted
