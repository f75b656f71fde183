"""Many submissions at once: one ballot per voter by the database, never a 500; close locks."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from voting_helpers import actor

from coord.db import db
from coord.errors import Conflict, DomainError
from coord.models import User
from voting import services
from voting.models import Ballot, Participation, Poll, SealedBallot

THREADS = 50

#: Each thread has its own connection: the residents and the poll must be committed.
pytestmark = pytest.mark.committed


def _submit(app, poll_id: int, user_id: int, choice, barrier: threading.Barrier) -> str:
    """Cast one ballot in a thread of its own (own app context, own session)."""
    with app.app_context():
        try:
            user = db.session.get(User, user_id)
            poll = db.session.get(Poll, poll_id)
            who = actor(user)
            db.session.commit()  # SQLite: reads outside a request hold the write lock
            barrier.wait(timeout=30)
            services.cast_ballot(who, poll, choice)
            db.session.commit()
            return "ok"
        except Conflict:
            db.session.rollback()
            return "already voted"
        except DomainError as exc:
            db.session.rollback()
            return f"refused: {exc.message}"
        finally:
            db.session.remove()


def test_fifty_concurrent_submissions_of_one_voter_store_one_ballot(app, make_poll, residents):
    (voter,) = residents(1)
    poll = make_poll(method="plurality", options=["A", "B"], secret=True)
    poll_id, user_id = poll.id, voter.id
    db.session.commit()
    barrier = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(
            pool.map(lambda i: _submit(app, poll_id, user_id, "AB"[i % 2], barrier), range(THREADS))
        )
    assert outcomes.count("ok") == 1, outcomes
    assert outcomes.count("already voted") == THREADS - 1, outcomes
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participation)) == 1
    # A secret poll's ballot stays sealed until the close.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0


def test_concurrent_voters_and_a_close_leave_no_ballot_after_the_close(app, make_poll, residents):
    voters = residents(12)
    poll = make_poll(method="plurality", options=["A", "B"])
    poll_id = poll.id
    runner_id = poll.created_by_id
    runner_actor_id = poll.actor_id
    ids = [u.id for u in voters]
    db.session.commit()
    barrier = threading.Barrier(len(ids) + 1)

    def close() -> str:
        with app.app_context():
            try:
                from stakeholders.acting import Actor
                from stakeholders.models import Stakeholder

                who = Actor(
                    db.session.get(User, runner_id), db.session.get(Stakeholder, runner_actor_id)
                )
                p = db.session.get(Poll, poll_id)
                db.session.commit()
                barrier.wait(timeout=30)
                services.close_poll(p, who, "测试并发关闭")
                db.session.commit()
                return "closed"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(ids) + 1) as pool:
        futures = [pool.submit(_submit, app, poll_id, i, "A", barrier) for i in ids]
        closing = pool.submit(close)
        outcomes = [f.result() for f in futures]
        assert closing.result() == "closed"
    accepted = outcomes.count("ok")
    assert all(o == "ok" or o.startswith("refused:") for o in outcomes), outcomes
    db.session.expire_all()
    poll = db.session.get(Poll, poll_id)
    ballots = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot))
    assert ballots == accepted == poll.result["tally"]["ballots"]
