"""Exact rational arithmetic on NumPy object arrays.

An *exact* array is a NumPy array of dtype ``object`` whose entries are Python ``int`` or
:class:`fractions.Fraction`. Every float64 is a dyadic rational, so conversion from floats is
lossless. Entries are normalised so that integral values are ``int``: integer-only arithmetic
is several times faster than ``Fraction`` arithmetic, and the bit-extraction networks are
integer-only.
"""

from __future__ import annotations

import numbers
from fractions import Fraction

import numpy as np

__all__ = ["exact_scalar", "to_exact_array", "is_exact", "to_float_array", "affine"]


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


def affine(h: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``h @ weight.T + bias`` in exact arithmetic (object arrays)."""
    # NumPy's object matmul sums Python objects in order, so the result is exact.
    return np.matmul(h, weight.T) + bias
