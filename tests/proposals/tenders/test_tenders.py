"""Tender services, step by step: publish, shares, enquiries, sealed bids, opening, conflicts,
scoring, award, challenges, finalisation, contract — and the raw tables before opening."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from tender_helpers import PDF, SECRET_PRICE, SECRET_TEXT, Scene, build_scene, join, tie

from coord import audit
from coord.db import db
from coord.errors import DomainError
from coord.models import AuditEvent
from proposals import services as proposal_services
from proposals.models import Attachment
from proposals.tenders import (
    award,
    bids,
    conflicts,
    deadlines,
    evaluation,
    scoring,
    sealing,
    services,
)
from proposals.tenders.models import Bid, BidStatus, ConflictDeclaration, Panelist, Score, Tender
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind, RelationType

from helpers import identity


@pytest.fixture
def scene(make_user, make_org, community, monkeypatch) -> Scene:
    return build_scene(make_user, make_org, community, monkeypatch)


def _refused(fn, *args, match: str | None = None, **kw) -> DomainError:
    with pytest.raises(DomainError, match=match) as info:
        fn(*args, **kw)
    db.session.rollback()
    return info.value


# -- Publishing and shares ------------------------------------------------------------------


def test_publish_makes_keys_and_one_share_per_member(scene):
    tender = scene.publish()
    assert tender.proposal.status == "enquiry"
    assert tender.public_key and len(tender.public_key) == 32
    assert tender.wrapped_private_key.startswith(sealing.WRAP_MAGIC)
    seats = services.panelists(tender)
    assert [s.share_index for s in seats] == [1, 2, 3]
    assert all(len(s.share_digest) == 64 and s.share_sealed for s in seats)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "tender.publish"))
    assert event.is_public and event.data["shares_needed"] == 2 and event.data["panel"] == 3


def test_each_share_is_shown_once_and_only_its_digest_remains(scene):
    tender = scene.publish()
    user = scene.panel[0]
    code = services.take_share(user, tender)
    db.session.commit()
    index, value = sealing.decode_share(code)
    seat = services.panelist_for(user, tender)
    assert seat.share_sealed is None and seat.share_shown_at is not None
    assert seat.share_digest == sealing.share_digest(services.context(tender), index, value)
    _refused(services.take_share, user, tender, match="already taken")
    _refused(services.take_share, scene.buyer.user, tender, match="panel")
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "tender.share_taken")
    )
    assert code not in json.dumps(event.data)


def test_k_shares_open_the_key_and_fewer_do_not(scene):
    tender = scene.publish(shares_needed=3)
    codes = list(scene.take_shares(tender).values())
    secret = sealing.combine_shares(sealing.decode_share(c) for c in codes)
    assert sealing.unwrap_key(tender.wrapped_private_key, secret, services.context(tender))
    two = sealing.combine_shares(sealing.decode_share(c) for c in codes[:2])
    with pytest.raises(sealing.SealError):
        sealing.unwrap_key(tender.wrapped_private_key, two, services.context(tender))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "weapons"}, "category"),
        ({"price_weight": 50}, "criteria"),  # 50 + 40 + 20 != 100
        ({"quality": []}, "criteria"),
        ({"panel": ["panel_wang"]}, "panel"),
        ({"panel": ["panel_wang", "nobody"]}, "panel"),
        ({"shares_needed": 1}, "shares_needed"),
        ({"shares_needed": 4}, "shares_needed"),
        ({"budget_ceiling": "-5"}, "budget_ceiling"),
        ({"standstill_days": 99}, "standstill_days"),
    ],
)
def test_publish_refuses_bad_terms(scene, change, field):
    error = _refused(services.create_tender, scene.buyer, scene.data(**change))
    assert error.field == field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Tender)) == 0


def test_publish_refuses_times_out_of_order_and_non_buyers(scene):
    now = scene.clock.now
    _refused(services.create_tender, scene.buyer, scene.data(enquiry_ends_at=now), match="future")
    bad = scene.data(opening_at=now + timedelta(hours=30))
    _refused(services.create_tender, scene.buyer, bad, match="opening")
    _refused(services.create_tender, scene.bidder_a, scene.data(), match="government unit")
    _refused(services.create_tender, scene.ngo, scene.data(), match="government unit")


def test_draft_then_publish(scene):
    tender = scene.publish(publish=False)
    assert tender.proposal.status == "draft" and tender.public_key is None
    _refused(services.publish_tender, scene.bidder_a, tender, match="buyer")
    services.publish_tender(scene.buyer, tender)
    db.session.commit()
    assert tender.proposal.status == "enquiry"


def test_generic_lifecycle_buttons_cannot_skip_the_tender_steps(scene):
    tender = scene.publish(publish=False)
    _refused(proposal_services.publish_proposal, scene.buyer, tender.proposal, match="tender page")
    tender = scene.publish()
    scene.to_bidding(tender)
    _refused(
        proposal_services.transition_proposal,
        scene.buyer,
        tender.proposal,
        "open_bids",
        match="tender page",
    )
    assert tender.proposal.status == "bidding"
    proposal_services.transition_proposal(scene.buyer, tender.proposal, "cancel", "预算调整")
    db.session.commit()
    assert tender.proposal.status == "cancelled"


def test_bidding_waits_for_every_share(scene):
    tender = scene.publish()
    services.take_share(scene.panel[0], tender)
    db.session.commit()
    scene.clock.at(tender.enquiry_ends_at, 1)
    assert not deadlines.settle(tender)
    _refused(services.open_bidding, scene.buyer, tender, match="every panel member")
    for user in scene.panel[1:]:
        services.take_share(user, tender)
    services.open_bidding(scene.buyer, tender)
    db.session.commit()
    assert tender.proposal.status == "bidding"


# -- Enquiries ------------------------------------------------------------------------------


def test_questions_are_numbered_by_bidder_and_answered_publicly(scene):
    tender = scene.publish()
    q1 = services.ask_question(scene.bidder_a, tender, "能否分期付款？")
    q2 = services.ask_question(scene.bidder_b, tender, "门岗人数？")
    q3 = services.ask_question(scene.bidder_a, tender, "合同期？")
    db.session.commit()
    assert [q1.bidder_number, q2.bidder_number, q3.bidder_number] == [1, 2, 1]
    _refused(services.answer_question, scene.bidder_b, tender, q1, "可以", match="buyer")
    services.answer_question(scene.buyer, tender, q1, "可以，按季度支付。")
    db.session.commit()
    assert q1.answer == "可以，按季度支付。" and q1.answered_at
    _refused(services.answer_question, scene.buyer, tender, q1, "again", match="already")
    _refused(services.ask_question, scene.ngo, tender, "?", match="businesses")
    _refused(services.ask_question, scene.unverified, tender, "?", match="verified")
    scene.clock.at(tender.enquiry_ends_at)
    _refused(services.ask_question, scene.bidder_a, tender, "late?", match="enquiry period")


# -- Bids -----------------------------------------------------------------------------------


def test_a_bid_is_sealed_with_a_receipt_and_replacing_keeps_every_version(scene):
    tender = scene.publish()
    scene.to_bidding(tender)
    first = scene.bid(tender, scene.bidder_a, "1000000", "第一版")
    second = scene.bid(tender, scene.bidder_a, "950000.50", "第二版")
    assert first.receipt == sealing.receipt(first.sealed) != second.receipt
    assert (first.status, second.status) == (BidStatus.REPLACED, BidStatus.ACTIVE)
    assert [b.version for b in bids.bid_versions(tender, scene.bidder_a.stakeholder.id)] == [
        2,
        1,
    ]
    assert first.price is None and first.proposal_source is None
    assert bids.bid_count(tender) == 1
    bids.withdraw_bid(scene.bidder_a, tender, second)
    db.session.commit()
    assert bids.bid_count(tender) == 0
    third = scene.bid(tender, scene.bidder_a, "990000")
    assert third.version == 3 and bids.bid_count(tender) == 1


@pytest.mark.parametrize("price", ["0", "-1", "abc", "1.001", "NaN", "Infinity", "1e20", ""])
def test_prices_must_be_positive_amounts(scene, price):
    tender = scene.publish()
    scene.to_bidding(tender)
    error = _refused(bids.submit_bid, scene.bidder_a, tender, price, "方案")
    assert error.field == "price"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 0


def test_late_bids_are_refused_by_server_time(scene):
    tender = scene.publish()
    scene.to_bidding(tender)
    early = scene.bid(tender, scene.bidder_a)
    scene.clock.at(tender.bid_deadline_at)  # exactly at the deadline: too late
    _refused(bids.submit_bid, scene.bidder_b, tender, "1", "x", match="deadline has passed")
    _refused(bids.withdraw_bid, scene.bidder_a, tender, early, match="deadline has passed")
    assert bids.bid_count(tender) == 1


def test_bids_before_bidding_opens_are_refused(scene):
    tender = scene.publish()
    _refused(bids.submit_bid, scene.bidder_a, tender, "1", "x", match="not opened yet")


def test_ineligible_bidders_are_refused(scene, make_user):
    tender = scene.publish()
    scene.to_bidding(tender)
    _refused(bids.submit_bid, scene.ngo, tender, "1", "x", match="businesses")
    _refused(bids.submit_bid, scene.unverified, tender, "1", "x", match="verified")
    resident = make_user("just_a_resident")
    _refused(
        bids.submit_bid,
        Actor(resident, identity(resident)),
        tender,
        "1",
        "x",
        match="businesses",
    )
    _refused(bids.submit_bid, scene.buyer, tender, "1", "x", match="businesses")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 0


def test_unconfirmed_businesses_may_ask_but_never_bid(scene):
    """A tender open to unverified businesses takes their questions, never their bids."""
    tender = scene.publish(verified_only=False, conditions="须有物业资质")
    services.ask_question(scene.unverified, tender, "能否分包？")
    scene.to_bidding(tender)
    _refused(bids.submit_bid, scene.unverified, tender, "1", "x", match="not confirmed yet")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 0
    scene.unverified.stakeholder.is_confirmed = True
    scene.bid(tender, scene.unverified, conditions_confirmed=True)


def test_nobody_can_withdraw_another_bidders_bid(scene):
    tender = scene.publish()
    scene.to_bidding(tender)
    theirs = scene.bid(tender, scene.bidder_a)
    _refused(bids.withdraw_bid, scene.bidder_b, tender, theirs, match="your own")
    assert theirs.status == BidStatus.ACTIVE


def test_raw_tables_and_files_hold_no_price_or_text_before_opening(scene, app, tmp_path, caplog):
    """Read every column of every table (and every stored file) after sealed bids are in."""
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    try:
        tender = scene.publish()
        scene.to_bidding(tender)
        scene.bid(tender, scene.bidder_a, SECRET_PRICE, SECRET_TEXT)
        scene.bid(
            tender,
            scene.bidder_b,
            SECRET_PRICE,
            SECRET_TEXT,
            files=[bids.Upload("报价单-987654.32.pdf", PDF)],
        )
        needles = [SECRET_PRICE, "987654", SECRET_TEXT, "SECRET-PROPOSAL", "PDFSECRET", "报价单"]
        dump = []
        conn = db.session.connection()  # the test's own: it sees what the test wrote
        tables = sa.MetaData()
        tables.reflect(bind=conn)
        assert "bids" in tables.tables and "panelists" in tables.tables
        for table in tables.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        raw = bytes(value)
                        dump.append(raw.decode("latin-1"))
                        dump.append(raw.decode("utf-8", "replace"))
                    else:
                        dump.append(json.dumps(value, default=str, ensure_ascii=False))
        text = "\n".join(dump)
        for needle in needles:
            assert needle not in text
        for path in tmp_path.iterdir():
            data = path.read_bytes()
            assert b"PDFSECRET" not in data and b"%PDF" not in data
        for needle in needles:
            assert needle not in caplog.text
    finally:
        app.config.pop("UPLOAD_FOLDER")


# -- Opening --------------------------------------------------------------------------------


def _two_bids(scene, **kw):
    tender = scene.publish(**kw)
    scene.to_bidding(tender)
    a = scene.bid(tender, scene.bidder_a, "1000000", "安居方案 **加强保安**")
    scene.bid(tender, scene.bidder_b, "900000", "和顺旧方案")
    b = scene.bid(tender, scene.bidder_b, "1100000", "和顺新方案")
    return tender, a, b


def test_opening_before_the_opening_time_is_refused(scene):
    tender, *_ = _two_bids(scene)
    scene.clock.at(tender.opening_at, -1)
    codes = [scene.codes[u.id] for u in scene.panel[:2]]
    _refused(bids.open_bids, scene.buyer, tender, codes, match="opening time")
    assert tender.proposal.status == "bidding" and tender.opening_record is None


def test_opening_needs_k_valid_distinct_codes_of_this_tender(scene):
    tender, *_ = _two_bids(scene)
    scene.clock.at(tender.opening_at)
    c1, c2, _c3 = (scene.codes[u.id] for u in scene.panel)
    _refused(bids.open_bids, scene.buyer, tender, [c1], match="at least 2")
    _refused(bids.open_bids, scene.buyer, tender, [c1, c1], match="twice")
    typo = c2[:-1] + ("0" if c2[-1] != "0" else "1")
    _refused(bids.open_bids, scene.buyer, tender, [c1, typo], match="typing error")
    other = sealing.encode_share(2, bytes(16))
    _refused(bids.open_bids, scene.buyer, tender, [c1, other], match="not a share")
    _refused(bids.open_bids, scene.bidder_a, tender, [c1, c2], match="buyer")
    assert tender.opening_record is None


def test_failed_openings_are_recorded_though_the_attempt_is_rolled_back(scene):
    tender, *_ = _two_bids(scene)
    scene.clock.at(tender.opening_at)
    c1, c2, _c3 = (scene.codes[u.id] for u in scene.panel)
    typo = c2[:-1] + ("0" if c2[-1] != "0" else "1")
    for codes in ([c1, ""], [c1, c1], ["", c1, typo], [c1, sealing.encode_share(2, bytes(16))]):
        _refused(bids.open_bids, scene.buyer, tender, codes)
    _refused(bids.open_bids, scene.bidder_a, tender, [c1, c2], match="buyer")  # not an attempt
    tender.wrapped_private_key = b"damaged"
    db.session.commit()
    _refused(bids.open_bids, scene.buyer, tender, [c1, c2], match="do not open")
    failed = sa.select(AuditEvent).where(AuditEvent.action == "tender.open_failed")
    events = db.session.scalars(failed.order_by(AuditEvent.id)).all()
    assert [e.data for e in events] == [
        {"proposal_id": tender.proposal_id, **d}
        for d in (
            {"reason": "too_few", "codes_entered": 1},
            {"reason": "repeated", "codes_entered": 2, "code_number": 2},
            {"reason": "typing_error", "codes_entered": 2, "code_number": 3},
            {"reason": "not_a_share", "codes_entered": 2, "code_number": 2},
            {"reason": "wrong_key", "codes_entered": 2},
        )
    ]
    assert all(e.is_public and e.actor_id == scene.buyer.stakeholder.id for e in events)
    assert c1 not in json.dumps([e.data for e in events])
    db.session.expire_all()
    assert tender.proposal.status == "bidding" and tender.opening_record is None
    assert audit.verify_chain().broken is None


def test_opening_opens_the_current_versions_and_publishes_the_record(scene):
    tender, a, b = _two_bids(scene)
    record = scene.open(tender, scene.panel[1:])
    assert tender.proposal.status == "opened"
    assert [(e["bidder_id"], e["price"], e["version"], e["flag"]) for e in record["bids"]] == [
        (scene.bidder_a.stakeholder.id, "1000000.00", 1, None),
        (scene.bidder_b.stakeholder.id, "1100000.00", 2, None),
    ]
    assert record["shares_used"] == [2, 3]
    assert a.price == Decimal("1000000.00") and "<strong>加强保安</strong>" in a.proposal_html
    old = db.session.scalar(sa.select(Bid).where(Bid.version == 1, Bid.bidder_id == b.bidder_id))
    assert old.price is None  # replaced versions stay sealed
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "tender.open"))
    assert event.is_public and event.data["bids"][1]["receipt"] == b.receipt
    _refused(bids.open_bids, scene.buyer, tender, list(scene.codes.values()), match="once")
    assert audit.verify_chain().broken is None


def test_a_tampered_sealed_bid_is_flagged_not_dropped(scene):
    tender, a, b = _two_bids(scene)
    tampered = bytearray(b.sealed)
    tampered[-5] ^= 0xFF
    db.session.execute(sa.update(Bid).where(Bid.id == b.id).values(sealed=bytes(tampered)))
    db.session.commit()
    record = scene.open(tender)
    flags = {e["bid_id"]: e["flag"] for e in record["bids"]}
    assert flags == {a.id: None, b.id: "receipt_mismatch"}
    assert b.price is None and not b.is_qualified and a.is_qualified


def test_sealed_bids_swapped_between_bidders_do_not_open(scene):
    """Receipts still match their bytes, but each sealed bid is bound to its bidder."""
    tender, a, b = _two_bids(scene)
    rows = {b.id: (a.sealed, a.receipt), a.id: (b.sealed, b.receipt)}
    db.session.execute(sa.update(Bid).where(Bid.id == a.id).values(receipt="swap"))
    for bid_id, (sealed, receipt) in rows.items():
        db.session.execute(
            sa.update(Bid).where(Bid.id == bid_id).values(sealed=sealed, receipt=receipt)
        )
    db.session.commit()
    db.session.expire_all()
    record = scene.open(tender)
    assert {e["flag"] for e in record["bids"]} == {"cannot_open"}


def test_sealed_attachments_open_with_the_bid(scene, app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    try:
        tender = scene.publish()
        scene.to_bidding(tender)
        bid = scene.bid(tender, scene.bidder_a, files=[bids.Upload("../../方案.pdf", PDF)])
        row = db.session.scalar(sa.select(Attachment).where(Attachment.purpose == "bid"))
        assert row.is_sealed and row.filename == "sealed.bin"
        record = scene.open(tender)
        assert record["bids"][0]["flag"] is None
        assert record["bids"][0]["attachments"] == [
            {"id": row.id, "filename": "方案.pdf", "size": len(PDF)}
        ]
        assert not row.is_sealed and row.content_type == "application/pdf"
        from coord import uploads

        assert uploads.load(row.storage_key) == PDF
        assert bid.price is not None
    finally:
        app.config.pop("UPLOAD_FOLDER")


def test_a_changed_attachment_flags_its_bid(scene, app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    try:
        tender = scene.publish()
        scene.to_bidding(tender)
        scene.bid(tender, scene.bidder_a, files=[bids.Upload("a.pdf", PDF)])
        row = db.session.scalar(sa.select(Attachment).where(Attachment.purpose == "bid"))
        (tmp_path / row.storage_key).write_bytes(b"swapped")
        record = scene.open(tender)
        assert record["bids"][0]["flag"] == "attachment_mismatch"
    finally:
        app.config.pop("UPLOAD_FOLDER")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("fake.pdf", b"MZ\x90\x00 not a pdf", "not accepted"),
        ("big.pdf", b"%PDF-1.4\n" + b"0" * 2048, "larger"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_attachments_must_be_small_real_pdfs(scene, app, tmp_path, name, data, message):
    app.config.update(UPLOAD_FOLDER=str(tmp_path), TENDER_MAX_ATTACHMENT_BYTES=1024)
    try:
        tender = scene.publish()
        scene.to_bidding(tender)
        files = [bids.Upload(name, data)]
        _refused(bids.submit_bid, scene.bidder_a, tender, "1", "x", files, match=message)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 0
    finally:
        app.config.pop("UPLOAD_FOLDER")
        app.config.pop("TENDER_MAX_ATTACHMENT_BYTES")


# -- Conflicts of interest ------------------------------------------------------------------


def test_conflicts_are_found_within_two_hops_and_explained(scene, make_org):
    wang, li, zhao = scene.panel
    anju, heshun = scene.bidder_a.stakeholder, scene.bidder_b.stakeholder
    rc = make_org("兰苑居委会", Kind.SOCIAL_ORGANIZATION, Function.RESIDENTS_COMMITTEE)
    join(wang, rc)
    tie(anju, rc, RelationType.CONTRACT, scene.bidder_a.user)  # wang — rc —contract— anju
    tie(heshun, anju, RelationType.AFFILIATION, scene.bidder_b.user)  # rc — anju — heshun: 2 hops
    join(li, heshun)  # li is a member of a bidder
    far = make_org("远方公司")
    tie(far, rc, RelationType.COOPERATION, wang)  # cooperation is not a conflict type
    tender, *_ = _two_bids(scene)
    scene.open(tender)
    found = {(d.user_id, d.bidder_id): d.paths for d in conflicts.declarations(tender)}
    # li belongs to heshun, which is affiliated with anju: flagged for both
    assert set(found) == {
        (wang.id, anju.id),
        (wang.id, heshun.id),
        (li.id, heshun.id),
        (li.id, anju.id),
    }
    assert [s["type"] for s in found[(wang.id, anju.id)][0]] == ["contract"]
    assert found[(wang.id, anju.id)][0][0]["source_name"] == "兰苑居委会"
    assert [s["type"] for s in found[(wang.id, heshun.id)][0]] == ["contract", "affiliation"]
    assert found[(li.id, heshun.id)][0][0]["type"] == "member"
    assert zhao.id not in {u for u, _ in found}


def test_flagged_members_declare_before_scoring_and_may_recuse(scene, make_org):
    wang = scene.panel[0]
    join(wang, scene.bidder_a.stakeholder)
    tender, *_ = _two_bids(scene)
    scene.open(tender)
    bid = bids.opened_bids(tender)[0]
    key = services.quality_criteria(tender)[0]["key"]
    _refused(scoring.score_bids, wang, tender, {(bid.id, key): (50, "ok")}, match="Declare")
    _refused(conflicts.declare_conflicts, wang, tender, "", recuse=False, match="statement")
    _refused(
        conflicts.declare_conflicts,
        scene.panel[2],
        tender,
        "无",
        recuse=False,
        match="nothing to declare",
    )
    conflicts.declare_conflicts(wang, tender, "我是安居物业的员工。", recuse=True)
    db.session.commit()
    assert services.panelist_for(wang, tender).recused_at is not None
    row = db.session.scalar(
        sa.select(ConflictDeclaration).where(ConflictDeclaration.user_id == wang.id)
    )
    assert row.recused and row.statement == "我是安居物业的员工。"
    _refused(scoring.score_bids, wang, tender, {(bid.id, key): (50, "ok")}, match="recused")
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "tender.recuse"))


# -- Evaluation -----------------------------------------------------------------------------


def test_scoring_rules(scene, make_user):
    tender, a, _b = _two_bids(scene)
    key = services.quality_criteria(tender)[0]["key"]
    p = scene.panel[0]
    _refused(
        scoring.score_bids, p, tender, {(a.id, key): (50, "ok")}, match="after they are opened"
    )
    scene.open(tender)
    for bad in (-1, 101, "50.5", "x", None):
        _refused(scoring.score_bids, p, tender, {(a.id, key): (bad, "ok")}, match="0 to 100")
    _refused(scoring.score_bids, p, tender, {(a.id, key): (50, " ")}, match="justification")
    _refused(scoring.score_bids, p, tender, {(a.id, "price"): (50, "ok")}, match="quality")
    outsider = make_user("outsider")
    _refused(scoring.score_bids, outsider, tender, {(a.id, key): (50, "ok")}, match="panel")
    _refused(scoring.score_bids, scene.buyer.user, tender, {(a.id, key): (50, "ok")}, match="panel")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Score)) == 0
    scoring.score_bids(
        p,
        tender,
        {
            (a.id, key): ("0", "差"),
        },
    )
    scoring.score_bids(p, tender, {(a.id, key): (100, "改为满分")})
    db.session.commit()
    assert db.session.scalar(sa.select(Score.score)) == 100


def test_price_points_totals_ranking_and_deviation(scene):
    assert evaluation.price_points(Decimal("900"), Decimal("1000"), 40) == pytest.approx(36.0)
    tender, a, _b = _two_bids(scene)
    scene.open(tender)
    scene.score_all(tender, {0: 80, 1: 80, 2: 20})  # the third member is far from the others
    result = scoring.evaluate(tender)
    assert result.complete
    first, second = result.ranking
    assert first.bid.id == a.id and first.rank == 1 and second.rank == 2
    assert first.price_points == pytest.approx(40.0)
    assert second.price_points == pytest.approx(1000000 / 1100000 * 40)
    # quality: mean of (85, 85, 25) = 65 for a, (80, 80, 20) = 60 for b; weights 40 + 20
    assert first.quality_points[services.quality_criteria(tender)[0]["key"]] == pytest.approx(
        65 * 0.4
    )
    assert first.total == pytest.approx(40 + 65 * 0.6)
    assert set(result.deviations) == {scene.panel[2].id}
    assert evaluation.deviations([(1, 9, "q", 90), (2, 9, "q", 64), (3, 9, "q", 70)]) == {}
    assert evaluation.deviations([(1, 9, "q", 90), (2, 9, "q", 30)]) == {
        1: [{"bid_id": 9, "criterion": "q", "score": 90, "panel_median": 60.0}],
        2: [{"bid_id": 9, "criterion": "q", "score": 30, "panel_median": 60.0}],
    }


def test_completing_and_awarding_need_a_complete_evaluation(scene):
    tender, a, _b = _two_bids(scene)
    scene.open(tender)
    _refused(award.award_tender, scene.buyer, tender, a, "最好", match="after the evaluation")
    _refused(scoring.complete_evaluation, scene.buyer, tender, match="not complete")
    scene.score_all(tender)
    _refused(scoring.complete_evaluation, scene.bidder_a, tender, match="buyer")
    scoring.complete_evaluation(scene.buyer, tender)
    db.session.commit()
    assert tender.proposal.status == "evaluated"
    key = services.quality_criteria(tender)[0]["key"]
    _refused(
        scoring.score_bids, scene.panel[0], tender, {(a.id, key): (1, "late")}, match="complete"
    )
    _refused(award.award_tender, scene.buyer, tender, a, " ", match="justification")
    award.award_tender(scene.buyer, tender, a, "综合得分第一，服务方案最完整。")
    db.session.commit()
    assert tender.proposal.status == "standstill" and tender.winner_bid_id == a.id


def test_disqualified_bids_leave_the_evaluation(scene):
    tender, a, b = _two_bids(scene)
    scene.open(tender)
    _refused(scoring.disqualify_bid, scene.bidder_a, tender, b, "x", match="buyer")
    _refused(scoring.disqualify_bid, scene.buyer, tender, b, "", match="reason")
    scoring.disqualify_bid(scene.buyer, tender, b, "资质证书已过期")
    db.session.commit()
    scene.score_all(tender)
    result = scoring.complete_evaluation(scene.buyer, tender)
    assert [r.bid.id for r in result.ranking] == [a.id]
    _refused(award.award_tender, scene.buyer, tender, b, "x", match="qualified")


# -- Award, challenge, finalisation, contract, OCDS-independent checks -----------------------


def _awarded(scene):
    tender, a, b = _two_bids(scene)
    scene.open(tender)
    scene.score_all(tender)
    scoring.complete_evaluation(scene.buyer, tender)
    award.award_tender(scene.buyer, tender, a, "综合得分第一。")
    db.session.commit()
    return tender, a, b


def test_challenge_thread_blocks_finalisation_until_decided(scene):
    tender, _a, _b = _awarded(scene)
    _refused(award.file_challenge, scene.ngo, tender, "不服", match="bidders")
    challenge = award.file_challenge(scene.bidder_b, tender, "评分不公，请复核人员配置得分。")
    award.post_challenge_message(scene.buyer, tender, challenge, "已复核，维持。")
    db.session.commit()
    _refused(
        award.post_challenge_message,
        scene.bidder_a,
        tender,
        challenge,
        "我也说",
        match="buyer and the challenger",
    )
    db.session.commit()
    assert challenge.messages[0]["by"] == "buyer"
    scene.clock.at(services.standstill_ends_at(tender))
    assert not award.finalize_award(tender)  # an open challenge blocks
    _refused(
        award.decide_challenge, scene.bidder_b, tender, challenge, "upheld", "x", match="buyer"
    )
    award.decide_challenge(
        scene.buyer, tender, challenge, "dismissed", "评分有记录可查，维持原决定。"
    )
    db.session.commit()
    assert award.finalize_award(tender)
    db.session.commit()
    assert tender.award_final_at is not None


def test_an_upheld_challenge_lets_the_buyer_award_again(scene):
    tender, _a, b = _awarded(scene)
    _refused(award.award_tender, scene.buyer, tender, b, "改判", match="already awarded")
    challenge = award.file_challenge(scene.bidder_b, tender, "安居报价含未列项目。")
    scene.clock.at(scene.clock.now, 60)
    award.decide_challenge(scene.buyer, tender, challenge, "upheld", "核实属实。")
    scene.clock.at(scene.clock.now, 60)
    award.award_tender(scene.buyer, tender, b, "复核后改授和顺。")
    db.session.commit()
    assert tender.winner_bid_id == b.id
    scene.clock.at(services.standstill_ends_at(tender))
    assert award.finalize_award(tender)


def test_final_award_then_contract_with_milestones(scene, runner):
    tender, _a, _b = _awarded(scene)
    due = scene.clock.now + timedelta(days=90)
    _refused(award.sign_contract, scene.buyer, tender, [("进场", due)], match="not final")
    scene.clock.at(services.standstill_ends_at(tender))
    result = runner.invoke(args=["coord", "tenders", "finalize"])
    assert result.exit_code == 0 and "1 tender" in result.output
    db.session.expire_all()
    assert tender.award_final_at is not None
    _refused(award.sign_contract, scene.buyer, tender, [], match="milestone")
    award.sign_contract(
        scene.buyer, tender, [("进场交接", due), ("首次满意度测评", due + timedelta(days=180))]
    )
    db.session.commit()
    assert tender.proposal.status == "implementing"
    assert [m.title for m in award.milestones(tender)] == ["进场交接", "首次满意度测评"]


def test_the_cli_opens_bidding_when_the_enquiry_period_ends(scene, runner):
    tender = scene.publish()
    scene.take_shares(tender)
    scene.clock.at(tender.enquiry_ends_at)
    result = runner.invoke(args=["coord", "tenders", "finalize"])
    assert result.exit_code == 0
    db.session.expire_all()
    assert tender.proposal.status == "bidding"


def test_panelist_rows_never_hold_a_share_after_it_is_taken(scene):
    tender = scene.publish()
    scene.take_shares(tender)
    rows = db.session.execute(sa.select(Panelist.share_sealed, Panelist.share_digest)).all()
    assert all(sealed is None for sealed, _ in rows)
    for code in scene.codes.values():
        assert all(code not in digest for _, digest in rows)
