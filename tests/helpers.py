"""Helpers shared by tests (import as `from helpers import …`)."""

from __future__ import annotations

import os
import re
import secrets
import signal

import sqlalchemy as sa
from flask import Flask

from coord.db import db
from coord.models import User
from stakeholders.models import Stakeholder

PASSWORD = "correct horse battery"


def form_errors(page: str) -> list[str]:
    """Return the texts of the field errors on a rendered form."""
    return re.findall(r'<p class="error"[^>]*>(.*?)</p>', page, flags=re.S)


def identity(user: User) -> Stakeholder:
    """Return a user's own resident stakeholder."""
    return db.session.scalar(sa.select(Stakeholder).where(Stakeholder.user_id == user.id))


class QueryCounter:
    """Count the SQL statements an engine runs inside a `with` block."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.statements: list[str] = []

    def _count(self, conn, cursor, statement, *args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def count(self) -> int:
        return len(self.statements)


def forget_caches() -> None:
    """Empty the in-memory caches of conflict maps, opinion groups and network reports.

    Every test starts with them empty (they are keyed by database ids, which SQLite reuses
    after a rollback); a test that counts the queries of two page views empties them before
    each, so that both count the same work.
    """
    from proposals.deliberation import conflict_map
    from stakeholders.network import services as network_service

    for cache in (conflict_map._cache, conflict_map._opinion_cache, network_service._report_cache):
        cache.clear()


def use_english(client) -> None:
    """Switch a test client's session to English, so assertions can match English messages."""
    with client.session_transaction() as session:
        session["lang"] = "en"


def redis_url_for_tests() -> str | None:
    """Return the tests' Redis URL (COORD_TEST_REDIS_URL, else database 15 on 127.0.0.1) when
    it answers, else None."""
    from redis import Redis

    url = os.environ.get("COORD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:
        return None
    return url


def unique_prefix(kind: str) -> str:
    """Return a key or queue prefix no other test run uses (Redis is shared)."""
    return f"coord-test-{kind}-{os.getpid()}-{secrets.token_hex(4)}-"


class RQJobs:
    """The RQ queues of one test (a prefix of their own) and a worker that runs them here."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def queue(self, name: str = "default"):
        from coord import jobs

        return jobs.queue(name, self.app)

    def count(self) -> int:
        """Return how many jobs wait in this test's queues."""
        from coord import jobs

        return sum(self.queue(name).count for name in jobs.QUEUES)

    def work(self) -> None:
        """Run the queued jobs in this thread until every queue is empty.

        `Worker.work` makes SIGINT and SIGTERM raise `StopRequested`, an ordinary exception:
        left in place, Ctrl-C or a CI timeout would strike in the middle of a later test's
        query and leave its connection unusable; its default job timeout would also take
        over SIGALRM (pytest-timeout's). A timer thread times jobs instead, and the handlers
        are restored.
        """
        from rq import SimpleWorker
        from rq.timeouts import TimerDeathPenalty

        from coord import jobs

        class InlineWorker(SimpleWorker):
            death_penalty_class = TimerDeathPenalty

        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        queues = [self.queue(name) for name in jobs.QUEUES]
        try:
            InlineWorker(queues, connection=jobs.connection(self.app)).work(burst=True)
        finally:
            for s, handler in handlers.items():
                signal.signal(s, handler)

    def delete(self) -> None:
        """Delete this test's queues, their jobs and registries."""
        from coord import jobs

        connection = jobs.connection(self.app)
        prefix = self.app.config["JOBS_QUEUE_PREFIX"]
        for name in jobs.QUEUES:
            queue = self.queue(name)
            for registry in (
                queue.failed_job_registry,
                queue.finished_job_registry,
                queue.scheduled_job_registry,
                queue.started_job_registry,
            ):
                for job_id in registry.get_job_ids():
                    connection.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
            queue.delete(delete_jobs=True)
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)
