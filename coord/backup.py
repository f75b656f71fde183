"""Back up and restore the database (`flask coord backup FILE`, `flask coord restore FILE`).

- PostgreSQL: ``pg_dump -Fc`` (custom format, compressed) and ``pg_restore --clean
  --if-exists``; the binaries are found on the PATH, else in /usr/lib/postgresql/*/bin
  (newest first). The password goes to them in ``PGPASSWORD``, never on a command line.
- SQLite: the online backup API (`sqlite3.Connection.backup`), consistent while the app
  runs.

Uploaded files are not in the database: back up their folder or bucket separately
(docs/operations-backup.md). A restore refuses to overwrite a database that holds rows
unless forced.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from coord.db import db

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Tables whose rows do not make a database "hold data" (Alembic's version stamp).
IGNORED = frozenset({"alembic_version"})


class BackupError(Exception):
    """A backup or restore could not be done; the message says why."""


@dataclass(frozen=True)
class Report:
    """What a backup or restore did."""

    action: str
    database: str
    path: Path
    tables: int
    rows: int
    seconds: float

    def __str__(self) -> str:
        size = self.path.stat().st_size
        direction = "to" if self.action == "Backed up" else "from"
        return (
            f"{self.action} {self.database} ({self.tables} tables, {self.rows:,} rows) "
            f"{direction} {self.path} ({size:,} bytes) in {self.seconds:.1f} s."
        )


def row_counts(engine: sa.Engine | None = None) -> dict[str, int]:
    """Return the number of rows of every table of the database, by table name."""
    engine = engine or db.engine
    with engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
        return {
            name: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0
            for name in names
        }


def backup(path: Path) -> Report:
    """Write a backup of the app's database to `path`."""
    engine = db.engine
    started = time.monotonic()
    path = Path(path)
    if engine.dialect.name == "postgresql":
        args, env = _pg_connection(engine.url)
        _run([_binary("pg_dump"), "--format=custom", f"--file={path}", *args], env)
    elif engine.dialect.name == "sqlite":
        source = _sqlite_path(engine.url)
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(path)) as dst:
            src.backup(dst)
    else:
        raise BackupError(f"cannot back up a {engine.dialect.name} database")
    return _report("Backed up", engine, path, started)


def restore(path: Path, *, force: bool = False) -> Report:
    """Replace the app's database by the backup at `path` (refused when it holds data,
    unless `force`)."""
    engine = db.engine
    started = time.monotonic()
    path = Path(path)
    magic = path.read_bytes()[:16] if path.is_file() else b""
    expected = PG_MAGIC if engine.dialect.name == "postgresql" else SQLITE_MAGIC
    if not magic.startswith(expected):
        raise BackupError(f"{path} is not a {engine.dialect.name} backup made by `coord backup`")
    filled = {name: n for name, n in row_counts(engine).items() if n and name not in IGNORED}
    if filled and not force:
        raise BackupError(
            f"the database holds data ({sum(filled.values()):,} rows in {len(filled)} tables); "
            "restore with --force to overwrite it"
        )
    db.session.remove()
    engine.dispose()  # no pooled connection may hold the old tables
    if engine.dialect.name == "postgresql":
        args, env = _pg_connection(engine.url)
        _run(
            [_binary("pg_restore"), "--clean", "--if-exists", "--no-owner", *args, str(path)],
            env,
        )
    else:
        target = _sqlite_path(engine.url)
        with closing(sqlite3.connect(path)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
    engine.dispose()
    return _report("Restored", engine, path, started)


def _report(action: str, engine: sa.Engine, path: Path, started: float) -> Report:
    counts = row_counts(engine)
    name = f"{engine.dialect.name} database {engine.url.database}"
    return Report(action, name, path, len(counts), sum(counts.values()), time.monotonic() - started)


def _binary(name: str) -> str:
    """Find a PostgreSQL client program: on the PATH, else the newest installed."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
        reverse=True,
    )
    if not candidates:
        raise BackupError(f"{name} not found: install the PostgreSQL client programs")
    return str(candidates[0])


def _pg_connection(url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """Return libpq arguments for `url` and an environment holding its password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return [f"--dbname={plain.render_as_string(hide_password=False)}"], env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (fixed programs, no shell)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)
