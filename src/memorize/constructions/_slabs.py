"""Shared machinery of the hyperplane-slab memorizers (Baum 1988, Bubeck et al. 2020, Yun et al. §4).

Every slab construction does the same thing: split the points into groups of at most ``d``, pass
an affine hyperplane ``a(x) = <u, x> − c = 0`` through each group, and measure the group's
*margin* ``γ_G = min_{x ∉ G} |a(x)|``. A thin slab ``|a| < γ_G`` then contains the group and no
other data point. This module provides those steps as pure functions so that every builder
(and the ResNet of Yun et al. Theorem 4.1) can reuse them:

* :func:`split_groups` — random groups of at most ``size`` points, optionally class-pure, with
  a prescribed number of groups (spare groups make the groups smaller and the margins larger).
* :func:`affine_hull` — origin, basis and dimension of the data's affine hull (exact
  elimination in rational arithmetic; in float64 one SVD for small data, a randomized but sound
  incremental method for large data).
* :func:`fit_hyperplane` / :func:`fit_hyperplanes` — the hyperplane through one group (exactly in
  rational arithmetic, or in float64, batched for many small groups).
* :func:`build_slabs` — fit every group, check every margin against a rigorous rounding bound
  (exactly 0 is the only failure in exact arithmetic), and adapt on degenerate data: a failing
  group first tries other normals, then gives up points one at a time; the released points form
  new groups. The result says how many groups the theorem's grouping needed beyond the plan.
* :func:`slab_values` — ``a(x)`` for all points and a block of slabs (for the builders' weights).

Every function takes the arithmetic to work in as ``ar`` (see :mod:`memorize._arith`); the older
``exact=True/False`` flag still selects it. Nothing here perturbs the data: on data that are not
in general position the groups shrink instead, and only when a single point cannot be separated
from the others (which for distinct points happens in float64 only, when two points are closer
than the rounding level) does :func:`build_slabs` raise
:class:`~memorize.errors.AssumptionError` naming the points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from .. import _exact
from .._arith import EXACT, Arithmetic, arithmetic
from .._linalg import U64, gamma, null_vector, rank, rank_tol, rref
from ..data import format_indices
from ..errors import ArgumentError, AssumptionError
from ..precision import Format

__all__ = [
    "U_FP",
    "AffineHull",
    "SlabSet",
    "split_groups",
    "plan_group_size",
    "group_size_limit",
    "affine_hull",
    "fit_hyperplane",
    "fit_hyperplanes",
    "rounding_bound",
    "format_rounding_bound",
    "build_slabs",
    "slab_values",
]

#: float64 unit roundoff (an alias of :data:`memorize._linalg.U64`, kept for old imports).
U_FP = U64

# Groups larger than this use the Gram/pivoted-Cholesky path instead of a batched SVD.
_SVD_MAX = 128
# Data with N·d·min(N, d) above this use the incremental (sampled, then checked) hull.
_HULL_SVD_MAX = 2e9
# Column block of the (N, G) matrix of slab values, in matrix entries.
_BLOCK_ENTRIES = 2**22


def _resolve(ar: Arithmetic | None, exact: bool) -> Arithmetic:
    """The arithmetic asked for: ``ar`` when given, else the one the ``exact`` flag names."""
    return arithmetic(exact) if ar is None else ar


def _generator(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


# ---------------------------------------------------------------------------------------------
# grouping
# ---------------------------------------------------------------------------------------------
def split_groups(n: int, size: int, *, n_groups: int | None = None, labels=None, rng=None) -> list[np.ndarray]:
    """Split ``range(n)`` at random into groups of at most ``size`` points.

    Parameters
    ----------
    n : int
        Number of points.
    size : int
        Largest group (``d`` for general-position data in R^d).
    n_groups : int, optional
        Number of groups to make (at least the minimum; at most ``n``). Spare groups make every
        group smaller (sizes differ by at most one within a class), which enlarges the margins.
        Default: the minimum, ``ceil(n/size)`` or ``Σ_c ceil(n_c/size)`` for class-pure groups.
    labels : array of int, optional
        Class code of each point; when given every group is class-pure and extra groups go to
        the classes with the largest groups first.
    rng : numpy.random.Generator

    Returns
    -------
    list of int arrays (sorted within a group), in class order then random order.

    Examples
    --------
    >>> groups = split_groups(10, 3, labels=[0, 0, 0, 0, 1, 1, 1, 1, 1, 1], rng=0)
    >>> [len(g) for g in groups]
    [2, 2, 3, 3]
    """
    gen = _generator(rng)
    size = int(size)
    if size < 1:
        raise ArgumentError(f"size: groups need at least one point, got {size}")
    if labels is None:
        need = -(-n // size)
        g = need if n_groups is None else int(n_groups)
        if g < need:
            raise ArgumentError(f"n_groups: {n} points in groups of at most {size} need {need} groups, got {g}")
        perm = gen.permutation(n)
        return [np.sort(part) for part in np.array_split(perm, min(g, n)) if part.size]
    labels = np.asarray(labels)
    members = [np.nonzero(labels == c)[0] for c in np.unique(labels)]
    counts = np.array([m.size for m in members])
    out = []
    for m, kc in zip(members, _groups_per_class(counts, size, n_groups, n)):
        perm = gen.permutation(m)
        out.extend(np.sort(part) for part in np.array_split(perm, int(kc)) if part.size)
    return out


def _groups_per_class(counts: np.ndarray, size: int, n_groups: int | None, n: int) -> np.ndarray:
    """Number of groups of each class: the minimum ⌈n_c/size⌉, plus the spare groups, each given
    to the class whose groups are currently the largest."""
    k = -(-counts // size)
    need = int(k.sum())
    if n_groups is None:
        return k
    g = int(n_groups)
    if g < need:
        raise ArgumentError(
            f"n_groups: class-pure groups of at most {size} points need {need} groups for these classes, got {g}"
        )
    spare = min(g, n) - need
    while spare > 0:
        load = np.where(k < counts, counts / np.maximum(k, 1), -1.0)
        j = int(np.argmax(load))
        if load[j] <= 1.0:
            break
        k[j] += 1
        spare -= 1
    return k


# ---------------------------------------------------------------------------------------------
# affine hull
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AffineHull:
    """The affine hull ``origin + span(basis)`` of a point set.

    Attributes
    ----------
    origin : (d,) array (float64, or exact in exact arithmetic)
    basis : (d, r) array or None
        Orthonormal columns (float) or an exact basis (rows of an echelon form, as columns) of the
        hull's direction space; ``None`` when the hull is all of R^d.
    dim : int
        Dimension r of the hull.
    """

    origin: np.ndarray
    basis: np.ndarray | None
    dim: int

    @property
    def full(self) -> bool:
        return self.basis is None


def plan_group_size(X, *, ar: Arithmetic | None = None, exact: bool = False, rng=None) -> tuple[AffineHull | None, int]:
    """The data's affine hull (when it is cheap to find) and the largest workable group size.

    Exact data always get their hull (exact data are small); float data get it while one SVD
    costs at most ``_HULL_SVD_MAX`` flops, and otherwise groups of d points are planned and the
    margin checks of :func:`build_slabs` catch flat data.
    """
    ar = _resolve(ar, exact)
    n, d = X.shape
    hull = None
    if ar.exact or n * d * min(n, d) <= _HULL_SVD_MAX:
        hull = affine_hull(X, ar=ar, rng=rng)
    return hull, group_size_limit(n, d, hull)


def group_size_limit(n: int, d: int, hull: AffineHull | None) -> int:
    """Largest group size that can work: d, or the hull's dimension r when the data are flat.

    r + 1 points in general position inside an r-dimensional hull span it, so any hyperplane
    through them holds every point; groups of r leave a direction free. With n ≤ d every point
    fits in one group (there is no other point to avoid), so d is kept.
    """
    if hull is None or hull.dim >= d or n <= d:
        return max(1, d)
    return max(1, hull.dim)


def affine_hull(X: np.ndarray, *, ar: Arithmetic | None = None, exact: bool = False, rng=None) -> AffineHull:
    """The affine hull of the rows of ``X``.

    Exact arithmetic: elimination on the differences to the first row (small data only).
    float64: the numerical rank uses the threshold ``64·max(N, d)·u·σ_max`` on the singular values
    of the centred data. Small data (N·d·min(N, d) ≤ 2·10⁹) use one SVD. Larger data use a
    randomized but sound incremental method: the hull of ``d + 8`` random points is computed, and
    every point whose distance to it exceeds the threshold is added, until none does — the
    random sample only saves work, the result is checked on every point.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 2.0, 1.0]])  # the plane z = 1
    >>> affine_hull(X).dim, affine_hull(X, exact=True).dim
    (2, 2)
    """
    ar = _resolve(ar, exact)
    if ar.exact:
        return _exact_hull(ar.asarray(X))
    n, d = X.shape
    if n == 1:
        return AffineHull(X[0].copy(), np.zeros((d, 0)) if d > 0 else None, 0)
    origin = X.mean(axis=0)
    if n * d * min(n, d) > _HULL_SVD_MAX:
        return _incremental_hull(X, origin, _generator(rng))
    _, s, vt = np.linalg.svd(X - origin, full_matrices=False)
    r = int(np.sum(s > rank_tol(s, X.shape)))
    return AffineHull(origin, None if r == d else vt[:r].T.copy(), r)


def _exact_hull(X: np.ndarray) -> AffineHull:
    """The hull through the first row, spanned by the echelon rows of the differences."""
    d = X.shape[1]
    origin = X[0].copy()
    R, piv = rref(X[1:] - origin)
    r = len(piv)
    return AffineHull(origin, None if r == d else R.T.copy(), r)


def _incremental_hull(X: np.ndarray, origin: np.ndarray, gen: np.random.Generator) -> AffineHull:
    """Basis of a random sample's hull, then every point far from its span added, until none is."""
    n, d = X.shape
    scale = float(np.max(np.linalg.norm(X - origin, axis=1)))
    tol = 64 * max(n, d) * U64 * max(scale, np.finfo(float).tiny)
    idx = gen.choice(n, size=min(n, d + 8), replace=False)
    basis = np.zeros((d, 0))
    for _ in range(d + 1):
        Y = X[idx] - origin
        if basis.shape[1]:
            Y = Y - (Y @ basis) @ basis.T
        _, s, vt = np.linalg.svd(Y, full_matrices=False)
        keep = s > tol
        if keep.any():
            basis = np.linalg.qr(np.hstack([basis, vt[keep].T]))[0]
        if basis.shape[1] >= d:
            return AffineHull(origin, None, d)
        far = _far_points(X, origin, basis, tol)
        if not far:
            return AffineHull(origin, basis, basis.shape[1])
        idx = np.array(far[: d + 8])
    return AffineHull(origin, basis, basis.shape[1])  # pragma: no cover - loop always returns


