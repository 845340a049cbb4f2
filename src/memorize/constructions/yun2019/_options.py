"""Option checking shared by the Yun et al. 2019 fully connected builders (Thm 3.1, Props 3.2, 3.4).

Activation, widths, the core's options (``strategy``, ``eta``, ``mu``, ``n_directions``,
``n_trials``), the output gain V and parameter counts. Private: the builders are in
``two_hidden.py``, ``classifier.py`` and ``deep.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..._arith import Arithmetic, arithmetic
from ...activations import Activation, get_activation
from ...data import Dataset, format_indices, prepare
from ...errors import ArgumentError, ArgumentTypeError, LabelError
from . import _core

REF = (
    "C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis of "
    "memorization capacity. NeurIPS 2019."
)


def check_activation(activation) -> Activation:
    """Hard-tanh or a ReLU-like activation (the only ones the theorems cover)."""
    act = get_activation(activation)
    if act.name != "hardtanh" and not act.is_relu_like:
        raise ArgumentError(
            f"activation: expected 'relu', 'hardtanh' or memorize.relu_like(s_plus, s_minus), got {act!r}"
        )
    return act


def factor(act: Activation) -> int:
    """Hidden units per hard-tanh core unit: 1 for hard-tanh, 2 for ReLU-like."""
    return 1 if act.name == "hardtanh" else 2


def check_widths(widths, count: int, name="widths") -> tuple[int, ...]:
    """``count`` positive integer hidden widths."""
    if isinstance(widths, (int, np.integer)) or widths is None:
        raise ArgumentTypeError(f"{name}: expected a sequence of {count} hidden widths, got {widths!r}")
    w = tuple(widths)
    if len(w) != count:
        raise ArgumentError(f"{name}: expected {count} hidden widths, got {len(w)} ({w})")
    for x in w:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
            raise ArgumentError(f"{name}: hidden widths must be positive integers, got {w}")
    return tuple(int(x) for x in w)


def balanced_pair(n: int, per1: int, per2: int) -> tuple:
    """The smallest d with 4⌊d/per1⌋⌊d/per2⌋ ≥ n: the papers' balanced choice d1 = d2."""
    d = max(per1, per2, math.isqrt(max(1, n * per1 * per2 // 4)) - per1 - per2)
    while 4 * (d // per1) * (d // per2) < n:
        d += 1
    return d, d


def num_params(dims) -> int:
    """Weights and biases of a fully connected network with layer sizes ``dims``."""
    return int(sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(len(dims) - 1)))


def check_common(ar: Arithmetic, mu, eta, strategy, n_directions) -> tuple[int, object]:
    """The core's options checked; returns ``n_directions`` (default 16) and μ in ``ar``."""
    if strategy != "auto" and strategy not in _core.STRATEGIES:
        raise ArgumentError(f"strategy: expected 'auto' or one of {_core.STRATEGIES}, got {strategy!r}")
    if not (0 < float(eta) < 1):
        raise ArgumentError(f"eta: the ramp ends must lie strictly inside the gaps, 0 < eta < 1; got {eta}")
    if not (float(mu) > 0):
        raise ArgumentError(f"mu: the saturation margin must be positive, got {mu}")
    if n_directions is None:
        n_directions = 16
    if isinstance(n_directions, bool) or not isinstance(n_directions, (int, np.integer)) or n_directions < 1:
        raise ArgumentError(f"n_directions: expected a positive integer, got {n_directions!r}")
    return int(n_directions), ar.rational(mu, 1 << 20)


def output_gain(ar: Arithmetic, data: Dataset, rescale: bool, theorem: str):
    """The core's output gain V = 2·max(1, max|y|) with ``rescale``, else 2 (in ``ar``).

    The theorems assume labels in [−1, 1] (V = 2); larger labels are refused unless the user asks
    for ``rescale``, which scales the output layer instead of the labels.
    """
    ymax = float(np.max(np.abs(data.Y)))
    if ymax > 1 and not rescale:
        bad = np.nonzero(np.any(np.abs(data.Y) > 1, axis=1))[0]
        raise LabelError(
            f"y: {theorem} needs labels in [-1, 1]; rows {format_indices(data.index[bad])} are outside "
            "(pass rescale=True to scale the output layer by max|y|)"
        )
    return 2 * max(ar.const(1), ar.max(np.abs(ar.array(data.Y)))) if rescale else ar.const(2)


@dataclass(frozen=True)
class RegressionInputs:
    """The checked inputs of a regression builder (Theorem 3.1, Proposition 3.4)."""

    act: Activation
    data: Dataset
    ar: Arithmetic
    n_dir: int
    mu: object  # μ in ``ar``
    V: object  # the output gain in ``ar``
    ymax: float


def regression_inputs(X, y, *, activation, exact: bool, mu, eta, strategy, n_directions, rescale: bool,
                      theorem: str, stream: bool = False) -> RegressionInputs:
    """Activation, data, arithmetic, the core's options and the output gain V, checked in this order.

    ``stream``: large ``X`` stays a chunked :class:`memorize.rows.Rows` (see :func:`memorize.data.prepare`)."""
    act = check_activation(activation)
    data = prepare(X, y, task="regression", stream=stream)
    ar = arithmetic(exact)
    n_dir, mu_x = check_common(ar, mu, eta, strategy, n_directions)
    V = output_gain(ar, data, rescale, theorem)
    return RegressionInputs(act, data, ar, n_dir, mu_x, V, float(np.max(np.abs(data.Y))))


def n_trials_of(n_trials, n: int, n_dir: int) -> int:
    """Directions whose zig-zags are fitted to compare predicted errors (default: all drawn).

    The predicted error varies about tenfold between random directions (heavy tail), and a fit
    costs about one sort of the data, so trying all 16 is the cheapest precision there is."""
    if n_trials is None:
        n_trials = n_dir
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ArgumentError(f"n_trials: expected a positive integer, got {n_trials!r}")
    return int(min(n_trials, n_dir))
