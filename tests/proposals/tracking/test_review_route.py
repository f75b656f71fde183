from __future__ import annotations

import pytest

from proposals.tracking import review_route as rr
from proposals.tracking.review_route import Route, RouteError, Step, StepDecision

# Lanyuan's lift plan: the residents committee first, then Urban Management and Social
# Affairs in parallel, then the street office's legal check.
COMMITTEE = Step("committee", owner=11, due_workdays=3)
URBAN = Step("urban", owner=21, due_workdays=5)
SOCIAL = Step("social", owner=22, due_workdays=5)
LEGAL = Step("legal", owner=31, due_workdays=2)
ROUTE = Route(((COMMITTEE,), (URBAN, SOCIAL), (LEGAL,)))


def ids(steps: list[Step]) -> list[str]:
    return [s.id for s in steps]


def decisions(state: rr.RouteState) -> dict[str, str]:
    return {d.step_id: d.decision for d in state.decisions}


def approve_all(route: Route, state: rr.RouteState) -> rr.RouteState:
    """Approve group after group until the route waits for sign-off."""
    while rr.active_steps(route, state):
        for step in rr.active_steps(route, state):
            state = rr.decide(route, state, step.id, "approved", "OK")
    return state


def test_start() -> None:
    state = rr.start(ROUTE)
    assert (state.round, state.group, state.history, state.signoff) == (1, 0, (), None)
    assert rr.outcome(state) == "in_progress"
    assert ids(rr.active_steps(ROUTE, state)) == ["committee"]
    assert set(decisions(state).values()) == {"pending"}


def test_sequential_and_parallel_approval() -> None:
    state = rr.start(ROUTE)
    state = rr.decide(ROUTE, state, "committee", "approved", "  Residents agree.  ")
    assert state.decision("committee") == StepDecision("committee", "approved", "Residents agree.")
    assert state.group == 1
    assert ids(rr.active_steps(ROUTE, state)) == ["urban", "social"]

    state = rr.decide(ROUTE, state, "social", "approved", "Helps the elderly.")
    assert state.group == 1  # still waiting for the parallel step
    assert ids(rr.active_steps(ROUTE, state)) == ["urban"]

    state = rr.decide(ROUTE, state, "urban", "approved", "Fire lane stays clear.")
    assert ids(rr.active_steps(ROUTE, state)) == ["legal"]

    state = rr.decide(ROUTE, state, "legal", "approved", "Lawful.")
    assert rr.outcome(state) == "approved_pending_signoff"
    assert state.group == 3
    assert rr.active_steps(ROUTE, state) == []
    assert set(decisions(state).values()) == {"approved"}


def test_single_step_route() -> None:
    route = Route(((Step("only", "dept", 1),),))
    state = rr.decide(route, rr.start(route), "only", "approved", "Fine.")
    assert rr.outcome(state) == "approved_pending_signoff"


def test_changes_requested_closes_parallel_steps_and_resubmit_resumes_there() -> None:
    state = rr.start(ROUTE)
    state = rr.decide(ROUTE, state, "committee", "approved", "Residents agree.")
    state = rr.decide(ROUTE, state, "urban", "changes_requested", "Move the shaft 1 m east.")
    assert rr.outcome(state) == "changes_requested"
    assert decisions(state) == {
        "committee": "approved",
        "urban": "changes_requested",
        "social": "not_needed",
        "legal": "pending",
    }
    assert rr.active_steps(ROUTE, state) == []

    round2 = rr.resubmit(ROUTE, state)
    assert (round2.round, round2.group, round2.start_group) == (2, 1, 1)
    assert rr.outcome(round2) == "in_progress"
    assert decisions(round2) == {
        "committee": "approved",  # the earlier group keeps its approval
        "urban": "pending",
        "social": "pending",
        "legal": "pending",
    }
    assert round2.decision("committee").opinion == "Residents agree."
    assert ids(rr.active_steps(ROUTE, round2)) == ["urban", "social"]
    assert round2.history == (rr.Round(1, 0, state.decisions, "changes_requested"),)

    done = approve_all(ROUTE, round2)
    assert rr.outcome(done) == "approved_pending_signoff"
    assert done.round == 2
    assert len(done.history) == 1


