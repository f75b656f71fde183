"""`flask coord backup` / `restore`: a database backed up, wiped and restored comes back
whole — every row of every table, and an audit chain that verifies.

Each backend runs on a database of its own (a SQLite file; a throwaway PostgreSQL
database), never the shared test database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade

from coord import accounts, audit, create_app
from coord.backup import row_counts
from coord.db import db
from coord.models import Community, Street


def _app(url: str) -> Flask:
    """An app of its own on `url` (never the shared test database)."""
    return create_app(
        {
            "ENV": "testing",
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "DATA_KEY": Fernet.generate_key().decode(),
            "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
        }
    )


def _fill() -> None:
    """Add users, places and a chain of audit events (committed)."""
    street = Street(name="清河街道")
    db.session.add_all([street, Community(street=street, name="安居社区")])
    for n in range(3):
        user = accounts.register_user(f"user{n}", f"居民{n}", "correct horse battery")
        audit.record("user.register", "user", user.id, user_id=user.id, is_public=True)
    db.session.commit()


def _cli(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["coord", *args])


def _round_trip(app: Flask, tmp_path: Path, wipe) -> None:
    """Back up, wipe, be refused over data, restore, and compare."""
    with app.app_context():
        upgrade()
        _fill()
        before = row_counts()
    assert before["users"] == 3 and before["audit_events"] >= 3

    dump = tmp_path / "coord.backup"
    result = _cli(app, "backup", str(dump))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Backed up ") and f"{sum(before.values()):,} rows" in (
        result.output
    )

    refused = _cli(app, "restore", str(dump))  # the database still holds its data
    assert refused.exit_code != 0 and "--force" in refused.output

    with app.app_context():
        wipe()
        assert sum(n for name, n in row_counts().items() if name != "alembic_version") == 0

    result = _cli(app, "restore", str(dump))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Restored ")
    with app.app_context():
        assert row_counts() == before
    verified = _cli(app, "audit", "verify")
    assert verified.exit_code == 0, verified.output

    forced = _cli(app, "restore", "--force", str(dump))  # over data, when asked to
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        assert row_counts() == before
        db.engine.dispose()


def test_sqlite_backup_wipe_restore(tmp_path):
    app = _app("sqlite:///" + str(tmp_path / "coord.db"))

    def wipe() -> None:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()

    _round_trip(app, tmp_path, wipe)


def test_restore_refuses_a_file_that_is_no_backup(tmp_path):
    app = _app("sqlite:///" + str(tmp_path / "coord.db"))
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database")
    result = _cli(app, "restore", str(bogus))
    assert result.exit_code != 0 and "is not a sqlite backup" in result.output


@pytest.fixture
def throwaway_postgres() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped at the end (skipped without PostgreSQL)."""
    url = os.environ.get("COORD_TEST_DATABASE_URL", "")
    if not url:
        if os.environ.get("COORD_REQUIRE_POSTGRES") == "1":
            pytest.fail("COORD_REQUIRE_POSTGRES=1 but COORD_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests skipped: set COORD_TEST_DATABASE_URL=postgresql+psycopg://…")
    name = f"coord_backup_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield sa.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_backup_wipe_restore(tmp_path, throwaway_postgres):
    app = _app(throwaway_postgres)

    def wipe() -> None:
        """Drop the database and create it empty again."""
        db.session.remove()
        db.engine.dispose()
        name = db.engine.url.database
        admin = sa.create_engine(
            db.engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        admin.dispose()

    _round_trip(app, tmp_path, wipe)
