"""Bubeck, Eldan, Lee, Mikulincer 2020, Proposition 4: the ReLU Baum network, 4⌈N/d⌉ ReLUs.

Groups of at most d points; through each an affine hyperplane ``a(x) = <u, x> − c``; an affine
label map ``s(x) = <v, x> + t`` with ``s = y − b₀`` on the group; and four ReLUs forming the finite
difference of a slab,

    g(x) = (1/δ)[r(a + ε + δs) − r(a + ε) − r(a − ε + δs) + r(a − ε)],

which equals ``s(x)`` on the group and is exactly 0 wherever ``|a| ≥ ε + δ·|s|``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .. import _exact
from ..activations import relu
from ..data import Dataset, as_rng, prepare
from ..errors import ConstructionError
from ..network import Dense, Network
from ..registry import Architecture, register
from ..verify import check_self, default_tol
from ._slabs import _HULL_SVD_MAX, _rref, U_FP, affine_hull, build_slabs, slab_values, split_groups

__all__ = ["bubeck2020", "architecture"]

_REFERENCE = (
    "S. Bubeck, R. Eldan, Y. T. Lee, D. Mikulincer. Network size and weights size for memorization with "
    "two-layers neural networks. NeurIPS 2020, Proposition 4 (arXiv:2006.02855)."
)


def architecture(n: int, dx: int, dy: int = 1, **_options) -> Architecture:
    """(2 + 2k)⌈N/d⌉ ReLUs in one hidden layer for k outputs (4⌈N/d⌉ for scalar labels)."""
    groups = -(-n // dx)
    w = (2 + 2 * dy) * groups
    return Architecture(
        "bubeck2020", dx, (w,), dy, w * dx + w + dy * w + dy,
        notes=f"{2 + 2 * dy} ReLUs per group of ≤ d points (units 2 and 4 shared by the k outputs)",
    )


def _label_maps(Xg: np.ndarray, T: np.ndarray, exact: bool):
    """Affine maps s_j(x) = <v_j, x> + t_j with s_j = T[:, j] on the group's points.

    float: minimum-norm solution around the group mean (v lies in the span of the centred group,
    hence is orthogonal to the hyperplane's normal). exact: a rational solution of [P, 1](v; t) = T.
    """
    m, d = Xg.shape
    k = T.shape[1]
    if not exact:
        mean = Xg.mean(axis=0)
        t0 = T.mean(axis=0)
        V = np.linalg.lstsq(Xg - mean, T - t0, rcond=None)[0].T if m > 1 else np.zeros((k, d))
        return V, t0 - V @ mean
    A = np.concatenate([Xg, np.ones((m, 1), dtype=object)], axis=1)
    V = np.empty((k, d), dtype=object)
    t = np.empty(k, dtype=object)
    for j in range(k):
        R, piv = _rref(np.concatenate([A, T[:, j : j + 1]], axis=1))
        sol = np.zeros(d + 1, dtype=object)
        sol[:] = 0
        for i, p in enumerate(piv):
            sol[p] = R[i, d + 1]  # free variables 0; pivots never hit the last column (consistent)
        V[j] = _exact.to_exact_array(sol[:d])
        t[j] = _exact.exact_scalar(sol[d])
    return V, t


@register(
    "bubeck2020",
    summary="Bubeck et al. 2020, Prop 4: one hidden layer of 4⌈N/d⌉ ReLUs (2+2k per group for k outputs), real labels, points in general position.",
    task="regression",
    architecture=architecture,
    reference=_REFERENCE,
    aliases=("baum_relu",),
)
def bubeck2020(X, y, *, rng=None, exact: bool = False) -> Network:
    """Build the ReLU Baum network: one hidden layer of 4⌈N/d⌉ ReLUs interpolating real labels.

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,) or (N, k)
        Real labels; k outputs cost 2 + 2k ReLUs per group.
    rng : None, int or numpy.random.Generator
        Seeds the grouping and the normals of under-full groups (``None`` means seed 0).
    exact : bool, default False
        Build in exact rational arithmetic (small data); the error is then exactly 0.

    Returns
    -------
    Network
        ``Dense(W×d, relu) → Dense(k×W)`` with W = (2 + 2k)⌈N/d⌉ on data in general position.
        ``meta``: ``theorem_units``, ``extra_units`` (units added on degenerate data), the
        smallest ε and δ, margins, ``error_estimate`` (a float64 error prediction).

    Notes
    -----
    Proposition 4 (Bubeck et al. 2020): N points in general position in R^d with real labels are
    interpolated by a two-layer ReLU network with 4⌈N/d⌉ neurons. Recipe per group G (≤ d
    points, affinely independent): hyperplane ``a`` through G with margin γ; label map ``s`` with
    ``s = y − b₀`` on G (``b₀``, the output bias, is the midrange of the labels, which halves |s|);
    finite ε and δ chosen per group in closed form to make δ as large as possible:

        δ = min_{x ∉ G} (|a(x)| − 2ρ) / (3S + s⁻(x)),   ε = ρ + 2δS,

    where S = max_G |s|, s⁻(x) is the part of s(x) that points into the slab (−s for a > 0, s for
    a < 0, else 0), and ρ bounds the float64 rounding of a (ρ = 0 exactly). Then the group's
    four ReLUs give s on G (slack δS) and exactly 0 on every other point (slack δS). δ is a power
    of two in float64, so the 1/δ that sits in the hidden weights is an exact rescaling.

    Exactness: in rational arithmetic the output equals y exactly on every point. In float64 the
    error comes from points on the positive side of a slab, where all four units are active and
    cancel; it scales like 2⁻⁵³·‖x‖/δ summed over those slabs (``docs/bubeck2020.md``).

    Degenerate data: groups are sized by the affine hull of the data (digits: 61 instead of 64)
    and a group whose hyperplane meets another point gives up points (never perturbs them); the
    extra units are in ``meta["extra_units"]``.

    References
    ----------
    S. Bubeck, R. Eldan, Y. T. Lee, D. Mikulincer. Network size and weights size for memorization
    with two-layers neural networks. NeurIPS 2020, Proposition 4. E. B. Baum, On the capabilities
    of multilayer perceptrons, J. Complexity 4 (1988).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((100, 10)), rng.uniform(-1, 1, 100)
    >>> net = memorize.build("bubeck2020", X, y)
    >>> net.widths
    (40,)
    >>> bool(memorize.verify(net, X, y).max_error < 1e-9)
    True
    """
    data: Dataset = prepare(X, y, task="regression")
    gen = as_rng(rng)
    n, d = data.X.shape
    k = data.k
    hull = None
    if exact:
        hull = affine_hull(data.X, exact=True)
    elif n * d * min(n, d) <= _HULL_SVD_MAX:
        hull = affine_hull(data.X, rng=gen)
    size = max(1, min(d, d if hull is None else hull.dim))
    groups = split_groups(n, size, n_groups=-(-n // size), rng=gen)
    slabs = build_slabs(data.X, groups, rng=gen, exact=exact, max_size=size, hull=hull)
    G = slabs.n_groups

    if exact:
        Xw = _exact.to_exact_array(data.X)
        Y = _exact.to_exact_array(data.Y)
        lo = np.array([min(Y[:, j]) for j in range(k)], dtype=object)
        hi = np.array([max(Y[:, j]) for j in range(k)], dtype=object)
        b0 = np.array([_exact.exact_scalar(Fraction(lo[j] + hi[j]) / 2) for j in range(k)], dtype=object)
    else:
        Xw = data.X
        Y = data.Y
        b0 = (Y.min(axis=0) + Y.max(axis=0)) / 2
    T = Y - b0

    dt = object if exact else np.float64
    Vs = np.zeros((G, k, d), dtype=dt)
    ts = np.zeros((G, k), dtype=dt)
    for g, grp in enumerate(slabs.groups):
        Vs[g], ts[g] = _label_maps(Xw[grp], T[grp], exact)

    eps = np.empty(G, dtype=dt)
    delta = np.empty(G, dtype=dt)
    est = 0.0
    xnorm = 0.0 if exact else float(np.max(np.linalg.norm(data.X, axis=1)))
    block = max(1, (1 << 22) // max(n * (k + 1), 1))
    for start in range(0, G, block):
        sl = slice(start, min(G, start + block))
        A = slab_values(Xw, slabs.normals[sl], slabs.offsets[sl])  # (n, g)
        Sx = np.stack([slab_values(Xw, Vs[sl, j], -ts[sl, j]) for j in range(k)], axis=2)  # (n, g, k)
        for jj in range(A.shape[1]):
            g = start + jj
            grp = slabs.groups[g]
            a = A[:, jj]
            s = Sx[:, jj, :]
            rho = 0 if exact else 2.0 * float(slabs.rounding[g] + slabs.residuals[g])
            S = max(abs(v) for v in s[grp].ravel()) if exact else float(np.max(np.abs(s[grp])))
            mask = np.ones(n, dtype=bool)
            mask[grp] = False
            if exact:
                ao, so = a[mask], s[mask]
                pos = np.array([v > 0 for v in ao], dtype=bool)
                sneg = np.array([max(0, max(-v for v in row)) if p else max(0, max(row)) for row, p in zip(so, pos)], dtype=object)
                if ao.size == 0:
                    eps_g, del_g = 1, (Fraction(1, 2) / S if S else 1)
                elif S == 0:  # zero targets on G: s ≡ 0, any thin slab works
                    eps_g = min(abs(v) for v in ao) / 2
                    bad = [(abs(v) - eps_g) / (2 * sb) for v, sb in zip(ao, sneg) if sb > 0]
                    del_g = min(bad) if bad else 1
                else:
                    del_g = min(abs(v) / (3 * S + sb) for v, sb in zip(ao, sneg))
                    eps_g = 2 * del_g * S
                eps[g] = _exact.exact_scalar(Fraction(eps_g))
                delta[g] = _exact.exact_scalar(Fraction(del_g))
                continue
            ao, so = a[mask], s[mask]
            sneg = np.where(ao[:, None] > 0, np.maximum(-so, 0.0), np.maximum(so, 0.0)).max(axis=1) if ao.size else ao
            room = np.abs(ao) - 2.0 * rho
            if ao.size == 0:
                e, dl = 1.0 + rho, (0.5 / S if S > 0 else 1.0)
            elif S == 0.0:  # zero targets on G: s ≡ 0, any thin slab works
                e = rho + float(np.min(room)) / 2
                bad = sneg > 0
                dl = float(np.min((np.abs(ao[bad]) - e - rho) / (2 * sneg[bad]))) if bad.any() else 1.0
            else:
                dl = float(np.min(room / (3.0 * S + sneg)))
                e = rho + 2.0 * dl * S
            if not (dl > 0 and e > rho):
                raise ConstructionError(f"bubeck2020: no admissible (ε, δ) for group {g}; this is a bug")
            if S > 0.0:
                dl = float(2.0 ** np.floor(np.log2(dl)))  # power of two: 1/δ scales exactly
                e = rho + 2.0 * dl * S
            eps[g], delta[g] = e, dl
            # cancellation estimate: four rounded pre-activations of size ~(‖x‖ + |c| + ε)/δ
            est = max(est, float(U_FP * 8 * (xnorm + abs(float(slabs.offsets[g])) + e) / dl))

    # weights: per group units [1_j for each output j] + [2] + [3_j ...] + [4]; 1/δ in the hidden rows
    per = 2 + 2 * k
    W1 = np.zeros((per * G, d), dtype=dt)
    b1 = np.zeros(per * G, dtype=dt)
    W2 = np.zeros((k, per * G), dtype=dt)
    if exact:
        W1[:] = 0
        b1[:] = 0
        W2[:] = 0
    inv = np.array([Fraction(1) / v for v in delta], dtype=object) if exact else 1.0 / delta.astype(np.float64)
    for g in range(G):
        u, c = slabs.normals[g], slabs.offsets[g]
        base = per * g
        ig, e = inv[g], eps[g]
        for j in range(k):
            W1[base + j] = u * ig + Vs[g, j]
            b1[base + j] = (e - c) * ig + ts[g, j]
            W1[base + k + 1 + j] = u * ig + Vs[g, j]
            b1[base + k + 1 + j] = (-e - c) * ig + ts[g, j]
            W2[j, base + j] = 1
            W2[j, base + k + 1 + j] = -1
            W2[j, base + k] = -1
            W2[j, base + 2 * k + 1] = 1
        W1[base + k] = u * ig
        b1[base + k] = (e - c) * ig
        W1[base + 2 * k + 1] = u * ig
        b1[base + 2 * k + 1] = (-e - c) * ig
    theorem_units = per * (-(-n // d))
    meta = {
        "method": "bubeck2020",
        "theorem_units": theorem_units,
        "extra_units": per * G - theorem_units,
        "output_bias": [float(v) for v in b0],
        "min_epsilon": float(min(eps)) if G else None,
        "min_delta": float(min(delta)) if G else None,
        "n_duplicates_merged": data.n_duplicates,
        **{f"slabs_{key}": v for key, v in slabs.summary().items()},
    }
    if not exact:
        meta["error_estimate"] = est
    net = Network([Dense(W1, b1, relu), Dense(W2, b0.copy())], meta)
    out = net(Xw)
    ymax = max(abs(v) for v in Y.ravel()) if exact else float(np.max(np.abs(Y)))
    check_self(out, Y, default_tol(ymax, exact), method="bubeck2020", index=data.index)
    return net
