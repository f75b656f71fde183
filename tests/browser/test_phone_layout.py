"""Every main page on a 390×844 phone: a compact header with a menu button, no sideways scroll."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from coord import accounts
from coord.cli import DEMO_PASSWORD
from coord.db import db, utcnow
from proposals.models import Proposal
from stakeholders.acting import Actor, identities
from voting import services
from voting.models import Poll

PHONE = {"width": 390, "height": 844}
MAX_HEADER = 126  # 15% of 844


def _first(model, *where) -> int:
    return db.session.scalar(sa.select(model.id).where(*where).order_by(model.id).limit(1))


def _open_poll() -> int:
    """Open a stand-alone poll in the residents committee's community (the demo has none)."""
    user = accounts.find_user("lanyuan_rc")
    committee = identities(user)[-1]
    values = {
        "community_id": committee.community_id,
        "title": "兰苑社区议事会成员推选",
        "method": "yes_no",
        "closes_at": utcnow() + timedelta(days=7),
    }
    rv = services.open_poll(Actor(user, committee), values)
    db.session.commit()
    return rv.id


def _pages(app: Flask) -> dict[str, str]:
    """Name the main pages of the demo by their path."""
    with app.test_request_context():
        poll_id = _first(Poll) or _open_poll()
        consultation = _first(
            Proposal, Proposal.kind == "consultation", Proposal.status == "deliberation"
        )
        plan = _first(Proposal, Proposal.kind == "plan", Proposal.status != "draft")
        return {
            "home": "/",
            "proposals": "/proposals",
            "proposal": f"/proposals/{consultation}",
            "poll": f"/polls/{poll_id}",
            "request": f"/proposals/{_first(Proposal, Proposal.kind == 'request')}",
            "plan": f"/proposals/{plan}",
            "tenders": "/tenders",
            "dashboard": "/dashboard",
        }


def _phone(browser: Browser, live_server: str) -> Page:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, base_url=live_server)
    context.set_default_timeout(5_000)
    return context.new_page()


def _sign_in(page: Page, t: Callable[..., str], username: str) -> None:
    page.goto("/login")
    page.get_by_label(t("Username")).fill(username)
    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    page.wait_for_url(lambda url: "/login" not in url)


def _check(page: Page, path: str, name: str, shot: Callable[[Page, str], Path]) -> None:
    page.goto(path)
    width = page.evaluate("document.documentElement.scrollWidth")
    header = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().height")
    shot(page, f"phone-{name}")
    assert width <= PHONE["width"], f"{path} scrolls sideways: {width}px"
    assert header <= MAX_HEADER, f"{path} header is {header}px"


def test_main_pages_fit_a_phone(
    browser: Browser, live_server: str, live_app: Flask, t, shot, page_problems
) -> None:
    page = _phone(browser, live_server)
    page_problems.watch(page)
    _sign_in(page, t, "wangguihua")
    for name, path in _pages(live_app).items():
        _check(page, path, name, shot)


def test_the_menu_opens_and_holds_the_account_and_acting_as(
    browser: Browser, live_server: str, t, shot, page_problems
) -> None:
    page = _phone(browser, live_server)
    page_problems.watch(page)
    _sign_in(page, t, "anju")
    nav = page.get_by_role("navigation", name=t("Main"))
    button = page.locator(".menu-toggle > summary")
    expect(nav).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name=t("Tenders"))).to_be_visible()
    expect(page.get_by_label(t("Acting as"))).to_be_visible()
    expect(page.get_by_role("button", name=t("Sign out"))).to_be_visible()
    shot(page, "phone-menu-open")
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(button).to_be_focused()


def test_desktop_keeps_the_open_navigation(page: Page, t, shot) -> None:
    page.goto("/")
    nav = page.get_by_role("navigation", name=t("Main"))
    expect(nav.get_by_role("link", name=t("Tenders"))).to_be_visible()
    expect(nav.get_by_role("link", name=t("Plans"))).to_be_visible()
    expect(page.locator(".menu-toggle")).to_be_hidden()
    expect(page.get_by_role("heading", name=t("Consultations under way"))).to_be_visible()
    shot(page, "desktop-home-signed-out")
