"""Tests of the Hardt & Ma 2017 ResNet memorizer (N + r hidden ReLUs)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import memorize
from memorize.constructions.hardt_ma2017 import architecture, hardt_ma2017, nearest_neighbour_sq
from memorize.datasets import load_digits
from memorize.errors import ArgumentError, ArgumentTypeError, AssumptionError, DuplicateError, NonFiniteError
from memorize.network import Residual
from memorize.registry import get


def _onehot(y):
    """One-hot targets (a one-class network has one output, which verify would read as a value)."""
    classes = np.unique(y)
    return (np.asarray(y)[:, None] == classes[None, :]).astype(float)


def _distinct(X, y):
    _, first = np.unique(X, axis=0, return_index=True)
    first = np.sort(first)
    return X[first], y[first]


@st.composite
def small_data(draw, integer=False, max_n=30):
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(2, 5))
    r = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    X = rng.integers(-4, 5, (n, d)).astype(float) if integer else rng.standard_normal((n, d)) * rng.uniform(0.1, 10)
    y = rng.integers(0, r, n)
    return _distinct(X, y)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_data())
def test_memorizes_any_small_dataset_with_n_plus_r_units(data):
    X, y = data
    net = memorize.build("hardt_ma2017", X, y)
    rep = memorize.verify(net, X, _onehot(y))
    assert rep.ok
    assert rep.max_error < 1e-9
    r = len(np.unique(y))
    assert net.num_hidden == len(X) + r
    arch = architecture(len(X), X.shape[1], r)
    assert net.widths == arch.widths and net.num_params == arch.num_params
    assert net.meta["theorem_units"] == len(X) + r and net.meta["extra_units"] == 0


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_data(integer=True, max_n=14), st.integers(1, 4))
def test_exact_mode_error_is_exactly_zero(data, block_size):
    X, y = data
    net = hardt_ma2017(X, y, block_size=block_size, exact=True)
    assert net.is_exact
    rep = memorize.verify(net, X, _onehot(y))
    assert rep.exact and rep.max_error == 0 and rep.ok


def test_points_on_one_ray_are_kept_apart():
    # x/‖x‖ would merge these; the radial order around an outside centre does not.
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [-1.0, 0.5]])
    y = np.array([0, 1, 0, 1])
    net = hardt_ma2017(X, y, exact=True)
    assert memorize.verify(net, X, y).max_error == 0
    assert net.meta["centre"] == "outside"


def test_unit_norm_data_use_the_origin_and_any_block_size():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 10))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = rng.integers(0, 10, 300)
    net = hardt_ma2017(X, y, block_size=300)
    assert net.meta["centre"] == "origin"
    assert isinstance(net.layers[0], Residual) and net.layers[0].hidden_width == 300
    assert net.widths == architecture(300, 10, 10, block_size=300).widths
    rep = memorize.verify(net, X, y)
    assert rep.ok and rep.max_error < 1e-12


def test_per_point_thresholds_follow_nearest_neighbours():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 3))
    rho2, nn = nearest_neighbour_sq(X, chunk_bytes=4096)  # many chunks
    D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    assert np.allclose(rho2, D.min(axis=1), rtol=1e-12, atol=0)
    net = hardt_ma2017(X, rng.integers(0, 3, 400))
    # the smallest threshold is set by the closest pair: λ = ρ²/8
    assert net.meta["min_threshold"] == pytest.approx(D.min() / 8, rel=1e-9)


def test_digits_are_memorized_without_extra_units():
    X, y = load_digits()
    net = hardt_ma2017(X, y, block_size=64)
    rep = memorize.verify(net, X, y)
    assert rep.ok and rep.accuracy == 1.0 and rep.max_error < 1e-9
    assert net.num_hidden == 1797 + 10 and net.meta["extra_units"] == 0
    assert net.meta["classes"] == list(range(10))


def test_duplicates_are_merged_and_conflicts_refused():
    X = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 1.0]])
    net = hardt_ma2017(X, [1, 0, 1])
    assert memorize.verify(net, X, [1, 0, 1]).ok and net.num_hidden == 2 + 2
    with pytest.raises(DuplicateError, match=r"\(0, 2\)"):
        hardt_ma2017(X, [1, 0, 0])


def test_bad_arguments_are_refused():
    X = np.random.default_rng(0).standard_normal((10, 3))
    y = np.arange(10) % 2
    with pytest.raises(ArgumentError, match="block_size"):
        hardt_ma2017(X, y, block_size=0)
    with pytest.raises(ArgumentTypeError, match="block_size"):
        hardt_ma2017(X, y, block_size=2.5)
    Xn = X.copy()
    Xn[4, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"\[4\]"):
        hardt_ma2017(Xn, y)
    with pytest.raises(AssumptionError, match="d = 1"):
        hardt_ma2017(np.arange(6.0), np.arange(6) % 3)


def test_one_dimensional_binary_data_work():
    X = np.array([0.0, 1.0, 3.0, 4.0, 7.0])
    y = np.array([0, 1, 1, 0, 1])
    assert memorize.verify(hardt_ma2017(X, y), X, y).ok
    assert memorize.verify(hardt_ma2017(X, y, exact=True), X, y).max_error == 0


def test_points_below_float_resolution_are_named_and_exact_mode_still_works():
    X = np.array([[1.0, 0.0], [1.0 + 2e-16 * 8, 0.0], [0.0, 3.0]])
    y = [0, 1, 0]
    with pytest.raises(AssumptionError, match=r"\(0, 1\)|\(1, 0\)"):
        hardt_ma2017(X, y)
    assert memorize.verify(hardt_ma2017(X, y, exact=True), X, y).max_error == 0


def test_same_seed_same_network_and_registry_entry():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    a, b = hardt_ma2017(X, y, rng=7), hardt_ma2017(X, y, rng=7)
    for la, lb in zip(a.layers, b.layers):
        for k, v in la.arrays().items():
            assert np.array_equal(v, lb.arrays()[k])
    m = get("hardt_ma2017")
    assert m.task == "classification" and m.architecture is architecture


def test_more_classes_than_axis_surrogates_use_a_circle():
    rng = np.random.default_rng(8)
    X, y = _distinct(rng.integers(-6, 7, (60, 2)).astype(float), rng.integers(0, 7, 60))  # r = 7 > 2d
    for exact in (False, True):
        net = hardt_ma2017(X, y, exact=exact)
        rep = memorize.verify(net, X, y)
        assert rep.ok and (rep.max_error == 0 if exact else rep.max_error < 1e-9)
        assert net.num_hidden == len(X) + 7


@settings(max_examples=15, deadline=None)
@given(small_data(), st.integers(0, 2**31 - 1))
def test_conflicting_duplicates_are_refused(data, seed):
    X, y = data
    i = np.random.default_rng(seed).integers(0, len(X))
    X2 = np.vstack([X, X[i : i + 1]])
    y2 = np.r_[y, y[i] + 1]
    with pytest.raises(DuplicateError, match=rf"\({i}, {len(X)}\)"):
        hardt_ma2017(X2, y2)
