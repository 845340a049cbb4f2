"""The Theorem 3.1 hard-tanh core of Yun et al. 2019: windows along a projection, zig-zag nodes.

The core memorizes labels in [−V/2, V/2] along one projection ``t = <u, x>`` with

* layer 1: ``n_win`` hard-tanh *windows*; window ``j`` ramps from −1 to +1 across the ``K``
  consecutive sorted points it owns, its ramp ends ``L_j``, ``R_j`` inside the data-free gaps to
  the neighbouring windows, so a point of window ``j`` sees (+1, …, +1, 2s − 1, −1, …, −1) with
  ``s ∈ (0, 1)`` its position inside the window;
* layer 2: per output coordinate a block of ``K`` hard-tanh *zig-zag* nodes. Node ``k`` owns
  exactly one position of every window; inside the window its pre-activation is the line through
  its owned point at height ``τ = y/v_k`` that saturates the two neighbouring positions. Between
  windows it is constant, so its levels ``G_j`` at the window ends form a chain.

The discrete decisions (direction, windows, ownership) are taken in float64; the weights are then
computed in the builder's arithmetic (:mod:`memorize._arith`). Private module: the builders are
``two_hidden.py``, ``classifier.py`` and ``deep.py``; ``_build.py`` assembles the layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from ..._arith import FLOAT64, Arithmetic
from ..._linalg import EPS64
from ...errors import AssumptionError
from ...rows import project_each

__all__ = [
    "STRATEGIES", "Windows", "ZigZag", "smallest_pair", "choose_direction", "make_windows", "ramps",
    "window_labels", "check_positions", "fit_zigzag", "zigzag_weights", "check_zigzag",
]

#: Ownership rules tried by ``strategy="auto"``; "-nc" turns off the boundary carry.
STRATEGIES = ("greedy", "match", "balance", "greedy-nc", "match-nc", "balance-nc")


def smallest_pair(n: int, unit1: int, unit2: int) -> tuple[int, int]:
    """Smallest ``(a, b)`` with ``4ab ≥ n`` minimising ``unit1·a + unit2·b`` (ties: the most
    balanced pair with a ≥ b, else the one with the largest b)."""
    need = max(1, -(-int(n) // 4))
    # cost(a) ≥ g(a) = unit1·a + unit2·need/a (convex): every a that can reach the minimum lies
    # where g(a) ≤ c, c the cost of a candidate near the real optimum; searching only that interval
    # (width ~ need^¼) gives the same pair as the full search, in memory O(need^¼), not O(N)
    a0 = max(1.0, math.sqrt(need * unit2 / unit1))
    a0 = min(float(need), a0)
    near = np.arange(max(1, int(a0) - 2), min(need, int(a0) + 3) + 1, dtype=np.int64)
    c = float(np.min(unit1 * near + unit2 * (-(-need // near))))
    root = math.sqrt(max(c * c - 4.0 * unit1 * unit2 * need, 0.0))
    lo = max(1, int((c - root) / (2 * unit1)) - 2)
    hi = min(need, int((c + root) / (2 * unit1)) + 3)
    a = np.arange(lo, hi + 1, dtype=np.int64)
    b = -(-need // a)
    cost = unit1 * a + unit2 * b
    idx = np.nonzero(cost == cost.min())[0]
    cand = [i for i in idx if a[i] >= b[i]]
    best = min(cand, key=lambda i: a[i] - b[i]) if cand else idx[-1]
    return int(a[best]), int(b[best])


def _balanced_bounds(n: int, n_win: int) -> np.ndarray:
    """Start indices (length n_win + 1) of n_win consecutive runs of nearly equal size."""
    base, extra = divmod(n, n_win)
    sizes = np.full(n_win, base, dtype=np.int64)
    sizes[:extra] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def _window_score(ts: np.ndarray, bounds: np.ndarray) -> float:
    """max over windows of span / smallest internal gap: the size of the largest needed slope."""
    gaps = np.diff(ts)
    if gaps.size == 0:
        return 1.0
    if np.min(gaps) <= 0:
        return np.inf
    starts, ends = bounds[:-1], bounds[1:]
    multi = (ends - starts) >= 2
    if not np.any(multi):
        return 1.0
    g = gaps.copy()
    inner_ends = ends[ends < len(ts)]
    g[inner_ends - 1] = np.inf  # the gaps between windows are not inside any window
    mins = np.minimum.reduceat(g, starts[starts < len(g)])[multi[starts < len(g)]]
    span = ts[ends[multi] - 1] - ts[starts[multi]]
    return float(np.max(span / mins))


def choose_direction(ar: Arithmetic, X: np.ndarray, n_dir: int, rng: np.random.Generator, n_win: int, keep: int = 1):
    """Draw ``n_dir`` random directions and rank them by the slopes their windows need.

    The ranking is a float64 decision in any arithmetic. Returns ``(u, order, t_sorted, score)``
    of the best direction (``u`` float64: a unit vector, or integer-valued for an exact build,
    see :meth:`memorize._arith.Arithmetic.direction`), or with ``keep > 1`` a list of the
    ``keep`` best, best first.
    """
    n, d = X.shape
    bounds = _balanced_bounds(n, n_win)
    cands = []
    ws = [ar.direction(rng.standard_normal(d)) for _ in range(max(1, n_dir))]
    for w, t in zip(ws, project_each(X, ws)):  # large data: one pass over X for all candidates
        order = np.argsort(t, kind="stable")
        ts = t[order]
        score = _window_score(ts, bounds)
        cands.append((score, len(cands), w, order, ts))
        cands.sort(key=lambda c: (c[0], c[1]))
        del cands[max(1, keep):]
    out = [(c[2], c[3], c[4], c[0]) for c in cands]
    return out if keep > 1 else out[0]


# ------------------------------------------------------------------------------------- windows
@dataclass
class Windows:
    """Window layout: every window holds exactly K positions (real points plus virtual ones)."""

    T: np.ndarray  # (n_win, K) positions t, increasing along rows (in the builder's arithmetic)
    real: np.ndarray  # (n_win, K) bool
    src: np.ndarray  # (n_win, K) index into the sorted real points, -1 for virtual
    L: np.ndarray  # (n_win,) ramp start
    R: np.ndarray  # (n_win,) ramp end
    margin: np.ndarray  # (n_win,) float64 layer-1 margin of the neighbours, in pre-activation units


def make_windows(ar: Arithmetic, ts, n_win: int, K: int, eta, lo=None, hi=None) -> Windows:
    """Step 3: cut the sorted projections ``ts`` into ``n_win`` windows of ``K`` positions; place ramps.

    Claim: every row of ``T`` is strictly increasing; the real positions are the sorted points
    in order (``T[real] == ts[src[real]]``, ``src`` increasing row after row); and every ramp end
    lies inside the data-free gap next to its window, at fraction ``eta`` of it: L_j < T[j, 0],
    T[j, K−1] < R_j, R_j < T[j+1, 0] and L_{j+1} > T[j, K−1]. So window j's ramp holds exactly its
    own points. ``lo`` and ``hi`` are the points just outside ``ts`` when there are any
    (Proposition 3.4 cuts each pair's chunk with this step): the outer ends then sit inside
    those gaps too.

    Virtual positions (label 0, never evaluated) go at the midpoints of the largest gaps of a
    run (halving a gap that is already the largest cannot create a small one); a run with a
    single point gets them to its right, inside half the free gap.
    """
    n = len(ts)
    bounds = _balanced_bounds(n, n_win)
    gaps_f = np.diff(ar.to_float(ts))
    h = float(np.median(gaps_f)) if gaps_f.size else 1.0
    if not h > 0:
        h = float(np.max(gaps_f)) if gaps_f.size and np.max(gaps_f) > 0 else 1.0
    hx = ar.scalar(h)  # the typical gap: the width of a ramp with nothing to span
    T = np.empty((n_win, K), dtype=ar.dtype)
    real = np.zeros((n_win, K), dtype=bool)
    src = np.full((n_win, K), -1, dtype=np.int64)
    full = np.diff(bounds) == K
    if np.any(full):  # full windows need no virtual points
        idx = bounds[:-1][full][:, None] + np.arange(K)[None, :]
        T[full] = ts[idx]
        real[full] = True
        src[full] = idx
    for j in np.nonzero(~full)[0]:  # a loop over windows, not points
        a, b = int(bounds[j]), int(bounds[j + 1])
        nxt = ts[b] if b < n else hi
        pts, ids = _pad_run(ar, list(ts[a:b]), list(range(a, b)), K, nxt, hx)
        T[j] = np.array(pts, dtype=ar.dtype)
        ids = np.array(ids)
        real[j] = ids >= 0
        src[j] = ids
    L, R = _ramp_ends(ar, T[:, 0], T[:, -1], hx, eta, lo, hi)
    return Windows(T, real, src, L, R, _margins(ar, T[:, 0], T[:, -1], L, R, eta, lo, hi))


def _pad_run(ar: Arithmetic, pts: list, ids: list, K: int, nxt, hx) -> tuple[list, list]:
    """A run of fewer than K sorted points padded with virtual points (index −1) to K."""
    nv = K - len(pts)
    half = ar.const(1, 2)
    if len(pts) >= 2:
        for _ in range(nv):
            g = [float(pts[i + 1] - pts[i]) for i in range(len(pts) - 1)]
            i = int(np.argmax(g))
            pts.insert(i + 1, (pts[i] + pts[i + 1]) * half)
            ids.insert(i + 1, -1)
        return pts, ids
    room = (nxt - pts[-1]) * half if nxt is not None else hx * K
    step = ar.const(1, nv + 1)
    for i in range(nv):
        pts.append(pts[0] + room * (i + 1) * step if nxt is not None else pts[0] + hx * (i + 1))
        ids.append(-1)
    return pts, ids


def _ramp_ends(ar: Arithmetic, first, last, hx, eta, lo, hi):
    """Ramp ends at fraction ``eta`` of the gaps between windows; free outer ends one span out."""
    n_win = len(first)
    L = np.empty(n_win, dtype=ar.dtype)
    R = np.empty(n_win, dtype=ar.dtype)
    span = np.maximum(last - first, hx)
    L[0] = first[0] - span[0] if lo is None else first[0] - eta * (first[0] - lo)
    R[-1] = last[-1] + span[-1] if hi is None else last[-1] + eta * (hi - last[-1])
    if n_win > 1:
        gap = first[1:] - last[:-1]
        L[1:] = first[1:] - eta * gap
        R[:-1] = last[:-1] + eta * gap
    return L, R


def _margins(ar: Arithmetic, first, last, L, R, eta, lo, hi) -> np.ndarray:
    """float64 distance, in units of a window's pre-activation, from its ramp to the nearest other
    point: the neighbouring window's points sit (1 − eta)·gap outside the ramp."""
    n_win = len(first)
    margin = np.full(n_win, np.inf)
    w = ar.to_float(R - L)
    etaf = float(eta)
    for end, other, j in ((lo, first[0], 0), (hi, last[-1], n_win - 1)):
        if end is not None:
            gf = abs(float(other - end))
            margin[j] = min(margin[j], 2 * (1 - etaf) * gf / float(w[j]))
    if n_win > 1:
        gf = ar.to_float(first[1:] - last[:-1])
        margin[1:] = np.minimum(margin[1:], 2 * (1 - etaf) * gf / w[1:])
        margin[:-1] = np.minimum(margin[:-1], 2 * (1 - etaf) * gf / w[:-1])
    return margin


def ramps(ar: Arithmetic, win: Windows):
    """The window units φ_j(t) = σ_H(c_j·t + e_j) of a layout, and every position inside its window.

    Claim: c_j = 2/(R_j − L_j) and e_j = −c_j(R_j + L_j)/2 make φ_j ramp from −1 at L_j to +1 at
    R_j, so φ_j = 2S − 1 at window j's own positions, with S = (T − L)/(R − L) ∈ (0, 1), and
    φ_j = ∓1 at every point left/right of the window. Returns ``(c, e, S)``.
    """
    L, R = win.L, win.R
    c = ar.div(ar.const(2), R - L)
    e = -(c * (R + L)) * ar.const(1, 2)
    S = ar.div(win.T - L[:, None], (R - L)[:, None])
    return c, e, S


def window_labels(ar: Arithmetic, Ys, win: Windows) -> np.ndarray:
    """Labels ``Ys`` (of the sorted points, (n, k)) by window and position (n_win, K, k); virtual
    positions get 0."""
    Yw = ar.zeros(win.T.shape + (Ys.shape[1],))
    Yw[win.real] = Ys[win.src[win.real]]
    return Yw


def check_positions(ar: Arithmetic, S, message: str) -> None:
    """Positions strictly inside (0, 1) and strictly increasing in every window (checked in
    float64: layer 2 is fitted to these values); :class:`AssumptionError` with ``message`` if not."""
    Sf = ar.to_float(S)
    if not (np.all(Sf > 0) and np.all(Sf < 1) and np.all(np.diff(Sf, axis=1) > 0)):
        raise AssumptionError(message)


# ------------------------------------------------------------------------------------- zig-zags
@dataclass
class ZigZag:
    """Fitted zig-zag of one output block: ``G`` (K, n_win+1) gap levels, ``perm`` ownership."""

    G: np.ndarray
    perm: np.ndarray  # (n_win, K): node owning position m of window j
    lam: np.ndarray  # (K,) starting level λ_k of every node (up-frame)
    strategy: str
    max_level: float
    mass: float  # max over windows of Σ_k max(|G_j|, |G_{j+1}|): the float64 cancellation mass


def _targets(ar: Arithmetic, Y, V):
    """τ = y/V per position in the *up-frame*: the sign alternates with the position."""
    sign = np.where(np.arange(Y.shape[1]) % 2 == 0, 1, -1)
    return ar.div(Y, V) * sign[None, :]


def _requirements(ar: Arithmetic, S, TT, mu):
    """Level B[j, m] a node needs entering window j to own position m (up-frame)."""
    ds = np.diff(S, axis=1)
    K = S.shape[1]
    sig = np.empty_like(S)
    left = ar.div(1 + mu + TT[:, 1:], ds)  # needed slope so the left neighbour sits at <= -1-mu
    right = ar.div(1 + mu - TT[:, :-1], ds)  # ... and the right neighbour at >= 1+mu
    sig[:, 0] = right[:, 0]
    sig[:, -1] = left[:, -1]
    if K > 2:
        sig[:, 1:-1] = np.maximum(left[:, :-1], right[:, 1:])
    return sig * S - TT


def _closing_need(ar: Arithmetic, s_last, tt_last, mu):
    """Points right of a chunk see a node's final level G_n: the requirement that saturates it."""
    gl = ar.div(1 - s_last, s_last)
    return ar.div(1 + mu - ar.div(tt_last, s_last), gl)


def _assign(S_f, TT_f, B_f, strategy):
    """Ownership in float64: perm[j, m] = node owning position m of window j."""
    carry = not strategy.endswith("-nc")
    strategy = strategy[:-3] if not carry else strategy
    nw, K = S_f.shape
    half = K // 2
    g = (1.0 - S_f) / S_f
    add = TT_f / S_f
    logg = np.log(g)
    perm = np.empty((nw, K), dtype=np.int64)
    p = np.zeros(K)
    q = np.ones(K)
    lam = np.zeros(K)
    acc = np.zeros(K)
    Qmax = np.ones(K)
    nodes = (np.arange(half), np.arange(half, K))
    for j in range(nw):
        par = j % 2
        posA = np.arange(par, K, 2)
        posB = np.arange(1 - par, K, 2)
        for team, pos in zip(nodes, (posA, posB)):
            if strategy == "greedy":
                perm[j, pos] = team[_greedy(p[team], q[team], lam[team], Qmax[team], B_f[j, pos])]
                continue
            if strategy == "match":
                kn = np.argsort(p[team] + lam[team] * q[team], kind="stable")
                kp = np.argsort(B_f[j, pos], kind="stable")
            else:  # balance: shrink most the nodes that grew most
                kn = np.argsort(-acc[team], kind="stable")
                kp = np.argsort(logg[j, pos], kind="stable")
            perm[j, pos[kp]] = team[kn]
        if carry and j > 0:
            # A tiny gap between windows j−1 and j makes the last position of j−1 shrink a level
            # by ≈ gap/width and the first position of j grow it by ≈ width/gap; one node taking
            # both cancels the two factors (same team: K is even).
            a = perm[j - 1, K - 1]
            ma = int(np.nonzero(perm[j] == a)[0][0])
            perm[j, ma], perm[j, 0] = perm[j, 0], a
        inv = np.empty(K, dtype=np.int64)
        inv[perm[j]] = np.arange(K)
        bound = (B_f[j, inv] - p) / q
        lam = np.maximum(lam, bound)
        p = p * g[j, inv] + add[j, inv]
        q = q * g[j, inv]
        Qmax = np.maximum(Qmax, q)
        acc += logg[j, inv]
    return perm


def _greedy(p, q, lam, Qmax, Bpos):
    """Sorted matching, except that a position nobody can take without a raise of λ goes to the
    node whose raise inflates its past least: a node's largest level is ≈ λ·max_j q_j, so the
    cost of node k at requirement B is max(λ_k, (B − p_k)/q_k)·Qmax_k."""
    nn = len(p)
    level = p + lam * q
    kn = np.argsort(level, kind="stable")
    kp = np.argsort(Bpos, kind="stable")
    out = np.empty(nn, dtype=np.int64)
    short = level[kn] < Bpos[kp]
    if not np.any(short):
        out[kp] = kn
        return out
    free = np.ones(nn, dtype=bool)
    hard = kp[short][np.argsort(-Bpos[kp[short]], kind="stable")]
    cur = lam * Qmax
    for m in hard:
        cost = np.maximum(lam, (Bpos[m] - p) / q) * Qmax
        cost = np.where(free, np.maximum(cost, cur), np.inf)
        k = int(np.argmin(cost))
        out[m] = k
        free[k] = False
    rest = np.setdiff1d(np.arange(nn), hard, assume_unique=True)
    nodes = np.nonzero(free)[0]
    out[rest[np.argsort(Bpos[rest], kind="stable")]] = nodes[np.argsort(level[nodes], kind="stable")]
    return out


def _chain(ar: Arithmetic, S, TT, B, perm):
    """Levels of every node for a given ownership (up-frame): returns λ and levels (n_win+1, K).

    A node entering window j at level P_j owns the point s at height τ and leaves at
    P_{j+1} = P_j·(1 − s)/s + τ/s; λ is the smallest start meeting every requirement, plus 1.
    """
    nw, K = S.shape
    rows = np.arange(nw)[:, None]
    inv = np.empty_like(perm)
    inv[rows, perm] = np.arange(K)[None, :]
    Sg, Tg, Bg = S[rows, inv], TT[rows, inv], B[rows, inv]  # (n_win, K) by node
    g = ar.div(1 - Sg, Sg)
    add = ar.div(Tg, Sg)
    p = ar.zeros(K)
    q = ar.ones(K)
    lam = None
    for j in range(nw):
        bound = ar.div(Bg[j] - p, q)
        lam = bound if lam is None else np.maximum(lam, bound)
        p = p * g[j] + add[j]
        q = q * g[j]
    lam = np.maximum(lam, ar.scalar(0)) + 1
    lev = np.empty((nw + 1, K), dtype=ar.dtype)
    lev[0] = lam
    for j in range(nw):
        lev[j + 1] = lev[j] * g[j] + add[j]
    return lam, lev


def _relu_mass(absl):
    """Predicted float64 cancellation of a ReLU network's layer 2 at the worst point.

    A saturated ReLU window pair is recovered as the difference of two numbers of size |a_j|,
    about 2·(distance in windows), on its cancelling side (right of the window for the right
    half, left of it for the mirrored left half); the owner of a point in window j0 weighs the
    rounding of window j by its weight |W2[k, j]| ≈ its level. Returns max over (k, j0) of
    Σ_j |W2[k, j]|·2|j0 − j| over the windows whose cancelling side holds j0 (prefix sums).
    """
    n = absl.shape[0] - 1
    A = np.maximum(absl[:-1], absl[1:])  # (n, K) ≈ |W2| per window and node
    j = np.arange(n, dtype=np.float64)[:, None]
    right = np.where(j >= n // 2, A, 0.0)
    left = np.where(j < n // 2, A, 0.0)
    c0 = np.cumsum(right, axis=0) - right  # Σ_{j' < j0}
    c1 = np.cumsum(right * j, axis=0) - right * j
    e = j * c0 - c1
    r0 = np.cumsum(left[::-1], axis=0)[::-1] - left  # Σ_{j' > j0}
    r1 = np.cumsum((left * j)[::-1], axis=0)[::-1] - left * j
    e = e + (r1 - j * r0)
    return float(2 * np.max(e + A))


def _best_ownership(S_f, TT_f, B_f, strategies, relu_proxy: bool):
    """The ownership (float64) with the smallest predicted cancellation mass among ``strategies``.

    Returns ``(mass, max_level, strategy, perm, (λ, levels))``, the last the float64 chain of
    :func:`_chain`; the mass is inf when every chain overflows.
    """
    best = None
    for st in strategies:
        perm = _assign(S_f, TT_f, B_f, st)
        chain = _chain(FLOAT64, S_f, TT_f, B_f, perm)
        lev_f = chain[1]
        with np.errstate(over="ignore", invalid="ignore"):
            absl = np.abs(lev_f)
            if relu_proxy:
                mass = _relu_mass(absl)
            else:
                mass = float(np.max(np.sum(np.maximum(absl[:-1], absl[1:]), axis=1)))
            mx = float(np.max(absl))
        if not np.isfinite(mass):
            mass = np.inf
        if best is None or mass < best[0]:
            best = (mass, mx, st, perm, chain)
    return best


def fit_zigzag(
    ar: Arithmetic, S, Y, V, mu, strategy: str = "auto", close_end: bool = False, relu_proxy: bool = False
) -> ZigZag:
    """Fit one output block's K zig-zag nodes to positions ``S`` (n_win, K) and labels ``Y``.

    Node k < K/2 is team A (output weight +V), the rest team B (−V). In window j team A owns the
    positions m with m + j even. Claim (checked by :func:`check_zigzag`): inside window j node k's
    pre-activation G_j + s(G_{j+1} − G_j) equals τ = y/v_k at its owned position and is ≤ −1 − μ,
    ≥ 1 + μ at the positions left and right of it (mirrored in odd windows). With ``close_end`` the
    final level G_n saturates too (points right of a Proposition 3.4 chunk see it). The ownership
    is chosen in float64 (``strategy``, or the one of :data:`STRATEGIES` with the smallest
    predicted cancellation mass); the levels are computed in ``ar``. Returns the gap levels
    G (K, n_win+1) in the real frame.
    """
    nw, K = S.shape
    TT = _targets(ar, Y, V)
    B = _requirements(ar, S, TT, mu)
    if close_end:
        B[-1] = np.maximum(B[-1], _closing_need(ar, S[-1], TT[-1], mu))
    strategies = STRATEGIES if strategy == "auto" else (strategy,)
    mass, mx, st, perm, (lam, lev) = _best_ownership(ar.to_float(S), ar.to_float(TT), ar.to_float(B), strategies, relu_proxy)
    if not np.isfinite(mass):
        raise AssumptionError(
            "X: the zig-zag levels overflow float64 for this projection (points too close together "
            "relative to their spread); pass exact=True"
        )
    if ar.exact:  # float64 chose the ownership (and its chain is the float64 result); exact levels follow it
        lam, lev = _chain(ar, S, TT, B, perm)
    omega = np.where(np.arange(nw + 1) % 2 == 0, -1, 1)  # up-frame -> real frame
    G = (lev * omega[:, None]).T.copy()
    return ZigZag(G, perm, lam, st, mx, mass)


def zigzag_weights(ar: Arithmetic, G):
    """Layer-2 rows of a block: W2[k, j] = (G_{k,j+1} − G_{k,j})/2, b2_k = (G_{k,0} + G_{k,n})/2.

    Against the window values (+1, …, +1, 2s − 1, −1, …, −1) of a point of window j they give
    G_j + s(G_{j+1} − G_j): the node's line inside window j, constant between windows.
    """
    half = ar.const(1, 2)
    return (G[:, 1:] - G[:, :-1]) * half, (G[:, 0] + G[:, -1]) * half


def check_zigzag(ar: Arithmetic, S, Y, V, zz: ZigZag, mu_check) -> np.ndarray:
    """Check :func:`fit_zigzag`'s claim; return the block output at every position (n_win, K).

    Every owner must hit τ (exactly in exact arithmetic; within the check's own rounding in
    float64) with |τ| ≤ 1, and its two neighbouring positions must saturate with margin
    ``mu_check``. The line is monotone inside a window, so this saturates every other position
    too and the block output at an owned position is the owner's v_k·V·τ = y (the saturated
    nodes add exactly +V). A position that fails is given the output y + V, an error no
    tolerance accepts.
    """
    nw, K = S.shape
    rows = np.arange(nw)[:, None]
    inv = np.empty_like(zz.perm)
    inv[rows, zz.perm] = np.arange(K)[None, :]
    G = zz.G.T  # (n_win+1, K)
    g0, g1 = G[:-1], G[1:]
    v = np.where(np.arange(K) < K // 2, 1, -1)
    z_own = g0 + (g1 - g0) * S[rows, inv]  # (n_win, K) by node
    ok = np.ones((nw, K), dtype=bool)
    up = (np.arange(nw) % 2 == 0)[:, None]
    for d in (-1, 1):
        m = inv + d
        valid = (m >= 0) & (m < K)
        z_nb = g0 + (g1 - g0) * S[rows, np.clip(m, 0, K - 1)]
        # up windows: left neighbour low, right neighbour high; down windows mirrored
        want_high = (d == 1) == up
        good = np.where(want_high, z_nb >= 1 + mu_check, z_nb <= -1 - mu_check)
        ok &= ~valid | good.astype(bool)
    tau = Y[rows, inv] * ar.div(ar.const(1), V) * v[None, :]
    # the float64 check itself rounds at ε·|G|: accept that, verify measures the forward pass
    ok &= np.abs(z_own - tau) <= ar.tol(64 * EPS64 * (np.abs(ar.to_float(g0)) + np.abs(ar.to_float(g1)) + 1))
    ok &= np.abs(tau) <= 1
    out = np.empty((nw, K), dtype=ar.dtype)
    out[rows, inv] = tau * (ar.array(v) * V)[None, :] + np.where(ok, 0, 1) * V
    return out
