"""Secret ballots stay secret: the attacks on a database copy, the WAL and the cookie fail.

Each vote is its own committed transaction, as in production, so that transaction ids
(PostgreSQL's `xmin`), physical order (`ctid`, SQLite's `rowid`) and the write-ahead logs
are the real ones an attacker with a copy of the database would read.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from voting_helpers import vote

from coord.db import db
from voting import services
from voting.models import Participation, Poll

from helpers import identity

pytestmark = pytest.mark.committed

OPTIONS = ["north-gate", "south-gate", "east-gate"]


class RecordingShuffle:
    """A stand-in for the close's RNG: reverses the box and remembers the order it made."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def shuffle(self, rows: list) -> None:
        rows.reverse()
        self.made = [r["receipt"] for r in rows]


def _secret_poll(make_poll, residents, n: int) -> tuple[Poll, list]:
    """A secret poll of `n` voters (who must exist before it opens)."""
    voters = residents(n)
    return make_poll(method="plurality", options=OPTIONS, secret=True), voters


def _vote_in_turn(poll: Poll, voters) -> list[tuple[int, str, str, str]]:
    """Cast each voter's ballot in its own transaction: (voter id, choice, receipt, nonce)."""
    rv = []
    for i, user in enumerate(voters):
        choice = OPTIONS[i % len(OPTIONS)]
        got = vote(user, poll, choice)
        rv.append((identity(user).id, choice, got.receipt, got.nonce))
    return rv


def _close(poll: Poll) -> None:
    poll.closes_at = poll.opens_at  # its time has run out
    db.session.commit()
    services.close_poll(poll)
    db.session.commit()


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _every_row_but_polls() -> str:
    """Every row of every table except the polls' own (which list the options), as text."""
    rows = []
    for table in db.metadata.sorted_tables:
        if table.name != "polls":
            rows += [repr(tuple(r)) for r in db.session.execute(sa.select(table))]
    return "\n".join(rows)


def _physical() -> str:
    """The column giving a row's physical place: `ctid` on PostgreSQL, `rowid` on SQLite."""
    return "ctid" if _is_postgres() else "rowid"


def _receipts_in_storage_order(poll: Poll) -> list[str]:
    order = _physical()
    return list(
        db.session.scalars(
            sa.text(f"SELECT receipt FROM ballots WHERE poll_id = :p ORDER BY {order}"),  # noqa: S608
            {"p": poll.id},
        )
    )


def _participants_in_storage_order(poll: Poll) -> list[int]:
    order = _physical()
    return list(
        db.session.scalars(
            sa.text(f"SELECT voter_id FROM participations WHERE poll_id = :p ORDER BY {order}"),  # noqa: S608
            {"p": poll.id},
        )
    )


def _stored_bytes() -> bytes:
    """What a copy of the files would hold: SQLite's database and WAL, PostgreSQL's WAL."""
    if not _is_postgres():
        path = Path(db.engine.url.database)
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    names = db.session.scalars(sa.text("SELECT name FROM pg_ls_waldir() ORDER BY name"))
    return b"".join(
        bytes(db.session.scalar(sa.text("SELECT pg_read_binary_file('pg_wal/' || :n)"), {"n": n}))
        for n in names
        if len(n) == 24
    )


def test_during_voting_no_stored_row_or_log_holds_a_choice_or_receipt(make_poll, residents):
    poll, voters = _secret_poll(make_poll, residents, 6)
    cast = _vote_in_turn(poll, voters)
    assert [c[0] for c in cast] == _participants_in_storage_order(poll)
    dump = _every_row_but_polls()
    for _voter, choice, receipt, nonce in cast:
        assert choice not in dump and receipt not in dump and nonce not in dump
    stored = _stored_bytes()
    for _voter, _choice, receipt, nonce in cast:
        assert receipt.encode() not in stored and nonce.encode() not in stored
    sizes = db.session.scalars(sa.text("SELECT sealed FROM sealed_ballots"))
    assert len({len(bytes(s)) for s in sizes}) == 1  # a "north-gate" is as long as an "east-gate"


def _xmins(table: str) -> list[tuple[int, tuple]]:
    """Each row of `table` with its writing transaction's id, as a number."""
    rows = db.session.execute(sa.text(f"SELECT xmin::text::bigint AS x, * FROM {table}"))  # noqa: S608
    return [(r[0], tuple(r[1:])) for r in rows]


