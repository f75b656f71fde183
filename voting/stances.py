"""Stances from open ballots for the stakeholder network (see `stakeholders.network.stances`).

Only **open** (not secret) polls count, and only once their results are public: closed
polls, or open polls that show live results — so the network never reveals a vote before
the poll does. Secret ballots are never read (they carry no voter anyway; the filter is on
`Poll.is_secret` so that even a malformed secret ballot with a voter is ignored). Polls on
proposals count only when the proposal is public.

Items and values, by method (``<topic>`` is ``proposal/<id>`` or ``poll/<id>``;
options are referred to by their index):

* yes_no: ``<topic>/poll/<poll>`` — yes +1, no -1, abstain 0;
* plurality: ``<topic>/poll/<poll>/<option>`` — the chosen option +1;
* approval: every option — approved +1, not approved -1;
* score: every option — at least two thirds of the maximum +1, at most a third -1, else 0;
* ranked (borda, schulze, irv, stv): the first choice +1; unranked options (or, when all
  are ranked, the last) -1.

Ballots are stored as ``{"choice": …}`` in the tally engine's shape (voting/tally.py).
Imported by `create_app`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from flask import url_for

from coord.db import db
from proposals.models import Proposal
from proposals.stances import public_clause
from voting.models import Ballot, Poll, PollStatus

RANKED = frozenset({"borda", "schulze", "irv", "stv"})


def _visible_polls(community_id: int) -> sa.ColumnElement[bool]:
    public_proposals = sa.select(Proposal.id).where(public_clause())
    return sa.and_(
        Poll.community_id == community_id,
        Poll.is_secret.is_(False),
        sa.or_(
            Poll.status == PollStatus.CLOSED,
            sa.and_(Poll.status == PollStatus.OPEN, Poll.live_results.is_(True)),
        ),
        sa.or_(Poll.proposal_id.is_(None), Poll.proposal_id.in_(public_proposals)),
    )


def _choice(content: Any) -> Any:
    return content.get("choice") if isinstance(content, dict) else None


def ballot_values(
    method: str, options: list[str], choice: Any, max_score: int = 5
) -> list[tuple[str | None, int]]:
    """Turn one ballot into (option index as text, or None for the whole poll; value) pairs."""
    index = {label: str(i) for i, label in enumerate(options)}
    if method == "yes_no":
        value = {"yes": 1, "no": -1, "abstain": 0}.get(choice) if isinstance(choice, str) else None
        return [] if value is None else [(None, value)]
    if method == "plurality":
        return [(index[choice], 1)] if isinstance(choice, str) and choice in index else []
    if method == "approval" and isinstance(choice, list | tuple | set):
        chosen = {c for c in choice if c in index}
        return [(index[o], 1 if o in chosen else -1) for o in options]
    if method == "score" and isinstance(choice, dict):
        top = max(1, int(max_score))
        rv = []
        for o in options:
            score = choice.get(o, 0)
            if not isinstance(score, int | float):
                continue
            rv.append((index[o], 1 if score >= 2 * top / 3 else -1 if score <= top / 3 else 0))
        return rv
    if method in RANKED and isinstance(choice, list | tuple):
        ranked = [c for c in choice if c in index]
        if not ranked:
            return []
        rv = [(index[ranked[0]], 1)]
        unranked = [o for o in options if o not in ranked]
        if unranked:
            rv.extend((index[o], -1) for o in unranked)
        elif len(ranked) >= 2:
            rv.append((index[ranked[-1]], -1))
        return rv
    return []


def ballot_stances(community_id: int) -> Iterator[tuple]:
    """Yield (voter, item, value, when) for the open ballots of polls with public results."""
    rows = db.session.execute(
        sa.select(
            Ballot.voter_id,
            Ballot.content,
            Ballot.updated_at,
            Poll.id,
            Poll.proposal_id,
            Poll.method,
            Poll.options,
            Poll.settings,
            Poll.closed_at,
        )
        .join(Poll, Poll.id == Ballot.poll_id)
        .where(_visible_polls(community_id), Ballot.voter_id.is_not(None))
        .order_by(Poll.id, Ballot.voter_id)
    )
    for voter, content, updated, poll_id, proposal_id, method, options, settings, closed in rows:
        topic = f"proposal/{proposal_id}" if proposal_id else f"poll/{poll_id}"
        base = f"{topic}/poll/{poll_id}" if proposal_id else topic
        params = (settings or {}).get("params") or {}
        for option, value in ballot_values(
            method, list(options or []), _choice(content), params.get("max_score") or 5
        ):
            item = base if option is None else f"{base}/{option}"
            yield voter, item, value, updated or closed


def ballot_version(community_id: int) -> list:
    """Change marker of the counted ballots (one query)."""
    row = db.session.execute(
        sa.select(
            sa.func.count(Ballot.id),
            sa.func.max(Ballot.updated_at),
            sa.func.count(sa.distinct(Poll.id)),
            sa.func.max(Poll.closed_at),
        )
        .join(Poll, Poll.id == Ballot.poll_id)
        .where(_visible_polls(community_id), Ballot.voter_id.is_not(None))
    ).one()
    return [row[0], _iso(row[1]), row[2], _iso(row[3])]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def poll_labels(topics: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Name ``poll/<id>`` topics by the titles of polls that are not secret (one query)."""
    ids = {int(t[5:]) for t in topics if t.startswith("poll/") and t[5:].isdigit()}
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Poll.id, Poll.title).where(Poll.id.in_(ids), Poll.is_secret.is_(False))
    )
    return {f"poll/{pid}": (title, url_for("voting.detail", poll_id=pid)) for pid, title in rows}
