"""Proposition 3.4 (deeper and/or narrower networks): pair search and hard-tanh assembly."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

from ... import _exact
from ...activations import hardtanh, identity
from ...errors import AssumptionError
from ...network import Dense
from . import _core

_EPS = 2.0**-52


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


def build_deep_ht(X, Y, D, starts, *, V, mu, eta, strategy, rng, exact, n_dir, method):
    """Hard-tanh layers (list of Dense) for Proposition 3.4 with hard-tanh widths ``D``."""
    n, d = X.shape
    dy = Y.shape[1]
    m = len(starts)
    L1 = len(D)
    # 1. projection (one direction for the whole network) and carrier t ↦ αt + β0 ∈ [−½, ½]
    u, order, ts_f, _ = _core.choose_direction(X, n_dir, rng, exact, 1)
    if exact:
        ue = _exact.to_exact_array(u)
        t = _exact.to_exact_array(X) @ ue
        t = np.array([Fraction(v) for v in t], dtype=object)
        order = np.array(sorted(range(n), key=lambda i: t[i]), dtype=np.int64)
        tmin, tmax = t[order[0]], t[order[-1]]
        alpha = Fraction(1) / (tmax - tmin) if tmax > tmin else Fraction(1)
        beta0 = Fraction(-1, 2) - alpha * tmin
        w_car = ue * alpha
        c_all = t * alpha + beta0
    else:
        t = X @ u
        tmin, tmax = float(t[order[0]]), float(t[order[-1]])
        alpha = 1.0 / (tmax - tmin) if tmax > tmin else 1.0
        beta0 = -0.5 - alpha * tmin
        w_car = u * alpha
        # the carrier as layer 1 computes it (then copied exactly by weight-1 carriers)
        c_all = X @ w_car + beta0
    cs = c_all[order]
    if n > 1:
        gaps = np.diff(_exact.to_float_array(cs) if exact else cs)
        if not exact and not np.min(gaps) > 256 * _EPS:
            raise AssumptionError(f"X: {method}: two points project within float64 rounding; pass exact=True")
        if exact and any(cs[i + 1] <= cs[i] for i in range(n - 1)):
            raise AssumptionError(f"X: {method}: no direction with distinct exact projections; points must be distinct")
    # 2. chunks in proportion to capacity
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
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    Ys = Y[order]
    if exact:
        Ys = np.frompyfunc(Fraction, 1, 1)(_exact.to_exact_array(Ys)).astype(object)
    kappa = Fraction(1, 2 * (m * V + 2)) if exact else 1.0 / (2 * (m * V + 2))
    one = 1 if exact else 1.0
    dt = object if exact else np.float64

    def zeros(*shape):
        z = np.zeros(shape, dtype=dt)
        if exact:
            z[...] = 0
        return z

    # unit layout per hidden layer: [pair units][t-carrier][accumulators]
    has_t = [l < starts[-1] for l in range(1, L1 + 1)]  # t-carrier in layers 1..l_m − 1
    has_acc = [l >= starts[0] + 2 for l in range(1, L1 + 1)]
    pair_of = {}
    for j, l in enumerate(starts):
        pair_of[l] = (j, 0)
        pair_of[l + 1] = (j, 1)
    W = [zeros(D[i], d if i == 0 else D[i - 1]) for i in range(L1)] + [zeros(dy, D[-1])]
    b = [zeros(D[i]) for i in range(L1)] + [zeros(dy)]

    def t_idx(l):  # index of the t-carrier in hidden layer l (1-based)
        return D[l - 1] - (dy if has_acc[l - 1] else 0) - 1

    def acc_idx(l):
        return D[l - 1] - dy

    # carriers
    for l in range(1, L1 + 1):
        if has_t[l - 1]:
            ti = t_idx(l)
            if l == 1:
                W[0][ti] = w_car
                b[0][ti] = beta0
            else:
                W[l - 1][ti, t_idx(l - 1)] = one
        if has_acc[l - 1] and l - 1 >= 1 and has_acc[l - 2]:
            for c in range(dy):
                W[l - 1][acc_idx(l) + c, acc_idx(l - 1) + c] = one
    info = {"chunks": [int(x) for x in sizes], "pairs": list(starts), "strategy": [], "max_level": 0.0}
    for j, l in enumerate(starts):
        a, e = int(bounds[j]), int(bounds[j + 1])
        if e <= a:
            continue
        r = carriers(j + 1, m, dy)
        K = 2 * ((D[l] - r) // (2 * dy))
        nj = e - a
        n_win = max(1, -(-nj // K))
        lo = cs[a - 1] if a > 0 else None
        hi = cs[e] if e < n else None
        eta_x = Fraction(eta).limit_denominator(1000) if exact else float(eta)
        win = _core.make_windows(cs[a:e], n_win, K, eta_x, lo=lo, hi=hi)
        L_, R_ = win.L, win.R
        if exact:
            aw = np.array([Fraction(2) / (rr - ll) for ll, rr in zip(L_, R_)], dtype=object)
            bw = -(aw * (R_ + L_)) * Fraction(1, 2)
        else:
            aw = 2.0 / (R_ - L_)
            bw = -aw * (R_ + L_) / 2.0
            err = 64 * _EPS * (aw * 1.0 + 1)
            if np.any(win.margin < err):
                raise AssumptionError(f"X: {method}: two chunks meet within float64 rounding; pass exact=True")
        S = (win.T - L_[:, None]) / (R_ - L_)[:, None]
        Sf = _exact.to_float_array(S) if exact else S
        if not (np.all(Sf > 0) and np.all(Sf < 1) and np.all(np.diff(Sf, axis=1) > 0)):
            raise AssumptionError(f"X: {method}: two points are indistinguishable in float64; pass exact=True")
        # windows: layer l, units 0..n_win−1, reading x (l = 1) or the t-carrier of layer l − 1
        if l == 1:
            W[0][:n_win] = aw[:, None] * w_car[None, :]
            b[0][:n_win] = aw * beta0 + bw
        else:
            W[l - 1][:n_win, t_idx(l - 1)] = aw
            b[l - 1][:n_win] = bw
        Yw = zeros(n_win, K, dy)
        Yw[win.real] = Ys[a:e][win.src[win.real]]
        v = np.where(np.arange(K) < K // 2, 1, -1)
        vv = v.astype(object) * V if exact else v * float(V)
        for cc in range(dy):
            zz = _core.fit_zigzag(S, Yw[:, :, cc], V, mu, strategy, close_end=hi is not None)
            G = zz.G
            half = Fraction(1, 2) if exact else 0.5
            rows = slice(cc * K, (cc + 1) * K)
            W[l][rows, :n_win] = (G[:, 1:] - G[:, :-1]) * half
            b[l][rows] = (G[:, 0] + G[:, -1]) * half
            info["strategy"].append(zz.strategy)
            info["max_level"] = max(info["max_level"], float(zz.max_level))
            # pair output Σ v σ(z) − V goes to the accumulators of layer l + 2, or the output
            if l + 2 <= L1:
                W[l + 1][acc_idx(l + 2) + cc, rows] = vv * kappa
                b[l + 1][acc_idx(l + 2) + cc] = b[l + 1][acc_idx(l + 2) + cc] - V * kappa
            else:
                W[L1][cc, rows] = vv
                b[L1][cc] = b[L1][cc] - V
    # output: acc/κ + (m' − 1)V, m' the pairs that hold points (an empty pair has zero weights
    # and outputs 0, not −V)
    used = int(np.count_nonzero(np.diff(bounds) > 0))
    for cc in range(dy):
        if has_acc[L1 - 1]:
            W[L1][cc, acc_idx(L1) + cc] = (Fraction(1) / kappa) if exact else 1.0 / kappa
        b[L1][cc] = b[L1][cc] + (used - 1) * V
    layers = [Dense(W[i], b[i], hardtanh) for i in range(L1)] + [Dense(W[L1], b[L1], identity)]
    info["direction"] = [float(x) for x in u]
    info["kappa"] = float(kappa)
    return layers, info