def test_parallel_approval_is_reviewed_again_after_changes() -> None:
    state = rr.start(ROUTE)
    state = rr.decide(ROUTE, state, "committee", "approved", "OK")
    state = rr.decide(ROUTE, state, "social", "approved", "OK")
    state = rr.decide(ROUTE, state, "urban", "changes_requested", "Too close to bldg 2.")
    assert decisions(state)["social"] == "approved"  # recorded in round 1
    round2 = rr.resubmit(ROUTE, state)
    assert decisions(round2)["social"] == "pending"
    assert round2.history[0].decisions == state.decisions


def test_several_rounds_keep_history_in_order() -> None:
    state = rr.start(ROUTE)
    state = rr.decide(ROUTE, state, "committee", "changes_requested", "Add a cost table.")
    assert decisions(state)["urban"] == "pending"  # later groups were never reached
    state = rr.resubmit(ROUTE, state)
    assert (state.round, state.group) == (2, 0)
    state = rr.decide(ROUTE, state, "committee", "approved", "OK")
    state = rr.decide(ROUTE, state, "urban", "approved", "OK")
    state = rr.decide(ROUTE, state, "social", "approved", "OK")
    state = rr.decide(ROUTE, state, "legal", "changes_requested", "Cite the regulation.")
    state = rr.resubmit(ROUTE, state)
    assert (state.round, state.group, state.start_group) == (3, 2, 2)
    assert [(r.number, r.start_group, r.outcome) for r in state.history] == [
        (1, 0, "changes_requested"),
        (2, 0, "changes_requested"),
    ]
    assert decisions(state) == {
        "committee": "approved",
        "urban": "approved",
        "social": "approved",
        "legal": "pending",
    }
    state = rr.decide(ROUTE, state, "legal", "approved", "OK")
    assert rr.outcome(state) == "approved_pending_signoff"


def test_rejection_ends_the_route() -> None:
    state = rr.start(ROUTE)
    state = rr.decide(ROUTE, state, "committee", "approved", "OK")
    state = rr.decide(ROUTE, state, "social", "rejected", "No budget this year.")
    assert rr.outcome(state) == "rejected"
    assert decisions(state) == {
        "committee": "approved",
        "urban": "not_needed",
        "social": "rejected",
        "legal": "pending",
    }
    assert rr.active_steps(ROUTE, state) == []
    with pytest.raises(RouteError) as exc:
        rr.resubmit(ROUTE, state)
    assert exc.value.code == "not_changes_requested"
    with pytest.raises(RouteError) as exc:
        rr.sign_off(ROUTE, state, "approved", "Overrule.")
    assert exc.value.code == "not_awaiting_signoff"


@pytest.mark.parametrize("decision", ["approved", "rejected"])
def test_sign_off(decision: str) -> None:
    state = approve_all(ROUTE, rr.start(ROUTE))
    final = rr.sign_off(ROUTE, state, decision, " Signed, Qinghe Street Office. ")
    assert rr.outcome(final) == decision
    assert final.signoff == StepDecision(rr.SIGNOFF_STEP, decision, "Signed, Qinghe Street Office.")
    assert final.decisions == state.decisions
    with pytest.raises(RouteError) as exc:
        rr.sign_off(ROUTE, final, decision, "Again.")
    assert exc.value.code == "not_awaiting_signoff"


@pytest.mark.parametrize(
    ("decision", "opinion", "code"),
    [
        ("changes_requested", "Please change.", "unknown_decision"),
        ("pending", "Later.", "unknown_decision"),
        ("approved", "", "opinion_required"),
        ("rejected", "   ", "opinion_required"),
    ],
)
def test_sign_off_errors(decision: str, opinion: str, code: str) -> None:
    state = approve_all(ROUTE, rr.start(ROUTE))
    with pytest.raises(RouteError) as exc:
        rr.sign_off(ROUTE, state, decision, opinion)
    assert exc.value.code == code


def test_sign_off_before_all_groups_approved() -> None:
    with pytest.raises(RouteError) as exc:
        rr.sign_off(ROUTE, rr.start(ROUTE), "approved", "Hurry.")
    assert exc.value.code == "not_awaiting_signoff"


def _after_committee() -> rr.RouteState:
    return rr.decide(ROUTE, rr.start(ROUTE), "committee", "approved", "OK")


