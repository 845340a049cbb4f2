"""Yun, Sra, Jadbabaie 2019, Proposition 3.4 for classification: deep and narrow, one-hot output.

The paper (Section 3.3) extends Proposition 3.4 to classification "using the same proof technique
as Proposition 3.2, by inserting one additional hidden layer between layer l_m + 1 and the output
layer" and defers the statement to its Appendix A. Our reading: the pairs fit a scalar class code
(Proposition 3.4 with d_y = 1: 4 Σ_j ⌊(d_{l_j} − r_j)/2⌋⌊(d_{l_j+1} − r_j)/2⌋ ≥ N, r_j = 1{j>1} +
1{j<m}) and a last hidden layer of 2C hard-tanh units (4C ReLU-like) decodes it with Proposition
3.2's flat-top bumps, exactly 1 near the class's code and exactly 0 far from it.
"""

from __future__ import annotations

import numpy as np

from ..._arith import arithmetic
from ...activations import Activation, hardtanh, identity
from ...data import Dataset, as_rng, prepare
from ...errors import ArgumentError, CapacityError
from ...network import Dense, Network
from ...registry import Architecture, register
from . import _build, _deep
from ._options import REF, check_activation, check_common, factor, n_trials_of, num_params
from .classifier import class_codes, code_decoder

__all__ = ["yun2019_deep_classifier", "deep_classifier_architecture"]


def _plan(n: int, C: int, act: Activation, widths, pairs, depth):
    """All hidden widths (the pairs' layers, then the decoder), the pairs' hard-tanh widths,
    their starts and their capacity."""
    dec = 2 * factor(act) * C
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 3):
        raise ArgumentError(f"depth: expected an integer number of hidden layers ≥ 3 (one pair and the decoder), got {depth!r}")
    inner = None if depth is None else int(depth) - 1
    if widths is None:
        if inner is None:
            inner = _deep.default_depth(n)
        w, D, starts, cap = _deep.plan(n, 1, act, None, pairs, inner)
        return (*w, dec), D, starts, cap
    w = _deep.as_widths(widths, 3, "a pair of layers and the decoder need")
    inner_w, D, starts, cap = _deep.plan(n, 1, act, w[:-1], pairs, inner, theorem="Proposition 3.4 (d_y = 1, the code)")
    last = w[-1]
    if isinstance(last, bool) or not isinstance(last, (int, np.integer)) or last < dec:
        raise CapacityError(f"widths: the decoder layer (the last) needs width ≥ {dec} for {C} classes ({act!r}), got {last!r}")
    return (*inner_w, int(last)), D, starts, cap


def deep_classifier_architecture(n: int, dx: int, dy: int = 2, *, widths=None, depth=None, activation="relu",
                                 pairs=None, **_options) -> Architecture:
    """The network :func:`yun2019_deep_classifier` builds for ``n`` points in ``dy`` classes.

    Examples
    --------
    >>> arch = deep_classifier_architecture(300, 4, 5)
    >>> arch.widths, arch.depth
    ((22, 22, 24, 24, 22, 22, 20), 7)
    """
    act = check_activation(activation)
    w, _, starts, cap = _plan(n, dy, act, widths, pairs, depth)
    return Architecture(
        "yun2019_deep_classifier", dx, tuple(w), dy, num_params([dx, *w, dy]), activation=act.name,
        notes=f"Proposition 3.4 (code, d_y = 1): pairs at layers {starts}, capacity {cap}; decoder {w[-1]} units",
    )


