"""Baum 1988: one hidden layer of 2⌈⌈N/2⌉/d⌉ threshold units for binary labels (general position).

Theorem (Baum 1988): N points in general position in R^d with binary labels are memorized by one
hidden layer of about N/d threshold units. Construction: the minority class is split into groups
of at most d points; each group gets an affine hyperplane ``a(x) = <u, x> − c`` through it and two
threshold units ``H(a + ε) − H(a − ε)``, a slab that is 1 on the group and 0 on every other point
(0 < ε < margin). The output is the majority label plus (minority − majority) times the sum of the
slabs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .._arith import Arithmetic, arithmetic
from .._linalg import U64
from ..activations import step
from ..data import Dataset, as_rng, format_indices, label_array, prepare
from ..errors import LabelError
from ..network import Dense, Network
from ..registry import Architecture, register
from ..verify import check_self
from ._slabs import SlabSet, build_slabs, plan_group_size, split_groups
from ._target import certified, in_format, refusals, target_format, tuned

__all__ = ["baum1988", "architecture"]

#: Largest N certified in each format (benchmarks/float_limits.py --mode after: N standard Gaussian
#: points in R^32, labels ±1, seeds 0–2; every N of the doubling-and-bisection grid below it certified
#: too; "measured_to" is the largest N tried: in float32 no failure was seen up to it, where three
#: builds and certificates took over two minutes). The limit depends on the data: it is a fact
#: about these data, not a guarantee; the builder certifies its own network anyway. In float32 the
#: output is proven exact (0/1 steps summed with integer weights). In bfloat16 groups whose margins
#: are below the format's rounding give up points: at N = 1024 (seed 0) the network had 70 units
#: instead of the theorem's 32 (``meta["extra_units"]``).
FLOAT_LIMITS = {"float32": 65536, "bfloat16": 1218, "measured_to": 65536}

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


def _binary_data(X, y) -> Dataset:
    """The checked data, refusing anything but one column of at most two label values.

    Non-numeric labels (strings) are memorized as their index in the sorted label values, which
    ``classes`` then lists (see :func:`_label_meta`).
    """
    arr = label_array(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise LabelError(f"y: baum1988 takes one binary label per point (shape (N,)), got shape {np.shape(y)}")
    if arr.dtype.kind in "US":
        classes, codes = np.unique(arr, return_inverse=True)
        if classes.size > 2:
            third = np.nonzero(codes >= 2)[0]
            raise LabelError(f"y: baum1988 needs binary labels, got {classes.size} distinct values "
                             f"(first rows with a third value: {format_indices(third)})")
        return replace(prepare(X, codes.astype(np.float64), task="regression"), classes=classes)
    data = prepare(X, arr, task="regression")
    values = np.unique(data.Y[:, 0])
    if values.size > 2:
        raise LabelError(
            f"y: baum1988 needs binary labels, got {values.size} distinct values "
            f"(first rows with a third value: {format_indices(np.nonzero(data.Y[:, 0] == values[2])[0])})"
        )
    return data


def _label_meta(data: Dataset) -> dict:
    """For string labels: the output is the label's index in ``classes`` (as
    :func:`memorize.verify` reads it)."""
    if data.classes is None:
        return {}
    return {"output": "class index", "classes": [str(c) if isinstance(c, str) else c.decode() for c in data.classes]}


def split_classes(Y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Step 1: the majority label, the minority label and the rows P of the minority class.

    Claim: |P| ≤ ⌊N/2⌋ (on a tie the smaller label is the majority); with a single label value
    P is empty and minority = majority.
    """
    lab = Y[:, 0]
    values = np.unique(lab)
    counts = sorted(((int(np.sum(lab == v)), i, v) for i, v in enumerate(values)), key=lambda t: (-t[0], t[1]))
    majority = float(counts[0][2])
    minority = float(counts[1][2]) if len(counts) > 1 else majority
    return majority, minority, np.nonzero(lab != majority)[0]


