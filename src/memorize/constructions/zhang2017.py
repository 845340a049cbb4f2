"""Zhang, Bengio, Hardt, Recht, Vinyals 2017, Theorem 1: one hidden layer of N ReLUs.

All hidden units share one direction ``w``; unit ``j`` computes ``relu(<w, x> − b_j)``. Along the
projection ``t = <w, x>`` the network is the piecewise-linear interpolant of the sorted data, so
its output weights come from first and second divided differences in O(N), never a dense solve.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import lfilter

from .. import _exact
from ..data import Dataset, as_rng, prepare
from ..errors import ArgumentError, AssumptionError
from ..network import Dense, Network
from ..activations import relu
from ..registry import Architecture, PaperSize, register
from ..verify import check_self

__all__ = ["zhang2017", "architecture"]

_U = 2.0**-53  # float64 unit roundoff


def architecture(n: int, dx: int, dy: int = 1, **_options) -> Architecture:
    """N hidden ReLUs in one layer; (N·d + N) + (k·N + k) stored parameters."""
    return Architecture("zhang2017", dx, (n,), dy, n * dx + n + dy * n + dy, notes="2N + d free parameters for k = 1")


def paper_size(n: int, dx: int, dy: int = 1, **_options) -> PaperSize:
    """Theorem 1's statement: N hidden units."""
    return PaperSize((n,), n, "N (Zhang et al. 2017, Thm 1)")


