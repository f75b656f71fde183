"""Story 1 in a real browser: a secret ranked poll on the lift consultation, opening to receipts.

The Lanyuan residents committee puts its consultation on adding a lift to building 3 to a
secret instant-runoff poll over three cost-sharing options; Wang Guihua, Li Ming and three
neighbours rank the options (Wang Guihua by dragging); the committee closes the poll early
with a reason; the results page explains every round; Wang Guihua finds her receipt code on
the bulletin board.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from conftest import PageProblems
from flask import Flask
from playwright.sync_api import Page, expect

from coord.db import db, utcnow
from coord.models import User
from proposals import services as proposal_services
from stakeholders.acting import Actor
from stakeholders.models import Function, Stakeholder

from browser_helpers import choose_and_follow, sign_in

Translate = Callable[..., str]
Shot = Callable[[Page, str], Path]

COMMITTEE = "兰苑社区居委会"
TITLE = "3号楼加装电梯：费用如何分摊"
EARLY = "三个楼栋代表均已投票，提前结束。"
OPTIONS = ["按楼层递增分摊", "全体住户平均分摊", "一楼住户免缴、其余按楼层分摊"]
# (login, ranking as option indices, most preferred first)
VOTERS = [
    ("wangguihua", [0, 1]),
    ("liming", [2, 1, 0]),
    ("resident01", [0]),
    ("resident03", [1, 0]),
    ("resident05", [1]),
]


def _consultation(live_app: Flask) -> int:
    """The committee's consultation, in deliberation (created through the services)."""
    with live_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "lanyuan_rc"))
        committee = db.session.scalar(
            sa.select(Stakeholder).where(
                Stakeholder.function == Function.RESIDENTS_COMMITTEE, Stakeholder.name == COMMITTEE
            )
        )
        proposal = proposal_services.create_proposal(
            Actor(user, committee),
            {
                "kind": "consultation",
                "community_id": committee.community_id,
                "title": TITLE,
                "summary": "加装电梯的费用分摊方案征询，请3号楼及全体居民投票。",
                "body": "三种分摊方案见附表。",
                "visibility": "public",
                "publish": True,
            },
        )
        db.session.commit()
        rv = proposal.id
        db.session.remove()
    return rv


