"""Bubeck, Eldan, Lee, Mikulincer 2020, Proposition 4: the ReLU Baum network, 4⌈N/d⌉ ReLUs.

Proposition 4: N points in general position in R^d with real labels are interpolated by a
two-layer ReLU network with 4⌈N/d⌉ neurons. Construction: groups of at most d points; through each
an affine hyperplane ``a(x) = <u, x> − c``; an affine label map ``s(x) = <v, x> + t`` with
``s = y − b₀`` on the group; and four ReLUs forming the finite difference of a slab,

    g(x) = (1/δ)[r(a + ε + δs) − r(a + ε) − r(a − ε + δs) + r(a − ε)],

which equals ``s(x)`` on the group and is exactly 0 wherever ``|a| ≥ ε + δ·s⁻`` (s⁻ the part of s
pointing into the slab).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._arith import FLOAT64, Arithmetic, arithmetic
from .._linalg import U64, rref
from ..activations import relu
from ..data import Dataset, as_rng, prepare
from ..errors import ArgumentError, ConstructionError
from ..network import Dense, Network
from ..registry import Architecture, PaperSize, register
from ..verify import check_self, default_tol
from ..precision import Format
from ._slabs import (SlabSet, build_slabs, fit_hyperplane, format_rounding_bound, plan_group_size, rounding_bound,
                     slab_values, split_groups)
from ._target import certified, in_format, refusals, target_format, tuned

__all__ = ["bubeck2020", "architecture"]

_REFERENCE = (
    "S. Bubeck, R. Eldan, Y. T. Lee, D. Mikulincer. Network size and weights size for memorization with "
    "two-layers neural networks. NeurIPS 2020, Proposition 4 (arXiv:2006.02855)."
)


#: Largest N certified in each format (benchmarks/float_limits.py --mode after: N standard Gaussian
#: points in R^32, labels uniform in [−1, 1], seeds 0–2; every N of the doubling-and-bisection grid
#: below it certified too; "measured_to" is the largest N tried). A fact about these data, not a
#: guarantee: the builder certifies its own network anyway.
FLOAT_LIMITS = {"float32": 0, "bfloat16": 3, "measured_to": 4}


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


def group_points(ar: Arithmetic, data: Dataset, grouping: str, gen: np.random.Generator, fmt: Format | None = None):
    """Step 1: groups of at most d points and a hyperplane through each.

    Claim: the groups partition the points; every group is affinely independent, lies on its
    hyperplane a(x) = <u, x> − c (exactly in exact arithmetic, within the residual in float64),
    and every other point is at least the group's margin γ > 0 away (see
    :func:`~memorize.constructions._slabs.build_slabs`). Returns the slabs and the data's affine
    hull (or None). For a target format ``fmt`` the hyperplanes are its numbers and the margins are
    checked against its rounding (:func:`~memorize.constructions._slabs.build_slabs`).
    """
    n = data.n
    hull, size = plan_group_size(data.X, ar=ar, rng=gen)
    if grouping not in ("labels", "random"):
        raise ArgumentError(f"grouping: expected 'labels' or 'random', got {grouping!r}")
    # the ordering is a float64 decision, the same in both arithmetics
    midrange = (data.Y.min(axis=0) + data.Y.max(axis=0)) / 2
    groups = _order_groups(n, size, data.Y - midrange, grouping, gen)
    return build_slabs(data.X, groups, rng=gen, ar=ar, max_size=size, hull=hull, fmt=fmt,
                       format_factor=_FORMAT_FACTOR), hull


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


def label_targets(ar: Arithmetic, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 2a: the output bias b₀ (the midrange of each label column) and the targets T = Y − b₀.

    Claim: max|T| = (max Y − min Y)/2 per column, the smallest any constant bias allows.
    """
    b0 = ar.div(Y.min(axis=0) + Y.max(axis=0), 2)
    return b0, Y - b0


def label_maps(ar: Arithmetic, X: np.ndarray, T: np.ndarray, slabs: SlabSet) -> tuple[np.ndarray, np.ndarray]:
    """Step 2b: per group g and output j, an affine map s_gj(x) = <v_gj, x> + t_gj with s = T on g.

    Claim: s_gj(x_i) = T[i, j] for every point i of group g (exactly in exact arithmetic). The
    group is affinely independent (step 1), so such a map exists. Returns V (G, k, d), t (G, k).
    """
    G, d, k = slabs.n_groups, X.shape[1], T.shape[1]
    V = ar.zeros((G, k, d))
    t = ar.zeros((G, k))
    for g, grp in enumerate(slabs.groups):
        V[g], t[g] = _label_map(ar, X[grp], T[grp])
    return V, t


