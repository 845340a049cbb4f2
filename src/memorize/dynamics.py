"""Training dynamics near a memorizing network: gradients, SGD, and Yun et al. Theorem 5.1.

The builders of :mod:`memorize` write down a global minimum θ* of the empirical risk in closed
form. This module asks what gradient training does next to such a point. It provides

* :func:`flatten` / :func:`unflatten`: one parameter vector θ for a :class:`~memorize.Network`;
* :func:`risk`, :func:`risk_gradient`: the empirical risk R(θ) = (1/N) Σ_i ℓ(f_θ(x_i); y_i) and
  its gradient by backpropagation in NumPy (Dense and Residual layers; identity, relu,
  relu_like and hardtanh activations — step has no gradient and is refused);
* :func:`per_example_gradients`: the matrix J whose rows are ν_i = ∇_θ f_θ(x_i), and
  :func:`span_basis` / :func:`span_projector` onto span{ν_i};
* :func:`activation_pattern`, :func:`kink_margin`: on which linear piece every pre-activation
  at the data sits, and how far it is from a kink (R is differentiable where the margin is > 0);
* :func:`sgd`: without-replacement mini-batch SGD exactly as Theorem 5.1 assumes, with a
  per-epoch :class:`SGDRecord`;
* :func:`near_minimum_experiment`: the experiment that checks the theorem's claims on a
  constructed memorizer (see ``docs/dynamics.md``).

Parameter order
---------------
θ concatenates, layer after layer, the arrays of :meth:`Dense.arrays` (``W`` then ``b``) or
:meth:`Residual.arrays` (``U``, ``b``, ``V``, ``c``), each flattened in C order. This is the
order of :attr:`Network.num_params`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

import numpy as np

from .activations import Activation
from .data import as_inputs, as_rng, as_targets, format_indices
from .errors import ArgumentError, ArgumentTypeError, AssumptionError, ExactnessError, ShapeError
from .network import Dense, Network, Residual

__all__ = [
    "Loss",
    "squared_loss",
    "log_cosh_loss",
    "flatten",
    "unflatten",
    "risk",
    "risk_gradient",
    "per_example_gradients",
    "span_basis",
    "span_projector",
    "activation_pattern",
    "kink_margin",
    "SGDRecord",
    "SGDResult",
    "sgd",
    "rebalance",
    "EpsilonRun",
    "NearMinimumResult",
    "near_minimum_experiment",
    "DEFAULT_MAX_BYTES",
]

#: Default bound on the memory of a dense N × P gradient matrix or P × P projector (256 MB).
DEFAULT_MAX_BYTES = 256 * 2**20


# ------------------------------------------------------------------------------------------
# Losses
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Loss:
    """A per-output loss ℓ(f; y) with its first two derivatives in f.

    Theorem 5.1 needs ℓ(·; y) strictly convex, three times differentiable, and minimised at a
    finite f for every y (squared loss qualifies, logistic loss does not). The risk sums the
    loss over output columns and averages over points.

    Parameters
    ----------
    name : str
    value, grad, hess : callable ``(f, y) -> array``
        ℓ, ∂ℓ/∂f and ∂²ℓ/∂f², elementwise on arrays of equal shape.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize.dynamics import Loss
    >>> quartic = Loss("quartic", lambda f, y: (f - y) ** 4 + (f - y) ** 2,
    ...                lambda f, y: 4 * (f - y) ** 3 + 2 * (f - y),
    ...                lambda f, y: 12 * (f - y) ** 2 + 2)
    >>> float(quartic.value(np.array(1.0), np.array(0.0)))
    2.0
    """

    name: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    hess: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"


def _log_cosh(r):
    a = np.abs(r)
    # log cosh r = |r| + log(1 + e^{-2|r|}) − log 2, without overflow for large |r|
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


#: ℓ(f; y) = ½ (f − y)²: ℓ′ = f − y, ℓ″ = 1, so H = JᵀJ.
squared_loss = Loss("squared", lambda f, y: 0.5 * (f - y) ** 2, lambda f, y: f - y, lambda f, y: np.ones_like(f - y))

#: ℓ(f; y) = log cosh(f − y): strictly convex and smooth, quadratic near y, linear far away.
log_cosh_loss = Loss(
    "log_cosh", lambda f, y: _log_cosh(f - y), lambda f, y: np.tanh(f - y), lambda f, y: 1.0 - np.tanh(f - y) ** 2
)


def _check_loss(loss) -> Loss:
    if not isinstance(loss, Loss):
        raise ArgumentTypeError(
            f"loss: expected a memorize.dynamics.Loss (value, grad, hess), got {type(loss).__name__}"
        )
    return loss


# ------------------------------------------------------------------------------------------
# Parameter layout
# ------------------------------------------------------------------------------------------
_KINKS = {
    "identity": np.empty(0),
    "relu": np.array([0.0]),
    "relu_like": np.array([0.0]),
    "hardtanh": np.array([-1.0, 1.0]),
}


@dataclass(frozen=True)
class _Slot:
    residual: bool
    activation: Activation
    names: tuple
    shapes: tuple
    starts: tuple
    stops: tuple


def _layout(net: Network) -> tuple[tuple[_Slot, ...], int]:
    if not isinstance(net, Network):
        raise ArgumentTypeError(f"net: expected a memorize.Network, got {type(net).__name__}")
    if net.is_exact:
        raise ExactnessError("net: gradients need a float64 network; convert with net.astype(numpy.float64)")
    slots, pos = [], 0
    for i, layer in enumerate(net.layers):
        act = layer.activation
        if act.name not in _KINKS:
            raise ArgumentError(
                f"net: layers[{i}] uses the activation {act!r}, which has no gradient (it is piecewise "
                "constant); memorize.dynamics supports identity, relu, relu_like and hardtanh"
            )
        arrs = layer.arrays()
        names = tuple(arrs)
        shapes = tuple(arrs[k].shape for k in names)
        starts, stops = [], []
        for k in names:
            starts.append(pos)
            pos += arrs[k].size
            stops.append(pos)
        slots.append(_Slot(isinstance(layer, Residual), act, names, shapes, tuple(starts), tuple(stops)))
    return tuple(slots), pos


def _views(slots, theta: np.ndarray) -> list[dict]:
    return [
        {k: theta[a:b].reshape(s) for k, s, a, b in zip(sl.names, sl.shapes, sl.starts, sl.stops)}
        for sl in slots
    ]


def flatten(net: Network) -> np.ndarray:
    """The parameter vector θ of a float64 network (a fresh, writable copy).

    Parameters
    ----------
    net : Network
        A float64 network (exact networks: convert with ``net.astype(numpy.float64)``).

    Returns
    -------
    numpy.ndarray of shape (net.num_params,)
        Layer after layer, ``W, b`` (Dense) or ``U, b, V, c`` (Residual), each in C order.

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
    slots, p = _layout(net)
    theta = np.empty(p)
    for layer, sl in zip(net.layers, slots):
        for k, a, b in zip(sl.names, sl.starts, sl.stops):
            theta[a:b] = layer.arrays()[k].ravel()
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
    slots, p = _layout(net)
    th = np.asarray(theta, dtype=np.float64)
    if th.shape != (p,):
        raise ShapeError(f"theta: expected shape ({p},) for this network, got {th.shape}")
    layers = []
    for sl, v in zip(slots, _views(slots, th)):
        if sl.residual:
            layers.append(Residual(v["U"], v["b"], v["V"], v["c"], sl.activation))
        else:
            layers.append(Dense(v["W"], v["b"], sl.activation))
    return Network(layers, dict(net.meta))


