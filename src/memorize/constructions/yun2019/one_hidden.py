"""Yun, Sra, Jadbabaie 2019, Corollary 4.2: one hidden layer of 4N/d_x + 4d_y ReLUs (general position).

Corollary 4.2: if no d_x + 1 points lie on one affine hyperplane, a two-layer network with
4N/d_x + 4d_y ReLU-like (2N/d_x + 2d_y hard-tanh) hidden units memorizes any one-hot labels.
Construction: class-pure groups of at most d_x points; through each group an affine hyperplane
``a(x) = 0`` whose nearest foreign point is ``γ`` away; a flat-top bump of ``t = M·a(x)``
(M ≥ 3/γ) that is exactly 1 on the group and exactly 0 on every other point, routed to the
group's class output.
"""

from __future__ import annotations

import math

import numpy as np

from ..._arith import Arithmetic, arithmetic
from ...activations import Activation, get_activation
from ...data import Dataset, as_rng, prepare
from ...errors import ArgumentError
from ...network import Dense, Network
from ...registry import Architecture, PaperSize, register
from ...verify import check_self, default_tol
from .._slabs import SlabSet, build_slabs, plan_group_size, split_groups
from .._target import certified, in_format, refusals, target_format, tuned

__all__ = ["yun2019_one_hidden", "architecture"]

_REFERENCE = (
    "C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis of "
    "memorization capacity. NeurIPS 2019, Corollary 4.2."
)


#: Largest N certified in each format (benchmarks/float_limits.py --mode after: N standard Gaussian
#: points in R^32, 10 classes, ReLU, seeds 0–2; every N of the doubling-and-bisection grid below
#: it certified too; "measured_to" is the largest N tried). A fact about these data, not a
#: guarantee: the builder certifies its own network anyway. ReLU bumps cancel four values of size
#: M·|a| on the positive side of their slab; hard-tanh bumps saturate and are exact.
FLOAT_LIMITS = {"float32": 1448, "bfloat16": 4, "measured_to": 2048}

# A target format's margin acceptance: γ > 8·(rounding + residual), so that with M ≤ 8/γ the
# group's |t| = M·|a| stays below 1 (the bump's flat top) and the others' above 3.
_FORMAT_FACTOR = 8.0


def _activation(activation) -> Activation:
    act = get_activation(activation)
    if act.name not in ("relu", "relu_like", "hardtanh"):
        raise ArgumentError(f"activation: Corollary 4.2 covers ReLU-like and hard-tanh units, got {act!r}")
    return act


