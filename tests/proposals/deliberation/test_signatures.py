"""Residents sign their contributions to a proposal by name or as a resident of their building."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from coord import notifications
from coord.db import db
from coord.errors import DomainError
from coord.models import AuditEvent, Notification, Signature
from proposals.deliberation import amendments, attribution, comments, positions, signatures
from proposals.deliberation.models import ProposalSignature, Report
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind, ResidenceStatus

from helpers import form_errors, identity

LABEL = "兰苑社区3号楼的认证居民"
OWN = f"您（署名：{LABEL}）"


# -- Pure rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "deleted", "mode", "residence", "expected"),
    [
        ("business", False, "resident", attribution.Residence("兰苑社区", "3", True), None),
        ("resident", False, "named", attribution.Residence("兰苑社区", "3", True), None),
        ("resident", False, None, attribution.Residence("兰苑社区", "3", True), None),
        ("resident", True, "resident", attribution.Residence("兰苑社区", "3", True), None),
        (
            "resident",
            False,
            "resident",
            attribution.Residence("兰苑社区", " 3 ", True),
            attribution.Label(attribution.BUILDING, "兰苑社区", "3", True),
        ),
        (
            "resident",
            False,
            "resident",
            attribution.Residence("兰苑社区", "", True),
            attribution.Label(attribution.VERIFIED, "兰苑社区", "", True),
        ),
        (
            "resident",
            False,
            "resident",
            attribution.Residence("兰苑社区", "3", False),
            attribution.Label(attribution.COMMUNITY, "兰苑社区"),
        ),
        (
            "resident",
            False,
            "resident",
            attribution.Residence("兰苑社区", "3", False, rejected=True),
            attribution.Label(attribution.ANYONE),
        ),
        ("resident", False, "resident", None, attribution.Label(attribution.ANYONE)),
    ],
)
def test_public_label(kind, deleted, mode, residence, expected):
    assert attribution.public_label(kind, deleted, mode, residence) == expected


def test_a_building_label_fills_its_msgid():
    label = attribution.public_label(
        "resident", False, "resident", attribution.Residence("兰苑社区", "3", True)
    )
    assert label.msgid % label.params == "a verified resident of building 3 of 兰苑社区"


@pytest.mark.parametrize(
    ("current", "wanted", "default", "expected"),
    [
        (None, None, "named", "named"),  # the account's default
        (None, None, "", "resident"),  # no usable default: the safer one
        (None, "named", "resident", "named"),  # the form's choice wins
        ("resident", None, "named", "resident"),  # fixed once chosen
        ("resident", "named", "resident", "named"),  # building → name is allowed
        ("named", "named", "resident", "named"),
    ],
)
def test_resolve_mode(current, wanted, default, expected):
    assert attribution.resolve_mode(current, wanted, default) == expected


def test_resolve_mode_refuses_name_to_building_and_unknown_modes():
    with pytest.raises(PermissionError):
        attribution.resolve_mode("named", "resident", "resident")
    with pytest.raises(ValueError):
        attribution.resolve_mode(None, "anonymous", "resident")


# -- A world: a consultation, a building-signed resident, readers ------------------------------


@dataclass
class World:
    proposal: object
    wang: object  # verified resident of building 3; signs by building (the platform default)
    li: object  # verified resident who signs by name
    staff: object  # a member of the property company
    anju: object
    moderator: object  # the residents committee's admin
    author: object  # wrote the proposal for the committee

    def actor(self, user, stakeholder=None) -> Actor:
        return Actor(user, stakeholder or identity(user))


@pytest.fixture
def world(app, committee, make_user, make_resident, make_org, make_proposal) -> World:
    wang = make_resident("wangguihua")
    li = make_resident("liming", building="5")
    li.signature_default = Signature.NAMED
    staff = make_user("anju_staff")
    anju = make_org("安居物业", Kind.BUSINESS, Function.PROPERTY_MANAGER, admin=staff)
    proposal = make_proposal(committee.admin_user, as_=committee)
    db.session.commit()
    return World(proposal, wang, li, staff, anju, committee.admin_user, committee.admin_user)


def _page(client, world) -> str:
    """Return the proposal page without its conflict map (the network's groups: not here)."""
    page = client.get(f"/proposals/{world.proposal.id}").get_data(as_text=True)
    if 'id="conflict-map"' not in page:
        return page
    return (
        page[: page.index('<section class="conflict-map"')] + page[page.index("negotiation.css") :]
    )


def _comment_as(client, login_as, world, user, body="电梯井会挡住采光。", **extra):
    login_as(user)
    return client.post(
        f"/proposals/{world.proposal.id}/comments", data={"body": body, "stance": "oppose", **extra}
    )


def _sign_out(client) -> None:
    with client.session_transaction() as session:
        session.clear()


@pytest.fixture
def signed(world, client, login_as):
    """Wang comments and declares a position through the forms, with his default signature."""
    r = _comment_as(client, login_as, world, world.wang)
    assert r.status_code == 302
    r = client.post(
        f"/proposals/{world.proposal.id}/position",
        data={"stance": "conditional", "conditions": "一楼不出资", "statement": "采光受影响"},
    )
    assert r.status_code == 302
    _sign_out(client)
    return world


def _mode(world, user):
    return signatures.current_mode(world.proposal.id, identity(user).id)


# -- What others see ---------------------------------------------------------------------------


def test_the_account_default_signs_the_first_contribution(signed):
    assert _mode(signed, signed.wang) == Signature.RESIDENT


@pytest.mark.parametrize("reader", ["anonymous", "li", "staff"])
def test_others_see_the_label_never_the_name(signed, client, login_as, reader):
    if reader != "anonymous":
        login_as(getattr(signed, reader))
    page = _page(client, signed)
    assert page.count(LABEL) >= 2  # the comment and the position
    assert "wangguihua" not in page
    assert f'/stakeholders/{identity(signed.wang).id}"' not in page
    assert OWN not in page


def test_the_json_api_gives_the_label_without_name_or_id(signed, client):
    pid = signed.proposal.id
    expected = {"label": LABEL, "kind": "resident", "verified": True, "building": "3"}
    tree = client.get(f"/api/v1/proposals/{pid}/comments")
    assert tree.json["items"][0]["author"] == expected
    listed = client.get(f"/api/v1/proposals/{pid}/positions")
    assert listed.json["items"][0]["stakeholder"] == expected
    for r in (tree, listed):
        assert "wangguihua" not in r.get_data(as_text=True)


def test_the_author_sees_their_own_marker(signed, client, login_as):
    login_as(signed.wang)
    page = _page(client, signed)
    assert page.count(OWN) >= 2  # the comment and the position (the forms offer the label)


def test_histories_show_the_label(signed, client):
    position = positions.current_position(signed.proposal, identity(signed.wang).id)
    page = client.get(f"/positions/{position.id}/history").get_data(as_text=True)
    assert LABEL in page and "wangguihua" not in page
    [comment] = comments.load_thread(signed.proposal)
    comment.edited_at = comment.created_at
    db.session.commit()
    page = client.get(f"/comments/{comment.id}/history").get_data(as_text=True)
    assert LABEL in page and "wangguihua" not in page


def test_notifications_name_the_label(signed, client, login_as):
    """The proposal's author follows it: a comment and a position told them; so is a reply."""
    [comment] = comments.load_thread(signed.proposal)
    comments.post_comment(signed.actor(signed.li), signed.proposal, {"body": "同意"})
    comments.post_comment(
        signed.actor(signed.wang), signed.proposal, {"body": "谢谢", "parent_id": comment.id}
    )
    db.session.commit()
    rows = db.session.scalars(sa.select(Notification).order_by(Notification.id)).all()
    with force_locale("zh_Hans_CN"):
        texts = notifications.texts_of(rows)
    to_author = [t for n, t in zip(rows, texts, strict=True) if n.user_id == signed.author.id]
    to_li = [t for n, t in zip(rows, texts, strict=True) if n.user_id == signed.li.id]
    assert any(t.startswith(LABEL) and "评论" in t for t in to_author)
    assert any(t.startswith(LABEL) and "立场" in t for t in to_author)
    assert any(t.startswith(LABEL) for t in to_li)
    assert not any("wangguihua" in t for t in texts)
    assert any(t.startswith("liming") for t in to_author)  # named residents stay named


# -- Changing one's signature --------------------------------------------------------------------


def test_building_may_become_named_for_the_whole_proposal(signed, client, login_as):
    r = _comment_as(client, login_as, signed, signed.wang, "我改用实名。", signature="named")
    assert r.status_code == 302
    assert _mode(signed, signed.wang) == Signature.NAMED
    _sign_out(client)
    page = _page(client, signed)
    assert LABEL not in page and page.count("wangguihua") >= 3


def test_named_never_becomes_building_again(signed, client, login_as):
    _comment_as(client, login_as, signed, signed.li, "实名发言。")
    r = _comment_as(client, login_as, signed, signed.li, "想改回匿名。", signature="resident")
    assert r.status_code == 422
    assert "读者已经看到" in " ".join(form_errors(r.get_data(as_text=True)))
    assert _mode(signed, signed.li) == Signature.NAMED
    with pytest.raises(DomainError) as refused:
        positions.declare_position(
            signed.actor(signed.li), signed.proposal, {"stance": "support", "signature": "resident"}
        )
    assert refused.value.field == "signature"


def test_the_api_refuses_an_unknown_signature(signed, client, login_as):
    login_as(signed.li)
    r = client.post(
        f"/api/v1/proposals/{signed.proposal.id}/comments",
        json={"body": "你好", "signature": "anonymous"},
    )
    assert r.status_code == 400 and "signature" in json.dumps(r.json)


def test_one_position_per_stakeholder_whatever_the_signature(signed):
    positions.declare_position(
        signed.actor(signed.wang), signed.proposal, {"stance": "support", "signature": "named"}
    )
    db.session.commit()
    rows = positions.rows_for(signed.proposal)
    assert [r.stakeholder.id for r in rows] == [identity(signed.wang).id]


# -- Forms ---------------------------------------------------------------------------------------


def test_the_first_form_preselects_the_account_default(world, client, login_as):
    login_as(world.wang)
    page = client.get(f"/proposals/{world.proposal.id}/position").get_data(as_text=True)
    assert f'<option value="resident" selected>以“{LABEL}”署名</option>' in page
    r = client.post("/account/signature", data={"sig-signature": "named"})
    assert r.status_code == 302 and world.wang.signature_default == Signature.NAMED
    page = client.get(f"/proposals/{world.proposal.id}/position").get_data(as_text=True)
    assert '<option value="named" selected>用我的姓名（wangguihua）</option>' in page
    page = client.get("/account/").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="named"', page)


def test_the_account_refuses_an_unknown_signature(world, client, login_as):
    login_as(world.wang)
    r = client.post("/account/signature", data={"sig-signature": "anonymous"})
    assert r.status_code == 422 and world.wang.signature_default == Signature.RESIDENT


def test_new_accounts_sign_by_building(world):
    assert world.staff.signature_default == Signature.RESIDENT


def test_organisations_are_always_named_and_offered_no_choice(world, client, login_as):
    login_as(world.staff, acting_as=world.anju)
    page = client.get(f"/proposals/{world.proposal.id}/position").get_data(as_text=True)
    assert 'name="signature"' not in page
    assert 'name="signature"' not in _page(client, world)
    r = client.post(
        f"/proposals/{world.proposal.id}/comments", data={"body": "物业配合", "stance": "neutral"}
    )
    assert r.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(ProposalSignature.id))) == 0
    with pytest.raises(DomainError):
        signatures.sign(Actor(world.staff, world.anju), world.proposal, "resident")
    assert "安居物业" in _page(client, world)


