"""``memorize.certify``: is the bound sound for every evaluation, exact where it says so, and useful?

Soundness is tested adversarially (``tests/_adversary.py``): random small networks are evaluated
in each format in many orders — left to right, right to left, pairwise, random association trees
over random permutations — with and without fused multiply-adds, with subnormal results kept or
flushed, bfloat16/float16 accumulating in float32, and by ``precision.forward`` and PyTorch. Every
output must lie within the certificate's bound of its reference, every certified point must be
right in every evaluation, and every point certified *exact* must equal its label exactly.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import memorize
from memorize import Dense, Network, Residual, certify
from memorize.certificate import _integer_rows, bound_chunks
from memorize.errors import ArgumentError
from memorize.precision import FORMATS, forward, round_network
from memorize.verify import targets

from _adversary import (
    F32, Strategy, evaluate, random_network, round32_exact, round_fraction, two_prod, two_sum,
)

try:
    import torch
except ImportError:  # pragma: no cover - torch is an optional extra
    torch = None

NAMES = ("float64", "float32", "bfloat16", "float16")

# a default run's strategies: every order, fused or not, flushed or not, both slope models
STRATEGIES = (
    Strategy("seq"), Strategy("reverse"), Strategy("pairwise"), Strategy("random", seed=1),
    Strategy("random", 0.5, seed=2), Strategy("seq", 1.0), Strategy("random", 1.0, True, "exact", seed=3),
    Strategy("pairwise", 0.0, True),
)


# ---------------------------------------------------------------------------------------------
# the adversary's own arithmetic, against fractions
# ---------------------------------------------------------------------------------------------
def _round32_fraction(q: Fraction) -> float:
    return round_fraction(q, 24, -126, 127)


def test_adversary_fused_rounding_is_correct():
    """round32_exact(two_sum(p, c)) is the float32 rounding of the exact p + c, midpoints included."""
    rng = np.random.default_rng(0)
    a = F32.round(rng.standard_normal(3000) * 2.0 ** rng.integers(-20, 20, 3000))
    w = F32.round(rng.standard_normal(3000))
    c = F32.round(rng.standard_normal(3000) * 2.0 ** rng.integers(-30, 30, 3000))
    # c placed so that a·w + c lies on or next to a float32 midpoint
    p = a * w  # exact
    mid = F32.round(p + c)
    c2 = F32.round(mid + np.ldexp(1.0, np.frexp(mid)[1] - 25) - p)
    for cc in (c, c2):
        s, err = two_sum(p, cc)
        got = round32_exact(s, err)
        want = [_round32_fraction(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, w, cc)]
        assert np.array_equal(got, np.array(want))
    hi, lo = two_prod(a, np.full_like(a, 0.01))
    assert all(Fraction(h) + Fraction(l) == Fraction(x) * Fraction(0.01) for h, l, x in zip(hi[:300], lo[:300], a[:300]))


def test_adversary_orders_differ():
    """The strategies really are different evaluations (else the soundness test would test little)."""
    rng = np.random.default_rng(5)
    W = rng.standard_normal((6, 40)) * 2.0 ** rng.integers(-8, 8, (6, 40))
    net = Network([Dense(W, rng.standard_normal(6))])
    X = rng.standard_normal((50, 40))
    outs = [evaluate(net, X, FORMATS["float32"], st) for st in STRATEGIES[:5]]
    assert len({o.tobytes() for o in outs}) == 5


# ---------------------------------------------------------------------------------------------
# soundness
# ---------------------------------------------------------------------------------------------
def _within(out: np.ndarray, ref: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """|out − ref| ≤ bound elementwise, decided exactly (fractions) where float64 is too close to tell."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(out - ref)
        ok = d <= bound
        close = np.isfinite(d) & np.isfinite(bound) & (np.abs(d - bound) <= 2.0**-40 * bound)
    for i in zip(*np.nonzero(close)):
        ok[i] = abs(Fraction(out[i]) - Fraction(ref[i])) <= Fraction(float(bound[i]))
    return ok | np.isinf(bound)


