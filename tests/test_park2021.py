"""park2021 (Park, Lee, Yun, Shin 2021): exact memorization and the proof's claims, step by step.

Every check runs the partial network exactly on small data and compares with the stored integers:
the separation and norm bound are exact, the keys are distinct, each bucket's modulus is the
smallest that separates its keys and stays below the fingerprint bound, the bucket integer holds
the modulus and the labels at the keys' residues, the lookup hands on the bucket integer, the
division leaves (z − z0) mod 2^e·m_b and reads h = κ mod m_b, the read-out passes slot h alone,
and the output is the label.
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import memorize
from memorize import errors
from memorize._arith import EXACT
from memorize.constructions import _bits as B
from memorize.constructions import park2021 as P
from memorize.data import prepare
from _bits_forms import forward as _forward, form_values as _values

small = settings(max_examples=20, deadline=None)


def _data(n, d, seed, C=3, digits=3):
    rng = np.random.default_rng(seed)
    X = np.unique(np.round(rng.uniform(-1, 1, (n, d)), digits), axis=0)
    return X, rng.integers(0, C, len(X))


def _front(X, y, K=None, q=1, seed=0):
    """Steps 1–4 on (X, y), as the builder runs them."""
    data = prepare(X, y, task="classification")
    labvals, offset, _, ell = B.stored_labels(data)
    Dx, D0 = B.integer_coordinates(data.X)
    pr = B.project_to_integers(data.X, Dx, D0, np.random.default_rng(seed), 8)
    bk = P.make_buckets(pr, labvals[pr.order], ell, bucket_size=K, bits_per_layer=q)
    return dict(data=data, pr=pr, bk=bk, offset=offset, Xs=EXACT.array(data.X[pr.order]), z0=int(pr.z[0]))


def _bucket_of(f):
    N = len(f["bk"].keys)
    return np.arange(N) // f["bk"].K


def _after_lookup(f):
    """Hidden values after the projection and the lookup, and the forms they hand on."""
    bk, pr = f["bk"], f["pr"]
    layers = [B.projection_layer(pr)]
    lookup, forms = B.lookup_layers({"z": B.unit_form(0)}, 1, bk.taus, bk.V, bk.W2, "flat")
    layers += lookup
    return _forward(layers, f["Xs"]), forms, layers[-1].out_dim


# ---- the whole construction -----------------------------------------------------------------------


@small
@given(n=st.integers(1, 40), d=st.integers(1, 3), C=st.integers(1, 5), K=st.one_of(st.none(), st.integers(1, 6)),
       q=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_memorizes_exactly_and_matches_its_architecture(n, d, C, K, q, seed):
    X, y = _data(n, d, seed, C)
    K = None if K is None or K > len(X) else K
    net = memorize.build("park2021", X, y, bucket_size=K, bits_per_layer=q, rng=seed)
    assert net.is_exact
    assert memorize.verify(net, X, y).max_error == 0
    m = net.meta
    span = int(y.max() - y.min()) + 1  # integer labels are stored minus the smallest
    a = P.architecture(len(X), d, span, key_max=m["key_max"], modulus_max=m["modulus_max"],
                       quotient_bits=m["quotient_bits"], z_bits=m["z_bits"], bucket_size=K, bits_per_layer=q)
    assert a.widths == net.widths and a.num_params == net.num_params
    assert net.num_nonzero <= a.num_nonzero
    assert net.max_weight_bits <= a.max_weight_bits
    assert m["modulus_max"] <= m["modulus_bound"]


@small
@given(n=st.integers(2, 30), seed=st.integers(0, 10**6), scale=st.sampled_from([1e-6, 1.0, 1e5]),
       shift=st.sampled_from([0.0, 3.0, -1e4]))
def test_any_scale_offset_and_label_type(n, seed, scale, shift):
    rng = np.random.default_rng(seed)
    X = np.unique(rng.integers(-50, 50, (n, 2)), axis=0) * scale + shift
    words = np.array(["cat", "dog", "eel"])
    y = words[rng.integers(0, 3, len(X))]
    net = memorize.build("park2021", X, y, rng=seed)
    out = net(EXACT.array(X))[:, 0]
    classes = net.meta["classes"]
    assert [classes[int(v)] for v in out] == list(y)


def test_duplicates_merge_and_one_point():
    X = np.array([[0.0, 1.0], [0.5, 0.5], [0.0, 1.0], [2.0, 2.0]])
    y = np.array([4, 7, 4, 9])
    net = memorize.build("park2021", X, y)
    assert net.meta["n_duplicates_merged"] == 1 and memorize.verify(net, X, y).max_error == 0
    one = memorize.build("park2021", X[:1], y[:1])
    assert one(EXACT.array(X[:1]))[0, 0] == 4


def test_large_data_uses_the_decoded_self_check_and_still_memorizes():
    X, y = _data(700, 3, 5, C=10, digits=4)
    assert len(X) > P.FULL_CHECK_N
    net = memorize.build("park2021", X, y)
    assert net.meta["bucket_size"] > 1 and net.meta["modulus_max"] > 1
    assert memorize.verify(net, X, y).max_error == 0


@pytest.mark.slow
def test_memorizes_ten_thousand_points():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((10_000, 4))
    y = rng.integers(0, 10, 10_000)
    net = memorize.build("park2021", X, y)
    assert memorize.verify(net, X, y).max_error == 0
    assert net.meta["num_nonzero"] < 2 * 10_000


# ---- step 1: the assumptions ------------------------------------------------------------------


def _closest(X):
    best = None
    for i in range(len(X)):
        for j in range(i + 1, len(X)):
            d2 = sum((Fraction(float(a)) - Fraction(float(b))) ** 2 for a, b in zip(X[i], X[j]))
            if best is None or d2 < best[0]:
                best = (d2, i, j)
    return best


@small
@given(n=st.integers(2, 25), d=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_separation_is_exact_and_violations_name_the_closest_pair(n, d, seed):
    X, y = _data(n, d, seed)
    if len(X) < 2:
        return
    d2, i, j = _closest(X)
    Dx, D0 = B.integer_coordinates(X)
    asm = P.check_assumptions(X, Dx, D0, None, None, np.arange(len(X)))
    assert Fraction(asm.d2, D0 * D0) == d2
    # the promised δ equal to the true separation passes; a hair above it is refused
    dist = float(np.sqrt(float(d2)))
    if Fraction(dist) ** 2 <= d2:
        P.check_assumptions(X, Dx, D0, dist, None, np.arange(len(X)))
    with pytest.raises(errors.AssumptionError) as exc:
        memorize.build("park2021", X, y, delta=dist * (1 + 1e-9) + 1e-300)
    msg = str(exc.value)
    assert "closest pair" in msg and "delta" in msg
    ti, tj = asm.pair
    assert f"rows {ti} and {tj}" in msg and _closest(X[[ti, tj]])[0] == d2


def test_violations_name_the_users_rows_after_merging_duplicates():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [1.0, 0.0], [1.0, 0.01]])
    y = np.array([1, 1, 2, 0, 1])
    with pytest.raises(errors.AssumptionError, match=r"rows 3 and 4 .*closer than delta = 0\.5"):
        memorize.build("park2021", X, y, delta=0.5)
    net = memorize.build("park2021", X, y, delta=0.01)
    assert net.meta["delta_pair"] == [3, 4] and net.meta["delta"] == pytest.approx(0.01)


def test_norm_bound_is_checked_and_measured():
    X = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0], [-6.0, 8.0], [0.75, 0.5]])
    y = np.array([0, 1, 0, 1, 1])
    with pytest.raises(errors.AssumptionError, match=r"rows \[1, 3\] lie outside the ball of radius 1"):
        memorize.build("park2021", X, y, radius=1.0)
    net = memorize.build("park2021", X, y, radius=10.0)
    assert net.meta["radius"] == 10.0 and net.meta["radius_given"] == 10.0
    with pytest.raises(errors.ArgumentError, match="radius"):
        memorize.build("park2021", X, y, radius=-1)
    with pytest.raises(errors.ArgumentError, match="delta"):
        memorize.build("park2021", X, y, delta="near")


# ---- steps 2–4: keys, moduli, bucket integers -------------------------------------------------------


@small
@given(n=st.integers(1, 40), d=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_keys_are_distinct_and_the_shift_is_a_power_of_two_below_the_gap(n, d, seed):
    f = _front(*_data(n, d, seed))
    keys, e, Q = f["bk"].keys, f["bk"].e, f["pr"].Q
    assert 2**e <= Q < 2 ** (e + 1)
    assert keys[0] == 0 and all(int(a) < int(b) for a, b in zip(keys[:-1], keys[1:]))
    assert all(int(k) == (int(z) - f["z0"]) >> e for k, z in zip(keys, f["pr"].z))


def _separates(keys, m):
    return len({int(k) % m for k in keys}) == len(keys)


@settings(max_examples=40, deadline=None)
@given(keys=st.lists(st.integers(0, 2**40), min_size=1, max_size=60, unique=True), K=st.integers(1, 9))
def test_each_modulus_is_the_smallest_that_separates_its_bucket_and_obeys_the_bound(keys, K):
    keys = np.array(sorted(keys), dtype=object)
    moduli = P.find_moduli(keys, K)
    n = max(1, int(keys[-1]).bit_length())
    assert len(moduli) == -(-len(keys) // K)
    for b, m in enumerate(moduli):
        bucket = keys[b * K:(b + 1) * K]
        assert _separates(bucket, m)
        assert not any(_separates(bucket, s) for s in range(len(bucket), m))
        assert m <= P.modulus_bound(K, n)


def _primes_from(a):
    p = max(a, 2)
    while True:
        if all(p % t for t in range(2, int(p**0.5) + 1)):
            yield p
        p += 1


@pytest.mark.parametrize("K", [2, 5, 12])
def test_the_fingerprint_bound_holds_for_adversarial_keys(K):
    # keys that are multiples of every small number: every modulus up to 40 fails
    L = int(np.lcm.reduce(np.arange(1, 41, dtype=object)))
    keys = np.array([j * L for j in range(K)], dtype=object)
    n = int(keys[-1]).bit_length()
    m = P.find_moduli(keys, K)[0]
    assert m > 40 and m <= P.modulus_bound(K, n)
    p = next(p for p in _primes_from(K) if _separates(keys, p))
    assert m <= p <= P.modulus_bound(K, n)


@small
@given(n=st.integers(1, 40), d=st.integers(1, 3), C=st.integers(1, 6), K=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_bucket_integers_hold_the_modulus_and_the_labels_at_the_residues(n, d, C, K, seed):
    X, y = _data(n, d, seed, C)
    K = min(K, len(X))
    bk = _front(X, y, K)["bk"]
    for b, (V, m) in enumerate(zip(bk.V, bk.moduli)):
        assert P.read_modulus(V, bk.M, bk.ell) == m
        members = range(b * K, min((b + 1) * K, len(bk.keys)))
        slots = {int(bk.keys[i]) % m: int(bk.labels[i]) for i in members}
        assert len(slots) == len(members)  # distinct residues: no slot written twice
        assert [P.read_slot(V, s, bk.M, bk.ell) for s in range(bk.M)] == [slots.get(s, 0) for s in range(bk.M)]


@small
@given(n=st.integers(2, 40), d=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_quotient_bits_bound_every_quotient_and_are_tight(n, d, seed):
    bk = _front(*_data(n, d, seed), K=2)["bk"]
    quotients = [int(k) // bk.moduli[i // bk.K] for i, k in enumerate(bk.keys)]
    assert max(quotients).bit_length() == bk.qbits or bk.M == 1


# ---- step 5: the lookup ----------------------------------------------------------------------------


@small
@given(n=st.integers(1, 40), d=st.integers(1, 3), K=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_the_lookup_hands_on_the_points_bucket_integer(n, d, K, seed):
    X, y = _data(n, d, seed)
    f = _front(X, y, min(K, len(X)))
    h, forms, _ = _after_lookup(f)
    assert list(_values(h, forms["z"])) == list(f["pr"].z)
    assert list(_values(h, forms["V"])) == [f["bk"].V[b] for b in _bucket_of(f)]


# ---- step 6: the hash --------------------------------------------------------------------------------


@small
@given(n=st.integers(2, 40), d=st.integers(1, 3), K=st.integers(2, 6), q=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_the_hash_reads_the_modulus_reduces_and_reads_kappa_mod_m(n, d, K, q, seed):
    X, y = _data(n, d, seed)
    if len(X) < 2:
        return
    f = _front(X, y, min(K, len(X)), q)
    bk, z0 = f["bk"], f["z0"]
    if bk.M == 1:
        return
    h, forms, width = _after_lookup(f)
    b = _bucket_of(f)
    m = np.array([bk.moduli[i] for i in b], dtype=object)
    # 6a: the modulus and the table
    layers, forms, width = P.modulus_layers(forms, width, bk.M, bk.ell, q)
    h = _forward(layers, h)
    assert list(_values(h, forms["m"])) == list(m)
    assert list(_values(h, forms["T"])) == [bk.V[i] % 2 ** (bk.M * bk.ell) for i in b]
    # 6b, digit by digit: after the gate layer at shift s, rem < 2^s·D and rem ≡ z − z0 (mod 2^s·D)
    zz = np.array([int(v) - z0 for v in f["pr"].z], dtype=object)
    D = m * 2**bk.e
    layers, out, _ = P.reduce_layers(forms, width, z0, bk.e, bk.M, bk.qbits, q)
    assert len(layers) == 2 * -(-bk.qbits // q)
    hv = h
    shift = bk.qbits
    cur = {"T": forms["T"], "m": forms["m"], "rem": (dict(forms["z"][0]), forms["z"][1] - z0)}
    for j, chunk in enumerate(P.plan.chunks(bk.qbits, q)):
        shift -= chunk
        unit = 1 << (shift + bk.e)
        test, cur = P._test_layer(cur, hv.shape[1], chunk, unit)
        hv = test.forward(hv)
        rem = _values(hv, cur["rem"])
        for t in range(1, 2**chunk):  # the indicators of step 6b are exact
            assert list(_values(hv, cur[f"ind{t}"])) == [int(r >= t * unit * mm) for r, mm in zip(rem, m)]
        gate, cur = P._gate_layer(cur, hv.shape[1], chunk, unit, bk.M, keep_m=j < len(P.plan.chunks(bk.qbits, q)) - 1)
        hv = gate.forward(hv)
        rem = _values(hv, cur["rem"])
        assert all(0 <= r < 2**shift * dd and (r - zi) % (2**shift * dd) == 0 for r, zi, dd in zip(rem, zz, D))
    h = _forward(layers, h)
    assert list(_values(h, out["rem"])) == [zi % dd for zi, dd in zip(zz, D)]
    # 6c: h = κ mod m_b
    layers, out, _ = P.quotient_layers(out, layers[-1].out_dim if layers else width, bk.e, bk.M, q)
    h = _forward(layers, h)
    assert list(_values(h, out["h"])) == [int(k) % mm for k, mm in zip(bk.keys, m)]


# ---- steps 7–8: the read-out and the self-check ------------------------------------------------------


@small
@given(n=st.integers(1, 40), d=st.integers(1, 3), C=st.integers(2, 9), K=st.integers(1, 6), q=st.integers(1, 3),
       seed=st.integers(0, 10**6))
def test_the_read_out_passes_slot_h_alone_and_sums_the_label(n, d, C, K, q, seed):
    X, y = _data(n, d, seed, C)
    f = _front(X, y, min(K, len(X)), q)
    bk = f["bk"]
    h, forms, width = _after_lookup(f)
    layers, forms, width = P.hash_layers(forms, width, f["z0"], bk.e, bk.M, bk.qbits, bk.ell, q)
    h = _forward(layers, h)
    hash_values = list(_values(h, forms["h"]))
    cur = {"z": forms["h"], "x": forms["T"], "y": B.const_form(0)}
    beta = bk.M * bk.ell
    for lay in P.plan.extraction_layers(bk.M, 0, bk.ell, q):
        dense, cur, beta = P.decode_layer(cur, width, lay, beta, bk.ell)
        h = dense.forward(h)
        width = dense.out_dim
        if lay["test"]:  # mis = |h − s|: zero at slot h only
            s = lay["seg"]
            assert list(_values(h, cur["mis"])) == [abs(v - s) for v in hash_values]
    assert beta == 0
    assert list(_values(h, cur["y"])) == list(bk.labels)


@small
@given(n=st.integers(2, 40), d=st.integers(1, 3), K=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_the_decoded_self_check_reads_the_labels_and_catches_corruption(n, d, K, seed):
    X, y = _data(n, d, seed, C=4)
    if len(X) < 2:
        return
    f = _front(X, y, min(K, len(X)))
    bk, pr = f["bk"], f["pr"]
    args = (pr.z, bk.keys, bk.V, bk.taus, bk.K, bk.M, bk.e, bk.qbits, bk.ell)
    assert list(P.decode_from_buckets(*args)) == list(bk.labels)
    bad = list(bk.V)
    bad[0] = bad[0] ^ (((1 << bk.ell) - 1) << (bk.ell * (bk.M - 1 - int(bk.keys[0]) % bk.moduli[0])))
    got = P.decode_from_buckets(pr.z, bk.keys, bad, *args[3:])
    assert got[0] != bk.labels[0]
    if bk.taus:  # a threshold moved past the first point of bucket 1 fails the bucket claim
        taus = list(bk.taus)
        taus[0] = int(pr.z[bk.K]) + 1
        assert P.decode_from_buckets(pr.z, bk.keys, bk.V, taus, *args[4:])[bk.K] == -1


# ---- arithmetic, knobs, sizes ------------------------------------------------------------------------


def test_only_exact_arithmetic_is_offered():
    X, y = _data(12, 2, 0)
    assert memorize.build("park2021", X, y, dtype="exact").is_exact
    assert memorize.build("park2021", X, y, exact=False).is_exact  # the common signature, ignored
    for fmt in ("float64", np.float32, "bf16"):
        with pytest.raises(errors.ArgumentError, match="exact networks only"):
            memorize.build("park2021", X, y, dtype=fmt)
    with pytest.raises(errors.ArgumentError, match="dtype"):
        memorize.build("park2021", X, y, dtype="float128")


def test_float64_is_reported_not_offered():
    """exact=False still gives the exact network; its float64 cast runs and verify counts the
    points it loses (most of them: weights far beyond 53 bits), never a crash or a silent pass."""
    X, y = _data(300, 4, 5, C=10)
    net = memorize.build("park2021", X, y, exact=False)
    assert net.is_exact and memorize.verify(net, X, y).max_error == 0
    assert net.max_weight_bits > 53
    rep = memorize.verify(net.astype(np.float64), X, y)
    assert rep.arithmetic == "float64" and not rep.exact
    assert rep.n_failed > len(X) // 2 and rep.max_error >= 1


def test_knobs_are_checked():
    X, y = _data(12, 2, 0)
    with pytest.raises(errors.CapacityError, match="bucket_size"):
        memorize.build("park2021", X, y, bucket_size=len(X) + 1)
    with pytest.raises(errors.ArgumentError, match="bits_per_layer"):
        memorize.build("park2021", X, y, bits_per_layer=0)
    with pytest.raises(errors.CapacityError, match="lookup_width"):
        memorize.build("park2021", X, y, lookup_width=3)
    with pytest.raises(errors.ArgumentError, match="n_directions"):
        memorize.build("park2021", X, y, n_directions=0)


def test_the_estimated_largest_modulus_is_close_to_the_measured_one():
    rng = np.random.default_rng(0)
    for K, B_ in ((5, 400), (12, 300), (30, 100)):
        keys = np.sort(rng.choice(2**40, size=K * B_, replace=False)).astype(object)
        measured = max(P.find_moduli(keys, K))
        assert 0.65 * measured <= P.expected_modulus_max(K, B_) <= 1.5 * measured


@pytest.mark.parametrize("n", [10**4, 10**5, 10**7])
def test_sizes_scale_as_n_to_the_two_thirds(n):
    a = P.architecture(n, 4, 10, key_max=2**33)
    b = P.architecture(8 * n, 4, 10, key_max=2**33)
    # eight times the points: four times the parameters (√N would give 2.8, N gives 8), up to the
    # lookup's rounding and the additive log terms of the division
    assert 3.2 <= b.num_params / a.num_params <= 4.6
    assert max(a.widths) == 8


@pytest.mark.parametrize("n", [100, 5000, 10**6])
def test_the_paper_size_is_the_worst_case_and_bounds_the_builder(n):
    a = P.architecture(n, 16, 10)
    p = memorize.bounds.paper_size("park2021", n, 16, 10)
    assert a.num_hidden <= p.num_hidden and "N^(2/3)" in p.statement
    sh = P.choose_shape(n, 4 * n * n, 4, worst=True)
    assert sh["M"] == P.modulus_bound(sh["K"], (4 * n * n).bit_length())


def test_plan_shows_the_built_and_the_stated_size():
    p = memorize.plan(20_000, 64, 10, task="classification", methods=["park2021"])
    row = p[0]
    assert row.method == "park2021" and row.paper is not None
    assert row.num_hidden < row.paper.num_hidden
    assert "park2021" in str(p) and "norm bound" in str(p)