def test_amendments_and_their_support_carry_the_signature(world, client):
    body = world.proposal.body_source + "\n\n一楼免出资。"
    amendment = amendments.propose_amendment(
        world.actor(world.wang),
        world.proposal,
        {"title": world.proposal.title, "body": body, "rationale": "照顾一楼"},
    )
    amendments.support_amendment(world.actor(world.li), amendment)
    db.session.commit()
    page = client.get(f"/amendments/{amendment.id}").get_data(as_text=True)
    assert LABEL in page and "wangguihua" not in page and "liming" in page
    api = client.get(f"/api/v1/proposals/{world.proposal.id}/amendments").json
    assert api["items"][0]["author"]["label"] == LABEL
    supervision = client.get("/supervision").get_data(as_text=True)
    assert "一位居民" in supervision and "wangguihua" not in supervision


# -- Moderation ----------------------------------------------------------------------------------


def _report(world) -> Report:
    [comment] = comments.load_thread(world.proposal)
    from proposals.deliberation import moderation

    rv = moderation.report_item(world.actor(world.li), comment, world.proposal, "人身攻击")
    db.session.commit()
    return rv


def _reads() -> int:
    return db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "personal_data.read")
    )


def test_a_moderator_sees_the_author_only_through_an_audited_post(signed, client, login_as):
    report = _report(signed)
    cid = signed.proposal.community_id
    login_as(signed.moderator)
    queue = client.get(f"/communities/{cid}/moderation").get_data(as_text=True)
    assert LABEL in queue and "wangguihua" not in queue and _reads() == 0
    r = client.post(f"/reports/{report.id}/author")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "wangguihua" in page and f"署名：{LABEL}" in page
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "personal_data.read")
    ).all()
    assert event.subject_id == identity(signed.wang).id and event.data["report_id"] == report.id
    assert not event.is_public and event.user_id == signed.moderator.id


