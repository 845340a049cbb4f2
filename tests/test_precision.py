"""Number formats: ``Format.round`` and ``forward`` against an exact reference and against PyTorch.

The certificate and the float-safe builders take two facts for granted: ``Format.round`` is the
conversion PyTorch applies when a float64 network or input is cast (float64 → float32 → format,
round to nearest even at each step), and ``forward`` evaluates a network as PyTorch does on a CPU.
Both are checked here bit for bit: against fractions, and against torch when it is installed.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import memorize
from memorize import Dense, Network, Residual
from memorize.errors import ArgumentError, ExactnessError
from memorize.precision import FORMATS, as_format, forward, round_network

from _adversary import round_fraction

try:
    import torch
except ImportError:  # pragma: no cover - torch is an optional extra
    torch = None

NAMES = ("float64", "float32", "bfloat16", "float16")
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed: the comparison with torch is skipped")


def _torch_dtype(name):
    return {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


# ---------------------------------------------------------------------------------------------
# an exact reference for rounding
# ---------------------------------------------------------------------------------------------
def reference_round(x: float, name: str) -> float:
    """What a cast of the float64 x does: one rounding to float32, then one to the format."""
    if name == "float64" or not math.isfinite(x) or x == 0:
        return x  # a zero keeps its sign
    f32 = FORMATS["float32"]
    y = round_fraction(Fraction(x), f32.p, f32.emin, f32.emax)
    if name == "float32" or not math.isfinite(y):
        return y
    fmt = FORMATS[name]
    return round_fraction(Fraction(y), fmt.p, fmt.emin, fmt.emax)


def tricky_values(rng, name: str, n: int = 400) -> np.ndarray:
    """Values where rounding is delicate: midpoints of the format, one float64 step either side,
    midpoints that float32 rounding creates (double rounding), subnormals, overflow edges."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _tricky_values(rng, FORMATS[name], n)


def _tricky_values(rng, fmt, n):
    e = rng.integers(fmt.emin - fmt.p, fmt.emax + 1, size=n)
    m = 1 + rng.integers(0, 2 ** (fmt.p - 1), size=n) / 2.0 ** (fmt.p - 1)
    a = np.ldexp(m, e) * rng.choice([-1.0, 1.0], size=n)  # (mostly) numbers of the format
    a = fmt.round(a)
    b = fmt.next_up(np.abs(a)) * np.sign(a)
    mid = (a + b) / 2
    f32_ulp = np.ldexp(1.0, np.frexp(mid)[1] - 24)
    vals = [
        a, mid, np.nextafter(mid, np.inf), np.nextafter(mid, -np.inf),
        mid + f32_ulp / 4, mid - f32_ulp / 4, mid + f32_ulp / 2, mid - f32_ulp / 2,  # float32 lands on the midpoint
        rng.standard_normal(n) * np.exp2(rng.uniform(-30, 30, n)),
        np.array([0.0, -0.0, fmt.max, -fmt.max, fmt.tiny, fmt.tiny / 2, fmt.tiny * 2.0 ** (1 - fmt.p) / 2,
                  fmt.max * (1 + 2.0 ** -(fmt.p + 1)), fmt.max * (1 + 2.0 ** -(fmt.p + 2)), 3.5e38, 1e300, np.inf, -np.inf]),
    ]
    out = np.concatenate(vals)
    return out[~np.isnan(out)]


# ---------------------------------------------------------------------------------------------
# Format.round
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_round_is_two_correct_roundings(name):
    """Format.round equals float64 → float32 → format, each rounded to nearest even (fractions)."""
    rng = np.random.default_rng(1)
    x = tricky_values(rng, name, 150)
    got = FORMATS[name].round(x)
    want = np.array([reference_round(float(v), name) for v in x])
    assert np.array_equal(got, want), x[got != want][:5]
    assert np.array_equal(np.signbit(got), np.signbit(want))
    if name in ("bfloat16", "float16"):
        # the values include double-rounding cases, where one direct rounding would differ
        fmt = FORMATS[name]
        direct = np.array([round_fraction(Fraction(float(v)), fmt.p, fmt.emin, fmt.emax) if np.isfinite(v) else v for v in x])
        assert np.any(direct != want)


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_round_matches_torch_cast(name):
    """torch's cast of a float64 tensor to the format (float64 → float32 → format) is Format.round."""
    rng = np.random.default_rng(2)
    x = tricky_values(rng, name, 4000)
    want = torch.from_numpy(x).to(_torch_dtype(name)).double().numpy()
    got = FORMATS[name].round(x)
    assert np.array_equal(got, want), x[got != want][:5]
    assert np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("name", NAMES)
