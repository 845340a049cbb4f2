"""Exact rational arithmetic on NumPy object arrays.

An *exact* array is a NumPy array of dtype ``object`` whose entries are Python ``int`` or
:class:`fractions.Fraction`. Every float64 is a dyadic rational, so conversion from floats is
lossless. Entries are normalised so that integral values are ``int``: integer-only arithmetic
is several times faster than ``Fraction`` arithmetic, and the bit-extraction networks are
integer-only.
"""

from __future__ import annotations

import math
import numbers
import weakref
from fractions import Fraction

import numpy as np

from . import _flint
from ._cache import PairCache

__all__ = [
    "exact_scalar",
    "to_exact_array",
    "is_exact",
    "to_float_array",
    "affine",
    "is_finite",
    "log2_abs",
    "summary_float",
    "summary_values",
]


def exact_scalar(v) -> int | Fraction:
    """Return ``v`` as an ``int`` or a ``Fraction``, without rounding."""
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else v
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise ValueError(f"cannot represent {v!r} exactly")
        f = Fraction(float(v))
        return f.numerator if f.denominator == 1 else f
    if isinstance(v, numbers.Rational):
        f = Fraction(v.numerator, v.denominator)
        return f.numerator if f.denominator == 1 else f
    raise TypeError(f"cannot convert {type(v).__name__} to an exact rational")


_exact_ufunc = np.frompyfunc(exact_scalar, 1, 1)


def to_exact_array(a) -> np.ndarray:
    """Convert a numeric array to an object array of ``int``/``Fraction`` losslessly."""
    arr = np.asarray(a)
    if arr.dtype == object or arr.dtype.kind in "biuf":
        out = _exact_ufunc(arr) if arr.size else np.empty(arr.shape, dtype=object)
        return np.asarray(out, dtype=object).reshape(arr.shape)
    raise TypeError(f"cannot convert an array of dtype {arr.dtype} to exact rationals")


def is_exact(a) -> bool:
    """True for object arrays (the library's representation of exact arrays)."""
    return isinstance(a, np.ndarray) and a.dtype == object


def _to_float(v) -> float:
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


_float_ufunc = np.frompyfunc(_to_float, 1, 1)


