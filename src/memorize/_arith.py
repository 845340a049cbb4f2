"""The arithmetic a builder works in: the one place that knows how numbers are stored.

A builder receives an :class:`Arithmetic` instead of an ``exact`` flag and writes its proof once:
arrays, constants, divisions, conversions for float decisions, tolerances and sorting along a
projection all go through it.

* :data:`EXACT` — NumPy object arrays of Python ``int``/``Fraction``. Every float64 datum is a
  dyadic rational, so data enter losslessly; divisions are rational; tolerances are 0.
* :data:`FLOAT64` — float64 arrays; tolerances are multiples of the unit roundoff.

Example: the same three lines give a float or an exact result.

>>> from memorize._arith import arithmetic
>>> for ar in (arithmetic(False), arithmetic(True)):
...     print(ar.name, ar.div(ar.const(1), ar.const(3)), ar.tol(1e-9))
float64 0.3333333333333333 1e-09
exact 1/3 0
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import _exact
from ._linalg import EPS64, U64

__all__ = ["Arithmetic", "Exact", "Float64", "EXACT", "FLOAT64", "arithmetic", "of"]

_TINY = float(np.finfo(float).tiny)
_fraction = np.frompyfunc(lambda v: v if isinstance(v, Fraction) else Fraction(v), 1, 1)
_divide = np.frompyfunc(lambda a, b: Fraction(a) / b, 2, 1)


class Arithmetic:
    """Interface of the two arithmetics (see the module docstring).

    Attributes
    ----------
    name : str
        ``"exact"`` or ``"float64"``.
    exact : bool
    dtype : numpy dtype or ``object``
        How arrays are stored.
    u : float
        Unit roundoff of operations in this arithmetic (0 when exact).
    eps : float
        Spacing of representable numbers just above 1 (0 when exact).
    """

    name: str = ""
    exact: bool = False
    dtype = None
    u: float = 0.0
    eps: float = 0.0

    def __repr__(self) -> str:
        return f"<arithmetic {self.name}>"

    # -- arrays and constants ----------------------------------------------------------------
    def zeros(self, shape) -> np.ndarray:
        """An array of zeros (exact zeros are the Python int 0)."""
        return np.zeros(shape, dtype=self.dtype)

    def full(self, shape, value) -> np.ndarray:
        out = np.empty(shape, dtype=self.dtype)
        out[...] = self.scalar(value)
        return out

    def ones(self, shape) -> np.ndarray:
        return self.full(shape, 1)

    def array(self, a) -> np.ndarray:
        """A fresh array of ``a`` in this arithmetic (floats enter the exact one losslessly)."""
        raise NotImplementedError

    def asarray(self, a) -> np.ndarray:
        """``a`` in this arithmetic, without a copy when it is stored so already (large data)."""
        raise NotImplementedError

    def scalar(self, v):
        """One number in this arithmetic."""
        raise NotImplementedError

    def const(self, num, den=1):
        """The rational constant num/den (a ``Fraction`` or its float64 rounding)."""
        raise NotImplementedError

    def rational(self, v, max_denominator: int):
        """A user's float option as the closest fraction with a bounded denominator (exact) or as is."""
        raise NotImplementedError

    # -- operations ----------------------------------------------------------------------------
    def div(self, a, b):
        """a / b elementwise (rational division when exact: never a Python float)."""
        raise NotImplementedError

    def to_float(self, a) -> np.ndarray:
        """float64 values of ``a``, for decisions that may round (orderings, scores, ``meta``)."""
        raise NotImplementedError

    def tol(self, float_tol):
        """A check's tolerance: 0 in exact arithmetic, ``float_tol`` otherwise."""
        raise NotImplementedError

    def max(self, a):
        """Largest entry of a non-empty array as a scalar of this arithmetic."""
        raise NotImplementedError

    def argsort(self, a) -> np.ndarray:
        """Indices that sort the 1-d array ``a`` increasingly, ties in index order (exact values
        are compared exactly, not as their float64 roundings)."""
        raise NotImplementedError

    def row_dots(self, A, B) -> np.ndarray:
        """Σ_j A_ij·B_ij for every row i (squared row norms when ``B`` is ``A``).

        >>> import numpy as np
        >>> EXACT.row_dots(EXACT.array([[0.5, 1.0]]), EXACT.array([[0.5, 3.0]]))
        array([Fraction(13, 4)], dtype=object)
        """
        raise NotImplementedError

    def min(self, a):
        raise NotImplementedError

    def separated(self, gaps, scale, factor: float = 64) -> bool:
        """Whether every gap is positive beyond rounding: > 0 exactly, or > factor·ε·scale."""
        raise NotImplementedError

    def isfinite(self, a) -> np.ndarray:
        """Which entries are finite, without rounding exact ones (a huge exact number is finite;
        only the float ``inf`` an exact array may hold for "no bound" is not)."""
        raise NotImplementedError

    def summary(self, **values) -> dict:
        """``meta`` entries for numbers: floats, or None with ``<key>_log2`` when an exact value
        has no float64 value (see :func:`memorize._exact.summary_values`). Never raises on a
        value the build computed.

        >>> EXACT.summary(min_margin=EXACT.const(2**1100, 3), gain=EXACT.const(1, 4))
        {'min_margin': None, 'gain': 0.25, 'min_margin_log2': 1098.415037}
        """
        return _exact.summary_values(**values)

    # -- the projection every one-direction builder starts with --------------------------------
    def directions(self, W: np.ndarray) -> np.ndarray:
        """Candidate directions (columns of ``W``, float64 draws) in the form this arithmetic
        wants: unit columns in float64; integer columns of about 20 bits when exact, which keep
        the exact projections short (scaling a direction changes nothing)."""
        raise NotImplementedError

    def direction(self, w: np.ndarray) -> np.ndarray:
        """One candidate direction ``w`` (a float64 draw) in the form of :meth:`directions`.

        The float64 unit vector uses the norm of a 1-D vector (a dot product), which may differ
        in the last bit from a column norm of :meth:`directions`: builders that draw their
        candidates one at a time keep their bytes with this one.
        """
        raise NotImplementedError

    def project(self, X, w) -> np.ndarray:
        """``X @ w`` in this arithmetic (``X`` float64 data, ``w`` a direction)."""
        raise NotImplementedError

    def sorted_projection(self, X, w, order=None) -> tuple[np.ndarray, np.ndarray, bool]:
        """Projections ``t = X @ w`` sorted increasingly, with their order and a distinctness flag.

        ``order`` may give the float64 order already known for ``w`` (it is reused when
        float64; exact values are sorted exactly whatever it says). Returns ``(t_sorted, order,
        distinct)``; ``distinct`` is False when two sorted projections are equal.
        """
        raise NotImplementedError