# ------------------------------------------------------------------------------------------
# Forward and backward passes on a flat θ
# ------------------------------------------------------------------------------------------
def _forward(slots, params, X):
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


def _backward(slots, params, cache, G, out: np.ndarray) -> None:
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


def _backward_rows(slots, params, cache, G, out: np.ndarray) -> None:
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


def _data(net: Network, X, y=None):
    Xa = as_inputs(X)
    if Xa.shape[1] != net.input_dim:
        raise ShapeError(f"X: network takes {net.input_dim} inputs, X has {Xa.shape[1]} columns")
    if y is None:
        return Xa, None
    Y = as_targets(y, Xa.shape[0])
    if Y.shape[1] != net.output_dim:
        raise ShapeError(f"y: network has {net.output_dim} outputs, y has {Y.shape[1]} columns")
    return Xa, Y


def risk(net: Network, X, y, *, loss: Loss = squared_loss) -> float:
    """Empirical risk R(θ) = (1/N) Σ_i Σ_k ℓ(f_θ(x_i)_k; y_ik).

    Parameters
    ----------
    net : Network
        float64 network.
    X : array_like, shape (N, d)
    y : array_like, shape (N,) or (N, k)
    loss : Loss, default :data:`squared_loss` (ℓ = ½ (f − y)²)

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, memorize
    >>> from memorize.dynamics import risk
    >>> X, y = np.array([[0.0], [1.0], [3.0]]), np.array([1.0, -1.0, 2.0])
    >>> net = memorize.build("zhang2017", X, y, theta=0.25)
    >>> risk(net, X, y) < 1e-25
    True
    """
    loss = _check_loss(loss)
    Xa, Y = _data(net, X, y)
    return float(np.sum(loss.value(net(Xa), Y)) / Xa.shape[0])


def risk_gradient(net: Network, X, y, *, loss: Loss = squared_loss) -> tuple[float, np.ndarray]:
    """The risk and its gradient ∇_θ R by backpropagation.

    Parameters
    ----------
    net : Network
        float64 network of Dense/Residual layers with identity, relu, relu_like or hardtanh
        activations (step is refused: it has no gradient).
    X, y : array_like
        Points (N, d) and targets (N,) or (N, k).
    loss : Loss, default :data:`squared_loss`

    Returns
    -------
    (float, numpy.ndarray of shape (net.num_params,))
        R(θ) and ∇R(θ), in the parameter order of :func:`flatten`.

    Notes
    -----
    At a kink of a piecewise-linear activation (a pre-activation exactly at 0 for relu, at ±1
    for hardtanh) R is not differentiable; the pass then uses the derivative of
    :meth:`Activation.derivative` (one-sided). :func:`kink_margin` tells whether this happens.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize import Network, Dense, relu
    >>> from memorize.dynamics import risk_gradient
    >>> net = Network([Dense([[2.0]], [0.0], relu), Dense([[1.0]], [0.0])])
    >>> r, g = risk_gradient(net, [[1.0]], [1.0])   # f = 2, ℓ′ = 1
    >>> r, g
    (0.5, array([1., 1., 2., 1.]))
    """
    loss = _check_loss(loss)
    slots, p = _layout(net)
    Xa, Y = _data(net, X, y)
    return _risk_grad(slots, _views(slots, flatten(net)), Xa, Y, loss, p)


