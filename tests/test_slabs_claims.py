"""The intermediate claims of the slab proofs, checked step by step on small random data.

Each test calls the step functions of a builder in the order of its proof and asserts the claim
each step states: exactly in exact arithmetic, and in float64 where the claim is exact there too
(threshold units, saturated hard-tanh units). Small integer grids are far from general position,
so they also exercise the repair of failing groups.
"""

import numpy as np
from hypothesis import given, settings, strategies as st

import memorize
from memorize._arith import EXACT, FLOAT64, arithmetic
from memorize.activations import step
from memorize.constructions import _slabs as S
from memorize.constructions import baum1988 as B
from memorize.constructions import bubeck2020 as BB
from memorize.constructions.yun2019 import one_hidden as OH
from memorize.data import prepare
from memorize.network import Dense

_FAST = dict(max_examples=15, deadline=None)


def _grid(seed: int, n: int, d: int) -> np.ndarray:
    """Distinct points of a small integer grid (often not in general position)."""
    return np.unique(np.random.default_rng(seed).integers(-3, 4, (n, d)).astype(float), axis=0)


def _membership(n: int, groups) -> np.ndarray:
    """(n, G) 0/1 matrix: entry (i, g) is 1 when point i is in group g."""
    M = np.zeros((n, len(groups)), dtype=int)
    for g, grp in enumerate(groups):
        M[grp, g] = 1
    return M


def _as_ints(H) -> np.ndarray:
    """Exact or float values that must be integers, as an int array (fails on anything else)."""
    H = np.asarray(H)
    out = np.asarray(EXACT.to_float(H) if H.dtype == object else H, dtype=float)
    assert np.all(out == np.round(out))
    return out.astype(int)


