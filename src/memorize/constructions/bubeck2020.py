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
from ..errors import ArgumentError, ConstructionError
from ..network import Dense, Network
from ..registry import Architecture, PaperSize, register
from ..verify import check_self, default_tol
from .._linalg import rref as _rref
from ._slabs import plan_group_size, U_FP, build_slabs, fit_hyperplane, rounding_bound, slab_values, split_groups

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


def paper_size(n: int, dx: int, dy: int = 1, **_options) -> PaperSize | None:
    """Proposition 4's 4⌈N/d⌉ neurons (stated for scalar labels only)."""
    if dy != 1:
        return None
    w = 4 * -(-n // dx)
    return PaperSize((w,), w, "4⌈N/d⌉ (Bubeck et al. 2020, Prop 4)")


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


_THETA = 0.1  # relative slack of the slab conditions (on the group and off it)


def _eps_delta_float(a: np.ndarray, s: np.ndarray, members: np.ndarray, rho: float) -> tuple[float, float, float, int]:
    """Largest admissible δ (rounded down to a power of two) and its ε for one group, float64.

    ``a`` (n,) slab values, ``s`` (n, k) label maps, ``members`` the group's rows, ``rho`` a bound
    on the rounding of a. Conditions with slack θ: δS(1+θ) ≤ ε − ρ on the group and
    |a| − ρ − ε ≥ δ(s⁻ + θS) off it. Returns (ε, δ, S, row of the binding point or −1).
    """
    n = a.shape[0]
    mask = np.ones(n, dtype=bool)
    mask[members] = False
    S = float(np.max(np.abs(s[members]))) if members.size else 0.0
    ao = a[mask]
    if ao.size == 0:
        return 1.0 + rho, (0.5 / S if S > 0 else 1.0), S, -1
    others = np.flatnonzero(mask)
    so = s[mask]
    sneg = np.where(ao[:, None] > 0, np.maximum(-so, 0.0), np.maximum(so, 0.0)).max(axis=1)
    room = np.abs(ao) - 2.0 * rho
    if S == 0.0:  # zero targets on G: s ≡ 0, any thin slab works
        e = rho + float(np.min(room)) / 2
        bad = sneg > 0
        dl = float(np.min((np.abs(ao[bad]) - e - rho) / (2 * sneg[bad]))) if bad.any() else 1.0
        return e, dl, S, int(others[np.argmin(room)])
    ratio = room / ((2.0 + 2.0 * _THETA) * S + sneg)
    j = int(np.argmin(ratio))
    dl = float(ratio[j])
    if not dl > 0:
        return float("nan"), 0.0, S, int(others[j])
    dl = float(2.0 ** np.floor(np.log2(dl)))  # a power of two: the 1/δ in the weights is exact
    return rho + (1.0 + _THETA) * dl * S, dl, S, int(others[j])


def _eval_group(X, T, grp, gen, basis, xnorm):
    """Hyperplane, label map and (ε, δ) of one candidate group (float64), or None if invalid."""
    n, d = X.shape
    u, c, rank = fit_hyperplane(X[grp], rng=gen, basis=basis)
    if rank != len(grp) - 1:
        return None
    a = X @ u - c
    res = float(np.max(np.abs(a[grp])))
    rb = float(rounding_bound(xnorm, c, d))
    mask = np.ones(n, dtype=bool)
    mask[grp] = False
    if mask.any() and not float(np.min(np.abs(a[mask]))) > 64.0 * (rb + res):
        return None
    V, t = _label_maps(X[grp], T[grp], False)
    e, dl, _, bind = _eps_delta_float(a, X @ V.T + t, grp, 2.0 * (rb + res))
    if not (dl > 0 and e > 2.0 * (rb + res)):
        return None
    return {"grp": np.sort(grp), "u": u, "c": c, "V": V, "t": t, "eps": e, "delta": dl, "bind": bind}


def _improve(X, T, state, gen, basis, xnorm, max_evals):
    """Local search on the grouping: raise the smallest δ by swapping points between groups.

    The weakest group swaps one of its points with its binding point (the other point that
    limits its δ) or with a random point; a swap is kept when both new groups are valid and the
    smaller of their two δ beats the weak group's. Smaller δ means larger weights and larger
    float64 cancellation, so this directly lowers the error. Returns the number of swaps made.
    """
    import heapq

    n = X.shape[0]
    owner = np.empty(n, dtype=np.int64)
    for g, st in enumerate(state):
        owner[st["grp"]] = g
    heap = [(st["delta"], g) for g, st in enumerate(state)]
    heapq.heapify(heap)
    evals = swaps = 0
    target = float(np.median([st["delta"] for st in state])) / 4
    while heap and evals < max_evals:
        dl, g = heapq.heappop(heap)
        st = state[g]
        if dl != st["delta"] or st["bind"] < 0:
            continue  # stale heap entry, or nothing to swap with
        if dl >= target:
            break
        G_pts = st["grp"]
        cands = []
        q = st["bind"]
        for p in gen.permutation(G_pts)[: min(len(G_pts), 6)]:
            cands.append((int(p), int(q)))
        for _ in range(3):
            q2 = int(gen.integers(n))
            if owner[q2] != g:
                cands.append((int(gen.choice(G_pts)), q2))
        best = None
        for p, q in cands:
            h = int(owner[q])
            if h == g:
                continue
            Gn = np.append(G_pts[G_pts != p], q)
            Hn = np.append(state[h]["grp"][state[h]["grp"] != q], p)
            evals += 2
            sg = _eval_group(X, T, Gn, gen, basis, xnorm)
            if sg is None:
                continue
            sh = _eval_group(X, T, Hn, gen, basis, xnorm)
            if sh is None:
                continue
            score = min(sg["delta"], sh["delta"])
            if score > dl and (best is None or score > best[0]):
                best = (score, h, sg, sh)
        if best is None:
            continue  # stuck: leave this group as it is
        _, h, sg, sh = best
        state[g], state[h] = sg, sh
        owner[sg["grp"]] = g
        owner[sh["grp"]] = h
        heapq.heappush(heap, (sg["delta"], g))
        heapq.heappush(heap, (sh["delta"], h))
        swaps += 1
    return swaps


# Hidden units are laid out in blocks of _LAYOUT_BLOCK groups: [1_1 of the block's groups]
# [1_2 ...] ... [2 ...] [3_j ...] [4 ...]. On the positive side of a slab its four units are all
# active with values ~|a|/δ that cancel only in exact arithmetic. A BLAS dot product sums in
# L interleaved SIMD accumulators (L = 4 for AVX2 doubles); with this layout each accumulator
# receives a group's +h₁ and −h₂ (and −h₃, +h₄) within two block lengths, so partial sums stay
# small. The naive layout [1, 2, 3, 4] per group spreads them over four accumulators whose
# partial sums grow with N: at N = 10⁴, d = 10 it measured 3.0e-8 against 4.5e-10 here.
_LAYOUT_BLOCK = 8


def _unit_index(g: np.ndarray, tau: int, per: int, G: int) -> np.ndarray:
    """Position of unit type ``tau`` of groups ``g`` in the hidden layer (block layout)."""
    blk = g // _LAYOUT_BLOCK
    start = blk * _LAYOUT_BLOCK
    size = np.minimum(_LAYOUT_BLOCK, G - start)
    return per * start + tau * size + (g - start)


def _order_groups(n: int, size: int, T: np.ndarray, grouping: str, gen) -> list:
    n_groups = -(-n // size)
    if grouping == "random":
        return split_groups(n, size, n_groups=n_groups, rng=gen)
    # "labels": consecutive points in label order share a group, so each group's labels are
    # nearly equal, its label map s is nearly constant (small gradient v) and δ stays large
    perm = gen.permutation(n)
    keys = [T[perm, j] for j in range(T.shape[1] - 1, -1, -1)]
    order = perm[np.lexsort(keys)]
    return [np.sort(part) for part in np.array_split(order, n_groups) if part.size]


@register(
    "bubeck2020",
    summary="Bubeck et al. 2020, Prop 4: one hidden layer of 4⌈N/d⌉ ReLUs (2+2k per group for k outputs), real labels, points in general position.",
    task="regression",
    architecture=architecture,
    reference=_REFERENCE,
    aliases=("baum_relu",),
    assumptions=("general position",),
    paper_size=paper_size,
)
def bubeck2020(X, y, *, grouping: str = "labels", optimize: bool = True, rng=None, exact: bool = False) -> Network:
    """Build the ReLU Baum network: one hidden layer of 4⌈N/d⌉ ReLUs interpolating real labels.

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,) or (N, k)
        Real labels; k outputs cost 2 + 2k ReLUs per group.
    grouping : {"labels", "random"}, default "labels"
        ``"labels"`` puts points with nearly equal labels in one group (its label map is then
        nearly constant, which keeps δ large and the float64 error small); ``"random"`` is the
        paper's arbitrary grouping.
    optimize : bool, default True
        float64 only: after grouping, swap points between the groups with the smallest δ and
        other groups while that raises the smallest δ (a local search of at most 8·G candidate
        fits, fewer when N·d is large). Larger δ means smaller weights and a smaller float64 error.
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
    hull, size = plan_group_size(data.X, exact=exact, rng=gen)
    if grouping not in ("labels", "random"):
        raise ArgumentError(f"grouping: expected 'labels' or 'random', got {grouping!r}")
    groups = _order_groups(n, size, data.Y - (data.Y.min(axis=0) + data.Y.max(axis=0)) / 2, grouping, gen)
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
                    eps_g = Fraction(min(abs(v) for v in ao)) / 2
                    bad = [Fraction(abs(v) - eps_g) / (2 * sb) for v, sb in zip(ao, sneg) if sb > 0]
                    del_g = min(bad) if bad else 1
                else:
                    del_g = min(Fraction(abs(v)) / (3 * S + sb) for v, sb in zip(ao, sneg))
                    eps_g = 2 * del_g * S
                eps[g] = _exact.exact_scalar(Fraction(eps_g))
                delta[g] = _exact.exact_scalar(Fraction(del_g))
                continue
            e, dl, _, _ = _eps_delta_float(a, s, grp, rho)
            if not (dl > 0 and e > rho):
                raise ConstructionError(f"bubeck2020: no admissible (ε, δ) for group {g}; this is a bug")
            eps[g], delta[g] = e, dl
            # cancellation estimate: four rounded pre-activations of size ~(‖x‖ + |c| + ε)/δ
            est = max(est, float(U_FP * 8 * (xnorm + abs(float(slabs.offsets[g])) + e) / dl))

    normals, offsets = slabs.normals, slabs.offsets
    swaps = 0
    if not exact and optimize and G > 1:
        state = []
        for g, grp in enumerate(slabs.groups):
            state.append({"grp": grp, "u": normals[g], "c": offsets[g], "V": Vs[g], "t": ts[g], "eps": eps[g], "delta": delta[g], "bind": -1})
        # binding points of the weak groups (cheap: recomputed only for them)
        weak = np.argsort(delta.astype(np.float64))[: max(1, G // 4)]
        for g in weak:
            st = state[g]
            a = Xw @ st["u"] - st["c"]
            rho = 2.0 * float(slabs.rounding[g] + slabs.residuals[g])
            st["bind"] = _eps_delta_float(a, Xw @ st["V"].T + st["t"], st["grp"], rho)[3]
        swaps = _improve(Xw, T, state, gen, hull.basis if hull is not None else None, xnorm, max_evals=max(50, min(8 * G, int(4e8 / (n * d + 50 * d * d)))))
        normals = np.array([st["u"] for st in state])
        offsets = np.array([st["c"] for st in state])
        Vs = np.array([st["V"] for st in state]).reshape(G, k, d)
        ts = np.array([st["t"] for st in state]).reshape(G, k)
        eps = np.array([st["eps"] for st in state])
        delta = np.array([st["delta"] for st in state])
        est = max(float(U_FP * 8 * (xnorm + abs(float(offsets[g])) + eps[g]) / delta[g]) for g in range(G))

    # Units of a group: types 1_j (one per output j), 2, 3_j, 4, with 1/δ inside the hidden rows
    # (δ is a power of two, so this is an exact rescaling and the output weights are ±1).
    per = 2 + 2 * k
    W1 = np.zeros((per * G, d), dtype=dt)
    b1 = np.zeros(per * G, dtype=dt)
    W2 = np.zeros((k, per * G), dtype=dt)
    if exact:
        W1[:] = 0
        b1[:] = 0
        W2[:] = 0
    inv = np.array([Fraction(1) / v for v in delta], dtype=object) if exact else 1.0 / delta.astype(np.float64)
    g_all = np.arange(G)
    base_rows = normals * inv[:, None]
    up = (eps - offsets) * inv
    dn = (-eps - offsets) * inv
    for tau in range(per):
        idx = _unit_index(g_all, tau, per, G)
        if tau < k:  # unit 1_j
            W1[idx] = base_rows + Vs[:, tau]
            b1[idx] = up + ts[:, tau]
            W2[tau, idx] = 1
        elif tau == k:  # unit 2
            W1[idx] = base_rows
            b1[idx] = up
            W2[:, idx] = -1
        elif tau < 2 * k + 1:  # unit 3_j
            j = tau - k - 1
            W1[idx] = base_rows + Vs[:, j]
            b1[idx] = dn + ts[:, j]
            W2[j, idx] = -1
        else:  # unit 4
            W1[idx] = base_rows
            b1[idx] = dn
            W2[:, idx] = 1
    theorem_units = per * (-(-n // d))
    meta = {
        "method": "bubeck2020",
        "theorem_units": theorem_units,
        "extra_units": per * G - theorem_units,
        "output_bias": [float(v) for v in b0],
        "min_epsilon": float(min(eps)) if G else None,
        "min_delta": float(min(delta)) if G else None,
        "n_duplicates_merged": data.n_duplicates,
        "grouping": grouping,
        "swaps": swaps,
        **{f"slabs_{key}": v for key, v in slabs.summary().items()},
    }
    if not exact:
        meta["error_estimate"] = est
    net = Network([Dense(W1, b1, relu), Dense(W2, b0.copy())], meta)
    out = net(Xw)
    ymax = max(abs(v) for v in Y.ravel()) if exact else float(np.max(np.abs(Y)))
    check_self(out, Y, default_tol(ymax, exact), method="bubeck2020", index=data.index)
    return net
