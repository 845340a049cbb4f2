"""Float-safe routing networks: memorizers that are correct *by design* in float32 or bfloat16.

This library's own construction (its proof is in ``docs/float_safe.md``). The classical
memorizers interpolate along one line of N points, so in float32 their neighbours sit closer than
the rounding of a dot product, and their output weights cancel at 10⁸. A routing network never
interpolates: every hidden unit compares a projection with a threshold placed in a gap that the
compared points clear by more than the worst-case rounding error of the format, so each
comparison is exactly 0 on one side and at least 2 on the other, in any summation order. Exact
0/1 values are then combined only by sums whose other terms are exact zeros, so the label read
out at the end is the stored number itself.

Network (ReLU throughout):

1. layer 1 — *level-1 cuts*: G grid directions u_g, each cut into slabs at wide gaps; each cut
   gives two off-signals ``relu(κ(u·x − θ))`` (0 below, ≥ 2 above) and ``relu(κ(θ − u·x))``;
   plus carriers ``relu(±x_k)`` of the input;
2. layer 2 — *cells*: one gate per occupied cell of the grid, ``relu(1 − Σ off-signals of its
   bounding cuts)``, exactly 1 in the cell and 0 outside; carriers copied;
3. layer 3 — *level-2 cuts with per-cell thresholds*: a shared direction v_r compared with a
   threshold that depends on the cell, ``κ(v·x) − Σ_b κθ_b·g_b``, as two off-signals again; and
   *value units* ``relu(Σ_b w_b g_b)`` that hold each cell's leaf labels;
4. layer 4 — *leaves*: ``relu(value − C·(off-signals of the leaf's two cuts))``, exactly the
   leaf's value on its points and 0 elsewhere;
5. classification: the leaves hold a code per class (numbers of the format, spaced so that a cut
   fits between each two); layer 5 cuts the code line between consecutive codes, and the output
   is one gate per class, exactly the one-hot row; regression: the output sums the (single
   nonzero) leaves.

References
----------
Y. Park, G. Hwang, W. Lee, S. Park. Expressive power of ReLU and step networks under
floating-point operations. Neural Networks 2024 (arXiv:2401.15121): ReLU networks memorize any
finite data set in IEEE float32 and bfloat16 with the classical parameter counts; this builder is a
different, explicit construction with a rigorous certificate (``memorize.certify``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..activations import identity, relu
from ..certificate import certify
from ..data import Dataset, as_rng, format_indices, prepare, unique_rows
from ..errors import ArgumentError, AssumptionError, ConstructionError
from ..network import Dense, Network
from ..precision import Format, as_format
from ..registry import Architecture, register

__all__ = ["float_safe", "float_safe_classifier", "architecture", "classifier_architecture"]

#: The level an off-signal reaches on its "off" side: it turns every gate and leaf it feeds off.
ON = 2.0

#: Relative slack, per unit of S + |θ|, for the builder's own float64 arithmetic (see ``_Unit.of``).
_OWN64 = 8 * 2.0**-53

_REFERENCE = (
    "This library's routing construction (docs/float_safe.md); context: Y. Park, G. Hwang, W. Lee, "
    "S. Park, Expressive power of ReLU and step networks under floating-point operations, "
    "Neural Networks 2024 (arXiv:2401.15121)."
)


# ---------------------------------------------------------------------------------------------
# the error model of one comparison unit, in units of the compared projection
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Unit:
    """Constants of the worst-case error of a unit ``κ(w·x) − κθ`` with ``n`` live terms.

    From :func:`memorize.certify`'s bound: the computed pre-activation is within
    ``s[(c1(κS + κ|θ|) + c0)n + u_F(|z| + …) + tiny_F]`` of the reference, S = Σ|w_k x_k|. In
    units of the projection t = w·x, a point below the cut is certainly off (a dead ReLU) when
    ``θ − t ≥ ρq(S + |θ|) + K0/κ`` and certainly on (≥ ON) when ``t − θ ≥ ρq(S + |θ|) + K1/κ``.
    """

    rq: float  # ρ·q: relative error per unit of S + |θ|
    K1: float  # ≥ K0: the κ-dependent margin of the "on" side
    kappa_max: float = np.inf  # no off-signal, times the gain it is read with, may come near overflow

    @classmethod
    def of(cls, fmt: Format, n_live: int, n_max: int, span: float = 1.0, gain: float = 1.0,
           headroom: float = 64.0) -> "_Unit":
        """The unit's constants; ``span`` bounds |t| + |θ| over the data, ``gain`` the weight its
        off-signals are read with (the leaf gain C for level-2 cuts), and every off-signal times
        its gain stays ``headroom`` times below the largest number of the format."""
        acc = fmt.accumulator
        c1 = acc.u / (1 - n_max * acc.u) + 2.0**-53 / (1 - n_max * 2.0**-53)
        u_b = 2.0**-24
        safety = (1 + 8 * u_b) * (1 + 2 * (n_max + 2) * u_b / (1 - (n_max + 2) * u_b)) * (1 + 2.0**-20)
        uf = fmt.u if fmt.name != fmt.accumulate else 0.0
        tf = fmt.tiny if fmt.name != fmt.accumulate else 0.0
        rho = safety * (1 + uf) / (1 - safety * uf) * 1.01  # 1 % slack for the builder's own float64
        q = c1 * n_live
        K1 = (ON + safety * tf) / (1 - safety * uf) + rho * 2 * acc.tiny * n_live
        # a gate or leaf sums a handful of off-signals (times gain): keep every sum below overflow,
        # and the weights κw themselves (|w| < 2) finite, whatever the data's scale
        kappa_max = float(_pow2_at_most(min(fmt.max / (headroom * max(gain, 1.0) * max(span, 1e-300)), fmt.max / 4)))
        # the builder's own float64 (its projection t, certify's float64 reference of the same sum
        # and the few roundings of the checks below) is off by a few u₆₄(S + |θ|): in float64 as
        # the target format that is as large as the rounding being guarded against
        return cls(rho * q + _OWN64, K1 * 1.01, kappa_max)

    def lower(self, hi_max, kappa):
        """Smallest θ with θ − ρq|θ| ≥ hi_max + K1/κ (elementwise)."""
        m = hi_max + self.K1 / kappa
        return np.where(m >= 0, m / (1 - self.rq), m / (1 + self.rq))

    def upper(self, lo_min, kappa):
        """Largest θ with θ + ρq|θ| ≤ lo_min − K1/κ (elementwise)."""
        m = lo_min - self.K1 / kappa
        return np.where(m >= 0, m / (1 + self.rq), m / (1 - self.rq))

    def holds(self, theta, hi_max, lo_min, kappa):
        """Both sides of the cut at θ with scale κ are certain (elementwise)."""
        a = np.abs(theta) * self.rq + self.K1 / kappa
        return (theta - a >= hi_max) & (theta + a <= lo_min)

    def clear(self, hi_max, lo_min):
        """The gap left for the cut once both sides' rounding is paid (> 0: a cut fits)."""
        return lo_min - hi_max - 2 * self.rq * np.maximum(np.abs(hi_max), np.abs(lo_min))


def _pow2_at_least(v):
    v = np.asarray(v, dtype=np.float64)
    return np.exp2(np.ceil(np.log2(np.maximum(v, 2.0**-1000))))


