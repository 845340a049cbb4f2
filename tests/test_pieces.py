"""Exact piece counting (memorize.pieces) and the Theorem 3.3 witness."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memorize
from memorize import Dense, Network, Residual, hardtanh, identity, registry, relu, relu_like, step
from memorize import bounds
from memorize.bounds import theorem33_capacity
from memorize.errors import ArgumentError, ArgumentTypeError, MemorizeError, ShapeError
from memorize.pieces import linear_pieces, max_pieces, theorem33_max_pieces

ACTS = {"relu": relu, "leaky": relu_like(1.0, 0.1), "hardtanh": hardtanh, "step": step, "identity": identity}


def random_net(rng, dx, widths, act, residual=False, out=1):
    layers = []
    d = dx
    if residual:
        # a first Dense layer lifts to the stream dimension, then residual blocks
        layers.append(Dense(rng.standard_normal((3, d)), rng.standard_normal(3), act))
        d = 3
        for w in widths:
            layers.append(Residual(rng.standard_normal((w, d)), rng.standard_normal(w), rng.standard_normal((d, w)),
                                   rng.standard_normal(d) * 0.1, act))
    else:
        for w in widths:
            layers.append(Dense(rng.standard_normal((w, d)), rng.standard_normal(w), act))
            d = w
    layers.append(Dense(rng.standard_normal((out, d)), rng.standard_normal(out)))
    return Network(layers)


def sampled_check(net, x0, u, lo, hi, pieces, grid=1 << 14):
    """Brute force: dense float sampling must agree with the exact pieces.

    Returns True when the breakpoints were far enough apart (and the slope changes large
    enough) for the sampled kink count to be compared, after comparing it.
    """
    t = np.linspace(lo, hi, grid + 1)
    X = x0[None, :] + t[:, None] * u[None, :]
    f = net(X)[:, 0]
    # values: every sample strictly inside a piece equals that piece's affine map
    bps = np.array([float(p.lo) for p in pieces] + [float(pieces[-1].hi)])
    idx = np.searchsorted(bps, t, side="right") - 1
    idx = np.clip(idx, 0, len(pieces) - 1)
    a = np.array([float(p.intercept[0]) for p in pieces])
    b = np.array([float(p.slope[0]) for p in pieces])
    inside = np.ones_like(t, dtype=bool)
    h = (hi - lo) / grid
    for bp in bps:
        inside &= np.abs(t - bp) > 2 * h
    scale = 1 + np.abs(f).max()
    assert np.all(np.abs(f[inside] - (a[idx] + b[idx] * t)[inside]) <= 1e-9 * scale)
    # kink count from the samples, only when pieces are long and slope/value changes visible
    lengths = np.diff(bps)
    jumps = [abs(pieces[i + 1].slope[0] - pieces[i].slope[0]) + abs(
        (pieces[i + 1].intercept[0] + pieces[i + 1].slope[0] * pieces[i].hi)
        - (pieces[i].intercept[0] + pieces[i].slope[0] * pieces[i].hi)) / h for i in range(len(pieces) - 1)]
    if lengths.min() < 8 * h or (jumps and min(jumps) < 1e-4):
        return False
    s = np.diff(f) / h
    change = np.abs(np.diff(s)) > 1e-6 * (1 + np.abs(s[1:]))
    pos = np.nonzero(change)[0]
    clusters = 0 if len(pos) == 0 else 1 + int(np.sum(np.diff(pos) > 3))
    assert clusters == len(pieces) - 1
    return True


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("shape", ["1x", "2x", "3x", "res"])
def test_exact_count_matches_dense_sampling(act, shape):
    widths = {"1x": (5,), "2x": (4, 3), "3x": (3, 3, 2), "res": (3, 2)}[shape]
    compared = 0
    for seed in range(12):
        rng = np.random.default_rng(1000 * seed + 7)
        dx = 2
        net = random_net(rng, dx, widths, ACTS[act], residual=shape == "res")
        x0, u = rng.standard_normal(dx), rng.standard_normal(dx)
        pieces = linear_pieces(net, x0, u, (-2.0, 2.0))
        assert len(pieces) == memorize.count_pieces(net, x0, u, (-2.0, 2.0))
        assert 1 <= len(pieces) <= max_pieces(net)
        # pieces tile the interval and neighbours differ
        assert pieces[0].lo == -2 and pieces[-1].hi == 2
        for p, q in zip(pieces, pieces[1:]):
            assert p.hi == q.lo and (p.slope, p.intercept) != (q.slope, q.intercept)
        compared += sampled_check(net, x0, u, -2.0, 2.0, pieces)
    assert compared >= 6, "too few well-separated cases: the brute-force comparison did not run"


def sawtooth(k):
    # the tent map T(x) = 2 relu(x) - 4 relu(x - 1/2) composed k times has exactly 2^k pieces on [0, 1]
    layers = []
    W1 = np.array([[1.0], [1.0]])
    b1 = np.array([0.0, -0.5])
    layers.append(Dense(W1, b1, relu))
    for _ in range(k - 1):
        M = np.array([[2.0, -4.0], [2.0, -4.0]])
        layers.append(Dense(M, np.array([0.0, -0.5]), relu))
    layers.append(Dense(np.array([[2.0, -4.0]]), np.array([0.0])))
    return Network(layers)


@pytest.mark.parametrize("k", [1, 2, 5, 8])
def test_sawtooth_has_exactly_two_to_the_k_pieces(k):
    net = sawtooth(k)
    pieces = linear_pieces(net, [0.0], [1.0], (0, 1))
    assert len(pieces) == 2**k
    # the breakpoints are exactly j / 2^k
    assert [p.lo for p in pieces] == [Fraction(j, 2**k) for j in range(2**k)]
    # and the network is exact: slopes ±2^k
    assert {abs(p.slope[0]) for p in pieces} == {2**k}


def test_exact_and_float_networks_agree():
    rng = np.random.default_rng(3)
    net = random_net(rng, 3, (4, 4), relu)
    x0, u = rng.standard_normal(3), rng.standard_normal(3)
    assert linear_pieces(net, x0, u, (-1, 1)) == linear_pieces(net.to_exact(), x0, u, (-1, 1))


def test_output_selection_and_vector_pieces():
    # two outputs with kinks at different places: the vector has the union of breakpoints
    net = Network([Dense([[1.0], [1.0]], [0.0, -1.0], relu), Dense([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])])
    assert memorize.count_pieces(net, [0.0], [1.0], (-2, 2), output=0) == 2
    assert memorize.count_pieces(net, [0.0], [1.0], (-2, 2), output=1) == 2
    assert memorize.count_pieces(net, [0.0], [1.0], (-2, 2)) == 3


def test_kinks_cancelling_in_the_output_are_not_counted():
    # relu(t) - relu(-t) = t: two units with a kink at 0, but the output is one line
    net = Network([Dense([[1.0], [-1.0]], [0.0, 0.0], relu), Dense([[1.0, -1.0]], [0.0])])
    assert memorize.count_pieces(net, [0.0], [1.0], (-3, 3)) == 1


def test_step_jumps_are_pieces():
    net = Network([Dense([[1.0], [1.0]], [0.0, -1.0], step), Dense([[1.0, 1.0]], [0.0])])
    ps = linear_pieces(net, [0.0], [1.0], (-1, 2))
    assert [(p.lo, p.hi, p.intercept[0]) for p in ps] == [(-1, 0, 0), (0, 1, 1), (1, 2, 2)]


def test_bad_arguments_are_refused():
    net = sawtooth(1)
    with pytest.raises(ShapeError, match="x0"):
        memorize.count_pieces(net, [0.0, 1.0], [1.0], (0, 1))
    with pytest.raises(ArgumentError, match="direction"):
        memorize.count_pieces(net, [0.0], [0.0], (0, 1))
    with pytest.raises(ArgumentError, match="t_range"):
        memorize.count_pieces(net, [0.0], [1.0], (1, 1))
    with pytest.raises(ArgumentError, match="t_range"):
        memorize.count_pieces(net, [0.0], [1.0], (0, float("nan")))
    with pytest.raises(ArgumentError, match="output"):
        memorize.count_pieces(net, [0.0], [1.0], (0, 1), output=3)
    with pytest.raises(MemorizeError, match="net"):
        memorize.count_pieces("net", [0.0], [1.0], (0, 1))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    widths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    act=st.sampled_from(["relu", "leaky", "hardtanh", "step"]),
)
def test_count_never_exceeds_the_width_bound(seed, widths, act):
    rng = np.random.default_rng(seed)
    net = random_net(rng, 2, tuple(widths), ACTS[act])
    n = memorize.count_pieces(net, rng.standard_normal(2), rng.standard_normal(2), (-5, 5))
    p = ACTS[act].num_pieces
    assert n <= max_pieces(net) == max_pieces(tuple(widths), p)
    if len(widths) <= 2:
        assert max_pieces(tuple(widths), p) <= theorem33_max_pieces(tuple(widths), p)


def test_theorem33_counts():
    assert theorem33_max_pieces((5,)) == 6 and theorem33_max_pieces((5,), 3) == 11
    assert theorem33_max_pieces((3, 4)) == 2 * 3 * 4 + 4 + 1
    assert theorem33_max_pieces((3, 4), 3) == 6 * 3 * 4 + 2 * 4 + 1
    for ws in [(3,), (7,), (2, 5), (6, 6)]:
        assert theorem33_capacity(ws) == theorem33_max_pieces(ws) + 1
    with pytest.raises(ArgumentError):
        theorem33_max_pieces((2, 2, 2))
    with pytest.raises(ArgumentError):
        max_pieces((0, 2))


@pytest.mark.parametrize("count", [
    lambda p: theorem33_max_pieces((3, 2), p),
    lambda p: theorem33_capacity((3, 2), p),
    lambda p: bounds.theorem33_min_hidden(10, 2, p),
    lambda p: max_pieces((3, 2), p),
    lambda p: bounds.vc_dimension_bound(1, (3, 2), p),
])
def test_pieces_per_unit_has_one_rule(count):
    # p counts the linear pieces of a non-affine activation: 2 and 3 are taken, 1 is not
    assert count(2) != count(3)  # p enters the count
    with pytest.raises(ArgumentError, match="pieces_per_unit"):
        count(1)
    with pytest.raises(ArgumentTypeError, match="pieces_per_unit"):
        count(2.5)


# -- the witness --------------------------------------------------------------------------------
@given(n=st.integers(2, 200), dx=st.integers(1, 4))
def test_hard_dataset_shape(n, dx):
    hd = memorize.hard_dataset(n, dx)
    X, y = hd
    assert X.shape == (n, dx) and y.shape == (n,)
    assert np.all(np.abs(X) < 1) and np.all(X[:, 1:] == 0)
    assert np.all(np.diff(X[:, 0]) > 0) and len(set(np.diff(X[:, 0]))) == 1
    assert np.all(y[:-1] == -y[1:]) and set(y) <= {-1.0, 1.0}
    assert hd.min_pieces == n - 1
    assert hd.t_range == (Fraction(X[0, 0]), Fraction(X[-1, 0]))
    np.testing.assert_array_equal(hd.x0 + hd.t[:, None] * hd.direction, X)
    c = memorize.hard_dataset(n, dx, task="classification").y
    assert set(c) <= {0, 1} and np.all(c[:-1] != c[1:])


def test_hard_dataset_refuses_bad_arguments():
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ArgumentError, match="n"):
            memorize.hard_dataset(bad)
    with pytest.raises(ArgumentError, match="dx"):
        memorize.hard_dataset(5, 0)
    with pytest.raises(ArgumentError, match="task"):
        memorize.hard_dataset(5, task="ranking")


def _witness_build(m, n):
    """Build on the witness in R^1; if the theorem needs d_x ≥ d_y, on the same line in R^2.

    In R^2 the witness is collinear (not in general position): a builder must then adapt (and
    report extra units) or refuse with a library error.
    """
    try:
        hd = memorize.hard_dataset(n, 1, task=m.task)
        return hd, m.builder(hd.X, hd.y, exact=True, rng=0, **dict(m.demo_options))
    except MemorizeError:
        hd = memorize.hard_dataset(n, 2, task=m.task)
        return hd, m.builder(hd.X, hd.y, exact=True, rng=0, **dict(m.demo_options))


@pytest.mark.parametrize("name", sorted(registry.all_methods()))
def test_every_builder_on_the_witness_has_enough_pieces_and_no_more_than_allowed(name):
    """Theorem 3.3 in both directions, for every registered construction.

    Fitting alternating labels forces ≥ N − 1 pieces; the widths cap the pieces at
    max_pieces(net) (and at Yun et al.'s count for one or two hidden layers).
    """
    m = registry.get(name)
    n = 10
    try:
        hd, net = _witness_build(m, n)
    except MemorizeError as exc:
        # A builder may refuse the witness with a clear library error (never a wrong network).
        pytest.skip(f"{name} refuses the witness in R^1 and R^2: {exc}")
    assert memorize.verify(net, hd.X, hd.y).ok
    k = hd.pieces(net, output=0)
    assert k >= hd.min_pieces
    assert k <= max_pieces(net)
    acts = {layer.activation.name for layer in net.layers[:-1]}
    if net.depth in (1, 2) and len(acts) == 1 and net.layers[-1].activation.name == "identity" \
            and not any(isinstance(layer, Residual) for layer in net.layers):
        p = net.layers[0].activation.num_pieces
        assert k <= theorem33_max_pieces(net.widths, p)


def test_zhang_on_the_witness_is_tight():
    # N hidden ReLUs interpolate N alternating points with N − 1 pieces inside [x_1, x_N]
    for n in (5, 12, 40):
        hd = memorize.hard_dataset(n)
        net = memorize.build("zhang2017", hd.X, hd.y, exact=True)
        assert hd.pieces(net) == n - 1
        assert theorem33_max_pieces(net.widths) >= n - 1


@pytest.mark.parametrize("widths", [(5,), (12,), (2, 3), (3, 2)])
def test_random_networks_below_the_bound_cannot_fit_the_witness(widths):
    """Networks whose widths fail Theorem 3.3's condition have too few pieces, whatever the weights.

    We also give them the best possible training of their output layer (least squares on the
    witness, for random hidden layers): it still misses the labels.
    """
    n = theorem33_capacity(widths) + 1  # the smallest N the theorem rules out
    hd = memorize.hard_dataset(n)
    rng = np.random.default_rng(sum(widths))
    for trial in range(20):
        net = random_net(rng, 1, widths, relu)
        k = hd.pieces(net)
        assert k <= theorem33_max_pieces(widths) < hd.min_pieces
        # best output layer for these hidden features
        H = hd.X
        for layer in net.layers[:-1]:
            H = layer.forward(H)
        A = np.hstack([H, np.ones((n, 1))])
        coef, *_ = np.linalg.lstsq(A, hd.y, rcond=None)
        assert np.max(np.abs(A @ coef - hd.y)) > 1e-3


# -- a deliberately simple second implementation: Fractions, one full state row per segment ----------
def _reference_pieces(net, x0, u, lo, hi):
    from memorize import _exact

    def act_piece(act, za, zb, zmid):
        if act.name == "identity":
            return za, zb
        if act.name == "relu":
            return (za, zb) if zmid > 0 else (0, 0)
        if act.name == "relu_like":
            f = Fraction(act.slopes[0]) if zmid >= 0 else Fraction(act.slopes[1])
            return za * f, zb * f
        if act.name == "hardtanh":
            return (1, 0) if zmid > 1 else ((-1, 0) if zmid < -1 else (za, zb))
        return (1 if zmid >= 0 else 0), 0

    kinks = {"identity": (), "hardtanh": (-1, 1)}
    segs = [(Fraction(lo), Fraction(hi), [Fraction(v) for v in x0], [Fraction(v) for v in u])]
    for layer in net.layers:
        W, b = (layer.weight, layer.bias) if isinstance(layer, Dense) else (layer.U, layer.b)
        W, b = _exact.to_exact_array(W), _exact.to_exact_array(b)
        new = []
        for (l, h, A, B) in segs:
            za = [sum(W[i, k] * A[k] for k in range(len(A))) + b[i] for i in range(W.shape[0])]
            zb = [sum(W[i, k] * B[k] for k in range(len(B))) for i in range(W.shape[0])]
            cuts = sorted({Fraction(k - za[i]) / zb[i] for i in range(len(za)) if zb[i] != 0
                           for k in kinks.get(layer.activation.name, (0,)) if l < Fraction(k - za[i]) / zb[i] < h})
            pts = [l, *cuts, h]
            for p, q in zip(pts, pts[1:]):
                m = (p + q) / 2
                outs = [act_piece(layer.activation, za[i], zb[i], za[i] + zb[i] * m) for i in range(len(za))]
                oa, ob = [o[0] for o in outs], [o[1] for o in outs]
                if isinstance(layer, Residual):
                    V, c = _exact.to_exact_array(layer.V), _exact.to_exact_array(layer.c)
                    oa = [A[r] + sum(V[r, i] * oa[i] for i in range(len(oa))) + c[r] for r in range(len(A))]
                    ob = [B[r] + sum(V[r, i] * ob[i] for i in range(len(ob))) for r in range(len(B))]
                new.append((p, q, oa, ob))
        segs = new
    out = []
    for (p, q, A, B) in segs:
        key = (tuple(Fraction(v) for v in A), tuple(Fraction(v) for v in B))
        if out and out[-1][2] == key:
            out[-1][1] = q
        else:
            out.append([p, q, key])
    return [(p, q, key) for p, q, key in out]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    widths=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    act=st.sampled_from(list(ACTS)),
    residual=st.booleans(),
    out=st.integers(1, 2),
)
def test_fast_engine_equals_the_simple_reference(seed, widths, act, residual, out):
    rng = np.random.default_rng(seed)
    net = random_net(rng, 2, tuple(widths), ACTS[act], residual=residual, out=out)
    x0, u = rng.standard_normal(2), rng.standard_normal(2)
    got = [(p.lo, p.hi, (p.intercept, p.slope)) for p in linear_pieces(net, x0, u, (-3, 3))]
    assert got == _reference_pieces(net, x0, u, -3, 3)
