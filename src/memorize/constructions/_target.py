"""Building for a number format: the ``dtype=`` option every float builder takes.

A network is usually run in a smaller format than the float64 it was built in (float32 on a GPU,
bfloat16 in mixed precision). A builder given ``dtype`` builds the network the user will run:

1. :func:`target_format` reads the option: ``None`` keeps the float64 build as it always was
   (same bytes, no certificate); a format (``"float64"`` included) asks for a certified build.
2. :func:`in_format` gives the data as the format holds them: the inputs rounded to the format,
   which is all the network ever sees when it runs in it. Points that become equal merge (same
   label) or are refused (different labels: no network in the format can tell them apart).
3. The builder chooses its free parameters for the format (its unit roundoff ``fmt.u``).
4. :func:`certified` rounds the weights to the format, certifies the network on every point
   with :func:`memorize.certify` (any summation order) and records the summary in
   ``meta["certificate"]``; when the certificate fails it raises
   :class:`~memorize.errors.PrecisionError` with the number of failing points, the largest N the
   builder is certified for in the format (its registered ``float_limits``, measured by
   ``benchmarks/float_limits.py``) and the float-safe builder that memorizes in it by design.

Example: a certified float32 build, and the refusal of a format the construction cannot meet.

>>> import numpy as np, memorize
>>> from memorize.errors import PrecisionError
>>> rng = np.random.default_rng(0)
>>> X, y = rng.standard_normal((40, 32)), rng.choice([-1.0, 1.0], 40)
>>> net = memorize.build("baum1988", X, y, dtype="float32")
>>> net.meta["certificate"]["points"], net.meta["certificate"]["of"]
(40, 40)
>>> try:
...     memorize.build("zhang2017", X, y, dtype="float32")
... except PrecisionError as exc:
...     print("float_safe" in str(exc))
True
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .. import registry
from ..certificate import certify
from ..data import Dataset, format_indices, unique_rows
from ..errors import ArgumentError, AssumptionError, PrecisionError
from ..network import Network
from ..precision import Format, as_format, round_network

__all__ = ["tuned", "target_format", "in_format", "certified", "refusals", "limit_note", "float_safe_for", "refuse_exact_only"]


def target_format(dtype, *, exact: bool) -> Format | None:
    """The format a build targets: None for ``dtype=None`` (the float64 build, uncertified).

    Exact builds take no ``dtype``: their network is exact rational, not a float network.
    """
    if dtype is None:
        return None
    fmt = as_format(dtype)
    if exact:
        raise ArgumentError(
            f"dtype: exact=True builds an exact rational network (error exactly 0); dtype={fmt.name!r} asks for a "
            "float network certified in that format. Pass one of them"
        )
    return fmt


def tuned(fmt: Format | None) -> Format | None:
    """The format a builder tunes its free parameters for: None for float64, whose choices are the
    float64 build's as they always were (``dtype="float64"`` only adds the certificate)."""
    return None if fmt is None or fmt.name == "float64" else fmt


def float_safe_for(method: str) -> str:
    """The float-safe builder for the task of ``method``."""
    return "float_safe" if registry.get(method).task == "regression" else "float_safe_classifier"


def limit_note(method: str, fmt: Format) -> str:
    """The measured limit of ``method`` in ``fmt`` and the float-safe alternative, as a sentence."""
    limits = registry.get(method).float_limits
    safe = float_safe_for(method)
    if isinstance(limits, dict) and fmt.name in limits:
        lim = int(limits[fmt.name])
        where = (f"{method} is certified in {fmt.name} up to N = {lim:,} on Gaussian data in R^32 (measured; "
                 "the limit depends on the data)" if lim > 0 else
                 f"{method} was not certified in {fmt.name} even at N = 2 on Gaussian data in R^32 (measured)")
    else:
        where = f"{method}'s limit in {fmt.name} was not measured"
    return f"{where}. memorize.build({safe!r}, X, y, dtype={fmt.name!r}) memorizes in {fmt.name} by design"


