"""Stakeholder network analysis on plain node and edge lists: camps, tension, brokers.

Pure module: stdlib, networkx, numpy and scipy only (no flask, no sqlalchemy, nothing from
``coord``). Entry points: :func:`analyze`, :func:`liaison_facts`, :func:`conflict_paths`,
:func:`infer_relations` and :func:`nearest_relations`.

Input and the edge rule
    Nodes are ``(id, kind)`` with kind in :data:`KINDS`; edges ``(source, target, sign,
    weight)`` or ``(source, target, sign, weight, when)`` with sign +1 (cooperation) or -1
    (conflict), weight > 0 and ``when`` a ``datetime`` (or None). Edges are undirected.
    Parallel edges (either direction) are merged into their **net signed weight**
    ``sum(sign * weight)``: the merged edge has the sign of the sum and its absolute value
    as weight, and is dropped when the sum is zero (the relations cancel out). Nodes left
    without any edge after merging are ``isolated`` and belong to no bloc. Malformed input
    raises ``ValueError``.

    The analysis runs on numpy / scipy CSR arrays built from the edge list, with the sign
    kept apart from the (always positive) weight. ``NetworkReport.graph`` is the matching
    ``networkx.Graph`` (edge attributes ``sign`` and ``weight > 0``; built on first use): a
    negative ``weight`` would silently break networkx's Louvain, eigenvector centrality and
    weighted shortest paths.

Blocs (Cartwright & Harary 1956 structural balance; Doreian & Mrvar 1996, "A
partitioning approach to structural balance", Social Networks 18:149-168; Kunegis et al.
2010, "Spectral analysis of signed graphs for clustering, prediction and visualization",
SDM)
    Camps minimise the weighted *frustration*: positive weight across camps plus negative
    weight inside camps. Each connected component is solved on its own. The start is
    spectral: eigenvectors of the degree-normalised signed adjacency
    ``D^-1/2 A D^-1/2`` (``D`` = absolute degrees; dense ``eigh`` for small components,
    ``scipy.sparse.linalg.eigsh`` otherwise). Two camps come from the sign of the leading
    eigenvector, k camps from k-means on the first k-1 eigenvectors (rows normalised). A
    greedy relocation search (Doreian & Mrvar) then moves single nodes to the camp with the
    largest signed tie sum while the frustration decreases: in parallel rounds of
    non-adjacent movers on large graphs, then one node at a time. Small components also get
    random restarts, and every k is also started from the best (k-1)-split, so the
    frustration never grows with k. **Rule for k** (up to :data:`MAX_CAMPS`): start from one
    camp and adopt a k-way split only if its weighted frustration is at least
    :data:`SPLIT_GAIN` (20 %) lower than that of the split adopted so far (per component;
    camps of different components are separate blocs, as nothing ties them). On the
    Gahuku-Gama tribes the 2-way optimum leaves 7 edges frustrated and the 3-way optimum 2
    (4 and 5 camps do not improve), so three camps are reported.

Unbalanced triads (Cartwright & Harary)
    Triangles with an odd number of negative edges, found by the degree-ordered
    ("forward") triangle listing with numpy. With one negative edge the *mediator* is the
    node holding both positive edges ("A cooperates with B and C, but B and C are in
    conflict"). Ranked by the sum of their edge weights; the list is capped at
    :data:`MAX_TRIADS` and ``unbalanced_triad_count`` gives the total.

Brokers (all on the *positive* graph: brokerage travels along cooperation)
    * ``betweenness``: Brandes' accumulation restricted to source/target pairs in
      *different* camps (when there is a single camp: all pairs), unweighted shortest paths,
      as the share of such pairs not involving the node. Computed with multi-source BFS as
      sparse-matrix products. While sources x positive adjacency entries stay below
      :data:`EXACT_BETWEENNESS_WORK` (about 1,500 stakeholders at degree 7) every node is
      a source; beyond that about :data:`BETWEENNESS_BUDGET` / entries sources (at least
      :data:`MIN_SAMPLED_SOURCES`) are drawn with a fixed seed as a systematic sample
      over the nodes ordered by camp, so that every camp gives sources in proportion to
      its size; each source is weighted by nodes / sources (``details["betweenness"]``
      says which). ``score`` is this betweenness; the list
      holds the nodes with a positive score, best first, at most :data:`MAX_BROKERS`.
    * ``constraint``: Burt (1992, *Structural Holes*), weighted, with
      ``p_ij = w_ij / sum_k w_ik``; the indirect term runs over triangles.
    * ``effective_size``: Borgatti (1997, "Structural holes: unpacking Burt's redundancy
      measures", Connections 20(1)) for undirected unweighted ties: ``n - 2t/n``.
    * ``roles``: Gould & Fernandez (1989, "Structures of mediation", Sociological
      Methodology 19:89-126) brokerage counts with the stakeholder kind as group: every
      ordered two-path ``a - v - b`` with ``a`` and ``b`` not tied. Undirected ties are
      read as ties in both directions, so every open pair counts twice (once per
      direction): coordinator, itinerant (consultant) and liaison counts are even, and
      representative always equals gatekeeper.
    :func:`liaison_facts` spells out a broker's liaison role as plain data.

Polarization
    ``value = excess * camp_balance`` in [0, 1]. ``excess = 1 - F / F0`` (clipped at 0),
    where ``F`` is the weighted frustration share of the blocs and ``F0`` the mean share the
    same procedure finds after shuffling the signs among the edges (the graph, its degrees
    and weights stay; fixed seed): random signs therefore score about 0, and so do
    all-positive and all-negative graphs, which shuffling cannot change. ``camp_balance =
    min(1, 1 / sum(p_i^2) - 1)`` over the bloc shares ``p_i`` (the effective number of
    camps minus one): 1 for two or more camps of equal size, 0.17 for a lone dissenter
    against twelve, 0 for one camp, so that a minority of one does not make a community
    "split". ``trend``: when edges carry ``when``, the value over :data:`TREND_WINDOWS`
    consecutive calendar-month windows ``(previous end, end]`` ending at ``now`` (default:
    the latest edge time) and one, two, ... months before it (day clamped to the month's
    length), oldest first, each computed from the edges of that window alone; untimed
    edges are left out of the trend; a window without edges has value None.

Scaling
    Everything except input parsing is vectorised over CSR arrays built from the edge
    list; networkx is not used for analysis, being far too slow at 10^5 nodes: camps come
    from eigsh + k-means + relocation rather than Louvain, betweenness from the batched
    BFS above (sampled sources on large graphs), constraint and effective size from the
    triangle list instead of dense neighbourhood matrices, and Gould-Fernandez roles from
    kind counts minus closed triangles. k-means on the eigenvectors is fitted on a sample
    of :data:`KMEANS_SAMPLE` rows for large components. ``report.timings`` gives the
    seconds per part (parse, blocs, frustration, triads, brokers, polarization, total)
    and ``progress`` (optional) is called with the fraction done.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from numbers import Real
from typing import Any, NamedTuple, overload

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackNoConvergence, eigsh

from stakeholders.network.opinion import columns, index_ids, kmeans

KINDS = ("government", "business", "social_organization", "resident")
ROLES = ("coordinator", "gatekeeper", "representative", "itinerant", "liaison")
CONFLICT_TYPES = ("membership", "affiliation", "contract", "alliance")
MAX_CAMPS = 5
SPLIT_GAIN = 0.2
MAX_TRIADS = 200
MAX_BROKERS = 100
TREND_WINDOWS = 6
EXACT_BETWEENNESS_WORK = 1e7  # exact while sources x positive adjacency entries stay below
BETWEENNESS_BUDGET = 2e6  # otherwise sample about this many / positive adjacency entries
MIN_SAMPLED_SOURCES = 32
DENSE_EIGEN_NODES = 300
KMEANS_SAMPLE = 4000
SMALL_COMPONENT = 64  # components up to this size are solved together
SMALL_RESTARTS = 16
BASELINE_ROUNDS = 3  # sign shuffles averaged for small graphs (one from 2,000 edges on)

_KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
_EDGE_MESSAGE = "each edge must be (source, target, sign, weight) or (..., when)"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Bloc:
    """A camp: stakeholders tied positively inside and negatively to other camps."""

    members: frozenset
    composition: dict[str, int] = field(compare=False)


@dataclass(frozen=True)
class Frustration:
    """Edges that contradict the blocs: negative inside a bloc or positive across."""

    edges: list[tuple[Hashable, Hashable]]
    count: int
    weighted_share: float


@dataclass(frozen=True)
class Triad:
    """An unbalanced triangle (odd number of negative edges)."""

    nodes: frozenset
    mediator: Hashable | None
    weight: float
    negative: int  # 1 or 3


@dataclass(frozen=True)
class Broker:
    """A stakeholder on the cooperative paths between camps."""

    id: Hashable
    score: float
    betweenness: float
    constraint: float
    effective_size: float
    roles: dict[str, int] = field(compare=False)


@dataclass(frozen=True)
class Polarization:
    """How split the community is, beyond what random signs would give."""

    value: float
    trend: list[tuple[datetime, float | None]]
    balance: float = 0.0  # 1 - weighted frustration share of the blocs
    baseline_frustration: float = 0.0  # mean share after shuffling signs
    camp_balance: float = 0.0


@dataclass(frozen=True)
class NetworkReport:
    """Result of :func:`analyze`."""

    blocs: list[Bloc]
    frustration: Frustration
    unbalanced_triads: list[Triad]
    unbalanced_triad_count: int
    brokers: list[Broker]
    polarization: Polarization
    isolated: list[Hashable]
    bloc_of: dict[Hashable, int] = field(default_factory=dict, repr=False, compare=False)
    timings: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    details: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _data: _Graph | None = field(default=None, repr=False, compare=False)

    @cached_property
    def graph(self) -> nx.Graph:
        """Return the merged networkx graph (attributes ``kind``; ``sign`` and ``weight``)."""
        g = nx.Graph()
        data = self._data
        if data is None:
            return g
        g.add_nodes_from((i, {"kind": KINDS[k]}) for i, k in zip(data.ids, data.kinds, strict=True))
        ids = data.ids
        g.add_edges_from(
            (ids[a], ids[b], {"sign": int(s), "weight": float(w)})
            for a, b, s, w in zip(data.u.tolist(), data.v.tolist(), data.s, data.w, strict=True)
        )
        return g

    def liaison_facts(self, broker: Hashable) -> list[dict[str, Any]]:
        """Describe how `broker` links pairs of other kinds (see :func:`liaison_facts`)."""
        g = self._data
        if g is None:
            return []
        index = {node_id: i for i, node_id in enumerate(g.ids)}
        if broker not in index:
            raise ValueError(f"unknown node {broker!r}")
        b = index[broker]
        ap = g.positive
        nbrs = ap.indices[ap.indptr[b] : ap.indptr[b + 1]]
        nbrs = nbrs[g.kinds[nbrs] != g.kinds[b]]
        rv = [
            fact
            for ka, kb in itertools.combinations(range(len(KINDS)), 2)
            if (fact := _liaison_fact(g, broker, b, nbrs, ka, kb)) is not None
        ]
        rv.sort(key=lambda f: -f["pairs"])
        return rv


class PathStep(NamedTuple):
    """One typed tie walked along a conflict-of-interest path: (from, to, type, label)."""

    source: Hashable
    target: Hashable
    type: str
    label: str


@dataclass(frozen=True)
class ConflictPath:
    """A chain of ties linking two stakeholders, with a one-line explanation."""

    steps: tuple[PathStep, ...]
    explanation: str


@dataclass(frozen=True, slots=True)
class InferredRelation:
    """A relation inferred from shared stances: agreement (+1) or disagreement (-1)."""

    a: Hashable
    b: Hashable
    sign: int
    weight: float
    shared: int
    agreed: int
    disagreed: int
    _ctx: _StanceContext = field(repr=False, compare=False)
    _rows: tuple[int, int] = field(repr=False, compare=False)

    @property
    def items_agreed(self) -> tuple[Hashable, ...]:
        """Return the items on which both took the same side."""
        return self._ctx.items(self._rows, agreed=True)

    @property
    def items_disagreed(self) -> tuple[Hashable, ...]:
        """Return the items on which they took opposite sides."""
        return self._ctx.items(self._rows, agreed=False)


# --------------------------------------------------------------------------- internals


class _Graph:
    """Merged undirected signed graph on node indices, edges u < v."""

    def __init__(
        self,
        ids: list,
        kinds: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        w: np.ndarray,
        s: np.ndarray,
    ) -> None:
        self.ids = ids
        self.kinds = kinds
        self.n = len(ids)
        self.u, self.v, self.w, self.s = u, v, w, s
        self.m = self.u.size

    @classmethod
    def merged(
        cls, ids: list, kinds: np.ndarray, src: np.ndarray, dst: np.ndarray, net: np.ndarray
    ) -> _Graph:
        """Merge parallel edges into their net signed weight (dropped when zero)."""
        return cls(ids, kinds, *_merge(len(ids), src, dst, net))

    @cached_property
    def adjacency(self) -> sp.csr_array:
        return _sym_csr(self.n, self.u, self.v, self.w * self.s)

    @cached_property
    def positive(self) -> sp.csr_array:
        pos = self.s > 0
        return _sym_csr(self.n, self.u[pos], self.v[pos], np.ones(int(pos.sum())))

    @cached_property
    def degree(self) -> np.ndarray:
        return np.bincount(self.u, minlength=self.n) + np.bincount(self.v, minlength=self.n)

    @cached_property
    def edge_keys(self) -> np.ndarray:
        return self.u * self.n + self.v  # sorted: _merge returns edges in key order


def _merge(
    n: int, u: np.ndarray, v: np.ndarray, net: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key = lo * n + hi
    uniq, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=net, minlength=uniq.size)
    gross = np.bincount(inv, weights=np.abs(net), minlength=uniq.size)
    keep = np.abs(total) > 1e-9 * gross
    uniq, total = uniq[keep], total[keep]
    return uniq // n, uniq % n, np.abs(total), np.where(total > 0, 1, -1).astype(np.int8)


def _pairs(n: int, u: np.ndarray, v: np.ndarray) -> int:
    """Count distinct unordered node pairs among the edges."""
    return int(np.unique(np.minimum(u, v) * n + np.maximum(u, v)).size) if u.size else 0


def _sym_csr(n: int, u: np.ndarray, v: np.ndarray, data: np.ndarray) -> sp.csr_array:
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    vals = np.concatenate([data, data]).astype(float)
    a = sp.csr_array((vals, (rows, cols)), shape=(n, n))
    a.sort_indices()
    return a


def _parse_nodes(nodes: Iterable[tuple[Hashable, str]]) -> tuple[list, np.ndarray, dict]:
    index: dict = {}
    ids: list = []
    kinds: list[int] = []
    for item in nodes:
        try:
            node_id, kind = item
        except (TypeError, ValueError) as exc:
            raise ValueError(f"each node must be (id, kind), got {item!r}") from exc
        try:
            k = _KIND_INDEX[kind]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"unknown stakeholder kind {kind!r} for node {node_id!r}") from exc
        try:
            known = index.get(node_id)
        except TypeError as exc:
            raise ValueError(f"node id {node_id!r} is not hashable") from exc
        if known is not None:
            if kinds[known] != k:
                raise ValueError(f"node {node_id!r} given twice with different kinds")
            continue
        index[node_id] = len(ids)
        ids.append(node_id)
        kinds.append(k)
    return ids, np.asarray(kinds, dtype=np.int64), index


def _lookup(index: dict, col: list, int_ids: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    arr = np.asarray(col) if int_ids is not None and col and type(col[0]) is int else None
    if arr is not None and arr.dtype.kind in "iu" and arr.ndim == 1:
        # Plain integer ids on both sides: look them up with a sorted array.
        keys, pos = int_ids
        at = np.minimum(np.searchsorted(keys, arr), keys.size - 1)
        rv = np.where(keys[at] == arr, pos[at], -1)
    else:
        try:
            rv = np.fromiter(
                map(index.get, col, itertools.repeat(-1)), dtype=np.int64, count=len(col)
            )
        except TypeError as exc:
            raise ValueError("edge endpoints must be hashable node ids") from exc
    if rv.size and rv.min() < 0:
        bad = col[int(np.flatnonzero(rv < 0)[0])]
        raise ValueError(f"edge refers to unknown node {bad!r}")
    return rv


def _numbers(col: list, what: str) -> np.ndarray:
    arr = np.asarray(col) if col else np.zeros(0)
    if arr.dtype.kind in "iuf":
        return arr.astype(float)
    if arr.dtype.kind == "O" and all(
        isinstance(x, Real | Decimal) and not isinstance(x, bool) for x in col
    ):
        return np.asarray([float(x) for x in col])
    raise ValueError(f"edge {what} must be a number")


def _timestamp(when: datetime) -> float:
    if when.tzinfo is None:
        return (when - datetime(1970, 1, 1)).total_seconds()
    return when.timestamp()


def _parse_edges(
    edges: Iterable[tuple], index: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, list]:
    cols = columns(edges, (4, 5), _EDGE_MESSAGE)
    int_ids = None
    if index and cols[0] and all(type(x) is int for x in index):
        try:
            keys = np.fromiter(index, dtype=np.int64, count=len(index))
        except OverflowError:  # ids beyond 64 bits: use the dictionary
            keys = None
        if keys is not None:
            pos = np.argsort(keys, kind="stable")
            int_ids = (keys[pos], pos)
    src, dst = _lookup(index, cols[0], int_ids), _lookup(index, cols[1], int_ids)
    if np.any(src == dst):
        bad = cols[0][int(np.flatnonzero(src == dst)[0])]
        raise ValueError(f"self-loop on node {bad!r}")
    sign = _numbers(cols[2], "sign")
    if sign.size and not np.all((sign == 1) | (sign == -1)):
        raise ValueError("edge sign must be +1 or -1")
    weight = _numbers(cols[3], "weight")
    if weight.size and not (np.all(np.isfinite(weight)) and np.all(weight > 0)):
        raise ValueError("edge weight must be a finite number > 0")
    times = None
    whens: list = []
    if len(cols) == 5:
        whens = cols[4]
        aware = set()
        stamps = np.full(len(whens), np.nan)
        for i, when in enumerate(whens):
            if when is None:
                continue
            if not isinstance(when, datetime):
                raise ValueError(f"edge time must be a datetime, got {when!r}")
            aware.add(when.tzinfo is not None)
            stamps[i] = _timestamp(when)
        if len(aware) > 1:
            raise ValueError("edge times mix naive and timezone-aware datetimes")
        times = stamps if aware else None
    return src, dst, sign * weight, times, whens


# --------------------------------------------------------------------------- blocs


def _frustration_mask(g: _Graph, labels: np.ndarray) -> np.ndarray:
    same = labels[g.u] == labels[g.v]
    return np.where(g.s > 0, ~same, same)


def _local_search(a: sp.csr_array, labels: np.ndarray, k: int, eps: float) -> np.ndarray:
    """Move single nodes to the camp with the largest signed tie sum while frustration drops."""
    n = a.shape[0]
    labels = labels.astype(np.int64, copy=True)
    indptr, indices, data = a.indptr, a.indices, a.data
    ar = np.arange(n)
    has_nbr = np.diff(indptr) > 0
    starts = indptr[:-1][has_nbr]
    onehot = np.zeros((n, k))
    onehot[ar, labels] = 1.0
    m = a @ onehot  # signed tie sum of every node towards every camp
    gain = m.max(axis=1) - m[ar, labels]
    cand = np.flatnonzero(gain > eps)
    # Parallel rounds: nodes that beat all candidate neighbours (gain, then random rank)
    # move together; movers are never adjacent, so each move's gain is exact.
    rng = np.random.default_rng(12345)
    sequential_at = max(32, n // 2000)
    while cand.size > sequential_at:
        tie = rng.random(cand.size)
        order = np.lexsort((tie, gain[cand]))
        pri = np.full(n, -1.0)
        pri[cand[order]] = np.arange(cand.size, dtype=float)
        nbr_max = np.full(n, -1.0)
        nbr_max[has_nbr] = np.maximum.reduceat(pri[indices], starts)
        movers = cand[pri[cand] > nbr_max[cand]]
        best = m[movers].argmax(axis=1)
        onehot[movers] = 0.0
        onehot[movers, best] = 1.0
        labels[movers] = best
        m = a @ onehot
        gain = m.max(axis=1) - m[ar, labels]
        cand = np.flatnonzero(gain > eps)
    # Sequential phase: one node at a time, neighbours re-queued.
    queue = deque(cand[np.argsort(-gain[cand], kind="stable")].tolist())
    queued = np.zeros(n, dtype=bool)
    queued[cand] = True
    while queue:
        x = queue.popleft()
        queued[x] = False
        row = m[x]
        old = labels[x]
        new = int(row.argmax())
        if row[new] - row[old] <= eps:
            continue
        lo, hi = indptr[x], indptr[x + 1]
        nb, wt = indices[lo:hi], data[lo:hi]
        m[nb, old] -= wt
        m[nb, new] += wt
        labels[x] = new
        g_nb = m[nb].max(axis=1) - m[nb, labels[nb]]
        for y in nb[(g_nb > eps) & ~queued[nb]].tolist():
            queued[y] = True
            queue.append(y)
    return labels


def _embedding(a: sp.csr_array, dim: int, rng: np.random.Generator) -> np.ndarray:
    n = a.shape[0]
    dim = max(1, min(dim, n - 1))
    absdeg = np.abs(a).sum(axis=1)
    dinv = 1.0 / np.sqrt(np.maximum(absdeg, 1e-300))
    norm = sp.diags_array(dinv) @ a @ sp.diags_array(dinv)
    if n <= DENSE_EIGEN_NODES:
        _, vecs = np.linalg.eigh(norm.toarray())
        return vecs[:, ::-1][:, :dim]
    try:
        vals, vecs = eigsh(norm, k=dim, which="LA", v0=rng.standard_normal(n), tol=1e-2)
    except ArpackNoConvergence as exc:  # pragma: no cover - use what converged
        vals, vecs = exc.eigenvalues, exc.eigenvectors
        if vals is None or len(vals) == 0:
            return rng.standard_normal((n, dim))
    return vecs[:, np.argsort(-vals)]


def _kmeans_labels(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Cluster embedding rows; above KMEANS_SAMPLE rows fit on a sample, then assign all."""
    if y.shape[0] <= KMEANS_SAMPLE:
        return kmeans(y, k, seed=rng, n_init=5)[0]
    sample = y[rng.choice(y.shape[0], KMEANS_SAMPLE, replace=False)]
    _, centres, _ = kmeans(sample, k, seed=rng, n_init=2, max_iter=50)
    d2 = (y**2).sum(axis=1)[:, None] - 2.0 * (y @ centres.T) + (centres**2).sum(axis=1)[None, :]
    return d2.argmin(axis=1)


