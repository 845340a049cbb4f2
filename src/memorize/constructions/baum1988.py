"""Baum 1988: one hidden layer of 2⌈⌈N/2⌉/d⌉ threshold units for binary labels (general position).

The minority class is split into groups of at most d points; each group gets an affine hyperplane
``a(x) = <u, x> − c`` through it and two threshold units ``H(a + ε) − H(a − ε)``, a slab that is 1
on the group and 0 on every other point (0 < ε < margin). The output is the majority label plus
(minority − majority) times the sum of the slabs.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .. import _exact
from ..activations import step
from ..data import Dataset, as_rng, format_indices, prepare
from ..errors import LabelError
from ..network import Dense, Network
from ..registry import Architecture, register
from ..verify import check_self
from ._slabs import plan_group_size, build_slabs, split_groups

__all__ = ["baum1988", "architecture"]

_REFERENCE = "E. B. Baum. On the capabilities of multilayer perceptrons. Journal of Complexity 4(3):193–215, 1988."


def _planned_groups(n: int, d: int) -> int:
    return -(-(-(-n // 2)) // d)


def architecture(n: int, dx: int, dy: int = 1, **_options) -> Architecture:
    """2⌈⌈N/2⌉/d⌉ threshold units (exact when the minority class has at least ⌈⌈N/2⌉/d⌉ points)."""
    w = 2 * _planned_groups(n, dx)
    return Architecture(
        "baum1988", dx, (w,), 1, w * dx + w + w + 1, activation="step", max_weight_bits=None,
        notes="2 threshold units per group of ≤ d minority-class points",
    )


@register(
    "baum1988",
    summary="Baum 1988: one hidden layer of 2⌈⌈N/2⌉/d⌉ threshold units, binary labels, points in general position.",
    task="binary",
    architecture=architecture,
    reference=_REFERENCE,
    assumptions=("general position", "binary labels"),
)
def baum1988(X, y, *, rng=None, exact: bool = False) -> Network:
    """Build Baum's threshold network: 2⌈⌈N/2⌉/d⌉ step units memorizing binary labels.

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,)
        Two label values, e.g. ±1 or 0/1 (any two reals are accepted; a single value too).
    rng : None, int or numpy.random.Generator
        Seeds the grouping and the normals of under-full groups (``None`` means seed 0).
    exact : bool, default False
        Build in exact rational arithmetic (small data).

    Returns
    -------
    Network
        ``Dense(W×d, step) → Dense(1×W)``, W = 2⌈⌈N/2⌉/d⌉ on data in general position whose
        minority class has at least ⌈⌈N/2⌉/d⌉ points (otherwise 2·|minority| units, fewer).
        ``meta``: ``theorem_units``, ``extra_units`` (units added on degenerate data; negative
        when fewer were needed), ``majority``, ``minority``, margins.

    Notes
    -----
    Baum (1988): N points in general position in R^d with binary labels are memorized by one
    hidden layer of about N/d threshold units. Recipe: the minority class P (|P| ≤ ⌊N/2⌋) is
    split into ⌈⌈N/2⌉/d⌉ groups of at most d points (spare groups make them smaller and their
    margins larger); through each group a hyperplane with margin γ = min_{x∉G}|a(x)| > 0 (general
    position); units ``H(a + ε)`` and ``H(a − ε)`` with ε = γ/2, output weights ±(minority −
    majority), output bias the majority label.

    Exactness: the threshold units output exact 0/1, so for ±1 or 0/1 labels the float64
    network is exact (error 0) as soon as every margin exceeds the rounding of a, which is
    checked against a rigorous bound. Degenerate data: groups shrink (see :mod:`._slabs`),
    the extra units are reported; the data are never perturbed.

    References
    ----------
    E. B. Baum. On the capabilities of multilayer perceptrons. J. Complexity 4 (1988) 193–215.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((100, 10)), rng.choice([-1, 1], 100)
    >>> net = memorize.build("baum1988", X, y)
    >>> net.widths
    (10,)
    >>> memorize.verify(net, X, y).max_error
    0.0
    """
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise LabelError(f"y: baum1988 takes one binary label per point (shape (N,)), got shape {np.shape(y)}")
    data: Dataset = prepare(X, arr, task="regression")
    values = np.unique(data.Y[:, 0])
    if values.size > 2:
        raise LabelError(
            f"y: baum1988 needs binary labels, got {values.size} distinct values "
            f"(first rows with a third value: {format_indices(np.nonzero(data.Y[:, 0] == values[2])[0])})"
        )
    gen = as_rng(rng)
    n, d = data.X.shape
    lab = data.Y[:, 0]
    counts = [(int(np.sum(lab == v)), i, v) for i, v in enumerate(values)]
    counts.sort(key=lambda t: (-t[0], t[1]))
    majority = float(counts[0][2])
    minority = float(counts[1][2]) if len(counts) > 1 else majority
    P = np.nonzero(lab != majority)[0]

    hull, size = plan_group_size(data.X, exact=exact, rng=gen)
    planned = _planned_groups(n, d)
    if P.size:
        need = -(-P.size // size)
        parts = split_groups(P.size, size, n_groups=max(need, min(P.size, planned)), rng=gen)
        groups = [P[p] for p in parts]
    else:
        groups = []
    slabs = build_slabs(data.X, groups, rng=gen, exact=exact, max_size=size, hull=hull, allow_dependent=True)
    G = slabs.n_groups
    dt = object if exact else np.float64
    if exact:
        eps = np.array([1 if m == float("inf") else _exact.exact_scalar(Fraction(_exact.exact_scalar(m)) / 2) for m in slabs.margins], dtype=object)
        Xw = _exact.to_exact_array(data.X)
        maj, dlt = _exact.exact_scalar(majority), _exact.exact_scalar(minority) - _exact.exact_scalar(majority)
    else:
        marg = np.asarray(slabs.margins, dtype=np.float64)
        eps = np.where(np.isfinite(marg), marg / 2, 1.0)
        Xw = data.X
        maj, dlt = majority, minority - majority
    W1 = np.repeat(slabs.normals, 2, axis=0) if G else np.zeros((0, d), dtype=dt)
    b1 = np.empty(2 * G, dtype=dt)
    if G:
        b1[0::2] = eps - slabs.offsets
        b1[1::2] = -eps - slabs.offsets
    W2 = np.empty((1, 2 * G), dtype=dt)
    W2[0, 0::2] = dlt
    W2[0, 1::2] = -dlt
    theorem_units = 2 * planned
    meta = {
        "method": "baum1988",
        "theorem_units": theorem_units,
        "extra_units": 2 * G - theorem_units,
        "majority": majority,
        "minority": minority,
        "n_duplicates_merged": data.n_duplicates,
        **{f"slabs_{key}": v for key, v in slabs.summary().items()},
    }
    net = Network([Dense(W1, b1, step), Dense(W2, np.array([maj], dtype=dt))], meta)
    out = net(Xw)
    Y = _exact.to_exact_array(data.Y) if exact else data.Y
    tol = 0 if exact else 4 * 2.0**-53 * max(abs(majority), abs(minority))
    check_self(out, Y, tol, method="baum1988", index=data.index)
    return net
