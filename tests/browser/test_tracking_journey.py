"""Plan approval, a tracked request and the supervision dashboard in a real browser.

Anju Property submits a plan for the fire lanes of Lanyuan; the street office sets the
route (Urban Management, then itself); Urban Management asks for changes; Anju revises
and resubmits; Urban Management approves, the street office approves its step and signs
off; Anju starts the work and meets a milestone with evidence. Then Wang Guihua reports a
dark entrance; the residents committee assigns it to Anju, which hands it to Urban
Management; Urban Management resolves it; Wang Guihua rates it 4. The street office's
dashboard for today shows exactly that.

Labels are looked up through the app's own catalog (`t`), so the selectors follow the
translations (the English msgid where a string is not translated yet).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from coord.cli import DEMO_PASSWORD
from coord.db import db
from stakeholders.models import Stakeholder

from browser_helpers import choose_and_follow

Translate = Callable[..., str]
Shot = Callable[[Page, str], Path]

PLAN = "兰苑小区消防通道改造方案"
REQUEST = "3号楼单元门口的灯坏了"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5b1f6ee0000000049454e44ae426082"
)


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


def flash(page: Page):
    return page.get_by_role("status")


def status(page: Page):
    return page.locator("article.proposal header .badge[class*=state-]")


def test_a_plan_is_approved_a_request_is_handled_and_the_dashboard_shows_it(
    live_app: Flask,
    new_page: Callable[[], Page],
    t: Translate,
    shot: Shot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(live_app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    anju_id, urban_id = org_id(live_app, "安居物业服务有限公司"), org_id(live_app, "城市管理科")
    office_id = org_id(live_app, "清河街道办事处")
    drawing, photo = tmp_path / "消防通道平面图.pdf", tmp_path / "门口.png"
    drawing.write_bytes(PDF)
    photo.write_bytes(PNG)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()

    # -- The property manager submits a plan, with its drawing. ---------------------------------
    anju = new_page()
    sign_in(anju, t, "anju")
    act_as(anju, anju_id)
    anju.get_by_role("navigation", name=t("Main")).get_by_role("link", name=t("Plans")).click()
    anju.get_by_role("link", name=t("Submit a plan")).click()
    anju.get_by_label(t("Community")).select_option(label="兰苑社区")
    anju.get_by_label(t("Title")).fill(PLAN)
    anju.get_by_label(t("Summary")).fill("清理并重新施划兰苑小区消防通道，拆除占道的违章棚架。")
    anju.get_by_label(t("Plan text")).fill("## 内容\n- 拆除3处违章棚架；\n- 重新施划消防通道标线。")
    anju.get_by_label(t("Budget in yuan (optional)")).fill("52000")
    anju.get_by_label(t("Schedule")).fill("12月第一周拆除，第二周施划标线。")
    anju.get_by_label(t("Attachments (optional)")).set_input_files(drawing)
    anju.get_by_role("button", name=t("Submit for approval")).click()
    expect(flash(anju)).to_contain_text(t("The plan was submitted to the street office."))
    expect(anju.get_by_role("heading", name=PLAN)).to_be_visible()
    expect(status(anju)).to_have_text(t("Submitted"))
    plan_section = anju.locator("#plan")
    expect(plan_section).to_contain_text("52,000.00")
    expect(plan_section.get_by_role("link", name="消防通道平面图.pdf")).to_be_visible()
    plan_url = anju.url.split("#")[0]
    shot(anju, "tracking-01-plan-submitted")

    # -- The street office sets the route: Urban Management, then itself. -----------------------
    office = new_page()
    sign_in(office, t, "qinghe")
    act_as(office, office_id)
    office.goto(plan_url)
    office.get_by_role("link", name=t("Set the review route")).click()
    office.get_by_label(t("Reviewer of step %(n)d", n=1)).select_option(str(urban_id))
    office.get_by_label(t("Group of step %(n)d", n=1)).fill("1")
    office.get_by_label(t("Working days of step %(n)d", n=1)).fill("3")
    office.get_by_label(t("Reviewer of step %(n)d", n=2)).select_option(str(office_id))
    office.get_by_label(t("Group of step %(n)d", n=2)).fill("2")
    office.get_by_label(t("Working days of step %(n)d", n=2)).fill("2")
    shot(office, "tracking-02-route")
    office.get_by_role("button", name=t("Set the route and start the review")).click()
    expect(flash(office)).to_contain_text(t("The review has started."))
    expect(status(office)).to_have_text(t("Under review"))

    # -- Urban Management asks for changes. ---------------------------------------------------
    urban = new_page()
    sign_in(urban, t, "urban")
    act_as(urban, urban_id)
    urban.goto(plan_url)
    decide = urban.locator("#decide-s1")
    decide.get_by_label(t("Request changes")).check()
    decide.get_by_label(t("Opinion (required, published with the decision)")).fill(
        "请补充施工期间消防通道的临时通行方案。"
    )
    decide.get_by_role("button", name=t("Record decision")).click()
    expect(flash(urban)).to_contain_text(t("Your decision was recorded."))
    expect(status(urban)).to_have_text(t("Changes requested"))
    expect(urban.locator("#review")).to_contain_text("请补充施工期间消防通道的临时通行方案。")

    # -- Anju revises (a new version) and resubmits; the diff is one click away. -----------------
    anju.goto(plan_url)
    anju.get_by_role("link", name=t("Revise the plan")).click()
    anju.get_by_label(t("Text")).fill(
        "## 内容\n- 拆除3处违章棚架；\n- 重新施划消防通道标线；\n- 施工期间保留2米宽临时通道。"
    )
    anju.get_by_label(t("What changed (optional)")).fill("按城管科意见补充临时通道")
    anju.get_by_role("button", name=t("Save new version")).click()
    anju.goto(plan_url)
    diff = anju.get_by_role(
        "link", name=t("Changes since the reviewed version (v%(a)d → v%(b)d)", a=1, b=2)
    )
    expect(diff).to_be_visible()
    shot(anju, "tracking-03-changes-requested")
    anju.get_by_role("button", name=t("Resubmit the revised plan")).click()
    expect(flash(anju)).to_contain_text(t("The revised plan was resubmitted; the review resumes."))
    expect(status(anju)).to_have_text(t("Under review"))
    expect(anju.locator("#review")).to_contain_text(t("Round %(n)d", n=2))

    # -- Urban Management approves; the street office approves its step and signs off. ----------
    urban.goto(plan_url)
    decide = urban.locator("#decide-s1")
    decide.get_by_label(t("Approve")).check()
    decide.get_by_label(t("Opinion (required, published with the decision)")).fill(
        "临时通道方案可行，同意。"
    )
    decide.get_by_role("button", name=t("Record decision")).click()
    expect(flash(urban)).to_contain_text(t("Your decision was recorded."))
    office.goto(plan_url)
    decide = office.locator("#decide-s2")
    decide.get_by_label(t("Approve")).check()
    decide.get_by_label(t("Opinion (required, published with the decision)")).fill("程序合规。")
    decide.get_by_role("button", name=t("Record decision")).click()
    signoff = office.locator("#signoff")
    signoff.get_by_label(t("Approve")).check()
    signoff.get_by_label(t("Opinion (required, published with the decision)")).fill(
        "同意实施，施工期间做好公告。"
    )
    signoff.get_by_role("button", name=t("Sign off")).click()
    expect(flash(office)).to_contain_text(t("The decision was published."))
    expect(status(office)).to_have_text(t("Approved"))
    decision = office.locator(".decision")
    expect(decision).to_contain_text("同意实施，施工期间做好公告。")
    review = office.locator("#review")
    for opinion in (
        "请补充施工期间消防通道的临时通行方案。",
        "临时通道方案可行，同意。",
        "程序合规。",
    ):
        expect(review).to_contain_text(opinion)
    shot(office, "tracking-04-plan-approved")

    # -- Anju starts the work and meets a milestone, with evidence. -----------------------------
    anju.goto(plan_url)
    anju.get_by_role("button", name=t("Start implementation")).click()
    expect(status(anju)).to_have_text(t("Implementing"))
    anju.get_by_label(t("New milestone")).fill("违章棚架拆除完成")
    anju.get_by_label(t("Due on")).fill((today + timedelta(days=7)).isoformat())
    anju.get_by_role("button", name=t("Add milestone")).click()
    expect(flash(anju)).to_contain_text(t("The milestone was added."))
    milestone = anju.locator("article.milestone").filter(has_text="违章棚架拆除完成")
    milestone.get_by_text(t("Report progress on “%(title)s”", title="违章棚架拆除完成")).click()
    milestone.get_by_label(t("Status")).select_option("met")
    milestone.get_by_label(t("Progress")).fill("3处棚架已全部拆除，现场已清理。")
    milestone.get_by_label(t("Evidence (optional)")).set_input_files(photo)
    milestone.get_by_role("button", name=t("Report progress")).click()
    expect(flash(anju)).to_contain_text(t("Your progress report was published."))
    milestone = anju.locator("article.milestone").filter(has_text="违章棚架拆除完成")
    expect(milestone.locator("h3 .badge")).to_have_text(t("Met"))
    expect(milestone.get_by_role("link", name="门口.png")).to_be_visible()
    shot(anju, "tracking-05-milestone-met")

    # -- A resident reports a dark entrance, with a photo. --------------------------------------
    resident = new_page()
    sign_in(resident, t, "wangguihua")
    resident.get_by_role("navigation", name=t("Main")).get_by_role(
        "link", name=t("Requests")
    ).click()
    resident.get_by_role("link", name=t("Report a problem")).click()
    expect(resident.get_by_label(t("Community")).locator("option:checked")).to_have_text("兰苑社区")
    resident.get_by_label(t("Category")).select_option("lighting")
    resident.get_by_label(t("Title")).fill(REQUEST)
    resident.get_by_label(t("What is the problem?")).fill(
        "3号楼北侧单元门口的灯坏了三天，晚上进出看不清台阶，老人容易摔倒。"
    )
    resident.get_by_label(t("Where (optional)")).fill("3号楼北侧单元门口")
    resident.get_by_label(t("Photos (optional)")).set_input_files(photo)
    resident.get_by_role("button", name=t("Submit request")).click()
    expect(flash(resident)).to_contain_text(t("Your request was sent to the residents committee."))
    request_url = resident.url.split("#")[0]
    handling = resident.locator("#request")
    expect(handling).to_contain_text(t("Waiting for the residents committee to assign it"))
    shot(resident, "tracking-06-request-filed")

    # -- The residents committee assigns it to Anju. ---------------------------------------------
    committee = new_page()
    sign_in(committee, t, "lanyuan_rc")
    committee.goto("/requests")
    committee.get_by_role("link", name=t("To triage")).click()
    committee.get_by_role("link", name=REQUEST).click()
    committee.get_by_label(t("Handler")).select_option(str(anju_id))
    committee.get_by_label(t("Note (optional)")).fill("单元门口照明属物业维护范围。")
    committee.get_by_role("button", name=t("Accept and assign")).click()
    expect(flash(committee)).to_contain_text(t("The request was assigned."))

    # -- Anju accepts, then hands it over to Urban Management. ----------------------------------
    anju.goto("/requests?view=handling")
    anju.get_by_role("link", name=REQUEST).click()
    anju.locator("#handle").get_by_role("button", name=t("Accept")).click()
    expect(status(anju)).to_have_text(t("Accepted"))
    anju.get_by_label(t("Transfer to")).select_option(str(urban_id))
    anju.get_by_label(t("Reason for the transfer")).fill("该灯为市政路灯，由城管科维护。")
    anju.get_by_role("button", name=t("Transfer")).click()
    expect(flash(anju)).to_contain_text(t("The request was transferred."))

    # -- Urban Management works on it and resolves it. ------------------------------------------
    urban.goto(request_url)
    handling = urban.locator("#handle")
    handling.get_by_role("button", name=t("Start work")).click()
    urban.get_by_label(t("Progress update for the resident")).fill("已安排电工，今天下午更换灯具。")
    urban.get_by_role("button", name=t("Post progress")).click()
    expect(flash(urban)).to_contain_text(t("Your progress update was posted."))
    urban.locator("#move-resolve").fill("已更换LED灯具，晚上照明恢复。")
    handling.get_by_role("button", name=t("Mark resolved")).click()
    expect(status(urban)).to_have_text(t("Resolved"))
    custody = urban.locator("#custody")
    expect(custody).to_contain_text("安居物业服务有限公司")
    expect(custody).to_contain_text("该灯为市政路灯，由城管科维护。")
    shot(urban, "tracking-07-request-resolved")

    # -- The resident rates the result. ---------------------------------------------------------
    resident.goto(request_url)
    resident.locator("input[name=rating][value='4']").check()
    resident.get_by_label(t("Comment (optional)")).fill("修得挺快，就是中间转了一次手。")
    resident.get_by_role("button", name=t("Confirm and rate")).click()
    expect(flash(resident)).to_contain_text(t("Thank you: the request is closed with your rating."))
    expect(status(resident)).to_have_text(t("Closed"))
    expect(resident.locator("#rating")).to_contain_text("4/5")
    expect(resident.locator("#timeline")).to_contain_text(t("submitted the request"))
    expect(resident.locator("#deadlines")).to_contain_text(t("On time"))
    expect(resident.locator("#conflict-map")).to_have_count(0)
    expect(resident.locator("#positions")).to_have_count(0)
    shot(resident, "tracking-08-request-rated")
    resident.set_viewport_size({"width": 390, "height": 844})
    shot(resident, "tracking-08b-request-phone")
    resident.goto("/requests")
    card = resident.locator("tr.request-card").filter(has_text=REQUEST)
    expect(card.locator(".card-community")).to_be_hidden()
    expect(card.locator(".card-handler")).to_be_visible()
    title_box, card_box = card.locator(".card-title").bounding_box(), card.bounding_box()
    assert title_box and card_box and title_box["width"] > card_box["width"] / 2
    shot(resident, "tracking-08c-requests-phone")
    resident.set_viewport_size({"width": 1280, "height": 900})

    # -- The street office's dashboard for today shows exactly this. ----------------------------
    office.get_by_role("navigation", name=t("Main")).get_by_role(
        "link", name=t("Dashboard")
    ).click()
    office.get_by_label(t("From")).fill(today.isoformat())
    office.get_by_label(t("To")).fill(today.isoformat())
    office.get_by_role("button", name=t("Show")).click()
    expect(office.locator("#kpi-received")).to_have_text("1")
    expect(office.locator("#kpi-open")).to_have_text("0")
    expect(office.locator("#kpi-overdue")).to_have_text("0")
    expect(office.locator("#kpi-satisfaction")).to_have_text("4.0")
    expect(office.locator("#kpi-reopen")).to_have_text("0%")
    expect(office.locator("#kpi-steps-pending")).to_have_text("0")
    by_handler = office.locator("#by-handler")
    expect(by_handler.locator("tbody tr")).to_have_count(2)
    urban_row = by_handler.locator("tbody tr").filter(has_text="城市管理科")
    expect(urban_row.locator("td").nth(0)).to_have_text("1")  # received (its handler now)
    expect(urban_row.locator("td").nth(7)).to_have_text("4.0")  # satisfaction
    anju_row = by_handler.locator("tbody tr").filter(has_text="安居物业服务有限公司")
    expect(anju_row.locator("td").nth(0)).to_have_text("0")
    expect(anju_row.locator("td").nth(3)).not_to_have_text("—")  # its first response counts
    owners = office.locator("#by-owner")
    expect(owners.locator("tr").filter(has_text="城市管理科").locator("td").nth(2)).to_have_text(
        "2"
    )
    expect(
        owners.locator("tr").filter(has_text="清河街道办事处").locator("td").nth(2)
    ).to_have_text("1")
    shot(office, "tracking-09-dashboard")

    # Every figure opens the items behind it.
    office.locator("#kpi-received").get_by_role("link").click()
    expect(office.get_by_role("heading", name=t("Requests received"))).to_be_visible()
    expect(office.get_by_role("link", name=REQUEST)).to_be_visible()
    expect(office.get_by_role("row")).to_have_count(2)
    shot(office, "tracking-10-dashboard-items")

    # The resident sees the public figures of her community: small groups are hidden.
    resident.get_by_role("navigation", name=t("Main")).get_by_role(
        "link", name=t("Dashboard")
    ).click()
    expect(resident.locator(".scope")).to_contain_text("兰苑社区")
    expect(resident.get_by_text(re.compile(t("fewer than %(n)d", n=5))).first).to_be_visible()
    shot(resident, "tracking-11-public-dashboard")
