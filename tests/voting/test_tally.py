"""Tests for the pure tally engine voting.tally (no app, no database)."""

from __future__ import annotations

import ast
import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voting.tally import (
    GroupTallyResult,
    TallyResult,
    encode_rankings,
    group_tally,
    tally,
)

FAST = settings(max_examples=60, deadline=None)


def expand(profile: list[tuple[int, list[str]]]) -> list[list[str]]:
    """Repeat each ranking as many times as it was cast."""
    return [list(ranking) for count, ranking in profile for _ in range(count)]


def as_json(result: TallyResult) -> str:
    return json.dumps(result.details, allow_nan=False, sort_keys=True)


# --------------------------------------------------------------------------- Schulze

# Wikipedia, "Schulze method", example with 45 voters and candidates A-E.
SCHULZE_WIKI = [
    (5, list("ACBED")),
    (5, list("ADECB")),
    (8, list("BEDAC")),
    (3, list("CABED")),
    (7, list("CAEBD")),
    (2, list("CBADE")),
    (7, list("DCEBA")),
    (8, list("EBADC")),
]
SCHULZE_D = {
    "A": {"B": 20, "C": 26, "D": 30, "E": 22},
    "B": {"A": 25, "C": 16, "D": 33, "E": 18},
    "C": {"A": 19, "B": 29, "D": 17, "E": 24},
    "D": {"A": 15, "B": 12, "C": 28, "E": 14},
    "E": {"A": 23, "B": 27, "C": 21, "D": 31},
}
SCHULZE_P = {
    "A": {"B": 28, "C": 28, "D": 30, "E": 24},
    "B": {"A": 25, "C": 28, "D": 33, "E": 24},
    "C": {"A": 25, "B": 29, "D": 29, "E": 24},
    "D": {"A": 25, "B": 28, "C": 28, "E": 24},
    "E": {"A": 25, "B": 28, "C": 28, "D": 31},
}


def test_schulze_wikipedia_example() -> None:
    result = tally("schulze", list("ABCDE"), expand(SCHULZE_WIKI))
    assert result.winners == ["E"]
    assert result.ranking == [["E"], ["A"], ["C"], ["B"], ["D"]]
    assert result.tied is False
    assert result.details["pairwise"] == SCHULZE_D
    assert result.details["strongest_paths"] == SCHULZE_P
    assert result.details["pairwise"]["A"]["B"] == 20
    assert result.details["votes"] == 45
    assert result.details["beats"]["E"] == ["A", "B", "C", "D"]
    as_json(result)


def test_schulze_numpy_input_matches_labels() -> None:
    ballots = expand(SCHULZE_WIKI)
    encoded = encode_rankings(list("ABCDE"), ballots)
    assert encoded.shape == (45, 5)
    assert encoded[0].tolist() == [0, 2, 1, 4, 3]
    assert tally("schulze", list("ABCDE"), encoded) == tally("schulze", list("ABCDE"), ballots)


def test_schulze_cycle_is_a_tie() -> None:
    ballots = [["A", "B", "C"], ["B", "C", "A"], ["C", "A", "B"]]
    result = tally("schulze", ["A", "B", "C"], ballots)
    assert result.tied is True
    assert result.winners == ["A", "B", "C"]
    assert result.ranking == [["A", "B", "C"]]


def test_schulze_partial_rankings_leave_rest_tied_last() -> None:
    result = tally("schulze", ["A", "B", "C"], [["A"], ["B", "A"], ["C"]])
    d = result.details["pairwise"]
    assert d["A"] == {"B": 1, "C": 2}
    assert d["B"] == {"A": 1, "C": 1}
    assert d["C"] == {"A": 1, "B": 1}
    # Only A beats C; A and B are level, so both are unbeaten.
    assert result.winners == ["A", "B"]
    assert result.tied is True
    assert result.ranking == [["A", "B"], ["C"]]


# --------------------------------------------------------------------------- Tennessee

# Wikipedia, "Instant-runoff voting" / "Condorcet method": Tennessee capital example.
TENNESSEE_OPTIONS = ["Memphis", "Nashville", "Chattanooga", "Knoxville"]
TENNESSEE = [
    (42, ["Memphis", "Nashville", "Chattanooga", "Knoxville"]),
    (26, ["Nashville", "Chattanooga", "Knoxville", "Memphis"]),
    (15, ["Chattanooga", "Knoxville", "Nashville", "Memphis"]),
    (17, ["Knoxville", "Chattanooga", "Nashville", "Memphis"]),
]


