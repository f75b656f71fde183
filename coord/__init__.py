"""Coord: multi-stakeholder coordination and deliberation for community governance."""

from __future__ import annotations

from coord.app import create_app

__all__ = ["create_app"]
