"""Count a poll: load its ballots, run the tally engine, add turnout and quorums, digest.

Everything here reads; nothing writes. The same functions compute the result stored at
close, the live results of open polls, the public recount of the bulletin board and the
`flask coord voting recount` command, so they always agree; the exports (JSON, CSV) and the
bulletin board lines that pages and the API show are built here too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from coord.audit import canonical_json
from coord.db import db
from stakeholders.models import Stakeholder
from voting import permissions as perm
from voting import receipt_code
from voting import tally as engine
from voting.models import Ballot, Elector, Participation, Poll, PollStatus
from voting.settings import MIN_GROUP_BALLOTS

#: Bumped when the stored result's shape changes (a recount compares like with like).
RESULT_VERSION = 1

#: How a counted poll's decision reads (pages, exports and plans that cite a poll).
DECISION_LABELS = {
    "carried": _l("Carried"),
    "not_carried": _l("Not carried"),
    "winners": _l("Decided"),
    "tied": _l("Tied: no single winner"),
    "quorum_not_met": _l("Quorum not met: the result is not binding"),
    "no_ballots": _l("No ballots were cast"),
}


@dataclass(frozen=True)
class BallotRow:
    """One ballot as the count sees it (and the bulletin board shows it)."""

    receipt: str
    kind: str
    choice: Any
    voter_id: int | None = None
    reason: str = ""

    def canonical(self) -> str:
        """The canonical JSON the ballots digest is computed over."""
        return canonical_json({"receipt": self.receipt, "kind": self.kind, "choice": self.choice})


def content_json(choice: Any) -> str:
    """The canonical JSON of a ballot's content (what its receipt code hashes)."""
    return canonical_json({"choice": choice})


def receipt_for(choice: Any, nonce: str) -> str:
    """Return the receipt code: SHA-256 of the canonical ballot content followed by the nonce."""
    return hashlib.sha256((content_json(choice) + nonce).encode()).hexdigest()


def load_ballots(poll: Poll) -> list[BallotRow]:
    """Return the poll's ballots sorted by receipt (the bulletin order, independent of storage)."""
    rows = db.session.execute(
        sa.select(Ballot.receipt, Ballot.kind, Ballot.content, Ballot.voter_id, Ballot.reason)
        .where(Ballot.poll_id == poll.id)
        .order_by(Ballot.receipt)
    ).all()
    return [
        BallotRow(r.receipt, r.kind, (r.content or {}).get("choice"), r.voter_id, r.reason or "")
        for r in rows
    ]


def ballots_digest(ballots: list[BallotRow]) -> str:
    """SHA-256 over the sorted canonical ballots, one per line."""
    lines = sorted(b.canonical() for b in ballots)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _plain(result: engine.TallyResult) -> dict[str, Any]:
    return {
        "winners": list(result.winners),
        "ranking": [list(t) for t in result.ranking],
        "tied": result.tied,
        "carried": result.carried,
        "details": result.details,
    }


def turnout(poll: Poll) -> dict[str, Any]:
    """Electorate and participation overall and per kind, from the snapshot."""
    electors = dict(
        db.session.execute(
            sa.select(Elector.kind, sa.func.count())
            .where(Elector.poll_id == poll.id)
            .group_by(Elector.kind)
        ).all()
    )
    voted = dict(
        db.session.execute(
            sa.select(Elector.kind, sa.func.count())
            .select_from(Participation)
            .join(
                Elector,
                sa.and_(
                    Elector.poll_id == Participation.poll_id,
                    Elector.stakeholder_id == Participation.voter_id,
                ),
            )
            .where(Participation.poll_id == poll.id)
            .group_by(Elector.kind)
        ).all()
    )
    by_kind = {}
    for kind in sorted(set(electors) | set(voted)):
        e, v = electors.get(kind, 0), voted.get(kind, 0)
        by_kind[kind] = {"electorate": e, "voted": v, "share": v / e if e else 0.0}
    total_e, total_v = sum(electors.values()), sum(voted.values())
    return {
        "electorate": total_e,
        "voted": total_v,
        "share": total_v / total_e if total_e else 0.0,
        "by_kind": by_kind,
    }


