"""Residents appear as groups; staff see them one by one only for a stated, audited purpose."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from network_helpers import build_world, declare

from coord.db import db
from coord.models import AuditEvent
from stakeholders.network import services as service

from helpers import QueryCounter, identity, use_english


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


@pytest.fixture
def world(community, committee, make_org, make_user, make_resident):
    w = build_world(community, committee, make_org, make_user, make_resident)
    w.parking = declare(w, w.residents[0], w.anju, "dispute", strength=2, note="停车收费")
    w.lone = declare(w, w.r5, w.anju, "dispute", note="噪音")
    return w


def test_the_stored_reports_hold_groups_not_residents(world):
    resident_ids = {identity(u).id for u in [*world.residents, world.r5]}
    for scope in (service.PUBLIC, service.MANAGERS):
        snapshot = service.refresh(world.community, scope)
        report = service.report_of(snapshot)
        assert snapshot.inputs_digest.startswith(("pub2:", "mgr2:"))  # version 2 only
        nodes = {m for b in report["blocs"] for m in b["members"]} | set(report["isolated"])
        assert not nodes & resident_ids
        labels = sorted(service.group_label(g) for g in report["groups"])
        # Three live in building 3; the one of building 5 is too few to stand alone.
        assert "Residents of building 3 (3)" in labels
        conflicts = {(c["a"], c["b"]) for c in report["conflicts"]}
        building3 = next(g["id"] for g in report["groups"] if g["building"] == "3")
        assert (min(building3, world.anju.id), max(building3, world.anju.id)) in conflicts


def test_pages_name_groups_and_hide_a_residents_network(world, client, login_as):
    use_english(client)
    c = world.community.id
    names = [identity(u).name for u in [*world.residents, world.r5]]
    for url in (
        f"/communities/{c}/network",
        f"/communities/{c}/network/grid",
        f"/communities/{c}/network/export.json",
        f"/api/v1/communities/{c}/network/report",
        f"/stakeholders/{world.anju.id}",
        f"/relations/{world.parking.id}",
        f"/api/v1/relations/{world.parking.id}",
    ):
        page = client.get(url).get_data(as_text=True)
        assert not [n for n in names if n in page], url
    assert "Residents of building 3 (3)" in client.get(f"/relations/{world.parking.id}").text
    assert "_group_of" not in client.get(f"/api/v1/communities/{c}/network/report").text
    # The resident's own profile keeps its network section for them, not for others.
    me = identity(world.residents[0])
    assert "Allies and opponents" not in client.get(f"/stakeholders/{me.id}").text
    login_as(world.residents[0])
    assert "Allies and opponents" in client.get(f"/stakeholders/{me.id}").text
    assert world.anju.name in client.get(f"/relations/{world.parking.id}").text
    assert me.name in client.get(f"/relations/{world.parking.id}").text  # a side sees itself


def test_staff_state_a_purpose_to_see_residents_one_by_one(world, client, login_as):
    use_english(client)
    c = world.community.id
    name = identity(world.residents[0]).name
    url = f"/communities/{c}/network"
    # A plain resident may not ask; a stranger gets nothing either.
    login_as(world.residents[1])
    assert client.post(f"{url}/individual", data={"purpose": "查看"}).status_code == 404
    login_as(world.committee_user, acting_as=world.committee)
    page = client.get(url).text
    assert name not in page and "See residents one by one" in page
    with QueryCounter(db.engine) as counter:
        client.get(url)
    assert not [s for s in counter.statements if s.lstrip().upper().startswith("INSERT")]
    # No purpose: refused, nothing recorded.
    rv = client.post(f"{url}/individual", data={"purpose": ""})
    assert rv.status_code == 302 and name not in client.get(url).text
    events = sa.select(AuditEvent).where(AuditEvent.action == "personal_data.read")
    assert db.session.scalars(events).all() == []
    rv = client.post(f"{url}/individual", data={"purpose": "调解停车纠纷，需联系当事居民"})
    assert rv.status_code == 302
    event = db.session.scalars(events).one()
    assert event.subject_type == "community_network" and event.subject_id == c
    assert event.data["purpose"] == "调解停车纠纷，需联系当事居民"
    assert event.user_id == world.committee_user.id
    page = client.get(url).text
    assert name in page and "Back to residents as groups" in page
    assert name in client.get(f"/api/v1/communities/{c}/network").text
    client.post(f"{url}/individual/end")
    assert name not in client.get(url).text


def test_the_grant_is_for_one_user_and_ends(world, client, login_as, monkeypatch):
    c = world.community.id
    url = f"/communities/{c}/network"
    name = identity(world.residents[0]).name
    login_as(world.committee_user, acting_as=world.committee)
    client.post(f"{url}/individual", data={"purpose": "核实纠纷双方"})
    assert name in client.get(url).text
    login_as(world.street_user, acting_as=world.street)  # the same browser, another user
    assert name not in client.get(url).text
    login_as(world.committee_user, acting_as=world.committee)
    monkeypatch.setattr(service, "INDIVIDUAL_MINUTES", -1)
    client.post(f"{url}/individual", data={"purpose": "核实纠纷双方"})  # granted in the past
    assert name not in client.get(url).text
