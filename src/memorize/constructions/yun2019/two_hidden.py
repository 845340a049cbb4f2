"""Yun, Sra, Jadbabaie 2019, Theorem 3.1: two hidden layers of ≈ 2√(N·d_y) units memorize N points.

Labels in [−1, 1]^{d_y}; hard-tanh widths with 4⌊d1/2⌋⌊d2/(2d_y)⌋ ≥ N, ReLU-like ones with
4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N. Construction (the hard-tanh core of ``_build.py``): project on a direction
u and sort; layer 1 holds one hard-tanh ramp ("window") per run of K consecutive sorted points;
layer 2 holds per output K zig-zag nodes, each owning one position of every window and saturated
at every other point; the output adds the owners' values. ReLU-like networks are the core
rewritten unit by unit (:func:`memorize.rewrite.hardtanh_to_relu`).
"""

from __future__ import annotations

from dataclasses import replace

from ...activations import Activation, hardtanh, identity
from ...data import as_rng
from ...errors import CapacityError
from ...network import Dense, Network
from ...registry import Architecture, PaperSize, register
from ...verify import check_self
from .._target import certified, in_format, refusals, target_format, tuned
from . import _build, _core
from ._options import (
    REF, balanced_pair, check_activation, check_widths, factor, n_trials_of, num_params, regression_inputs,
)

__all__ = ["yun2019_two_hidden", "two_hidden_architecture", "two_hidden_condition", "two_hidden_paper_size"]

#: Largest N certified in each format (benchmarks/float_limits.py --mode after: N standard Gaussian
#: points in R^32, labels uniform in [−1, 1], ReLU, seeds 0–2; every N of the doubling-and-bisection
#: grid below it certified too; "measured_to" is the largest N tried). A fact about these data, not
#: a guarantee: the builder certifies its own network anyway. The output adds zig-zag values of
#: size up to the cancellation mass: float32's regression tolerance (1e-6·max(1, max|y|)) is below
#: its worst-case rounding at every N tried.
FLOAT_LIMITS = {"float32": 0, "bfloat16": 0, "measured_to": 2}


