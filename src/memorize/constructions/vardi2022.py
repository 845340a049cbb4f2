"""Vardi, Yehudai, Shamir 2022: constant width with Õ(√N) parameters, and depth-bounded copies.

Theorem 3.1: N points of the unit ball, pairwise δ apart, with C classes are memorized by a
ReLU network of constant width and depth Õ(√N·log(C/δ)) — fewer parameters than points for
large N. The construction (steps in :mod:`._bits`, shared with ``yang2026``): project the
points to distinct integers (one ReLU); look up the big integer that stores the (key, label)
records of the point's block with a staircase of the projection, a few thresholds per layer;
extract its bits one per layer; an interval test against the projection picks the point's own
record and adds its label.

The depth-bounded variant (same paper, depth L ≤ √N, Õ(N/L) parameters): P parallel copies of
that network after the shared projection, copy c storing only the c-th run of blocks; at a
data point its own copy adds the label and every other copy adds 0 (no record matches a foreign
key). More copies mean fewer blocks per copy, a shorter lookup and smaller blocks: depth and
bits per weight fall, the number of (nonzero) parameters grows like N/L. The knob is ``depth``
(the fewest copies within it) or ``copies``; see ``docs/vardi2022.md``.
"""

from __future__ import annotations

from ..errors import CapacityError
from ..network import Network
from ..registry import Architecture, register
from . import _bits
from ._target import refuse_exact_only
from . import _bitsplan as plan

__all__ = ["vardi2022", "architecture", "depth_curve"]

#: The paper's setting: one bit read per extraction layer, the flat lookup.
SETTING = {"bits_per_layer": 1, "lookup": "flat"}


def architecture(n: int, dx: int, dy: int = 1, *, depth: int | None = None, copies: int | None = None,
                 block_size: int | None = None, n_classes: int | None = None, key_max: int | None = None,
                 key_bits: int | None = None, delta: float | None = None, z_bits: int | None = None) -> Architecture:
    """Sizes of the ``vardi2022`` network for ``n`` points without building it.

    Parameters
    ----------
    n, dx, dy : int
        Points, input dimension, classes (``n_classes`` overrides ``dy``).
    depth, copies, block_size : int, optional
        The builder's knobs (:func:`vardi2022`): with ``depth`` the fewest parallel copies
        whose network has at most that many hidden layers.
    key_max, key_bits, delta, z_bits : optional
        The key range and the bits of the projection, as for
        :func:`memorize.constructions.yang2026.architecture`: exact with ``key_max`` and
        ``z_bits`` from a built network's ``meta``, else estimated.

    Returns
    -------
    Architecture
        Widths (the copies' widths add up layer by layer), the dense parameter count (what
        :attr:`memorize.Network.num_params` counts, zeros between copies included), the
        structural nonzero count (the paper's parameter count) and the largest weight's bits.

    Examples
    --------
    >>> from memorize.constructions.vardi2022 import architecture
    >>> a = architecture(10**4, 3, 10, key_max=2**30)
    >>> max(a.widths) <= 7, a.method
    (True, 'vardi2022')
    >>> b = architecture(10**4, 3, 10, key_max=2**30, depth=100)
    >>> b.depth <= 100 < a.depth, b.max_weight_bits < a.max_weight_bits, b.num_nonzero > a.num_nonzero
    (True, True, True)
    """
    return plan.architecture(n, dx, dy, n_classes=n_classes, key_max=key_max, key_bits=key_bits, delta=delta,
                             z_bits=z_bits, method="vardi2022", depth=depth, block_size=block_size,
                             copies="auto" if copies is None else copies, **SETTING)


