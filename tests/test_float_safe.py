"""float_safe and float_safe_classifier: memorization in a format, refusals, and the proof's claims.

``docs/float_safe.md`` proves that the routing network is exact at every training point in its
format, in every summation order: cuts are certain (Lemma 1), cell gates exactly one-hot
(Lemma 2), per-cell level-2 cuts certain (Lemma 3), exactly one leaf nonzero (Lemma 4), code cuts
and class gates exact (Lemma 5). The first part checks the theorem on small data (property
tests and awkward cases), the second the refusals, the third each lemma, by running the step
functions and bounding the partial networks with the certificate's ``bound_chunks``.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import memorize
from memorize.activations import relu
from memorize.certificate import bound_chunks
from memorize.constructions import float_safe as fs
from memorize.constructions.float_safe import float_safe, float_safe_classifier
from memorize.data import prepare, unique_rows
from memorize.datasets import load_digits
from memorize.errors import ArgumentError, AssumptionError, DuplicateError, NonFiniteError
from memorize.network import Dense, Network
from memorize.precision import FORMATS, forward

FMTS = ["float32", "bfloat16", "float64"]
_FAST = dict(max_examples=8, deadline=None)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def onehot(y) -> np.ndarray:
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    Y = np.zeros((len(codes), len(classes)))
    Y[np.arange(len(codes)), codes.ravel()] = 1.0
    return Y


def check_classifier(X, y, fmt, *, exact=True, **kw):
    """The theorem for classification: exactly the one-hot row in ``fmt``, certified (bound 0),
    and the exact network's error 0 on the inputs rounded to the format."""
    F = FORMATS[fmt]
    Y = onehot(y)
    net = float_safe_classifier(X, y, dtype=fmt, **kw)
    out = forward(net, X, fmt).astype(np.float64)
    assert np.array_equal(out, Y)
    cert = memorize.certify(net, X, Y, dtype=fmt)
    assert cert.ok and cert.n_exact == len(X)
    if Y.shape[1] > 1:  # class labels: one output per class (a single output reads as a target)
        assert memorize.certify(net, X, y, dtype=fmt).ok
    if exact:
        enet = float_safe_classifier(X, y, dtype=fmt, exact=True, **kw)
        rep = memorize.verify(enet, F.round(X), Y)
        assert rep.exact and rep.max_error == 0
        if fmt != "bfloat16":  # the margins cover float32's rounding of the inputs too
            assert memorize.verify(enet, X, Y).max_error == 0
    return net


def check_regressor(X, y, fmt, *, exact=True, **kw):
    """The theorem for regression: exactly fl(y) in ``fmt``, certified with bound 0, and the
    exact network's error 0 against fl(y)."""
    F = FORMATS[fmt]
    Yh = F.round(np.asarray(y, dtype=np.float64).reshape(len(X), -1)) + 0.0
    net = float_safe(X, y, dtype=fmt, **kw)
    assert np.array_equal(forward(net, X, fmt).astype(np.float64), Yh)
    cert = memorize.certify(net, X, Yh, dtype=fmt, tol=0)
    assert cert.ok and cert.n_exact == len(X)
    if exact:
        enet = float_safe(X, y, dtype=fmt, exact=True, **kw)
        rep = memorize.verify(enet, F.round(X), Yh)
        assert rep.exact and rep.max_error == 0
        if fmt != "bfloat16":
            assert memorize.verify(enet, X, Yh).max_error == 0
    return net


@st.composite
def grid_data(draw, n_max=24, d_max=4):
    """Distinct points of an integer grid (tied coordinates) times a power of two, possibly with
    repeated rows; one seed for the labels. Every coordinate is a number of every format."""
    d = draw(st.integers(1, d_max))
    n = draw(st.integers(1, n_max))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1.0, 0.125, 2.0**-60, 2.0**60]))
    rng = np.random.default_rng(seed)
    X = np.unique(rng.integers(-16, 17, size=(n, d)), axis=0).astype(np.float64) * scale
    reps = rng.integers(0, len(X), size=draw(st.integers(0, 3)))  # duplicated rows
    order = rng.permutation(len(X) + len(reps))
    return np.r_[X, X[reps]][order], np.r_[np.arange(len(X)), reps][order], seed


