"""Amendments: propose, support, withdraw, accept (with three-way conflicts) and reject;
story 1 end to end; the page context's query count; the views and who may use them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from coord import signals
from coord.db import db
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import AuditEvent
from proposals import services
from proposals.deliberation import amendments, negotiation, page, positions
from proposals.deliberation.models import (
    Amendment,
    AmendmentStatus,
    AmendmentSupport,
    Position,
    PositionStance,
)
from proposals.models import ProposalVersion
from proposals.viewer import Viewer
from stakeholders.acting import Actor
from stakeholders.models import Kind, Stakeholder

from helpers import forget_caches, form_errors, identity, use_english

BODY = "在3号楼北侧加装电梯一部。\n\n费用由全体业主分摊。\n\n施工时间另行通知。\n"
TABLE = (
    "费用按楼层分摊：\n\n| 楼层 | 分摊比例 |\n|---|---|\n| 1 | 0% |\n| 2 | 8% |\n"
    "| 3 | 16% |\n| 4 | 22% |\n| 5 | 26% |\n| 6 | 28% |\n"
)


def actor_for(user, stakeholder=None) -> Actor:
    return Actor(user, stakeholder or identity(user))


@pytest.fixture
def lift(committee, make_proposal):
    """Story 1: the residents committee's consultation on a lift for building 3."""
    return make_proposal(committee.admin_user, as_=committee, title="3号楼加装电梯", body=BODY)


@pytest.fixture
def owner(lift, committee) -> Actor:
    return Actor(committee.admin_user, committee)


def propose(user, proposal, stakeholder=None, **data) -> Amendment:
    values = {
        "title": proposal.title,
        "body": BODY.replace("费用由全体业主分摊。\n", TABLE),
        "rationale": "一楼住户不使用电梯，不应出资。",
    } | data
    rv = amendments.propose_amendment(actor_for(user, stakeholder), proposal, values)
    db.session.commit()
    return rv


def edit(actor: Actor, proposal, body: str, title: str | None = None) -> None:
    data = {
        "title": title or proposal.title,
        "summary": proposal.summary,
        "body": body,
        "category": proposal.category,
        "deadline": proposal.deadline_at,
    }
    services.edit_proposal(actor, proposal, data, note="修改")
    db.session.commit()


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _version(proposal, number: int) -> ProposalVersion:
    return db.session.scalar(
        sa.select(ProposalVersion).where(
            ProposalVersion.proposal_id == proposal.id, ProposalVersion.number == number
        )
    )


# --- propose ----------------------------------------------------------------------------


def test_propose_an_amendment(make_resident, lift):
    wang = make_resident("wang")
    amendment = propose(wang, lift)
    assert amendment.status == AmendmentStatus.OPEN and amendment.base_version == 1
    assert amendment.actor_id == identity(wang).id and amendment.user_id == wang.id
    assert "<table>" in amendment.body_html and "<th>楼层</th>" in amendment.body_html
    assert amendment.support_count == 0
    (event,) = _audit("amendment.propose")
    # signed by building (the default): the supervision page shows "a resident", not the name
    expected = {"proposal_id": lift.id, "base_version": 1, "signed": "resident"}
    assert event.is_public and event.data == expected


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"body": BODY}, "body"),  # no change at all
        ({"title": ""}, "title"),
        ({"title": "长" * 121}, "title"),
        ({"rationale": "  "}, "rationale"),
        ({"rationale": "理" * 2001}, "rationale"),
        ({"body": "文" * 50_001}, "body"),
        ({"base_version": 2}, None),  # a version that does not exist yet
    ],
)
def test_invalid_amendments_are_refused(make_resident, lift, data, field):
    with pytest.raises(DomainError) as exc:
        propose(make_resident("wang"), lift, **data)
    assert exc.value.field == field
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Amendment.id))) == 0