def depth_curve(n: int, dx: int, dy: int = 1, **knobs) -> list[dict]:
    """Depth budgets from the constant-width network down to shallow parallel copies.

    Parameters
    ----------
    n, dx, dy : int
        Points, input dimension, classes, as for :func:`architecture`.
    **knobs
        Further :func:`architecture` options (``delta``, ``key_max``, ...); ``depth`` and
        ``copies`` are what the curve sets, so they must not be given.

    Returns
    -------
    list of dict
        ``{"depth": L}`` for L about half the previous network's depth, starting from half the
        constant-width depth, while a network within L exists: the trade-off of the paper's
        depth-bounded variant (depth down, width, nonzeros up like N/L, bits per weight down)
        that :func:`memorize.plan` lists beside the constant-width row.

    Notes
    -----
    Each budget is reachable (its :func:`architecture` call succeeds); the halving stops at the
    first budget below the shallowest copies network (one block per copy, about
    n + ℓ + 2 layers for n key bits and ℓ label bits), so the last row is within a factor 2
    of it.

    Examples
    --------
    >>> from memorize.constructions.vardi2022 import architecture, depth_curve
    >>> curve = depth_curve(10**4, 8, 10)
    >>> depths = [architecture(10**4, 8, 10, **c).depth for c in curve]
    >>> depths == sorted(depths, reverse=True), depths[0] < architecture(10**4, 8, 10).depth
    (True, True)
    """
    depth = architecture(n, dx, dy, **knobs).depth
    curve = []
    while depth >= 2:
        try:
            depth = architecture(n, dx, dy, depth=depth // 2, **knobs).depth
        except CapacityError:
            break
        curve.append({"depth": depth})
    return curve


@register(
    "vardi2022",
    summary=("Vardi, Yehudai, Shamir 2022, Thm 3.1: constant-width deep ReLU net with Õ(√N) parameters "
             "(bit extraction one bit per layer, flat lookup); depth=L ≤ √N: parallel copies, Õ(N/L) "
             "nonzero parameters; exact big-integer weights; C classes."),
    task="classification",
    architecture=architecture,
    reference="G. Vardi, G. Yehudai, O. Shamir. On the optimal memorization power of ReLU neural networks. ICLR 2022.",
    demo_max_n=300,
    demo_variants=({"depth": 60},),
    plan_variants=depth_curve,
    assumptions=("δ-separated points", "class labels", "exact arithmetic (big-integer weights)"),
)
def vardi2022(X, y, *, depth: int | None = None, copies: int | None = None, block_size: int | None = None,
              delta=None, n_directions: int = 8, rng=None, exact: bool = True, dtype=None) -> Network:
    """Bit-extraction memorizer of Vardi et al. 2022: constant width, or depth-bounded copies.

    Parameters
    ----------
    X, y
        Distinct points and their class labels, as in :func:`memorize.constructions.yang2026.yang2026`.
    depth : int, optional
        Largest number of hidden layers: the builder uses the fewest parallel copies that
        reach it (one copy, the constant-width network, when it suffices).
    copies : int, optional
        The number P of parallel copies (default: 1, or the fewest within ``depth``).
    block_size : int, optional
        S, the points per big integer (default: the S with the smallest depth).
    delta, n_directions, rng, dtype
        As in :func:`memorize.constructions.yang2026.yang2026`.
    exact : bool, default True
        The network is always exact (big-integer weights); ``exact=False`` is accepted for a
        uniform builder signature and changes nothing.

    Returns
    -------
    Network
        An exact network whose scalar output is each point's label (integer labels) or class
        index (other labels). One copy has width at most 7; P copies have P times the width in
        block-diagonal layers after the shared first layer. ``meta`` as for ``yang2026``, plus
        ``copies``.

    Raises
    ------
    CapacityError
        When ``depth`` is below the shallowest copies network (one block per copy: about
        n + ℓ + 2 layers for n key bits and ℓ label bits), or ``copies`` exceeds the blocks.

    Notes
    -----
    Vardi, Yehudai & Shamir (2022), Theorem 3.1: N points of the unit ball, pairwise at least δ
    apart, with C classes are memorized by a ReLU network of constant width and depth
    Õ(√N·log(C/δ)) — fewer parameters than points for large N. For a depth budget
    1 ≤ L ≤ √N the same paper gives networks with Õ(N/L) parameters; here: P parallel copies,
    copy c storing the c-th run of blocks, so each copy has ⌈B/P⌉ blocks, a lookup P times
    shorter, and the depth √(N·ρ/P) up to constants (ρ bits per record). The weights carry the
    labels in their bits (S·ρ bits per block integer, about the depth), so float64 cannot
    represent them. Steps: 1–3 and 8 of ``memorize.constructions._bits`` once, 4–6 per copy
    (one bit per extraction layer, (W − 2)/2 thresholds per lookup layer), 7 stacks the
    copies and sums their outputs; the missing proofs are in ``docs/vardi2022.md``.

    References
    ----------
    G. Vardi, G. Yehudai, O. Shamir. On the optimal memorization power of ReLU neural networks.
    ICLR 2022 (arXiv:2110.03187).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(1)
    >>> X, y = rng.uniform(-1, 1, (30, 2)), rng.integers(0, 2, 30)
    >>> net = memorize.build("vardi2022", X, y)
    >>> memorize.verify(net, X, y).max_error, net.meta["width"] <= 7, net.meta["copies"]
    (0, True, 1)
    >>> shallow = memorize.build("vardi2022", X, y, depth=net.depth // 2)
    >>> memorize.verify(shallow, X, y).max_error, shallow.depth <= net.depth // 2, shallow.meta["copies"] > 1
    (0, True, True)
    """
    refuse_exact_only(dtype, "vardi2022")
    return _bits.build(X, y, width=None, depth=depth, block_size=block_size, layers_per_key=None, lookup_width=None,
                       delta=delta, n_directions=n_directions, rng=rng, method="vardi2022",
                       copies="auto" if copies is None else copies, **SETTING)
