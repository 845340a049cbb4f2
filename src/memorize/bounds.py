"""Sizes and limits: how big a memorizing network is, and how big it must be.

Two sides of one question.

*Sufficient* — :func:`architecture` returns the exact shape (widths, depth, hidden units,
parameters, weight bits where known) that a registered construction builds for N points,
without building it. It dispatches to the ``architecture=`` function each builder registers in
:mod:`memorize.registry`, the library's single source of size formulas.

*Necessary* — documented formulas from the literature, each with its scope:

=============================== ============================================ ==================================
function                        statement                                    applies to
=============================== ============================================ ==================================
:func:`theorem33_fails`          Yun et al. 2019, Thm 3.3 (piece counting)    2-/3-layer nets, p-piece σ, d_y = 1
:func:`theorem33_min_hidden`     fewest hidden units Thm 3.3 allows           same; data may be collinear
:func:`vc_dimension_bound`       Bartlett et al. 2019, Thm 7 (explicit)       any depth, piecewise-linear σ
:func:`vc_min_params`            fewest parameters the VC bound allows        binary labels on *some* N points
:func:`sontag_min_params`        Sontag 1997: ≥ (N − 1)/2 parameters          all general-position sets, no margin
:func:`dimension_min_params`     P ≥ N·d_y (dimension count)                  arbitrary real labels
:func:`yang_theorem32`           Yang & Yang 2026, Thm 3.2 type (counting)    C labels, δ-separated, depth L
:func:`yang_proposition33`       Yang & Yang 2026, Prop 3.3 type (Siegel)     d_x = 1, C = 2, very small δ
:func:`min_weight_bits`          P·b ≥ N·log₂C (precision counting)           b-bit weights, C labels
=============================== ============================================ ==================================

:func:`lower_bounds` collects those that apply to a problem (N, d_x, d_y, task, δ), as
:class:`LowerBound` records; :func:`memorize.plan` prints them beside the constructions.

Logarithms are base 2 unless stated.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Sequence

from . import registry
from ._checks import check_delta, check_int, check_pieces_per_unit, check_widths
from .errors import ArgumentError
from .pieces import theorem33_max_pieces
from .registry import Architecture, PaperSize

__all__ = [
    "Architecture",
    "LowerBound",
    "PaperSize",
    "paper_size",
    "architecture",
    "dense_num_params",
    "theorem33_capacity",
    "theorem33_fails",
    "theorem33_min_hidden",
    "vc_dimension_bound",
    "vc_min_params",
    "sontag_min_params",
    "dimension_min_params",
    "yang_theorem32",
    "yang_theorem32_floor",
    "yang_proposition33",
    "min_weight_bits",
    "lower_bounds",
]

_E = math.e


# -- sufficient side: the registry -------------------------------------------------------------
def architecture(method: str, n: int, dx: int, dy: int = 1, **options) -> Architecture:
    """The architecture a registered construction builds for ``n`` points, without building it.

    Parameters
    ----------
    method : str
        A name (or alias) from :func:`memorize.methods`.
    n : int
        Number of distinct data points (in general position, where the theorem assumes it).
    dx, dy : int
        Input dimension and output dimension of the network (number of classes for one-hot
        classifiers, 1 for binary and scalar regression).
    **options
        The construction's knobs (``widths=``, ``activation=``, ``depth=``, ``delta=``, ...),
        passed to its registered architecture function.

    Returns
    -------
    memorize.registry.Architecture
        ``widths``, ``depth``, ``num_hidden``, ``num_params``, ``residual``, ``activation``,
        ``max_weight_bits`` (where the construction fixes it) and ``notes``.

    Notes
    -----
    Every builder registers ``architecture=fn(n, dx, dy, **options)``, tested to agree exactly
    with the networks it builds on general-position data. This function only dispatches; no
    size formula is repeated here. On degenerate data a builder may use more units (it then
    says so in ``net.meta["extra_units"]``).

    Examples
    --------
    >>> import memorize
    >>> a = memorize.bounds.architecture("zhang2017", 1000, 10)
    >>> a.widths, a.num_params
    ((1000,), 12001)
    """
    m = registry.get(method)
    if m.architecture is None:
        raise ArgumentError(f"method: {m.name!r} registers no architecture function; its size is only known after building")
    check_int("n", n, 1)
    check_int("dx", dx, 1)
    check_int("dy", dy, 1)
    return m.architecture(int(n), int(dx), int(dy), **options)


def accepts(method: str, option: str) -> bool:
    """True when ``method``'s architecture function takes the keyword ``option`` (or ``**options``)."""
    fn = registry.get(method).architecture
    if fn is None:
        return False
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins / C functions: assume not
        return False
    if option in params and params[option].kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return True
    # a wrapper such as ``lambda n, dx, dy=1, **o: architecture(n, dx, dy, **o)`` forwards it
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def paper_size(method: str, n: int, dx: int, dy: int = 1, *, activation: str = "relu") -> PaperSize | None:
    """The size a construction's theorem states as sufficient, in the paper's own terms.

    Parameters
    ----------
    method : str
        A registered method name.
    n, dx, dy : int
        Points, input dimension, outputs (classes for classifiers).
    activation : {"relu", "hardtanh"}
        Which version of the statement (hard-tanh statements need half the units).

    Returns
    -------
    PaperSize or None
        None when the library has no closed-form statement for the method.

    Notes
    -----
    These are the theorems' *statements* (e.g. Yun et al. Corollary 4.2: d₁ ≥ 4N/d_x + 4d_y),
    kept to reproduce the papers' headline numbers — CIFAR-10: 106 ReLUs in one hidden layer,
    126 in a ResNet; ImageNet: 2k-2k-4k — and to check that no builder uses more than its
    theorem promises. What a builder actually produces comes from the registry
    (:func:`architecture`) and may be smaller: the one-hidden-layer builder plans
    ⌊N/d_x + d_y⌋ groups, 104 ReLUs for CIFAR-10.

    References
    ----------
    Yun, Sra, Jadbabaie 2019 (Thm 3.1, Prop 3.2, Thm 4.1, Cor 4.2); Zhang et al. 2017;
    Hardt & Ma 2017; Bubeck et al. 2020.

    Examples
    --------
    >>> paper_size("yun2019_one_hidden", 50_000, 3072, 10).num_hidden
    106
    >>> paper_size("yun2019_classifier", 10**6, 150528, 1000).widths
    (2000, 2000, 4000)
    """
    fn = registry.get(method).paper_size
    if fn is None:
        return None
    if activation not in ("relu", "hardtanh"):
        raise ArgumentError(f"activation: expected 'relu' or 'hardtanh', got {activation!r}")
    return fn(check_int("n", n, 1), check_int("dx", dx, 1), check_int("dy", dy, 1), activation=activation)


