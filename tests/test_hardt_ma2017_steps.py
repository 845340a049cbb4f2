"""The intermediate claims of Hardt & Ma 2017, Section 3, step by step.

Each test runs the builder's step functions on small data and checks, exactly in exact
arithmetic, what the proof says after that step: the thresholds are below ρ²/8 and r²/4, the
detector of point i equals λ_i at x_i and is ≤ −λ_i at every other point of the stream it sees,
each block moves exactly its points onto their surrogates, and the head reads the surrogates off
as exact one-hot vectors.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import memorize
from memorize._arith import EXACT, FLOAT64
from memorize.constructions import hardt_ma2017 as HM
from memorize.data import prepare


@st.composite
def small_data(draw, max_n=12):
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, 4))
    r = draw(st.integers(1, 2 if d == 1 else 5))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["grid", "gauss", "sphere", "near"]))
    if kind == "grid":
        X = rng.integers(-3, 4, (n, d)).astype(float)
    elif kind == "gauss":
        X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10) + rng.uniform(-5, 5, d)
    elif kind == "sphere":  # the paper's unit-norm setting
        X = rng.standard_normal((n, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    else:  # clusters of points closer than float64 can tell apart: exact mode only
        base = rng.standard_normal((-(-n // 3), d))
        X = np.repeat(base, 3, axis=0)[:n] + rng.standard_normal((n, d)) * 1e-15 * rng.integers(1, 5, (n, 1))
    X = np.unique(X, axis=0)
    y = rng.integers(0, r, len(X))
    return X, y


def _steps(ar, X, y, block_size=1, seed=0):
    """Steps 1–5 as the builder runs them."""
    data = prepare(X, y, task="classification")
    n, d = data.X.shape
    rho2, rho2_float = HM.neighbour_distances(ar, data.X, data.index)
    c_float, _ = HM.radial_frame(data.X, rho2_float, np.random.default_rng(seed))
    Z, r2, order, blocks = HM.radial_order(ar, data.X, c_float, rho2, block_size)
    lam = HM.thresholds(ar, rho2, r2)
    Q, dirs, rq = HM.surrogates(ar, c_float, r2, len(data.classes), d)
    return dict(data=data, X=ar.array(data.X), c=ar.array(c_float), rho2=rho2, Z=Z, r2=r2, order=order,
                blocks=blocks, lam=lam, Q=Q, dirs=dirs)


def _sq_dist(X, i, j):
    return sum((X[i] - X[j]) ** 2)


@given(small_data(), st.integers(1, 4))
def test_thresholds_lie_below_a_quarter_of_every_distance_and_radius(data, block_size):
    X, y = data
    s = _steps(EXACT, X, y, block_size)
    n = len(s["lam"])
    for i in range(n):
        lam, r2 = s["lam"][i], s["r2"][i]
        assert lam > 0 and 8 * lam == min(s["rho2"][i], 2 * r2)
        # what the detectors need: 4λ_i ≤ ‖x_i − x_j‖² for every j ≠ i, and 4λ_i ≤ r_i²
        assert all(4 * lam <= _sq_dist(s["X"], i, j) for j in range(n) if j != i)
        assert 4 * lam <= r2


@given(small_data(), st.integers(1, 4))
def test_the_order_is_by_decreasing_radius_and_blocks_are_compatible(data, block_size):
    X, y = data
    s = _steps(EXACT, X, y, block_size)
    r2 = s["r2"][s["order"]]
    assert all(r2[k] >= r2[k + 1] for k in range(len(r2) - 1))
    assert [a for a, _ in s["blocks"]] == [0] + [e for _, e in s["blocks"][:-1]]
    for a, e in s["blocks"]:
        assert e - a <= block_size
        assert r2[a] - r2[e - 1] <= min(s["rho2"][s["order"][a:e]]) / 2


@given(small_data(), st.integers(1, 4))
def test_each_detector_is_lambda_at_its_point_and_below_minus_lambda_elsewhere(data, block_size):
    X, y = data
    s = _steps(EXACT, X, y, block_size)
    labels, lam = s["data"].labels, s["lam"]
    H = s["X"].copy()
    for a, e in s["blocks"]:
        idx = s["order"][a:e]
        U, b, V = HM.detectors(EXACT, idx, s["X"], s["Z"], s["c"], s["r2"], lam, s["Q"], labels)
        pre = H @ U.T + b  # the units on the stream this block sees
        for t, i in enumerate(idx):
            assert pre[i, t] == lam[i]
            assert all(pre[j, t] <= -lam[i] for j in range(len(H)) if j != i)
        new = memorize.network.Residual(U, b, V, EXACT.zeros(H.shape[1])).forward(H)
        # the block moves exactly its points, exactly onto their surrogates
        assert np.array_equal(new[idx], s["Q"][labels[idx]])
        rest = np.setdiff1d(np.arange(len(H)), idx)
        assert np.array_equal(new[rest], H[rest])
        H = new
    assert np.array_equal(H, s["Q"][labels])


@given(small_data())
def test_every_detector_is_negative_at_every_surrogate(data):
    X, y = data
    s = _steps(EXACT, X, y)
    for i in range(len(s["lam"])):
        for q in s["Q"]:
            assert s["Z"][i] @ (q - s["c"]) - s["r2"][i] + s["lam"][i] < 0


@given(small_data())
def test_the_head_reads_each_surrogate_as_its_one_hot_vector(data):
    X, y = data
    s = _steps(EXACT, X, y)
    head, out = HM.read_out(EXACT, s["Q"], s["c"], s["dirs"])
    r = len(s["dirs"])
    assert np.array_equal(out.forward(head.forward(s["Q"])), EXACT.array(np.eye(r)))


def test_float_thresholds_and_order_agree_with_the_exact_ones_on_well_separated_data():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 3, 40)
    f, e = _steps(FLOAT64, X, y, 4), _steps(EXACT, X, y, 4)
    assert np.array_equal(f["order"], e["order"]) and f["blocks"] == e["blocks"]
    assert np.allclose(f["lam"], EXACT.to_float(e["lam"]), rtol=1e-13, atol=0)


@pytest.mark.parametrize("seed", range(3))
def test_points_closer_than_float64_resolution_are_memorized_exactly(seed):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((4, 3))
    X = np.vstack([base, base + rng.standard_normal((4, 3)) * 3e-15, base - rng.standard_normal((4, 3)) * 1e-15])
    y = rng.integers(0, 3, len(X))
    net = HM.hardt_ma2017(X, y, exact=True, block_size=3)
    assert memorize.verify(net, X, y).max_error == 0
