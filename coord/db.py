"""Database handle, column types and SQLite connection settings."""

from __future__ import annotations

import enum
import sqlite3
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SQLITE_BUSY_TIMEOUT_MS = 10_000


class Base(DeclarativeBase):
    """Declarative base with the project's constraint naming convention."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


#: Database objects made by migrations only for one backend (not in the models).
DATABASE_ONLY_INDEXES = frozenset({"ix_proposals_search_trgm"})


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Tell Alembic's autogenerate to ignore the backend-specific indexes above."""
    return not (type_ == "index" and name in DATABASE_ONLY_INDEXES)


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def enum_column(cls: type[enum.Enum]) -> sa.Enum:
    """Store a string enum by value, as VARCHAR (portable, and new values need no DDL)."""
    return sa.Enum(
        cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e]
    )


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware UTC times")
        rv = value.astimezone(UTC)
        return rv.replace(tzinfo=None) if dialect.name == "sqlite" else rv

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


@sa.event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on foreign keys, WAL and a busy timeout for every SQLite connection."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


@sa.event.listens_for(Engine, "begin")
def _begin_sqlite(conn: sa.Connection) -> None:
    """Begin SQLite write transactions immediately so that writers queue instead of failing."""
    if conn.dialect.name != "sqlite":
        return
    reading = has_request_context() and request.method in SAFE_METHODS
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
