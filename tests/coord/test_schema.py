"""The migrations are the only way the schema changes: models and migrations must agree."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app

from coord.db import db


def test_models_match_migrations(app):
    conn = db.session.connection()  # the test's (a second one would wait for its SQLite lock)
    settings = current_app.extensions["migrate"].configure_args
    context = MigrationContext.configure(conn, opts=dict(settings))
    diff = compare_metadata(context, db.metadata)
    assert diff == [], "models and migrations differ; run `flask db migrate`:\n" + "\n".join(
        map(str, diff)
    )


def test_sqlite_pragmas(app):
    if db.engine.dialect.name != "sqlite":
        return
    conn = db.session.connection()
    assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_upgrade_from_the_first_revision_keeps_data(make_app, tmp_path):
    """Batch migrations rebuild SQLite tables: rows and their references must survive."""
    from flask_migrate import downgrade, upgrade

    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="0001_core")
        db.session.execute(
            sa.text(
                "INSERT INTO users (id, username, display_name, password_hash, session_token, "
                "is_admin, is_disabled, created_at) VALUES (1, 'old', '老用户', 'x', 't', 0, 0, "
                "'2026-01-01 00:00:00.000000')"
            )
        )
        db.session.execute(
            sa.text(
                "INSERT INTO stakeholders (id, kind, name, description, user_id, is_confirmed, "
                "created_at) VALUES (1, 'resident', '老用户', '', 1, 0, '2026-01-01 00:00:00')"
            )
        )
        db.session.commit()
        upgrade()
        assert db.session.execute(sa.text("SELECT display_name FROM users")).scalar() == "老用户"
        assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        db.session.commit()
        downgrade(revision="0001_core")
        upgrade()
