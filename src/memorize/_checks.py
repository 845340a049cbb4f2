"""Argument checks shared by the size formulas (:mod:`memorize.bounds`, :mod:`memorize.pieces`,
:mod:`memorize.planner`), so that each argument is checked by one rule and one message.

Each check returns the value converted (a Python ``int`` or ``float``) or raises
:class:`~memorize.errors.ArgumentTypeError` (wrong type) / :class:`~memorize.errors.ArgumentError`
(out of range).
"""

from __future__ import annotations

from .errors import ArgumentError, ArgumentTypeError

__all__ = ["check_int", "check_widths", "check_pieces_per_unit", "check_delta"]


def check_int(name: str, v, lo: int) -> int:
    """``v`` as an ``int`` ≥ ``lo``; anything with ``__index__`` counts (NumPy integers), bools do not.

    Examples
    --------
    >>> import numpy as np
    >>> check_int("n", np.int64(3), 1)
    3
    """
    if isinstance(v, bool) or not isinstance(v, int) and not hasattr(v, "__index__"):
        raise ArgumentTypeError(f"{name}: expected an integer, got {type(v).__name__}")
    v = int(v)
    if v < lo:
        raise ArgumentError(f"{name}: expected an integer ≥ {lo}, got {v}")
    return v


def check_widths(widths) -> tuple[int, ...]:
    """Hidden widths as a tuple of positive ``int``.

    Examples
    --------
    >>> check_widths([3, 4])
    (3, 4)
    """
    try:
        ws = tuple(widths)
    except TypeError:
        raise ArgumentTypeError(f"widths: expected a sequence of positive integers, got {widths!r}") from None
    return tuple(check_int("widths", w, 1) for w in ws)


def check_pieces_per_unit(p) -> int:
    """p, the number of linear pieces of a hidden unit's activation: an integer ≥ 2.

    Every piecewise-linear activation that is not affine has at least two pieces (2 for
    ReLU-like and step, 3 for hard-tanh); the counts of Yun et al.'s Theorem 3.3 and the VC
    bounds divide by or take logarithms of p − 1, so p = 1 (an affine unit) is refused.
    """
    return check_int("pieces_per_unit", p, 2)


def check_delta(delta) -> float:
    """δ, the separation of points in the unit ball, as a float in (0, 2]."""
    try:
        d = float(delta)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"delta: expected a number in (0, 2], got {delta!r}") from None
    if not (0 < d <= 2):
        raise ArgumentError(f"delta: the separation of points in the unit ball lies in (0, 2], got {delta!r}")
    return d
