"""The converse of memorization made checkable: exact piece counting and the hard dataset.

Yun, Sra & Jadbabaie (2019, Theorem 3.3) show that small networks *cannot* memorize some
datasets: put N points on a line with alternating labels; any network that fits them is, along
that line, a piecewise-linear function whose slope changes sign between every two consecutive
points, so it has at least N − 1 linear pieces. A network with few hidden units has few pieces
(a 2-layer net at most (p − 1)d₁ + 1 with a p-piece activation), hence cannot fit the witness,
whatever its weights — no training procedure could find them.

This module makes both halves computable:

* :func:`hard_dataset` builds the witness;
* :func:`count_pieces` counts the linear pieces of any :class:`~memorize.Network` along a line
  **exactly**: breakpoints are rational numbers found from the weights (every float64 weight is
  a dyadic rational), never by sampling;
* :func:`max_pieces` and :func:`theorem33_max_pieces` give the most pieces a network of given
  widths can have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from . import _exact
from ._checks import check_pieces_per_unit, check_widths
from .activations import Activation
from .errors import ArgumentError, ArgumentTypeError, ShapeError
from .network import Dense, Factored, Network, Residual

__all__ = [
    "Piece",
    "HardDataset",
    "linear_pieces",
    "count_pieces",
    "hard_dataset",
    "max_pieces",
    "theorem33_max_pieces",
]


@dataclass(frozen=True)
class Piece:
    """One maximal interval ``(lo, hi)`` of the line on which the network is affine.

    On it the network output is ``intercept + t * slope`` (tuples of exact rationals, one entry
    per output coordinate).
    """

    lo: Fraction
    hi: Fraction
    intercept: tuple
    slope: tuple


def _kinks(act: Activation) -> tuple:
    # Points where the activation changes its affine piece (step: its jump).
    if act.name == "identity":
        return ()
    if act.name == "hardtanh":
        return (-1, 1)
    return (0,)


def _as_ints(arr) -> tuple:
    """An exact copy of ``arr`` as (object array of Python ints, common denominator)."""
    e = _exact.to_exact_array(np.asarray(arr))
    den = 1
    for v in e.flat:
        if isinstance(v, Fraction):
            den = math.lcm(den, v.denominator)
    ints = np.array([int(v * den) for v in e.flat], dtype=object).reshape(e.shape)
    return ints, den


def _sign(v: np.ndarray) -> np.ndarray:
    return (v > 0).astype(np.int8) - (v < 0).astype(np.int8)


class _Act:
    """An activation in integer form: kinks, and the (intercept, slope) of each piece."""

    def __init__(self, act: Activation):
        self.name = act.name
        self.kinks = _kinks(act)
        self.qf, self.fp, self.fm = 1, 1, 0
        if act.name == "relu_like":
            sp, sm = (Fraction(_exact.exact_scalar(v)) for v in act.slopes)
            self.qf = math.lcm(sp.denominator, sm.denominator)
            self.fp, self.fm = int(sp * self.qf), int(sm * self.qf)

    def initial_code(self, right_signs: list) -> np.ndarray:
        # right_signs[i]: sign of z − kink_i just right of the segment's left end.
        if self.name == "identity":
            return None
        if self.name == "hardtanh":
            lo, hi = right_signs
            return np.where(lo < 0, 0, np.where(hi > 0, 2, 1)).astype(np.int8)
        return (right_signs[0] >= 0).astype(np.int8)

    def code_after(self, kink_index: int, upward: bool) -> int:
        if self.name == "hardtanh":
            return (1 if upward else 0) if kink_index == 0 else (2 if upward else 1)
        return 1 if upward else 0

    def out(self, za, zb, code, D: int):
        """Intercepts and slopes of σ(z) (denominator D·qf) for pre-activations z = (za + zb t)/D."""
        n = self.name
        if n == "identity":
            return za, zb
        zero = np.zeros(za.shape, dtype=object)
        zero[...] = 0
        if n == "relu":
            on = code == 1
            return np.where(on, za, zero), np.where(on, zb, zero)
        if n == "relu_like":
            f = np.where(code == 1, self.fp, self.fm).astype(object)
            return za * f, zb * f
        if n == "hardtanh":
            lo, hi = zero.copy(), zero.copy()
            lo[...], hi[...] = -D, D
            a = np.where(code == 0, lo, np.where(code == 2, hi, za))
            return a, np.where(code == 1, zb, zero)
        one = zero.copy()
        one[...] = D
        return np.where(code == 1, one, zero), zero  # step

    def out1(self, za: int, zb: int, code: int, D: int) -> tuple:
        """:meth:`out` for one unit (Python ints, no NumPy conversion of big integers)."""
        n = self.name
        if n == "identity":
            return za, zb
        if n == "relu":
            return (za, zb) if code == 1 else (0, 0)
        if n == "relu_like":
            f = self.fp if code == 1 else self.fm
            return za * f, zb * f
        if n == "hardtanh":
            return (-D, 0) if code == 0 else ((D, 0) if code == 2 else (za, zb))
        return (D, 0) if code == 1 else (0, 0)


def _step_layer(bounds, ZA, ZB, D, act: _Act, M, dM, offA, offB, Doff):
    """Split segments where the layer's units change piece; emit ``M σ(z) + off`` per sub-segment.

    Pre-activations are ``(ZA + ZB t)/D`` (integers, one row per segment). Rows of the result
    share one denominator. Within a segment consecutive sub-segments differ only in the units
    that crossed a kink, so each new row is the previous one plus those units' columns of M:
    the cost is O(segments·width·out + cuts·out), not O(sub-segments·width·out).
    """
    S, w = ZA.shape
    P = np.array([b.numerator for b in bounds[:-1]], dtype=object)[:, None]
    Q = np.array([b.denominator for b in bounds[:-1]], dtype=object)[:, None]
    P2 = np.array([b.numerator for b in bounds[1:]], dtype=object)[:, None]
    Q2 = np.array([b.denominator for b in bounds[1:]], dtype=object)[:, None]
    zbs = _sign(ZB)
    right, cuts = [], []
    for ki, k in enumerate(act.kinks):
        slo = _sign(ZA * Q + ZB * P - (k * D) * Q)
        shi = _sign(ZA * Q2 + ZB * P2 - (k * D) * Q2)
        right.append(np.where(slo != 0, slo, zbs))
        for s, j in zip(*np.nonzero(slo * shi < 0)):
            t = Fraction(k * D - ZA[s, j], ZB[s, j])
            cuts.append((int(s), t, int(j), act.code_after(ki, zbs[s, j] > 0)))
    code = act.initial_code(right)
    Do = D * act.qf
    Dout = math.lcm(dM * Do, Doff)
    Ms = M * (Dout // (dM * Do))
    sOff = Dout // Doff
    OA, OB = act.out(ZA, ZB, code, D)
    offA_s, offB_s = offA * sOff, offB * sOff
    firstA = np.matmul(OA, Ms.T) + offA_s
    firstB = np.matmul(OB, Ms.T) + offB_s
    cuts.sort(key=lambda c: (c[0], c[1]))
    new_bounds, rowsA, rowsB = [bounds[0]], [], []
    ci = 0
    for s in range(S):
        ra, rb = firstA[s].copy(), firstB[s].copy()
        rowsA.append(ra)
        rowsB.append(rb)
        if ci < len(cuts) and cuts[ci][0] == s:
            cs = code[s].copy()
            oa, ob = OA[s].copy(), OB[s].copy()
            while ci < len(cuts) and cuts[ci][0] == s:
                t = cuts[ci][1]
                ra, rb = ra.copy(), rb.copy()
                while ci < len(cuts) and cuts[ci][0] == s and cuts[ci][1] == t:
                    _, _, j, c = cuts[ci]
                    cs[j] = c
                    na, nb = act.out1(ZA[s, j], ZB[s, j], c, D)
                    if na != oa[j]:
                        ra = ra + Ms[:, j] * (na - oa[j])
                    if nb != ob[j]:
                        rb = rb + Ms[:, j] * (nb - ob[j])
                    oa[j], ob[j] = na, nb
                    ci += 1
                new_bounds.append(t)
                rowsA.append(ra)
                rowsB.append(rb)
        new_bounds.append(bounds[s + 1])
    return new_bounds, np.array(rowsA, dtype=object).reshape(-1, M.shape[0]), \
        np.array(rowsB, dtype=object).reshape(-1, M.shape[0]), Dout


def _propagate(net: Network, x0e, ue, lo, hi):
    """Exact piecewise-affine form of the network along the line: (bounds, A, B, D)."""
    H, DH = _as_ints(np.stack([x0e, ue]))
    HA, HB = H[:1], H[1:]
    bounds = [Fraction(lo), Fraction(hi)]
    layers = net.layers
    ints = []
    for li, layer in enumerate(layers):
        if isinstance(layer, Factored) and (li == 0 or isinstance(layers[li - 1], Residual)):
            # read from the explicit state only: kept as factors, (H Bᵀ) Aᵀ, never the dense A B
            ints.append((None, _as_ints(layer.bias), _as_ints(layer.A), _as_ints(layer.B)))
        elif isinstance(layer, Dense):
            ints.append((_as_ints(layer.weight), _as_ints(layer.bias)))
        else:
            ints.append((_as_ints(layer.U), _as_ints(layer.b), _as_ints(layer.V), _as_ints(layer.c)))
    pre = None
    for li, layer in enumerate(layers):
        b, db = ints[li][1]
        if pre is None and ints[li][0] is None:
            # factored pre-activation from the explicit state: ((H Bᵀ) Aᵀ)/(DH dB dA) + b/db
            (A, dA), (B, dB) = ints[li][2], ints[li][3]
            DW = DH * dB * dA
            DZ = math.lcm(DW, db)
            ZA = np.matmul(np.matmul(HA, B.T), A.T) * (DZ // DW) + b * (DZ // db)
            ZB = np.matmul(np.matmul(HB, B.T), A.T) * (DZ // DW)
        elif pre is None:
            # dense pre-activation from the explicit state: (H W^T)/(DH dW) + b/db
            W, dW = ints[li][0]
            DZ = math.lcm(DH * dW, db)
            ZA = np.matmul(HA, W.T) * (DZ // (DH * dW)) + b * (DZ // db)
            ZB = np.matmul(HB, W.T) * (DZ // (DH * dW))
        else:
            ZA, ZB, DZ = pre
        act = _Act(layer.activation)
        nxt = layers[li + 1] if li + 1 < len(layers) else None
        S = ZA.shape[0]
        if isinstance(layer, Residual):
            (V, dV), (c, dc) = ints[li][2], ints[li][3]
            Doff = math.lcm(DH, dc)
            offA = HA * (Doff // DH) + c * (Doff // dc)
            offB = HB * (Doff // DH)
            M, dM, emits_pre = V, dV, False
        elif isinstance(nxt, Dense):
            (M, dM), (bn, dbn) = ints[li + 1]
            offA, offB, Doff = bn[None, :].repeat(S, 0), np.zeros((S, M.shape[0]), dtype=object), dbn
            offB[:] = 0
            emits_pre = True
        else:
            w = ZA.shape[1]
            M = np.zeros((w, w), dtype=object)
            M[:] = 0
            for j in range(w):
                M[j, j] = 1
            dM, Doff = 1, 1
            offA = np.zeros((S, w), dtype=object)
            offA[:] = 0
            offB = offA.copy()
            emits_pre = False
        if isinstance(layer, Residual) and S != offA.shape[0]:  # pragma: no cover - shapes always agree
            raise AssertionError("stream and segments disagree")
        bounds, OA, OB, Dn = _step_layer(bounds, ZA, ZB, DZ, act, M, dM, offA, offB, Doff)
        if emits_pre:
            pre = (OA, OB, Dn)
            # the next Dense layer's affine map is already applied; skip it in the next round
            ints[li + 1] = ((np.zeros((0, 0), dtype=object), 1), (np.zeros(0, dtype=object), 1))
        else:
            pre = None
            HA, HB, DH = OA, OB, Dn
    if pre is not None:  # pragma: no cover - the last layer never emits a pre-activation
        raise AssertionError("unfinished propagation")
    return bounds, HA, HB, DH


def _as_line(net: Network, x0, direction, t_range):
    if not isinstance(net, Network):
        raise ArgumentTypeError(f"net: expected a memorize.Network, got {type(net).__name__}")
    d = net.input_dim
    try:
        x0e = _exact.to_exact_array(np.asarray(x0))
        ue = _exact.to_exact_array(np.asarray(direction))
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"x0, direction: expected finite numeric vectors ({exc})") from None
    x0e, ue = x0e.reshape(-1), ue.reshape(-1)
    if x0e.shape != (d,):
        raise ShapeError(f"x0: expected {d} coordinates (the network's input dimension), got {x0e.shape[0]}")
    if ue.shape != (d,):
        raise ShapeError(f"direction: expected {d} coordinates (the network's input dimension), got {ue.shape[0]}")
    if all(v == 0 for v in ue):
        raise ArgumentError("direction: must be a nonzero vector")
    try:
        lo, hi = (_exact.exact_scalar(v) for v in t_range)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"t_range: expected two finite numbers (t0, t1), got {t_range!r} ({exc})") from None
    if not lo < hi:
        raise ArgumentError(f"t_range: need t0 < t1, got ({lo}, {hi})")
    return x0e, ue, lo, hi


def linear_pieces(net: Network, x0, direction, t_range, *, output: int | None = None) -> list[Piece]:
    """The maximal intervals on which ``t ↦ net(x0 + t·direction)`` is affine, exactly.

    Parameters
    ----------
    net : Network
        Any network of Dense and Residual layers with identity, relu, relu_like, hardtanh or
        step activations (float64 or exact).
    x0, direction : array_like of shape (input_dim,)
        The line. Floats are read exactly (they are dyadic rationals); Fractions are accepted.
    t_range : (t0, t1)
        The parameter interval, t0 < t1.
    output : int, optional
        Restrict to one output coordinate (default: the whole output vector, whose pieces are
        the intervals where every coordinate is affine).

    Returns
    -------
    list of Piece
        In increasing order of t; consecutive pieces have different affine maps.

    Notes
    -----
    Layer by layer, the hidden state is an affine function of t on each current segment. A
    unit's pre-activation ``z = a + b t`` crosses a kink k of its activation (0 for ReLU-like
    and step, ±1 for hard-tanh) at the rational point ``t = (k − a)/b``; those points split the
    segment, and on each sub-segment the unit is affine again. Nothing is sampled and nothing
    is compared with a tolerance: weights are read exactly (floats are dyadic rationals), the
    affine coefficients are kept as Python integers over one common denominator per layer,
    and the breakpoints as :class:`fractions.Fraction`. Within a segment, consecutive
    sub-segments differ only in the units that crossed a kink, so the next layer's
    pre-activation is updated in those units' columns only; the cost is about
    O(segments·width·next width + breakpoints·next width) per layer. Finally, neighbouring
    segments whose affine maps are identical are merged. Values at the breakpoints themselves
    (which matter only for the discontinuous step) do not create pieces.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize import Network, Dense, relu
    >>> net = Network([Dense([[1.0], [1.0]], [0.0, -1.0], relu), Dense([[1.0, -2.0]], [0.0])])
    >>> [(str(p.lo), str(p.hi)) for p in linear_pieces(net, [0.0], [1.0], (-1, 2))]
    [('-1', '0'), ('0', '1'), ('1', '2')]
    """
    x0e, ue, lo, hi = _as_line(net, x0, direction, t_range)
    if output is not None:
        if not (isinstance(output, (int, np.integer)) and 0 <= int(output) < net.output_dim):
            raise ArgumentError(f"output: expected an index in [0, {net.output_dim}), got {output!r}")
    pieces: list[Piece] = []
    bounds, A, B, D = _propagate(net, x0e, ue, lo, hi)
    if output is not None:
        A, B = A[:, [int(output)]], B[:, [int(output)]]
    for s in range(len(bounds) - 1):
        ra, rb = tuple(A[s]), tuple(B[s])
        if pieces and pieces[-1][2] == ra and pieces[-1][3] == rb:
            pieces[-1][1] = bounds[s + 1]
        else:
            pieces.append([bounds[s], bounds[s + 1], ra, rb])
    return [
        Piece(lo_, hi_, tuple(_exact.exact_scalar(Fraction(v, D)) for v in ra), tuple(_exact.exact_scalar(Fraction(v, D)) for v in rb))
        for lo_, hi_, ra, rb in pieces
    ]


def count_pieces(net: Network, x0, direction, t_range, *, output: int | None = None) -> int:
    """Count the linear pieces of ``t ↦ net(x0 + t·direction)`` on ``t_range``, exactly.

    Parameters
    ----------
    net : Network
    x0, direction : array_like of shape (input_dim,)
    t_range : (t0, t1)
    output : int, optional
        Count the pieces of one output coordinate only.

    Returns
    -------
    int
        The number of maximal intervals of ``t_range`` on which the network is affine.

    Notes
    -----
    See :func:`linear_pieces` for the algorithm (rational breakpoints from the weights, no
    sampling). This is the quantity Yun et al. (2019) bound in Theorem 3.3: a network that fits
    :func:`hard_dataset` has at least N − 1 pieces along its line, and a network with hidden
    widths d₁ (, d₂) and a p-piece activation has at most :func:`theorem33_max_pieces` of them.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019, Theorem 3.3.

    Examples
    --------
    >>> import memorize
    >>> from memorize import Network, Dense, relu
    >>> net = Network([Dense([[1.0], [1.0]], [0.0, -1.0], relu), Dense([[1.0, -2.0]], [0.0])])
    >>> memorize.count_pieces(net, [0.0], [1.0], (-1, 2))
    3
    """
    return len(linear_pieces(net, x0, direction, t_range, output=output))


def _pieces_of(act: Activation) -> int:
    return act.num_pieces


def max_pieces(net_or_widths, pieces_per_unit: int = 2) -> int:
    """The most linear pieces a network can have along any line (a bound from the widths).

    Parameters
    ----------
    net_or_widths : Network or sequence of int
        A network (each layer's own activation is used, the output layer included) or hidden
        widths (then every hidden unit has ``pieces_per_unit`` pieces and the output is affine).
    pieces_per_unit : int, default 2
        p ≥ 2 for the activation when widths are given: 2 for ReLU-like and step, 3 for
        hard-tanh.

    Returns
    -------
    int
        ∏_l (1 + (p_l − 1)·d_l).

    Notes
    -----
    If the input of a layer is affine on P pieces, each of its d units crosses each of the
    p − 1 kinks of σ at most once per piece, adding at most (p − 1)·d·P breakpoints; so the
    output has at most P·(1 + (p − 1)d) pieces. Residual blocks obey the same count (the skip
    connection adds no breakpoint). For one hidden layer this equals Yun et al.'s
    (p − 1)d₁ + 1; for two it is at most their p(p − 1)d₁d₂ + (p − 1)d₂ + 1
    (:func:`theorem33_max_pieces`), which counts the first layer's breakpoints once per
    second-layer unit.

    Examples
    --------
    >>> max_pieces((3,)), max_pieces((4, 4)), max_pieces((2, 2), pieces_per_unit=3)
    (4, 25, 25)
    """
    if isinstance(net_or_widths, Network):
        total = 1
        for layer in net_or_widths.layers:
            total *= 1 + (_pieces_of(layer.activation) - 1) * layer.hidden_width
        return total
    p = check_pieces_per_unit(pieces_per_unit)
    total = 1
    for w in check_widths(net_or_widths):
        total *= 1 + (p - 1) * w
    return total


def theorem33_max_pieces(widths: Sequence[int], pieces_per_unit: int = 2) -> int:
    """Yun et al. Theorem 3.3's count of the most pieces a 2- or 3-layer network can have.

    Parameters
    ----------
    widths : (d1,) or (d1, d2)
        Hidden widths of a network with scalar output.
    pieces_per_unit : int, default 2
        p ≥ 2, the linear pieces of the activation: 2 for ReLU-like, 3 for hard-tanh.

    Returns
    -------
    int
        (p − 1)d₁ + 1 for one hidden layer; p(p − 1)d₁d₂ + (p − 1)d₂ + 1 for two.

    Notes
    -----
    A network fitting :func:`hard_dataset` (N points) needs N − 1 pieces, so it cannot exist
    when this count is below N − 1: that is the theorem's condition (p − 1)d₁ + 2 < N, resp.
    p(p − 1)d₁d₂ + (p − 1)d₂ + 2 < N.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. NeurIPS 2019, Theorem 3.3 and its proof (Appendix D).

    Examples
    --------
    >>> theorem33_max_pieces((10,)), theorem33_max_pieces((4, 4))
    (11, 37)
    """
    ws = check_widths(widths)
    p = check_pieces_per_unit(pieces_per_unit)
    if len(ws) == 1:
        return (p - 1) * ws[0] + 1
    if len(ws) == 2:
        d1, d2 = ws
        return p * (p - 1) * d1 * d2 + (p - 1) * d2 + 1
    raise ArgumentError(f"widths: Theorem 3.3 covers one or two hidden layers, got {len(ws)}; use max_pieces")


@dataclass(frozen=True)
class HardDataset:
    """The Theorem 3.3 witness and the line along which to count pieces.

    Attributes
    ----------
    X : ndarray (N, d)
        Equispaced points on the first coordinate axis (dyadic rationals, exact in float64).
    y : ndarray (N,)
        Alternating labels: ±1 floats (regression) or classes 0/1 (classification).
    x0, direction : ndarray (d,)
        The line ``x0 + t·direction``; point i sits at ``t = t[i]``.
    t : ndarray (N,)
        The line parameters of the points.
    t_range : (Fraction, Fraction)
        From the first point to the last: any network fitting the data has at least
        ``min_pieces`` pieces there.
    min_pieces : int
        N − 1.
    """

    X: np.ndarray
    y: np.ndarray
    x0: np.ndarray
    direction: np.ndarray
    t: np.ndarray
    t_range: tuple
    min_pieces: int

    def __iter__(self):
        # ``X, y = hard_dataset(n)`` reads like every other data helper.
        return iter((self.X, self.y))

    def pieces(self, net: Network, output: int | None = None) -> int:
        """``count_pieces(net, x0, direction, t_range)`` on this witness's line."""
        return count_pieces(net, self.x0, self.direction, self.t_range, output=output)


def hard_dataset(n: int, dx: int = 1, *, task: str = "regression") -> HardDataset:
    """The witness of Yun et al. Theorem 3.3: N points on a line with alternating labels.

    Parameters
    ----------
    n : int, at least 2
        Number of points.
    dx : int, default 1
        Input dimension; the points lie on the first coordinate axis (so for dx ≥ 2 they are
        *not* in general position, and theorems assuming it do not apply).
    task : {"regression", "classification", "binary"}
        Labels (−1)^i as floats for regression, classes i mod 2 otherwise.

    Returns
    -------
    HardDataset
        Unpacks as ``X, y``; also holds the line and ``t_range`` for :func:`count_pieces`.

    Notes
    -----
    Point i is x_i = (2i − N + 1)·2^{−m}·e₁ with 2^m ≥ N, inside (−1, 1) and exactly
    representable. Because consecutive labels alternate, a function fitting them must change
    the sign of its slope between any two consecutive points, so along the line it has at
    least N − 1 linear pieces (Theorem 3.3's argument). Compare with
    :func:`theorem33_max_pieces` to see which widths cannot fit it.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. NeurIPS 2019, Theorem 3.3.

    Examples
    --------
    >>> import memorize
    >>> hd = memorize.hard_dataset(6)
    >>> X, y = hd
    >>> X[:, 0].tolist(), y.tolist()
    ([-0.625, -0.375, -0.125, 0.125, 0.375, 0.625], [1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    >>> hd.min_pieces
    5
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or int(n) < 2:
        raise ArgumentError(f"n: expected an integer ≥ 2, got {n!r}")
    if isinstance(dx, bool) or not isinstance(dx, (int, np.integer)) or int(dx) < 1:
        raise ArgumentError(f"dx: expected an integer ≥ 1, got {dx!r}")
    if task not in ("regression", "classification", "binary"):
        raise ArgumentError(f"task: expected 'regression', 'classification' or 'binary', got {task!r}")
    n, dx = int(n), int(dx)
    m = max(1, (n - 1).bit_length())
    i = np.arange(n)
    t = (2.0 * i - n + 1) * 2.0**-m
    X = np.zeros((n, dx))
    X[:, 0] = t
    y = np.where(i % 2 == 0, 1.0, -1.0) if task == "regression" else (i % 2).astype(np.int64)
    direction = np.zeros(dx)
    direction[0] = 1.0
    for a in (X, y, t, direction):
        a.setflags(write=False)
    x0 = np.zeros(dx)
    x0.setflags(write=False)
    t_range = (Fraction(float(t[0])), Fraction(float(t[-1])))
    return HardDataset(X, y, x0, direction, t, t_range, n - 1)
