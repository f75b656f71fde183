"""Cast 2,000 ballots over HTTP from 50 concurrent clients against gunicorn on PostgreSQL.

Run ``.venv/bin/python benchmarks/ballot_load.py`` with PostgreSQL on 127.0.0.1:5432 (or
``--admin-url postgresql+psycopg://user@host:port/postgres``). It creates a fresh database
(``coord_bench``, dropped at the end), migrates it, seeds 2,000 distinct verified residents
with API tokens and opens a secret instant-runoff poll; then starts gunicorn (4 sync
workers) on 127.0.0.1 and has 50 client threads (urllib, one connection per request) post
the 2,000 ballots. It prints ballots per second and the p50/p99 latency, checks that the
database holds exactly 2,000 participations and 2,000 sealed ballots (none in clear) from
2,000 distinct voters, fires repeated submissions for voters who already voted (every one
must get 409), closes the poll (unsealing 2,000 ballots in one transaction) and recounts it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet
from flask_migrate import upgrade

from coord import audit_chain, create_app
from coord.db import db, utcnow
from coord.models import ApiToken, Community, Street, User
from stakeholders.acting import Actor
from stakeholders.models import (
    Function,
    Kind,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Role,
    Stakeholder,
)
from voting import services
from voting.models import Ballot, Participation, Poll, SealedBallot

VOTERS = 2_000
CLIENTS = 50
WORKERS = 4
DATABASE = "coord_bench"
OPTIONS = ["按楼层递增分摊", "全体住户平均分摊", "一楼住户免缴", "政府补贴为主", "暂缓加装"]
REQUEST_TIMEOUT = 30.0
TOTAL_TIMEOUT = 600.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_database(admin_url: str) -> str:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + DATABASE


def _drop_database(admin_url: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
    engine.dispose()


def _seed(app) -> tuple[int, list[str]]:
    """Create the community, its committee and 2,000 verified residents with tokens."""
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        street = Street(name="清河街道")
        community = Community(street=street, name="兰苑社区")
        db.session.add_all([street, community])
        db.session.flush()
        hashed = "$argon2id$v=19$m=1024,t=1,p=1$bm90dXNlZA$bm90IGEgcmVhbCBoYXNo"  # never used
        users = [
            {
                "username": f"voter{i:04d}",
                "display_name": f"居民{i:04d}",
                "password_hash": hashed,
                "session_token": secrets.token_urlsafe(32),
                "notification_settings": {},
            }
            for i in range(VOTERS + 1)
        ]
        db.session.execute(sa.insert(User), users)
        ids = dict(db.session.execute(sa.select(User.username, User.id)).all())
        staff_id = ids.pop("voter0000")
        db.session.execute(
            sa.insert(Stakeholder),
            [
                {
                    "kind": Kind.RESIDENT,
                    "name": u["display_name"],
                    "user_id": ids[u["username"]],
                    "community_id": community.id,
                    "is_confirmed": True,
                }
                for u in users
                if u["username"] in ids
            ]
            + [
                {
                    "kind": Kind.RESIDENT,
                    "name": "居委会工作人员",
                    "user_id": staff_id,
                    "is_confirmed": True,
                }
            ],
        )
        db.session.execute(
            sa.insert(ResidentProfile),
            [
                {
                    "user_id": uid,
                    "community_id": community.id,
                    "building": "3",
                    "unit": "501",
                    "status": ResidenceStatus.VERIFIED,
                    "decided_at": utcnow(),
                }
                for uid in ids.values()
            ],
        )
        tokens = {uid: "coord_" + secrets.token_urlsafe(32) for uid in ids.values()}
        db.session.execute(
            sa.insert(ApiToken),
            [
                {
                    "user_id": uid,
                    "name": "bench",
                    "digest": hashlib.sha256(raw.encode()).hexdigest(),
                }
                for uid, raw in tokens.items()
            ],
        )
        committee = Stakeholder(
            kind=Kind.SOCIAL_ORGANIZATION,
            function=Function.RESIDENTS_COMMITTEE,
            name="兰苑社区居委会",
            community_id=community.id,
            street_id=street.id,
            is_confirmed=True,
        )
        db.session.add(committee)
        db.session.flush()
        db.session.add(
            Membership(
                user_id=staff_id,
                organisation_id=committee.id,
                role=Role.ADMIN,
                status=MembershipStatus.ACTIVE,
                decided_at=utcnow(),
            )
        )
        db.session.commit()
        staff = db.session.get(User, staff_id)
        poll = services.open_poll(
            Actor(staff, committee),
            {
                "community_id": community.id,
                "title": "3号楼加装电梯费用分摊",
                "method": "irv",
                "options": OPTIONS,
                "secret": True,
                "closes_at": utcnow() + timedelta(hours=2),
            },
        )
        db.session.commit()
        assert poll.electorate_size == VOTERS, poll.electorate_size
        rv = poll.id
        db.session.remove()
    return rv, list(tokens.values())


def _post(base: str, poll_id: int, token: str, choice) -> tuple[int, float]:
    body = json.dumps({"choice": choice}).encode()
    request = urllib.request.Request(  # noqa: S310 (always http://127.0.0.1)
        f"{base}/api/v1/polls/{poll_id}/ballots",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return status, time.perf_counter() - start


def _run_clients(base: str, poll_id: int, jobs: list[tuple[str, list[str]]]):
    work: queue.Queue = queue.Queue()
    for job in jobs:
        work.put(job)
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + TOTAL_TIMEOUT

    def client() -> None:
        while time.monotonic() < deadline:
            try:
                token, choice = work.get_nowait()
            except queue.Empty:
                return
            try:
                got = _post(base, poll_id, token, choice)
            except (OSError, urllib.error.URLError):
                got = (0, REQUEST_TIMEOUT)
            with lock:
                results.append(got)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TOTAL_TIMEOUT)
    return results, time.perf_counter() - start


def _wait_ready(base: str, poll_id: int, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited early")
        try:
            with urllib.request.urlopen(f"{base}/api/v1/polls/{poll_id}", timeout=2):  # noqa: S310
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise SystemExit("gunicorn did not answer")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "COORD_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    url = _create_database(args.admin_url)
    env = os.environ | {
        "COORD_ENV": "production",
        "COORD_DATABASE_URL": url,
        "COORD_SECRET_KEY": secrets.token_hex(32),
        "COORD_DATA_KEY": Fernet.generate_key().decode(),
        "COORD_AUDIT_SIGNING_KEY": audit_chain.new_private_key(),
    }
    proc = None
    try:
        app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": env["COORD_SECRET_KEY"],
                "DATA_KEY": env["COORD_DATA_KEY"],
                "AUDIT_SIGNING_KEY": env["COORD_AUDIT_SIGNING_KEY"],
                "ENV": "production",
            }
        )
        t0 = time.perf_counter()
        poll_id, tokens = _seed(app)
        print(
            f"seeded {VOTERS} verified residents with tokens and opened poll #{poll_id} "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-w",
                str(WORKERS),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "coord:create_app()",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        _wait_ready(base, poll_id, proc)
        rng = __import__("random").Random(7)
        jobs = []
        for token in tokens:
            ranking = rng.sample(OPTIONS, rng.randint(1, len(OPTIONS)))
            jobs.append((token, ranking))
        results, elapsed = _run_clients(base, poll_id, jobs)
        statuses = [s for s, _t in results]
        latencies = [t for s, t in results if s == 201]
        print(
            f"{len(results)} requests from {CLIENTS} clients to gunicorn ({WORKERS} workers) "
            f"in {elapsed:.2f} s: {statuses.count(201) / elapsed:.0f} ballots/s"
        )
        if latencies:
            print(
                f"latency of accepted ballots: p50 {statistics.median(latencies) * 1000:.0f} ms, "
                f"p99 {_percentile(latencies, 99) * 1000:.0f} ms, "
                f"max {max(latencies) * 1000:.0f} ms"
            )
        others = sorted({s for s in statuses if s != 201})
        ok = statuses.count(201) == VOTERS and not others
        accepted = statuses.count(201)
        print(f"accepted: {accepted} (expected {VOTERS}); other statuses: {others or 'none'}")

        # Repeated submissions for voters who already voted: 20 voters x 5 at once.
        repeats = [(tokens[i], [OPTIONS[0]]) for i in range(20) for _ in range(5)]
        again, _elapsed = _run_clients(base, poll_id, repeats)
        conflicts = [s for s, _t in again]
        print(f"repeated submissions: {len(again)}, answered 409: {conflicts.count(409)}")
        ok = ok and conflicts.count(409) == len(repeats)

        with app.app_context():
            participations = db.session.scalar(
                sa.select(sa.func.count()).select_from(Participation)
            )
            distinct = db.session.scalar(
                sa.select(sa.func.count(sa.distinct(Participation.voter_id)))
            )
            sealed = db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot))
            in_clear = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot))
            print(
                f"database: {participations} participations, {distinct} distinct voters, "
                f"{sealed} sealed ballots, {in_clear} ballots in clear"
            )
            ok = ok and participations == distinct == sealed == VOTERS and in_clear == 0
            poll = db.session.get(Poll, poll_id)
            poll.closes_at = utcnow()
            db.session.commit()
            t0 = time.perf_counter()
            counted = services.close_poll(poll)
            db.session.commit()
            close_time = time.perf_counter() - t0
            problems = services.recount(poll)
            receipts = db.session.scalar(sa.select(sa.func.count(sa.distinct(Ballot.receipt))))
            xmins = db.session.scalar(sa.text("SELECT count(DISTINCT xmin::text) FROM ballots"))
            print(f"unsealed: {receipts} distinct receipts, written by {xmins} transaction(s)")
            ok = ok and receipts == VOTERS and xmins == 1
            rounds = len(counted["overall"]["details"]["rounds"])
            print(
                f"closed and counted in {close_time * 1000:.0f} ms: winner "
                f"{', '.join(counted['overall']['winners'])} after {rounds} rounds; "
                f"recount {'OK' if not problems else 'FAILED: ' + '; '.join(problems)}"
            )
            ok = ok and not problems and counted["ballots"] == VOTERS
            db.session.remove()
            db.engine.dispose()
        print("CHECK PASSED" if ok else "CHECK FAILED")
        return 0 if ok else 1
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        _drop_database(args.admin_url)


if __name__ == "__main__":
    sys.exit(main())