def _quorum(settings: dict[str, Any], turn: dict[str, Any]) -> dict[str, Any]:
    required = int(settings.get("quorum") or 0)
    overall = {"required": required, "met": turn["share"] * 100 >= required}
    by_kind = {}
    for kind, pct in sorted((settings.get("kind_quorum") or {}).items()):
        share = turn["by_kind"].get(kind, {}).get("share", 0.0)
        by_kind[kind] = {"required": pct, "met": share * 100 >= pct}
    met = overall["met"] and all(q["met"] for q in by_kind.values())
    return {"overall": overall, "by_kind": by_kind, "met": met}


def compute(poll: Poll, ballots: list[BallotRow] | None = None) -> dict[str, Any]:
    """Count `poll` from its ballots (or the given ones): the result as plain JSON data."""
    if ballots is None:
        ballots = load_ballots(poll)
    # A canonical order: the count (and its floating point sums) never depends on storage.
    ordered = sorted(ballots, key=lambda b: b.canonical())
    settings = poll.settings or {}
    rule = settings.get("rule", "pooled")
    extra: dict[str, Any] = {}
    weights = None
    if rule == "weighted":
        shares = settings.get("shares") or {}
        kinds = {b.kind for b in ordered} | set(shares)
        extra["group_weights"] = {k: shares.get(k, 0) for k in sorted(kinds)}
        if ordered and not any(shares.get(b.kind) for b in ordered):
            # Only groups without a share voted: nothing counts.
            weights = [0] * len(ordered)
            rule, extra = "pooled", {}
    if rule == "concurrent" and settings.get("min_groups"):
        extra["min_groups"] = settings["min_groups"]
    counted = engine.group_tally(
        poll.method,
        poll.options,
        [b.choice for b in ordered],
        [b.kind for b in ordered],
        rule=rule,
        weights=weights,
        **extra,
        **(settings.get("params") or {}),
    )
    turn = turnout(poll)
    quorum = _quorum(settings, turn)
    carried = counted.carried
    if poll.method == "yes_no":
        decision = "carried" if carried and quorum["met"] else "not_carried"
    elif not ballots:
        decision = "no_ballots"
    elif not quorum["met"]:
        decision = "quorum_not_met"
    elif counted.overall.tied:
        decision = "tied"
    else:
        decision = "winners"
    rv = {
        "version": RESULT_VERSION,
        "method": poll.method,
        "options": list(poll.options),
        "rule": settings.get("rule", "pooled"),
        "params": settings.get("params") or {},
        "ballots": len(ballots),
        "overall": _plain(counted.overall),
        "by_kind": {g: _plain(r) for g, r in counted.by_group.items()},
        "groups": counted.details,
        "carried": carried,
        "turnout": turn,
        "quorum": quorum,
        "decision": decision,
        "passed": decision in ("carried", "winners"),
    }
    return json.loads(json.dumps(rv))  # exactly what a JSON column gives back


def suppressed_kinds(poll: Poll, tally_result: dict[str, Any]) -> set[str]:
    """Kinds whose breakdown is withheld: fewer than 5 ballots in a secret poll."""
    if not poll.is_secret:
        return set()
    return {
        kind
        for kind, entry in (tally_result.get("groups", {}).get("groups") or {}).items()
        if entry.get("ballots", 0) < MIN_GROUP_BALLOTS
    }


def public(poll: Poll, tally_result: dict[str, Any]) -> dict[str, Any]:
    """The result as everyone may see it: small groups of secret polls withheld."""
    hidden = suppressed_kinds(poll, tally_result)
    rv = json.loads(json.dumps(tally_result))
    for kind in hidden:
        rv["by_kind"][kind] = {"suppressed": True}
        entry = rv["groups"]["groups"][kind]
        rv["groups"]["groups"][kind] = {
            "ballots": entry.get("ballots"),
            "share": entry.get("share"),
            "suppressed": True,
        }
    if hidden and "groups_carried" in rv["groups"]:
        rv["groups"]["groups_carried"] = [
            g for g in rv["groups"]["groups_carried"] if g not in hidden
        ]
    rv["suppressed"] = sorted(hidden)
    return rv