@pytest.mark.parametrize(
    ("step_id", "decision", "opinion", "code"),
    [
        ("urban", "maybe", "Hmm.", "unknown_decision"),
        ("urban", "pending", "Hmm.", "unknown_decision"),
        ("urban", "not_needed", "Hmm.", "unknown_decision"),
        ("nobody", "approved", "OK", "unknown_step"),
        ("committee", "approved", "Again.", "already_decided"),
        ("legal", "approved", "Too early.", "step_not_active"),
        ("urban", "approved", "", "opinion_required"),
        ("urban", "changes_requested", " \n\t", "opinion_required"),
        ("urban", "rejected", None, "opinion_required"),
    ],
)
def test_decide_errors(step_id: str, decision: str, opinion: str, code: str) -> None:
    state = _after_committee()
    with pytest.raises(RouteError) as exc:
        rr.decide(ROUTE, state, step_id, decision, opinion)
    err = exc.value
    assert err.code == code
    assert isinstance(err, ValueError)
    assert err.message == rr.MESSAGES[code]
    assert str(err) == err.message % err.params


def test_deciding_twice_in_a_parallel_group() -> None:
    state = rr.decide(ROUTE, _after_committee(), "urban", "approved", "OK")
    with pytest.raises(RouteError) as exc:
        rr.decide(ROUTE, state, "urban", "rejected", "Changed my mind.")
    assert exc.value.code == "already_decided"
    assert exc.value.params == {"step": "urban"}


def test_decide_on_a_closed_round() -> None:
    state = rr.decide(ROUTE, _after_committee(), "urban", "changes_requested", "Redo.")
    for step_id in ("social", "legal", "urban"):
        with pytest.raises(RouteError) as exc:
            rr.decide(ROUTE, state, step_id, "approved", "OK")
        assert exc.value.code == "not_in_progress"


def test_decide_when_waiting_for_sign_off() -> None:
    state = approve_all(ROUTE, rr.start(ROUTE))
    with pytest.raises(RouteError) as exc:
        rr.decide(ROUTE, state, "legal", "rejected", "Late objection.")
    assert exc.value.code == "not_in_progress"


def test_resubmit_only_after_changes_requested() -> None:
    for state in (rr.start(ROUTE), approve_all(ROUTE, rr.start(ROUTE))):
        with pytest.raises(RouteError) as exc:
            rr.resubmit(ROUTE, state)
        assert exc.value.code == "not_changes_requested"


def test_state_of_another_route_is_refused() -> None:
    other = Route(((Step("x", 1, 1),),))
    state = rr.start(other)
    calls = [
        lambda: rr.active_steps(ROUTE, state),
        lambda: rr.decide(ROUTE, state, "committee", "approved", "OK"),
        lambda: rr.resubmit(ROUTE, state),
        lambda: rr.sign_off(ROUTE, state, "approved", "OK"),
    ]
    for call in calls:
        with pytest.raises(RouteError) as exc:
            call()
        assert exc.value.code == "state_mismatch"


def test_functions_do_not_mutate_their_input() -> None:
    state = rr.start(ROUTE)
    before = state
    rr.decide(ROUTE, state, "committee", "approved", "OK")
    assert state == before == rr.start(ROUTE)
    with pytest.raises(AttributeError):
        state.outcome = "approved"  # type: ignore[misc]


def test_route_accepts_lists_and_exposes_steps() -> None:
    route = Route([[COMMITTEE], [URBAN, SOCIAL]])  # type: ignore[arg-type]
    assert route.groups == ((COMMITTEE,), (URBAN, SOCIAL))
    assert route.steps == (COMMITTEE, URBAN, SOCIAL)
    assert route.group_index("social") == 1
    with pytest.raises(RouteError):
        route.group_index("legal")
    assert hash(route) == hash(Route(((COMMITTEE,), (URBAN, SOCIAL))))


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ((), "at least one group"),
        (((COMMITTEE,), ()), "Group 1 of the review route is empty"),
        (((COMMITTEE,), (URBAN, COMMITTEE)), "Duplicate step ids in the review route: committee"),
        (((Step("a", 1, 0),),), "due_workdays must be at least 1"),
        (((Step("a", 1, -2),),), "due_workdays must be at least 1"),
        (((Step("a", 1, 1.5),),), "must be an integer"),  # type: ignore[arg-type]
        (((Step("a", 1, True),),), "must be an integer"),
    ],
)
def test_route_validation(groups: tuple[tuple[Step, ...], ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Route(groups)


def test_labels_cover_every_value() -> None:
    assert set(rr.OUTCOME_LABELS) == set(rr.OUTCOMES)
    assert set(rr.DECISION_LABELS) == {*rr.DECISIONS, "pending", "not_needed"}
