"""Yun, Sra, Jadbabaie 2019, Corollary 4.2: one hidden layer of 4N/d_x + 4d_y ReLUs (general position).

Class-pure groups of at most d_x points; through each group an affine hyperplane ``a(x) = 0`` whose
nearest foreign point is ``γ`` away; a flat-top bump of ``t = M·a(x)`` (M ≥ 3/γ) that is exactly 1
on the group and exactly 0 on every other point, routed to the group's class output.
"""

from __future__ import annotations

import math

from fractions import Fraction

import numpy as np

from ... import _exact
from ...activations import Activation, get_activation
from ...data import Dataset, as_rng, prepare
from ...errors import ArgumentError
from ...network import Dense, Network
from ...registry import Architecture, PaperSize, register
from ...verify import check_self, default_tol
from .._slabs import plan_group_size, build_slabs, split_groups

__all__ = ["yun2019_one_hidden", "architecture"]

_REFERENCE = (
    "C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis of "
    "memorization capacity. NeurIPS 2019, Corollary 4.2."
)


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


@register(
    "yun2019_one_hidden",
    summary="Yun et al. 2019, Cor 4.2: one hidden layer of ≤ 4N/d_x + 4d_y ReLUs (2N/d_x + 2d_y hard-tanh), one-hot labels, points in general position.",
    task="classification",
    architecture=architecture,
    reference=_REFERENCE,
    aliases=("yun2019_cor42",),
    assumptions=("general position", "one-hot labels"),
    paper_size=paper_size,
)
def yun2019_one_hidden(
    X,
    y,
    *,
    activation="relu",
    classes=None,
    rng=None,
    exact: bool = False,
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

    Recipe: ⌊N/d_x + d_y⌋ class-pure groups of at most d_x points (more, smaller groups than the
    minimum Σ⌈n_c/d_x⌉, which enlarges the margins); a hyperplane ``a(x) = <u, x> − c`` through
    each group with margin ``γ = min_{x∉G}|a(x)|``; gain ``M`` (a power of two ≥ 4/γ in float64,
    3/γ in exact mode); the bump ``½[σ(t+3) − σ(t+1) − σ(t−1) + σ(t−3)]/(s₊ − s₋)`` of ``t = M·a``
    is 1 for |t| ≤ 1 and 0 for |t| ≥ 3. Hard-tanh: ``½[σ_H(t+2) − σ_H(t−2)]``.

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
    data: Dataset = prepare(X, y, task="classification", classes=classes)
    act = _activation(activation)
    gen = as_rng(rng)
    n, d = data.X.shape
    k = data.k
    labels = data.labels

    hull, size = plan_group_size(data.X, exact=exact, rng=gen)
    planned = _planned_groups(n, d, k)
    groups = split_groups(n, size, n_groups=max(planned, _min_groups(labels, size)), labels=labels, rng=gen)
    slabs = build_slabs(data.X, groups, rng=gen, exact=exact, labels=labels, max_size=size, hull=hull, allow_dependent=True)

    G = slabs.n_groups
    per = 2 if act.name == "hardtanh" else 4
    Xw = _exact.to_exact_array(data.X) if exact else data.X
    if exact:
        M = np.array([1 if m == float("inf") else _exact.exact_scalar(Fraction(3) / _exact.exact_scalar(m)) for m in slabs.margins], dtype=object)
    else:
        marg = np.asarray(slabs.margins, dtype=np.float64)
        M = np.where(np.isfinite(marg), 2.0 ** np.ceil(np.log2(4.0 / np.where(np.isfinite(marg), marg, 1.0))), 1.0)
    if per == 4:
        offs = [3, 1, -1, -3]
        if act.name == "relu_like":
            sp, sm = (_exact.exact_scalar(s) for s in act.slopes)
            scale = _exact.exact_scalar(Fraction(1) / (sp - sm)) if exact else 1.0 / (float(act.slopes[0]) - float(act.slopes[1]))
        else:
            scale = 1
        half = Fraction(_exact.exact_scalar(scale)) / 2 if exact else float(scale) / 2
        coef = [half, -half, -half, half]
    else:
        offs = [2, -2]
        half = _exact.exact_scalar(0.5) if exact else 0.5
        coef = [half, -half]
    W1 = np.repeat(M[:, None] * slabs.normals, per, axis=0)
    b1 = np.concatenate([-M[:, None] * slabs.offsets[:, None] + np.array(offs, dtype=object if exact else float)[None, :]], axis=0).reshape(-1)
    W2 = np.zeros((k, per * G), dtype=object if exact else np.float64)
    if exact:
        W2[:] = 0
    rows = np.repeat(slabs.labels, per)
    W2[rows, np.arange(per * G)] = np.tile(np.array(coef, dtype=object if exact else float), G)
    b2 = np.zeros(k, dtype=object if exact else np.float64)
    if exact:
        b2[:] = 0
    theorem_units = per * planned
    meta = {
        "method": "yun2019_one_hidden",
        "activation": act.to_json(),
        "theorem_units": theorem_units,
        "extra_units": per * G - theorem_units,
        "paper_bound": per * (n / d + k),
        "classes": np.asarray(data.classes).tolist(),
        "max_gain": float(max(M)) if G else None,
        "n_duplicates_merged": data.n_duplicates,
        **{f"slabs_{key}": v for key, v in slabs.summary().items()},
    }
    net = Network([Dense(W1, b1, act), Dense(W2, b2)], meta)
    out = net(Xw)
    Yt = _exact.to_exact_array(data.Y) if exact else data.Y
    check_self(out, Yt, default_tol(1.0, exact), method="yun2019_one_hidden", index=data.index)
    return net


def _min_groups(labels: np.ndarray, size: int) -> int:
    counts = np.bincount(labels)
    return int(np.sum(-(-counts // size)))