def in_format(data: Dataset, fmt: Format | None, method: str) -> Dataset:
    """The data as ``fmt`` holds them: inputs rounded to the format, equal points merged.

    Claim: the returned points are the distinct roundings of the given ones, each with its label
    (``index`` still points into the user's rows). Raises :class:`PrecisionError` naming the rows
    when the rounding overflows or makes two points with different labels equal.
    """
    if fmt is None or fmt.name == "float64":
        return data
    with np.errstate(over="ignore"):
        Xh = fmt.round(data.X)
    bad = np.flatnonzero(~np.all(np.isfinite(Xh), axis=1))
    if bad.size:
        raise PrecisionError(f"X: rows {format_indices(data.index[bad])} overflow {fmt.name} (largest finite {fmt.max:.4g})")
    Xh += 0.0  # -0.0 -> 0.0, so equal points have equal bytes
    first, inverse = unique_rows(Xh)
    if first.size == data.n:
        return Dataset(_frozen(Xh), data.targets, data.index, data.n_given, data.classes, data.labels)
    rep = first[inverse]
    differs = (data.labels[rep] != data.labels) if data.targets is None else np.any(data.targets[rep] != data.targets, axis=1)
    conflict = np.flatnonzero(differs)
    if conflict.size:
        pairs = [(int(data.index[rep[j]]), int(data.index[j])) for j in conflict]
        raise PrecisionError(
            f"X: the rows of index pairs {format_indices(pairs)} are distinct but equal once rounded to {fmt.name}, "
            f"and carry different labels: no network run in {fmt.name} can tell them apart ({method})"
        )
    targets = None if data.targets is None else _frozen(data.targets[first].copy())
    labels = None if data.labels is None else _frozen(data.labels[first].copy())
    return Dataset(_frozen(Xh[first].copy()), targets, _frozen(data.index[first].copy()), data.n_given,
                   data.classes, labels)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@contextmanager
def refusals(fmt: Format | None, method: str):
    """Inside a build for ``fmt``, an :class:`AssumptionError` (a margin or gap below the format's
    rounding) becomes a :class:`PrecisionError` that says so and names the float-safe builder."""
    try:
        yield
    except AssumptionError as exc:
        if fmt is None or fmt.name == "float64":
            raise
        raise PrecisionError(f"{method}: cannot build for {fmt.name}: {exc}. {limit_note(method, fmt)}") from exc


def certified(net: Network, data: Dataset, fmt: Format | None, method: str) -> Network:
    """The builder's last step for a format: round the weights, certify every point, record it.

    ``fmt`` None returns ``net`` untouched (the float64 build of old). Otherwise the weights are
    rounded to the format (:func:`memorize.precision.round_network`), the rounded network is
    certified on every distinct point (:func:`memorize.certify`, chunked; it costs about three
    forward passes) and ``meta["certificate"]`` records the format, the points certified of the
    points checked, the largest proven error bound and the smallest margin. Claim: the returned
    network memorizes ``data`` in ``fmt`` for every evaluation order. Raises
    :class:`PrecisionError` otherwise.
    """
    if fmt is None:
        return net
    try:
        rnet = round_network(net, fmt)
    except ArgumentError as exc:  # a weight overflows the format
        raise PrecisionError(f"{method}: {exc}. {limit_note(method, fmt)}") from exc
    cert = certify(rnet, data.X, data.Y, dtype=fmt)
    summary = cert.summary()
    record = {
        "format": fmt.name,
        "points": summary["certified"],
        "of": summary["n"],
        "rows": int(data.n_given),
        "exact": summary["exact"],
        "max_bound": summary["max_bound"],
        "min_margin": summary["min_margin"],
        "tol": summary["tol"],
        "seconds": round(cert.seconds, 3),
    }
    if not cert.ok:
        bad = data.index[cert.uncertified]
        raise PrecisionError(
            f"{method}: in {fmt.name} the network misses {len(bad):,} of {cert.n:,} points for some evaluation order "
            f"(rows {format_indices(bad)}: their certificate fails; worst margin {summary['min_margin']:.3g}"
            + (f", tolerance {cert.tol:.3g}" if cert.tol is not None else "") + f"). These data have N = {cert.n:,}; "
            + limit_note(method, fmt)
        )
    return Network(rnet.layers, {**rnet.meta, "certificate": record})


def refuse_exact_only(dtype, method: str) -> None:
    """The ``dtype`` check of a construction that exists in exact arithmetic only.

    ``dtype=None`` passes; any format raises :class:`PrecisionError` saying why: the labels are
    stored in the bits of big-integer weights (hundreds to thousands of bits), which no float
    format holds.
    """
    if dtype is None:
        return
    fmt = as_format(dtype)
    raise PrecisionError(
        f"dtype: {method} stores the labels in the bits of big-integer weights (hundreds to thousands of bits), "
        f"which {fmt.name} (a {fmt.p}-bit significand) cannot hold: it is built in exact arithmetic only. "
        f"memorize.build({float_safe_for(method)!r}, X, y, dtype={fmt.name!r}) memorizes in {fmt.name} by design"
    )