def _pow2_at_most(v):
    v = np.asarray(v, dtype=np.float64)
    return np.exp2(np.floor(np.log2(np.clip(v, 2.0**-1000, 2.0**1023))))


def placeable(unit: _Unit, hi_max, lo_min, fmt: Format) -> np.ndarray:
    """Whether a cut fits at all: a number of the format lies in the admissible interval at the
    largest allowed scale κ_max (elementwise)."""
    k = unit.kappa_max
    lo = unit.lower(np.asarray(hi_max, dtype=np.float64), k)
    with np.errstate(invalid="ignore"):
        return (unit.clear(hi_max, lo_min) > 0) & unit.holds(fmt.round_up(lo), hi_max, lo_min, k)


def place_cuts(unit: _Unit, hi_max, lo_min, fmt: Format, kappa=None):
    """Thresholds θ (numbers of the format) and scales κ (powers of two) for many cuts at once.

    ``hi_max`` is, per cut, the largest ``t + ρqS`` below it and ``lo_min`` the smallest
    ``t − ρqS`` above it. Without ``kappa``, κ starts at the smallest power of two that leaves
    half the clear gap free and doubles (up to κ_max) while no number of the format lies in the
    admissible interval; θ is the format's number nearest the interval's middle, or the first one
    in it. With ``kappa`` (a shared scale) only θ is chosen. Returns ``(theta, kappa, ok)``.
    """
    hi_max = np.asarray(hi_max, dtype=np.float64)
    lo_min = np.asarray(lo_min, dtype=np.float64)
    clear = unit.clear(hi_max, lo_min)
    ok = clear > 0
    fixed = kappa is not None
    if fixed:
        k = np.broadcast_to(np.asarray(kappa, dtype=np.float64), hi_max.shape).copy()
    else:
        k = np.minimum(_pow2_at_least(4 * unit.K1 / np.where(ok, clear, 1.0)), unit.kappa_max)
    theta = np.full(hi_max.shape, np.nan)
    done = ~ok
    while True:
        todo = ~done
        if not todo.any():
            break
        lo, hi = unit.lower(hi_max[todo], k[todo]), unit.upper(lo_min[todo], k[todo])
        mid = fmt.round((lo + hi) / 2)
        good = unit.holds(mid, hi_max[todo], lo_min[todo], k[todo])
        alt = fmt.round_up(lo)
        alt_good = unit.holds(alt, hi_max[todo], lo_min[todo], k[todo])
        got = good | alt_good
        idx = np.flatnonzero(todo)
        theta[idx[got]] = np.where(good, mid, alt)[got]
        done[idx[got]] = True
        if fixed:
            break
        grow = idx[~got]
        at_cap = k[grow] >= unit.kappa_max
        done[grow[at_cap]] = True  # gives up: no number of the format fits
        k[grow[~at_cap]] = np.minimum(k[grow[~at_cap]] * 2, unit.kappa_max)
    return theta, k, ok & np.isfinite(theta)


# ---------------------------------------------------------------------------------------------
# directions
# ---------------------------------------------------------------------------------------------
def _draw_direction(d: int, nnz: int, fmt: Format, rng: np.random.Generator) -> np.ndarray:
    """A random direction with ``nnz`` nonzero coordinates, rounded to the format: of unit
    norm, or, with one nonzero, ±s with s random in [1, 2).

    Fewer nonzeros mean fewer rounded terms (a smaller γ_n) and a smaller Σ|w_k x_k|.
    """
    w = np.zeros(d)
    idx = rng.choice(d, size=min(nnz, d), replace=False)
    w[idx] = rng.standard_normal(len(idx))
    w /= np.linalg.norm(w)
    if len(idx) == 1:  # an axis: a random significand (see _pair_axis); ±1 would keep the format's grid
        w[idx] *= 1.0 + rng.random()
    w = fmt.round(w)
    if not np.any(w):
        w[idx[0]] = 1.0
    return w


def _pair_axis(xp: np.ndarray, xq: np.ndarray, fmt: Format, rng: np.random.Generator) -> np.ndarray:
    """The coordinate axis along which two points differ most relative to their size, times a
    random number of the format in [1, 2).

    One coordinate is the fewest rounded terms and the smallest Σ|w_k x_k|, so it separates the
    closest pairs. The random significand matters for a format coarser than its accumulator
    (bfloat16, float16): neighbours of the format project to s·x and s·x′, between which a
    threshold of the format usually fits, while along the bare axis none does.
    """
    diff = np.abs(xp - xq) / np.maximum(np.maximum(np.abs(xp), np.abs(xq)), 1e-300)
    w = np.zeros(len(xp))
    w[int(np.argmax(diff))] = fmt.round(np.array([1.0 + rng.random()]))[0]
    return w


class Points:
    """The rounded points with their absolute values (kept: every projection needs both)."""

    def __init__(self, X: np.ndarray):
        self.X = X
        self.absX = np.abs(X)
        self.col_max = self.absX.max(axis=0, initial=0.0)

    def span(self, w: np.ndarray) -> float:
        """A bound of |t| + |θ| over *all* points for a threshold within the data's range, in O(d)
        (a cut planned on some points still computes its off-signals on every point)."""
        return 2.0 * float(np.abs(w) @ self.col_max) + 1e-300

    @property
    def shape(self):
        return self.X.shape

    def project(self, w: np.ndarray, rows=None) -> tuple[np.ndarray, np.ndarray]:
        """t = X̂w and S = |X̂||w| (the dot product's absolute sum), float64, for ``rows`` or all."""
        nz = np.flatnonzero(w)
        X, A = (self.X, self.absX) if rows is None else (self.X[rows], self.absX[rows])
        if len(nz) * 2 < len(w):  # a sparse direction reads only its columns
            return X[:, nz] @ w[nz], A[:, nz] @ np.abs(w[nz])
        return X @ w, A @ np.abs(w)


