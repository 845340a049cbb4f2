"""The risk and its gradients at a network: R(θ), ∇R(θ), the per-example gradients ν_i = ∇_θ f_θ(x_i)
and their span, and where the data sit relative to the kinks (the activation pattern)."""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, ShapeError
from ..network import Network
from ._passes import KINKS, as_data, backward, backward_rows, forward, layout, pattern, preactivations, views
from .losses import Loss, check_loss, squared_loss
from .params import flatten

__all__ = [
    "DEFAULT_MAX_BYTES",
    "risk",
    "risk_gradient",
    "per_example_gradients",
    "span_basis",
    "span_projector",
    "activation_pattern",
    "kink_margin",
]

#: Default bound on the memory of a dense N × P gradient matrix or P × P projector (256 MB).
DEFAULT_MAX_BYTES = 256 * 2**20


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
    loss = check_loss(loss)
    Xa, Y = as_data(net, X, y)
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
    loss = check_loss(loss)
    slots, p = layout(net)
    Xa, Y = as_data(net, X, y)
    params = views(slots, flatten(net))
    out, cache = forward(slots, params, Xa)
    n = Xa.shape[0]
    g = np.empty(p)
    backward(slots, params, cache, loss.grad(out, Y) / n, g)
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
    slots, p = layout(net)
    Xa, _ = as_data(net, X)
    n, k = Xa.shape[0], net.output_dim
    need = 8 * n * k * p
    if need > max_bytes:
        raise ArgumentError(
            f"max_bytes: the gradient matrix has N·k·P = {n}·{k}·{p} entries ({need / 2**20:.1f} MB), more than "
            f"max_bytes = {max_bytes / 2**20:.1f} MB; pass fewer points or a larger max_bytes"
        )
    params = views(slots, flatten(net))
    _, cache = forward(slots, params, Xa)
    J = np.empty((n, k, p))
    for j in range(k):
        G = np.zeros((n, k))
        G[:, j] = 1.0
        backward_rows(slots, params, cache, G, J[:, j, :])
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


def activation_pattern(net: Network, X) -> np.ndarray:
    """The linear piece every pre-activation at the data sits on, as one flat int8 vector.

    Piece 0 is left of the first kink (relu: a ≤ 0; hardtanh: a ≤ −1), piece 1 the next, ...;
    identity layers contribute nothing. Two parameter vectors with equal patterns at X give a
    network that is the same polynomial in θ at every x_i (the setting of Theorem 5.1).
    """
    slots, _ = layout(net)
    Xa, _ = as_data(net, X)
    return pattern(preactivations(slots, views(slots, flatten(net)), Xa))


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
    slots, _ = layout(net)
    Xa, _ = as_data(net, X)
    best = np.inf
    for act, a in preactivations(slots, views(slots, flatten(net)), Xa):
        if a.size:
            best = min(best, float(np.min(np.abs(a[..., None] - KINKS[act.name]))))
    return best
