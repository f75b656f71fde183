"""Voting use cases: open, edit, extend and close polls; cast and change ballots; recount.

Integrity rules worth knowing:

- One ballot per voter is guaranteed by the unique constraint on `participations`
  (poll, voter); `cast_ballot` writes the participation and the ballot in the caller's one
  transaction, and a duplicate becomes `Conflict` ("already voted"), never a 500.
- Every write on a poll locks its row first. On PostgreSQL, casting takes a shared lock
  (`FOR KEY SHARE`: many voters at once) and closing, extending, editing and opening take an
  exclusive one (`FOR UPDATE`), so no ballot lands after close. On SQLite every writer
  already holds the database's write lock (`BEGIN IMMEDIATE`, see coord.db).
- Times are the server's (`utcnow()`); a client never says what time it is.
- Deadlines: the scheduled tick (`voting.cli.settle_due_polls`) opens polls and closes and
  counts them (`settle`); reading never writes. A use case on a poll whose opening time
  has passed opens it first, inside its own transaction (`_open_if_due`).
- A secret ballot is sealed while the poll is open (`SealedBallot`: its choice, kind and
  receipt code encrypted under a per-poll key derived from the server's data key, padded to
  one size, random id, no voter, no time); at close it is decrypted into the ballot box in
  random order with a fresh id, in one transaction, and the sealed copy deleted. So no copy
  of the database taken during voting links a voter to a choice (docs/voting.md). The
  receipt code is SHA-256(canonical content + random nonce), returned once to the voter (the
  pages show its short code, never the nonce) and never stored with anything that names them.
- Nothing here notifies, logs or audits who voted what: the audit trail records opening,
  edits, extensions and closing of polls only; an early end notifies those who voted (that
  they voted is known to the organiser already), with the reason.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from coord import audit, crypto
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import Community, User
from coord.notifications import N_, Note, notify, register_kind
from proposals import services as proposal_services
from proposals.models import Proposal, Visibility
from stakeholders.acting import Actor, own_identity
from stakeholders.models import Kind, ResidenceStatus, ResidentProfile, Stakeholder
from voting import permissions as perm
from voting import results, sealing
from voting import settings as poll_settings
from voting import tally as engine
from voting.models import Ballot, Elector, Participation, Poll, PollStatus, SealedBallot

MAX_REASON = 500
ACTIVE = (PollStatus.SCHEDULED, PollStatus.OPEN)
#: Shuffles a secret poll's ballot box at close (tests may put a deterministic one here).
BALLOT_SHUFFLE = secrets.SystemRandom()
POLL_ENDED = "poll_ended"

register_kind(POLL_ENDED, N_("Polls I voted in that end early"))


@dataclass(frozen=True)
class Receipt:
    """What a voter's ballot gives back: its receipt; the nonce and content stay server-side.

    The nonce proves which ballot is the voter's, so it is shown to nobody (docs/voting.md).
    """

    receipt: str
    nonce: str
    content: str


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _ident(poll: Poll) -> int:
    state = sa.inspect(poll)
    return state.identity[0] if state.identity else poll.id


def _lock(poll: Poll, *, shared: bool = False) -> Poll:
    """Lock the poll's row for the rest of the transaction and reload it."""
    poll_id = _ident(poll)
    if _is_postgres():
        stmt = (
            sa.select(Poll).where(Poll.id == poll_id).with_for_update(read=shared, key_share=shared)
        )
    else:
        # The first statement writes, so even a deferred transaction takes the write lock.
        db.session.execute(sa.text("UPDATE polls SET id = id WHERE id = :id"), {"id": poll_id})
        stmt = sa.select(Poll).where(Poll.id == poll_id)
    rv = db.session.scalar(stmt.execution_options(populate_existing=True))
    if rv is None:
        raise DomainError(str(_l("This poll does not exist.")), status=404)
    return rv


def _audit_public(poll: Poll) -> bool:
    return poll.proposal is None or poll.proposal.visibility == Visibility.PUBLIC


