"""Proposals: create, publish, edit with versions, lifecycle, visibility, browse and search."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from coord.db import db, utcnow
from coord.errors import DomainError, NotAllowed
from coord.models import AuditEvent
from proposals import services
from proposals.models import ProposalTransition, ProposalVersion, Visibility
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind

from helpers import identity, use_english


def actor_for(user, stakeholder=None):
    return Actor(user, stakeholder or identity(user))


def test_draft_is_private_until_published(client, login_as, make_user, make_proposal):
    author, other = make_user("author"), make_user("other")
    proposal = make_proposal(author, draft=True)
    assert proposal.status == "draft" and proposal.published_at is None
    assert client.get(f"/proposals/{proposal.id}").status_code == 404
    login_as(other)
    assert client.get(f"/proposals/{proposal.id}").status_code == 404
    assert "加装电梯" not in client.get("/proposals").get_data(as_text=True)
    login_as(author)
    assert client.get(f"/proposals/{proposal.id}").status_code == 200
    client.post(f"/proposals/{proposal.id}/transition", data={"action": "publish"})
    db.session.expire_all()
    assert proposal.status == "deliberation" and proposal.published_at is not None
    login_as(other)
    assert client.get(f"/proposals/{proposal.id}").status_code == 200


def test_request_is_public_at_once(app, make_user, make_proposal):
    proposal = make_proposal(make_user(), kind="request", title="路灯不亮")
    assert proposal.status == "submitted" and proposal.published_at is not None


def test_edit_makes_versions_and_diff(client, login_as, make_user, make_proposal):
    author = make_user("author")
    proposal = make_proposal(author)
    login_as(author)
    r = client.post(
        f"/proposals/{proposal.id}/edit",
        data={
            "title": "3号楼加装电梯方案",
            "summary": proposal.summary,
            "body": "**方案**：在3号楼南侧加装电梯。",
            "visibility": "public",
            "save": "1",
            "note": "改到南侧",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    versions = db.session.scalars(
        sa.select(ProposalVersion)
        .where(ProposalVersion.proposal_id == proposal.id)
        .order_by(ProposalVersion.number)
    ).all()
    assert [v.number for v in versions] == [1, 2] and versions[1].note == "改到南侧"
    assert "北侧" in versions[0].body_source and "南侧" in versions[1].body_source
    page = client.get(f"/proposals/{proposal.id}/diff?a=1&b=2").get_data(as_text=True)
    assert "<del>北</del><ins>南</ins>" in page
    assert client.get(f"/proposals/{proposal.id}/versions/1").status_code == 200
    assert client.get(f"/proposals/{proposal.id}/versions/9").status_code == 404
    assert client.get(f"/proposals/{proposal.id}/diff?a=1&b=9").status_code == 404


def test_saving_unchanged_text_makes_no_version(app, make_user, make_proposal):
    author = make_user()
    proposal = make_proposal(author)
    data = {
        "title": proposal.title,
        "summary": proposal.summary,
        "body": proposal.body_source,
        "category": "facilities",
        "visibility": "public",
    }
    services.edit_proposal(actor_for(author), proposal, data)
    assert proposal.version == 1


def test_only_the_author_or_org_admins_edit(client, login_as, make_user, make_org, make_proposal):
    admin, member, stranger = make_user("admin"), make_user("member"), make_user("stranger")
    org = make_org(
        "兰苑社区居委会",
        Kind.SOCIAL_ORGANIZATION,
        Function.RESIDENTS_COMMITTEE,
        admin=admin,
        members={member: "member"},
    )
    proposal = make_proposal(member, as_=org)
    login_as(stranger)
    assert client.get(f"/proposals/{proposal.id}/edit").status_code == 403
    login_as(member)  # acting as themself, not as the organisation
    assert client.get(f"/proposals/{proposal.id}/edit").status_code == 403
    login_as(member, acting_as=org)
    assert client.get(f"/proposals/{proposal.id}/edit").status_code == 200
    login_as(admin)
    assert client.get(f"/proposals/{proposal.id}/edit").status_code == 200


def test_lifecycle_records_a_timeline_and_audit(app, make_user, make_proposal):
    author = make_user()
    proposal = make_proposal(author)
    services.transition_proposal(actor_for(author), proposal, "open_voting")
    db.session.commit()
    steps = db.session.scalars(
        sa.select(ProposalTransition.action)
        .where(ProposalTransition.proposal_id == proposal.id)
        .order_by(ProposalTransition.id)
    ).all()
    assert steps == ["create", "publish", "open_voting"]
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "proposal.open_voting")
    )
    assert event.is_public and event.data == {"from": "deliberation", "to": "voting"}


def test_illegal_transition_is_refused_with_a_message(client, login_as, make_user, make_proposal):
    author = make_user()
    proposal = make_proposal(author)
    with pytest.raises(DomainError) as exc:
        services.transition_proposal(actor_for(author), proposal, "implement")
    assert exc.value.status == 409
    login_as(author)
    use_english(client)
    page = client.post(
        f"/proposals/{proposal.id}/transition", data={"action": "implement"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "not possible" in page
    db.session.expire_all()
    assert proposal.status == "deliberation"


def test_withdraw_needs_a_reason_and_strangers_cannot(client, login_as, make_user, make_proposal):
    author, stranger = make_user("author"), make_user("stranger")
    proposal = make_proposal(author)
    with pytest.raises(DomainError) as exc:
        services.transition_proposal(actor_for(stranger), proposal, "withdraw", "不想要")
    assert exc.value.status == 403
    with pytest.raises(DomainError):
        services.transition_proposal(actor_for(author), proposal, "withdraw", "  ")
    services.transition_proposal(actor_for(author), proposal, "withdraw", "方案有误")
    assert proposal.status == "withdrawn"


def test_moderator_may_open_voting(app, make_user, committee, make_proposal):
    proposal = make_proposal(make_user())
    services.transition_proposal(actor_for(committee.admin_user), proposal, "open_voting")
    assert proposal.status == "voting"


@pytest.mark.parametrize("visibility", ["community", "invited"])
def test_restricted_visibility(
    client, login_as, make_user, make_resident, make_org, make_proposal, visibility
):
    author = make_user("author")
    resident = make_resident("resident")
    invited_admin = make_user("invitee")
    invited_org = make_org(
        "银龄志愿者协会",
        Kind.SOCIAL_ORGANIZATION,
        Function.VOLUNTEER_ASSOCIATION,
        admin=invited_admin,
        in_community=False,
    )
    stranger = make_user("stranger")
    proposal = make_proposal(author, visibility=visibility, invited=[invited_org.id])
    url = f"/proposals/{proposal.id}"
    assert client.get(url).status_code == 404
    login_as(stranger)
    assert client.get(url).status_code == 404
    assert "加装电梯" not in client.get("/proposals").get_data(as_text=True)
    login_as(resident)
    assert client.get(url).status_code == (200 if visibility == "community" else 404)
    login_as(invited_admin)
    # the invited organisation is street-level, so it belongs to every community of the street too
    assert client.get(url).status_code == 200
    assert "加装电梯" in client.get("/proposals").get_data(as_text=True)


def test_deadline_must_be_in_the_future(app, make_user, make_proposal):
    with pytest.raises(DomainError) as exc:
        make_proposal(make_user(), deadline=utcnow() - timedelta(days=1))
    assert exc.value.field == "deadline"


def test_search_finds_chinese_substrings(client, make_user, make_proposal):
    author = make_user()
    make_proposal(author, title="加装电梯方案")
    make_proposal(author, title="垃圾分类投放点选址", summary="四个备选地点", body="")
    make_proposal(author, title="ＡＢＣ停车场", summary="全角字母", body="")

    def titles(query):
        page = client.get("/proposals", query_string={"q": query}).get_data(as_text=True)
        return {t for t in ("加装电梯方案", "垃圾分类投放点选址", "ＡＢＣ停车场") if t in page}

    assert titles("电梯") == {"加装电梯方案"}
    assert titles("投放点 选址") == {"垃圾分类投放点选址"}
    assert titles("abc") == {"ＡＢＣ停车场"}  # full-width and case folded
    assert titles("100%") == set()
    assert titles("_") == set()


def test_browse_filters_and_sorts(client, make_user, make_org, make_proposal):
    resident = make_user("resident")
    shop_admin = make_user("shop")
    shop = make_org("绿园餐饮", admin=shop_admin)
    make_proposal(resident, title="甲方案", kind="request", category="parking")
    make_proposal(shop_admin, as_=shop, title="乙方案", category="business")
    page = client.get("/proposals?kind=request").get_data(as_text=True)
    assert "甲方案" in page and "乙方案" not in page
    page = client.get("/proposals?author_kind=business").get_data(as_text=True)
    assert "乙方案" in page and "甲方案" not in page
    page = client.get("/proposals?category=parking").get_data(as_text=True)
    assert "甲方案" in page and "乙方案" not in page
    page = client.get("/proposals?sort=newest").get_data(as_text=True)
    assert page.index("乙方案") < page.index("甲方案")
    assert client.get("/proposals?sort=nonsense&kind=alien&page=999").status_code == 200


def test_browse_query_count_does_not_grow(client, make_user, make_proposal, count_queries):
    author = make_user()
    make_proposal(author)
    db.session.expire_all()
    with count_queries() as few:
        client.get("/proposals")
    for i in range(12):
        make_proposal(author, title=f"方案{i}")
    db.session.expire_all()
    with count_queries() as many:
        client.get("/proposals")
    assert many.count == few.count


def test_create_form_keeps_input_on_error(client, login_as, make_user, community):
    login_as(make_user())
    use_english(client)
    r = client.post(
        "/proposals/new",
        data={
            "kind": "consultation",
            "community_id": community.id,
            "title": "电" * 121,
            "summary": "我的摘要",
            "visibility": "public",
            "publish": "1",
        },
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "我的摘要" in page and "longer than 120" in page


def test_preview_renders_sanitised_markdown(client, login_as, make_user, community):
    login_as(make_user())
    r = client.post(
        "/proposals/new",
        data={
            "kind": "consultation",
            "community_id": community.id,
            "title": "预览",
            "summary": "摘要",
            "visibility": "public",
            "body": "**粗体** <script>alert(1)</script>",
            "preview": "1",
        },
    )
    page = r.get_data(as_text=True)
    assert "<strong>粗体</strong>" in page and "<script>alert(1)" not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProposalVersion)) == 0


@pytest.mark.parametrize(
    ("method", "url", "anonymous", "stranger"),
    [
        ("GET", "/proposals/{id}", 200, 200),
        ("GET", "/proposals/{id}/versions", 200, 200),
        ("GET", "/proposals/{id}/diff", 200, 200),
        ("GET", "/proposals/{id}/edit", 302, 403),
        ("POST", "/proposals/{id}/transition", 302, 302),
        ("POST", "/proposals/{id}/follow", 302, 302),
        ("GET", "/proposals/new", 302, 200),
    ],
)
def test_access_table(client, login_as, make_user, make_proposal, method, url, anonymous, stranger):
    proposal = make_proposal(make_user("author"))
    url = url.format(id=proposal.id)
    assert client.open(url, method=method, data={"action": "open_voting"}).status_code == anonymous
    login_as(make_user("stranger"))
    assert client.open(url, method=method, data={"action": "open_voting"}).status_code == stranger
    db.session.expire_all()
    assert proposal.status == "deliberation"  # the stranger's transition was refused


def test_unknown_category_or_kind_refused(app, make_user, make_proposal):
    with pytest.raises(DomainError):
        make_proposal(make_user(), category="alien")
    with pytest.raises(DomainError):
        make_proposal(make_user(), kind="alien")


def test_visibility_enum_roundtrip(app, make_user, make_proposal):
    proposal = make_proposal(make_user(), visibility="community")
    db.session.expire_all()
    assert proposal.visibility == Visibility.COMMUNITY


def test_non_author_edit_refused_in_service(app, make_user, make_proposal):
    proposal = make_proposal(make_user())
    with pytest.raises(NotAllowed):
        services.edit_proposal(actor_for(make_user()), proposal, {"title": "x", "summary": "y"})