# ---------------------------------------------------------------------------------------------
# the theorem on small data
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FMTS)
@settings(**_FAST)
@given(data=grid_data(), n_classes=st.integers(1, 5))
def test_classifier_is_exactly_one_hot(fmt, data, n_classes):
    X, row, seed = data
    y = np.random.default_rng(seed).integers(0, n_classes, size=row.max() + 1)[row]  # duplicates agree
    check_classifier(X, y, fmt, rng=seed)


_LABELS = st.one_of(st.just(0.0), st.floats(-1e30, 1e30, allow_nan=False, allow_subnormal=True))


@pytest.mark.parametrize("fmt", FMTS)
@settings(**_FAST)
@given(data=grid_data(), k=st.integers(1, 3), labels=st.data())
def test_regressor_returns_the_rounded_labels(fmt, data, k, labels):
    X, row, seed = data
    Y = labels.draw(hnp.arrays(np.float64, (int(row.max()) + 1, k), elements=_LABELS))[row]
    check_regressor(X, Y[:, 0] if k == 1 else Y, fmt, rng=seed)


@pytest.mark.parametrize("fmt", FMTS)
def test_one_and_two_points(fmt):
    check_classifier(np.array([[0.5, -2.0]]), np.array([3]), fmt)
    check_regressor(np.array([[0.5, -2.0]]), np.array([7.25]), fmt)
    X = np.array([[0.0], [1.0]])
    check_classifier(X, np.array([0, 1]), fmt)
    check_regressor(X, np.array([1.0, -1.0]), fmt)


@pytest.mark.parametrize("fmt", FMTS)
def test_one_coordinate(fmt):
    rng = np.random.default_rng(1)
    X = np.round(rng.standard_normal(60), 2)  # neighbours a few hundredths apart
    X = np.unique(FORMATS[fmt].round(X))[:, None]
    check_classifier(X, rng.integers(0, 3, len(X)), fmt)
    check_regressor(X, rng.standard_normal(len(X)), fmt)


@pytest.mark.parametrize("fmt", FMTS)
def test_one_class_and_constant_labels(fmt):
    X = np.random.default_rng(2).standard_normal((50, 3))
    net = check_classifier(X, np.zeros(50, dtype=int), fmt)
    assert net.output_dim == 1
    check_classifier(X, np.array(["cat"] * 50), fmt, exact=False)
    check_regressor(X, np.zeros(50), fmt)


@pytest.mark.parametrize("fmt", FMTS)
def test_duplicated_rows_with_consistent_labels(fmt):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 3))
    y = rng.integers(0, 2, 20)
    yr = rng.standard_normal(20)
    idx = np.r_[np.arange(20), [4, 4, 11]]
    net = check_classifier(X[idx], y[idx], fmt)
    assert net.meta["n_duplicates_merged"] == 3
    check_regressor(X[idx], yr[idx], fmt)


@pytest.mark.parametrize("fmt", FMTS)
def test_pixel_data(fmt):
    """The bundled digits: integer pixels 0..16, most coordinates tied with other points'."""
    X, y = load_digits()
    X, y = X[:200], y[:200]
    check_classifier(X, y, fmt, exact=False)
    check_regressor(X, y / 10.0, fmt, exact=False)


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("scale", [1e20, 1e-20])
def test_extreme_feature_scales(fmt, scale):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 3)) * scale
    check_classifier(X, rng.integers(0, 3, 60), fmt, exact=False)
    check_regressor(X, rng.standard_normal(60), fmt, exact=False)