def _risk_grad(slots, params, X, Y, loss, p):
    out, cache = _forward(slots, params, X)
    n = X.shape[0]
    g = np.empty(p)
    _backward(slots, params, cache, loss.grad(out, Y) / n, g)
    return float(np.sum(loss.value(out, Y)) / n), g


def per_example_gradients(net: Network, X, *, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """The matrix J whose rows are ν_i = ∇_θ f_θ(x_i).

    Parameters
    ----------
    net : Network
        float64 network (scalar output for Theorem 5.1; with k outputs there is one row per
        point and output).
    X : array_like, shape (N, d)
    max_bytes : int, default :data:`DEFAULT_MAX_BYTES`
        Refuse (ArgumentError) if the dense matrix would exceed this many bytes.

    Returns
    -------
    numpy.ndarray of shape (N·k, P)
        Row ``i·k + j`` is the gradient of output ``j`` at ``x_i``.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize import Network, Dense, relu
    >>> from memorize.dynamics import per_example_gradients
    >>> net = Network([Dense([[2.0]], [0.0], relu), Dense([[1.0]], [0.0])])
    >>> per_example_gradients(net, [[1.0], [0.5]])   # f = relu(w x + b)·a + c at w = 2, a = 1
    array([[1. , 1. , 2. , 1. ],
           [0.5, 1. , 1. , 1. ]])
    """
    slots, p = _layout(net)
    Xa, _ = _data(net, X)
    n, k = Xa.shape[0], net.output_dim
    need = 8 * n * k * p
    if need > max_bytes:
        raise ArgumentError(
            f"max_bytes: the gradient matrix has N·k·P = {n}·{k}·{p} entries ({need / 2**20:.1f} MB), more than "
            f"max_bytes = {max_bytes / 2**20:.1f} MB; pass fewer points or a larger max_bytes"
        )
    params = _views(slots, flatten(net))
    _, cache = _forward(slots, params, Xa)
    J = np.empty((n, k, p))
    for j in range(k):
        G = np.zeros((n, k))
        G[:, j] = 1.0
        _backward_rows(slots, params, cache, G, J[:, j, :])
    return J.reshape(n * k, p)


def span_basis(J, *, rtol: float = 1e-9) -> np.ndarray:
    """An orthonormal basis Q (P × r) of the row span of J (span{ν_i}).

    The rank r counts singular values above ``rtol`` times the largest: rounding turns the
    exact zeros of a rank-deficient J into tiny nonzero values, so a relative cut-off is needed.

    Parameters
    ----------
    J : array_like, shape (M, P)
    rtol : float, default 1e-9

    Returns
    -------
    numpy.ndarray of shape (P, r)
    """
    J = np.asarray(J, dtype=np.float64)
    if J.ndim != 2:
        raise ShapeError(f"J: expected a 2-D array (M, P), got shape {J.shape}")
    if not (0 < rtol < 1):
        raise ArgumentError(f"rtol: must lie in (0, 1), got {rtol}")
    if J.size == 0:
        return np.zeros((J.shape[1], 0))
    _, s, Vt = np.linalg.svd(J, full_matrices=False)
    r = int(np.sum(s > rtol * s[0])) if s[0] > 0 else 0
    return Vt[:r].T.copy()


def span_projector(J, *, rtol: float = 1e-9, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """The orthogonal projector Π = Q Qᵀ (P × P) onto span{ν_i}, the row span of J.

    ξ_par = Π ξ and ξ_perp = ξ − Π ξ. Π is symmetric and idempotent. For large P prefer
    :func:`span_basis` and compute ``Q @ (Q.T @ xi)``.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize.dynamics import span_projector
    >>> Pi = span_projector([[1.0, 1.0, 0.0]])
    >>> np.allclose(Pi @ Pi, Pi), np.allclose(Pi, Pi.T), round(float(np.trace(Pi)), 9)
    (True, True, 1.0)
    """
    J = np.asarray(J, dtype=np.float64)
    p = J.shape[-1] if J.ndim else 0
    if 8 * p * p > max_bytes:
        raise ArgumentError(
            f"max_bytes: a {p} × {p} projector needs {8 * p * p / 2**20:.1f} MB, more than max_bytes = "
            f"{max_bytes / 2**20:.1f} MB; use span_basis instead"
        )
    Q = span_basis(J, rtol=rtol)
    return Q @ Q.T


# ------------------------------------------------------------------------------------------
# Activation patterns
# ------------------------------------------------------------------------------------------
def _preactivations(slots, params, X) -> list[tuple[Activation, np.ndarray]]:
    _, cache = _forward(slots, params, X)
    return [(sl.activation, a) for sl, (_, a, _) in zip(slots, cache) if sl.activation.name != "identity"]


def _pattern(pre) -> np.ndarray:
    parts = [np.sum(a[..., None] > _KINKS[act.name], axis=-1).astype(np.int8).ravel() for act, a in pre]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int8)


def activation_pattern(net: Network, X) -> np.ndarray:
    """The linear piece every pre-activation at the data sits on, as one flat int8 vector.

    Piece 0 is left of the first kink (relu: a ≤ 0; hardtanh: a ≤ −1), piece 1 the next, ...;
    identity layers contribute nothing. Two parameter vectors with equal patterns at X give a
    network that is the same polynomial in θ at every x_i (the setting of Theorem 5.1).
    """
    slots, _ = _layout(net)
    Xa, _ = _data(net, X)
    return _pattern(_preactivations(slots, _views(slots, flatten(net)), Xa))


def kink_margin(net: Network, X) -> float:
    """The smallest distance of any pre-activation at the data to a kink of its activation.

    R is differentiable at θ (for every loss) when this is positive; ``inf`` when the network
    has no kinks (identity activations only).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> from memorize.dynamics import kink_margin
    >>> X, y = np.array([[0.0], [1.0], [3.0]]), np.array([1.0, -1.0, 2.0])
    >>> kink_margin(memorize.build("zhang2017", X, y), X)               # theta = 0: kinks on points
    0.0
    >>> kink_margin(memorize.build("zhang2017", X, y, theta=0.25), X) > 0
    True
    """
    slots, _ = _layout(net)
    Xa, _ = _data(net, X)
    best = np.inf
    for act, a in _preactivations(slots, _views(slots, flatten(net)), Xa):
        if a.size:
            best = min(best, float(np.min(np.abs(a[..., None] - _KINKS[act.name]))))
    return best


# ------------------------------------------------------------------------------------------
# Without-replacement mini-batch SGD
# ------------------------------------------------------------------------------------------
def _readonly(a) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class SGDRecord:
    """What :func:`sgd` measured at the start of every epoch (index k = state after k epochs).

    All array fields are read-only NumPy arrays of equal length ``epochs + 1`` (shorter when the
    run diverged). ξ = θ − θ* is measured from the reference point θ*; ξ_par is its component
    in span{ν_i} (the per-example gradients at θ*) and ξ_perp the rest.

    Attributes
    ----------
    epoch : int64 array
        0, 1, 2, ...: the number of epochs done (step t = epoch · steps_per_epoch).
    risk : float64 array
        R(θ) on the whole dataset.
    xi_norm, xi_par_norm, xi_perp_norm : float64 arrays
        ‖ξ‖, ‖ξ_par‖, ‖ξ_perp‖.
    pattern_kept : bool array
        True where the activation pattern at every data point equals the one at θ*.
    lr : float
        Step size η.
    batch_size : int
        B; ``steps_per_epoch = N / B``.
    steps_per_epoch : int
    order : {"shuffle", "fixed"}
        A fresh random partition every epoch, or the fixed cyclic order 0..N−1.
    loss : str
        Name of the loss.
    diverged : bool
        True if θ or R(θ) became non-finite (the record then stops at the last finite epoch,
        and :attr:`SGDResult.network` is the starting network).
    """

    epoch: np.ndarray
    risk: np.ndarray
    xi_norm: np.ndarray
    xi_par_norm: np.ndarray
    xi_perp_norm: np.ndarray
    pattern_kept: np.ndarray
    lr: float
    batch_size: int
    steps_per_epoch: int
    order: str
    loss: str
    diverged: bool = False

    def __len__(self) -> int:
        return len(self.epoch)

    def as_dict(self) -> dict:
        """JSON-ready copy (lists and scalars)."""
        out = {}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        return out


@dataclass(frozen=True)
class SGDResult:
    """The network after the last epoch (the start if the run diverged) and the :class:`SGDRecord`."""

    network: Network
    record: SGDRecord


def _check_same_architecture(net: Network, other: Network, name: str):
    a, pa = _layout(net)
    b, pb = _layout(other)
    same = pa == pb and len(a) == len(b) and all(
        x.residual == y.residual and x.activation == y.activation and x.shapes == y.shapes for x, y in zip(a, b)
    )
    if not same:
        raise ArgumentError(f"{name}: must have the same layers, shapes and activations as net")


def sgd(
    net: Network,
    X,
    y,
    *,
    lr: float,
    batch_size: int,
    epochs: int,
    loss: Loss = squared_loss,
    order: Literal["shuffle", "fixed"] = "shuffle",
    rng=None,
    reference: Network | None = None,
    basis: np.ndarray | None = None,
) -> SGDResult:
    """Without-replacement mini-batch SGD with constant step, as in Yun et al. Theorem 5.1.

    Every epoch partitions the N points into E = N/B batches (a fresh random partition, or the
    fixed order 0..N−1) and takes one step per batch:
    θ ← θ − η · (1/B) Σ_{i∈batch} ℓ′(f_θ(x_i); y_i) ∇_θ f_θ(x_i). No momentum, no decay.

    Parameters
    ----------
    net : Network
        Starting point θ⁰ (float64).
    X, y : array_like
        Points (N, d) and targets (N,) or (N, k).
    lr : float
        Constant step size η > 0.
    batch_size : int
        B; must divide N.
    epochs : int
        Number of passes over the data.
    loss : Loss, default :data:`squared_loss`
    order : {"shuffle", "fixed"}, default "shuffle"
    rng : None, int or numpy.random.Generator
        Seeds the partitions (``None`` means seed 0).
    reference : Network, optional
        θ*, the point ξ = θ − θ* is measured from (same architecture). Default: ``net`` itself.
    basis : array of shape (P, r), optional
        Orthonormal basis of span{ν_i}; default: :func:`span_basis` of the per-example
        gradients at ``reference``.

    Returns
    -------
    SGDResult
        ``network`` after the last epoch and the per-epoch ``record``.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> from memorize.dynamics import flatten, unflatten, sgd
    >>> X = np.linspace(-1, 1, 8)[:, None]; y = np.sin(3 * X[:, 0])
    >>> star = memorize.build("zhang2017", X, y, theta=0.25)
    >>> start = unflatten(star, flatten(star) + 1e-3)
    >>> rec = sgd(start, X, y, lr=0.01, batch_size=2, epochs=50, reference=star).record
    >>> bool(rec.risk[-1] < rec.risk[0])
    True
    """
    loss = _check_loss(loss)
    slots, p = _layout(net)
    Xa, Y = _data(net, X, y)
    n = Xa.shape[0]
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ArgumentError(f"batch_size: must be a positive integer, got {batch_size!r}")
    if n % int(batch_size):
        raise ArgumentError(f"batch_size: must divide N = {n} (Theorem 5.1 assumes E = N/B batches), got {batch_size}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ArgumentError(f"epochs: must be a non-negative integer, got {epochs!r}")
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"lr: expected a number, got {type(lr).__name__}") from None
    if not (np.isfinite(lr) and lr > 0):
        raise ArgumentError(f"lr: must be a positive finite number, got {lr}")
    if order not in ("shuffle", "fixed"):
        raise ArgumentError(f"order: must be 'shuffle' or 'fixed', got {order!r}")
    gen = as_rng(rng)
    if reference is None:
        reference = net
    else:
        _check_same_architecture(net, reference, "reference")
    theta_star = flatten(reference)
    if basis is None:
        basis = span_basis(per_example_gradients(reference, Xa))
    Q = np.asarray(basis, dtype=np.float64)
    if Q.ndim != 2 or Q.shape[0] != p:
        raise ShapeError(f"basis: expected shape ({p}, r), got {Q.shape}")
    B, E = int(batch_size), n // int(batch_size)
    star_pattern = _pattern(_preactivations(slots, _views(slots, theta_star), Xa))

    theta = flatten(net)
    params = _views(slots, theta)  # views: in-place updates of theta are seen by the passes
    g = np.empty(p)
    cols = {k: [] for k in ("risk", "xi", "par", "perp", "kept")}

    def measure():
        out, cache = _forward(slots, params, Xa)
        xi = theta - theta_star
        coef = Q.T @ xi
        cols["risk"].append(float(np.sum(loss.value(out, Y)) / n))
        cols["xi"].append(float(np.linalg.norm(xi)))
        cols["par"].append(float(np.linalg.norm(coef)))
        cols["perp"].append(float(np.linalg.norm(xi - Q @ coef)))
        pre = [(sl.activation, a) for sl, (_, a, _) in zip(slots, cache) if sl.activation.name != "identity"]
        cols["kept"].append(bool(np.array_equal(_pattern(pre), star_pattern)))

    measure()
    diverged = False
    fixed = np.arange(n)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(epochs)):
            perm = fixed if order == "fixed" else gen.permutation(n)
            for t in range(E):
                idx = perm[t * B : (t + 1) * B]
                xb = Xa[idx]
                out, cache = _forward(slots, params, xb)
                _backward(slots, params, cache, loss.grad(out, Y[idx]) / B, g)
                theta -= lr * g
            if not np.all(np.isfinite(theta)):
                diverged = True
                break
            measure()
            if not np.isfinite(cols["risk"][-1]):
                for c in cols.values():
                    c.pop()
                diverged = True
                break
    record = SGDRecord(
        epoch=_readonly(np.arange(len(cols["risk"]), dtype=np.int64)),
        risk=_readonly(cols["risk"]),
        xi_norm=_readonly(cols["xi"]),
        xi_par_norm=_readonly(cols["par"]),
        xi_perp_norm=_readonly(cols["perp"]),
        pattern_kept=_readonly(np.array(cols["kept"], dtype=bool)),
        lr=lr,
        batch_size=B,
        steps_per_epoch=E,
        order=order,
        loss=loss.name,
        diverged=diverged,
    )
    final = unflatten(net, theta) if not diverged else net
    return SGDResult(final, record)