def test_neighbours_and_directed_rounding(name):
    """next_up is the next number of the format, round_up/round_down bracket, representable agrees."""
    fmt = FORMATS[name]
    rng = np.random.default_rng(3)
    x = tricky_values(rng, name, 200)
    x = x[np.isfinite(fmt.round(x)) & (np.abs(x) < fmt.max / 2)]
    r = fmt.round(x)
    up = fmt.next_up(r)
    assert np.all(up > r)
    # nothing of the format lies strictly between r and next_up(r): their midpoint rounds to one of them
    mid = r + (up - r) / 2
    assert np.all(np.isin(fmt.round(mid), [0.0]) | (fmt.round(mid) == r) | (fmt.round(mid) == up))
    assert np.all(fmt.representable(up))
    lo, hi = fmt.round_down(x), fmt.round_up(x)
    assert np.all((lo <= x) & (x <= hi))
    assert np.all(fmt.representable(lo) & fmt.representable(hi))
    assert np.all((hi == lo) | (fmt.next_up(lo) == hi))
    assert np.array_equal(fmt.representable(x), r == x)


def test_as_format_names_and_errors():
    assert as_format("bf16") is FORMATS["bfloat16"]
    assert as_format(np.float16) is FORMATS["float16"]
    assert as_format("torch.float32") is FORMATS["float32"]
    assert as_format(None) is FORMATS["float64"]
    with pytest.raises(ArgumentError, match="dtype"):
        as_format("int8")
    if torch is not None:
        assert as_format(torch.bfloat16) is FORMATS["bfloat16"]


def test_round_network_refuses_overflow_and_converts_exact():
    net = Network([Dense([[1e6]], [0.0])])
    with pytest.raises(ArgumentError, match="layers\\[0\\].W"):
        round_network(net, "float16")
    exact = Network([Dense([[Fraction(1, 3)]], [0])])
    r = round_network(exact, "bfloat16")
    assert not r.is_exact and r.layers[0].weight[0, 0] == FORMATS["bfloat16"].round(1 / 3)
    with pytest.raises(ExactnessError):
        forward(exact, np.ones((1, 1)), "float32")


# ---------------------------------------------------------------------------------------------
# forward against torch, bit for bit, where the accumulation is exact in any order
# ---------------------------------------------------------------------------------------------
def integer_network(rng):
    """Small integer weights, biases and inputs (slopes 1/2): every float32 sum is exact in any
    order, so an evaluation's only roundings are the per-layer casts to the format."""
    d = int(rng.integers(1, 6))
    X = rng.integers(-3, 4, size=(int(rng.integers(3, 12)), d)).astype(float)
    layers, dim = [], d
    acts = ["relu", "identity", "hardtanh", "step", memorize.relu_like(1.0, 0.5), memorize.relu_like(0.5, 0.0)]
    for i in range(int(rng.integers(1, 4))):
        act = acts[rng.integers(len(acts))]
        if rng.random() < 0.3:
            w = int(rng.integers(1, 6))
            layers.append(Residual(rng.integers(-2, 3, (w, dim)), rng.integers(-3, 4, w),
                                   rng.integers(-2, 3, (dim, w)), rng.integers(-3, 4, dim), act))
        else:
            w = int(rng.integers(1, 7))
            layers.append(Dense(rng.integers(-2, 3, (w, dim)), rng.integers(-3, 4, w), act))
            dim = w
    return Network(layers), X


@needs_torch
@pytest.mark.parametrize("name", ["bfloat16", "float16", "float32"])
@pytest.mark.parametrize("seed", range(12))
def test_forward_equals_torch_bit_for_bit(name, seed):
    """forward(net, X, format) is torch's evaluation of net.to_torch(dtype=format), bit for bit."""
    net, X = integer_network(np.random.default_rng(seed))
    dt = _torch_dtype(name)
    with torch.no_grad():
        want = net.to_torch(dtype=dt)(torch.from_numpy(X).to(dt)).double().numpy()
    got = forward(net, X, name).astype(np.float64)
    assert np.array_equal(got, want)
    assert np.array_equal(net(X, dtype=name).astype(np.float64), want)


@needs_torch
def test_forward_rounds_each_layer_like_torch():
    """A sum that is exact in float32 but not in bfloat16 is rounded once, after the bias (257 → 256)."""
    net = Network([Dense([[1.0, 1.0]], [-256.0]), Dense([[1.0]], [0.0])])
    X = np.array([[256.0, 1.0], [255.0, 2.0]])
    with torch.no_grad():
        want = net.to_torch(dtype=torch.bfloat16)(torch.from_numpy(X).to(torch.bfloat16)).double().numpy()
    assert forward(net, X, "bfloat16").astype(float).tolist() == want.tolist() == [[1.0], [1.0]]
    one = Network([Dense([[1.0, 1.0]], [0.0])])
    assert forward(one, X, "bfloat16").astype(float).tolist() == [[256.0], [256.0]]


@needs_torch
def test_leaky_slope_is_multiplied_in_float32_like_torch():
    """PyTorch multiplies a float32 tensor by a Python float slope rounded to float32; so does forward."""
    net = Network([Dense([[1.0]], [0.0], memorize.relu_like(1.0, 0.01))])
    X = -np.random.default_rng(4).uniform(1, 2, (2000, 1))
    with torch.no_grad():
        want = net.to_torch(dtype=torch.float32)(torch.from_numpy(X).float()).double().numpy()
    got = forward(net, X, "float32").astype(np.float64)
    assert np.array_equal(got, want)
    # and not by the float64 slope: the products differ on many points
    assert np.any(got != FORMATS["float32"].round(FORMATS["float32"].round(X) * 0.01))
