"""Positions: services (declare, change with history, validation, conditions), the page
context's query count, and the views (access table, acting-as, form errors)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask

from coord import signals
from coord.db import db
from coord.errors import DomainError, NotAllowed
from coord.models import AuditEvent
from proposals import services
from proposals.deliberation import amendments, page, positions
from proposals.deliberation.models import Amendment, Position, PositionRevision, PositionStance
from proposals.models import Follow
from proposals.viewer import Viewer
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind

from helpers import form_errors, identity, use_english

LI_MING_CONDITIONS = "一楼住户不出资，施工避开22:00–07:00"


def actor_for(user, stakeholder=None) -> Actor:
    return Actor(user, stakeholder or identity(user))


@pytest.fixture
def lift(committee, make_proposal):
    """Story 1: the residents committee's consultation on a lift for building 3."""
    return make_proposal(
        committee.admin_user,
        as_=committee,
        title="3号楼加装电梯",
        body="在3号楼北侧加装电梯一部。\n\n费用由全体业主分摊。\n",
    )


def declare(user, proposal, stakeholder=None, **data):
    values = {"stance": "support", "interests": [], "tags": "", "statement": ""} | data
    rv = positions.declare_position(actor_for(user, stakeholder), proposal, values)
    db.session.commit()
    return rv


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


# --- services ---------------------------------------------------------------------------


def test_declare_a_position(make_resident, lift):
    wang = make_resident("wang")
    seen = []
    with signals.position_declared.connected_to(lambda p, actor: seen.append((p, actor))):
        position = declare(
            wang,
            lift,
            interests=["convenience", "health"],
            tags="上下楼, #老人",
            statement="我住五楼，腿脚不便。",
        )
    assert position.stakeholder_id == identity(wang).id and position.user_id == wang.id
    assert position.stance == PositionStance.SUPPORT
    assert position.interests == ["convenience", "health"]
    assert position.tags == ["上下楼", "老人"]
    assert [p for p, _a in seen] == [position] and seen[0][1].user == wang
    follows = db.session.scalars(sa.select(Follow.user_id).where(Follow.proposal_id == lift.id))
    assert wang.id in set(follows)
    (event,) = _audit("position.declare")
    assert not event.is_public and event.actor_id == identity(wang).id
    assert event.data == {"proposal_id": lift.id, "stance": "support"}


def test_changing_a_position_keeps_its_history(make_resident, lift):
    li = make_resident("liming")
    first = declare(li, lift, stance="oppose", interests=["noise"], statement="太吵")
    first_time = first.updated_at
    second = declare(li, lift, stance="conditional", conditions=LI_MING_CONDITIONS)
    assert second.id == first.id
    assert db.session.scalar(sa.select(sa.func.count(Position.id))) == 1
    (revision,) = positions.history(second)
    assert revision.stance == PositionStance.OPPOSE
    assert (revision.interests, revision.statement) == (["noise"], "太吵")
    assert revision.created_at == first_time
    assert second.stance == PositionStance.CONDITIONAL and second.conditions == LI_MING_CONDITIONS
    assert len(_audit("position.change")) == 1
    declare(li, lift, stance="support")
    assert [r.stance for r in positions.history(second)] == [
        PositionStance.CONDITIONAL,
        PositionStance.OPPOSE,
    ]


def test_saving_the_same_position_again_adds_no_history(make_resident, lift):
    wang = make_resident("wang")
    position = declare(wang, lift, interests=["health"])
    declare(wang, lift, interests=["health"])
    assert positions.history(position) == []
    assert len(_audit("position.change")) == 0


def test_one_position_per_stakeholder_not_per_user(make_user, make_org, lift):
    boss = make_user("boss")
    anju = make_org("安居物业", admin=boss)
    declare(boss, lift, stance="support")
    declare(boss, lift, anju, stance="neutral", interests=["cost", "business_income"])
    rows = db.session.execute(
        sa.select(Position.stakeholder_id, Position.stance).order_by(Position.id)
    ).all()
    assert rows == [
        (identity(boss).id, PositionStance.SUPPORT),
        (anju.id, PositionStance.NEUTRAL),
    ]


