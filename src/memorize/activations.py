"""Activation functions as plain values.

An :class:`Activation` is a name plus, for the ReLU-like family, its two slopes. A reader can
evaluate it without the library:

========== =========================================== =================
name       σ(t)                                         slopes
========== =========================================== =================
identity   t                                            ()
relu       max(t, 0)                                    (1, 0)
relu_like  s₊·t for t ≥ 0, s₋·t for t < 0 (s₊ > s₋ ≥ 0) (s₊, s₋)
hardtanh   min(max(t, −1), 1)                           ()
step       1 if t ≥ 0 else 0                            ()
========== =========================================== =================

Every activation evaluates both float64 arrays and exact (object) arrays; on exact arrays the
slopes are converted losslessly to fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._exact import exact_scalar
from .errors import ArgumentError

__all__ = ["Activation", "identity", "relu", "relu_like", "hardtanh", "step", "get_activation"]

_NAMES = ("identity", "relu", "relu_like", "hardtanh", "step")


@dataclass(frozen=True)
class Activation:
    """An elementwise activation function.

    Parameters
    ----------
    name : {"identity", "relu", "relu_like", "hardtanh", "step"}
    slopes : tuple
        ``(s_plus, s_minus)`` for ``relu_like`` (``relu`` is ``(1, 0)``); empty otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize import relu_like
    >>> relu_like(1.0, 0.5)(np.array([-2.0, 3.0]))
    array([-1.,  3.])
    """

    name: str
    slopes: tuple = ()

    def __post_init__(self):
        if self.name not in _NAMES:
            raise ArgumentError(f"activation: unknown name {self.name!r}; expected one of {_NAMES}")
        if self.name == "relu_like":
            if len(self.slopes) != 2:
                raise ArgumentError("activation: relu_like needs slopes (s_plus, s_minus)")
            sp, sm = (exact_scalar(s) for s in self.slopes)
            if not (sp > sm >= 0):
                raise ArgumentError(
                    f"activation: relu_like needs s_plus > s_minus >= 0, got {self.slopes}"
                )
        elif self.name == "relu":
            object.__setattr__(self, "slopes", (1, 0))
        elif self.slopes:
            raise ArgumentError(f"activation: {self.name} takes no slopes")

    @property
    def is_relu_like(self) -> bool:
        """True for relu and relu_like (piecewise linear with one kink at 0)."""
        return self.name in ("relu", "relu_like")

    @property
    def num_pieces(self) -> int:
        """Number of linear pieces (step counts its two constant pieces)."""
        return {"identity": 1, "relu": 2, "relu_like": 2, "hardtanh": 3, "step": 2}[self.name]

    def __call__(self, t: np.ndarray) -> np.ndarray:
        exact = isinstance(t, np.ndarray) and t.dtype == object
        if self.name == "identity":
            return t
        if self.name == "relu":
            return np.where(t > 0, t, 0) if exact else np.maximum(t, 0.0)
        if self.name == "relu_like":
            if exact:
                sp, sm = (exact_scalar(s) for s in self.slopes)
                return np.where(t >= 0, t * sp, t * sm)
            sp, sm = float(self.slopes[0]), float(self.slopes[1])
            return np.where(t >= 0, t * sp, t * sm)
        if self.name == "hardtanh":
            if exact:
                return np.where(t > 1, 1, np.where(t < -1, -1, t))
            return np.clip(t, -1.0, 1.0)
        # step: the threshold unit 1[t >= 0]
        if exact:
            return np.where(t >= 0, 1, 0).astype(object)
        return (t >= 0).astype(np.float64)

    def apply_(self, t: np.ndarray) -> np.ndarray:
        """Apply in place to a float64 array the caller owns (saves a pass over memory)."""
        if t.dtype == object:
            return self(t)
        if self.name == "relu":
            return np.maximum(t, 0.0, out=t)
        if self.name == "hardtanh":
            return np.clip(t, -1.0, 1.0, out=t)
        if self.name == "identity":
            return t
        return self(t)

    def derivative(self, t: np.ndarray) -> np.ndarray:
        """σ'(t) for float arrays (right derivative at kinks); step has none."""
        if self.name == "identity":
            return np.ones_like(t)
        if self.name == "relu":
            return (t > 0).astype(t.dtype)
        if self.name == "relu_like":
            return np.where(t >= 0, float(self.slopes[0]), float(self.slopes[1]))
        if self.name == "hardtanh":
            return ((t > -1) & (t < 1)).astype(t.dtype)
        raise ArgumentError("activation: step has no derivative")

    def to_json(self) -> dict:
        """A JSON-safe description (slopes as exact fraction strings)."""
        return {"name": self.name, "slopes": [str(Fraction(exact_scalar(s))) for s in self.slopes]}

    @classmethod
    def from_json(cls, obj: dict) -> "Activation":
        slopes = tuple(exact_scalar(Fraction(s)) for s in obj.get("slopes", []))
        name = obj["name"]
        if name == "relu":
            slopes = ()
        return cls(name, slopes)

    def __repr__(self) -> str:
        if self.name == "relu_like":
            return f"relu_like({self.slopes[0]}, {self.slopes[1]})"
        return self.name


identity = Activation("identity")
relu = Activation("relu")
hardtanh = Activation("hardtanh")
step = Activation("step")


def relu_like(s_plus=1.0, s_minus=0.0) -> Activation:
    """The ReLU-like activation σ_R of Yun et al.: slope s₊ for t ≥ 0, s₋ for t < 0.

    ``relu_like(1, 0)`` is plain ReLU; ``relu_like(1, 0.01)`` is the usual leaky ReLU.
    """
    if exact_scalar(s_plus) == 1 and exact_scalar(s_minus) == 0:
        return relu
    return Activation("relu_like", (s_plus, s_minus))


def get_activation(a) -> Activation:
    """Accept an :class:`Activation` or one of the names; raise a clear error otherwise."""
    if isinstance(a, Activation):
        return a
    if isinstance(a, str):
        if a == "relu_like":
            raise ArgumentError("activation: 'relu_like' needs slopes; use memorize.relu_like(s_plus, s_minus)")
        if a in ("identity", "relu", "hardtanh", "step"):
            return Activation(a)
        if a == "leaky_relu":
            return relu_like(1.0, 0.01)
    raise ArgumentError(
        f"activation: expected an Activation or one of 'identity', 'relu', 'hardtanh', 'step', "
        f"'leaky_relu', got {a!r}"
    )
