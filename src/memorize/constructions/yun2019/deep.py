"""Yun, Sra, Jadbabaie 2019, Proposition 3.4: deeper and/or narrower memorizers from pairs of layers.

A hard-tanh network memorizes N points if disjoint pairs of adjacent layers (l_j, l_j + 1) hold
4 Σ_j ⌊(d_{l_j} − r_j)/2⌋⌊(d_{l_j+1} − r_j)/(2d_y)⌋ ≥ N, r_j = d_y·1{j>1} + 1{j<m} carrier units
(ReLU-like networks: twice the widths). Construction (``_deep.py``): one projection t, carried
from layer to layer by a *t-carrier* unit; the sorted points are cut into one chunk per pair;
pair j is a Theorem 3.1 core fitted to its chunk; *accumulator* units add up the pairs' outputs.
Default widths: one pair per 5000 points (at least three), each the smallest for its chunk.
"""

from __future__ import annotations

from ...data import as_rng
from ...network import Network
from ...registry import Architecture, register
from . import _build, _deep
from ._options import REF, check_activation, n_trials_of, num_params, regression_inputs

__all__ = ["yun2019_deep", "deep_architecture"]


def deep_architecture(n: int, dx: int, dy: int = 1, *, widths=None, depth=None, activation="relu", pairs=None,
                      **_options) -> Architecture:
    """The network :func:`yun2019_deep` builds: the given hidden widths (checked) or the default ones.

    Examples
    --------
    >>> deep_architecture(150, 3, 1, widths=[24] * 5).notes
    'Proposition 3.4: pairs at layers [1, 3], capacity 200'
    >>> deep_architecture(10**5, 32).widths[:4], deep_architecture(10**5, 32).depth
    ((146, 142, 148, 144), 40)
    """
    act = check_activation(activation)
    w, _, starts, cap = _deep.plan(n, dy, act, widths, pairs, depth)
    return Architecture(
        "yun2019_deep", dx, tuple(w), dy, num_params([dx, *w, dy]), activation=act.name,
        notes=f"Proposition 3.4: pairs at layers {starts}, capacity {cap}",
    )


@register(
    "yun2019_deep",
    summary="Yun et al. 2019, Prop 3.4: deep/narrow networks, pairs of layers with carriers, 4Σ⌊(d_l−r)/2⌋⌊(d_{l+1}−r)/(2d_y)⌋ ≥ N (×2 for ReLU); default one pair per 5000 points.",
    task="regression",
    architecture=deep_architecture,
    reference=REF,
    aliases=("yun2019_prop34",),
    demo_options={"rescale": True},
    assumptions=("distinct points", "labels in [-1, 1]"),
)
def yun2019_deep(
    X,
    y,
    *,
    widths=None,
    depth: int | None = None,
    pairs=None,
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
    dtype="float64",
) -> Network:
    """Build a deep and narrow network that memorizes ``(X, y)`` (Proposition 3.4).

    Parameters
    ----------
    X : array_like, shape (N, d) or (N,)
        Distinct points.
    y : array_like, shape (N,) or (N, d_y)
        Labels in [−1, 1] (larger ones only with ``rescale=True``).
    widths : sequence of int, optional
        Hidden widths d_1, ..., d_{L−1}; the network has exactly these widths (checked against
        the proposition). Default: ``depth`` layers in pairs (1, 2), (3, 4), ..., each pair the
        smallest that holds ⌈N/m⌉ points (m = ⌊depth/2⌋ pairs) beside its carriers.
    depth : int, optional
        Hidden layers of the default widths (≥ 2). Default 2·max(3, ⌈N/5000⌉): one pair per
        5000 points keeps the float64 error of every pair far below 1e-6 (N = 10⁵: 40 layers of
        about 146 ReLUs).
    pairs : sequence of int, optional
        With ``widths``: the 1-based first layers l_1 < ... < l_m of the fitting pairs. Default:
        the choice with the largest capacity (exhaustive search up to 20 hidden layers).
    activation : "relu", "hardtanh" or Activation, default "relu"
        ReLU-like networks use the hard-tanh construction on ⌊d_l/2⌋ and double every unit.
    n_trials : int, optional
        Directions whose pairs are fitted to compare their predicted float64 errors (default:
        all ``n_directions``, 16); the worst pair of the chosen one has the smallest prediction.
    refit : bool, default True
        Fit every pair's second layer to the positions its first layer computes in float64.
    rescale, strategy, n_directions, eta, mu, rng, exact
        As in :func:`yun2019_two_hidden`.
    dtype : str, NumPy or torch dtype, default "float64"
        The format the network is meant to run in. Another format than float64 returns the
        network with its weights rounded to it, certified on every point by
        :func:`memorize.certify` (``meta["certificate"]``), or raises
        :class:`~memorize.errors.ConstructionError` naming the float-safe builders.

    Returns
    -------
    Network
        ``meta`` records the pairs, the chunk sizes, the carrier scale κ and the predicted
        float64 error.

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
    functions called by ``_deep.build_deep_ht``, in order. The builder evaluates the float64
    network on the data and raises :class:`~memorize.errors.ConstructionError` if it misses a
    point by more than 1e-6·max(1, max|y|).

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019, Proposition 3.4.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((150, 3)), rng.uniform(-1, 1, 150)
    >>> net = memorize.build("yun2019_deep", X, y)
    >>> net.widths
    (18, 18, 20, 20, 18, 18)
    >>> memorize.verify(net, X, y).ok
    True
    >>> memorize.build("yun2019_deep", X, y, widths=[24, 24, 24, 24, 24]).widths
    (24, 24, 24, 24, 24)
    """
    fmt = _deep.check_format(dtype, exact)
    inp = regression_inputs(X, y, activation=activation, exact=exact, mu=mu, eta=eta, strategy=strategy,
                            n_directions=n_directions, rescale=rescale, theorem="Proposition 3.4")
    act, data, ar, ymax = inp.act, inp.data, inp.ar, inp.ymax
    n = data.X.shape[0]
    w, D, starts, cap = _deep.plan(n, data.k, act, widths, pairs, depth)
    layers, mirror, info = _deep.build_deep_ht(
        ar, data.X, data.Y, D, starts, V=inp.V, mu=inp.mu, eta=eta, strategy=strategy, rng=as_rng(rng),
        n_dir=inp.n_dir, method="yun2019_deep", target=_deep.FloatTarget(act, tuple(w), data.k), refit=refit,
        n_trials=n_trials_of(n_trials, n, inp.n_dir),
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
    net = _build.finish(layers, act, w, meta, mirror=mirror)
    # self-check: an exact network is evaluated exactly (small N); a float one in float64
    _deep.check_outputs(ar, net(data.X), ar.array(data.Y), ar.tol(1e-6 * max(1.0, ymax)), info, "yun2019_deep", data.index)
    return _deep.certified_in(net, data.X, data.Y, fmt, "yun2019_deep", data.index)
