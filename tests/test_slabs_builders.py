"""Property tests of the slab memorizers: baum1988, bubeck2020, yun2019_one_hidden."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import memorize
from memorize import registry
from memorize.data import general_position
from memorize.datasets import load_digits
from memorize.errors import DuplicateError, LabelError

_GP = dict(max_examples=20, deadline=None)


def _gauss(seed, n, d):
    return np.random.default_rng(seed).standard_normal((n, d))


def _arch(name, X, dy, **opts):
    return registry.get(name).architecture(len(np.unique(X, axis=0)), X.shape[1], dy, **opts)


# ---- general-position data: sizes equal the theorem's counts, every point memorized ----------
@settings(**_GP)
@given(n=st.integers(1, 120), d=st.integers(1, 12), seed=st.integers(0, 10**6))
def test_baum_general_position(n, d, seed):
    X = _gauss(seed, n, d)
    y = np.random.default_rng(seed + 1).choice([-1, 1], n)
    net = memorize.build("baum1988", X, y, rng=seed)
    rep = memorize.verify(net, X, y)
    assert rep.ok and rep.max_error == 0  # threshold units: exact in float64
    minority = min(np.sum(y == 1), np.sum(y == -1))
    arch = _arch("baum1988", X, 1)
    if minority >= -(-(-(-n // 2)) // d):
        assert net.widths == arch.widths and net.num_params == arch.num_params
    assert net.meta["extra_units"] <= 0


@settings(**_GP)
@given(n=st.integers(1, 150), d=st.integers(1, 12), k=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_bubeck_general_position(n, d, k, seed):
    X = _gauss(seed, n, d)
    y = np.random.default_rng(seed + 1).uniform(-1, 1, (n, k))
    yy = y[:, 0] if k == 1 else y
    net = memorize.build("bubeck2020", X, yy, rng=seed)
    rep = memorize.verify(net, X, yy)
    assert rep.ok and rep.max_error < 1e-9
    arch = _arch("bubeck2020", X, k)
    assert net.widths == arch.widths and net.num_params == arch.num_params
    assert net.widths[0] <= (2 + 2 * k) * -(-n // d)
    assert net.meta["extra_units"] == 0


@settings(**_GP)
@given(n=st.integers(1, 150), d=st.integers(1, 12), c=st.integers(1, 5), seed=st.integers(0, 10**6),
       act=st.sampled_from(["relu", "hardtanh", "leaky"]))
def test_yun_one_hidden_general_position(n, d, c, seed, act):
    X = _gauss(seed, n, d)
    y = np.random.default_rng(seed + 1).integers(0, c, n)
    activation = memorize.relu_like(1.0, 0.25) if act == "leaky" else act
    net = memorize.build("yun2019_one_hidden", X, y, activation=activation, rng=seed)
    onehot = (y[:, None] == np.unique(y)[None, :]).astype(float)
    rep = memorize.verify(net, X, onehot)
    assert rep.ok and rep.max_error < 1e-9 and rep.accuracy in (None, 1.0)
    if act == "hardtanh":
        assert rep.max_error == 0  # saturated hard-tanh units are exact in float64
    k = len(np.unique(y))
    arch = _arch("yun2019_one_hidden", X, k, activation=activation)
    assert net.widths == arch.widths and net.num_params == arch.num_params
    per = 2 if act == "hardtanh" else 4
    assert net.widths[0] <= per * (n / d + k) + 1e-9  # never above the theorem's width
    assert net.meta["extra_units"] == 0 and net.meta["classes"] == sorted(np.unique(y).tolist())


# ---- exact mode: error exactly 0 ------------------------------------------------------------
@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 14), d=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_exact_mode_all_three(n, d, seed):
    rng = np.random.default_rng(seed)
    X = np.unique(rng.integers(-4, 5, (n, d)), axis=0)  # small integer grids: often degenerate
    m = len(X)
    for name, y in [
        ("baum1988", rng.choice([0, 1], m)),
        ("bubeck2020", rng.integers(-3, 4, m)),
        ("yun2019_one_hidden", rng.integers(0, 3, m)),
    ]:
        net = memorize.build(name, X, y, rng=seed, exact=True)
        if name == "yun2019_one_hidden":
            y = (y[:, None] == np.unique(y)[None, :]).astype(int)  # one-hot (also for a single class)
        rep = memorize.verify(net, X, y)
        assert net.is_exact and rep.exact and rep.max_error == 0, name
        # one block of units per slab, and no slab larger than a hyperplane can hold
        per = {"baum1988": 2, "bubeck2020": 4, "yun2019_one_hidden": 4}[name]
        assert net.widths[0] == per * net.meta["slabs_groups"]
        assert net.meta["slabs_max_group_size"] <= d
        if general_position(X).verdict is True:  # the theorem's count suffices (baum may need fewer)
            assert net.meta["extra_units"] <= 0 if name == "baum1988" else net.meta["extra_units"] == 0


# ---- degenerate data: memorized with a reported extra cost, never silently missed -----------
@pytest.mark.parametrize("kind", ["constant_column", "common_hyperplane", "duplicated_coords"])
def test_degenerate_data_memorized_with_extra_units(kind):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 6))
    if kind == "constant_column":
        X[:, 2] = 5.0
    elif kind == "common_hyperplane":
        X[:, 5] = X[:, :5] @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 1.0
    else:
        X = np.round(X * 2) / 2  # few distinct values per coordinate
        X = np.unique(X, axis=0)
    n = len(X)
    yb = rng.choice([-1, 1], n)
    yr = rng.uniform(-1, 1, n)
    yc = rng.integers(0, 3, n)
    for name, y in [("baum1988", yb), ("bubeck2020", yr), ("yun2019_one_hidden", yc)]:
        net = memorize.build(name, X, y)
        rep = memorize.verify(net, X, y)
        assert rep.ok, (name, kind)
        assert net.widths[0] == (2 if name == "baum1988" else 4) * net.meta["slabs_groups"]
        assert net.meta["slabs_max_group_size"] <= net.meta["slabs_hull_dim"]  # groups sized by the hull
        if kind != "duplicated_coords" and name != "baum1988":
            assert net.meta["extra_units"] > 0  # the hull has dimension 5 < 6: groups of 5
        assert net.meta["slabs_hull_dim"] == (6 if kind == "duplicated_coords" else 5)


def test_digits_memorized_with_reported_cost():
    X, y = load_digits()
    net = memorize.build("bubeck2020", X, y.astype(float))
    rep = memorize.verify(net, X, y.astype(float))
    assert rep.ok and rep.max_error < 1e-8
    assert net.meta["theorem_units"] == _arch("bubeck2020", X, 1).num_hidden == 4 * 29
    assert net.meta["extra_units"] > 0 and net.meta["slabs_hull_dim"] == 61
    net = memorize.build("yun2019_one_hidden", X, y)
    rep = memorize.verify(net, X, y)
    assert rep.ok and rep.accuracy == 1.0
    assert net.meta["theorem_units"] == _arch("yun2019_one_hidden", X, 10).num_hidden
    assert net.meta["extra_units"] >= 0 and net.widths[0] == 4 * net.meta["slabs_groups"]
    assert net.meta["slabs_max_group_size"] <= 61  # groups sized by the hull, not by d = 64


# ---- invalid data refused -------------------------------------------------------------------
def test_invalid_inputs_refused():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(DuplicateError):
        memorize.build("bubeck2020", np.array([[0.0], [0.0]]), np.array([1.0, 2.0]))
    with pytest.raises(LabelError, match="binary"):
        memorize.build("baum1988", X, np.array([0, 1, 2]))
    with pytest.raises(memorize.errors.ArgumentError, match="grouping"):
        memorize.build("bubeck2020", X, np.array([0.0, 1.0, 2.0]), grouping="nope")
    with pytest.raises(memorize.errors.ArgumentError, match="activation"):
        memorize.build("yun2019_one_hidden", X, np.array([0, 1, 0]), activation="step")
    with pytest.raises(memorize.errors.NonFiniteError):
        memorize.build("yun2019_one_hidden", np.array([[np.nan], [1.0]]), np.array([0, 1]))


def test_too_close_points_raise_assumption_error_naming_them():
    X = np.array([[0.0], [1.0], [1.0 + 2.0**-52]])
    y = np.array([0.0, 1.0, -1.0])
    with pytest.raises(memorize.errors.AssumptionError, match=r"point [12]"):
        memorize.build("bubeck2020", X, y)
    net = memorize.build("bubeck2020", X, y, exact=True)
    assert memorize.verify(net, X, y).max_error == 0


def test_data_not_modified_and_deterministic():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = rng.uniform(-1, 1, 60)
    X0, y0 = X.copy(), y.copy()
    a = memorize.build("bubeck2020", X, y, rng=5)
    b = memorize.build("bubeck2020", X, y, rng=5)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)
    assert all(np.array_equal(la.weight, lb.weight) for la, lb in zip(a.layers, b.layers))


def test_low_dimensional_offset_data_terminates_and_is_memorized():
    # Regression: 2-D points around (100, 100) once sent _repair into an endless loop when its
    # two float rank tests disagreed (found through scikit-learn's estimator checks).
    rng = np.random.default_rng(0)
    for n in (20, 50):
        X, y = rng.normal(loc=100, size=(n, 2)), rng.integers(0, 3, n)
        net = memorize.build("yun2019_one_hidden", X, y)
        assert memorize.verify(net, X, y).ok
