"""Pages and actions (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("deliberation", __name__)
