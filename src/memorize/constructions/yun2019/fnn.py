"""Yun, Sra, Jadbabaie 2019, §3: fully connected memorizers with Θ(√N) hidden units.

* :func:`yun2019_two_hidden` — Theorem 3.1: two hidden layers, labels in [−1, 1]^{d_y},
  ReLU-like widths with 4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N (hard-tanh: 4⌊d1/2⌋⌊d2/(2d_y)⌋ ≥ N).
* :func:`yun2019_classifier` — Proposition 3.2: three hidden layers, one-hot output,
  4⌊d1/4⌋⌊d2/4⌋ ≥ N and d3 ≥ 4d_y (hard-tanh: halves).
* :func:`yun2019_deep` — Proposition 3.4: deeper and/or narrower networks built from pairs of
  adjacent layers with carrier nodes between them.

Every network is built in hard-tanh (the paper's core) and, for ReLU-like activations,
rewritten unit by unit with :func:`memorize.rewrite.hardtanh_to_relu`; layer 2 is fitted to
the values that the float64 layer 1 *in the target activation* computes.
"""

from __future__ import annotations

import math

import copy
from fractions import Fraction

import numpy as np

from ... import _exact
from ...activations import Activation, get_activation, hardtanh, identity
from ...data import Dataset, as_rng, format_indices, prepare
from ...errors import ArgumentError, ArgumentTypeError, CapacityError, ConstructionError, LabelError
from ...network import Dense, Network
from ...registry import Architecture, PaperSize, register
from ...verify import check_self
from . import _build, _core, _deep

__all__ = [
    "yun2019_two_hidden",
    "yun2019_classifier",
    "yun2019_deep",
    "two_hidden_architecture",
    "classifier_architecture",
    "deep_architecture",
    "two_hidden_condition",
    "classifier_condition",
]

_REF = (
    "C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis of "
    "memorization capacity. NeurIPS 2019."
)


# --------------------------------------------------------------------------------------------
# options and width conditions
# --------------------------------------------------------------------------------------------
def _activation(activation) -> Activation:
    act = get_activation(activation)
    if act.name != "hardtanh" and not act.is_relu_like:
        raise ArgumentError(
            f"activation: expected 'relu', 'hardtanh' or memorize.relu_like(s_plus, s_minus), got {act!r}"
        )
    return act


def _factor(act: Activation) -> int:
    """Hidden units per hard-tanh core unit: 1 for hard-tanh, 2 for ReLU-like."""
    return 1 if act.name == "hardtanh" else 2