def test_only_moderators_may_reveal_an_author(signed, client, login_as):
    report = _report(signed)
    login_as(signed.li)
    assert client.post(f"/reports/{report.id}/author").status_code == 403
    assert _reads() == 0


def test_a_named_comment_has_nothing_to_reveal(world, client, login_as):
    comments.post_comment(
        world.actor(world.wang), world.proposal, {"body": "实名", "signature": "named"}
    )
    db.session.commit()
    report = _report(world)
    login_as(world.moderator)
    r = client.post(f"/reports/{report.id}/author")
    assert r.status_code == 302 and _reads() == 0


# -- Residences ----------------------------------------------------------------------------------


def test_an_unverified_resident_has_no_verified_mark(world, client, make_resident):
    pending = make_resident("pending", status=ResidenceStatus.PENDING)
    comments.post_comment(world.actor(pending), world.proposal, {"body": "还没认证"})
    db.session.commit()
    tree = client.get(f"/api/v1/proposals/{world.proposal.id}/comments").json
    assert tree["items"][0]["author"] == {
        "label": "兰苑社区居民",
        "kind": "resident",
        "verified": False,
        "building": None,
    }


# -- Queries -------------------------------------------------------------------------------------


def test_the_page_loads_every_signature_in_one_query(
    world, client, login_as, make_resident, count_queries
):
    def count() -> tuple[int, int]:
        db.session.expire_all()
        with count_queries() as counter:
            assert client.get(f"/proposals/{world.proposal.id}").status_code == 200
        touching = [s for s in counter.statements if "proposal_signatures" in s]
        return counter.count, len(touching)

    comments.post_comment(world.actor(world.wang), world.proposal, {"body": "第一条"})
    db.session.commit()
    login_as(world.li)
    few = count()
    for n in range(12):
        user = make_resident(f"r{n}", building=str(n % 4 + 1))
        comments.post_comment(world.actor(user), world.proposal, {"body": f"意见{n}"})
        positions.declare_position(world.actor(user), world.proposal, {"stance": "support"})
    db.session.commit()
    many = count()
    assert few == many and many[1] == 1