def test_tennessee_irv_knoxville() -> None:
    result = tally("irv", TENNESSEE_OPTIONS, expand(TENNESSEE))
    assert result.winners == ["Knoxville"]
    assert result.tied is False
    assert result.ranking == [["Knoxville"], ["Memphis"], ["Nashville"], ["Chattanooga"]]
    rounds = result.details["rounds"]
    assert [r["counts"] for r in rounds] == [
        {"Memphis": 42, "Nashville": 26, "Chattanooga": 15, "Knoxville": 17},
        {"Memphis": 42, "Nashville": 26, "Knoxville": 32},
        {"Memphis": 42, "Knoxville": 58},
    ]
    assert [r["eliminated"] for r in rounds] == [["Chattanooga"], ["Nashville"], []]
    assert rounds[0]["transfers"] == {"Memphis": 0, "Nashville": 0, "Knoxville": 15}
    assert rounds[1]["transfers"] == {"Memphis": 0, "Knoxville": 26}
    assert rounds[2]["elected"] == ["Knoxville"]
    as_json(result)


def test_tennessee_schulze_nashville_plurality_memphis() -> None:
    ballots = expand(TENNESSEE)
    assert tally("schulze", TENNESSEE_OPTIONS, ballots).winners == ["Nashville"]
    firsts = [b[0] for b in ballots]
    plurality = tally("plurality", TENNESSEE_OPTIONS, firsts)
    assert plurality.winners == ["Memphis"]
    assert plurality.details["counts"] == {
        "Memphis": 42,
        "Nashville": 26,
        "Chattanooga": 15,
        "Knoxville": 17,
    }
    assert plurality.details["shares"]["Memphis"] == pytest.approx(0.42)


def test_tennessee_borda_points() -> None:
    result = tally("borda", TENNESSEE_OPTIONS, expand(TENNESSEE))
    assert result.details["points"] == {
        "Memphis": 126,
        "Nashville": 194,
        "Chattanooga": 173,
        "Knoxville": 107,
    }
    assert result.winners == ["Nashville"]
    assert result.ranking == [["Nashville"], ["Chattanooga"], ["Memphis"], ["Knoxville"]]
    assert result.details["positions"]["Memphis"] == [42, 0, 0, 58]


def test_borda_partial_rankings() -> None:
    result = tally("borda", ["A", "B", "C", "D"], [["A"], ["B", "C"], []])
    assert result.details["points"] == {"A": 3, "B": 3, "C": 2, "D": 0}
    assert result.tied is True
    assert result.winners == ["A", "B"]
    assert result.ranking == [["A", "B"], ["C"], ["D"]]
    assert result.details["blank"] == 1
    assert result.details["votes"] == 2


# --------------------------------------------------------------------------- IRV ties


def test_irv_tie_resolved_by_earlier_round() -> None:
    profile = [(5, ["A"]), (4, ["B"]), (3, ["C"]), (1, ["D", "C"])]
    result = tally("irv", ["A", "B", "C", "D"], expand(profile))
    rounds = result.details["rounds"]
    assert rounds[1]["counts"] == {"A": 5, "B": 4, "C": 4}
    assert rounds[1]["tie"] == {
        "candidates": ["B", "C"],
        "resolved_by": "earlier_round",
        "round": 1,
    }
    assert rounds[1]["eliminated"] == ["C"]
    assert rounds[1]["transfers_exhausted"] == 4
    assert rounds[2]["exhausted"] == 4
    assert result.winners == ["A"]
    assert result.tied is False


def test_irv_unresolved_tie_that_decides_is_reported() -> None:
    result = tally("irv", ["A", "B"], [["A"], ["B"], ["A"], ["B"]])
    assert result.tied is True
    assert result.winners == ["A", "B"]
    assert result.ranking == [["A", "B"]]
    (tie,) = result.details["ties"]
    assert tie["candidates"] == ["A", "B"]
    assert tie["affects_result"] is True
    assert tie["outcomes"] == [{"if": "A", "winners": ["B"]}, {"if": "B", "winners": ["A"]}]


def test_irv_unresolved_tie_without_effect_is_not_a_tie() -> None:
    profile = [(6, ["A"]), (3, ["B"]), (2, ["C", "B"]), (2, ["D", "B"])]
    result = tally("irv", ["A", "B", "C", "D"], expand(profile))
    assert result.winners == ["B"]
    assert result.tied is False
    (tie,) = result.details["ties"]
    assert tie["candidates"] == ["C", "D"]
    assert tie["affects_result"] is False
    assert result.details["rounds"][0]["tie"]["resolved_by"] == "unresolved"


def test_irv_low_ties_eliminated_together_when_harmless() -> None:
    profile = [(5, ["A"]), (4, ["B"]), (1, ["C", "B"]), (1, ["D", "B"])]
    result = tally("irv", ["A", "B", "C", "D"], expand(profile))
    first = result.details["rounds"][0]
    assert first["eliminated"] == ["C", "D"]
    assert first["transfers"] == {"A": 0, "B": 2}
    assert first["tie"]["resolved_by"] == "eliminated_together"
    assert result.winners == ["B"]
    assert result.details["ties"] == []


# --------------------------------------------------------------------------- STV

FOOD_OPTIONS = ["Oranges", "Pears", "Chocolate", "Strawberries", "Hamburgers"]
# Wikipedia, "Single transferable vote": choosing three foods for a party.
FOOD = [
    (4, ["Oranges"]),
    (2, ["Pears", "Oranges"]),
    (8, ["Chocolate", "Strawberries"]),
    (4, ["Chocolate", "Hamburgers"]),
    (1, ["Strawberries"]),
    (1, ["Hamburgers"]),
]


