"""The optional fast exact backend: exact forward passes and linear algebra on python-flint.

When python-flint (``pip install 'memorize[exact]'``) is installed, exact forward passes,
exact verification and the exact linear algebra of :mod:`memorize._linalg` run on FLINT's
integer and rational matrices instead of NumPy object arrays of Python ``int``/``Fraction``.
The results are the same numbers (returned as Python ``int``/``Fraction``); only the speed
differs. Setting the environment variable ``MEMORIZE_EXACT_BACKEND=python`` (or calling
:func:`use` / entering :func:`backend`) forces the pure-Python path.

How a forward pass stays small. The activations of a layer are held as an integer matrix with
one denominator per row (per data point) and one per column (per unit): ``h[i, j] =
num[i, j] / (r[i]·c[j])``. A dense layer folds the column denominators into its weights
(``W[k, j] / c[j]``) and scales each weight row by the lcm of its own denominators, so the
product is one FLINT integer matrix multiplication and no entry is ever put over a
layer-wide common denominator (which may have tens of thousands of bits: the spline weights of
an exact ``zhang2017`` network have a different ~150-bit denominator each). When even one row's
lcm would grow past :data:`BLOCK_BITS`, the inputs are cut into column blocks, each block is
multiplied on its own, and the blocks' contributions are added as reduced rationals. ReLU-like
activations act on the numerators alone (the denominators are positive).
"""

from __future__ import annotations

import contextlib
import math
import os
from fractions import Fraction

import numpy as np

from ._cache import PairCache

try:  # the optional extra
    import flint
except ImportError:  # pragma: no cover - exercised when python-flint is absent
    flint = None

__all__ = ["available", "enabled", "use", "backend", "ENV", "forward", "affine", "wanted", "rref", "rank"]

#: Environment variable selecting the exact backend: ``python`` forces the pure-Python path.
ENV = "MEMORIZE_EXACT_BACKEND"
#: Largest lcm (in bits) of one weight row's denominators within one column block.
BLOCK_BITS = 2048

_choice: str | None = None  # set by use(); None: the environment decides


def available() -> bool:
    """Whether python-flint is installed."""
    return flint is not None


def enabled() -> bool:
    """Whether exact computations use python-flint now (installed, and not switched off)."""
    if flint is None:
        return False
    choice = _choice if _choice is not None else os.environ.get(ENV, "")
    return choice.strip().lower() not in ("python", "pure")


def use(name: str | None) -> None:
    """Select the exact backend: ``"flint"``, ``"python"``, or None (the environment decides)."""
    global _choice
    if name not in (None, "flint", "python"):
        raise ValueError(f"backend: expected 'flint', 'python' or None, got {name!r}")
    _choice = name


@contextlib.contextmanager
def backend(name: str):
    """Run a block with the exact backend ``name`` (``"flint"`` or ``"python"``)."""
    global _choice
    old = _choice
    use(name)
    try:
        yield
    finally:
        _choice = old


# ---------------------------------------------------------------------------------------------
# conversions
# ---------------------------------------------------------------------------------------------
def _den(v) -> int:
    return v.denominator if type(v) is Fraction else 1


def _num(v) -> int:
    return v.numerator if type(v) is Fraction else int(v)


def _coprime_fraction(p: int, q: int) -> Fraction:
    """The Fraction p/q of coprime p and q > 1, without the constructor's second gcd."""
    f = object.__new__(Fraction)
    f._numerator, f._denominator = p, q
    return f


def _value(p, q):
    """p/q (q > 0) as the library's exact scalar: an int when integral, else a Fraction."""
    p, q = int(p), int(q)
    if q == 1:
        return p
    g = math.gcd(p, q)
    return p // g if g == q else _coprime_fraction(p // g, q // g)


