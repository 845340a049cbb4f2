"""Shared machinery of the hyperplane-slab memorizers (Baum 1988, Bubeck et al. 2020, Yun et al. §4).

Every slab construction does the same thing: split the points into groups of at most ``d``, pass
an affine hyperplane ``a(x) = <u, x> − c = 0`` through each group, and measure the group's
*margin* ``γ_G = min_{x ∉ G} |a(x)|``. A thin slab ``|a| < γ_G`` then contains the group and no
other data point. This module provides those steps as pure functions so that every builder
(and the ResNet of Yun et al. Theorem 4.1) can reuse them:

* :func:`split_groups` — random groups of at most ``size`` points, optionally class-pure, with
  a prescribed number of groups (spare groups make the groups smaller and the margins larger).
* :func:`affine_hull` — origin, orthonormal basis and dimension of the data's affine hull
  (exact SVD for small data, a randomized but sound incremental method for large data).
* :func:`fit_hyperplane` / :func:`fit_hyperplanes` — the hyperplane through one group (exactly in
  rational arithmetic, or in float64, batched for many small groups).
* :func:`build_slabs` — fit every group, check every margin against a rigorous rounding bound
  (exactly 0 is the only failure in exact mode), and adapt on degenerate data: a failing group
  first tries other normals, then gives up points one at a time; the released points form new
  groups. The result says how many groups the theorem's grouping needed beyond the plan.
* :func:`slab_values` — ``a(x)`` for all points and a block of slabs (for the builders' weights).

Nothing here perturbs the data: on data that are not in general position the groups shrink
instead, and only when a single point cannot be separated from the others (which for distinct
points happens in float64 only, when two points are closer than the rounding level) does
:func:`build_slabs` raise :class:`~memorize.errors.AssumptionError` naming the points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .. import _exact
from ..data import format_indices
from ..errors import ArgumentError, AssumptionError

__all__ = [
    "U_FP",
    "AffineHull",
    "SlabSet",
    "split_groups",
    "group_size_limit",
    "affine_hull",
    "fit_hyperplane",
    "fit_hyperplanes",
    "rounding_bound",
    "build_slabs",
    "slab_values",
]

#: float64 unit roundoff.
U_FP = 2.0**-53

# Groups larger than this use the Gram/pivoted-Cholesky path instead of a batched SVD.
_SVD_MAX = 128
# Data with N·d·min(N, d) above this use the incremental (sampled, then checked) hull.
_HULL_SVD_MAX = 2e9
# Column block of the (N, G) matrix of slab values, in matrix entries.
_BLOCK_ENTRIES = 2**22


# ---------------------------------------------------------------------------------------------
# exact linear algebra (small matrices of int / Fraction)
# ---------------------------------------------------------------------------------------------
def _rref(M: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form of an exact matrix and its pivot columns."""
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


