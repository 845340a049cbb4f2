"""The Theorem 3.1 hard-tanh core shared by the Yun et al. 2019 builders.

The core memorizes labels in [-V, V] along one projection ``t = <u, x>`` with

* layer 1: ``n_win`` hard-tanh *windows*, window ``j`` ramping from -1 to +1 across the
  ``K`` consecutive sorted points it owns (its ramp ends ``L_j``, ``R_j`` sit inside the
  data-free gaps to the neighbouring windows);
* layer 2: per output coordinate a block of ``K`` hard-tanh *zig-zag* nodes. Node ``k`` owns
  exactly one position of every window; inside the window its pre-activation is the line
  through its owned point at height ``τ = y/v_k`` that saturates the two neighbouring
  positions. Between windows it is constant, so its levels ``G_j`` form a chain.

Everything works on NumPy arrays of float64 or of exact rationals (object arrays); the
discrete decisions (direction, windows, ownership) are taken in float64, the weights are then
computed in the working arithmetic. Private module: the public builders are in ``fnn.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ... import _exact
from ...errors import AssumptionError

__all__ = ["Windows", "smallest_pair", "choose_direction", "make_windows", "fit_zigzag", "ZigZag"]

_EPS = 2.0**-52

#: Ownership rules tried by ``strategy="auto"``; "-nc" turns off the boundary carry.
STRATEGIES = ("greedy", "match", "balance", "greedy-nc", "match-nc", "balance-nc")


def smallest_pair(n: int, unit1: int, unit2: int) -> tuple[int, int]:
    """Smallest ``(a, b)`` with ``4ab ≥ n`` minimising ``unit1·a + unit2·b`` (ties: larger a)."""
    need = max(1, -(-int(n) // 4))
    a = np.arange(1, need + 1, dtype=np.int64)
    b = -(-need // a)
    cost = unit1 * a + unit2 * b
    idx = np.nonzero(cost == cost.min())[0]
    best = idx[np.argmax(a[idx] >= b[idx])] if np.any(a[idx] >= b[idx]) else idx[-1]
    # among ties prefer the most balanced pair with a >= b
    cand = [i for i in idx if a[i] >= b[i]]
    if cand:
        best = min(cand, key=lambda i: a[i] - b[i])
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


def choose_direction(X: np.ndarray, n_dir: int, rng: np.random.Generator, exact: bool, n_win: int, keep: int = 1):
    """Draw ``n_dir`` random directions; rank them by the slopes their windows need.

    Returns ``(u, order, t_sorted, score)`` of the best direction (``u`` float64, integer-valued
    in exact mode), or with ``keep > 1`` a list of the ``keep`` best, best first.
    """
    n, d = X.shape
    bounds = _balanced_bounds(n, n_win)
    cands = []
    for _ in range(max(1, n_dir)):
        w = rng.standard_normal(d)
        if exact:
            w = np.round(w * (2.0**20 / np.max(np.abs(w))))
            if not np.any(w):
                w[0] = 1.0
        else:
            w /= np.linalg.norm(w)
        t = X @ w
        order = np.argsort(t, kind="stable")
        ts = t[order]
        score = _window_score(ts, bounds)
        cands.append((score, len(cands), w, order, ts))
        cands.sort(key=lambda c: (c[0], c[1]))
        del cands[max(1, keep):]
    out = [(c[2], c[3], c[4], c[0]) for c in cands]
    return out if keep > 1 else out[0]


@dataclass
class Windows:
    """Window layout: every window holds exactly K positions (real points plus virtual ones)."""

    T: np.ndarray  # (n_win, K) positions t, increasing along rows (float or exact)
    real: np.ndarray  # (n_win, K) bool
    src: np.ndarray  # (n_win, K) index into the sorted real points, -1 for virtual
    L: np.ndarray  # (n_win,) ramp start
    R: np.ndarray  # (n_win,) ramp end
    margin: np.ndarray  # (n_win,) layer-1 margin of the neighbours, in pre-activation units


def make_windows(ts, n_win: int, K: int, eta, lo=None, hi=None) -> Windows:
    """Cut the sorted projections into ``n_win`` runs and pad each to ``K`` positions.

    Virtual positions (never evaluated, label 0) go at the midpoints of the largest gaps of the
    run (halving a gap that is already the largest cannot create a small one); a run with a
    single point gets them to its right, inside half the free gap.
    """
    n = len(ts)
    exact = ts.dtype == object
    bounds = _balanced_bounds(n, n_win)
    tf = _exact.to_float_array(ts) if exact else ts
    gaps_f = np.diff(tf)
    h = float(np.median(gaps_f)) if gaps_f.size else 1.0
    if not h > 0:
        h = float(np.max(gaps_f)) if gaps_f.size and np.max(gaps_f) > 0 else 1.0
    hx = Fraction(h) if exact else h
    dt = object if exact else np.float64
    T = np.empty((n_win, K), dtype=dt)
    real = np.zeros((n_win, K), dtype=bool)
    src = np.full((n_win, K), -1, dtype=np.int64)
    sizes = np.diff(bounds)
    full = sizes == K
    # fast path: full windows need no virtual points
    if np.any(full):
        idx = bounds[:-1][full][:, None] + np.arange(K)[None, :]
        T[full] = ts[idx]
        real[full] = True
        src[full] = idx
    for j in np.nonzero(~full)[0]:
        a, b = int(bounds[j]), int(bounds[j + 1])
        pts = list(ts[a:b])
        ids = list(range(a, b))
        nv = K - (b - a)
        if b - a >= 2:
            for _ in range(nv):
                g = [float(pts[i + 1] - pts[i]) for i in range(len(pts) - 1)]
                i = int(np.argmax(g))
                pts.insert(i + 1, (pts[i] + pts[i + 1]) * (Fraction(1, 2) if exact else 0.5))
                ids.insert(i + 1, -1)
        else:
            nxt = ts[b] if b < n else hi
            room = (nxt - pts[-1]) * (Fraction(1, 2) if exact else 0.5) if nxt is not None else hx * K
            for i in range(nv):
                pts.append(pts[0] + room * (i + 1) * (Fraction(1, nv + 1) if exact else 1.0 / (nv + 1)) if nxt is not None else pts[0] + hx * (i + 1))
                ids.append(-1)
        T[j] = np.array(pts, dtype=dt)
        ids = np.array(ids)
        real[j] = ids >= 0
        src[j] = ids
    first, last = T[:, 0], T[:, -1]
    L = np.empty(n_win, dtype=dt)
    R = np.empty(n_win, dtype=dt)
    span = last - first
    span = np.array([s if s > hx else hx for s in span], dtype=dt) if exact else np.maximum(span, h)
    # outer ends: free, or inside the gap to the neighbouring chunk (Proposition 3.4)
    L[0] = first[0] - span[0] if lo is None else first[0] - eta * (first[0] - lo)
    R[-1] = last[-1] + span[-1] if hi is None else last[-1] + eta * (hi - last[-1])
    if n_win > 1:
        gap = first[1:] - last[:-1]
        L[1:] = first[1:] - eta * gap
        R[:-1] = last[:-1] + eta * gap
    # Neighbouring windows' points sit (1-eta)*gap outside the ramp: margin in units of φ.
    margin = np.empty(n_win, dtype=np.float64)
    w = _exact.to_float_array(R - L) if exact else R - L
    margin[:] = np.inf
    for end, other, j in ((lo, first[0], 0), (hi, last[-1], n_win - 1)):
        if end is not None:
            gf = abs(float(other - end))
            margin[j] = min(margin[j], 2 * (1 - float(eta)) * gf / float(w[j]))
    if n_win > 1:
        gf = _exact.to_float_array(first[1:] - last[:-1]) if exact else first[1:] - last[:-1]
        etaf = float(eta)
        margin[1:] = np.minimum(margin[1:], 2 * (1 - etaf) * gf / w[1:])
        margin[:-1] = np.minimum(margin[:-1], 2 * (1 - etaf) * gf / w[:-1])
    return Windows(T, real, src, L, R, margin)


@dataclass
class ZigZag:
    """Fitted zig-zag of one output block: ``G`` (K, n_win+1) gap levels, ``perm`` ownership."""

    G: np.ndarray
    perm: np.ndarray  # (n_win, K): node owning position m of window j
    lam: np.ndarray
    strategy: str
    max_level: float
    mass: float  # max over windows of Σ_k max(|G_j|, |G_{j+1}|): the float64 cancellation mass


def _requirements(S, TT, mu):
    """Level B[j, m] a node needs entering window j to own position m (up-frame)."""
    exact = S.dtype == object
    one = 1 if exact else 1.0
    ds = np.diff(S, axis=1)
    nw, K = S.shape
    sig = np.empty_like(S)
    left = (one + mu + TT[:, 1:]) / ds  # needed slope so the left neighbour sits at <= -1-mu
    right = (one + mu - TT[:, :-1]) / ds  # ... and the right neighbour at >= 1+mu
    sig[:, 0] = right[:, 0]
    sig[:, -1] = left[:, -1]
    if K > 2:
        sig[:, 1:-1] = np.maximum(left[:, :-1], right[:, 1:])
    return sig * S - TT


def _assign(S_f, TT_f, B_f, strategy):
    carry = not strategy.endswith("-nc")
    strategy = strategy[:-3] if not carry else strategy
    """Ownership in float64: perm[j, m] = node. Returns perm and the float chain for scoring."""
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


def _chain(S, TT, B, perm, exact):
    """Exact (or float) levels for a given ownership: returns lam, levels (n_win+1, K)."""
    nw, K = S.shape
    rows = np.arange(nw)[:, None]
    inv = np.empty_like(perm)
    inv[rows, perm] = np.arange(K)[None, :]
    Sg, Tg, Bg = S[rows, inv], TT[rows, inv], B[rows, inv]  # (n_win, K) by node
    one = 1 if exact else 1.0
    g = (one - Sg) / Sg
    add = Tg / Sg
    dt = object if exact else np.float64
    p = np.zeros(K, dtype=dt)
    q = np.ones(K, dtype=dt)
    if exact:
        p[:] = 0
        q[:] = 1
    lam = None
    for j in range(nw):
        bound = (Bg[j] - p) / q
        lam = bound if lam is None else np.maximum(lam, bound)
        p = p * g[j] + add[j]
        q = q * g[j]
    lam = np.array([v if v > 0 else 0 for v in lam], dtype=object) + 1 if exact else np.maximum(lam, 0.0) + 1.0
    lev = np.empty((nw + 1, K), dtype=dt)
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


def fit_zigzag(S, Y, V, mu, strategy: str = "auto", close_end: bool = False, relu_proxy: bool = False) -> ZigZag:
    """Fit one output block's K zig-zag nodes to positions ``S`` (n_win, K) and labels ``Y``.

    Node k < K/2 is team A (output weight +V), the rest team B (-V). In window j team A owns
    the positions m with m + j even. Returns gap levels G (K, n_win+1) in the real frame.
    """
    exact = S.dtype == object
    nw, K = S.shape
    sign = np.where(np.arange(K) % 2 == 0, 1, -1)
    if exact:
        TT = (Y * (Fraction(1) / V)) * sign[None, :].astype(object)
    else:
        TT = (Y / V) * sign[None, :]
    B = _requirements(S, TT, mu)
    if close_end:
        # points right of the chunk see the final level G_n: it must saturate too
        one = 1 if exact else 1.0
        gl = (one - S[-1]) / S[-1]
        need = (one + mu - TT[-1] / S[-1]) / gl
        B[-1] = np.maximum(B[-1], need)
    S_f = _exact.to_float_array(S) if exact else S
    TT_f = _exact.to_float_array(TT) if exact else TT
    B_f = _exact.to_float_array(B) if exact else B
    strategies = STRATEGIES if strategy == "auto" else (strategy,)
    best = None
    for st in strategies:
        perm = _assign(S_f, TT_f, B_f, st)
        lam_f, lev_f = _chain(S_f, TT_f, B_f, perm, False)
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
            best = (mass, mx, st, perm, lam_f, lev_f)
    mass, mx, st, perm, lam, lev = best
    if not np.isfinite(mass):
        raise AssumptionError(
            "X: the zig-zag levels overflow float64 for this projection (points too close together "
            "relative to their spread); pass exact=True"
        )
    if exact:
        lam, lev = _chain(S, TT, B, perm, True)
    omega = np.where(np.arange(nw + 1) % 2 == 0, -1, 1)
    if exact:
        G = (lev * omega[:, None].astype(object)).T.copy()
    else:
        G = (lev * omega[:, None]).T.copy()
    return ZigZag(G, perm, lam, st, mx, mass)


def check_zigzag(S, Y, V, zz: ZigZag, mu_check) -> np.ndarray:
    """Construction check: owners hit τ, neighbours saturate. Returns outputs at the positions.

    In exact arithmetic this is a proof that the hard-tanh network's output is ``Y`` at every
    position (the line is monotone inside a window, so saturating the neighbours saturates
    every other position). Returns an array (n_win, K) of the block output at the positions.
    """
    exact = S.dtype == object
    nw, K = S.shape
    rows = np.arange(nw)[:, None]
    inv = np.empty_like(zz.perm)
    inv[rows, zz.perm] = np.arange(K)[None, :]
    G = zz.G.T  # (n_win+1, K)
    g0, g1 = G[:-1], G[1:]
    s_own = S[rows, inv]
    v = np.where(np.arange(K) < K // 2, 1, -1)
    z_own = g0 + (g1 - g0) * s_own  # (n_win, K) by node
    ok = np.ones((nw, K), dtype=bool)
    up = (np.arange(nw) % 2 == 0)[:, None]
    one = 1 if exact else 1.0
    for d in (-1, 1):
        m = inv + d
        valid = (m >= 0) & (m < K)
        mc = np.clip(m, 0, K - 1)
        z_nb = g0 + (g1 - g0) * S[rows, mc]
        # up windows: left neighbour low, right neighbour high; down windows mirrored
        want_high = (d == 1) == up
        if exact:
            good = np.where(want_high, z_nb >= one + mu_check, z_nb <= -one - mu_check)
        else:
            good = np.where(want_high, z_nb >= 1.0 + mu_check, z_nb <= -1.0 - mu_check)
        ok &= ~valid | good.astype(bool)
    tau = Y[rows, inv] * (Fraction(1) / V if exact else 1.0 / V) * v[None, :]
    if exact:
        ok &= z_own == tau
    else:
        # the float check itself rounds at ε·|G|: accept that, the forward pass is measured by verify
        ok &= np.abs(z_own - tau) <= 64 * _EPS * (np.abs(g0) + np.abs(g1) + 1)
        z_own = tau
    ok &= np.array([abs(x) <= 1 for x in np.asarray(tau).ravel()], dtype=bool).reshape(tau.shape)
    out = np.empty((nw, K), dtype=object if exact else np.float64)
    vv = v.astype(object) * V if exact else v * float(V)
    val = z_own * vv[None, :]
    out[rows, inv] = val
    bad = ~ok
    if np.any(bad):
        badpos = inv[bad]
        out[np.nonzero(bad)[0], badpos] = np.inf if not exact else Fraction(10**30)
    return out
