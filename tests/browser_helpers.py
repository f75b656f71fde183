"""Helpers shared by the browser journeys (import as `from browser_helpers import …`)."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from coord.cli import DEMO_PASSWORD


def choose_and_follow(page: Page, select: Locator, value: str) -> None:
    """Choose `value` in an auto-submitting select and wait for the page it leads to.

    coord.js (a deferred script) submits the form on change; a choice made before it has
    run changes nothing, so wait for the document to be parsed (deferred scripts run by
    then) before choosing.
    """
    page.wait_for_load_state("domcontentloaded")
    with page.expect_navigation():
        select.select_option(value)


def sign_in(page: Page, t: Callable[..., str], username: str) -> None:
    """Sign in through the login form (on a phone the menu stays folded)."""
    page.goto("/login")
    page.get_by_label(t("Username")).fill(username)
    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    expect(page).not_to_have_url(re.compile(r"/login"))
