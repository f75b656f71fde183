"""The JSON API: token and session auth, JSON errors, CSRF for session writes."""

from __future__ import annotations

import pytest

from coord import accounts
from coord.db import db

from helpers import identity


@pytest.fixture
def token(app, make_user):
    user = make_user("apiuser")
    _token, raw = accounts.create_api_token(user, "script")
    db.session.commit()
    return raw


def test_me_with_a_token(client, token):
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json["username"] == "apiuser"
    assert [i["kind"] for i in r.json["identities"]] == ["resident"]


@pytest.mark.parametrize(
    "header", ["Bearer coord_wrong", "Bearer ", "Basic abc", "Bearer " + "x" * 5000]
)
def test_bad_tokens_get_a_json_401(client, header):
    r = client.get("/api/v1/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.is_json and r.json["error"]["message"]


def test_revoked_token_stops_working(client, app, make_user):
    user = make_user("apiuser")
    token, raw = accounts.create_api_token(user, "script")
    accounts.revoke_api_token(user, token)
    db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_unknown_api_route_is_json_404(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json["error"]["status"] == 404


def test_communities_and_stakeholders(client, community, make_resident, make_org):
    resident = make_resident("laowang")
    make_resident("pending", status="pending")
    org = make_org()
    r = client.get("/api/v1/communities")
    assert [c["name"] for c in r.json["items"]] == ["兰苑社区"]
    r = client.get(f"/api/v1/stakeholders?community={community.id}")
    by_id = {s["id"]: s for s in r.json["items"]}
    me = identity(resident)
    assert by_id[me.id]["is_verified_resident"] is True
    assert org.id in by_id
    assert len(by_id) == 2  # the unverified claimant is not listed
    assert "phone" not in str(r.json)
    r = client.get(f"/api/v1/stakeholders?community={community.id}&kind=business")
    assert [s["id"] for s in r.json["items"]] == [org.id]


@pytest.mark.parametrize(
    "query", ["", "?community=abc", "?community=999999", "?community=1&kind=alien"]
)
def test_stakeholder_list_bad_queries(client, community, query):
    r = client.get(f"/api/v1/stakeholders{query}")
    assert r.status_code in (400, 404)
    assert r.is_json and r.json["error"]["message"]


def test_api_acting_as_header_is_checked(client, token, make_org, app):
    org = make_org()
    r = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token}", "X-Acting-As": str(org.id)}
    )
    assert r.status_code == 403 and r.is_json


def test_session_writes_need_the_csrf_header(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        session_token = make_user("apiuser").session_token
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = session_token
    r = client.post("/api/v1/stakeholders/1/join", json={})
    assert r.status_code == 400 and r.is_json


def test_join_an_organisation_by_api(client, token, make_org):
    org = make_org()
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post(f"/api/v1/stakeholders/{org.id}/join", headers=headers)
    assert r.status_code == 201 and r.json["status"] == "pending"
    again = client.post(f"/api/v1/stakeholders/{org.id}/join", headers=headers)
    assert again.status_code == 409 and again.json["error"]["message"]


def test_security_headers(client):
    h = client.get("/").headers
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert "script-src 'self'" in h["Content-Security-Policy"]
    assert "unsafe-inline" not in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_token_writes_need_no_csrf_header(make_app, make_user, make_org):
    org_id = make_org().id
    _token, raw = accounts.create_api_token(make_user("apiuser"), "script")
    db.session.commit()  # ends this session's write transaction before the other app's request
    app = make_app(WTF_CSRF_ENABLED=True)
    r = app.test_client().post(
        f"/api/v1/stakeholders/{org_id}/join", headers={"Authorization": f"Bearer {raw}"}
    )
    assert r.status_code == 201, r.json
