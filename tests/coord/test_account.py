"""Downloading one's data and deleting one's account."""

from __future__ import annotations

import json

import sqlalchemy as sa

from coord.db import db
from coord.models import User
from stakeholders.models import MembershipStatus, ResidentProfile

from helpers import PASSWORD, identity


def test_export_contains_own_data_unmasked(client, login_as, make_resident):
    user = make_resident("laowang", phone="13912345678")
    login_as(user)
    r = client.get("/account/export")
    assert r.status_code == 200
    assert "attachment" in r.headers["Content-Disposition"]
    data = json.loads(r.data)
    assert data["account"]["username"] == "laowang"
    assert data["stakeholders"]["residence"]["phone"] == "13912345678"
    assert data["stakeholders"]["residence"]["community"] == "兰苑社区"


def test_export_needs_sign_in(client):
    assert client.get("/account/export").status_code == 302


def test_delete_erases_personal_data_and_keeps_the_stakeholder(
    client, login_as, make_resident, make_org
):
    user = make_resident("laowang")
    org = make_org(members={user: "member"})
    me = identity(user)
    login_as(user)
    r = client.post("/account/delete", data={"del-password": PASSWORD, "del-confirm": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    gone = db.session.get(User, user.id)
    assert gone.is_deleted and gone.display_name == "" and gone.username == f"deleted-{user.id}"
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == user.id)
    )
    assert profile.phone_encrypted is None and profile.building == ""
    stakeholder = identity(gone)
    assert stakeholder.id == me.id and stakeholder.is_deleted and stakeholder.name == ""
    assert all(m.status == MembershipStatus.LEFT for m in org.memberships)
    assert client.get("/account/").status_code == 302  # signed out
    page = client.get(f"/stakeholders/{me.id}").get_data(as_text=True)
    assert "laowang" not in page
    # the deleted account cannot sign in again
    r = client.post("/login", data={"username": "laowang", "password": PASSWORD})
    assert r.status_code == 422


def test_delete_with_wrong_password_keeps_everything(client, login_as, make_resident):
    user = make_resident("laowang")
    login_as(user)
    r = client.post("/account/delete", data={"del-password": "wrong-wrong", "del-confirm": "y"})
    assert r.status_code == 422
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_deleted