def two_hidden_condition(d1: int, d2: int, n: int, dy: int, activation="relu") -> bool:
    """Theorem 3.1's width condition: 4⌊d1/2⌋⌊d2/(2d_y)⌋ ≥ N (hard-tanh), 4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N (ReLU-like).

    Examples
    --------
    >>> two_hidden_condition(20, 20, 100, 1), two_hidden_condition(20, 19, 100, 1)
    (True, False)
    >>> two_hidden_condition(10, 10, 100, 1, activation="hardtanh")
    True
    """
    f = factor(check_activation(activation))
    return 4 * (d1 // (2 * f)) * (d2 // (2 * f * dy)) >= n


def _default_two_hidden(n: int, dy: int, f: int) -> tuple[int, int]:
    a, b = _core.smallest_pair(n, 2 * f, 2 * f * dy)
    return 2 * f * a, 2 * f * dy * b


def _two_hidden_widths(n: int, dy: int, act: Activation, widths) -> tuple[int, int]:
    f = factor(act)
    if widths is None:
        return _default_two_hidden(n, dy, f)
    d1, d2 = check_widths(widths, 2)
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


def two_hidden_paper_size(n: int, dx: int, dy: int = 1, activation="relu", **_options) -> PaperSize:
    """Theorem 3.1's statement with d1 = d2: 4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N (ReLU-like; halves for hard-tanh).

    Examples
    --------
    >>> two_hidden_paper_size(10**4, 10).widths
    (200, 200)
    """
    per = 2 if activation == "hardtanh" else 4
    d1, d2 = balanced_pair(n, per, per * dy)
    return PaperSize((d1, d2), d1 + d2, f"4⌊d1/{per}⌋⌊d2/({per}d_y)⌋ ≥ N, d1 = d2 (Thm 3.1)")


def two_hidden_architecture(n: int, dx: int, dy: int = 1, *, widths=None, activation="relu", **_options) -> Architecture:
    """The network :func:`yun2019_two_hidden` builds for ``n`` distinct points (computed without building).

    Examples
    --------
    >>> arch = two_hidden_architecture(100, 5)
    >>> arch.widths, arch.num_params
    ((20, 20), 561)
    """
    act = check_activation(activation)
    d1, d2 = _two_hidden_widths(n, dy, act, widths)
    return Architecture(
        "yun2019_two_hidden", dx, (d1, d2), dy, num_params([dx, d1, d2, dy]), activation=act.name,
        notes="Theorem 3.1: " + ("4⌊d1/2⌋⌊d2/(2d_y)⌋ ≥ N" if act.name == "hardtanh" else "4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N"),
    )


@register(
    "yun2019_two_hidden",
    summary="Yun et al. 2019, Thm 3.1: two hidden layers, 4⌊d1/4⌋⌊d2/(4d_y)⌋ ≥ N ReLUs (≈ 2√N-2√N for d_y = 1), labels in [−1, 1].",
    task="regression",
    architecture=two_hidden_architecture,
    reference=REF,
    aliases=("yun2019_thm31",),
    demo_options={"rescale": True},
    assumptions=("distinct points", "labels in [-1, 1]"),
    paper_size=two_hidden_paper_size,
    float_limits=FLOAT_LIMITS,
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
    dtype=None,
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
    dtype : str, NumPy or torch dtype, optional
        Build for this format ("float32", "bfloat16", ...): on the inputs rounded to it, with layer 1's
        margins against its rounding, layer 2 fitted to the positions the rounded layer 1 computes;
        weights rounded to it; every point certified (``meta["certificate"]``) or
        :class:`~memorize.errors.PrecisionError` (limits: :data:`FLOAT_LIMITS`; ``float_safe`` is
        correct in the format by design). None: the float64 network, uncertified.

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
    core rewritten with σ_H(t) = [σ_R(t+1) − σ_R(t−1) − s₊ − s₋]/(s₊ − s₋). The steps are the
    functions called by ``_build.build_core``, in order (direction, sort, windows, window layer,
    float64 positions, zig-zag layer and its check).

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
    inp = regression_inputs(X, y, activation=activation, exact=exact, mu=mu, eta=eta, strategy=strategy,
                            n_directions=n_directions, rescale=rescale, theorem="Theorem 3.1", stream=True)
    fmt = target_format(dtype, exact=exact)
    inp = replace(inp, data=in_format(inp.data, fmt, "yun2019_two_hidden"))
    act, data, ar, n_dir, V, ymax = inp.act, inp.data, inp.ar, inp.n_dir, inp.V, inp.ymax
    n, k = data.X.shape[0], data.k
    d1, d2 = _two_hidden_widths(n, k, act, widths)
    f = factor(act)
    d1h, d2h = d1 // f, d2 // f
    K = 2 * (d2h // (2 * k))
    with refusals(fmt, "yun2019_two_hidden"):
        core = _build.build_core(
            ar, data.X, data.Y, n_win_max=d1h, K=K, act=act, V=V, mu=inp.mu, eta=eta, strategy=strategy,
            n_dir=n_dir, rng=as_rng(rng), refit=refit, final_widths=(d1, d2), d_out=k,
            method="yun2019_two_hidden", n_trials=n_trials_of(n_trials, n, n_dir), fmt=tuned(fmt),
        )
    info = core.info
    values = info.pop("_values")
    tol = ar.tol(1e-6 * max(1.0, ymax))
    check_self(values, ar.array(data.Y), tol, method="yun2019_two_hidden", index=data.index)
    meta = {
        "method": "yun2019_two_hidden",
        "activation": act.to_json(),
        "theorem_units": [d1, d2],
        "n_duplicates_merged": data.n_duplicates,
        "rescaled": bool(rescale and ymax > 1),
        **info,
    }
    layers = [
        core.layer1,
        Dense(core.W2, core.b2, hardtanh),
        Dense(core.W3, core.b3, identity),
    ]
    net = _build.finish(layers, act, (d1, d2), meta)
    # last step (dtype given): the network in its format, certified on every point
    return certified(net, data, fmt, "yun2019_two_hidden")
