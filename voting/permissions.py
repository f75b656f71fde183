"""Who may open, run, see and vote in a poll."""

from __future__ import annotations

from coord.models import Community, User
from proposals import permissions as proposal_perm
from proposals.models import Proposal
from stakeholders.models import Role, Stakeholder
from stakeholders.permissions import committee_ids, is_member
from voting.models import Poll, PollStatus

#: Proposal states from which a poll may be opened on a consultation.
OPENABLE_STATES = frozenset({"deliberation", "voting"})


def _signed_in(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def can_open_on_proposal(user: User | None, actor_id: int | None, proposal: Proposal) -> bool:
    """The proposal's author or a moderator (residents committee) opens a poll on a consultation."""
    if not _signed_in(user) or proposal.kind != "consultation":
        return False
    if proposal.status not in OPENABLE_STATES or proposal.is_hidden:
        return False
    return bool(proposal_perm.roles_for(user, actor_id, proposal) & {"author", "moderator"})


def can_open_in_community(user: User | None, community: Community) -> bool:
    """Members of the community's residents committee open stand-alone polls."""
    return _signed_in(user) and community.id in committee_ids(user)


def can_manage(user: User | None, actor_id: int | None, poll: Poll) -> bool:
    """Run a poll (edit before the first ballot, extend, close early): its opener's side."""
    if not _signed_in(user):
        return False
    if poll.community_id in committee_ids(user):
        return True
    if actor_id is not None and actor_id == poll.actor_id:
        return True
    if poll.proposal is not None:
        return "author" in proposal_perm.roles_for(user, actor_id, poll.proposal)
    return False


def can_view(user: User | None, poll: Poll) -> bool:
    """A poll on a proposal is seen by whoever sees the proposal; stand-alone polls are public."""
    if poll.proposal is not None:
        return proposal_perm.can_view(user, poll.proposal)
    return True


def can_cast_for(user: User | None, stakeholder: Stakeholder) -> bool:
    """A person votes as themself; an organisation's vote is cast by an admin or a delegate."""
    if not _signed_in(user) or stakeholder.is_deleted:
        return False
    if not stakeholder.is_organisation:
        return stakeholder.user_id == user.id
    return is_member(user, stakeholder, Role.ADMIN, Role.DELEGATE)


def results_visible(poll: Poll) -> bool:
    """Results show after the count; open (not secret) polls may show them live until the end."""
    if poll.status == PollStatus.CLOSED:
        return poll.result is not None
    return (
        poll.status == PollStatus.OPEN
        and poll.state == PollStatus.OPEN
        and poll.live_results
        and not poll.is_secret
    )