def test_conditional_needs_conditions(make_resident, lift):
    li = make_resident("liming")
    with pytest.raises(DomainError) as exc:
        declare(li, lift, stance="conditional", conditions="   ")
    assert exc.value.field == "conditions"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Position.id))) == 0


def test_conditions_are_dropped_for_other_stances(make_resident, lift):
    li = make_resident("liming")
    position = declare(li, lift, stance="support", conditions="被忽略")
    assert position.conditions == "" and position.condition_amendment_id is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"stance": "maybe"}, "stance"),
        ({"stance": ""}, "stance"),
        ({"interests": ["cost", "world_peace"]}, "interests"),
        ({"tags": "一,二,三,四,五,六"}, "tags"),
        ({"tags": "这是一个超过二十个字符的非常非常非常长的标签"}, "tags"),
        ({"statement": "长" * 2001}, "statement"),
        ({"stance": "conditional", "conditions": "条" * 501}, "conditions"),
        (
            {"stance": "conditional", "conditions": "x", "condition_amendment_id": "1"},
            "condition_amendment_id",
        ),
    ],
)
def test_invalid_positions_are_refused(make_resident, lift, data, field):
    li = make_resident("liming")
    with pytest.raises(DomainError) as exc:
        declare(li, lift, **data)
    assert exc.value.field == field
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Position.id))) == 0


def test_tags_are_normalised():
    assert positions.normalise_tags("Noise, ＃噪音，噪音、 Parking  Lot ;noise\n") == [
        "noise",
        "噪音",
        "parking lot",
    ]
    assert positions.normalise_tags(["A", "a", " "]) == ["a"]
    assert positions.normalise_tags(None) == []


def test_no_position_on_a_withdrawn_or_draft_proposal(make_resident, make_user, make_proposal):
    author = make_user("author")
    withdrawn = make_proposal(author)
    services.transition_proposal(actor_for(author), withdrawn, "withdraw", "不再需要")
    db.session.commit()
    draft = make_proposal(author, draft=True)
    li = make_resident("liming")
    for proposal in (withdrawn, draft):
        with pytest.raises(NotAllowed):
            declare(li, proposal)
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Position.id))) == 0


def _amendment(user, proposal, **data) -> Amendment:
    values = {"title": proposal.title, "body": "费用按楼层分摊。", "rationale": "公平"} | data
    rv = amendments.propose_amendment(actor_for(user), proposal, values)
    db.session.commit()
    return rv


def test_condition_may_point_to_an_open_amendment_of_the_same_proposal(
    make_resident, make_user, make_proposal, lift
):
    li, wang = make_resident("liming"), make_resident("wang")
    mine = _amendment(wang, lift)
    other = _amendment(wang, make_proposal(make_user("x"), title="另一个提案"))
    position = declare(
        li, lift, stance="conditional", conditions="一楼不出资", condition_amendment_id=mine.id
    )
    assert position.condition_amendment_id == mine.id
    with pytest.raises(DomainError) as exc:
        declare(
            li, lift, stance="conditional", conditions="一楼不出资", condition_amendment_id=other.id
        )
    assert exc.value.field == "condition_amendment_id"
    db.session.rollback()
    rejected = _amendment(wang, lift, body="另一种分摊。")
    amendments.reject_amendment(actor_for(lift.created_by), rejected, "不合适")
    db.session.commit()
    with pytest.raises(DomainError):
        declare(
            li, lift, stance="conditional", conditions="另一个", condition_amendment_id=rejected.id
        )


