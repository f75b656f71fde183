"""Coord: multi-stakeholder coordination and deliberation for community governance."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """Import the app factory on first use, so that pure modules (`coord.audit_verify`, the
    standalone verifier) run without Flask installed."""
    if name == "create_app":
        from coord.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
