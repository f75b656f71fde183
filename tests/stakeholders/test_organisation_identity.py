"""Organisations are who they say they are: unique names and credit codes, confirmation by
the street office, and the unconfirmed mark wherever an organisation's name is shown."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from coord import accounts
from coord.db import db
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import AuditEvent
from proposals import services as proposal_services
from proposals.deliberation import comments
from stakeholders import services
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind, Stakeholder
from stakeholders.names import name_key

from helpers import form_errors, identity, use_english

ANJU = "安居物业服务有限公司"
HUAWEI = "914403001922038216"  # a published code (see test_credit_code.py)
XIAOMI = "91110108551385082Q"


def actor_for(user, stakeholder=None) -> Actor:
    return Actor(user, stakeholder or identity(user))


def _create(user, name, kind="business", function="property_manager", **extra) -> Stakeholder:
    data = {"kind": kind, "function": function, "name": name} | extra
    rv = services.create_organisation(actor_for(user), data)
    db.session.commit()
    return rv


def _refusal(user, name, **extra) -> DomainError:
    with pytest.raises(DomainError) as info:
        _create(user, name, **extra)
    db.session.rollback()
    return info.value


@pytest.fixture
def office(make_org, make_user) -> Stakeholder:
    """The street office of the test community's street, with one admin, `office.staff`."""
    staff = make_user("office_staff")
    rv = make_org(
        "清河街道办事处", Kind.GOVERNMENT, Function.STREET_OFFICE, admin=staff, in_community=False
    )
    rv.staff = staff
    return rv


@pytest.fixture
def anju(app, make_user, community) -> Stakeholder:
    """The real property company, registered with its credit code (not yet confirmed)."""
    return _create(make_user("anju_boss"), ANJU, credit_code=HUAWEI)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "impostor",
    [
        ANJU,
        f"{ANJU} ",
        f" {ANJU}",
        "安居 物业服务有限公司",
        "安居物业服务有限公司（）",
        "安居·物业服务有限公司",
    ],
)
def test_an_organisations_name_cannot_be_taken_again(anju, make_user, impostor):
    error = _refusal(make_user("impostor"), impostor)
    assert isinstance(error, Conflict) and error.field == "name"
    assert ANJU in error.message
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Stakeholder.name_key.is_not(None))) == 1
    )


def test_a_residents_committee_name_with_a_trailing_space_is_refused(app, make_user, community):
    admin = make_user("root", is_admin=True)
    committee = _create(
        admin,
        "兰苑社区居委会",
        kind="social_organization",
        function="residents_committee",
        community_id=community.id,
    )
    assert committee.is_confirmed
    error = _refusal(make_user(), "兰苑社区居委会 ", kind="social_organization", function="other")
    assert error.field == "name" and "兰苑社区居委会" in error.message


def test_full_width_letters_and_digits_are_the_same_name(app, make_user, community):
    _create(make_user(), "ABC123物业")
    assert _refusal(make_user(), "ＡＢＣ１２３物业").field == "name"
    assert _refusal(make_user(), "abc 123 物业").field == "name"


def test_names_are_stored_trimmed_with_inner_spaces_collapsed(app, make_user, community):
    org = _create(make_user(), "  绿园 \u3000 餐饮\t(新河店) ", function="shop")
    assert org.name == "绿园 餐饮 (新河店)"
    assert org.name_key == "绿园餐饮新河店"


@pytest.mark.parametrize("name", ["", "   ", "（）·—"])
def test_a_name_needs_letters_or_digits(app, make_user, community, name):
    assert _refusal(make_user(), name).field == "name"


def test_a_similar_but_different_name_is_accepted(anju, make_user):
    other = _create(make_user(), "安居物业管理有限公司")
    assert other.name_key == "安居物业管理有限公司"


