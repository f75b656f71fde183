"""The tenders' server time, in one place so that tests can move it (pure)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)
