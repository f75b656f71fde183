"""Opinion groups from agree / disagree / pass votes on statements, the way Pol.is does.

Pure module: stdlib and numpy only (no flask, no sqlalchemy, nothing from ``coord``).

Method (after the Pol.is math, Small et al. 2021, "Polis: Scaling deliberation by mapping
high dimensional opinion spaces", Recerca 26(2), and the open-source ``polismath`` code):

1. **Participants in the conversation.** Only participants with at least ``min_votes``
   votes (passes count as votes) are placed on the map. For tiny conversations the
   threshold is lowered automatically to the number of statements, as Pol.is does
   (``min(min_votes, n_statements)``); the others are reported in ``excluded``.
2. **Vote matrix.** Rows are participants, columns statements; agree = +1, disagree = -1,
   pass = 0 and a missing vote = 0. A repeated vote on the same statement replaces the
   earlier one (the last vote wins).
3. **PCA to two dimensions** with ``numpy.linalg.svd`` on the column-centred matrix (for
   large matrices the same right singular vectors are taken from the SVD of the small
   ``n_statements x n_statements`` Gram matrix, which is much faster). Each
   participant's projection is multiplied by ``sqrt(n_statements / n_voted)`` (Pol.is's
   sparsity-aware scaling: someone who voted on few statements would otherwise be pulled
   towards the centre). Component signs are fixed so that the largest loading of each
   component is positive, which makes the map deterministic.
4. **Groups** by k-means (k-means++ initialisation, fixed seed, several restarts) on the
   2-d coordinates for every k in ``2..max_k``; the k with the best mean silhouette
   (Rousseeuw 1987) wins. With more than ``SILHOUETTE_SAMPLE`` participants k is chosen on
   a fixed random sample of that size (k-means and silhouette, as scikit-learn's
   ``sample_size``) and the winner's centres are then refined by Lloyd iterations on
   everybody.
   A single group is returned when fewer than four participants are on the map, when the
   map has (almost) no spread (everybody voted alike), or when no k reaches a silhouette
   of ``min_silhouette`` (default 0: like Pol.is, split whenever the map allows it).
5. **Representative statements** of a group (Pol.is "repness"): for each statement and
   direction (agree, disagree) the Laplace-smoothed rates ``p = (n_dir + 1) / (n_seen + 2)``
   inside the group and among everybody else, their ratio, a two-proportion z-score of the
   group against the rest and a one-proportion z-score of the group rate against 1/2. The
   direction with the larger two-proportion z is kept; a statement is representative when
   both z-scores exceed 1.2816 (90 % one-sided), ranked by ``ratio * z * p * z_p``, at
   most ``MAX_REPRESENTATIVE`` per group. When none is significant the best positive one
   is given alone, so that every group has a description (a single group has none).
6. **Consensus** (group-aware consensus, Pol.is): for each statement the product over
   groups of ``(agree + 1) / (votes + 2)`` (votes include passes); statements whose
   geometric mean over groups reaches ``consensus_threshold`` are bridging statements,
   ranked by the product. The same is computed for disagreement.

k-means, k-means++ (Arthur & Vassilvitskii 2007) and the silhouette are implemented here
with numpy (no scikit-learn) and reused by :mod:`stakeholders.network.analysis`.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

MAX_REPRESENTATIVE = 5
SILHOUETTE_SAMPLE = 1000
Z_90 = 1.2816


@dataclass(frozen=True)
class RepresentativeStatement:
    """A statement on which a group differs from everybody else."""

    statement: Hashable
    direction: str  # "agree" or "disagree"
    rate: float  # Laplace-smoothed share of the group voting in that direction
    rest_rate: float  # the same among all other participants on the map
    ratio: float  # rate / rest_rate
    z: float  # two-proportion z-score, group against the rest
    votes: int  # votes (including passes) of group members on the statement


@dataclass(frozen=True)
class OpinionGroup:
    """One opinion group: its members and the statements that set it apart."""

    members: frozenset
    representative: tuple[RepresentativeStatement, ...]


@dataclass(frozen=True)
class ConsensusStatement:
    """A statement that every group leans the same way on."""

    statement: Hashable
    direction: str  # "agree" or "disagree"
    value: float  # product over groups of (n_dir + 1) / (votes + 2)
    mean: float  # geometric mean of the factors, comparable across k
    group_rates: tuple[float, ...]  # the factors, one per group (in ``groups`` order)


@dataclass(frozen=True)
class OpinionReport:
    """Result of :func:`opinion_groups`."""

    groups: list[OpinionGroup]
    coordinates: dict[Hashable, tuple[float, float]]
    consensus: list[ConsensusStatement]
    k: int
    silhouette: float | None
    excluded: frozenset = frozenset()
    min_votes: int = 0
    details: dict[str, object] = field(default_factory=dict, compare=False)


# --------------------------------------------------------------------------- clustering


def kmeans(
    points: np.ndarray,
    k: int,
    *,
    seed: int | np.random.Generator = 0,
    n_init: int = 4,
    max_iter: int = 100,
    init: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Cluster points by k-means (k-means++, best of n_init); return labels, centres, inertia."""
    x = np.asarray(points, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, x.shape[1])), 0.0
    k = max(1, min(int(k), n))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sq = np.einsum("ij,ij->i", x, x)
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(1 if init is not None else max(1, n_init)):
        centres = np.array(init, dtype=float) if init is not None else _kmeans_pp(x, sq, k, rng)
        labels = np.zeros(n, dtype=np.int64)
        for it in range(max_iter):
            d2 = _sq_dist(x, sq, centres)
            new = d2.argmin(axis=1)
            if it and np.array_equal(new, labels):
                break
            labels = new
            centres = _centres(x, labels, k, d2, centres)
        d2 = _sq_dist(x, sq, centres)
        labels = d2.argmin(axis=1)
        inertia = float(d2[np.arange(n), labels].sum())
        if best is None or inertia < best[2] - 1e-12 * max(1.0, abs(best[2])):
            best = (labels, centres, inertia)
    assert best is not None
    return best


