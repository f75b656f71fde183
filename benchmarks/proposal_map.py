"""Time a proposal's conflict map and opinion groups with 10,000 participants, end to end.

Run ``.venv/bin/python benchmarks/proposal_map.py`` (``--participants N`` to change the size,
``--database-url postgresql+psycopg://…`` to use PostgreSQL instead of a temporary SQLite file).

Builds a community with N verified residents in 20 buildings plus a few organisations, one
proposal under deliberation with a position from every participant (support, conditional,
oppose; interests by side), ``STATEMENTS`` comments and about ``REACTIONS`` agree / disagree /
pass reactions per participant (two planted opinion groups and one statement everybody
agrees with), and a few hundred declared relations. Then it times:

* ``conflict_map.compute_map`` — the whole part of the proposal page when nothing is
  cached: the database reads (positions, relations, reactions, statements) plus the
  grouping, the ties to both sides and ``opinion_groups`` (target: < 200 ms);
* ``conflict_map.map_data`` when nothing changed — the one-query cache check every page
  view makes;
* ``opinion_groups`` alone on the same votes;
* the proposal page itself (``GET /proposals/<id>``) through the test client, and its
  query count, for reference;
* the community report (``network_service.compute``) for the same N stakeholders.
"""

from __future__ import annotations

import os

# One BLAS thread per process: web workers are processes, and on a small machine BLAS threads
# fighting over the cores make the SVD of opinion groups several times slower (and erratic).
# Run with OPENBLAS_NUM_THREADS=2 (or more) to compare.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask_migrate import upgrade

from coord import create_app
from coord.db import db, utcnow
from coord.models import Community, Street, User
from stakeholders.models import (
    Function,
    Kind,
    Relation,
    ResidenceStatus,
    ResidentProfile,
    Stakeholder,
)

STATEMENTS = 60
REACTIONS = 12
RELATIONS = 400
RUNS = 5


def _timed(fn, runs: int = RUNS) -> tuple[float, object]:
    times, rv = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        rv = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), rv


