"""Story 4 in a real browser: the owners committee tenders its property services.

The owners committee publishes a tender with a panel of three (two shares open it); a
business asks a question and the committee answers it publicly; the panel members take
their share codes once; Anju and Heshun bid (Heshun replaces its bid); at the opening
ceremony two codes open every bid at once; the residents committee's member, tied to Anju by
its service contract, is flagged, declares and recuses; the other two score; the award is
published with the declarations. Time is moved on in the database between bidding and
opening, as a clock would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from coord.cli import DEMO_PASSWORD
from coord.db import db, utcnow
from coord.models import User
from proposals.tenders.models import Tender
from stakeholders.models import Relation, RelationStatus, RelationType, Stakeholder

from browser_helpers import choose_and_follow

Translate = Callable[..., str]
Shot = Callable[[Page, str], Path]
LOCAL = ZoneInfo("Asia/Shanghai")
TITLE = "兰苑小区物业服务招标（2027—2029）"


def sign_in(page: Page, t: Translate, username: str) -> None:
    page.goto("/login")
    page.get_by_label(t("Username")).fill(username)
    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    expect(page.get_by_role("navigation", name=t("Main"))).to_be_visible()


def act_as(page: Page, stakeholder_id: int) -> None:
    choose_and_follow(page, page.locator("#acting-as-select"), str(stakeholder_id))


def org_id(app: Flask, name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Stakeholder.id).where(Stakeholder.name == name))


def ensure_tie(app: Flask, source: str, target: str, kind: RelationType) -> None:
    """The demo's network has Anju's contract with the residents committee; make sure of it."""
    with app.app_context():
        a, b = org_id(app, source), org_id(app, target)
        pair = sa.or_(
            sa.and_(Relation.source_id == a, Relation.target_id == b),
            sa.and_(Relation.source_id == b, Relation.target_id == a),
        )
        if db.session.scalar(sa.select(Relation.id).where(pair, Relation.type == kind)) is None:
            by = db.session.scalar(sa.select(User.id).where(User.username == "anju"))
            db.session.add(
                Relation(
                    source_id=a,
                    target_id=b,
                    type=kind,
                    sign=1,
                    status=RelationStatus.CONFIRMED,
                    declared_by_user_id=by,
                )
            )
            db.session.commit()


def local(dt: datetime) -> str:
    return dt.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M")


def flash(page: Page):
    return page.get_by_role("status")


def test_owners_committee_tenders_property_services(
    new_page: Callable[[], Page], live_app: Flask, t: Translate, shot: Shot
) -> None:
    owners_id = org_id(live_app, "兰苑业主委员会")
    anju_id, heshun_id = (
        org_id(live_app, "安居物业服务有限公司"),
        org_id(live_app, "和顺建筑工程有限公司"),
    )

    # The owners committee publishes the tender.
    buyer = new_page()
    sign_in(buyer, t, "owners")
    act_as(buyer, owners_id)
    buyer.goto("/tenders/new")
    now = utcnow()
    buyer.get_by_label(t("Community")).select_option(label="兰苑社区")
    buyer.get_by_label(t("Title"), exact=True).fill(TITLE)
    buyer.get_by_label(t("Summary")).fill("选聘兰苑小区2027—2029年的物业服务企业。")
    buyer.get_by_label(t("Scope")).fill("兰苑小区12栋住宅楼的保洁、保安、绿化和设施维修，三年。")
    buyer.get_by_label(t("Requirements")).fill("- 24小时门岗\n- 每周两次楼道保洁")
    buyer.get_by_label(t("Category")).select_option("services")
    buyer.get_by_label(t("Budget ceiling (yuan, optional)")).fill("1200000")
    buyer.get_by_label(t("Weight of the price (%)")).fill("40")
    buyer.locator("#criteria-0-name").fill("服务方案")
    buyer.locator("#criteria-0-weight").fill("40")
    buyer.locator("#criteria-1-name").fill("人员配置")
    buyer.locator("#criteria-1-weight").fill("20")
    buyer.get_by_label(t("Enquiry period ends")).fill(local(now + timedelta(days=1)))
    buyer.get_by_label(t("Bid deadline")).fill(local(now + timedelta(days=2)))
    buyer.get_by_label(t("Opening time")).fill(local(now + timedelta(days=2, hours=1)))
    buyer.get_by_label(t("Evaluation panel (usernames)")).fill("lanyuan_rc, volunteers, wangguihua")
    buyer.get_by_label(t("Members needed to open the bids")).fill("2")
    shot(buyer, "tender-01-form")
    publish = buyer.get_by_role("button", name=t("Publish"), exact=True)
    publish.focus()
    with buyer.expect_navigation():
        publish.press("Enter")
    expect(buyer.get_by_role("heading", name=TITLE)).to_be_visible()
    tender_url = buyer.url
    tender_id = int(re.search(r"/tenders/(\d+)", tender_url).group(1))
    shot(buyer, "tender-02-published")

    # A business asks a question; the committee answers it publicly.
    anju = new_page()
    sign_in(anju, t, "anju")
    act_as(anju, anju_id)
    anju.goto(tender_url)
    anju.get_by_label(t("Your question")).fill("现有物业人员能否续聘？")
    anju.get_by_role("button", name=t("Ask")).click()
    expect(anju.get_by_text(t("Bidder %(n)d", n=1))).to_be_visible()
    buyer.goto(tender_url)
    buyer.get_by_label(t("Answer to bidder %(n)d", n=1)).fill("可以，由中标单位自主决定。")
    buyer.get_by_role("button", name=t("Publish the answer")).click()
    expect(buyer.get_by_text("可以，由中标单位自主决定。")).to_be_visible()
    shot(buyer, "tender-03-answered")

    # Each panel member takes their share code, once.
    codes = {}
    for username in ("lanyuan_rc", "volunteers", "wangguihua"):
        member = new_page()
        sign_in(member, t, username)
        member.goto(f"/tenders/{tender_id}/share")
        member.get_by_role("button", name=t("Show my share code once")).click()
        codes[username] = member.locator("#share-code").inner_text().strip()
        assert re.fullmatch(r"([0-9A-Z]{4}-){7}[0-9A-Z]{4}", codes[username])
        if username == "volunteers":
            shot(member, "tender-04-share-code")
        member.goto(f"/tenders/{tender_id}/share")
        expect(member.locator("#share-code")).to_have_count(0)
        member.close()

    buyer.goto(tender_url)
    buyer.get_by_role("link", name=t("End the enquiry period and open bidding")).click()
    expect(buyer.locator("h1")).to_have_text(t("End the enquiry period and open bidding"))
    buyer.get_by_label(t("Reason (shown publicly and sent to the participants)")).fill(
        "业主大会同意提前开始投标。"
    )
    buyer.get_by_role("button", name=t("Confirm")).click()
    expect(buyer.locator(".badge.state-bidding")).to_be_visible()
    expect(buyer.locator("#early-end")).to_contain_text("业主大会同意提前开始投标。")

    # Two businesses bid; Heshun replaces its bid.
    anju.goto(f"/tenders/{tender_id}/bid")
    anju.get_by_label(t("Price (yuan)")).fill("1150000")
    anju.get_by_label(t("Technical proposal")).fill("## 安居方案\n\n原班人员续聘，门岗双岗。")
    anju.get_by_role("button", name=t("Seal and submit the bid")).click()
    expect(flash(anju)).to_contain_text(re.compile(r"[0-9a-f]{64}"))
    heshun = new_page()
    sign_in(heshun, t, "heshun")
    act_as(heshun, heshun_id)
    heshun.goto(f"/tenders/{tender_id}/bid")
    for price in ("1080000", "1050000"):
        heshun.get_by_label(t("Price (yuan)")).fill(price)
        heshun.get_by_label(t("Technical proposal")).fill(
            f"## 和顺方案\n\n报价 {price}，引入智能门禁。"
        )
        heshun.get_by_role("button", name=t("Seal and submit the bid")).click()
        expect(flash(heshun)).to_contain_text(re.compile(r"[0-9a-f]{64}"))
    expect(heshun.locator("table code.receipt")).to_have_count(2)
    shot(heshun, "tender-05-bid-replaced")
    public = new_page()
    public.goto(tender_url)
    expect(public.locator(".bid-count")).to_contain_text("2")
    assert "1050000" not in public.content() and "1,050,000" not in public.content()
    shot(public, "tender-06-public-before-opening")

    # Time passes: the deadline and the opening time are behind us.
    with live_app.app_context():
        tender = db.session.get(Tender, tender_id)
        tender.bid_deadline_at = tender.opening_at = utcnow() - timedelta(minutes=1)
        db.session.commit()

    # The opening ceremony: two members' codes open all bids at once.
    buyer.goto(f"/tenders/{tender_id}/open")
    buyer.get_by_label(t("Share code of %(name)s", name="兰苑社区居委会工作人员")).fill(
        codes["lanyuan_rc"]
    )
    buyer.get_by_label(t("Share code of %(name)s", name="银龄志愿者协会工作人员")).fill(
        codes["volunteers"].lower().replace("-", " ")
    )
    shot(buyer, "tender-07-opening-ceremony")
    buyer.get_by_role("button", name=t("Open all bids")).click()
    record = buyer.locator("table.opening-record")
    expect(record).to_contain_text("1,050,000.00")
    expect(record).to_contain_text("1,150,000.00")
    expect(record.locator(".badge.verified")).to_have_count(2)
    shot(buyer, "tender-08-opening-record")

    # The residents committee's member is flagged (contract with Anju) and recuses.
    rc = new_page()
    sign_in(rc, t, "lanyuan_rc")
    rc.goto(tender_url)
    conflicts = rc.locator("#conflicts")
    expect(conflicts).to_contain_text("安居物业服务有限公司")
    expect(conflicts).to_contain_text(t("contract"))
    rc.get_by_label(t("Your statement")).fill("居委会与安居物业签有物业服务合同，我回避本次评审。")
    rc.get_by_role("button", name=t("Declare and recuse myself")).click()
    expect(flash(rc)).to_contain_text(t("You recused yourself from this evaluation."))
    shot(rc, "tender-09-recused")

    # The other two score every bid on every criterion.
    for username, base in (("volunteers", 80), ("wangguihua", 75)):
        member = new_page()
        sign_in(member, t, username)
        member.goto(f"/tenders/{tender_id}/score")
        scores = member.locator("input[type=number]")
        for i in range(scores.count()):
            scores.nth(i).fill(str(base + (5 if i < 2 else 0)))
        whys = member.locator("input[id^=why-]")
        for i in range(whys.count()):
            whys.nth(i).fill("方案具体，人员配置合理。")
        if username == "volunteers":
            shot(member, "tender-10-scoring")
        member.get_by_role("button", name=t("Save my scores")).click()
        expect(flash(member)).to_contain_text(t("Your scores were saved."))
        member.close()

    # The committee completes the evaluation and publishes the award.
    buyer.goto(tender_url)
    buyer.get_by_role("button", name=t("Complete the evaluation")).click()
    expect(buyer.locator(".badge.state-evaluated")).to_be_visible()
    buyer.get_by_role("link", name=t("Choose the winning bid")).click()
    expect(buyer.locator(".notice.warn")).to_contain_text(t("This cannot be undone."))
    buyer.get_by_label(t("Justification")).fill("综合得分第一：服务方案完整，报价合理。")
    buyer.get_by_role("button", name=t("Publish the award")).click()
    expect(buyer.locator(".badge.state-standstill")).to_be_visible()

    public.goto(tender_url)
    expect(public.locator("#award-published")).to_contain_text("综合得分第一")
    expect(public.locator("#conflicts")).to_contain_text("我回避本次评审")
    expect(public.locator("table.ranking tbody tr")).to_have_count(2)
    shot(public, "tender-11-award-published")
    ocds = public.request.get(f"/tenders/{tender_id}/ocds.json").json()
    assert ocds["releases"][0]["tag"] == ["award"]
