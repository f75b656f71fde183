"""Proposal pages: browse and search, create, detail, edit, versions and diffs, lifecycle."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("proposals", __name__)
