"""Count the ballots of a poll: a pure tally engine for every poll method.

Only the standard library and numpy are used; nothing here knows about Flask, the
database or the acting user.  Everything is deterministic: no tie is ever broken at
random, and a tie that the rules below cannot resolve is reported (``tied=True``,
the tied options in one ranking tier) instead of being decided.

Entry points
------------
``tally(method, options, ballots, *, weights=None, **params) -> TallyResult``
    ``options`` are the option labels (distinct strings, in ballot-paper order; that
    order is also the last, purely presentational, order inside a tier).  ``ballots``
    is an iterable with one ballot per voter, shaped by method:

    ========== ================================================================
    yes_no     one label of ``yes``, ``no`` (and ``abstain`` when offered)
    plurality  one label
    approval   a collection (set, list, tuple) of distinct labels
    score      a mapping label -> integer score in 0..max_score; options left
               out of the mapping score 0
    borda,     a sequence of distinct labels, most preferred first; options
    schulze,   left out of a (partial) ranking are tied last, below every
    irv, stv   ranked option; an empty sequence is a blank ballot
    ========== ================================================================

    For the ranked methods ``ballots`` may instead be a pre-encoded 2-D integer
    numpy array: one row per ballot holding option *indices* (into ``options``),
    most preferred first, padded on the right with ``-1`` (see
    ``encode_rankings``).  This skips the label look-ups and is the fast path for
    very large polls.

    ``weights`` (optional) gives a non-negative number per ballot, in ballot order;
    a ballot of weight 2 counts exactly like the same ballot cast twice.

    Parameters: ``threshold`` and ``base`` (yes_no), ``max_score`` (score, default
    5), ``min_selections`` / ``max_selections`` (approval, default 0 and the number
    of options), ``seats`` (stv, default 1).  A parameter that the method does not
    take raises ``TypeError``; bad input (unknown or duplicate labels, wrong ballot
    shape, scores out of range, selections outside min/max, negative weights, bad
    parameter values) raises ``ValueError`` naming the ballot index.

``group_tally(method, options, ballots, groups, *, rule="pooled", ...)``
    Multi-stakeholder rules, see its docstring below.

``encode_rankings(options, ballots) -> numpy.ndarray``
    Validate ranked ballots and encode them to the padded index array above.

Results
-------
``TallyResult.winners`` lists the winning labels (for stv in order of election),
``.ranking`` the tiers of labels best first, ``.tied`` is true when the winners could
not be separated, ``.carried`` is the yes_no decision (``None`` for other methods)
and ``.details`` a plain JSON-serialisable dict explaining the count (counts are
integers when all weights are whole numbers, floats otherwise).  When no option
received any support (no ballots, only blank ballots, or nothing but zero scores),
``winners`` is empty and ``tied`` is false.  When ``tied`` is true, ``winners`` holds
every option that wins under some resolution of the tie (certain winners first), so
it may be longer than the number of seats.

Every ``details`` has ``method``, ``options``, ``ballots`` (ballot papers) and
``votes`` (their total weight; for ranked methods blank ballots excluded, counted in
``blank``).  Further keys, by method:

- yes_no: ``counts``, ``base``, ``base_votes``, ``yes_share``, ``no_share``,
  ``threshold``, ``threshold_share``, ``threshold_rule`` ("more_than" or
  "at_least"), ``carried``.
- plurality: ``counts``, ``shares``.  approval: ``counts``, ``shares``,
  ``selections`` (ballots by number of options selected), ``min_selections``,
  ``max_selections``.  score: ``max_score``, ``totals``, ``averages``,
  ``distribution`` (per option, votes for each score 0..max), ``unscored``.
- borda: ``points``, ``positions`` (per option, votes at each rank), ``pairwise``.
- schulze: ``pairwise`` and ``strongest_paths`` (``[X][Y]``, X != Y), ``beats``.
- irv: ``rounds``: per round ``counts`` of the continuing options,
  ``continuing_votes``, ``exhausted`` (so far), ``elected``, ``eliminated``,
  ``transfers`` (votes passed to each continuing option), ``transfers_exhausted``
  and, when there was a tie for last place, ``tie``.
- stv: ``seats``, ``quota``, ``elected`` and ``rounds`` (the stages of the count):
  each has ``round``, ``action`` ("first_preferences", "surplus", "exclusion"),
  ``votes`` of every candidate at its end, ``elected`` and
  ``non_transferable_total`` / ``rounding_total`` so far; surplus rounds add
  ``candidate``, ``surplus``, ``transfer_factor`` (surplus / total), ``transfers``,
  ``non_transferable`` and ``rounding``; exclusion rounds ``candidates``,
  ``transfers``, ``non_transferable`` and maybe ``tie``.  Events without a count
  ("last_vacancies_filled", "tie_for_last_vacancies") close the list.
- irv and stv: ``ties`` lists every unresolved tie with the winners each choice
  leads to (see below).

Methods and their rules
-----------------------
yes_no
    ``base="cast_excluding_abstentions"`` (default) measures the yes share against
    yes + no; ``base="all_cast"`` against yes + no + abstain.  ``threshold="simple"``
    (default) carries when yes is strictly more than half of the base;
    ``"two_thirds"`` and ``"three_quarters"`` carry when yes is *at least* that
    share (exactly two thirds carries).  An empty base never carries.  A motion
    either carries or fails, so the result is never tied: winners is ``["yes"]``
    when carried and ``["no"]`` otherwise.  Shares are compared exactly (fractions).
plurality, approval, score, borda
    The option(s) with the highest total win; equal totals share a tier.  Score
    details also give averages over all counted votes (omitted options count 0).
    Borda gives each ranked option one point for every option ranked below it on the
    ballot (unranked options included), so a full ranking of m options gives m-1,
    m-2, ..., 0 points and unranked options get nothing; the points of an option
    equal the sum of its row in the pairwise matrix.
schulze
    Pairwise matrix ``d[X][Y]`` = votes ranking X above Y (unranked options are
    below ranked ones and tied among themselves); link strength is "winning
    votes" (``d[X][Y]`` when ``d[X][Y] > d[Y][X]``, else 0); strongest paths by
    Floyd-Warshall widest paths.  X beats Y when ``p[X][Y] > p[Y][X]``; the
    ranking takes, tier after tier, the options beaten by no remaining option.
irv
    Each round counts every ballot for its highest-ranked continuing option.  An
    option with more than half of the continuing votes (exhausted ballots no longer
    count) wins; otherwise the option with the fewest votes is eliminated and its
    ballots pass to their next continuing preference.
stv
    Scottish STV as in The Scottish Local Government Elections Order 2007
    (Schedule 1, rules 45-52): Droop quota ``floor(valid votes / (seats + 1)) + 1``
    (blank ballots are not valid votes); a candidate reaching the quota at any
    stage is elected; surpluses are transferred one per stage, largest first, with
    the weighted inclusive Gregory method: *all* ballot papers held by the elected
    candidate move to their next continuing preference, each at the transfer value
    ``surplus x value of the paper / candidate's total``, truncated to 5 decimal
    places (rule 48); papers with no further preference are non-transferable and
    the truncation loss is reported as ``rounding``.  When no surplus remains the
    candidate with the fewest votes is excluded and all of their papers move at
    their current values in one stage (rule 50).  When the continuing candidates
    are as many as the vacancies left they are all elected (rule 52).  All
    arithmetic is exact, in integer units of 0.00001 vote; fractional ballot
    weights are truncated to 5 decimal places.
    Ties are broken as in rules 49 and 51, except that "by lot" is never used:
    equal surpluses go first for the candidate with more votes at the most recent
    preceding stage at which they differed; for an exclusion, the candidate with
    fewer votes at the most recent preceding stage at which they differed goes.
    IRV uses the same elimination tie-break over its rounds.

Unresolved ties (irv, stv)
    When candidates are still equal at every earlier stage the tie is never broken
    at random.  The count is replayed for every possible choice (up to 64 complete
    counts); if every choice gives the same winners the tie did not matter: the
    result is not tied, the details follow the first tied candidate in option order
    and ``details["ties"]`` shows the other outcomes.  Otherwise the result is
    tied.  Two shortcuts keep this small and are outcome-preserving: tied
    candidates whose votes together are below every other continuing candidate
    (irv), or who have no votes at all (stv), are eliminated together; and in stv,
    zero-vote candidates who must share the last vacancies are reported as tied
    for them (``details["undecided"]``) without replaying the count.

Performance
-----------
Ranked ballots are encoded once into an ``n x k`` integer array (label look-ups
through ``operator.itemgetter`` run at C speed, so no Counter-based de-duplication
is needed); the Schulze/Borda pairwise matrix is built from vectorised comparisons of
an ``m x n`` rank matrix; IRV/STV keep a per-ballot pointer to its current
preference and advance, with vectorised steps, only the ballots whose holder was
elected or eliminated.  ``benchmarks/tally.py`` measures it against reference
libraries.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain
from typing import Any

import numpy as np

__all__ = [
    "BASES",
    "GROUP_RULES",
    "METHODS",
    "THRESHOLDS",
    "GroupTallyResult",
    "TallyResult",
    "encode_rankings",
    "group_tally",
    "tally",
]

METHODS = ("yes_no", "plurality", "approval", "score", "borda", "schulze", "irv", "stv")
RANKED_METHODS = frozenset({"borda", "schulze", "irv", "stv"})
# threshold name -> (numerator, denominator, reaching it exactly is enough)
THRESHOLDS = {
    "simple": (1, 2, False),
    "two_thirds": (2, 3, True),
    "three_quarters": (3, 4, True),
}
BASES = ("cast_excluding_abstentions", "all_cast")
GROUP_RULES = ("pooled", "weighted", "concurrent")
YES_NO_OPTIONS = ("yes", "no", "abstain")
STV_DECIMALS = 5
MAX_BRANCHES = 64

_UNIT = 10**STV_DECIMALS
_CHUNK = 4096  # ballots per label look-up chunk (small enough to stay in cache)
_SEQUENCE_TYPES = frozenset({list, tuple})
_PARAMS = {
    "yes_no": frozenset({"threshold", "base"}),
    "plurality": frozenset(),
    "approval": frozenset({"min_selections", "max_selections"}),
    "score": frozenset({"max_score"}),
    "borda": frozenset(),
    "schulze": frozenset(),
    "irv": frozenset(),
    "stv": frozenset({"seats"}),
}


@dataclass(frozen=True)
class TallyResult:
    """The outcome of counting one poll."""

    method: str
    winners: list[str]
    ranking: list[list[str]]
    tied: bool
    details: dict[str, Any]
    carried: bool | None = None


@dataclass(frozen=True)
class GroupTallyResult:
    """The outcome of counting a poll under a multi-stakeholder rule."""

    rule: str
    overall: TallyResult
    by_group: dict[str, TallyResult]
    carried: bool | None
    weights: list[float] | None = None
    details: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- entry points


def tally(
    method: str,
    options: Sequence[str],
    ballots: Iterable[Any] | np.ndarray,
    *,
    weights: Iterable[float] | np.ndarray | None = None,
    **params: Any,
) -> TallyResult:
    """Count the ballots of one poll with the given method."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    unexpected = sorted(set(params) - _PARAMS[method])
    if unexpected:
        raise TypeError(f"method {method!r} takes no parameter(s) {', '.join(unexpected)}")
    labels = _check_options(method, options)
    if method in RANKED_METHODS:
        data: Any = _encode(labels, ballots, ranks=method in ("borda", "schulze"))
        n = data.order.shape[0]
    else:
        if isinstance(ballots, np.ndarray):
            raise ValueError(f"method {method!r} does not accept a numpy array of ballots")
        data = ballots if isinstance(ballots, list) else list(ballots)
        n = len(data)
    w = _check_weights(weights, n)
    return _TALLIERS[method](labels, data, w, **params)