def evaluations(net, X, name, strategies=STRATEGIES, use_torch=False):
    """Outputs of ``net`` on ``X`` in format ``name``: adversarial, NumPy forward, maybe torch."""
    fmt = FORMATS[name]
    outs = []
    for st in strategies:
        if name == "float64" and st.fma > 0 and net.num_params > 120:
            continue  # float64 fused products go through fractions: keep them small
        outs.append((str(st), evaluate(net, X, fmt, st)))
    outs.append(("precision.forward", forward(net, X, name).astype(np.float64)))
    if use_torch and torch is not None:
        dt = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
        with torch.no_grad():
            outs.append(("torch", net.to_torch(dtype=dt)(torch.from_numpy(X).to(dt)).double().numpy()))
    return outs


def assert_sound(net, X, name, outs, context=""):
    """Every evaluation within the bound; certified points right; exact points equal their labels.

    Returns the number of outputs proven exact (to let callers check that a rule fired)."""
    fmt = FORMATS[name]
    ref = np.concatenate([r for _, r, _ in bound_chunks(net, X, name)])
    E = np.concatenate([e for _, _, e in bound_chunks(net, X, name)]).astype(np.float64)
    assert not np.isnan(E).any() and np.all(E >= 0), f"{context} {name}: a bound is nan or negative"
    for label, out in outs:
        ok = _within(out, ref, E)
        assert ok.all(), (
            f"{context} {name} {label}: output {out[~ok][0]!r} vs reference {ref[~ok][0]!r} exceeds bound {E[~ok][0]!r}")
    tasks = []
    with np.errstate(over="ignore", invalid="ignore"):
        y_reg = fmt.round(ref)
    if np.all(np.isfinite(y_reg)):
        finite = E[np.isfinite(E)]
        tol = 2 * float(np.median(finite)) if finite.size else 0.0
        tasks += [("regression", y_reg, None), ("regression", y_reg, tol)]
    if net.output_dim > 1 and np.all(np.isfinite(ref)):
        tasks.append(("classification", np.argmax(ref, axis=1), None))
    for task, y, tol in tasks:
        cert = certify(net, X, y, dtype=name, tol=tol)
        Y, codes = targets(net, y, len(X))
        for label, out in outs:
            pts = cert.certified
            if cert.task == "classification":
                r = np.flatnonzero(pts)
                others = out[r].copy()
                others[np.arange(len(r)), codes[r]] = -np.inf
                assert np.all(out[r, codes[r]] > others.max(axis=1)), f"{context} {name} {label}: certified class lost"
            else:
                err_ok = _within(out[pts], Y[pts], np.full(Y[pts].shape, cert.tol))
                assert err_ok.all(), f"{context} {name} {label}: certified value off by more than tol {cert.tol}"
            assert np.array_equal(out[cert.exact], Y[cert.exact]), f"{context} {name} {label}: 'exact' point differs"
    return int(np.sum(E == 0))


