"""Helpers shared by tests (import as `from helpers import …`)."""

from __future__ import annotations

import re

import sqlalchemy as sa

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
