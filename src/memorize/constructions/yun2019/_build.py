"""Assembly of the Theorem 3.1 core into layers (shared by the three fnn builders)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ... import _exact
from ...activations import Activation, hardtanh
from ...errors import AssumptionError
from ...network import DEFAULT_CHUNK_BYTES, Dense, Network
from ...rewrite import hardtanh_to_relu
from . import _core

_EPS = 2.0**-52


@dataclass
class Core:
    """Hard-tanh core layers (unpadded) and facts for ``meta``."""

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    W3: np.ndarray
    b3: np.ndarray
    n_win: int
    K: int
    info: dict = field(default_factory=dict)


def _layer1_values(W1, b1, act: Activation, X, rows: int, win_of_row: np.ndarray, width: int) -> np.ndarray:
    """φ of each point's own window, as the float64 network in activation ``act`` computes it.

    The arrays are built exactly as the final network's first layer (same rewrite), so the
    values match the network's forward pass bit for bit (same chunking as ``verify``).
    """
    n_out = W1.shape[0]
    ht = Network([Dense(W1, b1, hardtanh), Dense(np.zeros((1, n_out)), np.zeros(1))])
    sign = np.where(mirror_mask(n_out), -1.0, 1.0)
    if act.name != "hardtanh":
        ht = hardtanh_to_relu(ht, act, mirror={0: mirror_mask(n_out)})
        sp, sm = float(act.slopes[0]), float(act.slopes[1])
    layer = ht.layers[0]
    layer = Dense(pad(layer.weight, width, layer.weight.shape[1]), padv(layer.bias, width), layer.activation)
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], rows):
        sl = slice(start, min(start + rows, X.shape[0]))
        h = layer.forward(X[sl])
        j = win_of_row[sl]
        r = np.arange(h.shape[0])
        if act.name == "hardtanh":
            out[sl] = h[r, j]
        else:
            out[sl] = sign[j] * ((h[r, 2 * j] - h[r, 2 * j + 1] - (sp + sm)) / (sp - sm))
    return out


def mirror_mask(n_win: int) -> np.ndarray:
    """Layer-1 windows rewritten with σ_H(t) = −σ_H(−t): those in the left half of the data.

    A ReLU pair recovers a saturated window value exactly (as zeros) on one side and by
    cancelling two numbers of size |t| (distance in window widths) on the other; mirroring the
    left half puts the cancelling side of every window toward its nearer end of the data.
    """
    return np.arange(n_win) < n_win // 2


def chunk_rows_for(widths, d_in, d_out) -> int:
    widest = max([d_in, d_out] + list(widths))
    return max(1, DEFAULT_CHUNK_BYTES // (3 * 8 * widest))


def build_core(X, Y, *, n_win_max: int, K: int, act: Activation, V, mu, eta, strategy: str,
               n_dir: int, rng, exact: bool, refit: bool, final_widths, d_out: int, method: str,
               n_trials: int = 1) -> Core:
    """Fit the core to ``X`` (n, d) and ``Y`` (n, k) (already checked, |Y| ≤ V/2)."""
    n, d = X.shape
    k = Y.shape[1]
    n_win = max(1, -(-n // K))
    assert n_win <= n_win_max
    if exact or n_trials <= 1:
        u, order, ts_f, score = _core.choose_direction(X, n_dir, rng, exact, n_win)
    else:
        # The float64 error is heavy-tailed over directions: fit the zig-zags of the first output
        # on the best few directions (analytic positions, no layer-1 pass) and keep the one with
        # the smallest predicted cancellation.
        cands = _core.choose_direction(X, n_dir, rng, exact, n_win, keep=n_trials)
        best = None
        for u_c, order_c, ts_c, score_c in cands:
            if n > 1 and not (np.min(np.diff(ts_c)) > 256 * _EPS * max(float(np.max(np.abs(ts_c))), 1e-300)):
                continue
            w_c = _core.make_windows(ts_c, n_win, K, float(eta))
            S_c = (w_c.T - w_c.L[:, None]) / (w_c.R - w_c.L)[:, None]
            Y_c = np.zeros((n_win, K))
            Y_c[w_c.real] = Y[order_c, 0][w_c.src[w_c.real]]
            try:
                zz = _core.fit_zigzag(S_c, Y_c, V, mu, strategy, relu_proxy=act.name != "hardtanh")
            except AssumptionError:
                continue
            if best is None or zz.mass < best[0]:
                best = (zz.mass, u_c, order_c, ts_c, score_c)
        if best is None:
            u, order, ts_f, score = cands[0]
        else:
            _, u, order, ts_f, score = best
    if exact:
        Xe = _exact.to_exact_array(X)
        ue = _exact.to_exact_array(u)
        t_all = Xe @ ue
        pairs = sorted(zip(t_all.tolist(), range(n)))
        ts = np.array([Fraction(p[0]) for p in pairs], dtype=object)  # Fractions: int/int would give floats
        order = np.array([p[1] for p in pairs], dtype=np.int64)
        if n > 1 and any(ts[i + 1] <= ts[i] for i in range(n - 1)):
            raise AssumptionError(f"X: {method} found no direction with distinct exact projections; points must be distinct")
        eta_x = _exact.exact_scalar(Fraction(eta).limit_denominator(1000))
    else:
        ts = ts_f
        gaps = np.diff(ts)
        tmax = float(np.max(np.abs(ts))) if n else 1.0
        if n > 1 and not (np.min(gaps) > 256 * _EPS * max(tmax, 1e-300)):
            raise AssumptionError(
                f"X: the smallest gap between projected points ({np.min(gaps):.3e}) is at the rounding level of "
                f"the projections (max |t| = {tmax:.3e}) for every one of {n_dir} directions tried; "
                f"{method} cannot separate them in float64 — pass exact=True or a larger n_directions"
            )
        eta_x = float(eta)
    win = _core.make_windows(ts, n_win, K, eta_x)
    L, R = win.L, win.R
    if exact:
        c = np.array([Fraction(2) / (r - l) for l, r in zip(L, R)], dtype=object)
        W1 = c[:, None] * ue[None, :]
        b1 = -(c * (R + L)) * Fraction(1, 2)
        S = (win.T - L[:, None]) / (R - L)[:, None]
    else:
        c = 2.0 / (R - L)
        W1 = c[:, None] * u[None, :]
        b1 = -c * (R + L) / 2.0
        S = (win.T - L[:, None]) / (R - L)[:, None]
        # float layer 1 rounds |b1|·ε; the neighbours' margin must dwarf that.
        err = 64 * _EPS * (np.abs(c) * (np.max(np.abs(ts)) + np.abs(R + L) / 2) + 1)
        if np.any(win.margin < err):
            raise AssumptionError(
                f"X: {method}: the gap between two windows is at the float64 rounding level of layer 1; pass exact=True"
            )
        if refit:
            rows = chunk_rows_for(final_widths, d, d_out)
            win_of_sorted = np.repeat(np.arange(n_win), win.real.sum(axis=1))
            # real points are laid out in sorted order window after window
            win_of_row = np.empty(n, dtype=np.int64)
            win_of_row[order] = win_of_sorted
            phi = _layer1_values(W1, b1, act, X, rows, win_of_row, final_widths[0])
            s_sorted = (phi[order] + 1.0) / 2.0
            S = S.copy()
            S[win.real] = s_sorted[win.src[win.real]]
    # positions must be strictly inside the window and strictly increasing
    Sf = _exact.to_float_array(S) if exact else S
    if not (np.all(Sf > 0) and np.all(Sf < 1) and np.all(np.diff(Sf, axis=1) > 0)):
        raise AssumptionError(
            f"X: {method}: two points are indistinguishable after float64 rounding of layer 1; pass exact=True"
        )
    Ys = Y[order]
    dt = object if exact else np.float64
    Yw = np.zeros((n_win, K, k), dtype=dt)
    if exact:
        Yw[:] = 0
        Ys = np.frompyfunc(Fraction, 1, 1)(_exact.to_exact_array(Ys)).astype(object)
    Yw[win.real] = Ys[win.src[win.real]]
    W2 = np.zeros((k * K, n_win), dtype=dt)
    b2 = np.zeros(k * K, dtype=dt)
    W3 = np.zeros((k, k * K), dtype=dt)
    b3 = np.zeros(k, dtype=dt)
    if exact:
        for a in (W2, b2, W3, b3):
            a[...] = 0
    vals = np.empty((n_win, K, k), dtype=dt)
    strategies, levels, masses = [], [], []
    v = np.where(np.arange(K) < K // 2, 1, -1)
    for cc in range(k):
        zz = _core.fit_zigzag(S, Yw[:, :, cc], V, mu, strategy, relu_proxy=act.name != "hardtanh")
        G = zz.G
        half = Fraction(1, 2) if exact else 0.5
        W2[cc * K:(cc + 1) * K] = (G[:, 1:] - G[:, :-1]) * half
        b2[cc * K:(cc + 1) * K] = (G[:, 0] + G[:, -1]) * half
        W3[cc, cc * K:(cc + 1) * K] = v * V if not exact else v.astype(object) * V
        b3[cc] = -V
        mu_check = mu / 2 if not exact else 0
        vals[:, :, cc] = _core.check_zigzag(S, Yw[:, :, cc], V, zz, mu_check)
        strategies.append(zz.strategy)
        levels.append(zz.max_level)
        masses.append(zz.mass)
    # output at the real points (in the user's order of the distinct points)
    out = np.empty((n, k), dtype=dt)
    out[order[win.src[win.real]]] = vals[win.real]
    info = {
        "direction": [float(x) for x in u],
        "windows": int(n_win),
        "positions_per_window": int(K),
        "virtual_points": int(n_win * K - n),
        "strategy": strategies[0] if len(set(strategies)) == 1 else strategies,
        "max_level": float(max(levels)),
        "cancellation_mass": float(max(masses)),
        # rough float64 error of the output (measured errors were 2–4× below it); exact: 0
        "predicted_error": 0.0 if exact else float(max(masses)) * 2.0**-52,
        "window_score": float(score),
        "eta": float(eta),
        "mu": float(mu),
        "V": float(V),
        "refit_to_float": bool(refit and not exact),
        "_values": out,
    }
    return Core(W1, b1, W2, b2, W3, b3, n_win, K, info)


def pad(W, rows: int, cols: int):
    """Zero-pad a weight matrix (unused units have all-zero weights: σ(0) = 0)."""
    exact = W.dtype == object
    out = np.zeros((rows, cols), dtype=W.dtype)
    if exact:
        out[...] = 0
    out[: W.shape[0], : W.shape[1]] = W
    return out


def padv(b, n: int):
    out = np.zeros(n, dtype=b.dtype)
    if b.dtype == object:
        out[...] = 0
    out[: b.shape[0]] = b
    return out


def finish(layers_ht, act: Activation, widths, meta, mirror_first: bool = True) -> Network:
    """Hard-tanh layers -> network in ``act`` with exactly the hidden ``widths`` (zero units)."""
    net = Network(layers_ht, meta)
    if act.name != "hardtanh":
        mirror = {0: mirror_mask(layers_ht[0].weight.shape[0])} if mirror_first else None
        net = hardtanh_to_relu(net, act, mirror=mirror)
        meta = dict(net.meta)
        meta.pop("rewritten", None)
    layers = list(net.layers)
    out = []
    prev_extra_cols = None
    for i, layer in enumerate(layers):
        W, b = layer.weight, layer.bias
        cols = W.shape[1] if prev_extra_cols is None else prev_extra_cols
        rows = widths[i] if i < len(widths) else W.shape[0]
        out.append(Dense(pad(W, rows, cols), padv(b, rows), layer.activation))
        prev_extra_cols = rows
    return Network(out, meta)