@pytest.mark.parametrize("fmt", FMTS)
def test_huge_labels_on_huge_features(fmt):
    """|X| ~ 1e20 with |y| ~ 1e30: the leaf gain is 2^100, and the level-2 scales must stay
    below κ_max (they started at 1, and off-signals times the gain overflowed float32)."""
    rng = np.random.default_rng(12)
    X = rng.standard_normal((60, 3)) * 1e20
    y = rng.standard_normal((60, 2)) * 1e30
    y[::7] = 0.0
    check_regressor(X, y, fmt, exact=False)


@pytest.mark.parametrize("fmt", FMTS)
def test_three_outputs_and_huge_or_zero_labels(fmt):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 3))
    Y = rng.standard_normal((40, 3)) * np.array([1e30, 1.0, 1e-30])
    Y[::5] = 0.0
    check_regressor(X, Y, fmt)


def test_two_hundred_classes_in_float32():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((400, 6))
    net = check_classifier(X, np.arange(400) % 200, "float32", exact=False)
    assert net.output_dim == 200


def test_one_ulp_apart_in_float64():
    x0 = float(np.float32(1.2345))
    x1 = float(np.nextafter(np.float32(x0), np.float32(2)))
    X = np.array([[x0, 0.0], [x1, 0.0], [0.0, 1.0]])
    check_classifier(X, np.array([0, 1, 0]), "float64")
    check_regressor(X, np.array([1.0, 2.0, 3.0]), "float64")


def test_exact_mode_in_bfloat16_is_about_the_rounded_inputs():
    """The docs' caveat: bfloat16's margins do not cover the rounding of the inputs themselves
    (2⁻⁸ of their size), so the exact network is exact on the rounded inputs only."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)) * 3, rng.integers(0, 3, 40)
    enet = float_safe_classifier(X, y, dtype="bfloat16", exact=True)
    assert memorize.verify(enet, FORMATS["bfloat16"].round(X), y).max_error == 0
    assert memorize.verify(enet, X, y).max_error > 0


def test_steps_are_the_builder():
    """The step functions, called as the tests below call them, give the builder's network."""
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((80, 3)), rng.integers(0, 3, 80)
    _, _, layers, _ = steps(X, y, "bfloat16", True, seed=5)
    net = float_safe_classifier(X, y, dtype="bfloat16", rng=5)
    assert len(net.layers) == len(layers)
    for a, b in zip(net.layers, layers):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
        assert a.activation.name == b.activation.name


def test_architecture_is_the_built_size():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((300, 5)), rng.integers(0, 4, 300)
    for net, arch in [(float_safe_classifier(X, y), fs.classifier_architecture),
                      (float_safe(X, y * 0.5), fs.architecture)]:
        m = net.meta
        a = arch(300, 5, net.output_dim, n_cells=m["n_cells"], level1_cuts=m["level1_cuts"],
                 leaf_slots=m["leaf_slots"])
        assert a.widths == tuple(layer.out_dim for layer in net.layers[:-1])
        assert a.num_params == net.num_params


# ---------------------------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["float32", "bfloat16"])
@settings(**_FAST)
@given(data=grid_data(n_max=16), pick=st.data())
def test_points_equal_in_the_format_with_different_labels_are_refused(fmt, data, pick):
    """A point moved by less than half a unit in the last place of the format (still distinct in
    float64) with another label: refused, naming the pair by the user's indices."""
    X = np.unique(data[0], axis=0)  # distinct, so the clash is named with the moved point's original
    n = len(X)
    i = pick.draw(st.integers(0, n - 1))
    at = pick.draw(st.integers(0, n))
    x = X[i].copy()
    x[0] = x[0] + (abs(x[0]) * FORMATS[fmt].u / 4 if x[0] else 2.0**-1070)
    y = np.zeros(n, dtype=int)
    Xc, yc = np.insert(X, at, x, axis=0), np.insert(y, at, 1)
    j = i if i < at else i + 1  # the original point's index after the insertion
    with pytest.raises(AssumptionError, match=rf"identical when rounded to {fmt}.*\({min(j, at)}, {max(j, at)}\)"):
        float_safe_classifier(Xc, yc, dtype=fmt)
    with pytest.raises(AssumptionError, match=rf"\({min(j, at)}, {max(j, at)}\)"):
        float_safe(Xc, yc.astype(float), dtype=fmt)
    net = float_safe_classifier(Xc, np.zeros(n + 1, dtype=int), dtype=fmt)  # same label: merged
    assert net.meta["rounded_points_merged"] >= 1


