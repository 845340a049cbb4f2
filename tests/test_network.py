from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, strategies as st

import memorize
from memorize import Dense, Network, Residual, hardtanh, identity, relu, relu_like, step
from memorize.activations import Activation, get_activation
from memorize.errors import ArgumentError, ArgumentTypeError, ShapeError, NonFiniteError

ACTS = [identity, relu, relu_like(1.0, 0.25), hardtanh, step]


def reference_forward(net, X):
    """A plain, unchunked re-implementation used as an oracle."""
    h = np.asarray(X, dtype=float)
    for layer in net.layers:
        a = layer.activation
        f = {
            "identity": lambda t: t,
            "relu": lambda t: np.maximum(t, 0),
            "relu_like": lambda t: np.where(t >= 0, float(a.slopes[0]) * t, float(a.slopes[1]) * t),
            "hardtanh": lambda t: np.clip(t, -1, 1),
            "step": lambda t: (t >= 0) * 1.0,
        }[a.name]
        if isinstance(layer, Dense):
            h = f(h @ layer.weight.T + layer.bias)
        else:
            h = h + f(h @ layer.U.T + layer.b) @ layer.V.T + layer.c
    return h


def random_net(rng, d=3, acts=None):
    acts = acts or ACTS
    layers = [Dense(rng.standard_normal((5, d)), rng.standard_normal(5), acts[0])]
    layers.append(Residual(rng.standard_normal((4, 5)), rng.standard_normal(4), rng.standard_normal((5, 4)),
                           rng.standard_normal(5), acts[1 % len(acts)]))
    layers.append(Dense(rng.standard_normal((2, 5)), rng.standard_normal(2), acts[2 % len(acts)]))
    return Network(layers)


@pytest.mark.parametrize("act", ACTS, ids=repr)
def test_forward_matches_reference_for_every_activation(act):
    rng = np.random.default_rng(0)
    net = random_net(rng, acts=[act, act, identity])
    X = rng.standard_normal((50, 3))
    np.testing.assert_allclose(net(X), reference_forward(net, X), rtol=1e-12, atol=1e-12)


@given(st.integers(1, 200), st.integers(1, 5000))
def test_chunked_and_unchunked_forward_agree(n, chunk_bytes):
    rng = np.random.default_rng(n)
    net = random_net(rng)
    X = rng.standard_normal((n, 3))
    full = net(X, chunk_bytes=10**9)
    assert net.chunk_rows(chunk_bytes) >= 1
    # BLAS picks different kernels for different batch shapes: agreement is to rounding, not bits
    np.testing.assert_allclose(net(X, chunk_bytes=chunk_bytes), full, rtol=1e-12, atol=1e-12)
    ex = net.to_exact()
    assert np.array_equal(ex(X[:5], chunk_bytes=chunk_bytes), ex(X[:5], chunk_bytes=10**9))


def test_chunk_rows_respects_the_memory_bound():
    net = Network([Dense(np.zeros((1000, 10)), np.zeros(1000), relu), Dense(np.zeros((1, 1000)), np.zeros(1))])
    rows = net.chunk_rows(8 * 1000 * 3 * 50)
    assert rows == 50


def test_single_point_and_shapes():
    net = random_net(np.random.default_rng(1))
    x = np.ones(3)
    assert net(x).shape == (2,)
    assert net(x[None]).shape == (1, 2)
    with pytest.raises(ShapeError, match="3 inputs"):
        net(np.ones((4, 2)))
    with pytest.raises(ArgumentTypeError):
        net(np.array([["a", "b", "c"]]))


def test_introspection():
    net = random_net(np.random.default_rng(2))
    assert net.input_dim == 3 and net.output_dim == 2
    assert net.widths == (5, 4) and net.depth == 2 and net.num_hidden == 9
    assert net.num_params == 5 * 3 + 5 + (4 * 5 + 4 + 5 * 4 + 5) + 2 * 5 + 2
    all_vals = np.concatenate([a.ravel() for layer in net.layers for a in layer.arrays().values()])
    assert net.max_abs_weight == np.max(np.abs(all_vals))
    assert net.dtype == np.float64 and not net.is_exact