def dense_num_params(dx: int, widths: Sequence[int], dy: int = 1) -> int:
    """Weights and biases of a fully connected network d_x → widths → d_y.

    Used by the lower bounds to express width/depth in parameters (it is not the size formula
    of any construction: those live in the registry).

    Examples
    --------
    >>> dense_num_params(3, (4,), 1)
    21
    """
    dims = [check_int("dx", dx, 1), *check_widths(widths), check_int("dy", dy, 1)]
    return sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(len(dims) - 1))


@dataclass(frozen=True)
class LowerBound:
    """One necessary condition, evaluated for a problem.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"Thm 3.3, 1 hidden layer"``.
    quantity : str
        What is bounded: ``"hidden units"``, ``"parameters"``, ``"W²L²"`` or ``"bits/weight"``.
    value : float
        The bound: any memorizing network in the scope has at least this much of ``quantity``.
    scope : str
        When the bound applies (architecture family, data assumptions).
    reference : str
    """

    name: str
    quantity: str
    value: float
    scope: str
    reference: str

    def __str__(self) -> str:
        v = f"{self.value:,.0f}" if float(self.value).is_integer() else f"{self.value:,.3g}"
        return f"{self.name}: {self.quantity} ≥ {v}  ({self.scope}; {self.reference})"


# -- Yun et al. Theorem 3.3 ----------------------------------------------------------------------
_YUN = "Yun, Sra, Jadbabaie 2019, Thm 3.3"


