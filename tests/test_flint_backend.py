"""The python-flint exact backend gives the same numbers as the pure-Python path.

Every test runs the computation twice, once with ``_flint.backend("python")`` (the pure path,
also selected by ``MEMORIZE_EXACT_BACKEND=python``) and once on FLINT, and compares the exact
values. The FLINT half is skipped, with the reason printed, when python-flint is not installed.
"""

from __future__ import annotations

import contextlib

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import memorize
from memorize import Dense, Network, _exact, _flint, _linalg
from memorize.activations import hardtanh, identity, relu, relu_like, step
from memorize.registry import get

from _fingerprint import fingerprint

needs_flint = pytest.mark.skipif(
    not _flint.available(), reason="python-flint is not installed (pip install 'memorize[exact]'): FLINT half skipped"
)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape and the same exact values, entry by entry (ints and Fractions compare exactly)."""
    return a.shape == b.shape and all(x == y for x, y in zip(a.flat, b.flat))


@contextlib.contextmanager
def _block_bits(bits: int):
    old = _flint.BLOCK_BITS
    _flint.BLOCK_BITS = bits
    _flint._PLANS.clear()
    try:
        yield
    finally:
        _flint.BLOCK_BITS = old
        _flint._PLANS.clear()


def _both(fn):
    with _flint.backend("python"):
        pure = fn()
    with _flint.backend("flint"):
        fast = fn()
    return pure, fast


def test_the_switch(monkeypatch):
    monkeypatch.setenv(_flint.ENV, "python")
    assert not _flint.enabled()
    with _flint.backend("flint"):
        assert _flint.enabled() == _flint.available()
    monkeypatch.setenv(_flint.ENV, "")
    assert _flint.enabled() == _flint.available()
    with _flint.backend("python"):
        assert not _flint.enabled()
    with pytest.raises(ValueError):
        _flint.use("gmp")


def _rational(rng, shape, bits: int, frac: float) -> np.ndarray:
    """Ints of up to ``bits`` bits, a share ``frac`` of them divided by a random denominator."""
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        v = int(rng.integers(-(2**30), 2**30)) << int(rng.integers(0, max(1, bits - 30)))
        if rng.random() < 0.3:
            v = 0
        if rng.random() < frac:
            v = Fraction(v, int(rng.integers(1, 2**40)) * (2 ** int(rng.integers(0, 60))))
        out[idx] = _exact.exact_scalar(v)
    return out


@needs_flint
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), din=st.integers(0, 7), dout=st.integers(1, 7), seed=st.integers(0, 10**6),
       bits=st.sampled_from([8, 100, 700]), fh=st.floats(0, 1), fw=st.floats(0, 1), block_bits=st.sampled_from([64, 2048]))
def test_affine_is_the_same_on_flint(n, din, dout, seed, bits, fh, fw, block_bits):
    """Random rationals, big integers and zeros; small BLOCK_BITS forces the column-block path."""
    rng = np.random.default_rng(seed)
    h, W, b = _rational(rng, (n, din), bits, fh), _rational(rng, (dout, din), bits, fw), _rational(rng, (dout,), bits, fw)
    with _block_bits(block_bits):
        pure, fast = _both(lambda: _exact.affine(h, W, b))
    assert _same(pure, fast)
    assert all(type(v) is int or v.denominator > 1 for v in fast.flat)  # integral values are ints


@needs_flint
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), depth=st.integers(1, 4), fw=st.floats(0, 1),
       acts=st.lists(st.sampled_from(["relu", "identity", "hardtanh", "step", "leaky"]), min_size=4, max_size=4),
       block_bits=st.sampled_from([64, 2048]))
def test_forward_is_the_same_on_flint(seed, depth, fw, acts, block_bits):
    """Deep exact networks with every activation, rational weights and rational inputs."""
    rng = np.random.default_rng(seed)
    table = {"relu": relu, "identity": identity, "hardtanh": hardtanh, "step": step,
             "leaky": relu_like(Fraction(3, 2), Fraction(1, 3))}
    widths = [int(rng.integers(1, 6)) for _ in range(depth + 1)]
    layers = [Dense(_rational(rng, (widths[i + 1], widths[i]), 60, fw), _rational(rng, (widths[i + 1],), 60, fw),
                    table[acts[i % 4]]) for i in range(depth)]
    net = Network(layers)
    X = rng.standard_normal((int(rng.integers(1, 9)), widths[0])) * 2.0 ** rng.integers(-30, 30)
    with _block_bits(block_bits):
        pure, fast = _both(lambda: net(X))
    assert _same(pure, fast)


BUILDERS = sorted(memorize.methods())
OPTIONS = {"yun2019_deep": {"widths": (24, 24, 24, 24, 24)}}


def _labels(task, rng, n):
    return {"regression": rng.uniform(-1, 1, n), "classification": rng.integers(0, 3, n),
            "binary": rng.choice([-1.0, 1.0], n)}[task]


@needs_flint
@pytest.mark.parametrize("method", BUILDERS)
def test_exact_builds_and_checks_are_the_same_on_flint(method):
    """Exact builds (their rref, null vectors and slab values run on FLINT) give the same bytes,
    and the exact check of every point the same error."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((14, 3)) * 1e3
    y = _labels(get(method).task, rng, 14)
    build = lambda: memorize.build(method, X, y, exact=True, rng=1, **OPTIONS.get(method, {}))  # noqa: E731
    pure, fast = _both(build)
    assert fingerprint(pure) == fingerprint(fast)
    rp, rf = _both(lambda: memorize.verify(fast, X, y))
    assert rp.max_error == rf.max_error and rp.n_failed == rf.n_failed
    assert _same(*_both(lambda: fast(X)))


