"""Proposition 3.4 of Yun et al. 2019 (deep and narrow networks) and its classification form.

Default widths from the depth, the float64 refit of every pair (the mechanism of the former
failure at N = 10⁵, reproduced at N = 120), ``dtype=`` and the one-hot classifier.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memorize
from memorize._arith import FLOAT64
from memorize.activations import get_activation
from memorize.constructions.yun2019 import _build, _deep, deep, deep_classifier
from memorize.errors import ArgumentError, CapacityError, ConstructionError
from memorize.precision import as_format

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ACTS = ["relu", "hardtanh", memorize.relu_like(1.0, 0.25)]


def _data(n, d, dy, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.uniform(-1, 1, (n, dy))


# ------------------------------------------------------------------------------ default widths
@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 10**6), dy=st.integers(1, 4), depth=st.integers(2, 12), f=st.sampled_from([1, 2]))
def test_default_widths_meet_the_proposition_with_one_chunk_per_pair(n, dy, depth, f):
    w, starts = _deep.default_widths(n, dy, f, depth)
    D = [x // f for x in w]
    assert len(w) == depth and all(x % f == 0 for x in w)
    assert starts == list(range(1, 2 * (depth // 2), 2))
    assert _deep.valid_starts(D, starts, dy) is None
    m = len(starts)
    assert _deep.pair_capacity(D, starts, dy) >= n
    # every pair holds its share ⌈N/m⌉, so the chunks are as equal as the capacities allow
    sizes = _deep.chunk_sizes(D, starts, dy, n)
    assert sum(sizes) == n and max(sizes) <= -(-n // m)


def test_default_depth_is_one_pair_per_5000_points_and_at_least_three():
    assert [_deep.default_depth(n) for n in (1, 15000, 15001, 10**5)] == [6, 6, 8, 40]


@SETTINGS
@given(n=st.integers(1, 80), dy=st.integers(1, 2), a=st.integers(0, 2), depth=st.sampled_from([None, 2, 3, 5]),
       seed=st.integers(0, 99))
def test_default_build_memorizes_and_is_its_architecture(n, dy, a, depth, seed):
    X, y = _data(n, 3, dy, seed)
    net = memorize.build("yun2019_deep", X, y, activation=ACTS[a], depth=depth)
    assert memorize.verify(net, X, y).ok
    arch = deep.deep_architecture(n, 3, dy, activation=ACTS[a], depth=depth)
    assert net.widths == arch.widths and net.num_params == arch.num_params
    assert net.depth == (depth or 6)


def test_plan_lists_the_deep_builders():
    p = memorize.plan(10**5, 32, task="regression")
    row = [r for r in p if r.method == "yun2019_deep"][0]
    assert row.depth == 40
    p = memorize.plan(10**5, 32, 10, task="classification")
    assert any(r.method == "yun2019_deep_classifier" and r.depth == 41 for r in p)


def test_widths_and_depth_are_checked():
    X, y = _data(50, 2, 1, 0)
    with pytest.raises(ArgumentError, match="pairs: pass it with widths"):
        deep.yun2019_deep(X, y, pairs=[1, 3])
    with pytest.raises(ArgumentError, match="depth"):
        deep.yun2019_deep(X, y, depth=1)
    with pytest.raises(ArgumentError, match="depth: 4 disagrees"):
        deep.yun2019_deep(X, y, widths=[24] * 6, depth=4)


# ------------------------------------------------------------------ float64 refit of the pairs
def _far_line(n, seed, shift=1e6):
    """Points on a line far from 0 (layer 1 cancels |x| ≈ 10⁶), gaps spread over three decades
    (zig-zag levels ≈ 10⁴): the rounding of the window layers, amplified by the levels, exceeds
    1e-6 unless the pairs are fitted to the float64 windows."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(10 ** rng.uniform(-3, 0, n))
    return (t + shift)[:, None], rng.uniform(-1, 1, n)