def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    kind = ("float", "float", "dyadic", "integer")[seed % 4]
    spread = (2.0, 6.0, 14.0, 40.0)[(seed // 4) % 4]
    return random_network(rng, kind, spread)


def _check_seed(seed: int, use_torch=False, strategies=STRATEGIES):
    net, X = _random_case(seed)
    for name in NAMES:
        try:
            round_network(net, name)
        except ArgumentError:
            continue  # weights beyond the format's range: certify refuses them too
        assert_sound(net, X, name, evaluations(net, X, name, strategies, use_torch), f"seed {seed}")


@pytest.mark.parametrize("seed", range(16))
def test_sound_on_random_networks(seed):
    """Dense and residual layers, all activations, mixed magnitudes and exact zeros, four formats."""
    _check_seed(seed)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed: its evaluations are not checked")
@pytest.mark.parametrize("seed", [3, 7, 16, 21])
def test_sound_for_pytorch(seed):
    """PyTorch's CPU evaluation of the exported network (float32, bfloat16, float16) is covered."""
    _check_seed(seed, use_torch=True, strategies=())


def test_sound_on_integer_networks_with_exact_outputs():
    """Integer networks: the integer rule proves outputs exact, and every evaluation agrees."""
    exact = 0
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        net, X = random_network(rng, "integer", 2.0)
        for name in NAMES:
            exact += assert_sound(net, X, name, evaluations(net, X, name, STRATEGIES[:4]), f"integer seed {seed}")
    assert exact > 0


@pytest.mark.slow
@pytest.mark.parametrize("block", range(8))
def test_sound_sweep(block):
    """A larger sweep: 400 random networks, every strategy, PyTorch included."""
    more = STRATEGIES + tuple(Strategy("random", f, z, s, seed=k) for k, (f, z, s) in
                              enumerate([(0.3, False, "acc"), (0.7, True, "exact"), (0.0, False, "exact")]))
    for seed in range(1000 + 50 * block, 1050 + 50 * block):
        _check_seed(seed, use_torch=seed % 5 == 0, strategies=more)


# ---------------------------------------------------------------------------------------------
# the cases the sweep found (each unsound before the fix that its docstring names)
# ---------------------------------------------------------------------------------------------
def _violations(net, X, name, st):
    (_, ref, E), = bound_chunks(net, X, name)
    out = evaluate(net, X, FORMATS[name], st)
    return int(np.sum(~_within(out, ref, E.astype(np.float64))))


def test_leaky_slope_rounded_to_float32():
    """PyTorch multiplies by float32(0.01): the slope's own rounding is part of the bound."""
    net = Network([Dense([[1.0]], [0.0], memorize.relu_like(1.0, 0.01))])
    X = -np.random.default_rng(0).uniform(1, 2, (5000, 1))
    assert _violations(net, X, "float32", Strategy()) == 0
    assert_sound(net, X, "float32", evaluations(net, X, "float32", (), use_torch=True))


@pytest.mark.parametrize("name,w,x", [("float16", 2.0**-10, 2.0**-10), ("float32", 2.0**-60, 2.0**-70),
                                       ("bfloat16", 2.0**-60, 2.0**-70)])
def test_single_term_flushed_to_zero(name, w, x):
    """A single-term row whose product is subnormal may be flushed: its bound is |z|, not 0."""
    net = Network([Dense([[w]], [0.0])])
    X = np.array([[x], [3.0]])
    assert _violations(net, X, name, Strategy(ftz=True)) == 0
    (_, ref, E), = bound_chunks(net, X, name)
    assert E[0, 0] >= abs(ref[0, 0]) > 0 and E[1, 0] == 0


def test_tiny_bound_not_rounded_to_zero():
    """2^-298 is exact in float64 but rounds to 0 in float32; three layers amplify it to 2^-44."""
    net = Network([Dense([[2.0**-149]], [0.0]), Dense([[2.0**127]], [0.0]), Dense([[2.0**127]], [0.0])])
    X = np.array([[2.0**-149]])
    assert _violations(net, X, "float32", Strategy()) == 0


def test_leaky_product_overflow():
    """60000·2 overflows float16: the bound is inf, not the rounding of a finite product."""
    net = Network([Dense([[1.0]], [0.0], memorize.relu_like(2.0, 0.5))])
    X = np.array([[60000.0], [1.0]])
    (_, _, E), = bound_chunks(net, X, "float16")
    assert np.isinf(E[0, 0]) and np.isfinite(E[1, 0])
    assert _violations(net, X, "float16", Strategy()) == 0


def test_residual_sum_flushed_to_zero():
    """h + 0 with a subnormal h is flushed under flush-to-zero: not exact."""
    net = Network([Residual([[1.0]], [0.0], [[0.0]], [0.0])])
    X = np.array([[2.0**-15], [1.0]])
    assert _violations(net, X, "float16", Strategy(ftz=True)) == 0
    (_, _, E), = bound_chunks(net, X, "float16")
    assert E[0, 0] > 0 and E[1, 0] == 0


def test_partial_sums_may_not_overflow():
    """Terms that cancel to a small result but whose partial sums overflow get bound inf."""
    big = FORMATS["float32"].max * 0.6
    net = Network([Dense([[1.0, 1.0, -1.0, -1.0]], [0.0])])
    X = np.array([[big, big * 0.99, -big, -big * 0.99]])
    (_, ref, E), = bound_chunks(net, X, "float32")
    out = evaluate(net, X, FORMATS["float32"], Strategy("seq"))
    assert not np.isfinite(out[0, 0]) and np.isinf(E[0, 0])


# ---------------------------------------------------------------------------------------------
# the integer rule
# ---------------------------------------------------------------------------------------------
def test_integer_rows_are_detected():
    W = np.array([[1.0, -2.0], [0.5, 1.0], [0.0, 0.0], [3.0, 0.0]])
    b = np.array([1.0, 0.0, 2.0, 0.5])
    assert _integer_rows(W, b).tolist() == [0]


@pytest.mark.parametrize("name,p", [("bfloat16", 8), ("float16", 11), ("float32", 24)])
def test_integer_rule_threshold(name, p):
    """Σ|w h| + |b| < 2^p: bound 0 and every order exact; at 2^p + 1 the sum can round."""
    net = Network([Dense([[1.0, 1.0, 1.0]], [-1.0])])
    below = np.array([[2.0 ** (p - 1), 2.0 ** (p - 1) - 3, 1.0]])  # S = 2^p − 1
    above = np.array([[2.0 ** (p - 1), 2.0 ** (p - 1), 2.0]])  # S = 2^p + 3: 2^p + 1 needs p + 1 bits
    (_, ref, E), = bound_chunks(net, np.vstack([below, above]), name)
    assert E[0, 0] == 0
    assert E[1, 0] >= 1
    for st in STRATEGIES:
        out = evaluate(net, np.vstack([below, above]), FORMATS[name], st)
        assert out[0, 0] == ref[0, 0]
        assert abs(out[1, 0] - ref[1, 0]) <= E[1, 0]
    wrong = evaluate(net, above, FORMATS[name], Strategy("seq"))
    assert wrong[0, 0] != ref[1, 0]  # the rounding the rule must not hide


def test_integer_rule_needs_integer_exact_inputs():
    """A non-integer input, or an inexact one (bound > 0), keeps the bound positive."""
    net = Network([Dense([[1.0, 1.0]], [0.0])])
    (_, _, E), = bound_chunks(net, np.array([[1.0, 2.0], [1.5, 2.0]]), "float32")
    assert E[0, 0] == 0 and E[1, 0] > 0
    # 2^24 + 1 is an integer in the reference but rounds in float32: its bound is positive, so the
    # next layer's integer row may not claim exactness
    inexact = Network([Dense([[1.0, 1.0], [1.0, 1.0]], [0.0, 0.0]), Dense([[1.0, -1.0]], [0.0])])
    X = np.array([[2.0**24, 1.0]])
    (_, _, E), = bound_chunks(inexact, X, "float32")
    assert E[0, 0] > 0
    assert_sound(inexact, X, "float32", evaluations(inexact, X, "float32"))


def test_float_safe_classifier_outputs_are_exactly_one_hot():
    """The decoder relu(code − k) and its second difference are integer sums: proven exact."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = rng.integers(0, 4, 60)
    for name in ("float32", "bfloat16"):
        net = memorize.build("float_safe_classifier", X, y, rng=1, dtype=name)
        cert = certify(net, X, y, dtype=name)
        assert cert.ok and cert.n_exact == len(X)
        assert_sound(net, X, name, evaluations(net, X, name, STRATEGIES[:4]), "float_safe_classifier")


# ---------------------------------------------------------------------------------------------
# usefulness: it certifies what is right by a wide margin
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["yun2019_classifier", "yun2019_one_hidden", "baum1988", "bubeck2020", "zhang2017"])
@pytest.mark.parametrize("n", [50, 150])
def test_builders_certify_in_float64(method, n):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 4))
    task = memorize.registry.get(method).task
    y = {"classification": rng.integers(0, 3, n), "regression": rng.uniform(-1, 1, n),
         "binary": rng.choice([-1.0, 1.0], n)}[task]
    net = memorize.build(method, X, y, rng=1)
    cert = certify(net, X, y, dtype="float64")
    assert cert.ok, cert


def test_baum_votes_are_exact():
    """Baum's output sums ±1 votes: the integer rule proves them equal to the labels."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 3))
    y = rng.choice([-1.0, 1.0], 80)
    net = memorize.build("baum1988", X, y, rng=1)
    for name in ("float64", "float32"):
        cert = certify(net, X, y, dtype=name)
        assert cert.ok and cert.n_exact == len(X)


@pytest.mark.parametrize("name", ["float32", "bfloat16"])
def test_float_safe_certifies_exactly(name):
    """float_safe / float_safe_classifier built for a format certify every point in it, exactly
    (regression labels that are numbers of the format)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 3))
    y = FORMATS[name].round(rng.uniform(-4, 4, 60))
    net = memorize.build("float_safe", X, y, rng=1, dtype=name)
    cert = certify(net, X, y, dtype=name)
    assert cert.ok and cert.n_exact == len(X)
    yc = rng.integers(0, 3, 60)
    net = memorize.build("float_safe_classifier", X, yc, rng=1, dtype=name)
    cert = certify(net, X, yc, dtype=name)
    assert cert.ok and cert.n_exact == len(X)