def test_a_namesake_inserted_meanwhile_is_refused_by_the_unique_index(
    app, make_user, community, monkeypatch
):
    """Two creations at once: both pass the check, the database lets one in."""
    db.session.add(Stakeholder(kind=Kind.BUSINESS, name=ANJU, name_key=name_key(ANJU)))
    db.session.commit()
    real_check = services.refuse_namesakes
    calls = []

    def check_after_the_other_got_in(*args):
        calls.append(args)
        if len(calls) > 1:  # the first check ran before the other creation committed
            real_check(*args)

    monkeypatch.setattr(services, "refuse_namesakes", check_after_the_other_got_in)
    error = _refusal(make_user(), f"{ANJU} ")
    assert len(calls) == 2 and error.field == "name" and ANJU in error.message
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Stakeholder)
            .where(Stakeholder.kind == Kind.BUSINESS)
        )
        == 1
    )


def test_a_code_inserted_meanwhile_is_refused_by_the_unique_index(
    app, make_user, community, monkeypatch
):
    db.session.add(
        Stakeholder(kind=Kind.BUSINESS, name="华为", name_key="华为", credit_code=HUAWEI)
    )
    db.session.commit()
    monkeypatch.setattr(services, "refuse_namesakes", lambda *a: None)
    with pytest.raises(IntegrityError):
        # with no check at all, the unique index still stops the second organisation
        _create(make_user(), "另一家", credit_code=HUAWEI)
    db.session.rollback()


# --- credit codes ----------------------------------------------------------------------------


def test_a_valid_code_is_stored_normalised(app, make_user, community):
    org = _create(make_user(), "小米", function="other", credit_code=" 9111 0108 5513 8508 2q ")
    assert org.credit_code == XIAOMI


def test_no_code_is_stored_as_none(app, make_user, community):
    assert _create(make_user(), "小卖部", function="shop", credit_code="  ").credit_code is None


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("91440300192203821", ["18 characters", "17"]),
        ("91440300192203821I", ["except I, O, S, V and Z", "I"]),
        ("91A40300192203821X", ["administrative division", "A40300"]),
        ("914403001922038217", ["check digit", "7"]),
    ],
)
def test_an_invalid_code_is_refused_saying_what_is_wrong(app, make_user, community, code, words):
    error = _refusal(make_user(), "某公司", credit_code=code)
    assert error.field == "credit_code"
    for word in words:
        assert word in error.message


def test_a_code_is_registered_once(anju, make_user):
    error = _refusal(make_user(), "另一家物业", credit_code=HUAWEI.lower())
    assert isinstance(error, Conflict) and error.field == "credit_code" and ANJU in error.message


# --- confirmation ----------------------------------------------------------------------------


def _confirm(user, org, basis="credit_code", note="国家企业信用信息公示系统核对一致"):
    services.confirm_organisation(actor_for(user), org, basis, note)
    db.session.commit()


def test_the_street_office_confirms_after_checking_the_code(anju, office):
    _confirm(office.staff, anju)
    assert anju.is_confirmed
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "organisation.confirm")
    )
    assert event.is_public and event.actor_id == office.id and event.user_id == office.staff.id
    assert event.data["basis"] == "credit_code" and event.data["credit_code"] == HUAWEI
    assert event.data["note"] == "国家企业信用信息公示系统核对一致"
    with pytest.raises(Conflict):
        _confirm(office.staff, anju)


def test_the_platform_admin_confirms_by_registration(app, make_user, community):
    org = _create(
        make_user(), "兰苑业主委员会", kind="social_organization", function="owners_committee"
    )
    _confirm(make_user("root", is_admin=True), org, "registration", "街道备案通知书 2026-03 号")
    assert org.is_confirmed


@pytest.mark.parametrize(
    ("basis", "note", "field"),
    [
        ("credit_code", "", "note"),
        ("credit_code", " 看 ", "note"),
        ("hearsay", "朋友说是真的", "basis"),
    ],
)
def test_a_confirmation_says_what_was_checked(anju, office, basis, note, field):
    with pytest.raises(DomainError) as info:
        _confirm(office.staff, anju, basis, note)
    db.session.rollback()
    assert info.value.field == field and not anju.is_confirmed


def test_without_a_code_only_the_registration_can_be_checked(app, office, make_user, community):
    org = _create(make_user(), "小卖部", function="shop")
    with pytest.raises(DomainError) as info:
        _confirm(office.staff, org, "credit_code")
    assert info.value.field == "basis"