def _label_map(ar: Arithmetic, Xg: np.ndarray, T: np.ndarray):
    """One group's label maps.

    float64: the minimum-norm solution around the group mean (v lies in the span of the centred
    group, hence is orthogonal to the hyperplane's normal). Exact: a rational solution of
    [P, 1](v; t) = T (free unknowns 0), found by elimination.
    """
    m, d = Xg.shape
    k = T.shape[1]
    if not ar.exact:
        mean = Xg.mean(axis=0)
        t0 = T.mean(axis=0)
        V = np.linalg.lstsq(Xg - mean, T - t0, rcond=None)[0].T if m > 1 else np.zeros((k, d))
        return V, t0 - V @ mean
    A = np.concatenate([Xg, ar.ones((m, 1))], axis=1)
    sol = ar.zeros((k, d + 1))
    for j in range(k):
        R, piv = rref(np.concatenate([A, T[:, j : j + 1]], axis=1))
        for i, p in enumerate(piv):
            sol[j, p] = R[i, d + 1]  # pivots never hit the last column: the system is consistent
    sol = ar.array(sol)
    return sol[:, :d], sol[:, d]


# ---------------------------------------------------------------------------------------------
# Step 3: the slab widths (ε, δ) of each group
# ---------------------------------------------------------------------------------------------
_THETA = 0.1  # relative slack of the float64 slab conditions
# A target format's margin acceptance: γ > 8·(rounding + residual) leaves room for ρ = 2(rounding +
# residual) on both sides of the slab and for δ·S (the four units need ε ≥ ρ + δS).
_FORMAT_FACTOR = 8.0


@dataclass(frozen=True)
class WidthRule:
    """The closed form of a group's (ε, δ) (see :func:`slab_widths`).

    ``δ = min_{x∉G} (|a(x)| − 2ρ) / (K·S + s⁻(x))`` (rounded down to a power of two when
    ``power_of_two``, which keeps both conditions) and ``ε = ρ + c·δS``. The four units then give
    s on the group with slack (c − 1)·δS and exactly 0 off it with slack (K − c)·δS.
    """

    K: float
    c: float
    power_of_two: bool


#: float64: θ = 0.1, slack θδS on the group and (1 + θ)δS off it; δ a power of two (but in the
#: special cases of :func:`eps_delta`).
FLOAT_RULE = WidthRule(2.0 + 2.0 * _THETA, 1.0 + _THETA, True)
#: exact arithmetic: slack δS on both sides, no rounding of δ.
EXACT_RULE = WidthRule(3, 2, False)


def eps_delta(ar: Arithmetic, rule: WidthRule, a: np.ndarray, s: np.ndarray, members: np.ndarray, rho):
    """ε and δ of one group by ``rule``, in the arithmetic of ``a`` and ``s``.

    ``a`` (n,) slab values, ``s`` (n, k) label maps, ``members`` the group's rows, ``rho`` a bound
    on the rounding of a (0 in exact arithmetic). Conditions: ε ≥ ρ + δS on the group (the four
    units give s there) and |a| − ρ − ε ≥ δ·s⁻ off it (they cancel to 0), where S = max_G |s| and
    s⁻(x) is the part of s(x) pointing into the slab (max over outputs of −s for a > 0, s for
    a < 0, and 0). Special cases: S = 0 (zero targets on G) takes ε = ρ + min(|a| − 2ρ)/2 and the
    largest δ with half the room left; a group without other points takes ε = 1 + ρ, δ = 1/(2S)
    (1 when S = 0). Neither special case rounds δ to a power of two.
    Returns (ε, δ, S, row of the binding point or −1); δ = 0 when no width is admissible.
    """
    outside = np.ones(a.shape[0], dtype=bool)
    outside[members] = False
    zero = ar.scalar(0)
    S = ar.max(np.abs(s[members])) if members.size else zero
    ao = a[outside]
    if ao.size == 0:
        return 1 + rho, (ar.div(ar.const(1, 2), S) if S > 0 else ar.const(1)), S, -1
    others = np.flatnonzero(outside)
    so = s[outside]
    sneg = np.where(np.asarray(ao[:, None] > 0, dtype=bool), np.maximum(-so, zero), np.maximum(so, zero)).max(axis=1)
    room = np.abs(ao) - 2 * rho
    if S == 0:
        e = rho + ar.div(ar.min(room), 2)
        bad = np.asarray(sneg > 0, dtype=bool)
        dl = ar.min(ar.div(np.abs(ao[bad]) - e - rho, 2 * sneg[bad])) if bad.any() else ar.const(1)
        return e, dl, S, int(others[np.argmin(room)])
    ratio = ar.div(room, rule.K * S + sneg)
    j = int(np.argmin(ratio))
    dl = ar.scalar(ratio[j])
    if not dl > 0:
        return float("nan"), 0.0, S, int(others[j])
    if rule.power_of_two:
        dl = float(2.0 ** np.floor(np.log2(dl)))  # the 1/δ in the hidden weights is then exact
    return rho + rule.c * dl * S, dl, S, int(others[j])


