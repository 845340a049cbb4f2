"""Tests of the sparse evaluation of long runs of ReLU residual blocks (memorize._residual_runs).

Claim: a run's output equals, bit for bit, the generic forward pass of the run on each point
alone (float64), and exactly the generic forward (exact arithmetic); skipped (point, block)
pairs are certified inactive for any summation order; when the blocks act on many points the
run falls back to the generic pass on the whole batch.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import memorize
from memorize import _residual_runs as rr
from memorize.network import Dense, Network, Residual


def _generic(net, X, one_row=True):
    old = rr.enable(False)
    try:
        if one_row:
            return np.vstack([net(X[i : i + 1]) for i in range(len(X))])
        return net(X)
    finally:
        rr.enable(old)


def _residual_part(net):
    k = sum(1 for layer in net.layers if isinstance(layer, Residual))
    return Network(net.layers[:k])


def _sparse(net, X):
    before = dict(rr.stats)
    out = net(X)
    return out, rr.stats["sparse"] - before["sparse"], rr.stats["fallback"] - before["fallback"]


@st.composite
def hardt_data(draw):
    n = draw(st.integers(rr.MIN_RUN, 40))
    d = draw(st.integers(2, 6))
    r = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10)
    return X, rng.integers(0, r, n), rng


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hardt_data())
def test_float_run_equals_one_row_generic_forward_bit_for_bit(data):
    X, y, rng = data
    net = memorize.build("hardt_ma2017", X, y)
    run = _residual_part(net)
    # the data, points near them (some detected, some not) and far points
    pts = np.vstack([X, X + 0.05 * rng.standard_normal(X.shape), 3 * rng.standard_normal(X.shape)])
    out, sparse, fallback = _sparse(run, pts)
    assert sparse == 1 and fallback == 0
    assert np.array_equal(out, _generic(run, pts))
    # and the whole network: the head is evaluated on the same residual outputs
    head = Network(net.layers[len(run.layers) :])
    assert np.array_equal(net(pts), _generic(head, _generic(run, pts), one_row=False))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.integers(1, 3))
def test_exact_run_equals_generic_forward_exactly(seed, block_size):
    rng = np.random.default_rng(seed)
    X = np.unique(rng.integers(-4, 5, (30, 3)).astype(float), axis=0)
    y = rng.integers(0, 3, len(X))
    net = memorize.build("hardt_ma2017", X, y, exact=True, block_size=block_size)
    if net.depth - 1 < rr.MIN_RUN:
        return
    pts = np.vstack([X, X + rng.integers(-1, 2, X.shape) / 2])
    out, sparse, _ = _sparse(net, pts)
    assert sparse == 1
    ref = _generic(net, pts, one_row=False)
    assert out.dtype == object and bool(np.all(out == ref))


def test_certified_pairs_are_inactive_in_exact_arithmetic():
    """Every (point, unit) pair the float64 certification skips has exact pre-activation ≤ 0."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((60, 5)), rng.integers(0, 3, 60)
    net = memorize.build("hardt_ma2017", X, y)
    run = rr._Run(_residual_part(net).layers)
    pts = np.vstack([X, X + 0.1 * rng.standard_normal(X.shape)])
    pos = np.zeros(len(pts), dtype=np.int64)
    for tile, u0 in run._tiles(np.arange(len(pts)), pos):
        Dc = pts[tile] - pts[tile].mean(0)
        # recompute the candidate mask without truncation, as _direct does
        m = pts[tile].mean(0)
        beta = run.Us[u0:, :-1] @ m + run.bs[u0:]
        beta += 1.1 * run.g64 * (np.sqrt(m @ m) + np.abs(run.bs[u0:]) + np.abs(beta))
        dn = np.sqrt(np.einsum("ij,ij->i", Dc, Dc))
        hn = np.sqrt(np.einsum("ij,ij->i", pts[tile], pts[tile]))
        cand = run._tile_product(Dc, dn, hn, beta, u0, np.float32, run.g32)
        exact_pre = memorize._exact.affine(memorize._exact.to_exact_array(pts[tile]),
                                           memorize._exact.to_exact_array(run.U[u0:]),
                                           memorize._exact.to_exact_array(run.b[u0:]))
        positive = np.asarray(exact_pre > 0, dtype=bool)
        assert not np.any(positive & ~cand)
        assert cand.sum() < cand.size  # the certification skips most pairs


def _dense_chain(rng, n_blocks, d):
    """Blocks that act on every point: U h + b > 0 everywhere, small moves."""
    layers = [Residual(rng.standard_normal((1, d)) * 0.01, [10.0], rng.standard_normal((d, 1)) * 1e-3, np.zeros(d))
              for _ in range(n_blocks)]
    return Network(layers + [Dense(np.ones((1, d)), [0.0])])


def test_blocks_acting_everywhere_fall_back_to_the_generic_pass():
    rng = np.random.default_rng(0)
    net = _dense_chain(rng, 40, 3)
    X = rng.standard_normal((50, 3))
    out, sparse, fallback = _sparse(net, X)
    assert fallback == 1 and sparse == 0
    assert np.array_equal(out, _generic(net, X, one_row=False))


def test_short_runs_and_constants_use_the_generic_pass():
    rng = np.random.default_rng(1)
    short = _dense_chain(rng, rr.MIN_RUN - 1, 3)
    assert rr.plan(short.layers) is None
    with_c = Network([Residual(np.ones((1, 2)), [0.0], np.ones((2, 1)), [1.0, 0.0])] * 20)
    assert rr.plan(with_c.layers) is None
    leaky = Network([Residual(np.ones((1, 2)), [0.0], np.ones((2, 1)), [0.0, 0.0],
                              memorize.relu_like(1.0, 0.5))] * 20)
    assert rr.plan(leaky.layers) is None


@pytest.mark.parametrize("bad", [np.inf, np.nan, 1e300])
def test_non_finite_or_huge_inputs_fall_back(bad):
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)
    net = memorize.build("hardt_ma2017", X, y)
    pts = X.copy()
    pts[3, 1] = bad
    with np.errstate(all="ignore"):
        out, sparse, fallback = _sparse(net, pts)
        ref = _generic(net, pts, one_row=False)
    assert fallback == 1
    assert np.array_equal(out, ref, equal_nan=True)


def test_negative_zero_inputs_come_out_as_the_generic_pass_gives_them():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)
    run = _residual_part(memorize.build("hardt_ma2017", X, y))
    far = np.full((2, 3), -0.0)
    far[1, 0] = 1e3
    out = run(far)
    ref = _generic(run, far)
    assert np.array_equal(np.signbit(out), np.signbit(ref)) and np.array_equal(out, ref)