# ------------------------------------------------------------------------------------------
# Rescaling symmetry
# ------------------------------------------------------------------------------------------
_HOMOGENEOUS = ("identity", "relu", "relu_like")


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
    _layout(net)
    layers = list(net.layers)

    def scales(w_in, b_in, w_out):
        a = np.sqrt(np.sum(w_in**2, axis=1) + b_in**2)
        o = np.sqrt(np.sum(w_out**2, axis=0))
        c = np.ones_like(a)
        ok = (a > 0) & (o > 0)
        c[ok] = np.sqrt(o[ok] / a[ok])
        return c

    for i, layer in enumerate(layers):
        if layer.activation.name not in _HOMOGENEOUS:
            continue
        if isinstance(layer, Residual):
            c = scales(layer.U, layer.b, layer.V)
            layers[i] = Residual(layer.U * c[:, None], layer.b * c, layer.V / c, layer.c, layer.activation)
        elif i + 1 < len(layers) and isinstance(layers[i + 1], Dense):
            nxt = layers[i + 1]
            c = scales(layer.weight, layer.bias, nxt.weight)
            layers[i] = Dense(layer.weight * c[:, None], layer.bias * c, layer.activation)
            layers[i + 1] = Dense(nxt.weight / c, nxt.bias, nxt.activation)
    meta = dict(net.meta)
    meta["rebalanced"] = True
    return Network(layers, meta)