@register(
    "yun2019_deep_classifier",
    summary="Yun et al. 2019, Prop 3.4 for classification: pairs of layers fit a class code (4Σ⌊(d_l−r)/2⌋⌊(d_{l+1}−r)/2⌋ ≥ N, ×2 for ReLU), a last layer of 4·classes ReLUs decodes it to the exact one-hot row.",
    task="classification",
    architecture=deep_classifier_architecture,
    reference=REF,
    assumptions=("distinct points", "one-hot labels"),
)
def yun2019_deep_classifier(
    X,
    y,
    *,
    widths=None,
    depth: int | None = None,
    pairs=None,
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
    dtype="float64",
) -> Network:
    """Build a deep and narrow network whose output is the one-hot vector of each point's class.

    Parameters
    ----------
    X : array_like, shape (N, d) or (N,)
        Distinct points.
    y : array_like
        Class labels (N,) (integers, strings, booleans) or a one-hot matrix (N, C).
    widths : sequence of int, optional
        Hidden widths: the pairs' layers (checked as Proposition 3.4 with d_y = 1), then the
        decoder (≥ 2C hard-tanh, 4C ReLU-like units). Default: the widths of
        :func:`yun2019_deep` for a scalar code over ``depth − 1`` layers, then 4C ReLUs.
    depth : int, optional
        Hidden layers of the default widths (≥ 3); default 2·max(3, ⌈N/5000⌉) + 1.
    pairs : sequence of int, optional
        With ``widths``: the 1-based first layers of the fitting pairs (default: the choice
        with the largest capacity).
    activation : "relu", "hardtanh" or Activation, default "relu"
    classes : array_like, optional
        The class list (fixes the output order and dimension).
    strategy, n_directions, n_trials, refit, eta, mu, rng, exact, dtype
        As in :func:`yun2019_deep`.

    Returns
    -------
    Network
        Output c is 1 at the points of class c and 0 at the others. ``meta["classes"]`` lists the
        class of each output, ``meta["code_error_bound"]`` the largest error of the code the
        decoder absorbs (7Δ/16), ``meta["predicted_error"]`` the predicted float64 error of the
        code.

    Notes
    -----
    The paper states this corollary of Proposition 3.4 in its Appendix A ("inserting one
    additional hidden layer between layer l_m + 1 and the output layer", Section 3.3); our
    reading: a hard-tanh network memorizes N points in C classes if pairs of layers hold
    4 Σ_j ⌊(d_{l_j} − r_j)/2⌋⌊(d_{l_j+1} − r_j)/2⌋ ≥ N, r_j = 1{j>1} + 1{j<m}, with the other
    conditions of Proposition 3.4 for d_y = 1 on the layers before the last, and the last hidden
    layer has ≥ 2C units (ReLU-like: twice every width). Recipe, as Proposition 3.2 does for
    Theorem 3.1: class c gets the dyadic code ρ_c (:func:`class_codes`); the network of
    :func:`yun2019_deep` fits the codes (its scalar output r); the last hidden layer holds per
    class the flat-top bump (σ_H(M(r − ρ_c) + β) − σ_H(M(r − ρ_c) − β))/2 with M = 16/Δ, β = 8,
    exactly 1 when |r − ρ_c| ≤ 7Δ/16 and exactly 0 when |r − ρ_c| ≥ 9Δ/16. The builder evaluates
    the float64 network on the data and raises :class:`~memorize.errors.ConstructionError`
    unless every output row is the one-hot row (within 1e-6; ReLU rows are exactly 0.0 and 1.0).

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019, Proposition 3.4 and Section 3.3.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((300, 4)), rng.integers(0, 5, 300)
    >>> net = memorize.build("yun2019_deep_classifier", X, y)
    >>> net.widths
    (22, 22, 24, 24, 22, 22, 20)
    >>> memorize.verify(net, X, y).max_error
    0.0
    """
    fmt = _deep.check_format(dtype, exact)
    act = check_activation(activation)
    data: Dataset = prepare(X, y, task="classification", classes=classes)
    ar = arithmetic(exact)
    n, C = data.X.shape[0], data.k
    n_dir, mu_x = check_common(ar, mu, eta, strategy, n_directions)
    w, D, starts, cap = _plan(n, C, act, widths, pairs, depth)
    # codes over the owners' whole linear range |ρ|/V ≤ 1, and the decoder of Proposition 3.2
    rho, delta = class_codes(ar, C, half_range=2)
    codes = ar.array(rho)[data.labels][:, None]
    V, M = ar.const(2), ar.div(ar.const(16), delta)
    beta = ar.div(M * delta, 2)
    layers, mirror, info = _deep.build_deep_ht(
        ar, data.X, codes, D, starts, V=V, mu=mu_x, eta=eta, strategy=strategy, rng=as_rng(rng), n_dir=n_dir,
        method="yun2019_deep_classifier", target=_deep.FloatTarget(act, tuple(w), C), refit=refit,
        n_trials=n_trials_of(n_trials, n, n_dir),
    )
    out = layers.pop()
    W_dec, b_dec, W_out, b_out = code_decoder(ar, out.weight, out.bias, rho, M, beta)
    layers += [Dense(W_dec, b_dec, hardtanh), Dense(W_out, b_out, identity)]
    meta = {
        "method": "yun2019_deep_classifier",
        "activation": act.to_json(),
        "classes": [c.item() if hasattr(c, "item") else c for c in data.classes],
        "class_codes": [float(r) for r in rho],
        "code_spacing": float(delta),
        "decoder_gain": float(M),
        "code_error_bound": float(ar.div(7 * delta, 16)),
        "capacity": int(cap),
        "theorem_units": list(w),
        "n_duplicates_merged": data.n_duplicates,
        **info,
    }
    net = _build.finish(layers, act, w, meta, mirror=mirror)
    onehot = ar.zeros((n, C))
    onehot[np.arange(n), data.labels] = 1
    _deep.check_outputs(ar, net(data.X), onehot, ar.tol(1e-6), info, "yun2019_deep_classifier", data.index)
    return _deep.certified_in(net, data.X, data.classes[data.labels], fmt, "yun2019_deep_classifier", data.index)
