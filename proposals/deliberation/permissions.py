"""Who may delete a comment, withdraw an amendment and decide on amendments."""

from __future__ import annotations

from typing import Any

from proposals import permissions as perm
from proposals.deliberation.models import Amendment, AmendmentStatus, Comment
from proposals.models import Proposal
from stakeholders.acting import Actor


def can_delete(user: Any, comment: Comment, proposal: Proposal) -> bool:
    """The author, and the community's moderators, may delete a comment."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return comment.user_id == user.id or perm.can_moderate(user, proposal.community_id)


def can_withdraw(actor: Actor | None, amendment: Amendment) -> bool:
    """The stakeholder who proposed an open amendment may withdraw it."""
    return (
        actor is not None
        and actor.stakeholder.id == amendment.actor_id
        and amendment.status == AmendmentStatus.OPEN
    )


def can_decide_amendments(actor: Actor | None, proposal: Proposal) -> bool:
    """Only the proposal's owner (its author role) decides amendments."""
    return actor is not None and "author" in perm.roles_for(
        actor.user, actor.stakeholder.id, proposal
    )