def test_no_amendment_of_a_withdrawn_proposal(make_resident, lift, owner):
    services.transition_proposal(owner, lift, "withdraw", "改为下次再议")
    db.session.commit()
    with pytest.raises(Conflict):
        propose(make_resident("wang"), lift)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Amendment.id))) == 0


def test_only_those_who_may_take_part_propose(make_user, make_proposal):
    members_only = make_proposal(make_user("author"), visibility="community")
    with pytest.raises(NotAllowed):
        propose(make_user("outsider"), members_only)


# --- support and withdraw ---------------------------------------------------------------


def test_support_once_and_not_ones_own(make_resident, make_user, make_org, lift):
    wang, li = make_resident("wang"), make_resident("liming")
    boss = make_user("boss")
    anju = make_org("安居物业", admin=boss)
    amendment = propose(wang, lift)
    amendments.support_amendment(actor_for(li), amendment)
    amendments.support_amendment(actor_for(boss, anju), amendment)
    db.session.commit()
    assert amendment.support_count == 2
    with pytest.raises(Conflict):
        amendments.support_amendment(actor_for(li), amendment)
    db.session.rollback()
    with pytest.raises(NotAllowed):
        amendments.support_amendment(actor_for(wang), amendment)
    db.session.rollback()
    db.session.refresh(amendment)
    assert amendment.support_count == 2
    assert [s.name for s in amendments.supporters(amendment)] == ["liming", "安居物业"]
    assert not _audit("amendment.support")[0].is_public


def test_withdraw_only_by_its_author_and_then_closed(make_resident, lift):
    wang, li = make_resident("wang"), make_resident("liming")
    amendment = propose(wang, lift)
    with pytest.raises(NotAllowed):
        amendments.withdraw_amendment(actor_for(li), amendment)
    amendments.withdraw_amendment(actor_for(wang), amendment)
    db.session.commit()
    assert amendment.status == AmendmentStatus.WITHDRAWN
    with pytest.raises(Conflict):
        amendments.support_amendment(actor_for(li), amendment)


# --- decide -----------------------------------------------------------------------------


def test_accept_makes_the_next_version(make_resident, lift, owner):
    amendment = propose(make_resident("wang"), lift, title="3号楼加装电梯（含分摊表）")
    seen = []
    with signals.amendment_decided.connected_to(lambda a, actor: seen.append(a.status)):
        number = amendments.accept_amendment(owner, amendment, note="采纳")
    db.session.commit()
    assert number == 2 and lift.version == 2
    assert lift.body_source == amendment.body_source and lift.title == "3号楼加装电梯（含分摊表）"
    version = _version(lift, 2)
    assert version.amendment_id == amendment.id and version.body_source == amendment.body_source
    assert amendment.status == AmendmentStatus.ACCEPTED and amendment.resulting_version == 2
    assert amendment.decided_by_id == owner.user.id and amendment.decision_reason == "采纳"
    assert seen == [AmendmentStatus.ACCEPTED]
    (event,) = _audit("amendment.accept")
    assert event.is_public and event.data["version"] == 2 and event.actor_id == owner.stakeholder.id
    with pytest.raises(Conflict):
        amendments.accept_amendment(owner, amendment)


def test_only_the_owner_decides(make_resident, make_user, make_proposal, committee, lift):
    wang, li = make_resident("wang"), make_resident("liming")
    amendment = propose(wang, lift)
    for who in (actor_for(li), actor_for(wang)):
        with pytest.raises(NotAllowed):
            amendments.accept_amendment(who, amendment)
        with pytest.raises(NotAllowed):
            amendments.reject_amendment(who, amendment, "不行")
    # A moderator of the community is not the owner of a resident's proposal.
    request = make_proposal(li, kind="request", title="楼道灯坏了", body="三楼楼道灯不亮。")
    on_request = propose(wang, request, body="三楼和四楼楼道灯都不亮。")
    with pytest.raises(NotAllowed):
        amendments.accept_amendment(actor_for(committee.admin_user, committee), on_request)
    db.session.rollback()
    assert amendment.status == on_request.status == AmendmentStatus.OPEN