@pytest.mark.parametrize("ulps, ok", [(1, False), (2, False), (4, False), (8, True), (16, True)])
def test_float32_neighbours(ulps, ok):
    """Points a few units in the last place apart in one coordinate (others large): from 8 ulps on
    they are cut along their own axis; closer, no margin of this error model fits and the pair is
    refused by name (docs: one ulp is beyond any certificate of the model)."""
    x0 = np.float32(1.2345)
    x1 = x0
    for _ in range(ulps):
        x1 = np.nextafter(x1, np.float32(9))
    rng = np.random.default_rng(9)
    X = np.r_[rng.standard_normal((6, 3)), [[x0, 1000.0, -3000.0], [x1, 1000.0, -3000.0]]]
    y = np.r_[rng.integers(0, 2, 6), [0, 1]]
    if ok:
        check_classifier(X, y, "float32", exact=False)
    else:
        with pytest.raises(AssumptionError, match=r"float32 rounding can separate.*\(6, 7\)"):
            float_safe_classifier(X, y, dtype="float32")


def test_bfloat16_power_of_two_and_its_neighbour_in_one_dimension():
    """The documented bfloat16 limit: s·2^k is a number of the format for every weight s, so no
    threshold of the format lies between 2^k and its lower neighbour along any scaled axis."""
    X = np.array([[0.25], [1.0 - 2.0**-8], [1.0], [3.0]])
    with pytest.raises(AssumptionError, match=r"bfloat16 rounding can separate.*\(1, 2\)"):
        float_safe(X, np.array([0.0, 1.0, 2.0, 3.0]), dtype="bfloat16")
    check_regressor(X, np.array([0.0, 1.0, 2.0, 3.0]), "float32")


def test_neighbours_of_bfloat16_are_cut_along_a_scaled_axis():
    """Away from powers of two, neighbours of bfloat16 are separable (±1 was the only direction
    tried in one dimension, and 50 normal points with one pair of neighbours were refused)."""
    X = np.array([[0.59375], [0.59765625], [-0.515625], [-0.5078125], [0.1]])
    check_regressor(X, np.arange(5.0), "bfloat16")


def test_invalid_data_are_refused_by_name():
    X = np.random.default_rng(10).standard_normal((6, 2))
    Xn = X.copy()
    Xn[4, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"X: .*rows \[4\]"):
        float_safe_classifier(Xn, np.arange(6) % 2)
    with pytest.raises(NonFiniteError, match=r"y: .*rows \[2\]"):
        float_safe(X, np.array([0.0, 1, np.nan, 3, 4, 5]))
    with pytest.raises(DuplicateError, match=r"\(1, 5\)"):
        float_safe_classifier(np.r_[X[:5], X[1:2]], np.array([0, 1, 0, 1, 0, 0]))
    big = X.copy()
    big[3, 0] = 1e39
    with pytest.raises(AssumptionError, match=r"rows \[3\] overflow float32"):
        float_safe(big, np.arange(6.0), dtype="float32")
    with pytest.raises(ArgumentError, match=r"y: rows \[0\] overflow float32"):
        float_safe(X, np.r_[1e39, np.ones(5)], dtype="float32")