def test_stv_food_for_a_party() -> None:
    result = tally("stv", FOOD_OPTIONS, expand(FOOD), seats=3)
    assert result.winners == ["Chocolate", "Oranges", "Strawberries"]
    assert result.tied is False
    assert result.details["quota"] == 6
    stages = result.details["rounds"]
    assert stages[0]["elected"] == ["Chocolate"]
    assert stages[0]["votes"]["Chocolate"] == 12
    surplus = stages[1]
    assert surplus["action"] == "surplus"
    assert surplus["surplus"] == 6
    assert surplus["transfer_factor"] == 0.5
    assert surplus["transfers"] == {"Oranges": 0, "Pears": 0, "Strawberries": 4, "Hamburgers": 2}
    assert stages[2]["candidates"] == ["Pears"]
    assert stages[2]["elected"] == ["Oranges"]
    assert stages[3]["candidates"] == ["Hamburgers"]
    assert stages[3]["non_transferable"] == 3
    assert stages[4]["action"] == "last_vacancies_filled"
    assert stages[4]["elected"] == ["Strawberries"]
    assert result.ranking == [
        ["Chocolate"],
        ["Oranges"],
        ["Strawberries"],
        ["Hamburgers"],
        ["Pears"],
    ]
    as_json(result)


def test_stv_single_seat_tennessee_matches_irv() -> None:
    result = tally("stv", TENNESSEE_OPTIONS, expand(TENNESSEE))
    assert result.winners == ["Knoxville"]
    assert result.details["quota"] == 51


def test_stv_transfer_values_truncated_to_five_decimals() -> None:
    profile = [(7, ["A", "B"]), (3, ["C"]), (4, ["D"])]
    result = tally("stv", ["A", "B", "C", "D"], expand(profile), seats=2)
    assert result.details["quota"] == 5  # floor(14 / 3) + 1
    surplus = result.details["rounds"][1]
    assert surplus["surplus"] == 2
    assert surplus["transfers"]["B"] == 1.99997  # 7 papers x 0.28571
    assert surplus["rounding"] == 0.00003
    stages = result.details["rounds"]
    assert stages[2]["candidates"] == ["B"]
    assert stages[2]["non_transferable"] == 1.99997
    final = stages[3]
    assert final["candidates"] == ["C"]
    assert final["non_transferable_total"] == 4.99997
    assert final["rounding_total"] == 0.00003
    assert stages[4] == {"round": 4, "action": "last_vacancies_filled", "elected": ["D"]}
    assert result.winners == ["A", "D"]
    votes = sum(final["votes"].values())
    assert votes + final["non_transferable_total"] + final["rounding_total"] == pytest.approx(14)


def test_stv_weighted_inclusive_transfer_uses_current_values() -> None:
    # B is elected on A's transferred surplus; B's own surplus then moves every paper
    # B holds, each at surplus x its value on arrival / B's total.
    profile = [(10, ["A", "B", "C"]), (2, ["B", "D"])]
    result = tally("stv", ["A", "B", "C", "D"], expand(profile), seats=3)
    stages = result.details["rounds"]
    assert result.details["quota"] == 4  # floor(12 / 4) + 1
    assert stages[1]["candidate"] == "A"
    assert stages[1]["transfers"]["B"] == 6  # 10 papers at 0.6
    assert stages[2]["candidate"] == "B"
    # B holds 8 (2 at value 1, 10 at 0.6): surplus 4 -> factor 0.5
    assert stages[2]["transfer_factor"] == 0.5
    assert stages[2]["transfers"] == {"C": 3, "D": 1}
    assert result.winners == ["A", "B", "C"]


def test_stv_unresolved_tie_for_last_seat() -> None:
    profile = [(7, ["A", "B"]), (3, ["C"]), (3, ["D"])]
    result = tally("stv", ["A", "B", "C", "D"], expand(profile), seats=2)
    assert result.tied is True
    assert result.winners == ["A", "C", "D"]
    assert result.ranking[:2] == [["A"], ["C", "D"]]
    tie = result.details["ties"][0]
    assert tie["kind"] == "exclusion"
    assert tie["candidates"] == ["C", "D"]
    assert tie["affects_result"] is True
    assert tie["outcomes"] == [
        {"if": "C", "winners": ["A", "D"]},
        {"if": "D", "winners": ["A", "C"]},
    ]


def test_stv_zero_vote_candidates_tied_for_last_vacancy() -> None:
    result = tally("stv", list("ABCDE"), [["A"], ["A"], ["B"]], seats=3)
    assert result.tied is True
    assert result.winners == ["A", "B", "C", "D", "E"]
    assert result.ranking == [["A"], ["B"], ["C", "D", "E"]]
    assert result.details["undecided"] == {"candidates": ["C", "D", "E"], "seats": 1}


