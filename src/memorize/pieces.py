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

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from . import _exact
from .activations import Activation
from .errors import ArgumentError, ArgumentTypeError, ShapeError
from .network import Dense, Network, Residual

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


def _apply(act: Activation, za, zb, zmid):
    """The activation on one segment where unit j is affine: (intercept, slope) per unit."""
    name = act.name
    if name == "identity":
        return za, zb
    if name == "relu":
        on = zmid > 0
        zero = np.zeros_like(za)
        return np.where(on, za, zero), np.where(on, zb, zero)
    if name == "relu_like":
        sp, sm = (_exact.exact_scalar(s) for s in act.slopes)
        f = np.where(zmid >= 0, sp, sm)
        return za * f, zb * f
    if name == "hardtanh":
        hi, lo = zmid > 1, zmid < -1
        zero = np.zeros_like(za)
        a = np.where(hi, 1, np.where(lo, -1, za))
        b = np.where(hi | lo, zero, zb)
        return a.astype(object), b.astype(object)
    if name == "step":
        one = np.where(zmid >= 0, 1, 0).astype(object)
        return one, np.zeros_like(zb)
    raise ArgumentError(f"activation: cannot count pieces through {act!r}")


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
    unit's pre-activation ``z = a + b t`` crosses a kink k of its activation at the rational
    point ``t = (k − a)/b``; those points split the segment, and on each sub-segment the unit is
    affine again (its piece is read at the midpoint). All arithmetic is in
    :class:`fractions.Fraction`, so the result is exact. Finally, neighbouring segments whose
    affine maps are identical are merged. Values at the breakpoints themselves (which matter
    only for the discontinuous step) do not create pieces.

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
    # Each segment s: [bounds[s], bounds[s+1]] with state h = A[s] + t·B[s].
    bounds = [lo, hi]
    A = x0e[None, :].copy()
    B = ue[None, :].copy()
    for layer in net.layers:
        if isinstance(layer, Dense):
            W, bias, act = _exact.to_exact_array(layer.weight), _exact.to_exact_array(layer.bias), layer.activation
        elif isinstance(layer, Residual):
            W, bias, act = _exact.to_exact_array(layer.U), _exact.to_exact_array(layer.b), layer.activation
        else:  # pragma: no cover - Network refuses other layers
            raise ArgumentTypeError(f"unsupported layer {type(layer).__name__}")
        ZA = np.matmul(A, W.T) + bias
        ZB = np.matmul(B, W.T)
        kinks = _kinks(act)
        new_bounds, rows = [bounds[0]], []
        for s in range(len(bounds) - 1):
            a_s, b_s, l_s, h_s = ZA[s], ZB[s], bounds[s], bounds[s + 1]
            cuts = set()
            if kinks:
                for j in np.nonzero(b_s != 0)[0]:
                    for k in kinks:
                        t = Fraction(k - a_s[j]) / b_s[j]
                        if l_s < t < h_s:
                            cuts.add(t)
            pts = sorted(cuts)
            for p in pts:
                new_bounds.append(p)
                rows.append(s)
            new_bounds.append(h_s)
            rows.append(s)
        rows = np.asarray(rows, dtype=np.int64)
        za, zb = ZA[rows], ZB[rows]
        nb = np.array(new_bounds, dtype=object)
        mid = (nb[:-1] + nb[1:]) / 2
        zmid = za + zb * mid[:, None]
        oa, ob = _apply(act, za, zb, zmid)
        if isinstance(layer, Residual):
            V, c = _exact.to_exact_array(layer.V), _exact.to_exact_array(layer.c)
            oa = A[rows] + np.matmul(oa, V.T) + c
            ob = B[rows] + np.matmul(ob, V.T)
        A, B, bounds = oa, ob, new_bounds
    if output is not None:
        A, B = A[:, [int(output)]], B[:, [int(output)]]
    pieces: list[Piece] = []
    for s in range(len(bounds) - 1):
        ia = tuple(_exact.exact_scalar(v) for v in A[s])
        sb = tuple(_exact.exact_scalar(v) for v in B[s])
        if pieces and pieces[-1].intercept == ia and pieces[-1].slope == sb:
            last = pieces[-1]
            pieces[-1] = Piece(last.lo, bounds[s + 1], ia, sb)
        else:
            pieces.append(Piece(bounds[s], bounds[s + 1], ia, sb))
    return pieces


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
        p for the activation when widths are given: 2 for ReLU-like and step, 3 for hard-tanh.

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
    p = _check_p(pieces_per_unit)
    total = 1
    for w in _check_widths(net_or_widths):
        total *= 1 + (p - 1) * w
    return total


def _check_p(p) -> int:
    if not isinstance(p, (int, np.integer)) or int(p) < 1:
        raise ArgumentError(f"pieces_per_unit: expected an integer p ≥ 1 (2 for ReLU, 3 for hard-tanh), got {p!r}")
    return int(p)


def _check_widths(widths) -> tuple:
    try:
        ws = tuple(int(w) for w in widths)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"widths: expected a sequence of positive integers, got {widths!r}") from None
    if any(w < 1 for w in ws) or any(int(w) != w for w in widths):
        raise ArgumentError(f"widths: expected positive integers, got {tuple(widths)}")
    return ws


def theorem33_max_pieces(widths: Sequence[int], pieces_per_unit: int = 2) -> int:
    """Yun et al. Theorem 3.3's count of the most pieces a 2- or 3-layer network can have.

    Parameters
    ----------
    widths : (d1,) or (d1, d2)
        Hidden widths of a network with scalar output.
    pieces_per_unit : int, default 2
        p: 2 for ReLU-like, 3 for hard-tanh.

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
    ws = _check_widths(widths)
    p = _check_p(pieces_per_unit)
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
