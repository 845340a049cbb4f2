"""The exact affine kernel (memorize._exact.affine) against plain object matmul."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from memorize import _exact


def _reference(h, W, b):
    return np.matmul(h, W.T) + b


def _rand_exact(rng, shape, big_bits, density, fractions=False):
    vals = rng.integers(-3, 4, size=shape).astype(object)
    big = rng.random(shape) < 0.3
    for idx in zip(*np.nonzero(big)):
        vals[idx] = int(rng.integers(1, 2**30)) << int(rng.integers(0, big_bits))
    vals[rng.random(shape) > density] = 0
    if fractions:
        f = rng.random(shape) < 0.2
        for idx in zip(*np.nonzero(f)):
            vals[idx] = Fraction(int(rng.integers(-50, 50)), int(rng.integers(1, 9)))
    return vals


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 20), din=st.integers(1, 9), dout=st.integers(1, 9), seed=st.integers(0, 10**6),
       density=st.floats(0.0, 1.0), fractions=st.booleans())
def test_affine_matches_matmul(n, din, dout, seed, density, fractions):
    rng = np.random.default_rng(seed)
    h = _rand_exact(rng, (n, din), 200, 0.9, fractions)
    W = _rand_exact(rng, (dout, din), 300, density, fractions)
    if dout > 2:  # repeated rows and negated columns: the shared-row and merged-column paths
        W[1] = W[0]
        W[:, -1] = -W[:, 0] if din > 1 else W[:, -1]
    b = _rand_exact(rng, (dout,), 300, 0.7, fractions)
    got = _exact.affine(h, W, b)
    want = _reference(h, W, b)
    assert got.shape == want.shape
    assert all(g == w for g, w in zip(got.flat, want.flat))


def test_affine_returns_ints_for_integral_fractions():
    h = np.array([[Fraction(1, 2), Fraction(3, 2)], [Fraction(5, 4), Fraction(-1, 4)]], dtype=object)
    W = np.array([[2, 2], [4, 0]], dtype=object)
    b = np.array([1, 0], dtype=object)
    out = _exact.affine(h, W, b)
    assert out.tolist() == [[5, 2], [3, 5]]
    assert all(type(v) is int for v in out.flat)


def test_affine_zero_and_empty_rows():
    h = np.array([[7, 8, 9]], dtype=object)
    W = np.zeros((3, 3), dtype=object)
    W[1, 2] = -1
    b = np.array([0, 5, 11], dtype=object)
    assert _exact.affine(h, W, b).tolist() == [[0, -4, 11]]


def test_affine_plan_is_per_matrix():
    # Two different matrices must never share a cached plan, even when evaluated alternately.
    h = np.array([[1, 2]], dtype=object)
    W1 = np.array([[1, 0]], dtype=object)
    W2 = np.array([[0, 1]], dtype=object)
    b = np.array([0], dtype=object)
    for _ in range(3):
        assert _exact.affine(h, W1, b).tolist() == [[1]]
        assert _exact.affine(h, W2, b).tolist() == [[2]]


def test_affine_float_fallback():
    h = np.ones((2, 2))
    W = np.array([[1.0, 2.0]])
    assert np.allclose(_exact.affine(h, W, np.zeros(1)), [[3.0], [3.0]])


def test_network_forward_uses_exact_ints():
    import memorize

    rng = np.random.default_rng(3)
    X, y = rng.uniform(-1, 1, (30, 2)), rng.integers(0, 3, 30)
    net = memorize.build("yang2026", X, y, width=10)
    out = net(X)
    assert all(type(v) is int for v in out.flat)
    assert out[:, 0].tolist() == y.tolist()


@pytest.mark.parametrize("bits", [10, 100, 1000])
def test_big_weights_exact(bits):
    h = np.array([[2**bits + 1, -(2**bits)], [3, 4]], dtype=object)
    W = np.array([[2**bits, 1], [1, 1]], dtype=object)
    b = np.array([-(2**bits), 0], dtype=object)
    got = _exact.affine(h, W, b)
    assert got.tolist() == _reference(h, W, b).tolist()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(16, 300), k=st.integers(1, 6), dout=st.integers(1, 8), seed=st.integers(0, 10**6),
       levels=st.integers(1, 5))
def test_affine_small_pattern_path(n, k, dout, seed, levels):
    # few distinct small values under big weights: the pattern-and-gather path
    rng = np.random.default_rng(seed)
    small = rng.integers(0, levels, size=(n, k)).astype(object)
    big = np.array([[int(v) << 200 for v in rng.integers(1, 2**20, size=2)] for _ in range(n)], dtype=object)
    h = np.concatenate([small, big], axis=1)
    W = np.empty((dout, k + 2), dtype=object)
    for idx in np.ndindex(W.shape):
        W[idx] = int(rng.integers(-(2**40), 2**40)) << int(rng.integers(0, 300))
    W[rng.random(W.shape) < 0.2] = 0
    b = np.array([int(v) << 100 for v in rng.integers(-5, 5, dout)], dtype=object)
    got = _exact.affine(h, W, b)
    assert got.tolist() == _reference(h, W, b).tolist()


def test_affine_pattern_path_rejects_fractions_in_later_rows():
    n = 64
    h = np.zeros((n, 2), dtype=object)
    h[:, 0] = [i % 2 for i in range(n)]
    h[:, 1] = 1
    h[10, 0] = Fraction(1, 3)  # not in the first row: int64 conversion would truncate it
    W = np.array([[2**80, 3], [2**90 + 1, -(2**70)]], dtype=object)
    b = np.array([1, 2], dtype=object)
    got = _exact.affine(h, W, b)
    assert got.tolist() == _reference(h, W, b).tolist()