def test_residents_members_and_other_streets_cannot_confirm(
    anju, make_user, make_resident, make_org
):
    other_street = make_org(
        "别的街道办", Kind.GOVERNMENT, Function.STREET_OFFICE, admin=make_user()
    )
    other_street.street_id = None
    db.session.commit()
    anju_boss = db.session.scalar(sa.select(Stakeholder).where(Stakeholder.name == ANJU))
    for user, as_ in (
        (make_resident("resident"), None),
        (make_user("stranger"), None),
        (other_street.memberships[0].user, other_street),
        (anju_boss.memberships[0].user, anju),  # its own admin
    ):
        with pytest.raises(NotAllowed):
            services.confirm_organisation(actor_for(user, as_), anju, "credit_code", "我确认")
        db.session.rollback()
    assert not anju.is_confirmed


# --- web form, pages and JSON API ------------------------------------------------------------


def test_the_form_refuses_an_impostor_on_the_name_field(client, login_as, anju, make_user):
    use_english(client)
    login_as(make_user("impostor"))
    r = client.post(
        "/organisations/new",
        data={
            "name": f"{ANJU} ",
            "kind": "business",
            "function": "property_manager",
            "community_id": 0,
        },
    )
    assert r.status_code == 422
    assert form_errors(r.get_data(as_text=True)) == [
        f"An organisation with this name already exists: {ANJU}."
    ]


def test_the_form_refuses_a_bad_code_and_keeps_the_input(client, login_as, make_user, community):
    use_english(client)
    login_as(make_user())
    r = client.post(
        "/organisations/new",
        data={
            "name": "新公司",
            "kind": "business",
            "function": "shop",
            "credit_code": "91440300192203821",
        },
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "has 18 characters; this one has 17" in page
    assert 'value="新公司"' in page


def test_the_form_creates_an_unconfirmed_business_with_its_code(
    client, login_as, make_user, community
):
    login_as(make_user())
    r = client.post(
        "/organisations/new",
        data={
            "name": " 小米 科技 ",
            "kind": "business",
            "function": "other",
            "credit_code": XIAOMI.lower(),
        },
    )
    assert r.status_code == 302
    org = db.session.scalar(sa.select(Stakeholder).where(Stakeholder.credit_code == XIAOMI))
    assert org.name == "小米 科技" and not org.is_confirmed
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert XIAOMI in page and 'class="badge unconfirmed"' in page


def _token(user) -> dict[str, str]:
    """Headers that authenticate as `user` (who reads English) with a fresh API token."""
    user.locale = "en"
    _token, raw = accounts.create_api_token(user, "script")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_the_api_creates_an_organisation_and_refuses_an_impostor(client, anju, make_user):
    headers = _token(make_user("api_user"))
    body = {"kind": "business", "function": "shop", "name": " 绿园  餐饮 ", "credit_code": XIAOMI}
    r = client.post("/api/v1/organisations", json=body, headers=headers)
    assert r.status_code == 201, r.json
    assert (r.json["name"], r.json["credit_code"], r.json["is_confirmed"]) == (
        "绿园 餐饮",
        XIAOMI,
        False,
    )
    assert client.get(r.headers["Location"]).json["id"] == r.json["id"]
    r = client.post("/api/v1/organisations", json=body | {"name": f"{ANJU}　"}, headers=headers)
    assert r.status_code == 409
    assert r.json["error"]["fields"] == {
        "name": [f"An organisation with this name already exists: {ANJU}."]
    }


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "某公司", "credit_code": "914403001922038217"}, 400, "credit_code"),
        ({"name": "某公司", "credit_code": HUAWEI}, 409, "credit_code"),
        ({"name": 42}, 400, "name"),
        ({"name": "某公司", "kind": "resident"}, 400, "kind"),
        ({"name": "某公司", "kind": "government", "function": "department"}, 403, None),
        ({"name": "某公司", "function": "street_office"}, 400, "function"),
        ({"name": "某公司", "function": "bogus"}, 400, "function"),
        ({"name": "某公司", "description": "长" * 2001}, 400, "description"),
        ({"name": "某公司", "community_id": "1"}, 400, "community_id"),
        ({"name": "某公司", "community_id": 99999}, 400, "community_id"),
    ],
)
def test_the_api_names_the_refused_field(client, anju, make_user, body, status, field):
    headers = _token(make_user("api_user"))
    r = client.post("/api/v1/organisations", json={"kind": "business"} | body, headers=headers)
    assert r.status_code == status, r.json
    if field:
        assert list(r.json["error"]["fields"]) == [field]


