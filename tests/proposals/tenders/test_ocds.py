"""/tenders/<id>/ocds.json validates against the OCDS 1.1.5 release package schema, at
every stage, and says nothing about bids before the opening but their number."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from tender_helpers import SECRET_PRICE, SECRET_TEXT, Scene, build_scene

from coord.db import db
from proposals.tenders import award, scoring, services

SCHEMAS = Path(__file__).resolve().parents[2] / "data" / "ocds"


@pytest.fixture
def scene(make_user, make_org, community, monkeypatch) -> Scene:
    return build_scene(make_user, make_org, community, monkeypatch)


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    package = json.loads((SCHEMAS / "release-package-schema.json").read_text(encoding="utf-8"))
    release = json.loads((SCHEMAS / "release-schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4))
        for schema in (package, release)
    )
    return Draft4Validator(package, registry=registry)


def _check(client, validator, tender) -> dict:
    response = client.get(f"/tenders/{tender.id}/ocds.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    package = response.get_json()
    errors = sorted(validator.iter_errors(package), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    for key in ("publishedDate",):
        datetime.fromisoformat(package[key])
    release = package["releases"][0]
    datetime.fromisoformat(release["date"])
    assert release["ocid"].endswith(f"-tender-{tender.id}")
    return release


def test_the_schema_rejects_a_broken_package(validator):
    assert list(validator.iter_errors({"uri": "x", "releases": []}))


def test_every_stage_validates(client, validator, scene):
    tender = scene.publish()
    services.ask_question(scene.bidder_a, tender, "能否分期？")
    db.session.commit()
    release = _check(client, validator, tender)
    assert release["tag"] == ["tender"] and release["tender"]["status"] == "active"
    assert release["tender"]["mainProcurementCategory"] == "services"
    assert release["tender"]["enquiries"][0]["author"] == {"name": "Bidder 1"}
    assert [p["roles"] for p in release["parties"]] == [["buyer", "procuringEntity"]]

    scene.to_bidding(tender)
    a = scene.bid(tender, scene.bidder_a, SECRET_PRICE, SECRET_TEXT)
    scene.bid(tender, scene.bidder_b, "1100000", "方案")
    raw = client.get(f"/tenders/{tender.id}/ocds.json").get_data(as_text=True)
    assert (
        "987654" not in raw and "SECRET" not in raw and scene.bidder_a.stakeholder.name not in raw
    )
    release = _check(client, validator, tender)
    assert release["bids"]["statistics"][0]["value"] == 2 and "details" not in release["bids"]

    scene.open(tender)
    release = _check(client, validator, tender)
    assert {d["value"]["amount"] for d in release["bids"]["details"]} == {987654.32, 1100000.0}
    roles = {p["name"]: p["roles"] for p in release["parties"]}
    assert roles[scene.bidder_a.stakeholder.name] == ["tenderer"]

    scene.score_all(tender)
    scoring.complete_evaluation(scene.buyer, tender)
    award.award_tender(scene.buyer, tender, a, "综合得分第一。")
    db.session.commit()
    release = _check(client, validator, tender)
    assert release["tag"] == ["award"]
    assert release["awards"][0]["suppliers"][0]["name"] == scene.bidder_a.stakeholder.name
    assert release["awards"][0]["status"] == "pending"
    roles = {p["name"]: p["roles"] for p in release["parties"]}
    assert roles[scene.bidder_a.stakeholder.name] == ["tenderer", "supplier"]

    scene.clock.at(services.standstill_ends_at(tender))
    due = scene.clock.now + timedelta(days=30)
    award.sign_contract(scene.buyer, tender, [("进场交接", due)])
    db.session.commit()
    release = _check(client, validator, tender)
    assert release["tag"] == ["contract"] and release["awards"][0]["status"] == "active"
    assert release["contracts"][0]["milestones"][0]["title"] == "进场交接"
    assert release["contracts"][0]["milestones"][0]["status"] == "scheduled"


def test_a_hidden_budget_is_not_published(client, validator, scene):
    tender = scene.publish(budget_public=False)
    release = _check(client, validator, tender)
    assert "value" not in release["tender"]
    assert client.get("/tenders/999999/ocds.json").status_code == 404