# ------------------------------------------------------------------------------------------
# The Theorem 5.1 experiment
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpsilonRun:
    """One SGD run started at distance ε from θ* (see :func:`near_minimum_experiment`).

    Attributes
    ----------
    eps : float
        ‖ξ⁰‖.
    record : SGDRecord
        The per-epoch record of the run.
    risk0 : float
        R(θ⁰) − R(θ*) (R(θ*) is at the rounding level and is subtracted).
    risk0_over_eps2 : float
        Claim 1: bounded as ε → 0.
    t_star : int or None
        First epoch k with ‖ξ_par‖ < τ‖ξ‖², None if the run ended before.
    contraction : float
        Per-epoch factor of ‖ξ_par‖ over the second half of the epochs before t* (the last
        epoch of the run if t* is None): (‖ξ_par^{end}‖ / ‖ξ_par^{mid}‖)^{1/(end − mid)}. Once
        the fast modes of H have died out this is the slowest rate; claim 2 says ≤ 1 − ηλ.
    initial_contraction : float
        The same over the first half (faster: all modes of H still contribute).
    worst_epoch_ratio : float
        max_k ‖ξ_par^{k+1}‖ / ‖ξ_par^k‖ over the epochs before t*.
    growth_ratio : float
        max_k (‖ξ^{k+1}‖ − ‖ξ^k‖) / (ηλ‖ξ_par^k‖) over the epochs before t*, with the
        first-order ηλ = 1 − predicted_factor; claim 2 bounds it by 1 (with the paper's λ).
    max_xi_ratio : float
        max ‖ξ‖ / ‖ξ⁰‖ over epochs 0..t* (claim 3: ≤ 2); over the whole run if t* is None.
    max_xi_ratio_run : float
        The same over the whole run (the theorem claims nothing after t*).
    risk_t_star : float
        R(θ^{t*}) − R(θ*) (NaN when t* is None).
    risk_t_star_over_eps4 : float
        Claim 3: bounded as ε → 0 (NaN when t* is None).
    pattern_kept : bool
        Activation pattern at the data unchanged from θ* at every epoch up to t* (or the end; otherwise ε
        is outside the ball where the theorem applies).
    pattern_kept_run : bool
        The same over the whole run.
    final_risk : float
        R after the last epoch.
    """

    eps: float
    record: SGDRecord
    risk0: float
    risk0_over_eps2: float
    t_star: int | None
    contraction: float
    initial_contraction: float
    worst_epoch_ratio: float
    growth_ratio: float
    max_xi_ratio: float
    max_xi_ratio_run: float
    risk_t_star: float
    risk_t_star_over_eps4: float
    pattern_kept: bool
    pattern_kept_run: bool
    final_risk: float