def test_reject_needs_a_reason(make_resident, lift, owner):
    amendment = propose(make_resident("wang"), lift)
    with pytest.raises(DomainError) as exc:
        amendments.reject_amendment(owner, amendment, "  ")
    assert exc.value.field == "reason"
    amendments.reject_amendment(owner, amendment, "分摊比例需业主大会表决")
    db.session.commit()
    assert amendment.status == AmendmentStatus.REJECTED
    assert amendment.decision_reason == "分摊比例需业主大会表决"
    assert lift.version == 1 and _audit("amendment.reject")[0].is_public
    with pytest.raises(Conflict):
        amendments.accept_amendment(owner, amendment)


def test_accept_merges_cleanly_with_changes_made_since(make_resident, lift, owner):
    amendment = propose(make_resident("wang"), lift)
    edit(owner, lift, BODY.replace("施工时间另行通知。", "施工避开22:00–07:00。"))
    plan = amendments.accept_plan(amendment, lift)
    assert plan.is_stale and not plan.needs_resolution
    number = amendments.accept_amendment(owner, amendment)
    db.session.commit()
    assert number == 3
    assert TABLE in lift.body_source and "施工避开22:00–07:00。" in lift.body_source
    assert _audit("amendment.accept")[0].data["merged"] is True


def test_accept_with_a_conflict_requires_the_resolved_text(make_resident, lift, owner):
    amendment = propose(make_resident("wang"), lift)
    edit(owner, lift, BODY.replace("费用由全体业主分摊。", "费用由政府补贴一半，其余业主分摊。"))
    plan = amendments.accept_plan(amendment, lift)
    assert plan.needs_resolution and len(plan.conflicts) == 1
    assert plan.conflicts[0].ours == "费用由政府补贴一半，其余业主分摊。"
    assert plan.conflicts[0].base == "费用由全体业主分摊。"
    assert "<<<<<<< " in plan.body and ">>>>>>> " in plan.body
    with pytest.raises(DomainError) as exc:
        amendments.accept_amendment(owner, amendment)
    assert exc.value.field == "body"
    with pytest.raises(DomainError) as exc:
        amendments.accept_amendment(owner, amendment, version=2, title=plan.title, body=plan.body)
    assert exc.value.field == "body"
    resolved = BODY.replace("费用由全体业主分摊。\n", "政府补贴一半。" + TABLE)
    with pytest.raises(Conflict):  # resolved against version 1, but the text is at version 2
        amendments.accept_amendment(owner, amendment, version=1, title=plan.title, body=resolved)
    db.session.rollback()
    assert amendment.status == AmendmentStatus.OPEN and lift.version == 2
    number = amendments.accept_amendment(
        owner, amendment, version=2, title=plan.title, body=resolved
    )
    db.session.commit()
    assert number == 3 and lift.body_source == resolved
    assert amendment.status == AmendmentStatus.ACCEPTED


def test_a_title_changed_on_both_sides_must_be_resolved(make_resident, lift, owner):
    amendment = propose(make_resident("wang"), lift, title="3号楼加装电梯及费用分摊")
    edit(owner, lift, BODY, title="3号楼加装电梯方案（第二稿）")
    plan = amendments.accept_plan(amendment, lift)
    assert plan.title_conflict and not plan.conflicts
    with pytest.raises(DomainError) as exc:
        amendments.accept_amendment(owner, amendment, version=2, title="", body=plan.body)
    assert exc.value.field == "title"
    amendments.accept_amendment(owner, amendment, version=2, title="3号楼加装电梯", body=plan.body)
    db.session.commit()
    assert lift.title == "3号楼加装电梯" and TABLE in lift.body_source


def test_no_decision_on_a_closed_proposal(make_resident, lift, owner):
    amendment = propose(make_resident("wang"), lift)
    services.transition_proposal(owner, lift, "withdraw", "暂缓")
    db.session.commit()
    with pytest.raises(Conflict):
        amendments.accept_amendment(owner, amendment)
    db.session.rollback()
    amendments.reject_amendment(owner, amendment, "提案已撤回")  # tidying up stays possible
    db.session.commit()
    assert amendment.status == AmendmentStatus.REJECTED and lift.version == 1