def build(n: int, seed: int = 7) -> dict:
    """Insert the community, participants, proposal, positions, comments and reactions."""
    from proposals.deliberation.models import Comment, CommentReaction, Position
    from proposals.models import Proposal

    rng = random.Random(seed)
    now = utcnow()
    street = Street(name="基准街道")
    community = Community(street=street, name="基准社区")
    db.session.add_all([street, community])
    db.session.flush()
    users = [
        {
            "username": f"p{i:06d}",
            "display_name": f"居民{i}",
            "password_hash": "x",
            "session_token": secrets.token_urlsafe(24),
            "notification_settings": {},
            "is_admin": False,
            "is_disabled": False,
            "created_at": now,
        }
        for i in range(n + 1)
    ]
    db.session.execute(sa.insert(User), users)
    user_ids = db.session.scalars(sa.select(User.id).order_by(User.id)).all()
    db.session.execute(
        sa.insert(Stakeholder),
        [
            {
                "kind": Kind.RESIDENT,
                "name": f"居民{i}",
                "description": "",
                "user_id": uid,
                "is_confirmed": False,
                "created_at": now,
            }
            for i, uid in enumerate(user_ids)
        ],
    )
    db.session.execute(
        sa.insert(ResidentProfile),
        [
            {
                "user_id": uid,
                "community_id": community.id,
                "building": str(1 + i % 20),
                "unit": "101",
                "status": ResidenceStatus.VERIFIED,
                "reason": "",
                "claimed_at": now,
            }
            for i, uid in enumerate(user_ids)
        ],
    )
    orgs = []
    for name, kind, function in (
        ("安居物业", Kind.BUSINESS, Function.PROPERTY_MANAGER),
        ("业主委员会", Kind.SOCIAL_ORGANIZATION, Function.OWNERS_COMMITTEE),
        ("居委会", Kind.SOCIAL_ORGANIZATION, Function.RESIDENTS_COMMITTEE),
    ):
        org = Stakeholder(
            kind=kind,
            function=function,
            name=name,
            community_id=community.id,
            street_id=street.id,
            is_confirmed=True,
        )
        db.session.add(org)
        orgs.append(org)
    db.session.flush()
    user_of = dict(
        db.session.execute(
            sa.select(Stakeholder.id, Stakeholder.user_id).where(Stakeholder.kind == Kind.RESIDENT)
        ).all()
    )
    residents = sorted(user_of)
    participants = residents[1:]
    proposal = Proposal(
        kind="consultation",
        status="deliberation",
        community_id=community.id,
        author_id=orgs[2].id,
        created_by_id=user_ids[0],
        title="基准提案：停车位改造",
        summary="基准",
        visibility="public",
        published_at=now,
    )
    db.session.add(proposal)
    db.session.flush()
    side = {sid: (0 if rng.random() < 0.55 else 1) for sid in participants}
    db.session.execute(
        sa.insert(Position),
        [
            {
                "proposal_id": proposal.id,
                "stakeholder_id": sid,
                "user_id": user_of[sid],
                "stance": ("support" if rng.random() < 0.8 else "conditional")
                if side[sid] == 0
                else "oppose",
                "interests": ["convenience", "safety"] if side[sid] == 0 else ["cost", "noise"],
                "tags": [],
                "statement": "",
                "conditions": "",
                "updated_at": now,
            }
            for sid in participants
        ],
    )
    authors = rng.sample(participants, STATEMENTS)
    db.session.execute(
        sa.insert(Comment),
        [
            {
                "proposal_id": proposal.id,
                "path": f"{i:010d}",
                "depth": 0,
                "user_id": user_of[sid],
                "actor_id": sid,
                "stance": "neutral",
                "body_source": f"意见{i}",
                "body_html": f"<p>意见{i}：停车位应该……</p>",
                "created_at": now,
            }
            for i, sid in enumerate(authors)
        ],
    )
    comment_ids = db.session.scalars(
        sa.select(Comment.id).where(Comment.proposal_id == proposal.id).order_by(Comment.id)
    ).all()
    reactions = []
    for sid in participants:
        for cid in rng.sample(comment_ids, REACTIONS):
            k = comment_ids.index(cid)
            if k == 0:
                value = "agree"  # the bridging statement
            else:
                leaning = (k % 2 == 0) == (side[sid] == 0)
                value = "agree" if leaning == (rng.random() < 0.85) else "disagree"
                if rng.random() < 0.05:
                    value = "pass"
            reactions.append(
                {
                    "comment_id": cid,
                    "proposal_id": proposal.id,
                    "user_id": user_of[sid],
                    "actor_id": sid,
                    "value": value,
                    "updated_at": now,
                }
            )
    for i in range(0, len(reactions), 5000):
        db.session.execute(sa.insert(CommentReaction), reactions[i : i + 5000])
    rels = set()
    while len(rels) < RELATIONS:
        a = rng.choice(participants[:2000])
        b = rng.choice([*participants[:2000], *(o.id for o in orgs)])
        if a != b:
            rels.add((a, b))
    db.session.execute(
        sa.insert(Relation),
        [
            {
                "source_id": a,
                "target_id": b,
                "type": "cooperation" if side.get(a) == side.get(b) else "dispute",
                "sign": 1 if side.get(a) == side.get(b) else -1,
                "strength": 1 + (a + b) % 3,
                "note": "",
                "evidence": "",
                "status": "claimed",
                "visibility": "public",
                "community_id": community.id,
                "declared_by_user_id": user_ids[0],
                "response_note": "",
                "created_at": now,
                "updated_at": now,
            }
            for a, b in sorted(rels)
        ],
    )
    db.session.commit()
    return {
        "community_id": community.id,
        "proposal_id": proposal.id,
        "reactions": len(reactions),
        "participants": len(participants),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or "sqlite:///" + os.path.join(tmp.name, "bench.db")
    app = create_app(
        {
            "ENV": "testing",
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "DATA_KEY": Fernet.generate_key().decode(),
            "WTF_CSRF_ENABLED": False,
            "NETWORK_SYNC_MAX_NODES": 10**9,
        }
    )
    from proposals.deliberation import conflict_map
    from proposals.deliberation.models import Comment, CommentReaction, Position
    from proposals.models import Proposal
    from stakeholders.network import services as network_service
    from stakeholders.network.opinion import opinion_groups

    with app.app_context():
        upgrade()
        t0 = time.perf_counter()
        info = build(args.participants)
        print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
        print(
            f"built {info['participants']:,} participants, {STATEMENTS} statements, "
            f"{info['reactions']:,} reactions, {RELATIONS} relations "
            f"in {time.perf_counter() - t0:.1f} s ({db.engine.dialect.name})"
        )
        proposal = db.session.get(Proposal, info["proposal_id"])
        community = db.session.get(Community, info["community_id"])

        with app.test_request_context():
            cold, data = _timed(lambda: conflict_map.compute_map(proposal, network_service.PUBLIC))
            print(
                f"conflict map + opinion groups, uncached (median of {RUNS}): {cold * 1000:7.1f} ms"
            )
            with app.test_request_context(headers={"Accept-Language": "en"}):
                print("   ", conflict_map.summary_sentence(data))
            print(
                f"    {len(data.opinion['groups'])} opinion groups of "
                f"{data.opinion['participants']:,} participants; "
                f"{len(data.opinion['consensus'])} bridging statement(s)"
            )
            conflict_map.map_data(proposal, network_service.PUBLIC)
            warm, _ = _timed(lambda: conflict_map.map_data(proposal, network_service.PUBLIC))

            def new_position() -> None:
                position = db.session.scalar(
                    sa.select(Position).where(Position.proposal_id == proposal.id).limit(1)
                )
                position.updated_at = utcnow()
                db.session.commit()

            def after_new_position() -> object:
                new_position()
                t0 = time.perf_counter()
                conflict_map.map_data(proposal, network_service.PUBLIC)
                return time.perf_counter() - t0

            timings = [after_new_position() for _ in range(RUNS)]
            print(
                "conflict map after a new position (opinion groups cached): "
                f"{statistics.median(timings) * 1000:7.1f} ms"
            )
            print(f"conflict map, unchanged (cache check, one query):  {warm * 1000:7.1f} ms")
            votes = [
                *(
                    (a, c, 1)
                    for a, c in db.session.execute(sa.select(Comment.actor_id, Comment.id))
                ),
                *(
                    (a, c, {"agree": 1, "disagree": -1, "pass": 0}[v.value])
                    for a, c, v in db.session.execute(
                        sa.select(
                            CommentReaction.actor_id,
                            CommentReaction.comment_id,
                            CommentReaction.value,
                        )
                    )
                ),
            ]
            pure, _ = _timed(lambda: opinion_groups(votes))
            print(f"opinion_groups alone (pure):                       {pure * 1000:7.1f} ms")

        client = app.test_client()
        client.get(f"/proposals/{proposal.id}")
        page, _ = _timed(lambda: client.get(f"/proposals/{proposal.id}"), runs=3)
        print(f"proposal page GET, map cached (whole page):        {page * 1000:7.1f} ms")

        t0 = time.perf_counter()
        report = network_service.compute(community, network_service.PUBLIC)
        total = time.perf_counter() - t0
        print(
            f"community report for {report['counts']['nodes']:,} stakeholders, "
            f"{report['counts']['inferred']:,} inferred relations: {total:.2f} s "
            f"(analyze {report['timings']['total']:.2f} s)"
        )


if __name__ == "__main__":
    main()
