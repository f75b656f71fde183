"""Time the supervision dashboard on 50,000 requests and 2,000 plans across 20 communities.

Run ``.venv/bin/python benchmarks/dashboard.py`` (``--sqlite-only`` skips PostgreSQL).

For each backend it builds a fresh database — a SQLite file in a temporary folder, and a
PostgreSQL database it creates and drops on the server of ``COORD_BENCH_POSTGRES_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) — migrates it, bulk
inserts a year of history (requests with their chain of custody: submitted, assigned,
sometimes transferred, accepted, resolved, sometimes reopened, rated; plans with two or
three review steps, some in a second round), then requests the dashboard as the street
office through the test client and prints the server time: the median of several runs,
for the whole street over the whole year (all 50,000 requests), over the page's default
twelve weeks, for one community over the year, and the public view. Target: under 300 ms
on both backends. The CPU time of this process is printed too: on a busy machine it tells
the work apart from the waiting (on SQLite it includes the database's work; on
PostgreSQL the server's work is elsewhere).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet
from flask_migrate import upgrade

from coord import create_app
from coord.db import db
from coord.models import Community, Street, User
from proposals.models import Proposal
from proposals.tracking.dashboard import workday_seconds
from proposals.tracking.holidays import official_calendar
from proposals.tracking.models import Plan, RequestEvent, ReviewStep, TrackedRequest
from stakeholders.models import Function, Kind, Membership, MembershipStatus, Role, Stakeholder

REQUESTS = 50_000
PLANS = 2_000
COMMUNITIES = 20
RUNS = 7
CHUNK = 2_000
DAY = timedelta(days=1)


def _settings(url: str) -> dict:
    return {
        "ENV": "testing",
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "DATA_KEY": Fernet.generate_key().decode(),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
    }


def _insert(model: type, rows: list[dict]) -> None:
    for i in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(model), rows[i : i + CHUNK])


def _workdays(rows: list[dict], start: str, end: str, target: str) -> None:
    """Store the working days between two moments, as the services do when they happen."""
    chosen = [r for r in rows if r.get(start) is not None and r.get(end) is not None]
    seconds = workday_seconds(
        np.array([r[start].timestamp() for r in chosen]),
        np.array([r[end].timestamp() for r in chosen]),
        official_calendar(),
        8 * 3600,
    )
    for row in rows:
        row.setdefault(target, None)
    for row, value in zip(chosen, seconds / 86400, strict=True):
        row[target] = None if np.isnan(value) else float(value)  # a year of unknown holidays


def build(now: datetime) -> User:
    """Fill the database; return the street office's user."""
    rng = random.Random(7)
    street = Street(name="清河街道")
    db.session.add(street)
    communities = [Community(street=street, name=f"社区{i + 1:02d}") for i in range(COMMUNITIES)]
    db.session.add_all(communities)
    db.session.flush()
    user = User(username="office", display_name="街道办", password_hash="-")  # noqa: S106
    resident = User(username="resident", display_name="居民", password_hash="-")  # noqa: S106
    db.session.add_all([user, resident])
    db.session.flush()

    def org(name: str, kind: Kind, function: Function, community: Community | None = None):
        rv = Stakeholder(
            kind=kind,
            function=function,
            name=name,
            street_id=street.id,
            community_id=community.id if community else None,
            is_confirmed=True,
        )
        db.session.add(rv)
        return rv

    office = org("清河街道办事处", Kind.GOVERNMENT, Function.STREET_OFFICE)
    departments = [org(f"科室{i}", Kind.GOVERNMENT, Function.DEPARTMENT) for i in range(1, 5)]
    handlers = (
        departments
        + [org(f"物业{i}", Kind.BUSINESS, Function.PROPERTY_MANAGER) for i in range(1, 5)]
        + [org(f"维修{i}", Kind.BUSINESS, Function.CONTRACTOR) for i in range(1, 3)]
    )
    committees = [
        org(f"居委会{c.id}", Kind.SOCIAL_ORGANIZATION, Function.RESIDENTS_COMMITTEE, c)
        for c in communities
    ]
    author = Stakeholder(kind=Kind.RESIDENT, name="居民", user_id=resident.id, is_confirmed=True)
    db.session.add(author)
    db.session.flush()
    db.session.add(
        Membership(
            user_id=user.id,
            organisation_id=office.id,
            role=Role.ADMIN,
            status=MembershipStatus.ACTIVE,
        )
    )
    db.session.flush()

    next_proposal = (db.session.scalar(sa.select(sa.func.max(Proposal.id))) or 0) + 1
    proposals, tracked, events = [], [], []
    for i in range(REQUESTS):
        pid, rid = next_proposal + i, i + 1
        community = communities[i % COMMUNITIES]
        submitted = now - timedelta(seconds=rng.uniform(0, 364 * 86400))
        handler = rng.choice(handlers)
        state = rng.random()
        assigned = submitted + timedelta(hours=rng.uniform(0.5, 30))
        accepted = assigned + timedelta(hours=rng.uniform(0.2, 60))
        resolved = accepted + timedelta(hours=rng.uniform(5, 200))
        status = "closed"
        if state < 0.03 or assigned > now:
            status, assigned = "submitted", None
        elif state < 0.08 or accepted > now:
            status = "submitted"
        elif state < 0.14 or resolved > now:
            status = "in_progress"
        elif state < 0.2:
            status = "resolved"
        proposals.append(
            {
                "id": pid,
                "kind": "request",
                "status": status,
                "community_id": community.id,
                "author_id": author.id,
                "created_by_id": resident.id,
                "title": f"诉求{i}",
                "summary": "路灯不亮",
                "body_source": "",
                "body_html": "",
                "category": "facilities",
                "visibility": "public",
                "version": 1,
                "created_at": submitted,
                "published_at": submitted,
                "last_activity_at": submitted,
                "search_text": "",
                "comment_count": 0,
                "open_reports": 0,
                "sanitizer_version": 1,
            }
        )
        row = {
            "id": rid,
            "proposal_id": pid,
            "community_id": community.id,
            "category": "lighting",
            "location": "",
            "handlers_only": False,
            "submitted_at": submitted,
            "handler_id": None,
            "assigned_at": None,
            "first_response_due_at": None,
            "first_response_at": None,
            "resolution_due_at": None,
            "resolved_at": None,
            "closed_at": None,
            "reopen_count": 0,
            "satisfaction": None,
            "satisfaction_comment": "",
        }
        events.append(
            {
                "request_id": rid,
                "type": "submitted",
                "created_at": submitted,
                "text": "",
                "responded_at": None,
                "from_handler_id": None,
                "to_handler_id": None,
            }
        )
        if assigned is not None:
            responded = accepted if status != "submitted" else None
            row.update(
                handler_id=handler.id,
                assigned_at=assigned,
                first_response_due_at=assigned + DAY,
                resolution_due_at=assigned + 7 * DAY,
                first_response_at=responded,
            )
            events.append(
                {
                    "request_id": rid,
                    "type": "assigned",
                    "created_at": assigned,
                    "text": "",
                    "responded_at": responded,
                    "from_handler_id": None,
                    "to_handler_id": handler.id,
                }
            )
            if responded is not None:
                events.append(
                    {
                        "request_id": rid,
                        "type": "accepted",
                        "created_at": accepted,
                        "text": "",
                        "responded_at": None,
                        "from_handler_id": None,
                        "to_handler_id": None,
                    }
                )
            if status in ("resolved", "closed"):
                row["resolved_at"] = resolved
                row["reopen_count"] = 1 if rng.random() < 0.1 else 0
                events.append(
                    {
                        "request_id": rid,
                        "type": "resolved",
                        "created_at": resolved,
                        "text": "已处理",
                        "responded_at": None,
                        "from_handler_id": None,
                        "to_handler_id": None,
                    }
                )
            if status == "closed":
                row["satisfaction"] = rng.randint(1, 5)
                row["closed_at"] = resolved + DAY
        tracked.append(row)
    _workdays(tracked, "assigned_at", "resolved_at", "resolution_workdays")
    _workdays(events, "created_at", "responded_at", "response_workdays")
    _insert(Proposal, proposals)
    _insert(TrackedRequest, tracked)
    _insert(RequestEvent, events)

    next_proposal += REQUESTS
    plan_proposals, plan_rows, steps = [], [], []
    reviewers = [office, *departments]
    for i in range(PLANS):
        pid, plan_id = next_proposal + i, i + 1
        community = communities[i % COMMUNITIES]
        submitted = now - timedelta(seconds=rng.uniform(0, 364 * 86400))
        owners = rng.sample(reviewers, rng.choice([2, 3]))
        rounds = 2 if rng.random() < 0.3 else 1
        activated = submitted + DAY
        pending = rng.random() < 0.1
        plan_proposals.append(
            {
                "id": pid,
                "kind": "plan",
                "status": "under_review" if pending else "approved",
                "community_id": community.id,
                "author_id": committees[i % COMMUNITIES].id,
                "created_by_id": user.id,
                "title": f"方案{i}",
                "summary": "改造",
                "body_source": "",
                "body_html": "",
                "category": "facilities",
                "visibility": "public",
                "version": rounds,
                "created_at": submitted,
                "published_at": submitted,
                "last_activity_at": submitted,
                "search_text": "",
                "comment_count": 0,
                "open_reports": 0,
                "sanitizer_version": 1,
            }
        )
        plan_rows.append(
            {
                "id": plan_id,
                "proposal_id": pid,
                "street_office_id": office.id,
                "schedule": "",
                "round": rounds,
                "signoff_opinion": "",
                "route": [
                    [{"id": f"s{k + 1}", "owner_id": o.id, "due_workdays": 3}]
                    for k, o in enumerate(owners)
                ],
            }
        )
        for number in range(1, rounds + 1):
            for k, owner in enumerate(owners):
                decided = activated + timedelta(hours=rng.uniform(2, 120))
                last = number == rounds and k == len(owners) - 1 and pending
                steps.append(
                    {
                        "plan_id": plan_id,
                        "round": number,
                        "group_index": k,
                        "step_key": f"s{k + 1}",
                        "owner_id": owner.id,
                        "decision": "pending" if last else "approved",
                        "opinion": "同意",
                        "version": number,
                        "activated_at": activated,
                        "due_at": activated + 3 * DAY,
                        "decided_at": None if last else decided,
                    }
                )
                activated = decided
    _insert(Proposal, plan_proposals)
    _insert(Plan, plan_rows)
    _insert(ReviewStep, steps)
    db.session.commit()
    # Statistics and the visibility map, as autovacuum keeps them on a live database.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(sa.text("VACUUM ANALYZE"))
        else:
            conn.execute(sa.text("ANALYZE"))
    return user


