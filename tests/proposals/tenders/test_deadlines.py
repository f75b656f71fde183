"""What time decides: pages show the effective state without writing; the tick settles it;
a use case that needs the settled state settles it in its own transaction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tender_helpers import Scene, build_scene

from coord.db import db
from coord.models import AuditEvent
from proposals.tenders import award, bids, deadlines, scoring, services
from proposals.tenders.models import Tender

from helpers import use_english


@pytest.fixture
def scene(make_user, make_org, community, monkeypatch) -> Scene:
    rv = build_scene(make_user, make_org, community, monkeypatch)
    monkeypatch.setattr("coord.cli.utcnow", rv.clock)  # the tick's time is the scene's time
    return rv


def _snapshot(tender: Tender) -> tuple:
    db.session.expire_all()
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
        tender.proposal.status,
        tender.proposal.last_activity_at,
        tender.enquiry_ends_at,
        tender.award_final_at,
    )


def _pages(tender: Tender) -> list[str]:
    t = tender.id
    return [
        f"/tenders/{t}",
        f"/api/v1/tenders/{t}",
        f"/tenders/{t}/ocds.json",
        f"/api/v1/tenders/{t}/ocds",
        f"/tenders/{t}/bid",
        f"/tenders/{t}/open",
        f"/proposals/{tender.proposal_id}",
    ]


def _read_everything(client, login_as, scene, tender) -> dict[str, str]:
    rv = {}
    for who in (None, scene.bidder_a, scene.buyer):
        with client.session_transaction() as session:
            session.clear()
        if who is not None:
            login_as(who.user, acting_as=who.stakeholder)
        use_english(client)
        for path in _pages(tender):
            r = client.get(path)
            assert r.status_code in (200, 302, 403), path
            rv[f"{path} {who and who.user.username}"] = r.get_data(as_text=True)
    return rv


def _awarded(scene: Scene) -> Tender:
    tender = scene.publish()
    scene.to_bidding(tender)
    a = scene.bid(tender, scene.bidder_a, "1000000", "安居方案")
    scene.bid(tender, scene.bidder_b, "1100000", "和顺方案")
    scene.open(tender)
    scene.score_all(tender)
    scoring.complete_evaluation(scene.buyer, tender)
    award.award_tender(scene.buyer, tender, a, "综合得分第一。")
    db.session.commit()
    return tender


def test_reading_after_the_enquiry_period_writes_nothing_and_shows_bidding(
    client, login_as, scene, runner
):
    tender = scene.publish()
    scene.take_shares(tender)
    scene.clock.at(tender.enquiry_ends_at, 1)
    before = _snapshot(tender)
    pages = _read_everything(client, login_as, scene, tender)
    assert _snapshot(tender) == before
    assert before[1] == "enquiry"
    assert 'class="badge state-bidding"' in pages[f"/tenders/{tender.id} None"]
    assert '"status":"bidding"' in pages[f"/api/v1/tenders/{tender.id} None"].replace(" ", "")
    assert "Seal and submit the bid" in pages[f"/tenders/{tender.id}/bid anju_staff"]
    result = runner.invoke(args=["coord", "tick"])
    assert result.exit_code == 0, result.output
    assert "proposals.tenders.deadlines.finalize_due: 1" in result.output
    db.session.expire_all()
    assert tender.proposal.status == "bidding"
    assert runner.invoke(args=["coord", "tick"]).output.count("finalize_due: 0") == 1


def test_reading_after_the_standstill_writes_nothing_and_shows_the_award_final(
    client, login_as, scene, runner
):
    tender = _awarded(scene)
    scene.clock.at(services.standstill_ends_at(tender), 1)
    before = _snapshot(tender)
    pages = _read_everything(client, login_as, scene, tender)
    assert _snapshot(tender) == before
    assert before[4] is None
    assert 'class="badge verified">Final' in pages[f"/tenders/{tender.id} None"]
    assert '"final_at":null' not in pages[f"/api/v1/tenders/{tender.id} None"].replace(" ", "")
    assert '"status":"active"' in pages[f"/tenders/{tender.id}/ocds.json None"].replace(" ", "")
    assert deadlines.effective_state(tender).award_final_at == services.standstill_ends_at(tender)
    result = runner.invoke(args=["coord", "tick"])
    assert "proposals.tenders.deadlines.finalize_due: 1" in result.output
    db.session.expire_all()
    assert tender.award_final_at is not None
    events = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action == "tender.award_final")
    ).all()
    assert events == ["tender.award_final"]


def test_a_bid_right_after_the_enquiry_period_opens_bidding_in_its_own_transaction(scene):
    tender = scene.publish()
    scene.take_shares(tender)
    scene.clock.at(tender.enquiry_ends_at)
    assert tender.proposal.status == "enquiry"
    bids.submit_bid(scene.bidder_a, tender, "1000", "方案")
    db.session.commit()
    db.session.expire_all()
    assert tender.proposal.status == "bidding"
    assert bids.bid_count(tender) == 1


def test_a_refused_step_leaves_the_due_state_unsettled(scene):
    tender = scene.publish()
    scene.take_shares(tender)
    scene.clock.at(tender.enquiry_ends_at)
    with pytest.raises(Exception, match="positive amount"):
        bids.submit_bid(scene.bidder_a, tender, "-1", "方案")
    db.session.rollback()
    db.session.expire_all()
    assert tender.proposal.status == "enquiry"
    assert deadlines.effective_state(tender).status == "bidding"


def test_nothing_is_due_before_its_time(scene):
    tender = scene.publish()
    scene.take_shares(tender)
    scene.clock.at(tender.enquiry_ends_at, -1)
    assert deadlines.effective_state(tender).status == "enquiry"
    assert deadlines.finalize_due() == 0