def test_stv_zero_vote_candidates_excluded_together() -> None:
    result = tally("stv", list("ABCDE"), [["A"], ["A"], ["B"]], seats=2)
    assert result.tied is False
    assert result.winners == ["A", "B"]
    excl = [s for s in result.details["rounds"] if s.get("action") == "exclusion"]
    assert excl[0]["candidates"] == ["C", "D", "E"]
    assert excl[0]["tie"]["resolved_by"] == "excluded_together"


def test_stv_equal_surpluses_tie_recorded_without_effect() -> None:
    profile = [(5, ["A", "C"]), (5, ["B", "D"]), (1, ["C"]), (1, ["D"]), (2, ["E"])]
    result = tally("stv", list("ABCDE"), expand(profile), seats=3)
    assert result.details["quota"] == 4
    assert result.winners == ["A", "B", "E"]
    assert result.tied is False
    (tie,) = result.details["ties"]
    assert tie["kind"] == "surplus_order"
    assert tie["candidates"] == ["A", "B"]
    assert tie["affects_result"] is False
    stages = result.details["rounds"]
    assert stages[3]["tie"] == {
        "candidates": ["C", "D", "E"],
        "resolved_by": "earlier_round",
        "round": 2,
    }
    assert stages[3]["candidates"] == ["D"]


def test_tie_exploration_is_capped_and_reported() -> None:
    options = list("ABCDEFG")
    result = tally("irv", options, [[o] for o in options])
    assert result.tied is True
    assert result.winners == options
    assert result.details["ties_fully_explored"] is False


def test_stv_partial_rankings_report_exhausted_per_stage() -> None:
    profile = [(5, ["A"]), (3, ["B", "A"]), (2, ["C"])]
    result = tally("stv", ["A", "B", "C"], expand(profile), seats=1)
    stages = result.details["rounds"]
    assert stages[1]["candidates"] == ["C"]
    assert stages[1]["non_transferable"] == 2
    assert stages[1]["non_transferable_total"] == 2
    assert result.winners == ["A"]


def test_stv_fractional_weights_truncated_to_five_decimals() -> None:
    result = tally("stv", ["A", "B"], [["A"], ["A"], ["B"]], weights=[1 / 3, 1 / 3, 1])
    assert result.details["votes"] == 1.66666
    assert result.details["quota"] == 1
    assert result.details["rounds"][0]["votes"] == {"A": 0.66666, "B": 1}
    assert result.winners == ["B"]


def test_stv_seats_equal_to_options_elects_all() -> None:
    result = tally("stv", ["A", "B"], [["A"], ["A"], ["B"]], seats=2)
    assert sorted(result.winners) == ["A", "B"]
    assert result.tied is False


def test_no_votes_means_no_winner() -> None:
    for method in ("plurality", "borda", "schulze", "irv", "stv"):
        ballots: list[object] = [] if method == "plurality" else [[], []]
        result = tally(method, ["A", "B"], ballots)
        assert result.winners == [], method
        assert result.tied is False, method
        as_json(result)


# --------------------------------------------------------------------------- yes/no


def yes_no(yes: int, no: int, abstain: int = 0, **params: str) -> TallyResult:
    ballots = ["yes"] * yes + ["no"] * no + ["abstain"] * abstain
    return tally("yes_no", ["yes", "no", "abstain"], ballots, **params)


def test_yes_no_simple_majority_is_strict() -> None:
    assert yes_no(2, 2).carried is False
    assert yes_no(3, 2).carried is True
    result = yes_no(3, 2, 10)
    assert result.winners == ["yes"]
    assert result.details["yes_share"] == 0.6
    assert result.details["base_votes"] == 5
    assert result.details["counts"] == {"yes": 3, "no": 2, "abstain": 10}
    assert result.details["carried"] is True
    assert result.tied is False


def test_yes_no_two_thirds_exactly_carries() -> None:
    assert yes_no(2, 1, threshold="two_thirds").carried is True
    assert yes_no(66, 34, threshold="two_thirds").carried is False
    result = yes_no(3, 1, threshold="three_quarters")
    assert result.carried is True
    assert result.details["threshold_rule"] == "at_least"
    assert yes_no(74, 26, threshold="three_quarters").carried is False


def test_yes_no_base_all_cast_counts_abstentions() -> None:
    assert yes_no(3, 2, 1).carried is True
    result = yes_no(3, 2, 1, base="all_cast")
    assert result.carried is False  # 3 of 6 is not more than half
    assert result.details["yes_share"] == 0.5
    assert result.winners == ["no"]
    assert result.ranking == [["no"], ["yes"], ["abstain"]]


def test_yes_no_empty_base_does_not_carry() -> None:
    assert yes_no(0, 0, 3).carried is False
    assert yes_no(0, 0).details["yes_share"] is None


def test_yes_no_weighted_exact_fractions() -> None:
    result = tally("yes_no", ["yes", "no"], ["yes", "no"], weights=[2, 1], threshold="two_thirds")
    assert result.carried is True