def _audit(action: str, poll: Poll, actor: Actor | None, data: dict[str, Any]) -> None:
    audit.record(
        action,
        "poll",
        poll.id,
        community_id=poll.community_id,
        is_public=_audit_public(poll),
        data={"proposal_id": poll.proposal_id, **data},
        **(actor.audit_ids if actor else {}),
    )


# --------------------------------------------------------------------------- electorate


def electorate_query(poll: Poll) -> sa.Select:
    """Select (id, kind) of every stakeholder eligible under the poll's settings."""
    elig = poll.settings["eligibility"]
    kinds = [Kind(k) for k in elig["kinds"]]
    invited = elig.get("invited") or []
    by_community = elig.get("community", True) and not invited
    profile = sa.select(ResidentProfile.id).where(ResidentProfile.user_id == Stakeholder.user_id)
    if elig.get("verified_only", True):
        profile = profile.where(ResidentProfile.status == ResidenceStatus.VERIFIED)
    if by_community:
        profile = profile.where(ResidentProfile.community_id == poll.community_id)
    resident = sa.and_(Stakeholder.kind == Kind.RESIDENT, Stakeholder.user_id.is_not(None))
    if elig.get("verified_only", True) or by_community:
        resident = sa.and_(resident, profile.exists())
    organisation = sa.and_(Stakeholder.kind != Kind.RESIDENT, Stakeholder.is_confirmed.is_(True))
    if by_community:
        street_id = sa.select(Community.street_id).where(Community.id == poll.community_id)
        organisation = sa.and_(
            organisation,
            sa.or_(
                Stakeholder.community_id == poll.community_id,
                sa.and_(
                    Stakeholder.community_id.is_(None),
                    Stakeholder.street_id == street_id.scalar_subquery(),
                ),
            ),
        )
    stmt = sa.select(Stakeholder.id, Stakeholder.kind).where(
        Stakeholder.deleted_at.is_(None),
        Stakeholder.kind.in_(kinds),
        sa.or_(resident, organisation),
    )
    if invited:
        stmt = stmt.where(Stakeholder.id.in_(invited))
    return stmt


def _snapshot(poll: Poll) -> None:
    """Write the electorate (one INSERT … SELECT) and its size."""
    db.session.execute(sa.delete(Elector).where(Elector.poll_id == poll.id))
    eligible = electorate_query(poll).subquery()
    db.session.execute(
        sa.insert(Elector).from_select(
            ["poll_id", "stakeholder_id", "kind"],
            sa.select(sa.literal(poll.id, sa.Integer), eligible.c.id, eligible.c.kind),
        )
    )
    poll.electorate_size = db.session.scalar(
        sa.select(sa.func.count()).where(Elector.poll_id == poll.id)
    )


def _start(poll: Poll, actor: Actor | None = None) -> None:
    _snapshot(poll)
    poll.status = PollStatus.OPEN
    _audit("poll.open", poll, actor, {"electorate": poll.electorate_size})


def _open_if_due(poll: Poll, now: datetime, actor: Actor | None = None) -> None:
    """Open a locked poll whose opening time has passed (the tick may not have run yet)."""
    if poll.status == PollStatus.SCHEDULED and poll.opens_at <= now:
        _start(poll, actor)


# --------------------------------------------------------------------------- opening


def _check_invited(values: dict[str, Any]) -> None:
    wanted = set(values["settings"]["eligibility"]["invited"])
    if wanted:
        found = db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(wanted))).all()
        if {s.id for s in found} != wanted:
            raise DomainError(str(_l("Invite only existing stakeholders.")), field="invited")
        unconfirmed = "、".join(s.name for s in found if s.is_unconfirmed)
        if unconfirmed:
            raise DomainError(
                str(
                    _l(
                        "Not confirmed by the street office, so it cannot vote: %(names)s.",
                        names=unconfirmed,
                    )
                ),
                field="invited",
            )