def test_class_count_limits():
    """Codes must fit below 2^(emax/2): 256 classes in float16 (257 refused), 4032 in bfloat16."""
    fs.class_codes(256, FORMATS["float16"])
    with pytest.raises(ArgumentError, match="float16 cannot tell 257 classes apart"):
        fs.class_codes(257, FORMATS["float16"])
    fs.class_codes(4032, FORMATS["bfloat16"])
    with pytest.raises(ArgumentError, match="bfloat16 cannot tell 4033 classes"):
        fs.class_codes(4033, FORMATS["bfloat16"])
    X = np.random.default_rng(11).standard_normal((300, 4))
    with pytest.raises(ArgumentError, match="dtype: float16"):
        float_safe_classifier(X, np.arange(300), dtype="float16")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FMTS)
@settings(max_examples=40, deadline=None)
@given(data=grid_data(n_max=150, d_max=8), n_classes=st.integers(1, 12))
def test_larger_sweep(fmt, data, n_classes):
    X, row, seed = data
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=row.max() + 1)[row]
    check_classifier(X, y, fmt, rng=seed, exact=False)
    check_regressor(X, rng.standard_normal(row.max() + 1)[row], fmt, rng=seed, exact=False)


@pytest.mark.slow
def test_many_classes_in_bfloat16():
    """Beyond the old decoder's reach: 253 and 1000 classes (it was not certified past 65)."""
    rng = np.random.default_rng(13)
    X = rng.standard_normal((1100, 6))
    for C in (66, 253, 1000):
        check_classifier(X, np.arange(1100) % C, "bfloat16", exact=False)


# ---------------------------------------------------------------------------------------------
# the proof's intermediate claims
# ---------------------------------------------------------------------------------------------
def steps(X, y, fmt, classification, cells=None, seed=0):
    """Run steps 0–7 as the builders do; returns the data, the routing, the layers and the leaf
    index of layer 4."""
    F = FORMATS[fmt]
    if classification:
        data = prepare(X, y, task="classification")
        keys = data.labels.astype(np.int64)
        codes = fs.class_codes(data.k, F)
        values = codes[keys][:, None]
    else:
        data = prepare(X, y, task="regression")
        values = F.round(data.Y) + 0.0
        _, keys = unique_rows(np.ascontiguousarray(values))
        keys = keys.astype(np.int64)
    r = fs.route(data, keys, values, F, cells, np.random.default_rng(seed))
    layers, (W4, b4), index = fs.routing_layers(r, classification)
    layers.append(Dense(W4, b4, relu))
    if classification:
        theta, kappa = fs.code_cuts(codes, F, W4.shape[0] + 1)
        (W5, b5), (W6, b6) = fs._decode_layers(W4.shape[0], theta, kappa, data.k)
        layers += [Dense(W5, b5, relu), Dense(W6, b6, relu)]
    else:
        Wout = np.zeros((data.k, W4.shape[0]))
        for i, (_, _, o, sgn) in enumerate(index):
            Wout[o, i] = sgn
        layers.append(Dense(Wout, np.zeros(data.k)))
    return data, r, layers, index


def bounds(layers, L, X, fmt):
    """Reference values and certified bounds of the first L layers at every point."""
    parts = list(bound_chunks(Network(layers[:L]), X, fmt))
    return np.vstack([h for _, h, _ in parts]), np.vstack([E for _, _, E in parts]).astype(np.float64)


def certain(h, E):
    """Every off-signal is certainly 0 (exact) or certainly ≥ ON, in every evaluation."""
    return ((h == 0) & (E == 0)) | (h - E >= fs.ON)


def _cases():
    rng = np.random.default_rng(20)
    Xd, yd = load_digits()
    g = np.unique(rng.integers(0, 4, (80, 3)), axis=0).astype(float)
    return {
        "gauss": (rng.standard_normal((150, 3)), rng.integers(0, 3, 150), None),
        "few cells": (rng.standard_normal((90, 2)), rng.integers(0, 4, 90), 4),
        "grid": (g, np.arange(len(g)) % 3, None),
        "digits": (Xd[:90], yd[:90], None),
        "huge": (rng.standard_normal((70, 3)) * 1e20, rng.integers(0, 2, 70), None),
        "1-d": (np.unique(np.round(rng.standard_normal(120), 2)), None, None),
    }


