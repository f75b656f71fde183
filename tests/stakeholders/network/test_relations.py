"""Declared relations: every refusal stores nothing; disputes keep both sides; who may verify."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from network_helpers import actor, build_world, declare

from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import AuditEvent
from stakeholders.models import Relation, RelationStatus
from stakeholders.network import relations

from helpers import identity, use_english


@pytest.fixture(autouse=True)
def english(app):
    """Refusal messages and sentences in English, whatever the default locale's catalog says."""
    with force_locale("en"):
        yield


@pytest.fixture
def world(community, committee, make_org, make_user, make_resident):
    return build_world(community, committee, make_org, make_user, make_resident)


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _relation_events() -> list[AuditEvent]:
    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action.like("relation.%")).order_by(AuditEvent.id)
    ).all()


def test_declare_records_a_claimed_relation_and_an_audit_event(world):
    rel = declare(
        world, "owners", world.anju, "dispute", strength=3, note="物业费上涨", evidence="决议"
    )
    assert (rel.source_id, rel.target_id, rel.sign, rel.strength) == (
        world.owners.id,
        world.anju.id,
        -1,
        3,
    )
    assert rel.status == RelationStatus.CLAIMED
    assert rel.community_id == world.community.id
    assert rel.declared_by_user_id == world.owners_user.id
    [event] = _relation_events()
    assert (event.action, event.subject_id, event.actor_id, event.is_public) == (
        "relation.declare",
        rel.id,
        world.owners.id,
        True,
    )


def test_relations_between_street_level_organisations_belong_to_no_community(world):
    rel = declare(world, "street", world.anju, "supervision")
    assert rel.community_id is None
    assert relations.relation_community_ids(rel) == [world.community.id]


def test_managers_only_relations_are_audited_privately(world):
    declare(world, "owners", world.anju, "dispute", visibility="managers")
    [event] = _relation_events()
    assert not event.is_public


REFUSALS = [
    ("self", lambda w: {"target_id": w.owners.id}, DomainError, "itself"),
    ("unknown", lambda w: {"target_id": 999_999}, DomainError, "does not exist"),
    ("not a number", lambda w: {"target_id": "abc"}, DomainError, "does not exist"),
    ("sign zero", lambda w: {"sign": 0}, DomainError, "+1 or -1"),
    ("sign two", lambda w: {"sign": 2}, DomainError, "+1 or -1"),
    ("sign text", lambda w: {"sign": "plus"}, DomainError, "+1 or -1"),
    ("sign against type", lambda w: {"sign": -1}, DomainError, "always has the sign"),
    ("strength zero", lambda w: {"strength": 0}, DomainError, "1, 2 or 3"),
    ("strength four", lambda w: {"strength": 4}, DomainError, "1, 2 or 3"),
    ("strength fraction", lambda w: {"strength": 1.5}, DomainError, "1, 2 or 3"),
    ("strength bool", lambda w: {"strength": True}, DomainError, "1, 2 or 3"),
    ("unknown type", lambda w: {"type": "friendship"}, DomainError, "type of relation"),
    ("unknown visibility", lambda w: {"visibility": "secret"}, DomainError, "who may see"),
    ("note too long", lambda w: {"note": "长" * 501}, DomainError, "under 500"),
    ("evidence too long", lambda w: {"evidence": "x" * 1001}, DomainError, "under 1000"),
    (
        "for an organisation one does not belong to",
        lambda w: {"source_id": w.anju.id},
        NotAllowed,
        "organisation you belong to",
    ),
    (
        "a stakeholder outside the community",
        lambda w: {"target_id": identity(w.stranger).id},
        DomainError,
        "belong to this community",
    ),
]