def two_hidden_condition(d1: int, d2: int, n: int, dy: int, activation="relu") -> bool:
    """Theorem 3.1's width condition (hard-tanh or ReLU-like)."""
    f = _factor(_activation(activation))
    return 4 * (d1 // (2 * f)) * (d2 // (2 * f * dy)) >= n


def classifier_condition(d1: int, d2: int, d3: int, n: int, classes: int, activation="relu") -> bool:
    """Proposition 3.2's width condition (hard-tanh or ReLU-like)."""
    f = _factor(_activation(activation))
    return 4 * (d1 // (2 * f)) * (d2 // (2 * f)) >= n and d3 >= 2 * f * classes


def _default_two_hidden(n: int, dy: int, f: int) -> tuple[int, int]:
    a, b = _core.smallest_pair(n, 2 * f, 2 * f * dy)
    return 2 * f * a, 2 * f * dy * b


def _check_widths(widths, count: int, name="widths") -> tuple[int, ...]:
    if isinstance(widths, (int, np.integer)) or widths is None:
        raise ArgumentTypeError(f"{name}: expected a sequence of {count} hidden widths, got {widths!r}")
    w = tuple(widths)
    if len(w) != count:
        raise ArgumentError(f"{name}: expected {count} hidden widths, got {len(w)} ({w})")
    for x in w:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
            raise ArgumentError(f"{name}: hidden widths must be positive integers, got {w}")
    return tuple(int(x) for x in w)


def _two_hidden_widths(n: int, dy: int, act: Activation, widths) -> tuple[int, int]:
    f = _factor(act)
    if widths is None:
        return _default_two_hidden(n, dy, f)
    d1, d2 = _check_widths(widths, 2)
    if not two_hidden_condition(d1, d2, n, dy, act):
        cond = (
            "4⌊d1/2⌋⌊d2/(2·d_y)⌋ ≥ N" if f == 1 else "4⌊d1/4⌋⌊d2/(4·d_y)⌋ ≥ N"
        )
        raise CapacityError(
            f"widths: {act!r} widths ({d1}, {d2}) fail Theorem 3.1's condition {cond} for N = {n}, "
            f"d_y = {dy} (they give {4 * (d1 // (2 * f)) * (d2 // (2 * f * dy))}); the smallest valid widths "
            f"are {_default_two_hidden(n, dy, f)}"
        )
    return d1, d2


def _classifier_widths(n: int, C: int, act: Activation, widths) -> tuple[int, int, int]:
    f = _factor(act)
    a, b = _core.smallest_pair(n, 2 * f, 2 * f)
    smallest = (2 * f * a, 2 * f * b, 2 * f * C)
    if widths is None:
        return smallest
    d1, d2, d3 = _check_widths(widths, 3)
    if not classifier_condition(d1, d2, d3, n, C, act):
        cond = "4⌊d1/2⌋⌊d2/2⌋ ≥ N and d3 ≥ 2·d_y" if f == 1 else "4⌊d1/4⌋⌊d2/4⌋ ≥ N and d3 ≥ 4·d_y"
        raise CapacityError(
            f"widths: {act!r} widths ({d1}, {d2}, {d3}) fail Proposition 3.2's condition {cond} for N = {n}, "
            f"d_y = {C} classes; the smallest valid widths are {smallest}"
        )
    return d1, d2, d3


def _balanced_pair(n: int, per1: int, per2: int) -> tuple:
    """The smallest d with 4⌊d/per1⌋⌊d/per2⌋ ≥ n: the papers' balanced choice d1 = d2."""
    d = max(per1, per2, math.isqrt(max(1, n * per1 * per2 // 4)) - per1 - per2)
    while 4 * (d // per1) * (d // per2) < n:
        d += 1
    return d, d


def two_hidden_paper_size(n: int, dx: int, dy: int = 1, activation="relu", **_options) -> PaperSize:
    """Theorem 3.1's statement with d1 = d2: 4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N (ReLU-like; halves for hard-tanh)."""
    per = 2 if activation == "hardtanh" else 4
    d1, d2 = _balanced_pair(n, per, per * dy)
    return PaperSize((d1, d2), d1 + d2, f"4⌊d1/{per}⌋⌊d2/({per}d_y)⌋ ≥ N, d1 = d2 (Thm 3.1)")


def classifier_paper_size(n: int, dx: int, dy: int = 2, activation="relu", **_options) -> PaperSize:
    """Proposition 3.2's statement with d1 = d2: 4⌊d1/4⌋⌊d2/4⌋ ≥ N, d3 = 4d_y (ReLU-like)."""
    per = 2 if activation == "hardtanh" else 4
    d1, d2 = _balanced_pair(n, per, per)
    d3 = per * dy
    return PaperSize((d1, d2, d3), d1 + d2 + d3,
                     f"{4}⌊d1/{per}⌋⌊d2/{per}⌋ ≥ N, d3 = {d3 // dy}d_y, d1 = d2 (Prop 3.2)")


def _params(dims) -> int:
    return int(sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(len(dims) - 1)))


def two_hidden_architecture(n: int, dx: int, dy: int = 1, *, widths=None, activation="relu", **_options) -> Architecture:
    """The network :func:`yun2019_two_hidden` builds for ``n`` distinct points."""
    act = _activation(activation)
    d1, d2 = _two_hidden_widths(n, dy, act, widths)
    return Architecture(
        "yun2019_two_hidden", dx, (d1, d2), dy, _params([dx, d1, d2, dy]), activation=act.name,
        notes="Theorem 3.1: " + ("4⌊d1/2⌋⌊d2/(2d_y)⌋ ≥ N" if act.name == "hardtanh" else "4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N"),
    )


def classifier_architecture(n: int, dx: int, dy: int = 2, *, widths=None, activation="relu", **_options) -> Architecture:
    """The network :func:`yun2019_classifier` builds for ``n`` distinct points in ``dy`` classes."""
    act = _activation(activation)
    d1, d2, d3 = _classifier_widths(n, dy, act, widths)
    return Architecture(
        "yun2019_classifier", dx, (d1, d2, d3), dy, _params([dx, d1, d2, d3, dy]), activation=act.name,
        notes="Proposition 3.2: " + (
            "4⌊d1/2⌋⌊d2/2⌋ ≥ N, d3 ≥ 2d_y" if act.name == "hardtanh" else "4⌊d1/4⌋⌊d2/4⌋ ≥ N, d3 ≥ 4d_y"
        ),
    )


def _common(V_default, mu, eta, strategy, n_directions, n, exact):
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
    mu_x = _exact.exact_scalar(Fraction(mu).limit_denominator(1 << 20)) if exact else float(mu)
    return int(n_directions), mu_x


def _output_gain(data: Dataset, rescale: bool, exact: bool, theorem: str):
    """The core's output gain V = 2·max(1, max|y|) (exact in exact mode).

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
    if exact:
        return 2 * (max([1] + [abs(v) for v in _exact.to_exact_array(data.Y).flat]) if rescale else 1)
    return 2.0 * max(1.0, ymax) if rescale else 2.0


def _trials(n_trials, n: int, n_dir: int) -> int:
    """Directions whose zig-zags are fitted to compare predicted errors (default: all drawn).

    The predicted error varies about tenfold between random directions (heavy tail), and a fit
    costs about one sort of the data, so trying all 16 is the cheapest precision there is."""
    if n_trials is None:
        n_trials = n_dir
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ArgumentError(f"n_trials: expected a positive integer, got {n_trials!r}")
    return int(min(n_trials, n_dir))


# --------------------------------------------------------------------------------------------
# Theorem 3.1
# --------------------------------------------------------------------------------------------
@register(
    "yun2019_two_hidden",
    summary="Yun et al. 2019, Thm 3.1: two hidden layers, 4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N ReLUs (≈ 2√N-2√N for d_y = 1), labels in [−1, 1].",
    task="regression",
    architecture=two_hidden_architecture,
    reference=_REF,
    aliases=("yun2019_thm31",),
    demo_options={"rescale": True},
    assumptions=("distinct points", "labels in [-1, 1]"),
    paper_size=two_hidden_paper_size,
)
def yun2019_two_hidden(
    X,
    y,
    *,
    widths=None,
    activation="relu",
    rescale: bool = False,
    strategy: str = "auto",
    n_directions: int | None = None,
    n_trials: int | None = None,
    refit: bool = True,
    eta: float = 0.9,
    mu: float = 0.25,
    rng=None,
    exact: bool = False,
) -> Network:
    """Build a two-hidden-layer network that memorizes ``(X, y)`` with ≈ 2√(N·d_y) units per layer.

    Parameters
    ----------
    X : array_like, shape (N, d) or (N,)
        Distinct points (identical points must carry identical labels).
    y : array_like, shape (N,) or (N, d_y)
        Labels in [−1, 1] (Assumption 3.1). Larger labels are refused unless ``rescale=True``.
    widths : (d1, d2), optional
        Hidden widths; checked against Theorem 3.1's condition. Default: the smallest pair
        (least d1 + d2) the condition allows.
    activation : "relu", "hardtanh" or Activation, default "relu"
        ``memorize.relu_like(s_plus, s_minus)`` gives a leaky ReLU network.
    rescale : bool, default False
        Accept labels outside [−1, 1] by scaling the output layer by max|y| (the theorem's labels
        are in [−1, 1]; the float64 error scales with max|y|).
    strategy : {"auto", "match", "balance"}
        How layer-2 nodes take turns owning positions (see Notes); "auto" builds both and keeps
        the one with the smaller cancellation mass.
    n_directions : int, optional
        Random projection directions to draw (default 16); they are ranked by the slopes their
        windows need.
    n_trials : int, optional
        How many of the best-ranked directions get their zig-zags fitted; the one with the
        smallest predicted float64 cancellation is kept. Default: all of them.
    refit : bool, default True
        Fit layer 2 to the positions the float64 layer 1 actually computes (float64 only).
    eta, mu : float
        Ramp ends sit at fraction ``eta`` of the gap to the next window; neighbours of an owned
        point saturate with margin ``mu``.
    rng : None, int or numpy.random.Generator
        Seeds the direction draw (``None`` means seed 0).
    exact : bool, default False
        Build in exact rational arithmetic; ``memorize.verify`` then reports error exactly 0.

    Returns
    -------
    Network
        ``d → d1 → d2 → d_y`` in the chosen activation. ``meta`` holds the direction, the number
        of windows and positions, the ownership strategy, the largest zig-zag level and the
        cancellation mass (a predictor of the float64 error, ≈ 2⁻⁵³·mass·V).

    Notes
    -----
    Theorem 3.1 (Yun, Sra, Jadbabaie 2019): under Assumption 3.1 (distinct x_i, labels in
    [−1, 1]^{d_y}) a hard-tanh network with 4⌊d1/2⌋⌊d2/(2d_y)⌋ ≥ N, or a ReLU-like one with
    4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N, memorizes the data. Recipe (reconstruction, see
    ``docs/yun2019_two_hidden.md``): project on a direction u and sort; layer 1 holds one hard-tanh
    ramp per window of K = 2⌊d2/(2d_y)⌋ consecutive points; layer 2 holds, per output, K
    zig-zag nodes, each owning one position of every window and saturated at every other point;
    the output adds the owner's value to a constant that the alternating team signs make exactly
    V. The ownership order is chosen window by window (``strategy``) so that the zig-zag levels
    stay small: a fixed order makes them grow exponentially. ReLU-like networks are the hard-tanh
    core rewritten with σ_H(t) = [σ_R(t+1) − σ_R(t−1) − s₊ − s₋]/(s₊ − s₋).

    Build time O(N log N + N·d) per direction plus one float64 pass of layer 1 (``refit``).

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019, Theorem 3.1.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((100, 5)), rng.uniform(-1, 1, 100)
    >>> net = memorize.build("yun2019_two_hidden", X, y)
    >>> net.widths
    (20, 20)
    >>> memorize.verify(net, X, y).ok
    True
    """
    act = _activation(activation)
    data: Dataset = prepare(X, y, task="regression")
    n, d = data.X.shape
    k = data.k
    n_dir, mu_x = _common(2, mu, eta, strategy, n_directions, n, exact)
    ymax = float(np.max(np.abs(data.Y)))
    V = _output_gain(data, rescale, exact, "Theorem 3.1")
    d1, d2 = _two_hidden_widths(n, k, act, widths)
    f = _factor(act)
    d1h, d2h = d1 // f, d2 // f
    K = 2 * (d2h // (2 * k))
    core = _build.build_core(
        data.X, data.Y, n_win_max=d1h, K=K, act=act, V=V, mu=mu_x, eta=eta, strategy=strategy,
        n_dir=n_dir, rng=as_rng(rng), exact=exact, refit=refit, final_widths=(d1, d2), d_out=k,
        method="yun2019_two_hidden", n_trials=_trials(n_trials, n, n_dir),
    )
    info = core.info
    values = info.pop("_values")
    tol = 0 if exact else 1e-6 * max(1.0, ymax)
    check_self(values, _exact.to_exact_array(data.Y) if exact else data.Y, tol, method="yun2019_two_hidden", index=data.index)
    meta = {
        "method": "yun2019_two_hidden",
        "activation": act.to_json(),
        "theorem_units": [d1, d2],
        "n_duplicates_merged": data.n_duplicates,
        "rescaled": bool(rescale and ymax > 1),
        **info,
    }
    layers = [
        Dense(core.W1, core.b1, hardtanh),
        Dense(core.W2, core.b2, hardtanh),
        Dense(core.W3, core.b3, identity),
    ]
    return _build.finish(layers, act, (d1, d2), meta)


# --------------------------------------------------------------------------------------------
# Proposition 3.2
# --------------------------------------------------------------------------------------------
def class_codes(C: int, exact: bool, half_range: int = 1):
    """Dyadic class codes ρ_c = (c − (C−1)/2)·Δ in [−h + Δ, h − Δ], Δ the largest power of 2 ≤ 2h/(C+1).

    Dyadic codes and a power-of-two gain M = 4/Δ make every decoder bias an integer, so the
    ReLU decoder's saturated pairs cancel exactly in float64 (see docs/yun2019_classifier.md).
    """
    if C <= 1:
        delta = Fraction(half_range)
    else:
        # (C − 1)Δ/2 ≤ h − Δ: a margin of one spacing to ±h keeps every ReLU decoder bias
        # negative (the exact-cancellation argument below needs it)
        top = Fraction(2 * half_range, C + 1)
        e = 0
        while top < Fraction(2) ** e:
            e -= 1
        while Fraction(2) ** (e + 1) <= top:
            e += 1
        delta = Fraction(2) ** e
    rho = [(Fraction(c) - Fraction(C - 1, 2)) * delta for c in range(C)]
    if exact:
        return [_exact.exact_scalar(r) for r in rho], _exact.exact_scalar(delta)
    return [float(r) for r in rho], float(delta)


@register(
    "yun2019_classifier",
    summary="Yun et al. 2019, Prop 3.2: three hidden layers, 4⌊d1/4⌋⌊d2/4⌋ ≥ N and d3 ≥ 4·classes ReLUs, exact one-hot output (10⁶ points, 10³ classes: 2k-2k-4k).",
    task="classification",
    architecture=classifier_architecture,
    reference=_REF,
    aliases=("yun2019_prop32",),
    assumptions=("distinct points", "one-hot labels"),
    paper_size=classifier_paper_size,
)
def yun2019_classifier(
    X,
    y,
    *,
    widths=None,
    activation="relu",
    classes=None,
    strategy: str = "auto",
    n_directions: int | None = None,
    n_trials: int | None = None,
    refit: bool = True,
    eta: float = 0.9,
    mu: float = 0.25,
    rng=None,
    exact: bool = False,
    require_float64_exact: bool = False,
) -> Network:
    """Build a three-hidden-layer network whose output is the one-hot vector of each point's class.

    Parameters
    ----------
    X : array_like, shape (N, d) or (N,)
        Distinct points.
    y : array_like
        Class labels (N,) (integers, strings, booleans) or a one-hot matrix (N, C).
    widths : (d1, d2, d3), optional
        Checked against Proposition 3.2. Default: the smallest allowed, e.g. 2000-2000-4000 for
        N = 10⁶ points in 1000 classes (ReLU).
    activation : "relu", "hardtanh" or Activation, default "relu"
    classes : array_like, optional
        The class list (fixes the output order and dimension).
    strategy, n_directions, n_trials, refit, eta, mu, rng, exact
        As in :func:`yun2019_two_hidden` (they configure the scalar core). With the default
        ``n_directions=None`` a float64 build whose predicted error leaves the one-hot output
        without guarantee (below) is refitted on 48 directions (the first 16 as before, so it
        can only improve the prediction; ``meta["directions_tried"]``); pass ``n_directions``
        to fix the number.
    require_float64_exact : bool, default False
        Raise :class:`~memorize.errors.ConstructionError` instead of returning a float64 network
        whose exactness is not guaranteed (``meta["float64_exact_guaranteed"]`` False, below).

    Returns
    -------
    Network
        ``d → d1 → d2 → d3 → C``; output c is 1 at the points of class c and 0 at the others.
        ``meta["classes"]`` lists the class label of each output; ``meta["code_error_bound"]``
        is the largest core error the decoder absorbs (7Δ/16).

        Float64 honesty fields (float64 builds; exact builds record 0 and True):
        ``meta["predicted_error"]`` is the a-priori estimate of the core's float64 error (measured
        errors lie within ~3× of it); ``meta["sampled_code_error"]`` is the core error the
        float64 network actually makes on up to 4096 random training points;
        ``meta["float64_exact_guaranteed"]`` is True only if 3·predicted_error and the sampled
        error are both below ``code_error_bound``. When it is False the margin is thin: the
        construction is proved (the builder's check), but the float64 forward pass may return
        a wrong or mixed row for a few points — check with :func:`memorize.verify`, build with
        ``exact=True``, or pass ``require_float64_exact=True`` to get an error instead.

    Notes
    -----
    Proposition 3.2 (Yun, Sra, Jadbabaie 2019): N distinct points with one-hot labels in C
    classes are memorized by a 4-layer hard-tanh network with 4⌊d1/2⌋⌊d2/2⌋ ≥ N and d3 ≥ 2C,
    or a ReLU-like one with 4⌊d1/4⌋⌊d2/4⌋ ≥ N and d3 ≥ 4C. Recipe: class c gets the code ρ_c;
    the Theorem 3.1 core (scalar output, folded into layer 3) fits the codes; layer 3 holds two
    units per class forming the flat-top bump (σ_H(M(r−ρ_c)+β) − σ_H(M(r−ρ_c)−β))/2, which is
    exactly 1 when |r − ρ_c| ≤ (β−1)/M and exactly 0 when it is ≥ (β+1)/M. The paper's choice is
    M = 4/Δ, β = 2; we take M = 16/Δ, β = 8 (same widths), so the one-hot output is exact
    whenever the core's float64 error is below 7Δ/16 instead of Δ/4. The codes are dyadic and
    M a power of two, so in a ReLU network every decoder bias is an integer and the saturated
    pairs cancel exactly in float64: the output is exactly 0 or 1.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019, Proposition 3.2.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((200, 4)), rng.integers(0, 5, 200)
    >>> net = memorize.build("yun2019_classifier", X, y)
    >>> net.widths
    (32, 28, 20)
    >>> memorize.verify(net, X, y).max_error
    0.0
    """
    act = _activation(activation)
    data: Dataset = prepare(X, y, task="classification", classes=classes)
    n, d = data.X.shape
    C = data.k
    n_dir, mu_x = _common(2, mu, eta, strategy, n_directions, n, exact)
    d1, d2, d3 = _classifier_widths(n, C, act, widths)
    f = _factor(act)
    d1h, d2h = d1 // f, d2 // f
    K = 2 * (d2h // 2)
    # codes fill the owners' whole linear range |τ| = |ρ|/V ≤ 1: twice the spacing of codes in
    # [−1, 1] for levels only (1 + μ + 1)/(1 + μ + ½) ≈ 1.3 times larger
    rho, delta = class_codes(C, exact, half_range=2)
    # Bump half-width β = MΔ/2 = 8: exactly 1 for M|r − ρ_c| ≤ 7, exactly 0 for ≥ 9, so the core
    # may err by up to 7/M = 7Δ/16 (the paper's M = 4/Δ, β = 2 allows Δ/4).
    if exact:
        codes = np.array(rho, dtype=object)[data.labels][:, None]
        V, M = 2, _exact.exact_scalar(16 / Fraction(delta))
    else:
        codes = np.array(rho)[data.labels][:, None]
        V, M = 2.0, 16.0 / delta
    beta = M * delta / 2
    tol_code = 7 * delta / 16
    gen = as_rng(rng)
    gen_again = copy.deepcopy(gen)  # an escalation redraws the same first directions, then more

    def fit(nd):
        return _build.build_core(
            data.X, codes, n_win_max=d1h, K=K, act=act, V=V, mu=mu_x, eta=eta, strategy=strategy,
            n_dir=nd, rng=gen if nd == n_dir else gen_again, exact=exact, refit=refit,
            final_widths=(d1, d2, d3), d_out=C, method="yun2019_classifier",
            n_trials=_trials(n_trials if nd == n_dir else None, n, nd),
        )

    core = fit(n_dir)
    directions = n_dir
    if (n_directions is None and not exact and n_dir < _ESCALATE_DIRECTIONS
            and _FLOAT64_SAFETY * core.info["predicted_error"] > tol_code):
        # thin float64 margin: the error is heavy-tailed over directions, so try 3× more (a
        # superset of the first draw; ImageNet scale: predicted 5.2e-3 -> 1.8e-3, measured
        # 1.43e-3 -> 3.6e-4, build time 2.3×)
        core = fit(_ESCALATE_DIRECTIONS)
        directions = _ESCALATE_DIRECTIONS
    info = core.info
    info["directions_tried"] = int(directions)
    r_vals = info.pop("_values")
    # the decoder makes any core error below Δ/4 = 1/M harmless; the self-check demands it
    code_tol = 0 if exact else float(tol_code)
    check_self(r_vals, codes, code_tol, method="yun2019_classifier", index=data.index)
    # layer 3: rows M·w3 (same for all 2C units), biases M(b3 − ρ_c) ± β, interleaved (c,+), (c,−)
    dt = object if exact else np.float64
    W3 = np.repeat(core.W3 * M, 2 * C, axis=0)
    b3 = np.empty(2 * C, dtype=dt)
    for c in range(C):
        base = M * (core.b3[0] - rho[c])
        b3[2 * c] = base + beta
        b3[2 * c + 1] = base - beta
    W4 = np.zeros((C, 2 * C), dtype=dt)
    b4 = np.zeros(C, dtype=dt)
    if exact:
        W4[...] = 0
        b4[...] = 0
    half = Fraction(1, 2) if exact else 0.5
    W4[np.arange(C), 2 * np.arange(C)] = half
    W4[np.arange(C), 2 * np.arange(C) + 1] = -half
    meta = {
        "method": "yun2019_classifier",
        "activation": act.to_json(),
        "classes": [c.item() if hasattr(c, "item") else c for c in data.classes],
        "class_codes": [float(r) for r in rho],
        "code_spacing": float(delta),
        "decoder_gain": float(M),
        "code_error_bound": float(tol_code),
        "theorem_units": [d1, d2, d3],
        "n_duplicates_merged": data.n_duplicates,
        **info,
    }
    layers = [
        Dense(core.W1, core.b1, hardtanh),
        Dense(core.W2, core.b2, hardtanh),
        Dense(W3, b3, hardtanh),
        Dense(W4, b4, identity),
    ]
    net = _build.finish(layers, act, (d1, d2, d3), meta)
    if exact:
        sampled, guaranteed = 0.0, True
    else:
        sampled = _sampled_code_error(net, data.X, codes[:, 0], float(M), float(beta), float(rho[0]), act)
        guaranteed = bool(_FLOAT64_SAFETY * info["predicted_error"] <= tol_code and sampled <= tol_code)
    meta = dict(net.meta)
    meta["sampled_code_error"] = float(sampled)
    meta["float64_exact_guaranteed"] = guaranteed
    if require_float64_exact and not guaranteed:
        raise ConstructionError(
            f"yun2019_classifier: float64 exactness is not guaranteed for these {n} points: predicted core error "
            f"{info['predicted_error']:.3e} (×{_FLOAT64_SAFETY} safety) and sampled error {sampled:.3e} against the "
            f"decoder tolerance 7Δ/16 = {tol_code:.3e}; pass exact=True, fewer classes or more n_directions/n_trials, "
            f"or require_float64_exact=False to accept the network and check it with memorize.verify"
        )
    return Network(net.layers, meta)


# measured core errors lie within ~3x of meta["predicted_error"] (docs/benchmarks/yun.md)
_FLOAT64_SAFETY = 3.0
# directions the classifier tries (default n_directions) when 16 leave the float64 margin thin
_ESCALATE_DIRECTIONS = 48
_SAMPLE = 4096


def _sampled_code_error(net: Network, X, codes, M: float, beta: float, rho0: float, act: Activation) -> float:
    """Core error |r − ρ| of the float64 network on up to 4096 random points (fixed seed).

    Layer 3's first row is the unit σ(M(r − ρ_0) + β) (+1 in the ReLU rewrite), so r is read
    off its pre-activation: a float64 forward through layers 1-2 only.
    """
    n = X.shape[0]
    idx = np.arange(n) if n <= _SAMPLE else np.random.default_rng(0).choice(n, _SAMPLE, replace=False)
    h = X[idx]
    for layer in net.layers[:2]:
        h = layer.forward(h)
    l3 = net.layers[2]
    p = h @ l3.weight[0] + l3.bias[0]
    off = 0.0 if act.name == "hardtanh" else 1.0
    r = (p - off - beta) / M + rho0
    return float(np.max(np.abs(r - codes[idx]))) if n else 0.0


# --------------------------------------------------------------------------------------------
# Proposition 3.4
# --------------------------------------------------------------------------------------------
def _deep_plan(n: int, dy: int, act: Activation, widths, pairs):
    if widths is None:
        raise ArgumentError("widths: yun2019_deep needs the list of hidden widths (d_1, ..., d_{L-1})")
    try:
        w = tuple(widths)
    except TypeError:
        raise ArgumentTypeError(f"widths: expected a sequence of hidden widths, got {widths!r}") from None
    if len(w) < 2:
        raise ArgumentError(f"widths: Proposition 3.4 needs at least two hidden layers, got {w}")
    w = _check_widths(w, len(w))
    f = _factor(act)
    D = [x // f for x in w]
    unit = "" if f == 1 else " (ReLU-like: applied to ⌊d_l/2⌋)"
    cond = (
        "4 Σ_j ⌊(d_{l_j} − r_j)/2⌋⌊(d_{l_j+1} − r_j)/(2 d_y)⌋ ≥ N with r_j = d_y·1{j>1} + 1{j<m}, "
        "disjoint pairs l_j + 1 < l_{j+1} ≤ L − 2, widths ≥ d_y + 1 between pairs and ≥ d_y after the last"
        + unit
    )
    if pairs is None:
        cap, starts = _deep.best_starts(D, dy)
        if starts is None:
            raise CapacityError(f"widths: no choice of layer pairs meets Proposition 3.4's conditions for {w}: {cond}")
    else:
        starts = [int(p) for p in pairs]
        why = _deep.valid_starts(D, starts, dy)
        if why is not None:
            raise CapacityError(f"pairs: {why}; Proposition 3.4 needs {cond}")
        cap = _deep.pair_capacity(D, starts, dy)
    if cap < n:
        raise CapacityError(
            f"widths: {act!r} widths {w} with pairs starting at layers {starts} hold at most {max(cap, 0)} points "
            f"< N = {n}; Proposition 3.4 needs {cond}"
        )
    return w, D, starts, cap


def deep_architecture(n: int, dx: int, dy: int = 1, *, widths=None, activation="relu", pairs=None, **_options) -> Architecture:
    """The network :func:`yun2019_deep` builds: exactly the given hidden widths (checked)."""
    act = _activation(activation)
    w, D, starts, cap = _deep_plan(n, dy, act, widths, pairs)
    return Architecture(
        "yun2019_deep", dx, tuple(w), dy, _params([dx, *w, dy]), activation=act.name,
        notes=f"Proposition 3.4: pairs at layers {starts}, capacity {cap}",
    )


@register(
    "yun2019_deep",
    summary="Yun et al. 2019, Prop 3.4: deep/narrow networks, pairs of layers with carriers, 4Σ⌊(d_l−r)/2⌋⌊(d_{l+1}−r)/(2d_y)⌋ ≥ N (×2 for ReLU).",
    task="regression",
    architecture=deep_architecture,
    reference=_REF,
    aliases=("yun2019_prop34",),
    demo_max_n=400,
    demo_options={"widths": (4, 36, 36, 6, 36, 36), "rescale": True},
    assumptions=("distinct points", "labels in [-1, 1]"),
)
def yun2019_deep(
    X,
    y,
    *,
    widths=None,
    pairs=None,
    activation="relu",
    rescale: bool = False,
    strategy: str = "auto",
    n_directions: int | None = None,
    eta: float = 0.9,
    mu: float = 0.25,
    rng=None,
    exact: bool = False,
) -> Network:
    """Build a deep and/or narrow network that memorizes ``(X, y)`` (Proposition 3.4).

    Parameters
    ----------
    X : array_like, shape (N, d) or (N,)
        Distinct points.
    y : array_like, shape (N,) or (N, d_y)
        Labels in [−1, 1] (larger ones only with ``rescale=True``).
    widths : sequence of int
        Hidden widths d_1, ..., d_{L−1} (required); the network has exactly these widths.
    pairs : sequence of int, optional
        1-based indices l_1 < ... < l_m of the first layers of the fitting pairs. Default: the
        choice with the largest capacity (exhaustive search up to 20 hidden layers).
    activation : "relu", "hardtanh" or Activation, default "relu"
        ReLU-like networks use the hard-tanh construction on ⌊d_l/2⌋ and double every unit.
    rescale, strategy, n_directions, eta, mu, rng, exact
        As in :func:`yun2019_two_hidden`.

    Returns
    -------
    Network
        ``meta`` records the pairs, the chunk sizes and the carrier scale κ.

    Notes
    -----
    Proposition 3.4 (Yun, Sra, Jadbabaie 2019): a hard-tanh network memorizes N points if there
    are layer indices l_1 < ... < l_m ≤ L − 2 with l_j + 1 < l_{j+1} and
    4 Σ_j ⌊(d_{l_j} − r_j)/2⌋⌊(d_{l_j+1} − r_j)/(2d_y)⌋ ≥ N, r_j = d_y·1{j>1} + 1{j<m}, every
    layer strictly between pairs has width ≥ d_y + 1 and every layer after the last pair width
    ≥ d_y; ReLU-like networks need twice the widths. Recipe (reconstruction): the sorted
    projections are cut into m chunks, one per pair; pair j is a Theorem 3.1 core fitted to its
    chunk, reading the projection through a *t-carrier* unit (σ_H in its linear range) and
    adding its output, scaled by κ, into d_y *accumulator* units; outside its chunk a pair
    outputs exactly −V, so the output layer returns acc/κ + (m − 1)V.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019, Proposition 3.4.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((150, 3)), rng.uniform(-1, 1, 150)
    >>> net = memorize.build("yun2019_deep", X, y, widths=[24, 24, 24, 24, 24])
    >>> net.widths
    (24, 24, 24, 24, 24)
    >>> memorize.verify(net, X, y).ok
    True
    """
    act = _activation(activation)
    data: Dataset = prepare(X, y, task="regression")
    n, d = data.X.shape
    k = data.k
    n_dir, mu_x = _common(2, mu, eta, strategy, n_directions, n, exact)
    ymax = float(np.max(np.abs(data.Y)))
    V = _output_gain(data, rescale, exact, "Proposition 3.4")
    w, D, starts, cap = _deep_plan(n, k, act, widths, pairs)
    layers, info = _deep.build_deep_ht(
        data.X, data.Y, D, starts, V=V, mu=mu_x, eta=eta, strategy=strategy, rng=as_rng(rng),
        exact=exact, n_dir=n_dir, method="yun2019_deep",
    )
    meta = {
        "method": "yun2019_deep",
        "activation": act.to_json(),
        "capacity": int(cap),
        "theorem_units": list(w),
        "n_duplicates_merged": data.n_duplicates,
        "rescaled": bool(rescale and ymax > 1),
        **info,
    }
    net = _build.finish(layers, act, w, meta, mirror_first=False)
    # self-check: an exact network is evaluated exactly (small N); a float one in float64
    out = net(data.X)
    Yt = _exact.to_exact_array(data.Y) if exact else data.Y
    tol = 0 if exact else 1e-6 * max(1.0, ymax)
    check_self(out, Yt, tol, method="yun2019_deep", index=data.index)
    return net
