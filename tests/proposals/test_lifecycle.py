from __future__ import annotations

import pytest

from proposals import lifecycle as lc
from proposals.lifecycle import LifecycleError, transition

# (kind, from, action, to, roles, reason required) — the specification, written out.
EXPECTED = [
    ("consultation", "draft", "publish", "deliberation", "author", False),
    ("consultation", "deliberation", "open_voting", "voting", "author moderator", False),
    ("consultation", "voting", "adopt", "decided_adopted", "system moderator", False),
    ("consultation", "voting", "reject", "decided_rejected", "system moderator", False),
    ("consultation", "deliberation", "adopt", "decided_adopted", "author moderator", True),
    ("consultation", "deliberation", "reject", "decided_rejected", "author moderator", True),
    ("consultation", "decided_adopted", "implement", "implementing", "author moderator", False),
    ("consultation", "implementing", "close", "closed", "author moderator", False),
    ("consultation", "decided_rejected", "close", "closed", "author moderator system", False),
    ("consultation", "draft", "withdraw", "withdrawn", "author", False),
    ("consultation", "deliberation", "withdraw", "withdrawn", "author", True),
    ("consultation", "voting", "withdraw", "withdrawn", "author", True),
    ("request", "submitted", "accept", "accepted", "handler", False),
    ("request", "submitted", "reject", "rejected", "handler moderator street_office", True),
    ("request", "submitted", "merge", "merged", "handler moderator street_office", False),
    ("request", "accepted", "start", "in_progress", "handler", False),
    ("request", "in_progress", "resolve", "resolved", "handler", True),
    ("request", "resolved", "confirm", "closed", "requester system", False),
    ("request", "resolved", "reopen", "in_progress", "requester", True),
    ("plan", "draft", "submit", "submitted", "author", False),
    ("plan", "submitted", "start_review", "under_review", "street_office system", False),
    (
        "plan",
        "under_review",
        "request_changes",
        "changes_requested",
        "reviewer street_office",
        True,
    ),
    ("plan", "changes_requested", "resubmit", "under_review", "author", False),
    ("plan", "under_review", "approve", "approved", "street_office", False),
    ("plan", "under_review", "reject", "rejected", "reviewer street_office", True),
    ("plan", "approved", "implement", "implementing", "author", False),
    ("plan", "implementing", "close", "closed", "author street_office", False),
    ("plan", "draft", "withdraw", "withdrawn", "author", False),
    ("plan", "submitted", "withdraw", "withdrawn", "author", True),
    ("plan", "under_review", "withdraw", "withdrawn", "author", True),
    ("plan", "changes_requested", "withdraw", "withdrawn", "author", True),
    ("tender", "draft", "publish", "enquiry", "buyer", False),
    ("tender", "enquiry", "open_bidding", "bidding", "buyer system", False),
    ("tender", "bidding", "open_bids", "opened", "buyer system", False),
    ("tender", "opened", "complete_evaluation", "evaluated", "reviewer buyer", False),
    ("tender", "evaluated", "award", "awarded", "buyer", False),
    ("tender", "awarded", "start_standstill", "standstill", "buyer system", False),
    ("tender", "standstill", "sign_contract", "implementing", "buyer", False),
    ("tender", "implementing", "close", "closed", "buyer", False),
    ("tender", "draft", "cancel", "cancelled", "buyer", True),
    ("tender", "enquiry", "cancel", "cancelled", "buyer", True),
    ("tender", "bidding", "cancel", "cancelled", "buyer", True),
    ("tender", "opened", "cancel", "cancelled", "buyer", True),
    ("tender", "evaluated", "cancel", "cancelled", "buyer", True),
]

IDS = [f"{k}:{s}-{a}" for k, s, a, *_ in EXPECTED]


def _kwargs(kind: str, action: str) -> dict[str, object]:
    """Return the extra arguments that make a transition valid apart from the role."""
    rv: dict[str, object] = {"reason": "Because the committee said so."}
    if (kind, action) == ("request", "merge"):
        rv["target"] = 42
    return rv


def test_table_matches_specification() -> None:
    actual = {
        (t.kind, t.from_state, t.action, t.to_state, t.roles, t.reason_required)
        for t in lc.TRANSITIONS
    }
    expected = {(k, s, a, to, frozenset(r.split()), why) for k, s, a, to, r, why in EXPECTED}
    assert actual == expected
    assert len(lc.TRANSITIONS) == len(EXPECTED)


