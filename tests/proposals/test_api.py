"""The proposals JSON API: reads by visibility, filters, search, trees; writes with validation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coord import accounts
from coord.db import db, utcnow
from coord.models import Community, Notification, Street, User
from proposals import services
from proposals.deliberation import comments, positions
from proposals.deliberation.models import Comment
from proposals.models import Follow, Proposal
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind, Role

from helpers import identity


def actor_for(user: User, stakeholder=None) -> Actor:
    return Actor(user, stakeholder or identity(user))


def auth(user: User) -> dict[str, str]:
    """Headers that authenticate as `user` with a fresh API token."""
    _token, raw = accounts.create_api_token(user, "script")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return sorted(p["id"] for p in response.json["items"])


def assert_json_error(response, status: int, *fields: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json and response.json["error"]["message"]
    if fields:
        assert set(fields) <= set(response.json["error"].get("fields", {}))


def proposal_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Proposal))


# -- Reads ------------------------------------------------------------------------------------


@pytest.fixture
def world(make_user, make_resident, make_org, make_proposal):
    """A public, a draft, a community-only and an invited-only proposal, and their readers."""
    author = make_resident("author")
    w = type("World", (), {})()
    w.author, w.resident, w.stranger = author, make_resident("resident"), make_user("stranger")
    w.guest = make_user("guest")
    w.guests = make_org(
        "绿色志愿者协会",
        Kind.SOCIAL_ORGANIZATION,
        Function.VOLUNTEER_ASSOCIATION,
        members={w.guest: Role.MEMBER},
        in_community=False,
    )
    w.public = make_proposal(author, title="3号楼加装电梯方案")
    w.draft = make_proposal(author, title="草稿：停车位", draft=True)
    w.members = make_proposal(author, title="小区停车管理", visibility="community")
    w.invited = make_proposal(
        author, title="垃圾分类试点", visibility="invited", invited=[w.guests.id]
    )
    return w


def test_list_shows_only_what_the_caller_may_see(client, world):
    w = world
    assert ids(client.get("/api/v1/proposals")) == [w.public.id]
    assert ids(client.get("/api/v1/proposals", headers=auth(w.stranger))) == [w.public.id]
    assert ids(client.get("/api/v1/proposals", headers=auth(w.resident))) == sorted(
        [w.public.id, w.members.id]
    )
    # the guests' organisation works street-wide, so it belongs to the community too
    assert ids(client.get("/api/v1/proposals", headers=auth(w.guest))) == sorted(
        [w.public.id, w.members.id, w.invited.id]
    )
    assert ids(client.get("/api/v1/proposals", headers=auth(w.author))) == sorted(
        [w.public.id, w.draft.id, w.members.id, w.invited.id]
    )


def test_detail_is_404_when_not_visible(client, world):
    w = world
    r = client.get(f"/api/v1/proposals/{w.public.id}")
    assert r.status_code == 200 and r.json["title"] == "3号楼加装电梯方案"
    assert "<strong>方案</strong>" in r.json["body_html"] and r.json["following"] is False
    assert r.json["actions"] == []
    for proposal in (w.draft, w.invited, w.members):
        assert_json_error(client.get(f"/api/v1/proposals/{proposal.id}"), 404)
        r = client.get(f"/api/v1/proposals/{proposal.id}/comments", headers=auth(w.stranger))
        assert_json_error(r, 404)
    assert_json_error(client.get("/api/v1/proposals/999999"), 404)
    assert_json_error(client.get("/api/v1/proposals/99999999999999999999"), 404)
    r = client.get(f"/api/v1/proposals/{w.draft.id}", headers=auth(w.author))
    assert r.status_code == 200 and [a["action"] for a in r.json["actions"]] == [
        "publish",
        "withdraw",
    ]


def test_list_filters(client, make_user, make_org, make_proposal, community):
    resident = make_user("resident")
    manager = make_user("manager")
    org = make_org(admin=manager)
    other_street = Street(name="西城街道")
    elsewhere = Community(street=other_street, name="柳园社区")
    db.session.add_all([other_street, elsewhere])
    db.session.commit()
    lift = make_proposal(resident, title="加装电梯", category="facilities")
    lamp = make_proposal(resident, kind="request", title="路灯不亮", category="safety")
    shop = make_proposal(manager, as_=org, title="商铺外摆", category="business")
    far = make_proposal(resident, title="柳园绿化", community_id=elsewhere.id)
    services.transition_proposal(actor_for(resident), lift, "open_voting")
    db.session.commit()

    def listed(query: str) -> list[int]:
        return ids(client.get(f"/api/v1/proposals?{query}"))

    assert listed("kind=request") == [lamp.id]
    assert listed("status=voting") == [lift.id]
    assert listed("category=business") == [shop.id]
    assert listed("author_kind=business") == [shop.id]
    assert listed(f"community={elsewhere.id}") == [far.id]
    assert listed(f"community={community.id}&kind=consultation&author_kind=resident") == [lift.id]
    r = client.get("/api/v1/proposals?sort=newest")
    assert [p["id"] for p in r.json["items"]] == [far.id, shop.id, lamp.id, lift.id]
    r = client.get("/api/v1/proposals?sort=active")
    assert r.json["items"][0]["id"] == lift.id


@pytest.mark.parametrize(
    "query",
    [
        "kind=alien",
        "status=nope",
        "category=x",
        "author_kind=martian",
        "sort=random",
        "community=abc",
        "community=-1",
        "community=99999999999999999999",
        "page=abc",
        "page=0",
        "page=99999999999999999999",
        "per_page=1000",
        "per_page=１０",
    ],
)
def test_list_refuses_bad_queries_with_json(client, community, query):
    assert_json_error(client.get(f"/api/v1/proposals?{query}"), 400)


def test_chinese_substring_search(client, make_user, make_proposal):
    author = make_user()
    lift = make_proposal(author, title="加装电梯方案", summary="为3号楼征求意见。", body="")
    make_proposal(author, title="停车管理", summary="地面停车位重新划线。", body="")
    abc = make_proposal(author, title="ABC 社区花园", summary="花园。", body="")

    def found(q: str) -> list[int]:
        return ids(client.get("/api/v1/proposals", query_string={"q": q}))

    assert found("电梯") == [lift.id]
    assert found("电梯 3号楼") == [lift.id]
    assert found("ａｂｃ") == [abc.id]  # full-width and upper case are normalised
    assert found("游泳池") == []
    assert found("%") == [] and found("_") == []  # wildcards are escaped
    assert found("电\x00梯") == [lift.id]  # control characters are dropped before the query


def test_pagination(client, make_user, make_proposal):
    author = make_user()
    made = [make_proposal(author, title=f"方案{i}") for i in range(5)]
    r = client.get("/api/v1/proposals?per_page=2")
    assert r.json["total"] == 5 and r.json["pages"] == 3 and r.json["per_page"] == 2
    assert [p["id"] for p in r.json["items"]] == [made[4].id, made[3].id]
    r = client.get("/api/v1/proposals?per_page=2&page=3")
    assert [p["id"] for p in r.json["items"]] == [made[0].id]
    assert client.get("/api/v1/proposals?per_page=2&page=9").json["items"] == []


def test_list_query_count_does_not_grow(client, make_user, make_proposal, count_queries):
    author = make_user()
    make_proposal(author)
    db.session.expire_all()
    with count_queries() as few:
        client.get("/api/v1/proposals")
    for i in range(8):
        make_proposal(author, title=f"方案{i}")
    db.session.expire_all()
    with count_queries() as many:
        r = client.get("/api/v1/proposals")
    assert len(r.json["items"]) == 9
    assert few.count == many.count <= 3


def test_comment_tree_is_nested_and_hides_removed_text(client, make_user, make_proposal):
    author, a, b = make_user("author"), make_user("a"), make_user("b")
    proposal = make_proposal(author)

    def post(user, body, parent=None):
        data = {"body": body, "parent_id": parent.id if parent else None, "signature": "named"}
        rv = comments.post_comment(actor_for(user), proposal, data)
        db.session.commit()
        return rv

    root = post(a, "第一条")
    reply = post(b, "被删除的回复", root)
    deep = post(a, "更深的回复", reply)
    other = post(b, "违规广告")
    reply.deleted_at = utcnow()
    other.hidden_reason = "广告"
    db.session.commit()

    r = client.get(f"/api/v1/proposals/{proposal.id}/comments")
    assert r.status_code == 200 and r.json["total"] == 4
    text = r.get_data(as_text=True)
    assert "被删除的回复" not in text and "违规广告" not in text
    first, second = r.json["items"]
    assert first["id"] == root.id and first["state"] == "visible"
    assert first["body_html"].strip() == "<p>第一条</p>" and first["author"]["name"] == "a"
    [gone] = first["replies"]
    assert gone["id"] == reply.id and gone["state"] == "deleted"
    assert gone["body_html"] is None and gone["author"] is None and gone["placeholder"]
    assert [c["id"] for c in gone["replies"]] == [deep.id]
    assert gone["replies"][0]["replies"] == []
    assert second["id"] == other.id and second["state"] == "hidden"
    assert second["body_html"] is None and "广告" in second["placeholder"]
    r = client.get(f"/api/v1/proposals/{proposal.id}/comments?sort=newest")
    assert [c["id"] for c in r.json["items"]] == [other.id, root.id]
    assert_json_error(client.get(f"/api/v1/proposals/{proposal.id}/comments?sort=x"), 400)


def test_positions_amendments_and_timeline(client, make_user, make_proposal):
    author, neighbour = make_user("author"), make_user("neighbour")
    proposal = make_proposal(author)
    positions.declare_position(
        actor_for(neighbour),
        proposal,
        {
            "stance": "conditional",
            "interests": ["noise"],
            "conditions": "夜间不施工",
            "signature": "named",
        },
    )
    db.session.commit()
    r = client.get(f"/api/v1/proposals/{proposal.id}/positions")
    [position] = r.json["items"]
    assert position["stance"] == "conditional" and position["conditions"] == "夜间不施工"
    assert position["interests"][0]["key"] == "noise"
    assert position["stakeholder"]["name"] == "neighbour"
    assert client.get(f"/api/v1/proposals/{proposal.id}/amendments").json == {"items": []}
    r = client.get(f"/api/v1/proposals/{proposal.id}/timeline")
    assert [t["action"] for t in r.json["items"]] == ["create", "publish"]
    assert r.json["items"][1]["to_state"] == "deliberation"
    assert r.json["items"][1]["actor"]["name"] == "author"


# -- Writes -----------------------------------------------------------------------------------


def _new(community: Community, **extra) -> dict:
    return {
        "kind": "consultation",
        "community_id": community.id,
        "title": "  社区花园改造  ",
        "summary": "把空地改成社区花园。",
        "body": "**计划**：种花。",
        "category": "environment",
        "publish": True,
    } | extra


def test_create_with_a_token(client, make_user, community):
    user = make_user("author")
    headers = auth(user)
    r = client.post("/api/v1/proposals", json=_new(community), headers=headers)
    assert r.status_code == 201, r.json
    assert r.json["title"] == "社区花园改造" and r.json["status"] == "deliberation"
    assert r.json["author"]["id"] == identity(user).id and r.json["following"] is True
    assert r.headers["Location"] == f"/api/v1/proposals/{r.json['id']}"
    deadline = (utcnow() + timedelta(days=7)).replace(tzinfo=None).isoformat(timespec="minutes")
    r = client.post(
        "/api/v1/proposals",
        json=_new(community, publish=False, deadline=deadline, visibility="community"),
        headers=headers,
    )
    assert r.status_code == 201 and r.json["status"] == "draft"
    assert r.json["deadline_at"] is not None and r.json["visibility"] == "community"
    assert_json_error(client.get(f"/api/v1/proposals/{r.json['id']}"), 404)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"title": None, "summary": None}, ["title", "summary"]),
        ({"title": "   "}, ["title"]),
        ({"community_id": "abc"}, ["community_id"]),
        ({"community_id": True}, ["community_id"]),
        ({"community_id": 10**30}, ["community_id"]),
        ({"community_id": 1.5}, ["community_id"]),
        ({"community_id": 999999}, ["community_id"]),  # no such community (the service says so)
        ({"title": ["电梯"]}, ["title"]),
        ({"title": "长" * 121}, ["title"]),
        ({"summary": {"text": "x"}}, ["summary"]),
        ({"kind": "plan"}, ["kind"]),
        ({"kind": 3}, ["kind"]),
        ({"category": "aliens"}, ["category"]),
        ({"visibility": "secret"}, ["visibility"]),
        ({"deadline": "next week"}, ["deadline"]),
        ({"deadline": 20260101}, ["deadline"]),
        ({"deadline": "2001-01-01T10:00+08:00"}, ["deadline"]),  # in the past
        ({"invited": ["x"]}, ["invited"]),
        ({"invited": [999999]}, ["invited"]),
        ({"invited": 5}, ["invited"]),
        ({"publish": "yes"}, ["publish"]),
    ],
)
def test_create_validation_errors_are_json(client, make_user, community, changes, fields):
    r = client.post("/api/v1/proposals", json=_new(community, **changes), headers=auth(make_user()))
    assert_json_error(r, 400, *fields)
    assert proposal_count() == 0


@pytest.mark.parametrize("body", [[1, 2], "text", 42, None])
def test_create_needs_a_json_object(client, make_user, community, body):
    headers = auth(make_user())
    if body is None:
        r = client.post("/api/v1/proposals", data="{not json", headers=headers)
    else:
        r = client.post("/api/v1/proposals", json=body, headers=headers)
    assert_json_error(r, 400)


def test_writes_need_a_signed_in_caller(client, make_user, make_proposal, community):
    proposal = make_proposal(make_user())
    assert_json_error(client.post("/api/v1/proposals", json=_new(community)), 401)
    assert_json_error(client.post(f"/api/v1/proposals/{proposal.id}/follow"), 401)
    r = client.post(f"/api/v1/proposals/{proposal.id}/transitions", json={"action": "close"})
    assert_json_error(r, 401)


def test_transitions(client, make_user, make_proposal):
    author, stranger = make_user("author"), make_user("stranger")
    proposal = make_proposal(author)
    headers = auth(author)
    url = f"/api/v1/proposals/{proposal.id}/transitions"
    r = client.post(url, json={"action": "open_voting"}, headers=headers)
    assert r.status_code == 200 and r.json["status"] == "voting"
    assert_json_error(client.post(url, json={"action": "open_voting"}, headers=headers), 409)
    assert_json_error(client.post(url, json={"action": "withdraw"}, headers=headers), 409)
    assert_json_error(client.post(url, json={"action": 7}, headers=headers), 400, "action")
    assert_json_error(client.post(url, json={}, headers=headers), 400, "action")
    r = client.post(url, json={"action": "withdraw", "reason": ["x"]}, headers=headers)
    assert_json_error(r, 400, "reason")
    r = client.post(url, json={"action": "withdraw", "reason": "x"}, headers=auth(stranger))
    assert_json_error(r, 403)
    r = client.post(url, json={"action": "withdraw", "reason": "改期"}, headers=headers)
    assert r.status_code == 200 and r.json["status"] == "withdrawn"
    draft = make_proposal(author, draft=True)
    r = client.post(
        f"/api/v1/proposals/{draft.id}/transitions",
        json={"action": "publish"},
        headers=auth(stranger),
    )
    assert_json_error(r, 404)


def test_forged_acting_as_is_refused(client, make_user, make_org, community):
    user, owner = make_user("user"), make_user("owner")
    theirs = make_org("别家物业", admin=owner)
    headers = auth(user) | {"X-Acting-As": str(theirs.id)}
    assert_json_error(client.post("/api/v1/proposals", json=_new(community), headers=headers), 403)
    assert_json_error(client.get("/api/v1/proposals", headers=headers), 403)
    headers["X-Acting-As"] = "abc"
    assert_json_error(client.get("/api/v1/proposals", headers=headers), 403)
    assert proposal_count() == 0


def test_acting_as_an_organisation(client, make_user, make_org, community):
    manager = make_user("manager")
    org = make_org(admin=manager)
    headers = auth(manager) | {"X-Acting-As": str(org.id)}
    r = client.post("/api/v1/proposals", json=_new(community), headers=headers)
    assert r.status_code == 201 and r.json["author"] == {
        "id": org.id,
        "name": "安居物业",
        "kind": "business",
        "is_confirmed": True,
    }


def test_session_writes_need_the_csrf_header(make_app, app, make_user, make_proposal):
    user = make_user("author")
    session_token, url = user.session_token, f"/api/v1/proposals/{make_proposal(user).id}/follow"
    db.session.rollback()  # release SQLite's write lock for the other app's requests
    strict = make_app(WTF_CSRF_ENABLED=True)
    client = strict.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = session_token
    assert_json_error(client.delete(url), 400)
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.delete(url, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.json == {"following": False}


def test_follow_and_unfollow(client, make_user, make_proposal):
    author, reader = make_user("author"), make_user("reader")
    proposal = make_proposal(author)
    draft = make_proposal(author, draft=True)
    headers = auth(reader)
    url = f"/api/v1/proposals/{proposal.id}/follow"

    def following() -> bool:
        return (
            db.session.scalar(
                sa.select(Follow.id).where(
                    Follow.proposal_id == proposal.id, Follow.user_id == reader.id
                )
            )
            is not None
        )

    r = client.post(url, headers=headers)
    assert r.status_code == 200 and r.json == {"following": True} and following()
    assert client.post(url, headers=headers).status_code == 200  # idempotent
    assert client.get(f"/api/v1/proposals/{proposal.id}", headers=headers).json["following"]
    r = client.delete(url, headers=headers)
    assert r.json == {"following": False} and not following()
    assert_json_error(client.post(f"/api/v1/proposals/{draft.id}/follow", headers=headers), 404)


def test_post_comment_and_reply(client, make_user, make_proposal):
    author, reader = make_user("author"), make_user("reader")
    proposal = make_proposal(author)
    headers = auth(reader)
    url = f"/api/v1/proposals/{proposal.id}/comments"
    r = client.post(url, json={"body": "支持**加装**", "stance": "support"}, headers=headers)
    assert (
        r.status_code == 201 and r.json["body_html"].strip() == "<p>支持<strong>加装</strong></p>"
    )
    first = r.json["id"]
    r = client.post(url, json={"body": "谢谢", "parent_id": first}, headers=auth(author))
    assert r.status_code == 201 and r.json["parent_id"] == first
    kinds = db.session.scalars(
        sa.select(Notification.kind).where(Notification.user_id.in_([author.id, reader.id]))
    ).all()
    assert sorted(kinds) == ["comment", "reply"]
    assert_json_error(client.post(url, json={"body": ["x"]}, headers=headers), 400, "body")
    assert_json_error(client.post(url, json={"body": ""}, headers=headers), 400, "body")
    assert_json_error(client.post(url, json={"body": "x", "stance": "maybe"}, headers=headers), 400)
    r = client.post(url, json={"body": "x", "parent_id": "1"}, headers=headers)
    assert_json_error(r, 400, "parent_id")
    assert_json_error(
        client.post(url, json={"body": "x", "parent_id": 999999}, headers=headers), 400
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 2


def test_declare_a_position(client, make_user, make_proposal):
    author, reader = make_user("author"), make_user("reader")
    proposal = make_proposal(author)
    headers = auth(reader)
    url = f"/api/v1/proposals/{proposal.id}/position"
    data = {
        "stance": "oppose",
        "interests": ["noise", "cost"],
        "tags": ["施工"],
        "statement": "太吵",
    }
    r = client.put(url, json=data, headers=headers)
    assert r.status_code == 200 and r.json["stance"] == "oppose"
    assert [i["key"] for i in r.json["interests"]] == ["noise", "cost"]
    assert_json_error(client.put(url, json={"stance": "love"}, headers=headers), 400, "stance")
    r = client.put(url, json={"stance": "oppose", "interests": "noise"}, headers=headers)
    assert_json_error(r, 400, "interests")
    r = client.put(url, json={"stance": "oppose", "interests": ["alien"]}, headers=headers)
    assert_json_error(r, 400, "interests")
    r = client.put(url, json={"stance": "conditional"}, headers=headers)
    assert_json_error(r, 400, "conditions")
    assert (
        client.get(f"/api/v1/proposals/{proposal.id}/positions").json["items"][0]["stance"]
        == "oppose"
    )


def test_posting_by_api_is_rate_limited(make_app, make_user, make_proposal):
    author = make_user("author")
    url = f"/api/v1/proposals/{make_proposal(author).id}/comments"
    headers = auth(author)
    db.session.rollback()  # release SQLite's write lock for the other app's requests
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_COMMENT_POSTS="2 per minute")
    client = limited.test_client()
    for _ in range(2):
        assert client.post(url, json={"body": "好"}, headers=headers).status_code == 201
    assert_json_error(client.post(url, json={"body": "好"}, headers=headers), 429)
