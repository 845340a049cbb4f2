"""Hardt & Ma 2017 ("Identity matters in deep learning"), Section 3: a ResNet with N + r ReLUs.

One residual ReLU unit per data point detects its point and moves it onto a *surrogate*
``q_c`` of its class; a head of ``r`` ReLUs (one per class) reads the surrogates off. The
paper assumes unit-norm inputs, where every point is a vertex of the data's convex hull and
``<x_i, h>`` is largest at ``h = x_i``. A ReLU network cannot normalise its input (x/‖x‖ is not
piecewise linear, and it would merge points on one ray anyway), so for data that are not on a
sphere the builder uses the *radial order* around an explicit centre instead (see
:func:`hardt_ma2017`, Notes): the detectors then see the points from the outside in, and the
same per-point thresholds apply.

The proof's steps are the functions below, in order: :func:`neighbour_distances`,
:func:`radial_frame` (the centre), :func:`radial_order`, :func:`thresholds`,
:func:`surrogates`, :func:`detectors` (one residual block per group of compatible points),
:func:`read_out` and :func:`check_output`.
"""

from __future__ import annotations

import math

import numpy as np

from .._arith import Arithmetic, arithmetic
from .._linalg import U64
from ..activations import identity, relu
from ..data import Dataset, as_rng, format_indices, prepare
from ..errors import ArgumentError, ArgumentTypeError, AssumptionError
from ..network import Dense, Network, Residual
from ..registry import Architecture, PaperSize, register
from ..verify import check_self, default_tol
from ._target import certified, in_format, refusals, target_format, tuned

__all__ = ["hardt_ma2017", "architecture", "nearest_neighbour_sq", "radial_frame"]

_CHUNK_BYTES = 64 * 2**20

#: Largest N certified in each format (benchmarks/float_limits.py --mode after: N standard Gaussian
#: points in R^32, 10 classes, seeds 0–2; "measured_to" is the largest N tried: no failure was
#: seen up to it, and the O(N²·d) build took over a minute there). A fact about these data, not a
#: guarantee: the builder certifies its own network anyway. The detectors' thresholds are a
#: fraction of each point's squared nearest-neighbour distance, far above the rounding of
#: well-spread data; clustered data (tiny ρ relative to the radius) fail sooner.
FLOAT_LIMITS = {"float32": 8192, "bfloat16": 8192, "measured_to": 8192}


def _block_widths(n: int, block_size: int) -> list[int]:
    k = max(1, min(int(block_size), max(n, 1)))
    full, rest = divmod(n, k)
    return [k] * full + ([rest] if rest else [])


def architecture(n: int, dx: int, dy: int = 1, *, block_size: int = 1, **_options) -> Architecture:
    """N residual ReLUs (blocks of ``block_size``) plus a head of ``dy`` ReLUs and a linear output.

    With the default ``block_size=1`` the widths are exact for any N distinct points. With a
    larger ``block_size`` they are exact for data on a sphere (the theorem's setting); other
    data may need thinner blocks (same N + r units, more depth), see :func:`hardt_ma2017`.
    """
    widths = _block_widths(n, block_size)
    res_params = sum(w * dx + w + dx * w + dx for w in widths)
    head = dy * dx + dy
    out = dy * dy + dy
    return Architecture(
        "hardt_ma2017",
        dx,
        tuple(widths) + (dy,),
        dy,
        res_params + head + out,
        residual=True,
        activation="relu",
        notes="N + r hidden ReLUs: one residual unit per point, one head unit per class",
    )


# --------------------------------------------------------------------------------------------
# geometry helpers (float64, chunked)