def encode_rankings(options: Sequence[str], ballots: Iterable[Any] | np.ndarray) -> np.ndarray:
    """Validate ranked ballots and encode them as option indices padded with -1."""
    return _encode(_check_options("borda", options), ballots, ranks=False).order


@dataclass(frozen=True)
class _Ranked:
    order: np.ndarray  # n x k option indices, most preferred first, -1 padded
    ranks: np.ndarray | None  # m x n positions (m = unranked), when asked for


def _encode(labels: list[str], ballots: Iterable[Any] | np.ndarray, *, ranks: bool) -> _Ranked:
    m = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    items: list[Any] | None = None
    if isinstance(ballots, np.ndarray):
        order = _check_encoded(ballots, m)
        lengths = np.count_nonzero(order >= 0, axis=1)
    else:
        items = ballots if isinstance(ballots, list) else list(ballots)
        lengths, codes = _lookup(index, items)
        n, k = len(items), int(lengths.max()) if items else 0
        if k > m:
            bad = int(np.argmax(lengths > m))
            _check_ranking(bad, items[bad], index)
        order = np.full((n, k), -1, dtype=_index_dtype(m))
        if k:
            order[np.arange(k) < lengths[:, None]] = codes
    rank_matrix = None
    if ranks:
        rank_matrix = _rank_matrix(order, m)
        dup_rows = np.count_nonzero(rank_matrix < m, axis=0) != lengths
        dup = int(np.argmax(dup_rows)) if dup_rows.any() else None
    else:
        dup = _duplicate_rows(order, m)
    if dup is not None:
        if items is not None:
            _check_ranking(dup, items[dup], index)
        raise ValueError(f"ballot {dup}: an option is ranked more than once")
    return _Ranked(order, rank_matrix)


def group_tally(
    method: str,
    options: Sequence[str],
    ballots: Iterable[Any] | np.ndarray,
    groups: Iterable[str],
    *,
    rule: str = "pooled",
    group_weights: Mapping[str, float] | None = None,
    min_groups: int | None = None,
    weights: Iterable[float] | np.ndarray | None = None,
    **params: Any,
) -> GroupTallyResult:
    """Count ballots cast by several stakeholder groups under a multi-group rule.

    ``groups`` holds the group label of each ballot (a stakeholder kind such as
    "government", "business", "social_organization", "resident").  ``by_group``
    maps every group label to the tally of that group's ballots alone (with their
    own ``weights``).  A group "has ballots" when its ballots' total weight is
    positive.

    - ``"pooled"``: ``overall`` counts every ballot alike; ``carried`` is its yes_no
      decision.
    - ``"weighted"``: ``group_weights`` maps group -> share.  Shares are renormalised
      over the groups that have ballots, and every ballot of group g gets weight
      ``own weight x N x share_g / W_g`` (N = total weight of all ballots, W_g = of
      group g), so the group counts for exactly its share of the N votes, equally
      within the group.  ``weights`` of the result holds those per-ballot weights;
      ``overall`` is the weighted tally and ``carried`` its decision.
    - ``"concurrent"`` (yes_no only): ``overall`` is the pooled tally and ``carried``
      is true only when yes carries in every group that has ballots, or in at least
      ``min_groups`` of them when given.  No group with ballots means not carried.

    ``carried`` is ``None`` for methods other than yes_no.
    """
    _check_group_rule(method, rule, group_weights, min_groups)
    if not isinstance(ballots, np.ndarray):
        ballots = ballots if isinstance(ballots, list) else list(ballots)
    n = len(ballots)
    group_of = _group_labels(groups, n)
    base_w = _check_weights(weights, n)
    base = np.ones(n) if base_w is None else base_w
    members, totals = _members(group_of, base)
    names = list(members)
    active = [g for g in names if totals[g] > 0]
    details: dict[str, Any] = {"rule": rule, "groups": {}}
    ballot_weights: list[float] | None = None
    shares: dict[str, float] = {}
    if rule == "weighted":
        shares, final = _group_weighted(base, group_of, totals, active, group_weights)
        ballot_weights = [float(x) for x in final]
        overall = tally(method, options, ballots, weights=final, **params)
    else:
        overall = tally(method, options, ballots, weights=base_w, **params)
    by_group: dict[str, TallyResult] = {}
    for g, idx in members.items():
        part, part_w = _subset(ballots, base_w, idx)
        by_group[g] = tally(method, options, part, weights=part_w, **params)
    carried: bool | None = overall.carried
    if rule == "concurrent":
        passed = [g for g in active if by_group[g].carried]
        carried = _concurrently_carried(len(passed), len(active), min_groups)
        details["min_groups"] = min_groups
        details["groups_carried"] = passed
    for g in names:
        share = shares.get(g, 0.0) if rule == "weighted" else None
        details["groups"][g] = _group_entry(
            len(members[g]), totals[g], g in active, share, by_group[g].carried
        )
    details["carried"] = carried
    return GroupTallyResult(
        rule=rule,
        overall=overall,
        by_group=by_group,
        carried=carried,
        weights=ballot_weights,
        details=details,
    )