# --------------------------------------------------------------------------- approval, score


def test_approval_counts_and_ties() -> None:
    ballots = [{"A", "B"}, ["B", "C"], ("A",), []]
    result = tally("approval", ["A", "B", "C"], ballots)
    assert result.details["counts"] == {"A": 2, "B": 2, "C": 1}
    assert result.details["selections"] == {"0": 1, "1": 1, "2": 2}
    assert result.tied is True
    assert result.winners == ["A", "B"]
    assert result.ranking == [["A", "B"], ["C"]]


def test_approval_selection_limits() -> None:
    result = tally(
        "approval", ["A", "B", "C"], [["A"], ["A", "B"]], min_selections=1, max_selections=2
    )
    assert result.winners == ["A"]
    with pytest.raises(ValueError, match=r"ballot 1: 3 option\(s\) selected; between 0 and 2"):
        tally("approval", ["A", "B", "C"], [["A"], ["A", "B", "C"]], max_selections=2)
    with pytest.raises(ValueError, match="ballot 0: 0 option"):
        tally("approval", ["A", "B"], [[]], min_selections=1)
    with pytest.raises(ValueError, match="larger than max_selections"):
        tally("approval", ["A", "B"], [], min_selections=2, max_selections=1)


def test_score_totals_averages_and_missing_zero() -> None:
    ballots = [{"A": 5, "B": 3}, {"A": 1, "C": 4}, {"B": 4}]
    result = tally("score", ["A", "B", "C"], ballots, max_score=5)
    assert result.details["totals"] == {"A": 6, "B": 7, "C": 4}
    assert result.details["averages"]["B"] == pytest.approx(7 / 3)
    assert result.details["distribution"]["A"] == [0, 1, 0, 0, 0, 1]
    assert result.details["unscored"] == {"A": 1, "B": 1, "C": 2}
    assert result.winners == ["B"]
    assert result.ranking == [["B"], ["A"], ["C"]]


def test_plurality_tie_reported() -> None:
    result = tally("plurality", ["A", "B", "C"], ["A", "B", "C", "B", "A"])
    assert result.tied is True
    assert result.winners == ["A", "B"]
    assert result.ranking == [["A", "B"], ["C"]]


# --------------------------------------------------------------------------- errors

ERROR_CASES = [
    ("plurality", ["A", "B"], ["A", "Z"], {}, "ballot 1: unknown option 'Z'"),
    ("plurality", ["A", "B"], ["A", ["A"]], {}, "ballot 1: expected one option label"),
    ("yes_no", ["yes", "no"], ["yes", "abstain"], {}, "ballot 1: unknown option 'abstain'"),
    ("approval", ["A", "B"], [["A"], "AB"], {}, "ballot 1: an approval ballot must be"),
    ("approval", ["A", "B"], [["A", "A"]], {}, "ballot 0: option 'A' is selected more"),
    ("approval", ["A", "B"], [["C"]], {}, "ballot 0: unknown option 'C'"),
    ("score", ["A", "B"], [{"A": 1}, ["A"]], {}, "ballot 1: a score ballot must map"),
    ("score", ["A", "B"], [{"A": 6}], {}, r"ballot 0: score 6 for 'A' is outside 0\.\.5"),
    ("score", ["A", "B"], [{"A": -1}], {}, "ballot 0: score -1"),
    ("score", ["A", "B"], [{"A": 2.5}], {}, "ballot 0: score for 'A' must be an integer"),
    ("score", ["A", "B"], [{"A": True}], {}, "ballot 0: score for 'A' must be an integer"),
    ("score", ["A", "B"], [{"C": 1}], {}, "ballot 0: unknown option 'C'"),
    ("borda", ["A", "B"], [["A", "B"], ["A", "A"]], {}, "ballot 1: option 'A' is ranked more"),
    ("schulze", ["A", "B"], [["A"], ["B", "X"]], {}, "ballot 1: unknown option 'X'"),
    ("irv", ["A", "B"], [["A"], "AB"], {}, "ballot 1: a ranking must be a sequence"),
    ("irv", ["A", "B"], [["A"], {"A", "B"}], {}, "ballot 1: a ranking must be a list"),
    ("irv", ["A", "B"], [["A"], {"A": 1}], {}, "ballot 1: a ranking must be a list"),
    ("stv", ["A", "B"], [["A"], ["B", "A", "B"]], {}, "ballot 1: option 'B' is ranked more"),
    ("stv", ["A", "B"], [["A"]], {"seats": 3}, "seats must be at least 1 and at most 2"),
    ("stv", ["A", "B"], [["A"]], {"seats": 0}, "seats must be at least 1"),
    ("yes_no", ["yes", "no"], [], {"threshold": "most"}, "unknown threshold 'most'"),
    ("yes_no", ["yes", "no"], [], {"base": "everyone"}, "unknown base 'everyone'"),
    ("yes_no", ["yes", "maybe"], [], {}, "yes_no options must be"),
    ("score", ["A"], [], {"max_score": 0}, "max_score must be at least 1"),
    ("plurality", ["A", "A"], [], {}, "option 'A' is listed more than once"),
    ("plurality", [], [], {}, "at least one option"),
    ("plurality", "AB", [], {}, "options must be a sequence"),
    ("condorcet", ["A"], [], {}, "unknown method 'condorcet'"),
]


