"""Yang & Yang 2026, Theorem 2.1: memorization with width W and depth L whenever W²L² ≳ N·log(1/δ).

N points of the unit ball, pairwise δ apart, with C class labels are memorized by a deep ReLU
network of width W and depth L with W²L² = O(N·log(1/δ)) (up to logarithmic factors). The
construction is bit extraction with exact big-integer weights (steps in :mod:`._bits`):
project the points to distinct integer keys (one ReLU); pack S consecutive (key, label)
records into one big integer per block and select the point's block with a staircase of the
projection (flat or grouped lookup); read the block q bits per layer and add the label of the
record whose key matches. The block size S and the layers per key m = ⌈n/q⌉ trade width for
depth. The formulas are this library's re-derivation (one combined staircase for keys and
labels, key separation 1, a single extraction bank); see ``docs/yang2026.md``.
"""

from __future__ import annotations

from ..network import Network
from ..registry import Architecture, register
from . import _bits
from ._target import refuse_exact_only
from . import _bitsplan as plan
from ._bitsplan import choose_shape

__all__ = ["yang2026", "architecture", "choose_shape"]


def architecture(n: int, dx: int, dy: int = 1, *, n_classes: int | None = None, key_max: int | None = None,
                 key_bits: int | None = None, delta: float | None = None, z_bits: int | None = None,
                 **options) -> Architecture:
    """Sizes of the ``yang2026`` network for ``n`` points without building it.

    The widths and parameter count are exact when ``key_max`` (``meta["key_max"]`` of a built
    network) is given. Otherwise the key range is estimated from ``key_bits`` or, failing
    that, from the separation ``delta`` in the unit ball as the union bound
    ``key_max ≈ 3.2·n²·√dx/δ`` (range of the projection over its smallest gap, see
    ``docs/yang2026.md``), or else as the typical ``2·n²`` (generic points: the smallest of
    n − 1 projected gaps is about range/n²; measured key ranges are 2^1.8·n^1.57 for uniform
    data in the 4-ball, N = 10²…10⁵). The knobs (``width``, ``depth``, ``block_size``,
    ``bits_per_layer``, ``layers_per_key``, ``lookup``, ``lookup_width``) are those of
    :func:`yang2026`. ``n_classes`` defaults to ``max(dy, 2)``. ``max_weight_bits`` is an
    estimate unless ``z_bits`` (``meta["z_bits"]``) is given; ``num_nonzero`` is the
    structural count (an upper bound: a data-dependent weight may vanish).

    Examples
    --------
    >>> from memorize.constructions.yang2026 import architecture
    >>> a = architecture(10**6, 4, 10, key_max=2**33, width=20)
    >>> max(a.widths), a.num_nonzero < 10**6
    (20, True)
    """
    return plan.architecture(n, dx, dy, n_classes=n_classes, key_max=key_max, key_bits=key_bits, delta=delta,
                             z_bits=z_bits, **options)