# --- story 1 ----------------------------------------------------------------------------


def test_story_1_the_lift_in_building_3(make_resident, make_user, make_org, lift, owner):
    """Wang supports, Li Ming supports on conditions; an amendment adds a cost-sharing
    table by floor; the owner accepts it; Li Ming's condition shows as met."""
    wang = make_resident("wang", building="3", unit="501")
    li = make_resident("liming", building="3", unit="101")
    boss = make_user("boss")
    anju = make_org("安居物业", admin=boss)
    positions.declare_position(
        actor_for(wang),
        lift,
        {"stance": "support", "interests": ["convenience", "health"], "statement": "我住五楼。"},
    )
    li_position = positions.declare_position(
        actor_for(li),
        lift,
        {
            "stance": "conditional",
            "interests": ["cost", "noise", "property_value"],
            "conditions": "一楼住户不出资，施工避开22:00–07:00",
        },
    )
    positions.declare_position(
        actor_for(boss, anju), lift, {"stance": "neutral", "interests": ["cost"]}
    )
    db.session.commit()
    body = BODY.replace("费用由全体业主分摊。\n", TABLE).replace(
        "施工时间另行通知。", "施工时间为每日07:00–22:00以外不施工。"
    )
    table = propose(wang, lift, body=body, rationale="按楼层分摊，一楼不出资，夜间不施工。")
    positions.declare_position(
        actor_for(li),
        lift,
        {
            "stance": "conditional",
            "interests": ["cost", "noise", "property_value"],
            "conditions": "一楼住户不出资，施工避开22:00–07:00",
            "condition_amendment_id": table.id,
        },
    )
    amendments.support_amendment(actor_for(li), table)
    db.session.commit()
    with db.session.no_autoflush:
        panel = negotiation.conditions(
            [(li_position.id, "resident", li_position.conditions, table.id, False)],
            {table.id: "open"},
        )
    assert panel.open[0].amendment_id == table.id

    number = amendments.accept_amendment(owner, table)
    db.session.commit()
    db.session.expire_all()
    assert number == 2 and "| 1 | 0% |" in lift.body_source
    assert li_position.condition_met_at is not None
    assert li_position.stance == PositionStance.CONDITIONAL  # he decides himself to update
    assert [r.stance for r in positions.history(li_position)] == [PositionStance.CONDITIONAL]
    rows = positions.rows_for(lift)
    summary = negotiation.summarise(
        (r.stakeholder.kind.value, r.position.stance.value, r.position.interests, r.condition_met)
        for r in rows
    )
    assert (summary.conditional, summary.conditions_met, summary.conditions_open) == (1, 1, 0)
    assert summary.overall.counts == {"support": 1, "conditional": 1, "neutral": 1, "oppose": 0}
    # Li Ming updates his stance: the conditional one stays in the history.
    positions.declare_position(
        actor_for(li), lift, {"stance": "support", "interests": ["cost"], "statement": "条件已满足"}
    )
    db.session.commit()
    newest = positions.history(li_position)[0]
    assert newest.stance == PositionStance.CONDITIONAL


# --- page context -----------------------------------------------------------------------


def _viewer(actor: Actor | None, roles=frozenset()) -> Viewer:
    return Viewer(
        actor.user if actor else None, actor, frozenset(roles), actor is not None, False, False
    )


def _context_queries(app: Flask, count_queries, lift, actor) -> tuple[int, dict]:
    db.session.expire_all()
    _loaded = (lift.id, lift.kind, lift.status, actor.stakeholder.id)
    with app.test_request_context("/"), count_queries() as counter:
        context = page.amendments_context(lift, _viewer(actor, {"author"}), {})
    return counter.count, context


