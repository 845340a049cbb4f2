"""Tests of Yun, Sra, Jadbabaie 2019, Theorem 4.1: the ResNet memorizer under general position."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import memorize
from memorize.constructions.yun2019.resnet import (
    resnet_architecture,
    resnet_bound,
    resnet_condition,
    yun2019_resnet,
)
from memorize.datasets import load_digits
from memorize.errors import ArgumentError, ArgumentTypeError, AssumptionError, CapacityError
from memorize.network import Dense, Residual
from memorize.registry import get

ACTS = {"relu": "relu", "hardtanh": "hardtanh", "leaky": memorize.relu_like(1.0, 0.25)}


def _onehot(y):
    classes = np.unique(y)
    return (np.asarray(y)[:, None] == classes[None, :]).astype(float)


@st.composite
def gaussian_data(draw, max_n=60):
    dy = draw(st.integers(1, 4))
    d = draw(st.integers(dy, 8))
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.01, 100) + rng.uniform(-50, 50, d)
    y = rng.integers(0, dy, n)
    return X, y


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gaussian_data(), st.sampled_from(sorted(ACTS)))
def test_memorizes_general_position_data_with_the_theorem_count(data, act_name):
    X, y = data
    act = ACTS[act_name]
    net = yun2019_resnet(X, y, activation=act)
    n, d = X.shape
    dy = len(np.unique(y))
    u = 1 if act_name == "hardtanh" else 2
    rep = memorize.verify(net, X, _onehot(y))
    assert rep.ok
    if act_name != "leaky":
        assert rep.max_error == 0  # the thresholded output is exactly one-hot in float64
    else:
        assert rep.max_error < 1e-12
    # sizes: the theorem's count in the blocks, d_L = u·d_y, and the registry's architecture
    assert sum(net.widths[:-1]) == math.ceil(2 * u * (n / d + dy) - 1e-12)
    assert net.widths[-1] == u * dy
    assert all(isinstance(layer, Residual) for layer in net.layers[:-2])
    arch = resnet_architecture(n, d, dy, activation=act)
    assert net.widths == arch.widths and net.num_params == arch.num_params
    assert net.meta["extra_units"] == 0 and net.meta["theorem_units"] == net.num_hidden
    assert resnet_condition(net.widths[:-1], n, d, dy, act)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gaussian_data(max_n=16), st.sampled_from(sorted(ACTS)))
def test_exact_mode_error_is_exactly_zero(data, act_name):
    X, y = data
    net = yun2019_resnet(X, y, activation=ACTS[act_name], exact=True)
    assert net.is_exact
    rep = memorize.verify(net, X, _onehot(y))
    assert rep.exact and rep.max_error == 0


def test_cifar_count_is_126_relus():
    arch = get("yun2019_resnet").architecture(50_000, 3072, 10)
    assert arch.num_hidden == 126 and arch.widths[-1] == 20
    assert get("yun2019_resnet").architecture(50_000, 3072, 10, activation="hardtanh").num_hidden == 63
    assert resnet_bound(50_000, 3072, 10) == pytest.approx(4 * 50_000 / 3072 + 40)


def test_explicit_widths_any_block_split():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((300, 20)), rng.integers(0, 5, 300)
    bound = float(resnet_bound(300, 20, 5))  # 80
    net = yun2019_resnet(X, y, widths=[4, 40, 36])
    assert net.widths == (4, 40, 36, 10) and sum(net.widths[:-1]) >= bound
    assert memorize.verify(net, X, y).max_error == 0
    net = yun2019_resnet(X, y, widths=[8] * 12, activation="relu")
    assert memorize.verify(net, X, y).max_error == 0 and net.depth == 13


def test_widths_below_the_bound_are_refused_with_the_bound():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((300, 20)), rng.integers(0, 5, 300)
    with pytest.raises(CapacityError, match=r"80\.00"):
        yun2019_resnet(X, y, widths=[40, 36])
    with pytest.raises(CapacityError, match=r"40\.00"):
        yun2019_resnet(X, y, widths=[20, 18], activation="hardtanh")
    # enough ReLUs in total, but a hard-tanh node's two ReLUs share a block: width 3 holds 1 node
    with pytest.raises(CapacityError, match="even block widths"):
        yun2019_resnet(X, y, widths=[3] * 30)


@pytest.mark.parametrize("act_name,unit", [("hardtanh", 1), ("relu", 2), ("leaky", 2)])
def test_bumps_straddle_blocks_of_odd_widths(act_name, unit):
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((200, 24)), rng.integers(0, 4, 200)
    bound = float(resnet_bound(200, 24, 4, ACTS[act_name]))
    for per_block in (1, 3):  # nodes per block: 1 puts every bump across two blocks
        ws = [per_block * unit] * math.ceil(bound / (per_block * unit))
        net = yun2019_resnet(X, y, activation=ACTS[act_name], widths=ws)
        rep = memorize.verify(net, X, y)
        assert rep.ok and rep.max_error <= (0 if act_name != "leaky" else 1e-12)
        assert net.meta["straddling_bumps"] > 0 and net.widths[:-1] == tuple(ws)
    exact_net = yun2019_resnet(X[:24], y[:24], activation=ACTS[act_name], widths=[unit] * 40, exact=True)
    assert memorize.verify(exact_net, X[:24], y[:24]).max_error == 0


def test_dx_below_dy_is_refused():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((40, 3)), np.arange(40) % 4
    with pytest.raises(AssumptionError, match="d_x = 3 < d_y = 4"):
        yun2019_resnet(X, y)


def test_bad_arguments_are_refused():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 5)), rng.integers(0, 2, 30)
    with pytest.raises(ArgumentError, match="activation"):
        yun2019_resnet(X, y, activation="step")
    with pytest.raises(ArgumentError, match="widths"):
        yun2019_resnet(X, y, widths=[10, 0, 20])
    with pytest.raises(ArgumentTypeError, match="widths"):
        yun2019_resnet(X, y, widths=12)


def test_a_block_pushes_its_group_along_the_class_coordinate():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((12, 3)), np.repeat([0, 1], 6)
    net = yun2019_resnet(X, y, activation="hardtanh", widths=[2] * 6)
    D = net.meta["push_length"]
    h = X.copy()
    for layer in net.layers[:-2]:
        new = layer.forward(h)
        moved = np.nonzero(np.any(new != h, axis=1))[0]
        if moved.size:
            # one class-pure group of at most d_x points moves, by exactly D along its class axis
            assert moved.size <= 3 and np.unique(y[moved]).size == 1
            c = y[moved[0]]
            assert np.allclose(new[moved] - h[moved], D * np.eye(3)[c], atol=1e-12)
        h = new


def test_digits_memorized_with_reported_extra_cost():
    X, y = load_digits()
    net = yun2019_resnet(X, y, activation="hardtanh")
    rep = memorize.verify(net, X, y)
    assert rep.ok and rep.max_error == 0 and rep.accuracy == 1.0
    # digits are not in general position: the extra units are reported, never silent
    assert net.meta["extra_units"] > 0
    assert net.num_hidden == net.meta["theorem_units"] + net.meta["extra_units"]
    assert net.meta["groups"] > net.meta["theorem_groups"]


def test_degenerate_data_with_tight_widths_are_refused_not_missed():
    # six points on a line in R^2: any hyperplane through two of them contains all six
    X = np.c_[np.arange(6.0), np.zeros(6)]
    y = np.array([0, 0, 0, 1, 1, 1])
    net = yun2019_resnet(X, y)  # adapts: groups of single points, extra units reported
    assert memorize.verify(net, X, y).max_error == 0 and net.meta["extra_units"] > 0
    with pytest.raises(CapacityError, match="not in general position"):
        yun2019_resnet(X, y, widths=[12, 8])


def test_same_seed_same_network_and_registry_entry():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((80, 6)), rng.integers(0, 3, 80)
    a, b = yun2019_resnet(X, y, rng=11), yun2019_resnet(X, y, rng=11)
    for la, lb in zip(a.layers, b.layers):
        for k, v in la.arrays().items():
            assert np.array_equal(v, lb.arrays()[k])
    m = get("yun2019_resnet")
    assert m.task == "classification" and m.architecture is resnet_architecture
    assert isinstance(a.layers[-1], Dense) and a.meta["classes"] == [0, 1, 2]


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_invalid_data_are_refused(d, extra, seed):
    rng = np.random.default_rng(seed)
    dy = d + extra  # more classes than input dimensions
    X = rng.standard_normal((3 * dy, d))
    y = np.arange(3 * dy) % dy
    with pytest.raises(AssumptionError, match="d_x ≥ d_y"):
        yun2019_resnet(X, y)
    # a conflicting duplicate is refused whatever the sizes
    X2 = np.vstack([X, X[:1]])
    y2 = np.r_[y, (y[0] + 1) % dy]
    with pytest.raises(memorize.errors.DuplicateError):
        yun2019_resnet(X2, y2)