def test_condition_met_when_the_linked_amendment_is_accepted(make_resident, lift):
    li, wang = make_resident("liming"), make_resident("wang")
    fix = _amendment(wang, lift)
    position = declare(
        li, lift, stance="conditional", conditions=LI_MING_CONDITIONS, condition_amendment_id=fix.id
    )
    bystander = declare(wang, lift, stance="conditional", conditions="加装无障碍坡道")
    assert position.condition_met_at is None
    amendments.accept_amendment(actor_for(lift.created_by, lift.author), fix)
    db.session.commit()
    db.session.expire_all()
    assert position.condition_met_at is not None
    assert bystander.condition_met_at is None
    # Keeping the link keeps it met (the text may be clarified); without it, it is open again.
    declare(
        li,
        lift,
        stance="conditional",
        conditions=LI_MING_CONDITIONS + "。",
        condition_amendment_id=fix.id,
        statement="谢谢",
    )
    assert position.condition_met_at is not None
    declare(li, lift, stance="conditional", conditions="另加：电梯噪音低于45分贝")
    assert position.condition_met_at is None and position.condition_amendment_id is None


# --- page context -----------------------------------------------------------------------


def _viewer(user=None, stakeholder=None, *, participate=True) -> Viewer:
    actor = actor_for(user, stakeholder) if user else None
    return Viewer(user, actor, frozenset(), participate and user is not None, False, False)


def _bulk_positions(lift, users, stakeholders_kind=Kind.RESIDENT):
    from stakeholders.models import Stakeholder

    for n in range(users):
        s = Stakeholder(kind=stakeholders_kind, name=f"居民{n}")
        db.session.add(s)
        db.session.flush()
        db.session.add(
            Position(
                proposal_id=lift.id,
                stakeholder_id=s.id,
                user_id=lift.created_by_id,
                stance=list(PositionStance)[n % 4],
                interests=["cost", "noise"][: n % 3],
                tags=[],
                conditions="条件" if n % 4 == 2 else "",
            )
        )
    db.session.commit()


def _context_queries(app: Flask, count_queries, lift, user) -> tuple[int, dict]:
    db.session.expire_all()
    viewer = _viewer(user)
    _loaded = (lift.id, viewer.actor.stakeholder.id)  # as in the view: already loaded
    with app.test_request_context("/"), count_queries() as counter:
        context = page.positions_context(lift, viewer, {})
    return counter.count, context


def test_page_context_runs_one_query_whatever_the_number_of_positions(
    app, count_queries, make_resident, lift
):
    wang = make_resident("wang")
    declare(wang, lift, interests=["health"])
    small, context = _context_queries(app, count_queries, lift, wang)
    assert context["positions_total"] == 1
    _bulk_positions(lift, 200)
    large, context = _context_queries(app, count_queries, lift, wang)
    assert context["positions_total"] == 201 and len(context["positions"]) == 201
    assert small == large == 1
    assert context["my_position"].stakeholder.id == identity(wang).id
    assert context["negotiation"].total == 201


def test_page_context_keys_filters_and_prompt(app, make_resident, lift):
    li, wang = make_resident("liming"), make_resident("wang")
    fix = _amendment(wang, lift)
    declare(
        li, lift, stance="conditional", conditions=LI_MING_CONDITIONS, condition_amendment_id=fix.id
    )
    declare(wang, lift, stance="support", interests=["convenience"])
    with app.test_request_context("/"):
        context = page.positions_context(lift, _viewer(li), {"stance": "conditional"})
        assert [r.stakeholder.name for r in context["positions"]] == ["liming"]
        assert context["position_filter"] == {"stance": "conditional", "kind": None}
        assert not context["condition_met_prompt"]
        assert [c.amendment_id for c in context["conditions"].open] == [fix.id]
        amendments.accept_amendment(actor_for(lift.created_by, lift.author), fix)
        db.session.commit()
        db.session.expire_all()
        context = page.positions_context(lift, _viewer(li), {"stance": "bogus", "kind": "alien"})
        assert context["positions_total"] == len(context["positions"]) == 2
        assert context["condition_met_prompt"] is True
        assert context["conditions"].open == ()
        assert context["conditions"].links_for(fix.id).met == (context["my_position"].position.id,)
        anonymous = page.positions_context(lift, _viewer(), {})
        assert anonymous["my_position"] is None and not anonymous["can_declare_position"]


