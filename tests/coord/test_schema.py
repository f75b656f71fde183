"""The migrations are the only way the schema changes: models and migrations must agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app

from coord.db import db


def test_models_match_migrations(app):
    with db.engine.connect() as conn:
        settings = current_app.extensions["migrate"].configure_args
        context = MigrationContext.configure(conn, opts=dict(settings))
        diff = compare_metadata(context, db.metadata)
    assert diff == [], "models and migrations differ; run `flask db migrate`:\n" + "\n".join(
        map(str, diff)
    )


def test_sqlite_pragmas(app):
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