@dataclass(frozen=True)
class NearMinimumResult:
    """Everything :func:`near_minimum_experiment` computed.

    Attributes
    ----------
    network : Network
        θ*, the memorizing global minimum (after :func:`rebalance` if asked).
    X, y : numpy.ndarray
        The data (N, d) and targets (N, k).
    num_params : int
        P.
    rank : int
        dim span{ν_i} (≤ N·k).
    lam_max, lam_min : float
        Largest and smallest positive eigenvalue of H = Σ_i ℓ″(f_θ*(x_i); y_i) ν_i ν_iᵀ.
    lr : float
        η.
    batch_size, steps_per_epoch : int
    predicted_factor : float
        1 − ηλ with the first-order λ = λ_min⁺(H)/B: one epoch of SGD multiplies ξ_par by
        Id − (η/B)H + O(η²) on span{ν_i}.
    tau : float
        τ in the stopping condition ‖ξ_par‖ < τ‖ξ‖².
    kink_margin : float
        Smallest |pre-activation − kink| at the data at θ* (> 0: R differentiable at θ*).
    max_loss_grad : float
        max_i |ℓ′(f_θ*(x_i); y_i)| (0 up to rounding at a memorizing minimum).
    runs : tuple of EpsilonRun
        One per ε, in the order given.
    """

    network: Network
    X: np.ndarray
    y: np.ndarray
    num_params: int
    rank: int
    lam_max: float
    lam_min: float
    lr: float
    batch_size: int
    steps_per_epoch: int
    predicted_factor: float
    tau: float
    kink_margin: float
    max_loss_grad: float
    runs: tuple = field(default_factory=tuple)

    def table(self) -> str:
        """The per-ε results as a Markdown table."""
        head = (
            "| ε | R(θ⁰) | R(θ⁰)/ε² | ‖ξ_par‖ factor/epoch (2nd half to t*) | 1 − ηλ | max‖ξ‖/‖ξ⁰‖ to t* | t* (epochs) "
            "| R(t*) | R(t*)/ε⁴ | pattern kept to t* | final R |\n|---|---|---|---|---|---|---|---|---|---|---|"
        )
        rows = []
        for r in self.runs:
            ts = "–" if r.t_star is None else str(r.t_star)
            rows.append(
                f"| {r.eps:.0e} | {r.risk0:.2e} | {r.risk0_over_eps2:.3g} | {r.contraction:.5f} | "
                f"{self.predicted_factor:.5f} | {r.max_xi_ratio:.3f} | {ts} | {r.risk_t_star:.2e} | "
                f"{r.risk_t_star_over_eps4:.3g} | {'yes' if r.pattern_kept else 'no'} | {r.final_risk:.1e} |"
            )
        return "\n".join([head] + rows)


