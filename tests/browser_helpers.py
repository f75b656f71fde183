"""Helpers shared by the browser journeys (import as `from browser_helpers import …`)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page


def choose_and_follow(page: Page, select: Locator, value: str) -> None:
    """Choose `value` in an auto-submitting select and wait for the page it leads to.

    coord.js (a deferred script) submits the form on change; a choice made before it has
    run changes nothing, so wait for the document to be parsed (deferred scripts run by
    then) before choosing.
    """
    page.wait_for_load_state("domcontentloaded")
    with page.expect_navigation():
        select.select_option(value)
