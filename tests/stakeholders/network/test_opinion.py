"""Known answers for Pol.is-style opinion groups (no app, no database)."""

from __future__ import annotations

import numpy as np
import pytest

from stakeholders.network.opinion import kmeans, opinion_groups, silhouette


def planted_votes(
    sizes: tuple[int, ...],
    n_statements: int = 12,
    *,
    per: int | None = None,
    noise: float = 0.05,
    consensus: int = 0,
    seed: int = 0,
) -> tuple[list[int], list[tuple[str, str, int]]]:
    """Return (group of each participant, votes) for planted groups and one consensus."""
    rng = np.random.default_rng(seed)
    groups = len(sizes)
    taste = np.array(
        [[1 if (s + g) % groups == 0 else -1 for s in range(n_statements)] for g in range(groups)]
    )
    taste[:, consensus] = 1  # everybody agrees on this one
    truth, votes = [], []
    pid = 0
    for g, size in enumerate(sizes):
        for _ in range(size):
            chosen = rng.permutation(n_statements)[: per or n_statements]
            for s in chosen.tolist():
                v = int(taste[g, s])
                r = rng.random()
                if r < noise:
                    v = -v
                elif r < 2 * noise:
                    v = 0
                votes.append((f"p{pid}", f"s{s}", v))
            truth.append(g)
            pid += 1
    return truth, votes


def as_partition(report_groups: list) -> set[frozenset]:
    return {g.members for g in report_groups}


def test_three_planted_groups_and_a_consensus_statement() -> None:
    truth, votes = planted_votes((30, 20, 10), consensus=0)
    report = opinion_groups(votes)
    assert report.k == 3
    expected = {frozenset(f"p{i}" for i, g in enumerate(truth) if g == grp) for grp in range(3)}
    assert as_partition(report.groups) == expected
    assert [len(g.members) for g in report.groups] == [30, 20, 10]
    assert report.silhouette is not None and report.silhouette > 0.5
    assert len(report.coordinates) == 60
    assert all(
        isinstance(x, float) and isinstance(y, float) for x, y in report.coordinates.values()
    )
    # The planted consensus statement is the top bridging statement.
    top = report.consensus[0]
    assert (top.statement, top.direction) == ("s0", "agree")
    assert len(top.group_rates) == 3 and min(top.group_rates) > 0.7
    assert top.value == pytest.approx(np.prod(top.group_rates))
    # Group 0 alone agrees with s3, s6, s9 and disagrees with all the rest but s0.
    rep = report.groups[0].representative
    assert 0 < len(rep) <= 5
    first = rep[0]
    assert first.direction in {"agree", "disagree"}
    assert first.rate > first.rest_rate and first.ratio > 1 and first.z > 1.2816
    agreed = {r.statement for r in rep if r.direction == "agree"}
    disagreed = {r.statement for r in rep if r.direction == "disagree"}
    assert agreed <= {"s3", "s6", "s9"} and agreed
    assert not disagreed & {"s0", "s3", "s6", "s9"}


def test_two_groups_with_sparse_votes() -> None:
    truth, votes = planted_votes((80, 70), n_statements=30, per=12, seed=4)
    report = opinion_groups(votes)
    assert report.k == 2
    expected = {frozenset(f"p{i}" for i, g in enumerate(truth) if g == grp) for grp in range(2)}
    assert as_partition(report.groups) == expected


def test_result_is_deterministic() -> None:
    _, votes = planted_votes((25, 25, 25), seed=2)
    first, second = opinion_groups(votes, seed=3), opinion_groups(votes, seed=3)
    assert first.groups == second.groups
    assert first.coordinates == second.coordinates
    assert first.consensus == second.consensus


def test_single_group_when_everybody_agrees() -> None:
    votes = [(f"p{i}", f"s{s}", 1) for i in range(20) for s in range(8)]
    report = opinion_groups(votes)
    assert report.k == 1 and report.silhouette is None
    assert len(report.groups) == 1 and len(report.groups[0].members) == 20
    assert report.groups[0].representative == ()
    statements = [c.statement for c in report.consensus if c.direction == "agree"]
    assert sorted(statements) == [f"s{s}" for s in range(8)]
    assert report.consensus[0].value == pytest.approx(21 / 22)