# ---------------------------------------------------------------------------------------------
# Step 1: the inputs the network will see
# ---------------------------------------------------------------------------------------------
def round_inputs(data: Dataset, keys: np.ndarray, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """Step 1: the data rounded to the format, with one row per distinct rounded point.

    Claim: the returned rows are distinct numbers of the format, and points that round to the same
    row carry the same key (label); otherwise :class:`AssumptionError` names them — no network in
    this format can tell them apart. Returns ``(X̂, rows)`` where ``rows[i]`` is the row of point i.
    """
    with np.errstate(over="ignore"):
        Xh = fmt.round(data.X) if fmt.name != "float64" else data.X
    bad = np.flatnonzero(~np.isfinite(Xh @ np.ones(Xh.shape[1]))) if fmt.name != "float64" else []
    if len(bad):
        raise AssumptionError(
            f"X: rows {format_indices(data.index[bad])} overflow {fmt.name} (largest finite {fmt.max:.4g})"
        )
    if fmt.name != "float64":
        Xh += 0.0  # -0.0 -> 0.0 (float64 data were folded by prepare)
    first, inverse = unique_rows(Xh)
    if first.size < Xh.shape[0]:
        clash = np.flatnonzero(keys != keys[first[inverse]])
        if clash.size:
            pairs = [(int(data.index[first[inverse[i]]]), int(data.index[i])) for i in clash]
            raise AssumptionError(
                f"X: points with different labels become identical when rounded to {fmt.name}, at index "
                f"pairs {format_indices(pairs)}; no network evaluated in {fmt.name} can separate them"
            )
    return (Xh[first] if first.size < Xh.shape[0] else Xh), inverse


# ---------------------------------------------------------------------------------------------
# Step 2: level-1 cuts and cells
# ---------------------------------------------------------------------------------------------
@dataclass
class Level1:
    """Level-1 cuts and the cells they bound.

    Cut i gives the off-signals ``relu(κ_i(w_i·x − θ_i))`` (0 below the cut) and
    ``relu(κ_i(θ_i − w_i·x))`` (0 above it). Cell c is bounded by the cuts ``bounds[c]``: a pair
    (i, +1) means the cell lies below cut i, (i, −1) above it.
    """

    w: list
    theta: list
    kappa: list
    bounds: list
    cell_of: np.ndarray

    @property
    def n_cuts(self) -> int:
        return len(self.theta)

    @property
    def n_cells(self) -> int:
        return len(self.bounds)


def _sorted_bounds(t: np.ndarray, S: np.ndarray, unit: _Unit):
    """For points sorted by t: prefix max of t + ρqS and suffix min of t − ρqS."""
    order = np.argsort(t, kind="stable")
    hi = t[order] + unit.rq * S[order]
    lo = t[order] - unit.rq * S[order]
    return order, np.maximum.accumulate(hi), np.minimum.accumulate(lo[::-1])[::-1]


def _cut_direction(t, S, n_slabs: int, unit: _Unit, fmt: Format):
    """Cuts near the quantiles n/n_slabs, each at the clearest gap of its window.

    Returns ``(thetas, kappas, score)`` or None (no window has a gap a cut fits in); the score
    (cuts placed, then the smallest clear gap over the spread) ranks directions.
    """
    n = len(t)
    order, P, Q = _sorted_bounds(t, S, unit)
    clear = np.where(placeable(unit, P[:-1], Q[1:], fmt), unit.clear(P[:-1], Q[1:]), -np.inf)
    half = max(1, n // (4 * n_slabs))
    q = (np.arange(1, n_slabs) * n) // n_slabs - 1
    lo = np.maximum(0, q - half)
    width = np.minimum(n - 1, q + half) - lo
    # the clearest gap of every window (windows are short: n/(2·n_slabs) gaps)
    idx = lo[:, None] + np.minimum(np.arange(int(width.max(initial=1)))[None, :], np.maximum(width - 1, 0)[:, None])
    j = idx[np.arange(len(q)), np.argmax(clear[idx], axis=1)]
    theta, kappa, ok = place_cuts(unit, P[j], Q[j + 1], fmt)
    if not ok.any():
        return None
    # a window without a gap that fits loses its cut (the two slabs beside it are one)
    spread = float(t.max() - t.min()) if n > 1 else 1.0
    return theta[ok], kappa[ok], (int(ok.sum()), float(np.min(clear[j[ok]])) / max(spread, 1e-300))


def _span(t: np.ndarray, S: np.ndarray) -> float:
    """A bound of |t| + |θ| over the data for any threshold inside the data's range."""
    return 2.0 * float(np.max(S, initial=0.0)) + 1e-300


def plan_cells(pts: Points, fmt: Format, n_cells: int, rng: np.random.Generator, n_max: int,
               candidates: int = 2) -> Level1:
    """Step 2: a grid of slabs along G directions whose cuts every point clears.

    Claim: for every cut and every point, the point's computed off-signals are certainly 0 on one
    side and certainly ≥ ON on the other (the cut lies in a gap whose clear width exceeds the
    worst-case rounding of every point, checked over all points). The occupied cells of the grid
    are the cells. A direction with no such gap near its quantiles is dropped (one cell, at worst:
    step 3b splits what conflicts).
    """
    n, d = pts.shape
    if n_cells <= 1:
        return Level1([], [], [], [[]], np.zeros(n, dtype=np.int64))
    G = 1 if n_cells <= 16 or d == 1 else 2  # one coordinate: a second grid direction would repeat the first
    per = max(2, int(round(n_cells ** (1.0 / G))))
    grid = []
    for _ in range(G):
        best = None
        for c in range(candidates):
            nnz = d if c % 2 else min(d, 8)
            w = _draw_direction(d, nnz, fmt, rng)
            t, S = pts.project(w)
            unit = _Unit.of(fmt, int(np.count_nonzero(w)) + 1, n_max, _span(t, S))
            got = _cut_direction(t, S, per, unit, fmt)
            if got is not None and (best is None or got[2] > best[0]):
                best = (got[2], w, got[0], got[1], t)
        if best is not None:  # else no gap near a quantile fits a cut: fewer cells, split later
            grid.append(best[1:])
    if not grid:
        return Level1([], [], [], [[]], np.zeros(n, dtype=np.int64))
    slab = np.stack([np.searchsorted(theta, t) for _, theta, _, t in grid], axis=1)
    key = np.zeros(n, dtype=np.int64)
    for g in range(len(grid)):  # one integer per grid cell (unique on rows is far slower)
        key = key * (len(grid[g][1]) + 1) + slab[:, g]
    _, first_of, cell_of = np.unique(key, return_index=True, return_inverse=True)
    cells = slab[first_of]
    ws, thetas, kappas, first = [], [], [], []
    for w, theta, kappa, _ in grid:
        first.append(len(thetas))
        ws += [w] * len(theta)
        thetas += list(theta)
        kappas += list(kappa)
    bounds = []
    for row in cells:
        b = []
        for g, s_g in enumerate(row):
            if s_g > 0:
                b.append((first[g] + int(s_g) - 1, -1))
            if s_g < len(grid[g][1]):
                b.append((first[g] + int(s_g), +1))
        bounds.append(b)
    return Level1(ws, thetas, kappas, bounds, cell_of.ravel().astype(np.int64))


def _cut_between(t: np.ndarray, S: np.ndarray, p: int, q: int, unit: _Unit, fmt: Format):
    """A cut along t that every point clears and that puts points p and q on different sides,
    as near the median as possible. Returns ``(θ, κ)`` or None."""
    n = len(t)
    order, P, Q = _sorted_bounds(t, S, unit)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    lo, hi = sorted((int(rank[p]), int(rank[q])))
    if lo == hi:
        return None
    j = np.arange(lo, hi)  # the gaps between p and q
    fits = placeable(unit, P[j], Q[j + 1], fmt)
    if not fits.any():
        return None
    j = j[fits]
    pick = j[np.argmin(np.abs(j - (n - 1) / 2))]
    theta, kappa, ok = place_cuts(unit, P[pick:pick + 1], Q[pick + 1:pick + 2], fmt)
    return (float(theta[0]), float(kappa[0])) if ok[0] else None


def split_cells(pts: Points, level1: Level1, conflicts: dict, fmt: Format, rng: np.random.Generator,
                n_max: int, tries: int = 4) -> int:
    """Step 3b: cut each cell with a conflict in two, between the two points of the conflict (in place).

    ``conflicts`` maps a cell to a pair of its points that no level-2 cut can separate. Claim: the
    new cut, along a fresh direction, is certain (0 on one side, ≥ ON on the other) for every
    point of the cell, so the two halves are cells like the others, and the pair now lies in two
    cells; points outside the cell are kept out of both halves by the cell's own bounds. Returns
    the number of cells split.
    """
    n, d = pts.shape
    split = 0
    order = np.argsort(level1.cell_of, kind="stable")
    starts = np.searchsorted(level1.cell_of[order], np.arange(level1.n_cells + 1))
    for c, (p, q) in conflicts.items():
        members = order[starts[c]:starts[c + 1]]
        ip, iq = int(np.flatnonzero(members == p)[0]), int(np.flatnonzero(members == q)[0])
        for attempt in range(tries):
            # alternately the pair's own axis and a random sparse direction
            w = _pair_axis(pts.X[p], pts.X[q], fmt, rng) if attempt % 2 == 0 else _draw_direction(d, min(d, 8), fmt, rng)
            t, S = pts.project(w, members)
            unit = _Unit.of(fmt, int(np.count_nonzero(w)) + 1, n_max, pts.span(w))
            got = _cut_between(t, S, ip, iq, unit, fmt)
            if got is None:
                continue
            theta, kappa = got
            level1.w.append(w)
            level1.theta.append(theta)
            level1.kappa.append(kappa)
            i = level1.n_cuts - 1
            parent = level1.bounds[c]
            level1.bounds[c] = parent + [(i, +1)]
            level1.bounds.append(parent + [(i, -1)])
            level1.cell_of[members[t > theta]] = level1.n_cells - 1
            split += 1
            break
    return split


@dataclass
class _Leaves:
    """One candidate direction's partition of every cell into runs of equal keys."""

    w: np.ndarray
    order: np.ndarray  # points sorted by (cell, t)
    t: np.ndarray  # sorted
    P: np.ndarray  # per sorted point: max of t + ρqS over its cell's points up to it
    Q: np.ndarray  # per sorted point: min of t − ρqS over its cell's points from it on
    boundary: np.ndarray  # positions j (in sorted order) with a cut between j and j + 1
    ok_cell: np.ndarray  # per cell: every boundary admissible
    n_leaves: np.ndarray  # per cell
    conflicts: dict  # a cell with an inadmissible boundary -> the two points beside it


def _segment_running(values: np.ndarray, seg: np.ndarray, n_seg: int, suffix: bool) -> np.ndarray:
    """Running max (or, with ``suffix``, running min from the right) within each segment.

    ``seg`` is nondecreasing; the segments are laid out as the rows of a padded matrix so that one
    vectorized accumulate along the rows restarts at every segment.
    """
    n = len(values)
    starts = np.searchsorted(seg, np.arange(n_seg))
    pos = np.arange(n) - starts[seg]
    width = int(pos.max(initial=0)) + 1
    fill, ufunc = (np.inf, np.minimum) if suffix else (-np.inf, np.maximum)
    grid = np.full((n_seg, width), fill)
    grid[seg, pos] = values
    acc = ufunc.accumulate(grid[:, ::-1], axis=1)[:, ::-1] if suffix else ufunc.accumulate(grid, axis=1)
    return acc[seg, pos]


def _leaves_along(pts: Points, cell_of, keys, n_cells, w, fmt: Format, n_max: int, gain: float, sub=None):
    """Sort every cell along ``w`` and test every boundary between runs of different keys.

    ``sub`` restricts the sort to some points (the cells still to cover); the cut unit's scale
    limit is still set by all points, whose off-signals the network computes too. Returns the
    leaves and the cut unit (whose off-signals the leaves read with weight ``gain``).
    """
    t, S = pts.project(w)
    unit = _Unit.of(fmt, int(np.count_nonzero(w)) + 1, n_max, _span(t, S), gain)
    pts = np.arange(len(t)) if sub is None else sub
    order = pts[np.lexsort((t[pts], cell_of[pts]))]
    seg = cell_of[order]
    ts = t[order]
    margin = unit.rq * S[order]
    P = _segment_running(ts + margin, seg, n_cells, suffix=False)
    Q = _segment_running(ts - margin, seg, n_cells, suffix=True)
    ks = keys[order]
    same_cell = seg[1:] == seg[:-1]
    boundary = np.flatnonzero(same_cell & (ks[1:] != ks[:-1]))
    fits = placeable(unit, P[boundary], Q[boundary + 1], fmt)
    ok = np.zeros(n_cells, dtype=bool) if sub is not None else np.ones(n_cells, dtype=bool)
    ok[np.unique(seg)] = True
    bad = boundary[~fits]
    ok[seg[bad]] = False
    conflicts = {int(seg[j]): (int(order[j]), int(order[j + 1])) for j in bad[::-1]}
    n_leaves = np.bincount(seg[boundary], minlength=n_cells) + 1
    return _Leaves(w, order, ts, P, Q, boundary, ok, n_leaves, conflicts), unit


def _candidate(pts: Points, level1, keys, fmt, rng, n_max, nnz, gain, sub=None):
    w = _draw_direction(pts.shape[1], nnz, fmt, rng)
    return _leaves_along(pts, level1.cell_of, keys, level1.n_cells, w, fmt, n_max, gain, sub)


def plan_leaves(pts: Points, level1: Level1, keys: np.ndarray, fmt: Format, rng: np.random.Generator,
                n_max: int, gain: float, max_directions: int = 16, max_splits: int = 8, index=None):
    """Step 3: shared directions v_r; in every cell, cuts between runs of equal labels along one of them.

    Claim: each cell has a direction along which every boundary between two runs of different
    labels is a gap that every point of the cell clears (as in step 2, but per cell: the threshold
    of a cut depends on the cell). One sparse direction serves most cells; a cell with a close
    pair of different labels along it is split between the pair (step 3b) and tested again; cells
    that still conflict get further directions, each covering the most cells left. Returns the
    chosen ``(leaves, unit)`` per direction and each cell's direction; if some cell is left,
    :class:`AssumptionError` names one pair per such cell (by ``index``, the user's index of
    every row, when given).
    """
    n, d = pts.shape
    cands = [_candidate(pts, level1, keys, fmt, rng, n_max, min(d, 8), gain)]
    first, unit = cands[0]
    for _ in range(max_splits):
        if not first.conflicts or split_cells(pts, level1, first.conflicts, fmt, rng, n_max) == 0:
            break
        first, unit = _leaves_along(pts, level1.cell_of, keys, level1.n_cells, first.w, fmt, n_max, gain)
    chosen = [(first, unit)]
    group = np.where(first.ok_cell, 0, -1)
    tried = len(cands)
    while (group < 0).any() and tried < max_directions:
        todo = group < 0
        sub = np.flatnonzero(todo[level1.cell_of])
        batch = [_candidate(pts, level1, keys, fmt, rng, n_max, d if c % 2 else min(d, 8), gain, sub) for c in range(4)]
        tried += len(batch)
        leaves, unit = max(batch, key=lambda lu: (int(np.count_nonzero(lu[0].ok_cell & todo)),
                                                  -int(lu[0].n_leaves[todo & lu[0].ok_cell].max(initial=0))))
        gain_cells = leaves.ok_cell & todo
        if gain_cells.any():
            group[gain_cells] = len(chosen)
            chosen.append((leaves, unit))
    if (group < 0).any():
        # every such cell failed along the first direction too, so it has a pair there
        rows = np.array([first.conflicts[int(c)] for c in np.flatnonzero(group < 0)])
        names = np.sort(rows if index is None else np.asarray(index)[rows], axis=1)
        raise AssumptionError(
            f"X: points with different labels lie closer together than {fmt.name} rounding can separate, "
            f"along every one of {tried} directions tried, at index pairs {format_indices(names)}; "
            "pass another rng, or a wider format"
        )
    return chosen, group


# ---------------------------------------------------------------------------------------------
# Step 4: thresholds of the level-2 cuts, cell by cell
# ---------------------------------------------------------------------------------------------
def level2_thresholds(pts: Points, chosen, group: np.ndarray, cell_of: np.ndarray, n_cells: int, fmt: Format):
    """Step 4: for every direction r and cut slot j, one κ_{r,j} and a threshold per cell.

    Claim: with the shared κ_{r,j} (the largest any cell needs) every cell's threshold lies in its
    gap with the margins of step 3; a cell that does not use slot j (another direction, or fewer
    leaves) gets a threshold above all its points, so that slot's off-signals are certain there
    too (the "below" one ≥ ON, the "above" one 0). Returns per direction ``(κ, θ, J)``: κ of shape
    (J − 1,), θ of shape (J − 1, n_cells), J the number of leaf slots.
    """
    out = []
    for r, (lv, unit) in enumerate(chosen):
        seg = cell_of[lv.order]
        J = int(lv.n_leaves[group == r].max(initial=1))
        bnd = lv.boundary[group[seg[lv.boundary]] == r]
        bseg = seg[bnd]
        slot = np.arange(len(bnd)) - np.searchsorted(bseg, bseg, side="left")  # rank within its cell
        _, need, ok = place_cuts(unit, lv.P[bnd], lv.Q[bnd + 1], fmt)
        if not ok.all():  # pragma: no cover - step 3 checked every boundary
            raise ConstructionError("float_safe: a checked cut could not be placed; this is a bug in memorize")
        # every slot is used by the cell with the most leaves, so each κ is some cut's need; the
        # floor 1 (or κ_max, when the off-signals' budget is smaller) only rounds tiny needs up
        kappa = np.full(max(J - 1, 0), min(1.0, unit.kappa_max))
        np.maximum.at(kappa, slot, need)
        # unused slots: a threshold above every point of the cell (every cell: lv may hold a subset)
        t, S = pts.project(lv.w)
        cell_max = np.full(n_cells, -np.inf)
        np.maximum.at(cell_max, cell_of, t + unit.rq * S)
        theta = np.empty((max(J - 1, 0), n_cells))
        if J > 1:
            th = fmt.round_up(unit.lower(cell_max[None, :], kappa[:, None]))
            bad = ~(th - np.abs(th) * unit.rq - unit.K1 / kappa[:, None] >= cell_max[None, :])
            theta[:] = np.where(bad, fmt.next_up(th), th)
        th, _, ok = place_cuts(unit, lv.P[bnd], lv.Q[bnd + 1], fmt, kappa=kappa[slot])
        if not ok.all():  # pragma: no cover - a larger κ only widens the admissible interval
            raise ConstructionError("float_safe: a cut does not fit its shared scale; this is a bug in memorize")
        theta[slot, bseg] = th
        out.append((kappa, theta, J))
    return out


# ---------------------------------------------------------------------------------------------
# Step 5: leaf values
# ---------------------------------------------------------------------------------------------
def leaf_values(chosen, group, cell_of, n_cells, values: np.ndarray, J_of: list[int]):
    """Step 5: the value every leaf slot holds in every cell (0 where the cell has no such leaf).

    Claim: for a point in cell b with direction r, its leaf slot j (the run of equal labels it
    lies in along v_r) holds exactly its label row; every other slot of every direction holds 0
    in cell b. ``values`` (n, k) are the labels to store (rounded to the format). Returns per
    direction an array (J_r, n_cells, k) and each point's (direction, slot).
    """
    n, k = values.shape
    tables = []
    slot_of = np.full(n, -1, dtype=np.int64)
    for r, (lv, _) in enumerate(chosen):
        seg = cell_of[lv.order]
        J = J_of[r]
        start = np.r_[True, seg[1:] != seg[:-1]]
        new_leaf = start.copy()
        new_leaf[lv.boundary + 1] = True
        leaf_global = np.cumsum(new_leaf) - 1
        first_of_cell = np.maximum.accumulate(np.where(start, np.arange(n), 0))
        leaf = leaf_global - leaf_global[first_of_cell]
        mine = group[seg] == r
        table = np.zeros((J, n_cells, k))
        table[leaf[mine], seg[mine]] = values[lv.order[mine]]
        tables.append(table)
        slot_of[lv.order[mine]] = leaf[mine]
    return tables, slot_of


# ---------------------------------------------------------------------------------------------
# Step 6: the layers
# ---------------------------------------------------------------------------------------------
def _level1_layer(d: int, level1: Level1) -> tuple[np.ndarray, np.ndarray]:
    """Layer 1: two off-signals per level-1 cut (rows 2i, 2i + 1), then the carriers relu(±x)."""
    m = level1.n_cuts
    W = np.zeros((2 * m + 2 * d, d))
    b = np.zeros(2 * m + 2 * d)
    if m:
        kw = np.array(level1.kappa)[:, None] * np.array(level1.w)
        kt = np.array(level1.kappa) * np.array(level1.theta)
        W[0:2 * m:2], b[0:2 * m:2] = kw, -kt
        W[1:2 * m:2], b[1:2 * m:2] = -kw, kt
    W[2 * m:2 * m + d] = np.eye(d)
    W[2 * m + d:] = -np.eye(d)
    return W, b


def _cell_layer(d: int, level1: Level1, width1: int):
    """Layer 2: one gate per cell, relu(1 − the off-signals that must be 0 inside it); carriers."""
    B = level1.n_cells
    W = np.zeros((B + 2 * d, width1))
    for c, bounds in enumerate(level1.bounds):
        for i, side in bounds:
            # below cut i: its "above" signal (row 2i) must be 0; above it: the "below" one (2i + 1)
            W[c, 2 * i + (0 if side > 0 else 1)] = -1.0
    W[B:, width1 - 2 * d:] = np.eye(2 * d)
    return W, np.r_[np.ones(B), np.zeros(2 * d)]


def _level2_layer(d: int, B: int, chosen, cuts2, tables, classification: bool):
    """Layer 3: per direction and slot the two off-signals with per-cell thresholds; value units."""
    cols = B + 2 * d
    rows_W, rows_b, index = [], [], []
    for r, ((lv, _), (kappa, theta, J)) in enumerate(zip(chosen, cuts2)):
        w = lv.w
        for j in range(J - 1):
            k = kappa[j]
            up = np.zeros(cols)
            up[:B] = -k * theta[j]
            up[B:B + d] = k * w
            up[B + d:] = -k * w
            rows_W += [up, -up]
            rows_b += [0.0, 0.0]
    n_cut_rows = len(rows_W)
    for r, table in enumerate(tables):
        J, _, k = table.shape
        for j in range(J):
            for o in range(k):
                signs = (1.0,) if classification else (1.0, -1.0)
                for sgn in signs:
                    row = np.zeros(cols)
                    row[:B] = np.maximum(sgn * table[j, :, o], 0.0)
                    rows_W.append(row)
                    rows_b.append(0.0)
                    index.append((r, j, o, sgn))
    return np.array(rows_W).reshape(len(rows_W), cols), np.array(rows_b), n_cut_rows, index


def _leaf_layer(cuts2, index, n_cut_rows: int, width3: int, C: float):
    """Layer 4: leaf = relu(value − C·(the leaf's two off-signals))."""
    starts = np.cumsum([0] + [2 * max(J - 1, 0) for (_, _, J) in cuts2])
    W = np.zeros((len(index), width3))
    for i, (r, j, o, sgn) in enumerate(index):
        J = cuts2[r][2]
        W[i, n_cut_rows + i] = 1.0
        if j > 0:  # above cut j − 1: its "below" signal must be 0
            W[i, starts[r] + 2 * (j - 1) + 1] = -C
        if j < J - 1:  # below cut j: its "above" signal must be 0
            W[i, starts[r] + 2 * j] = -C
    return W, np.zeros(len(index))


def _numbers_from_one(fmt: Format, idx: np.ndarray) -> np.ndarray:
    """The ``idx``-th number of the format counting up from 1 (0-th: 1 itself; normal range)."""
    idx = np.asarray(idx, dtype=np.int64)
    per = 2 ** (fmt.p - 1)  # numbers of the format in each binade [2^e, 2^(e+1))
    return np.ldexp(1.0 + (idx % per) * 2.0 ** (1 - fmt.p), (idx // per).astype(np.int32))


def _code_unit(fmt: Format, codes: np.ndarray, n_max: int) -> _Unit:
    """The cut unit of the decoder: κ·(Σ_j leaf_j) − κθ, whose one nonzero leaf is exact. An
    output gate sums two of its off-signals and 1, so 8× below overflow is room enough (and gives
    float16's narrow range 8× more codes than the 64× of the other cuts)."""
    return _Unit.of(fmt, 2, n_max, 2.0 * float(codes[-1]), headroom=8.0)


def class_codes(n_classes: int, fmt: Format) -> np.ndarray:
    """Step 0 (classification): the code each class's leaves hold.

    Claim: the codes r_0 < r_1 < … are numbers of the format, every 2m-th one counting up from 1,
    with m the smallest power of two for which a cut fits between every two consecutive codes
    (Lemma 1 for a one-term projection, with room to spare for any layer width up to 2¹⁶);
    :class:`ArgumentError` if the codes would leave the range below 2^(emax/2), where the leaf
    gain still leaves the level-2 cuts their scales. In bfloat16 m = 1 (64 codes per binade).
    """
    c = np.arange(n_classes)
    cap = 2.0 ** (fmt.emax // 2)
    m = 1
    while m < 2 ** (fmt.p - 1):
        codes = _numbers_from_one(fmt, 2 * m * c)
        if codes[-1] >= cap:
            break
        unit = _code_unit(fmt, codes, 2**16)
        if n_classes == 1 or placeable(unit, codes[:-1] * (1 + unit.rq), codes[1:] * (1 - unit.rq), fmt).all():
            return codes
        m *= 2
    raise ArgumentError(
        f"dtype: {fmt.name} cannot tell {n_classes} classes apart in this decoder (its codes, numbers of the "
        f"format far enough apart for a cut between each two, would pass {cap:.4g}); use float32"
    )


def code_cuts(codes: np.ndarray, fmt: Format, n_max: int):
    """Step 7 (classification): a cut (θ_c, κ_c) between codes r_c and r_{c+1}, and one above the
    last code when there is a single class. Claim: Lemma 1 holds for every code on both sides of
    every cut (the input, the leaf sum, is exact); so each off-signal is exactly 0 or ≥ ON."""
    unit = _code_unit(fmt, codes, n_max)
    hi = codes * (1 + unit.rq)
    lo = codes * (1 - unit.rq)
    if len(codes) == 1:  # no boundary: a cut above the code keeps the layer's shape
        hi, lo = hi, np.array([2 * codes[0]]) * (1 - unit.rq)
    else:
        hi, lo = hi[:-1], lo[1:]
    theta, kappa, ok = place_cuts(unit, hi, lo, fmt)
    if not ok.all():  # pragma: no cover - step 0 chose codes with room for any realistic width
        raise ConstructionError("float_safe_classifier: a cut between class codes does not fit; this is a bug in memorize")
    return theta, kappa


def _decode_layers(n_leaf: int, theta: np.ndarray, kappa: np.ndarray, C: int):
    """Classification: the code r = Σ_j leaf_j cut between consecutive codes (rows 2c, 2c + 1:
    "above" and "below" cut c), and the output gate of class c, relu(1 − below_{c−1} − above_c)."""
    K = len(theta)
    W5 = np.zeros((2 * K, n_leaf))
    W5[0::2] = kappa[:, None]
    W5[1::2] = -kappa[:, None]
    b5 = np.zeros(2 * K)
    b5[0::2] = -kappa * theta
    b5[1::2] = kappa * theta
    W6 = np.zeros((C, 2 * K))
    c = np.arange(C)
    W6[c[1:], 2 * (c[1:] - 1) + 1] = -1.0  # above cut c − 1: its "below" signal must be 0
    W6[c[:-1], 2 * c[:-1]] = -1.0  # below cut c: its "above" signal must be 0
    return (W5, b5), (W6, np.ones(C))


# ---------------------------------------------------------------------------------------------
# the builders
# ---------------------------------------------------------------------------------------------
def _sizes(n: int, n_cells) -> int:
    if n_cells is not None:
        if isinstance(n_cells, bool) or not isinstance(n_cells, (int, np.integer)) or n_cells < 1:
            raise ArgumentError(f"cells: expected a positive integer, got {n_cells!r}")
        return int(n_cells)
    # units ≈ B (gates) + 3·J (cuts and leaves) and parameters ≈ 3J·B + 3J² with J ≈ 1.3·N/B: B = 4√N
    # keeps both near Theorem 3.1's (≈ 5√N units, ≈ 4.4N parameters) and the cells small enough
    # that one level-2 direction usually serves them all
    return 1 if n <= 32 else int(round(4.0 * math.sqrt(n)))


# certify in full when it costs at most this many multiply-adds; beyond, a random sample
_FULL_CHECK = 4e9
_SAMPLE = 256


@dataclass
class Routing:
    """Steps 1–5 on one data set: everything the layers are built from.

    Rows are the distinct rounded points X̂ (``pts``); ``row_of[i]`` is kept point i's row, and
    ``keys``, ``values`` are per row; ``gain`` is the leaf gain C (a power of two ≥ every |value|).
    """

    fmt: Format
    pts: Points
    row_of: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    gain: float
    n_max: int
    level1: Level1
    chosen: list
    group: np.ndarray
    cuts2: list
    tables: list
    slot_of: np.ndarray


def route(data: Dataset, keys: np.ndarray, values: np.ndarray, fmt: Format, n_cells, rng) -> Routing:
    """Steps 1–5 shared by both builders, in the order of the proof."""
    Xh, row_of = round_inputs(data, keys, fmt)
    n, d = Xh.shape
    first = np.zeros(n, dtype=np.int64)
    first[row_of[::-1]] = np.arange(len(row_of))[::-1]
    keys_h, values_h = keys[first], values[first]
    B_target = _sizes(n, n_cells)
    n_max = 4 * (B_target + 2 * d + 2)
    C = float(2.0 ** math.ceil(math.log2(max(1.0, float(np.max(np.abs(values_h)))))))
    pts = Points(Xh)
    level1 = plan_cells(pts, fmt, B_target, rng, n_max)
    chosen, group = plan_leaves(pts, level1, keys_h, fmt, rng, n_max, C, index=data.index[first])
    cuts2 = level2_thresholds(pts, chosen, group, level1.cell_of, level1.n_cells, fmt)
    tables, slot_of = leaf_values(chosen, group, level1.cell_of, level1.n_cells, values_h, [J for (_, _, J) in cuts2])
    return Routing(fmt, pts, row_of, keys_h, values_h, C, n_max, level1, chosen, group, cuts2, tables, slot_of)


def routing_layers(r: Routing, classification: bool):
    """Step 6: layers 1–4 from the routing. Returns the three first layers (``Dense``), layer 4's
    ``(W, b)`` and the leaf index (direction, slot, output, sign) of every layer-4 unit."""
    d = r.pts.shape[1]
    B = r.level1.n_cells
    W1, b1 = _level1_layer(d, r.level1)
    W2, b2 = _cell_layer(d, r.level1, W1.shape[0])
    W3, b3, n_cut_rows, index = _level2_layer(d, B, r.chosen, r.cuts2, r.tables, classification)
    W4, b4 = _leaf_layer(r.cuts2, index, n_cut_rows, W3.shape[0], r.gain)
    return [Dense(W1, b1, relu), Dense(W2, b2, relu), Dense(W3, b3, relu)], (W4, b4), index


def _route(data: Dataset, keys: np.ndarray, values: np.ndarray, fmt: Format, n_cells, rng, classification: bool):
    """Steps 1–6 shared by both builders. Returns the layers and facts for ``meta``."""
    r = route(data, keys, values, fmt, n_cells, rng)
    layers, (W4, b4), index = routing_layers(r, classification)
    scales = list(r.level1.kappa) + [float(k) for (kappa, _, _) in r.cuts2 for k in kappa]
    info = {
        "format": fmt.name,
        "n_cells": int(r.level1.n_cells),
        "level1_cuts": int(r.level1.n_cuts),
        "level2_directions": len(r.chosen),
        "leaf_slots": [int(J) for (_, _, J) in r.cuts2],
        "largest_scale": float(max(scales, default=1.0)),
        "rounded_points_merged": int(len(r.row_of) - r.pts.shape[0]),
    }
    return layers, (W4, b4), index, info


def _check(net: Network, X, y, fmt: Format, rng, method: str, index) -> dict:
    """The builder's last step: certify the network in its format (all points, or a sample)."""
    n = len(X)
    cost = float(n) * float(net.num_params)
    if cost <= _FULL_CHECK:
        pts = np.arange(n)
    else:
        pts = np.sort(rng.choice(n, size=min(n, _SAMPLE), replace=False))
    cert = certify(net, X[pts], y[pts], dtype=fmt.name)
    if not cert.ok:
        bad = np.asarray(index)[pts[cert.uncertified]]
        raise ConstructionError(
            f"{method}: the {fmt.name} certificate fails at points {format_indices(bad)}; this is a bug in memorize, "
            "please report it with the data"
        )
    return {"format": fmt.name, "points": int(len(pts)), "of": int(n), "exact": int(cert.n_exact),
            "max_bound": float(np.max(cert.bound)) if len(pts) else 0.0}


def _finish(layers, meta, exact: bool, fmt: Format) -> Network:
    """The network, after checking that every weight is a number of the format (the proof needs it)."""
    for i, layer in enumerate(layers):
        for key, a in layer.arrays().items():
            if not np.all(fmt.representable(a)):  # pragma: no cover - every weight is built from numbers of F
                raise ConstructionError(f"float_safe: layers[{i}].{key} holds a number outside {fmt.name}; this is a bug")
    net = Network(layers, meta)
    return net.to_exact() if exact else net


def _widths(n: int, dx: int, dy: int, classification: bool, cells=None, n_cells=None, level1_cuts=None,
            leaf_slots=None) -> tuple:
    """Hidden widths from the routing's counts (``n_cells``, ``level1_cuts``, ``leaf_slots`` as the
    builder records them in ``meta``); counts not given are those expected on generic data (the
    planned grid and one level-2 direction with about 1.3·N/B leaves per cell)."""
    if n_cells is None or level1_cuts is None:
        B = _sizes(n, cells)
        if B <= 1:
            level1_cuts, n_cells = 0, 1
        else:
            G = 1 if B <= 16 or dx == 1 else 2
            per = max(2, int(round(B ** (1.0 / G))))
            level1_cuts, n_cells = G * (per - 1), per**G
    if leaf_slots is None:
        leaf_slots = [max(1, math.ceil(1.3 * n / n_cells) + 2)]
    J = int(sum(leaf_slots))
    vals = J if classification else 2 * J * dy
    widths = [2 * level1_cuts + 2 * dx, n_cells + 2 * dx, 2 * (J - len(leaf_slots)) + vals, vals]
    if classification:
        widths.append(2 * max(dy - 1, 1))
    return tuple(int(w) for w in widths)


def _params(dims) -> int:
    return int(sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(len(dims) - 1)))


def architecture(n: int, dx: int, dy: int = 1, *, cells=None, n_cells=None, level1_cuts=None, leaf_slots=None,
                 **_options) -> Architecture:
    """Size of :func:`float_safe`: exact from the counts a built network records in ``meta``,
    expected on generic data otherwise (cells, leaf slots and directions depend on the data)."""
    w = _widths(n, dx, dy, False, cells, n_cells, level1_cuts, leaf_slots)
    return Architecture("float_safe", dx, w, dy, _params([dx, *w, dy]),
                        notes="expected size on generic data; the built network reports its own")


def classifier_architecture(n: int, dx: int, dy: int = 2, *, cells=None, n_cells=None, level1_cuts=None,
                            leaf_slots=None, **_options) -> Architecture:
    """Size of :func:`float_safe_classifier` (see :func:`architecture`)."""
    w = _widths(n, dx, dy, True, cells, n_cells, level1_cuts, leaf_slots)
    return Architecture("float_safe_classifier", dx, w, dy, _params([dx, *w, dy]),
                        notes="expected size on generic data; the built network reports its own")


@register(
    "float_safe_classifier",
    summary="Routing network (this library): exactly one-hot in float32/bfloat16 by design, certified for any summation order; ≈ 4√N cell gates, 3J cut/leaf units (J, the most leaves in a cell: ≈ 0.5√N at N = 10⁴) and 2(C − 1) code cuts.",
    task="classification",
    architecture=classifier_architecture,
    reference=_REFERENCE,
    assumptions=("distinct points in the target format",),
    float_limits="by design",
)
def float_safe_classifier(X, y, *, dtype="float32", classes=None, cells=None, rng=None, exact: bool = False) -> Network:
    """Build a classifier that is exactly one-hot on its data when run in ``dtype``.

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,) or (N, C)
        Class labels or one-hot rows.
    classes : array_like, optional
        The class list (fixes the output order and number).

    dtype : str, NumPy or torch dtype, default "float32"
        The format the network is built for: "float32", "bfloat16", "float16" or "float64". Its
        weights are numbers of that format and it is certified in it (any summation order).
    cells : int, optional
        Level-1 cells to aim for (default about 4√N; 1 for N ≤ 32).
    rng : None, int or numpy.random.Generator
        Seeds the directions (``None`` means seed 0).
    exact : bool, default False
        Return the same network in exact rational arithmetic (its weights are those of the
        format). Evaluated exactly on the inputs rounded to the format it has error 0 (against
        ``y`` rounded to the format, for regression); for float32 and float64 on the inputs
        themselves too, since the cuts' margins cover float32's rounding of the inputs.
    Returns
    -------
    Network
        Five hidden ReLU layers (cuts, cells, per-cell cuts and values, leaves, cuts between the
        class codes) and C ReLU outputs (one gate per class). ``meta["certificate"]`` says in which format the builder certified it and on how
        many points (all of them when that costs at most a few seconds, else a random sample of
        256: certify the rest with :func:`memorize.certify`).

    Notes
    -----
    Theorem (this library, proof in ``docs/float_safe.md``): for N points whose roundings to the
    format are distinct and C classes, the routing network built here outputs exactly the one-hot
    row of every point's class when evaluated in the format, for every order of every sum, with
    or without fused multiply-adds and with subnormals kept or flushed. Every hidden unit either
    compares a projection with a threshold in a gap wider than its worst-case rounding, so that
    its output is exactly 0 on one side and ≥ 2 on the other, or sums terms all but one of which
    are exactly 0. Assumption beyond distinctness: differently labelled points must lie farther
    apart, along one of the directions tried, than the worst-case rounding of a projection plus
    room for a threshold of the format (a few units in the last place; in float32 and float64 no
    certificate of this error model separates two points one unit apart in their only differing
    coordinate): closer points are refused with :class:`~memorize.errors.AssumptionError`
    naming them. Size: about 4√N cell gates plus 3J cut and leaf units, J the largest number of
    leaves in a cell (≈ 1.3·N/(4√N)), and 2(C − 1) code cuts: Θ(√N + C) hidden units and Θ(N)
    parameters.

    References
    ----------
    Y. Park, G. Hwang, W. Lee, S. Park. Expressive power of ReLU and step networks under
    floating-point operations. Neural Networks 2024 (arXiv:2401.15121).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((300, 8)), rng.integers(0, 5, 300)
    >>> net = memorize.build("float_safe_classifier", X, y)
    >>> memorize.certify(net, X, y, dtype="float32").ok
    True
    """
    fmt = as_format(dtype)
    data: Dataset = prepare(X, y, task="classification", classes=classes)
    gen = as_rng(rng)
    C = data.k
    code_of = class_codes(C, fmt)
    labels = data.labels.astype(np.int64)
    layers, (W4, b4), index, info = _route(data, labels, code_of[labels][:, None], fmt, cells, gen, True)
    theta, kappa = code_cuts(code_of, fmt, W4.shape[0] + 1)
    (W5, b5), (W6, b6) = _decode_layers(W4.shape[0], theta, kappa, C)
    layers += [Dense(W4, b4, relu), Dense(W5, b5, relu), Dense(W6, b6, relu)]
    meta = {
        "method": "float_safe_classifier",
        "classes": [c.item() if hasattr(c, "item") else c for c in data.classes],
        "n_duplicates_merged": data.n_duplicates,
        **info,
    }
    net = Network(layers, meta)
    # one class: a single output, which certify would read as a real target (the label itself)
    labels = data.Y if C == 1 else data.classes[data.labels]
    check = _check(net, data.X, labels, fmt, gen, "float_safe_classifier", data.index)
    return _finish(net.layers, {**meta, "certificate": check}, exact, fmt)


@register(
    "float_safe",
    summary="Routing network (this library): outputs exactly fl(y) in float32/bfloat16 by design, certified for any summation order; ≈ 4√N cell gates and (2 + 4d_y)·J cut/value/leaf units (J, the most leaves in a cell: ≈ 0.5√N at N = 10⁴).",
    task="regression",
    architecture=architecture,
    reference=_REFERENCE,
    assumptions=("distinct points in the target format",),
    float_limits="by design",
)
def float_safe(X, y, *, dtype="float32", cells=None, rng=None, exact: bool = False) -> Network:
    """Build a regression network whose outputs are exactly the labels rounded to ``dtype``.

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,) or (N, k)
        Real labels; the network returns each rounded to the format, exactly.

    dtype, cells, rng, exact
        As in :func:`float_safe_classifier` (the format, default "float32"; level-1 cells; the
        seed; the same network in exact rational arithmetic, error 0 against ``y`` rounded).
    Returns
    -------
    Network
        Four hidden ReLU layers (cuts, cells, per-cell cuts and values, leaves); the output adds
        the leaves, of which exactly one is nonzero at every data point.

    Notes
    -----
    Same routing as :func:`float_safe_classifier` (proof in ``docs/float_safe.md``); a leaf holds
    the positive and negative parts of its label in two units, so at a data point the output sum
    has exactly one nonzero term and its value is that term: ``fl(y)`` exactly, in every
    evaluation order.

    References
    ----------
    Y. Park, G. Hwang, W. Lee, S. Park. Expressive power of ReLU and step networks under
    floating-point operations. Neural Networks 2024 (arXiv:2401.15121).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> from memorize.precision import forward
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((300, 8)), rng.uniform(-1, 1, 300)
    >>> net = memorize.build("float_safe", X, y)
    >>> bool(np.all(forward(net, X, "float32")[:, 0] == y.astype(np.float32)))
    True
    """
    fmt = as_format(dtype)
    data: Dataset = prepare(X, y, task="regression")
    gen = as_rng(rng)
    with np.errstate(over="ignore"):
        Yh = fmt.round(data.Y)
    bad = np.flatnonzero(~np.all(np.isfinite(Yh), axis=1))
    if bad.size:
        raise ArgumentError(f"y: rows {format_indices(data.index[bad])} overflow {fmt.name}")
    Yh += 0.0
    _, keys = unique_rows(np.ascontiguousarray(Yh))
    layers, (W4, b4), index, info = _route(data, keys.astype(np.int64), Yh, fmt, cells, gen, False)
    k = data.k
    Wout = np.zeros((k, W4.shape[0]))
    for i, (_, _, o, sgn) in enumerate(index):
        Wout[o, i] = sgn
    layers += [Dense(W4, b4, relu), Dense(Wout, np.zeros(k), identity)]
    meta = {"method": "float_safe", "n_duplicates_merged": data.n_duplicates, **info}
    net = Network(layers, meta)
    check = _check(net, data.X, Yh, fmt, gen, "float_safe", data.index)
    return _finish(net.layers, {**meta, "certificate": check}, exact, fmt)
