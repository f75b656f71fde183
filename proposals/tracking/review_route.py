"""Plan review routes (方案报批): parallel groups of steps run in sequence (pure).

A route is an ordered tuple of groups; the steps of a group review at the same time, and
the next group starts when every step of the current one approved. All functions take
and return immutable values.

- ``changes_requested`` by any step ends the round at once: the group's other pending
  steps are closed as ``not_needed`` (their review would be of a text about to change).
  ``resubmit`` starts a new round at that same group; every step of that group and of
  later groups reviews again, earlier groups keep their approval.
- ``rejected`` by any step ends the route (the other pending steps become ``not_needed``).
- When every group approved, the route waits for the street office's ``sign_off``, which
  approves or rejects for good.

Due dates are not kept here: a step is due ``due_workdays`` working days after its group
became active (see ``proposals.tracking.workdays``), which the service records.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Final


def N_(s: str) -> str:
    """Mark a string for translation without translating it."""
    return s


PENDING: Final = "pending"
APPROVED: Final = "approved"
CHANGES_REQUESTED: Final = "changes_requested"
REJECTED: Final = "rejected"
NOT_NEEDED: Final = "not_needed"
DECISIONS: Final = (APPROVED, CHANGES_REQUESTED, REJECTED)  # what a reviewer may decide

IN_PROGRESS: Final = "in_progress"
APPROVED_PENDING_SIGNOFF: Final = "approved_pending_signoff"
OUTCOMES: Final = (IN_PROGRESS, CHANGES_REQUESTED, APPROVED_PENDING_SIGNOFF, APPROVED, REJECTED)

DECISION_LABELS: Final[dict[str, str]] = {
    PENDING: N_("Pending"),
    APPROVED: N_("Approved"),
    CHANGES_REQUESTED: N_("Changes requested"),
    REJECTED: N_("Rejected"),
    NOT_NEEDED: N_("Not needed"),
}

OUTCOME_LABELS: Final[dict[str, str]] = {
    IN_PROGRESS: N_("Under review"),
    CHANGES_REQUESTED: N_("Changes requested"),
    APPROVED_PENDING_SIGNOFF: N_("Awaiting sign-off by the street office"),
    APPROVED: N_("Approved"),
    REJECTED: N_("Rejected"),
}

MESSAGES: Final[dict[str, str]] = {
    "unknown_step": N_("There is no review step “%(step)s”."),
    "unknown_decision": N_("“%(decision)s” is not a valid decision."),
    "opinion_required": N_("Please write your opinion."),
    "already_decided": N_("The step “%(step)s” has already been decided in this round."),
    "step_not_active": N_("The step “%(step)s” is not under review now."),
    "not_in_progress": N_("The review is not in progress."),
    "not_changes_requested": N_("Only a plan sent back for changes can be resubmitted."),
    "not_awaiting_signoff": N_("The review is not waiting for the final sign-off."),
    "state_mismatch": N_("This review state does not belong to this route."),
}


class RouteError(ValueError):
    """A refused review operation, with a machine ``code`` and an English ``message``.

    ``message`` is the untranslated template; translate it, then interpolate ``params``.
    """

    def __init__(self, code: str, **params: str) -> None:
        self.code = code
        self.message = MESSAGES[code]
        self.params = params
        super().__init__(self.message % params)


@dataclass(frozen=True, slots=True)
class Step:
    """One reviewer's task: ``owner`` is an opaque id (e.g. a department stakeholder)."""

    id: str
    owner: Hashable
    due_workdays: int


@dataclass(frozen=True, slots=True)
class Route:
    """Groups of parallel steps, run one group after the other."""

    groups: tuple[tuple[Step, ...], ...]

    def __post_init__(self) -> None:
        groups = tuple(tuple(group) for group in self.groups)
        object.__setattr__(self, "groups", groups)
        if not groups:
            raise ValueError("A review route needs at least one group")
        ids = [step.id for group in groups for step in group]
        for i, group in enumerate(groups):
            if not group:
                raise ValueError(f"Group {i} of the review route is empty")
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"Duplicate step ids in the review route: {', '.join(duplicates)}")
        for step in self.steps:
            if isinstance(step.due_workdays, bool) or not isinstance(step.due_workdays, int):
                raise ValueError(f"Step {step.id}: due_workdays must be an integer")
            if step.due_workdays < 1:
                raise ValueError(f"Step {step.id}: due_workdays must be at least 1")

    @property
    def steps(self) -> tuple[Step, ...]:
        """Return every step, in route order."""
        return tuple(step for group in self.groups for step in group)

    def group_index(self, step_id: str) -> int:
        """Return the index of the group holding ``step_id``."""
        for i, group in enumerate(self.groups):
            if any(step.id == step_id for step in group):
                return i
        raise RouteError("unknown_step", step=step_id)


@dataclass(frozen=True, slots=True)
class StepDecision:
    """The decision of one step in one round."""

    step_id: str
    decision: str = PENDING
    opinion: str = ""


@dataclass(frozen=True, slots=True)
class Round:
    """A finished round: where it started, its decisions and how it ended."""

    number: int
    start_group: int
    decisions: tuple[StepDecision, ...]
    outcome: str