@pytest.mark.parametrize("act", ["hardtanh", "relu"])
@pytest.mark.parametrize("seed", [0, 3])
def test_pairs_fitted_to_the_float64_windows_absorb_their_rounding(act, seed):
    # the mechanism of the former N = 10⁵ failure (d = 32, ReLU widths found by hand: 1349 points
    # missed by up to 8e-5): window layers rounded at ε·|c_j|·|t|, zig-zag levels ≈ 10⁸. Layer 1
    # is factored (one projection, then c_j·t), which rounds less than the dense c_j·u did: at
    # |x| ≈ 10⁶ one seed then stays within 1e-6 unfitted, so the points lie at |x| ≈ 4·10⁶
    X, y = _far_line(120, seed, 4e6)
    with pytest.raises(ConstructionError, match="misses points"):
        deep.yun2019_deep(X, y, activation=act, refit=False)
    net = deep.yun2019_deep(X, y, activation=act)
    assert net.meta["refit_to_float"] and memorize.verify(net, X, y).max_error < 1e-9


@pytest.mark.parametrize("act", ["hardtanh", "relu", memorize.relu_like(1.0, 0.25)])
def test_refit_positions_are_the_final_networks_window_values_bit_for_bit(act):
    X, y = _far_line(90, 1)
    act = get_activation(act)
    f = 1 if act.name == "hardtanh" else 2
    w, starts = _deep.default_widths(len(X), 1, f, 5)
    D = [x // f for x in w]
    bounds = np.concatenate([[0], np.cumsum(_deep.chunk_sizes(D, starts, 1, len(X)))])
    fit = {"V": 2.0, "mu": 0.25, "strategy": "auto", "relu_proxy": act.name != "hardtanh"}
    u, order, _ = _deep.carrier_direction(FLOAT64, X, y[:, None], D, starts, bounds, 4, np.random.default_rng(0), 1, 0.9, fit)
    w_car, beta0, cs = _deep.carrier_projection(FLOAT64, X, u, order, "test")
    lay = _deep.Layout.of(D, starts, 1)
    # layer 1 holds one column: each unit's multiple of the carrier direction (rank one)
    W = [np.zeros((D[i], 1 if i == 0 else D[i - 1])) for i in range(len(D))] + [np.zeros((1, D[-1]))]
    b = [np.zeros(D[i]) for i in range(len(D))] + [np.zeros(1)]
    _deep.carrier_units(W, b, lay, w_car, beta0)
    pairs = _deep.pair_windows(FLOAT64, cs, bounds, D, starts, 1, 0.9, "test")
    mirror = _deep.window_rows(W, b, lay, pairs, (w_car, beta0))
    assert all(np.array_equal(mirror[P.l - 1][: len(P.aw)], _build.mirror_mask(len(P.aw))) for P in pairs)
    target = _deep.FloatTarget(act, w, 1)
    _deep.refit_positions(W, b, w_car, pairs, X, order, target, mirror)
    # the finished network, built by the same steps
    layers, mirror2, _ = _deep.build_deep_ht(
        FLOAT64, X, y[:, None], D, starts, V=2.0, mu=0.25, eta=0.9, strategy="auto", rng=np.random.default_rng(0),
        n_dir=4, method="test", target=target, n_trials=1)
    net = _build.finish(layers, act, w, {}, mirror=mirror2)
    h, hs = X, []
    for layer in net.layers[:-1]:
        h = layer.forward(h)
        hs.append(h)
    for P in pairs:
        rows = order[P.a:P.e]
        win_of = np.repeat(np.arange(P.win.T.shape[0]), P.win.real.sum(axis=1))
        hl = hs[P.l - 1][rows]
        if act.name == "hardtanh":
            phi = hl[np.arange(len(rows)), win_of]
        else:
            sp, sm = act.slopes
            sign = np.where(mirror[P.l - 1][win_of], -1.0, 1.0)
            r = np.arange(len(rows))
            phi = sign * ((hl[r, 2 * win_of] - hl[r, 2 * win_of + 1] - (sp + sm)) / (sp - sm))
        assert np.array_equal(P.S[P.win.real], ((phi + 1.0) / 2.0)[P.win.src[P.win.real]])


# ------------------------------------------------------------------------------------- dtype
def test_dtype_float64_is_the_default_network():
    X, y = _data(60, 3, 1, 4)
    a, b = deep.yun2019_deep(X, y), deep.yun2019_deep(X, y, dtype="float64")
    assert a.meta == b.meta and all(
        np.array_equal(p.weight, q.weight) and np.array_equal(p.bias, q.bias) for p, q in zip(a.layers, b.layers))


def test_dtype_certifies_or_names_the_float_safe_builders():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    net = memorize.build("yun2019_deep_classifier", X, y, activation="hardtanh", dtype="float32")
    assert net.meta["certificate"]["format"] == "float32" and net.meta["certificate"]["points"] == 30
    fmt = as_format("float32")
    # every stored number (the factors of the rank-one layer 1, not their product) is in float32
    assert all(np.all(fmt.representable(a)) for layer in net.layers for a in layer.arrays().values())
    assert memorize.certify(net, X, y, dtype="float32").ok
    # real labels within 1e-6 in float32: not with zig-zag levels; the error says where to go
    with pytest.raises(ConstructionError, match="float_safe"):
        memorize.build("yun2019_deep", X, rng.uniform(-1, 1, 30), dtype="float32")
    with pytest.raises(ArgumentError, match="dtype"):
        memorize.build("yun2019_deep", X, rng.uniform(-1, 1, 30), dtype="float32", exact=True)
    with pytest.raises(ArgumentError, match="dtype"):
        memorize.build("yun2019_deep", X, rng.uniform(-1, 1, 30), dtype="int8")


# ---------------------------------------------------------------------------- classification
@SETTINGS
@given(n=st.integers(2, 80), C=st.integers(2, 6), a=st.integers(0, 2), seed=st.integers(0, 99))
def test_classifier_outputs_the_one_hot_rows_and_is_its_architecture(n, C, a, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, 3)), rng.integers(0, C, n)
    y[:2] = [0, 1]
    net = memorize.build("yun2019_deep_classifier", X, y, activation=ACTS[a])
    k = len(np.unique(y))
    # a leaky ReLU is not exactly 0 on its negative side, so its outputs round near 0
    assert memorize.verify(net, X, y).max_error <= (0 if a < 2 else 1e-12)
    arch = deep_classifier.deep_classifier_architecture(n, 3, k, activation=ACTS[a])
    assert net.widths == arch.widths and net.num_params == arch.num_params
    assert net.widths[-1] == 2 * (1 if ACTS[a] == "hardtanh" else 2) * k