def _weighted_frustration(a_upper: tuple, labels: np.ndarray) -> float:
    u, v, w, s = a_upper
    same = labels[u] == labels[v]
    return float(w[np.where(s > 0, ~same, same)].sum())


def _solve_component(
    a: sp.csr_array, upper: tuple, rng: np.random.Generator
) -> tuple[np.ndarray, dict[int, float], int]:
    """Find camps of one connected component; return labels, frustration by k, chosen k."""
    n = a.shape[0]
    w, s = upper[2], upper[3]
    labels = np.zeros(n, dtype=np.int64)
    f_by_k = {1: float(w[s < 0].sum())}
    if f_by_k[1] <= 0:
        return labels, f_by_k, 1
    max_k = min(MAX_CAMPS, n)
    eps = 1e-9 * float(w.max())
    emb = _embedding(a, max_k - 1, rng)
    restarts = 4 if n <= 300 else 0
    best = {1: labels}
    for k in range(2, max_k + 1):
        starts = [best[k - 1]]
        if k == 2:
            starts.append((emb[:, 0] > 0).astype(np.int64))
        elif emb.shape[1] >= 2:
            y = emb[:, : k - 1]
            norms = np.linalg.norm(y, axis=1, keepdims=True)
            y = np.divide(y, norms, out=np.zeros_like(y), where=norms > 0)
            starts.append(_kmeans_labels(y, k, rng))
        starts.extend(rng.integers(k, size=n) for _ in range(restarts))
        found = None
        for start in starts:
            lab = _local_search(a, start, k, eps)
            f = _weighted_frustration(upper, lab)
            if found is None or f < found[0] - eps:
                found = (f, lab)
        assert found is not None
        f_by_k[k], best[k] = found
    chosen = 1
    for k in range(2, max_k + 1):
        if f_by_k[k] < (1.0 - SPLIT_GAIN) * f_by_k[chosen] - eps:
            chosen = k
    return best[chosen], f_by_k, chosen


