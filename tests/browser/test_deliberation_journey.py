"""Story 1 in a real browser: a consultation is deliberated until a condition is met.

A member of the Lanyuan residents committee, acting as the committee, opens a new
consultation on the lift of building 3 (preview, then publish). Wang Guihua and Li Ming
comment and reply to each other; Anju Property, acting as the company, replies too. Li Ming
declares a conditional position, proposes an amendment that adds a cost-sharing table by
floor and points his condition to it; the committee accepts the amendment, and Li Ming's
condition shows as met, with a prompt to update his stance. The accepted amendment is
version 2: the versions page and the diff show it. Last, the page in English.

Labels come from the app's zh_Hans_CN catalog (`t`), so the selectors follow the translations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from proposals.deliberation.negotiation import STANCE_LABELS
from proposals.vocabulary import INTERESTS

from browser_helpers import choose_and_follow, sign_in

Translate = Callable[..., str]
Shot = Callable[[Page, str], Path]

COMMUNITY = "兰苑社区"
COMMITTEE = "兰苑社区居委会"
ANJU = "安居物业服务有限公司"
TITLE = "3号楼电梯施工安排与费用分摊征询"
SUMMARY = "居委会就3号楼加装电梯的施工时间和费用分摊征求意见，请住户和物业发表看法。"
BODY = """\
电梯装在3号楼北侧单元入口，**总造价约68万元**，政府补贴20万元。

- 施工期约4个月；
- 其余费用由本单元业主分摊，比例待定。
"""
TABLE = """
费用分摊（按楼层）：