def measure(label: str, url: str) -> None:
    app = create_app(_settings(url))
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        user = build(now)
        token, street = user.session_token, db.session.scalar(sa.select(Street.id))
        community = db.session.scalar(sa.select(Community.id).order_by(Community.id))
        counts = {
            name: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for name, model in (
                ("requests", TrackedRequest),
                ("events", RequestEvent),
                ("plans", Plan),
                ("review steps", ReviewStep),
            )
        }
        print(
            f"{label}: built in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        )
        db.session.remove()
    today = now.date() + DAY
    span = {"from": (today - 366 * DAY).isoformat(), "to": today.isoformat()}
    default = {"from": (today - 84 * DAY).isoformat(), "to": today.isoformat()}
    cases = [
        ("whole street, one year", True, span),
        ("whole street, twelve weeks", True, default),
        ("one community, one year", True, span | {"community": community}),
        ("public view of one community", False, span | {"community": community}),
    ]
    for name, signed_in, query in cases:
        client = app.test_client()
        if signed_in:
            with client.session_transaction() as session:
                session["_user_id"] = token
        times, cpu = [], []
        for _ in range(RUNS + 1):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get("/dashboard", query_string=query | {"street": street})
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200, response.status_code
        median = statistics.median(times[1:])  # the first run warms the caches
        print(
            f"  {name:<30} median {median:5.0f} ms  (min {min(times[1:]):.0f}; "
            f"this process's CPU {statistics.median(cpu[1:]):.0f} ms; n={RUNS})"
        )
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite", "sqlite:///" + os.path.join(folder, "bench.db"))
    if "--sqlite-only" in sys.argv:
        return
    server = os.environ.get(
        "COORD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"coord_bench_{os.getpid()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        measure(
            "PostgreSQL",
            sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