def _far_points(X: np.ndarray, origin: np.ndarray, basis: np.ndarray, tol: float) -> list[int]:
    """Rows farther than ``tol`` from ``origin + span(basis)`` (in row blocks, to bound memory)."""
    n, d = X.shape
    far: list[int] = []
    step = max(1, _BLOCK_ENTRIES // max(d, 1))
    for start in range(0, n, step):
        Z = X[start : start + step] - origin
        res = Z - (Z @ basis) @ basis.T
        far.extend((np.nonzero(np.linalg.norm(res, axis=1) > tol)[0] + start).tolist())
    return far


# ---------------------------------------------------------------------------------------------
# hyperplanes
# ---------------------------------------------------------------------------------------------
def _random_direction(d: int, gen: np.random.Generator, basis) -> np.ndarray:
    if basis is None:
        return gen.standard_normal(d)
    return basis @ gen.standard_normal(basis.shape[1])


def _project_out_gram(D: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, int]:
    """``g`` minus its projection on the row space of D, via pivoted Cholesky of D Dᵀ."""
    from scipy.linalg import cho_solve
    from scipy.linalg.lapack import dpstrf

    Gm = D @ D.T
    scale = float(np.max(np.diag(Gm))) if Gm.size else 0.0
    if scale == 0.0:
        return g, 0
    c, piv, rank, _ = dpstrf(Gm, tol=D.shape[1] * 64 * U64, lower=1)
    sel = piv[:rank] - 1
    L = np.tril(c[:rank, :rank])
    Ds = D[sel]
    u = g
    for _ in range(2):  # the second pass restores orthogonality lost to the squared condition number
        u = u - Ds.T @ cho_solve((L, True), Ds @ u)
    return u, int(rank)


def _null_vector_lu(D: np.ndarray, gen: np.random.Generator):
    """A null vector of the (k × d) difference matrix D (k < d) from one LU of a k × k block.

    Random d − k free coordinates, the k others solved from a random column subset; one step of
    iterative refinement. About 2× cheaper than the Gram route for large groups. Returns None
    when the block is singular or the refined residual is not at the rounding level (the caller
    then uses the rank-revealing Gram route).
    """
    from scipy.linalg import lu_factor, lu_solve

    k, d = D.shape
    cols = gen.permutation(d)
    A, F = cols[:k], cols[k:]
    try:
        with np.errstate(all="ignore"):
            lu = lu_factor(D[:, A], check_finite=False)
            piv = np.abs(np.diag(lu[0]))
            if not np.all(np.isfinite(piv)) or piv.min() <= piv.max() * k * 64 * U64:
                return None
            u = np.empty(d)
            u[F] = gen.standard_normal(d - k)
            u[A] = -lu_solve(lu, D[:, F] @ u[F], check_finite=False)
            u[A] -= lu_solve(lu, D @ u, check_finite=False)
    except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
        return None
    nrm = float(np.linalg.norm(u))
    if not np.isfinite(nrm) or nrm == 0.0:
        return None
    u /= nrm
    res = float(np.max(np.abs(D @ u)))
    if res > 1e3 * k * U64 * float(np.max(np.linalg.norm(D, axis=1))):
        return None
    return u


def fit_hyperplane(P, *, rng=None, basis=None, ar: Arithmetic | None = None, exact: bool = False):
    """The affine hyperplane ``<u, x> = c`` through the rows of ``P`` (m ≤ d points).

    The normal is a random vector of the null space of the centred group (restricted to the
    hull's direction space ``basis`` when given), so groups of fewer than d points get a generic
    hyperplane. float64: ``u`` has unit norm. Exact: ``u`` is an integer vector (zero when the
    group spans the whole hull) and ``c`` is exact, so every row of ``P`` lies exactly on the
    hyperplane.

    Returns
    -------
    u : (d,) array
    c : float or Fraction
    rank : int
        Rank of the centred group; the group is affinely independent iff ``rank == m − 1``.

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> u, c, rank = fit_hyperplane(P, rng=0, exact=True)
    >>> [int(v) for v in P @ u - c], rank  # both points on the line x + y = 1
    ([0, 0], 1)
    """
    ar = _resolve(ar, exact)
    gen = _generator(rng)
    if ar.exact:
        return _fit_exact(ar.asarray(P), basis, gen)
    return _fit_float(np.asarray(P, dtype=np.float64), basis, gen)


def _fit_exact(P: np.ndarray, basis, gen: np.random.Generator):
    """Exact fit: ``u`` a random integer null vector of the differences ``P[1:] − P[0]``."""
    m, d = P.shape
    D = P[1:] - P[0]
    if basis is None:
        u = null_vector(D, d, gen)
    else:
        B = EXACT.asarray(basis)
        u = _exact.to_exact_array(B @ null_vector(D @ B, B.shape[1], gen))
    return u, _exact.exact_scalar(u @ P[0]), rank(D)


def _fit_float(P: np.ndarray, basis, gen: np.random.Generator):
    """float64 fit: a random direction with the group's row space projected out, unit norm."""
    m, d = P.shape
    mean = P.mean(axis=0)
    D = P - mean
    g = _random_direction(d, gen, basis)
    if m == 1:
        u, r = g, 0
    elif m <= _SVD_MAX:
        _, s, vt = np.linalg.svd(D, full_matrices=False)
        r = int(np.sum(s > rank_tol(s, D.shape)))
        Q = vt[:r]
        u = g - Q.T @ (Q @ g)
        u = u - Q.T @ (Q @ u)
    else:
        u = _null_vector_lu(P[1:] - P[0], gen) if basis is None and m <= d else None
        if u is not None:
            r = m - 1  # a nonsingular (m−1)-block of the differences proves affine independence
        else:
            u, r = _project_out_gram(D, g)
    nrm = float(np.linalg.norm(u))
    u = u / nrm if nrm > 0 else u
    return u, float(u @ mean), r


def fit_hyperplanes(X: np.ndarray, groups, *, rng=None, basis=None, ar: Arithmetic | None = None, exact: bool = False):
    """Hyperplanes through many groups (see :func:`fit_hyperplane`).

    Exact data are small: one fit per group. float64 groups of equal small size go through one
    batched SVD.

    Returns ``(U, c, ranks)``: normals (G, d), offsets (G,), ranks of the centred groups (G,).
    """
    ar = _resolve(ar, exact)
    gen = _generator(rng)
    if ar.exact:
        X = ar.asarray(X)
        fits = [_fit_exact(X[grp], basis, gen) for grp in groups]
        U = np.empty((len(groups), X.shape[1]), dtype=object)
        c = np.empty(len(groups), dtype=object)
        for i, (u, ci, _) in enumerate(fits):
            U[i], c[i] = u, ci
        return U, c, np.array([f[2] for f in fits], dtype=np.int64)
    return _fit_float_batched(X, groups, gen, basis)


def _fit_float_batched(X: np.ndarray, groups, gen: np.random.Generator, basis, centre: bool = True):
    """Batched float64 fits; with ``centre=False`` (groups of fewer than d points, full-dimensional
    data) the normal is also orthogonal to the group's mean, so the hyperplane passes through
    the origin and its offset c is ≈ 0: a bias that rounds to nothing in a small format."""
    G = len(groups)
    d = X.shape[1]
    U = np.zeros((G, d))
    c = np.zeros(G)
    ranks = np.zeros(G, dtype=np.int64)
    sizes = np.array([len(g) for g in groups])
    for m in np.unique(sizes):
        which = np.nonzero(sizes == m)[0]
        if (m == 1 and centre) or m > _SVD_MAX:
            for i in which:
                U[i], c[i], ranks[i] = _fit_float(np.asarray(X[groups[i]], dtype=np.float64), basis, gen)
            continue
        P = X[np.stack([groups[i] for i in which])]  # (g, m, d)
        mean = P.mean(axis=1)
        _, s, vt = np.linalg.svd(P - mean[:, None, :] if centre else P, full_matrices=False)
        keep = s > s[:, :1] * max(m, d) * 64 * U64  # (g, k): the rank test of rank_tol, per group
        Q = vt * keep[:, :, None]
        g = gen.standard_normal((len(which), d)) if basis is None else gen.standard_normal((len(which), basis.shape[1])) @ basis.T
        for _ in range(2):
            g = g - np.einsum("gkd,gk->gd", Q, np.einsum("gkd,gd->gk", Q, g))
        nrm = np.linalg.norm(g, axis=1, keepdims=True)
        g = np.divide(g, nrm, out=np.zeros_like(g), where=nrm > 0)  # zero only when no direction is left
        U[which] = g
        c[which] = np.einsum("gd,gd->g", g, mean)
        ranks[which] = keep.sum(axis=1) - (0 if centre else 1)  # affine rank (a lower bound uncentred)
    return U, c, ranks


def _slack(st: "_Setting", groups, U, c) -> np.ndarray:
    """Per group: margin / (rounding bound + residual), the factor its acceptance test compares."""
    out = np.empty(len(groups))
    block = max(1, _BLOCK_ENTRIES // max(st.X.shape[0], 1))
    for start in range(0, len(groups), block):
        sl = slice(start, start + block)
        m, r, rb, _ = st.check(groups[sl], U[sl], c[sl])
        with np.errstate(divide="ignore", invalid="ignore"):
            out[sl] = np.asarray(m, dtype=np.float64) / (np.asarray(rb, dtype=np.float64) + np.asarray(r, dtype=np.float64))
    return np.nan_to_num(out, nan=0.0)


def _widest(st: "_Setting", groups, U, c, ranks):
    """For a target format: each group of fewer than d points keeps the widest of
    :data:`FORMAT_CANDIDATES` random hyperplanes through it (the largest margin relative to the
    format's rounding). In a small format a slab's margin, not just its existence, decides
    whether the units after it are certain: gains grow like 1/margin."""
    d = st.X.shape[1]
    free = np.array([len(g) < d for g in groups])
    if st.fmt is None or st.basis is not None or not free.any():
        return U, c, ranks
    best = _slack(st, groups, U, c)
    for _ in range(FORMAT_CANDIDATES - 1):
        U2, c2, r2 = _origin_hyperplanes(st, groups, U, c, ranks)
        U2, c2 = st.snap(U2, c2)
        score = _slack(st, groups, U2, c2)
        better = free & (score > best)
        U, c, ranks = np.where(better[:, None], U2, U), np.where(better, c2, c), np.where(better, r2, ranks)
        best = np.where(better, score, best)
    return U, c, ranks


def _origin_hyperplanes(st: "_Setting", groups, U, c, ranks):
    """For a target format: refit the groups of fewer than d points through the origin.

    A slab unit's bias then holds only ±ε (c ≈ 0), whose rounding to the format is relative to
    ε instead of to |c| ~ ‖x‖ (see :func:`format_rounding_bound`). Only for full-dimensional data
    (no hull basis) and groups of 1 … d − 1 points.
    """
    d = st.X.shape[1]
    which = [i for i, g in enumerate(groups) if len(g) < d]
    if st.fmt is None or st.basis is not None or not which:
        return U, c, ranks
    U, c, ranks = U.copy(), c.copy(), ranks.copy()
    sub = [groups[i] for i in which]
    U0, c0, r0 = _fit_float_batched(st.X, sub, st.gen, None, centre=False)
    ok = np.linalg.norm(U0, axis=1) > 0
    idx = np.asarray(which)[ok]
    U[idx], c[idx], ranks[idx] = U0[ok], c0[ok], r0[ok]
    return U, c, ranks


def rounding_bound(X_norm_max: float, c, d: int, u: float = U64):
    """Rigorous bound on the rounding error of ``<u, x> − c`` for a unit ``u`` and ``‖x‖ ≤ X_norm_max``.

    The dot-product bound γ_{d+2}·(Σ|u_j x_j| + |c|) (d products, d − 1 additions and the
    subtraction of c) with Σ|u_j x_j| ≤ ‖u‖·‖x‖ (Cauchy–Schwarz). ``u`` is the unit roundoff of the
    arithmetic; with ``u = 0`` (exact arithmetic) the bound is 0.
    """
    if u == 0:
        return np.zeros(np.shape(c))
    return gamma(d + 2, u) * (X_norm_max + np.abs(c))


#: Acceptance factor of a margin in a target format: γ > 2.5·(format rounding bound + residual),
#: so that a slab of half-width γ/2 holds its group and no other point, with 25 % to spare for
#: the rounding of the units' results (relative to their size).
FORMAT_FACTOR = 2.5
#: Normals a failing group tries in a target format (3 in float64): a margin there is a few
#: units of the format's rounding, and a fresh random normal is cheap next to a lost point.
FORMAT_RETRIES = 16
#: Random hyperplanes a group of fewer than d points draws in a target format; it keeps the one
#: with the widest margin relative to the format's rounding.
FORMAT_CANDIDATES = 8


def format_rounding_bound(X_norm_max: float, c, d: int, fmt: Format):
    """Bound on the error of a slab unit ``<u, x> − c ± ε`` evaluated in ``fmt``, any order.

    The inputs are numbers of the format and ``u``, ``c`` are rounded to it before their margins
    are measured (see :func:`build_slabs`), so what is left is the accumulation,
    γ_{d+2}(u_acc)·(‖x‖ + |c|), and the rounding of the bias c ∓ ε to the format, u·|c| (plus
    u·ε, inside the acceptance factor). The rounding of a unit's result is relative to the result,
    so it never moves a value across the slab's edge by more than :data:`FORMAT_FACTOR` leaves room for.
    """
    return fmt.u * np.abs(c) + gamma(d + 2, fmt.accumulator.u) * (X_norm_max + np.abs(c))


def slab_values(X: np.ndarray, U: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a[i, g] = <u_g, x_i> − c_g`` (exact for exact arrays)."""
    if X.dtype == object or U.dtype == object:
        return _exact.affine(EXACT.asarray(X), U, -c)
    return X @ U.T - c


# ---------------------------------------------------------------------------------------------
# the adaptive slab set
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlabSet:
    """Groups with their hyperplanes and verified margins.

    Attributes
    ----------
    groups : tuple of int arrays
        Row indices (into ``X``) of each group; affinely independent unless ``allow_dependent``.
    normals : (G, d) array
        ``u_g`` (unit norm in float64; integer vectors in exact arithmetic).
    offsets : (G,) array
        ``c_g``; the slab function is ``a_g(x) = <u_g, x> − c_g``.
    margins : (G,) array
        ``γ_g = min_{x ∉ G} |a_g(x)|`` over all rows of ``X`` (``inf`` when G holds every point).
    residuals : (G,) array
        ``max_{p ∈ G} |a_g(p)|`` as computed (0 in exact arithmetic).
    rounding : (G,) array
        Rigorous bound on the float64 rounding of ``a_g`` (0 in exact arithmetic).
    labels : (G,) int array or None
        Class code of each (class-pure) group.
    planned_groups : int
        Number of groups before adaptation.
    hull_dim : int
        Dimension of the data's affine hull used to size the groups.
    shrunk_groups : int
        Groups that had to give up points.
    moved_points : int
        Points moved out of their planned group.
    normal_retries : int
        Groups fixed by drawing another normal.
    exact : bool
    """

    groups: tuple
    normals: np.ndarray
    offsets: np.ndarray
    margins: np.ndarray
    residuals: np.ndarray
    rounding: np.ndarray
    labels: np.ndarray | None
    planned_groups: int
    hull_dim: int
    shrunk_groups: int = 0
    moved_points: int = 0
    normal_retries: int = 0
    exact: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    @property
    def extra_groups(self) -> int:
        """Groups used beyond the plan (0 on general-position data)."""
        return self.n_groups - self.planned_groups

    @property
    def min_margin(self):
        """The smallest margin (exact in exact arithmetic: it may exceed the float64 range)."""
        return min(self.margins) if len(self.margins) else float("inf")

    def finite_margins(self) -> tuple[np.ndarray, np.ndarray]:
        """Which margins are finite, and the margins with 1 in place of ∞.

        A margin is ∞ when its group holds every point (there is no other point to avoid); the
        builders then use any slab width, and 1 keeps the arithmetic of the others. An exact
        margin beyond the float64 range is finite (it is not rounded to decide).
        """
        finite = arithmetic(self.exact).isfinite(self.margins)
        return finite, np.where(finite, self.margins, 1)

    def summary(self) -> dict:
        """JSON-able facts for a network's ``meta`` (exact margins beyond the float64 range are
        None with their log₂ beside, see :meth:`memorize._arith.Arithmetic.summary`)."""
        ar = arithmetic(self.exact)
        finite = [v for v, ok in zip(self.margins, ar.isfinite(self.margins)) if ok]
        return {
            "groups": self.n_groups,
            "planned_groups": self.planned_groups,
            "extra_groups": self.extra_groups,
            "hull_dim": self.hull_dim,
            "shrunk_groups": self.shrunk_groups,
            "moved_points": self.moved_points,
            "normal_retries": self.normal_retries,
            "max_group_size": int(max((len(g) for g in self.groups), default=0)),
            **ar.summary(min_margin=min(finite) if finite else None, median_margin=_median(finite)),
        }


def _median(values: list):
    """The median of the finite margins: NumPy's median of their float64 values when they all
    have one (as every float64 build reports it), else the exact median (None when empty)."""
    if not values:
        return None
    floats = [_exact.summary_float(v) for v in values]
    if None not in floats:
        return float(np.median(floats))
    s = sorted(values)
    k = len(s) // 2
    return s[k] if len(s) % 2 else _exact.exact_scalar((Fraction(s[k - 1]) + s[k]) / 2)


@dataclass(frozen=True)
class _Setting:
    """What every step of one :func:`build_slabs` call shares: the data and the acceptance rule."""

    ar: Arithmetic
    X: np.ndarray
    gen: np.random.Generator
    basis: np.ndarray | None
    hull_dim: int
    xnorm: float  # max ‖x‖, for the float64 rounding bounds
    tol_factor: float
    allow_dependent: bool
    fmt: Format | None = None  # the format the slabs are built for (None: float64 as always)
    format_factor: float = 2.5

    def snap(self, U, c):
        """The hyperplanes as the target format holds them (unchanged without a format)."""
        if self.fmt is None:
            return U, c
        return self.fmt.round(U), self.fmt.round(c)

    def check(self, groups, U, c):
        """Margins, residuals, rounding bounds and pass/fail of a block of groups.

        A group passes when its margin exceeds ``tol_factor·(rounding bound + residual)``. In
        exact arithmetic both are 0 (the exact hyperplane holds its group, see
        :func:`fit_hyperplane`), so the test is margin > 0: no other point on the hyperplane.
        For a target format the bound is :func:`format_rounding_bound` and the factor
        ``format_factor`` (default :data:`FORMAT_FACTOR`).
        """
        A = np.abs(slab_values(self.X, U, c))  # (n, g)
        member = np.zeros(A.shape, dtype=bool)
        for j, grp in enumerate(groups):
            member[grp, j] = True
        residuals = np.max(np.where(member, A, self.ar.scalar(0)), axis=0)
        margins = np.min(np.where(member, np.inf, A), axis=0)
        if self.fmt is not None:
            rounding = format_rounding_bound(self.xnorm, c, self.X.shape[1], self.fmt)
            return margins, residuals, rounding, np.asarray(margins > self.format_factor * (rounding + residuals), dtype=bool)
        rounding = rounding_bound(self.xnorm, c, self.X.shape[1], self.ar.u)
        ok = np.asarray(margins > self.tol_factor * (rounding + residuals), dtype=bool)
        return margins, residuals, rounding, ok


class _Slab(NamedTuple):
    """One accepted group with its hyperplane and the facts its check measured."""

    members: np.ndarray
    u: np.ndarray
    c: object
    margin: object
    residual: object
    rounding: float


class _Repair(NamedTuple):
    slab: _Slab
    released: list
    retries: int


def _independent_subset(ar: Arithmetic, P: np.ndarray) -> list[int]:
    """Positions of a maximal affinely independent subset of the rows of ``P`` (row 0 kept)."""
    if P.shape[0] == 1:
        return [0]
    D = P[1:] - P[0]
    if ar.exact:
        return [0] + [1 + j for j in rref(D.T)[1]]
    from scipy.linalg import qr

    _, R, piv = qr(D.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    r = int(np.sum(diag > rank_tol(diag, D.shape)))
    return [0] + sorted(1 + int(j) for j in piv[:r])


def _row_space(P: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean, orthonormal row-space basis Q (rank × d) and rank of the centred group (float64)."""
    mean = P.mean(axis=0)
    D = P - mean
    if P.shape[0] == 1:
        return mean, np.zeros((0, P.shape[1])), 0
    if D.shape[0] <= _SVD_MAX or D.shape[0] > D.shape[1]:
        _, s, vt = np.linalg.svd(D, full_matrices=False)
        r = int(np.sum(s > rank_tol(s, D.shape)))
        return mean, vt[:r], r
    from scipy.linalg import qr

    Qm, R, _ = qr(D.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    r = int(np.sum(diag > rank_tol(diag, D.shape)))
    return mean, Qm[:, :r].T, r


class _ExactNormals:
    """Hyperplanes through one group in exact arithmetic: each draw is a new random null vector."""

    def __init__(self, st: _Setting, P: np.ndarray):
        self.st, self.P = st, P
        self._first = _fit_exact(P, st.basis, st.gen)
        self.rank = self._first[2]

    def draw(self):
        fit, self._first = self._first, None
        u, c, _ = fit if fit is not None else _fit_exact(self.P, self.st.basis, self.st.gen)
        return u, c

    def blocking_member(self, members, u, c, limit):
        return None  # an exact group only fails on a point exactly on its hyperplane: retry normals


class _FloatNormals:
    """Hyperplanes through one group in float64: random unit normals orthogonal to its row space."""

    def __init__(self, st: _Setting, P: np.ndarray):
        self.st, self.P = st, P
        self.mean, self.Q, self.rank = _row_space(P)
        self.Q_draw = self.Q
        if st.fmt is not None and st.basis is None and P.shape[0] < P.shape[1]:
            # for a format: through the origin too, so the offset rounds to nothing
            _, vt_s, vt = np.linalg.svd(P, full_matrices=False)
            self.Q_draw = vt[: int(np.sum(vt_s > rank_tol(vt_s, P.shape)))]

    def draw(self):
        u = _draw_normal(self.Q_draw, self.P.shape[1], self.st.gen, self.st.basis)
        return u, float(u @ self.mean)

    def blocking_member(self, members, u, c, limit):
        """The member to drop when a foreign point lies in the group's affine span, else None.

        Such a point lies on every hyperplane through the group, so no normal can help; the
        member carrying the largest weight in the point's affine combination leaves.
        """
        X, d = self.st.X, self.P.shape[1]
        outside = np.ones(X.shape[0], dtype=bool)
        outside[members] = False
        near = np.flatnonzero(outside & (np.abs(X @ u - c) <= limit))[:64]
        if not near.size:
            return None
        Z = X[near] - self.mean
        span_tol = 64 * max(d, 2) * U64 * (self.st.xnorm + float(np.linalg.norm(self.mean)))
        inside = np.linalg.norm(Z - (Z @ self.Q.T) @ self.Q, axis=1) <= span_tol
        if not inside.any():
            return None
        x = X[near[int(np.argmax(inside))]]
        lam = np.linalg.lstsq((self.P[1:] - self.P[0]).T, x - self.P[0], rcond=None)[0]
        return 1 + int(np.argmax(np.abs(lam)))


def _draw_normal(Q: np.ndarray, d: int, gen, basis) -> np.ndarray:
    g = _random_direction(d, gen, basis)
    for _ in range(2):
        g = g - Q.T @ (Q @ g)
    nrm = float(np.linalg.norm(g))
    return g / nrm if nrm > 0 else g


def _try_normals(st: _Setting, members: list, normals, n_retries: int):
    """Up to ``1 + n_retries`` hyperplanes through the group; the first that passes wins.

    Another normal can only help when the group leaves at least two free directions in the hull.
    Returns ``(slab or None, position of the member to drop, normals redrawn)``.
    """
    drop = len(members) - 1
    retries = 0
    for attempt in range(n_retries + 1):
        u, c = normals.draw()
        U1, c1 = st.snap(u[None, :], np.array([c], dtype=st.ar.dtype))
        u, c = U1[0], c1[0]
        m, r, rb, ok = st.check([np.array(members)], U1, c1)
        if ok[0]:
            return _Slab(np.array(sorted(members)), u, c, m[0], r[0], rb[0]), drop, retries
        if attempt == 0 and len(members) > 1:
            factor = st.tol_factor if st.fmt is None else st.format_factor
            blocking = normals.blocking_member(members, u, c, factor * (rb[0] + r[0]))
            if blocking is not None:
                return None, blocking, retries
        if st.hull_dim - normals.rank < 2:
            break
        if attempt < n_retries:
            retries += 1
    return None, drop, retries


def _inseparable(st: _Setting, i: int) -> AssumptionError:
    """The error for a point no hyperplane separates, with the measured reason: norms that
    overflow float64, or the distance to the nearest point against the rounding bound."""
    Xf = st.ar.to_float(st.X)
    scale = float(np.max(np.abs(Xf))) if Xf.size else 0.0
    if not np.isfinite(st.xnorm):
        return AssumptionError(
            f"X: the norms of the points overflow float64 (coordinates up to {scale:.3g}), so no hyperplane "
            f"margin can be measured; rescale X (e.g. X / np.max(np.abs(X)))"
        )
    scale = scale if scale > 0 else 1.0
    dist = np.linalg.norm((Xf - Xf[i]) / scale, axis=1) * scale  # scaled: no overflow or underflow
    dist[i] = np.inf
    j = int(np.argmin(dist))
    where = st.ar.name + " arithmetic" if st.fmt is None else st.fmt.name
    u = st.ar.u if st.fmt is None else st.fmt.u
    bound = float(rounding_bound(st.xnorm, 0.0, Xf.shape[1], u)) * st.tol_factor
    return AssumptionError(
        f"X: point {i} cannot be separated from the other points by a hyperplane in {where}: "
        f"no hyperplane through it keeps every other point farther than the rounding bound {bound:.3g} "
        f"(its nearest point, {j}, is {float(dist[j]):.3g} away in the coordinates used). "
        + ("Pass exact=True or rescale the data." if st.fmt is None else
           "Build in float64, or use float_safe / float_safe_classifier, correct by design in the format.")
    )


def _repair(st: _Setting, grp, n_retries: int = 3) -> _Repair:
    """Make one failing group valid: other normals first, then give up points.

    An affinely dependent group (when not allowed, or after it failed once) first shrinks to a
    maximal independent subset. Then, while the group fails, the member blocking it leaves: the
    one a foreign point in the group's span depends on most (float64), else the last one after a
    few other normals (see :func:`_try_normals`). Claim: the returned slab passes the check; only a
    single point that cannot be separated raises :class:`AssumptionError`.
    """
    members = [int(i) for i in grp]
    released: list[int] = []
    retries = 0
    dependent_ok = st.allow_dependent  # a dependent group gets one chance; after a failure it is reduced
    sources = _ExactNormals if st.ar.exact else _FloatNormals
    while members:
        P = st.X[members]
        normals = sources(st, P)
        independent = normals.rank == len(members) - 1
        if not (independent or dependent_ok):
            keep = _independent_subset(st.ar, P)
            if len(keep) == len(members):
                # the two float rank tests (SVD of the centred group, pivoted QR of differences)
                # can disagree near their thresholds: release the last member so the loop ends
                keep = list(range(len(members) - 1))
            released.extend(members[i] for i in range(len(members)) if i not in keep)
            members = [members[i] for i in keep]
            continue
        slab, drop, tried = _try_normals(st, members, normals, n_retries)
        retries += tried
        if slab is not None:
            return _Repair(slab, released, retries)
        if not independent:
            dependent_ok = False
            continue
        if len(members) == 1:
            raise _inseparable(st, members[0])
        released.append(members.pop(drop))
    raise AssumptionError("X: empty group")  # pragma: no cover - unreachable


@dataclass
class _Collected:
    """The accepted slabs of :func:`build_slabs` and what adapting them cost."""

    slabs: list = field(default_factory=list)
    shrunk: int = 0
    moved: int = 0
    retries: int = 0

    def add_repaired(self, fix: _Repair) -> None:
        self.slabs.append(fix.slab)
        self.retries += fix.retries
        if fix.released:
            self.shrunk += 1
            self.moved += len(fix.released)


def _fit_round(st: _Setting, pending: list, out: _Collected) -> list[int]:
    """One round: fit every pending group, keep those that pass, repair the others.

    Returns the points the repaired groups released (they form the next round's groups).
    """
    U, c, ranks = fit_hyperplanes(st.X, pending, rng=st.gen, basis=st.basis, ar=st.ar)
    U, c, ranks = _origin_hyperplanes(st, pending, U, c, ranks)
    U, c = st.snap(U, c)
    U, c, ranks = _widest(st, pending, U, c, ranks)
    released: list[int] = []
    block = max(1, _BLOCK_ENTRIES // max(st.X.shape[0], 1))
    for start in range(0, len(pending), block):
        sl = slice(start, start + block)
        grp_b = pending[sl]
        m, r, rb, ok = st.check(grp_b, U[sl], c[sl])
        if not st.allow_dependent:
            ok = ok & (ranks[sl] == np.array([len(g) - 1 for g in grp_b]))
        for j, grp in enumerate(grp_b):
            if ok[j]:
                out.slabs.append(_Slab(grp, U[start + j], c[start + j], m[j], r[j], rb[j]))
                continue
            fix = _repair(st, grp, 3 if st.fmt is None else FORMAT_RETRIES)
            out.add_repaired(fix)
            released.extend(fix.released)
    return released


def _regroup(released: list[int], max_size: int, labels, gen) -> list[np.ndarray]:
    """Random groups (class-pure when ``labels``) of the released points."""
    if not released:
        return []
    rel = np.array(sorted(released), dtype=np.int64)
    parts = split_groups(rel.size, max_size, labels=None if labels is None else labels[rel], rng=gen)
    return [rel[p] for p in parts]


def build_slabs(
    X: np.ndarray,
    groups,
    *,
    rng=None,
    ar: Arithmetic | None = None,
    exact: bool = False,
    labels=None,
    max_size: int | None = None,
    hull: AffineHull | None = None,
    allow_dependent: bool = False,
    tol_factor: float = 64.0,
    fmt: Format | None = None,
    format_factor: float = FORMAT_FACTOR,
) -> SlabSet:
    """Fit a hyperplane through every group, verify every margin, adapt on degenerate data.

    Parameters
    ----------
    X : (N, d) array (float64, or exact)
        All data points: margins are measured against every row.
    groups : list of int arrays
        The planned groups (from :func:`split_groups`); rows of ``X`` not in any group are still
        kept outside every slab.
    rng : numpy.random.Generator
    ar : Arithmetic, optional
        The arithmetic to work in (default: the one ``exact`` names). In exact arithmetic a group
        fails only if another point lies exactly on its hyperplane.
    exact : bool
        Selects the exact arithmetic when ``ar`` is not given.
    labels : (N,) int array, optional
        Class codes; when given, points released by failing groups are regrouped class-pure.
    max_size : int, optional
        Size of the regrouped groups (default: the largest planned group).
    hull : AffineHull, optional
        The data's affine hull; normals are drawn inside its direction space.
    allow_dependent : bool, default False
        Accept affinely dependent groups (all their points lie on the hyperplane through their
        affine span). Right for class-pure groups, whose slab only has to flag its points; wrong
        when a label map must interpolate the group (Bubeck), so the default refuses them.
    tol_factor : float
        float64 acceptance: ``γ_g > tol_factor·(rounding bound + on-group residual)``.
    fmt : Format, optional
        Build the slabs for this format (the points ``X`` already its numbers): normals and
        offsets are rounded to it before their margins are measured, and a margin is accepted
        when ``γ_g > format_factor·(format_rounding_bound + residual)``. Default: float64.
    format_factor : float
        The acceptance factor in a target format (default :data:`FORMAT_FACTOR`, enough for a
        slab of half-width γ/2; constructions that need more room pass more).

    Returns
    -------
    SlabSet
        Claim: the groups partition the grouped rows; every group lies on its hyperplane (exactly,
        or within its residual) and every other row is at least its margin away, which exceeds
        ``tol_factor`` times the rounding bound plus the residual (is > 0 exactly).

    Raises
    ------
    AssumptionError
        Only when a single point cannot be separated from the others (float64: points closer
        than the rounding level), naming the rows.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [2, 2]])  # (0,0), (1,1), (2,2) on one line
    >>> ss = build_slabs(X, [[0, 3], [1, 2], [4]], rng=0, exact=True)
    >>> [g.tolist() for g in ss.groups], ss.extra_groups  # the line through 0 and 3 meets point 4
    ([[0], [1, 2], [4], [3]], 1)
    >>> bool(min(ss.margins) > 0)
    True
    """
    ar = _resolve(ar, exact)
    X = ar.asarray(X)
    groups = [np.asarray(g, dtype=np.int64) for g in groups]
    if fmt is not None and fmt.name == "float64":
        fmt = None  # float64's own acceptance rule (and bytes)
    st = _Setting(
        ar, X, _generator(rng), None if hull is None else hull.basis, X.shape[1] if hull is None else hull.dim,
        float(np.max(np.linalg.norm(ar.to_float(X), axis=1))), tol_factor, allow_dependent, fmt, format_factor,
    )
    if max_size is None:
        max_size = max((len(g) for g in groups), default=1)
    lab = None if labels is None else np.asarray(labels)
    out = _Collected()
    pending = groups
    while pending:
        pending = _regroup(_fit_round(st, pending, out), max_size, lab, st.gen)
    return _slab_set(st, out, lab, len(groups))


def _slab_set(st: _Setting, out: _Collected, labels, planned: int) -> SlabSet:
    ar, d = st.ar, st.X.shape[1]
    slabs = out.slabs
    return SlabSet(
        tuple(s.members for s in slabs),
        np.array([s.u for s in slabs], dtype=ar.dtype).reshape(len(slabs), d),
        np.array([s.c for s in slabs], dtype=ar.dtype),
        np.array([s.margin for s in slabs], dtype=ar.dtype),
        np.array([s.residual for s in slabs], dtype=ar.dtype),
        np.array([s.rounding for s in slabs], dtype=np.float64),
        None if labels is None else np.array([int(labels[s.members[0]]) for s in slabs], dtype=np.int64),
        planned,
        st.hull_dim,
        out.shrunk,
        out.moved,
        out.retries,
        ar.exact,
    )