def to_float_array(a) -> np.ndarray:
    """Round an exact array to float64 (correctly rounded; overflow gives ±inf)."""
    arr = np.asarray(a)
    if arr.dtype != object:
        return arr.astype(np.float64)
    if arr.size == 0:
        return np.zeros(arr.shape, dtype=np.float64)
    return np.asarray(_float_ufunc(arr), dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Summaries of exact numbers
# ---------------------------------------------------------------------------------------------
#
# An exact build may hold numbers far outside the float64 range (the integer normals of the slab
# builders have hundreds of bits per coordinate in dimension 30). A network's ``meta`` is JSON of
# floats: a number that does not fit is reported as ``None`` beside its base-2 logarithm, never
# as a crash, an infinity or a zero.


def is_finite(v) -> bool:
    """Whether ``v`` is finite: Python ints and Fractions always are, floats unless ±inf/nan.

    Exact arrays mark "no bound" with the float ``inf`` (a slab holding every point has an
    infinite margin); this tells it apart from a huge exact margin without rounding.

    >>> from fractions import Fraction
    >>> is_finite(Fraction(10**400, 3)), is_finite(float("inf"))
    (True, False)
    """
    if isinstance(v, (int, Fraction, np.integer)):
        return True
    return bool(np.isfinite(v))


def log2_abs(v) -> float:
    """log₂|v| of a nonzero number, also far outside the float64 range (−inf for 0).

    >>> from fractions import Fraction
    >>> log2_abs(Fraction(2**2000, 3)) == 2000 - math.log2(3)
    True
    """
    if v == 0:
        return float("-inf")
    if isinstance(v, Fraction):
        return math.log2(abs(v.numerator)) - math.log2(v.denominator)
    if isinstance(v, (int, np.integer)):
        return math.log2(abs(int(v)))
    return math.log2(abs(float(v)))


def summary_float(v) -> float | None:
    """``float(v)`` when it represents ``v`` (finite, and nonzero unless ``v`` is 0), else None.

    Floats pass unchanged (``inf`` included: a float64 build reports what it computed); an
    exact number that overflows float64, or underflows to 0, gives None.

    >>> from fractions import Fraction
    >>> summary_float(Fraction(1, 4)), summary_float(10**400), summary_float(Fraction(1, 10**400))
    (0.25, None, None)
    """
    if v is None:
        return None
    if not isinstance(v, (int, Fraction, np.integer)):
        return float(v)
    try:
        f = float(v)
    except OverflowError:
        return None
    return None if (f == 0.0) != (v == 0) or not math.isfinite(f) else f


def summary_values(**values) -> dict:
    """``meta`` entries for numbers (scalars or sequences), safe for any exact value.

    Each value becomes a float (sequences a list of floats). A number that has no float64
    value (see :func:`summary_float`) becomes None and the entry ``<key>_log2`` gives log₂|v| to
    six decimals (for a sequence, the list of log₂|v| of all its entries), so a summary never turns a
    correct exact build into an overflow error.

    >>> summary_values(gain=Fraction(3, 2), margin=10**400, none=None)
    {'gain': 1.5, 'margin': None, 'none': None, 'margin_log2': 1328.771238}
    """
    out: dict = {}
    logs: dict = {}
    for key, v in values.items():
        if v is None or np.ndim(v) == 0:
            f = summary_float(v)
            out[key] = f
            if f is None and v is not None:
                logs[f"{key}_log2"] = round(log2_abs(v), 6)
            continue
        seq = list(np.asarray(v, dtype=object).ravel()) if isinstance(v, np.ndarray) else list(v)
        fs = [summary_float(x) for x in seq]
        out[key] = fs
        if any(f is None and x is not None for f, x in zip(fs, seq)):
            logs[f"{key}_log2"] = [None if x is None else round(log2_abs(x), 6) for x in seq]
    out.update(logs)
    return out


# ---------------------------------------------------------------------------------------------
# Fast exact affine maps
# ---------------------------------------------------------------------------------------------
#
# A dense object matmul costs out·in Python-object operations per row of ``h``. The exact
# networks of this library are sparse (most weights are 0), their weights are mostly ±1, and
# many units share one weight row and differ only in the bias (the threshold banks of the
# bit-extraction networks). The plan below is computed once per weight matrix and evaluates
# each distinct nonzero row once, column by column over the batch (NumPy object loops), adding
# and subtracting instead of multiplying by ±1. All operations are Python int / Fraction
# arithmetic, so the result is exactly that of ``h @ W.T + b``.


_PLANS: dict = {}



class _AffinePlan:
    """Evaluation plan of one exact weight matrix.

    * Columns whose weight vectors agree up to sign are summed first (``merged``): the two
      units of a step [x ≥ τ] = σ(x − τ + 1) − σ(x − τ), and the whole threshold bank of an
      extraction layer, are read by every row through one merged column.
    * Rows are then evaluated once per distinct nonzero pattern (``rows``); units that differ
      only in their bias share the value.
    """

    __slots__ = ("merged", "rows", "unit_row", "bias", "out_dim", "big_weight_cols", "__weakref__")

    def __init__(self, weight: np.ndarray, bias: np.ndarray):
        out_dim, in_dim = weight.shape
        self.out_dim = out_dim
        nz = weight != 0
        groups: dict = {}
        for c in range(in_dim):
            rows_c = np.nonzero(nz[:, c])[0]
            if rows_c.size == 0:
                continue
            vec = tuple((int(r), weight[r, c]) for r in rows_c)
            sign = 1 if vec[0][1] > 0 else -1
            key = tuple((r, w * sign) for r, w in vec)
            groups.setdefault(key, []).append((c, sign))
        # merged column m: Σ sign·h[:, c]; its weight in row r is the canonical vector entry
        self.merged = [tuple(members) for members in groups.values()]
        per_row: list = [[] for _ in range(out_dim)]
        for m, key in enumerate(groups.keys()):
            for r, w in key:
                per_row[r].append((m, w))
        rows: dict = {}
        unit_row = []
        for j in range(out_dim):
            unit_row.append(rows.setdefault(tuple(per_row[j]), len(rows)))
        self.rows = list(rows.keys())
        self.unit_row = unit_row
        # merged columns read with a weight other than ±1 by at least 3 rows: candidates for
        # the small-integer pattern path (it saves multiplications; testing a column costs
        # about two object operations per point, so rarely used columns are not worth it)
        uses: dict = {}
        for terms in self.rows:
            for m, w in terms:
                if w != 1 and w != -1:
                    uses[m] = uses.get(m, 0) + 1
        self.big_weight_cols = sorted(m for m, k in uses.items() if k >= 3)
        self.bias = [exact_scalar(b) for b in bias]


def _plan(weight: np.ndarray, bias: np.ndarray) -> _AffinePlan:
    key = (id(weight), id(bias))
    hit = _PLANS.get(key)
    if hit is not None and hit[0]() is weight and hit[1]() is bias:
        return hit[2]
    plan = _AffinePlan(weight, bias)
    _PLANS[key] = (weakref.ref(weight), weakref.ref(bias), plan)
    weakref.finalize(weight, _PLANS.pop, key, None)
    return plan


def _merge(h: np.ndarray, members) -> np.ndarray:
    (c, sign), rest = members[0], members[1:]
    col = h[:, c]
    if not rest:
        return col if sign == 1 else -col
    acc = col.copy() if sign == 1 else -col
    for c, sign in rest:
        (np.add if sign == 1 else np.subtract)(acc, h[:, c], out=acc)
    return acc


def _row_value(cols: list, terms) -> np.ndarray | None:
    """Σ_m w_m·cols[m] over the nonzero terms of one weight row (None for an empty row)."""
    acc = None
    for m, w in terms:
        col = cols[m]
        if acc is None:
            acc = col.copy() if w == 1 else (-col if w == -1 else col * w)
        elif w == 1:
            np.add(acc, col, out=acc)
        elif w == -1:
            np.subtract(acc, col, out=acc)
        else:
            np.add(acc, col * w, out=acc)
    return acc


def _has_fraction(h: np.ndarray) -> bool:
    # The first row decides: the inputs of an exact network are Fractions for non-integer
    # data, and every later layer of an integer network holds ints only.
    return h.size > 0 and any(type(v) is Fraction for v in h[0])


def _normalise(a: np.ndarray) -> np.ndarray:
    """Fraction(k, 1) -> k: keeps the rest of the pass in fast integer arithmetic."""
    return np.asarray(_exact_ufunc(a), dtype=object).reshape(a.shape)


def _as_small_ints(col: np.ndarray) -> np.ndarray | None:
    """The column as int64 if every entry is an int of at most 62 bits (exactly), else None."""
    try:
        arr = col.astype(np.int64)
    except (OverflowError, TypeError, ValueError):
        return None
    # int() would truncate a Fraction: keep the column only if the conversion was exact
    if arr.size and (np.max(np.abs(arr)) >= 2**62 or not np.all(col == arr.astype(object))):
        return None
    return arr


_MAX_PATTERNS = 4096


def _pattern_values(cols_small: dict, terms, cache: dict, n: int):
    """Σ w·col over the small-integer columns of one row, evaluated once per distinct pattern
    of their values and gathered (None when the columns take too many distinct patterns).

    The group indicators of a lookup layer, or the digit d of an extraction layer, take a
    handful of values over the whole batch, while their coefficients are big integers: one
    gather then replaces a big-integer multiply-add per term and point.
    """
    key = tuple(sorted({m for m, _ in terms}))
    if key not in cache:
        mat = np.stack([cols_small[m] for m in key], axis=1)
        uniq, inv = np.unique(mat, axis=0, return_inverse=True)
        cache[key] = None if len(uniq) > min(_MAX_PATTERNS, max(1, n // 4)) else (uniq, inv.ravel())
    hit = cache[key]
    if hit is None:
        return None
    uniq, inv = hit
    pos = {m: i for i, m in enumerate(key)}
    vals = np.empty(len(uniq), dtype=object)
    for p in range(len(uniq)):
        row = uniq[p]
        vals[p] = sum(w * int(row[pos[m]]) for m, w in terms)
    return vals[inv]


def affine(h: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``h @ weight.T + bias`` in exact arithmetic (object arrays).

    Sparse, row-sharing weight matrices take a fast path: columns read with the same weights
    (up to sign) are summed once, each distinct nonzero row is evaluated once, ±1 weights add
    or subtract, zeros are skipped, and small-integer columns multiplied by big weights are
    evaluated once per distinct value pattern. Results with denominator 1 are returned as
    ``int`` so that later layers run in integer arithmetic. When rationals are involved and
    python-flint is installed (and not switched off, see :mod:`memorize._flint`), the product
    is one FLINT integer matrix multiplication with per-row denominators instead; the values
    are the same.
    """
    if h.dtype != object or weight.dtype != object:
        return np.matmul(h, weight.T) + bias
    if _flint.enabled() and _flint.wanted(h, weight, bias):
        return _flint.affine(h, weight, bias)
    frac = _has_fraction(h)
    plan = _plan(weight, bias)
    n = h.shape[0]
    cols = [_merge(h, members) for members in plan.merged]
    cols_small: dict = {}
    if not frac and n >= 16:
        for m in plan.big_weight_cols:
            arr = _as_small_ints(cols[m])
            if arr is not None:
                cols_small[m] = arr
    cache: dict = {}
    values = []
    for terms in plan.rows:
        small = [(m, w) for m, w in terms if m in cols_small]
        part = None
        if len(small) >= 2:
            part = _pattern_values(cols_small, small, cache, n)
        if part is None:
            values.append(_row_value(cols, terms))
            continue
        rest = [(m, w) for m, w in terms if m not in cols_small]
        big = _row_value(cols, rest)
        values.append(part if big is None else np.add(big, part, out=big))
    out = np.empty((n, plan.out_dim), dtype=object)
    for j, (r, b) in enumerate(zip(plan.unit_row, plan.bias)):
        v = values[r]
        if v is None:
            out[:, j] = b
        elif b == 0:
            out[:, j] = v
        else:
            out[:, j] = v + b
    return _normalise(out) if frac else out


# ---------------------------------------------------------------------------------------------
# A ReLU layer whose units all read one projection
# ---------------------------------------------------------------------------------------------
#
# When every row of a ReLU layer's weights is a multiple c_j·w of one vector w (the hidden layer
# of Zhang et al.'s construction: N units on one direction), unit j is active at a point exactly
# when its projection s = <w, x> lies beyond the unit's threshold θ_j = −b_j/c_j, so the active
# units of a point are a prefix (c_j > 0) and a suffix (c_j < 0) of the units sorted by θ. The
# next layer then reads Σ_{j active} V_kj·(c_j·s + b_j) = s·Σ V_kj c_j + Σ V_kj b_j: two prefix
# sums, one binary search per point, instead of (points × units) rational operations.

#: Use the shared-projection kernel (switch off to time the plain layer-by-layer evaluation).
SHARED_PROJECTION = True
# below this width the plain evaluation is as fast
_SHARED_MIN_UNITS = 32

_SHARED = PairCache(limit=256)


class _SharedProjection:
    """Prefix sums of a (ReLU layer with parallel rows, next dense layer) pair."""

    __slots__ = ("w", "zero", "pos", "neg", "const")

    def __init__(self, w, pos, neg, const):
        self.w, self.zero = np.array([w], dtype=object), np.zeros(1, dtype=object)
        self.pos, self.neg, self.const = pos, neg, const

    @classmethod
    def of(cls, W: np.ndarray, b: np.ndarray, V: np.ndarray) -> "_SharedProjection | None":
        rows = W.tolist()
        w = next((row for row in rows if any(v != 0 for v in row)), None)
        if w is None:
            return None
        k0 = next(k for k, v in enumerate(w) if v != 0)
        scale = [Fraction(row[k0]) / w[k0] for row in rows]
        if any(any(x != s * y for x, y in zip(row, w)) for row, s in zip(rows, scale)):
            return None
        return cls.of_direction(w, scale, b, V)

    @classmethod
    def of_direction(cls, w, scale, b: np.ndarray, V: np.ndarray) -> "_SharedProjection":
        """The kernel of the layer with rows ``scale[j]·w`` and bias ``b``, read by ``V``."""
        bias = [Fraction(v) for v in b.tolist()]
        Vt = V.T.tolist()  # one list of next-layer weights per unit
        out = V.shape[0]
        zero = [0] * out
        sides = {1: [], -1: []}
        const = list(zero)
        for j, (s, bj) in enumerate(zip(scale, bias)):
            if s == 0:
                if bj > 0:
                    const = [a + v * bj for a, v in zip(const, Vt[j])]
                continue
            sides[1 if s > 0 else -1].append((-bj / s, j))
        pos = cls._sums(sorted(sides[1]), scale, bias, Vt, out)
        neg = cls._sums(sorted(sides[-1], reverse=True), scale, bias, Vt, out)
        return cls(w, pos, neg, const)

    @staticmethod
    def _sums(units, scale, bias, Vt, out):
        """Thresholds in the order units switch on, and the running sums of V·c and V·b."""
        theta, A, B = [], [[0] * out], [[0] * out]
        for t, j in units:
            theta.append(t)
            A.append([a + v * scale[j] for a, v in zip(A[-1], Vt[j])])
            B.append([a + v * bias[j] for a, v in zip(B[-1], Vt[j])])
        return theta, A, B

    def apply(self, h: np.ndarray, c2: np.ndarray) -> np.ndarray:
        """The next layer's pre-activations (before its own activation) at the rows of ``h``."""
        import bisect

        s = affine(h, self.w, self.zero)[:, 0]
        tp, Ap, Bp = self.pos
        tn, An, Bn = self.neg
        neg_key = [-t for t in tn]  # decreasing thresholds, searched as increasing negatives
        c2 = c2.tolist()
        out = np.empty((h.shape[0], len(c2)), dtype=object)
        for i, si in enumerate(s.tolist()):
            p = bisect.bisect_left(tp, si)  # units with θ < s are on (c > 0)
            q = bisect.bisect_left(neg_key, -si)  # units with θ > s are on (c < 0)
            out[i] = [si * (a1 + a2) + b1 + b2 + k + cc
                      for a1, a2, b1, b2, k, cc in zip(Ap[p], An[q], Bp[p], Bn[q], self.const, c2)]
        return _normalise(out)


def shared_projection(first, second) -> _SharedProjection | None:
    """The kernel of two consecutive dense layers when ``first`` is a wide ReLU layer whose
    weight rows are all multiples of one vector (cached per layer pair), else None."""
    from .network import Factored

    if not SHARED_PROJECTION or first.activation.name != "relu" or first.bias.dtype != object:
        return None
    if first.out_dim < _SHARED_MIN_UNITS:
        return None
    if isinstance(first, Factored) and first.rank != 1:
        return None

    def kernel():
        if isinstance(first, Factored):  # rows A_j·B: the direction is stored, no search needed
            return _SharedProjection.of_direction(first.B[0].tolist(), first.A[:, 0].tolist(), first.bias,
                                                  second.weight)
        return _SharedProjection.of(first.weight, first.bias, second.weight)

    return _SHARED.get(first, second, kernel)


def forward(layers, h: np.ndarray) -> np.ndarray:
    """The exact outputs of ``layers`` at the exact inputs ``h`` (pure Python), pairing a
    shared-projection ReLU layer with the dense layer after it."""
    from .network import Dense

    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(layer, Dense) and isinstance(nxt, Dense):
            kernel = shared_projection(layer, nxt)
            if kernel is not None:
                h = nxt.activation(kernel.apply(h, nxt.bias))
                i += 2
                continue
        h = layer.forward(h)
        i += 1
    return h
