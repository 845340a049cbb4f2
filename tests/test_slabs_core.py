"""Tests of the shared slab machinery (constructions/_slabs.py) and of data.general_position."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from memorize import _exact
from memorize.constructions import _slabs as S
from memorize.data import general_position
from memorize.datasets import load_digits
from memorize.errors import AssumptionError


def _check_slabset(X, ss, exact):
    """Every group lies on its hyperplane and every other point is at least the margin away."""
    Xe = _exact.to_exact_array(X) if exact else X
    A = S.slab_values(Xe, ss.normals, ss.offsets)
    n = X.shape[0]
    covered = np.zeros(n, dtype=int)
    for j, g in enumerate(ss.groups):
        covered[g] += 1
        mask = np.ones(n, dtype=bool)
        mask[g] = False
        if exact:
            assert all(v == 0 for v in A[g, j])
            if mask.any():
                assert min(abs(v) for v in A[mask, j]) == ss.margins[j] > 0
        else:
            assert np.max(np.abs(A[g, j])) <= ss.residuals[j] + 2 * ss.rounding[j]
            if mask.any():
                assert abs(np.min(np.abs(A[mask, j])) - ss.margins[j]) <= 2 * ss.rounding[j]
                assert ss.margins[j] > 64 * (ss.rounding[j] + ss.residuals[j])
    return covered


def test_split_groups_sizes_and_purity():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 100)
    groups = S.split_groups(100, 7, n_groups=20, labels=labels, rng=rng)
    assert len(groups) == 20
    assert sorted(np.concatenate(groups).tolist()) == list(range(100))
    for g in groups:
        assert len(g) <= 7 and len(set(labels[g])) == 1
    with pytest.raises(Exception):
        S.split_groups(100, 7, n_groups=3, rng=rng)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), d=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_build_slabs_gaussian_float(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    groups = S.split_groups(n, d, rng=rng)
    ss = S.build_slabs(X, groups, rng=rng)
    covered = _check_slabset(X, ss, exact=False)
    assert np.all(covered == 1)
    assert ss.extra_groups == 0  # Gaussian data are in general position


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 25), d=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_build_slabs_degenerate_integer_exact(n, d, seed):
    # small integer grids are far from general position: groups must shrink, never fail silently
    rng = np.random.default_rng(seed)
    X = np.unique(rng.integers(-2, 3, (n, d)).astype(float), axis=0)
    groups = S.split_groups(len(X), d, rng=rng)
    ss = S.build_slabs(X, groups, rng=rng, exact=True, hull=S.affine_hull(X, exact=True))
    covered = _check_slabset(X, ss, exact=True)
    assert np.all(covered == 1)
    ssf = S.build_slabs(X, groups, rng=rng, hull=S.affine_hull(X))
    assert np.all(_check_slabset(X, ssf, exact=False) == 1)


def test_digits_hull_and_adaptive_groups():
    X, y = load_digits()
    hull = S.affine_hull(X)
    assert hull.dim == 61
    rng = np.random.default_rng(0)
    groups = S.split_groups(len(X), hull.dim, rng=rng)
    ss = S.build_slabs(X, groups, rng=rng, hull=hull)
    assert np.all(_check_slabset(X, ss, exact=False) == 1)
    assert ss.extra_groups > 0 and ss.shrunk_groups > 0  # digits are not in general position


def test_incremental_hull_matches_svd(monkeypatch):
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((300, 5))
    X = Z @ rng.standard_normal((5, 40)) + 3.0
    full = S.affine_hull(X)
    monkeypatch.setattr(S, "_HULL_SVD_MAX", 0)
    inc = S.affine_hull(X, rng=1)
    assert full.dim == inc.dim == 5
    # same direction space: projecting one basis onto the other loses nothing
    assert np.allclose(inc.basis @ (inc.basis.T @ full.basis), full.basis, atol=1e-9)
    Y = rng.standard_normal((200, 30))
    assert S.affine_hull(Y, rng=2).full


def test_identical_points_too_close_raise():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [1.0 + 2.0**-52, 0.0]])
    with pytest.raises(AssumptionError, match="cannot be separated"):
        S.build_slabs(X, [np.array([1])], rng=0)


def test_general_position_verdicts():
    sq = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert general_position(sq).verdict is True
    line = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    r = general_position(line)
    assert r.verdict is False and r.witness == (0, 1, 2)
    X, _ = load_digits()
    r = general_position(X)
    assert r.verdict is False and r.constant_columns == (0, 32, 39) and r.affine_dim == 61
    rng = np.random.default_rng(0)
    assert general_position(rng.standard_normal((12, 3))).verdict is True
    r = general_position(rng.standard_normal((400, 6)), n_samples=500)
    assert r.verdict is None and r.method == "sampled"


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_general_position_witness_is_exactly_coplanar(seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, (12, 2)).astype(float)
    r = general_position(X)
    if r.verdict is False:
        w = X[list(r.witness)]
        D = _exact.to_exact_array(w[1:] - w[0])
        assert D[0, 0] * D[1, 1] - D[0, 1] * D[1, 0] == 0
    else:
        assert r.verdict is True


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 80), d=st.integers(1, 5), levels=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_hashed_unique_rows_equals_sorting(n, d, levels, seed):
    from memorize import data

    rng = np.random.default_rng(seed)
    X = rng.integers(0, levels, (n, d)).astype(float) + 0.0
    a = data.unique_rows(X)
    b = data._void_unique(X)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_general_position_large_dimension_and_sampling_are_cheap_and_honest():
    rng = np.random.default_rng(0)
    r = general_position(rng.standard_normal((300, 250)))
    assert r.verdict is None and r.method == "none"
    X = rng.standard_normal((200, 8))
    X[7] = X[3] + X[5] - X[11]  # 4 coplanar points among 200: sampling may or may not see them
    r = general_position(X, n_samples=300)
    assert r.verdict in (None, False)
    if r.verdict is False:
        w = X[list(r.witness)]
        assert np.linalg.matrix_rank(w[1:] - w[0]) < 8
