"""The home page's registries: "my tasks" for a signed-in user, highlights for everyone.

Higher packages register their sources in their `init_app`; the home page collects them
without importing those packages. A source answers with one or two queries, never one per
row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app

from coord.models import User


@dataclass(frozen=True)
class Task:
    """Something the user should do: what, where, by when, and what kind of thing it is."""

    title: str
    url: str
    due_at: datetime | None
    kind_label: str


@dataclass(frozen=True)
class Highlight:
    """One public item (or figure) of a highlights section."""

    title: str
    url: str
    note: str = ""


@dataclass(frozen=True)
class Section:
    """A titled group of highlights shown to signed-out visitors."""

    title: str
    items: list[Highlight]
    order: int = 50


TaskSource = Callable[[User], list[Task]]
HighlightSource = Callable[[], Section | None]

_TASKS = "coord.task_sources"
_HIGHLIGHTS = "coord.highlight_sources"


def add_task_source(app: Flask, source: TaskSource) -> None:
    """Register a function that lists a user's tasks."""
    app.extensions.setdefault(_TASKS, []).append(source)


def add_highlight_source(app: Flask, source: HighlightSource) -> None:
    """Register a function that returns a public highlights section (or None)."""
    app.extensions.setdefault(_HIGHLIGHTS, []).append(source)


def tasks_for(user: User) -> list[Task]:
    """Collect every source's tasks, the soonest deadline first (undated last)."""
    rv = [task for source in current_app.extensions.get(_TASKS, []) for task in source(user)]
    return sorted(rv, key=lambda t: (t.due_at is None, t.due_at or datetime.min, t.title))


def highlights() -> list[Section]:
    """Collect the public highlights sections that have something to show, in order."""
    sections = [source() for source in current_app.extensions.get(_HIGHLIGHTS, [])]
    return sorted((s for s in sections if s and s.items), key=lambda s: s.order)
