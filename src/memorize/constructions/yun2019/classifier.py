"""Yun, Sra, Jadbabaie 2019, Proposition 3.2: three hidden layers output the one-hot class exactly.

Hard-tanh widths with 4⌊d1/2⌋⌊d2/2⌋ ≥ N and d3 ≥ 2C (ReLU-like: 4⌊d1/4⌋⌊d2/4⌋ ≥ N, d3 ≥ 4C).
Construction: class c gets a dyadic code ρ_c; the Theorem 3.1 core (``_build.py``) fits the
codes; layer 3 holds per class a flat-top bump of two hard-tanh units, exactly 1 near ρ_c and
exactly 0 far from it, so the output is the one-hot vector whenever the core errs by less than
the bump's flat half-width.
"""

from __future__ import annotations

import copy
from fractions import Fraction

import numpy as np

from ..._arith import Arithmetic, arithmetic
from ...activations import Activation, hardtanh, identity
from ...data import Dataset, as_rng, prepare
from ...errors import CapacityError, ConstructionError
from ...network import Dense, Network
from ...registry import Architecture, PaperSize, register
from ...verify import check_self
from .._target import certified, in_format, refusals, target_format, tuned
from . import _build, _core
from ._options import REF, balanced_pair, check_activation, check_common, check_widths, factor, n_trials_of, num_params

__all__ = [
    "yun2019_classifier", "classifier_architecture", "classifier_condition", "classifier_paper_size", "class_codes",
]


#: Largest N certified in each format (benchmarks/float_limits.py --mode after: N standard Gaussian
#: points in R^32, 10 classes, ReLU, seeds 0–2; every N of the doubling-and-bisection grid below
#: it certified too; "measured_to" is the largest N tried). A fact about these data, not a
#: guarantee: the builder certifies its own network anyway.
FLOAT_LIMITS = {"float32": 8, "bfloat16": 0, "measured_to": 16}


