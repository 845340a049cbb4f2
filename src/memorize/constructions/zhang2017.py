"""Zhang, Bengio, Hardt, Recht, Vinyals 2017, Theorem 1: one hidden layer of N ReLUs.

All hidden units share one direction ``w``; unit ``j`` computes ``relu(<w, x> − b_j)``. Along the
projection ``t = <w, x>`` the network is the piecewise-linear interpolant of the sorted data, so
its output weights come from first and second divided differences in O(N), never a dense solve.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._arith import Arithmetic, arithmetic
from .._linalg import EPS64, U64
from ..data import Dataset, as_rng, prepare
from ..errors import ArgumentError, AssumptionError, LabelError
from ..network import Dense, Factored, Network
from ..activations import relu
from ..precision import Format
from ..registry import Architecture, PaperSize, register
from ..rows import project_columns
from ..verify import check_self
from ._target import certified, in_format, refusals, target_format

__all__ = ["zhang2017", "architecture"]

_TINY = np.finfo(float).tiny

#: Largest N certified in each format (benchmarks/float_limits.py --mode after: N standard Gaussian
#: points in R^32, labels uniform in [−1, 1], seeds 0–2; every N of the doubling-and-bisection grid
#: below it certified too; "measured_to" is the largest N tried). A fact about these data, not a
#: guarantee: the builder certifies its own network anyway. float32's regression tolerance
#: (1e-6·max(1, max|y|), that of memorize.certify) is below the worst-case error of the first
#: layer times the output weights (~1/gap) for any N.
FLOAT_LIMITS = {"float32": 0, "bfloat16": 3, "measured_to": 4}


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


def _format_weights(fmt: Format | None, d: int) -> tuple[float, float] | None:
    """Weights of the two score terms for a target format: the output term (the output weights
    and, below float32, the hidden values are rounded to the format: u) and the offset term
    (the first layer: inputs exact, the direction a number of the format, d products accumulated:
    u + d·u_acc). None for float64, whose score is the plain sum (both terms at 2⁻⁵³)."""
    if fmt is None or fmt.name == "float64":
        return None
    return fmt.u, fmt.u + d * fmt.accumulator.u


def choose_direction(ar: Arithmetic, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator, n_directions: int,
                     fmt: Format | None = None):
    """Step 1: a direction along which the points are distinct, chosen for the float64 error.

    Claim: the returned direction's projections are distinct in float64 (unless no candidate has
    distinct projections; then the one with the largest smallest gap is returned and step 2
    refuses it). Among candidates, the one with the smallest predicted float64 error wins: the
    score is the largest output term (see :func:`_largest_terms`) plus the offset term
    max|z|·max|y|/gap, which covers uncentred data whose projections are far from zero. Half of
    the candidates are orthogonal to the data mean, which removes the offset of uncentred data
    (raw pixels). Exact builds draw integer directions (scaling w changes nothing, and short
    integers keep the exact projections short). For a target format ``fmt`` the candidates are
    numbers of the format (the network's first layer holds them) and the two terms are weighted
    by the format's rounding of each (:func:`_format_weights`).

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
    W = ar.directions(W)
    weights = _format_weights(fmt, d)
    if weights is not None:
        W = fmt.round(W)
    # (WᵀXᵀ)ᵀ is Fortran-ordered (column sorts run on contiguous memory), and BLAS computes
    # it several times faster than X @ W for a handful of columns.
    Z = project_columns(X, W)
    order = np.argsort(Z, axis=0)
    Zs = np.take_along_axis(Z, order, axis=0)
    gaps = np.diff(Zs, axis=0) if n > 1 else np.ones((1, n_directions))
    min_gap = gaps.min(axis=0)
    zmax = np.max(np.abs(Zs[[0, -1]]), axis=0)
    distinct = min_gap > 64 * EPS64 * np.maximum(zmax, _TINY)  # float64 decisions, in any arithmetic
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        plus, minus = _largest_terms(Zs, Y[order])
        offset = zmax * max(1.0, float(np.max(np.abs(Y)))) / np.where(min_gap > 0, min_gap, np.nan)
        if weights is None:
            score = np.concatenate([plus + offset, minus + offset])
        else:
            u_out, u_in = weights
            score = np.concatenate([u_out * plus + u_in * offset, u_out * minus + u_in * offset])
    score = np.where(np.tile(distinct, 2) & np.isfinite(score), score, np.inf)
    best = int(np.argmin(score)) if np.isfinite(score).any() else int(np.argmax(min_gap))
    col, sign = best % n_directions, (1 if best < n_directions else -1)
    # −w sorts the same points in reverse
    col_order = order[:, col] if sign > 0 else order[::-1, col]
    return sign * W[:, col], np.ascontiguousarray(col_order), float(min_gap[col]), float(zmax[col])


def sort_along(ar: Arithmetic, X: np.ndarray, w: np.ndarray, order: np.ndarray, zmax: float, n_directions: int):
    """Step 2: the projections z_i = <w, x_i>, sorted, and proof that they are distinct.

    Claim: ``z`` is strictly increasing, exactly (exact arithmetic) or with every gap above the
    float64 rounding level of the projections (64·ε·max|z|), so that the order is the true one.
    Raises :class:`AssumptionError` otherwise.
    """
    z, order, _ = ar.sorted_projection(X, w, order)
    gaps = np.diff(z)
    if ar.separated(gaps, zmax, 64):
        return z, order
    if ar.exact:
        raise AssumptionError("X: no direction with distinct exact projections was found; points must be distinct")
    raise AssumptionError(
        f"X: the smallest gap between projected points ({gaps.min():.3e}) is at the rounding level of "
        f"the projections (max |z| = {zmax:.3e}) "
        + (f"for every one of {n_directions} directions tried; " if n_directions else "for the given direction; ")
        + "points this close cannot be separated reliably in float64 — pass exact=True or more n_directions"
    )


def place_kinks(ar: Arithmetic, z: np.ndarray, theta) -> tuple[np.ndarray, object]:
    """Step 3: kinks b_1 = z_1 − g (g the mean gap) and b_i = z_{i−1} + θ(z_i − z_{i−1}).

    Claim: b_1 < z_1 and z_{i−1} ≤ b_i < z_i, so the matrix relu(z_i − b_j) is lower triangular
    with a positive diagonal (checked here; :class:`AssumptionError` when rounding breaks it).
    Returns the kinks and θ in the working arithmetic.
    """
    n = len(z)
    gaps = np.diff(z)
    g = ar.div(np.sum(gaps), n - 1) if n > 1 else ar.const(1)  # the first kink only sets the first slope
    th = ar.scalar(theta)
    b = np.empty(n, dtype=ar.dtype)
    b[0] = z[0] - g
    if n > 1:
        b[1:] = z[:-1] + th * gaps
    if not (b[0] < z[0] and (n == 1 or (np.all(b[1:] >= z[:-1]) and np.all(b[1:] < z[1:])))):
        raise AssumptionError("X: kinks do not interleave the projected points (points too close)")
    return b, th


def spline_weights(ar: Arithmetic, z: np.ndarray, b: np.ndarray, Y: np.ndarray, theta) -> np.ndarray:
    """Step 4: output weights α_j, the jumps of the slopes of the interpolating linear spline.

    Claim: f(t) = Σ_j α_j·relu(t − b_j) is the linear spline through (b_1, 0), (z_1, y_1), ...,
    (z_N, y_N) with kinks at the b_j, hence f(z_i) = y_i. O(N): slopes s_i of the pieces, then
    α = diff(s) with s_0 = 0.
    """
    k = Y.shape[1]
    s = _slopes(ar, z, b[0], Y, theta)
    return np.diff(np.concatenate([ar.zeros((1, k)), s]), axis=0)


def check_on_line(ar: Arithmetic, z, b, alpha, Y, index) -> float | None:
    """Step 5: the claim of step 4 checked at every point, in O(N) along the line.

    f(z_i) = z_i·Σ_{j≤i} α_j − Σ_{j≤i} α_j b_j (only kinks left of z_i are active). Exact in
    exact arithmetic; in float64 the tolerance is the check's own rounding bound. Returns the
    cancellation mass M = max_i Σ_j |α_j| relu(z_i − b_j) of the float64 forward pass (its error
    is about 2⁻⁵³·M), or None when exact.
    """
    n = len(z)
    if not ar.exact and not np.isfinite(alpha).all():
        raise LabelError(
            f"y: the output weights overflow float64 (labels up to {float(np.max(np.abs(Y))):.3g} over projected "
            f"gaps down to {float(np.min(np.diff(z))) if n > 1 else 0.0:.3g}); rescale y (e.g. y / max|y|) or "
            "pass exact=True"
        )
    S = np.cumsum(alpha, axis=0)
    T = np.cumsum(alpha * b[:, None], axis=0)
    f = z[:, None] * S - T
    if ar.exact:
        check_self(f, Y, 0, method="zhang2017", index=index)
        return None
    A = np.abs(alpha)
    cumA = np.cumsum(A, axis=0)
    pos = z[:, None] * cumA - np.cumsum(A * b[:, None], axis=0)
    # the self-check's own rounding: z_i·S_i and T_i are sums of terms of size |z|·|α|, |α||b|
    mass_i = np.abs(z)[:, None] * cumA + np.cumsum(A * np.abs(b)[:, None], axis=0)
    tol = 8 * U64 * (np.max(mass_i) * max(2.0, np.log2(n)) + np.max(np.abs(Y)))
    check_self(f, Y, tol, method="zhang2017", index=index)
    return float(np.max(pos))


def _slopes(ar: Arithmetic, z, b1, Y, theta):
    """Slopes s_i of the interpolant on (b_i, b_{i+1})."""
    zb = np.concatenate([[b1], z])
    Yp = np.concatenate([ar.zeros((1, Y.shape[1])), Y])
    m = ar.div(np.diff(Yp, axis=0), np.diff(zb)[:, None])
    if theta == 0:
        return m
    # s_1 = m_1 (the first kink sits g to the left of z_1); for i ≥ 2:
    # s_i = m_i / (1 − θ) − r s_{i−1},  r = θ / (1 − θ)  — damped for θ < 1/2.
    if ar.exact:
        th = Fraction(theta)
        r = th / (1 - th)
        s = np.empty_like(m)
        s[0] = m[0]
        for i in range(1, len(m)):  # a linear recurrence: exact mode only, small N
            s[i] = m[i] / (1 - th) - r * s[i - 1]
        return s
    from scipy.signal import lfilter  # imported here: scipy.signal takes ~1 s to import

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
    float_limits=FLOAT_LIMITS,
)
def zhang2017(
    X, y, *, n_directions: int | None = None, direction=None, theta: float = 0.0, rng=None, exact: bool = False,
    dtype=None,
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
    dtype : str, NumPy or torch dtype, optional
        Build for this format ("float32", "bfloat16", ...): on the inputs rounded to it, with candidate
        directions of the format, scored by its rounding (:func:`choose_direction`); weights rounded to
        it; every point certified (``meta["certificate"]``) or :class:`~memorize.errors.PrecisionError`
        (limits: :data:`FLOAT_LIMITS`; ``float_safe`` is correct in the format by design). None: the
        float64 network, uncertified.

    Returns
    -------
    Network
        ``Factored(N×1 · 1×d, relu) → Dense(k×N)``: the hidden layer is the dense N×d layer of
        the theorem with rows all equal to ``w``, stored as the factors ``1`` (N×1) and ``wᵀ``
        (1×d), so ``num_params`` is the theorem's count and ``num_stored_params`` about
        2N + d + kN; ``meta`` holds the direction, the smallest projected gap and the
        cancellation mass ``M`` that predicts the float64 error (≈ 2⁻⁵³·M).

    Notes
    -----
    Theorem (Zhang et al. 2017, Thm 1): for N distinct points in R^d and any real labels there
    is a two-layer ReLU network with N hidden units and 2N + d weights that interpolates them.
    Recipe (the steps are the functions of this module, in order): project onto ``w`` so that the z_i = <w, x_i> are distinct, sort, put kink ``b_1``
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
    fmt = target_format(dtype, exact=exact)
    data: Dataset = in_format(prepare(X, y, task="regression", stream=True), fmt, "zhang2017")
    if not (0.0 <= theta < 0.5):
        raise ArgumentError(f"theta: must lie in [0, 0.5) (θ ≥ 1/2 makes the slope recursion unstable), got {theta}")
    ar = arithmetic(exact)
    gen = as_rng(rng)
    n, d = data.X.shape
    k = data.k
    if n_directions is None:
        n_directions = _auto_directions(n)
    if int(n_directions) < 1:
        raise ArgumentError(f"n_directions: must be at least 1, got {n_directions}")
    if direction is None:
        w, order, min_gap, zmax = choose_direction(ar, data.X, data.Y, gen, int(n_directions), fmt)
    else:
        w = np.array(direction, dtype=np.float64).ravel()
        if w.shape != (d,) or not np.isfinite(w).all() or not w.any():
            raise ArgumentError(f"direction: expected {d} finite numbers, not all zero")
        z0 = data.X @ w
        order = np.argsort(z0, kind="stable")
        zmax = float(np.max(np.abs(z0)))
        n_directions = 0

    with refusals(fmt, "zhang2017"):
        z, order = sort_along(ar, data.X, w, order, zmax, n_directions)
        Y = ar.array(data.Y)[order]
        b, th = place_kinks(ar, z, theta)
    alpha = spline_weights(ar, z, b, Y, th)
    mass = check_on_line(ar, z, b, alpha, Y, data.index[order])

    # every unit reads the one projection <w, x>: layer 1 is the rank-one product 1·wᵀ, stored
    # as its factors (N + d numbers, not N·d) and evaluated as the proof reads, z = <w, x> first
    layer1 = Factored(ar.ones((n, 1)), ar.array(w)[None, :], -b, relu)
    gaps = np.diff(z)
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
        meta["error_estimate"] = 2 * U64 * mass
    net = Network([layer1, Dense(alpha.T.copy(), ar.zeros(k))], meta)
    # Step 6 (dtype given): the network in its format, certified on every point
    return certified(net, data, fmt, "zhang2017")