class Exact(Arithmetic):
    """Exact rational arithmetic on object arrays of ``int``/``Fraction``."""

    name = "exact"
    exact = True
    dtype = object
    u = 0.0
    eps = 0.0

    def array(self, a) -> np.ndarray:
        return _exact.to_exact_array(a)

    def asarray(self, a) -> np.ndarray:
        return a if isinstance(a, np.ndarray) and a.dtype == object else _exact.to_exact_array(a)

    def scalar(self, v):
        return _exact.exact_scalar(v)

    def const(self, num, den=1):
        return _exact.exact_scalar(Fraction(num, den))

    def rational(self, v, max_denominator: int):
        return _exact.exact_scalar(Fraction(v).limit_denominator(max_denominator))

    def fractions(self, a) -> np.ndarray:
        """Every entry as a ``Fraction`` (so that later ``/`` of two entries stays rational)."""
        arr = np.asarray(a, dtype=object)
        return np.asarray(_fraction(arr), dtype=object).reshape(arr.shape) if arr.size else arr.copy()

    def div(self, a, b):
        if np.ndim(a) == 0 and np.ndim(b) == 0:
            return Fraction(a) / b
        return _divide(np.asarray(a, dtype=object), np.asarray(b, dtype=object))

    def to_float(self, a) -> np.ndarray:
        return _exact.to_float_array(a)

    def tol(self, float_tol):
        return 0

    def max(self, a):
        return max(np.asarray(a).flat)

    def argsort(self, a) -> np.ndarray:
        a = np.asarray(a)
        return np.array(sorted(range(len(a)), key=a.__getitem__), dtype=np.int64)

    def row_dots(self, A, B) -> np.ndarray:
        # (np.einsum takes object arrays only from NumPy 1.25 on)
        P = np.asarray(A, dtype=object) * np.asarray(B, dtype=object)
        out = np.empty(P.shape[0], dtype=object)
        out[:] = [sum(row, 0) for row in P]
        return out

    def min(self, a):
        return min(np.asarray(a).flat)

    def separated(self, gaps, scale, factor: float = 64) -> bool:
        return bool(np.all(np.asarray(gaps) > 0))

    def isfinite(self, a) -> np.ndarray:
        arr = np.asarray(a, dtype=object)
        return np.array([_exact.is_finite(v) for v in arr.flat], dtype=bool).reshape(arr.shape)

    def directions(self, W: np.ndarray) -> np.ndarray:
        scale = 2.0**20 / np.max(np.abs(W), axis=0)
        W = np.round(W * scale)
        W[:, np.all(W == 0, axis=0)] = 1.0
        return W

    def direction(self, w: np.ndarray) -> np.ndarray:
        return self.directions(np.asarray(w, dtype=np.float64)[:, None])[:, 0]

    def project(self, X, w) -> np.ndarray:
        return self.array(X) @ self.array(w)

    def sorted_projection(self, X, w, order=None):
        t = self.project(X, w)
        # exact values, ties broken by row index: the same order whatever float order was seen
        pairs = sorted(zip(t.tolist(), range(len(t))))
        ts = np.empty(len(pairs), dtype=object)
        ts[:] = [p[0] for p in pairs]
        idx = np.array([p[1] for p in pairs], dtype=np.int64)
        distinct = all(ts[i + 1] > ts[i] for i in range(len(ts) - 1))
        return ts, idx, distinct


