"""Adversarial evaluations of a network in a number format, for the certificate's soundness tests.

:func:`memorize.certify` claims a bound for *every* evaluation in a format: any summation order,
products fused or not, subnormal results kept or flushed. This module evaluates a network in
many such ways, independently of the library's own :func:`memorize.precision.forward`:

* a dot product is a binary tree over its terms (the products and the bias): left to right,
  right to left, pairwise, or a random tree over a random permutation;
* at an inner node a product may be fused with the other operand (an FMA: one rounding of the
  exact ``w·h + c``);
* results below the smallest normal number may be flushed to zero;
* bfloat16 and float16 accumulate in float32 and round each layer's result once to the format;
* a leaky slope multiplies in the accumulator (the slope rounded to it first, as PyTorch does) or
  exactly with one rounding.

Every operation is rounded *exactly once* to the format it runs in: products of two float32
numbers are exact in float64, sums of two float32 numbers are rounded correctly by float64
followed by float32 (53 ≥ 2·24 + 2), and fused operations use error-free transforms (two-sum,
two-product) and a correction at float32 midpoints; float64 fused operations use fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from memorize.network import Dense, Factored
from memorize.precision import FORMATS, Format, round_network

F32 = FORMATS["float32"]
F64 = FORMATS["float64"]


# ---------------------------------------------------------------------------------------------
# error-free transforms and correct rounding
# ---------------------------------------------------------------------------------------------
def two_sum(a, b):
    """s = fl(a + b) and the exact remainder err: a + b = s + err (float64, no overflow)."""
    s = a + b
    bp = s - a
    ap = s - bp
    return s, (a - ap) + (b - bp)


def two_prod(a, b):
    """p = fl(a·b) and the exact remainder (Dekker's product; operands of moderate magnitude)."""
    p = a * b

    def split(x):
        c = 134217729.0 * x
        hi = c - (c - x)
        return hi, x - hi

    ah, al = split(a)
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def round32_exact(s, err):
    """float32 rounding of the exact value s + err, where s = fl64(s + err).

    Rounding s alone is right unless s is a float32 midpoint and err ≠ 0: then the exact value
    lies on err's side of it.
    """
    r = s.astype(np.float32).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        other = 2 * s - r
        mid = (other.astype(np.float32).astype(np.float64) == other) & (other != r) & (err != 0) & np.isfinite(r)
        toward = np.nextafter(s, np.where(err > 0, np.inf, -np.inf))
        return np.where(mid, toward.astype(np.float32).astype(np.float64), r)


def round_fraction(q: Fraction, p: int, emin: int, emax: int) -> float:
    """q rounded to nearest, ties to even, in the binary format (p, emin, emax); ±inf on overflow."""
    if q == 0:
        return 0.0
    sign = -1.0 if q < 0 else 1.0
    a = abs(q)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    ulp = Fraction(2) ** (max(e, emin) - p + 1)  # the spacing at a (subnormals: at emin)
    m = a / ulp
    k = m.numerator // m.denominator
    rem = m - k
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and k % 2 == 1):
        k += 1
    r = k * ulp
    largest = (2 - Fraction(2) ** (1 - p)) * Fraction(2) ** emax
    # overflow: beyond the largest finite number by half a spacing or more
    if r > largest:
        return sign * math.inf
    return sign * float(r)


def _round_in(x, F: Format, ftz: bool):
    """Round float64 values that are exact results to F (float32 or float64), then maybe flush."""
    with np.errstate(over="ignore"):
        r = F.round(x) if F.name != "float64" else np.asarray(x, dtype=np.float64)
    if ftz:
        r = np.where(np.abs(r) < F.tiny, 0.0 * r, r)
    return r


def _fraction_fma(a, b, c):
    """float64 fl(a·b + c) with one rounding (a, b, c float64 arrays; fractions, elementwise)."""
    f = np.frompyfunc(lambda x, y, z: float(Fraction(x) * Fraction(y) + Fraction(z)), 3, 1)
    return f(a, b, c).astype(np.float64)


# ---------------------------------------------------------------------------------------------
# one evaluation strategy
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Strategy:
    """How one evaluation orders, fuses and flushes.

    order : "seq" (left to right, bias last), "reverse" (bias first), "pairwise", "random"
    fma : probability that an inner node with a product operand is fused
    ftz : flush subnormal results to zero
    slope : "acc" (slope rounded to the accumulator, product rounded) or "exact" (one rounding)
    seed : the random tree, permutation and fusing choices
    """

    order: str = "seq"
    fma: float = 0.0
    ftz: bool = False
    slope: str = "acc"
    seed: int = 0

    def __str__(self):
        return f"{self.order}/fma={self.fma}/ftz={self.ftz}/slope={self.slope}/seed={self.seed}"


