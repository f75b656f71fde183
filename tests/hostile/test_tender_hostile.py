"""Attacks on tenders: other bidders' bids, forged acting-as, hostile uploads, early opening,
late bids, share codes that are not shares, scoring outsiders — refused, nothing stored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tender_helpers import PDF, Scene, build_scene

from coord.db import db
from proposals.models import Attachment
from proposals.tenders import services
from proposals.tenders.models import Bid, BidStatus, Score

from helpers import use_english


@pytest.fixture
def scene(make_user, make_org, community, monkeypatch) -> Scene:
    return build_scene(make_user, make_org, community, monkeypatch)


def _bidding(scene):
    tender = scene.publish()
    scene.to_bidding(tender)
    return tender, scene.bid(tender, scene.bidder_a, "1000", "安居方案")


def _login(login_as, client, actor):
    login_as(actor.user, acting_as=actor.stakeholder)
    use_english(client)


def test_another_bidder_can_neither_read_replace_nor_withdraw_a_bid(client, login_as, scene):
    tender, theirs = _bidding(scene)
    _login(login_as, client, scene.bidder_b)
    assert client.get(f"/tenders/{tender.id}/bids/{theirs.id}").status_code == 404
    assert client.get(f"/api/v1/tenders/{tender.id}/bids/{theirs.id}").status_code == 404
    assert client.post(f"/tenders/{tender.id}/bids/{theirs.id}/withdraw").status_code == 404
    assert client.post(f"/api/v1/tenders/{tender.id}/bids/{theirs.id}/withdraw").status_code == 404
    # A new bid by B is B's own: A's stays active and unchanged.
    client.post(f"/tenders/{tender.id}/bid", data={"price": "1", "proposal": "x"})
    db.session.expire_all()
    assert theirs.status == BidStatus.ACTIVE and theirs.bidder_id == scene.bidder_a.stakeholder.id


def test_a_forged_acting_as_header_is_refused(client, login_as, scene):
    tender, _ = _bidding(scene)
    _login(login_as, client, scene.bidder_b)
    r = client.post(
        f"/api/v1/tenders/{tender.id}/bids",
        json={"price": "1", "proposal": "x"},
        headers={"X-Acting-As": str(scene.bidder_a.stakeholder.id)},
    )
    assert r.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 1


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("方案.pdf", b"<html><script>alert(1)</script></html>", "not accepted"),
        ("evil.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "not accepted"),
        ("big.pdf", PDF + b"0" * 4096, "larger"),
    ],
)
def test_hostile_attachments_are_refused_and_nothing_is_stored(
    client, login_as, scene, app, tmp_path, filename, data, message
):
    app.config.update(UPLOAD_FOLDER=str(tmp_path), TENDER_MAX_ATTACHMENT_BYTES=2048)
    try:
        tender, _ = _bidding(scene)
        _login(login_as, client, scene.bidder_b)
        from io import BytesIO

        r = client.post(
            f"/tenders/{tender.id}/bid",
            data={"price": "1", "proposal": "x", "attachments": [(BytesIO(data), filename)]},
            content_type="multipart/form-data",
        )
        assert r.status_code == 422 and message in r.get_data(as_text=True)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
        assert list(tmp_path.iterdir()) == []
    finally:
        app.config.pop("UPLOAD_FOLDER")
        app.config.pop("TENDER_MAX_ATTACHMENT_BYTES")


def test_a_hostile_file_name_is_renamed(client, login_as, scene, app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    try:
        tender, _ = _bidding(scene)
        _login(login_as, client, scene.bidder_b)
        from io import BytesIO

        name = '../../etc/passwd<script>";.exe\x00.pdf'
        r = client.post(
            f"/tenders/{tender.id}/bid",
            data={"price": "1", "proposal": "x", "attachments": [(BytesIO(PDF), name)]},
            content_type="multipart/form-data",
        )
        assert r.status_code == 302
        row = db.session.scalar(sa.select(Attachment))
        assert row.filename == "sealed.bin" and "/" not in row.storage_key
        record = scene.open(tender)
        opened = record["bids"][1]["attachments"][0]["filename"]
        assert "/" not in opened and "<" not in opened and opened.endswith(".pdf")
    finally:
        app.config.pop("UPLOAD_FOLDER")


def test_early_opening_late_bids_and_fake_codes(client, login_as, scene):
    tender, _ = _bidding(scene)
    _login(login_as, client, scene.buyer)
    codes = list(scene.codes.values())[:2]
    assert client.post(f"/tenders/{tender.id}/open", data={"codes": codes}).status_code == 422
    scene.clock.at(tender.bid_deadline_at, 0.001)
    _login(login_as, client, scene.bidder_b)
    r = client.post(f"/tenders/{tender.id}/bid", data={"price": "1", "proposal": "x"})
    assert r.status_code == 422 and "deadline has passed" in r.get_data(as_text=True)
    scene.clock.at(tender.opening_at)
    _login(login_as, client, scene.bidder_b)
    assert client.post(f"/tenders/{tender.id}/open", data={"codes": codes}).status_code == 403
    _login(login_as, client, scene.buyer)
    r = client.post(f"/tenders/{tender.id}/open", data={"codes": [codes[0], "AAAA-" * 7 + "AAAA"]})
    assert r.status_code == 422 and tender.opening_record is None
    db.session.expire_all()
    assert tender.proposal.status == "bidding"


def test_outsiders_cannot_score_and_scores_stay_in_range(client, login_as, scene):
    tender, a = _bidding(scene)
    scene.open(tender)
    key = services.quality_criteria(tender)[0]["key"]
    _login(login_as, client, scene.buyer)
    form = {f"score-{a.id}-{key}": "90", f"why-{a.id}-{key}": "好"}
    assert client.post(f"/tenders/{tender.id}/score", data=form).status_code == 403
    login_as(scene.panel[0])
    for bad in ("-5", "101", "1e2", "９０"):
        form[f"score-{a.id}-{key}"] = bad
        assert client.post(f"/tenders/{tender.id}/score", data=form).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Score)) == 0
    with pytest.raises(sa.exc.IntegrityError):
        db.session.add(
            Score(
                tender_id=tender.id,
                bid_id=a.id,
                user_id=scene.panel[0].id,
                criterion=key,
                score=101,
                justification="x",
            )
        )
        db.session.flush()
    db.session.rollback()