def test_classifier_relu_output_is_exactly_one_hot_in_float64():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((3000, 8)), rng.integers(0, 10, 3000)
    net = memorize.build("yun2019_deep_classifier", X, y, depth=5)
    assert np.array_equal(net(X), np.eye(10)[y])  # every entry exactly 0.0 or 1.0
    assert net.meta["predicted_error"] < net.meta["code_error_bound"] / 1000


@pytest.mark.parametrize("act", ["relu", "hardtanh", memorize.relu_like(1, 0.25)])
def test_classifier_exact(act):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((24, 3)), rng.integers(0, 3, 24)
    net = memorize.build("yun2019_deep_classifier", X, y, activation=act, exact=True, depth=5)
    assert memorize.verify(net, X, y).max_error == 0


def test_classifier_widths_are_checked():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((100, 3)), rng.integers(0, 4, 100)
    net = memorize.build("yun2019_deep_classifier", X, y, widths=[24, 24, 24, 24, 16], activation="relu")
    assert net.widths == (24, 24, 24, 24, 16) and memorize.verify(net, X, y).max_error == 0
    with pytest.raises(CapacityError, match="decoder"):
        memorize.build("yun2019_deep_classifier", X, y, widths=[24, 24, 24, 24, 15])
    with pytest.raises(CapacityError):
        memorize.build("yun2019_deep_classifier", X, y, widths=[8, 8, 8, 8, 16])
    with pytest.raises(ArgumentError, match="depth"):
        memorize.build("yun2019_deep_classifier", X, y, depth=2)
