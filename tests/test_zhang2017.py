import numpy as np
import pytest
from hypothesis import given, strategies as st

import memorize
from memorize.errors import AssumptionError, ArgumentError, DuplicateError
from memorize.registry import get

from strategies import grid_datasets, distinct_float_datasets

U = 2.0**-53


@given(grid_datasets())
def test_memorizes_any_grid_dataset_within_the_documented_bound(data):
    X, y = data
    net = memorize.build("zhang2017", X, y)
    n = len(X)
    assert net.widths == (n,)
    k = 1 if np.ndim(y) == 1 else y.shape[1]
    assert net.output_dim == k
    report = memorize.verify(net, X, y, tol=np.inf)
    # docs/zhang2017.md: max error ≤ 2⁻⁵¹·M + 2⁻⁴⁸·max|y| with M the cancellation mass in meta
    bound = 4 * U * net.meta["cancellation_mass"] + 32 * U * np.max(np.abs(y))
    assert report.max_error <= bound


@given(grid_datasets(n_max=25, d_max=4, k_max=2))
def test_exact_mode_has_error_exactly_zero(data):
    X, y = data
    net = memorize.build("zhang2017", X, y, exact=True)
    assert net.is_exact
    report = memorize.verify(net, X, y)
    assert report.exact and report.max_error == 0 and report.ok


@given(distinct_float_datasets())
def test_exact_mode_separates_points_float64_cannot(data):
    X, y = data
    net = memorize.build("zhang2017", X, y, exact=True)
    assert memorize.verify(net, X, y).max_error == 0


def test_architecture_matches_build():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((37, 5)), rng.uniform(-1, 1, (37, 2))
    net = memorize.build("zhang2017", X, y)
    arch = get("zhang2017").architecture(37, 5, 2)
    assert arch.widths == net.widths and arch.num_params == net.num_params


def test_hidden_units_share_one_direction_and_kinks_interleave():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((60, 3)), rng.uniform(-1, 1, 60)
    net = memorize.build("zhang2017", X, y)
    W, b = net.layers[0].weight, net.layers[0].bias
    assert np.all(W == W[0])
    z = np.sort(X @ W[0])
    kinks = -b
    assert np.all(np.diff(kinks) > 0)
    assert kinks[0] < z[0] and np.all(kinks[1:] == z[:-1])  # θ = 0: kink i on point i−1


def test_against_dense_solve_oracle():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((300, 4)), rng.uniform(-1, 1, 300)
    net = memorize.build("zhang2017", X, y, theta=0.3)
    H = np.maximum(X @ net.layers[0].weight.T + net.layers[0].bias, 0)
    alpha = np.linalg.solve(H, y)
    np.testing.assert_allclose(net.layers[1].weight[0], alpha, rtol=1e-6, atol=1e-6 * np.max(np.abs(alpha)))


def test_same_seed_same_bytes_and_seed_matters():
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((50, 3)), rng.uniform(-1, 1, 50)
    a, b = memorize.build("zhang2017", X, y, rng=7), memorize.build("zhang2017", X, y, rng=7)
    for la, lb in zip(a.layers, b.layers):
        assert la.weight.tobytes() == lb.weight.tobytes() and la.bias.tobytes() == lb.bias.tobytes()
    c = memorize.build("zhang2017", X, y, rng=8)
    assert c.layers[0].weight.tobytes() != a.layers[0].weight.tobytes()


def test_consistent_duplicates_are_memorized_and_conflicts_refused():
    X = np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 1.0], [5.0, 5.0]])
    y = np.array([1.0, 2.0, 1.0, -1.0])
    net = memorize.build("zhang2017", X, y)
    assert net.widths == (3,)
    assert memorize.verify(net, X, y).ok
    with pytest.raises(DuplicateError, match=r"\(0, 2\)"):
        memorize.build("zhang2017", X, np.array([1.0, 2.0, 0.5, -1.0]))


def test_points_too_close_for_float64_are_refused_not_missed():
    X = np.array([[1.0], [1.0 + 2**-50], [3.0]])
    with pytest.raises(AssumptionError, match="exact=True"):
        memorize.build("zhang2017", X, np.array([0.0, 1.0, 0.0]))
    net = memorize.build("zhang2017", X, np.array([0.0, 1.0, 0.0]), exact=True)
    assert memorize.verify(net, X, np.array([0.0, 1.0, 0.0])).max_error == 0


@pytest.mark.parametrize("theta", [-0.1, 0.5, 0.9])
def test_unstable_theta_refused(theta):
    with pytest.raises(ArgumentError, match="theta"):
        memorize.build("zhang2017", np.eye(3), np.ones(3), theta=theta)


@given(st.floats(0.0, 0.45))
def test_any_admissible_theta_is_exact(theta):
    rng = np.random.default_rng(9)
    X, y = rng.integers(-5, 5, (15, 2)) / 4, rng.integers(-3, 3, 15) / 2
    X, idx = np.unique(X, axis=0, return_index=True)
    net = memorize.build("zhang2017", X, y[idx], theta=theta, exact=True)
    assert memorize.verify(net, X, y[idx]).max_error == 0


def test_user_data_not_modified():
    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((20, 3)), rng.uniform(-1, 1, 20)
    X0, y0 = X.copy(), y.copy()
    memorize.build("zhang2017", X, y)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


def test_user_direction_is_used_and_checked():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    y = np.array([1.0, 0.0, -1.0])
    net = memorize.build("zhang2017", X, y, direction=[1.0, 2.0])
    assert np.array_equal(net.layers[0].weight[0], [1.0, 2.0]) and memorize.verify(net, X, y).ok
    with pytest.raises(AssumptionError, match="given direction"):
        memorize.build("zhang2017", X, y, direction=[1.0, 1.0])  # (0,1) and (1,0) project alike
    with pytest.raises(ArgumentError, match="direction"):
        memorize.build("zhang2017", X, y, direction=[0.0, 0.0])