class Float64(Arithmetic):
    """IEEE float64 arithmetic."""

    name = "float64"
    exact = False
    dtype = np.float64
    u = U64
    eps = EPS64

    def array(self, a) -> np.ndarray:
        arr = np.asarray(a)
        return _exact.to_float_array(arr) if arr.dtype == object else np.array(arr, dtype=np.float64)

    def asarray(self, a) -> np.ndarray:
        arr = np.asarray(a)
        return _exact.to_float_array(arr) if arr.dtype == object else np.asarray(arr, dtype=np.float64)

    def scalar(self, v):
        return float(v)

    def const(self, num, den=1):
        return num / den if den != 1 else float(num)

    def rational(self, v, max_denominator: int):
        return float(v)

    def div(self, a, b):
        return a / b

    def to_float(self, a) -> np.ndarray:
        return np.asarray(a, dtype=np.float64)

    def tol(self, float_tol):
        return float_tol

    def max(self, a):
        return float(np.max(a))

    def argsort(self, a) -> np.ndarray:
        return np.argsort(a, kind="stable")

    def row_dots(self, A, B) -> np.ndarray:
        return np.einsum("ij,ij->i", A, B)

    def min(self, a):
        return float(np.min(a))

    def isfinite(self, a) -> np.ndarray:
        return np.isfinite(np.asarray(a, dtype=np.float64))

    def separated(self, gaps, scale, factor: float = 64) -> bool:
        gaps = np.asarray(gaps)
        return bool(gaps.size == 0 or gaps.min() > factor * self.eps * max(float(scale), _TINY))

    def directions(self, W: np.ndarray) -> np.ndarray:
        return W / np.linalg.norm(W, axis=0)

    def direction(self, w: np.ndarray) -> np.ndarray:
        return w / np.linalg.norm(w)

    def project(self, X, w) -> np.ndarray:
        if not isinstance(X, np.ndarray):  # a memorize.rows.Rows of large data: chunked
            from .rows import Rows

            if isinstance(X, Rows):
                return X @ np.asarray(w, dtype=np.float64)
        return np.asarray(X, dtype=np.float64) @ np.asarray(w, dtype=np.float64)

    def sorted_projection(self, X, w, order=None):
        t = self.project(X, w)
        if order is None:
            order = np.argsort(t, kind="stable")
        ts = t[order]
        distinct = bool(np.all(ts[1:] > ts[:-1]))
        return ts, np.asarray(order), distinct


EXACT = Exact()
FLOAT64 = Float64()


def arithmetic(exact: bool) -> Arithmetic:
    """The arithmetic a builder's ``exact`` option asks for."""
    return EXACT if exact else FLOAT64


def of(a) -> Arithmetic:
    """The arithmetic an array is stored in (object arrays are exact)."""
    return EXACT if isinstance(a, np.ndarray) and a.dtype == object else FLOAT64