def _auto_directions(n: int) -> int:
    # Each candidate costs one sort of N projections. Best-of-64 lowers the float64 error
    # 3-5× at N = 1e4 (0.4 s of sorting at N = 2e5); at N ≥ 1e6 one candidate (scored with
    # both signs) keeps the build within a few argsorts (see docs/benchmarks.md).
    return 64 if n <= 200_000 else int(max(1, 1_000_000 // n))


def _largest_terms(Zs: np.ndarray, Ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted float64 error of the θ = 0 spline per candidate, for +w and for −w.

    The output unit adds up terms α_j·relu(z_i − b_j) whose sum is y_i; each term is rounded to
    about 2⁻⁵³ of its size, and the largest term (a steep kink over a tiny gap, seen from the far
    end of the data) dominates the error. For +w the kink at z_i is seen from z_max, for −w from
    z_min, so one sort scores both signs. Among candidate directions this predicts the measured
    error best (Spearman 0.95 over 48 directions at N = 1e4, against 0.76 for the smallest gap).
    ``Zs`` (n, K) sorted projections, ``Ys`` (n, K, k) labels in that order.
    """
    n, K = Zs.shape
    if n < 3:
        return np.zeros(K), np.zeros(K)
    m = np.diff(Ys, axis=0) / np.diff(Zs, axis=0)[:, :, None]
    jump = np.abs(np.diff(m, axis=0)).max(axis=2)  # |α| at the interior points z_2..z_{n-1}
    zi = Zs[1:-1]
    return (jump * (Zs[-1] - zi)).max(axis=0), (jump * (zi - Zs[0])).max(axis=0)


def _choose_direction(X: np.ndarray, Y: np.ndarray, rng: np.random.Generator, n_directions: int, exact: bool):
    """Draw candidate directions and keep the one with the smallest predicted float64 error.

    The score is the largest output term (see :func:`_largest_terms`) plus the offset term
    max|z|·max|y|/gap, which covers uncentred data whose projections are far from zero. Half of
    the candidates are orthogonal to the data mean, which removes the offset of uncentred data
    (raw pixels). Candidates whose projections are not distinct in float64 are never chosen.
    Returns the direction, the sorted order of the points along it, the smallest gap and max|z|.
    """
    n, d = X.shape
    W = rng.standard_normal((d, n_directions))
    mu = (np.ones(n) @ X) / n  # a matrix-vector product: several times faster than X.mean(0)
    mnorm = np.linalg.norm(mu)
    if d > 1 and mnorm > 0:
        u = mu / mnorm
        half = n_directions // 2
        W[:, :half] -= np.outer(u, u @ W[:, :half])
    if exact:
        # Integer directions keep the exact projections short (scaling w changes nothing).
        scale = 2.0**20 / np.max(np.abs(W), axis=0)
        W = np.round(W * scale)
        W[:, np.all(W == 0, axis=0)] = 1.0
    else:
        W /= np.linalg.norm(W, axis=0)
    # (WᵀXᵀ)ᵀ is Fortran-ordered (column sorts run on contiguous memory), and BLAS computes
    # it several times faster than X @ W for a handful of columns.
    Z = (W.T @ X.T).T
    order = np.argsort(Z, axis=0)
    Zs = np.take_along_axis(Z, order, axis=0)
    gaps = np.diff(Zs, axis=0) if n > 1 else np.ones((1, n_directions))
    min_gap = gaps.min(axis=0)
    zmax = np.max(np.abs(Zs[[0, -1]]), axis=0)
    distinct = min_gap > 64 * np.finfo(float).eps * np.maximum(zmax, np.finfo(float).tiny)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        plus, minus = _largest_terms(Zs, Y[order])
        offset = zmax * max(1.0, float(np.max(np.abs(Y)))) / np.where(min_gap > 0, min_gap, np.nan)
        score = np.concatenate([plus + offset, minus + offset])
    score = np.where(np.tile(distinct, 2) & np.isfinite(score), score, np.inf)
    best = int(np.argmin(score)) if np.isfinite(score).any() else int(np.argmax(min_gap))
    col, sign = best % n_directions, (1 if best < n_directions else -1)
    # −w sorts the same points in reverse
    col_order = order[:, col] if sign > 0 else order[::-1, col]
    return sign * W[:, col], np.ascontiguousarray(col_order), float(min_gap[col]), float(zmax[col])


def _slopes(z, b1, Y, theta):
    """Slopes s_i of the interpolant on (b_i, b_{i+1}); α = diff(s)."""
    if z.dtype == object:
        # Fractions, so that the divided differences below divide exactly (int / int is a float)
        zb = np.array([Fraction(v) for v in [b1, *z]], dtype=object)
        Yp = np.concatenate([np.zeros((1, Y.shape[1]), dtype=object), Y])
    else:
        zb = np.concatenate([[b1], z])
        Yp = np.concatenate([np.zeros((1, Y.shape[1])), Y])
    h = np.diff(zb)
    m = np.diff(Yp, axis=0) / h[:, None]
    if theta == 0:
        return m
    # s_1 = m_1 (the first kink sits g to the left of z_1); for i ≥ 2:
    # s_i = m_i / (1 − θ) − r s_{i−1},  r = θ / (1 − θ)  — damped for θ < 1/2.
    if z.dtype == object:
        th = Fraction(theta)
        r = th / (1 - th)
        s = np.empty_like(m)
        s[0] = m[0]
        for i in range(1, len(m)):  # exact mode only: small N
            s[i] = m[i] / (1 - th) - r * s[i - 1]
        return s
    r = theta / (1.0 - theta)
    s = np.empty_like(m)
    s[0] = m[0]
    if len(m) > 1:
        s[1:] = lfilter([1.0], [1.0, r], m[1:] / (1.0 - theta), axis=0, zi=-r * m[0][None, :])[0]
    return s


@register(
    "zhang2017",
    summary="Zhang et al. 2017, Thm 1: one hidden layer of N ReLUs sharing one direction, any real labels (2N + d parameters).",
    task="regression",
    architecture=architecture,
    reference="C. Zhang, S. Bengio, M. Hardt, B. Recht, O. Vinyals. Understanding deep learning requires rethinking generalization. ICLR 2017.",
    assumptions=("distinct points",),
    paper_size=paper_size,
)
def zhang2017(
    X, y, *, n_directions: int | None = None, direction=None, theta: float = 0.0, rng=None, exact: bool = False
) -> Network:
    """Build a one-hidden-layer ReLU network with N units that interpolates ``(X, y)``.

    Parameters
    ----------
    X : array_like, shape (N, d) or (N,)
        Distinct points (identical points must have identical labels).
    y : array_like, shape (N,) or (N, k)
        Real labels.
    n_directions : int, optional
        Random directions to try; the one with the smallest predicted float64 error
        (cancellation mass, see Notes) is kept. Default: 64 for N ≤ 2·10⁵, then 10⁶/N (at least 1).
    direction : array_like (d,), optional
        Use this projection direction instead of drawing candidates (its projections of the
        data must be distinct). In exact mode it is converted losslessly.
    theta : float in [0, 1/2), default 0
        Kink placement ``b_i = z_{i−1} + θ(z_i − z_{i−1})``. θ = 0 puts each kink on the
        previous point and gives the smallest float64 error; θ ≥ 1/2 makes the slope recursion
        unstable and is refused.
    rng : None, int or numpy.random.Generator
        Seeds the direction draw (``None`` means seed 0).
    exact : bool, default False
        Build in exact rational arithmetic (object arrays of ``int``/``Fraction``); the network
        then interpolates with error exactly 0.

    Returns
    -------
    Network
        ``Dense(N×d, relu) → Dense(k×N)``; ``meta`` holds the direction, the smallest projected
        gap and the cancellation mass ``M`` that predicts the float64 error (≈ 2⁻⁵³·M).

    Notes
    -----
    Theorem (Zhang et al. 2017, Thm 1): for N distinct points in R^d and any real labels there
    is a two-layer ReLU network with N hidden units and 2N + d weights that interpolates them.
    Recipe: project onto ``w`` so that the z_i = <w, x_i> are distinct, sort, put kink ``b_1``
    one mean gap left of z_1 and ``b_i = z_{i−1} + θ h_i``. The matrix relu(z_i − b_j) is then
    lower triangular with a positive diagonal, and the output weights are the jumps of the
    slopes of the linear spline through (b_1, 0), (z_1, y_1), ..., (z_N, y_N), computed in
    O(N). Build time O(N log N + N·d) per candidate direction.

    The float64 error grows with N because the weights scale like 1/(smallest gap) ~ N²; see
    ``docs/zhang2017.md`` for the measured curve. Centre uncentred data: the builder already
    prefers directions orthogonal to the data mean, but cannot undo a large offset of X.

    References
    ----------
    C. Zhang, S. Bengio, M. Hardt, B. Recht, O. Vinyals. Understanding deep learning requires
    rethinking generalization. ICLR 2017, Theorem 1.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((50, 3)), rng.uniform(-1, 1, 50)
    >>> net = memorize.build("zhang2017", X, y)
    >>> net.widths
    (50,)
    >>> memorize.verify(net, X, y).max_error < 1e-10
    True
    """
    data: Dataset = prepare(X, y, task="regression")
    if not (0.0 <= theta < 0.5):
        raise ArgumentError(f"theta: must lie in [0, 0.5) (θ ≥ 1/2 makes the slope recursion unstable), got {theta}")
    gen = as_rng(rng)
    n, d = data.X.shape
    k = data.k
    if n_directions is None:
        n_directions = _auto_directions(n)
    if int(n_directions) < 1:
        raise ArgumentError(f"n_directions: must be at least 1, got {n_directions}")
    if direction is None:
        w, order, min_gap, zmax = _choose_direction(data.X, data.Y, gen, int(n_directions), exact)
    else:
        w = np.array(direction, dtype=np.float64).ravel()
        if w.shape != (d,) or not np.isfinite(w).all() or not w.any():
            raise ArgumentError(f"direction: expected {d} finite numbers, not all zero")
        z0 = data.X @ w
        order = np.argsort(z0, kind="stable")
        zmax = float(np.max(np.abs(z0)))
        n_directions = 0

    if exact:
        Xe = _exact.to_exact_array(data.X)
        we = _exact.to_exact_array(w)
        z_all = Xe @ we
        order = np.argsort(_exact.to_float_array(z_all), kind="stable")
        z = z_all[order]
        # float ordering can tie where exact values differ: sort exactly within the float order
        z_list = sorted(zip(z.tolist(), order.tolist()))
        z = np.array([t[0] for t in z_list], dtype=object)
        order = np.array([t[1] for t in z_list], dtype=np.int64)
        if n > 1 and any(z[i + 1] <= z[i] for i in range(n - 1)):
            raise AssumptionError("X: no direction with distinct exact projections was found; points must be distinct")
        Y = _exact.to_exact_array(data.Y)[order]
        gaps = np.diff(z) if n > 1 else np.array([1], dtype=object)
        g = _exact.exact_scalar(Fraction(z[-1] - z[0]) / (n - 1)) if n > 1 else 1  # int / int would be a float
        th = _exact.exact_scalar(Fraction(theta))
    else:
        z = (data.X @ w)[order]  # sorted already: the candidate's order is reused
        gaps = np.diff(z) if n > 1 else np.array([1.0])
        if n > 1 and not (gaps.min() > 64 * np.finfo(float).eps * max(zmax, np.finfo(float).tiny)):
            raise AssumptionError(
                f"X: the smallest gap between projected points ({gaps.min():.3e}) is at the rounding level of "
                f"the projections (max |z| = {zmax:.3e}) "
                + (f"for every one of {n_directions} directions tried; " if n_directions else "for the given direction; ")
                + "points this close cannot be separated reliably in float64 — pass exact=True or more n_directions"
            )
        Y = data.Y[order]
        g = float(gaps.mean()) if n > 1 else 1.0  # the first kink only sets the first slope
        th = theta
    b = np.empty(n, dtype=z.dtype)
    b[0] = z[0] - g
    if n > 1:
        b[1:] = z[:-1] + th * gaps
    s = _slopes(z, b[0], Y, th)
    alpha = np.diff(np.concatenate([np.zeros((1, k), dtype=s.dtype), s]), axis=0)

    # The invariants that make relu(z_i − b_j) lower triangular with a positive diagonal.
    if n > 1 and not (all(z[1:] > z[:-1]) if exact else bool(np.all(z[1:] > z[:-1]))):
        raise AssumptionError("X: projections are not strictly increasing after sorting (points too close)")
    if not (b[0] < z[0] and (n == 1 or (np.all(b[1:] >= z[:-1]) and np.all(b[1:] < z[1:])))):
        raise AssumptionError("X: kinks do not interleave the projected points (points too close)")
    # Self-check along the line: f(z_i) = z_i·Σ_{j≤i} α_j − Σ_{j≤i} α_j b_j (exact in exact mode).
    S = np.cumsum(alpha, axis=0)
    T = np.cumsum(alpha * b[:, None], axis=0)
    f = z[:, None] * S - T
    if exact:
        tol = 0
        mass = None
    else:
        A = np.abs(alpha)
        cumA = np.cumsum(A, axis=0)
        # M = max_i Σ_j |α_j| relu(z_i − b_j): the cancellation mass of the forward pass.
        pos = z[:, None] * cumA - np.cumsum(A * b[:, None], axis=0)
        # the self-check's own rounding: z_i·S_i and T_i are sums of terms of size |z|·|α|, |α||b|
        mass_i = np.abs(z)[:, None] * cumA + np.cumsum(A * np.abs(b)[:, None], axis=0)
        tol = 8 * _U * (np.max(mass_i) * max(2.0, np.log2(n)) + np.max(np.abs(Y)))
        mass = float(np.max(pos))
    check_self(f, Y, tol, method="zhang2017", index=data.index[order])

    W1 = np.empty((n, d), dtype=object if exact else np.float64)
    W1[:] = we if exact else w
    W1.setflags(write=False)  # owned and read-only: Dense keeps it without another copy
    meta = {
        "method": "zhang2017",
        "theta": float(theta),
        "direction": [float(v) for v in w],
        "min_gap": float(gaps.min()) if n > 1 else None,
        "n_directions": int(n_directions),  # 0: the user gave the direction
        "n_duplicates_merged": data.n_duplicates,
    }
    if mass is not None:
        meta["cancellation_mass"] = mass
        meta["error_estimate"] = 2 * _U * mass
    zero_out = np.zeros(k, dtype=object) if exact else np.zeros(k)
    if exact:
        zero_out[:] = 0
    return Network([Dense(W1, -b, relu), Dense(alpha.T.copy(), zero_out)], meta)
