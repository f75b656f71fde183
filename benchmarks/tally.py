"""Time voting.tally on large random ranked polls and compare with reference libraries.

Run from the repository root:  python benchmarks/tally.py [--sizes 100000 1000000]

Ballots are random rankings of 10 options (fixed seed): half rank every option, half
rank a random-length prefix of 1-9 options.  Each ballot is a list of the poll's own
label strings, as a service builds them from stored option indices; a last section
repeats the largest size with ballots decoded from JSON (a fresh str object per label,
whose hash Python must compute first).  "tally()" times include tally's own input
conversion from lists of labels; "pre-enc" times start from encode_rankings' array.
The reference libraries (votelib for Schulze, pyrankvote for IRV and STV) run on the
first size only, from the same lists of labels: "ref conv" is the time to build their
input objects, "ref eval" their count.  "x same input" compares like with like
((ref conv + ref eval) / tally(), both starting from lists of labels); "x eval only"
is the stricter ref eval / tally().  pyrankvote's STV uses a
different surplus rule from Scottish STV, so its winners may legitimately differ.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voting.tally import encode_rankings, tally

OPTIONS = [f"option-{i:02d}" for i in range(10)]
SEED = 20240601


def make_ballots(n: int, seed: int = SEED) -> list[list[str]]:
    """Return n random full or partial rankings of OPTIONS."""
    rng = np.random.default_rng(seed)
    m = len(OPTIONS)
    perms = np.argsort(rng.random((n, m)), axis=1)
    lengths = np.where(rng.random(n) < 0.5, m, rng.integers(1, m, size=n))
    rows = perms.tolist()
    return [[OPTIONS[i] for i in row[:k]] for row, k in zip(rows, lengths.tolist(), strict=True)]


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Return the best wall time of fn over repeat runs, and its last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def reference_schulze(ballots: list[list[str]]) -> tuple[float, float, list[str]] | str:
    """Run votelib's Schulze; return (conversion s, evaluation s, winners) or why not."""
    try:
        from votelib.convert import RankedToCondorcetVotes
        from votelib.evaluate.condorcet import Schulze
    except ImportError:
        return "votelib not installed (pip install votelib)"
    t_conv, votes = timed(lambda: Counter(map(tuple, ballots)))

    def run() -> list[str]:
        pairs = RankedToCondorcetVotes(unranked_at_bottom=True).convert(votes)
        return list(Schulze().evaluate(pairs, 1))

    t_eval, winners = timed(run)
    return t_conv, t_eval, winners


def reference_pyrankvote(
    ballots: list[list[str]], seats: int
) -> tuple[float, float, list[str]] | str:
    """Run pyrankvote's IRV (seats=1) or STV; return (conversion s, evaluation s, winners)."""
    try:
        import pyrankvote
        from pyrankvote import Ballot, Candidate
    except ImportError:
        return "pyrankvote not installed (pip install pyrankvote)"
    cands = {name: Candidate(name) for name in OPTIONS}
    t_conv, objs = timed(lambda: [Ballot([cands[x] for x in b]) for b in ballots])

    def run() -> list[str]:
        if seats == 1:
            res = pyrankvote.instant_runoff_voting(list(cands.values()), objs)
        else:
            res = pyrankvote.single_transferable_vote(list(cands.values()), objs, seats)
        return [c.name for c in res.get_winners()]

    t_eval, winners = timed(run)
    return t_conv, t_eval, winners


def main() -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="best of N for tally() timings")
    parser.add_argument("--no-reference", action="store_true", help="skip reference libraries")
    parser.add_argument(
        "--no-decoded", dest="decoded", action="store_false", help="skip the JSON-decoded run"
    )
    args = parser.parse_args()

    methods = [("schulze", {}), ("irv", {}), ("stv", {"seats": 3})]
    print(f"machine: {np.__name__} {np.__version__}, Python {sys.version.split()[0]}")
    header = (
        f"{'method':<12}{'ballots':>10}{'tally()':>10}{'pre-enc':>9}"
        f"{'reference':>20}{'ref conv':>10}{'ref eval':>10}"
        f"{'x same input':>14}{'x eval only':>13}{'same':>6}"
    )
    print(header)
    print("-" * len(header))
    for size_no, n in enumerate(args.sizes):
        t0 = time.perf_counter()
        ballots = make_ballots(n)
        gen = time.perf_counter() - t0
        t_enc, encoded = timed(lambda b=ballots: encode_rankings(OPTIONS, b), args.repeat)
        print(f"# {n:,} ballots generated in {gen:.1f} s; encode_rankings alone {t_enc:.3f} s")
        for method, params in methods:
            label = method + (f"/{params['seats']}" if params else "")
            t_tally, result = timed(
                lambda b=ballots, m=method, p=params: tally(m, OPTIONS, b, **p), args.repeat
            )
            t_pre, pre = timed(
                lambda e=encoded, m=method, p=params: tally(m, OPTIONS, e, **p), args.repeat
            )
            assert pre.winners == result.winners
            ref: tuple[float, float, list[str]] | str | None = None
            ref_name = ""
            if size_no == 0 and not args.no_reference:
                if method == "schulze":
                    ref_name, ref = "votelib Schulze", reference_schulze(ballots)
                else:
                    seats = params.get("seats", 1)
                    ref_name = "pyrankvote " + ("IRV" if seats == 1 else f"STV/{seats}")
                    ref = reference_pyrankvote(ballots, seats)
            line = f"{label:<12}{n:>10,}{t_tally:>10.3f}{t_pre:>9.3f}"
            if isinstance(ref, tuple):
                conv, ev, winners = ref
                same = "yes" if sorted(winners) == sorted(result.winners) else "NO"
                line += (
                    f"{ref_name:>20}{conv:>10.3f}{ev:>10.3f}"
                    f"{(conv + ev) / t_tally:>13.1f}x{ev / t_tally:>12.1f}x{same:>6}"
                )
            elif isinstance(ref, str):
                line += f"   ({ref})"
            print(line + f"   winners {result.winners}")
    if args.decoded:
        n = args.sizes[-1]
        decoded = json.loads(json.dumps(make_ballots(n)))
        print(f"# {n:,} ballots decoded from JSON (fresh label strings)")
        for method, params in methods:
            label = method + (f"/{params['seats']}" if params else "")
            t_tally, result = timed(
                lambda b=decoded, m=method, p=params: tally(m, OPTIONS, b, **p), args.repeat
            )
            print(f"{label:<12}{n:>10,}{t_tally:>10.3f}   winners {result.winners}")
    print()
    print("tally(): seconds, best of --repeat, from lists of labels (includes conversion);")
    print("pre-enc: from the numpy array of encode_rankings; ref conv/eval: the reference's")
    print("input building / counting; x same input = (ref conv + ref eval) / tally();")
    print("x eval only = ref eval / tally(); same = identical winners.")


if __name__ == "__main__":
    main()