class _Scaled:
    """Activations ``h[i, j] = E[i, j] / (r[i]·c[j])`` with integer ``E`` and positive r, c.

    ``E`` is held as a FLINT matrix (``mat``), as a list of row-major entries (``flat``), or
    both; each form is made from the other on demand.
    """

    __slots__ = ("n", "m", "_mat", "_flat", "r", "c")

    def __init__(self, n, m, r, c, mat=None, flat=None):
        self.n, self.m, self.r, self.c = n, m, r, c
        self._mat, self._flat = mat, flat

    @property
    def mat(self):
        if self._mat is None:
            flat = self._flat
            self._mat = flint.fmpz_mat(self.n, self.m, flat.tolist() if isinstance(flat, np.ndarray) else flat)
        return self._mat

    @property
    def flat(self):
        """The numerators in row-major order (a list, or a 1-D object array)."""
        if self._flat is None:
            self._flat = self._mat.entries()
        return self._flat

    def array(self) -> np.ndarray:
        """The numerators as an (n, m) object array."""
        flat = self.flat
        if not isinstance(flat, np.ndarray):
            flat = np.fromiter(flat, dtype=object, count=self.n * self.m)
        return flat.reshape(self.n, self.m)

    @classmethod
    def of(cls, h: np.ndarray) -> "_Scaled":
        """Exact values (object array) with one denominator per row, the lcm of the row's."""
        n, m = h.shape
        r, flat = [], []
        for row in h.tolist():
            d = 1
            for v in row:
                if type(v) is Fraction:
                    d = math.lcm(d, v.denominator)
            r.append(d)
            if d == 1:
                flat.extend(int(v) for v in row)
            else:
                flat.extend(_num(v) * (d // _den(v)) for v in row)
        return cls(n, m, r, [1] * m, flat=flat)

    def values(self) -> np.ndarray:
        out = np.empty(self.n * self.m, dtype=object)
        flat, r, c, m = self.flat, self.r, self.c, self.m
        if all(d == 1 for d in r) and all(d == 1 for d in c):
            out[:] = [int(v) for v in flat]
        else:
            out[:] = [_value(v, r[t // m] * c[t % m]) for t, v in enumerate(flat)]
        return out.reshape(self.n, self.m)


# ---------------------------------------------------------------------------------------------
# dense layers
# ---------------------------------------------------------------------------------------------
class _Block:
    """Weights of one block of input columns: ``WT`` (|cols| × out) integer, output k scaled by
    ``D[k]``."""

    __slots__ = ("cols", "WT", "D")

    def __init__(self, cols, WT, D):
        self.cols, self.WT, self.D = cols, WT, D


class _DensePlan:
    """A dense layer's weights for incoming column denominators ``c``: W[k, j]/c[j], cut into
    blocks of input columns whose per-row lcm stays small (see :meth:`_cuts`); one block when
    possible, and then the bias is folded in (its denominators join the rows' lcm)."""

    __slots__ = ("blocks", "bias", "WTb", "out")

    def __init__(self, weight: np.ndarray, bias: np.ndarray, c: list):
        out, m = weight.shape
        self.out = out
        A = weight.tolist()
        if any(d != 1 for d in c):
            A = [[v if v == 0 else Fraction(v) / c[j] for j, v in enumerate(row)] for row in A]
        b = bias.tolist()
        cuts = self._cuts(A, b, m)
        self.bias = b
        self.blocks = [self._block(A, cols, b if len(cuts) == 1 else None) for cols in cuts]
        self.WTb = None
        if len(self.blocks) == 1:  # the weights with the scaled bias as one more row
            D = self.blocks[0].D
            brow = [_num(bk) * (D[k] // _den(bk)) for k, bk in enumerate(b)]
            self.WTb = flint.fmpz_mat(m + 1, out, self.blocks[0].WT.entries() + brow)

    @staticmethod
    def _cuts(A, b, m) -> list:
        """Column blocks (lists of input columns) within which no row's lcm of denominators
        passes max(BLOCK_BITS, twice the row's largest denominator). Columns with the same
        denominators go to one block (the units of one bump or one group share them, wherever
        the layout puts them); a single column always makes a block."""
        dens = [[_den(v) for v in row] for row in A]
        if all(d == 1 for row in dens for d in row):
            return [list(range(m))]
        limit = [max(BLOCK_BITS, 2 * max(d.bit_length() for d in row + [_den(bk)])) for row, bk in zip(dens, b)]
        classes: dict = {}
        for j in range(m):
            classes.setdefault(tuple(row[j] for row in dens), []).append(j)
        blocks, cols, lcms = [], [], [_den(bk) for bk in b]
        for key, members in classes.items():
            new = [math.lcm(L, d) for L, d in zip(lcms, key)]
            if cols and any(x.bit_length() > t for x, t in zip(new, limit)):
                blocks.append(cols)
                cols, new = [], list(key)
            cols = cols + members
            lcms = new
        blocks.append(cols)
        return [sorted(c) for c in blocks]

    @staticmethod
    def _block(A, cols, b) -> _Block:
        out = len(A)
        D = []
        for k in range(out):
            d = 1 if b is None else _den(b[k])
            for j in cols:
                v = A[k][j]
                if type(v) is Fraction:
                    d = math.lcm(d, v.denominator)
            D.append(d)
        flat = [0] * (len(cols) * out)
        for k in range(out):
            Dk = D[k]
            for t, j in enumerate(cols):
                v = A[k][j]
                if v != 0:
                    flat[t * out + k] = _num(v) * (Dk // _den(v))
        return _Block(cols, flint.fmpz_mat(len(cols), out, flat), D)


_PLANS: dict = {}


def _plan(weight: np.ndarray, bias: np.ndarray, c: list) -> _DensePlan:
    key = (id(weight), id(bias), tuple(c))
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is weight and hit[1] is bias:
        return hit[2]
    if len(_PLANS) > 256:
        _PLANS.clear()
    plan = _DensePlan(weight, bias, c)
    _PLANS[key] = (weight, bias, plan)
    return plan


def _dense(S: _Scaled, weight: np.ndarray, bias: np.ndarray) -> _Scaled:
    """The affine map ``S @ weight.T + bias`` of scaled activations."""
    plan = _plan(weight, bias, S.c)
    n, out = S.n, plan.out
    if len(plan.blocks) == 1:
        # the bias rides along as one more input column r[i] (cheaper than adding a matrix)
        E = np.empty((n, S.m + 1), dtype=object)
        E[:, : S.m] = S.array()
        E[:, S.m] = S.r
        P = flint.fmpz_mat(n, S.m + 1, E.ravel().tolist()) * plan.WTb
        return _Scaled(n, out, S.r, list(plan.blocks[0].D), mat=P)
    # several blocks: each block's contribution is a reduced rational, added entry by entry
    E = S.array()
    acc = [[flint.fmpq(0)] * out for _ in range(n)]
    for blk in plan.blocks:
        sub = E[:, blk.cols].ravel().tolist()
        part = (flint.fmpz_mat(n, len(blk.cols), sub) * blk.WT).entries()
        for i in range(n):
            row = acc[i]
            for k in range(out):
                v = part[i * out + k]
                if v != 0:
                    row[k] += flint.fmpq(v, blk.D[k])
    bq = [flint.fmpq(_num(v), _den(v)) for v in plan.bias]
    r_out, flat_out = [], []
    for i in range(n):
        ri = S.r[i]
        row = [q / ri + bk for q, bk in zip(acc[i], bq)]
        d = 1
        for q in row:
            d = math.lcm(d, int(q.q))
        r_out.append(d)
        flat_out.extend(int(q.p) * (d // int(q.q)) for q in row)
    return _Scaled(n, out, r_out, [1] * out, flat=flat_out)


def _activate(S: _Scaled, act) -> _Scaled:
    """σ applied to scaled activations (on the numerators when σ is positively homogeneous)."""
    name = act.name
    if name == "identity":
        return S
    if name == "relu":
        return _Scaled(S.n, S.m, S.r, S.c, flat=np.maximum(S.array().ravel(), 0))
    if name == "relu_like":
        sp, sm = (Fraction(s) for s in act.slopes)
        L = math.lcm(sp.denominator, sm.denominator)
        p, q = int(sp * L), int(sm * L)
        flat = [v * p if v >= 0 else v * q for v in S.flat]
        return _Scaled(S.n, S.m, S.r, [cj * L for cj in S.c], flat=flat)
    if name == "step":
        return _Scaled(S.n, S.m, [1] * S.n, [1] * S.m, flat=[1 if v >= 0 else 0 for v in S.flat])
    if name == "hardtanh":
        r, c, m = S.r, S.c, S.m
        flat = []
        for t, v in enumerate(S.flat):
            bound = r[t // m] * c[t % m]
            flat.append(bound if v > bound else (-bound if v < -bound else v))
        return _Scaled(S.n, S.m, S.r, S.c, flat=flat)
    raise ValueError(f"activation {name!r} has no exact flint path")  # pragma: no cover


_FRACTIONAL = PairCache(limit=4096)


def fractional(weight: np.ndarray, bias: np.ndarray) -> bool:
    """Whether a layer has a non-integer weight or bias (cached per pair of arrays)."""
    return _FRACTIONAL.get(weight, bias, lambda: any(type(v) is Fraction for a in (weight, bias) for v in a.flat))


def wanted(h: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> bool:
    """Whether FLINT pays for ``h @ weight.T + bias``: when rationals are involved.

    Integer layers on integer activations (the sparse ±1 and big-integer layers of the
    bit-extraction networks) are faster in the pure kernel of :mod:`memorize._exact`, which
    skips zeros and shares rows; a FLINT pass costs two conversions per entry.
    """
    return fractional(weight, bias) or (h.size > 0 and any(type(v) is Fraction for v in h[0]))


def forward(layers, h: np.ndarray) -> np.ndarray:
    """The exact outputs of ``layers`` on the exact inputs ``h`` (object arrays).

    Runs of dense layers that involve rationals stay in the scaled integer form on FLINT;
    integer layers on integer activations and residual blocks use the pure-Python kernel, and a
    wide ReLU layer whose units read one projection the prefix sums of
    :func:`memorize._exact.shared_projection`.
    """
    from . import _exact
    from .network import Dense, Factored

    S = None
    i = 0
    while i < len(layers):
        layer = layers[i]
        i += 1
        nxt = layers[i] if i < len(layers) else None
        kernel = _exact.shared_projection(layer, nxt) if isinstance(layer, Dense) and isinstance(nxt, Dense) else None
        if kernel is not None:  # a wide ReLU layer on one projection: prefix sums (see _exact)
            if S is not None:
                h, S = S.values(), None
            h = nxt.activation(kernel.apply(h, nxt.bias))
            i += 1
            continue
        if isinstance(layer, Factored):  # two products in the layer's own order (see Factored)
            if S is not None:
                h, S = S.values(), None
            h = layer.forward(h)
            continue
        if isinstance(layer, Dense) and (S is not None and fractional(layer.weight, layer.bias)
                                         or S is None and wanted(h, layer.weight, layer.bias)):
            S = _activate(_dense(S if S is not None else _Scaled.of(h), layer.weight, layer.bias),
                          layer.activation)
            continue
        if S is not None:
            h, S = S.values(), None
        if isinstance(layer, Dense) and wanted(h, layer.weight, layer.bias):
            S = _activate(_dense(_Scaled.of(h), layer.weight, layer.bias), layer.activation)
        else:
            h = layer.forward(h)
    return S.values() if S is not None else h


def affine(h: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``h @ weight.T + bias`` exactly (object arrays in and out), on FLINT."""
    return _dense(_Scaled.of(h), weight, bias).values()


# ---------------------------------------------------------------------------------------------
# linear algebra
# ---------------------------------------------------------------------------------------------
def _fmpq_mat(M: np.ndarray):
    rows, cols = M.shape
    return flint.fmpq_mat(rows, cols, [flint.fmpq(_num(v), _den(v)) for v in M.ravel().tolist()])


def rref(M: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form and pivot columns (as :func:`memorize._linalg.rref`)."""
    rows, cols = M.shape
    R, r = _fmpq_mat(M).rref()
    out = np.empty((r, cols), dtype=object)
    pivots: list[int] = []
    for i in range(r):
        vals = [R[i, j] for j in range(cols)]
        out[i] = [_value(q.p, q.q) if q.q != 1 else int(q.p) for q in vals]
        pivots.append(next(j for j in range(cols) if vals[j] != 0))
    return out, pivots


def rank(M: np.ndarray) -> int:
    """Exact rank (as :func:`memorize._linalg.rank`)."""
    return int(_fmpq_mat(M).rank()) if M.shape[0] and M.shape[1] else 0
