"""Proposal lifecycles: states, transitions and who may trigger them (pure).

Each proposal kind has an explicit state machine. A transition is looked up by
``(kind, from_state, action)``; it names the roles allowed to trigger it and whether a
reason (or, for merging requests, a target) must be given. Roles are plain names; the
service layer decides which roles the acting user holds on a given proposal.

Decisions worth knowing:

- consultation: the owner (``author``) or a ``moderator`` may decide straight from
  ``deliberation`` without a poll (``adopt`` / ``reject``); the reason is then required
  so the record says why no vote was held. After a poll the decision is recorded by
  ``system`` (or a moderator) from the result, no reason needed.
- ``withdraw`` / ``cancel`` lead to terminal states. A reason is required once the
  proposal is public (withdrawing a draft needs none). A withdrawn proposal stays public
  so the record shows it; services should delete never-published drafts instead of
  withdrawing them if they must stay hidden.
- request: transferring a request to another handler keeps its state and is handled by
  the service, not here. ``merge`` needs a target (the duplicate's id).
- plan: the review itself runs in ``proposals/review_route.py``; the service applies its
  outcome here with the role of whoever decided (``reviewer`` or ``street_office``).
- tender: ``cancel`` is possible until the award, always with a reason. A challenge during
  the standstill period is not modelled (cancel before award, or handle it off-line).
- Unknown role names raise ``unknown_role`` so that typos do not silently deny.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


def N_(s: str) -> str:
    """Mark a string for translation without translating it."""
    return s


KINDS: Final = ("consultation", "request", "plan", "tender")

ROLES: Final = frozenset(
    {
        "author",  # the proposal's author, or an admin of the author organisation
        "moderator",  # a member of the community's residents committee
        "handler",  # the assigned handler of a request
        "requester",  # the stakeholder who filed a request
        "street_office",  # the street office overseeing the community
        "reviewer",  # a reviewer of a plan, an evaluator of a tender
        "buyer",  # the organisation running a tender
        "system",  # automatic transitions (deadlines, poll results, review routes)
    }
)

STATES: Final[dict[str, tuple[str, ...]]] = {
    "consultation": (
        "draft",
        "deliberation",
        "voting",
        "decided_adopted",
        "decided_rejected",
        "implementing",
        "closed",
        "withdrawn",
    ),
    "request": (
        "submitted",
        "accepted",
        "in_progress",
        "resolved",
        "closed",
        "rejected",
        "merged",
    ),
    "plan": (
        "draft",
        "submitted",
        "under_review",
        "changes_requested",
        "approved",
        "rejected",
        "implementing",
        "closed",
        "withdrawn",
    ),
    "tender": (
        "draft",
        "enquiry",
        "bidding",
        "opened",
        "evaluated",
        "awarded",
        "standstill",
        "implementing",
        "closed",
        "cancelled",
    ),
}

INITIAL: Final[dict[str, str]] = {
    "consultation": "draft",
    "request": "submitted",
    "plan": "draft",
    "tender": "draft",
}

TERMINAL: Final[dict[str, frozenset[str]]] = {
    "consultation": frozenset({"closed", "withdrawn"}),
    "request": frozenset({"closed", "rejected", "merged"}),
    "plan": frozenset({"closed", "rejected", "withdrawn"}),
    "tender": frozenset({"closed", "cancelled"}),
}

_PRIVATE: Final[dict[str, frozenset[str]]] = {
    "consultation": frozenset({"draft"}),
    "request": frozenset(),
    "plan": frozenset({"draft"}),
    "tender": frozenset({"draft"}),
}

_OPEN_FOR_DISCUSSION: Final[dict[str, frozenset[str]]] = {
    "consultation": frozenset({"deliberation"}),
    "request": frozenset({"submitted", "accepted", "in_progress", "resolved"}),
    "plan": frozenset({"submitted", "under_review", "changes_requested"}),
    "tender": frozenset({"enquiry"}),
}

_EDITABLE: Final[dict[str, frozenset[str]]] = {
    "consultation": frozenset({"draft", "deliberation"}),
    "request": frozenset({"submitted"}),
    "plan": frozenset({"draft", "changes_requested"}),
    "tender": frozenset({"draft", "enquiry"}),
}

KIND_LABELS: Final[dict[str, str]] = {
    "consultation": N_("Consultation"),
    "request": N_("Request"),
    "plan": N_("Plan approval"),
    "tender": N_("Tender"),
}

STATE_LABELS: Final[dict[str, str]] = {
    "draft": N_("Draft"),
    "deliberation": N_("Deliberation"),
    "voting": N_("Voting"),
    "decided_adopted": N_("Adopted"),
    "decided_rejected": N_("Not adopted"),
    "implementing": N_("Implementing"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
    "submitted": N_("Submitted"),
    "accepted": N_("Accepted"),
    "in_progress": N_("In progress"),
    "resolved": N_("Resolved"),
    "rejected": N_("Rejected"),
    "merged": N_("Merged"),
    "under_review": N_("Under review"),
    "changes_requested": N_("Changes requested"),
    "approved": N_("Approved"),
    "enquiry": N_("Enquiry period"),
    "bidding": N_("Bidding"),
    "opened": N_("Bids opened"),
    "evaluated": N_("Evaluated"),
    "awarded": N_("Awarded"),
    "standstill": N_("Standstill period"),
    "cancelled": N_("Cancelled"),
}

ACTION_LABELS: Final[dict[str, str]] = {
    "publish": N_("Publish"),
    "open_voting": N_("Open voting"),
    "adopt": N_("Adopt"),
    "reject": N_("Reject"),
    "implement": N_("Start implementation"),
    "close": N_("Close"),
    "withdraw": N_("Withdraw"),
    "accept": N_("Accept"),
    "start": N_("Start work"),
    "resolve": N_("Mark resolved"),
    "confirm": N_("Confirm resolution"),
    "reopen": N_("Reopen"),
    "merge": N_("Merge into duplicate"),
    "submit": N_("Submit for approval"),
    "start_review": N_("Start review"),
    "request_changes": N_("Request changes"),
    "resubmit": N_("Resubmit"),
    "approve": N_("Approve"),
    "open_bidding": N_("Open bidding"),
    "open_bids": N_("Open bids"),
    "complete_evaluation": N_("Complete evaluation"),
    "award": N_("Award"),
    "start_standstill": N_("Start standstill period"),
    "sign_contract": N_("Sign contract"),
    "cancel": N_("Cancel"),
}

MESSAGES: Final[dict[str, str]] = {
    "unknown_kind": N_("Unknown proposal kind “%(kind)s”."),
    "unknown_state": N_("Unknown state “%(state)s” for a %(kind)s."),
    "unknown_action": N_("Unknown action “%(action)s” for a %(kind)s."),
    "unknown_role": N_("Unknown role “%(role)s”."),
    "invalid_transition": N_("“%(action)s” is not possible for a %(kind)s in state “%(state)s”."),
    "forbidden": N_("You are not allowed to “%(action)s” this %(kind)s."),
    "reason_required": N_("Please give a reason to “%(action)s” this %(kind)s."),
    "target_required": N_("Please choose the proposal to “%(action)s” this %(kind)s into."),
}


# Which label table names each message parameter, for translating the parameters too.
PARAM_LABELS: Final[dict[str, dict[str, str]]] = {
    "kind": KIND_LABELS,
    "state": STATE_LABELS,
    "action": ACTION_LABELS,
}


class LifecycleError(ValueError):
    """A refused lifecycle operation, with a machine ``code`` and an English ``message``.

    ``message`` is the untranslated template; translate it, then interpolate ``params``
    (raw kind, state and action names; ``PARAM_LABELS`` maps them to labels).
    """

    def __init__(self, code: str, **params: str) -> None:
        self.code = code
        self.message = MESSAGES[code]
        self.params = params
        super().__init__(self.message % params)


@dataclass(frozen=True, slots=True)
class Transition:
    """One allowed move of a proposal kind from one state to another."""

    kind: str
    from_state: str
    action: str
    to_state: str
    roles: frozenset[str]
    reason_required: bool = False
    target_required: bool = False


_REVIEWERS: Final = "reviewer street_office"  # who may turn a plan down in review

# Per kind: (from states, action, to state, roles, flags); several from states and roles
# are space-separated; flags may contain "reason" and "target".
_TABLE: Final[dict[str, tuple[tuple[str, str, str, str, str], ...]]] = {
    "consultation": (  # 意见征询
        ("draft", "publish", "deliberation", "author", ""),
        ("deliberation", "open_voting", "voting", "author moderator", ""),
        ("voting", "adopt", "decided_adopted", "system moderator", ""),
        ("voting", "reject", "decided_rejected", "system moderator", ""),
        ("deliberation", "adopt", "decided_adopted", "author moderator", "reason"),
        ("deliberation", "reject", "decided_rejected", "author moderator", "reason"),
        ("decided_adopted", "implement", "implementing", "author moderator", ""),
        ("implementing", "close", "closed", "author moderator", ""),
        ("decided_rejected", "close", "closed", "author moderator system", ""),
        ("draft", "withdraw", "withdrawn", "author", ""),
        ("deliberation voting", "withdraw", "withdrawn", "author", "reason"),
    ),
    "request": (  # 诉求
        ("submitted", "accept", "accepted", "handler", ""),
        ("submitted", "reject", "rejected", "handler moderator street_office", "reason"),
        ("submitted", "merge", "merged", "handler moderator street_office", "target"),
        ("accepted", "start", "in_progress", "handler", ""),
        ("in_progress", "resolve", "resolved", "handler", "reason"),
        ("resolved", "confirm", "closed", "requester system", ""),
        ("resolved", "reopen", "in_progress", "requester", "reason"),
    ),
    "plan": (  # 方案报批
        ("draft", "submit", "submitted", "author", ""),
        ("submitted", "start_review", "under_review", "street_office system", ""),
        ("under_review", "request_changes", "changes_requested", _REVIEWERS, "reason"),
        ("changes_requested", "resubmit", "under_review", "author", ""),
        ("under_review", "approve", "approved", "street_office", ""),
        ("under_review", "reject", "rejected", _REVIEWERS, "reason"),
        ("approved", "implement", "implementing", "author", ""),
        ("implementing", "close", "closed", "author street_office", ""),
        ("draft", "withdraw", "withdrawn", "author", ""),
        ("submitted under_review changes_requested", "withdraw", "withdrawn", "author", "reason"),
    ),
    "tender": (  # 招标
        ("draft", "publish", "enquiry", "buyer", ""),
        ("enquiry", "open_bidding", "bidding", "buyer system", ""),
        ("bidding", "open_bids", "opened", "buyer system", ""),
        ("opened", "complete_evaluation", "evaluated", "reviewer buyer", ""),
        ("evaluated", "award", "awarded", "buyer", ""),
        ("awarded", "start_standstill", "standstill", "buyer system", ""),
        ("standstill", "sign_contract", "implementing", "buyer", ""),
        ("implementing", "close", "closed", "buyer", ""),
        ("draft enquiry bidding opened evaluated", "cancel", "cancelled", "buyer", "reason"),
    ),
}

TRANSITIONS: Final[tuple[Transition, ...]] = tuple(
    Transition(
        kind=kind,
        from_state=source,
        action=action,
        to_state=to_state,
        roles=frozenset(roles.split()),
        reason_required="reason" in flags,
        target_required="target" in flags,
    )
    for kind, rows in _TABLE.items()
    for sources, action, to_state, roles, flags in rows
    for source in sources.split()
)

_BY_KEY: Final = MappingProxyType({(t.kind, t.from_state, t.action): t for t in TRANSITIONS})
_ACTIONS: Final = MappingProxyType(
    {kind: frozenset(t.action for t in TRANSITIONS if t.kind == kind) for kind in KINDS}
)


def _check(kind: str, state: str, roles: Iterable[str] = ()) -> frozenset[str]:
    """Validate kind, state and role names; return the roles as a set."""
    if kind not in STATES:
        raise LifecycleError("unknown_kind", kind=kind)
    if state not in STATES[kind]:
        raise LifecycleError("unknown_state", kind=kind, state=state)
    rv = frozenset(roles)
    unknown = sorted(rv - ROLES)
    if unknown:
        raise LifecycleError("unknown_role", role=unknown[0])
    return rv


def allowed_actions(kind: str, state: str, roles: Iterable[str]) -> list[Transition]:
    """Return the transitions out of ``state`` that any of ``roles`` may trigger."""
    held = _check(kind, state, roles)
    return [t for t in TRANSITIONS if t.kind == kind and t.from_state == state and t.roles & held]


def transition(
    kind: str,
    state: str,
    action: str,
    roles: Iterable[str],
    *,
    reason: str | None = None,
    target: object | None = None,
) -> str:
    """Apply ``action`` to a proposal in ``state`` and return the new state."""
    held = _check(kind, state, roles)
    params = {"kind": kind, "state": state, "action": action}
    if action not in _ACTIONS[kind]:
        raise LifecycleError("unknown_action", **params)
    t = _BY_KEY.get((kind, state, action))
    if t is None:
        raise LifecycleError("invalid_transition", **params)
    if not t.roles & held:
        raise LifecycleError("forbidden", **params)
    if t.reason_required and not (reason and reason.strip()):
        raise LifecycleError("reason_required", **params)
    if t.target_required and target is None:
        raise LifecycleError("target_required", **params)
    return t.to_state


def is_terminal(kind: str, state: str) -> bool:
    """Return whether no transition leaves ``state``."""
    _check(kind, state)
    return state in TERMINAL[kind]


def is_public(kind: str, state: str) -> bool:
    """Return whether a proposal in ``state`` is visible to everyone (drafts are not)."""
    _check(kind, state)
    return state not in _PRIVATE[kind]


def is_open_for_discussion(kind: str, state: str) -> bool:
    """Return whether comments, positions and amendments are accepted in ``state``."""
    _check(kind, state)
    return state in _OPEN_FOR_DISCUSSION[kind]


def is_editable(kind: str, state: str) -> bool:
    """Return whether the author may edit the text in ``state``."""
    _check(kind, state)
    return state in _EDITABLE[kind]
