"""Tests for memorize.rewrite: hard-tanh <-> ReLU-like, exact in rational arithmetic."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memorize
from memorize import Dense, Network, hardtanh, relu, relu_like
from memorize.errors import ArgumentError
from memorize.rewrite import hardtanh_to_relu, relu_to_hardtanh

SLOPES = [(1, 0), (1, 0.1), (2, 0.5), (0.3, 0)]


def _random_net(rng, dims, act, exact=False):
    layers = []
    for i in range(len(dims) - 1):
        W = rng.integers(-4, 5, (dims[i + 1], dims[i])) / 2.0
        b = rng.integers(-4, 5, dims[i + 1]) / 4.0
        a = act if i < len(dims) - 2 else "identity"
        layers.append(Dense(W, b, a))
    net = Network(layers)
    return net.to_exact() if exact else net


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), k=st.integers(0, 3), depth=st.integers(1, 3))
def test_hardtanh_to_relu_is_exact(seed, k, depth):
    rng = np.random.default_rng(seed)
    dims = [3] + list(rng.integers(1, 5, depth)) + [2]
    net = _random_net(rng, dims, "hardtanh", exact=True)
    act = relu_like(*SLOPES[k]) if SLOPES[k] != (1, 0) else relu
    mirror = {i: rng.random(dims[i + 1]) < 0.5 for i in range(depth)}
    for m in (None, mirror):
        rnet = hardtanh_to_relu(net, act, mirror=m)
        assert rnet.is_exact
        assert rnet.widths == tuple(2 * w for w in net.widths)
        X = rng.integers(-8, 9, (30, 3)) / 4.0  # hits the kinks ±1 and the saturated regions
        assert np.all(rnet(X) == net(X))


def test_hardtanh_identity_float_and_short_form_warning():
    # σ_H(t) = [σ_R(t+1) − σ_R(t−1) − s+ − s−]/(s+ − s−) for every ReLU-like σ_R
    t = np.linspace(-5, 5, 1001)
    for sp, sm in SLOPES:
        a = relu_like(sp, sm)
        lhs = np.clip(t, -1, 1)
        rhs = (a(t + 1) - a(t - 1) - sp - sm) / (sp - sm)
        assert np.max(np.abs(lhs - rhs)) <= 4.5e-16 * 4
        if sm > 0:  # the short form (σ_R(t+1) − σ_R(t−1))/(s+ − s−) − 1 is wrong for leaky ReLU
            short = (a(t + 1) - a(t - 1)) / (sp - sm) - 1
            assert np.max(np.abs(short - lhs)) > 0.1


def test_hardtanh_to_relu_float_close():
    rng = np.random.default_rng(1)
    net = _random_net(rng, [4, 6, 5, 3], "hardtanh")
    X = rng.standard_normal((100, 4)) * 3
    r = hardtanh_to_relu(net)
    assert np.max(np.abs(r(X) - net(X))) < 1e-12


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), k=st.integers(0, 3))
def test_relu_to_hardtanh_exact_on_given_inputs(seed, k):
    rng = np.random.default_rng(seed)
    act = relu_like(*SLOPES[k]) if SLOPES[k] != (1, 0) else relu
    net = _random_net(rng, [3, 5, 4, 2], act, exact=True)
    X = rng.integers(-8, 9, (25, 3)) / 4.0
    ht = relu_to_hardtanh(net, X)
    assert all(layer.activation.name in ("hardtanh", "identity") for layer in ht.layers)
    assert np.all(ht(X) == net(X))
    # round trip back to ReLU stays exact on X
    assert np.all(hardtanh_to_relu(ht)(X) == net(X))


def test_relu_to_hardtanh_bound_and_errors():
    net = Network([Dense([[1.0]], [0.0], relu), Dense([[1.0]], [0.0])])
    X = np.array([[-1.0], [0.5], [3.0]])
    ht = relu_to_hardtanh(net, X)
    assert np.allclose(ht(X), net(X))
    # outside the measured bound the rewrite saturates: documented, not silent on X
    assert ht(np.array([[100.0]]))[0, 0] < 100
    ht2 = relu_to_hardtanh(net, X, bound=128)
    assert ht2(np.array([[100.0]]))[0, 0] == 100
    with pytest.raises(ArgumentError):
        hardtanh_to_relu(Network([Dense([[1.0]], [0.0], hardtanh)]))
    with pytest.raises(ArgumentError):
        hardtanh_to_relu(Network([Dense([[1.0]], [0.0], hardtanh), Dense([[1.0]], [0.0])]), activation="hardtanh")


def test_rewrite_keeps_yun_network_exact():
    from memorize.constructions.yun2019 import fnn

    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((20, 3)), rng.uniform(-1, 1, 20)
    ht = fnn.yun2019_two_hidden(X, y, activation="hardtanh", exact=True)
    r = hardtanh_to_relu(ht, relu_like(1, 0.25))
    assert memorize.verify(r, X, y).max_error == 0