def _tree(n_leaves: int, order: str, rng: np.random.Generator):
    """A binary tree over leaf positions 0..n−1 as nested tuples (leaves are ints)."""
    nodes = list(range(n_leaves))
    if order == "random":
        rng.shuffle(nodes)
    elif order == "reverse":
        nodes = nodes[::-1]
    if order == "pairwise":
        while len(nodes) > 1:
            nodes = [(nodes[i], nodes[i + 1]) if i + 1 < len(nodes) else nodes[i] for i in range(0, len(nodes), 2)]
        return nodes[0]
    while len(nodes) > 1:
        i = int(rng.integers(0, len(nodes) - 1)) if order == "random" else 0
        nodes[i:i + 2] = [(nodes[i], nodes[i + 1])]
    return nodes[0]


def _dot(H: np.ndarray, W: np.ndarray, b: np.ndarray, fmt: Format, st: Strategy, rng) -> np.ndarray:
    """W h + b for every row of W and every point (rows of H) in fmt's accumulator, then to fmt."""
    acc = fmt.accumulator
    n_in = W.shape[1]
    tree = _tree(n_in + 1, st.order, rng)  # leaf n_in is the bias

    def product(k):  # exact product as (value, remainder) pair arrays
        a = H[:, k:k + 1]
        w = W[None, :, k]
        if acc.name == "float32":
            return a * w, None  # exact in float64
        return None, (a, w)

    def rounded(node):
        if isinstance(node, int):
            if node == n_in:
                return np.broadcast_to(b[None, :], (H.shape[0], W.shape[0])).astype(np.float64)
            p, pair = product(node)
            if p is None:
                p = pair[0] * pair[1]  # one float64 rounding
            return _round_in(p, acc, st.ftz)
        left, right = node
        prods = [x for x in (left, right) if isinstance(x, int) and x != n_in]
        if prods and rng.random() < st.fma:
            k = prods[0]
            other = right if k == left else left
            c = rounded(other)
            p, pair = product(k)
            if acc.name == "float32":
                s, err = two_sum(p, c)
                return _round_in(round32_exact(s, err), acc, st.ftz)
            a, w = np.broadcast_arrays(pair[0], pair[1])
            return _round_in(_fraction_fma(a, w, np.broadcast_to(c, a.shape)), acc, st.ftz)
        x, y = rounded(left), rounded(right)
        with np.errstate(over="ignore", invalid="ignore"):
            return _round_in(x + y, acc, st.ftz)

    z = rounded(tree)
    if fmt.name != acc.name:
        z = _round_in(z, fmt, st.ftz)
    return z


def _activation(act, z, fmt: Format, st: Strategy):
    name = act.name
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "hardtanh":
        return np.clip(z, -1.0, 1.0)
    if name == "step":
        return (z >= 0).astype(np.float64)
    acc = fmt.accumulator
    s = np.where(z >= 0, float(act.slopes[0]), float(act.slopes[1]))
    if st.slope == "acc":
        s_acc = s if acc.name == "float64" else F32.round(s)
        p = _round_in(z * s_acc, acc, st.ftz)  # z·s_acc is exact in float64 when acc is float32
    elif acc.name == "float32":
        p, err = two_prod(z, s)
        p = _round_in(round32_exact(p, err), acc, st.ftz)
    else:
        p = _round_in(z * s, acc, st.ftz)
    if fmt.name != acc.name:
        p = _round_in(p, fmt, st.ftz)
    return p