def _check_group_rule(
    method: str,
    rule: str,
    group_weights: Mapping[str, float] | None,
    min_groups: int | None,
) -> None:
    if rule not in GROUP_RULES:
        raise ValueError(f"unknown group rule {rule!r}; expected one of {', '.join(GROUP_RULES)}")
    if group_weights is not None and rule != "weighted":
        raise ValueError("group_weights only applies to the 'weighted' rule")
    if min_groups is not None and rule != "concurrent":
        raise ValueError("min_groups only applies to the 'concurrent' rule")
    if rule == "concurrent" and method != "yes_no":
        raise ValueError("the 'concurrent' rule needs the yes_no method")


def _group_labels(groups: Iterable[str], n: int) -> list[str]:
    """Return the ballots' group labels, checked: one non-empty string per ballot."""
    rv = list(groups)
    if len(rv) != n:
        raise ValueError(f"got {len(rv)} group labels for {n} ballots")
    for i, g in enumerate(rv):
        if not isinstance(g, str) or not g:
            raise ValueError(f"ballot {i}: group label must be a non-empty string, got {g!r}")
    return rv


def _members(
    group_of: list[str], base: np.ndarray
) -> tuple[dict[str, list[int]], dict[str, float]]:
    """Return each group's ballot indices and total weight, groups in sorted order."""
    found: dict[str, list[int]] = {}
    for i, g in enumerate(group_of):
        found.setdefault(g, []).append(i)
    members = {g: found[g] for g in sorted(found)}
    return members, {g: float(base[idx].sum()) for g, idx in members.items()}


def _group_weighted(
    base: np.ndarray,
    group_of: list[str],
    totals: Mapping[str, float],
    active: list[str],
    group_weights: Mapping[str, float] | None,
) -> tuple[dict[str, float], np.ndarray]:
    """Return the groups' shares and ballot weights that give each group exactly its share."""
    if group_weights is None:
        raise ValueError("the 'weighted' rule needs group_weights")
    shares = _normalised_shares(group_weights, active)
    grand = sum(totals[g] for g in active)
    factor = {g: (grand * shares[g] / totals[g] if g in shares else 0.0) for g in totals}
    rv = base * np.array([factor[g] for g in group_of]) if group_of else np.zeros(0)
    return shares, rv


def _subset(
    ballots: list[Any] | np.ndarray, weights: np.ndarray | None, idx: list[int]
) -> tuple[Any, np.ndarray | None]:
    """Return the ballots `idx` of one group and their weights."""
    part = ballots[idx] if isinstance(ballots, np.ndarray) else [ballots[i] for i in idx]
    return part, None if weights is None else weights[idx]


def _concurrently_carried(passed: int, active: int, min_groups: int | None) -> bool:
    """Yes carries in every group with ballots, or in at least `min_groups` of them."""
    if min_groups is None:
        return bool(active) and passed == active
    if isinstance(min_groups, bool) or not isinstance(min_groups, int) or min_groups < 1:
        raise ValueError(f"min_groups must be a positive integer, got {min_groups!r}")
    return passed >= min_groups


def _group_entry(
    ballots: int, votes: float, has_ballots: bool, share: float | None, carried: bool | None
) -> dict[str, Any]:
    rv: dict[str, Any] = {"ballots": ballots, "votes": _plain(votes), "has_ballots": has_ballots}
    if share is not None:
        rv["share"] = share
    if carried is not None:
        rv["carried"] = carried
    return rv


# --------------------------------------------------------------------------- validation


def _check_options(method: str, options: Sequence[str]) -> list[str]:
    if isinstance(options, str | bytes) or not isinstance(options, Iterable):
        raise ValueError("options must be a sequence of option labels")
    labels = list(options)
    if not labels:
        raise ValueError("a poll needs at least one option")
    for label in labels:
        if not isinstance(label, str) or not label:
            raise ValueError(f"option labels must be non-empty strings, got {label!r}")
    if len(set(labels)) != len(labels):
        dup = next(label for label in labels if labels.count(label) > 1)
        raise ValueError(f"option {dup!r} is listed more than once")
    if method == "yes_no" and not {"yes", "no"} <= set(labels) <= set(YES_NO_OPTIONS):
        raise ValueError("yes_no options must be 'yes', 'no' and optionally 'abstain'")
    return labels


def _check_weights(weights: Iterable[float] | np.ndarray | None, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, np.ndarray):
        if weights.dtype == np.bool_ or not np.issubdtype(weights.dtype, np.number):
            raise ValueError("weights must be numbers")
        w = weights.astype(np.float64).reshape(-1)
    else:
        items = list(weights)
        for i, x in enumerate(items):
            if isinstance(x, bool) or not isinstance(x, numbers.Real):
                raise ValueError(f"ballot {i}: weight must be a number, got {x!r}")
        w = np.array(items, dtype=np.float64)
    if w.shape[0] != n:
        raise ValueError(f"got {w.shape[0]} weights for {n} ballots")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"ballot {i}: weight must be a finite non-negative number, got {w[i]!r}")
    return w


def _normalised_shares(group_weights: Mapping[str, float], active: list[str]) -> dict[str, float]:
    if not isinstance(group_weights, Mapping):
        raise ValueError("group_weights must map group labels to shares")
    for g, share in group_weights.items():
        if isinstance(share, bool) or not isinstance(share, numbers.Real):
            raise ValueError(f"share of group {g!r} must be a number, got {share!r}")
        if not math.isfinite(share) or share < 0:
            raise ValueError(f"share of group {g!r} must be finite and non-negative")
    missing = [g for g in active if g not in group_weights]
    if missing:
        raise ValueError(f"no share configured for group(s) {', '.join(map(repr, missing))}")
    total = sum(float(group_weights[g]) for g in active)
    if active and total <= 0:
        raise ValueError("no group that has ballots has a positive share")
    return {g: float(group_weights[g]) / total for g in active}


def _index_dtype(m: int) -> type[np.signedinteger[Any]]:
    if m < 127:
        return np.int8
    if m < 32767:
        return np.int16
    return np.int32


def _as_ranking(i: int, ballot: Any) -> Sequence[Any]:
    if isinstance(ballot, str | bytes):
        raise ValueError(f"ballot {i}: a ranking must be a sequence of labels, got a string")
    if isinstance(ballot, Mapping | AbstractSet) or not isinstance(ballot, Sequence):
        raise ValueError(
            f"ballot {i}: a ranking must be a list or tuple of labels, got {type(ballot).__name__}"
        )
    return list(ballot)


def _check_ranking(i: int, ballot: Sequence[Any], index: Mapping[str, int]) -> None:
    seen: set[Any] = set()
    for label in ballot:
        if not isinstance(label, str) or label not in index:
            raise ValueError(f"ballot {i}: unknown option {label!r}")
        if label in seen:
            raise ValueError(f"ballot {i}: option {label!r} is ranked more than once")
        seen.add(label)