def _partition(g: _Graph, seed: int = 0) -> tuple[np.ndarray, dict]:
    """Label every node with its camp (-1 for nodes without edges)."""
    labels = np.full(g.n, -1, dtype=np.int64)
    info: dict[str, Any] = {"components": 0}
    if g.m == 0:
        return labels, info
    rng = np.random.default_rng(seed)
    a = g.adjacency
    n_comp, comp = connected_components(a, directed=False)
    active = g.degree > 0
    comp_sizes = np.bincount(comp[active], minlength=n_comp)
    node_order = np.argsort(comp, kind="stable")
    node_bounds = np.searchsorted(comp[node_order], np.arange(n_comp + 1))
    largest = int(np.argmax(comp_sizes))
    info["components"] = int((comp_sizes > 0).sum())
    # One edge: together if positive, apart if negative.
    pairs = np.flatnonzero(comp_sizes == 2)
    if pairs.size:
        first = node_order[node_bounds[pairs]]
        second = node_order[node_bounds[pairs] + 1]
        positive = g.adjacency[first, second] > 0
        labels[first] = 2 * pairs
        labels[second] = np.where(positive, 2 * pairs, 2 * pairs + 1)
    next_label = 2 * n_comp
    small = np.flatnonzero((comp_sizes > 2) & (comp_sizes <= SMALL_COMPONENT))
    if small.size:
        nodes = np.concatenate([node_order[node_bounds[c] : node_bounds[c + 1]] for c in small])
        lab, f_by_k, ks = _solve_small(a, nodes, comp[nodes], rng)
        labels[nodes] = comp[nodes] * MAX_CAMPS + lab + next_label
        if comp_sizes[largest] <= SMALL_COMPONENT and comp_sizes[largest] > 2:
            i = int(np.searchsorted(small, largest))
            info["largest_component"] = {
                "nodes": int(comp_sizes[largest]),
                "k": int(ks[i]),
                "frustration_by_k": {k: float(f[i]) for k, f in f_by_k.items()},
            }
        next_label += MAX_CAMPS * n_comp
    for c in np.flatnonzero(comp_sizes > SMALL_COMPONENT):
        nodes = node_order[node_bounds[c] : node_bounds[c + 1]]
        sub = sp.csr_array(a[nodes][:, nodes])
        sub.sort_indices()
        lab, f_by_k, k = _solve_component(sub, _upper(sub), rng)
        labels[nodes] = lab + next_label
        next_label += MAX_CAMPS
        if c == largest:
            info["largest_component"] = {
                "nodes": int(nodes.size),
                "k": k,
                "frustration_by_k": f_by_k,
            }
    _, labels[active] = np.unique(labels[active], return_inverse=True)
    return labels, info