def test_page_context_queries_do_not_grow_with_amendments(
    app, count_queries, make_resident, lift, owner
):
    wang, li = make_resident("wang"), make_resident("liming")
    first = propose(wang, lift)
    amendments.support_amendment(actor_for(li), first)
    db.session.commit()
    small, context = _context_queries(app, count_queries, lift, actor_for(li))
    assert context["supported_amendment_ids"] == {first.id}
    for n in range(19):
        propose(wang, lift, body=BODY + f"补充{n}。\n")
    large, context = _context_queries(app, count_queries, lift, actor_for(li))
    assert small == large == 2
    assert context["amendments_total"] == 20 and context["can_decide_amendments"]
    with app.test_request_context("/"):
        only_open = page.amendments_context(lift, _viewer(None), {"amendments": "open"})
    assert only_open["amendment_filter"] == "open" and len(only_open["amendments"]) == 20
    assert only_open["supported_amendment_ids"] == set()
    assert not only_open["can_propose_amendment"] and not only_open["can_decide_amendments"]


# --- views ------------------------------------------------------------------------------


@pytest.fixture
def world(make_resident, make_user, lift):
    wang = make_resident("wang")
    return {
        "author": wang,
        "other": make_resident("liming"),
        "amendment": propose(wang, lift),
    }


def _url(template: str, w: dict, lift) -> str:
    return template.format(p=lift.id, a=w["amendment"].id)


# (method, url, expected as anonymous, other resident, amendment author, owner)
ACCESS = [
    ("GET", "/amendments/{a}", 200, 200, 200, 200),
    ("GET", "/proposals/{p}/amendments/new", 302, 200, 200, 200),
    ("POST", "/amendments/{a}/support", 302, 302, 302, 302),
    ("GET", "/amendments/{a}/accept", 302, 403, 403, 200),
    ("POST", "/amendments/{a}/reject", 302, 403, 403, 422),
    ("POST", "/amendments/{a}/withdraw", 302, 403, 302, 403),
    ("GET", "/amendments/999999", 404, 404, 404, 404),
]


@pytest.mark.parametrize(("method", "url", *["anon", "other", "author", "owner"]), ACCESS)
def test_access_table(
    client, login_as, world, lift, committee, method, url, anon, other, author, owner
):
    target = _url(url, world, lift)
    call = client.get if method == "GET" else client.post
    assert call(target).status_code == anon
    for user, expected, acting in (
        (world["other"], other, None),
        (world["author"], author, None),
        (committee.admin_user, owner, committee),
    ):
        login_as(user, acting_as=acting)
        assert call(target).status_code == expected, user.username


def test_hidden_proposal_is_404_for_its_amendments(
    client, login_as, make_user, make_resident, make_proposal
):
    author = make_user("author")
    members_only = make_proposal(author, visibility="community", title="仅社区成员")
    amendment = propose(make_resident("insider"), members_only)
    stranger = make_user("stranger")
    login_as(stranger)
    for url in (
        f"/amendments/{amendment.id}",
        f"/amendments/{amendment.id}/accept",
        f"/proposals/{members_only.id}/amendments/new",
    ):
        assert client.get(url).status_code == 404
    for action in ("support", "reject", "withdraw"):
        assert client.post(f"/amendments/{amendment.id}/{action}").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(AmendmentSupport.id))) == 0


def test_propose_through_the_form(client, login_as, make_resident, lift):
    wang = make_resident("wang")
    login_as(wang)
    use_english(client)
    page = client.get(f"/proposals/{lift.id}/amendments/new").get_data(True)
    assert "费用由全体业主分摊。" in page and 'name="base_version" type="hidden" value="1"' in page
    new_body = BODY.replace("费用由全体业主分摊。\n", TABLE)
    data = {"base_version": 1, "title": lift.title, "body": new_body, "rationale": ""}
    r = client.post(f"/proposals/{lift.id}/amendments/new", data=data)
    assert r.status_code == 422 and "| 6 | 28% |" in r.get_data(True)
    assert db.session.scalar(sa.select(sa.func.count(Amendment.id))) == 0
    r = client.post(f"/proposals/{lift.id}/amendments/new", data=data | {"rationale": "按楼层分摊"})
    amendment = db.session.scalar(sa.select(Amendment))
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/amendments/{amendment.id}")
    page = client.get(f"/amendments/{amendment.id}").get_data(True)
    assert (
        "<ins>| 1 | 0% |</ins>" in page and "费用<del>由全体业主</del><ins>按楼层</ins>分摊" in page
    )