def _lookup(index: dict[str, int], items: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return every ballot's length and every label's option index, at C speed.

    One pass over chunks of ballots checks their type, measures them and maps their
    labels through ``operator.itemgetter`` while the chunk is still in the CPU cache.
    """
    small = len(index) <= 256
    lens: list[np.ndarray] = []
    parts: list[Any] = []
    for start in range(0, len(items), _CHUNK):
        chunk = items[start : start + _CHUNK]
        if not set(map(type, chunk)) <= _SEQUENCE_TYPES:
            chunk = [_as_ranking(start + i, b) for i, b in enumerate(chunk)]
        lens.append(np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk)))
        flat = tuple(chain.from_iterable(chunk))
        try:
            if len(flat) > 1:
                got: Any = operator.itemgetter(*flat)(index)
            else:
                got = tuple(index[x] for x in flat)
        except (KeyError, TypeError):
            for i, ballot in enumerate(chunk):
                _check_ranking(start + i, ballot, index)
            raise  # pragma: no cover - the loop above always finds the culprit
        parts.append(bytes(got) if small else np.array(got, dtype=np.int64))
    lengths = np.concatenate(lens) if lens else np.zeros(0, dtype=np.int64)
    if small:
        codes = np.frombuffer(b"".join(parts), dtype=np.uint8)
    else:
        codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return lengths, codes.astype(_index_dtype(len(index)))


def _duplicate_rows(order: np.ndarray, m: int) -> int | None:
    """Return the index of the first ballot ranking an option twice, if any."""
    n, k = order.shape
    if k < 2:
        return None
    if m <= 56:
        # Distinct powers of two add up to their bitwise OR; a repeat makes the sum larger.
        dtype = np.int32 if m <= 26 else np.int64  # k * 2**(m-1) must not overflow
        table = np.zeros(m + 1, dtype=dtype)
        table[:m] = np.left_shift(1, np.arange(m, dtype=dtype))
        total = np.zeros(n, dtype=dtype)
        seen = np.zeros(n, dtype=dtype)
        for p in range(k):
            bit = table[order[:, p]]  # padding -1 reads the trailing 0
            total += bit
            seen |= bit
        dup = total != seen
    else:
        ranks = _rank_matrix(order, m)
        dup = np.count_nonzero(ranks < m, axis=0) != np.count_nonzero(order >= 0, axis=1)
    if dup.any():
        return int(np.argmax(dup))
    return None


def _check_encoded(array: np.ndarray, m: int) -> np.ndarray:
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError("encoded ballots must be a 2-D integer array of option indices")
    if array.size and (array.min() < -1 or array.max() >= m):
        bad = ((array < -1) | (array >= m)).any(axis=1)
        i = int(np.argmax(bad))
        raise ValueError(f"ballot {i}: option index out of range 0..{m - 1} (or -1 padding)")
    if array.shape[1] > 1:
        unranked = array < 0
        gap = ~unranked[:, 1:] & unranked[:, :-1]
        if gap.any():
            i = int(np.argmax(gap.any(axis=1)))
            raise ValueError(f"ballot {i}: -1 padding must come after every ranked option")
    dtype = _index_dtype(m)
    return array if array.dtype == dtype else array.astype(dtype)


def _encode_single(labels: list[str], ballots: list[Any], what: str) -> np.ndarray:
    """Map single-label ballots to option indices."""
    index = {label: i for i, label in enumerate(labels)}
    try:
        if len(ballots) == 1:
            got: Any = (index[ballots[0]],)
        elif ballots:
            got = operator.itemgetter(*ballots)(index)
        else:
            got = ()
    except (KeyError, TypeError):
        for i, ballot in enumerate(ballots):
            if not isinstance(ballot, str):
                raise ValueError(
                    f"ballot {i}: expected {what}, got {type(ballot).__name__}"
                ) from None
            if ballot not in index:
                raise ValueError(f"ballot {i}: unknown option {ballot!r}") from None
        raise  # pragma: no cover
    return np.fromiter(got, dtype=np.int64, count=len(ballots))


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f" and at most {high}"
        raise ValueError(f"{name} must be at least {low}{upper}, got {value}")
    return value


# --------------------------------------------------------------------------- helpers


def _is_integral(w: np.ndarray | None) -> bool:
    return w is None or bool(np.all(w == np.floor(w)))


def _plain(x: Any, integral: bool | None = None) -> int | float:
    """Turn a numpy or Python number into a JSON-friendly int or float."""
    value = float(x)
    if integral or (integral is None and value.is_integer()):
        return round(value)
    return value


def _by_label(labels: list[str], values: Any, integral: bool) -> dict[str, int | float]:
    return {label: _plain(v, integral) for label, v in zip(labels, values, strict=True)}


def _tiers(scores: np.ndarray, members: Iterable[int] | None = None) -> list[list[int]]:
    """Group option indices into tiers of equal score, highest first."""
    idx = list(range(len(scores))) if members is None else list(members)
    idx.sort(key=lambda i: (-scores[i], i))
    tiers: list[list[int]] = []
    for i in idx:
        if tiers and scores[tiers[-1][-1]] == scores[i]:
            tiers[-1].append(i)
        else:
            tiers.append([i])
    return tiers


def _names(labels: list[str], idx: Iterable[int]) -> list[str]:
    return [labels[i] for i in idx]


def _scored_result(
    method: str, labels: list[str], scores: np.ndarray, details: dict[str, Any]
) -> TallyResult:
    tiers = _tiers(scores)
    supported = bool(len(scores)) and scores.max() > 0
    winners = tiers[0] if supported else []
    return TallyResult(
        method=method,
        winners=_names(labels, winners),
        ranking=[_names(labels, t) for t in tiers],
        tied=len(winners) > 1,
        details=details,
    )


def _base_details(
    method: str, labels: list[str], n: int, w: np.ndarray | None, votes: float
) -> dict[str, Any]:
    return {
        "method": method,
        "options": list(labels),
        "ballots": n,
        "votes": _plain(votes, _is_integral(w)),
    }


# --------------------------------------------------------------------------- single choice


def _tally_yes_no(
    labels: list[str],
    ballots: list[Any],
    w: np.ndarray | None,
    threshold: str = "simple",
    base: str = "cast_excluding_abstentions",
) -> TallyResult:
    if threshold not in THRESHOLDS:
        raise ValueError(
            f"unknown threshold {threshold!r}; expected one of {', '.join(THRESHOLDS)}"
        )
    if base not in BASES:
        raise ValueError(f"unknown base {base!r}; expected one of {', '.join(BASES)}")
    integral = _is_integral(w)
    codes = _encode_single(labels, ballots, "'yes', 'no' or 'abstain'")
    counts = np.bincount(codes, weights=w, minlength=len(labels)).astype(np.float64)
    by = dict(zip(labels, counts.tolist(), strict=True))
    yes, no, abstain = by["yes"], by["no"], by.get("abstain", 0.0)
    base_votes = yes + no + (abstain if base == "all_cast" else 0.0)
    num, den, inclusive = THRESHOLDS[threshold]
    if base_votes <= 0:
        carried = False
    elif inclusive:
        carried = Fraction(yes) * den >= Fraction(base_votes) * num
    else:
        carried = Fraction(yes) * den > Fraction(base_votes) * num
    details = _base_details("yes_no", labels, len(ballots), w, float(counts.sum()))
    details.update(
        {
            "counts": _by_label(labels, counts, integral),
            "base": base,
            "base_votes": _plain(base_votes, integral),
            "yes_share": yes / base_votes if base_votes > 0 else None,
            "no_share": no / base_votes if base_votes > 0 else None,
            "threshold": threshold,
            "threshold_share": num / den,
            "threshold_rule": "at_least" if inclusive else "more_than",
            "carried": carried,
        }
    )
    ranking = [["yes"], ["no"]] if carried else [["no"], ["yes"]]
    if "abstain" in labels:
        ranking.append(["abstain"])
    return TallyResult(
        method="yes_no",
        winners=["yes"] if carried else ["no"],
        ranking=ranking,
        tied=False,
        details=details,
        carried=carried,
    )


def _tally_plurality(labels: list[str], ballots: list[Any], w: np.ndarray | None) -> TallyResult:
    codes = _encode_single(labels, ballots, "one option label")
    counts = np.bincount(codes, weights=w, minlength=len(labels)).astype(np.float64)
    total = float(counts.sum())
    integral = _is_integral(w)
    details = _base_details("plurality", labels, len(ballots), w, total)
    details["counts"] = _by_label(labels, counts, integral)
    details["shares"] = {
        label: (float(c) / total if total > 0 else 0.0)
        for label, c in zip(labels, counts, strict=True)
    }
    return _scored_result("plurality", labels, counts, details)


# --------------------------------------------------------------------------- approval, score


def _tally_approval(
    labels: list[str],
    ballots: list[Any],
    w: np.ndarray | None,
    min_selections: int = 0,
    max_selections: int | None = None,
) -> TallyResult:
    m = len(labels)
    low = _check_int("min_selections", min_selections, 0, m)
    high = m if max_selections is None else _check_int("max_selections", max_selections, 0, m)
    if low > high:
        raise ValueError(f"min_selections ({low}) is larger than max_selections ({high})")
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros(m)
    sizes = np.zeros(m + 1)
    for i, ballot in enumerate(ballots):
        if isinstance(ballot, str | bytes | Mapping) or not isinstance(ballot, Iterable):
            raise ValueError(
                f"ballot {i}: an approval ballot must be a set or list of labels, "
                f"got {type(ballot).__name__}"
            )
        chosen: list[int] = []
        for label in ballot:
            if not isinstance(label, str) or label not in index:
                raise ValueError(f"ballot {i}: unknown option {label!r}")
            chosen.append(index[label])
        if len(set(chosen)) != len(chosen):
            dup = next(labels[c] for c in chosen if chosen.count(c) > 1)
            raise ValueError(f"ballot {i}: option {dup!r} is selected more than once")
        if not low <= len(chosen) <= high:
            raise ValueError(
                f"ballot {i}: {len(chosen)} option(s) selected; between {low} and {high} allowed"
            )
        weight = 1.0 if w is None else float(w[i])
        counts[chosen] += weight
        sizes[len(chosen)] += weight
    integral = _is_integral(w)
    total = float(sizes.sum())
    details = _base_details("approval", labels, len(ballots), w, total)
    details.update(
        {
            "counts": _by_label(labels, counts, integral),
            "shares": {
                label: (float(c) / total if total > 0 else 0.0)
                for label, c in zip(labels, counts, strict=True)
            },
            "selections": {str(s): _plain(v, integral) for s, v in enumerate(sizes) if v},
            "min_selections": low,
            "max_selections": high,
        }
    )
    return _scored_result("approval", labels, counts, details)


def _tally_score(
    labels: list[str], ballots: list[Any], w: np.ndarray | None, max_score: int = 5
) -> TallyResult:
    m = len(labels)
    top = _check_int("max_score", max_score, 1)
    index = {label: i for i, label in enumerate(labels)}
    totals = np.zeros(m)
    hist = np.zeros((m, top + 1))
    for i, ballot in enumerate(ballots):
        if not isinstance(ballot, Mapping):
            raise ValueError(
                f"ballot {i}: a score ballot must map option labels to scores, "
                f"got {type(ballot).__name__}"
            )
        weight = 1.0 if w is None else float(w[i])
        for label, score in ballot.items():
            if not isinstance(label, str) or label not in index:
                raise ValueError(f"ballot {i}: unknown option {label!r}")
            if isinstance(score, bool) or not isinstance(score, numbers.Integral):
                raise ValueError(
                    f"ballot {i}: score for {label!r} must be an integer, got {score!r}"
                )
            if not 0 <= score <= top:
                raise ValueError(f"ballot {i}: score {score} for {label!r} is outside 0..{top}")
            totals[index[label]] += weight * int(score)
            hist[index[label], int(score)] += weight
    integral = _is_integral(w)
    votes = float(len(ballots) if w is None else w.sum())
    details = _base_details("score", labels, len(ballots), w, votes)
    details.update(
        {
            "max_score": top,
            "totals": _by_label(labels, totals, integral),
            "averages": {
                label: (float(t) / votes if votes > 0 else 0.0)
                for label, t in zip(labels, totals, strict=True)
            },
            "distribution": {
                label: [_plain(v, integral) for v in hist[j]] for j, label in enumerate(labels)
            },
            "unscored": {
                label: _plain(votes - hist[j].sum(), integral) for j, label in enumerate(labels)
            },
        }
    )
    return _scored_result("score", labels, totals, details)


# --------------------------------------------------------------------------- pairwise methods


def _rank_matrix(order: np.ndarray, m: int) -> np.ndarray:
    """Return the m x n matrix of each option's position on each ballot (m if unranked)."""
    n, k = order.shape
    dtype = _index_dtype(m + 1)
    flat = np.full((m + 1) * n, m, dtype=dtype)
    if k and n:
        rows = order.astype(np.int64) % (m + 1)  # padding (-1) lands in the spare row m
        rows *= n
        rows += np.arange(n, dtype=np.int64)[:, None]
        flat[rows.ravel()] = np.tile(np.arange(k, dtype=dtype), n)
    return flat.reshape(m + 1, n)[:m]


def _pairwise(ranks: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Return d[i, j], the (weighted) number of ballots ranking option i above option j."""
    m = ranks.shape[0]
    d = np.zeros((m, m), dtype=np.float64)
    for i in range(m):
        ri = ranks[i]
        for j in range(i + 1, m):
            rj = ranks[j]
            above, below = ri < rj, rj < ri
            if w is None:
                d[i, j] = np.count_nonzero(above)
                d[j, i] = np.count_nonzero(below)
            else:
                d[i, j] = w @ above
                d[j, i] = w @ below
    return d


def _matrix(labels: list[str], mat: np.ndarray, integral: bool) -> dict[str, dict[str, Any]]:
    return {
        a: {b: _plain(mat[i, j], integral) for j, b in enumerate(labels) if j != i}
        for i, a in enumerate(labels)
    }


def _ranked_votes(order: np.ndarray, w: np.ndarray | None) -> tuple[float, int]:
    nonblank = order[:, 0] >= 0 if order.shape[1] else np.zeros(order.shape[0], dtype=bool)
    votes = float(np.count_nonzero(nonblank) if w is None else w[nonblank].sum())
    return votes, int(order.shape[0] - np.count_nonzero(nonblank))


def _tally_borda(labels: list[str], data: _Ranked, w: np.ndarray | None) -> TallyResult:
    m = len(labels)
    order = data.order
    assert data.ranks is not None
    d = _pairwise(data.ranks, w)
    points = d.sum(axis=1)
    integral = _is_integral(w)
    votes, blank = _ranked_votes(order, w)
    positions = []
    for p in range(order.shape[1]):
        col = order[:, p].astype(np.int64)
        ranked = col >= 0
        positions.append(
            np.bincount(col[ranked], weights=None if w is None else w[ranked], minlength=m)
        )
    details = _base_details("borda", labels, order.shape[0], w, votes)
    details.update(
        {
            "blank": blank,
            "points": _by_label(labels, points, integral),
            "positions": {
                label: [_plain(pos[j], integral) for pos in positions]
                for j, label in enumerate(labels)
            },
            "pairwise": _matrix(labels, d, integral),
        }
    )
    return _scored_result("borda", labels, points, details)


def _strongest_paths(d: np.ndarray) -> np.ndarray:
    """Return Schulze's strongest path strengths (winning votes) by Floyd-Warshall."""
    p = np.where(d > d.T, d, 0.0)
    for k in range(len(d)):
        p = np.maximum(p, np.minimum(p[:, k : k + 1], p[k : k + 1, :]))
    np.fill_diagonal(p, 0.0)
    return p


def _tally_schulze(labels: list[str], data: _Ranked, w: np.ndarray | None) -> TallyResult:
    m = len(labels)
    order = data.order
    assert data.ranks is not None
    d = _pairwise(data.ranks, w)
    p = _strongest_paths(d)
    beats = p > p.T
    remaining = list(range(m))
    tiers: list[list[int]] = []
    while remaining:
        tier = [x for x in remaining if not any(beats[y, x] for y in remaining)]
        tiers.append(tier)
        remaining = [x for x in remaining if x not in tier]
    integral = _is_integral(w)
    votes, blank = _ranked_votes(order, w)
    winners = tiers[0] if votes > 0 else []
    details = _base_details("schulze", labels, order.shape[0], w, votes)
    details.update(
        {
            "blank": blank,
            "pairwise": _matrix(labels, d, integral),
            "strongest_paths": _matrix(labels, p, integral),
            "beats": {a: _names(labels, np.flatnonzero(beats[i])) for i, a in enumerate(labels)},
        }
    )
    return TallyResult(
        method="schulze",
        winners=_names(labels, winners),
        ranking=[_names(labels, t) for t in tiers],
        tied=len(winners) > 1,
        details=details,
    )


# --------------------------------------------------------------------------- sequential counts


@dataclass
class _Decision:
    stage: int
    kind: str
    options: list[int]
    chosen: int


class _Chooser:
    """Answer unresolved ties from a script of choices (0 = first in option order)."""

    def __init__(self, script: tuple[int, ...]) -> None:
        self.script = script
        self.decisions: list[_Decision] = []

    def choose(self, stage: int, kind: str, tied: list[int]) -> int:
        i = len(self.decisions)
        pick = self.script[i] if i < len(self.script) else 0
        self.decisions.append(_Decision(stage, kind, list(tied), pick))
        return tied[pick]


@dataclass
class _Run:
    winners: list[int]
    ranking: list[list[int]]
    stages: list[dict[str, Any]]
    decisions: list[_Decision]
    pool: list[int] = field(default_factory=list)
    pool_seats: int = 0


def _explore(count: Any) -> tuple[list[_Run], bool]:
    """Run a count once per combination of unresolved tie choices (main count first)."""
    main = count(_Chooser(()))
    runs = [main]
    pending: list[tuple[int, ...]] = []

    def branch(run: _Run, start: int) -> None:
        taken = tuple(dec.chosen for dec in run.decisions)
        for i in range(len(run.decisions) - 1, start - 1, -1):
            for alt in range(len(run.decisions[i].options) - 1, 0, -1):
                pending.append((*taken[:i], alt))

    branch(main, 0)
    while pending and len(runs) < MAX_BRANCHES:
        script = pending.pop()
        run = count(_Chooser(script))
        runs.append(run)
        branch(run, len(script))
    return runs, not pending


def _settle(
    method: str,
    labels: list[str],
    runs: list[_Run],
    complete: bool,
    details: dict[str, Any],
) -> TallyResult:
    """Combine the explored counts into one result, reporting ties that matter."""
    main = runs[0]

    def outcome(run: _Run) -> frozenset[int]:
        return frozenset(run.winners) | frozenset(run.pool)

    possible = set().union(*(outcome(r) for r in runs))
    certain = set.intersection(*(set(r.winners) for r in runs))
    if not complete:
        for run in runs:
            for dec in run.decisions:
                possible.update(dec.options)
    tied = not complete or len({outcome(r) for r in runs}) > 1 or any(r.pool for r in runs)
    ties = []
    for i, dec in enumerate(main.decisions):
        outcomes: dict[int, set[int]] = {}
        for run in runs:
            if len(run.decisions) > i and all(x.chosen == 0 for x in run.decisions[:i]):
                outcomes.setdefault(run.decisions[i].chosen, set()).update(outcome(run))
        ties.append(
            {
                "round": dec.stage,
                "kind": dec.kind,
                "candidates": _names(labels, dec.options),
                "followed": labels[dec.options[0]],
                "outcomes": [
                    {"if": labels[dec.options[alt]], "winners": _names(labels, sorted(won))}
                    for alt, won in sorted(outcomes.items())
                ],
                "affects_result": len({frozenset(v) for v in outcomes.values()}) > 1,
            }
        )
    details["ties"] = ties
    details["ties_fully_explored"] = complete
    if main.pool:
        details["undecided"] = {
            "candidates": _names(labels, main.pool),
            "seats": main.pool_seats,
        }
    if not tied:
        winners, ranking = main.winners, main.ranking
    else:
        sure = [c for c in main.winners if c in certain]
        open_ = sorted(possible - certain)
        winners = sure + open_
        ranking = [[c] for c in sure] + [open_]
        for tier in main.ranking:
            rest = [c for c in tier if c not in possible]
            if rest:
                ranking.append(rest)
    return TallyResult(
        method=method,
        winners=_names(labels, winners),
        ranking=[_names(labels, t) for t in ranking if t],
        tied=tied,
        details=details,
    )


def _advance(
    order: np.ndarray, pos: np.ndarray, holder: np.ndarray, idx: np.ndarray, cont: np.ndarray
) -> None:
    """Move papers ``idx`` to their next continuing preference, or mark them exhausted."""
    k = order.shape[1]
    flat = order.reshape(-1)
    cont_ext = np.append(cont, False)  # index -1 (padding) reads the trailing False
    p = pos[idx]
    while idx.size:
        p = p + 1
        live = p < k
        if not live.all():
            dead = idx[~live]
            holder[dead] = -1
            pos[dead] = k
            idx, p = idx[live], p[live]
        c = flat[idx * k + p]
        ok = cont_ext[c]
        done = ok | (c < 0)
        hit = idx[done]
        pos[hit] = p[done]
        holder[hit] = np.where(ok[done], c[done], -1)
        keep = ~done
        idx, p = idx[keep], p[keep]


def _papers_of(holder: np.ndarray, cands: list[int], m: int) -> np.ndarray:
    """Return the indices of the papers currently held by any of ``cands``."""
    if len(cands) == 1:
        return np.flatnonzero(holder == cands[0])
    mask = np.zeros(m + 1, dtype=bool)  # holder -1 (exhausted) reads the trailing False
    mask[cands] = True
    return np.flatnonzero(mask[holder])


def _break_tie(tied: list[int], history: list[np.ndarray], lowest: bool) -> tuple[list[int], int]:
    """Narrow a tie by the most recent earlier stage where the tied candidates differed."""
    cands = list(tied)
    used = 0
    for s in range(len(history) - 2, -1, -1):
        vals = history[s][cands]
        if (vals != vals[0]).any():
            target = vals.min() if lowest else vals.max()
            cands = [c for c, v in zip(cands, vals, strict=True) if v == target]
            used = s + 1
            if len(cands) == 1:
                break
    return cands, used


def _first_holders(order: np.ndarray) -> np.ndarray:
    if order.shape[1] == 0:
        return np.full(order.shape[0], -1, dtype=np.int32)
    return order[:, 0].astype(np.int32)


def _no_votes(method: str, labels: list[str], details: dict[str, Any]) -> TallyResult:
    details["ties"] = []
    return TallyResult(
        method=method, winners=[], ranking=[list(labels)], tied=False, details=details
    )


class _IrvCount:
    """One instant-runoff count, round by round; unresolved ties are asked of `chooser`."""

    def __init__(
        self,
        labels: list[str],
        order: np.ndarray,
        weight: np.ndarray,
        integral: bool,
        chooser: _Chooser,
    ) -> None:
        self.labels, self.order, self.weight = labels, order, weight
        self.integral, self.chooser = integral, chooser
        self.m = m = len(labels)
        self.holder = _first_holders(order)
        self.pos = np.zeros(order.shape[0], dtype=np.int64)
        live = self.holder >= 0
        self.votes = np.bincount(self.holder[live], weights=weight[live], minlength=m).astype(
            np.float64
        )
        self.cont = np.ones(m, dtype=bool)
        self.history: list[np.ndarray] = [self.votes.copy()]
        self.rounds: list[dict[str, Any]] = []
        self.out: list[list[int]] = []
        self.exhausted = 0.0

    def num(self, x: float) -> int | float:
        """Show a vote total as an int when the weights are whole numbers."""
        return _plain(x, self.integral)

    def run(self) -> _Run:
        """Eliminate the weakest until one option has more than half the continuing votes."""
        while True:
            alive = np.flatnonzero(self.cont)
            total = float(self.votes[alive].sum())
            entry = self._open_round(alive, total)
            if len(alive) == 1 or float(self.votes[alive].max()) * 2 > total:
                return self._won(entry, alive)
            gone = self._eliminated(entry, alive)
            self._transfer(entry, gone)

    def _open_round(self, alive: np.ndarray, total: float) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "round": len(self.rounds) + 1,
            "counts": {self.labels[c]: self.num(self.votes[c]) for c in alive},
            "continuing_votes": self.num(total),
            "exhausted": self.num(self.exhausted),
            "elected": [],
            "eliminated": [],
        }
        self.rounds.append(entry)
        return entry

    def _won(self, entry: dict[str, Any], alive: np.ndarray) -> _Run:
        winner = int(alive[np.argmax(self.votes[alive])])
        entry["elected"] = [self.labels[winner]]
        others = [int(c) for c in alive if c != winner]
        ranking = [[winner], *_tiers(self.votes, others), *reversed(self.out)]
        return _Run([winner], ranking, self.rounds, self.chooser.decisions)

    def _eliminated(self, entry: dict[str, Any], alive: np.ndarray) -> list[int]:
        """Return who goes this round: the lowest, or the tie's outcome (noted in `entry`)."""
        low = float(self.votes[alive].min())
        tied = [int(c) for c in alive if self.votes[c] == low]
        if len(tied) == 1:
            return tied
        narrowed, used = _break_tie(tied, self.history, lowest=True)
        tie: dict[str, Any] = {"candidates": _names(self.labels, tied)}
        if len(narrowed) == 1:
            tie.update(resolved_by="earlier_round", round=used)
            gone = narrowed
        else:
            rest = [c for c in alive if c not in narrowed]
            if rest and low * len(narrowed) < float(self.votes[rest].min()):
                tie["resolved_by"] = "eliminated_together"
                gone = narrowed
            else:
                tie["resolved_by"] = "unresolved"
                gone = [self.chooser.choose(len(self.rounds), "elimination", narrowed)]
        entry["tie"] = tie
        return gone

    def _transfer(self, entry: dict[str, Any], gone: list[int]) -> None:
        """Move the papers of the eliminated to their next continuing preference."""
        m, labels = self.m, self.labels
        self.cont[gone] = False
        self.out.append(sorted(gone))
        idx = _papers_of(self.holder, gone, m)
        _advance(self.order, self.pos, self.holder, idx, self.cont)
        moved = self.holder[idx] >= 0
        gained = np.bincount(self.holder[idx[moved]], weights=self.weight[idx[moved]], minlength=m)
        lost = float(self.weight[idx[~moved]].sum())
        self.exhausted += lost
        entry["eliminated"] = _names(labels, sorted(gone))
        entry["transfers"] = {labels[c]: self.num(gained[c]) for c in np.flatnonzero(self.cont)}
        entry["transfers_exhausted"] = self.num(lost)
        self.votes = self.votes + gained
        self.votes[gone] = 0.0
        self.history.append(self.votes.copy())


def _tally_irv(labels: list[str], data: _Ranked, w: np.ndarray | None) -> TallyResult:
    order = data.order
    weight = np.ones(order.shape[0]) if w is None else w
    integral = _is_integral(w)
    votes, blank = _ranked_votes(order, w)
    details = _base_details("irv", labels, order.shape[0], w, votes)
    details["blank"] = blank
    if votes <= 0:
        details["rounds"] = []
        return _no_votes("irv", labels, details)
    runs, complete = _explore(
        lambda chooser: _IrvCount(labels, order, weight, integral, chooser).run()
    )
    details["rounds"] = runs[0].stages
    details["majority_rule"] = "more than half of the continuing votes"
    return _settle("irv", labels, runs, complete, details)


def _stv_units(w: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (papers per ballot, value per paper in units of 0.00001 vote)."""
    if w is None:
        return np.ones(n, dtype=np.int64), np.full(n, _UNIT, dtype=np.int64)
    if _is_integral(w):
        return w.astype(np.int64), np.full(n, _UNIT, dtype=np.int64)
    value = np.floor(np.round(w * _UNIT, 6)).astype(np.int64)
    return np.ones(n, dtype=np.int64), value


def _units(u: float | int) -> int | float:
    q, r = divmod(int(u), _UNIT)
    return q if r == 0 else int(u) / _UNIT


def _scaled(values: np.ndarray, surplus: int, total: int) -> np.ndarray:
    """Return ``surplus * values // total`` exactly, even beyond int64 products."""
    if values.size == 0 or int(values.max()) * surplus < 2**62:
        return values * surplus // total
    uniq, inv = np.unique(values, return_inverse=True)
    scaled = np.array([int(v) * surplus // total for v in uniq], dtype=np.int64)
    return scaled[inv]


def _sum_units(values: np.ndarray) -> int:
    return int(values.sum(dtype=np.int64))


@dataclass(frozen=True)
class _StvBallots:
    """What every STV count of one poll starts from (the same in every tie branch)."""

    labels: list[str]
    order: np.ndarray
    mult: np.ndarray  # papers per ballot
    value0: np.ndarray  # value per paper, in units
    first: np.ndarray  # first holders
    paper: np.ndarray  # mult * value0
    seats: int
    quota: int


class _StvCount:
    """One Scottish STV count, stage by stage; unresolved ties are asked of `chooser`."""

    def __init__(self, ballots: _StvBallots, chooser: _Chooser) -> None:
        self.b, self.chooser = ballots, chooser
        self.labels = ballots.labels
        self.m = m = len(ballots.labels)
        self.holder = ballots.first.copy()
        self.pos = np.zeros(ballots.order.shape[0], dtype=np.int64)
        self.value = ballots.value0.copy()
        live = self.holder >= 0
        votes = np.bincount(self.holder[live], weights=ballots.paper[live], minlength=m)
        self.votes = np.rint(votes).astype(np.int64)
        self.state = np.zeros(m, dtype=np.int8)  # 0 continuing, 1 elected, 2 excluded
        self.elected: list[int] = []
        self.excluded: list[list[int]] = []
        self.pending: list[int] = []  # elected with a surplus still to transfer
        self.history: list[np.ndarray] = []  # votes at the end of each stage
        self.stages: list[dict[str, Any]] = []
        self.totals = {"non_transferable": 0, "rounding": 0}

    def run(self) -> _Run:
        """Transfer surpluses, else exclude the lowest, until every seat is filled."""
        seats = self.b.seats
        first_entry: dict[str, Any] = {"action": "first_preferences"}
        self._elect(first_entry)
        self._record(first_entry)
        while len(self.elected) < seats:
            alive = [int(c) for c in np.flatnonzero(self.state == 0)]
            if len(alive) <= seats - len(self.elected):
                self._fill_last_vacancies(alive)
                break
            if self.pending:
                self._transfer_surplus()
                continue
            pooled = self._exclude_lowest(alive)
            if pooled is not None:
                return pooled
        losers = [int(c) for c in np.flatnonzero(self.state == 0)]
        ranking = [[c] for c in self.elected] + _tiers(self.votes, losers)
        ranking += [list(t) for t in reversed(self.excluded)]
        return _Run(list(self.elected), ranking, self.stages, self.chooser.decisions)

    def _record(self, entry: dict[str, Any]) -> None:
        entry["round"] = len(self.stages) + 1
        entry["votes"] = {self.labels[c]: _units(self.votes[c]) for c in range(self.m)}
        entry["non_transferable_total"] = _units(self.totals["non_transferable"])
        entry["rounding_total"] = _units(self.totals["rounding"])
        self.stages.append(entry)
        self.history.append(self.votes.copy())

    def _elect(self, entry: dict[str, Any]) -> None:
        quota = self.b.quota
        new = [c for c in np.flatnonzero(self.state == 0) if self.votes[c] >= quota]
        new = _order_by_votes([int(c) for c in new], self.votes, self.history)
        for c in new:
            if len(self.elected) < self.b.seats:
                self.state[c] = 1
                self.elected.append(c)
                if self.votes[c] > quota:
                    self.pending.append(c)
        entry["elected"] = _names(self.labels, [c for c in new if self.state[c] == 1])

    def _move_papers(self, idx: np.ndarray, source: list[int]) -> dict[str, Any]:
        """Move papers `idx` on from `source`; return the stage's transfers and what moved."""
        b, state = self.b, self.state
        _advance(b.order, self.pos, self.holder, idx, state == 0)
        to = self.holder[idx]
        ok = to >= 0
        amount = b.mult[idx] * self.value[idx]
        gained = np.bincount(to[ok], weights=amount[ok], minlength=self.m)
        gained = np.rint(gained).astype(np.int64)
        lost = _sum_units(amount[~ok])
        self.votes[:] += gained
        self.votes[source] = 0
        self.totals["non_transferable"] += lost
        return {
            "transfers": {self.labels[c]: _units(gained[c]) for c in np.flatnonzero(state == 0)},
            "non_transferable": _units(lost),
            "_moved": _sum_units(amount[ok]) + lost,
        }

    def _fill_last_vacancies(self, alive: list[int]) -> None:
        fill = _order_by_votes(alive, self.votes, self.history)
        for c in fill:
            self.state[c] = 1
            self.elected.append(c)
        self.stages.append(
            {
                "round": len(self.stages),
                "action": "last_vacancies_filled",
                "elected": _names(self.labels, fill),
            }
        )

    def _transfer_surplus(self) -> None:
        """Transfer the largest pending surplus at its transfer factor."""
        entry: dict[str, Any] = {"action": "surplus"}
        e = self._surplus_first(entry)
        self.pending.remove(e)
        quota = self.b.quota
        total = int(self.votes[e])
        surplus = total - quota
        idx = np.flatnonzero(self.holder == e)
        self.value[idx] = _scaled(self.value[idx], surplus, total)
        entry.update(
            candidate=self.labels[e],
            surplus=_units(surplus),
            transfer_factor=surplus / total,
        )
        entry.update(self._move_papers(idx, [e]))
        moved = entry.pop("_moved")
        self.votes[e] = quota
        self.totals["rounding"] += surplus - moved
        entry["rounding"] = _units(surplus - moved)
        self._elect(entry)
        self._record(entry)

    def _surplus_first(self, entry: dict[str, Any]) -> int:
        """Return whose surplus goes first: the largest, or the tie's outcome (noted)."""
        big = max(self.votes[c] for c in self.pending)
        cands = [c for c in self.pending if self.votes[c] == big]
        if len(cands) > 1:
            narrowed, used = _break_tie(cands, self.history, lowest=False)
            tie: dict[str, Any] = {"candidates": _names(self.labels, cands)}
            if len(narrowed) == 1:
                tie.update(resolved_by="earlier_round", round=used)
                cands = narrowed
            else:
                tie["resolved_by"] = "unresolved"
                cands = [self.chooser.choose(len(self.stages) + 1, "surplus_order", narrowed)]
            entry["tie"] = tie
        return cands[0]

    def _exclude_lowest(self, alive: list[int]) -> _Run | None:
        """Exclude the lowest and transfer their papers; a run when zero-vote ties remain."""
        low = int(min(self.votes[c] for c in alive))
        tied = [c for c in alive if self.votes[c] == low]
        entry: dict[str, Any] = {"action": "exclusion"}
        gone = tied
        if len(tied) > 1:
            outcome = self._exclusion_tie(entry, alive, tied, low)
            if isinstance(outcome, _Run):
                return outcome
            gone = outcome
        self.state[gone] = 2
        self.excluded.append(sorted(gone))
        entry["candidates"] = _names(self.labels, sorted(gone))
        idx = _papers_of(self.holder, gone, self.m)
        entry.update(self._move_papers(idx, gone))
        entry.pop("_moved")
        self._elect(entry)
        self._record(entry)
        return None

    def _exclusion_tie(
        self, entry: dict[str, Any], alive: list[int], tied: list[int], low: int
    ) -> list[int] | _Run:
        """Resolve a tie for exclusion: who goes (noted in `entry`), or the undecided run."""
        narrowed, used = _break_tie(tied, self.history, lowest=True)
        tie: dict[str, Any] = {"candidates": _names(self.labels, tied)}
        vacancies = self.b.seats - len(self.elected)
        if len(narrowed) == 1:
            tie.update(resolved_by="earlier_round", round=used)
            gone = narrowed
        elif low == 0 and len(alive) - len(narrowed) >= vacancies:
            tie["resolved_by"] = "excluded_together"
            gone = narrowed
        elif low == 0:
            return self._tie_for_last_vacancies(alive, narrowed, vacancies)
        else:
            tie["resolved_by"] = "unresolved"
            gone = [self.chooser.choose(len(self.stages) + 1, "exclusion", narrowed)]
        entry["tie"] = tie
        return gone

    def _tie_for_last_vacancies(
        self, alive: list[int], narrowed: list[int], vacancies: int
    ) -> _Run:
        """Zero-vote candidates share the last vacancies: no count can part them."""
        sure = _order_by_votes([c for c in alive if c not in narrowed], self.votes, self.history)
        self.stages.append(
            {
                "round": len(self.stages),
                "action": "tie_for_last_vacancies",
                "candidates": _names(self.labels, narrowed),
                "seats": vacancies - len(sure),
                "elected": _names(self.labels, sure),
            }
        )
        won = self.elected + sure
        ranking = [[c] for c in won] + [list(narrowed)]
        ranking += [list(t) for t in reversed(self.excluded)]
        return _Run(
            won,
            ranking,
            self.stages,
            self.chooser.decisions,
            pool=list(narrowed),
            pool_seats=vacancies - len(sure),
        )


def _tally_stv(
    labels: list[str], data: _Ranked, w: np.ndarray | None, seats: int = 1
) -> TallyResult:
    m = len(labels)
    order = data.order
    seats = _check_int("seats", seats, 1, m)
    n = order.shape[0]
    mult, value0 = _stv_units(w, n)
    first = _first_holders(order)
    paper = mult * value0
    valid = int(paper[first >= 0].sum(dtype=np.int64))
    if valid >= 2**53:
        raise ValueError("total ballot weight is too large for an exact STV count")
    quota = (valid // (_UNIT * (seats + 1)) + 1) * _UNIT
    details = _base_details("stv", labels, n, w, valid / _UNIT)
    details.update(
        {
            "votes": _units(valid),
            "blank": int(np.count_nonzero(first < 0)),
            "seats": seats,
            "quota": _units(quota),
            "quota_rule": "floor(valid votes / (seats + 1)) + 1 (Droop)",
            "decimals": STV_DECIMALS,
        }
    )
    if valid == 0:
        details["rounds"] = []
        return _no_votes("stv", labels, details)
    ballots = _StvBallots(labels, order, mult, value0, first, paper, seats, quota)
    runs, complete = _explore(lambda chooser: _StvCount(ballots, chooser).run())
    details["rounds"] = runs[0].stages
    details["elected"] = _names(labels, runs[0].winners)
    return _settle("stv", labels, runs, complete, details)


def _order_by_votes(cands: list[int], votes: np.ndarray, history: list[np.ndarray]) -> list[int]:
    """Order candidates by votes, highest first, then by the latest stage they differed."""

    def key(c: int) -> tuple[Any, ...]:
        return (-int(votes[c]), *(-int(h[c]) for h in reversed(history)), c)

    return sorted(cands, key=key)


_TALLIERS: dict[str, Any] = {
    "yes_no": _tally_yes_no,
    "plurality": _tally_plurality,
    "approval": _tally_approval,
    "score": _tally_score,
    "borda": _tally_borda,
    "schulze": _tally_schulze,
    "irv": _tally_irv,
    "stv": _tally_stv,
}