def theorem33_capacity(widths: Sequence[int], pieces_per_unit: int = 2) -> int:
    """The largest N for which Theorem 3.3 does not rule out fitting every dataset.

    Parameters
    ----------
    widths : (d1,) or (d1, d2)
        Hidden widths of a 2- or 3-layer network with scalar output.
    pieces_per_unit : int, default 2
        p ≥ 2, the linear pieces of the activation: 2 for ReLU-like, 3 for hard-tanh.

    Returns
    -------
    int
        (p − 1)d₁ + 2, resp. p(p − 1)d₁d₂ + (p − 1)d₂ + 2: with more points than this, the
        :func:`memorize.hard_dataset` witness cannot be fitted.

    Notes
    -----
    Fitting the witness's N alternating labels takes N − 1 linear pieces along its line, and
    :func:`memorize.pieces.theorem33_max_pieces` bounds the pieces these widths can make; the
    capacity is that count plus one.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers. NeurIPS 2019,
    Theorem 3.3.

    Examples
    --------
    >>> theorem33_capacity((10,)), theorem33_capacity((10, 10))
    (12, 212)
    """
    return theorem33_max_pieces(widths, pieces_per_unit) + 1


def theorem33_fails(n: int, widths: Sequence[int], pieces_per_unit: int = 2) -> bool:
    """True when Theorem 3.3 proves that some N-point dataset cannot be fitted.

    The dataset is :func:`memorize.hard_dataset` (points on a line, alternating labels); the
    condition is ``theorem33_capacity(widths, p) < n``.

    Examples
    --------
    >>> theorem33_fails(100, (9, 5)), theorem33_fails(100, (10, 5))
    (True, False)
    """
    return theorem33_capacity(widths, pieces_per_unit) < check_int("n", n, 1)


