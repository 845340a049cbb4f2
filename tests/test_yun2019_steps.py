"""The intermediate claims of the Yun, Sra, Jadbabaie 2019 fully connected constructions.

Each test calls a step of the proof (``_core``, ``_build``, ``_deep``, ``classifier``) on small data
and checks what its docstring claims, exactly in exact arithmetic: the windows hold the sorted
points and their ramps end inside the data-free gaps, every zig-zag node hits its target at its
own position and saturates at every other one, the class decoder is a flat-top bump, and the deep
network's carrier copies the projection through every layer.
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memorize._arith import EXACT, FLOAT64
from memorize.constructions.yun2019 import _build, _core, _deep, classifier, deep, two_hidden
from memorize.errors import AssumptionError

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MU = Fraction(1, 4)


def _sorted_points(draw_ints):
    """Distinct sorted exact points from integer gaps (a few of them tiny)."""
    t, out = Fraction(-3), []
    for g in draw_ints:
        t += Fraction(g, 7) if g > 0 else Fraction(1, 1000)
        out.append(t)
    return np.array(out, dtype=object)


points = st.lists(st.integers(0, 20), min_size=1, max_size=40).map(_sorted_points)


def _layout(ts, K, eta=Fraction(9, 10), lo=None, hi=None):
    n_win = max(1, -(-len(ts) // K))
    return _core.make_windows(EXACT, ts, n_win, K, eta, lo=lo, hi=hi)


def _hardtanh(z):
    return np.array([min(max(v, -1), 1) for v in np.ravel(z)], dtype=object).reshape(np.shape(z))


# ------------------------------------------------------------------------------------- windows
@SETTINGS
@given(ts=points, half_k=st.integers(1, 4), eta=st.fractions(Fraction(1, 20), Fraction(19, 20)))
def test_windows_hold_the_sorted_points_and_ramps_end_in_the_gaps(ts, half_k, eta):
    K = 2 * half_k
    win = _layout(ts, K, eta)
    n_win = win.T.shape[0]
    assert win.T.shape == (n_win, K) and n_win == max(1, -(-len(ts) // K))
    assert all(win.T[j, m] < win.T[j, m + 1] for j in range(n_win) for m in range(K - 1))
    # the real positions are the sorted points, in order, window after window
    assert list(win.src[win.real]) == list(range(len(ts)))
    assert all(a == b for a, b in zip(win.T[win.real], ts))
    for j in range(n_win):
        assert win.L[j] < win.T[j, 0] and win.T[j, -1] < win.R[j]
        if j + 1 < n_win:  # both ends of the gap between windows j and j + 1 lie inside it
            assert win.T[j, -1] < win.L[j + 1] and win.R[j] < win.T[j + 1, 0]
    assert np.all(win.margin > 0)


@SETTINGS
@given(ts=points, half_k=st.integers(1, 3))
def test_chunk_windows_end_inside_the_gaps_to_the_neighbouring_points(ts, half_k):
    if len(ts) < 3:
        return
    lo, inner, hi = ts[0], ts[1:-1], ts[-1]
    win = _layout(inner, 2 * half_k, lo=lo, hi=hi)
    assert lo < win.L[0] and win.R[-1] < hi


@SETTINGS
@given(ts=points, half_k=st.integers(1, 4))
def test_ramps_give_each_point_its_position_and_saturate_elsewhere(ts, half_k):
    win = _layout(ts, 2 * half_k)
    c, e, S = _core.ramps(EXACT, win)
    assert all(0 < s < 1 for s in S.ravel())
    window_of = np.repeat(np.arange(win.T.shape[0]), win.real.sum(axis=1))
    phi = _hardtanh(np.outer(ts, c) + e[None, :])  # (points, windows)
    pos = S[win.real]
    for i, j in enumerate(window_of):
        assert phi[i, j] == 2 * pos[i] - 1
        assert all(phi[i, :j] == 1) and all(phi[i, j + 1:] == -1)


def test_sort_along_refuses_equal_projections():
    X = np.array([[0.0, 1.0], [0.0, 2.0], [1.0, 0.0]])
    u = np.array([1.0, 0.0])
    with pytest.raises(AssumptionError, match="distinct exact projections"):
        _build.sort_along(EXACT, X, u, None, 1, "test")
    with pytest.raises(AssumptionError, match="rounding level"):
        _build.sort_along(FLOAT64, X, u, None, 1, "test")
    ts, order = _build.sort_along(EXACT, X, np.array([1.0, 3.0]), None, 1, "test")
    assert list(order) == [2, 0, 1] and all(ts[1:] > ts[:-1])


# ------------------------------------------------------------------------------------- zig-zags
def _fit(ts, half_k, labels, strategy, close_end=False):
    win = _layout(ts, 2 * half_k)
    S = _core.ramps(EXACT, win)[2]
    Ys = np.array([Fraction(v) for v in labels], dtype=object)[:, None]
    Y = _core.window_labels(EXACT, Ys, win)[:, :, 0]
    return S, Y, _core.fit_zigzag(EXACT, S, Y, 2, MU, strategy, close_end=close_end)


labels = st.lists(st.fractions(-1, 1, max_denominator=64), min_size=40, max_size=40)


@SETTINGS
@given(ts=points, half_k=st.integers(1, 4), ys=labels, strategy=st.sampled_from(("auto",) + _core.STRATEGIES))
def test_zigzag_hits_tau_at_its_own_position_and_saturates_at_the_others(ts, half_k, ys, strategy):
    S, Y, zz = _fit(ts, half_k, ys[: len(ts)], strategy)
    n_win, K = S.shape
    v = np.where(np.arange(K) < K // 2, 1, -1)
    for j in range(n_win):
        owner = {int(zz.perm[j, m]): m for m in range(K)}
        assert sorted(owner) == list(range(K))  # every node owns exactly one position
        for k in range(K):
            z = [zz.G[k, j] + S[j, m] * (zz.G[k, j + 1] - zz.G[k, j]) for m in range(K)]
            mo = owner[k]
            assert z[mo] == Y[j, mo] * int(v[k]) / 2  # τ = y/(v_k V), V = 2
            low, high = (z[:mo], z[mo + 1:]) if j % 2 == 0 else (z[mo + 1:], z[:mo])
            assert all(x <= -1 - MU for x in low) and all(x >= 1 + MU for x in high)
        # the block output Σ_k v_k V σ_H(z_k) − V is the label at every position
        for m in range(K):
            z = zz.G[:, j] + S[j, m] * (zz.G[:, j + 1] - zz.G[:, j])
            assert sum(2 * v * _hardtanh(z)) - 2 == Y[j, m]


@SETTINGS
@given(ts=points, half_k=st.integers(1, 3), ys=labels)
def test_closed_zigzag_block_outputs_minus_v_outside_its_points(ts, half_k, ys):
    S, Y, zz = _fit(ts, half_k, ys[: len(ts)], "auto", close_end=True)
    v = np.where(np.arange(S.shape[1]) < S.shape[1] // 2, 1, -1)
    for level in (zz.G[:, 0], zz.G[:, -1]):  # what points left / right of every window see
        assert all(abs(g) >= 1 for g in level)
        assert sum(2 * v * _hardtanh(level)) - 2 == -2


def test_check_zigzag_returns_the_labels_and_catches_a_wrong_level():
    ts = _sorted_points([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5])
    ys = [Fraction(k, 11) - Fraction(1, 2) for k in range(11)]
    S, Y, zz = _fit(ts, 2, ys, "auto")
    out = _core.check_zigzag(EXACT, S, Y, 2, zz, 0)
    assert np.all(out == Y)
    zz.G[0, 1] += Fraction(1, 3)
    bad = _core.check_zigzag(EXACT, S, Y, 2, zz, 0)
    assert np.any(bad != Y)


def test_zigzag_weights_put_the_line_of_window_j_in_layer_2():
    G = np.array([[Fraction(-3), Fraction(5), Fraction(-7, 2), Fraction(2)]], dtype=object)
    W, b = _core.zigzag_weights(EXACT, G)
    for j in range(3):
        s = Fraction(2, 7)
        phi = np.array([1] * j + [2 * s - 1] + [-1] * (2 - j), dtype=object)
        assert W[0] @ phi + b[0] == G[0, j] + s * (G[0, j + 1] - G[0, j])


# ------------------------------------------------------------------------- through the network
def _data(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.uniform(-1, 1, (n, 1))


def _layer_pre(layer, h):
    return h @ layer.weight.T + layer.bias


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_projected_point_meets_the_window_and_zigzag_claims(exact, seed):
    X, y = _data(30, 3, seed)
    net = two_hidden.yun2019_two_hidden(X, y, activation="hardtanh", exact=exact)
    m = net.meta
    n_win, K, mu = m["windows"], m["positions_per_window"], m["mu"]
    Xa = EXACT.array(X) if exact else X
    phi = net.layers[0].forward(Xa)[:, :n_win]
    z = _layer_pre(net.layers[1], net.layers[0].forward(Xa))[:, :K]
    tol = 0 if exact else 1e-9
    order = np.argsort(X @ np.array(m["direction"]), kind="stable")
    v = np.where(np.arange(K) < K // 2, 1, -1)
    inside = np.abs(phi) < 1
    assert np.all(inside.sum(axis=1) == 1)  # every point inside exactly one window
    window = np.argmax(inside, axis=1)
    assert np.all(np.diff(window[order]) >= 0)  # windows follow the sorted projections
    for i in range(len(X)):
        j = window[i]
        assert np.all(phi[i, :j] == 1) and np.all(phi[i, j + 1:] == -1)
        zi = EXACT.to_float(z[i]) if not exact else z[i]
        own = [k for k in range(K) if abs(zi[k]) < 1 + mu / 2]
        assert len(own) == 1  # one owner, every other node saturated with margin
        k = own[0]
        tau = y[i, 0] * v[k] / 2 if not exact else Fraction(y[i, 0]) * v[k] / 2
        assert abs(zi[k] - tau) <= tol


# ------------------------------------------------------------------------------- classifier
@SETTINGS
@given(C=st.integers(1, 40), c=st.integers(0, 39), frac=st.fractions(-3, 3, max_denominator=50))
def test_code_decoder_is_exactly_one_near_its_code_and_zero_far_away(C, c, frac):
    c %= C
    rho, delta = classifier.class_codes(EXACT, C, half_range=2)
    M = Fraction(16) / delta
    beta = M * delta / 2
    w3 = np.array([[1]], dtype=object)
    W3, b3, W4, b4 = classifier.code_decoder(EXACT, w3, np.array([0], dtype=object), rho, M, beta)
    r = rho[c] + frac * delta  # the core's output, a multiple of Δ away from code c
    out = W4 @ _hardtanh(W3 @ np.array([r], dtype=object) + b3) + b4
    for k in range(C):
        dist = abs(r - rho[k])
        if dist <= (beta - 1) / M:
            assert out[k] == 1
        elif dist >= (beta + 1) / M:
            assert out[k] == 0
    if abs(frac) <= Fraction(7, 16):  # within the tolerance 7Δ/16: exactly the one-hot row of c
        assert list(out) == [int(k == c) for k in range(C)]


@pytest.mark.parametrize("C", [1, 2, 3, 10])
def test_code_decoder_at_the_ends_of_its_flat_top_and_of_its_support(C):
    rho, delta = classifier.class_codes(EXACT, C, half_range=2)
    M = Fraction(16) / delta
    beta = M * delta / 2
    W3, b3, W4, b4 = classifier.code_decoder(
        EXACT, np.array([[1]], dtype=object), np.array([0], dtype=object), rho, M, beta
    )
    for c in range(C):
        for sign in (1, -1):
            for dist, want in (((beta - 1) / M, 1), ((beta + 1) / M, 0), ((beta + 2) / M, 0), (Fraction(0), 1)):
                r = rho[c] + sign * dist
                out = W4 @ _hardtanh(W3 @ np.array([r], dtype=object) + b3) + b4
                assert out[c] == want
            mid = W4 @ _hardtanh(W3 @ np.array([rho[c] + sign * beta / M], dtype=object) + b3) + b4
            assert mid[c] == Fraction(1, 2)  # the ramp between: the bump is not a step


@pytest.mark.parametrize("C", [1, 2, 3, 7, 100, 1000])
def test_class_codes_are_dyadic_spaced_and_inside(C):
    rho, delta = classifier.class_codes(EXACT, C, half_range=2)
    d = Fraction(delta)
    assert d.numerator & (d.numerator - 1) == 0 and d.denominator & (d.denominator - 1) == 0  # a power of 2
    assert d <= Fraction(4, C + 1) < 2 * d  # the largest one ≤ 2h/(C + 1), h = 2
    assert all(b - a == d for a, b in zip(rho, rho[1:]))
    assert all(abs(r) <= 2 - d for r in rho)


# ------------------------------------------------------------------------------------- deep
def _chunk_of(order, chunks):
    idx = np.empty(len(order), dtype=np.int64)
    idx[order] = np.repeat(np.arange(len(chunks)), chunks)
    return idx


@pytest.mark.parametrize("widths,pairs,dy", [([12] * 6, [1, 3, 5], 1), ([2, 14, 14, 3, 14, 14, 2], [2, 5], 2)])
def test_deep_carrier_copies_the_projection_and_pairs_output_y_or_minus_v(widths, pairs, dy):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((40, 3)), rng.uniform(-1, 1, (40, dy))
    net = deep.yun2019_deep(X, y, widths=widths, pairs=pairs, activation="hardtanh", exact=True)
    m = net.meta
    u = EXACT.array(np.array(m["direction"]))
    t = EXACT.array(X) @ u
    alpha = Fraction(1) / (max(t) - min(t))
    c = t * alpha + (Fraction(-1, 2) - alpha * min(t))  # the carrier, from its definition
    lay = _deep.Layout.of(widths, pairs, dy)
    h, hs = EXACT.array(X), []
    for layer in net.layers[:-1]:
        h = layer.forward(h)
        hs.append(h)
    for l in range(1, len(widths) + 1):
        if lay.has_t[l - 1]:
            assert np.all(hs[l - 1][:, lay.t_idx(l)] == c)
    # accumulators: κ·Σ of the outputs of the pairs so far, y in a pair's own chunk, −V elsewhere
    order = np.array(sorted(range(len(t)), key=lambda i: t[i]))
    chunk = _chunk_of(order, m["chunks"])
    V = 2
    kappa = Fraction(1, 2 * (len(pairs) * V + 2))
    assert m["kappa"] == float(kappa)
    Y = EXACT.array(y)
    for j, l in enumerate(pairs):
        if l + 2 > len(widths):
            continue
        acc = hs[l + 1][:, lay.acc_idx(l + 2): lay.acc_idx(l + 2) + dy]
        for i in range(len(X)):
            used = [jj for jj in range(j + 1) if m["chunks"][jj] > 0]
            want = sum((Y[i] if chunk[i] == jj else -V * np.ones(dy, dtype=object)) for jj in used)
            assert np.all(acc[i] == kappa * want)


def test_carrier_projection_spans_minus_half_to_half():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((25, 4))
    u, order, _ = _deep.carrier_direction(EXACT, X, None, None, None, None, 4, np.random.default_rng(0), 1, None, {})
    w_car, beta0, cs = _deep.carrier_projection(EXACT, X, u, order, "test")
    assert cs[0] == Fraction(-1, 2) and cs[-1] == Fraction(1, 2)
    assert all(b > a for a, b in zip(cs, cs[1:]))
    assert np.all(EXACT.array(X)[order] @ w_car + beta0 == cs)


@SETTINGS
@given(L=st.integers(2, 7), w=st.integers(3, 14), n=st.integers(1, 300))
def test_chunks_fill_the_pairs_within_their_capacity(L, w, n):
    D = [w] * L
    cap, starts = _deep.best_starts(D, 1)
    if starts is None or cap < n:
        return
    sizes = _deep.chunk_sizes(D, starts, 1, n)
    assert sum(sizes) == n
    for j, (s, l) in enumerate(zip(sizes, starts), start=1):
        r = _deep.carriers(j, len(starts), 1)
        assert 0 <= s <= (D[l - 1] - r) * 2 * ((D[l] - r) // 2)


@SETTINGS
@given(n=st.integers(1, 3000), u1=st.integers(1, 8), u2=st.integers(1, 8))
def test_smallest_pair_is_the_cheapest_pair_meeting_the_capacity(n, u1, u2):
    a, b = _core.smallest_pair(n, u1, u2)
    assert 4 * a * b >= n
    need = -(-n // 4)
    best = min(u1 * x + u2 * -(-need // x) for x in range(1, need + 1))
    assert u1 * a + u2 * b == best


def test_window_layer_refuses_windows_closer_than_its_rounding():
    ts = np.array([0.0, 1.0, 1.0 + 2.0**-50, 2.0])
    win = _core.make_windows(FLOAT64, ts, 2, 2, 0.9)
    with pytest.raises(AssumptionError, match="rounding level of layer 1"):
        _build.window_layer(FLOAT64, np.array([1.0]), win, ts, "test")
    ex = EXACT.array(ts)
    _build.window_layer(EXACT, np.array([1.0]), _core.make_windows(EXACT, ex, 2, 2, Fraction(9, 10)), ex, "test")

