"""Who is looking at a proposal page, computed once per request."""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import current_user

from coord.models import User
from proposals import permissions as perm
from proposals.models import Proposal
from stakeholders.acting import Actor, current_actor


@dataclass(frozen=True)
class Viewer:
    """The signed-in user (or None), their acting stakeholder and what they may do here."""

    user: User | None
    actor: Actor | None
    roles: frozenset[str]
    can_participate: bool
    can_moderate: bool
    can_edit: bool


def viewer_for(proposal: Proposal) -> Viewer:
    """Compute the current user's view of `proposal`."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    actor = current_actor()
    actor_id = actor.stakeholder.id if actor else None
    return Viewer(
        user=user,
        actor=actor,
        roles=perm.roles_for(user, actor_id, proposal),
        can_participate=perm.can_participate(user, proposal),
        can_moderate=perm.can_moderate(user, proposal.community_id),
        can_edit=perm.can_edit(user, actor_id, proposal),
    )
