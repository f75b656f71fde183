"""Re-render stored user text through the current sanitiser (`flask coord resanitise`).

User text is rendered and sanitised once, when written, and kept twice: its Markdown
source (``*_source``) and the cleaned HTML shown on pages (``*_html``). When the
sanitiser or its allowlist changes (`coord.text.SANITIZER_VERSION`), the stored HTML is
rebuilt from the source. Every mapped column named ``x_html`` is found with its
``x_source``, so a new model that stores HTML needs no registration.

Batched by primary key, one commit per batch. Idempotent and resumable: rows carrying a
``sanitizer_version`` are skipped once they have the current one; other rows are
re-rendered and written only when their HTML changes, so a second run writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from coord.db import db
from coord.text import SANITIZER_VERSION, render_markdown

VERSION = "sanitizer_version"


@dataclass(frozen=True)
class StoredHtml:
    """A model's stored HTML column, the source it is rendered from, and its version column."""

    model: Any
    source: str
    html: str
    version: str | None

    @property
    def label(self) -> str:
        return f"{self.model.__tablename__}.{self.html}"


def stored_html() -> list[StoredHtml]:
    """Return every ``*_html`` column of the mapped models, with its ``*_source``."""
    rv = []
    for mapper in sorted(db.Model.registry.mappers, key=lambda m: m.class_.__tablename__):
        names = set(mapper.columns.keys())
        for html in sorted(n for n in names if n.endswith("_html")):
            source = html.removesuffix("_html") + "_source"
            if source not in names:
                raise LookupError(f"{mapper.class_.__tablename__}.{html} has no {source}")
            version = VERSION if VERSION in names else None
            rv.append(StoredHtml(mapper.class_, source, html, version))
    return rv


def resanitise(
    batch_size: int = 500, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, tuple[int, int]]:
    """Re-render every stored HTML; return (rows read, rows rewritten) per column."""
    return {
        column.label: _column(column, batch_size, progress or (lambda *_: None))
        for column in stored_html()
    }


def _column(
    column: StoredHtml, batch_size: int, progress: Callable[[str, int, int], None]
) -> tuple[int, int]:
    model = column.model
    source, html = getattr(model, column.source), getattr(model, column.html)
    where = [source.is_not(None)]
    if column.version:
        where.append(getattr(model, column.version) < SANITIZER_VERSION)
    read = written = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(model.id, source, html)
            .where(model.id > last_id, *where)
            .order_by(model.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return read, written
        changes = []
        for row_id, text, old in rows:
            new = render_markdown(text)
            if new != old or column.version:
                change = {"id": row_id, column.html: new}
                if column.version:
                    change[column.version] = SANITIZER_VERSION
                changes.append(change)
        if changes:
            db.session.execute(sa.update(model), changes)
        db.session.commit()
        read += len(rows)
        written += len(changes)
        last_id = rows[-1][0]
        progress(column.label, read, written)
