"""The network journey in a real browser, on the demo neighbourhood.

A member of the Lanyuan residents committee (a moderator) opens the network page from the
header, sees the graph and the conflict report, filters the graph to conflicts, clicks a
stakeholder for its details, clicks a strained alliance of the report and sees the suggested
mediator, and opens a proposal's conflict map. Screenshots go to tests/browser/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from coord.cli import DEMO_PASSWORD

Translate = Callable[..., str]
Shot = Callable[[Page, str], Path]
VOLUNTEERS = "银龄志愿者协会"
ANJU = "安居物业服务有限公司"


def sign_in(page: Page, t: Translate, username: str) -> None:
    page.goto("/login")
    page.get_by_label(t("Username")).fill(username)
    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    expect(page.get_by_role("navigation", name=t("Main"))).to_be_visible()


def _graph(page: Page):
    return page.locator("#network-graph")


def _wait_rendered(page: Page) -> None:
    expect(_graph(page).locator("canvas").first).to_be_attached()
    expect(_graph(page)).to_have_attribute("data-links", re.compile(r"^[1-9]\d*$"))


def _click_node(page: Page, node_id: int) -> None:
    """Click a stakeholder on the canvas, where Cytoscape drew it."""
    box = _graph(page).bounding_box()
    x, y = page.evaluate(
        """(id) => {
            const cy = document.getElementById("network-graph").cy;
            const n = cy.getElementById(String(id));
            cy.center(n);
            const p = n.renderedPosition();
            return [p.x, p.y];
        }""",
        node_id,
    )
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_a_moderator_finds_conflicts_a_mediator_and_a_proposals_conflict_map(
    page: Page, t: Translate, shot: Shot
) -> None:
    sign_in(page, t, "lanyuan_rc")
    page.get_by_role("navigation", name=t("Main")).get_by_role("link", name=t("Network")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("兰苑社区")
    expect(page.locator(".scope-note.managers")).to_be_visible()  # sees managers-only ties
    _wait_rendered(page)
    report = page.get_by_role("region", name=t("Conflict report"))
    expect(report.get_by_role("heading", name=t("Strongest conflicts"))).to_be_visible()
    expect(report.get_by_role("heading", name=t("Since last month"))).to_be_visible()
    shot(page, "network-01-graph-and-report")

    # Filter the graph to conflicts: only negative (red) links remain.
    page.get_by_label(t("Show")).select_option("negative")
    expect(_graph(page)).to_have_attribute("data-signs", "-1")
    assert "sign=negative" in page.url
    shot(page, "network-02-conflicts-only")

    # Click Anju on the canvas: the details panel names it and links its profile.
    anju_id = page.evaluate(
        """(name) => document.getElementById("network-graph").cy
            .nodes().filter((n) => n.data("name") === name)[0].id()""",
        ANJU,
    )
    _click_node(page, int(anju_id))
    panel = page.locator("#network-panel")
    expect(panel.get_by_role("heading", name=ANJU)).to_be_visible()
    expect(panel.get_by_role("link", name=t("Open profile"))).to_have_attribute(
        "href", f"/stakeholders/{anju_id}"
    )

    # Back to everything, then a strained alliance of the report: the suggested mediator.
    page.get_by_label(t("Show")).select_option("")
    expect(_graph(page)).to_have_attribute("data-signs", "-1,1")
    triads = page.locator(".report-triads button.sentence")
    mediated = triads.filter(has_text=VOLUNTEERS).first
    expect(mediated).to_be_visible()
    mediated.click()
    note = panel.locator(".mediator-note")
    expect(note).to_contain_text(t("Suggested mediator"))
    expect(note.get_by_role("link", name=VOLUNTEERS)).to_be_visible()
    highlighted = page.evaluate(
        """() => document.getElementById("network-graph").cy
            .nodes(".highlight").map((n) => n.data("name"))"""
    )
    assert VOLUNTEERS in highlighted and len(highlighted) == 3
    shot(page, "network-03-triad-and-mediator")

    # A proposal's conflict map: Anju's performance review by the owners committee.
    page.goto("/proposals")
    page.get_by_role("link", name="安居物业服务满意度征询").click()
    conflict = page.get_by_role("region", name=t("Conflict map"))
    expect(conflict).to_be_visible()
    sentence = conflict.locator(".conflict-sentence")
    expect(sentence).to_contain_text(ANJU)
    expect(sentence).to_contain_text("兰苑业主委员会")
    expect(conflict.get_by_role("link", name=VOLUNTEERS)).to_be_visible()  # ties to both
    conflict.scroll_into_view_if_needed()
    shot(page, "network-04-proposal-conflict-map")

    # The waste-sorting station: opinion groups and the bridging statement.
    page.goto("/proposals")
    page.get_by_role("link", name="新河社区垃圾分类投放点选址").click()
    conflict = page.get_by_role("region", name=t("Conflict map"))
    expect(conflict.locator(".bridging")).to_contain_text("20米")
    conflict.locator(".opinion-groups").scroll_into_view_if_needed()
    shot(page, "network-05-opinion-groups")


def test_a_visitor_sees_the_grid_and_no_managers_only_relation(
    page: Page, t: Translate, shot: Shot
) -> None:
    page.goto("/communities/1/network")
    _wait_rendered(page)
    expect(page.locator(".scope-note.managers")).to_have_count(0)
    body = page.content()
    assert "小店夜间进货噪音扰民" not in body
    explanations = page.evaluate(
        """() => document.getElementById("network-graph").cy
            .edges().map((e) => e.data("explanation") || "").join("\\n")"""
    )
    assert "小店夜间进货噪音扰民" not in explanations
    page.get_by_role("link", name=t("Power–interest grid")).click()
    expect(page.locator("figure.grid-figure svg")).to_be_visible()
    shot(page, "network-06-power-interest-grid")