def _exact_null_vector(D: np.ndarray, dim: int, rng: np.random.Generator) -> np.ndarray:
    """A random integer vector of the null space of the exact matrix ``D`` (rows × dim)."""
    if D.shape[0] == 0:
        R, piv = np.zeros((0, dim), dtype=object), []
    else:
        R, piv = _rref(D)
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
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    size = int(size)
    if size < 1:
        raise ArgumentError(f"size: groups need at least one point, got {size}")
    if labels is None:
        need = -(-n // size)
        g = need if n_groups is None else int(n_groups)
        if g < need:
            raise ArgumentError(f"n_groups: {n} points in groups of at most {size} need {need} groups, got {g}")
        g = min(g, n)
        perm = gen.permutation(n)
        return [np.sort(part) for part in np.array_split(perm, g) if part.size]
    labels = np.asarray(labels)
    classes = np.unique(labels)
    members = [np.nonzero(labels == c)[0] for c in classes]
    counts = np.array([m.size for m in members])
    k = -(-counts // size)
    need = int(k.sum())
    if n_groups is not None:
        g = int(n_groups)
        if g < need:
            raise ArgumentError(
                f"n_groups: class-pure groups of at most {size} points need {need} groups for these classes, got {g}"
            )
        spare = min(g, n) - need
        while spare > 0:
            # give the next group to the class whose groups are currently largest
            load = np.where(k < counts, counts / np.maximum(k, 1), -1.0)
            j = int(np.argmax(load))
            if load[j] <= 1.0:
                break
            k[j] += 1
            spare -= 1
    out = []
    for m, kc in zip(members, k):
        perm = gen.permutation(m)
        out.extend(np.sort(part) for part in np.array_split(perm, int(kc)) if part.size)
    return out


# ---------------------------------------------------------------------------------------------
# affine hull
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AffineHull:
    """The affine hull ``origin + span(basis)`` of a point set.

    Attributes
    ----------
    origin : (d,) array (float64, or exact in exact mode)
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


def plan_group_size(X, *, exact: bool, rng) -> tuple["AffineHull | None", int]:
    """The data's affine hull (when it is cheap to find) and the largest workable group size.

    Exact data always get their hull; float data get it while one SVD costs at most
    ``_HULL_SVD_MAX`` flops, and otherwise groups of d points are planned and the margin checks of
    :func:`build_slabs` catch flat data.
    """
    n, d = X.shape
    hull = None
    if exact:
        hull = affine_hull(X, exact=True)
    elif n * d * min(n, d) <= _HULL_SVD_MAX:
        hull = affine_hull(X, rng=rng)
    return hull, group_size_limit(n, d, hull)


def group_size_limit(n: int, d: int, hull: "AffineHull | None") -> int:
    """Largest group size that can work: d, or the hull's dimension r when the data are flat.

    r + 1 points in general position inside an r-dimensional hull span it, so any hyperplane
    through them holds every point; groups of r leave a direction free. With n ≤ d every point
    fits in one group (there is no other point to avoid), so d is kept.
    """
    if hull is None or hull.dim >= d or n <= d:
        return max(1, d)
    return max(1, hull.dim)


def _float_rank_tol(s: np.ndarray, shape) -> float:
    return float(s[0]) * max(shape) * 64 * U_FP if s.size else 0.0


def affine_hull(X: np.ndarray, *, exact: bool = False, rng=None) -> AffineHull:
    """The affine hull of the rows of ``X``.

    float64: the numerical rank uses the threshold ``64·max(N, d)·u·σ_max`` on the singular values
    of the centred data. Small data (N·d·min(N, d) ≤ 2·10⁹) use one SVD. Larger data use a
    randomized but sound incremental method: the hull of ``d + 8`` random points is computed, and
    every point whose distance to it exceeds the threshold is added, until none does — the
    random sample only saves work, the result is checked on every point. ``exact=True`` works in
    rational arithmetic (small data only).
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n, d = X.shape
    if exact:
        Xe = X if X.dtype == object else _exact.to_exact_array(X)
        origin = Xe[0].copy()
        R, piv = _rref(Xe[1:] - origin) if n > 1 else (np.zeros((0, d), dtype=object), [])
        r = len(piv)
        return AffineHull(origin, None if r == d else R.T.copy(), r)
    if n == 1:
        return AffineHull(X[0].copy(), np.zeros((d, 0)), 0) if d > 0 else AffineHull(X[0].copy(), None, 0)
    origin = X.mean(axis=0)
    scale = float(np.max(np.linalg.norm(X - origin, axis=1)))
    if n * d * min(n, d) <= _HULL_SVD_MAX:
        _, s, vt = np.linalg.svd(X - origin, full_matrices=False)
        r = int(np.sum(s > _float_rank_tol(s, X.shape)))
        return AffineHull(origin, None if r == d else vt[:r].T.copy(), r)
    # incremental: basis of a random sample, then add every point far from its span
    idx = gen.choice(n, size=min(n, d + 8), replace=False)
    basis = np.zeros((d, 0))
    tol = 64 * max(n, d) * U_FP * max(scale, np.finfo(float).tiny)
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
        # residual distance of every point to the current hull, in column blocks of rows
        far = []
        step = max(1, _BLOCK_ENTRIES // max(d, 1))
        for start in range(0, n, step):
            Z = X[start : start + step] - origin
            res = Z - (Z @ basis) @ basis.T
            far.extend((np.nonzero(np.linalg.norm(res, axis=1) > tol)[0] + start).tolist())
        if not far:
            return AffineHull(origin, basis, basis.shape[1])
        idx = np.array(far[: d + 8])
    return AffineHull(origin, basis, basis.shape[1])  # pragma: no cover - loop always returns


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
    c, piv, rank, _ = dpstrf(Gm, tol=D.shape[1] * 64 * U_FP, lower=1)
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
            if not np.all(np.isfinite(piv)) or piv.min() <= piv.max() * k * 64 * U_FP:
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
    if res > 1e3 * k * U_FP * float(np.max(np.linalg.norm(D, axis=1))):
        return None
    return u


def fit_hyperplane(P, *, rng=None, basis=None, exact: bool = False):
    """The affine hyperplane ``<u, x> = c`` through the rows of ``P`` (m ≤ d points).

    The normal is a random vector of the null space of the centred group (restricted to the
    hull's direction space ``basis`` when given), so groups of fewer than d points get a generic
    hyperplane. float64: ``u`` has unit norm. Exact: ``u`` is an integer vector (zero when the
    group spans the whole hull) and ``c`` is exact.

    Returns
    -------
    u : (d,) array
    c : float or Fraction
    rank : int
        Rank of the centred group; the group is affinely independent iff ``rank == m − 1``.
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    P = np.asarray(P)
    m, d = P.shape
    if exact:
        Pe = P if P.dtype == object else _exact.to_exact_array(P)
        D = Pe[1:] - Pe[0]
        if basis is None:
            u = _exact_null_vector(D, d, gen)
            rank = len(_rref(D)[1]) if m > 1 else 0
        else:
            B = basis if basis.dtype == object else _exact.to_exact_array(basis)
            DB = D @ B if m > 1 else np.zeros((0, B.shape[1]), dtype=object)
            z = _exact_null_vector(DB, B.shape[1], gen)
            u = _exact.to_exact_array(B @ z)
            rank = len(_rref(D)[1]) if m > 1 else 0
        c = _exact.exact_scalar(sum((u[j] * Pe[0, j] for j in range(d)), 0))
        return u, c, rank
    P = np.asarray(P, dtype=np.float64)
    mean = P.mean(axis=0)
    D = P - mean
    g = _random_direction(d, gen, basis)
    if m == 1:
        u, rank = g, 0
    elif m <= _SVD_MAX:
        _, s, vt = np.linalg.svd(D, full_matrices=False)
        rank = int(np.sum(s > _float_rank_tol(s, D.shape)))
        Q = vt[:rank]
        u = g - Q.T @ (Q @ g)
        u = u - Q.T @ (Q @ u)
    else:
        u = _null_vector_lu(P[1:] - P[0], gen) if basis is None and m <= d else None
        if u is not None:
            rank = m - 1  # a nonsingular (m−1)-block of the differences proves affine independence
        else:
            u, rank = _project_out_gram(D, g)
    nrm = float(np.linalg.norm(u))
    u = u / nrm if nrm > 0 else u
    return u, float(u @ mean), rank


def fit_hyperplanes(X: np.ndarray, groups, *, rng=None, basis=None, exact: bool = False):
    """Hyperplanes through many groups; float groups of equal small size go through one batched SVD.

    Returns ``(U, c, ranks)``: normals (G, d), offsets (G,), ranks of the centred groups (G,).
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    G = len(groups)
    n, d = X.shape
    if exact:
        U = np.empty((G, d), dtype=object)
        c = np.empty(G, dtype=object)
        ranks = np.zeros(G, dtype=np.int64)
        for i, grp in enumerate(groups):
            U[i], c[i], ranks[i] = fit_hyperplane(X[grp], rng=gen, basis=basis, exact=True)
        return U, c, ranks
    U = np.zeros((G, d))
    c = np.zeros(G)
    ranks = np.zeros(G, dtype=np.int64)
    sizes = np.array([len(g) for g in groups])
    for m in np.unique(sizes):
        which = np.nonzero(sizes == m)[0]
        if m == 1 or m > _SVD_MAX:
            for i in which:
                U[i], c[i], ranks[i] = fit_hyperplane(X[groups[i]], rng=gen, basis=basis)
            continue
        idx = np.stack([groups[i] for i in which])
        P = X[idx]  # (g, m, d)
        mean = P.mean(axis=1)
        D = P - mean[:, None, :]
        _, s, vt = np.linalg.svd(D, full_matrices=False)
        tol = s[:, :1] * max(m, d) * 64 * U_FP
        keep = s > tol  # (g, k)
        Q = vt * keep[:, :, None]
        g = gen.standard_normal((len(which), d)) if basis is None else gen.standard_normal((len(which), basis.shape[1])) @ basis.T
        for _ in range(2):
            g = g - np.einsum("gkd,gk->gd", Q, np.einsum("gkd,gd->gk", Q, g))
        nrm = np.linalg.norm(g, axis=1, keepdims=True)
        g = np.divide(g, nrm, out=np.zeros_like(g), where=nrm > 0)  # zero only when no direction is left
        U[which] = g
        c[which] = np.einsum("gd,gd->g", g, mean)
        ranks[which] = keep.sum(axis=1)
    return U, c, ranks


def rounding_bound(X_norm_max: float, c, d: int):
    """Rigorous bound on the float64 error of ``<u, x> − c`` for a unit ``u`` and ``‖x‖ ≤ X_norm_max``.

    Standard dot-product bound γ_{d+1}·(Σ|u_j x_j| + |c|) with Σ|u_j x_j| ≤ ‖u‖·‖x‖ (Cauchy–Schwarz).
    """
    k = (d + 2) * U_FP
    return k / (1 - k) * (X_norm_max + np.abs(c))


def slab_values(X: np.ndarray, U: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a[i, g] = <u_g, x_i> − c_g`` (exact for exact arrays)."""
    if X.dtype == object or U.dtype == object:
        return _exact.affine(X if X.dtype == object else _exact.to_exact_array(X), U, -c)
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
        ``u_g`` (unit norm in float64; integer vectors in exact mode).
    offsets : (G,) array
        ``c_g``; the slab function is ``a_g(x) = <u_g, x> − c_g``.
    margins : (G,) array
        ``γ_g = min_{x ∉ G} |a_g(x)|`` over all rows of ``X`` (``inf`` when G holds every point).
    residuals : (G,) array
        ``max_{p ∈ G} |a_g(p)|`` as computed (0 in exact mode).
    rounding : (G,) array
        Rigorous bound on the float64 rounding of ``a_g`` (0 in exact mode).
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
    def min_margin(self) -> float:
        return float(min(self.margins)) if len(self.margins) else float("inf")

    def summary(self) -> dict:
        """JSON-able facts for a network's ``meta``."""
        m = [float(v) for v in self.margins]
        finite = [v for v in m if np.isfinite(v)]
        return {
            "groups": self.n_groups,
            "planned_groups": self.planned_groups,
            "extra_groups": self.extra_groups,
            "hull_dim": self.hull_dim,
            "shrunk_groups": self.shrunk_groups,
            "moved_points": self.moved_points,
            "normal_retries": self.normal_retries,
            "min_margin": min(finite) if finite else None,
            "median_margin": float(np.median(finite)) if finite else None,
            "max_group_size": int(max((len(g) for g in self.groups), default=0)),
        }


def _check_block(X, groups, U, c, gid_block, xnorm, exact, tol_factor):
    """Margins, residuals, rounding bounds and pass/fail for a block of groups."""
    n = X.shape[0]
    A = slab_values(X, U, c)  # (n, g)
    g = len(groups)
    if exact:
        absA = np.abs(A)
        margins = np.empty(g, dtype=object)
        residuals = np.zeros(g, dtype=object)
        ok = np.zeros(g, dtype=bool)
        for j, grp in enumerate(groups):
            col = absA[:, j].copy()
            if any(col[grp] != 0):  # the exact hyperplane must contain its group
                margins[j] = 0
                continue
            mask = np.ones(n, dtype=bool)
            mask[grp] = False
            others = col[mask]
            margins[j] = min(others) if others.size else None
            # (a zero normal only passes when no other point exists: then the slab is everything)
            ok[j] = margins[j] is None or margins[j] > 0
            if margins[j] is None:
                margins[j] = float("inf")
        return margins, residuals, np.zeros(g), ok
    absA = np.abs(A)
    member = np.zeros((n, g), dtype=bool)
    for j, grp in enumerate(groups):
        member[grp, j] = True
    residuals = np.max(np.where(member, absA, 0.0), axis=0)
    margins = np.min(np.where(member, np.inf, absA), axis=0)
    rounding = rounding_bound(xnorm, c, X.shape[1])
    ok = margins > tol_factor * (rounding + residuals)
    return margins, residuals, rounding, ok


def _independent_subset(P, exact: bool) -> list[int]:
    """Positions of a maximal affinely independent subset of the rows of ``P`` (row 0 kept)."""
    m = P.shape[0]
    if m == 1:
        return [0]
    D = P[1:] - P[0]
    if exact:
        _, piv = _rref(D.T)
        return [0] + [1 + j for j in piv]
    from scipy.linalg import qr

    _, R, piv = qr(D.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    rank = int(np.sum(diag > (diag[0] if diag.size else 0.0) * max(D.shape) * 64 * U_FP))
    return [0] + sorted(1 + int(j) for j in piv[:rank])


def _row_space(P: np.ndarray, basis) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean, orthonormal row-space basis Q (rank × d) and rank of the centred group (float64)."""
    mean = P.mean(axis=0)
    D = P - mean
    if P.shape[0] == 1:
        return mean, np.zeros((0, P.shape[1])), 0
    if D.shape[0] <= _SVD_MAX or D.shape[0] > D.shape[1]:
        _, s, vt = np.linalg.svd(D, full_matrices=False)
        rank = int(np.sum(s > _float_rank_tol(s, D.shape)))
        return mean, vt[:rank], rank
    from scipy.linalg import qr

    Qm, R, _ = qr(D.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    rank = int(np.sum(diag > diag[0] * max(D.shape) * 64 * U_FP)) if diag.size else 0
    return mean, Qm[:, :rank].T, rank


def _draw_normal(Q: np.ndarray, d: int, gen, basis) -> np.ndarray:
    g = _random_direction(d, gen, basis)
    for _ in range(2):
        g = g - Q.T @ (Q @ g)
    nrm = float(np.linalg.norm(g))
    return g / nrm if nrm > 0 else g


def _repair(X, grp, *, gen, basis, exact, xnorm, tol_factor, hull_dim, allow_dependent, n_retries=3):
    """Make one failing group valid: other normals first, then give up points.

    An affinely dependent group (when not allowed) first shrinks to a maximal independent
    subset. Then, while the group fails: if a foreign point lies in the group's affine span no
    normal can help, so the member carrying the largest weight in that point's affine
    combination leaves; otherwise a few other normals are drawn (when the group leaves at least
    two free directions) before the last member leaves.
    Returns (kept_indices, u, c, margin, residual, rounding, released_indices, retries).
    """
    members = [int(i) for i in grp]
    released: list[int] = []
    retries = 0
    n, d = X.shape
    cdt = object if exact else np.float64
    dependent_ok = allow_dependent  # a dependent group gets one chance; after a failure it is reduced
    while members:
        P = X[members]
        if exact:
            u, cc, rank = fit_hyperplane(P, rng=gen, basis=basis, exact=True)
        else:
            mean, Q, rank = _row_space(P, basis)
        if rank != len(members) - 1 and not dependent_ok:
            keep = _independent_subset(P, exact)
            drop = sorted(set(range(len(members))) - set(keep))
            if not drop:
                # the two float rank tests (SVD of the centred group, pivoted QR of differences)
                # can disagree near their thresholds: release the last member so the loop ends
                drop = [len(members) - 1]
                keep = list(range(len(members) - 1))
            released.extend(members[i] for i in drop)
            members = [members[i] for i in keep]
            continue
        drop_pos = len(members) - 1
        for attempt in range(n_retries + 1):
            if attempt and exact:
                u, cc, rank = fit_hyperplane(P, rng=gen, basis=basis, exact=True)
            elif not exact:
                u = _draw_normal(Q, d, gen, basis)
                cc = float(u @ mean)
            m, r, rb, ok = _check_block(X, [np.array(members)], u[None, :], np.array([cc], dtype=cdt), None, xnorm, exact, tol_factor)
            if ok[0]:
                return np.array(sorted(members)), u, cc, m[0], r[0], rb[0], released, retries
            if not exact and attempt == 0 and len(members) > 1:
                # a foreign point inside the affine span of the group defeats every normal
                a = X @ u - cc
                mask = np.ones(n, dtype=bool)
                mask[members] = False
                off = np.flatnonzero(mask & (np.abs(a) <= tol_factor * (rb[0] + r[0])))
                if off.size:
                    Z = X[off[:64]] - mean
                    inside = np.linalg.norm(Z - (Z @ Q.T) @ Q, axis=1) <= 64 * max(d, 2) * U_FP * (xnorm + float(np.linalg.norm(mean)))
                    if inside.any():
                        x = X[off[:64][int(np.argmax(inside))]]
                        lam = np.linalg.lstsq((P[1:] - P[0]).T, x - P[0], rcond=None)[0]
                        drop_pos = 1 + int(np.argmax(np.abs(lam)))
                        break
            # another normal can only help when the group leaves at least two free directions
            if hull_dim - rank < 2:
                break
            if attempt < n_retries:
                retries += 1
        if rank != len(members) - 1 and dependent_ok:
            dependent_ok = False
            continue
        if len(members) == 1:
            near = members
            if not exact:
                dist = np.linalg.norm(X - X[members[0]], axis=1)
                dist[members[0]] = np.inf
                near = [members[0], int(np.argmin(dist))]
            raise AssumptionError(
                f"X: point {near[0]} cannot be separated from the other points by a hyperplane in "
                f"{'exact' if exact else 'float64'} arithmetic (it is within the rounding level of the data of "
                f"point(s) {format_indices(near[1:])}). Pass exact=True or rescale the data."
            )
        released.append(members.pop(drop_pos))
    raise AssumptionError("X: empty group")  # pragma: no cover - unreachable


def build_slabs(
    X: np.ndarray,
    groups,
    *,
    rng=None,
    exact: bool = False,
    labels=None,
    max_size: int | None = None,
    hull: AffineHull | None = None,
    allow_dependent: bool = False,
    tol_factor: float = 64.0,
) -> SlabSet:
    """Fit a hyperplane through every group, verify every margin, adapt on degenerate data.

    Parameters
    ----------
    X : (N, d) float64 array (or exact object array when ``exact``)
        All data points: margins are measured against every row.
    groups : list of int arrays
        The planned groups (from :func:`split_groups`); rows of ``X`` not in any group are still
        kept outside every slab.
    rng : numpy.random.Generator
    exact : bool
        Rational arithmetic: a group fails only if another point lies exactly on its hyperplane.
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

    Returns
    -------
    SlabSet

    Raises
    ------
    AssumptionError
        Only when a single point cannot be separated from the others (float64: points closer
        than the rounding level), naming the rows.
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    groups = [np.asarray(g, dtype=np.int64) for g in groups]
    n, d = X.shape
    planned = len(groups)
    basis = None if hull is None else hull.basis
    hull_dim = d if hull is None else hull.dim
    if exact and X.dtype != object:
        X = _exact.to_exact_array(X)
    if max_size is None:
        max_size = max((len(g) for g in groups), default=1)
    xnorm = 0.0 if exact else float(np.max(np.linalg.norm(X, axis=1)))
    lab = None if labels is None else np.asarray(labels)

    acc_groups, acc_U, acc_c, acc_m, acc_r, acc_rb = [], [], [], [], [], []
    shrunk = moved = retries_total = 0
    pending = groups
    while pending:
        U, c, ranks = fit_hyperplanes(X, pending, rng=gen, basis=basis, exact=exact)
        released: list[int] = []
        block = max(1, _BLOCK_ENTRIES // max(n, 1))
        for start in range(0, len(pending), block):
            sl = slice(start, start + block)
            grp_b = pending[sl]
            m, r, rb, ok = _check_block(X, grp_b, U[sl], c[sl], None, xnorm, exact, tol_factor)
            if not allow_dependent:
                ok = ok & (ranks[sl] == np.array([len(g) - 1 for g in grp_b]))
            for j, grp in enumerate(grp_b):
                if ok[j]:
                    acc_groups.append(grp)
                    acc_U.append(U[start + j])
                    acc_c.append(c[start + j])
                    acc_m.append(m[j])
                    acc_r.append(r[j])
                    acc_rb.append(rb[j])
                    continue
                kept, u, cc, mm, rr, rbb, rel, nre = _repair(
                    X, grp, gen=gen, basis=basis, exact=exact, xnorm=xnorm, tol_factor=tol_factor, hull_dim=hull_dim,
                    allow_dependent=allow_dependent,
                )
                retries_total += nre
                if rel:
                    shrunk += 1
                    moved += len(rel)
                    released.extend(rel)
                acc_groups.append(kept)
                acc_U.append(u)
                acc_c.append(cc)
                acc_m.append(mm)
                acc_r.append(rr)
                acc_rb.append(rbb)
        if released:
            rel = np.array(sorted(released), dtype=np.int64)
            if lab is None:
                parts = split_groups(rel.size, max_size, rng=gen)
            else:
                parts = split_groups(rel.size, max_size, labels=lab[rel], rng=gen)
            pending = [rel[p] for p in parts]
        else:
            pending = []

    dtype = object if exact else np.float64
    normals = np.array(acc_U, dtype=dtype).reshape(len(acc_U), d)
    offsets = np.array(acc_c, dtype=dtype)
    group_labels = None if lab is None else np.array([int(lab[g[0]]) for g in acc_groups], dtype=np.int64)
    return SlabSet(
        tuple(acc_groups),
        normals,
        offsets,
        np.array(acc_m, dtype=object if exact else np.float64),
        np.array(acc_r, dtype=object if exact else np.float64),
        np.array(acc_rb, dtype=np.float64),
        group_labels,
        planned,
        hull_dim,
        shrunk,
        moved,
        retries_total,
        exact,
    )