# --- views ------------------------------------------------------------------------------


def _checked(page: str, name: str) -> list[str]:
    """Return the values of the checked radio buttons or checkboxes called `name`."""
    inputs = re.findall(r"<input [^>]*>", page)
    return [
        re.search(r'value="([^"]*)"', i).group(1)
        for i in inputs
        if f'name="{name}"' in i and " checked" in i
    ]


def _form(**data):
    return {"stance": "support", "tags": "", "statement": "", "conditions": ""} | data


def test_position_form_saves_and_redirects(client, login_as, make_resident, lift):
    li = make_resident("liming")
    login_as(li)
    page = client.get(f"/proposals/{lift.id}/position")
    assert page.status_code == 200
    assert f'name="acting_as" type="hidden" value="{identity(li).id}"' in page.get_data(True)
    r = client.post(
        f"/proposals/{lift.id}/position",
        data=_form(
            stance="conditional",
            conditions=LI_MING_CONDITIONS,
            interests=["cost", "noise"],
            tags="一楼",
            acting_as=identity(li).id,
        ),
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/proposals/{lift.id}#positions"
    )
    position = db.session.scalar(sa.select(Position))
    assert position.stance == PositionStance.CONDITIONAL and position.interests == ["cost", "noise"]
    page = client.get(f"/proposals/{lift.id}/position").get_data(True)
    assert LI_MING_CONDITIONS in page and _checked(page, "stance") == ["conditional"]
    assert _checked(page, "interests") == ["cost", "noise"]


def test_form_errors_keep_the_text_and_answer_422(client, login_as, make_resident, lift):
    li = make_resident("liming")
    login_as(li)
    use_english(client)
    r = client.post(
        f"/proposals/{lift.id}/position",
        data=_form(stance="conditional", statement="我的理由：一楼采光。"),
    )
    assert r.status_code == 422
    page = r.get_data(True)
    assert "我的理由：一楼采光。" in page
    assert form_errors(page) == ["Say on which conditions you would support the proposal."]
    r = client.post(f"/proposals/{lift.id}/position", data=_form(interests=["world_peace"]))
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Position.id))) == 0


@pytest.fixture
def world(make_user, make_resident, make_org, lift):
    stranger = make_user("stranger")  # signed in, not a resident: public proposals are open
    outsider_org = make_org("和顺建筑", admin=make_user("heshun_boss"))
    return {"stranger": stranger, "resident": make_resident("wang"), "org": outsider_org}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_position_access(client, login_as, make_user, make_proposal, world, method):
    author = make_user("author")
    members_only = make_proposal(author, visibility="community", title="仅社区成员")
    withdrawn = make_proposal(author, title="已撤回")
    services.transition_proposal(actor_for(author), withdrawn, "withdraw", "撤回")
    db.session.commit()
    call = client.get if method == "GET" else lambda url: client.post(url, data=_form())
    assert call(f"/proposals/{members_only.id}/position").status_code == 302  # anonymous
    login_as(world["stranger"])
    assert call(f"/proposals/{members_only.id}/position").status_code == 404
    assert call(f"/proposals/{withdrawn.id}/position").status_code == 403
    assert call("/proposals/999999/position").status_code == 404
    login_as(world["resident"])
    assert call(f"/proposals/{members_only.id}/position").status_code == (
        200 if method == "GET" else 302
    )
    assert db.session.scalar(sa.select(sa.func.count(Position.id))) == (method == "POST")