# ---- the shared machinery --------------------------------------------------------------------
@settings(**_FAST)
@given(n=st.integers(1, 16), d=st.integers(1, 3), c=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_slab_groups_lie_on_their_hyperplanes_and_others_keep_the_margin(n, d, c, seed):
    X = _grid(seed, n, d)
    labels = np.random.default_rng(seed + 1).integers(0, c, len(X))
    gen = np.random.default_rng(seed)
    hull, size = S.plan_group_size(X, ar=EXACT, rng=gen)
    groups = S.split_groups(len(X), size, labels=labels, rng=gen)
    ss = S.build_slabs(X, groups, rng=gen, ar=EXACT, labels=labels, max_size=size, hull=hull, allow_dependent=True)
    # the groups partition the points, are class-pure and no larger than planned
    assert sorted(np.concatenate(ss.groups).tolist()) == list(range(len(X)))
    assert all(len(set(labels[g])) == 1 and len(g) <= size for g in ss.groups)
    assert np.array_equal(ss.labels, [labels[g[0]] for g in ss.groups])
    A = np.abs(S.slab_values(EXACT.asarray(X), ss.normals, ss.offsets))
    inside = _membership(len(X), ss.groups).astype(bool)
    for g in range(ss.n_groups):
        assert all(v == 0 for v in A[inside[:, g], g])  # exactly on the hyperplane
        others = A[~inside[:, g], g]
        if others.size:
            assert min(others) == ss.margins[g] > 0  # the margin is the nearest other point
        else:
            assert ss.margins[g] == float("inf")
    assert all(r == 0 for r in ss.residuals) and not np.any(ss.rounding)


@settings(**_FAST)
@given(d=st.integers(1, 5), data=st.data())
def test_fit_hyperplane_holds_its_group_in_both_arithmetics(d, data):
    m, seed = data.draw(st.integers(1, d)), data.draw(st.integers(0, 10**6))
    P = np.random.default_rng(seed).standard_normal((m, d))
    u, c, rank = S.fit_hyperplane(P, rng=seed, ar=EXACT)
    assert all(v == 0 for v in EXACT.asarray(P) @ u - c) and any(v != 0 for v in u)
    assert rank == m - 1  # Gaussian points are affinely independent
    uf, cf, rankf = S.fit_hyperplane(P, rng=seed, ar=FLOAT64)
    assert rankf == rank and abs(np.linalg.norm(uf) - 1) < 1e-12
    assert np.max(np.abs(P @ uf - cf)) <= 64 * S.rounding_bound(np.max(np.linalg.norm(P, axis=1)), cf, d)


def test_rounding_bound_is_zero_without_rounding():
    assert S.rounding_bound(3.0, np.array([1.0, -2.0]), 4, u=0).tolist() == [0.0, 0.0]
    assert S.rounding_bound(3.0, 1.0, 4) > 0


# ---- Baum 1988 -------------------------------------------------------------------------------
@settings(**_FAST)
@given(n=st.integers(1, 16), d=st.integers(1, 3), seed=st.integers(0, 10**6), exact=st.booleans())
def test_baum_slab_units_are_one_on_their_group_and_zero_elsewhere(n, d, seed, exact):
    X = _grid(seed, n, d)
    y = np.random.default_rng(seed + 1).choice([0.0, 1.0], len(X))
    ar, gen = arithmetic(exact), np.random.default_rng(seed)
    majority, minority, P = B.split_classes(y[:, None])
    assert 2 * P.size <= len(X) and np.all(y[P] == minority) and np.all(np.delete(y, P) == majority)
    groups, hull, size = B.group_minority(ar, X, P, gen)
    assert sorted(np.concatenate(groups).tolist() if groups else []) == P.tolist()
    slabs = S.build_slabs(X, groups, rng=gen, ar=ar, max_size=size, hull=hull, allow_dependent=True)
    W1, b1 = B.slab_units(ar, slabs)
    H = _as_ints(Dense(W1, b1, step).forward(ar.asarray(X)))
    assert np.array_equal(H[:, 0::2] - H[:, 1::2], _membership(len(X), slabs.groups))


# ---- Bubeck et al. 2020 ----------------------------------------------------------------------
@settings(**_FAST)
@given(n=st.integers(1, 12), d=st.integers(1, 3), k=st.integers(1, 2), seed=st.integers(0, 10**6),
       grouping=st.sampled_from(["labels", "random"]))
def test_bubeck_steps_exact(n, d, k, seed, grouping):
    ar, gen = EXACT, np.random.default_rng(seed)
    X = _grid(seed, n, d)
    data = prepare(X, np.random.default_rng(seed + 1).integers(-3, 4, (len(X), k)).astype(float))
    slabs, _ = BB.group_points(ar, data, grouping, gen)
    Xe, Y = ar.asarray(data.X), ar.asarray(data.Y)
    b0, T = BB.label_targets(ar, Y)
    for j in range(k):  # the midrange bias halves the targets
        assert max(abs(v) for v in T[:, j]) == (max(Y[:, j]) - min(Y[:, j])) / 2
    V, t = BB.label_maps(ar, Xe, T, slabs)
    for g, grp in enumerate(slabs.groups):  # s = y − b₀ on the group, exactly
        assert np.array_equal(Xe[grp] @ V[g].T + t[g], T[grp])
    eps, delta = BB.slab_widths(ar, Xe, slabs, V, t)
    rule = BB.EXACT_RULE
    A = S.slab_values(Xe, slabs.normals, slabs.offsets)
    for g, grp in enumerate(slabs.groups):
        s = Xe @ V[g].T + t[g]
        S_g = max(abs(v) for v in s[grp].ravel())
        assert delta[g] > 0 and eps[g] - delta[g] * S_g >= (rule.c - 1) * delta[g] * S_g  # on the group
        for i in np.setdiff1d(np.arange(len(Xe)), grp):  # off the group, with the rule's slack
            a = A[i, g]
            inward = max([0] + [(-v if a > 0 else v) for v in s[i]])
            assert abs(a) - eps[g] - delta[g] * inward >= (rule.K - rule.c) * delta[g] * S_g
    units = BB.GroupUnits(slabs.normals, slabs.offsets, V, t, eps, delta)
    hidden, output = BB.four_unit_layers(ar, units, b0)
    H = hidden.forward(Xe)
    per, G = 2 + 2 * k, slabs.n_groups
    inside = _membership(len(Xe), slabs.groups).astype(bool)
    for g in range(G):
        idx = [int(BB.unit_index(np.array([g]), tau, per, G)[0]) for tau in range(per)]
        assert sorted(np.flatnonzero(np.any(output.weight[:, idx] != 0, axis=0))) == list(range(per))
        contrib = H[:, idx] @ output.weight[:, idx].T  # (n, k): what group g adds to the outputs
        assert np.array_equal(contrib[inside[:, g]], T[inside[:, g]])  # s on the group
        assert all(v == 0 for v in contrib[~inside[:, g]].ravel())  # exactly 0 off the slab
    assert np.array_equal(output.forward(H), Y)


@settings(**_FAST)
@given(n=st.integers(2, 30), d=st.integers(1, 4), k=st.integers(1, 2), seed=st.integers(0, 10**6))
def test_bubeck_float_widths_keep_the_slack_of_their_rule(n, d, k, seed):
    rng = np.random.default_rng(seed)
    data = prepare(rng.standard_normal((n, d)), rng.uniform(-1, 1, (n, k)))
    slabs, _ = BB.group_points(FLOAT64, data, "labels", rng)
    b0, T = BB.label_targets(FLOAT64, data.Y)
    V, t = BB.label_maps(FLOAT64, data.X, T, slabs)
    eps, delta = BB.slab_widths(FLOAT64, data.X, slabs, V, t)
    rule, A = BB.FLOAT_RULE, S.slab_values(data.X, slabs.normals, slabs.offsets)
    for g, grp in enumerate(slabs.groups):
        s = data.X @ V[g].T + t[g]
        assert np.allclose(s[grp], T[grp], atol=1e-12)
        S_g = np.max(np.abs(s[grp]))
        rho = 2 * (slabs.rounding[g] + slabs.residuals[g])
        outside = np.ones(n, dtype=bool)
        outside[grp] = False
        if not outside.any() or S_g == 0:
            continue  # the special cases take other widths, not rounded to a power of two
        assert np.frexp(delta[g])[0] == 0.5  # a power of two: the 1/δ in the hidden rows is exact
        assert eps[g] - rho - delta[g] * S_g >= 0.99 * (rule.c - 1) * delta[g] * S_g
        a = A[outside, g]
        inward = np.max(np.where(a[:, None] > 0, np.maximum(-s[outside], 0), np.maximum(s[outside], 0)), axis=1)
        assert np.all(np.abs(a) - rho - eps[g] - delta[g] * inward >= 0.99 * (rule.K - rule.c) * delta[g] * S_g)


@settings(max_examples=8, deadline=None)
@given(n=st.integers(2, 40), d=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_bubeck_local_search_never_lowers_the_smallest_delta(n, d, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, d)), rng.uniform(-1, 1, n)
    plain = memorize.build("bubeck2020", X, y, rng=seed, optimize=False)
    searched = memorize.build("bubeck2020", X, y, rng=seed)
    assert searched.meta["min_delta"] >= plain.meta["min_delta"]


# ---- Yun et al. 2019, Corollary 4.2 ----------------------------------------------------------
_ACTS = {"relu": "relu", "leaky": memorize.relu_like(1.0, 0.25), "hardtanh": "hardtanh"}


def _bumps(ar, X, labels, k, act, seed):
    gen = np.random.default_rng(seed)
    groups, hull, size = OH.class_groups(ar, X, labels, k, gen)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(X)))
    assert all(len(set(labels[g])) == 1 and len(g) <= size for g in groups)
    slabs = S.build_slabs(X, groups, rng=gen, ar=ar, labels=labels, max_size=size, hull=hull, allow_dependent=True)
    M = OH.gains(ar, slabs)
    W1, b1, coef = OH.bump_units(ar, OH._activation(act), slabs, M)
    H = Dense(W1, b1, OH._activation(act)).forward(ar.asarray(X))
    bumps = H.reshape(len(X), slabs.n_groups, len(coef)) @ coef  # (n, G): group-major layout
    return slabs, M, H, coef, bumps