def test_immutability():
    net = random_net(np.random.default_rng(3))
    with pytest.raises(ValueError):
        net.layers[0].weight[0, 0] = 1.0
    with pytest.raises(AttributeError):
        net.foo = 1
    with pytest.raises(TypeError):
        net.meta["x"] = 1
    W = np.ones((2, 2))
    layer = Dense(W, np.zeros(2))
    W[0, 0] = 5.0
    assert layer.weight[0, 0] == 1.0  # the layer holds its own copy


def test_exact_forward_is_exact_and_to_exact_is_lossless():
    rng = np.random.default_rng(4)
    net = random_net(rng, acts=[relu, relu_like(1, Fraction(1, 3)), identity])
    ex = net.to_exact()
    assert ex.is_exact and ex.dtype == object
    for lf, le in zip(net.layers, ex.layers):
        for (k, a), b in zip(lf.arrays().items(), le.arrays().values()):
            assert all(Fraction(float(x)) == y for x, y in zip(a.ravel(), b.ravel()))
    X = rng.standard_normal((7, 3))
    out = ex(X)
    assert out.dtype == object
    assert all(isinstance(v, (int, Fraction)) for v in out.ravel())
    # exact value vs a by-hand rational evaluation of the first point
    x = [Fraction(float(v)) for v in X[0]]
    l0 = ex.layers[0]
    h = [max(sum(l0.weight[i, j] * x[j] for j in range(3)) + l0.bias[i], 0) for i in range(5)]
    l1 = ex.layers[1]
    pre = [sum(l1.U[i, j] * h[j] for j in range(5)) + l1.b[i] for i in range(4)]
    act = [p if p >= 0 else p * Fraction(1, 3) for p in pre]
    h2 = [h[i] + sum(l1.V[i, j] * act[j] for j in range(4)) + l1.c[i] for i in range(5)]
    l2 = ex.layers[2]
    o = [sum(l2.weight[i, j] * h2[j] for j in range(5)) + l2.bias[i] for i in range(2)]
    assert list(out[0]) == o
    back = ex.astype(np.float64)
    assert not back.is_exact
    np.testing.assert_allclose(back(X), net(X), rtol=1e-12)


def test_mixed_dtypes_and_bad_layers_refused():
    fl = Dense(np.ones((2, 2)), np.zeros(2))
    ex = Dense(np.array([[1, 2], [3, 4]], dtype=object), np.array([0, 0], dtype=object))
    with pytest.raises(ArgumentTypeError, match="mixes"):
        Network([fl, ex])
    with pytest.raises(ShapeError, match="layers\\[1\\]"):
        Network([fl, Dense(np.ones((1, 3)), np.zeros(1))])
    with pytest.raises(ArgumentError):
        Network([])
    with pytest.raises(NonFiniteError):
        Dense(np.array([[np.nan]]), np.zeros(1))
    with pytest.raises(ShapeError):
        Residual(np.ones((2, 3)), np.zeros(2), np.ones((2, 2)), np.zeros(3))


def test_activation_values():
    with pytest.raises(ArgumentError):
        relu_like(0.5, 1.0)
    with pytest.raises(ArgumentError):
        get_activation("swish")
    assert relu_like(1, 0) is relu
    assert Activation.from_json(relu_like(1.0, 0.1).to_json()) == relu_like(1.0, 0.1)
    t = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    assert np.array_equal(step(t), [0, 0, 1, 1, 1])
    assert np.array_equal(hardtanh(t), [-1, -0.5, 0, 0.5, 1])
    te = t.astype(object)
    assert list(step(te)) == [0, 0, 1, 1, 1]
    assert list(hardtanh(te)) == [-1, -0.5, 0.0, 0.5, 1]


def test_repr_mentions_shape_and_arithmetic():
    net = memorize.build("zhang2017", np.eye(3), np.arange(3.0))
    assert "zhang2017" in repr(net) and "float64" in repr(net)