@needs_flint
@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 7), cols=st.integers(1, 7), seed=st.integers(0, 10**6), rank_cap=st.integers(0, 7))
def test_linear_algebra_is_the_same_on_flint(rows, cols, seed, rank_cap):
    rng = np.random.default_rng(seed)
    A = _rational(rng, (rows, min(rank_cap, cols) or 1), 50, 0.5)
    B = _rational(rng, (A.shape[1], cols), 50, 0.5)
    M = A @ B if rank_cap else np.zeros((rows, cols), dtype=object)  # rank at most rank_cap
    (Rp, pp), (Rf, pf) = _both(lambda: _linalg.rref(M))
    assert pp == pf and _same(Rp, Rf)
    assert _both(lambda: _linalg.rank(M))[0] == _both(lambda: _linalg.rank(M))[1] == len(pp)
    zp, zf = _both(lambda: _linalg.null_vector(M, cols, np.random.default_rng(seed)))
    assert _same(zp, zf)
    assert all(v == 0 for v in M @ zf)
    F = rng.standard_normal((rows, rows))
    F[-1] = F[0] * 3.0 if rows > 1 and seed % 2 else F[-1]
    assert _both(lambda: _linalg.is_singular(F))[0] == _both(lambda: _linalg.is_singular(F))[1]


class _NoFlint:
    def __getattr__(self, name):
        raise AssertionError(f"flint.{name} used on the pure path")


def test_the_pure_path_needs_no_flint(monkeypatch):
    """With the switch off, nothing touches FLINT (what runs where python-flint is absent)."""
    monkeypatch.setattr(_flint, "flint", _NoFlint())
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 3)), rng.uniform(-1, 1, 12)
    with _flint.backend("python"):
        net = memorize.build("bubeck2020", X, y, exact=True, rng=0)
        assert memorize.verify(net, X, y).max_error == 0


@contextlib.contextmanager
def _shared_projection(on: bool):
    old = _exact.SHARED_PROJECTION
    _exact.SHARED_PROJECTION = on
    try:
        yield
    finally:
        _exact.SHARED_PROJECTION = old


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), units=st.integers(32, 60), out=st.integers(1, 4), d=st.integers(1, 4),
       act=st.sampled_from(["identity", "relu", "hardtanh"]))
def test_shared_projection_kernel_is_the_layer_by_layer_value(seed, units, out, d, act):
    """A ReLU layer whose rows are multiples c_j·w of one vector (positive, negative and zero c_j,
    thresholds tied with data projections), then a dense layer: the prefix-sum kernel gives the
    same exact outputs as the plain evaluation, on both backends."""
    rng = np.random.default_rng(seed)
    w = _rational(rng, (d,), 20, 0.5)
    if all(v == 0 for v in w):
        w[0] = 1
    scale = [Fraction(int(rng.integers(-3, 4)), int(rng.integers(1, 4))) for _ in range(units)]
    W = np.array([[s * v for v in w] for s in scale], dtype=object)
    X = rng.integers(-4, 5, (12, d)) / 4.0
    proj = [sum(Fraction(x) * v for x, v in zip(row, w)) for row in X]
    # thresholds: half at data projections (ties: pre-activation exactly 0), half random
    b = np.array([-s * proj[j % 12] if j % 2 else Fraction(int(rng.integers(-9, 9)), 7) for j, s in enumerate(scale)],
                 dtype=object)
    net = Network([Dense(W, b, relu), Dense(_rational(rng, (out, units), 40, 0.5), _rational(rng, (out,), 40, 0.5), act)])
    assert _exact.shared_projection(*net.layers) is not None
    with _shared_projection(False), _flint.backend("python"):
        plain = net(X)
    for backend in ("python", "flint") if _flint.available() else ("python",):
        with _flint.backend(backend):
            assert _same(plain, net(X))


def test_shared_projection_kernel_only_for_parallel_rows():
    W = np.array([[1, 2]] * 40 + [[1, 3]], dtype=object)
    first = Dense(W, np.zeros(41, dtype=object), relu)
    assert _exact.shared_projection(first, Dense(np.ones((1, 41), dtype=object), [0])) is None
    par = Dense(np.array([[2, 4]] * 40 + [[-1, -2]], dtype=object), np.zeros(41, dtype=object), relu)
    assert _exact.shared_projection(par, Dense(np.ones((1, 41), dtype=object), [0])) is not None
    assert _exact.shared_projection(Dense(par.weight, par.bias, hardtanh), Dense(np.ones((1, 41), dtype=object), [0])) is None