@settings(**_FAST)
@given(n=st.integers(1, 14), d=st.integers(1, 3), c=st.integers(1, 3), seed=st.integers(0, 10**6),
       act=st.sampled_from(sorted(_ACTS)))
def test_one_hidden_bump_is_exactly_one_on_its_group_and_zero_on_others(n, d, c, seed, act):
    X = _grid(seed, n, d)
    labels = np.unique(np.random.default_rng(seed + 1).integers(0, c, len(X)), return_inverse=True)[1]
    k = int(labels.max()) + 1
    slabs, M, H, coef, bumps = _bumps(EXACT, X, labels, k, _ACTS[act], seed)
    finite, gamma = slabs.finite_margins()
    assert all(m * g == 3 for m, g in zip(M[finite], gamma[finite]))  # |t| ≥ 3 at every other point
    assert np.array_equal(_as_ints(bumps), _membership(len(X), slabs.groups))
    out = OH.route_to_classes(EXACT, slabs.labels, coef, k).forward(H)
    assert np.array_equal(_as_ints(out), np.eye(k, dtype=int)[labels])


@settings(**_FAST)
@given(n=st.integers(1, 60), d=st.integers(1, 6), c=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_one_hidden_float_gains_and_hardtanh_bumps(n, d, c, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    labels = np.unique(rng.integers(0, c, n), return_inverse=True)[1]
    k = int(labels.max()) + 1
    slabs, M, _, _, bumps = _bumps(FLOAT64, X, labels, k, "hardtanh", seed)
    finite, gamma = slabs.finite_margins()
    assert np.all(np.frexp(M)[0] == 0.5) and np.all(M[finite] * gamma[finite] >= 4)
    # saturated hard-tanh units: the bumps are exactly 1 and 0 in float64 too
    assert np.array_equal(bumps, _membership(n, slabs.groups).astype(float))