@pytest.mark.parametrize(("method", "options", "ballots", "params", "message"), ERROR_CASES)
def test_bad_input_raises_value_error(
    method: str, options: list[str], ballots: list[object], params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        tally(method, options, ballots, **params)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1, -1], "ballot 1: weight must be a finite non-negative number"),
        ([1, float("nan")], "ballot 1: weight must be a finite"),
        ([float("inf"), 1], "ballot 0: weight must be a finite"),
        ([1, "2"], "ballot 1: weight must be a number"),
        ([1, True], "ballot 1: weight must be a number"),
        ([1], "got 1 weights for 2 ballots"),
        (np.array([1.0, -2.0]), "ballot 1: weight must be a finite"),
    ],
)
def test_bad_weights_raise(weights: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tally("plurality", ["A", "B"], ["A", "B"], weights=weights)  # type: ignore[arg-type]


def test_parameter_of_another_method_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="takes no parameter"):
        tally("schulze", ["A", "B"], [["A"]], seats=2)


def test_bad_encoded_arrays() -> None:
    with pytest.raises(ValueError, match="ballot 1: option index out of range"):
        tally("irv", ["A", "B"], np.array([[0, 1], [2, -1]]))
    with pytest.raises(ValueError, match="ballot 0: -1 padding must come after"):
        tally("irv", ["A", "B"], np.array([[-1, 1], [0, -1]]))
    with pytest.raises(ValueError, match="ballot 1: an option is ranked more than once"):
        tally("schulze", ["A", "B"], np.array([[0, 1], [1, 1]]))
    with pytest.raises(ValueError, match="2-D integer array"):
        tally("schulze", ["A", "B"], np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="does not accept a numpy array"):
        tally("plurality", ["A", "B"], np.array([0, 1]))


def test_duplicates_detected_with_many_options() -> None:
    options = [f"o{i}" for i in range(80)]
    encoded = encode_rankings(options, [["o1", "o70"], ["o79"]])
    assert encoded.tolist() == [[1, 70], [79, -1]]
    with pytest.raises(ValueError, match="ballot 1: option 'o70' is ranked more"):
        encode_rankings(options, [["o1"], ["o70", "o2", "o70"]])


def test_encode_rankings_round_trip_and_padding() -> None:
    encoded = encode_rankings(["A", "B", "C"], [["C", "A"], [], ("B", "A", "C")])
    assert encoded.tolist() == [[2, 0, -1], [-1, -1, -1], [1, 0, 2]]
    assert encode_rankings(["A"], []).shape == (0, 0)


# --------------------------------------------------------------------------- group_tally


def group_case() -> tuple[list[str], list[str]]:
    ballots = ["yes", "yes"] + ["yes"] * 2 + ["no"] * 6
    groups = ["government"] * 2 + ["resident"] * 8
    return ballots, groups


def test_group_tally_pooled() -> None:
    ballots, groups = group_case()
    result = group_tally("yes_no", ["yes", "no"], ballots, groups)
    assert isinstance(result, GroupTallyResult)
    assert result.carried is False
    assert result.overall.details["counts"] == {"yes": 4, "no": 6}
    assert result.by_group["government"].carried is True
    assert result.by_group["resident"].details["counts"] == {"yes": 2, "no": 6}
    assert result.weights is None
    json.dumps(result.details)


def test_group_tally_weighted_shares() -> None:
    ballots, groups = group_case()
    result = group_tally(
        "yes_no",
        ["yes", "no"],
        ballots,
        groups,
        rule="weighted",
        group_weights={"government": 1, "business": 1, "resident": 1},
    )
    # Business cast nothing: shares renormalise to 1/2 each.  N = 10 votes, so each
    # government ballot weighs 10 * 0.5 / 2 = 2.5 and each resident one 10 * 0.5 / 8.
    assert result.weights == [2.5] * 2 + [0.625] * 8
    assert result.overall.details["counts"] == {"yes": 6.25, "no": 3.75}
    assert result.carried is True
    assert result.details["groups"]["government"]["share"] == 0.5
    assert result.by_group["resident"].carried is False


def test_group_tally_weighted_unequal_shares() -> None:
    ballots = [["A"], ["B"], ["B"], ["B"]]
    groups = ["government", "resident", "resident", "resident"]
    result = group_tally(
        "irv",
        ["A", "B"],
        ballots,
        groups,
        rule="weighted",
        group_weights={"government": 3, "resident": 1},
    )
    assert result.weights == [3.0, 1 / 3, 1 / 3, 1 / 3]
    assert result.overall.winners == ["A"]
    assert result.overall.details["rounds"][0]["counts"]["A"] == 3


