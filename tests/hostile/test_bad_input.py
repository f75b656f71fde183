"""Bad input and attacks: clear errors, nothing stored, never a 500."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from coord import accounts
from coord.db import db
from coord.models import ApiToken, User
from stakeholders.models import Membership, ResidentProfile, Stakeholder

from helpers import PASSWORD, identity, use_english

HUGE = "长" * 20_000


def _post_rules(app):
    return sorted(
        {
            r.rule
            for r in app.url_map.iter_rules()
            if "POST" in r.methods and not r.rule.startswith("/static")
        }
    )


def _fill(rule: str) -> str:
    """Put a plausible value into every URL variable of a rule."""
    rule = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule)
    return re.sub(r"<[^>]+>", "1", rule)


def test_every_form_post_without_csrf_token_is_refused(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        token = make_user("victim").session_token
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = token
    for rule in _post_rules(app):
        r = client.post(_fill(rule), data={"x": "y"})
        assert r.status_code == 400, (rule, r.status_code)


@pytest.mark.parametrize(
    "data",
    [
        {"username": HUGE, "display_name": HUGE, "password": HUGE, "confirm": HUGE},
        {"username": "ok_name", "display_name": "\x00\x01\x02", "password": "x", "confirm": "y"},
        {
            "username": ["a", "b"],
            "display_name": "名",
            "password": "long-enough-1",
            "confirm": "long-enough-1",
        },
        {},
    ],
)
def test_register_bad_input_never_500_and_stores_nothing(client, data):
    r = client.post("/register", data=data)
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_display_name_is_cleaned_of_invisible_characters(client):
    client.post(
        "/register",
        data={
            "username": "clean",
            "display_name": "小\u200b明\u202e",
            "password": "long-enough-1",
            "confirm": "long-enough-1",
        },
    )
    assert db.session.scalar(sa.select(User.display_name)) == "小明"


def test_hostile_display_name_is_escaped_everywhere(client, login_as, make_user, make_org):
    evil = make_user("evil", display_name="<script>alert(1)</script><img src=x onerror=alert(1)>")
    org = make_org(members={evil: "member"})
    login_as(evil)  # members are named to members only
    for url in (f"/stakeholders/{identity(evil).id}", f"/stakeholders/{org.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page


@pytest.mark.parametrize(
    "data",
    [
        {"community_id": "abc", "building": "1", "unit": "1", "phone": "13812345678"},
        {"community_id": "1", "building": HUGE, "unit": "1", "phone": "13812345678"},
        {"community_id": "1", "building": "1", "unit": "1", "phone": "1381234567x"},
        {"community_id": "1", "building": "1", "unit": "1", "phone": "1381234567٨"},
        {"community_id": "-5", "building": "1", "unit": "1", "phone": "13812345678"},
    ],
)
def test_residence_bad_input(client, login_as, make_user, community, data):
    login_as(make_user())
    r = client.post("/residence", data=data)
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ResidentProfile)) == 0


def test_full_width_phone_digits_are_accepted_as_ascii(client, login_as, make_user, community):
    user = make_user()
    login_as(user)
    r = client.post(
        "/residence",
        data={
            "community_id": community.id,
            "building": "1",
            "unit": "1",
            "phone": "１３８ １２３４ ５６７８",
        },
    )
    assert r.status_code == 302
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == user.id)
    )
    assert profile.phone == "13812345678"


def test_organisation_name_too_long(client, login_as, make_user, community):
    login_as(make_user())
    use_english(client)
    r = client.post(
        "/organisations/new",
        data={"name": "店" * 81, "kind": "business", "function": "shop", "community_id": 0},
    )
    assert r.status_code == 422 and "longer than 80" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/communities/999999",
        "/stakeholders/999999",
        "/communities/99999999999999999999999",
        "/stakeholders/-1",
        "/communities/abc",
        "/stakeholders/1%00",
    ],
)
def test_unknown_ids_are_404(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "query", ["?community=99999999999999999999", "?community=-1", "?community=1e5"]
)
def test_malformed_id_arguments_are_ignored_or_refused(client, query):
    assert client.get(f"/supervision{query}").status_code == 200
    assert client.get(f"/api/v1/stakeholders{query}").status_code == 400


def test_other_users_ids_in_urls(
    client, login_as, make_user, make_org, make_resident, community, committee
):
    owner, intruder = make_user("owner"), make_user("intruder")
    token, _raw = accounts.create_api_token(owner, "mine")
    org = make_org(admin=owner)
    [membership] = org.memberships
    profile_user = make_resident("resident")
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == profile_user.id)
    )
    db.session.commit()
    login_as(intruder)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code in (302, 404)
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert client.post(f"/memberships/{membership.id}/leave").status_code == 404
    assert (
        client.post(f"/memberships/{membership.id}/role", data={"role": "member"}).status_code
        == 403
    )
    assert client.get(f"/residence/{profile.id}/reveal").status_code == 404
    assert client.post(f"/residence/{profile.id}/verify").status_code == 404
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).role.value == "admin"


def test_revoking_someone_elses_token_is_404(client, login_as, make_user):
    owner, intruder = make_user("owner"), make_user("intruder")
    token, _raw = accounts.create_api_token(owner, "mine")
    db.session.commit()
    login_as(intruder)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404


def test_oversized_body_is_413(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    r = app.test_client().post("/login", data={"username": "x" * 4096, "password": "y"})
    assert r.status_code == 413


def test_login_with_weird_values(client, make_user):
    make_user("laowang")
    # control characters are stripped from usernames, so the first one signs in
    weird = [
        {"username": "laowang\x00", "password": PASSWORD},
        {"username": HUGE, "password": HUGE},
        {"username": ["laowang"], "password": [PASSWORD, "x"]},
    ]
    for data in weird:
        assert client.post("/login", data=data).status_code in (302, 422)
        client.post("/logout")


def test_language_switch_ignores_unknown_codes_and_foreign_next(client):
    r = client.post("/language", data={"lang": "xx", "next": "https://evil.example"})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    with client.session_transaction() as s:
        assert "lang" not in s


def test_stakeholder_join_of_a_resident_is_refused(client, login_as, make_user):
    person, other = make_user("person"), make_user("other")
    login_as(person)
    client.post(f"/stakeholders/{identity(other).id}/join")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 0
    assert (
        db.session.scalar(sa.select(Stakeholder).where(Stakeholder.user_id == other.id)) is not None
    )