def test_support_through_the_page(client, login_as, world, lift):
    login_as(world["other"])
    amendment = world["amendment"]
    client.post(f"/amendments/{amendment.id}/support")
    client.post(f"/amendments/{amendment.id}/support")  # refused with a message
    db.session.refresh(amendment)
    assert amendment.support_count == 1
    login_as(world["author"])
    client.post(f"/amendments/{amendment.id}/support")  # one's own: refused
    db.session.refresh(amendment)
    assert amendment.support_count == 1


def test_forged_acting_as_cannot_support(client, login_as, make_user, make_org, world):
    stranger = make_user("stranger")
    org = make_org("和顺建筑", admin=make_user("heshun_boss"))
    login_as(stranger, acting_as=org)
    amendment = world["amendment"]
    r = client.post(f"/amendments/{amendment.id}/support", data={"acting_as": org.id})
    assert r.status_code == 403
    r = client.post(f"/amendments/{amendment.id}/support", headers={"X-Acting-As": str(org.id)})
    assert r.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(AmendmentSupport.id))) == 0


def test_reject_through_the_page(client, login_as, committee, world, lift):
    amendment = world["amendment"]
    login_as(committee.admin_user, acting_as=committee)
    use_english(client)
    r = client.post(f"/amendments/{amendment.id}/reject", data={"reason": ""})
    assert r.status_code == 422 and form_errors(r.get_data(True)) == [
        "Give a reason for the rejection."
    ]
    r = client.post(f"/amendments/{amendment.id}/reject", data={"reason": "需业主大会表决"})
    assert r.status_code == 302
    db.session.refresh(amendment)
    assert amendment.status == AmendmentStatus.REJECTED
    assert "需业主大会表决" in client.get(f"/amendments/{amendment.id}").get_data(True)


def test_accept_with_conflict_through_the_page(client, login_as, committee, world, lift, owner):
    amendment = world["amendment"]
    edit(owner, lift, BODY.replace("费用由全体业主分摊。", "费用由政府补贴一半。"))
    login_as(committee.admin_user, acting_as=committee)
    use_english(client)
    page = client.get(f"/amendments/{amendment.id}/accept").get_data(True)
    assert "&lt;&lt;&lt;&lt;&lt;&lt;&lt; current text (version 2)" in page
    assert 'name="version" type="hidden" value="2"' in page
    merged = amendments.accept_plan(amendment, lift).body
    data = {"version": 2, "title": lift.title, "body": merged, "acting_as": committee.id}
    r = client.post(f"/amendments/{amendment.id}/accept", data=data)
    assert r.status_code == 422
    assert "Remove the conflict markers" in r.get_data(True)
    resolved = BODY.replace("费用由全体业主分摊。\n", "政府补贴一半。\n" + TABLE)
    r = client.post(f"/amendments/{amendment.id}/accept", data=data | {"body": resolved})
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/proposals/{lift.id}#amendments"
    )
    db.session.expire_all()
    assert lift.version == 3 and lift.body_source == resolved
    assert amendment.status == AmendmentStatus.ACCEPTED


def test_accept_without_conflict_through_the_page(client, login_as, committee, world, lift):
    amendment = world["amendment"]
    login_as(committee.admin_user, acting_as=committee)
    page = client.get(f"/amendments/{amendment.id}/accept").get_data(True)
    assert "<ins>| 1 | 0% |</ins>" in page and 'name="body"' not in page
    r = client.post(f"/amendments/{amendment.id}/accept", data={"version": 1})
    assert r.status_code == 302
    db.session.expire_all()
    assert lift.version == 2 and lift.body_source == amendment.body_source
    r = client.get(f"/amendments/{amendment.id}/accept")  # already decided
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/amendments/{amendment.id}")


