"""Exact rewrites between hard-tanh and ReLU-like networks (Yun, Sra, Jadbabaie 2019, §2).

* :func:`hardtanh_to_relu` replaces every hard-tanh unit by two ReLU-like units using

      σ_H(t) = [σ_R(t + 1) − σ_R(t − 1) − s₊ − s₋] / (s₊ − s₋),

  which holds for every real t and every ReLU-like σ_R with slopes s₊ > s₋ ≥ 0. It doubles
  every hard-tanh hidden width and is exact in rational arithmetic (on every input).
* :func:`relu_to_hardtanh` goes back: a ReLU unit is a rescaled hard-tanh unit as long as its
  pre-activation stays in ``[-B, B]``; the bound ``B`` is measured on the inputs you give, so
  the result agrees with the original network *on those inputs* (exactly, for exact networks).

Both functions keep integers as integers and every array in the network's own arithmetic, so
an exact network stays exact.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import _exact
from .activations import Activation, get_activation, hardtanh
from .errors import ArgumentError, ArgumentTypeError
from .network import Dense, Factored, Network

__all__ = ["hardtanh_to_relu", "relu_to_hardtanh"]


def _num(v, exact: bool):
    return _exact.exact_scalar(v) if exact else float(v)


def _slopes(act: Activation, exact: bool):
    sp, sm = act.slopes
    return _num(sp, exact), _num(sm, exact)


def _rows(layer: Dense, consumer: bool):
    """The matrix whose rows are the layer's units: ``A`` of a factored layer (the rewrites
    scale, mirror and repeat units, which acts on ``A`` alone and keeps ``B``), else ``W``. A
    layer that consumes a rewritten layer has its columns changed: it is taken dense."""
    return layer.A if isinstance(layer, Factored) and not consumer else layer.weight


def _like(layer: Dense, rows, b, act, consumer: bool) -> Dense:
    """A layer with unit rows ``rows`` (as :func:`_rows` gave them), bias ``b``, activation ``act``."""
    if isinstance(layer, Factored) and not consumer:
        return Factored(rows, layer.B, b, act)
    return Dense(rows, b, act)


def _dense_layers(net: Network, what: str) -> list[Dense]:
    if not isinstance(net, Network):
        raise ArgumentTypeError(f"net: expected a memorize.Network, got {type(net).__name__}")
    layers = list(net.layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, Dense):
            raise ArgumentError(f"net: layers[{i}] is a residual block; {what} rewrites fully connected networks only")
    return layers


def hardtanh_to_relu(net: Network, activation="relu", *, mirror=None) -> Network:
    """Rewrite every hard-tanh hidden unit as a pair of ReLU-like units (exact).

    Parameters
    ----------
    net : Network
        A fully connected network; its hard-tanh layers are rewritten, other layers are kept.
        The last layer must not be hard-tanh (it has no consumer to absorb the rewrite).
    activation : "relu" or Activation, default "relu"
        The ReLU-like σ_R to use: ``memorize.relu`` or ``memorize.relu_like(s_plus, s_minus)``.
    mirror : dict, optional
        ``{layer index: boolean array over that layer's units}``: rewrite the marked units with
        the mirrored identity σ_H(t) = −σ_H(−t), i.e. rows ``(−w, −b + 1)``, ``(−w, −b − 1)``.
        Both forms are exact; in float64 the plain form cancels for t ≫ 1 and is exact (zeros)
        for t ≪ −1, the mirrored form the other way round, so a builder can pick per unit the
        side on which its data rarely lie.

    Returns
    -------
    Network
        Same function on every input; each hard-tanh layer of width w becomes a σ_R layer of
        width 2w (rows ``(w, b + 1)`` and ``(w, b − 1)`` for every unit, interleaved). The
        consumer layer's columns become ``c/(s₊−s₋)`` and ``−c/(s₊−s₋)`` and its bias
        ``b − (s₊+s₋)/(s₊−s₋)·Σ c``. ``meta`` is kept and records ``"rewritten"``. A
        :class:`~memorize.network.Factored` layer stays factored (its units are rows of ``A``)
        unless it consumes a rewritten layer, which it then does as a dense layer.

    Notes
    -----
    The identity σ_H(t) = [σ_R(t+1) − σ_R(t−1) − s₊ − s₋]/(s₊ − s₋) (Yun et al. 2019, §2) is
    exact in real arithmetic, so the rewrite is exact on exact networks. In float64 it is not:
    a saturated unit with t ≫ 1 is recovered as the difference of two numbers of size t.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize import Network, Dense, hardtanh
    >>> from memorize.rewrite import hardtanh_to_relu
    >>> net = Network([Dense([[2.0]], [0.5], hardtanh), Dense([[3.0]], [1.0])])
    >>> relu_net = hardtanh_to_relu(net)
    >>> relu_net.widths
    (2,)
    >>> X = np.array([[-3.0], [0.1], [4.0]])
    >>> bool(np.allclose(relu_net(X), net(X)))
    True
    """
    act = get_activation(activation)
    if not act.is_relu_like:
        raise ArgumentError(f"activation: expected relu or relu_like(s_plus, s_minus), got {act!r}")
    layers = _dense_layers(net, "hardtanh_to_relu")
    if layers[-1].activation.name == "hardtanh":
        raise ArgumentError("net: the output layer is hard-tanh; only hidden layers can be rewritten")
    exact = net.is_exact
    sp, sm = _slopes(act, exact)
    inv = _exact.exact_scalar(Fraction(1) / (sp - sm)) if exact else 1.0 / (sp - sm)
    offset = (sp + sm) * inv
    one = 1 if exact else 1.0
    mirror = dict(mirror or {})
    new = []
    prev_ht = False
    prev_sign = None
    for li, layer in enumerate(layers):
        consumer = prev_ht
        W, b = _rows(layer, consumer), layer.bias
        if prev_ht:
            # consumer of a rewritten layer: columns c -> (c/(s+-s-), -c/(s+-s-)); a mirrored
            # unit feeds −σ_H(−t), so its columns and bias term change sign
            Ws = W * prev_sign[None, :]
            W2 = np.empty((W.shape[0], 2 * W.shape[1]), dtype=W.dtype)
            W2[:, 0::2] = Ws * inv
            W2[:, 1::2] = -(Ws * inv)
            b = b - offset * Ws.sum(axis=1) if W.shape[1] else b
            W = W2
        if layer.activation.name == "hardtanh":
            m = np.zeros(W.shape[0], dtype=bool) if li not in mirror else np.asarray(mirror[li], dtype=bool)
            if m.shape != (W.shape[0],):
                raise ArgumentError(f"mirror: layer {li} has {W.shape[0]} units, got a mask of shape {m.shape}")
            sign = np.where(m, -1, 1)
            sign = sign.astype(object) if exact else sign.astype(np.float64)
            Wm = W * sign[:, None]
            bm = b * sign
            Wd = np.repeat(Wm, 2, axis=0)
            bd = np.empty(2 * b.shape[0], dtype=b.dtype)
            bd[0::2] = bm + one
            bd[1::2] = bm - one
            new.append(_like(layer, Wd, bd, act, consumer))
            prev_ht = True
            prev_sign = sign
        else:
            new.append(_like(layer, W, b, layer.activation, consumer))
            prev_ht = False
    meta = dict(net.meta)
    meta["rewritten"] = f"hardtanh_to_relu({act!r})"
    return Network(new, meta)


def _pow2_at_least(x: float) -> int:
    """Smallest power of two >= max(x, 1): keeps the rescaled weights short in exact mode."""
    x = max(float(x), 1.0)
    e = int(np.ceil(np.log2(x)))
    while 2.0**e < x:
        e += 1
    return 2**e


def relu_to_hardtanh(net: Network, X, *, bound=None) -> Network:
    """Rewrite every ReLU-like hidden unit with hard-tanh units, exact on the inputs ``X``.

    Parameters
    ----------
    net : Network
        A fully connected network whose hidden layers are relu / relu_like (others are kept).
    X : array_like (N, d)
        Inputs on which the rewritten network must agree with ``net``: the pre-activation bound
        of every unit is measured on them (in exact arithmetic for exact networks).
    bound : float, optional
        Use this bound ``B`` for every unit instead of measuring (must be ≥ max |pre-activation|).

    Returns
    -------
    Network
        A ReLU unit ``relu(t)`` becomes ``(B/2)·(σ_H(2t/B − 1) + 1)`` with ``B`` a power of two at
        least the largest |t| on ``X``; a ReLU-like unit ``s₊relu(t) − s₋relu(−t)`` becomes two
        hard-tanh units (one when s₋ = 0). Widths stay equal for ReLU and double for leaky ReLU.

    Notes
    -----
    Unlike :func:`hardtanh_to_relu` this rewrite is only valid where the pre-activations stay
    within ``[-B, B]``: hard-tanh saturates, ReLU does not. On ``X`` it is exact in rational
    arithmetic.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize import Network, Dense, relu
    >>> from memorize.rewrite import relu_to_hardtanh
    >>> net = Network([Dense([[1.0], [-1.0]], [0.0, 1.0], relu), Dense([[1.0, 2.0]], [0.0])])
    >>> X = np.array([[-2.0], [0.5], [3.0]])
    >>> ht = relu_to_hardtanh(net, X)
    >>> bool(np.allclose(ht(X), net(X)))
    True
    """
    layers = _dense_layers(net, "relu_to_hardtanh")
    exact = net.is_exact
    h = np.asarray(X)
    if h.ndim == 1:
        h = h[:, None]
    h = _exact.to_exact_array(h) if exact else np.asarray(h, dtype=np.float64)
    one = 1 if exact else 1.0
    new = []
    pending = None  # (scale per column, offset per column, signs) of the previous rewritten layer
    for li, layer in enumerate(layers):
        consumer = pending is not None
        W, b = _rows(layer, consumer), layer.bias
        pre_in = h
        if pending is not None:
            cols_W, cols_b = pending
            # consumer: original h_prev = A @ ht_out + c, with A = cols_W (in × new), c = cols_b
            b = b + W @ cols_b
            W = W @ cols_W
            pending = None
        t = layer.preactivation(pre_in)
        h = layer.activation(t)
        last = li == len(layers) - 1
        if last or not layer.activation.is_relu_like:
            new.append(_like(layer, W, b, layer.activation, consumer))
            continue
        if bound is None:
            mags = np.max(np.abs(t), axis=0) if t.shape[0] else np.zeros(t.shape[1])
            Bs = [_pow2_at_least(float(m)) for m in mags]
        else:
            Bs = [_pow2_at_least(float(bound))] * t.shape[1]
        sp, sm = _slopes(layer.activation, exact)
        width = W.shape[0]
        scale = np.array([_num(Fraction(2, B), exact) for B in Bs], dtype=object if exact else np.float64)
        half = np.array([_num(Fraction(B, 2), exact) for B in Bs], dtype=object if exact else np.float64)
        # unit relu(t) = half*(σ_H(scale*t − 1) + 1)
        Wp = W * scale[:, None]
        bp = b * scale - one
        units_W = [Wp]
        units_b = [bp]
        coeff = [sp * half]
        if (sm != 0):
            units_W.append(-Wp)
            units_b.append(-(b * scale) - one)
            coeff.append(-sm * half)
        k = len(units_W)
        Wn = np.empty((k * width, W.shape[1]), dtype=W.dtype)
        bn = np.empty(k * width, dtype=b.dtype)
        A = np.zeros((width, k * width), dtype=W.dtype)
        if exact:
            A[:] = 0
        cvec = np.zeros(width, dtype=W.dtype)
        if exact:
            cvec[:] = 0
        for u in range(k):
            Wn[u::k] = units_W[u]
            bn[u::k] = units_b[u]
            A[np.arange(width), u + k * np.arange(width)] = coeff[u]
            cvec = cvec + coeff[u]
        new.append(_like(layer, Wn, bn, hardtanh, consumer))
        pending = (A, cvec)
    meta = dict(net.meta)
    meta["rewritten"] = "relu_to_hardtanh"
    return Network(new, meta)
