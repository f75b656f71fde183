"""The foundation journey in a real browser: register, claim residence, be verified, join.

A newcomer registers, claims residence in 兰苑社区, is verified by the residents committee,
asks to join 银龄志愿者协会, is accepted by its admin, acts as the association, finds the
verification on the supervision page and switches the interface to English.

Labels are looked up through the app's own zh_Hans_CN catalog (`t`), so the selectors follow
the translations instead of copying them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from coord.cli import DEMO_PASSWORD

from browser_helpers import choose_and_follow

NEWCOMER = "zhou.xiaomei"
NEWCOMER_NAME = "周晓梅"
NEWCOMER_PASSWORD = "Lanyuan-lane-7-spring"
COMMUNITY = "兰苑社区"
VOLUNTEERS = "银龄志愿者协会"
CJK = re.compile(r"[\u4e00-\u9fff]")

Translate = Callable[..., str]
Shot = Callable[[Page, str], Path]


def _header(page: Page, t: Translate):
    return page.get_by_role("navigation", name=t("Main"))


def _flash(page: Page):
    return page.get_by_role("status")


def sign_in(page: Page, t: Translate, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.get_by_label(t("Username")).fill(username)
    page.get_by_label(t("Password"), exact=True).fill(password)
    page.get_by_role("button", name=t("Sign in")).click()
    expect(_header(page, t).get_by_role("link", name=t("My residence"))).to_be_visible()


def test_newcomer_is_verified_joins_an_organisation_and_acts_for_it(
    page: Page,
    new_page: Callable[[], Page],
    t: Translate,
    shot: Shot,
) -> None:
    newcomer = page

    # Home: the Chinese interface is the default.
    newcomer.goto("/")
    expect(newcomer.locator("html")).to_have_attribute("lang", "zh-CN")
    for message in ("Main", "Communities", "Supervision", "Sign in", "Register"):
        assert CJK.search(t(message)), f"{message!r} has no Chinese translation"
    header = _header(newcomer, t)
    expect(header.get_by_role("link", name=t("Communities"), exact=True)).to_be_visible()
    expect(header.get_by_role("link", name="监督公示")).to_be_visible()  # the glossary's word
    expect(newcomer.get_by_role("link", name=t("Sign in"))).to_be_visible()
    expect(newcomer.get_by_role("link", name=COMMUNITY, exact=True)).to_be_visible()
    shot(newcomer, "01-home")

    # Register: username, display name, password twice.
    newcomer.get_by_role("link", name=t("Register")).click()
    expect(newcomer.get_by_role("heading", name=t("Register"))).to_be_visible()
    newcomer.get_by_label(t("Username")).fill(NEWCOMER)
    newcomer.get_by_label(t("Display name")).fill(NEWCOMER_NAME)
    newcomer.get_by_label(t("Password"), exact=True).fill(NEWCOMER_PASSWORD)
    newcomer.get_by_label(t("Repeat password")).fill(NEWCOMER_PASSWORD)
    shot(newcomer, "02-register")
    newcomer.get_by_role("button", name=t("Register")).click()

    # Lands on "my residence"; claims residence in 兰苑社区 and sees it pending.
    expect(newcomer.get_by_role("heading", name=t("My residence"))).to_be_visible()
    expect(newcomer).to_have_url(re.compile(r"/residence$"))
    expect(_flash(newcomer)).to_contain_text(
        t("Welcome, %(name)s! Your account is ready.", name=NEWCOMER_NAME)
    )
    newcomer.get_by_label(t("Community")).select_option(label=COMMUNITY)
    newcomer.get_by_label(t("Building")).fill("7")
    newcomer.get_by_label(t("Unit / room")).fill("302")
    newcomer.get_by_label(t("Mobile phone")).fill("13912345678")
    newcomer.get_by_role("button", name=t("Claim residence")).click()
    expect(_flash(newcomer)).to_contain_text(
        t("Your claim was sent to the residents committee for verification.")
    )
    status = newcomer.locator(".panel")
    expect(status).to_contain_text(t("Waiting for the residents committee"))
    expect(status).to_contain_text(COMMUNITY)
    expect(status).not_to_contain_text("13912345678")  # the phone is shown masked
    shot(newcomer, "03-residence-pending")

    # A committee member opens the queue from the community page and verifies the newcomer.
    committee = new_page()
    sign_in(committee, t, "lanyuan_rc")
    committee.get_by_role("link", name=COMMUNITY, exact=True).click()
    committee.get_by_role("link", name=t("Verification queue")).click()
    expect(
        committee.get_by_role("heading", name=re.compile(re.escape(t("Verification queue"))))
    ).to_be_visible()
    claim = committee.get_by_role("row").filter(has_text=NEWCOMER_NAME)
    expect(claim).to_contain_text("7 / 302")
    shot(committee, "04-queue")
    claim.get_by_role("button", name=t("Verify")).click()
    expect(_flash(committee)).to_contain_text(t("The resident is verified."))
    expect(committee.get_by_role("row").filter(has_text=NEWCOMER_NAME)).to_have_count(0)

    # The newcomer reloads and sees the verified mark.
    newcomer.reload()
    expect(newcomer.locator(".panel").get_by_text("✓")).to_be_visible()
    expect(newcomer.locator(".panel")).to_contain_text(t("Verified"))
    shot(newcomer, "05-verified")

    # The newcomer asks to join the volunteer association, from the community directory.
    _header(newcomer, t).get_by_role("link", name=t("Communities"), exact=True).click()
    newcomer.get_by_role("link", name=COMMUNITY, exact=True).click()
    # Residents are counted in groups there, never listed by name (the privacy rule).
    expect(newcomer.get_by_role("heading", name=re.compile(t("Residents")))).to_be_visible()
    expect(newcomer.locator("main")).not_to_contain_text(NEWCOMER_NAME)
    newcomer.get_by_role("link", name=VOLUNTEERS, exact=True).click()
    expect(newcomer.get_by_role("heading", name=re.compile(VOLUNTEERS))).to_be_visible()
    profile_url = newcomer.url
    newcomer.get_by_role("button", name=t("Ask to join")).click()
    expect(_flash(newcomer)).to_contain_text(
        t("Your request to join was sent to the organisation's admins.")
    )
    expect(newcomer.get_by_text(t("Your request to join is waiting for an admin."))).to_be_visible()

    # Its admin accepts on the members page.
    admin = new_page()
    sign_in(admin, t, "volunteers")
    admin.goto(profile_url)
    admin.get_by_role("link", name=t("Manage members")).click()
    members_heading = t("Members of %(name)s", name=VOLUNTEERS)
    expect(admin.get_by_role("heading", name=members_heading)).to_be_visible()
    request = admin.get_by_role("row").filter(has_text=NEWCOMER_NAME)
    expect(request).to_contain_text(t("Asks to join"))
    request.get_by_role("button", name=t("Accept")).click()
    expect(_flash(admin)).to_contain_text(t("The request was accepted."))
    expect(admin.get_by_role("row").filter(has_text=NEWCOMER_NAME)).to_contain_text(t("Active"))

    # The newcomer now acts as the association, chosen with the header selector.
    newcomer.reload()
    acting_as = newcomer.get_by_label(t("Acting as"))
    expect(acting_as.locator("option")).to_have_count(2)
    org_id = acting_as.locator("option").filter(has_text=VOLUNTEERS).get_attribute("value")
    choose_and_follow(newcomer, acting_as, org_id)
    expect(_flash(newcomer)).to_contain_text(t("You are now acting as %(name)s.", name=VOLUNTEERS))
    acting_as = newcomer.get_by_label(t("Acting as"))
    expect(acting_as).to_have_value(org_id)
    expect(acting_as.locator("option:checked")).to_contain_text(VOLUNTEERS)
    shot(newcomer, "06-acting-as")

    # The supervision page lists the verification.
    _header(newcomer, t).get_by_role("link", name=t("Supervision")).click()
    expect(newcomer.get_by_role("heading", name=t("Supervision page"))).to_be_visible()
    verification = newcomer.get_by_role("row").filter(has_text=t("verified a resident"))
    expect(verification.filter(has_text=NEWCOMER_NAME)).to_have_count(1)
    expect(verification.filter(has_text=NEWCOMER_NAME)).to_contain_text("兰苑社区居委会")
    expect(newcomer.get_by_role("row").filter(has_text=t("accepted a member"))).not_to_have_count(0)
    shot(newcomer, "07-supervision")

    # The English switch.
    newcomer.get_by_role("button", name="English").click()
    expect(newcomer.locator("html")).to_have_attribute("lang", "en")
    header = newcomer.get_by_role("navigation", name="Main")
    expect(header.get_by_role("link", name="Communities", exact=True)).to_be_visible()
    expect(header.get_by_role("link", name="Supervision")).to_be_visible()
    expect(header.get_by_role("link", name="My residence")).to_be_visible()
    expect(newcomer.get_by_label("Acting as")).to_have_value(org_id)
    expect(newcomer.get_by_role("heading", name="Supervision page")).to_be_visible()
    shot(newcomer, "08-english")
