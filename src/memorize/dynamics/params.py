"""The parameter vector θ of a network, and the rescaling symmetry of its homogeneous units."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..network import Dense, Network, Residual
from ._passes import layout, views

__all__ = ["flatten", "unflatten", "rebalance"]


def flatten(net: Network) -> np.ndarray:
    """The parameter vector θ of a float64 network (a fresh, writable copy).

    Parameters
    ----------
    net : Network
        A float64 network (exact networks: convert with ``net.astype(numpy.float64)``).

    Returns
    -------
    numpy.ndarray of shape (net.num_params,)
        Layer after layer, ``W, b`` (Dense) or ``U, b, V, c`` (Residual), each in C order. A
        :class:`~memorize.network.Factored` layer contributes its dense ``W = A B`` and ``b``:
        θ holds the parameters of the theorem's architecture (``num_params`` of them), and
        :func:`unflatten` returns dense layers.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize import Network, Dense, relu
    >>> from memorize.dynamics import flatten, unflatten
    >>> net = Network([Dense([[1.0, 2.0]], [3.0], relu), Dense([[4.0]], [5.0])])
    >>> flatten(net)
    array([1., 2., 3., 4., 5.])
    >>> unflatten(net, flatten(net) * 2).layers[1].bias
    array([10.])
    """
    slots, p = layout(net)
    theta = np.empty(p)
    for layer, sl in zip(net.layers, slots):
        for k, a, b in zip(sl.names, sl.starts, sl.stops):
            theta[a:b] = layer.dense_arrays()[k].ravel()
    return theta


def unflatten(net: Network, theta) -> Network:
    """A network with the architecture, activations and ``meta`` of ``net`` and parameters θ.

    Parameters
    ----------
    net : Network
        Template (float64).
    theta : array_like of shape (net.num_params,)

    Returns
    -------
    Network
    """
    slots, p = layout(net)
    th = np.asarray(theta, dtype=np.float64)
    if th.shape != (p,):
        raise ShapeError(f"theta: expected shape ({p},) for this network, got {th.shape}")
    layers = []
    for sl, v in zip(slots, views(slots, th)):
        if sl.residual:
            layers.append(Residual(v["U"], v["b"], v["V"], v["c"], sl.activation))
        else:
            layers.append(Dense(v["W"], v["b"], sl.activation))
    return Network(layers, dict(net.meta))


# Units with σ(c·t) = c·σ(t) for c > 0, whose weights can be moved between their two sides.
_HOMOGENEOUS = ("identity", "relu", "relu_like")


def _balancing_scales(w_in, b_in, w_out) -> np.ndarray:
    """Per unit, c = √(‖outgoing‖ / ‖incoming, bias‖), which makes the two norms equal (1 if either is 0)."""
    a = np.sqrt(np.sum(w_in**2, axis=1) + b_in**2)
    o = np.sqrt(np.sum(w_out**2, axis=0))
    c = np.ones_like(a)
    ok = (a > 0) & (o > 0)
    c[ok] = np.sqrt(o[ok] / a[ok])
    return c


def rebalance(net: Network) -> Network:
    """The same function with every positively homogeneous hidden unit's weights balanced.

    For σ with σ(c·t) = c·σ(t) for c > 0 (identity, relu, relu_like), multiplying the incoming
    weights and bias of a hidden unit by c and its outgoing weights by 1/c leaves the network
    function unchanged. ``rebalance`` picks c per unit so that the incoming vector (row and
    bias) and the outgoing column get equal norms. It acts on every Dense layer followed by a
    Dense layer and on every residual block's inner units; hardtanh units and units with zero
    incoming or outgoing weights are left alone.

    A memorizing global minimum stays one (with the same activation pattern at the data, since
    c > 0 keeps every sign), but its Hessian H = Σ ℓ″ ν_i ν_iᵀ changes: balancing typically
    improves λ_min⁺(H)/λ_max(H), the conditioning that sets the speed of SGD near the minimum.

    Parameters
    ----------
    net : Network
        float64 network.

    Returns
    -------
    Network
        Same function (up to rounding), same ``meta`` plus ``meta["rebalanced"] = True``.
    """
    layout(net)  # refuses what has no gradient, as every function of this package does
    layers = list(net.layers)
    for i, layer in enumerate(layers):
        if layer.activation.name not in _HOMOGENEOUS:
            continue
        if isinstance(layer, Residual):
            c = _balancing_scales(layer.U, layer.b, layer.V)
            layers[i] = Residual(layer.U * c[:, None], layer.b * c, layer.V / c, layer.c, layer.activation)
        elif i + 1 < len(layers) and isinstance(layers[i + 1], Dense):
            nxt = layers[i + 1]
            c = _balancing_scales(layer.weight, layer.bias, nxt.weight)
            layers[i] = Dense(layer.weight * c[:, None], layer.bias * c, layer.activation)
            layers[i + 1] = Dense(nxt.weight / c, nxt.bias, nxt.activation)
    meta = dict(net.meta)
    meta["rebalanced"] = True
    return Network(layers, meta)