def test_the_api_stores_names_without_control_or_invisible_characters(client, make_user):
    headers = _token(make_user("api_user"))
    body = {"kind": "business", "name": "某\x00公司\u200b", "description": "\x07简介 "}
    r = client.post("/api/v1/organisations", json=body, headers=headers)
    assert r.status_code == 201 and (r.json["name"], r.json["description"]) == ("某公司", "简介")


def test_the_api_needs_a_signed_in_user(client, community):
    r = client.post("/api/v1/organisations", json={"kind": "business", "name": "某公司"})
    assert r.status_code in (401, 403)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Stakeholder)) == 0


def test_the_confirmation_page_shows_codes_to_the_street_office(
    client, login_as, anju, office, make_user
):
    use_english(client)
    plain = _create(make_user(), "小卖部", function="shop")
    login_as(office.staff)
    page = client.get("/admin/organisations").get_data(as_text=True)
    assert ANJU in page and HUAWEI in page and "check digit valid" in page
    assert "小卖部" in page and "none given" in page
    assert f'id="org-{plain.id}"' in page


@pytest.mark.parametrize("who", ["anonymous", "stranger", "resident", "org_admin"])
def test_strangers_cannot_see_or_use_the_confirmation(
    client, login_as, anju, office, make_resident, make_user, who
):
    user = {
        "anonymous": None,
        "stranger": make_user("stranger"),
        "resident": make_resident("resident"),
        "org_admin": anju.memberships[0].user,
    }[who]
    if user:
        login_as(user)
    data = {"basis": "credit_code", "note": "核对一致"}
    expected = 302 if user is None else 403  # anonymous: to the sign-in page
    assert client.get("/admin/organisations").status_code == expected
    assert client.post(f"/stakeholders/{anju.id}/confirm", data=data).status_code == expected
    db.session.refresh(anju)
    assert not anju.is_confirmed


