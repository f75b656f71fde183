"""Amendments of a proposal's deliberation (being built)."""

from __future__ import annotations

from typing import Any

from proposals.models import Proposal
from proposals.viewer import Viewer


def page_context(proposal: Proposal, viewer: Viewer, args: Any) -> dict[str, Any]:
    """Return what the proposal page needs from this part, in a fixed number of queries."""
    return {}
