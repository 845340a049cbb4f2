"""Losses for the risk R(θ) = (1/N) Σ_i Σ_k ℓ(f_θ(x_i)_k; y_ik), with their derivatives in f."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import ArgumentTypeError

__all__ = ["Loss", "squared_loss", "log_cosh_loss"]


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


def check_loss(loss) -> Loss:
    """``loss`` if it is a :class:`Loss`, else an ``ArgumentTypeError`` naming what was given."""
    if not isinstance(loss, Loss):
        raise ArgumentTypeError(
            f"loss: expected a memorize.dynamics.Loss (value, grad, hess), got {type(loss).__name__}"
        )
    return loss