def test_transition_keys_are_unique() -> None:
    keys = [(t.kind, t.from_state, t.action) for t in lc.TRANSITIONS]
    assert len(keys) == len(set(keys))


def test_transitions_are_immutable() -> None:
    assert isinstance(lc.TRANSITIONS, tuple)
    with pytest.raises(AttributeError):
        lc.TRANSITIONS[0].to_state = "closed"  # type: ignore[misc]


@pytest.mark.parametrize(("kind", "state", "action", "to", "roles", "why"), EXPECTED, ids=IDS)
def test_each_allowed_role_may_trigger(kind, state, action, to, roles, why) -> None:
    for role in roles.split():
        assert transition(kind, state, action, {role}, **_kwargs(kind, action)) == to
        # A role among several others is enough.
        assert transition(kind, state, action, lc.ROLES, **_kwargs(kind, action)) == to


@pytest.mark.parametrize(("kind", "state", "action", "to", "roles", "why"), EXPECTED, ids=IDS)
def test_other_roles_are_forbidden(kind, state, action, to, roles, why) -> None:
    for role in sorted(lc.ROLES - set(roles.split())):
        with pytest.raises(LifecycleError) as exc:
            transition(kind, state, action, {role}, **_kwargs(kind, action))
        assert exc.value.code == "forbidden"
    with pytest.raises(LifecycleError) as exc:
        transition(kind, state, action, set(), **_kwargs(kind, action))
    assert exc.value.code == "forbidden"


@pytest.mark.parametrize(("kind", "state", "action", "to", "roles", "why"), EXPECTED, ids=IDS)
def test_reason_requirement(kind, state, action, to, roles, why) -> None:
    roles = roles.split()
    target = _kwargs(kind, action).get("target")
    for reason in (None, "", "   \n"):
        if why:
            with pytest.raises(LifecycleError) as exc:
                transition(kind, state, action, roles, reason=reason, target=target)
            assert exc.value.code == "reason_required"
        else:
            assert transition(kind, state, action, roles, reason=reason, target=target) == to


def test_merge_requires_target() -> None:
    with pytest.raises(LifecycleError) as exc:
        transition("request", "submitted", "merge", {"handler"})
    assert exc.value.code == "target_required"
    assert transition("request", "submitted", "merge", {"handler"}, target=0) == "merged"


@pytest.mark.parametrize(
    ("kind", "state", "action", "roles", "code"),
    [
        ("petition", "draft", "publish", {"author"}, "unknown_kind"),
        ("consultation", "submitted", "publish", {"author"}, "unknown_state"),
        ("consultation", "draft", "fly", {"author"}, "unknown_action"),
        ("consultation", "draft", "accept", {"author"}, "unknown_action"),
        ("consultation", "draft", "publish", {"mayor"}, "unknown_role"),
        ("consultation", "draft", "publish", "author", "unknown_role"),
        ("consultation", "voting", "publish", {"author"}, "invalid_transition"),
        ("consultation", "draft", "open_voting", {"moderator"}, "invalid_transition"),
        ("consultation", "decided_adopted", "withdraw", {"author"}, "invalid_transition"),
        ("consultation", "closed", "implement", {"author"}, "invalid_transition"),
        ("request", "submitted", "resolve", {"handler"}, "invalid_transition"),
        ("request", "closed", "reopen", {"requester"}, "invalid_transition"),
        ("request", "accepted", "reject", {"handler"}, "invalid_transition"),
        ("plan", "approved", "withdraw", {"author"}, "invalid_transition"),
        ("plan", "draft", "approve", {"street_office"}, "invalid_transition"),
        ("tender", "awarded", "cancel", {"buyer"}, "invalid_transition"),
        ("tender", "bidding", "award", {"buyer"}, "invalid_transition"),
        ("tender", "enquiry", "publish", {"buyer"}, "invalid_transition"),
    ],
)
def test_illegal_operations(kind, state, action, roles, code) -> None:
    with pytest.raises(LifecycleError) as exc:
        transition(kind, state, action, roles, reason="why", target=1)
    assert exc.value.code == code
    assert isinstance(exc.value, ValueError)
    assert exc.value.message == lc.MESSAGES[code]


def test_error_message_is_interpolated_template() -> None:
    with pytest.raises(LifecycleError) as exc:
        transition("consultation", "voting", "publish", {"author"})
    err = exc.value
    assert err.message == "“%(action)s” is not possible for a %(kind)s in state “%(state)s”."
    assert err.params == {"kind": "consultation", "state": "voting", "action": "publish"}
    assert str(err) == "“publish” is not possible for a consultation in state “voting”."
    for name, value in err.params.items():
        assert value in lc.PARAM_LABELS[name]


