"""The main demo pages, rendered in Chinese, show no raw state or action codes."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import sqlalchemy as sa

from coord import accounts
from coord.cli import load_demo
from coord.db import db, utcnow
from proposals import lifecycle
from proposals.models import Proposal
from proposals.tenders.models import Tender
from stakeholders.acting import Actor, identities
from voting import services

#: State codes with an underscore or a dot never read as words: decided_adopted, proposal.publish.
RAW = re.compile(
    r"\b(?:"
    + "|".join(sorted({s for states in lifecycle.STATES.values() for s in states if "_" in s}))
    + r")\b|\b(?:proposal|poll|tender|request|plan)\.[a-z_]+\b"
)


class _Text(HTMLParser):
    """Collect the text a reader sees (no scripts, styles or attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """Return the visible text of a page."""
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def _first(*where) -> int:
    return db.session.scalar(sa.select(Proposal.id).where(*where).order_by(Proposal.id).limit(1))


def _open_poll(app) -> int:
    user = accounts.find_user("lanyuan_rc")
    with app.test_request_context():
        committee = identities(user)[-1]
        values = {
            "community_id": committee.community_id,
            "title": "兰苑社区议事会成员推选",
            "method": "yes_no",
            "closes_at": utcnow() + timedelta(days=7),
        }
        rv = services.open_poll(Actor(user, committee), values).id
    db.session.commit()
    return rv


def _pages(app) -> list[str]:
    under_way = _first(Proposal.kind == "consultation", Proposal.status == "deliberation")
    decided = _first(Proposal.status.in_(("decided_adopted", "decided_rejected", "approved")))
    return [
        "/",
        "/proposals",
        f"/proposals/{under_way}",
        f"/proposals/{decided}",
        f"/polls/{_open_poll(app)}",
        f"/tenders/{db.session.scalar(sa.select(sa.func.min(Tender.id)))}",
        f"/proposals/{_first(Proposal.kind == 'request')}",
        f"/proposals/{_first(Proposal.kind == 'plan', Proposal.status != 'draft')}",
        "/requests",
        "/plans",
        "/tenders",
    ]


def test_the_check_sees_raw_codes_only_in_visible_text():
    page = '<p>状态：decided_adopted</p><a href="/x?s=in_progress">办理中</a><script>a.b</script>'
    assert RAW.findall(visible_text(page)) == ["decided_adopted"]
    assert RAW.findall(visible_text("<p>proposal.publish</p>")) == ["proposal.publish"]


def test_main_pages_show_no_raw_codes(app, client, login_as):
    load_demo()
    pages = _pages(app)
    problems = []
    for username in (None, "social", "owners"):
        if username:
            login_as(accounts.find_user(username))
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            found = RAW.findall(visible_text(response.get_data(as_text=True)))
            if found:
                problems.append(f"{username or 'anonymous'} {url}: {sorted(set(found))}")
    assert not problems, "\n".join(problems)