def bulletin_kind(poll: Poll, row: BallotRow, hidden: set[str]) -> str | None:
    """The kind a bulletin line shows (None when its group is too small to show)."""
    return None if row.kind in hidden else row.kind


def shown_result(poll: Poll) -> dict[str, Any] | None:
    """The result everyone may see now: stored at close, live for open polls that allow it."""
    if not perm.results_visible(poll):
        return None
    if poll.status == PollStatus.CLOSED:
        return public(poll, poll.result["tally"])
    return public(poll, compute(poll))


def hidden_reason(poll: Poll) -> str:
    """Say why a poll's result is not shown (yet)."""
    if poll.is_counting:
        return _("This poll is closed; its result is being counted.")
    return _("The results are hidden until the poll closes.")


def export_json(poll: Poll, shown: dict[str, Any]) -> dict[str, Any]:
    """The poll and its shown result as one JSON document (the download and the API)."""
    return {
        "poll": {
            "id": poll.id,
            "title": poll.title,
            "method": poll.method,
            "options": poll.options,
            "secret": poll.is_secret,
            "status": poll.status.value,
            "closed_at": poll.closed_at.isoformat() if poll.closed_at else None,
            "ballots_digest": poll.ballots_digest,
        },
        "result": shown,
    }


_MEASURES = {
    "yes_no": "counts",
    "plurality": "counts",
    "approval": "counts",
    "score": "totals",
    "borda": "points",
}


def csv_rows(poll: Poll, shown: dict[str, Any]) -> list[list[Any]]:
    """The result as CSV rows: section, kind, option, measure, value."""
    rows: list[list[Any]] = [["section", "kind", "option", "measure", "value"]]
    groups = [("overall", "", shown["overall"])] + [
        ("kind", k, v) for k, v in sorted(shown["by_kind"].items())
    ]
    for section, kind, entry in groups:
        if entry.get("suppressed"):
            rows.append([section, kind, "", "suppressed", f"fewer than {MIN_GROUP_BALLOTS}"])
            continue
        measure = _MEASURES.get(poll.method)
        if measure:
            for option, value in entry["details"][measure].items():
                rows.append([section, kind, option, measure, value])
        for place, tier in enumerate(entry["ranking"], 1):
            for option in tier:
                rows.append([section, kind, option, "place", place])
        if entry.get("carried") is not None:
            rows.append([section, kind, "", "carried", entry["carried"]])
    turn = shown["turnout"]
    rows.append(["turnout", "", "", "electorate", turn["electorate"]])
    rows.append(["turnout", "", "", "voted", turn["voted"]])
    for kind, t in sorted(turn["by_kind"].items()):
        rows.append(["turnout", kind, "", "electorate", t["electorate"]])
        rows.append(["turnout", kind, "", "voted", t["voted"]])
    rows.append(["decision", "", "", shown["decision"], shown["passed"]])
    return rows


def bulletin_lines(poll: Poll) -> list[dict[str, Any]]:
    """Every ballot of a closed poll, sorted by receipt; small groups' kinds withheld."""
    hidden = suppressed_kinds(poll, poll.result["tally"])
    voters = {}
    rows = load_ballots(poll)
    if not poll.is_secret:
        ids = {r.voter_id for r in rows if r.voter_id}
        voters = {
            s.id: s.name
            for s in db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(ids)))
        }
    return [
        {
            "receipt": r.receipt,
            "code": receipt_code.short_code(r.receipt),
            "kind": bulletin_kind(poll, r, hidden),
            "choice": r.choice,
            "voter": voters.get(r.voter_id) if r.voter_id else None,
            "reason": r.reason or None,
        }
        for r in rows
    ]