def _sq_dist(x: np.ndarray, sq: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d2 = sq[:, None] - 2.0 * (x @ centres.T) + np.einsum("ij,ij->i", centres, centres)[None, :]
    return np.maximum(d2, 0.0)


def _kmeans_pp(x: np.ndarray, sq: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    n = x.shape[0]
    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(n)]
    closest = _sq_dist(x, sq, centres[:1])[:, 0]
    for c in range(1, k):
        total = closest.sum()
        if total <= 0:
            idx = int(rng.integers(n))
        else:
            idx = int(np.searchsorted(np.cumsum(closest), rng.random() * total))
            idx = min(idx, n - 1)
        centres[c] = x[idx]
        closest = np.minimum(closest, _sq_dist(x, sq, centres[c : c + 1])[:, 0])
    return centres


def _centres(
    x: np.ndarray, labels: np.ndarray, k: int, d2: np.ndarray, old: np.ndarray
) -> np.ndarray:
    counts = np.bincount(labels, minlength=k).astype(float)
    sums = np.stack([np.bincount(labels, weights=col, minlength=k) for col in x.T], axis=1)
    centres = old.copy()
    full = counts > 0
    centres[full] = sums[full] / counts[full, None]
    empty = np.flatnonzero(~full)
    if empty.size:
        # Re-seed an empty cluster with the point farthest from its centre.
        far = np.argsort(-d2[np.arange(x.shape[0]), labels], kind="stable")
        centres[empty] = x[far[: empty.size]]
    return centres


def silhouette(
    points: np.ndarray,
    labels: np.ndarray,
    *,
    sample: int | None = None,
    seed: int = 0,
) -> float:
    """Return the mean silhouette of a clustering (on a fixed random sample if given)."""
    x = np.asarray(points, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    lab = np.asarray(labels)
    if sample is not None and x.shape[0] > sample:
        idx = np.sort(np.random.default_rng(seed).choice(x.shape[0], sample, replace=False))
        x, lab = x[idx], lab[idx]
    return _silhouette(_distances(x), lab)


def _distances(x: np.ndarray) -> np.ndarray:
    sq = np.einsum("ij,ij->i", x, x)
    return np.sqrt(np.maximum(sq[:, None] - 2.0 * (x @ x.T) + sq[None, :], 0.0))


def _silhouette(dist: np.ndarray, labels: np.ndarray) -> float:
    uniq, lab = np.unique(labels, return_inverse=True)
    n, k = dist.shape[0], uniq.size
    if k < 2 or k >= n:
        return 0.0
    onehot = np.zeros((n, k))
    onehot[np.arange(n), lab] = 1.0
    sums = dist @ onehot  # n x k: total distance to each cluster
    counts = onehot.sum(axis=0)
    own = counts[lab] - 1.0
    a = np.divide(sums[np.arange(n), lab], own, out=np.zeros(n), where=own > 0)
    mean_other = sums / counts[None, :]
    mean_other[np.arange(n), lab] = np.inf
    b = mean_other.min(axis=1)
    denom = np.maximum(a, b)
    s = np.divide(b - a, denom, out=np.zeros(n), where=denom > 0)
    s[own == 0] = 0.0  # singleton clusters score 0 (Rousseeuw)
    return float(s.mean())


# --------------------------------------------------------------------------- opinion groups


def opinion_groups(
    votes: Iterable[tuple[Hashable, Hashable, int]],
    *,
    min_votes: int = 7,
    max_k: int = 5,
    seed: int = 0,
    min_silhouette: float = 0.0,
    consensus_threshold: float = 0.6,
) -> OpinionReport:
    """Map participants by their votes and find opinion groups, their statements and consensus."""
    t0 = time.perf_counter()
    pids, sids, pidx, sidx, val = _parse_votes(votes)
    n_p, n_s = len(pids), len(sids)
    details: dict[str, object] = {}
    if n_p == 0:
        return OpinionReport([], {}, [], 0, None, frozenset(), 0, details)
    effective_min = max(1, min(int(min_votes), n_s))
    voted = np.bincount(pidx, minlength=n_p)
    keep = voted >= effective_min
    excluded = frozenset(pids[i] for i in np.flatnonzero(~keep))
    rows = np.flatnonzero(keep)
    details["min_votes"] = effective_min
    if rows.size == 0:
        return OpinionReport([], {}, [], 0, None, excluded, effective_min, details)
    row_of = np.full(n_p, -1, dtype=np.int64)
    row_of[rows] = np.arange(rows.size)
    sel = keep[pidx]
    r, c, v = row_of[pidx[sel]], sidx[sel], val[sel]
    n = rows.size
    mat = np.zeros((n, n_s))
    mat[r, c] = v
    seen = np.zeros((n, n_s), dtype=bool)
    seen[r, c] = True
    n_voted = seen.sum(axis=1)

    coords = _pca_coordinates(mat, n_voted)
    labels, k, sil = _choose_groups(coords, max_k=max_k, seed=seed, min_silhouette=min_silhouette)
    details["silhouette_sample"] = min(n, SILHOUETTE_SAMPLE)
    k = int(labels.max()) + 1 if n else 0

    # Group order: largest first, ties by first participant.
    sizes = np.bincount(labels, minlength=k)
    first = np.full(k, n)
    np.minimum.at(first, labels, np.arange(n))
    order = sorted(range(k), key=lambda g: (-sizes[g], first[g]))
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    labels = remap[labels]

    onehot = np.zeros((k, n))
    onehot[labels, np.arange(n)] = 1.0
    agree = onehot @ (mat > 0)  # k x n_s counts
    disagree = onehot @ (mat < 0)
    seen_g = onehot @ seen

    ids = [pids[i] for i in rows]
    groups = []
    for g in range(k):
        members = frozenset(ids[i] for i in np.flatnonzero(labels == g))
        rep = _representative(g, agree, disagree, seen_g, sids) if k > 1 else ()
        groups.append(OpinionGroup(members, rep))
    consensus = _consensus(agree, disagree, seen_g, sids, consensus_threshold)
    coordinates = {
        pid: (float(x), float(y)) for pid, x, y in zip(ids, coords[:, 0], coords[:, 1], strict=True)
    }
    details["seconds"] = time.perf_counter() - t0
    return OpinionReport(
        groups,
        coordinates,
        consensus,
        k,
        sil,
        excluded,
        effective_min,
        details,
    )


def _parse_votes(
    votes: Iterable[tuple[Hashable, Hashable, int]],
) -> tuple[list, list, np.ndarray, np.ndarray, np.ndarray]:
    p_col, s_col, v_col = columns(
        votes, (3,), "each vote must be (participant_id, statement_id, value)"
    )
    if not p_col:
        return [], [], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    val = np.asarray(v_col)
    if val.dtype.kind not in "iuf" or not np.isin(val, (-1, 0, 1)).all():
        raise ValueError("vote values must be +1 (agree), -1 (disagree) or 0 (pass)")
    p_ids, pidx = index_ids(p_col)
    s_ids, sidx = index_ids(s_col)
    val = val.astype(float)
    # The last vote on a statement wins.
    key = pidx * len(s_ids) + sidx
    _, last = np.unique(key[::-1], return_index=True)
    if last.size != key.size:
        keep = np.sort(key.size - 1 - last)
        pidx, sidx, val = pidx[keep], sidx[keep], val[keep]
    return p_ids, s_ids, pidx, sidx, val


def _pca_coordinates(mat: np.ndarray, n_voted: np.ndarray) -> np.ndarray:
    n, m = mat.shape
    coords = np.zeros((n, 2))
    if n < 2 or m == 0:
        return coords
    centred = mat - mat.mean(axis=0)
    if n * m <= 250_000:
        _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    else:
        # Same right singular vectors from the small m x m Gram matrix (much faster).
        _, sv2, vt = np.linalg.svd(centred.T @ centred, hermitian=True)
        sv = np.sqrt(np.maximum(sv2, 0.0))
    comps = vt[:2]
    # Deterministic signs: the largest loading of each component is positive.
    big = np.argmax(np.abs(comps), axis=1)
    comps = comps * np.sign(comps[np.arange(comps.shape[0]), big])[:, None]
    proj = centred @ comps.T
    proj[:, sv[: comps.shape[0]] <= 1e-12 * max(1.0, sv[0])] = 0.0
    scale = np.sqrt(m / np.maximum(n_voted, 1))
    coords[:, : proj.shape[1]] = proj * scale[:, None]
    return coords


def _choose_groups(
    coords: np.ndarray, *, max_k: int, seed: int, min_silhouette: float
) -> tuple[np.ndarray, int, float | None]:
    n = coords.shape[0]
    single = (np.zeros(n, dtype=np.int64), 1, None)
    spread = float(np.abs(coords - coords.mean(axis=0)).max()) if n else 0.0
    if n < 4 or spread <= 1e-9:
        return single
    rng = np.random.default_rng(seed)
    # Above SILHOUETTE_SAMPLE participants, k is chosen on a fixed sample and the winning
    # centres are then refined with Lloyd iterations on everybody.
    sample = (
        np.sort(rng.choice(n, SILHOUETTE_SAMPLE, replace=False)) if n > SILHOUETTE_SAMPLE else None
    )
    pts = coords if sample is None else coords[sample]
    dist = _distances(pts)
    best_k, best_sil, best_centres = 1, -np.inf, None
    for k in range(2, min(max_k, pts.shape[0] - 1) + 1):
        labels, centres, _ = kmeans(pts, k, seed=rng, n_init=4)
        if np.unique(labels).size < k:
            continue
        sil = _silhouette(dist, labels)
        if sil > best_sil + 1e-12:
            best_k, best_sil, best_centres = k, sil, centres
    if best_centres is None or best_sil < min_silhouette:
        return single
    labels, _, _ = kmeans(coords, best_k, init=best_centres)
    if np.unique(labels).size < best_k:
        return single
    return labels, best_k, float(best_sil)


def index_ids(col: list) -> tuple[list, np.ndarray]:
    """Number the distinct ids of a column; return the ids and each row's number."""
    arr = np.asarray(col) if col and type(col[0]) is int else None
    if arr is not None and arr.dtype.kind in "iu" and arr.ndim == 1:
        # All plain integers: let numpy do it (ids come out sorted).
        uniq, inv = np.unique(arr, return_inverse=True)
        return uniq.tolist(), inv.astype(np.int64, copy=False)
    try:
        index = dict.fromkeys(col)
    except TypeError as exc:
        raise ValueError("ids must be hashable") from exc
    for i, key in enumerate(index):
        index[key] = i
    rv = np.fromiter(map(index.__getitem__, col), dtype=np.int64, count=len(col))
    return list(index), rv


def columns(rows: Iterable, widths: tuple[int, ...], message: str) -> list[list]:
    """Split an iterable of equal-length tuples into columns; raise ValueError on bad rows."""
    rows = rows if isinstance(rows, list | tuple) else list(rows)
    try:
        lengths = set(map(len, rows))
    except TypeError as exc:
        raise ValueError(message) from exc
    if not rows:
        return [[] for _ in range(max(widths))]
    if not lengths <= set(widths):
        raise ValueError(message)
    width = max(lengths)
    if len(lengths) > 1:  # mixed widths: pad the short rows with None
        rows = [tuple(r) + (None,) * (width - len(r)) for r in rows]
    try:
        return [list(map(itemgetter(i), rows)) for i in range(width)]
    except (TypeError, KeyError, IndexError) as exc:  # e.g. a dict or str of the right length
        raise ValueError(message) from exc


def _prop_z(succ: np.ndarray, n: np.ndarray) -> np.ndarray:
    # One-proportion test of the (smoothed) rate against 1/2, as Pol.is does.
    return 2.0 * np.sqrt(n + 1.0) * ((succ + 1.0) / (n + 1.0) - 0.5)


def _two_prop_z(s1: np.ndarray, n1: np.ndarray, s2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    p1 = (s1 + 1.0) / (n1 + 1.0)
    p2 = (s2 + 1.0) / (n2 + 1.0)
    pooled = (s1 + s2 + 1.0) / (n1 + n2 + 1.0)
    var = pooled * (1.0 - pooled) * (1.0 / (n1 + 1.0) + 1.0 / (n2 + 1.0))
    return np.divide(p1 - p2, np.sqrt(var), out=np.zeros_like(p1), where=var > 0)


def _representative(
    g: int,
    agree: np.ndarray,
    disagree: np.ndarray,
    seen: np.ndarray,
    sids: list,
) -> tuple[RepresentativeStatement, ...]:
    ns = seen[g]
    ns_rest = seen.sum(axis=0) - ns
    cand = []
    for direction, counts in (("agree", agree), ("disagree", disagree)):
        c = counts[g]
        c_rest = counts.sum(axis=0) - c
        rate = (c + 1.0) / (ns + 2.0)
        rest = (c_rest + 1.0) / (ns_rest + 2.0)
        ratio = rate / rest
        z = _two_prop_z(c, ns, c_rest, ns_rest)
        zp = _prop_z(c, ns)
        cand.append((direction, rate, rest, ratio, z, zp))
    use_dis = cand[1][4] > cand[0][4]
    pick = [np.where(use_dis, d, a) for a, d in zip(cand[0][1:], cand[1][1:], strict=True)]
    rate, rest, ratio, z, zp = pick
    metric = ratio * z * rate * zp
    sig = (z > Z_90) & (zp > Z_90) & (ns > 0)
    idx = np.flatnonzero(sig)
    if idx.size == 0:
        pos = np.flatnonzero((z > 0) & (zp > 0) & (ns > 0))
        idx = pos[np.argsort(-metric[pos], kind="stable")[:1]] if pos.size else idx
    else:
        idx = idx[np.argsort(-metric[idx], kind="stable")[:MAX_REPRESENTATIVE]]
    return tuple(
        RepresentativeStatement(
            statement=sids[s],
            direction="disagree" if use_dis[s] else "agree",
            rate=float(rate[s]),
            rest_rate=float(rest[s]),
            ratio=float(ratio[s]),
            z=float(z[s]),
            votes=int(ns[s]),
        )
        for s in idx
    )


def _consensus(
    agree: np.ndarray,
    disagree: np.ndarray,
    seen: np.ndarray,
    sids: list,
    threshold: float,
) -> list[ConsensusStatement]:
    k = seen.shape[0]
    rv = []
    for direction, counts in (("agree", agree), ("disagree", disagree)):
        factors = (counts + 1.0) / (seen + 2.0)  # k x n_s
        value = factors.prod(axis=0)
        mean = value ** (1.0 / k)
        for s in np.flatnonzero((mean >= threshold) & (seen.sum(axis=0) > 0)):
            rv.append(
                ConsensusStatement(
                    statement=sids[s],
                    direction=direction,
                    value=float(value[s]),
                    mean=float(mean[s]),
                    group_rates=tuple(float(f) for f in factors[:, s]),
                )
            )
    rv.sort(key=lambda c: (-c.value, c.direction != "agree"))
    return rv
