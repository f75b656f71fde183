"""Tender pages and API: anonymous, wrong role, right role; the flows through the forms."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from tender_helpers import SECRET_PRICE, SECRET_TEXT, Scene, build_scene

from coord.db import db
from coord.errors import DomainError
from coord.models import AuditEvent, Notification
from proposals.tenders import services
from proposals.tenders.models import Bid, Tender

from helpers import use_english


@pytest.fixture
def scene(make_user, make_org, community, monkeypatch) -> Scene:
    return build_scene(make_user, make_org, community, monkeypatch)


def _opened(scene):
    tender = scene.publish()
    scene.to_bidding(tender)
    a = scene.bid(tender, scene.bidder_a, SECRET_PRICE, SECRET_TEXT)
    b = scene.bid(tender, scene.bidder_b, "1100000", "和顺方案")
    return tender, a, b


def _as(login_as, client, actor):
    login_as(actor.user, acting_as=actor.stakeholder)
    use_english(client)
    return client


def test_pages_by_role(client, login_as, scene):
    tender, a, b = _opened(scene)
    t = tender.id
    cases = [
        # path, anonymous, bidder B, buyer
        (f"/tenders/{t}", 200, 200, 200),
        (f"/tenders/{t}/ocds.json", 200, 200, 200),
        (f"/api/v1/tenders/{t}", 200, 200, 200),
        (f"/tenders/{t}/bid", 302, 200, 200),
        (f"/tenders/{t}/bids/{a.id}", 302, 404, 404),  # sealed: nobody but its bidder
        (f"/tenders/{t}/bids/{b.id}", 302, 200, 404),
        (f"/api/v1/tenders/{t}/bids/{a.id}", 404, 404, 404),
        (f"/tenders/{t}/open", 302, 403, 200),
        (f"/tenders/{t}/share", 302, 404, 404),
        (f"/tenders/{t}/score", 302, 403, 403),
        (f"/tenders/{t}/contract", 302, 403, 200),
        ("/tenders/999999", 404, 404, 404),
    ]
    for path, *expected in cases:
        got = []
        for who in (None, scene.bidder_b, scene.buyer):
            with client.session_transaction() as session:
                session.clear()
            if who is not None:
                _as(login_as, client, who)
            got.append(client.get(path).status_code)
        assert got == expected, path


def test_nothing_readable_before_opening_on_any_page(client, login_as, scene):
    tender, a, _b = _opened(scene)
    pages = [
        f"/tenders/{tender.id}",
        f"/tenders/{tender.id}/ocds.json",
        f"/api/v1/tenders/{tender.id}",
        f"/proposals/{tender.proposal_id}",
        "/tenders",
        "/supervision",
        f"/tenders/{tender.id}/bid",
        f"/tenders/{tender.id}/bids/{a.id}",
        f"/api/v1/tenders/{tender.id}/bids/mine",
        "/notifications/",
    ]
    for who in (None, scene.bidder_a, scene.buyer, scene.bidder_b):
        with client.session_transaction() as session:
            session.clear()
        if who is not None:
            _as(login_as, client, who)
        for path in pages:
            text = client.get(path).get_data(as_text=True)
            assert (
                "987654" not in text and "987,654" not in text and "SECRET-PROPOSAL" not in text
            ), path
    assert "Bids received: 2" in client.get(f"/tenders/{tender.id}").get_data(as_text=True)


def test_publish_share_and_opening_through_the_forms(client, login_as, scene):
    tender = scene.publish()
    member = scene.panel[0]
    login_as(member)
    use_english(client)
    page = client.post(f"/tenders/{tender.id}/share")
    assert page.headers["Cache-Control"] == "no-store"
    code = re.search(r'id="share-code">([^<]+)<', page.get_data(as_text=True)).group(1)
    again = client.post(f"/tenders/{tender.id}/share", follow_redirects=True).get_data(as_text=True)
    assert code not in again and "already taken your share" in again
    scene.codes[member.id] = code
    for user in scene.panel[1:]:
        scene.codes[user.id] = services.take_share(user, tender)
    db.session.commit()
    scene.clock.at(tender.enquiry_ends_at)
    _as(login_as, client, scene.bidder_a)
    r = client.post(f"/tenders/{tender.id}/bid", data={"price": "1000", "proposal": "方案"})
    assert r.status_code == 302
    assert "Keep the receipt" in client.get(f"/tenders/{tender.id}/bid").get_data(as_text=True)
    _as(login_as, client, scene.buyer)
    scene.clock.at(tender.opening_at, -60)
    r = client.post(f"/tenders/{tender.id}/open", data={"codes": list(scene.codes.values())[:2]})
    assert r.status_code == 422 and "before the opening time" in r.get_data(as_text=True)
    scene.clock.at(tender.opening_at)
    r = client.post(
        f"/tenders/{tender.id}/open", data={"codes": ["", *list(scene.codes.values())[1:]]}
    )
    assert r.status_code == 302
    page = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert "1,000.00" in page and "Opening record" in page


def test_a_failed_opening_through_the_form_is_recorded(client, login_as, scene):
    tender, *_ = _opened(scene)
    scene.clock.at(tender.opening_at)
    _as(login_as, client, scene.buyer)
    use_english(client)
    r = client.post(f"/tenders/{tender.id}/open", data={"codes": [scene.codes[scene.panel[0].id]]})
    assert r.status_code == 422 and "at least 2" in r.get_data(as_text=True)
    db.session.rollback()  # what another request sees: committed rows only
    failed = sa.select(AuditEvent).where(AuditEvent.action == "tender.open_failed")
    event = db.session.scalar(failed)
    assert event.data["reason"] == "too_few" and event.data["codes_entered"] == 1
    page = client.get("/supervision").get_data(as_text=True)
    assert "entered share codes that did not open a tender" in page
    assert db.session.get(Tender, tender.id).opening_record is None


def test_scoring_and_award_forms(client, login_as, scene):
    tender, a, _b = _opened(scene)
    scene.open(tender)
    login_as(scene.panel[0])
    use_english(client)
    key = services.quality_criteria(tender)[0]["key"]
    r = client.post(
        f"/tenders/{tender.id}/score", data={f"score-{a.id}-{key}": "150", f"why-{a.id}-{key}": "x"}
    )
    assert r.status_code == 422 and "from 0 to 100" in r.get_data(as_text=True)
    scene.score_all(tender)
    _as(login_as, client, scene.buyer)
    assert client.post(f"/tenders/{tender.id}/complete").status_code == 302
    r = client.post(f"/tenders/{tender.id}/award", data={"bid_id": a.id, "justification": "第一名"})
    assert r.status_code == 302
    db.session.expire_all()
    assert tender.proposal.status == "standstill"
    anonymous = client.application.test_client()
    page = anonymous.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert "第一名" in page


def test_the_proposal_page_shows_the_tender_part(client, scene):
    tender = scene.publish()
    page = client.get(f"/proposals/{tender.proposal_id}").get_data(as_text=True)
    assert f"/tenders/{tender.id}" in page


def test_api_bid_submission_and_errors(client, login_as, scene):
    tender = scene.publish()
    scene.to_bidding(tender)
    _as(login_as, client, scene.bidder_a)
    r = client.post(f"/api/v1/tenders/{tender.id}/bids", json={"price": "-1", "proposal": "x"})
    assert r.status_code == 400 and r.get_json()["error"]["fields"]["price"]
    r = client.post(
        f"/api/v1/tenders/{tender.id}/bids", json={"price": "1200.50", "proposal": "方案"}
    )
    assert (
        r.status_code == 201 and len(r.get_json()["receipt"]) == 64 and "price" not in r.get_json()
    )
    mine = client.get(f"/api/v1/tenders/{tender.id}/bids/mine").get_json()["items"]
    assert [b["version"] for b in mine] == [1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 1


def test_an_unconfirmed_business_is_told_why_it_cannot_bid(client, login_as, scene):
    tender = scene.publish(verified_only=False)
    scene.to_bidding(tender)
    page = _as(login_as, client, scene.unverified).get(f"/tenders/{tender.id}")
    html = page.get_data(as_text=True)
    assert "Your business is not confirmed yet" in html
    assert f'href="/tenders/{tender.id}/bid"' not in html
    r = client.post(f"/tenders/{tender.id}/bid", data={"price": "100", "proposal": "方案"})
    assert r.status_code == 403 and "not confirmed yet" in r.get_data(as_text=True)
    html = _as(login_as, client, scene.bidder_a).get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert f'href="/tenders/{tender.id}/bid"' in html and "not confirmed yet" not in html


# -- Ending the enquiry period early: a confirmation with a public reason ------------------

EARLY_REASON = "施工队档期提前，业主大会同意提前开标。"


def _enquiring(scene):
    """A published tender in its enquiry period, every share taken, bidder B has asked."""
    tender = scene.publish()
    scene.take_shares(tender)
    services.ask_question(scene.bidder_b, tender, "电梯井尺寸是多少？")
    db.session.commit()
    return tender


def _read_without_writing(client, count_queries, url: str):
    """GET `url` and check that it wrote nothing (a confirmation page only asks)."""
    with count_queries() as seen:
        rv = client.get(url)
    assert not [q for q in seen.statements if q.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    return rv


@pytest.mark.parametrize("who, status", [("anonymous", 302), ("bidder", 403), ("buyer", 200)])
def test_the_early_end_confirmation_by_role(client, login_as, scene, count_queries, who, status):
    tender = _enquiring(scene)
    if who != "anonymous":
        _as(login_as, client, scene.bidder_b if who == "bidder" else scene.buyer)
    url = f"/tenders/{tender.id}/open-bidding"
    page = _read_without_writing(client, count_queries, url)
    assert page.status_code == status
    if who == "buyer":
        html = page.get_data(as_text=True)
        assert (
            "This cannot be undone." in html and "is cut short" in html and 'name="reason"' in html
        )
    else:
        assert client.post(url, data={"reason": EARLY_REASON}).status_code == status
    db.session.expire_all()
    assert tender.proposal.status == "enquiry"


def test_ending_the_enquiry_early_needs_a_reason_shown_and_sent(client, login_as, scene):
    tender = _enquiring(scene)
    published_end = tender.enquiry_ends_at
    _as(login_as, client, scene.buyer)
    refused = client.post(f"/tenders/{tender.id}/open-bidding", data={"reason": "  "})
    assert refused.status_code == 422 and "Give a reason." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert tender.proposal.status == "enquiry" and tender.enquiry_ends_at == published_end
    done = client.post(f"/tenders/{tender.id}/open-bidding", data={"reason": EARLY_REASON})
    assert done.status_code == 302
    db.session.expire_all()
    assert tender.proposal.status == "bidding" and tender.enquiry_ends_at < published_end
    with client.session_transaction() as session:
        session.clear()
    page = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert 'id="early-end"' in page and EARLY_REASON in page
    timeline = client.get(f"/proposals/{tender.proposal_id}").get_data(as_text=True)
    assert EARLY_REASON in timeline[timeline.index('id="timeline"') :]
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "proposal.open_bidding")
    ).one()
    assert event.data["reason"] == EARLY_REASON
    notes = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == scene.bidder_b.user.id)
    ).all()
    assert [n.params.get("reason") for n in notes if n.kind == "state"] == [EARLY_REASON]


def test_the_service_refuses_an_early_end_without_reason(scene):
    tender = _enquiring(scene)
    with pytest.raises(DomainError) as refused:
        services.open_bidding(scene.buyer, tender)
    assert refused.value.field == "reason"
    scene.clock.at(tender.enquiry_ends_at, 1)
    services.open_bidding(scene.buyer, tender)  # on time: nothing to explain
    assert tender.proposal.status == "bidding"


@pytest.mark.parametrize("who, status", [("anonymous", 302), ("bidder", 403), ("buyer", 200)])
def test_the_award_confirmation_by_role(client, login_as, scene, count_queries, who, status):
    tender, a, _b = _opened(scene)
    scene.open(tender)
    scene.score_all(tender)
    _as(login_as, client, scene.buyer)
    assert client.post(f"/tenders/{tender.id}/complete").status_code == 302
    with client.session_transaction() as session:
        session.clear()
    if who != "anonymous":
        _as(login_as, client, scene.bidder_b if who == "bidder" else scene.buyer)
    url = f"/tenders/{tender.id}/award"
    page = _read_without_writing(client, count_queries, url)
    assert page.status_code == status
    if who == "buyer":
        html = page.get_data(as_text=True)
        assert "This cannot be undone." in html and "standstill period starts" in html
        kept = client.post(url, data={"bid_id": a.id, "justification": ""})
        assert kept.status_code == 422
    else:
        assert (
            client.post(url, data={"bid_id": a.id, "justification": "第一名"}).status_code == status
        )
    db.session.expire_all()
    assert tender.proposal.status == "evaluated"