def test_the_xmin_join_of_participations_and_ballots_reveals_no_choice(make_poll, residents):
    if not _is_postgres():
        pytest.skip("transaction ids are PostgreSQL's (SQLite: see the rowid tests)")
    poll, voters = _secret_poll(make_poll, residents, 4)
    cast = _vote_in_turn(poll, voters)
    assert _xmins("ballots") == []
    sealed = _xmins("sealed_ballots")
    # The attack: each participation's nearest earlier write (its own transaction's, the
    # savepoint taking the next id; exact on an idle server, `xmin + 1`).
    links = {
        p[1]: max((s for s in sealed if s[0] <= p[0]), default=None)
        for p in _xmins("participations")
    }
    assert len({link for link in links.values() if link}) == 4  # the old attack's link…
    text = repr(links)
    for _voter, choice, receipt, _nonce in cast:
        assert choice not in text and receipt not in text  # …now leads to ciphertext only


def test_the_close_unseals_in_one_transaction_in_the_rngs_order_with_fresh_ids(
    make_poll, residents, monkeypatch
):
    poll, voters = _secret_poll(make_poll, residents, 9)
    cast = _vote_in_turn(poll, voters)
    sealed_ids = set(db.session.scalars(sa.text("SELECT id FROM sealed_ballots")))
    assert isinstance(services.BALLOT_SHUFFLE, secrets.SystemRandom)
    rng = RecordingShuffle()
    monkeypatch.setattr(services, "BALLOT_SHUFFLE", rng)
    _close(poll)
    assert _receipts_in_storage_order(poll) == rng.made
    assert sorted(rng.made) == sorted(c[2] for c in cast)
    ids = set(db.session.scalars(sa.text("SELECT id FROM ballots")))
    assert len(ids) == 9 and not ids & sealed_ids
    assert db.session.scalar(sa.text("SELECT count(*) FROM sealed_ballots")) == 0
    rows = db.session.execute(sa.text("SELECT voter_id, updated_at FROM ballots")).all()
    assert set(rows) == {(None, None)}
    if _is_postgres():
        xmins = set(db.session.scalars(sa.text("SELECT xmin::text FROM ballots")))
        voted = set(db.session.scalars(sa.text("SELECT xmin::text FROM participations")))
        assert len(xmins) == 1 and not xmins & voted


def test_after_close_storage_order_is_not_the_order_of_voting(make_poll, residents):
    poll, voters = _secret_poll(make_poll, residents, 20)
    cast = _vote_in_turn(poll, voters)
    _close(poll)
    order = _receipts_in_storage_order(poll)
    in_turn = [c[2] for c in cast]
    assert sorted(order) == sorted(in_turn)
    # A shuffle of 20 gives either order back with probability 2/20! (about 1e-18).
    assert order not in (in_turn, in_turn[::-1])


def test_receipts_verify_on_the_bulletin_board_after_close(client, make_poll, residents):
    poll, voters = _secret_poll(make_poll, residents, 5)
    cast = _vote_in_turn(poll, voters)
    _close(poll)
    board = client.get(f"/api/v1/polls/{poll.id}/bulletin").json
    lines = {b["receipt"]: b for b in board["ballots"]}
    for _voter, choice, receipt, _nonce in cast:
        assert lines[receipt]["choice"] == choice and lines[receipt]["voter"] is None
    assert board["ballots_digest"] == poll.ballots_digest
    page = client.get(f"/polls/{poll.id}/bulletin?q={cast[0][2][:12]}").get_data(as_text=True)
    assert page.count(cast[0][2]) == 1


def test_the_session_cookie_carries_no_choice_nonce_or_receipt(
    app, client, login_as, make_poll, residents
):
    poll, (voter,) = _secret_poll(make_poll, residents, 1)
    login_as(voter)
    answer = client.post(f"/polls/{poll.id}/ballot", data={"choice": "1"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and OPTIONS[1] in page
    cookie = client.get_cookie("session")
    assert cookie is not None  # the login lives there
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    text = json.dumps(session, ensure_ascii=False) + cookie.value
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participation)) == 1
    assert OPTIONS[1] not in text and "voting_receipt" not in text
    code = re.search(r'id="receipt-code">([0-9A-Z-]{19})<', page)[1]
    assert code not in text and code.replace("-", "") not in text