def test_the_street_office_confirms_through_the_page(client, login_as, anju, office):
    login_as(office.staff)
    r = client.post(f"/stakeholders/{anju.id}/confirm", data={"basis": "credit_code", "note": ""})
    assert r.status_code == 302
    db.session.refresh(anju)
    assert not anju.is_confirmed
    data = {"basis": "credit_code", "note": "公示系统核对，名称与代码一致"}
    r = client.post(f"/stakeholders/{anju.id}/confirm", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/organisations")
    db.session.refresh(anju)
    assert anju.is_confirmed
    assert "unconfirmed" not in client.get(f"/stakeholders/{anju.id}").get_data(as_text=True)


# --- the unconfirmed mark --------------------------------------------------------------------

MARK = 'class="badge unconfirmed"'


@pytest.fixture
def discussion(app, community, committee, make_user, make_resident, make_org):
    """A proposal on which a confirmed and an unconfirmed business comment."""
    author = make_resident("author")
    proposal = proposal_services.create_proposal(
        actor_for(author),
        {
            "kind": "consultation",
            "community_id": community.id,
            "title": "物业费调整",
            "summary": "征询意见",
            "body": "请发表意见。",
            "publish": True,
        },
    )
    real_boss, fake_boss = make_user("real_boss"), make_user("fake_boss")
    real = make_org("安居物业", admin=real_boss, confirmed=True)
    fake = make_org("安居物业服务", admin=fake_boss, confirmed=False)
    comments.post_comment(Actor(real_boss, real), proposal, {"body": "我们是物业公司。"})
    comments.post_comment(Actor(fake_boss, fake), proposal, {"body": "我们才是物业公司。"})
    db.session.commit()
    return proposal, real, fake


def _author_line(page: str, org: Stakeholder) -> str:
    start = page.index(f'href="/stakeholders/{org.id}"')
    return page[start : page.index("</h3>", start)]


def test_a_comment_by_an_unconfirmed_organisation_carries_the_mark(client, discussion):
    proposal, real, fake = discussion
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert MARK in _author_line(page, fake)
    assert MARK not in _author_line(page, real)


def test_the_mark_costs_no_query(client, discussion, count_queries, make_user, make_org):
    proposal, _real, _fake = discussion
    with count_queries() as few:
        client.get(f"/proposals/{proposal.id}")
    for i in range(5):
        boss = make_user(f"boss{i}")
        org = make_org(f"冒名公司{i}", admin=boss, confirmed=False)
        comments.post_comment(Actor(boss, org), proposal, {"body": f"第{i}条"})
    db.session.commit()
    with count_queries() as many:
        page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert page.count(MARK) == 6
    assert many.count == few.count, many.statements


def test_the_comments_api_says_whether_an_author_is_confirmed(client, discussion):
    proposal, real, fake = discussion
    items = client.get(f"/api/v1/proposals/{proposal.id}/comments").json["items"]
    confirmed = {c["author"]["id"]: c["author"]["is_confirmed"] for c in items}
    assert confirmed == {real.id: True, fake.id: False}


def test_profile_directory_and_acting_as_show_the_mark(client, login_as, discussion, community):
    _proposal, real, fake = discussion
    assert MARK in client.get(f"/stakeholders/{fake.id}").get_data(as_text=True)
    assert MARK not in client.get(f"/stakeholders/{real.id}").get_data(as_text=True)
    directory = client.get(f"/communities/{community.id}").get_data(as_text=True)
    assert directory.count(MARK) == 1
    login_as(fake.memberships[0].user)
    use_english(client)
    page = client.get("/").get_data(as_text=True)
    assert "安居物业服务 (Business, unconfirmed)" in page


def test_the_stakeholders_api_leaves_residents_out_of_confirmation(client, discussion, community):
    items = client.get(f"/api/v1/stakeholders?community={community.id}").json["items"]
    by_kind = {(s["kind"], s["is_confirmed"]) for s in items}
    assert ("resident", None) in by_kind
    assert ("business", False) in by_kind and ("business", True) in by_kind


# --- existing rows and the demo --------------------------------------------------------------


def test_the_migration_keys_existing_organisations_and_leaves_impostors_unkeyed(make_app, tmp_path):
    """Of namesakes, the confirmed one keeps the key (then the oldest); residents get none."""
    from flask_migrate import downgrade, upgrade

    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'old.db'}")
    rows = [
        (1, "business", "安居物业服务有限公司 ", 0),  # the impostor came first
        (2, "business", "安居物业服务有限公司", 1),  # the real one was confirmed
        (3, "social_organization", "兰苑社区居委会", 1),
        (4, "social_organization", "兰苑社区居委会 ", 0),
        (5, "resident", "王桂花", 0),
        (6, "resident", "王桂花", 0),
        (7, "business", "ＡＢＣ物业", 0),
        (8, "business", "abc 物业", 0),
    ]
    with app.app_context():
        upgrade(revision="0007_tracking_dashboard")
        for id_, kind, name, confirmed in rows:
            db.session.execute(
                sa.text(
                    "INSERT INTO stakeholders (id, kind, name, description, is_confirmed, "
                    "created_at) VALUES (:id, :kind, :name, '', :confirmed, '2026-01-01 00:00:00')"
                ),
                {"id": id_, "kind": kind, "name": name, "confirmed": confirmed},
            )
        db.session.commit()
        upgrade(revision="0011_organisation_identity")
        keys = dict(db.session.execute(sa.text("SELECT id, name_key FROM stakeholders")).all())
        assert keys == {
            1: None,
            2: "安居物业服务有限公司",
            3: "兰苑社区居委会",
            4: None,
            5: None,
            6: None,
            7: "abc物业",
            8: None,
        }
        db.session.commit()
        downgrade(revision="0007_tracking_dashboard")
        db.session.commit()


def test_demo_organisations_are_confirmed_keyed_and_their_codes_valid(app):
    from stakeholders import demo
    from stakeholders.credit_code import is_valid

    created = {"password": "demo-password-1"}
    demo.load(created)
    orgs = created["organisations"]
    assert set(demo.CREDIT_CODES) <= set(orgs)
    for key, org in orgs.items():
        assert org.is_confirmed and org.name_key == name_key(org.name)
        assert org.credit_code == demo.CREDIT_CODES.get(key)
        assert org.credit_code is None or is_valid(org.credit_code)