def invitable(community: Community) -> list[Stakeholder]:
    """Return who may be invited to a community's poll: its and its street's, once confirmed."""
    return list(
        db.session.scalars(
            sa.select(Stakeholder)
            .where(
                Stakeholder.deleted_at.is_(None),
                sa.or_(
                    Stakeholder.community_id == community.id,
                    sa.and_(
                        Stakeholder.community_id.is_(None),
                        Stakeholder.street_id == community.street_id,
                        Stakeholder.kind != Kind.RESIDENT,
                    ),
                ),
                sa.or_(Stakeholder.kind == Kind.RESIDENT, Stakeholder.is_confirmed.is_(True)),
            )
            .order_by(Stakeholder.kind, Stakeholder.name)
        )
    )


def active_poll(proposal: Proposal) -> Poll | None:
    """Return the proposal's poll (the latest one that was not cancelled)."""
    return db.session.scalar(
        sa.select(Poll)
        .where(Poll.proposal_id == proposal.id, Poll.status != PollStatus.CANCELLED)
        .order_by(Poll.id.desc())
        .limit(1)
    )


def open_poll(actor: Actor, data: dict[str, Any]) -> Poll:
    """Open a poll on a consultation (moving it to voting) or stand-alone in a community."""
    proposal = None
    if data.get("proposal_id"):
        proposal = db.session.get(Proposal, data["proposal_id"])
        if proposal is None:
            raise DomainError(str(_l("This proposal does not exist.")), status=404)
        if not perm.can_open_on_proposal(actor.user, actor.stakeholder.id, proposal):
            raise NotAllowed(
                str(_l("Only the author or the residents committee opens a poll on this proposal."))
            )
        if active_poll(proposal) is not None:
            raise Conflict(str(_l("This proposal already has a poll.")))
        community = proposal.community
    else:
        community = db.session.get(Community, data.get("community_id") or 0)
        if community is None:
            raise DomainError(str(_l("Choose a community.")), field="community_id")
        if not perm.can_open_in_community(actor.user, community):
            raise NotAllowed(str(_l("Only the residents committee opens polls in a community.")))
    values = poll_settings.clean(data)
    _check_invited(values)
    now = utcnow()
    opens, closes = poll_settings.clean_window(data.get("opens_at"), data.get("closes_at"), now=now)
    poll = Poll(
        community_id=community.id,
        proposal_id=proposal.id if proposal else None,
        status=PollStatus.SCHEDULED,
        opens_at=opens,
        closes_at=closes,
        created_by_id=actor.user.id,
        actor_id=actor.stakeholder.id,
        **values,
    )
    db.session.add(poll)
    db.session.flush()
    if proposal is not None and proposal.status == "deliberation":
        proposal_services.transition_proposal(actor, proposal, "open_voting")
    _audit(
        "poll.create",
        poll,
        actor,
        {
            "title": poll.title,
            "method": poll.method,
            "secret": poll.is_secret,
            "opens_at": opens.isoformat(),
            "closes_at": closes.isoformat(),
        },
    )
    if opens <= now:
        _start(poll, actor)
    return poll


def update_poll(actor: Actor, poll: Poll, data: dict[str, Any]) -> None:
    """Change a poll's settings and window until its first ballot is cast."""
    if not perm.can_manage(actor.user, actor.stakeholder.id, poll):
        raise NotAllowed(str(_l("Only the poll's opener or the residents committee runs it.")))
    poll = _lock(poll)
    now = utcnow()
    _open_if_due(poll, now)
    if poll.status not in ACTIVE or poll.closes_at <= now:
        raise Conflict(str(_l("This poll has ended.")))
    if poll.frozen_at is not None:
        raise Conflict(
            str(_l("Ballots have been cast: the rules are frozen; only the end can be extended."))
        )
    values = poll_settings.clean(data)
    _check_invited(values)
    opens_at = poll.opens_at if poll.status == PollStatus.OPEN else data.get("opens_at")
    opens, closes = poll_settings.clean_window(opens_at, data.get("closes_at"), now=now)
    for key, value in values.items():
        setattr(poll, key, value)
    poll.opens_at, poll.closes_at = opens, closes
    _audit("poll.update", poll, actor, {"title": poll.title, "method": poll.method})
    if poll.status == PollStatus.OPEN:
        _snapshot(poll)
    elif opens <= now:
        _start(poll, actor)