CASES = _cases()


def _case(name, classification):
    X, y, cells = CASES[name]
    rng = np.random.default_rng(21)
    if y is None:
        y = rng.integers(0, 3, len(X))
    return X, (y if classification else rng.standard_normal(len(X)) * 10.0 ** rng.integers(-3, 4, len(X))), cells


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("classification", [True, False])
def test_lemmas(fmt, name, classification):
    X, y, cells = _case(name, classification)
    data, r, layers, index = steps(X, y, fmt, classification, cells=cells)
    F = FORMATS[fmt]
    n, d = r.pts.shape
    B, m = r.level1.n_cells, r.level1.n_cuts
    cell = r.level1.cell_of[r.row_of]  # per kept point
    row = r.row_of

    # Lemma 1: a level-1 cut is certain at every point of the cells it bounds (a split cut is
    # placed among its cell's points only: elsewhere the cell's other bounds close the gates),
    # on the cell's side; every off-signal stays within the overflow budget at every point
    h1, E1 = bounds(layers, 1, data.X, fmt)
    for c, bnds in enumerate(r.level1.bounds):
        inside = cell == c
        for i, side in bnds:
            zero, on = (2 * i, 2 * i + 1) if side > 0 else (2 * i + 1, 2 * i)
            assert (h1[inside, zero] == 0).all() and (E1[inside, zero] == 0).all()
            assert (h1[inside, on] - E1[inside, on] >= fs.ON).all()
    assert (h1[:, :2 * m] <= F.max / 64).all()
    # Lemma 2: gates exactly one-hot over the cells; carriers exact copies of ±x̂
    h2, E2 = bounds(layers, 2, data.X, fmt)
    assert np.array_equal(h2[:, :B], np.eye(B)[cell]) and (E2[:, :B] == 0).all()
    Xh = r.pts.X[row]
    assert np.array_equal(h2[:, B:], np.c_[np.maximum(Xh, 0), np.maximum(-Xh, 0)]) and (E2[:, B:] == 0).all()

    # Lemma 3: level-2 cuts certain, on the side of the point's leaf; value units hold the table
    h3, E3 = bounds(layers, 3, data.X, fmt)
    start = 0
    for rr, ((kappa, theta, J), table) in enumerate(zip(r.cuts2, r.tables)):
        mine = r.group[cell] == rr
        leaf = np.where(mine, r.slot_of[row], 0)  # other cells: all thresholds above their points
        for j in range(J - 1):
            up, down = h3[:, start + 2 * j], h3[:, start + 2 * j + 1]
            eu, ed = E3[:, start + 2 * j], E3[:, start + 2 * j + 1]
            assert certain(up, eu).all() and certain(down, ed).all()
            above = leaf > j
            assert ((up > 0) == above).all() and ((down > 0) == ~above).all()
            assert (up * r.gain <= F.max / 64).all() and (down * r.gain <= F.max / 64).all()
        start += 2 * max(J - 1, 0)
    n_cut_rows = start
    vals = h3[:, n_cut_rows:]
    assert (E3[:, n_cut_rows:] == 0).all()
    for col, (rr, j, o, sgn) in enumerate(index):
        assert np.array_equal(vals[:, col], np.maximum(sgn * r.tables[rr][j, cell, o], 0.0))

    # Lemma 4: the point's own leaf (and no other) is nonzero, exactly its value
    h4, E4 = bounds(layers, 4, data.X, fmt)
    assert (E4 == 0).all()
    own = np.array([[r.group[c] == rr and r.slot_of[p] == j for (rr, j, _, _) in index]
                    for p, c in zip(row, cell)])
    assert (h4[~own] == 0).all()
    if classification:
        assert np.array_equal(h4.sum(axis=1), r.values[row, 0]) and (own.sum(axis=1) == 1).all()
    else:
        sgn = np.array([s for (_, _, _, s) in index])
        outs = np.array([o for (_, _, o, _) in index])
        for o in range(data.k):
            assert np.array_equal((h4 * sgn)[:, outs == o].sum(axis=1), r.values[row, o])

    # Lemma 5 and the theorem: code cuts certain, outputs exactly one-hot / fl(y), bound 0
    L = len(layers)
    if classification:
        h5, E5 = bounds(layers, 5, data.X, fmt)
        assert certain(h5, E5).all() and (h5 <= F.max / 8).all()
    hL, EL = bounds(layers, L, data.X, fmt)
    assert (EL == 0).all()
    assert np.array_equal(hL, np.eye(data.k)[data.labels] if classification else r.values[row])