def test_acting_as_an_organisation_one_does_not_belong_to_is_impossible(
    client, login_as, world, lift
):
    stranger, org = world["stranger"], world["org"]
    login_as(stranger, acting_as=org)  # a forged session value
    r = client.post(f"/proposals/{lift.id}/position", data=_form(acting_as=org.id))
    assert r.status_code == 403
    r = client.post(
        f"/proposals/{lift.id}/position", data=_form(), headers={"X-Acting-As": str(org.id)}
    )
    assert r.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Position.id))) == 0
    # Without a claim the forged value is ignored: the user speaks only for themself.
    assert client.post(f"/proposals/{lift.id}/position", data=_form()).status_code == 302
    assert db.session.scalars(sa.select(Position.stakeholder_id)).all() == [identity(stranger).id]


def test_acting_as_an_organisation_one_belongs_to(client, login_as, make_user, make_org, lift):
    boss = make_user("boss")
    anju = make_org("安居物业", Kind.BUSINESS, Function.PROPERTY_MANAGER, admin=boss)
    login_as(boss, acting_as=anju)
    r = client.post(
        f"/proposals/{lift.id}/position", data=_form(stance="neutral", acting_as=anju.id)
    )
    assert r.status_code == 302
    position = db.session.scalar(sa.select(Position))
    assert position.stakeholder_id == anju.id and position.user_id == boss.id
    event = _audit("position.declare")[0]
    assert (event.user_id, event.actor_id) == (boss.id, anju.id)


def test_history_page(client, login_as, make_resident, make_user, make_proposal, lift):
    li = make_resident("liming")
    position = declare(li, lift, stance="oppose", statement="影响采光")
    declare(li, lift, stance="conditional", conditions=LI_MING_CONDITIONS)
    page = client.get(f"/positions/{position.id}/history")
    assert page.status_code == 200
    text = page.get_data(True)
    assert "影响采光" in text and LI_MING_CONDITIONS in text
    assert client.get("/positions/999999/history").status_code == 404
    hidden = make_proposal(make_user("author"), visibility="community", title="仅社区成员")
    other = declare(li, hidden)
    assert client.get(f"/positions/{other.id}/history").status_code == 404
    login_as(li)
    assert client.get(f"/positions/{other.id}/history").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(PositionRevision.id))) == 1


def test_prefill_from_an_amendment_link(client, login_as, make_resident, lift):
    li, wang = make_resident("liming"), make_resident("wang")
    fix = _amendment(wang, lift)
    login_as(li)
    page = client.get(f"/proposals/{lift.id}/position?amendment={fix.id}").get_data(True)
    assert _checked(page, "stance") == ["conditional"]
    assert f'<option selected value="{fix.id}">' in page


def test_proposal_page_shows_positions_and_the_panel(client, login_as, make_resident, lift):
    li, wang = make_resident("liming"), make_resident("wang")
    fix = _amendment(wang, lift)
    declare(
        li,
        lift,
        stance="conditional",
        conditions=LI_MING_CONDITIONS,
        interests=["cost"],
        condition_amendment_id=fix.id,
    )
    declare(wang, lift, interests=["convenience", "health"], statement="<script>alert(1)</script>")
    use_english(client)
    page = client.get(f"/proposals/{lift.id}").get_data(True)
    assert "Negotiation at a glance" in page and LI_MING_CONDITIONS in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'class="stance-bar"' in page and ' style="' not in page
    assert "no amendment addresses it yet" not in page
    amendments.accept_amendment(actor_for(lift.created_by, lift.author), fix)
    db.session.commit()
    login_as(li)
    use_english(client)
    page = client.get(f"/proposals/{lift.id}").get_data(True)
    assert "Your condition was met" in page and "No open conditions." in page


def test_declaring_is_rate_limited_per_user(make_app, make_resident, lift):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DELIBERATION_POSTS="2 per minute")
    li = make_resident("liming")
    token, url = li.session_token, f"/proposals/{lift.id}/position"
    db.session.rollback()  # end this session's transaction: the other app writes
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
    codes = [client.post(url, data=_form(stance=s)).status_code for s in ("support", "oppose")]
    codes.append(client.post(url, data=_form(stance="neutral")).status_code)
    assert codes == [302, 302, 429]
    position = db.session.scalar(sa.select(Position))
    assert position.stance == PositionStance.OPPOSE