def _upper(a: sp.csr_array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (u, v, weight, sign) of the edges u < v of a symmetric signed CSR matrix."""
    coo = sp.triu(a, k=1).tocoo()
    data = coo.data
    return coo.row.astype(np.int64), coo.col.astype(np.int64), np.abs(data), np.sign(data)


def _solve_small(
    a: sp.csr_array, nodes: np.ndarray, comp: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, dict[int, np.ndarray], np.ndarray]:
    """Solve many small components at once (relocation is local, so they never interact).

    Starts per k: the sign of each component's leading eigenvector (k = 2), the best
    (k-1)-split and :data:`SMALL_RESTARTS` random labelings; each component keeps its best.
    Returns labels, frustration by k (one value per component) and the chosen k per
    component.
    """
    sub = sp.csr_array(a[nodes][:, nodes])
    sub.sort_indices()
    _, comp_local = np.unique(comp, return_inverse=True)
    n_c = int(comp_local.max()) + 1
    u, v, w, s = _upper(sub)
    edge_comp = comp_local[u]
    eps = 1e-9 * float(w.max())
    labels = np.zeros(nodes.size, dtype=np.int64)
    f_by_k = {1: np.bincount(edge_comp, weights=w * (s < 0), minlength=n_c)}
    best = {1: labels}
    spectral = np.zeros(nodes.size, dtype=np.int64)
    order = np.argsort(comp_local, kind="stable")
    bounds = np.searchsorted(comp_local[order], np.arange(n_c + 1))
    for c in range(n_c):
        idx = order[bounds[c] : bounds[c + 1]]
        spectral[idx] = (_embedding(sp.csr_array(sub[idx][:, idx]), 1, rng)[:, 0] > 0).astype(
            np.int64
        )
    for k in range(2, MAX_CAMPS + 1):
        starts = [best[k - 1]]
        if k == 2:
            starts.append(spectral)
        starts.extend(rng.integers(k, size=nodes.size) for _ in range(SMALL_RESTARTS))
        found_f = np.full(n_c, np.inf)
        found = np.zeros(nodes.size, dtype=np.int64)
        for start in starts:
            lab = _local_search(sub, start, k, eps)
            same = lab[u] == lab[v]
            f = np.bincount(edge_comp, weights=w * np.where(s > 0, ~same, same), minlength=n_c)
            better = f < found_f - eps
            found_f = np.where(better, f, found_f)
            take = better[comp_local]
            found[take] = lab[take]
        f_by_k[k], best[k] = found_f, found
    chosen = np.ones(n_c, dtype=np.int64)
    chosen_f = f_by_k[1].copy()
    for k in range(2, MAX_CAMPS + 1):
        adopt = f_by_k[k] < (1.0 - SPLIT_GAIN) * chosen_f - eps
        chosen = np.where(adopt, k, chosen)
        chosen_f = np.where(adopt, f_by_k[k], chosen_f)
    stacked = np.stack([best[k] for k in range(1, MAX_CAMPS + 1)])
    return stacked[chosen[comp_local] - 1, np.arange(nodes.size)], f_by_k, chosen


def _order_blocs(labels: np.ndarray) -> np.ndarray:
    """Renumber camps largest first (ties: earliest node); -1 stays."""
    active = labels >= 0
    if not active.any():
        return labels
    k = int(labels.max()) + 1
    sizes = np.bincount(labels[active], minlength=k)
    first = np.full(k, labels.size)
    np.minimum.at(first, labels[active], np.flatnonzero(active))
    order = np.lexsort((first, -sizes))
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    rv = labels.copy()
    rv[active] = remap[labels[active]]
    return rv


# --------------------------------------------------------------------------- triads


def _triangles(g: _Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """List every triangle as three edge ids (ab, ac, bc) with a, b, c its nodes."""
    empty = np.zeros(0, dtype=np.int64)
    if g.m < 3:
        return empty, empty, empty
    # Orient every edge from lower to higher (degree, index) rank.
    rank = np.empty(g.n, dtype=np.int64)
    rank[np.lexsort((np.arange(g.n), g.degree))] = np.arange(g.n)
    fwd = rank[g.u] < rank[g.v]
    tail = np.where(fwd, g.u, g.v)
    head = np.where(fwd, g.v, g.u)
    eid = np.arange(g.m)
    order = np.lexsort((rank[head], tail))
    tail, head, eid = tail[order], head[order], eid[order]
    out_deg = np.bincount(tail, minlength=g.n)
    bounds = np.concatenate([[0], np.cumsum(out_deg)])
    # Every pair of out-neighbours (positions p < q within the same tail).
    pos = np.arange(g.m)
    row_end = bounds[tail + 1]
    count = row_end - pos - 1
    total = int(count.sum())
    if total == 0:
        return empty, empty, empty
    p = np.repeat(pos, count)
    offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    q = p + 1 + offsets
    x, y = head[p], head[q]
    key = np.minimum(x, y) * g.n + np.maximum(x, y)
    keys = g.edge_keys
    at = np.searchsorted(keys, key)
    at[at >= keys.size] = 0
    hit = keys[at] == key
    return eid[p[hit]], eid[q[hit]], at[hit]


def _triads(
    g: _Graph, tri: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[list[Triad], int, int]:
    e1, e2, e3 = tri
    s = g.s
    neg = (s[e1] < 0).astype(np.int64) + (s[e2] < 0) + (s[e3] < 0)
    bad = np.flatnonzero(neg % 2 == 1)
    weight = g.w[e1[bad]] + g.w[e2[bad]] + g.w[e3[bad]]
    nodes = np.sort(np.stack([g.u[e1[bad]], g.v[e1[bad]], _third(g, e1[bad], e2[bad])]), axis=0)
    top = np.lexsort((nodes[2], nodes[1], nodes[0], -weight))[:MAX_TRIADS]
    rv = []
    ids = g.ids
    for i in top.tolist():
        j = bad[i]
        mediator = None
        if neg[j] == 1:
            for e, other in ((e1[j], e2[j]), (e2[j], e3[j]), (e3[j], e1[j])):
                if s[e] < 0:
                    mediator = ids[_third(g, np.array([e]), np.array([other]))[0]]
                    break
        rv.append(
            Triad(
                nodes=frozenset(ids[t] for t in nodes[:, i].tolist()),
                mediator=mediator,
                weight=float(weight[i]),
                negative=int(neg[j]),
            )
        )
    return rv, int(bad.size), int(e1.size)


def _third(g: _Graph, e: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Return the endpoint of edge ``other`` that is not on edge ``e``."""
    ou, ov = g.u[other], g.v[other]
    on_e = (ou == g.u[e]) | (ou == g.v[e])
    return np.where(on_e, ov, ou)


# --------------------------------------------------------------------------- brokers


def _betweenness(g: _Graph, camps: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Share of cross-camp pairs whose shortest positive paths pass through each node."""
    n = g.n
    ap = g.positive
    pos_deg = np.diff(ap.indptr)
    in_camp = camps >= 0
    n_camps = int(camps.max()) + 1 if in_camp.any() else 0
    cross = n_camps >= 2
    rv = np.zeros(n)
    if ap.nnz == 0 or not in_camp.any():
        return rv, "no cooperative paths"
    sizes = np.bincount(camps[in_camp], minlength=n_camps).astype(float)
    active = np.flatnonzero(in_camp & (pos_deg > 0))
    if active.size * ap.nnz <= EXACT_BETWEENNESS_WORK:
        sources = active
        scale = np.ones(active.size)
        how = f"exact over all {active.size} sources"
    else:
        budget = int(min(active.size, max(MIN_SAMPLED_SOURCES, BETWEENNESS_BUDGET // ap.nnz)))
        # Systematic sample over the nodes ordered by camp: every camp gets its share of
        # the sources and every node the same chance, so each source stands for
        # active / budget nodes and the estimate is unbiased.
        by_camp = active[np.lexsort((rng.random(active.size), camps[active]))]
        step = active.size / budget
        picks = np.floor((rng.random() + np.arange(budget)) * step).astype(np.int64)
        sources = np.sort(by_camp[np.minimum(picks, active.size - 1)])
        scale = np.full(sources.size, step)
        how = (
            f"sampled {sources.size} of {active.size} sources (systematic sample over the "
            f"camps, fixed seed), each weighted by {step:.1f}"
        )
    batch = max(1, min(sources.size, 64, 4_000_000 // max(n, 1)))
    for lo in range(0, sources.size, batch):
        src = sources[lo : lo + batch]
        rv += _brandes_batch(ap, src, camps, cross) @ scale[lo : lo + batch]
    rv /= 2.0  # every unordered pair was reached from both ends
    if cross:
        pairs = (sizes.sum() ** 2 - (sizes**2).sum()) / 2.0
        partners = np.where(in_camp, sizes.sum() - sizes[np.maximum(camps, 0)], 0.0)
        norm = pairs - partners
        how = "between camps, " + how
    else:
        total = sizes.sum()
        norm = np.full(n, (total - 1.0) * (total - 2.0) / 2.0)
        how = "single camp: all pairs, " + how
    rv = np.divide(rv, norm, out=np.zeros(n), where=norm > 0)
    return rv, how


def _brandes_batch(ap: sp.csr_array, src: np.ndarray, camps: np.ndarray, cross: bool) -> np.ndarray:
    """Return each node's dependency (n x batch) for a batch of BFS sources.

    Level-synchronous Brandes: every BFS level of every source is a sparse (node, source)
    set, expanded with one sparse product; the dependencies flow back level by level.
    Arrays are flat with index ``node * batch + source``.
    """
    n, b = ap.shape[0], src.size
    size = n * b
    sigma = np.zeros(size)
    dist = np.full(size, -1, dtype=np.int32)
    start = src * b + np.arange(b)
    order = np.argsort(start)
    level = start[order]
    sigma[level] = 1.0
    dist[level] = 0
    levels = [level]
    while True:
        reach = ap @ _flat_csr(level, sigma[level], n, b)
        flat = _csr_flat(reach, b)
        new = dist[flat] < 0
        if not new.any():
            break
        level = flat[new]
        dist[level] = len(levels)
        sigma[level] = reach.data[new]
        levels.append(level)
    camp_of = camps[np.arange(size) // b] if cross else None
    src_camp = camps[src]
    delta = np.zeros(size)
    for d in range(len(levels) - 1, 0, -1):
        level = levels[d]
        if camp_of is not None:
            lc = camp_of[level]
            target = (lc != src_camp[level % b]) & (lc >= 0)
        else:
            target = np.ones(level.size, dtype=bool)
        coef = (target + delta[level]) / sigma[level]
        back = ap @ _flat_csr(level, coef, n, b)
        flat = _csr_flat(back, b)
        prev = dist[flat] == d - 1
        hit = flat[prev]
        delta[hit] += sigma[hit] * back.data[prev]
    delta[start] = 0.0
    return delta.reshape(n, b)


def _flat_csr(flat: np.ndarray, data: np.ndarray, n: int, b: int) -> sp.csr_array:
    """Build an n x b CSR matrix from sorted flat indices ``node * b + column``."""
    rows = flat // b
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_array((data, flat % b, indptr), shape=(n, b))


def _csr_flat(m: sp.csr_array, b: int) -> np.ndarray:
    """Return the flat indices ``row * b + column`` of a CSR matrix's stored entries."""
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    return rows * b + m.indices


def _structural_holes(
    g: _Graph, tri: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return Burt's constraint, Borgatti's effective size and GF roles on positive ties."""
    n = g.n
    pos = g.s > 0
    u, v, w = g.u, g.v, np.where(pos, g.w, 0.0)
    strength = np.bincount(u, weights=w, minlength=n) + np.bincount(v, weights=w, minlength=n)
    deg = np.bincount(u[pos], minlength=n) + np.bincount(v[pos], minlength=n)
    safe = np.where(strength > 0, strength, 1.0)
    p_fwd = w / safe[u]  # u -> v
    p_bwd = w / safe[v]  # v -> u
    e1, e2, e3 = tri
    all_pos = pos[e1] & pos[e2] & pos[e3]
    e1, e2, e3 = e1[all_pos], e2[all_pos], e3[all_pos]
    # Nodes of each positive triangle: x on e1 and e2, y the other end of e1, z of e2.
    x = np.where((g.u[e1] == g.u[e2]) | (g.u[e1] == g.v[e2]), g.u[e1], g.v[e1])
    y = np.where(g.u[e1] == x, g.v[e1], g.u[e1])
    z = np.where(g.u[e2] == x, g.v[e2], g.u[e2])
    e_of = {("x", "y"): e1, ("x", "z"): e2, ("y", "z"): e3}
    node = {"x": x, "y": y, "z": z}

    def p(frm: str, to: str) -> np.ndarray:
        e = e_of.get((frm, to), e_of.get((to, frm)))
        return np.where(g.u[e] == node[frm], p_fwd[e], p_bwd[e])

    ind_fwd = np.zeros(g.m)
    ind_bwd = np.zeros(g.m)
    for frm, to, via in (
        ("x", "y", "z"),
        ("y", "x", "z"),
        ("x", "z", "y"),
        ("z", "x", "y"),
        ("y", "z", "x"),
        ("z", "y", "x"),
    ):
        e = e_of.get((frm, to), e_of.get((to, frm)))
        val = p(frm, via) * p(via, to)
        is_fwd = g.u[e] == node[frm]
        ind_fwd += np.bincount(e, weights=val * is_fwd, minlength=g.m)
        ind_bwd += np.bincount(e, weights=val * ~is_fwd, minlength=g.m)
    local_fwd = np.where(pos, (p_fwd + ind_fwd) ** 2, 0.0)
    local_bwd = np.where(pos, (p_bwd + ind_bwd) ** 2, 0.0)
    constraint = np.bincount(u, weights=local_fwd, minlength=n) + np.bincount(
        v, weights=local_bwd, minlength=n
    )
    constraint[deg == 0] = np.nan
    t = np.bincount(np.concatenate([x, y, z]), minlength=n)
    safe_deg = np.where(deg > 0, deg, 1)
    eff = np.where(deg > 0, deg - 2.0 * t / safe_deg, np.nan)
    roles = _brokerage_roles(g, deg, x, y, z)
    return constraint, eff, roles


def _role_code(ga: np.ndarray, gv: np.ndarray, gb: np.ndarray) -> np.ndarray:
    # ROLES order: coordinator, gatekeeper, representative, itinerant, liaison
    return np.select(
        [(ga == gv) & (gv == gb), ga == gb, ga == gv, gb == gv],
        [0, 3, 2, 1],
        default=4,
    )


def _brokerage_roles(
    g: _Graph, deg: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """Count Gould-Fernandez roles (n x 5) over ordered open two-paths a - v - b."""
    n = g.n
    kinds = g.kinds
    onehot = np.zeros((n, len(KINDS)))
    onehot[np.arange(n), kinds] = 1.0
    c = g.positive @ onehot  # positive neighbours of each kind
    same = c[np.arange(n), kinds]
    others = deg - same
    sq_other = (c**2).sum(axis=1) - same**2
    pairs_other = (c * (c - 1)).sum(axis=1) - same * (same - 1)
    rv = np.zeros((n, len(ROLES)))
    rv[:, 0] = same * (same - 1)
    rv[:, 1] = others * same
    rv[:, 2] = same * others
    rv[:, 3] = pairs_other
    rv[:, 4] = others**2 - sq_other
    closed = np.zeros(n * len(ROLES))
    for v, a, b in ((x, y, z), (y, x, z), (z, x, y)):
        for aa, bb in ((a, b), (b, a)):
            code = _role_code(kinds[aa], kinds[v], kinds[bb])
            closed += np.bincount(v * len(ROLES) + code, minlength=n * len(ROLES))
    rv -= closed.reshape(n, len(ROLES))
    return np.rint(rv).astype(np.int64)


# --------------------------------------------------------------------------- polarization


def _polarization_parts(
    g: _Graph, labels: np.ndarray, seed: int
) -> tuple[float, float, float, float]:
    """Return (value, balance, baseline frustration share, camp balance)."""
    total = float(g.w.sum())
    if total <= 0:
        return 0.0, 0.0, 0.0, 0.0
    frustrated = float(g.w[_frustration_mask(g, labels)].sum()) / total
    active = labels >= 0
    shares = np.bincount(labels[active]) / active.sum()
    camp_balance = float(min(1.0, 1.0 / (shares**2).sum() - 1.0))
    n_neg = int((g.s < 0).sum())
    if n_neg == 0 or n_neg == g.m:
        return 0.0, 1.0 - frustrated, frustrated, camp_balance
    rng = np.random.default_rng(seed)
    rounds = int(max(1, min(BASELINE_ROUNDS, 2_000 // g.m)))
    base = []
    for r in range(rounds):
        shuffled = _Graph(g.ids, g.kinds, g.u, g.v, g.w, rng.permutation(g.s))
        lab, _ = _partition(shuffled, seed=seed + 1 + r)
        base.append(float(g.w[_frustration_mask(shuffled, lab)].sum()) / total)
    baseline = float(np.mean(base))
    excess = 0.0 if baseline <= 0 else max(0.0, 1.0 - frustrated / baseline)
    return excess * camp_balance, 1.0 - frustrated, baseline, camp_balance


def _add_months(when: datetime, months: int) -> datetime:
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    days = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return when.replace(year=year, month=month, day=min(when.day, days[month - 1]))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _trend(
    ids: list,
    kinds: np.ndarray,
    raw: tuple[np.ndarray, np.ndarray, np.ndarray],
    times: np.ndarray | None,
    now: datetime | None,
    latest: datetime | None,
) -> list[tuple[datetime, float | None]]:
    if times is None or latest is None:
        return []
    end = latest if now is None else now
    if (end.tzinfo is None) != (latest.tzinfo is None):
        raise ValueError("now and the edge times must both be naive or both timezone-aware")
    src, dst, net = raw
    rv: list[tuple[datetime, float | None]] = []
    bounds = [_add_months(end, -back) for back in range(TREND_WINDOWS, -1, -1)]
    for start, stop in itertools.pairwise(bounds):
        inside = (times > _timestamp(start)) & (times <= _timestamp(stop))
        if not inside.any():
            rv.append((stop, None))
            continue
        sub = _Graph.merged(ids, kinds, src[inside], dst[inside], net[inside])
        if sub.m == 0:
            rv.append((stop, None))
            continue
        labels, _ = _partition(sub)
        rv.append((stop, _polarization_parts(sub, labels, seed=0)[0]))
    return rv


# --------------------------------------------------------------------------- analyze


class _Laps:
    """Time the parts of an analysis and report progress after each."""

    def __init__(self, progress: Callable[[float], None] | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.start = self.clock = time.perf_counter()

    def __call__(self, part: str, fraction: float) -> None:
        now = time.perf_counter()
        self.timings[part] = now - self.clock
        self.clock = now
        if self.progress is not None:
            self.progress(fraction)

    def total(self) -> dict[str, float]:
        self.timings["total"] = time.perf_counter() - self.start
        return self.timings


def analyze(
    nodes: Iterable[tuple[Hashable, str]],
    edges: Iterable[tuple],
    *,
    now: datetime | None = None,
    progress: Callable[[float], None] | None = None,
) -> NetworkReport:
    """Find the camps, tensions, brokers and polarization of a signed stakeholder network."""
    lap = _Laps(progress)
    ids, kinds, index = _parse_nodes(nodes)
    src, dst, net, times, whens = _parse_edges(edges, index)
    if now is not None and not isinstance(now, datetime):
        raise ValueError("now must be a datetime")
    g = _Graph.merged(ids, kinds, src, dst, net)
    details: dict[str, Any] = {
        "edges_in": int(src.size),
        "edges_merged": int(g.m),
        "edges_cancelled": _pairs(g.n, src, dst) - g.m,
    }
    lap("parse", 0.05)

    labels, info = _partition(g)
    labels = _order_blocs(labels)
    details["blocs"] = info
    blocs = _blocs(ids, kinds, labels, g.n)
    isolated = [ids[i] for i in np.flatnonzero(labels < 0).tolist()]
    bloc_of = {ids[i]: int(labels[i]) for i in np.flatnonzero(labels >= 0).tolist()}
    lap("blocs", 0.4)

    frustration = _frustration(g, labels)
    lap("frustration", 0.45)

    tri = _triangles(g)
    triads, n_unbalanced, n_triangles = _triads(g, tri)
    details["triangles"] = n_triangles
    lap("triads", 0.55)

    brokers = _brokers(g, labels, tri, details)
    lap("brokers", 0.75)

    polarization = _polarization(g, labels, (src, dst, net), times, whens, now)
    lap("polarization", 1.0)
    return NetworkReport(
        blocs=blocs,
        frustration=frustration,
        unbalanced_triads=triads,
        unbalanced_triad_count=n_unbalanced,
        brokers=brokers,
        polarization=polarization,
        isolated=isolated,
        bloc_of=bloc_of,
        timings=lap.total(),
        details=details,
        _data=g,
    )


def _blocs(ids: list, kinds: np.ndarray, labels: np.ndarray, n: int) -> list[Bloc]:
    """Return the camps of a labelling with their members and composition by kind."""
    n_blocs = int(labels.max()) + 1 if n and labels.max() >= 0 else 0
    rv = []
    for b in range(n_blocs):
        members = np.flatnonzero(labels == b)
        counts = np.bincount(kinds[members], minlength=len(KINDS))
        rv.append(
            Bloc(
                members=frozenset(ids[i] for i in members.tolist()),
                composition={k: int(c) for k, c in zip(KINDS, counts, strict=True)},
            )
        )
    return rv


def _frustration(g: _Graph, labels: np.ndarray) -> Frustration:
    """Return the edges that contradict the camps, heaviest first."""
    ids = g.ids
    mask = _frustration_mask(g, labels) if g.m else np.zeros(0, dtype=bool)
    bad = np.flatnonzero(mask)
    bad = bad[np.lexsort((g.v[bad], g.u[bad], -g.w[bad]))]
    total = float(g.w.sum())
    return Frustration(
        edges=[(ids[a], ids[b]) for a, b in zip(g.u[bad].tolist(), g.v[bad].tolist(), strict=True)],
        count=int(bad.size),
        weighted_share=float(g.w[bad].sum() / total) if total > 0 else 0.0,
    )


def _polarization(
    g: _Graph,
    labels: np.ndarray,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    times: np.ndarray | None,
    whens: list,
    now: datetime | None,
) -> Polarization:
    """Measure the polarization of the camps and its monthly trend."""
    value, balance, baseline, camp_balance = _polarization_parts(g, labels, seed=0)
    timed = [w for w in whens if w is not None]
    latest = max(timed) if timed else None
    return Polarization(
        value=float(value),
        trend=_trend(g.ids, g.kinds, edges, times, now, latest),
        balance=float(balance),
        baseline_frustration=float(baseline),
        camp_balance=float(camp_balance),
    )


def _brokers(g: _Graph, labels: np.ndarray, tri: tuple, details: dict[str, Any]) -> list[Broker]:
    if g.m == 0:
        details["betweenness"] = "no edges"
        return []
    between, how = _betweenness(g, labels, np.random.default_rng(0))
    details["betweenness"] = how
    cand = np.flatnonzero(between > 1e-12)
    if cand.size == 0:
        return []
    constraint, eff, roles = _structural_holes(g, tri)
    cand = cand[np.lexsort((cand, constraint[cand], -between[cand]))][:MAX_BROKERS]
    details["brokers_total"] = int((between > 1e-12).sum())
    return [
        Broker(
            id=g.ids[i],
            score=float(between[i]),
            betweenness=float(between[i]),
            constraint=float(constraint[i]),
            effective_size=float(eff[i]),
            roles={r: int(c) for r, c in zip(ROLES, roles[i], strict=True)},
        )
        for i in cand.tolist()
    ]


def _liaison_fact(
    g: _Graph, broker: Hashable, b: int, nbrs: np.ndarray, ka: int, kb: int
) -> dict[str, Any] | None:
    """Describe how broker `b` links its neighbours of kinds `ka` and `kb` (None: it does not)."""
    side_a = nbrs[g.kinds[nbrs] == ka]
    side_b = nbrs[g.kinds[nbrs] == kb]
    if side_a.size == 0 or side_b.size == 0:
        return None
    open_ = ~(g.positive[side_a][:, side_b].toarray() > 0)
    n_pairs = int(open_.sum())
    if n_pairs == 0:
        return None
    return {
        "broker": broker,
        "broker_kind": KINDS[g.kinds[b]],
        "role": "liaison",
        "between": [
            {"kind": KINDS[ka], "members": [g.ids[i] for i in side_a[open_.any(axis=1)].tolist()]},
            {"kind": KINDS[kb], "members": [g.ids[i] for i in side_b[open_.any(axis=0)].tolist()]},
        ],
        "pairs": n_pairs,
    }


def liaison_facts(report: NetworkReport, broker: Hashable) -> list[dict[str, Any]]:
    """Describe as plain data how a stakeholder links pairs of other kinds (GF liaison).

    Each fact reads "``broker`` (a ``broker_kind``) is the liaison between ``between[0]``
    and ``between[1]``": two kinds other than the broker's, the members of each that the
    broker links with no cooperative tie of their own, and the number of such pairs.
    """
    return report.liaison_facts(broker)


# --------------------------------------------------------------------------- conflict paths


def conflict_paths(
    nodes: Iterable[tuple[Hashable, str]],
    edges: Iterable[tuple[Hashable, Hashable, str, str]],
    a: Hashable,
    b: Hashable,
    *,
    max_hops: int = 2,
    types: Sequence[str] = CONFLICT_TYPES,
) -> list[ConflictPath]:
    """List the simple paths of typed ties (at most max_hops) that link a to b, explained."""
    _, _, index = _parse_nodes(nodes)
    if max_hops < 1:
        raise ValueError("max_hops must be at least 1")
    for end in (a, b):
        if end not in index:
            raise ValueError(f"unknown node {end!r}")
    wanted = set(types)
    adj: dict[Hashable, list[tuple[Hashable, str, str]]] = {}
    for item in edges:
        try:
            source, target, kind, label = item
        except (TypeError, ValueError) as exc:
            raise ValueError("each edge must be (source, target, type, label)") from exc
        for end in (source, target):
            if end not in index:
                raise ValueError(f"edge refers to unknown node {end!r}")
        if source == target:
            raise ValueError(f"self-loop on node {source!r}")
        if not isinstance(kind, str) or not (label is None or isinstance(label, str)):
            raise ValueError("edge type and label must be strings")
        if kind not in wanted:
            continue
        label = label or ""
        adj.setdefault(source, []).append((target, kind, label))
        adj.setdefault(target, []).append((source, kind, label))
    if a == b:
        return []
    found: list[tuple[PathStep, ...]] = []

    def walk(node: Hashable, seen: list[Hashable], steps: list[PathStep]) -> None:
        for nxt, kind, label in adj.get(node, ()):
            if nxt in seen:
                continue
            step = PathStep(node, nxt, kind, label)
            if nxt == b:
                found.append((*steps, step))
            elif len(steps) + 1 < max_hops:
                walk(nxt, [*seen, nxt], [*steps, step])

    walk(a, [a], [])
    found.sort(key=len)
    return [ConflictPath(steps, _explain(steps)) for steps in found]


def _explain(steps: tuple[PathStep, ...]) -> str:
    parts = [s.label or f"{s.source} —{s.type}— {s.target}" for s in steps]
    return "; ".join(parts)


# --------------------------------------------------------------------------- inferred relations


class _StanceContext:
    """Shared stance matrix behind lazily computed item lists of inferred relations."""

    def __init__(self, stances: sp.csr_array, items: list) -> None:
        self.stances = stances
        self.item_ids = items

    def items(self, rows: tuple[int, int], *, agreed: bool) -> tuple[Hashable, ...]:
        s = self.stances
        ra, rb = rows
        ia, va = s.indices[s.indptr[ra] : s.indptr[ra + 1]], s.data[s.indptr[ra] : s.indptr[ra + 1]]
        ib, vb = s.indices[s.indptr[rb] : s.indptr[rb + 1]], s.data[s.indptr[rb] : s.indptr[rb + 1]]
        common, pa, pb = np.intersect1d(ia, ib, assume_unique=True, return_indices=True)
        prod = va[pa] * vb[pb]
        keep = prod > 0 if agreed else prod < 0
        return tuple(self.item_ids[i] for i in common[keep].tolist())


class InferredRelations(Sequence):
    """Read-only list of :class:`InferredRelation`, strongest first, built on access.

    A community can have hundreds of thousands of related pairs; the numbers stay in numpy
    arrays and each relation object is made only when indexed or iterated.
    """

    def __init__(
        self, ids: list, columns: dict[str, np.ndarray], ctx: _StanceContext | None
    ) -> None:
        self._ids = ids
        self._cols = columns
        self._ctx = ctx

    def __len__(self) -> int:
        return int(self._cols["a"].size)

    @overload
    def __getitem__(self, i: int) -> InferredRelation: ...

    @overload
    def __getitem__(self, i: slice) -> list[InferredRelation]: ...

    def __getitem__(self, i: int | slice) -> InferredRelation | list[InferredRelation]:
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError("relation index out of range")
        return self._make(i % n)

    def __iter__(self) -> Iterator[InferredRelation]:
        return (self._make(j) for j in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, InferredRelations | list | tuple):
            return len(self) == len(other) and all(x == y for x, y in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<InferredRelations: {len(self)}>"

    def _make(self, j: int) -> InferredRelation:
        c = self._cols
        assert self._ctx is not None
        ra, rb = int(c["a"][j]), int(c["b"][j])
        return InferredRelation(
            a=self._ids[ra],
            b=self._ids[rb],
            sign=int(c["sign"][j]),
            weight=float(c["weight"][j]),
            shared=int(c["shared"][j]),
            agreed=int(c["agreed"][j]),
            disagreed=int(c["disagreed"][j]),
            _ctx=self._ctx,
            _rows=(ra, rb),
        )


def infer_relations(
    stances: Iterable[tuple[Hashable, Hashable, int]],
    *,
    min_shared: int = 3,
    threshold: float = 0.3,
    prior: float = 2.0,
) -> InferredRelations:
    """Infer agreement and disagreement ties from stakeholders' stances on shared items.

    For each pair with at least ``min_shared`` items in common (neutral stances count as
    participation), ``score = (agreed - disagreed) / (shared + prior)``; a relation with
    sign of the score and weight ``|score|`` is returned when ``|score| >= threshold``
    (a zero score is never a relation), strongest first, as a list-like
    :class:`InferredRelations`. A repeated stance on the same item replaces the earlier
    one. Counts come from matrix products: ``S @ S.T`` (agreements minus disagreements),
    ``|S| @ |S|.T`` (both took a side) and ``P @ P.T`` (shared items), dense BLAS when the
    stance matrix is dense, scipy sparse otherwise.
    """
    message = "each stance must be (stakeholder_id, item_id, value)"
    who, what, value = columns(stances, (3,), message)
    empty = InferredRelations([], {k: np.zeros(0) for k in _RELATION_COLUMNS}, None)
    if not who:
        return empty
    val = _numbers(value, "stance value")
    if not np.all(np.isin(val, (-1.0, 0.0, 1.0))):
        raise ValueError("stance value must be +1, -1 or 0")
    s_ids, si = index_ids(who)
    i_ids, ii = index_ids(what)
    n, m = len(s_ids), len(i_ids)
    key = si * m + ii
    _, last = np.unique(key[::-1], return_index=True)
    keep = np.sort(key.size - 1 - last)
    si, ii, val = si[keep], ii[keep], val[keep]
    part = sp.csr_array((np.ones(si.size), (si, ii)), shape=(n, m))
    signed = sp.csr_array((val, (si, ii)), shape=(n, m))
    signed.eliminate_zeros()
    signed.sort_indices()
    nonzero = abs(signed)
    density = si.size / max(1, n * m)
    if density > 0.05 and n * n <= 25_000_000:
        # Dense BLAS (float32 counts are exact far beyond any number of items).
        pd, sd, nd = (x.toarray().astype(np.float32) for x in (part, signed, nonzero))
        shared_m, net_m = pd @ pd.T, sd @ sd.T
        score_m = net_m / (shared_m + np.float32(prior))
        ok = (shared_m >= min_shared) & (np.abs(score_m) >= threshold) & (net_m != 0)
        rows, cols = np.nonzero(np.triu(ok, k=1))
        sh = np.rint(shared_m[rows, cols]).astype(np.int64)
        ne = np.rint(net_m[rows, cols]).astype(np.int64)
        bo = np.rint((nd @ nd.T)[rows, cols]).astype(np.int64)
    else:
        shared_s = sp.triu(part @ part.T, k=1).tocsr()
        shared_s.data[shared_s.data < min_shared] = 0
        shared_s.eliminate_zeros()
        coo = shared_s.tocoo()
        rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        sh = np.rint(coo.data).astype(np.int64)
        net_s = (signed @ signed.T).tocsr()
        both_s = (nonzero @ nonzero.T).tocsr()
        ne = np.rint(net_s[rows, cols]).astype(np.int64)
        bo = np.rint(both_s[rows, cols]).astype(np.int64)
    score = ne / (sh + float(prior))
    ok = (np.abs(score) >= threshold) & (ne != 0)
    rows, cols, sh, ne, bo, score = rows[ok], cols[ok], sh[ok], ne[ok], bo[ok], score[ok]
    order = np.lexsort((cols, rows, -np.abs(score)))
    data = {
        "a": rows[order],
        "b": cols[order],
        "sign": np.where(score[order] > 0, 1, -1),
        "weight": np.abs(score[order]),
        "shared": sh[order],
        "agreed": ((bo + ne) // 2)[order],
        "disagreed": ((bo - ne) // 2)[order],
    }
    return InferredRelations(s_ids, data, _StanceContext(signed, i_ids))


#: A tie found by :func:`nearest_relations`: (a, b, score, shared, net, both).
NearTie = tuple[int, int, float, int, int, int]


def nearest_relations(
    rows: list[tuple[int, str, int]],
    *,
    neighbours: int,
    min_shared: int = 3,
    threshold: float = 0.3,
    prior: float = 2.0,
) -> list[NearTie]:
    """Return the strongest inferred ties of each stakeholder, in row blocks (bounded memory).

    Same score as :func:`infer_relations` — (agreed - disagreed) / (shared + prior), at
    least `min_shared` shared items and |score| >= `threshold` — but each stakeholder keeps
    only its `neighbours` strongest ties, so that a proposal on which thousands took a
    position does not make millions of pairs. Returns (a, b, score, shared, net, both).
    """
    sids, matrices, dense = _stance_matrices(rows)
    n = len(sids)
    block = max(1, 4_000_000 // max(n, 1))
    keep = min(neighbours, n - 1)
    if keep <= 0:
        return []
    blocks = [
        _block_ties(matrices, dense, r0, min(n, r0 + block), keep, min_shared, threshold, prior)
        for r0 in range(0, n, block)
    ]
    if not blocks or not sum(len(b[0]) for b in blocks):
        return []
    return _unique_ties(sids, [np.concatenate(column) for column in zip(*blocks, strict=True)])


def _stance_matrices(rows: list[tuple[int, str, int]]) -> tuple[list[int], tuple, bool]:
    """Return the stakeholder ids and the participation, signed and |signed| matrices."""
    last: dict[tuple[int, str], int] = {}
    for sid, item, value in rows:
        last[(sid, item)] = value
    sids = sorted({s for s, _i in last})
    items = sorted({i for _s, i in last})
    s_index = {s: n for n, s in enumerate(sids)}
    i_index = {i: n for n, i in enumerate(items)}
    r = np.fromiter((s_index[s] for s, _i in last), dtype=np.int64, count=len(last))
    c = np.fromiter((i_index[i] for _s, i in last), dtype=np.int64, count=len(last))
    v = np.fromiter(last.values(), dtype=np.float32, count=len(last))
    n, m = len(sids), len(items)
    part = sp.csr_array((np.ones(len(last), dtype=np.float32), (r, c)), shape=(n, m))
    signed = sp.csr_array((v, (r, c)), shape=(n, m))
    both = abs(signed)
    dense = n * m <= 50_000_000
    if dense:
        part, signed, both = (x.toarray() for x in (part, signed, both))
    return sids, (part, signed, both), dense


def _block_ties(
    matrices: tuple,
    dense: bool,
    r0: int,
    r1: int,
    keep: int,
    min_shared: int,
    threshold: float,
    prior: float,
) -> tuple[np.ndarray, ...]:
    """Return the `keep` strongest ties of the stakeholders in rows r0..r1 (six columns)."""
    products = []
    for x in matrices:
        prod = x[r0:r1] @ x.T
        products.append(np.asarray(prod if dense else prod.toarray(), dtype=np.float32))
    shared, net, agree_both = products
    local = np.arange(r1 - r0)
    shared[local, local + r0] = 0
    score = net / (shared + np.float32(prior))
    ok = (shared >= min_shared) & (np.abs(score) >= threshold) & (net != 0)
    strength = np.where(ok, np.abs(score), np.float32(0))
    top = np.argpartition(-strength, keep - 1, axis=1)[:, :keep]
    rows = np.repeat(local, keep)
    cols = top.ravel()
    good = strength[rows, cols] > 0
    rows, cols = rows[good], cols[good]
    return (
        rows + r0,
        cols,
        score[rows, cols],
        shared[rows, cols],
        net[rows, cols],
        agree_both[rows, cols],
    )


def _unique_ties(sids: list[int], columns: list[np.ndarray]) -> list[NearTie]:
    """Keep each pair once, strongest first, as plain Python numbers."""
    a, b, sc, sh, ne, bo = columns
    n = len(sids)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    _, first = np.unique(lo * n + hi, return_index=True)
    lo, hi, sc, sh, ne, bo = (x[first] for x in (lo, hi, sc, sh, ne, bo))
    order = np.lexsort((hi, lo, -np.abs(sc)))
    ids = np.asarray(sids)
    return [
        (int(x), int(y), float(z), int(u), int(v), int(w))
        for x, y, z, u, v, w in zip(
            ids[lo[order]].tolist(),
            ids[hi[order]].tolist(),
            sc[order].tolist(),
            np.rint(sh[order]).astype(np.int64).tolist(),
            np.rint(ne[order]).astype(np.int64).tolist(),
            np.rint(bo[order]).astype(np.int64).tolist(),
            strict=True,
        )
    ]


_RELATION_COLUMNS = ("a", "b", "sign", "weight", "shared", "agreed", "disagreed")