@pytest.mark.parametrize(
    ("case", "data", "error", "message"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_bad_declarations_are_refused_and_nothing_is_stored(world, case, data, error, message):
    values = {"target_id": world.anju.id, "type": "cooperation", "strength": 2} | data(world)
    with pytest.raises(error) as excinfo:
        relations.declare_relation(actor(world.owners_user, world.owners), world.community, values)
    assert message in excinfo.value.message
    db.session.rollback()
    assert _count(Relation) == 0
    assert _relation_events() == []


def test_a_deleted_stakeholder_cannot_be_related(world):
    target = identity(world.residents[0])
    target.deleted_at = utcnow()
    db.session.commit()
    with pytest.raises(DomainError, match="deleted"):
        declare(world, "owners", target, "cooperation")
    db.session.rollback()
    assert _count(Relation) == 0


@pytest.mark.parametrize("reverse", [False, True])
def test_duplicate_claims_are_refused_in_either_direction(world, reverse):
    declare(world, "owners", world.anju, "dispute")
    with pytest.raises(Conflict, match="already declared"):
        if reverse:
            declare(world, "anju", world.owners, "dispute")
        else:
            declare(world, "owners", world.anju, "dispute", strength=3)
    db.session.rollback()
    assert _count(Relation) == 1
    # Another type between the same two is a different relation.
    declare(world, "owners", world.anju, "contract")
    assert _count(Relation) == 2


def test_the_other_side_confirms(world):
    rel = declare(world, "owners", world.volunteers, "alliance")
    with pytest.raises(NotAllowed):
        relations.confirm_relation(actor(world.owners_user, world.owners), rel)
    with pytest.raises(NotAllowed):
        relations.confirm_relation(actor(world.stranger), rel)
    relations.confirm_relation(actor(world.volunteers_user, world.volunteers), rel, "属实")
    db.session.commit()
    assert rel.status == RelationStatus.CONFIRMED and rel.response_note == "属实"
    with pytest.raises(Conflict):
        relations.confirm_relation(actor(world.volunteers_user, world.volunteers), rel)


def test_a_dispute_keeps_both_sides_and_deletes_nothing(world):
    rel = declare(world, "owners", world.anju, "dispute", note="物业费上涨15%")
    with pytest.raises(DomainError, match="Say why"):
        relations.dispute_relation(actor(world.anju_user, world.anju), rel, "  ")
    relations.dispute_relation(actor(world.anju_user, world.anju), rel, "调价符合合同约定")
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Relation, rel.id)
    assert stored.status == RelationStatus.DISPUTED
    assert (stored.note, stored.response_note) == ("物业费上涨15%", "调价符合合同约定")
    assert [e.action for e in _relation_events()] == ["relation.declare", "relation.dispute"]
    with pytest.raises(NotAllowed):
        relations.dispute_relation(actor(world.owners_user, world.owners), rel, "我方不同意")
    # The other side may still change its mind and confirm.
    relations.confirm_relation(actor(world.anju_user, world.anju), rel)
    assert rel.status == RelationStatus.CONFIRMED and rel.note == "物业费上涨15%"


def test_only_the_residents_committee_verifies(world):
    rel = declare(world, "owners", world.anju, "dispute")
    for who in (
        actor(world.owners_user, world.owners),
        actor(world.anju_user, world.anju),
        actor(world.street_user, world.street),
        actor(world.stranger),
    ):
        with pytest.raises(NotAllowed, match="residents committee"):
            relations.verify_relation(who, rel)
    relations.verify_relation(actor(world.committee_user, world.committee), rel)
    db.session.commit()
    assert rel.status == RelationStatus.VERIFIED
    event = _relation_events()[-1]
    assert (event.action, event.actor_id) == ("relation.verify", world.committee.id)
    with pytest.raises(Conflict):
        relations.verify_relation(actor(world.committee_user, world.committee), rel)


def test_street_level_relations_are_verified_by_a_committee_of_the_street(world):
    rel = declare(world, "street", world.anju, "supervision")
    relations.verify_relation(actor(world.committee_user, world.committee), rel)
    assert rel.status == RelationStatus.VERIFIED


def test_only_the_declarer_retracts_and_may_declare_again(world):
    rel = declare(world, "owners", world.anju, "dispute", note="旧说法")
    with pytest.raises(NotAllowed):
        relations.retract_relation(actor(world.anju_user, world.anju), rel)
    relations.retract_relation(actor(world.owners_user, world.owners), rel)
    db.session.commit()
    assert rel.status == RelationStatus.RETRACTED
    with pytest.raises(Conflict):
        relations.retract_relation(actor(world.owners_user, world.owners), rel)
    again = declare(world, "owners", world.anju, "dispute", note="新说法")
    assert again.id == rel.id and again.status == RelationStatus.CLAIMED and again.note == "新说法"
    # Retracted in one direction, the other side may declare its own.
    relations.retract_relation(actor(world.owners_user, world.owners), again)
    db.session.commit()
    other = declare(world, "anju", world.owners, "dispute")
    assert other.id != rel.id


def test_residents_declare_for_themselves(world):
    resident = world.residents[0]
    rel = declare(world, resident, world.anju, "dispute", note="停车位改为收费")
    assert rel.source_id == identity(resident).id
    with pytest.raises(NotAllowed):
        relations.declare_relation(
            actor(resident),
            world.community,
            {
                "source_id": identity(world.residents[1]).id,
                "target_id": world.anju.id,
                "type": "dispute",
            },
        )


# -- Pages and API ---------------------------------------------------------------------------


def test_declare_through_the_form(world, login_as, client):
    login_as(world.owners_user, acting_as=world.owners)
    url = f"/communities/{world.community.id}/relations/new"
    page = client.get(url)
    assert page.status_code == 200
    rv = client.post(
        url,
        data={
            "source_id": world.owners.id,
            "target_id": world.anju.id,
            "type": "dispute",
            "strength": 3,
            "visibility": "public",
            "note": "物业费上涨",
            "evidence": "",
        },
    )
    assert rv.status_code == 302
    rel = db.session.scalar(sa.select(Relation))
    assert rv.headers["Location"].endswith(f"/relations/{rel.id}")
    # Declaring it again shows the refusal on the form and stores nothing more.
    again = client.post(
        url,
        data={
            "source_id": world.owners.id,
            "target_id": world.anju.id,
            "type": "dispute",
            "strength": 1,
            "visibility": "public",
        },
    )
    assert again.status_code == 422
    assert _count(Relation) == 1


def test_declare_page_needs_a_sign_in(world, client):
    rv = client.get(f"/communities/{world.community.id}/relations/new")
    assert rv.status_code in (302, 401)


def test_dispute_through_the_relation_page_shows_both_sides(world, login_as, client):
    use_english(client)
    rel = declare(world, "owners", world.anju, "dispute", note="物业费上涨15%")
    login_as(world.anju_user, acting_as=world.anju)
    page = client.get(f"/relations/{rel.id}").get_data(as_text=True)
    assert "Dispute" in page and "Confirm" in page
    rv = client.post(f"/relations/{rel.id}/dispute", data={"note": "调价已公示"})
    assert rv.status_code == 302
    page = client.get(f"/relations/{rel.id}").get_data(as_text=True)
    assert "物业费上涨15%" in page and "调价已公示" in page
    assert db.session.get(Relation, rel.id).status == RelationStatus.DISPUTED


def test_relation_pages_hide_managers_only_relations_from_strangers(world, login_as, client):
    rel = declare(world, "owners", world.anju, "dispute", visibility="managers", note="敏感纠纷")
    assert client.get(f"/relations/{rel.id}").status_code == 404
    assert client.get(f"/api/v1/relations/{rel.id}").status_code == 404
    login_as(world.stranger)
    assert client.get(f"/relations/{rel.id}").status_code == 404
    assert client.post(f"/relations/{rel.id}/confirm", data={}).status_code == 404
    login_as(world.committee_user, acting_as=world.committee)
    assert "敏感纠纷" in client.get(f"/relations/{rel.id}").get_data(as_text=True)


def test_api_declare_and_answer(world, login_as, client):
    use_english(client)
    login_as(world.owners_user)
    headers = {"X-Acting-As": str(world.owners.id)}
    url = f"/api/v1/communities/{world.community.id}/relations"
    bad = client.post(url, json={"target_id": world.owners.id, "type": "alliance"}, headers=headers)
    assert bad.status_code == 400
    assert "itself" in bad.get_json()["error"]["message"]
    bad = client.post(
        url, json={"target_id": world.anju.id, "type": "dispute", "sign": 5}, headers=headers
    )
    assert bad.status_code == 400
    assert _count(Relation) == 0
    rv = client.post(
        url,
        json={"target_id": world.volunteers.id, "type": "alliance", "strength": 2},
        headers=headers,
    )
    assert rv.status_code == 201
    body = rv.get_json()
    assert body["status"] == "claimed" and body["sign"] == 1
    login_as(world.volunteers_user)
    rv = client.post(
        f"/api/v1/relations/{body['id']}/confirm",
        json={},
        headers={"X-Acting-As": str(world.volunteers.id)},
    )
    assert rv.status_code == 200 and rv.get_json()["status"] == "confirmed"
