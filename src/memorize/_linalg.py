"""Small linear algebra shared by the data checks and the builders.

Exact routines work on NumPy object arrays of Python ``int``/``Fraction`` (small matrices only:
every operation is a Python-object operation); float routines use LAPACK through NumPy/SciPy.
The one float64 rounding constant and the one numerical-rank tolerance of the library live here.
This module imports nothing from the rest of :mod:`memorize` but :mod:`memorize._exact` and
:mod:`memorize._flint` (the optional python-flint backend of the exact routines), so any module
may use it without an import circle.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from . import _exact, _flint

__all__ = ["U64", "EPS64", "gamma", "rank_tol", "rref", "rank", "null_vector", "is_singular"]

#: float64 unit roundoff u = 2⁻⁵³ (half the machine epsilon).
U64 = 2.0**-53
#: float64 machine epsilon 2⁻⁵², the spacing of floats just above 1.
EPS64 = 2.0**-52


def gamma(n: int, u: float = U64) -> float:
    """γ_n = n·u/(1 − n·u): the relative error bound of an n-term floating-point dot product.

    Examples
    --------
    >>> gamma(1) > 2.0**-53
    True
    """
    k = n * u
    return k / (1 - k)


def rank_tol(s: np.ndarray, shape) -> float:
    """Threshold below which a singular value of a float64 matrix counts as zero.

    ``64·max(shape)·u·σ_max``: a backward-stable SVD returns every singular value within a small
    multiple of ``max(shape)·u·σ_max`` of the true one.
    """
    return float(s[0]) * max(shape) * 64 * U64 if np.size(s) else 0.0


def rref(M: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form of an exact matrix and its pivot columns.

    Examples
    --------
    >>> import numpy as np
    >>> R, piv = rref(np.array([[2, 4], [1, 2]], dtype=object))
    >>> [[int(v) for v in row] for row in R], piv
    ([[1, 2]], [0])

    Notes
    -----
    With python-flint installed this is FLINT's rational rref (the reduced echelon form is
    unique, so both paths give the same matrix; see :mod:`memorize._flint`).
    """
    if _flint.enabled() and M.size:
        return _flint.rref(np.asarray(M, dtype=object))
    A = np.array(M, dtype=object, copy=True)
    rows, cols = A.shape
    pivots: list[int] = []
    r = 0
    for j in range(cols):
        if r >= rows:
            break
        nz = [i for i in range(r, rows) if A[i, j] != 0]
        if not nz:
            continue
        p = nz[0]
        if p != r:
            A[[r, p]] = A[[p, r]]
        piv = A[r, j]
        A[r] = np.array([Fraction(v) / piv for v in A[r]], dtype=object)
        for i in range(rows):
            if i != r and A[i, j] != 0:
                A[i] = A[i] - A[i, j] * A[r]
        pivots.append(j)
        r += 1
    return A[:r], pivots


def rank(M: np.ndarray) -> int:
    """Exact rank of an exact matrix (0 for a matrix without rows)."""
    if _flint.enabled():
        return _flint.rank(np.asarray(M, dtype=object))
    return len(rref(M)[1]) if M.shape[0] else 0


def null_vector(D: np.ndarray, dim: int, rng: np.random.Generator) -> np.ndarray:
    """A random integer vector of the null space of the exact matrix ``D`` (rows × dim).

    The free coordinates are random integers in [−2²⁰, 2²⁰] (not all zero), the pivot
    coordinates follow, and the vector is scaled to integers. A zero vector means the null space
    is trivial.
    """
    if D.shape[0] == 0:
        R, piv = np.zeros((0, dim), dtype=object), []
    else:
        R, piv = rref(D)
    free = [j for j in range(dim) if j not in piv]
    if not free:
        return np.zeros(dim, dtype=object)
    z = np.zeros(dim, dtype=object)
    for j in free:
        z[j] = int(rng.integers(-(2**20), 2**20 + 1))
    if all(z[j] == 0 for j in free):
        z[free[0]] = 1
    for i, j in enumerate(piv):
        z[j] = -sum((R[i, k] * z[k] for k in free), 0)
    den = 1
    for v in z:
        den = math.lcm(den, Fraction(v).denominator)  # np.gcd overflows on big Python ints
    return _exact.to_exact_array(np.array([Fraction(v) * den for v in z], dtype=object))


def is_singular(M: np.ndarray) -> bool:
    """Whether the square float matrix ``M`` is exactly singular (elimination on its rationals).

    Examples
    --------
    >>> import numpy as np
    >>> is_singular(np.array([[1.0, 2.0], [2.0, 4.0]])), is_singular(np.eye(2))
    (True, False)
    """
    if _flint.enabled():
        A = np.array([[Fraction(float(v)) for v in row] for row in M], dtype=object).reshape(np.shape(M))
        return _flint.rank(A) < A.shape[0]
    A = [[Fraction(float(v)) for v in row] for row in M]
    n = len(A)
    for k in range(n):
        p = next((i for i in range(k, n) if A[i][k] != 0), None)
        if p is None:
            return True
        if p != k:
            A[k], A[p] = A[p], A[k]
        for i in range(k + 1, n):
            if A[i][k] != 0:
                f = A[i][k] / A[k][k]
                A[i] = [a - f * b for a, b in zip(A[i], A[k])]
    return False
