"""Vardi, Yehudai, Shamir 2022, Theorem 3.1: constant width and Õ(√N) parameters.

N points of the unit ball, pairwise δ apart, with C classes are memorized by a ReLU network of
constant width and depth Õ(√N·log(C/δ)) — fewer parameters than points for large N. The
construction (steps in :mod:`._bits`, shared with ``yang2026``): project the points to distinct
integers (one ReLU); look up the big integer that stores the (key, label) records of the
point's block with a staircase of the projection, a few thresholds per layer; extract its bits
one per layer; an interval test against the projection picks the point's own record and adds
its label. It is ``yang2026`` with one bit per layer and the flat lookup; see
``docs/yang2026.md``.
"""

from __future__ import annotations

from ..network import Network
from ..registry import Architecture, register
from . import _bits
from ._target import refuse_exact_only
from . import _bitsplan as plan

__all__ = ["vardi2022", "architecture"]


def architecture(n: int, dx: int, dy: int = 1, *, n_classes: int | None = None, key_max: int | None = None,
                 key_bits: int | None = None, delta: float | None = None, z_bits: int | None = None,
                 **options) -> Architecture:
    """Sizes of the ``vardi2022`` network: :func:`memorize.constructions.yang2026.architecture`
    with one bit per layer and the flat lookup (unless ``options`` say otherwise).

    Examples
    --------
    >>> from memorize.constructions.vardi2022 import architecture
    >>> a = architecture(10**4, 3, 10, key_max=2**30)
    >>> max(a.widths) <= 7
    True
    """
    return plan.architecture(n, dx, dy, n_classes=n_classes, key_max=key_max, key_bits=key_bits, delta=delta,
                             z_bits=z_bits, **{"bits_per_layer": 1, "lookup": "flat", **options})


@register(
    "vardi2022",
    summary=("Vardi, Yehudai, Shamir 2022, Thm 3.1: constant-width deep ReLU net with Õ(√N) parameters "
             "(bit extraction one bit per layer, flat lookup); exact big-integer weights; C classes."),
    task="classification",
    architecture=architecture,
    reference="G. Vardi, G. Yehudai, O. Shamir. On the optimal memorization power of ReLU neural networks. ICLR 2022.",
    demo_max_n=300,
    assumptions=("δ-separated points", "class labels", "exact arithmetic (big-integer weights)"),
)
def vardi2022(X, y, *, block_size: int | None = None, depth: int | None = None, delta=None, n_directions: int = 8,
              rng=None, exact: bool = True, dtype=None) -> Network:
    """Constant-width bit-extraction memorizer (Vardi et al. 2022): ``yang2026`` with one bit per
    layer and the flat lookup.

    Parameters
    ----------
    X, y, block_size, depth, delta, n_directions, rng, dtype
        As in :func:`memorize.constructions.yang2026.yang2026`.
    exact : bool, default True
        The network is always exact (big-integer weights); ``exact=False`` is accepted for a
        uniform builder signature and changes nothing.

    Returns
    -------
    Network
        An exact network of width at most 7 whose scalar output is each point's label (integer
        labels) or class index (other labels), with ``meta`` as for ``yang2026``.

    Notes
    -----
    Vardi, Yehudai & Shamir (2022), Theorem 3.1: N points of the unit ball, pairwise at least δ
    apart, with C classes are memorized by a ReLU network of constant width and depth
    Õ(√N·log(C/δ)) — fewer parameters than points for large N. The weights carry the labels in
    their bits, so they have hundreds to thousands of bits: float64 cannot represent them.
    Recipe: steps 1–8 of ``memorize.constructions._bits`` with one bit read per extraction
    layer and (W − 2)/2 thresholds per lookup layer; see ``yang2026`` (this is its
    constant-width setting) and ``docs/yang2026.md``.

    References
    ----------
    G. Vardi, G. Yehudai, O. Shamir. On the optimal memorization power of ReLU neural networks.
    ICLR 2022.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(1)
    >>> X, y = rng.uniform(-1, 1, (30, 2)), rng.integers(0, 2, 30)
    >>> net = memorize.build("vardi2022", X, y)
    >>> memorize.verify(net, X, y).max_error, net.meta["width"] <= 7
    (0, True)
    """
    refuse_exact_only(dtype, "vardi2022")
    return _bits.build(X, y, width=None, depth=depth, block_size=block_size, bits_per_layer=1, layers_per_key=None,
                       lookup="flat", lookup_width=None, delta=delta, n_directions=n_directions, rng=rng,
                       method="vardi2022")