def group_minority(ar: Arithmetic, X: np.ndarray, P: np.ndarray, gen: np.random.Generator):
    """Step 2: the minority rows in groups of at most d points (fewer on flat data).

    Claim: the groups partition P into ⌈⌈N/2⌉/d⌉ groups when P has that many points (spare groups
    make them smaller and their margins larger), each of at most the largest size that can lie on
    a hyperplane avoiding the others (d, or the dimension of the data's affine hull).
    Returns the groups, the affine hull (or None) and that size.
    """
    n, d = X.shape
    hull, size = plan_group_size(X, ar=ar, rng=gen)
    if not P.size:
        return [], hull, size
    need = -(-P.size // size)
    parts = split_groups(P.size, size, n_groups=max(need, min(P.size, _planned_groups(n, d))), rng=gen)
    return [P[p] for p in parts], hull, size


def slab_units(ar: Arithmetic, slabs: SlabSet) -> tuple[np.ndarray, np.ndarray]:
    """Step 4: two threshold units per group, ``H(a + ε)`` and ``H(a − ε)`` with ε = γ/2.

    Claim: the slab ``H(a + ε) − H(a − ε)`` is 1 on its group (|a| ≤ residual < ε) and 0 at every
    other point (|a| ≥ γ > ε). A group that holds every point has no margin: ε = 1.
    Returns the hidden weights (2G, d) and biases (2G,); group g owns rows 2g and 2g + 1.
    """
    finite, gamma = slabs.finite_margins()
    eps = np.where(finite, ar.div(gamma, 2), 1)
    b1 = np.empty(2 * slabs.n_groups, dtype=ar.dtype)
    b1[0::2] = eps - slabs.offsets
    b1[1::2] = -eps - slabs.offsets
    return np.repeat(slabs.normals, 2, axis=0), b1


def output_layer(ar: Arithmetic, majority: float, minority: float, n_groups: int) -> Dense:
    """Step 5: the output ``majority + (minority − majority)·Σ_g slab_g``.

    Claim: with exactly one slab equal to 1 at a minority point and none at a majority point
    (steps 2–4), the output at every point is its label.
    """
    jump = ar.scalar(minority) - ar.scalar(majority)
    W2 = np.empty((1, 2 * n_groups), dtype=ar.dtype)
    W2[0, 0::2] = jump
    W2[0, 1::2] = -jump
    return Dense(W2, ar.full(1, majority))


@register(
    "baum1988",
    summary="Baum 1988: one hidden layer of 2⌈⌈N/2⌉/d⌉ threshold units, binary labels, points in general position.",
    task="binary",
    architecture=architecture,
    reference=_REFERENCE,
    assumptions=("general position", "binary labels"),
    float_limits=FLOAT_LIMITS,
)
def baum1988(X, y, *, rng=None, exact: bool = False, dtype=None) -> Network:
    """Build Baum's threshold network: 2⌈⌈N/2⌉/d⌉ step units memorizing binary labels.

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,)
        Two label values, e.g. ±1 or 0/1 (any two reals are accepted; a single value too).
        Two strings are accepted too: the network then outputs 0 or 1, the label's index in
        ``meta["classes"]``, and :func:`memorize.verify` maps the strings through it.
    rng : None, int or numpy.random.Generator
        Seeds the grouping and the normals of under-full groups (``None`` means seed 0).
    exact : bool, default False
        Build in exact rational arithmetic (small data).
    dtype : str, NumPy or torch dtype, optional
        Build for this format ("float32", "bfloat16", ...): on the inputs rounded to it, with
        hyperplanes of the format whose margins beat its rounding bound (groups of fewer than d points
        pass through the origin, so their biases round to nothing); weights rounded to it; every point
        certified (``meta["certificate"]``) or :class:`~memorize.errors.PrecisionError` (limits:
        :data:`FLOAT_LIMITS`; ``float_safe_classifier`` is correct in the format by design). None: the
        float64 network, uncertified.

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
    hidden layer of about N/d threshold units. Recipe (the steps are the functions of this
    module, in order): the minority class P (|P| ≤ ⌊N/2⌋) is split into ⌈⌈N/2⌉/d⌉ groups of at
    most d points (spare groups make them smaller and their margins larger); through each group
    a hyperplane with margin γ = min_{x∉G}|a(x)| > 0 (general position); units ``H(a + ε)`` and
    ``H(a − ε)`` with ε = γ/2, output weights ±(minority − majority), output bias the majority
    label.

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
    fmt = target_format(dtype, exact=exact)
    data = in_format(_binary_data(X, y), fmt, "baum1988")
    ar = arithmetic(exact)
    gen = as_rng(rng)
    n, d = data.X.shape
    majority, minority, P = split_classes(data.Y)
    with refusals(fmt, "baum1988"):
        groups, hull, size = group_minority(ar, data.X, P, gen)
        # Step 3: a hyperplane through each group, every other point at least its margin γ > 0 away
        slabs = build_slabs(data.X, groups, rng=gen, ar=ar, max_size=size, hull=hull, allow_dependent=True, fmt=tuned(fmt))
    W1, b1 = slab_units(ar, slabs)
    G = slabs.n_groups
    theorem_units = 2 * _planned_groups(n, d)
    meta = {
        "method": "baum1988",
        "theorem_units": theorem_units,
        "extra_units": 2 * G - theorem_units,
        "majority": majority,
        "minority": minority,
        "n_duplicates_merged": data.n_duplicates,
        **_label_meta(data),
        **{f"slabs_{key}": v for key, v in slabs.summary().items()},
    }
    net = Network([Dense(W1, b1, step), output_layer(ar, majority, minority, G)], meta)
    # Step 6: the claim checked at every point; the threshold units give exact 0/1, so in float64
    # only the output's sum rounds
    tol = ar.tol(4 * U64 * max(abs(majority), abs(minority)))
    check_self(net(ar.asarray(data.X)), ar.asarray(data.Y), tol, method="baum1988", index=data.index)
    # Step 7 (dtype given): the network in its format, certified on every point
    return certified(net, data, fmt, "baum1988")