@dataclass(frozen=True, slots=True)
class RouteState:
    """Where a review stands: the current round and group, its decisions, earlier rounds.

    ``group`` equals the number of groups once all groups approved. ``signoff`` holds the
    street office's final decision once given.
    """

    round: int
    group: int
    start_group: int
    decisions: tuple[StepDecision, ...]
    outcome: str = IN_PROGRESS
    history: tuple[Round, ...] = ()
    signoff: StepDecision | None = None

    def decision(self, step_id: str) -> StepDecision:
        """Return the current round's decision of ``step_id``."""
        for d in self.decisions:
            if d.step_id == step_id:
                return d
        raise RouteError("unknown_step", step=step_id)


SIGNOFF_STEP: Final = "signoff"  # step_id of ``RouteState.signoff``


def start(route: Route) -> RouteState:
    """Return the state of a review that just started at the first group."""
    return RouteState(
        round=1,
        group=0,
        start_group=0,
        decisions=tuple(StepDecision(step.id) for step in route.steps),
    )


def outcome(state: RouteState) -> str:
    """Return how the review stands: one of ``OUTCOMES``."""
    return state.outcome


def active_steps(route: Route, state: RouteState) -> list[Step]:
    """Return the pending steps of the current group (none unless in progress)."""
    _check(route, state)
    if state.outcome != IN_PROGRESS:
        return []
    return [s for s in route.groups[state.group] if state.decision(s.id).decision == PENDING]


def decide(
    route: Route, state: RouteState, step_id: str, decision: str, opinion: str
) -> RouteState:
    """Record a step's decision and return the new state."""
    _check(route, state)
    if decision not in DECISIONS:
        raise RouteError("unknown_decision", decision=decision)
    index = route.group_index(step_id)
    if state.outcome != IN_PROGRESS:
        raise RouteError("not_in_progress")
    if state.decision(step_id).decision != PENDING:
        raise RouteError("already_decided", step=step_id)
    if index != state.group:
        raise RouteError("step_not_active", step=step_id)
    opinion = _opinion(opinion)

    group_ids = {step.id for step in route.groups[index]}
    decisions = _set(state.decisions, step_id, decision, opinion)
    if decision == APPROVED:
        if any(_get(decisions, i).decision != APPROVED for i in group_ids):
            return replace(state, decisions=decisions)
        nxt = index + 1
        done = nxt == len(route.groups)
        return replace(
            state,
            decisions=decisions,
            group=nxt,
            outcome=APPROVED_PENDING_SIGNOFF if done else IN_PROGRESS,
        )
    for i in group_ids:
        if _get(decisions, i).decision == PENDING:
            decisions = _set(decisions, i, NOT_NEEDED, "")
    return replace(state, decisions=decisions, outcome=decision)


def resubmit(route: Route, state: RouteState) -> RouteState:
    """Start a new round at the group that asked for changes, keeping earlier rounds."""
    _check(route, state)
    if state.outcome != CHANGES_REQUESTED:
        raise RouteError("not_changes_requested")
    finished = Round(state.round, state.start_group, state.decisions, state.outcome)
    kept = {step.id for group in route.groups[: state.group] for step in group}
    return RouteState(
        round=state.round + 1,
        group=state.group,
        start_group=state.group,
        decisions=tuple(
            d if d.step_id in kept else StepDecision(d.step_id) for d in state.decisions
        ),
        history=(*state.history, finished),
    )


def sign_off(route: Route, state: RouteState, decision: str, opinion: str) -> RouteState:
    """Record the street office's final ``approved`` or ``rejected`` and return the new state."""
    _check(route, state)
    if state.outcome != APPROVED_PENDING_SIGNOFF:
        raise RouteError("not_awaiting_signoff")
    if decision not in (APPROVED, REJECTED):
        raise RouteError("unknown_decision", decision=decision)
    signoff = StepDecision(SIGNOFF_STEP, decision, _opinion(opinion))
    return replace(state, outcome=decision, signoff=signoff)


def _check(route: Route, state: RouteState) -> None:
    """Refuse a state whose steps are not the route's steps."""
    if tuple(d.step_id for d in state.decisions) != tuple(s.id for s in route.steps):
        raise RouteError("state_mismatch")
    if not 0 <= state.group <= len(route.groups):
        raise RouteError("state_mismatch")


def _opinion(opinion: str) -> str:
    """Return the stripped opinion, refusing an empty one."""
    rv = (opinion or "").strip()
    if not rv:
        raise RouteError("opinion_required")
    return rv


def _get(decisions: Iterable[StepDecision], step_id: str) -> StepDecision:
    """Return the decision of ``step_id``."""
    return next(d for d in decisions if d.step_id == step_id)


def _set(
    decisions: tuple[StepDecision, ...], step_id: str, decision: str, opinion: str
) -> tuple[StepDecision, ...]:
    """Return ``decisions`` with the one of ``step_id`` replaced."""
    return tuple(
        StepDecision(step_id, decision, opinion) if d.step_id == step_id else d for d in decisions
    )