def test_empty_input() -> None:
    report = opinion_groups([])
    assert report.groups == [] and report.coordinates == {} and report.consensus == []
    assert report.k == 0 and report.silhouette is None


def test_threshold_is_lowered_for_tiny_conversations() -> None:
    # Only three statements: three votes are enough to be placed on the map.
    votes = [(f"p{i}", f"s{s}", 1 if i < 3 else -1) for i in range(6) for s in range(3)]
    votes.append(("lurker", "s0", 1))
    report = opinion_groups(votes)
    assert report.min_votes == 3
    assert report.excluded == frozenset({"lurker"})
    assert "lurker" not in report.coordinates
    assert as_partition(report.groups) == {
        frozenset({"p0", "p1", "p2"}),
        frozenset({"p3", "p4", "p5"}),
    }


def test_participants_below_min_votes_are_excluded() -> None:
    _, votes = planted_votes((15, 15), n_statements=10)
    votes += [("shy", "s1", 1), ("shy", "s2", -1)]
    report = opinion_groups(votes, min_votes=7)
    assert report.excluded == frozenset({"shy"})
    assert sum(len(g.members) for g in report.groups) == 30
    nobody = opinion_groups([(f"p{i}", f"s{i}", 1) for i in range(9)], min_votes=7)
    assert nobody.groups == [] and len(nobody.excluded) == 9 and nobody.k == 0


def test_last_vote_wins_and_passes_count_as_votes() -> None:
    votes = [("a", f"s{s}", 0) for s in range(7)] + [("a", "s0", 1), ("a", "s0", -1)]
    votes += [("b", f"s{s}", 1) for s in range(7)]
    report = opinion_groups(votes)
    assert set(report.coordinates) == {"a", "b"}  # seven votes each, passes included
    assert report.k == 1


@pytest.mark.parametrize(
    "votes",
    [
        [("a", "s", 2)],
        [("a", "s", "agree")],
        [("a", "s", 0.5)],
        [("a", "s")],
        [("a", "s", 1, "extra")],
        [(["a"], "s", 1)],
        [42],
    ],
)
def test_bad_votes_raise_value_error(votes: list) -> None:
    with pytest.raises(ValueError):
        opinion_groups(votes)


def test_kmeans_and_silhouette_on_clear_clusters() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.concatenate([c + rng.normal(size=(50, 2)) for c in centres])
    labels, found, inertia = kmeans(points, 3, seed=1)
    assert sorted(np.bincount(labels).tolist()) == [50, 50, 50]
    assert np.allclose(np.sort(found[:, 0]), np.sort(centres[:, 0]), atol=0.5)
    assert inertia > 0
    assert silhouette(points, labels) > 0.8
    assert silhouette(points, labels, sample=60, seed=0) > 0.8
    assert silhouette(points, np.zeros(150)) == 0.0
    # Identical points and k larger than n do not break it.
    same, _, _ = kmeans(np.zeros((5, 2)), 3)
    assert same.shape == (5,)
    assert kmeans(np.zeros((2, 2)), 5)[0].shape == (2,)


def test_ten_thousand_participants_fall_into_their_three_groups() -> None:
    """10,000 participants x 100 statements (its speed: benchmarks/network.py)."""
    rng = np.random.default_rng(0)
    n, m, per = 10_000, 100, 20
    group = rng.integers(3, size=n)
    taste = rng.choice([-1, 1], size=(3, m))
    who = np.repeat(np.arange(n), per)
    what = np.argsort(rng.random((n, m)), axis=1)[:, :per].ravel()
    value = np.where(rng.random(who.size) < 0.15, 0, taste[group[who], what])
    votes = list(zip(who.tolist(), what.tolist(), value.tolist(), strict=True))
    report = opinion_groups(votes)
    assert report.k == 3