def _planned_groups(n: int, dx: int, dy: int) -> int:
    # ⌊N/d_x + d_y⌋ class-pure groups always suffice (Σ_c ⌈n_c/d_x⌉ < N/d_x + d_y) and stay within
    # the theorem's width; spare groups make every group smaller and its margin larger.
    return max(1, min(n, (n + dy * dx) // dx))


def architecture(n: int, dx: int, dy: int, activation="relu", **_options) -> Architecture:
    """4 ReLU-like (or 2 hard-tanh) units per group, ⌊N/d_x + d_y⌋ groups, one hidden layer.

    This never exceeds the theorem's width 4N/d_x + 4d_y (2N/d_x + 2d_y for hard-tanh).
    """
    act = _activation(activation)
    per = 2 if act.name == "hardtanh" else 4
    w = per * _planned_groups(n, dx, dy)
    bound = (2 if per == 2 else 4) * (n / dx + dy)
    return Architecture(
        "yun2019_one_hidden", dx, (w,), dy, w * dx + w + dy * w + dy, activation=act.name,
        notes=f"{per} units per class-pure group of ≤ d_x points; theorem bound d1 ≥ {bound:.1f}",
    )


def paper_size(n: int, dx: int, dy: int = 1, activation="relu", **_options) -> PaperSize:
    """Corollary 4.2's statement: ⌈4N/d_x + 4d_y⌉ ReLU-like units (2N/d_x + 2d_y hard-tanh)."""
    per = 2 if activation == "hardtanh" else 4
    h = math.ceil(per * n / dx + per * dy - 1e-12)
    return PaperSize((h,), h, f"⌈{per}N/d_x + {per}d_y⌉ (Cor 4.2)")


def class_groups(ar: Arithmetic, X: np.ndarray, labels: np.ndarray, k: int, gen: np.random.Generator):
    """Step 1: class-pure groups of at most d_x points (fewer on flat data).

    Claim: the groups partition the points, each group holds one class, and there are
    ⌊N/d_x + d_y⌋ of them (at least Σ_c ⌈n_c/size⌉): more, smaller groups than the minimum, which
    enlarges the margins. Returns the groups, the data's affine hull (or None) and the size.
    """
    n, d = X.shape
    hull, size = plan_group_size(X, ar=ar, rng=gen)
    n_groups = max(_planned_groups(n, d, k), _min_groups(labels, size))
    return split_groups(n, size, n_groups=n_groups, labels=labels, rng=gen), hull, size


def gains(ar: Arithmetic, slabs: SlabSet) -> np.ndarray:
    """Step 3: the gain M of each group, so that t = M·a(x) has |t| ≥ 3 at every foreign point.

    Claim: M·γ ≥ 3. Exact: M = 3/γ. float64: M is the power of two ≥ 4/γ: the extra 1 covers the
    rounding of a, and a power of two makes M·u and M·c exact rescalings. M = 1 for a group
    that holds every point.
    """
    finite, gamma = slabs.finite_margins()
    if ar.exact:
        return np.where(finite, ar.div(3, gamma), 1)
    return np.where(finite, 2.0 ** np.ceil(np.log2(4.0 / gamma)), 1.0)


def bump_units(ar: Arithmetic, act: Activation, slabs: SlabSet, M: np.ndarray):
    """Step 4: per group, the units of a flat-top bump of t = M·a(x).

    ReLU-like σ (slopes s₊, s₋): ``½[σ(t+3) − σ(t+1) − σ(t−1) + σ(t−3)]/(s₊ − s₋)``; hard-tanh:
    ``½[σ_H(t+2) − σ_H(t−2)]``. Claim: the bump is 1 for |t| ≤ 1 and 0 for |t| ≥ 3 (the linear
    part of σ cancels in the second difference), hence 1 on its group (|t| = M·|a| ≤ M·residual,
    far below 1; t = 0 exactly in exact arithmetic) and 0 at every other point (step 3).
    Returns the hidden weights and biases (group g owns rows per·g … per·g + per − 1) and the
    output coefficient of each of a group's units.
    """
    if act.name == "hardtanh":
        offsets, signs, half = (2, -2), (1, -1), ar.const(1, 2)
    else:
        offsets, signs = (3, 1, -1, -3), (1, -1, -1, 1)
        scale = ar.const(1)
        if act.name == "relu_like":
            sp, sm = (ar.scalar(v) for v in act.slopes)
            scale = ar.div(1, sp - sm)
        half = ar.div(scale, 2)
    W1 = np.repeat(M[:, None] * slabs.normals, len(offsets), axis=0)
    b1 = (-M[:, None] * slabs.offsets[:, None] + ar.array(offsets)[None, :]).reshape(-1)
    return W1, b1, ar.array([sg * half for sg in signs])


def route_to_classes(ar: Arithmetic, group_labels: np.ndarray, coef: np.ndarray, k: int) -> Dense:
    """Step 5: each group's bump added to its class output, no bias.

    Claim: at a point of class c exactly one bump is 1, in a group of class c (steps 1–4), so the
    output is the one-hot row of c.
    """
    per, G = len(coef), len(group_labels)
    W2 = ar.zeros((k, per * G))
    W2[np.repeat(group_labels, per), np.arange(per * G)] = np.tile(coef, G)
    return Dense(W2, ar.zeros(k))


@register(
    "yun2019_one_hidden",
    summary="Yun et al. 2019, Cor 4.2: one hidden layer of ≤ 4N/d_x + 4d_y ReLUs (2N/d_x + 2d_y hard-tanh), one-hot labels, points in general position.",
    task="classification",
    architecture=architecture,
    reference=_REFERENCE,
    aliases=("yun2019_cor42",),
    assumptions=("general position", "one-hot labels"),
    paper_size=paper_size,
    float_limits=FLOAT_LIMITS,
)
def yun2019_one_hidden(
    X,
    y,
    *,
    activation="relu",
    classes=None,
    rng=None,
    exact: bool = False,
    dtype=None,
) -> Network:
    """Build a one-hidden-layer classifier whose outputs are one-hot on every point.

    Exactly one-hot in exact mode and, in float64, with hard-tanh units; float64 ReLU outputs
    carry a cancellation error of order 2⁻⁵³·M·‖x‖ (5.8e-11 at CIFAR-10 sizes).

    Parameters
    ----------
    X : array_like, shape (N, d_x)
    y : array_like
        Class labels (N,) or one-hot rows (N, d_y).
    activation : {"relu", "hardtanh"} or Activation
        ``relu`` (default) or any ``relu_like(s₊, s₋)`` uses 4 units per group; ``hardtanh`` 2.
    classes : array_like, optional
        The class list (fixes d_y and the output order).
    rng : None, int or numpy.random.Generator
        Seeds the grouping and the hyperplane normals (``None`` means seed 0).
    exact : bool, default False
        Build in exact rational arithmetic (small data): outputs are then exactly one-hot.
    dtype : str, NumPy or torch dtype, optional
        Build for this format ("float32", "bfloat16", ...): on the inputs rounded to it, with
        hyperplanes of the format, margins wide enough for the gain to keep every group on its bump's
        flat top; weights rounded to it; every point certified (``meta["certificate"]``) or
        :class:`~memorize.errors.PrecisionError` (limits: :data:`FLOAT_LIMITS`;
        ``float_safe_classifier`` is correct in the format by design). None: the float64 network,
        uncertified.

    Returns
    -------
    Network
        ``Dense(W×d_x, activation) → Dense(d_y×W)`` with W = 4⌊N/d_x + d_y⌋ ReLUs (2⌊…⌋ hard-tanh)
        on data in general position. ``meta`` holds ``theorem_units`` (that count),
        ``extra_units`` (units added on degenerate data), ``paper_bound`` (4N/d_x + 4d_y),
        the margins, the largest gain and ``classes``.

    Notes
    -----
    Corollary 4.2 (Yun et al. 2019): if no d_x + 1 points lie on one affine hyperplane
    (Assumption 4.1), a 2-layer network memorizes any one-hot labels when the hidden width is at
    least 2N/d_x + 2d_y (hard-tanh) or 4N/d_x + 4d_y (ReLU-like). CIFAR-10 sizes (N = 50 000,
    d_x = 3072, d_y = 10): the bound is 105.1, so 106 ReLUs; this builder uses 4·⌊26.3⌋ = 104.

    Recipe (the steps are the functions of this module, in order): ⌊N/d_x + d_y⌋ class-pure
    groups of at most d_x points (more, smaller groups than the minimum Σ⌈n_c/d_x⌉, which
    enlarges the margins); a hyperplane ``a(x) = <u, x> − c`` through each group with margin
    ``γ = min_{x∉G}|a(x)|``; gain ``M`` (a power of two ≥ 4/γ in float64, 3/γ in exact mode); the
    bump ``½[σ(t+3) − σ(t+1) − σ(t−1) + σ(t−3)]/(s₊ − s₋)`` of ``t = M·a`` is 1 for |t| ≤ 1 and 0
    for |t| ≥ 3 (hard-tanh: ``½[σ_H(t+2) − σ_H(t−2)]``), added to the group's class output.

    Degenerate data (not in general position: constant pixels, integer values, coplanar
    subsets): groups are sized by the data's affine hull, a group whose hyperplane meets another
    point tries other normals and then gives up points, which form new groups; the units this
    costs beyond ``theorem_units`` are reported in ``meta["extra_units"]``. The data are never
    perturbed. Every margin is checked against a rigorous float64 rounding bound (exactly in
    exact mode), and the network is evaluated on every point before it is returned.

    Float64: the hard-tanh network's outputs are exactly one-hot; the ReLU network's errors come
    from cancellation on the positive side of each slab, about 2⁻⁵³·M·‖x‖ (see
    ``docs/yun2019_one_hidden.md``).

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis of
    memorization capacity. NeurIPS 2019, Corollary 4.2 and Assumption 4.1.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((200, 20)), rng.integers(0, 3, 200)
    >>> net = memorize.build("yun2019_one_hidden", X, y)
    >>> net.widths, net.meta["theorem_units"], net.meta["extra_units"]
    ((52,), 52, 0)
    >>> memorize.verify(net, X, y).accuracy
    1.0
    """
    fmt = target_format(dtype, exact=exact)
    data: Dataset = in_format(prepare(X, y, task="classification", classes=classes), fmt, "yun2019_one_hidden")
    act = _activation(activation)
    ar = arithmetic(exact)
    gen = as_rng(rng)
    n, d = data.X.shape
    k = data.k
    with refusals(fmt, "yun2019_one_hidden"):
        groups, hull, size = class_groups(ar, data.X, data.labels, k, gen)
        # Step 2: a hyperplane through each group, every other point at least its margin γ > 0 away
        slabs = build_slabs(
            data.X, groups, rng=gen, ar=ar, labels=data.labels, max_size=size, hull=hull, allow_dependent=True,
            fmt=tuned(fmt), format_factor=_FORMAT_FACTOR,
        )
    M = gains(ar, slabs)
    W1, b1, coef = bump_units(ar, act, slabs, M)
    per, G = len(coef), slabs.n_groups
    theorem_units = per * _planned_groups(n, d, k)
    meta = {
        "method": "yun2019_one_hidden",
        "activation": act.to_json(),
        "theorem_units": theorem_units,
        "extra_units": per * G - theorem_units,
        "paper_bound": per * (n / d + k),
        "classes": np.asarray(data.classes).tolist(),
        **ar.summary(max_gain=max(M) if G else None),
        "n_duplicates_merged": data.n_duplicates,
        **{f"slabs_{key}": v for key, v in slabs.summary().items()},
    }
    net = Network([Dense(W1, b1, act), route_to_classes(ar, slabs.labels, coef, k)], meta)
    # Step 6: the claim checked at every point
    out = net(ar.asarray(data.X))
    check_self(out, ar.asarray(data.Y), default_tol(1.0, ar.exact), method="yun2019_one_hidden", index=data.index)
    # Step 7 (dtype given): the network in its format, certified on every point
    return certified(net, data, fmt, "yun2019_one_hidden")


def _min_groups(labels: np.ndarray, size: int) -> int:
    counts = np.bincount(labels)
    return int(np.sum(-(-counts // size)))
