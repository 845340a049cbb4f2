"""Yun, Sra, Jadbabaie 2019, Proposition 3.4: deeper and/or narrower memorizers from pairs of layers.

A hard-tanh network memorizes N points if disjoint pairs of adjacent layers (l_j, l_j + 1) hold
4 Σ_j ⌊(d_{l_j} − r_j)/2⌋⌊(d_{l_j+1} − r_j)/(2d_y)⌋ ≥ N, r_j = d_y·1{j>1} + 1{j<m} carrier units
(ReLU-like networks: twice the widths). Construction (``_deep.py``): one projection t, carried
from layer to layer by a *t-carrier* unit; the sorted points are cut into one chunk per pair;
pair j is a Theorem 3.1 core fitted to its chunk; *accumulator* units add up the pairs' outputs.
"""

from __future__ import annotations

from ...activations import Activation
from ...data import as_rng
from ...errors import ArgumentError, ArgumentTypeError, CapacityError
from ...network import Network
from ...registry import Architecture, register
from ...verify import check_self
from . import _build, _deep
from ._options import REF, check_activation, check_widths, factor, num_params, regression_inputs

__all__ = ["yun2019_deep", "deep_architecture"]


def _deep_plan(n: int, dy: int, act: Activation, widths, pairs):
    if widths is None:
        raise ArgumentError("widths: yun2019_deep needs the list of hidden widths (d_1, ..., d_{L-1})")
    try:
        w = tuple(widths)
    except TypeError:
        raise ArgumentTypeError(f"widths: expected a sequence of hidden widths, got {widths!r}") from None
    if len(w) < 2:
        raise ArgumentError(f"widths: Proposition 3.4 needs at least two hidden layers, got {w}")
    w = check_widths(w, len(w))
    f = factor(act)
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
    """The network :func:`yun2019_deep` builds: exactly the given hidden widths (checked).

    Examples
    --------
    >>> arch = deep_architecture(150, 3, 1, widths=[24] * 5)
    >>> arch.widths, arch.notes
    ((24, 24, 24, 24, 24), 'Proposition 3.4: pairs at layers [1, 3], capacity 200')
    """
    act = check_activation(activation)
    w, D, starts, cap = _deep_plan(n, dy, act, widths, pairs)
    return Architecture(
        "yun2019_deep", dx, tuple(w), dy, num_params([dx, *w, dy]), activation=act.name,
        notes=f"Proposition 3.4: pairs at layers {starts}, capacity {cap}",
    )


@register(
    "yun2019_deep",
    summary="Yun et al. 2019, Prop 3.4: deep/narrow networks, pairs of layers with carriers, 4Σ⌊(d_l−r)/2⌋⌊(d_{l+1}−r)/(2d_y)⌋ ≥ N (×2 for ReLU).",
    task="regression",
    architecture=deep_architecture,
    reference=REF,
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
    outputs exactly −V, so the output layer returns acc/κ + (m − 1)V. The steps are the
    functions called by ``_deep.build_deep_ht``, in order.

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
    inp = regression_inputs(X, y, activation=activation, exact=exact, mu=mu, eta=eta, strategy=strategy,
                            n_directions=n_directions, rescale=rescale, theorem="Proposition 3.4")
    act, data, ar, ymax = inp.act, inp.data, inp.ar, inp.ymax
    w, D, starts, cap = _deep_plan(data.X.shape[0], data.k, act, widths, pairs)
    layers, info = _deep.build_deep_ht(
        ar, data.X, data.Y, D, starts, V=inp.V, mu=inp.mu, eta=eta, strategy=strategy, rng=as_rng(rng),
        n_dir=inp.n_dir, method="yun2019_deep",
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
    check_self(net(data.X), ar.array(data.Y), ar.tol(1e-6 * max(1.0, ymax)), method="yun2019_deep", index=data.index)
    return net