| 楼层 | 分摊比例 |
|---|---|
| 一楼 | 0% |
| 二楼 | 8% |
| 三楼 | 16% |
| 四楼 | 22% |
| 五楼 | 26% |
| 六楼 | 28% |
"""
QUIET_HOURS = "夜间22:00至次日07:00不施工"
CONDITIONS = f"一楼住户不出资，且{QUIET_HOURS}，我就支持。"
WANG_SAYS = "我住五楼，今年72岁，上下楼要歇三次。希望早点装上电梯。"
LI_REPLIES = "一楼的采光和小店生意都会受影响，一楼不应该再出钱。"
ANJU_REPLIES = "物业可以安排施工期间的停车，夜间不施工我们也能保证。"


def act_as(page: Page, t: Translate, name: str) -> None:
    """Choose the identity to act as with the header selector (coord.js submits it)."""
    acting_as = page.get_by_label(t("Acting as"))
    option = acting_as.locator("option").filter(has_text=re.compile(f"^{re.escape(name)}[ （(]"))
    value = option.get_attribute("value")
    choose_and_follow(page, acting_as, value)
    expect(_flash(page)).to_contain_text(t("You are now acting as %(name)s.", name=name))


def _flash(page: Page) -> Locator:
    """The flashed messages (a status region at the top of the page)."""
    return page.locator(".flashes[role=status]")


def _comment(page: Page, text: str) -> Locator:
    """The comment (its article) holding `text`."""
    return page.locator("article.comment").filter(
        has=page.locator(".comment-body").get_by_text(text)
    )


def _reply(page: Page, t: Translate, to: str, stance: str, text: str) -> None:
    """Reply in place to the comment holding `to` (comments.js opens the form there)."""
    comment = _comment(page, to)
    comment.get_by_role("link", name=t("Reply"), exact=True).click()
    form = comment.locator("form.comment-reply-form")
    form.get_by_label(t("Your stance")).select_option(stance)
    form.get_by_label(t("Comment")).fill(text)
    form.get_by_role("button", name=t("Post reply")).click()
    expect(_flash(page)).to_be_visible()
    expect(_comment(page, text)).to_be_visible()


def test_conditional_position_is_met_by_an_accepted_amendment(
    page: Page, new_page: Callable[[], Page], t: Translate, shot: Shot
) -> None:
    stance = {key: t(label) for key, label in STANCE_LABELS.items()}

    # 1. The committee member opens a consultation as the residents committee.
    committee = page
    sign_in(committee, t, "lanyuan_rc")
    act_as(committee, t, COMMITTEE)
    committee.get_by_role("navigation", name=t("Main")).get_by_role(
        "link", name=t("Proposals"), exact=True
    ).click()
    committee.get_by_role("link", name=t("New proposal")).click()
    expect(committee.get_by_role("heading", name=t("New proposal"))).to_be_visible()
    expect(committee.get_by_text(t("You are posting as %(name)s.", name=COMMITTEE))).to_be_visible()
    committee.get_by_label(t("Kind")).select_option(label=t("Consultation"))
    committee.get_by_label(t("Community")).select_option(label=COMMUNITY)
    committee.get_by_label(t("Title")).fill(TITLE)
    committee.get_by_label(t("Summary")).fill(SUMMARY)
    committee.get_by_label(t("Text")).fill(BODY)
    committee.get_by_role("button", name=t("Preview")).click()
    preview = committee.get_by_role("region", name=t("Preview"))
    expect(preview.locator("strong")).to_have_text("总造价约68万元")
    expect(preview.get_by_role("listitem")).to_have_count(2)
    expect(committee.get_by_label(t("Title"))).to_have_value(TITLE)  # the form is kept
    shot(committee, "deliberation-01-new-consultation-preview")
    committee.get_by_role("button", name=t("Publish")).click()
    expect(_flash(committee)).to_contain_text(t("The proposal was published."))
    expect(committee.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(committee.locator(".proposal .meta").first).to_contain_text(t("Deliberation"))
    proposal_url = committee.url
    shot(committee, "deliberation-02-published")

    # 2. Wang Guihua supports it in a comment.
    wang = new_page()
    sign_in(wang, t, "wangguihua")
    wang.goto(proposal_url)
    wang.get_by_label(t("Your stance")).select_option(label=stance["support"])
    wang.get_by_label(t("Comment")).fill(WANG_SAYS)
    wang.get_by_role("button", name=t("Post comment")).click()
    expect(_comment(wang, WANG_SAYS)).to_contain_text(stance["support"])

    # 3. Li Ming replies to her; Anju, acting as the company, replies to him.
    li = new_page()
    sign_in(li, t, "liming")
    li.goto(proposal_url)
    _reply(li, t, WANG_SAYS, "oppose", LI_REPLIES)
    anju = new_page()
    sign_in(anju, t, "anju")
    act_as(anju, t, ANJU)
    anju.goto(proposal_url)
    _reply(anju, t, LI_REPLIES, "neutral", ANJU_REPLIES)
    expect(_comment(anju, ANJU_REPLIES).get_by_role("heading")).to_contain_text(ANJU)
    # The thread nests: Wang Guihua's comment holds Li Ming's reply, which holds Anju's.
    top = anju.locator("ol.comment-thread > li")
    expect(top).to_have_count(1)
    li_item = top.locator("ol.comment-replies > li").filter(has=_comment(anju, LI_REPLIES))
    expect(li_item.locator("ol.comment-replies").get_by_text(ANJU_REPLIES)).to_be_visible()
    anju.locator("#comments").scroll_into_view_if_needed()
    shot(anju, "deliberation-03-thread")

    # 4. Li Ming declares a conditional position.
    li.reload()
    positions = li.locator("#positions")
    positions.get_by_role("link", name=t("Declare your position")).click()
    expect(li.get_by_role("heading", name=t("Declare your position"))).to_be_visible()
    conditions = li.get_by_label(t("Your conditions"), exact=True)
    expect(conditions).to_be_hidden()  # negotiation.js: only for conditional support
    li.get_by_label(stance["conditional"], exact=True).check()
    expect(conditions).to_be_visible()
    conditions.fill(CONDITIONS)
    for interest in ("cost", "noise", "business_income"):
        li.get_by_label(t(INTERESTS[interest]), exact=True).check()
    li.get_by_label(t("Statement")).fill("一楼住户受影响最大。")
    shot(li, "deliberation-04-position-form")
    li.get_by_role("button", name=t("Save my position")).click()
    expect(_flash(li)).to_contain_text(t("Your position was saved."))
    mine = positions.get_by_role("listitem").filter(has_text=CONDITIONS)
    expect(mine).to_contain_text(stance["conditional"])
    expect(mine).not_to_contain_text(t("Condition met"))

    # 5. He proposes an amendment: the same text plus a cost-sharing table by floor.
    li.locator("#amendments").get_by_role("link", name=t("Propose an amendment")).click()
    expect(li.get_by_role("heading", name=t("Propose an amendment"))).to_be_visible()
    text = li.get_by_label(t("Proposed text"))
    expect(text).to_have_value(re.compile("施工期约4个月"))  # starts from the current text
    text.fill(BODY.replace("施工期约4个月；", f"施工期约4个月，{QUIET_HOURS}；") + TABLE)
    li.get_by_label(t("Rationale")).fill("增加按楼层分摊的费用表（一楼为零），并规定夜间不施工。")
    li.get_by_role("button", name=t("Propose the amendment")).click()
    expect(_flash(li)).to_contain_text(t("Your amendment was proposed."))
    amendment_url = li.url
    amendment_id = int(re.search(r"/amendments/(\d+)", amendment_url).group(1))
    diff = li.locator(".diff").last
    expect(diff.locator(".diff-line.ins").filter(has_text="| 一楼 | 0% |")).to_have_count(1)
    expect(diff.locator(".diff-line.changed")).to_contain_text(QUIET_HOURS)
    shot(li, "deliberation-05-amendment")

    # 6. He links his condition to it ("This would meet my condition").
    li.get_by_role("link", name=t("This would meet my condition")).click()
    expect(li.get_by_label(stance["conditional"], exact=True)).to_be_checked()
    expect(li.get_by_label(t("Your conditions"), exact=True)).to_have_value(CONDITIONS)
    linked = li.get_by_label(t("An amendment that would meet your conditions"))
    expect(linked.locator("option:checked")).to_contain_text("增加按楼层分摊的费用表")
    li.get_by_role("button", name=t("Save my position")).click()
    expect(_flash(li)).to_contain_text(t("Your position was saved."))
    expect(mine.get_by_role("link", name=t("amendment #%(n)d", n=amendment_id))).to_be_visible()

    # 7. The committee (the owner) reviews and accepts the amendment.
    committee.goto(amendment_url)
    expect(committee.get_by_role("heading", name=t("Conditions it addresses"))).to_be_visible()
    expect(committee.locator(".condition-list")).to_contain_text(CONDITIONS)
    committee.get_by_role("link", name=t("Review and accept")).click()
    expect(
        committee.get_by_text(t("Accepting it makes version %(n)d of the proposal.", n=2))
    ).to_be_visible()
    shot(committee, "deliberation-06-accept")
    committee.get_by_role("button", name=t("Accept the amendment")).click()
    expect(_flash(committee)).to_contain_text(
        t("The amendment was accepted as version %(n)d.", n=2)
    )
    expect(committee.locator(".proposal .meta").nth(1)).to_contain_text(t("version %(n)d", n=2))

    # 8. Li Ming's condition shows as met, and he is asked to update his stance.
    li.goto(proposal_url)
    mine = li.locator("#positions").get_by_role("listitem").filter(has_text=CONDITIONS)
    expect(mine.get_by_text(t("Condition met"))).to_be_visible()
    prompt = li.locator("#positions").get_by_role("status")
    expect(prompt).to_contain_text(
        t(
            "Your condition was met: amendment #%(n)d was accepted. Update your stance?",
            n=amendment_id,
        )
    )
    expect(prompt.get_by_role("link", name=t("Update my position"))).to_be_visible()
    li.locator("#positions").scroll_into_view_if_needed()
    shot(li, "deliberation-07-condition-met")

    # 9. Version 2 is the accepted amendment; the diff shows the table that was added.
    li.get_by_role("link", name=t("all versions")).click()
    newest = li.get_by_role("row").filter(has_text=t("version %(n)d", n=2))
    expect(newest).to_contain_text(t("(accepted amendment)"))
    newest.get_by_role("link", name=t("changes from version %(n)d", n=1)).click()
    expect(li.get_by_role("heading", level=1)).to_have_text(
        t("Changes from version %(a)d to version %(b)d", a=1, b=2)
    )
    expect(li.locator(".diff-line.ins").filter(has_text="| 六楼 | 28% |")).to_have_count(1)
    shot(li, "deliberation-08-diff")

    # 10. The proposal page in English.
    li.goto(proposal_url)
    li.get_by_role("button", name="English").click()
    expect(li.locator("html")).to_have_attribute("lang", "en")
    expect(li.locator("#positions").get_by_text("Condition met")).to_be_visible()
    expect(li.get_by_role("heading", name=re.compile("^Discussion"))).to_be_visible()
    shot(li, "deliberation-09-english")
    li.get_by_role("button", name="简体中文").click()  # the choice is kept for the account
    expect(li.locator("html")).to_have_attribute("lang", "zh-CN")
