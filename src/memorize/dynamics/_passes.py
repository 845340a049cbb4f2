"""The machinery the public modules of :mod:`memorize.dynamics` share: the layout of θ over a
network's layers, and forward and backward passes written directly on a flat θ.

A network is described by one :class:`Slot` per layer (where its arrays sit in θ); ``views``
turns θ into per-layer arrays that share its memory, so an in-place update of θ is seen by the
next pass without rebuilding a :class:`~memorize.Network`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import Activation
from ..data import as_inputs, as_targets
from ..errors import ArgumentError, ArgumentTypeError, ExactnessError, ShapeError
from ..network import Network, Residual

__all__ = ["KINKS", "Slot", "layout", "views", "forward", "backward", "backward_rows", "as_data",
           "preactivations", "pattern"]

#: The kinks of every activation with a gradient (step, piecewise constant, has none).
KINKS = {
    "identity": np.empty(0),
    "relu": np.array([0.0]),
    "relu_like": np.array([0.0]),
    "hardtanh": np.array([-1.0, 1.0]),
}


@dataclass(frozen=True)
class Slot:
    """Where one layer's arrays sit in θ: names, shapes and [start, stop) ranges, in θ's order."""

    residual: bool
    activation: Activation
    names: tuple
    shapes: tuple
    starts: tuple
    stops: tuple


def layout(net: Network) -> tuple[tuple[Slot, ...], int]:
    """One :class:`Slot` per layer and the length P of θ; refuses exact networks and step layers."""
    if not isinstance(net, Network):
        raise ArgumentTypeError(f"net: expected a memorize.Network, got {type(net).__name__}")
    if net.is_exact:
        raise ExactnessError("net: gradients need a float64 network; convert with net.astype(numpy.float64)")
    slots, pos = [], 0
    for i, layer in enumerate(net.layers):
        act = layer.activation
        if act.name not in KINKS:
            raise ArgumentError(
                f"net: layers[{i}] uses the activation {act!r}, which has no gradient (it is piecewise "
                "constant); memorize.dynamics supports identity, relu, relu_like and hardtanh"
            )
        arrs = layer.dense_arrays()  # θ: the theorem's parameters (a factored layer's dense W)
        names = tuple(arrs)
        shapes = tuple(arrs[k].shape for k in names)
        starts, stops = [], []
        for k in names:
            starts.append(pos)
            pos += arrs[k].size
            stops.append(pos)
        slots.append(Slot(isinstance(layer, Residual), act, names, shapes, tuple(starts), tuple(stops)))
    return tuple(slots), pos


def views(slots, theta: np.ndarray) -> list[dict]:
    """Per-layer dicts of arrays that are views into ``theta`` (no copy)."""
    return [
        {k: theta[a:b].reshape(s) for k, s, a, b in zip(sl.names, sl.shapes, sl.starts, sl.stops)}
        for sl in slots
    ]


def forward(slots, params, X):
    """Output and, per layer, (input, pre-activation, activation output)."""
    h, cache = X, []
    for sl, p in zip(slots, params):
        if sl.residual:
            a = h @ p["U"].T + p["b"]
            s = sl.activation(a)
            cache.append((h, a, s))
            h = h + s @ p["V"].T + p["c"]
        else:
            a = h @ p["W"].T + p["b"]
            cache.append((h, a, None))
            h = sl.activation(a)
    return h, cache


def backward(slots, params, cache, G, out: np.ndarray) -> None:
    """Write dL/dθ into ``out`` given G = dL/d(output), summed over the rows of the batch."""
    for sl, p, (h, a, s) in zip(reversed(slots), reversed(params), reversed(cache)):
        st = dict(zip(sl.names, zip(sl.starts, sl.stops)))
        if sl.residual:
            lo, hi = st["V"]
            out[lo:hi] = (G.T @ s).ravel()
            lo, hi = st["c"]
            out[lo:hi] = G.sum(axis=0)
            dA = (G @ p["V"]) * sl.activation.derivative(a)
            lo, hi = st["U"]
            out[lo:hi] = (dA.T @ h).ravel()
            lo, hi = st["b"]
            out[lo:hi] = dA.sum(axis=0)
            G = G + dA @ p["U"]
        else:
            dA = G * sl.activation.derivative(a) if sl.activation.name != "identity" else G
            lo, hi = st["W"]
            out[lo:hi] = (dA.T @ h).ravel()
            lo, hi = st["b"]
            out[lo:hi] = dA.sum(axis=0)
            G = dA @ p["W"]


def backward_rows(slots, params, cache, G, out: np.ndarray) -> None:
    """Per-row gradients: out[i] = d(G[i] · output_i)/dθ, for every row i of the batch."""
    n = G.shape[0]
    for sl, p, (h, a, s) in zip(reversed(slots), reversed(params), reversed(cache)):
        st = dict(zip(sl.names, zip(sl.starts, sl.stops)))
        if sl.residual:
            lo, hi = st["V"]
            out[:, lo:hi] = (G[:, :, None] * s[:, None, :]).reshape(n, -1)
            lo, hi = st["c"]
            out[:, lo:hi] = G
            dA = (G @ p["V"]) * sl.activation.derivative(a)
            lo, hi = st["U"]
            out[:, lo:hi] = (dA[:, :, None] * h[:, None, :]).reshape(n, -1)
            lo, hi = st["b"]
            out[:, lo:hi] = dA
            G = G + dA @ p["U"]
        else:
            dA = G * sl.activation.derivative(a) if sl.activation.name != "identity" else G
            lo, hi = st["W"]
            out[:, lo:hi] = (dA[:, :, None] * h[:, None, :]).reshape(n, -1)
            lo, hi = st["b"]
            out[:, lo:hi] = dA
            G = dA @ p["W"]


def as_data(net: Network, X, y=None):
    """Points (N, d) and targets (N, k) checked against ``net``'s input and output sizes."""
    Xa = as_inputs(X)
    if Xa.shape[1] != net.input_dim:
        raise ShapeError(f"X: network takes {net.input_dim} inputs, X has {Xa.shape[1]} columns")
    if y is None:
        return Xa, None
    Y = as_targets(y, Xa.shape[0])
    if Y.shape[1] != net.output_dim:
        raise ShapeError(f"y: network has {net.output_dim} outputs, y has {Y.shape[1]} columns")
    return Xa, Y


def preactivations(slots, params, X) -> list[tuple[Activation, np.ndarray]]:
    """The pre-activations of every layer with kinks (identity layers left out), at the rows of X."""
    _, cache = forward(slots, params, X)
    return [(sl.activation, a) for sl, (_, a, _) in zip(slots, cache) if sl.activation.name != "identity"]


def pattern(pre) -> np.ndarray:
    """The index of the linear piece of every pre-activation, as one flat int8 vector."""
    parts = [np.sum(a[..., None] > KINKS[act.name], axis=-1).astype(np.int8).ravel() for act, a in pre]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int8)