def test_allowed_actions_for_buttons() -> None:
    actions = lc.allowed_actions("consultation", "deliberation", {"author"})
    assert [t.action for t in actions] == ["open_voting", "adopt", "reject", "withdraw"]
    actions = lc.allowed_actions("consultation", "deliberation", {"moderator"})
    assert [t.action for t in actions] == ["open_voting", "adopt", "reject"]
    actions = lc.allowed_actions("request", "resolved", ["requester", "handler"])
    assert [(t.action, t.to_state) for t in actions] == [
        ("confirm", "closed"),
        ("reopen", "in_progress"),
    ]
    assert lc.allowed_actions("consultation", "voting", {"requester"}) == []
    assert lc.allowed_actions("tender", "closed", lc.ROLES) == []


def test_allowed_actions_validates_input() -> None:
    with pytest.raises(LifecycleError, match="Unknown state"):
        lc.allowed_actions("plan", "voting", {"author"})


@pytest.mark.parametrize("kind", lc.KINDS)
def test_every_state_reachable_from_initial(kind: str) -> None:
    seen = {lc.INITIAL[kind]}
    frontier = [lc.INITIAL[kind]]
    while frontier:
        state = frontier.pop()
        for t in lc.allowed_actions(kind, state, lc.ROLES):
            if t.to_state not in seen:
                seen.add(t.to_state)
                frontier.append(t.to_state)
    assert seen == set(lc.STATES[kind])


@pytest.mark.parametrize("kind", lc.KINDS)
def test_exits_exactly_from_non_terminal_states(kind: str) -> None:
    assert lc.INITIAL[kind] in lc.STATES[kind]
    assert lc.TERMINAL[kind] <= set(lc.STATES[kind])
    for state in lc.STATES[kind]:
        exits = lc.allowed_actions(kind, state, lc.ROLES)
        if state in lc.TERMINAL[kind]:
            assert exits == [], state
            assert lc.is_terminal(kind, state)
        else:
            assert exits, state
            assert not lc.is_terminal(kind, state)


def test_every_kind_state_and_action_has_a_label() -> None:
    assert set(lc.KIND_LABELS) == set(lc.KINDS) == set(lc.STATES) == set(lc.INITIAL)
    assert {s for states in lc.STATES.values() for s in states} == set(lc.STATE_LABELS)
    assert {t.action for t in lc.TRANSITIONS} == set(lc.ACTION_LABELS)
    assert lc.STATE_LABELS["deliberation"] == "Deliberation"
    assert lc.STATE_LABELS["decided_adopted"] == "Adopted"


def test_roles_used_are_declared() -> None:
    used = set().union(*(t.roles for t in lc.TRANSITIONS))
    assert used == lc.ROLES


@pytest.mark.parametrize(
    ("kind", "public", "discussion", "editable"),
    [
        (
            "consultation",
            lc.STATES["consultation"][1:],
            ("deliberation",),
            ("draft", "deliberation"),
        ),
        (
            "request",
            lc.STATES["request"],
            ("submitted", "accepted", "in_progress", "resolved"),
            ("submitted",),
        ),
        (
            "plan",
            lc.STATES["plan"][1:],
            ("submitted", "under_review", "changes_requested"),
            ("draft", "changes_requested"),
        ),
        ("tender", lc.STATES["tender"][1:], ("enquiry",), ("draft", "enquiry")),
    ],
)
def test_visibility_discussion_and_editing(kind, public, discussion, editable) -> None:
    for state in lc.STATES[kind]:
        assert lc.is_public(kind, state) == (state in public), state
        assert lc.is_open_for_discussion(kind, state) == (state in discussion), state
        assert lc.is_editable(kind, state) == (state in editable), state
        if lc.is_open_for_discussion(kind, state) or lc.is_editable(kind, state):
            assert not lc.is_terminal(kind, state)


def test_drafts_are_private() -> None:
    assert not lc.is_public("consultation", "draft")
    assert lc.is_public("consultation", "withdrawn")
    with pytest.raises(LifecycleError) as exc:
        lc.is_public("consultation", "nowhere")
    assert exc.value.code == "unknown_state"


def test_n_marker_is_identity() -> None:
    assert lc.N_("Voting") == "Voting"