def _default_batch(n: int) -> int:
    # E = N/B = 4 batches per epoch when 4 divides N, else the largest divisor ≤ N/4 (or 1).
    for b in range(max(1, n // 4), 0, -1):
        if n % b == 0:
            return b
    return 1


def _summarise(eps, rec: SGDRecord, r_star: float, tau: float, eta_lam: float) -> EpsilonRun:
    xi, par = rec.xi_norm, rec.xi_par_norm
    fails = np.nonzero(par < tau * xi**2)[0]
    t_star = int(fails[0]) if fails.size else None
    end = t_star if t_star is not None else len(rec) - 1
    if end >= 2:
        mid = end // 2
        contraction = float((par[end] / par[mid]) ** (1.0 / (end - mid)))
        initial = float((par[mid] / par[0]) ** (1.0 / mid))
        worst = float(np.max(par[1 : end + 1] / par[:end]))
        growth = float(np.max(np.diff(xi[: end + 1]) / (eta_lam * par[:end])))
    else:
        contraction = initial = worst = growth = float("nan")
    # Without t* inside the run there is no R(t*) to report.
    risk_t = float(rec.risk[t_star] - r_star) if t_star is not None else float("nan")
    return EpsilonRun(
        eps=float(eps),
        record=rec,
        risk0=float(rec.risk[0] - r_star),
        risk0_over_eps2=float((rec.risk[0] - r_star) / eps**2),
        t_star=t_star,
        contraction=contraction,
        initial_contraction=initial,
        worst_epoch_ratio=worst,
        growth_ratio=growth,
        max_xi_ratio=float(np.max(xi[: end + 1]) / xi[0]),
        max_xi_ratio_run=float(np.max(xi) / xi[0]),
        risk_t_star=risk_t,
        risk_t_star_over_eps4=risk_t / eps**4,
        pattern_kept=bool(np.all(rec.pattern_kept[: end + 1])),
        pattern_kept_run=bool(np.all(rec.pattern_kept)),
        final_risk=float(rec.risk[-1]),
    )


def near_minimum_experiment(
    net: Network | None = None,
    X=None,
    y=None,
    *,
    epsilons: Sequence[float] = (3e-2, 1e-2, 3e-3, 1e-3),
    epochs: int = 8000,
    batch_size: int | None = None,
    lr: float | None = None,
    lr_factor: float = 0.5,
    tau: float = 1.0,
    loss: Loss = squared_loss,
    order: Literal["shuffle", "fixed"] = "shuffle",
    balance: bool | None = None,
    n_points: int = 8,
    dim: int = 2,
    theta: float = 0.25,
    rtol: float = 1e-9,
    fit_tol: float = 1e-6,
    rng=None,
) -> NearMinimumResult:
    """Run SGD from random perturbations of a memorizing global minimum (Yun et al. Thm 5.1).

    For every ε: θ⁰ = θ* + ε·u with one random unit direction u, then ``epochs`` epochs of
    :func:`sgd`; the result reports the theorem's three claims per ε (see :class:`EpsilonRun`).

    Parameters
    ----------
    net : Network, optional
        θ*: any float64 network that memorizes ``(X, y)`` with R differentiable at θ* (no
        pre-activation at the data on a kink). Default: ``zhang2017(X, y, theta=theta)`` on
        ``n_points`` random points in ``dim`` dimensions with labels U(−1, 1).
    X, y : array_like, optional
        The data ``net`` memorizes (required with ``net``; generated otherwise).
    epsilons : sequence of float
        Perturbation sizes ‖ξ⁰‖.
    epochs : int
        Epochs per run.
    batch_size : int, optional
        B, dividing N. Default: N/4 when 4 divides N (E = 4 steps per epoch).
    lr : float, optional
        η. Default ``lr_factor · B / λ_max(H)`` (η ≤ 2B/λ_max keeps the linearised epoch map
        stable; the theorem asks η < γ of that order).
    tau : float, default 1
        τ in the condition ‖ξ_par‖ ≥ τ‖ξ‖²; t* is the first epoch where it fails.
    loss : Loss, default :data:`squared_loss`
    order : {"shuffle", "fixed"}, default "shuffle"
    balance : bool, optional
        Apply :func:`rebalance` to θ* first (same function and memorization, better
        conditioned H). Default: True for the generated Zhang memorizer, False for a given
        ``net`` (which is then used as θ* unchanged).
    n_points, dim, theta : int, int, float
        Size of the generated dataset and the kink placement of the default Zhang builder
        (θ > 0 keeps every data point off the kinks; θ = 0 puts them on kinks and is refused
        here because R is then not differentiable at θ*).
    rtol : float, default 1e-9
        Eigenvalues of H below ``rtol · λ_max`` count as zero (rounding noise).
    fit_tol : float, default 1e-6
        θ* must satisfy max_i |ℓ′(f(x_i); y_i)| ≤ fit_tol (a memorizing global minimum).
    rng : None, int or numpy.random.Generator
        Seeds data, direction and partitions (``None`` means seed 0).

    Returns
    -------
    NearMinimumResult

    Notes
    -----
    Theorem 5.1 (Yun, Sra, Jadbabaie 2019). Let θ* be a memorizing global minimum
    (ℓ′(f_θ*(x_i); y_i) = 0 for all i) of R with ℓ strictly convex and C³, R differentiable at
    θ*, and ν_i = ∇_θ f_θ*(x_i). Split ξ = θ − θ* = ξ_par + ξ_perp with ξ_par ∈ span{ν_i}.
    There are ρ, γ, λ, τ > 0 such that if ‖ξ⁰‖ ≤ ρ and η < γ:
    (1) R(θ⁰) − R* = O(‖ξ⁰‖²); (2) every epoch in which ‖ξ_par^t‖ ≥ τ‖ξ^t‖² holds multiplies
    ‖ξ_par‖ by at most 1 − ηλ and lets ‖ξ‖ grow by at most ηλ‖ξ_par‖; (3) at the first t* where
    the condition fails, ‖ξ^{t*}‖ ≤ 2‖ξ⁰‖ and R(θ^{t*}) − R* ≤ C‖ξ⁰‖⁴.
    The paper's constants (its Appendix G) are not reproduced; this experiment checks the
    claims' form: R(θ⁰)/ε² and R(t*)/ε⁴ stay bounded as ε shrinks, ‖ξ_par‖ contracts
    geometrically at a rate comparable to the first-order 1 − ηλ_min⁺(H)/B, and ‖ξ‖ ≤ 2‖ξ⁰‖.
    The condition is checked once per epoch (at t = kE), not at every step.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019, Section 5, Theorem 5.1.

    Examples
    --------
    >>> from memorize.dynamics import near_minimum_experiment
    >>> res = near_minimum_experiment(epsilons=(1e-2, 3e-3), epochs=3000)
    >>> all(run.max_xi_ratio <= 2 for run in res.runs)
    True
    """
    loss = _check_loss(loss)
    gen = as_rng(rng)
    generated = net is None
    if net is None:
        from .constructions.zhang2017 import zhang2017

        if X is None:
            if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
                raise ArgumentError(f"n_points: must be an integer ≥ 2, got {n_points!r}")
            if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
                raise ArgumentError(f"dim: must be a positive integer, got {dim!r}")
            X = gen.standard_normal((int(n_points), int(dim)))
            y = gen.uniform(-1.0, 1.0, int(n_points))
        elif y is None:
            raise ArgumentError("y: required when X is given")
        net = zhang2017(X, y, theta=theta, rng=gen)
    elif X is None or y is None:
        raise ArgumentError("X, y: the data that net memorizes are required when net is given")
    _layout(net)
    Xa, Y = _data(net, X, y)
    if balance is None:
        balance = net.meta.get("method") == "zhang2017" and generated
    if balance:
        net = rebalance(net)
    epsilons = [float(e) for e in np.atleast_1d(np.asarray(epsilons, dtype=np.float64))]
    if not epsilons or not all(np.isfinite(e) and e > 0 for e in epsilons):
        raise ArgumentError(f"epsilons: must be positive finite numbers, got {epsilons}")
    if not (np.isfinite(tau) and tau > 0):
        raise ArgumentError(f"tau: must be positive, got {tau}")
    n = Xa.shape[0]
    B = _default_batch(n) if batch_size is None else batch_size

    margin = kink_margin(net, Xa)
    if not margin > 0:
        raise AssumptionError(
            "net: a pre-activation at the data sits exactly on a kink, so R is not differentiable at θ* and "
            "Theorem 5.1 does not apply (for zhang2017 use theta > 0)"
        )
    out = net(Xa)
    lg = np.abs(loss.grad(out, Y))
    if not np.max(lg) <= fit_tol:
        bad = np.nonzero(np.max(lg, axis=1) > fit_tol)[0]
        raise AssumptionError(
            f"net: not a memorizing global minimum: |ℓ′(f(x_i); y_i)| > fit_tol = {fit_tol} at points "
            f"{format_indices(bad)} (max {np.max(lg):.3e})"
        )
    r_star = float(np.sum(loss.value(out, Y)) / n)

    # H = Jᵀ diag(ℓ″) J has the nonzero spectrum of S J Jᵀ S with S = diag(√ℓ″) (size N·k).
    J = per_example_gradients(net, Xa)
    curv = loss.hess(out, Y).ravel()
    if not np.all(curv > 0):
        raise AssumptionError("loss: ℓ″ must be positive at θ* (Theorem 5.1 needs a strictly convex loss)")
    SJ = np.sqrt(curv)[:, None] * J
    eig = np.linalg.eigvalsh(SJ @ SJ.T)
    lam_max = float(eig[-1])
    pos = eig[eig > rtol * lam_max]
    lam_min = float(pos[0])
    Q = span_basis(SJ, rtol=float(np.sqrt(rtol)))
    if lr is None:
        if not (np.isfinite(lr_factor) and lr_factor > 0):
            raise ArgumentError(f"lr_factor: must be positive, got {lr_factor}")
        lr = lr_factor * B / lam_max

    theta_star = flatten(net)
    u = gen.standard_normal(theta_star.size)
    u /= np.linalg.norm(u)
    seed = int(gen.integers(2**63))
    runs = []
    for eps in epsilons:
        start = unflatten(net, theta_star + eps * u)
        res = sgd(start, Xa, Y, lr=lr, batch_size=B, epochs=epochs, loss=loss, order=order,
                  rng=np.random.default_rng(seed), reference=net, basis=Q)
        runs.append(_summarise(eps, res.record, r_star, tau, lr * lam_min / B))
    return NearMinimumResult(
        network=net,
        X=_readonly(Xa),
        y=_readonly(Y),
        num_params=int(theta_star.size),
        rank=int(Q.shape[1]),
        lam_max=lam_max,
        lam_min=lam_min,
        lr=float(lr),
        batch_size=int(B),
        steps_per_epoch=n // int(B),
        predicted_factor=float(1.0 - lr * lam_min / B),
        tau=float(tau),
        kink_margin=float(margin),
        max_loss_grad=float(np.max(lg)),
        runs=tuple(runs),
    )
