"""The Theorem 3.1 core of Yun et al. 2019 assembled into layers (shared by the fnn builders).

:func:`build_core` runs the proof's steps in order: choose a direction (step 1), sort the
projections (step 2), cut them into windows (step 3), the window layer (step 4), in float64 the
positions that layer really computes (step 5), the zig-zag layer and its check (step 6). Its
hard-tanh layers are turned into the target activation by :func:`finish`. Layer 1 is stored
factored (:class:`~memorize.network.Factored`, rank one): every window unit reads the one
projection <u, x>, which the network computes once per point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..._arith import FLOAT64, Arithmetic
from ..._linalg import EPS64
from ...activations import Activation, hardtanh
from ...errors import AssumptionError
from ...network import DEFAULT_CHUNK_BYTES, Dense, Factored, Network
from ...precision import Format
from ...rewrite import hardtanh_to_relu
from . import _core


@dataclass
class Core:
    """Hard-tanh core layers (unpadded; layer 1 factored, rank one) and facts for ``meta``."""

    layer1: Factored
    W2: np.ndarray
    b2: np.ndarray
    W3: np.ndarray
    b3: np.ndarray
    n_win: int
    K: int
    info: dict = field(default_factory=dict)


def build_core(ar: Arithmetic, X, Y, *, n_win_max: int, K: int, act: Activation, V, mu, eta, strategy: str,
               n_dir: int, rng, refit: bool, final_widths, d_out: int, method: str, n_trials: int = 1,
               fmt: Format | None = None) -> Core:
    """Fit the Theorem 3.1 core to ``X`` (n, d) and ``Y`` (n, k) (already checked, |Y| ≤ V/2).

    The hard-tanh layers map a point of window j (position s) to the block outputs y: layer 1
    holds ⌈n/K⌉ ≤ ``n_win_max`` windows of ``K`` positions, layer 2 a block of K zig-zag nodes per
    output, layer 3 adds them up. ``info["_values"]`` holds the outputs at the data that the
    builder's check verifies.

    Steps, in order: 1 :func:`choose_core_direction`, 2 :func:`sort_along`, 3 the windows
    (:func:`_core.make_windows`), 4 :func:`window_layer`, 5 :func:`refit_positions` (float64
    only) and :func:`_core.check_positions`, 6 :func:`zigzag_layer`. For a target format ``fmt``
    (the data already its numbers) layer 1's margins are checked against its rounding, layer 2
    is fitted to the positions the *rounded* layer 1 gives, and ``info["predicted_error"]`` is
    the cancellation mass times the format's spacing.
    """
    n = X.shape[0]
    n_win = max(1, -(-n // K))
    assert n_win <= n_win_max
    relu_proxy = act.name != "hardtanh"
    # the trials compare predicted float64 errors; an exact build has none to compare
    trials = 1 if ar.exact else n_trials
    u, order, score, t_sorted = choose_core_direction(
        ar, X, Y, n_win=n_win, K=K, V=V, mu=mu, eta=eta, strategy=strategy, n_dir=n_dir, rng=rng,
        relu_proxy=relu_proxy, n_trials=trials,
    )
    ts, order = sort_along(ar, X, u, order, n_dir, method, t_sorted)
    win = _core.make_windows(ar, ts, n_win, K, ar.rational(eta, 1000))
    layer1, S = window_layer(ar, u, win, ts, method, fmt)
    if refit and not ar.exact:
        S = refit_positions(win, S, layer1, act, X, order, final_widths, d_out, fmt)
    _core.check_positions(ar, S, f"X: {method}: two points are indistinguishable after float64 rounding of layer 1; pass exact=True")
    Yw = _core.window_labels(ar, ar.array(Y)[order], win)
    W2, b2, W3, b3, vals, fits = zigzag_layer(ar, S, Yw, V, mu, strategy, relu_proxy)
    out = np.empty((n, Y.shape[1]), dtype=ar.dtype)  # outputs at the points, in the user's order
    out[order[win.src[win.real]]] = vals[win.real]
    info = _core_info(ar, u, n, win, fits, score, eta, mu, V, refit, fmt)
    info["_values"] = out
    return Core(layer1, W2, b2, W3, b3, n_win, K, info)


def choose_core_direction(ar: Arithmetic, X, Y, *, n_win, K, V, mu, eta, strategy, n_dir, rng, relu_proxy, n_trials):
    """Step 1: the projection direction u, ranked by the slopes its windows need.

    With ``n_trials > 1`` (float64 only) the zig-zags of the first output are fitted on the best
    ``n_trials`` directions (positions straight from the windows, no layer-1 pass) and the one
    with the smallest predicted cancellation wins: the float64 error is heavy-tailed over
    directions. Returns ``(u, order, window score, sorted float64 projections)``; ``order``
    sorts the float64 projections.
    """
    if n_trials <= 1:
        u, order, ts, score = _core.choose_direction(ar, X, n_dir, rng, n_win)
        return u, order, score, ts
    cands = _core.choose_direction(ar, X, n_dir, rng, n_win, keep=n_trials)
    best = None
    for u_c, order_c, ts_c, score_c in cands:
        if not FLOAT64.separated(np.diff(ts_c), max(float(np.max(np.abs(ts_c))), 1e-300), 256):
            continue
        win = _core.make_windows(FLOAT64, ts_c, n_win, K, float(eta))
        S = _core.ramps(FLOAT64, win)[2]
        try:
            zz = _core.fit_zigzag(FLOAT64, S, _core.window_labels(FLOAT64, Y[order_c], win)[:, :, 0], V, mu, strategy,
                                  relu_proxy=relu_proxy)
        except AssumptionError:
            continue
        if best is None or zz.mass < best[0]:
            best = (zz.mass, u_c, order_c, score_c, ts_c)
    u, order, ts, score = cands[0] if best is None else (best[1], best[2], best[4], best[3])
    return u, order, score, ts


def sort_along(ar: Arithmetic, X, u, order, n_dir: int, method: str, t_sorted=None):
    """Step 2: the projections t_i = <u, x_i>, sorted, and proof that they are distinct.

    Claim: ``ts`` is strictly increasing, exactly (exact arithmetic) or with every gap above
    256·ε·max|t| (float64), so that the float64 order is the true one. Raises
    :class:`AssumptionError` otherwise. Returns ``(ts, order)``. ``t_sorted``: the float64
    projections step 1 already sorted (the same product ``X @ u``), reused in float64 so that
    large data are not read again.
    """
    if t_sorted is not None and not ar.exact:
        ts = np.asarray(t_sorted)
    else:
        ts, order, _ = ar.sorted_projection(X, u, order)
    tmax = float(np.max(np.abs(ar.to_float(ts)))) if len(ts) else 1.0
    gaps = np.diff(ts)
    if ar.separated(gaps, max(tmax, 1e-300), 256):
        return ts, order
    if ar.exact:
        raise AssumptionError(f"X: {method} found no direction with distinct exact projections; points must be distinct")
    raise AssumptionError(
        f"X: the smallest gap between projected points ({np.min(gaps):.3e}) is at the rounding level of "
        f"the projections (max |t| = {tmax:.3e}) for every one of {n_dir} directions tried; "
        f"{method} cannot separate them in float64 — pass exact=True or a larger n_directions"
    )


def window_layer(ar: Arithmetic, u, win: _core.Windows, ts, method: str, fmt: Format | None = None):
    """Step 4: layer 1, one hard-tanh ramp per window along u, and the positions it gives.

    Claim: unit j computes φ_j(x) = σ_H(c_j<u, x> + e_j) (see :func:`_core.ramps`), i.e. 2s − 1 at
    the points of window j and ∓1 at the points left/right of it; in float64 the margin by which
    the neighbouring windows' points saturate exceeds the rounding of the layer (else
    :class:`AssumptionError`). For a target format ``fmt`` the rounding is the format's: its
    weights and bias are rounded (u) and d products accumulated (d·u_acc), with a factor 4.
    Returns ``(layer 1, S)``, S the positions (n_win, K); layer 1 is the rank-one
    :class:`~memorize.network.Factored` layer ``σ_H(c (uᵀx) + e)``, evaluated as the claim
    reads: one projection per point, then one product per unit.
    """
    c, b1, S = _core.ramps(ar, win)
    layer1 = Factored(c[:, None], ar.array(u)[None, :], b1, hardtanh)
    # the float64 layer 1 rounds at ε·|c|·(|t| + |R + L|/2); the neighbours' margin must dwarf that
    cf, mid = ar.to_float(c), np.abs(ar.to_float(win.R + win.L))
    eps = 64 * EPS64 if fmt is None else 4 * (2 * fmt.u + (len(u) + 1) * fmt.accumulator.u)
    err = ar.tol(eps * (np.abs(cf) * (np.max(np.abs(ar.to_float(ts))) + mid / 2) + 1))
    if np.any(win.margin < err):
        raise AssumptionError(f"X: {method}: the gap between two windows is at the float64 rounding level of layer 1; pass exact=True")
    return layer1, S


def refit_positions(win: _core.Windows, S, layer1: Factored, act: Activation, X, order, final_widths, d_out: int,
                    fmt: Format | None = None):
    """Step 5 (float64 only): the positions of the real points as the float64 layer 1 computes them.

    Claim: the returned S equals (φ_j(x) + 1)/2 at every real point bit for bit as the final
    network's first layer (in the target activation, same rewrite and chunking as ``verify``)
    computes it, so layer 2 fitted to it absorbs layer 1's rounding. Virtual positions are kept.
    For a target format ``fmt`` the layer's weights are first rounded to it: layer 2 then
    absorbs that rounding too (the certificate's reference values are those of the rounded net).
    """
    n, d = X.shape
    rows = chunk_rows_for(final_widths, d, d_out)
    win_of_sorted = np.repeat(np.arange(win.T.shape[0]), win.real.sum(axis=1))
    # real points are laid out in sorted order window after window
    win_of_row = np.empty(n, dtype=np.int64)
    win_of_row[order] = win_of_sorted
    mirror = {0: mirror_mask(layer1.out_dim)}
    phi = layer_values([layer1], act, X, rows, {0: win_of_row}, final_widths, mirror, fmt)[0]
    s_sorted = (phi[order] + 1.0) / 2.0
    S = S.copy()
    S[win.real] = s_sorted[win.src[win.real]]
    return S


def zigzag_layer(ar: Arithmetic, S, Yw, V, mu, strategy: str, relu_proxy: bool):
    """Step 6: layer 2 (K zig-zag nodes per output), the output layer, and their check.

    Claim (per output, :func:`_core.fit_zigzag` and :func:`_core.check_zigzag`): at every real
    position the owner's hard-tanh value is τ = y/(v_k V) and every other node is saturated, so
    the output Σ_k v_k V σ_H(z_k) − V equals y. Returns ``(W2, b2, W3, b3, values, fits)`` with
    ``values`` the outputs at the positions (n_win, K, k) and ``fits`` the :class:`_core.ZigZag`.
    """
    n_win, K, k = Yw.shape
    W2, b2 = ar.zeros((k * K, n_win)), ar.zeros(k * K)
    W3, b3 = ar.zeros((k, k * K)), ar.zeros(k)
    vals = np.empty((n_win, K, k), dtype=ar.dtype)
    v = ar.array(np.where(np.arange(K) < K // 2, 1, -1))
    fits = []
    for cc in range(k):
        zz = _core.fit_zigzag(ar, S, Yw[:, :, cc], V, mu, strategy, relu_proxy=relu_proxy)
        rows = slice(cc * K, (cc + 1) * K)
        W2[rows], b2[rows] = _core.zigzag_weights(ar, zz.G)
        W3[cc, rows] = v * V
        b3[cc] = -V
        vals[:, :, cc] = _core.check_zigzag(ar, S, Yw[:, :, cc], V, zz, ar.tol(mu / 2))
        fits.append(zz)
    return W2, b2, W3, b3, vals, fits


def _core_info(ar: Arithmetic, u, n: int, win: _core.Windows, fits, score, eta, mu, V, refit: bool,
               fmt: Format | None = None) -> dict:
    """The facts of a core for ``meta``."""
    n_win, K = win.T.shape
    strategies = [zz.strategy for zz in fits]
    mass = float(max(zz.mass for zz in fits))
    return {
        "direction": [float(x) for x in u],
        "windows": int(n_win),
        "positions_per_window": int(K),
        "virtual_points": int(n_win * K - n),
        "strategy": strategies[0] if len(set(strategies)) == 1 else strategies,
        "max_level": float(max(zz.max_level for zz in fits)),
        "cancellation_mass": mass,
        # rough float64 error of the output (measured errors were 2–4× below it); exact: 0
        "predicted_error": mass * (ar.eps if fmt is None else fmt.eps),
        "window_score": float(score),
        "eta": float(eta),
        "mu": float(mu),
        "V": float(V),
        "refit_to_float": bool(refit and not ar.exact),
    }


def layer_values(layers_ht, act: Activation, X, rows: int, units: dict, final_widths,
                 mirror: dict | None = None, fmt: Format | None = None) -> dict:
    """Hard-tanh values of chosen units, as the float64 network in activation ``act`` computes them.

    ``units`` maps a layer index i (0-based, into ``layers_ht``) to ``unit_of_row``: the unit of
    layer i to read at every row (−1: none, NaN returned). The layers are rewritten (with
    ``mirror``, as :func:`finish` does), padded to ``final_widths`` and evaluated in chunks of
    ``rows`` rows, exactly as the final network's first ``len(layers_ht)`` layers are by its
    forward pass, so the values match it bit for bit (with ``fmt``, the layers' weights are
    first rounded to the format, as the network the user runs holds them). Returns ``{i: values}``.
    """
    depth = len(layers_ht)
    n_out = layers_ht[-1].out_dim
    ht = Network(list(layers_ht) + [Dense(np.zeros((1, n_out)), np.zeros(1))])
    mirror = dict(mirror or {})
    if act.name != "hardtanh":
        ht = hardtanh_to_relu(ht, act, mirror=mirror)
        sp, sm = float(act.slopes[0]), float(act.slopes[1])
    layers, cols = [], None
    for i, layer in enumerate(ht.layers[:depth]):
        cols = layer.in_dim if cols is None else cols
        layer = pad_layer(layer, final_widths[i], cols)
        if fmt is not None:  # the layer the user runs: its weights rounded to the format
            layer = layer.with_arrays({k: fmt.round(a) for k, a in layer.arrays().items()})
        layers.append(layer)
        cols = final_widths[i]
    out = {i: np.full(X.shape[0], np.nan) for i in units}
    for start in range(0, X.shape[0], rows):
        sl = slice(start, min(start + rows, X.shape[0]))
        h = X[sl]
        for i, layer in enumerate(layers):
            h = layer.forward(h)
            if i not in units:
                continue
            j = units[i][sl]
            r = np.nonzero(j >= 0)[0]
            j = j[r]
            if act.name == "hardtanh":
                out[i][start + r] = h[r, j]
            else:
                n_i = layers_ht[i].out_dim
                sign = np.where(mirror.get(i, np.zeros(n_i, dtype=bool)), -1.0, 1.0)
                out[i][start + r] = sign[j] * ((h[r, 2 * j] - h[r, 2 * j + 1] - (sp + sm)) / (sp - sm))
    return out


def mirror_mask(n_win: int) -> np.ndarray:
    """Layer-1 windows rewritten with σ_H(t) = −σ_H(−t): those in the left half of the data.

    A ReLU pair recovers a saturated window value exactly (as zeros) on one side and by
    cancelling two numbers of size |t| (distance in window widths) on the other; mirroring the
    left half puts the cancelling side of every window toward its nearer end of the data.
    """
    return np.arange(n_win) < n_win // 2


def chunk_rows_for(widths, d_in, d_out) -> int:
    """Rows per chunk of the forward pass (as ``verify`` chunks it) for these layer sizes."""
    widest = max([d_in, d_out] + list(widths))
    return max(1, DEFAULT_CHUNK_BYTES // (3 * 8 * widest))


def pad(W, rows: int, cols: int):
    """Zero-pad a weight matrix (unused units have all-zero weights: σ(0) = 0)."""
    out = np.zeros((rows, cols), dtype=W.dtype)
    out[: W.shape[0], : W.shape[1]] = W
    return out


def padv(b, n: int):
    """Zero-pad a bias vector."""
    out = np.zeros(n, dtype=b.dtype)
    out[: b.shape[0]] = b
    return out


def pad_layer(layer: Dense, rows: int, cols: int) -> Dense:
    """The layer with zero units appended up to ``rows`` and zero input columns up to ``cols``.

    A factored layer gets zero rows in ``A`` (its units) and keeps ``B``: it is only padded as
    a first layer, whose inputs are the data (``cols`` equals its input size).
    """
    if isinstance(layer, Factored) and cols == layer.in_dim:
        return Factored(pad(layer.A, rows, layer.rank), layer.B, padv(layer.bias, rows), layer.activation)
    W = layer.weight
    return Dense(pad(W, rows, cols), padv(layer.bias, rows), layer.activation)


def finish(layers_ht, act: Activation, widths, meta, mirror_first: bool = True, mirror: dict | None = None) -> Network:
    """Hard-tanh layers -> network in ``act`` with exactly the hidden ``widths`` (zero units).

    The ReLU rewrite mirrors the units ``mirror`` marks ({layer index: mask}); by default the
    left half of layer 1 (``mirror_first``, see :func:`mirror_mask`).
    """
    net = Network(layers_ht, meta)
    if act.name != "hardtanh":
        if mirror is None and mirror_first:
            mirror = {0: mirror_mask(layers_ht[0].out_dim)}
        net = hardtanh_to_relu(net, act, mirror=mirror)
        meta = dict(net.meta)
        meta.pop("rewritten", None)
    layers = list(net.layers)
    out = []
    prev_extra_cols = None
    for i, layer in enumerate(layers):
        cols = layer.in_dim if prev_extra_cols is None else prev_extra_cols
        rows = widths[i] if i < len(widths) else layer.out_dim
        out.append(pad_layer(layer, rows, cols))
        prev_extra_cols = rows
    return Network(out, meta)