def test_group_tally_concurrent() -> None:
    ballots, groups = group_case()
    result = group_tally("yes_no", ["yes", "no"], ballots, groups, rule="concurrent")
    assert result.carried is False
    assert result.details["groups_carried"] == ["government"]
    one = group_tally("yes_no", ["yes", "no"], ballots, groups, rule="concurrent", min_groups=1)
    assert one.carried is True
    all_yes = group_tally(
        "yes_no",
        ["yes", "no"],
        ["yes", "yes", "no"],
        ["government", "resident", "resident"],
        rule="concurrent",
        threshold="simple",
        weights=[1, 2, 1],
    )
    assert all_yes.by_group["resident"].details["counts"] == {"yes": 2, "no": 1}
    assert all_yes.carried is True


def test_group_tally_errors() -> None:
    with pytest.raises(ValueError, match="no share configured for group"):
        group_tally("plurality", ["A"], ["A"], ["resident"], rule="weighted", group_weights={})
    with pytest.raises(ValueError, match="needs group_weights"):
        group_tally("plurality", ["A"], ["A"], ["resident"], rule="weighted")
    with pytest.raises(ValueError, match="needs the yes_no method"):
        group_tally("plurality", ["A"], ["A"], ["resident"], rule="concurrent")
    with pytest.raises(ValueError, match="got 1 group labels for 2 ballots"):
        group_tally("plurality", ["A"], ["A", "A"], ["resident"])
    with pytest.raises(ValueError, match="ballot 0: group label"):
        group_tally("plurality", ["A"], ["A"], [None])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="min_groups only applies"):
        group_tally("yes_no", ["yes", "no"], ["yes"], ["resident"], min_groups=1)
    with pytest.raises(ValueError, match="unknown group rule"):
        group_tally("yes_no", ["yes", "no"], ["yes"], ["resident"], rule="majority")
    with pytest.raises(ValueError, match="ballot 1: unknown option"):
        group_tally("plurality", ["A"], ["A", "B"], ["resident", "business"])


# --------------------------------------------------------------------------- properties

OPTS = ["A", "B", "C", "D"]


@st.composite
def rankings(draw: st.DrawFn, options: list[str] = OPTS, max_size: int = 12) -> list[list[str]]:
    perms = draw(st.lists(st.permutations(options), max_size=max_size))
    return [list(p[: draw(st.integers(0, len(options)))]) for p in perms]


def naive_pairwise(ballots: list[list[str]], options: list[str]) -> dict[str, dict[str, int]]:
    rank = [{o: (b.index(o) if o in b else len(options)) for o in options} for b in ballots]
    return {a: {c: sum(r[a] < r[c] for r in rank) for c in options if c != a} for a in options}


@FAST
@given(rankings())
def test_pairwise_matches_naive(ballots: list[list[str]]) -> None:
    result = tally("schulze", OPTS, ballots)
    assert result.details["pairwise"] == naive_pairwise(ballots, OPTS)
    borda = tally("borda", OPTS, ballots)
    d = naive_pairwise(ballots, OPTS)
    assert borda.details["points"] == {a: sum(d[a].values()) for a in OPTS}


@FAST
@given(rankings(), st.sampled_from(OPTS))
def test_condorcet_winner_always_wins_schulze(ballots: list[list[str]], extra: str) -> None:
    ballots = [*ballots, [extra]]
    d = naive_pairwise(ballots, OPTS)
    winners = [a for a in OPTS if all(d[a][c] > d[c][a] for c in OPTS if c != a)]
    if winners:
        assert tally("schulze", OPTS, ballots).winners == winners


def naive_irv(ballots: list[list[str]], options: list[str]) -> str | None:
    """Plain IRV; None when a tie for last place would need breaking."""
    alive = list(options)
    while True:
        counts = Counter({o: 0 for o in alive})
        for b in ballots:
            top = next((o for o in b if o in alive), None)
            if top is not None:
                counts[top] += 1
        total = sum(counts.values())
        best = max(alive, key=lambda o: counts[o])
        if len(alive) == 1 or counts[best] * 2 > total:
            return best
        low = min(counts[o] for o in alive)
        lows = [o for o in alive if counts[o] == low]
        if len(lows) > 1:
            return None
        alive.remove(lows[0])


@FAST
@given(rankings(max_size=15))
def test_irv_matches_naive_count(ballots: list[list[str]]) -> None:
    expected = naive_irv(ballots, OPTS)
    if expected is not None and any(ballots):
        assert tally("irv", OPTS, ballots).winners == [expected]


@FAST
@given(rankings(max_size=15))
def test_stv_one_seat_agrees_with_irv(ballots: list[list[str]]) -> None:
    irv = tally("irv", OPTS, ballots)
    stv = tally("stv", OPTS, ballots, seats=1)
    assert sorted(stv.winners) == sorted(irv.winners)
    assert stv.tied == irv.tied


def approval_ballots() -> st.SearchStrategy[list[list[str]]]:
    return st.lists(st.lists(st.sampled_from(OPTS), unique=True), max_size=10)


