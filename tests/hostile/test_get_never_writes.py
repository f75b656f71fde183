"""A GET never writes and never fails: every page and JSON endpoint of the demo neighbourhood,
read anonymously, by the platform administrator, by a residents committee's staff and by a
resident, runs no INSERT, UPDATE or DELETE and answers without a server error.

The demo has polls, tenders and review steps whose deadlines fall at different times, so this
is also where a page that settles "what time decided" on reading would show up.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import AnyConverter, Rule

from coord import accounts
from coord.cli import load_demo
from coord.db import db
from coord.models import Community, User
from proposals.deliberation.models import Amendment, Comment, Position
from proposals.models import Attachment, Proposal
from proposals.tenders.models import Bid, Challenge, Tender
from stakeholders.models import Relation, ResidentProfile, Stakeholder
from voting.models import Poll

from helpers import QueryCounter

#: URL argument → the model whose ids fill it.
MODELS = {
    "amendment_id": Amendment,
    "attachment_id": Attachment,
    "bid_id": Bid,
    "challenge_id": Challenge,
    "comment_id": Comment,
    "community_id": Community,
    "poll_id": Poll,
    "position_id": Position,
    "profile_id": ResidentProfile,
    "proposal_id": Proposal,
    "relation_id": Relation,
    "stakeholder_id": Stakeholder,
    "tender_id": Tender,
}
#: Other arguments: the values worth reading (a rule's `any(…)` converter lists its own).
VALUES = {"number": [1, 2]}
READERS = [None, "admin", "lanyuan_rc", "wangguihua"]
WRITES = ("INSERT", "UPDATE", "DELETE")


def _values(rule: Rule, name: str) -> list:
    converter = rule._converters[name]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)
    if name in VALUES:
        return VALUES[name]
    ids = db.session.scalars(sa.select(MODELS[name].id).order_by(MODELS[name].id)).all()
    return ids[:1]


def readable_urls(app: Flask) -> list[str]:
    """A URL of every GET rule (the first row of each id, every format), static files aside."""
    rv = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or "link_id" in rule.arguments:
            continue
        rv += _expand(app, rule)
    return rv


def _expand(app: Flask, rule: Rule) -> list[str]:
    choices = {name: _values(rule, name) for name in sorted(rule.arguments)}
    if any(not values for values in choices.values()):
        return []
    width = max((len(v) for v in choices.values()), default=1)
    rv = []
    adapter = app.url_map.bind("localhost")
    for i in range(width):
        args = {name: values[min(i, len(values) - 1)] for name, values in choices.items()}
        rv.append(adapter.build(rule.endpoint, args, method="GET"))
    return sorted(set(rv))


# It walks every page of the demo for several readers: ~30 s alone, more beside other
# workers; the suite-wide 60 s limit is for single pages.
@pytest.mark.timeout(240)
def test_no_get_writes_or_fails_for_any_reader(app, client, login_as):
    load_demo()
    urls = readable_urls(app)
    assert len(urls) > 80  # every family's pages are there
    problems = []
    for username in READERS:
        if username is not None:
            user = accounts.find_user(username)
            assert isinstance(user, User)
            login_as(user)
        for url in urls:
            with QueryCounter(db.engine) as counter:
                response = client.get(url)
            writes = [s for s in counter.statements if s.lstrip().upper().startswith(WRITES)]
            if writes:
                problems.append(f"{username or 'anonymous'} GET {url} wrote: {writes[0][:120]}")
            if response.status_code >= 500:
                problems.append(f"{username or 'anonymous'} GET {url} → {response.status_code}")
    assert not problems, "\n".join(problems)