def nearest_neighbour_sq(X: np.ndarray, chunk_bytes: int = _CHUNK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Squared distance from every row of ``X`` to its nearest other row, and that row's index.

    Chunked Gram matrices, O(N²·d) time and O(chunk·N) memory. The squared distance of each
    returned pair is recomputed directly from the difference (no Gram cancellation).
    """
    n = X.shape[0]
    if n == 1:
        return np.array([np.inf]), np.array([0])
    Xc = X - X.mean(axis=0)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    rows = max(1, chunk_bytes // (8 * n))
    nn = np.empty(n, dtype=np.int64)
    for s in range(0, n, rows):
        e = min(n, s + rows)
        G = sq[s:e, None] + sq[None, :] - 2.0 * (Xc[s:e] @ Xc.T)
        G[np.arange(e - s), np.arange(s, e)] = np.inf
        nn[s:e] = np.argmin(G, axis=1)
    diff = X - X[nn]
    return np.einsum("ij,ij->i", diff, diff), nn


def radial_frame(X: np.ndarray, rho2: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Step 2: the centre ``c`` of the radial order.

    The origin when the data already lie on one sphere around it (up to half the smallest
    squared nearest-neighbour distance: the paper's unit-norm setting), otherwise a point at
    distance 1.5·R from the mean in a random direction (R the data radius), so that every
    point is at distance between R/2 and 5R/2 from the centre.
    """
    n, d = X.shape
    r2 = np.einsum("ij,ij->i", X, X)
    if n > 1 and r2.min() > 0 and (r2.max() - r2.min()) <= 0.5 * rho2.min():
        return np.zeros(d), "origin"
    mu = X.mean(axis=0)
    R = float(np.sqrt(np.max(np.einsum("ij,ij->i", X - mu, X - mu))))
    R = R if R > 0 else 1.0
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    return mu + 1.5 * R * u, "outside"


def _pack_blocks(ar: Arithmetic, s: np.ndarray, rho2: np.ndarray, block_size: int) -> list[tuple[int, int]]:
    """Split the radially sorted points into blocks of mutually compatible points.

    Points ``a..b`` may share a block when the spread of their squared radii ``s`` (sorted
    decreasingly) is at most half the smallest ``ρ²`` among them: then no detector of the
    block fires on another point of the block. Windows double, so the work is O(N) overall.
    """
    half = ar.const(1, 2)
    n = s.size
    if block_size == 1:
        return [(i, i + 1) for i in range(n)]
    blocks = []
    a = 0
    while a < n:
        limit = min(n, a + block_size)
        w = 64
        while True:
            e = min(limit, a + w)
            ok = (s[a] - s[a:e]) <= half * np.minimum.accumulate(rho2[a:e])
            bad = np.nonzero(~ok)[0]
            if bad.size:
                end = a + int(bad[0])
                break
            if e == limit:
                end = e
                break
            w *= 2
        end = max(end, a + 1)
        blocks.append((a, end))
        a = end
    return blocks


def _surrogate_dirs(r: int, d: int) -> np.ndarray:
    """Unit directions of the class surrogates: ±e_k for r ≤ 2d (exact, sparse), else a circle."""
    U = np.zeros((r, d))
    if r <= 2 * d:
        k = np.arange(r)
        U[k, k // 2] = np.where(k % 2 == 0, 1.0, -1.0)
    else:
        t = 2 * np.pi * np.arange(r) / r
        U[:, 0] = np.cos(t)
        U[:, 1] = np.sin(t)
    return U


def neighbour_distances(ar: Arithmetic, X: np.ndarray, index) -> tuple[np.ndarray, np.ndarray]:
    """Step 1: ρ_i², the squared distance from x_i to its nearest other data point.

    Claim: ρ_i² > 0, and ρ_i² ≤ 2·‖x_i − x_j‖² for every j ≠ i (ρ_i² is the distance to the
    nearest point, or in float64 to one its Gram-matrix search cannot tell from it). The
    neighbour is found on float64 Gram matrices (:func:`nearest_neighbour_sq`), its distance
    recomputed from the difference in the working arithmetic. Where ρ_i² is at the rounding
    level of the data (10³·u·(R² + 1), R the data radius) that search is blind: float64 refuses
    such pairs with :class:`AssumptionError` naming them, exact arithmetic searches those points'
    neighbours exactly. Returns ρ² in the working arithmetic and in float64 (the values of the
    float decision of step 2); a single point gets ρ² = 1.
    """
    n = X.shape[0]
    if n == 1:
        return ar.ones(1), np.array([1.0])
    rho2_float, nn = nearest_neighbour_sq(X)
    Xw = ar.array(X)
    rho2 = ar.row_dots(Xw - Xw[nn], Xw - Xw[nn])
    Xc = X - X.mean(0)
    scale = np.max(np.einsum("ij,ij->i", Xc, Xc)) + 1.0
    blind = np.nonzero(rho2_float <= 1e3 * U64 * scale)[0]
    if blind.size and not ar.exact:
        if not np.isfinite(scale):
            raise AssumptionError(f"X: squared distances overflow float64 (coordinates up to "
                                  f"{float(np.max(np.abs(X))):.3g}); rescale X (e.g. X / np.max(np.abs(X)))")
        pairs = [(int(index[i]), int(index[nn[i]])) for i in blind]
        raise AssumptionError(
            f"X: points {format_indices(pairs)} are too close to tell apart in float64 "
            "(squared distance at the rounding level of the data); pass exact=True"
        )
    for i in blind:  # exact arithmetic only (float64 refused above); few points
        dist2 = ar.row_dots(Xw - Xw[i], Xw - Xw[i])
        rho2[i] = ar.min(np.delete(dist2, i))
    return rho2, rho2_float


def radial_order(ar: Arithmetic, X: np.ndarray, c: np.ndarray, rho2: np.ndarray, block_size: int):
    """Step 3: the squared radii r_i² = ‖x_i − c‖², the detection order and its blocks.

    Claim: the points are taken in order of decreasing r_i (exactly, in exact arithmetic), and
    the squared radii within one block differ by at most half the smallest ρ² of the block
    (:func:`_pack_blocks`). Returns ``Z`` (rows x_i − c), r², the order and the blocks
    (``(start, end)`` ranges of the order).
    """
    Z = ar.array(X) - ar.array(c)
    r2 = ar.row_dots(Z, Z)
    order = ar.argsort(-r2)
    return Z, r2, order, _pack_blocks(ar, r2[order], rho2[order], block_size)


def thresholds(ar: Arithmetic, rho2: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Step 4: the detector thresholds λ_i = min(ρ_i², 2r_i²)/8.

    Claim: 0 < λ_i ≤ ρ_i²/8, so 4λ_i ≤ ‖x_i − x_j‖² for every j ≠ i (step 1) and the detector
    of step 6 is ≤ −λ_i at every point not farther from c; and λ_i ≤ r_i²/4, so it is negative
    at the surrogates (step 5).
    """
    return np.where(rho2 <= 2 * r2, rho2, 2 * r2) * ar.const(1, 8)


def surrogates(ar: Arithmetic, c: np.ndarray, r2: np.ndarray, r: int, d: int):
    """Step 5: the class surrogates q_k = c + R_q u_k, R_q = 0.49·min_i r_i.

    Claim: every detector is negative at every surrogate, <x_i − c, q_k − c> − r_i² + λ_i ≤
    0.49 r_i² − r_i² + r_i²/4 < 0, so a point moved onto its surrogate never fires again; the
    directions u_k (±e_k, or a circle for r > 2d) are distinct unit vectors. Returns the
    surrogates (float64 positions, losslessly in the working arithmetic), the directions and R_q.
    """
    rq = 0.49 * math.sqrt(float(np.min(ar.to_float(r2))))
    dirs = _surrogate_dirs(r, d)
    return ar.array(c + rq * dirs), dirs, rq


def detectors(ar: Arithmetic, idx, X, Z, c, r2, lam, Q, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 6: the units of the points ``idx``: relu(<x_i − c, h − c> − r_i² + λ_i), each with
    output column (q_{class(i)} − x_i)/λ_i.

    Claim: as <x_i − c, x_j − c> = (r_i² + r_j² − ‖x_i − x_j‖²)/2, unit i is exactly λ_i at x_i,
    so it moves x_i exactly onto its surrogate; it is ≤ −λ_i at every other point of the
    stream the block sees: points not farther from c, points of the same block, surrogates.
    Returns the rows ``U``, biases ``b`` and output columns ``V`` of a residual block.
    """
    U = Z[idx]
    b = -(U @ c) - r2[idx] + lam[idx]
    V = ar.div(Q[labels[idx]] - X[idx], lam[idx][:, None]).T
    return U, b, V


def read_out(ar: Arithmetic, Q: np.ndarray, c: np.ndarray, dirs: np.ndarray) -> tuple[Dense, Dense]:
    """Step 7: the head of r ReLUs, relu(<u_k, h − c> − θ_k), and the output layer.

    θ_k lies halfway between <u_k, q_k − c> = P_kk and the largest <u_k, q_j − c> (j ≠ k); output
    k is head unit k times 1/(P_kk − θ_k). Claim: at surrogate q_j the output is exactly e_j.
    """
    r = len(dirs)
    dirs_w = ar.array(dirs)
    P = (Q - c) @ dirs_w.T  # P[j, k] = <u_k, q_j − c>
    diag = np.diagonal(P).copy()
    off = np.array([ar.max(np.delete(P[:, k], k)) for k in range(r)], dtype=ar.dtype) if r > 1 else ar.zeros(1)
    theta = (diag + off) * ar.const(1, 2)
    out_W = ar.zeros((r, r))
    out_W[np.arange(r), np.arange(r)] = ar.div(1, diag - theta)
    return Dense(dirs_w, -(dirs_w @ c) - theta, relu), Dense(out_W, ar.zeros(r), identity)


def error_estimate(Z, c, r2, lam, Q, X, labels, rq: float) -> float:
    """Predicted float64 error: a detector's pre-activation cancels terms of size
    |<x_i − c, c>| + r_i² + λ_i to leave λ_i, and its output column scales the error by the move."""
    mass = (np.abs(Z) @ np.abs(c) + r2 + lam) / lam
    move = np.linalg.norm(Q[labels] - X, axis=1)
    return float(4 * U64 * np.max(mass * move) / max(rq, 1e-300))


def check_output(ar: Arithmetic, out: np.ndarray, data: Dataset, min_nn: float | None) -> None:
    """Step 8: the network's output is the one-hot label of every point (exactly in exact
    arithmetic). In float64, points that are still detected but miss by more than the
    tolerance raise :class:`AssumptionError` naming them (rounding, ≈ 2⁻⁵³·r²/ρ²)."""
    tol = ar.tol(default_tol(1.0, False))
    if not ar.exact:
        err = np.max(np.abs(out - data.Y), axis=1)
        if np.any(err > tol) and np.all(err < 0.25):
            bad = data.index[np.nonzero(err > tol)[0]]
            raise AssumptionError(
                f"X: points {format_indices(bad)} are too close to their neighbours, relative to the data's "
                f"spread, for float64 (smallest nearest-neighbour distance {min_nn:.3g}, "
                f"error {float(err.max()):.2e}); pass exact=True"
            )
    check_self(out, ar.array(data.Y), tol, method="hardt_ma2017", index=data.index)


def paper_size(n: int, dx: int, dy: int = 1, **_options) -> PaperSize:
    """The statement's N + d_y hidden units (one per point plus the read-out)."""
    return PaperSize((n + dy,), n + dy, "N + d_y (Hardt & Ma 2017)")


@register(
    "hardt_ma2017",
    summary="Hardt & Ma 2017, Sec. 3: ResNet with N + r hidden ReLUs (one residual unit per point, one head unit per class), any distinct points.",
    task="classification",
    architecture=architecture,
    reference="M. Hardt, T. Ma. Identity matters in deep learning. ICLR 2017, Section 3 (arXiv:1611.04231).",
    assumptions=("distinct points",),
    paper_size=paper_size,
    float_limits=FLOAT_LIMITS,
)
def hardt_ma2017(X, y, *, block_size: int = 1, rng=None, exact: bool = False, dtype=None) -> Network:
    """Build a residual ReLU network with N + r hidden units that classifies ``(X, y)`` exactly.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Pairwise distinct points (identical points must carry identical labels). Any norms:
        see Notes for non-unit inputs. d ≥ 2 when there are more than 2 classes.
    y : array_like, shape (N,) or (N, r)
        Class labels, or one-hot rows.
    block_size : int, default 1
        Maximal number of detector units per residual block. With 1 the network has N blocks
        of width 1 for any data. Larger blocks are filled while their points are compatible
        (always, for data on a sphere); the unit count N + r never changes.
    rng : None, int or numpy.random.Generator
        Seeds the direction of the centre for data off a sphere (``None`` means seed 0).
    exact : bool, default False
        Build in exact rational arithmetic; the network's outputs are then exactly one-hot.
    dtype : str, NumPy or torch dtype, optional
        Build for this format ("float32", "bfloat16", ...): on the inputs rounded to it, with nearest
        neighbours and radial order of the rounded points, a centre of the format; the certificate costs
        about three O(N²·d) forward passes, like the build; weights rounded to it; every point certified
        (``meta["certificate"]``) or :class:`~memorize.errors.PrecisionError` (limits:
        :data:`FLOAT_LIMITS`; ``float_safe_classifier`` is correct in the format by design). None: the
        float64 network, uncertified.

    Returns
    -------
    Network
        ``Residual`` blocks (N ReLUs in all) → ``Dense(r×d, relu)`` head → ``Dense(r×r)``
        output. ``meta`` holds the centre kind, the smallest detector threshold, the surrogate
        radius, ``classes``, ``theorem_units`` (N + r) and ``extra_units`` (0).

    Notes
    -----
    Theorem (Hardt & Ma 2017, Sec. 3): a residual ReLU network with N + r hidden units
    memorizes N distinct unit-norm points with r classes.

    Recipe (the steps are the functions of this module, in order). Let ``c`` be a centre,
    ``r_i = ‖x_i − c‖`` and ``ρ_i`` the distance from x_i to its nearest other data point.
    Process the points in order of decreasing ``r_i``. Point i's unit computes
    ``relu(<x_i − c, h − c> − r_i² + λ_i)`` with ``λ_i = min(ρ_i², 2 r_i²)/8``, and its output
    column is ``(q_{class(i)} − x_i)/λ_i``. Since
    ``<x_i − c, x_j − c> = (r_i² + r_j² − ‖x_i − x_j‖²)/2``, the unit equals ``λ_i`` at x_i, so
    x_i moves exactly onto its class surrogate, and it is ≤ −λ_i at every point not farther from
    c (and at points of the same block, whose squared radii differ by at most ρ²/2). The
    surrogates ``q_c = c + R_q u_c`` sit well inside every detector's threshold
    (``R_q = 0.49·min r_i``), so moved points never fire again; the head unit of class c fires
    only at q_c.

    Unit-norm data (the paper's case): c = 0, every r_i = 1, and any order and block size work,
    as in the paper. Other data: no injective map to the sphere can be computed inside a ReLU
    network, and ``x/‖x‖`` would merge points on one ray. The radial order replaces the lift:
    c is placed at 1.5·R from the data mean (R the data radius), outside the data, and each
    point is detected while it is the farthest remaining point in its own direction. No
    general position is needed: any distinct points work (the bundled digits included).

    Float64: a detector's pre-activation cancels terms of size r_i²·(1 + ‖c‖/r_i) to leave λ_i,
    so the error is about 2⁻⁵³·r²/ρ² per point, from each point's own nearest-neighbour
    distance (not the global minimum). Cost: O(N²·d) for the nearest neighbours (chunked) and
    the same for one forward pass, which evaluates each residual block only on the points it
    acts on (one certified matrix product, then one block per point: see
    ``docs/hardt_ma2017.md``, "Evaluation at scale"). Points closer than float64 can tell apart are refused in
    float64; ``exact=True`` memorizes them (their neighbours, the radial order and the blocks
    are then decided on exact values).

    References
    ----------
    M. Hardt, T. Ma. Identity matters in deep learning. ICLR 2017, Section 3.
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers. NeurIPS 2019
    (the N + d_y count it compares against).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((60, 3)), rng.integers(0, 4, 60)
    >>> net = memorize.build("hardt_ma2017", X, y)
    >>> net.num_hidden        # N + r
    64
    >>> memorize.verify(net, X, y).ok
    True
    """
    fmt = target_format(dtype, exact=exact)
    data: Dataset = in_format(prepare(X, y, task="classification"), fmt, "hardt_ma2017")
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise ArgumentTypeError(f"block_size: expected a positive int, got {block_size!r}")
    if block_size < 1:
        raise ArgumentError(f"block_size: must be at least 1, got {block_size}")
    ar = arithmetic(exact)
    gen = as_rng(rng)
    n, d = data.X.shape
    r = len(data.classes)
    labels = data.labels
    if r > 2 * d and d < 2:
        raise AssumptionError(
            f"X: with d = 1 the surrogates of at most 2 classes can be told apart by one ReLU each; got {r} classes"
        )

    with refusals(fmt, "hardt_ma2017"):
        rho2, rho2_float = neighbour_distances(ar, data.X, data.index)
    c_float, centre_kind = radial_frame(data.X, rho2_float, gen)
    if tuned(fmt) is not None:  # the centre the network's weights hold
        c_float = fmt.round(c_float)
    c = ar.array(c_float)
    Z, r2, order, blocks = radial_order(ar, data.X, c_float, rho2, int(block_size))
    lam = thresholds(ar, rho2, r2)
    Q, dirs, rq = surrogates(ar, c_float, r2, r, d)
    Xw = ar.array(data.X)
    layers = []
    for a, e in blocks:
        U, b, V = detectors(ar, order[a:e], Xw, Z, c, r2, lam, Q, labels)
        layers.append(Residual(U, b, V, ar.zeros(d), relu))
    layers += read_out(ar, Q, c, dirs)

    meta = {
        "method": "hardt_ma2017",
        "classes": [c_.item() if hasattr(c_, "item") else c_ for c_ in data.classes],
        "centre": centre_kind,
        "block_size": int(block_size),
        "n_blocks": len(blocks),
        "min_threshold": float(np.min(ar.to_float(lam))),
        "min_nn_distance": float(math.sqrt(float(np.min(ar.to_float(rho2))))) if n > 1 else None,
        "surrogate_radius": rq,
        "theorem_units": n + r,
        "extra_units": 0,
        "n_duplicates_merged": data.n_duplicates,
    }
    if not ar.exact:  # a float64-only prediction
        meta["error_estimate"] = error_estimate(Z, c, r2, lam, Q, data.X, labels, rq)
    net = Network(layers, meta)
    with refusals(fmt, "hardt_ma2017"):
        check_output(ar, net(Xw), data, meta["min_nn_distance"])
    # Step 9 (dtype given): the network in its format, certified on every point
    return certified(net, data, fmt, "hardt_ma2017")