def classifier_condition(d1: int, d2: int, d3: int, n: int, classes: int, activation="relu") -> bool:
    """Proposition 3.2's width condition: 4⌊d1/2⌋⌊d2/2⌋ ≥ N and d3 ≥ 2C (hard-tanh), 4⌊d1/4⌋⌊d2/4⌋ ≥ N
    and d3 ≥ 4C (ReLU-like).

    Examples
    --------
    >>> classifier_condition(32, 28, 20, 200, 5), classifier_condition(32, 28, 19, 200, 5)
    (True, False)
    """
    f = factor(check_activation(activation))
    return 4 * (d1 // (2 * f)) * (d2 // (2 * f)) >= n and d3 >= 2 * f * classes


def _classifier_widths(n: int, C: int, act: Activation, widths) -> tuple[int, int, int]:
    f = factor(act)
    a, b = _core.smallest_pair(n, 2 * f, 2 * f)
    smallest = (2 * f * a, 2 * f * b, 2 * f * C)
    if widths is None:
        return smallest
    d1, d2, d3 = check_widths(widths, 3)
    if not classifier_condition(d1, d2, d3, n, C, act):
        cond = "4⌊d1/2⌋⌊d2/2⌋ ≥ N and d3 ≥ 2·d_y" if f == 1 else "4⌊d1/4⌋⌊d2/4⌋ ≥ N and d3 ≥ 4·d_y"
        raise CapacityError(
            f"widths: {act!r} widths ({d1}, {d2}, {d3}) fail Proposition 3.2's condition {cond} for N = {n}, "
            f"d_y = {C} classes; the smallest valid widths are {smallest}"
        )
    return d1, d2, d3


def classifier_paper_size(n: int, dx: int, dy: int = 2, activation="relu", **_options) -> PaperSize:
    """Proposition 3.2's statement with d1 = d2: 4⌊d1/4⌋⌊d2/4⌋ ≥ N, d3 = 4d_y (ReLU-like).

    Examples
    --------
    >>> classifier_paper_size(10**6, 64, 1000).widths
    (2000, 2000, 4000)
    """
    per = 2 if activation == "hardtanh" else 4
    d1, d2 = balanced_pair(n, per, per)
    d3 = per * dy
    return PaperSize((d1, d2, d3), d1 + d2 + d3,
                     f"{4}⌊d1/{per}⌋⌊d2/{per}⌋ ≥ N, d3 = {d3 // dy}d_y, d1 = d2 (Prop 3.2)")


def classifier_architecture(n: int, dx: int, dy: int = 2, *, widths=None, activation="relu", **_options) -> Architecture:
    """The network :func:`yun2019_classifier` builds for ``n`` distinct points in ``dy`` classes.

    Examples
    --------
    >>> classifier_architecture(200, 4, 5).widths
    (32, 28, 20)
    """
    act = check_activation(activation)
    d1, d2, d3 = _classifier_widths(n, dy, act, widths)
    return Architecture(
        "yun2019_classifier", dx, (d1, d2, d3), dy, num_params([dx, d1, d2, d3, dy]), activation=act.name,
        notes="Proposition 3.2: " + (
            "4⌊d1/2⌋⌊d2/2⌋ ≥ N, d3 ≥ 2d_y" if act.name == "hardtanh" else "4⌊d1/4⌋⌊d2/4⌋ ≥ N, d3 ≥ 4d_y"
        ),
    )


def class_codes(ar: Arithmetic, C: int, half_range: int = 1):
    """Step 1: dyadic class codes ρ_c = (c − (C−1)/2)·Δ in [−h + Δ, h − Δ] (h = ``half_range``).

    Δ is the largest power of 2 ≤ 2h/(C+1). Claim: the codes are Δ apart and at least Δ inside
    ±h. Dyadic codes and a power-of-two gain M = 16/Δ make every decoder bias an integer, so the
    ReLU decoder's saturated pairs cancel exactly in float64 (see docs/yun2019_classifier.md).
    Returns ``(codes, Δ)`` in ``ar``.

    Examples
    --------
    >>> from memorize._arith import EXACT
    >>> rho, delta = class_codes(EXACT, 3)
    >>> [str(r) for r in rho], str(delta)
    (['-1/2', '0', '1/2'], '1/2')
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
    return [ar.scalar(r) for r in rho], ar.scalar(delta)


@register(
    "yun2019_classifier",
    summary="Yun et al. 2019, Prop 3.2: three hidden layers, 4⌊d1/4⌋⌊d2/4⌋ ≥ N and d3 ≥ 4·classes ReLUs, exact one-hot output (10⁶ points, 10³ classes: 2k-2k-4k).",
    task="classification",
    architecture=classifier_architecture,
    reference=REF,
    aliases=("yun2019_prop32",),
    assumptions=("distinct points", "one-hot labels"),
    paper_size=classifier_paper_size,
    float_limits=FLOAT_LIMITS,
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
    dtype=None,
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
    dtype : str, NumPy or torch dtype, optional
        Build for this format ("float32", "bfloat16", ...): on the inputs rounded to it, with layer 1's
        margins against its rounding, layer 2 fitted to the positions the rounded layer 1 computes, the
        escalation to 48 directions decided on the format's predicted error; weights rounded to it;
        every point certified (``meta["certificate"]``) or :class:`~memorize.errors.PrecisionError`
        (limits: :data:`FLOAT_LIMITS`; ``float_safe_classifier`` is correct in the format by design).
        None: the float64 network, uncertified.

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
    pairs cancel exactly in float64: the output is exactly 0 or 1. The steps are the functions
    of this module, in order (``class_codes``, ``fit_codes``, ``code_decoder``,
    ``float64_guarantee``).

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
    act = check_activation(activation)
    fmt = target_format(dtype, exact=exact)
    data: Dataset = in_format(prepare(X, y, task="classification", classes=classes, stream=True), fmt,
                              "yun2019_classifier")
    ar = arithmetic(exact)
    n = data.X.shape[0]
    C = data.k
    n_dir, mu_x = check_common(ar, mu, eta, strategy, n_directions)
    d1, d2, d3 = _classifier_widths(n, C, act, widths)
    f = factor(act)
    # codes fill the owners' whole linear range |τ| = |ρ|/V ≤ 1: twice the spacing of codes in
    # [−1, 1] for levels only (1 + μ + 1)/(1 + μ + ½) ≈ 1.3 times larger
    rho, delta = class_codes(ar, C, half_range=2)
    codes = ar.array(rho)[data.labels][:, None]
    # Bump half-width β = MΔ/2 = 8: exactly 1 for M|r − ρ_c| ≤ 7, exactly 0 for ≥ 9, so the core
    # may err by up to 7/M = 7Δ/16 (the paper's M = 4/Δ, β = 2 allows Δ/4).
    V, M = ar.const(2), ar.div(ar.const(16), delta)
    beta = ar.div(M * delta, 2)
    tol_code = ar.div(7 * delta, 16)
    core_options = dict(
        n_win_max=d1 // f, K=2 * ((d2 // f) // 2), act=act, V=V, mu=mu_x, eta=eta, strategy=strategy,
        refit=refit, final_widths=(d1, d2, d3), d_out=C, method="yun2019_classifier", fmt=tuned(fmt),
    )
    with refusals(fmt, "yun2019_classifier"):
        core, directions = fit_codes(ar, data.X, codes, n_directions, n_dir, n_trials, as_rng(rng), float(tol_code), core_options)
    info = core.info
    info["directions_tried"] = int(directions)
    # the decoder makes any core error below 7Δ/16 harmless; the self-check demands it
    check_self(info.pop("_values"), codes, ar.tol(float(tol_code)), method="yun2019_classifier", index=data.index)
    W3, b3, W4, b4 = code_decoder(ar, core.W3, core.b3, rho, M, beta)
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
        core.layer1,
        Dense(core.W2, core.b2, hardtanh),
        Dense(W3, b3, hardtanh),
        Dense(W4, b4, identity),
    ]
    net = _build.finish(layers, act, (d1, d2, d3), meta)
    sampled, guaranteed = float64_guarantee(
        ar, net, data.X, codes[:, 0], M, beta, rho[0], act, info["predicted_error"], float(tol_code),
        require=require_float64_exact,
    )
    meta = dict(net.meta)
    meta["sampled_code_error"] = float(sampled)
    meta["float64_exact_guaranteed"] = guaranteed
    # Step 5 (dtype given): the network in its format, certified on every point
    return certified(Network(net.layers, meta), data, fmt, "yun2019_classifier")


def fit_codes(ar: Arithmetic, X, codes, n_directions, n_dir: int, n_trials, rng, tol_code: float, core_options: dict):
    """Step 2: the Theorem 3.1 core (scalar output) fitted to the class codes.

    Claim (checked by the builder): the core's output r is the point's code, exactly in exact
    arithmetic. In float64, when the predicted error leaves less than the safety factor to the
    decoder's tolerance 7Δ/16 and the user left ``n_directions`` at its default, the core is
    refitted on 48 directions whose first 16 are the first draw (so the prediction can only
    improve). Returns the core and the number of directions drawn.
    """
    again = copy.deepcopy(rng)  # an escalation redraws the same first directions, then more
    core = _build.build_core(ar, X, codes, n_dir=n_dir, rng=rng, n_trials=n_trials_of(n_trials, len(X), n_dir), **core_options)
    if n_directions is None and n_dir < _ESCALATE_DIRECTIONS and _FLOAT64_SAFETY * core.info["predicted_error"] > tol_code:
        # thin float64 margin (the predicted error of an exact build is 0): the error is
        # heavy-tailed over directions, so try 3× more (ImageNet scale: predicted 5.2e-3 ->
        # 1.8e-3, measured 1.43e-3 -> 3.6e-4, build time 2.3×)
        n_trials = n_trials_of(None, len(X), _ESCALATE_DIRECTIONS)
        return _build.build_core(ar, X, codes, n_dir=_ESCALATE_DIRECTIONS, rng=again, n_trials=n_trials, **core_options), _ESCALATE_DIRECTIONS
    return core, n_dir


def code_decoder(ar: Arithmetic, w3, b3, rho, M, beta):
    """Step 3: layers 3 and 4, the flat-top bump of every class read off the core's output r.

    Layer 3 holds per class c the units σ_H(M(r − ρ_c) + β) and σ_H(M(r − ρ_c) − β) (rows M·w3,
    biases M(b3 − ρ_c) ± β, interleaved), layer 4 half their difference. Claim: output c is
    exactly 1 when |r − ρ_c| ≤ (β − 1)/M and exactly 0 when |r − ρ_c| ≥ (β + 1)/M. Returns
    ``(W3, b3, W4, b4)``.
    """
    C = len(rho)
    W3 = np.repeat(w3 * M, 2 * C, axis=0)
    base = M * (b3[0] - ar.array(rho))
    B3 = np.empty(2 * C, dtype=ar.dtype)
    B3[0::2] = base + beta
    B3[1::2] = base - beta
    W4, b4 = ar.zeros((C, 2 * C)), ar.zeros(C)
    half = ar.const(1, 2)
    W4[np.arange(C), 2 * np.arange(C)] = half
    W4[np.arange(C), 2 * np.arange(C) + 1] = -half
    return W3, B3, W4, b4


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


def float64_guarantee(ar: Arithmetic, net: Network, X, codes, M, beta, rho0, act: Activation, predicted: float,
                      tol_code: float, *, require: bool) -> tuple[float, bool]:
    """Step 4: whether the float64 network's one-hot output is guaranteed (an exact one always is).

    Guaranteed when the predicted core error, times the safety factor 3, and the core error
    sampled on up to 4096 points are both below the decoder's tolerance 7Δ/16. Returns
    ``(sampled error, guaranteed)``; with ``require`` a float64 network without the guarantee
    raises :class:`ConstructionError` instead.
    """
    if ar.exact:  # the builder's check was a proof: nothing to estimate
        return 0.0, True
    sampled = _sampled_code_error(net, X, codes, float(M), float(beta), float(rho0), act)
    guaranteed = bool(_FLOAT64_SAFETY * predicted <= tol_code and sampled <= tol_code)
    if require and not guaranteed:
        raise ConstructionError(
            f"yun2019_classifier: float64 exactness is not guaranteed for these {len(X)} points: predicted core error "
            f"{predicted:.3e} (×{_FLOAT64_SAFETY} safety) and sampled error {sampled:.3e} against the "
            f"decoder tolerance 7Δ/16 = {tol_code:.3e}; pass exact=True, fewer classes or more n_directions/n_trials, "
            f"or require_float64_exact=False to accept the network and check it with memorize.verify"
        )
    return sampled, guaranteed