def theorem33_min_hidden(n: int, depth: int = 1, pieces_per_unit: int = 2) -> tuple:
    """The fewest hidden units a 2- (depth 1) or 3-layer (depth 2) network needs for N points.

    Parameters
    ----------
    n : int
    depth : {1, 2}
        Number of hidden layers.
    pieces_per_unit : int, default 2

    Returns
    -------
    tuple of int
        The hidden widths with the smallest total that Theorem 3.3 does not rule out (for
        depth 2, the most balanced one among the minimisers).

    Notes
    -----
    Depth 1: d₁ ≥ (N − 2)/(p − 1). Depth 2: the least d₁ + d₂ with
    p(p − 1)d₁d₂ + (p − 1)d₂ + 2 ≥ N, about √(4N/(p(p−1))) — so Θ(√N) hidden units are
    necessary, matching Theorem 3.1's 4√N up to a constant.

    Examples
    --------
    >>> theorem33_min_hidden(100), theorem33_min_hidden(100, depth=2)
    ((98,), (7, 7))
    """
    n = check_int("n", n, 1)
    p = check_pieces_per_unit(pieces_per_unit)
    if depth == 1:
        return (max(1, -(-(n - 2) // (p - 1))),)
    if depth != 2:
        raise ArgumentError(f"depth: Theorem 3.3 covers 1 or 2 hidden layers, got {depth!r}")
    best = None
    top = 2 * math.isqrt(max(n, 1)) + 4
    for d2 in range(1, top + 1):
        need = n - 2 - (p - 1) * d2
        d1 = max(1, -(-need // (p * (p - 1) * d2))) if need > 0 else 1
        key = (d1 + d2, abs(d1 - d2))
        if best is None or key < best[0]:
            best = (key, (d1, d2))
    return best[1]


# -- VC dimension: Bartlett, Harvey, Liaw, Mehrabian 2019 ------------------------------------------
_BHLM = "Bartlett, Harvey, Liaw, Mehrabian 2019, Thm 7"


def vc_dimension_bound(dx: int, widths: Sequence[int], pieces_per_unit: int = 2) -> float:
    """Upper bound on the VC dimension of sign(f) for a fully connected piecewise-linear net.

    Parameters
    ----------
    dx : int
        Input dimension.
    widths : sequence of int
        Hidden widths; the output is one affine unit.
    pieces_per_unit : int, default 2
        Pieces of the activation (p + 1 in Bartlett et al.'s notation: ReLU has 2).

    Returns
    -------
    float
        L + L̄·W·log₂(4e·p·R·log₂(2e·p·R)), with W the number of parameters, L the number of
        layers (hidden + output), k_i the units of layer i, W_i the parameters of layers 1..i,
        L̄ = Σ W_i / W the effective depth, R = Σ_i i·k_i and p the number of breakpoints of σ.

    Notes
    -----
    Bartlett et al. (2019), Theorem 7, for piecewise-polynomial activations of degree d = 1
    (piecewise linear), where their R = Σ k_i(1 + (i − 1)d^{i−1}) becomes Σ i·k_i. It is
    O(W·L·log W). Memorization capacity (Yun et al.'s sense: every dataset) is at most the VC
    dimension, so a network with ``vc_dimension_bound < N`` cannot memorize N points with
    binary labels — for classifiers with C outputs, compare two outputs, which is a scalar
    network of the same hidden shape. The constants follow the published statement of Theorem 7
    as recalled; the paper's text was not among this project's sources, so they were checked
    only for consistency (the bound exceeds what this library's constructions memorize).

    References
    ----------
    P. L. Bartlett, N. Harvey, C. Liaw, A. Mehrabian. Nearly-tight VC-dimension and
    pseudodimension bounds for piecewise linear neural networks. JMLR 20(63), 2019, Theorem 7.

    Examples
    --------
    >>> round(vc_dimension_bound(1, (2,)))
    86
    """
    dx = check_int("dx", dx, 1)
    ws = check_widths(widths)
    p = check_pieces_per_unit(pieces_per_unit) - 1
    units = list(ws) + [1]
    dims = [dx] + units
    per_layer = [dims[i] * dims[i + 1] + dims[i + 1] for i in range(len(units))]
    W = sum(per_layer)
    L = len(units)
    cum, acc = [], 0
    for w in per_layer:
        acc += w
        cum.append(acc)
    Lbar = sum(cum) / W
    R = sum((i + 1) * k for i, k in enumerate(units))
    return L + Lbar * W * math.log2(4 * _E * p * R * math.log2(2 * _E * p * R))


def vc_min_params(n: int, depth: int, pieces_per_unit: int = 2) -> int:
    """The fewest parameters the VC bound allows a depth-``depth`` network memorizing N points.

    Parameters
    ----------
    n : int
    depth : int
        Hidden layers (the network has depth + 1 layers).
    pieces_per_unit : int, default 2

    Returns
    -------
    int
        The least W with L + L·W·log₂(4e·p·W·L·log₂(2e·p·W·L)) ≥ N, L = depth + 1.

    Notes
    -----
    :func:`vc_dimension_bound` with L̄ ≤ L and R = Σ i·k_i ≤ L·U ≤ L·W (every unit has a bias):
    a bound that depends on the parameter count only. Any such network memorizing N points with
    binary labels has at least this many parameters, whatever its widths. It is
    Ω(N/(L log N)): Yun et al. (Prop. 3.4) memorize with O(W) edges, so for fixed depth the
    two agree up to the log factor.

    References
    ----------
    Bartlett et al. 2019, Theorem 7; Yun et al. 2019, §3.3 (discussion).

    Examples
    --------
    >>> vc_min_params(1000, 1) < vc_min_params(10000, 1)
    True
    """
    n = check_int("n", n, 1)
    L = check_int("depth", depth, 0) + 1
    p = check_pieces_per_unit(pieces_per_unit) - 1

    def bound(W: int) -> float:
        r = 2 * _E * p * W * L
        return L + L * W * math.log2(2 * r * math.log2(r))

    if bound(1) >= n:
        return 1
    lo, hi = 1, 2
    while bound(hi) < n:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if bound(mid) >= n:
            hi = mid
        else:
            lo = mid
    return hi


# -- parameter counts ----------------------------------------------------------------------------
def sontag_min_params(n: int) -> int:
    """Sontag (1997): shattering every set of N points in general position needs ≥ (N − 1)/2 parameters.

    Returns
    -------
    int
        ⌈(N − 1)/2⌉.

    Notes
    -----
    Holds for networks with piecewise-analytic, definable activations (ReLU, hard-tanh, step,
    sigmoid, ...) of any depth, when *every* general-position set must be memorizable with
    binary labels and no separation margin is assumed. Constructions with fewer parameters
    (Vardi et al. 2022; Yang & Yang 2026, Õ(√N)) escape it by assuming δ-separated points
    in a ball and paying with weights of many bits (see :func:`min_weight_bits`).

    References
    ----------
    E. D. Sontag. Shattering all sets of k points in "general position" requires (k − 1)/2
    parameters. Neural Computation 9(2):337–348, 1997.

    Examples
    --------
    >>> sontag_min_params(101)
    50
    """
    return max(0, -(-(check_int("n", n, 1) - 1) // 2))


def dimension_min_params(n: int, dy: int = 1) -> int:
    """Arbitrary real labels need at least N·d_y parameters.

    Notes
    -----
    For fixed inputs, θ ↦ (f_θ(x_i))_i is a piecewise-polynomial (semialgebraic) map from
    R^P to R^{N·d_y}; its image has dimension at most P, so it cannot contain an open set of
    labels unless P ≥ N·d_y. This is the regression case of Yang et al. (2022, Prop. 6.6), as
    cited by Yang & Yang (2026): with infinitely many possible labels, the bit-stuffing of
    the Õ(√N) constructions is impossible.

    Examples
    --------
    >>> dimension_min_params(1000, 3)
    3000
    """
    return check_int("n", n, 1) * check_int("dy", dy, 1)


def min_weight_bits(n: int, num_params: int, classes: int = 2) -> float:
    """The fewest bits per weight a P-parameter network memorizing N points with C labels needs.

    Returns
    -------
    float
        N·log₂C / P: P weights of b bits give at most 2^{P·b} networks, and all C^N labelings
        of a fixed point set must be realised.

    References
    ----------
    Vardi, Yehudai, Shamir 2022 (bit-complexity lower bound); the counting argument above.

    Examples
    --------
    >>> min_weight_bits(10**6, 1000, 2)
    1000.0
    """
    n = check_int("n", n, 1)
    P = check_int("num_params", num_params, 1)
    C = check_int("classes", classes, 2)
    return n * math.log2(C) / P


# -- Yang & Yang 2026 (our re-derivation: the paper's formulas were stripped from our copy) ---------
_YY = "Yang & Yang 2026 (arXiv 2603.09589)"


def _log2_sign_patterns(P: int, L: int, W: int, m_f: int) -> float:
    # Bartlett et al. Thm 7 / Warren, layer by layer, simplified for ReLU.
    return (L + 1) * (1 + P * math.log2(2 * _E * m_f * W * (L + 1)))


def yang_theorem32(n: int, width: int, depth: int, dx: int, classes: int = 2) -> tuple:
    """Theorem 3.2-type necessary condition for NN(W, L) memorizing every N-point, C-label set.

    Parameters
    ----------
    n : int
    width, depth : int
        W (every hidden layer) and L (hidden layers).
    dx : int
    classes : int, default 2

    Returns
    -------
    (lhs, rhs, ok) : (float, float, bool)
        lhs = N·log₂C, rhs = (L + 1)(1 + P·log₂(2e·N(C − 1)·W·(L + 1))) with
        P = :func:`dense_num_params`\\ (dx, (W,)*L, 1); ``ok`` is lhs ≤ rhs. ``ok = False``
        proves the network too small.

    Notes
    -----
    On one fixed δ-separated point set all C^N labelings must be realised; the N(C − 1)
    functions θ ↦ f_θ(x_i) − c − ½ then take at least C^N sign patterns, while a ReLU net has
    at most 2^rhs (Bartlett et al.'s layer-by-layer Warren bound). Asymptotically
    W²L² ≳ N log C / log(N C W L) (:func:`yang_theorem32_floor`). The constants are this
    library's own re-derivation (the paper's were stripped from our copy; see
    ``docs/which_network.md``, "Lower bounds").

    References
    ----------
    Yang & Yang 2026, "Memorization capacity of deep ReLU neural networks characterized by
    width and depth", Theorem 3.2; Bartlett et al. 2019, Theorem 7.

    Examples
    --------
    >>> yang_theorem32(10**4, 2, 2, 1, 2)[2], yang_theorem32(10**4, 40, 4, 1, 2)[2]
    (False, True)
    """
    n = check_int("n", n, 1)
    W = check_int("width", width, 1)
    L = check_int("depth", depth, 1)
    C = check_int("classes", classes, 2)
    P = dense_num_params(dx, (W,) * L, 1)
    lhs = n * math.log2(C)
    rhs = _log2_sign_patterns(P, L, W, n * (C - 1))
    return lhs, rhs, lhs <= rhs


def yang_theorem32_floor(n: int, dx: int, classes: int, delta: float, width: int, depth: int) -> float:
    """The indicative floor W²L² ≳ N·log₂C / (d_x·log₂(3/δ) + log₂(2e·C·W·(L + 1))).

    Uses log N ≤ d_x·log(3/δ) (N δ-separated points fit in the unit ball) in
    :func:`yang_theorem32`'s count, with all constants set to 1. An order-of-magnitude guide,
    not a rigorous bound: use :func:`yang_theorem32` for that.

    Examples
    --------
    >>> round(yang_theorem32_floor(10**4, 2, 10, 0.01, 13, 50))
    1051
    """
    n = check_int("n", n, 1)
    C = check_int("classes", classes, 2)
    check_delta(delta)
    return n * math.log2(C) / (dx * math.log2(3 / delta) + math.log2(2 * _E * C * width * (depth + 1)))


def _log2_binom(a: int, b: int) -> float:
    if b < 0 or b > a:
        return -math.inf
    return (math.lgamma(a + 1) - math.lgamma(b + 1) - math.lgamma(a - b + 1)) / math.log(2)


def yang_proposition33(n: int, width: int, depth: int, delta: float) -> tuple:
    """Proposition 3.3-type test (d_x = 1, C = 2): is NN(W, L) ruled out at separation δ?

    Returns
    -------
    (margin, M) : (float, int)
        The largest value of lower − upper over the tried point-set sizes M, and that M. A
        positive margin proves that NN(W, L) cannot memorize every N-point, 2-label,
        δ-separated set in [−1, 1].

    Notes
    -----
    Siegel's counting: of M equispaced points in pairs, every choice of N/2 pairs labelled
    (0, 1) must be realised; a 1-D ReLU net has at most k = (W + 1)^L pieces, so the sign
    patterns number at least C(M/2, N/2)/C(k, N/2) (lower), while Bartlett et al.'s bound
    gives at most 2^upper. M runs over N, 2N, 4N, ... and the largest even M ≤ 2/δ + 1.
    Reconstructed by this library (the paper's constants were not available to us), so the
    constants are ours.

    References
    ----------
    Yang & Yang 2026, Proposition 3.3; J. W. Siegel 2026.

    Examples
    --------
    >>> yang_proposition33(1000, 2, 2, 1e-9)[0] > 0
    True
    """
    n = check_int("n", n, 2)
    W = check_int("width", width, 1)
    L = check_int("depth", depth, 1)
    d = check_delta(delta)
    half = -(-n // 2)
    n_even = 2 * half
    m_max = int(math.floor(2 / d)) + 1
    m_max -= m_max % 2
    if m_max < n_even:
        raise ArgumentError(f"delta: only {m_max} points δ = {delta} apart fit in [−1, 1], fewer than N = {n}")
    log2k = L * math.log2(W + 1)
    P = dense_num_params(1, (W,) * L, 1)
    sizes, M = [], n_even
    while M < m_max:
        sizes.append(M)
        M *= 2
    sizes.append(m_max)
    best = (-math.inf, sizes[0])
    for M in sizes:
        if log2k < math.log2(half):
            lower = math.inf
        else:
            k = 2 ** log2k if log2k < 60 else None
            lower_k = _log2_binom(int(k), half) if k is not None else half * log2k  # C(k, h) ≤ k^h
            lower = _log2_binom(M // 2, half) - lower_k
        upper = _log2_sign_patterns(P, L, W, M)
        val = lower - upper
        if val > best[0]:
            best = (val, M)
    return best


# -- collecting them -----------------------------------------------------------------------------
def lower_bounds(n: int, dx: int, dy: int = 1, *, task: str = "regression", delta: float | None = None) -> list:
    """The necessary conditions that apply to memorizing N points of dimension d_x.

    Parameters
    ----------
    n, dx : int
    dy : int, default 1
        Output dimension (number of classes for classification).
    task : {"regression", "classification", "binary"}
    delta : float, optional
        Separation of the points, scaled into the unit ball; adds the Yang & Yang bounds.

    Returns
    -------
    list of LowerBound
        Hidden-unit bounds (Theorem 3.3, 1 and 2 hidden layers, ReLU) and parameter bounds
        (VC for 1–3 hidden layers, Sontag, the dimension count for real labels, Yang & Yang's
        Theorem 3.2 when δ is given), each with its scope.

    Examples
    --------
    >>> [b.name for b in lower_bounds(100, 2)][:2]
    ['Thm 3.3, 1 hidden layer', 'Thm 3.3, 2 hidden layers']
    """
    n = check_int("n", n, 2)
    dx = check_int("dx", dx, 1)
    dy = check_int("dy", dy, 1)
    if task not in ("regression", "classification", "binary"):
        raise ArgumentError(f"task: expected 'regression', 'classification' or 'binary', got {task!r}")
    out = []
    coll = "ReLU-like, exact fit; data may be collinear"
    for depth in (1, 2):
        ws = theorem33_min_hidden(n, depth)
        out.append(
            LowerBound(
                f"Thm 3.3, {depth} hidden layer{'s' if depth > 1 else ''}",
                "hidden units",
                float(sum(ws)),
                f"widths {'-'.join(map(str, ws))}; {coll}",
                _YUN,
            )
        )
    for depth in (1, 2, 3):
        out.append(
            LowerBound(
                f"VC bound, {depth} hidden layer{'s' if depth > 1 else ''}",
                "parameters",
                float(vc_min_params(n, depth)),
                "any widths, piecewise-linear σ, binary labels",
                _BHLM,
            )
        )
    if delta is None:
        out.append(
            LowerBound(
                "Sontag",
                "parameters",
                float(sontag_min_params(n)),
                "every general-position set, no separation margin, any depth",
                "Sontag 1997",
            )
        )
    if task == "regression":
        out.append(
            LowerBound(
                "dimension count",
                "parameters",
                float(dimension_min_params(n, dy)),
                "arbitrary real labels in R^{d_y}",
                "Yang et al. 2022, Prop. 6.6",
            )
        )
    if delta is not None and task != "regression":
        C = max(2, dy)
        # The floor depends on W, L only through a log; evaluate it at a narrow deep shape.
        floor = yang_theorem32_floor(n, dx, C, delta, 16, max(1, math.isqrt(n)))
        out.append(
            LowerBound(
                "Thm 3.2 type",
                "W²L²",
                floor,
                f"δ = {delta:g}-separated in the unit ball, {C} labels (indicative, constants 1)",
                _YY,
            )
        )
    return out