def slab_widths(ar: Arithmetic, X: np.ndarray, slabs: SlabSet, V: np.ndarray, t: np.ndarray):
    """Step 3: the largest admissible slab widths (ε, δ) of every group (see :class:`WidthRule`).

    Claim: for every group, ε ≥ ρ + δS and |a(x)| − ρ − ε ≥ δ·s⁻(x) at every other point, with
    ρ the rigorous float64 rounding bound of a plus the on-group residual (twice, 0 exactly).
    Raises :class:`ConstructionError` if a group has no admissible width (a bug: the margins of
    step 1 guarantee one).
    """
    rule = EXACT_RULE if ar.exact else FLOAT_RULE
    n, k, G = X.shape[0], t.shape[1], slabs.n_groups
    eps = np.empty(G, dtype=ar.dtype)
    delta = np.empty(G, dtype=ar.dtype)
    block = max(1, (1 << 22) // max(n * (k + 1), 1))
    for start in range(0, G, block):
        sl = slice(start, min(G, start + block))
        A = slab_values(X, slabs.normals[sl], slabs.offsets[sl])  # (n, g)
        Sx = np.stack([slab_values(X, V[sl, j], -t[sl, j]) for j in range(k)], axis=2)  # (n, g, k)
        for jj in range(A.shape[1]):
            g = start + jj
            rho = ar.tol(2.0 * float(slabs.rounding[g] + slabs.residuals[g]))
            e, dl, _, _ = eps_delta(ar, rule, A[:, jj], Sx[:, jj, :], slabs.groups[g], rho)
            if not (dl > 0 and e > rho):
                raise ConstructionError(f"bubeck2020: no admissible (ε, δ) for group {g}; this is a bug")
            eps[g], delta[g] = e, dl
    return eps, delta


# ---------------------------------------------------------------------------------------------
# Step 4 (float64): local search on the grouping
# ---------------------------------------------------------------------------------------------
@dataclass
class GroupUnits:
    """Everything the four units of each group need: hyperplanes, label maps and widths."""

    normals: np.ndarray  # (G, d)
    offsets: np.ndarray  # (G,)
    V: np.ndarray  # (G, k, d)
    t: np.ndarray  # (G, k)
    eps: np.ndarray  # (G,)
    delta: np.ndarray  # (G,)


def _eval_group(X, T, grp, gen, basis, xnorm, fmt: Format | None = None):
    """Hyperplane, label map and (ε, δ) of one candidate group (float64), or None if invalid.

    For a target format the hyperplane is rounded to it and checked against its rounding bound,
    as :func:`~memorize.constructions._slabs.build_slabs` does."""
    n, d = X.shape
    u, c, rank = fit_hyperplane(X[grp], rng=gen, basis=basis)
    if rank != len(grp) - 1:
        return None
    if fmt is None:
        factor, rb = 64.0, float(rounding_bound(xnorm, c, d))
    else:
        u, c = fmt.round(u), float(fmt.round(c))
        factor, rb = _FORMAT_FACTOR, float(format_rounding_bound(xnorm, c, d, fmt))
    a = X @ u - c
    res = float(np.max(np.abs(a[grp])))
    outside = np.ones(n, dtype=bool)
    outside[grp] = False
    if outside.any() and not float(np.min(np.abs(a[outside]))) > factor * (rb + res):
        return None
    V, t = _label_map(FLOAT64, X[grp], T[grp])
    e, dl, _, bind = eps_delta(FLOAT64, FLOAT_RULE, a, X @ V.T + t, grp, 2.0 * (rb + res))
    if not (dl > 0 and e > 2.0 * (rb + res)):
        return None
    return {"grp": np.sort(grp), "u": u, "c": c, "V": V, "t": t, "eps": e, "delta": dl, "bind": bind}


def _swap_candidates(st: dict, g: int, owner: np.ndarray, gen) -> list[tuple[int, int]]:
    """(member, outsider) pairs to try: up to 6 members with the binding point, 3 random outsiders."""
    G_pts = st["grp"]
    q = st["bind"]
    cands = [(int(p), int(q)) for p in gen.permutation(G_pts)[: min(len(G_pts), 6)]]
    for _ in range(3):
        q2 = int(gen.integers(owner.size))
        if owner[q2] != g:
            cands.append((int(gen.choice(G_pts)), q2))
    return cands


def _improve(X, T, state, gen, basis, xnorm, max_evals, fmt: Format | None = None):
    """Local search on the grouping: raise the smallest δ by swapping points between groups.

    The weakest group swaps one of its points with its binding point (the other point that
    limits its δ) or with a random point; a swap is kept when both new groups are valid and the
    smaller of their two δ beats the weak group's. Smaller δ means larger weights and larger
    float64 cancellation, so this directly lowers the error. Returns the number of swaps made.
    """
    import heapq

    owner = np.empty(X.shape[0], dtype=np.int64)
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
        best = None
        for p, q in _swap_candidates(st, g, owner, gen):
            h = int(owner[q])
            if h == g:
                continue
            evals += 2
            sg = _eval_group(X, T, np.append(st["grp"][st["grp"] != p], q), gen, basis, xnorm, fmt)
            if sg is None:
                continue
            sh = _eval_group(X, T, np.append(state[h]["grp"][state[h]["grp"] != q], p), gen, basis, xnorm, fmt)
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


def improve_groups(X, T, slabs: SlabSet, units: GroupUnits, gen, basis, xnorm: float,
                   fmt: Format | None = None) -> tuple[GroupUnits, int]:
    """Step 4 (float64): swap points between the weakest groups and others while the smallest δ grows.

    Claim: every group it returns still satisfies the claims of steps 1–3 (each swap re-fits and
    re-checks both groups), and no group's δ is smaller than before. Returns the new units and
    the number of swaps.
    """
    G = slabs.n_groups
    n, d = X.shape
    state = [
        {"grp": grp, "u": units.normals[g], "c": units.offsets[g], "V": units.V[g], "t": units.t[g],
         "eps": units.eps[g], "delta": units.delta[g], "bind": -1}
        for g, grp in enumerate(slabs.groups)
    ]
    # binding points of the weak groups (cheap: recomputed only for them)
    for g in np.argsort(units.delta.astype(np.float64))[: max(1, G // 4)]:
        st = state[g]
        a = X @ st["u"] - st["c"]
        rho = 2.0 * float(slabs.rounding[g] + slabs.residuals[g])
        st["bind"] = eps_delta(FLOAT64, FLOAT_RULE, a, X @ st["V"].T + st["t"], st["grp"], rho)[3]
    max_evals = max(50, min(8 * G, int(4e8 / (n * d + 50 * d * d))))
    swaps = _improve(X, T, state, gen, basis, xnorm, max_evals, fmt)
    k = units.t.shape[1]
    improved = GroupUnits(
        np.array([st["u"] for st in state]),
        np.array([st["c"] for st in state]),
        np.array([st["V"] for st in state]).reshape(G, k, d),
        np.array([st["t"] for st in state]).reshape(G, k),
        np.array([st["eps"] for st in state]),
        np.array([st["delta"] for st in state]),
    )
    return improved, swaps


# ---------------------------------------------------------------------------------------------
# Step 5: the four-unit layout
# ---------------------------------------------------------------------------------------------
# Hidden units are laid out in blocks of _LAYOUT_BLOCK groups: [1_1 of the block's groups]
# [1_2 ...] ... [2 ...] [3_j ...] [4 ...]. On the positive side of a slab its four units are all
# active with values ~|a|/δ that cancel only in exact arithmetic. A BLAS dot product sums in
# L interleaved SIMD accumulators (L = 4 for AVX2 doubles); with this layout each accumulator
# receives a group's +h₁ and −h₂ (and −h₃, +h₄) within two block lengths, so partial sums stay
# small. The naive layout [1, 2, 3, 4] per group spreads them over four accumulators whose
# partial sums grow with N: at N = 10⁴, d = 10 it measured 3.0e-8 against 4.5e-10 here.
_LAYOUT_BLOCK = 8


def unit_index(g: np.ndarray, tau: int, per: int, G: int) -> np.ndarray:
    """Position of unit type ``tau`` of groups ``g`` in the hidden layer (block layout).

    Types ``0 … k−1`` are the units 1_j, ``k`` is unit 2, ``k+1 … 2k`` the units 3_j, ``2k+1``
    unit 4 (``per = 2 + 2k``).
    """
    blk = g // _LAYOUT_BLOCK
    start = blk * _LAYOUT_BLOCK
    size = np.minimum(_LAYOUT_BLOCK, G - start)
    return per * start + tau * size + (g - start)


def four_unit_layers(ar: Arithmetic, units: GroupUnits, b0: np.ndarray) -> tuple[Dense, Dense]:
    """Step 5: per group g the units 1_j, 2, 3_j, 4 and their ±1 output weights.

    The hidden rows carry 1/δ, so output j of group g is
    ``(1/δ)[r(a + ε + δs_j) − r(a + ε) − r(a − ε + δs_j) + r(a − ε)]``. Claim: this equals s_j on
    the group and exactly 0 at every other point (the conditions of step 3); the output bias is
    b₀, so the network gives b₀ + s = y at every point. In float64 δ is a power of two (but in
    the special cases of :func:`eps_delta`), so putting 1/δ in the hidden rows is an exact
    rescaling.
    """
    G, k, d = units.t.shape[0], units.t.shape[1], units.normals.shape[1]
    per = 2 + 2 * k
    W1 = ar.zeros((per * G, d))
    b1 = ar.zeros(per * G)
    W2 = ar.zeros((k, per * G))
    inv = ar.div(1, units.delta)
    g_all = np.arange(G)
    base_rows = units.normals * inv[:, None]
    up = (units.eps - units.offsets) * inv
    dn = (-units.eps - units.offsets) * inv
    for tau in range(per):
        idx = unit_index(g_all, tau, per, G)
        if tau < k:  # unit 1_j
            W1[idx] = base_rows + units.V[:, tau]
            b1[idx] = up + units.t[:, tau]
            W2[tau, idx] = 1
        elif tau == k:  # unit 2
            W1[idx] = base_rows
            b1[idx] = up
            W2[:, idx] = -1
        elif tau < 2 * k + 1:  # unit 3_j
            j = tau - k - 1
            W1[idx] = base_rows + units.V[:, j]
            b1[idx] = dn + units.t[:, j]
            W2[j, idx] = -1
        else:  # unit 4
            W1[idx] = base_rows
            b1[idx] = dn
            W2[:, idx] = 1
    return Dense(W1, b1, relu), Dense(W2, b0.copy())


def _error_estimate(xnorm: float, units: GroupUnits) -> float:
    """Predicted float64 error: four rounded pre-activations of size ~(‖x‖ + |c| + ε)/δ."""
    if not len(units.delta):
        return 0.0
    return float(np.max(U64 * 8 * (xnorm + np.abs(units.offsets) + units.eps) / units.delta))


@register(
    "bubeck2020",
    summary="Bubeck et al. 2020, Prop 4: one hidden layer of 4⌈N/d⌉ ReLUs (2+2k per group for k outputs), real labels, points in general position.",
    task="regression",
    architecture=architecture,
    reference=_REFERENCE,
    aliases=("baum_relu",),
    assumptions=("general position",),
    paper_size=paper_size,
    float_limits=FLOAT_LIMITS,
)
def bubeck2020(X, y, *, grouping: str = "labels", optimize: bool = True, rng=None, exact: bool = False,
               dtype=None) -> Network:
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
    dtype : str, NumPy or torch dtype, optional
        Build for this format ("float32", "bfloat16", ...): on the inputs rounded to it, with
        hyperplanes of the format, margins and slab widths (ρ) from its rounding bound; weights rounded
        to it; every point certified (``meta["certificate"]``) or
        :class:`~memorize.errors.PrecisionError` (limits: :data:`FLOAT_LIMITS`; ``float_safe`` is
        correct in the format by design). None: the float64 network, uncertified.

    Returns
    -------
    Network
        ``Dense(W×d, relu) → Dense(k×W)`` with W = (2 + 2k)⌈N/d⌉ on data in general position.
        ``meta``: ``theorem_units``, ``extra_units`` (units added on degenerate data), the
        smallest ε and δ, margins, ``error_estimate`` (a float64 error prediction).

    Notes
    -----
    Proposition 4 (Bubeck et al. 2020): N points in general position in R^d with real labels are
    interpolated by a two-layer ReLU network with 4⌈N/d⌉ neurons. Recipe (the steps are the
    functions of this module, in order), per group G (≤ d points, affinely independent):
    hyperplane ``a`` through G with margin γ; label map ``s`` with ``s = y − b₀`` on G (``b₀``,
    the output bias, is the midrange of the labels, which halves |s|); finite ε and δ chosen per
    group in closed form to make δ as large as possible. With S = max_G |s|, s⁻(x) the part of
    s(x) that points into the slab (−s for a > 0, s for a < 0, else 0) and ρ a bound on the
    float64 rounding of a (ρ = 0 exactly), the four ReLUs give s on G when ε ≥ ρ + δS and exactly
    0 at x ∉ G when |a(x)| − ρ − ε ≥ δ·s⁻(x). The builder takes

        δ = min_{x ∉ G} (|a(x)| − 2ρ) / (K·S + s⁻(x)),   ε = ρ + c·δS,

    * float64: K = 2 + 2θ and c = 1 + θ with θ = 0.1, and δ rounded down to a power of two (so
      the 1/δ that sits in the hidden weights is an exact rescaling): slack θδS on G and
      (1 + θ)δS off it;
    * exact: K = 3 and c = 2, δ not rounded: slack δS on both sides. (This is not the float64
      rule with θ = 1/2 and ρ = 0, which would give ε = 1.5·δS.)

    A group with zero targets (S = 0) takes ε = ρ + min(|a| − 2ρ)/2 and δ = min over the points
    with s⁻ > 0 of (|a| − ε − ρ)/(2s⁻); a group without other points takes ε = 1 + ρ, δ = 1/(2S).
    In both special cases δ is not rounded to a power of two.

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
    fmt = target_format(dtype, exact=exact)
    data: Dataset = in_format(prepare(X, y, task="regression"), fmt, "bubeck2020")
    ar = arithmetic(exact)
    gen = as_rng(rng)
    n, d = data.X.shape
    with refusals(fmt, "bubeck2020"):
        slabs, hull = group_points(ar, data, grouping, gen, tuned(fmt))
    Xw, Y = ar.asarray(data.X), ar.asarray(data.Y)
    b0, T = label_targets(ar, Y)
    V, t = label_maps(ar, Xw, T, slabs)
    eps, delta = slab_widths(ar, Xw, slabs, V, t)
    units = GroupUnits(slabs.normals, slabs.offsets, V, t, eps, delta)
    swaps, estimate = 0, None
    if not ar.exact:  # float64 only: a local search that re-fits groups, and the error prediction
        xnorm = float(np.max(np.linalg.norm(data.X, axis=1)))
        if optimize and slabs.n_groups > 1:
            units, swaps = improve_groups(Xw, T, slabs, units, gen, None if hull is None else hull.basis, xnorm, tuned(fmt))
        estimate = _error_estimate(xnorm, units)
    hidden, output = four_unit_layers(ar, units, b0)
    G = slabs.n_groups
    theorem_units = (2 + 2 * data.k) * (-(-n // d))
    meta = {
        "method": "bubeck2020",
        "theorem_units": theorem_units,
        "extra_units": (2 + 2 * data.k) * G - theorem_units,
        **ar.summary(output_bias=b0, min_epsilon=min(units.eps) if G else None,
                     min_delta=min(units.delta) if G else None),
        "n_duplicates_merged": data.n_duplicates,
        "grouping": grouping,
        "swaps": swaps,
        **{f"slabs_{key}": v for key, v in slabs.summary().items()},
    }
    if estimate is not None:
        meta["error_estimate"] = estimate
    net = Network([hidden, output], meta)
    # Step 6: the claim checked at every point
    check_self(net(Xw), Y, default_tol(ar.max(np.abs(Y)), ar.exact), method="bubeck2020", index=data.index)
    # Step 7 (dtype given): the network in its format, certified on every point
    return certified(net, data, fmt, "bubeck2020")