def test_round_inputs_claim():
    """Rows are distinct numbers of the format; every point maps to its rounding."""
    F = FORMATS["bfloat16"]
    rng = np.random.default_rng(22)
    X = rng.standard_normal((40, 2))
    X[5] = X[3] * (1 + F.u / 8)  # the same in bfloat16, another float64 point
    data = prepare(X, np.r_[np.zeros(5), 0, np.zeros(34)].astype(int), task="classification")
    Xh, row_of = fs.round_inputs(data, data.labels.astype(np.int64), F)
    assert len(Xh) == 39 and len(unique_rows(Xh)[0]) == 39
    assert np.array_equal(Xh[row_of], F.round(data.X)) and F.representable(Xh).all()


@settings(max_examples=30, deadline=None)
@given(fmt=st.sampled_from(FMTS), seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1e-20, 1.0, 1e20]))
def test_place_cuts_claim(fmt, seed, scale):
    """Thresholds are numbers of the format, scales powers of two at most κ_max, and Lemma 1's
    inequalities hold wherever a cut is reported; gaps of a tenth of the values always fit."""
    F = FORMATS[fmt]
    rng = np.random.default_rng(seed)
    t = np.sort(rng.standard_normal(20)) * scale
    S = np.abs(t) * rng.uniform(1, 3, 20)
    unit = fs._Unit.of(F, 4, 64, 2 * float(S.max()))
    hi = t[:-1] + unit.rq * S[:-1]
    lo = t[1:] - unit.rq * S[1:]
    theta, kappa, ok = fs.place_cuts(unit, hi, lo, F)
    assert F.representable(theta[ok]).all()
    assert np.array_equal(kappa, fs._pow2_at_most(kappa)) and (kappa <= unit.kappa_max).all()
    assert unit.holds(theta[ok], hi[ok], lo[ok], kappa[ok]).all()
    wide = np.diff(t) > 0.1 * np.maximum(np.abs(t[:-1]), np.abs(t[1:]))
    assert ok[wide].all()


@pytest.mark.parametrize("fmt", FMTS)
def test_code_claims(fmt):
    """Codes are increasing numbers of the format; every code is on the right side of every code
    cut with Lemma 1's margins."""
    F = FORMATS[fmt]
    codes = fs.class_codes(40, F)
    assert F.representable(codes).all() and (np.diff(codes) > 0).all()
    theta, kappa = fs.code_cuts(codes, F, 100)
    unit = fs._code_unit(F, codes, 100)
    below = codes[None, :] < theta[:, None]
    assert np.array_equal(below, np.arange(40)[None, :] <= np.arange(39)[:, None])
    hi = np.where(below, codes * (1 + unit.rq), -np.inf).max(axis=1)
    lo = np.where(below, np.inf, codes * (1 - unit.rq)).min(axis=1)
    assert unit.holds(theta, hi, lo, kappa).all() and F.representable(theta).all()