def _check_receipt_page(page: Page, t: Translate, shot: Shot, ranked: list[str]) -> str:
    """Check the receipt speaks plainly (ranking in words, QR, copy / save); return the QR's URL."""
    expect(page.locator("ol.choice-words li")).to_have_text(ranked)
    expect(page.locator("svg.receipt-qr")).to_be_visible()
    expect(page.get_by_text("nonce")).to_have_count(0)
    page.get_by_role("button", name=t("Copy the code")).click()
    expect(page.locator("[data-receipt-status]")).to_have_text(t("Copied."))
    with page.expect_download() as saved:
        page.get_by_role("button", name=t("Save as a picture")).click()
    assert saved.value.suggested_filename.endswith(".png")
    assert Path(saved.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved.value.save_as(Path(__file__).parent / "screenshots" / "voting-03d-saved-receipt.png")
    box = page.locator("#receipt-code").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390  # the code fits her screen
    page.emulate_media(media="print")  # the print stylesheet: the receipt, not her choice
    expect(page.locator(".my-choice")).to_be_hidden()
    expect(page.locator("#receipt .print-only")).to_be_visible()
    shot(page, "voting-03c-receipt-print")
    page.emulate_media(media="screen")
    return (page.locator("#receipt .print-only").text_content() or "").strip()


def test_committee_runs_a_secret_ranked_poll_and_a_voter_finds_her_receipt(
    live_app: Flask,
    page: Page,
    new_page: Callable[[], Page],
    t: Translate,
    shot: Shot,
    page_problems: PageProblems,
) -> None:
    proposal_id = _consultation(live_app)

    # The committee member acts as the residents committee and opens the poll from the proposal.
    committee = page
    sign_in(committee, t, "lanyuan_rc")
    acting_as = committee.get_by_label(t("Acting as"))
    org_id = (
        acting_as.locator("option")
        .filter(has_text=re.compile(f"^{COMMITTEE} ?[（(]"))
        .get_attribute("value")
    )
    choose_and_follow(committee, acting_as, org_id)
    committee.goto(f"/proposals/{proposal_id}")
    poll_section = committee.locator("#poll")
    expect(poll_section).to_contain_text(t("Vote"))
    poll_section.get_by_role("link", name=t("Open a poll")).click()
    expect(committee.get_by_role("heading", name=t("Open a poll"))).to_be_visible()
    expect(committee.get_by_label(t("Title"))).to_have_value(TITLE)
    # The form asks the committee's question first; the method's name comes second.
    expect(committee.get_by_text(t("Pick one option"), exact=True)).to_be_visible()
    committee.get_by_label(
        t(
            "Everyone puts options in order; the least supported is dropped round by "
            "round until one has more than half."
        )
    ).check()
    expect(
        committee.get_by_label(t("Threshold"), exact=True)
    ).to_be_hidden()  # yes/no settings hidden
    committee.get_by_label(t("Options"), exact=True).fill("\n".join(OPTIONS))
    # Invitees: a checkbox list that a filter box narrows (no Ctrl-click); here nobody.
    committee.get_by_placeholder(t("Type part of a name to narrow the list")).fill("物业")
    expect(committee.locator(".picker-list li:visible")).not_to_have_count(0)
    expect(committee.locator(".picker-list li:visible").first).to_contain_text("物业")
    expect(committee.locator(".picker-list li", has_text="建筑工程")).to_be_hidden()
    committee.get_by_placeholder(t("Type part of a name to narrow the list")).fill("")
    committee.get_by_label(t("Secret ballot")).check()
    closes = (utcnow() + timedelta(days=7)).astimezone().strftime("%Y-%m-%dT%H:%M")
    committee.get_by_label(t("Closes at")).fill(closes)
    shot(committee, "voting-01-open-poll")
    committee.get_by_role("button", name=t("Open the poll")).click()
    expect(committee.get_by_role("status")).to_contain_text(t("The poll was opened."))
    expect(committee.get_by_role("heading", name=TITLE)).to_be_visible()
    poll_url = committee.url
    assert re.search(r"/polls/\d+$", poll_url)
    expect(committee.locator(".badge.secret")).to_be_visible()

    # Five residents rank the options; Wang Guihua drags, the others type the numbers.
    receipts: dict[str, str] = {}
    for login, ranking in VOTERS:
        voter = new_page()
        if login == "wangguihua":
            voter.set_viewport_size({"width": 390, "height": 844})  # her phone
        sign_in(voter, t, login)
        voter.goto(poll_url)
        ballot = voter.locator("form.ballot-form")
        expect(ballot).to_be_visible()
        if login == "wangguihua":
            rows = voter.locator("ol.ranking .rank-row")
            # Drag the second option above the first, then put the first back on top.
            rows.nth(1).drag_to(rows.nth(0))
            rows = voter.locator("ol.ranking .rank-row")
            expect(rows.nth(0)).to_contain_text(OPTIONS[1])
            rows.filter(has_text=OPTIONS[0]).drag_to(rows.nth(0))
            rank = voter.get_by_label(t("Rank of %(option)s", option=OPTIONS[0]))
            expect(rank).to_have_value("1")
            expect(voter.get_by_label(t("Rank of %(option)s", option=OPTIONS[1]))).to_have_value(
                "2"
            )
            # Keep it a partial ranking: clear the third option's number.
            voter.get_by_label(t("Rank of %(option)s", option=OPTIONS[2])).fill("")
            shot(voter, "voting-02-ranked-ballot")
        else:
            for place, index in enumerate(ranking, 1):
                voter.get_by_label(t("Rank of %(option)s", option=OPTIONS[index])).fill(str(place))
        voter.get_by_role("button", name=t("Cast my ballot")).click()
        expect(voter.get_by_role("heading", name=t("Your ballot was cast"))).to_be_visible()
        code = voter.locator("#receipt-code").inner_text().strip()
        assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", code)
        receipts[login] = code
        if login == "wangguihua":
            qr_url = _check_receipt_page(voter, t, shot, [OPTIONS[i] for i in ranking])
            shot(voter, "voting-03-receipt-390")
            wang = voter
        elif login == "liming":
            shot(voter, "voting-03b-receipt-1280")
            voter.context.close()
        else:
            voter.context.close()
    assert len(set(receipts.values())) == len(VOTERS)

    # The QR code's address: the board check for her code, after "#" (never sent to a server).
    assert qr_url == poll_url + "/bulletin#code=" + receipts["wangguihua"]
    wang.goto(poll_url + "/bulletin")
    expect(wang.locator("#board-not-yet")).to_be_visible()  # before the close: says when

    # Shown once: going back to the receipt page does not show it again.
    wang.goto(poll_url + "/receipt")
    expect(wang.locator("#receipt-code")).to_have_count(0)
    expect(wang.get_by_text(t("You have voted"))).to_be_visible()

    # The committee closes the poll early, with a reason; the results explain every round.
    committee.goto(poll_url)
    committee.get_by_text(t("End the vote early…")).click()
    committee.get_by_label(t("Reason for closing now")).fill(EARLY)
    committee.get_by_role("button", name=t("Close the poll now")).click()
    # Not confirmed: the page says so and keeps the reason.
    expect(committee.get_by_label(t("Reason for closing now"))).to_have_value(EARLY)
    expect(committee.locator("#end-early")).to_contain_text(t("Tick the box to confirm."))
    assert [m for m in page_problems.take() if "status of 422" not in m] == []  # the refusal
    committee.get_by_label(
        t("Yes, end the vote now: nobody can vote after this, and it cannot be undone")
    ).check()
    committee.get_by_role("button", name=t("Close the poll now")).click()
    expect(committee.get_by_role("status")).to_contain_text(t("The poll was closed and counted."))
    expect(committee.get_by_role("heading", name=t("Round %(n)d", n=1))).to_be_visible()
    expect(committee.get_by_role("heading", name=t("Round %(n)d", n=2))).to_be_visible()
    expect(committee.locator(".rounds")).to_contain_text(
        t("No option has more than half. Eliminated: %(x)s.", x=OPTIONS[2])
    )
    expect(committee.locator(".winners")).to_contain_text(OPTIONS[1])
    expect(committee.locator(".poll-chart svg")).to_be_visible()
    shot(committee, "voting-04-results-rounds")

    # Wang Guihua scans her receipt's QR code: the board finds her ballot and says it counted.
    wang.goto(qr_url)
    expect(wang.get_by_role("heading", name=t("Bulletin board"))).to_be_visible()
    expect(wang.locator("table.bulletin tbody tr")).to_have_count(len(VOTERS))
    found = wang.locator("tr.found")
    expect(found).to_have_count(1)
    expect(found).to_contain_text(receipts["wangguihua"])
    expect(found).to_contain_text(OPTIONS[0])
    expect(wang.locator("[data-search-result]")).to_contain_text(
        t("Found: your ballot is on the board, so it was counted.")
    )
    shot(wang, "voting-05-bulletin-receipt-390")
    # Typing it by hand, in lower case without dashes, finds it too, without a URL (logs).
    wang.goto(poll_url)
    wang.get_by_role("link", name=t("Bulletin board")).click()
    wang.get_by_label(t("Find my receipt code")).fill(
        receipts["wangguihua"].replace("-", "").lower()
    )
    wang.get_by_role("button", name=t("Find")).click()
    expect(found).to_have_count(1)
    expect(found).to_contain_text(receipts["wangguihua"])
    assert "q=" not in wang.url

    # The poll page tells everyone why it ended early.
    wang.goto(poll_url)
    expect(wang.locator("#ended-early")).to_contain_text(EARLY)

    # The consultation shows the closed poll.
    wang.goto(f"/proposals/{proposal_id}")
    expect(wang.locator("#poll")).to_contain_text(t("Closed"))

    # The committee adopts the consultation through the confirmation page, citing the poll.
    committee.goto(f"/proposals/{proposal_id}")
    committee.get_by_role("link", name=t("Adopt"), exact=True).click()
    expect(committee.locator(".notice.warn")).to_contain_text(t("This cannot be undone."))
    decision = committee.get_by_label(
        t("Decision (shown at the top of the proposal and in its timeline)")
    )
    expect(decision).to_contain_text(OPTIONS[1])
    decision.fill(decision.input_value() + "按选定方案实施。")
    committee.get_by_role("button", name=t("Confirm")).click()
    expect(committee.locator("#decision")).to_contain_text("按选定方案实施。")
    wang.goto(f"/proposals/{proposal_id}")
    expect(wang.locator("#decision")).to_contain_text(OPTIONS[1])
    shot(wang, "voting-06-decision-panel")