def extend_poll(actor: Actor, poll: Poll, new_close: datetime, reason: str) -> None:
    """Move the end of a poll later (never earlier), with a reason for the audit trail."""
    if not perm.can_manage(actor.user, actor.stakeholder.id, poll):
        raise NotAllowed(str(_l("Only the poll's opener or the residents committee runs it.")))
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(str(_l("Give a reason for the extension.")), field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(
            str(_l("The reason may have at most %(n)d characters.", n=MAX_REASON)), field="reason"
        )
    poll = _lock(poll)
    now = utcnow()
    _open_if_due(poll, now)
    if poll.status not in ACTIVE or poll.closes_at <= now:
        raise Conflict(str(_l("This poll has ended.")))
    if new_close is None or new_close.tzinfo is None or new_close <= poll.closes_at:
        raise DomainError(
            str(_l("The new end must be later than the current one.")), field="closes_at"
        )
    old = poll.closes_at
    poll.closes_at = new_close
    _audit(
        "poll.extend",
        poll,
        actor,
        {"from": old.isoformat(), "to": new_close.isoformat(), "reason": reason},
    )


# --------------------------------------------------------------------------- ballots


def normalise_choice(poll: Poll, choice: Any) -> Any:
    """Validate a ballot by the tally engine's own rules; return its canonical form."""
    if poll.method == "approval" and isinstance(choice, list | tuple):
        position = {label: i for i, label in enumerate(poll.options)}
        choice = sorted(
            choice, key=lambda x: position.get(x, len(position)) if isinstance(x, str) else -1
        )
    elif poll.method == "score" and isinstance(choice, dict):
        choice = {k: choice[k] for k in sorted(choice, key=str)}
    elif poll.method in engine.RANKED_METHODS and isinstance(choice, tuple):
        choice = list(choice)
    try:
        engine.tally(poll.method, poll.options, [choice], **(poll.settings.get("params") or {}))
    except (ValueError, TypeError) as exc:
        reason = str(exc).removeprefix("ballot 0: ")
        raise DomainError(
            str(_l("This ballot is not valid for this poll: %(reason)s", reason=reason)),
            status=400,
            field="choice",
        ) from None
    return choice


def voter_for(actor: Actor, poll: Poll) -> Stakeholder:
    """Return who votes: the person themself, or the organisation the actor acts for."""
    if poll.settings.get("unit") == "person":
        voter = own_identity(actor.user)
        if voter is None or voter.is_deleted:
            raise NotAllowed(str(_l("You have no resident identity to vote with.")))
        return voter
    if not perm.can_cast_for(actor.user, actor.stakeholder):
        raise NotAllowed(
            str(_l("An organisation's vote is cast by one of its admins or delegates."))
        )
    if actor.stakeholder.is_unconfirmed:
        raise NotAllowed(
            str(_l("This organisation cannot vote until the street office has confirmed it."))
        )
    return actor.stakeholder


def voter_id_for(actor: Actor | None, poll: Poll) -> int | None:
    """Return the id the actor votes with in `poll` (None when anonymous or without identity)."""
    if actor is None:
        return None
    if poll.settings.get("unit") == "person":
        own = own_identity(actor.user)
        return own.id if own else None
    return actor.stakeholder.id


def in_electorate(poll: Poll, voter_id: int) -> bool:
    """Tell whether `voter_id` is in the poll's electorate (the live one until it opens)."""
    if poll.status == PollStatus.SCHEDULED:
        eligible = electorate_query(poll).subquery()
        stmt = sa.select(eligible.c.id).where(eligible.c.id == voter_id)
    else:
        stmt = sa.select(Elector.id).where(
            Elector.poll_id == poll.id, Elector.stakeholder_id == voter_id
        )
    return db.session.scalar(stmt.limit(1)) is not None


def has_voted(poll: Poll, voter_id: int) -> bool:
    """Tell whether `voter_id` took part in the poll."""
    return (
        db.session.scalar(
            sa.select(Participation.id).where(
                Participation.poll_id == poll.id, Participation.voter_id == voter_id
            )
        )
        is not None
    )


def _check_window(poll: Poll, now: datetime) -> None:
    if poll.status == PollStatus.SCHEDULED or now < poll.opens_at:
        raise NotAllowed(str(_l("This poll is not open yet.")))
    if poll.status != PollStatus.OPEN or now >= poll.closes_at:
        raise NotAllowed(str(_l("This poll is closed.")))


def _elector_kind(poll: Poll, voter: Stakeholder) -> str:
    kind = db.session.scalar(
        sa.select(Elector.kind).where(
            Elector.poll_id == poll.id, Elector.stakeholder_id == voter.id
        )
    )
    if kind is None:
        raise NotAllowed(str(_l("You are not in this poll's electorate.")))
    return kind


def _poll_keys(poll: Poll) -> list[bytes]:
    """Return the poll's ballot keys (current first): derived, never stored."""
    return crypto.derive_keys(f"coord secret ballots of poll {poll.id}")


def _seal(poll: Poll, payload: dict[str, Any]) -> None:
    """Store a secret ballot sealed: nothing in the row is readable without the poll's key."""
    size = sealing.frame_size(poll.options)
    sealed = sealing.seal(_poll_keys(poll)[0], poll.id, payload, size)
    db.session.add(SealedBallot(id=secrets.token_hex(16), poll_id=poll.id, sealed=sealed))


def cast_ballot(actor: Actor, poll: Poll, choice: Any) -> Receipt:
    """Cast the voter's one ballot: participation and ballot in the same transaction."""
    exclusive = poll.frozen_at is None or poll.status != PollStatus.OPEN
    poll = _lock(poll, shared=not exclusive)
    now = utcnow()
    if exclusive:
        _open_if_due(poll, now)
    _check_window(poll, now)
    voter = voter_for(actor, poll)
    kind = _elector_kind(poll, voter)
    choice = normalise_choice(poll, choice)
    try:
        with db.session.begin_nested():
            db.session.add(Participation(poll_id=poll.id, voter_id=voter.id, user_id=actor.user.id))
    except IntegrityError:
        raise Conflict(str(_l("You have already voted in this poll."))) from None
    if poll.frozen_at is None:
        poll.frozen_at = now
    nonce = secrets.token_hex(16)
    rv = Receipt(results.receipt_for(choice, nonce), nonce, results.content_json(choice))
    if poll.is_secret:
        _seal(poll, {"choice": choice, "kind": kind, "receipt": rv.receipt})
    else:
        db.session.add(
            Ballot(
                id=secrets.token_hex(16),
                poll_id=poll.id,
                kind=kind,
                content={"choice": choice},
                receipt=rv.receipt,
                voter_id=voter.id,
                updated_at=now,
            )
        )
    db.session.flush()
    return rv


def change_ballot(actor: Actor, poll: Poll, choice: Any, reason: str = "") -> Receipt:
    """Change one's ballot in an open (not secret) poll until it closes, with a reason."""
    if poll.is_secret:
        raise Conflict(str(_l("A secret ballot cannot be changed.")))
    reason = " ".join((reason or "").split())
    if len(reason) > MAX_REASON:
        raise DomainError(
            str(_l("The reason may have at most %(n)d characters.", n=MAX_REASON)), field="reason"
        )
    poll = _lock(poll, shared=True)
    now = utcnow()
    _check_window(poll, now)
    voter = voter_for(actor, poll)
    ballot = db.session.scalar(
        sa.select(Ballot).where(Ballot.poll_id == poll.id, Ballot.voter_id == voter.id)
    )
    if ballot is None:
        raise DomainError(str(_l("You have not voted in this poll yet.")), status=404)
    choice = normalise_choice(poll, choice)
    nonce = secrets.token_hex(16)
    rv = Receipt(results.receipt_for(choice, nonce), nonce, results.content_json(choice))
    ballot.content = {"choice": choice}
    ballot.receipt = rv.receipt
    ballot.reason = reason
    ballot.updated_at = now
    db.session.flush()
    return rv


def own_ballot(poll: Poll, voter_id: int) -> Ballot | None:
    """Return the voter's ballot in an open poll (secret ballots are never found this way)."""
    if poll.is_secret:
        return None
    return db.session.scalar(
        sa.select(Ballot).where(Ballot.poll_id == poll.id, Ballot.voter_id == voter_id)
    )


# --------------------------------------------------------------------------- closing


def _unseal(poll: Poll) -> int:
    """Open a secret poll's sealed ballots into its ballot box; return how many.

    The box (with any ballot stored in clear before ballots were sealed) is written in one
    statement, in random order, with fresh ids: neither storage order, row ids nor
    transaction ids tell which sealed ballot (written with its voter's participation)
    became which ballot. The sealed copies are deleted in the same transaction.
    """
    keys = _poll_keys(poll)
    payloads = [
        sealing.unseal(keys, poll.id, token)
        for token in db.session.scalars(
            sa.select(SealedBallot.sealed).where(SealedBallot.poll_id == poll.id)
        )
    ]
    clear = db.session.execute(
        sa.select(Ballot.kind, Ballot.content, Ballot.receipt).where(Ballot.poll_id == poll.id)
    )
    rows = [
        {"kind": p["kind"], "content": {"choice": p["choice"]}, "receipt": p["receipt"]}
        for p in payloads
    ] + [r._asdict() for r in clear]
    BALLOT_SHUFFLE.shuffle(rows)
    for table in (SealedBallot, Ballot):
        db.session.execute(
            sa.delete(table)
            .where(table.poll_id == poll.id)
            .execution_options(synchronize_session=False)
        )
    if rows:
        db.session.execute(
            sa.insert(Ballot),
            [{"id": secrets.token_hex(16), "poll_id": poll.id, **r} for r in rows],
        )
    return len(payloads)


def close_poll(poll: Poll, actor: Actor | None = None, reason: str = "") -> dict[str, Any]:
    """Close a poll, count it and store the result; with an actor, close it early (reason)."""
    reason = " ".join((reason or "").split())
    if actor is not None:
        if not perm.can_manage(actor.user, actor.stakeholder.id, poll):
            raise NotAllowed(str(_l("Only the poll's opener or the residents committee runs it.")))
        if not reason:
            raise DomainError(str(_l("Give a reason for closing early.")), field="reason")
        if len(reason) > MAX_REASON:
            raise DomainError(
                str(_l("The reason may have at most %(n)d characters.", n=MAX_REASON)),
                field="reason",
            )
    poll = _lock(poll)
    now = utcnow()
    _open_if_due(poll, now, actor)
    if poll.status == PollStatus.SCHEDULED:
        raise Conflict(str(_l("This poll has not opened yet.")))
    early = now < poll.closes_at
    if poll.status != PollStatus.OPEN or (actor is not None and not early):
        raise Conflict(str(_l("This poll has ended.")))  # by time: the tick counts it
    if early and actor is None:
        raise Conflict(str(_l("This poll is still open.")))
    poll.status = PollStatus.CLOSED
    poll.closed_at = now
    unsealed = _unseal(poll) if poll.is_secret else None
    ballots = results.load_ballots(poll)
    counted = results.compute(poll, ballots)
    digest = results.ballots_digest(ballots)
    poll.ballots_digest = digest
    poll.result = {
        "tally": counted,
        "closed_at": now.isoformat(),
        "early": early,
        "reason": reason,
    }
    _audit(
        "poll.close",
        poll,
        actor,
        {
            "digest": digest,
            "ballots": len(ballots),
            "decision": counted["decision"],
            "winners": counted["overall"]["winners"],
            "early": early,
            "reason": reason,
            **({"unsealed_and_shuffled": unsealed} if poll.is_secret else {}),
        },
    )
    if early and actor is not None:
        _tell_voters_it_ended_early(poll, actor, reason)
    proposal = poll.proposal
    if proposal is not None and proposal.status == "voting" and poll.method == "yes_no":
        action = "adopt" if counted["decision"] == "carried" else "reject"
        proposal_services.transition_proposal(None, proposal, action, system=True)
    return counted


def _tell_voters_it_ended_early(poll: Poll, actor: Actor, reason: str) -> None:
    """Notify everyone who voted (not what they chose) that the poll ended early, and why."""
    voters = db.session.scalars(
        sa.select(User).where(
            User.id.in_(sa.select(Participation.user_id).where(Participation.poll_id == poll.id)),
            User.id != actor.user.id,
        )
    )
    message = N_("“%(poll)s” was ended early. Reason: %(reason)s")
    params = {"poll": poll.title, "reason": reason}
    notify(Note(user, POLL_ENDED, message, params, f"/polls/{poll.id}") for user in voters)


def settle(poll: Poll) -> bool:
    """Open or close and count the poll when its time has come; tell whether it changed."""
    poll = _lock(poll)
    now = utcnow()
    before = poll.status
    _open_if_due(poll, now)
    if poll.status == PollStatus.OPEN and poll.closes_at <= now:
        close_poll(poll)
    return poll.status != before


def due_polls(now: datetime | None = None) -> list[int]:
    """Return the ids of polls that should open or close by `now` (by default: now)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(Poll.id)
            .where(
                sa.or_(
                    sa.and_(Poll.status == PollStatus.SCHEDULED, Poll.opens_at <= now),
                    sa.and_(Poll.status == PollStatus.OPEN, Poll.closes_at <= now),
                )
            )
            .order_by(Poll.id)
        )
    )


def recount(poll: Poll) -> list[str]:
    """Recompute a closed poll from its ballots; return the differences (empty when equal)."""
    if poll.status != PollStatus.CLOSED or poll.result is None:
        return ["the poll is not closed"]
    ballots = results.load_ballots(poll)
    problems = []
    digest = results.ballots_digest(ballots)
    if digest != poll.ballots_digest:
        problems.append(f"ballots digest {digest} differs from the stored {poll.ballots_digest}")
    stored = poll.result.get("tally") or {}
    counted = results.compute(poll, ballots)
    for key in sorted(set(stored) | set(counted)):
        if stored.get(key) != counted.get(key):
            problems.append(f"result differs in {key!r}")
    return problems


# --------------------------------------------------------------------------- reactions


def on_proposal_transitioned(
    proposal: Proposal, actor: Actor | None = None, action: str = "", **extra: Any
) -> None:
    """Cancel a proposal's running poll when the proposal is withdrawn."""
    if action != "withdraw":
        return
    for poll in db.session.scalars(
        sa.select(Poll).where(Poll.proposal_id == proposal.id, Poll.status.in_(ACTIVE))
    ):
        poll.status = PollStatus.CANCELLED
        # Never counted: its sealed ballots would only ever serve to link voters to choices.
        db.session.execute(sa.delete(SealedBallot).where(SealedBallot.poll_id == poll.id))
        _audit("poll.cancel", poll, actor, {"reason": "proposal withdrawn"})


def count_ballots() -> int:
    """Return how many ballots have been cast in all polls (the metrics gauge; one count)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) or 0