def test_proposal_page_lists_amendments(client, login_as, world, lift, committee):
    amendment = world["amendment"]
    use_english(client)
    page = client.get(f"/proposals/{lift.id}").get_data(True)
    assert f"Amendment #{amendment.id}" in page and "Review and accept" not in page
    login_as(committee.admin_user, acting_as=committee)
    use_english(client)
    page = client.get(f"/proposals/{lift.id}").get_data(True)
    assert f"/amendments/{amendment.id}/accept" in page


def test_no_amending_or_supporting_once_the_proposal_is_withdrawn(
    client, login_as, world, lift, owner
):
    services.transition_proposal(owner, lift, "withdraw", "暂缓")
    db.session.commit()
    login_as(world["other"])
    assert client.get(f"/proposals/{lift.id}/amendments/new").status_code == 403
    assert client.post(f"/proposals/{lift.id}/amendments/new", data={}).status_code == 403
    assert client.post(f"/amendments/{world['amendment'].id}/support").status_code == 403
    assert client.get(f"/amendments/{world['amendment'].id}").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(AmendmentSupport.id))) == 0


def test_proposal_page_queries_do_not_grow_with_positions_and_amendments(
    client, login_as, count_queries, make_resident, lift
):
    wang, li = make_resident("wang"), make_resident("liming")
    first = propose(wang, lift)
    positions.declare_position(
        actor_for(li),
        lift,
        {
            "stance": "conditional",
            "conditions": "一楼不出资",
            "condition_amendment_id": first.id,
            "interests": ["cost"],
        },
    )
    amendments.support_amendment(actor_for(li), first)
    db.session.commit()
    login_as(li)
    url = f"/proposals/{lift.id}"

    def count() -> int:
        db.session.expire_all()
        forget_caches()  # both views compute the map and the opinion groups
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    few = count()
    kinds = list(Kind)
    for n in range(199):
        s = Stakeholder(kind=kinds[n % 4], name=f"相关方{n}")
        db.session.add(s)
        db.session.flush()
        db.session.add(
            Position(
                proposal_id=lift.id,
                stakeholder_id=s.id,
                user_id=wang.id,
                stance=list(PositionStance)[n % 4],
                interests=["cost", "noise", "health"][: n % 4],
                tags=["标签"],
                conditions="条件" if n % 4 == 2 else "",
                condition_amendment_id=first.id if n % 8 == 2 else None,
            )
        )
    for n in range(19):
        propose(wang, lift, body=BODY + f"补充{n}。\n")
    db.session.commit()
    many = count()
    assert few == many
    assert many <= 30  # the whole page, comments and timeline included


def test_accepting_a_text_resolved_against_an_old_version_starts_again(
    client, login_as, committee, world, lift, owner
):
    amendment = world["amendment"]
    edit(owner, lift, BODY.replace("费用由全体业主分摊。", "费用由政府补贴一半。"))
    login_as(committee.admin_user, acting_as=committee)
    use_english(client)
    stale = {"version": 1, "title": lift.title, "body": "随便", "acting_as": committee.id}
    r = client.post(f"/amendments/{amendment.id}/accept", data=stale)
    page = r.get_data(True)
    assert r.status_code == 422 and "The proposal has changed in the meantime" in page
    assert 'name="version" type="hidden" value="2"' in page and "&lt;&lt;&lt;&lt;" in page
    db.session.expire_all()
    assert lift.version == 2 and amendment.status == AmendmentStatus.OPEN
    services.transition_proposal(owner, lift, "withdraw", "暂缓")
    db.session.commit()
    r = client.get(f"/amendments/{amendment.id}/accept")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/amendments/{amendment.id}")
