"""Proposition 3.4 of Yun et al. 2019 (deeper and/or narrower networks): pair search and assembly.

The pair search (:func:`best_starts`, :func:`valid_starts`, :func:`pair_capacity`) checks the
proposition's conditions on the hard-tanh widths. :func:`build_deep_ht` runs the construction's
steps in order: one projection carried through the network (step 1), one chunk of the sorted
points per pair of layers (step 2), the carrier and accumulator units (step 3), a Theorem 3.1
core per pair (step 4) and the output layer (step 5).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..._arith import Arithmetic
from ..._linalg import EPS64
from ...activations import hardtanh, identity
from ...errors import AssumptionError
from ...network import Dense
from . import _core


def carriers(j: int, m: int, dy: int) -> int:
    """r_j = d_y·1{j > 1} + 1{j < m} (j is 1-based)."""
    return dy * (j > 1) + (j < m)


def pair_capacity(D, starts, dy: int) -> int:
    """The proposition's capacity 4 Σ_j ⌊(d_{l_j} − r_j)/2⌋⌊(d_{l_j+1} − r_j)/(2 d_y)⌋ (hard-tanh widths)."""
    m = len(starts)
    tot = 0
    for j, l in enumerate(starts, start=1):
        r = carriers(j, m, dy)
        a, b = D[l - 1] - r, D[l] - r
        if a < 2 or b < 2 * dy:
            return -1
        tot += 4 * (a // 2) * (b // (2 * dy))
    return tot


def valid_starts(D, starts, dy: int) -> str | None:
    """None if the pair starts meet the structural conditions, else the reason."""
    L1 = len(D)  # hidden layers; the output is layer L = L1 + 1
    if not starts:
        return "at least one pair of layers is needed"
    if list(starts) != sorted(set(starts)):
        return "pair starts must be strictly increasing"
    if starts[0] < 1 or starts[-1] > L1 - 1:
        return f"pair starts must lie in 1..{L1 - 1} (l_j ≤ L − 2)"
    for a, b in zip(starts, starts[1:]):
        if not a + 1 < b:
            return "pairs must be disjoint (l_j + 1 < l_{j+1})"
    for a, b in zip(starts, starts[1:]):
        for k in range(a + 2, b):
            if D[k - 1] < dy + 1:
                return f"layer {k} lies between two pairs and needs width ≥ d_y + 1 = {dy + 1}"
    for k in range(starts[-1] + 2, L1 + 1):
        if D[k - 1] < dy:
            return f"layer {k} lies after the last pair and needs width ≥ d_y = {dy}"
    return None


def best_starts(D, dy: int, limit: int = 20):
    """The pair starts with the largest capacity (exhaustive for ≤ ``limit`` hidden layers)."""
    L1 = len(D)
    best = (-1, None)
    if L1 - 1 > limit:
        # greedy: disjoint pairs left to right
        cands = [list(range(1, L1, 3)), list(range(1, L1, 2))]
    else:
        cands = (
            list(c)
            for r in range(1, L1 // 2 + 1)
            for c in itertools.combinations(range(1, L1), r)
        )
    for c in cands:
        if valid_starts(D, c, dy) is None:
            cap = pair_capacity(D, c, dy)
            if cap > best[0]:
                best = (cap, list(c))
    return best


@dataclass
class Layout:
    """Where the units of hidden layer l (1-based) sit: [pair units][t-carrier][accumulators].

    The t-carrier lives in layers 1 .. l_m − 1 (the last pair's windows read it), the d_y
    accumulators in layers l_1 + 2 .. L − 1 (after the first pair's output).
    """

    D: list
    dy: int
    has_t: list
    has_acc: list

    @classmethod
    def of(cls, D, starts, dy: int) -> "Layout":
        L1 = len(D)
        return cls(list(D), dy, [l < starts[-1] for l in range(1, L1 + 1)], [l >= starts[0] + 2 for l in range(1, L1 + 1)])

    def t_idx(self, l: int) -> int:
        """Index of the t-carrier in hidden layer l."""
        return self.D[l - 1] - (self.dy if self.has_acc[l - 1] else 0) - 1

    def acc_idx(self, l: int) -> int:
        """Index of the first accumulator in hidden layer l."""
        return self.D[l - 1] - self.dy


def build_deep_ht(ar: Arithmetic, X, Y, D, starts, *, V, mu, eta, strategy, rng, n_dir, method):
    """Hard-tanh layers (list of Dense) for Proposition 3.4 with hard-tanh widths ``D``, and meta facts.

    Every pair j outputs y at the points of its chunk and exactly −V at every other point; the
    accumulators add the pairs' outputs scaled by κ (which keeps them in σ_H's linear range),
    and the output layer returns acc/κ + (m' − 1)V = y, m' the pairs that hold points.
    """
    n, d = X.shape
    dy = Y.shape[1]
    m, L1 = len(starts), len(D)
    u, order, w_car, beta0, cs = carrier_projection(ar, X, n_dir, rng, method)
    sizes = chunk_sizes(D, starts, dy, n)
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    lay = Layout.of(D, starts, dy)
    W = [ar.zeros((D[i], d if i == 0 else D[i - 1])) for i in range(L1)] + [ar.zeros((dy, D[-1]))]
    b = [ar.zeros(D[i]) for i in range(L1)] + [ar.zeros(dy)]
    carrier_units(W, b, lay, w_car, beta0)
    kappa = ar.div(ar.const(1), 2 * (m * V + 2))
    Ys = ar.array(Y)[order]
    fits = []
    for j, l in enumerate(starts):
        a, e = int(bounds[j]), int(bounds[j + 1])
        if e > a:
            K = 2 * ((D[l] - carriers(j + 1, m, dy)) // (2 * dy))
            win, aw, bw, S = pair_windows(ar, cs, a, e, K, eta, method)
            fits += fit_pair(ar, W, b, lay, l, win, aw, bw, S, Ys[a:e], carrier=(w_car, beta0), close_end=e < n,
                             V=V, mu=mu, strategy=strategy, kappa=kappa)
    output_layer(ar, W, b, lay, int(np.count_nonzero(np.diff(bounds) > 0)), V, kappa)
    layers = [Dense(W[i], b[i], hardtanh) for i in range(L1)] + [Dense(W[L1], b[L1], identity)]
    info = {
        "chunks": [int(x) for x in sizes],
        "pairs": list(starts),
        "strategy": [zz.strategy for zz in fits],
        "max_level": max([0.0] + [float(zz.max_level) for zz in fits]),
        "direction": [float(x) for x in u],
        "kappa": float(kappa),
    }
    return layers, info


def carrier_projection(ar: Arithmetic, X, n_dir: int, rng, method: str):
    """Step 1: one direction u for the whole network and the carrier c(x) = α<u, x> + β0.

    Claim: the carrier values ``cs`` of the sorted points increase strictly (exactly, or with
    every gap above 256·ε in float64) from −½ to ½ (α = 1/(t_max − t_min), β0 = −½ − α·t_min),
    so a hard-tanh unit passes c unchanged. In float64 ``cs`` are the values layer 1 computes,
    <w_car, x> + β0 with w_car = αu. Returns ``(u, order, w_car, β0, cs)``.
    """
    u, order, _, _ = _core.choose_direction(ar, X, n_dir, rng, 1)
    ts, order, _ = ar.sorted_projection(X, u, order)
    tmin, tmax = ts[0], ts[-1]
    alpha = ar.div(ar.const(1), tmax - tmin) if tmax > tmin else ar.const(1)
    beta0 = ar.const(-1, 2) - alpha * tmin
    w_car = ar.array(u) * alpha
    cs = (ar.project(X, w_car) + beta0)[order]
    if not ar.separated(np.diff(cs), 1.0, 256):
        if ar.exact:
            raise AssumptionError(f"X: {method}: no direction with distinct exact projections; points must be distinct")
        raise AssumptionError(f"X: {method}: two points project within float64 rounding; pass exact=True")
    return u, order, w_car, beta0, cs


def chunk_sizes(D, starts, dy: int, n: int) -> list[int]:
    """Step 2: the chunk of sorted points each pair fits, in proportion to the pairs' capacities.

    Claim: chunk j holds at most (d_{l_j} − r_j)·K_j points (windows of K_j positions filling
    layer l_j beside its carriers); the sizes add up to n when the capacities do.
    """
    m = len(starts)
    caps = []
    for j, l in enumerate(starts, start=1):
        r = carriers(j, m, dy)
        caps.append((D[l - 1] - r) * 2 * ((D[l] - r) // (2 * dy)))
    sizes, left = [], n
    for j in range(m):
        rest = sum(caps[j:])
        nj = min(caps[j], -(-left * caps[j] // rest)) if rest else 0
        sizes.append(nj)
        left -= nj
    return sizes


def carrier_units(W, b, lay: Layout, w_car, beta0) -> None:
    """Step 3: the t-carrier of layer 1 computes c(x); every later one copies the previous one
    with weight 1, and every accumulator copies its predecessor.

    Claim: since |c| ≤ ½ every carrier stays in σ_H's linear range, so the t-carrier of every
    layer l < l_m holds c(x) exactly (and in float64 bit for bit: weight 1, bias 0).
    """
    for l in range(1, len(lay.D) + 1):
        if lay.has_t[l - 1]:
            ti = lay.t_idx(l)
            if l == 1:
                W[0][ti] = w_car
                b[0][ti] = beta0
            else:
                W[l - 1][ti, lay.t_idx(l - 1)] = 1
        if lay.has_acc[l - 1] and l - 1 >= 1 and lay.has_acc[l - 2]:
            for c in range(lay.dy):
                W[l - 1][lay.acc_idx(l) + c, lay.acc_idx(l - 1) + c] = 1


def pair_windows(ar: Arithmetic, cs, a: int, e: int, K: int, eta, method: str):
    """Step 4a: the windows of a pair over its chunk ``cs[a:e]``, their ramps and positions.

    Claim: as :func:`_core.make_windows`, with the outer ramp ends inside the gaps to the
    neighbouring chunks, so every point of another chunk saturates every window of the pair;
    in float64 the margin exceeds the rounding of a ramp reading the carrier (|c| ≤ 1).
    Returns ``(windows, c, e, S)`` (see :func:`_core.ramps`).
    """
    n = len(cs)
    lo = cs[a - 1] if a > 0 else None
    hi = cs[e] if e < n else None
    win = _core.make_windows(ar, cs[a:e], max(1, -(-(e - a) // K)), K, ar.rational(eta, 1000), lo=lo, hi=hi)
    aw, bw, S = _core.ramps(ar, win)
    if np.any(win.margin < ar.tol(64 * EPS64 * (ar.to_float(aw) + 1))):
        raise AssumptionError(f"X: {method}: two chunks meet within float64 rounding; pass exact=True")
    _core.check_positions(ar, S, f"X: {method}: two points are indistinguishable in float64; pass exact=True")
    return win, aw, bw, S


def fit_pair(ar: Arithmetic, W, b, lay: Layout, l: int, win, aw, bw, S, Yc, *, carrier, close_end: bool,
             V, mu, strategy: str, kappa) -> list:
    """Step 4b: pair (l, l + 1) is a Theorem 3.1 core on its chunk, with labels ``Yc`` (sorted).

    Layer l holds the windows (reading x through the carrier's weights when l = 1, else the
    t-carrier of layer l − 1), layer l + 1 a block of zig-zags per output (``close_end``: the last
    level saturates too, for the points right of the chunk). Claim: the block output
    Σ v σ_H(z) − V is y at the chunk's points and −V at every other point; it is added, times κ,
    to the accumulators of layer l + 2 (or to the output when l + 1 is the last hidden layer).
    Returns the fitted :class:`_core.ZigZag` of every output.
    """
    L1 = len(lay.D)
    n_win, K = S.shape
    if l == 1:
        w_car, beta0 = carrier
        W[0][:n_win] = aw[:, None] * w_car[None, :]
        b[0][:n_win] = aw * beta0 + bw
    else:
        W[l - 1][:n_win, lay.t_idx(l - 1)] = aw
        b[l - 1][:n_win] = bw
    Yw = _core.window_labels(ar, Yc, win)
    vv = ar.array(np.where(np.arange(K) < K // 2, 1, -1)) * V
    fits = []
    for cc in range(lay.dy):
        zz = _core.fit_zigzag(ar, S, Yw[:, :, cc], V, mu, strategy, close_end=close_end)
        rows = slice(cc * K, (cc + 1) * K)
        W[l][rows, :n_win], b[l][rows] = _core.zigzag_weights(ar, zz.G)
        if l + 2 <= L1:
            acc = lay.acc_idx(l + 2) + cc
            W[l + 1][acc, rows] = vv * kappa
            b[l + 1][acc] = b[l + 1][acc] - V * kappa
        else:
            W[L1][cc, rows] = vv
            b[L1][cc] = b[L1][cc] - V
        fits.append(zz)
    return fits


def output_layer(ar: Arithmetic, W, b, lay: Layout, used: int, V, kappa) -> None:
    """Step 5: the output layer, acc/κ + (m' − 1)V with m' the pairs that hold points.

    Claim: the output is Σ_j P_j + (m' − 1)V with P_j the output of pair j (the accumulators hold
    κ·Σ P_j over the pairs before the last hidden layer, a pair ending there adds P_j directly).
    At a point of chunk j one pair gives y and the m' − 1 others −V, so the output is y (an empty
    pair has zero weights and adds 0, not −V).
    """
    L1 = len(lay.D)
    for cc in range(lay.dy):
        if lay.has_acc[L1 - 1]:
            W[L1][cc, lay.acc_idx(L1) + cc] = ar.div(ar.const(1), kappa)
        b[L1][cc] = b[L1][cc] + (used - 1) * V