def _split_setup(fmt, ulps):
    """One cell holding a pair ``ulps`` apart in coordinate 0 (other coordinates large, so random
    directions cannot cut between them) among random points."""
    F = FORMATS[fmt]
    x0 = 1.2345
    x1 = x0
    for _ in range(ulps):
        x1 = float(F.next_up(F.round(np.array([x1])))[0])
    rng = np.random.default_rng(23)
    X = F.round(np.r_[rng.standard_normal((30, 3)), [[x0, 1000.0, -3000.0], [x1, 1000.0, -3000.0]]])
    pts = fs.Points(X)
    level1 = fs.Level1([], [], [], [[]], np.zeros(len(X), dtype=np.int64))
    return F, X, pts, level1


@pytest.mark.parametrize("fmt, ulps", [("float32", 16), ("bfloat16", 1), ("float64", 64)])
def test_split_cells_claim(fmt, ulps):
    """split_cells separates the pair it is given, its cut is certain for every point, and the two
    halves' gates are exactly one-hot."""
    F, X, pts, level1 = _split_setup(fmt, ulps)
    p, q = 30, 31
    assert fs.split_cells(pts, level1, {0: (p, q)}, F, np.random.default_rng(0), 64) == 1
    assert level1.n_cells == 2 and level1.cell_of[p] != level1.cell_of[q]
    W1, b1 = fs._level1_layer(3, level1)
    W2, b2 = fs._cell_layer(3, level1, W1.shape[0])
    layers = [Dense(W1, b1, relu), Dense(W2, b2, relu)]
    h1, E1 = bounds(layers, 1, X, fmt)
    assert certain(h1[:, :2], E1[:, :2]).all()
    h2, E2 = bounds(layers, 2, X, fmt)
    assert np.array_equal(h2[:, :2], np.eye(2)[level1.cell_of]) and (E2[:, :2] == 0).all()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), fmt=st.sampled_from(FMTS))
def test_split_cells_separates_random_pairs(seed, fmt):
    """Any two distinct grid points of a cell: when split_cells reports a split, the pair lies in
    two cells and both halves' gates are exact."""
    rng = np.random.default_rng(seed)
    X = np.unique(rng.integers(-8, 9, (25, 3)), axis=0).astype(float)
    p, q = rng.choice(len(X), 2, replace=False)
    pts = fs.Points(X)
    level1 = fs.Level1([], [], [], [[]], np.zeros(len(X), dtype=np.int64))
    F = FORMATS[fmt]
    assert fs.split_cells(pts, level1, {0: (int(p), int(q))}, F, rng, 64) == 1  # grid pairs always split
    assert level1.cell_of[p] != level1.cell_of[q]
    W1, b1 = fs._level1_layer(3, level1)
    W2, b2 = fs._cell_layer(3, level1, W1.shape[0])
    h2, E2 = bounds([Dense(W1, b1, relu), Dense(W2, b2, relu)], 2, X, fmt)
    assert np.array_equal(h2[:, :2], np.eye(2)[level1.cell_of]) and (E2[:, :2] == 0).all()


def test_leaf_values_claim():
    """Each point's slot holds its value in its cell; slots of other directions and slots past
    the cell's last leaf hold 0 there."""
    rng = np.random.default_rng(24)
    X, y = rng.standard_normal((120, 3)), rng.standard_normal(120)
    _, r, _, _ = steps(X, y, "float32", False, cells=6)
    cell = r.level1.cell_of
    direction = r.group[cell]
    for s, table in enumerate(r.tables):
        mine = direction == s
        assert np.array_equal(table[r.slot_of[mine], cell[mine]], r.values[mine])
        assert not table[:, r.group != s].any()
        n_leaves = np.zeros(r.level1.n_cells, dtype=int)
        np.maximum.at(n_leaves, cell[mine], r.slot_of[mine] + 1)
        past = np.arange(table.shape[0])[:, None] >= n_leaves[None, :]
        assert not table[past].any()
