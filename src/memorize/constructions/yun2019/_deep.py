"""Proposition 3.4 of Yun et al. 2019 (deeper and/or narrower networks): widths, pairs and assembly.

The pair search (:func:`best_starts`, :func:`valid_starts`, :func:`pair_capacity`) checks the
proposition's conditions on the hard-tanh widths; :func:`plan` checks given widths or makes the
default ones (:func:`default_widths`, one pair per :data:`PAIR_POINTS` points). :func:`build_deep_ht`
runs the construction's steps in order: the direction of the projection all pairs share (step 1),
the carrier of every point (step 2), the carrier and accumulator units (step 3), every pair's
windows (step 4) and their layer (step 5), in float64 the positions the final network computes
(step 6), every pair's zig-zags (step 7) and the output layer (step 8). :func:`certified_in` is
the builders' last step for a format other than float64.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..._arith import FLOAT64, Arithmetic
from ..._linalg import EPS64
from ...activations import Activation, hardtanh, identity
from ...errors import ArgumentError, ArgumentTypeError, AssumptionError, CapacityError, ConstructionError
from ...certificate import certify
from ...data import format_indices
from ...network import Dense, Factored, Network
from ...precision import Format, as_format, round_network
from ...verify import check_self
from . import _build, _core
from ._options import check_widths, factor


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


#: Points per pair in the default widths. Theorem 3.1's float64 error grows about as the square
#: of the points one core fits (ReLU, d = 32, N = 10⁵: 7.7e-7 with pairs of 2·10⁴ points, 3.7e-7 with
#: 10⁴, 1.3e-7 with 5000; see docs/yun2019_deep.md), so the default keeps it well under 1e-6.
PAIR_POINTS = 5000
#: Pairs of the default widths for small N: a deep network even when one pair would do.
MIN_PAIRS = 3


def default_depth(n: int) -> int:
    """Hidden layers of the default network: 2·max(3, ⌈N/5000⌉), one pair per 5000 points.

    Examples
    --------
    >>> default_depth(100), default_depth(10**5)
    (6, 40)
    """
    return 2 * max(MIN_PAIRS, -(-int(n) // PAIR_POINTS))


def default_widths(n: int, dy: int, f: int, depth: int) -> tuple[tuple, list]:
    """The default hidden widths for ``depth`` layers and the pair starts 1, 3, 5, ...

    ⌊depth/2⌋ pairs fill the layers; each gets ⌈N/m⌉ points with Theorem 3.1's smallest pair
    (2a, 2d_y·b), 4ab ≥ ⌈N/m⌉, plus its r_j carrier units; an odd depth ends with a layer of d_y
    accumulators. ``f`` units per hard-tanh unit (2 for ReLU-like). Returns ``(widths, starts)``.

    Examples
    --------
    >>> default_widths(300, 1, 2, 6)
    ((22, 22, 24, 24, 22, 22), [1, 3, 5])
    """
    m = depth // 2
    a, b = _core.smallest_pair(-(-max(1, n) // m), 2, 2 * dy)
    D = []
    for j in range(1, m + 1):
        r = carriers(j, m, dy)
        D += [2 * a + r, 2 * dy * b + r]
    D += [dy] * (depth - 2 * m)
    return tuple(f * x for x in D), list(range(1, 2 * m, 2))


def check_depth(depth) -> int:
    """A number of hidden layers ≥ 2 (one pair at least)."""
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 2:
        raise ArgumentError(f"depth: expected an integer number of hidden layers ≥ 2 (one pair), got {depth!r}")
    return int(depth)


def as_widths(widths, least: int, who: str) -> tuple:
    """``widths`` as a tuple of at least ``least`` entries (checked one by one later)."""
    try:
        w = tuple(widths)
    except TypeError:
        raise ArgumentTypeError(f"widths: expected a sequence of hidden widths, got {widths!r}") from None
    if len(w) < least:
        raise ArgumentError(f"widths: {who} at least {least} hidden layers, got {w}")
    return w


def plan(n: int, dy: int, act: Activation, widths, pairs, depth, theorem: str = "Proposition 3.4"):
    """Hidden widths, hard-tanh widths, pair starts and capacity of a Proposition 3.4 network.

    Default (``widths`` None): :func:`default_widths` for ``depth`` (default
    :func:`default_depth`). Given widths are checked against every condition of the
    proposition (``pairs``: checked, or the choice with the largest capacity).
    """
    f = factor(act)
    if widths is None:
        if pairs is not None:
            raise ArgumentError("pairs: pass it with widths; the default widths put the pairs at layers 1, 3, 5, ...")
        depth = default_depth(n) if depth is None else check_depth(depth)
        w, starts = default_widths(n, dy, f, depth)
        D = [x // f for x in w]
        return w, D, starts, pair_capacity(D, starts, dy)
    w = as_widths(widths, 2, f"{theorem} needs")
    if depth is not None and check_depth(depth) != len(w):
        raise ArgumentError(f"depth: {depth} disagrees with the {len(w)} widths given; pass one of them")
    w = check_widths(w, len(w))
    D = [x // f for x in w]
    unit = "" if f == 1 else " (ReLU-like: applied to ⌊d_l/2⌋)"
    cond = (
        "4 Σ_j ⌊(d_{l_j} − r_j)/2⌋⌊(d_{l_j+1} − r_j)/(2 d_y)⌋ ≥ N with r_j = d_y·1{j>1} + 1{j<m}, "
        "disjoint pairs l_j + 1 < l_{j+1} ≤ L − 2, widths ≥ d_y + 1 between pairs and ≥ d_y after the last"
        + unit
    )
    if pairs is None:
        cap, starts = best_starts(D, dy)
        if starts is None:
            raise CapacityError(f"widths: no choice of layer pairs meets {theorem}'s conditions for {w}: {cond}")
    else:
        starts = [int(p) for p in pairs]
        why = valid_starts(D, starts, dy)
        if why is not None:
            raise CapacityError(f"pairs: {why}; {theorem} needs {cond}")
        cap = pair_capacity(D, starts, dy)
    if cap < n:
        raise CapacityError(
            f"widths: {act!r} widths {w} with pairs starting at layers {starts} hold at most {max(cap, 0)} points "
            f"< N = {n}; {theorem} needs {cond}"
        )
    return w, D, starts, cap


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


@dataclass(frozen=True)
class FloatTarget:
    """The final float64 network a float build fits its pairs to: activation, every hidden width
    (with any layer after the pairs' network, e.g. a class decoder) and the output dimension."""

    act: Activation
    widths: tuple
    d_out: int

    def rows(self, d_in: int) -> int:
        """Rows per forward chunk of the final network (as ``verify`` chunks it)."""
        return _build.chunk_rows_for(self.widths, d_in, self.d_out)


@dataclass
class Pair:
    """Pair j (0-based) at layers (l, l + 1): its chunk ``[a, e)`` of the sorted points, windows
    of K positions, their ramps ``aw·c + bw`` and the positions S of the chunk's points."""

    j: int
    l: int
    a: int
    e: int
    win: _core.Windows
    aw: np.ndarray
    bw: np.ndarray
    S: np.ndarray


def build_deep_ht(ar: Arithmetic, X, Y, D, starts, *, V, mu, eta, strategy, rng, n_dir, method,
                  target: FloatTarget, refit: bool = True, n_trials: int = 1):
    """Hard-tanh layers (list of Dense) for Proposition 3.4 with hard-tanh widths ``D``, the ReLU
    rewrite's mirror masks and meta facts.

    Every pair j outputs y at the points of its chunk and exactly −V at every other point; the
    accumulators add the pairs' outputs scaled by κ (which keeps them in σ_H's linear range),
    and the output layer returns acc/κ + (m' − 1)V = y, m' the pairs that hold points. A float64
    build tries ``n_trials`` directions and fits (``refit``) every pair's zig-zags to the
    positions its windows have in the final network (``target``).
    """
    n, d = X.shape
    dy = Y.shape[1]
    m, L1 = len(starts), len(D)
    bounds = np.concatenate([[0], np.cumsum(chunk_sizes(D, starts, dy, n))]).astype(np.int64)
    fit = {"V": V, "mu": mu, "strategy": strategy, "relu_proxy": target.act.name != "hardtanh"}
    trials = 1 if ar.exact else n_trials  # the trials compare predicted float64 errors
    u, order, score = carrier_direction(ar, X, Y, D, starts, bounds, n_dir, rng, trials, eta, fit)
    w_car, beta0, cs = carrier_projection(ar, X, u, order, method)
    lay = Layout.of(D, starts, dy)
    # layer 1 reads x only through the carrier's projection: W[0] holds each unit's multiple of
    # w_car (one column), and the layer is the rank-one product W[0]·w_carᵀ (Factored)
    W = [ar.zeros((D[i], 1 if i == 0 else D[i - 1])) for i in range(L1)] + [ar.zeros((dy, D[-1]))]
    b = [ar.zeros(D[i]) for i in range(L1)] + [ar.zeros(dy)]
    carrier_units(W, b, lay, w_car, beta0)
    pairs = pair_windows(ar, cs, bounds, D, starts, dy, eta, method)
    mirror = window_rows(W, b, lay, pairs, (w_car, beta0))
    refitted = bool(refit and not ar.exact)  # float64 only: exact windows compute S itself
    if refitted:
        refit_positions(W, b, w_car, pairs, X, order, target, mirror)
    kappa = ar.div(ar.const(1), 2 * (m * V + 2))
    Ys = ar.array(Y)[order]
    fits = []
    for P in pairs:
        _core.check_positions(ar, P.S, f"X: {method}: two points are indistinguishable after float64 rounding; pass exact=True")
        fits += pair_zigzags(ar, W, b, lay, P, Ys[P.a:P.e], close_end=P.e < n, kappa=kappa, **fit)
    output_layer(ar, W, b, lay, len(pairs), V, kappa)
    layers = hardtanh_layers(W, b, w_car, L1) + [Dense(W[L1], b[L1], identity)]
    mass = max([0.0] + [float(zz.mass) for zz in fits])
    info = {
        "chunks": [int(x) for x in np.diff(bounds)],
        "pairs": list(starts),
        "strategy": [zz.strategy for zz in fits],
        "max_level": max([0.0] + [float(zz.max_level) for zz in fits]),
        "cancellation_mass": mass,
        # rough float64 error of the output, as Theorem 3.1's (exact: 0)
        "predicted_error": mass * ar.eps,
        "direction": [float(x) for x in u],
        "window_score": float(score),
        "kappa": float(kappa),
        "refit_to_float": refitted,
    }
    return layers, mirror, info


def carrier_direction(ar: Arithmetic, X, Y, D, starts, bounds, n_dir: int, rng, n_trials: int, eta, fit: dict):
    """Step 1: the direction u of the projection all pairs share.

    The ``n_dir`` random directions are ranked by the span of the projections over their
    smallest gap; with ``n_trials > 1`` (float64 only) the pairs' zig-zags of the first output
    are fitted on the best ``n_trials`` (positions straight from the windows) and the direction
    whose worst pair has the smallest predicted cancellation wins, as for Theorem 3.1: the
    float64 error is heavy-tailed over directions. Returns ``(u, order, score)``.
    """
    if n_trials <= 1:
        u, order, _, score = _core.choose_direction(ar, X, n_dir, rng, 1)
        return u, order, score
    best = None
    cands = _core.choose_direction(ar, X, n_dir, rng, 1, keep=n_trials)
    for u_c, order_c, ts_c, score_c in cands:
        mass = _trial_mass(ts_c, Y[order_c], D, starts, bounds, eta, fit)
        if best is None or mass < best[0]:
            best = (mass, u_c, order_c, score_c)
    return best[1], best[2], best[3]


def _trial_mass(ts, Ys, D, starts, bounds, eta, fit: dict) -> float:
    """The largest predicted cancellation over the pairs along sorted float64 projections ``ts``
    (inf when the direction fails)."""
    span = ts[-1] - ts[0]
    if not span > 0 or not FLOAT64.separated(np.diff(ts), max(float(np.max(np.abs(ts))), 1e-300), 256):
        return np.inf
    cs = (ts - ts[0]) / span - 0.5
    try:
        pairs = pair_windows(FLOAT64, cs, bounds, D, starts, Ys.shape[1], eta, "trial")
        masses = [
            _core.fit_zigzag(FLOAT64, P.S, _core.window_labels(FLOAT64, Ys[P.a:P.e], P.win)[:, :, 0],
                             close_end=P.e < len(ts), **fit).mass
            for P in pairs
        ]
    except AssumptionError:
        return np.inf
    return max(masses)


def carrier_projection(ar: Arithmetic, X, u, order, method: str):
    """Step 2: the carrier c(x) = α<u, x> + β0 of every point, sorted.

    Claim: the carrier values ``cs`` of the sorted points increase strictly (exactly, or with
    every gap above 256·ε in float64) from −½ to ½ (α = 1/(t_max − t_min), β0 = −½ − α·t_min),
    so a hard-tanh unit passes c unchanged. Returns ``(w_car, β0, cs)`` with w_car = αu.
    """
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
    return w_car, beta0, cs


def chunk_sizes(D, starts, dy: int, n: int) -> list[int]:
    """The chunk of sorted points each pair fits, in proportion to the pairs' capacities.

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
                W[0][ti, 0] = 1  # the row w_car of the rank-one layer 1
                b[0][ti] = beta0
            else:
                W[l - 1][ti, lay.t_idx(l - 1)] = 1
        if lay.has_acc[l - 1] and l - 1 >= 1 and lay.has_acc[l - 2]:
            for c in range(lay.dy):
                W[l - 1][lay.acc_idx(l) + c, lay.acc_idx(l - 1) + c] = 1


def pair_windows(ar: Arithmetic, cs, bounds, D, starts, dy: int, eta, method: str) -> list[Pair]:
    """Step 4: the windows of every pair that holds points, over its chunk ``cs[a:e]``.

    Pair j cuts its chunk into windows of K_j = 2⌊(d_{l_j+1} − r_j)/(2d_y)⌋ positions. Claim: as
    :func:`_core.make_windows`, with the outer ramp ends inside the gaps to the neighbouring
    chunks, so every point of another chunk saturates every window of the pair; in float64 the
    margin exceeds the rounding of a ramp reading the carrier (|c| ≤ 1).
    """
    n, m = len(cs), len(starts)
    out = []
    for j, l in enumerate(starts):
        a, e = int(bounds[j]), int(bounds[j + 1])
        if e == a:
            continue
        K = 2 * ((D[l] - carriers(j + 1, m, dy)) // (2 * dy))
        lo = cs[a - 1] if a > 0 else None
        hi = cs[e] if e < n else None
        win = _core.make_windows(ar, cs[a:e], max(1, -(-(e - a) // K)), K, ar.rational(eta, 1000), lo=lo, hi=hi)
        aw, bw, S = _core.ramps(ar, win)
        if np.any(win.margin < ar.tol(64 * EPS64 * (ar.to_float(aw) + 1))):
            raise AssumptionError(f"X: {method}: two chunks meet within float64 rounding; pass exact=True")
        _core.check_positions(ar, S, f"X: {method}: two points are indistinguishable in float64; pass exact=True")
        out.append(Pair(j, l, a, e, win, aw, bw, S))
    return out


def window_rows(W, b, lay: Layout, pairs: list[Pair], carrier) -> dict:
    """Step 5: layer l_j holds pair j's windows, reading the projection through the carrier.

    Claim: window i of pair j computes σ_H(c_i·c(x) + e_i), c(x) the carrier, read from x with
    the carrier's own weights when l_j = 1 and from the t-carrier of layer l_j − 1 otherwise, so
    it ramps over its own points (:func:`_core.ramps`) and saturates at every other point.
    Returns the ReLU rewrite's mirror masks: the left half of every pair's windows, as in
    Theorem 3.1 (:func:`_build.mirror_mask`).
    """
    mirror = {}
    for P in pairs:
        n_win = len(P.aw)
        if P.l == 1:
            w_car, beta0 = carrier
            W[0][:n_win, 0] = P.aw  # rows P.aw·w_car of the rank-one layer 1
            b[0][:n_win] = P.aw * beta0 + P.bw
        else:
            W[P.l - 1][:n_win, lay.t_idx(P.l - 1)] = P.aw
            b[P.l - 1][:n_win] = P.bw
        mirror[P.l - 1] = np.arange(lay.D[P.l - 1]) < n_win // 2
    return mirror


def hardtanh_layers(W, b, w_car, depth: int) -> list[Dense]:
    """The first ``depth`` hard-tanh layers; layer 1 is the rank-one ``Factored(W[0], w_carᵀ)``."""
    first = Factored(W[0], w_car[None, :], b[0], hardtanh)
    return [first] + [Dense(W[i], b[i], hardtanh) for i in range(1, depth)]


def refit_positions(W, b, w_car, pairs: list[Pair], X, order, target: FloatTarget, mirror: dict) -> None:
    """Step 6 (float64 only): the positions of every pair's points as the final network computes them.

    Claim: afterwards ``P.S`` equals (φ_i(x) + 1)/2 at every real point of pair j bit for bit as
    the float64 network in the target activation computes window i (same rewrite, padding and
    chunking as ``verify``), so the zig-zags fitted to it absorb the rounding of the carrier
    and of the windows. One forward pass serves all pairs: a window reads only the carrier, so
    the zig-zag units, still zero, cannot change its value. Virtual positions are kept.
    """
    units = {}
    for P in pairs:
        unit_of_row = np.full(X.shape[0], -1, dtype=np.int64)
        unit_of_row[order[P.a:P.e]] = np.repeat(np.arange(P.win.T.shape[0]), P.win.real.sum(axis=1))
        units[P.l - 1] = unit_of_row
    depth = max(P.l for P in pairs)
    layers = hardtanh_layers(W, b, w_car, depth)
    phi = _build.layer_values(layers, target.act, X, target.rows(X.shape[1]), units, target.widths, mirror)
    for P in pairs:
        s_sorted = (phi[P.l - 1][order[P.a:P.e]] + 1.0) / 2.0
        P.S = P.S.copy()
        P.S[P.win.real] = s_sorted[P.win.src[P.win.real]]


def pair_zigzags(ar: Arithmetic, W, b, lay: Layout, P: Pair, Yc, *, close_end: bool, V, mu, strategy: str,
                 kappa, relu_proxy: bool) -> list:
    """Step 7: layer l + 1 holds a block of zig-zags per output, fitted to the chunk's labels ``Yc``.

    Claim: as Theorem 3.1's core (:func:`_core.fit_zigzag`; :func:`_core.check_zigzag` checks
    it), with ``close_end``: the last level saturates too, for the points right of the chunk.
    The block output Σ v σ_H(z) − V is y at the chunk's points and −V at every other point; it
    is added, times κ, to the accumulators of layer l + 2 (or to the output when l + 1 is the
    last hidden layer). Returns the fitted :class:`_core.ZigZag` of every output.
    """
    L1, l = len(lay.D), P.l
    n_win, K = P.S.shape
    Yw = _core.window_labels(ar, Yc, P.win)
    vv = ar.array(np.where(np.arange(K) < K // 2, 1, -1)) * V
    fits = []
    for cc in range(lay.dy):
        zz = _core.fit_zigzag(ar, P.S, Yw[:, :, cc], V, mu, strategy, close_end=close_end, relu_proxy=relu_proxy)
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
    """Step 8: the output layer, acc/κ + (m' − 1)V with m' the pairs that hold points.

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


def check_outputs(ar: Arithmetic, out, targets, tol, info: dict, method: str, index) -> None:
    """The builders' check: the network's outputs ``out`` at the data lie within ``tol`` of
    ``targets`` (an exact network is evaluated exactly, so its tolerance is 0).

    A float64 miss is the rounding of a pair's Theorem 3.1 core, which grows about as the square
    of the points the pair fits: the :class:`ConstructionError` says so and how to get smaller
    pairs, instead of :func:`memorize.verify.check_self`'s "bug" message.
    """
    if not ar.exact:
        err = np.max(np.abs(np.asarray(out, dtype=np.float64) - np.asarray(targets, dtype=np.float64)), axis=1)
        bad = np.nonzero(~(err <= tol))[0]
        if bad.size:
            hint = "" if info["refit_to_float"] else "refit=True (the pairs were not fitted to the float64 windows), "
            raise ConstructionError(
                f"{method}: the float64 network misses points {format_indices(np.asarray(index)[bad])} by up to "
                f"{np.max(err[bad]):.3g} > {tol:.3g}: the rounding of a pair's core grows about as the square of "
                f"the points it fits (here up to {max(info['chunks'])}; predicted error {info['predicted_error']:.2g}); "
                f"use {hint}more, smaller pairs (depth=, or the default widths: one pair per {PAIR_POINTS} points), "
                "activation='hardtanh', or exact=True"
            )
    check_self(out, targets, tol, method=method, index=index)


#: The builders that are correct by design in a low-precision format.
FLOAT_SAFE = "float_safe (real labels) or float_safe_classifier (classes)"


def check_format(dtype, exact: bool) -> Format:
    """The format ``dtype`` names (float64 by default); an exact build has no format to choose."""
    fmt = as_format(dtype)
    if fmt.name != "float64" and exact:
        raise ArgumentError(f"dtype: an exact build has exact weights; dtype={fmt.name!r} needs exact=False")
    return fmt


def certified_in(net: Network, X, y, fmt: Format, method: str, index) -> Network:
    """The builder's last step for a format other than float64: the network with its weights
    rounded to ``fmt``, certified on every point by :func:`memorize.certify` (any summation order).

    The certificate's facts go to ``meta["certificate"]``. Raises :class:`ConstructionError`
    naming the float-safe builders when the weights overflow the format or a point is not
    certified. A float64 network is returned unchanged (its bytes do not depend on ``dtype``).
    """
    if fmt.name == "float64":
        return net
    why = f"{method}: the zig-zag levels (up to {net.meta.get('max_level', 0.0):.3g}) amplify {fmt.name} rounding"
    try:
        rounded = round_network(net, fmt)
    except ArgumentError as exc:
        raise ConstructionError(f"{why}: {exc}; build in float64 or use {FLOAT_SAFE}, correct by design in {fmt.name}") from None
    cert = certify(rounded, X, y, dtype=fmt.name)
    if not cert.ok:
        bad = np.asarray(index)[cert.uncertified]
        raise ConstructionError(
            f"{why}: the {fmt.name} certificate fails at points {format_indices(bad)} ({cert.n - cert.n_certified} of "
            f"{cert.n}); build in float64 (dtype='float64') or use {FLOAT_SAFE}, correct by design in {fmt.name}"
        )
    facts = {"format": fmt.name, "points": int(cert.n), "of": int(cert.n), "exact": int(cert.n_exact),
             "max_bound": float(np.max(cert.bound)) if cert.n else 0.0}
    return Network(rounded.layers, {**net.meta, "certificate": facts})