def score_ballots() -> st.SearchStrategy[list[dict[str, int]]]:
    return st.lists(st.dictionaries(st.sampled_from(OPTS), st.integers(0, 5)), max_size=10)


@st.composite
def any_poll(draw: st.DrawFn) -> tuple[str, list[object], dict[str, int]]:
    method = draw(
        st.sampled_from(["plurality", "approval", "score", "borda", "schulze", "irv", "stv"])
    )
    params: dict[str, int] = {}
    if method == "plurality":
        ballots: list[object] = draw(st.lists(st.sampled_from(OPTS), max_size=10))
    elif method == "approval":
        ballots = list(draw(approval_ballots()))
    elif method == "score":
        ballots = list(draw(score_ballots()))
    else:
        ballots = list(draw(rankings(max_size=10)))
        if method == "stv":
            params["seats"] = draw(st.integers(1, 3))
    return method, ballots, params


@FAST
@given(any_poll(), st.randoms(use_true_random=False))
def test_permuting_ballots_changes_nothing(
    poll: tuple[str, list[object], dict[str, int]], rnd: random.Random
) -> None:
    method, ballots, params = poll
    weights = [rnd.randint(0, 3) for _ in ballots]
    order = list(range(len(ballots)))
    rnd.shuffle(order)
    before = tally(method, OPTS, ballots, weights=weights, **params)
    after = tally(
        method, OPTS, [ballots[i] for i in order], weights=[weights[i] for i in order], **params
    )
    assert after == before


@FAST
@given(any_poll(), st.data())
def test_weight_two_equals_duplicated_ballot(
    poll: tuple[str, list[object], dict[str, int]], data: st.DataObject
) -> None:
    method, ballots, params = poll
    if not ballots:
        return
    i = data.draw(st.integers(0, len(ballots) - 1))
    weights = [1] * len(ballots)
    weights[i] = 2
    weighted = tally(method, OPTS, ballots, weights=weights, **params)
    duplicated = tally(method, OPTS, [*ballots, ballots[i]], **params)
    assert weighted.winners == duplicated.winners
    assert weighted.ranking == duplicated.ranking
    assert weighted.tied == duplicated.tied
    skip = {"ballots", "blank"}  # counts of ballot papers, not votes
    strip = {k: v for k, v in weighted.details.items() if k not in skip}
    assert strip == {k: v for k, v in duplicated.details.items() if k not in skip}


@FAST
@given(st.lists(st.sampled_from(OPTS), max_size=12))
def test_extra_vote_for_plurality_winner_keeps_it_winning(ballots: list[str]) -> None:
    result = tally("plurality", OPTS, ballots)
    for winner in result.winners:
        again = tally("plurality", OPTS, [*ballots, winner])
        assert again.winners == [winner]
        assert again.tied is False


@FAST
@given(
    st.lists(
        st.tuples(st.sampled_from(["yes", "no"]), st.sampled_from(["g", "b", "r"])), max_size=12
    ),
    st.dictionaries(st.sampled_from(["g", "b", "r"]), st.integers(1, 5), min_size=3),
)
def test_weighted_groups_get_their_share(
    cast: list[tuple[str, str]], shares: dict[str, int]
) -> None:
    if not cast:
        return
    ballots = [c for c, _ in cast]
    groups = [g for _, g in cast]
    result = group_tally(
        "yes_no", ["yes", "no"], ballots, groups, rule="weighted", group_weights=shares
    )
    assert result.weights is not None
    present = sorted(set(groups))
    total_share = sum(shares[g] for g in present)
    for g in present:
        got = sum(w for w, gg in zip(result.weights, groups, strict=True) if gg == g)
        assert got == pytest.approx(len(ballots) * shares[g] / total_share)
    counts = result.overall.details["counts"]
    assert counts["yes"] + counts["no"] == pytest.approx(len(ballots))


def test_results_are_json_serialisable_for_every_method() -> None:
    cases = [
        ("yes_no", ["yes", "no", "abstain"], ["yes", "abstain"], {}),
        ("plurality", ["A", "B"], ["A"], {}),
        ("approval", ["A", "B"], [["A", "B"]], {}),
        ("score", ["A", "B"], [{"A": 2}], {}),
        ("borda", ["A", "B"], [["B"]], {}),
        ("schulze", ["A", "B"], [["B"]], {}),
        ("irv", ["A", "B"], [["B"]], {}),
        ("stv", ["A", "B", "C"], [["B", "A"], ["B"], ["C"]], {"seats": 2}),
    ]
    for method, options, ballots, params in cases:
        result = tally(method, options, ballots, weights=[0.5] * len(ballots), **params)
        assert json.loads(as_json(result))["method"] == method


def test_tally_module_is_pure() -> None:
    source = Path(__file__).resolve().parents[2] / "voting" / "tally.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots <= {
        "__future__",
        "collections",
        "dataclasses",
        "fractions",
        "itertools",
        "math",
        "numbers",
        "numpy",
        "operator",
        "typing",
    }