def evaluate(net, X, fmt: Format, st: Strategy) -> np.ndarray:
    """``net`` (rounded to ``fmt``) on ``X`` (rounded to ``fmt``) in one adversarial evaluation."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _evaluate(net, X, fmt, st)


def _evaluate(net, X, fmt: Format, st: Strategy) -> np.ndarray:
    rng = np.random.default_rng(st.seed)
    rnet = round_network(net, fmt)
    with np.errstate(over="ignore"):
        h = fmt.round(np.asarray(X, dtype=np.float64))
    acc = fmt.accumulator
    for layer in rnet.layers:
        if isinstance(layer, Factored):  # its evaluation: t = B h in the format, then A t + b
            t = _dot(h, layer.B, np.zeros(layer.rank), fmt, st, rng)
            h = _activation(layer.activation, _dot(t, layer.A, layer.bias, fmt, st, rng), fmt, st)
        elif isinstance(layer, Dense):
            h = _activation(layer.activation, _dot(h, layer.weight, layer.bias, fmt, st, rng), fmt, st)
        else:
            inner = _activation(layer.activation, _dot(h, layer.U, layer.b, fmt, st, rng), fmt, st)
            t = _dot(inner, layer.V, layer.c, fmt, st, rng)
            with np.errstate(over="ignore", invalid="ignore"):
                s = _round_in(h + t, acc, st.ftz)
            h = _round_in(s, fmt, st.ftz) if fmt.name != acc.name else s
    return h


# ---------------------------------------------------------------------------------------------
# random networks
# ---------------------------------------------------------------------------------------------
ACTIVATIONS = ("relu", "relu", "identity", "hardtanh", "step", ("relu_like", 1.0, 0.01), ("relu_like", 1.0, 0.5),
               ("relu_like", 2.0, 0.1), ("relu_like", 0.75, 0.0))


def _act(spec):
    from memorize import relu_like

    return relu_like(spec[1], spec[2]) if isinstance(spec, tuple) else spec


def random_weights(rng, shape, kind: str, spread: float) -> np.ndarray:
    """Weights of mixed magnitudes (``spread``: binary orders of magnitude) with exact zeros."""
    if kind == "integer":
        a = rng.integers(-3, 4, size=shape).astype(np.float64)
    elif kind == "dyadic":
        a = rng.integers(-8, 9, size=shape) / 2.0 ** rng.integers(0, 4, size=shape)
    else:
        a = rng.choice([-1.0, 1.0], size=shape) * 2.0 ** rng.uniform(-spread, spread, size=shape)
        ints = rng.random(shape) < 0.2
        a[ints] = np.round(a[ints])
    a[rng.random(shape) < rng.choice([0.0, 0.3, 0.6])] = 0.0
    return a


def random_network(rng, kind: str = "float", spread: float = 6.0, n_out: int | None = None):
    """A Dense/Residual network of depth 1–4 and widths 1–20; some biases sit on a kink."""
    from memorize import Dense as D, Network, Residual

    d = int(rng.integers(1, 7))
    depth = int(rng.integers(1, 5))
    n_out = int(rng.integers(1, 5)) if n_out is None else n_out
    X = random_inputs(rng, int(rng.integers(4, 17)), d, kind, spread)
    layers, h, dim = [], X, d
    for i in range(depth):
        last = i == depth - 1
        act = _act(ACTIVATIONS[rng.integers(len(ACTIVATIONS))]) if not last or rng.random() < 0.3 else _act("identity")
        if not last and rng.random() < 0.35:
            width = int(rng.integers(1, 21))
            U, V = random_weights(rng, (width, dim), kind, spread), random_weights(rng, (dim, width), kind, spread)
            b, c = _biases(rng, U, h, kind, spread), random_weights(rng, (dim,), kind, spread)
            layer = Residual(U, b, V, c, act)
        else:
            width = n_out if last else int(rng.integers(1, 21))
            W = random_weights(rng, (width, dim), kind, spread)
            layer = D(W, _biases(rng, W, h, kind, spread), act)
            dim = width
        layers.append(layer)
        h = layer.forward(h)
        if not np.all(np.isfinite(h)):
            break
    return Network(layers), X


def _biases(rng, W, h, kind, spread):
    """Random biases; about a third put a random point exactly on the kink (or at ±1)."""
    b = random_weights(rng, (W.shape[0],), kind, spread)
    on = rng.random(W.shape[0]) < 0.35
    if on.any() and np.all(np.isfinite(h)):
        i = rng.integers(h.shape[0], size=W.shape[0])
        target = rng.choice([0.0, 0.0, 1.0, -1.0], size=W.shape[0])
        z = np.einsum("jk,jk->j", W, h[i])
        b = np.where(on, target - z, b)
    return b


def random_inputs(rng, n: int, d: int, kind: str, spread: float) -> np.ndarray:
    if kind in ("integer", "dyadic"):
        X = rng.integers(-4, 5, size=(n, d)).astype(np.float64)
    else:
        X = rng.choice([-1.0, 1.0], size=(n, d)) * 2.0 ** rng.uniform(-spread, spread, size=(n, d))
    X[rng.random((n, d)) < 0.2] = 0.0
    return X