@register(
    "yang2026",
    summary=("Yang & Yang 2026, Thm 2.1 (re-derived): deep ReLU net of width W and depth L with "
             "W²L² ≈ N·log(N/δ), weights exact big integers (bit extraction); C classes."),
    task="classification",
    architecture=architecture,
    reference=("X. Yang, Y. Yang. Memorization capacity of deep ReLU neural networks characterized by width and "
               "depth. arXiv:2603.09589, 2026; G. Vardi, G. Yehudai, O. Shamir. On the optimal memorization power "
               "of ReLU neural networks. ICLR 2022."),
    demo_max_n=300,
    demo_options={},
    assumptions=("δ-separated points", "class labels", "exact arithmetic (big-integer weights)"),
)
def yang2026(X, y, *, width: int | None = None, depth: int | None = None, block_size: int | None = None,
             bits_per_layer: int | None = None, layers_per_key: int | None = None, lookup: str = "auto",
             lookup_width: int | None = None, delta=None, n_directions: int = 8, rng=None,
             exact: bool = True, dtype=None) -> Network:
    """Build a deep bit-extraction ReLU network that memorizes ``(X, y)`` exactly.

    Parameters
    ----------
    X : array_like, shape (N, d) or (N,)
        Distinct points (any scale: the first layer rescales them; identical points with equal
        labels are merged).
    y : array_like, shape (N,)
        Class labels (integers, strings or booleans), or a one-hot matrix (N, C).
    width, depth : int, optional
        Target largest hidden width / number of hidden layers. With ``width`` the builder reads
        as many bits per layer as fit and uses the whole width for the lookup, then picks the
        block size with the smallest depth; with ``depth`` it picks the narrowest network
        within that depth. Without targets it minimises the dense parameter count.
    block_size : int, optional
        S, the number of points packed in one big integer (default: best for the depth).
    bits_per_layer : int, optional
        q, bits read per extraction layer (1 ... 16); the extraction layer has 2^(q+1)+O(1) units.
    layers_per_key : int, optional
        m, layers spent reading one key (sets q = ⌈n/m⌉ from the measured key bits n).
    lookup : {"auto", "flat", "grouped"}
        The staircase lookup: flat (Vardi et al., (W−2)/2 thresholds per layer) or grouped
        (Yang 2025's W²L realisation, about W²/4 thresholds per two layers). Auto: grouped
        whenever it holds more.
    lookup_width : int, optional
        Width budget of the lookup (default: the target width, else the extraction width).
    delta : float, optional
        Promised separation in the units of ``X``; pairs closer than this are refused
        (:class:`~memorize.errors.AssumptionError` naming the pairs). The builder always
        measures the true separation exactly and reports it in ``meta``.
    n_directions : int, default 8
        Random integer projection directions tried; the one with the smallest key range wins.
    rng : None, int or numpy.random.Generator
        Seeds the directions (``None`` means seed 0).
    exact : bool, default True
        Accepted for the common builder signature. The network is always exact (Python-int
        weights): float64 cannot hold its weights, see Notes.
    dtype : None
        Accepted for the common builder signature: any format is refused with a
        :class:`~memorize.errors.PrecisionError` (exact arithmetic only).

    Returns
    -------
    Network
        Exact network (object arrays of Python ``int``), ReLU hidden layers, one output equal
        to the label: the integer label itself for integer labels, else the index of the label
        in ``meta["classes"]``. ``meta`` reports width, depth, ``W2L2``, params, nonzeros,
        ``max_weight_bits``, S, q, n, ℓ, the lookup, the measured separation and the key data
        (``key_max``, ``z_bits``) that make :func:`architecture` exact.

    Raises
    ------
    CapacityError
        When the knobs cannot be realised (too narrow, too shallow, S > N, q > 16).
    AssumptionError
        When two points are closer than ``delta``.

    Notes
    -----
    Theorem (Yang & Yang 2026, Thm 2.1, shape re-derived in ``docs/yang2026.md``):
    N points of the unit ball, pairwise δ apart, with C labels, are memorized by a ReLU
    network of width W and depth L whenever W²L² ≳ N·log(1/δ) (up to logarithmic factors).
    Vardi et al. 2022 (Thm 3.1) is the constant-width case: ``bits_per_layer=1,
    lookup="flat"`` (the builder ``"vardi2022"`` uses exactly these settings), with Õ(√N)
    parameters. Recipe (steps 1–8 of ``memorize.constructions._bits``): φ1 projects to
    integers z with verified distinct values (exact, no probability bound); keys ⌊(z − z0)/Q⌋
    (Q the smallest projected gap) are distinct; S consecutive (key, label) records are
    concatenated into one big integer per block; a staircase of z (flat or grouped) selects
    the block's integer; q bits per layer are read off with 2(2^q − 1) ReLUs
    [x ≥ t·c] = σ(x − tc + 1) − σ(x − tc); an interval test adds the label of the one record
    whose key equals the point's. The weights have about S·(n + ℓ) bits, far beyond float64:
    ``net.astype(np.float64)`` is allowed but loses points (see ``docs/yang2026.md``).

    References
    ----------
    X. Yang, Y. Yang. Memorization capacity of deep ReLU neural networks characterized by
    width and depth. arXiv:2603.09589, 2026. G. Vardi, G. Yehudai, O. Shamir. On the optimal
    memorization power of ReLU neural networks. ICLR 2022. P. Bartlett, N. Harvey, C. Liaw,
    A. Mehrabian. Nearly-tight VC-dimension bounds for piecewise linear neural networks. JMLR
    2019 (bit extraction).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.uniform(-1, 1, (40, 3)), rng.integers(0, 10, 40)
    >>> net = memorize.build("yang2026", X, y, width=12)
    >>> memorize.verify(net, X, y).max_error
    0
    >>> net.meta["width"] <= 12 and net.is_exact
    True
    """
    refuse_exact_only(dtype, "yang2026")
    return _bits.build(X, y, width=width, depth=depth, block_size=block_size, bits_per_layer=bits_per_layer,
                       layers_per_key=layers_per_key, lookup=lookup, lookup_width=lookup_width, delta=delta,
                       n_directions=n_directions, rng=rng, method="yang2026")
