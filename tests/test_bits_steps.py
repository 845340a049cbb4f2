"""The intermediate claims of the bit-extraction proof (yang2026 / vardi2022), step by step.

Every check runs the partial network exactly on small data and compares with the stored
integers: the projection gives distinct integers in its stated range, the lookup hands on the
point's block integer, the extraction reads exactly the stored bits, the interval test passes
for the point's own record only, and the output is the label.
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import memorize
from memorize import errors
from memorize._arith import EXACT
from memorize.constructions import _bits as B
from memorize.constructions import _bitsplan as plan
from memorize.data import prepare
from _bits_forms import forward as _forward, form_values as _values


def _data(n, d, seed, C=3):
    rng = np.random.default_rng(seed)
    X = np.unique(np.round(rng.uniform(-1, 1, (n, d)), 3), axis=0)
    return X, rng.integers(0, C, len(X))


def _front(X, y, S, seed=0):
    """Steps 1–4 on (X, y): the quantities later steps build on."""
    data = prepare(X, y, task="classification")
    labvals, offset, _, ell = B.stored_labels(data)
    Dx, D0 = B.integer_coordinates(data.X)
    pr = B.project_to_integers(data.X, Dx, D0, np.random.default_rng(seed), 8)
    keys = B.assign_keys(pr.z, pr.Q)
    N = len(keys)
    n = plan.key_bits(int(keys[-1]), N, S)
    labels = labvals[pr.order]
    V = B.pack_blocks(keys, labels, S, n, ell)
    taus = B.block_thresholds(pr.z, S)
    return dict(data=data, Dx=Dx, D0=D0, pr=pr, keys=keys, labels=labels, offset=offset, ell=ell, n=n, S=S,
                V=V, taus=taus, Xs=EXACT.array(data.X[pr.order]))


def _padded(f, N, S):
    """Keys and labels of the S·B records, padding as step 4 states (keys κ_max + 1, ...; label 0)."""
    keys, labels = f["keys"], f["labels"]
    B_ = len(f["V"])
    k = [int(v) for v in keys] + [int(keys[-1]) + j for j in range(1, B_ * S - N + 1)]
    y = [int(v) for v in labels] + [0] * (B_ * S - N)
    return k, y


small = settings(max_examples=20, deadline=None)


# ---- step 1: separation -------------------------------------------------------------------------


@small
@given(n=st.integers(2, 25), d=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_separation_is_the_exact_smallest_distance(n, d, seed):
    X, _ = _data(n, d, seed)
    if len(X) < 2:
        return
    Dx, D0 = B.integer_coordinates(X)
    d2, (i, j) = B.check_separation(X, Dx, D0, None, np.arange(len(X)))
    brute = min(sum((Fraction(a) - Fraction(b)) ** 2 for a, b in zip(X[p], X[q]))
                for p in range(len(X)) for q in range(p + 1, len(X)))
    assert Fraction(d2, D0 * D0) == brute
    assert sum((Fraction(a) - Fraction(b)) ** 2 for a, b in zip(X[i], X[j])) == brute


def test_promised_delta_refuses_exactly_the_close_pairs():
    X = np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.25], [3.0, 3.0]])
    Dx, D0 = B.integer_coordinates(X)
    idx = np.array([10, 11, 12, 13])
    B.check_separation(X, Dx, D0, 0.25, idx)  # exactly δ apart is allowed
    with pytest.raises(errors.AssumptionError, match=r"\(10, 12\)\]"):
        B.check_separation(X, Dx, D0, 0.3, idx)
    with pytest.raises(errors.AssumptionError, match=r"\(10, 12\), \(10, 11\)|\(10, 11\), \(10, 12\)"):
        B.check_separation(X, Dx, D0, 0.6, idx)


@small
@given(vals=st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=12))
def test_integer_coordinates_are_exact(vals):
    X = np.array(vals)[:, None]
    Dx, D0 = B.integer_coordinates(X)
    assert D0 & (D0 - 1) == 0  # a power of two
    assert all(type(v) is int and v == Fraction(x) * D0 for v, x in zip(Dx[:, 0], vals))


# ---- steps 2–3: projection and keys -------------------------------------------------------------


@small
@given(n=st.integers(1, 30), d=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_projection_gives_distinct_integers_in_range(n, d, seed):
    X, y = _data(n, d, seed)
    f = _front(X, y, 1, seed)
    pr, Dx, D0 = f["pr"], f["Dx"], f["D0"]
    z = pr.z
    assert all(type(v) is int for v in z)
    assert all(b - a >= pr.Q for a, b in zip(z[:-1], z[1:]))
    assert len(z) < 2 or min(b - a for a, b in zip(z[:-1], z[1:])) == pr.Q
    # the first layer computes these values at the data, in the sorted order
    out = _forward([B.projection_layer(pr)], f["Xs"])[:, 0]
    assert out.tolist() == z.tolist()
    assert [sum(g * x for g, x in zip(pr.g, Dx[i])) + pr.bias for i in pr.order] == z.tolist()
    assert pr.a == [g * D0 for g in pr.g]
    # positive on the whole ball of radius r around the centre: shift > ‖g‖·D0·r,
    # so 0 < z < 2·shift at the data (the ReLU is the identity there)
    Dc = B._grid_centre(f["data"].X, D0)
    shift = pr.bias + sum(g * c for g, c in zip(pr.g, Dc))
    assert shift > 0 and shift * shift > sum(g * g for g in pr.g) * pr.M2
    assert all(0 < v < 2 * shift for v in z)


@small
@given(n=st.integers(1, 30), d=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_keys_identify_their_point(n, d, seed):
    X, y = _data(n, d, seed)
    f = _front(X, y, 1, seed)
    z, keys, Q = f["pr"].z, f["keys"], f["pr"].Q
    assert keys[0] == 0 and all(b > a for a, b in zip(keys[:-1], keys[1:]))
    # the interval test's premise: ⌊(z_j − z_0)/Q⌋ = κ_i only for j = i
    for j, zj in enumerate(z):
        assert [i for i, k in enumerate(keys) if (zj - z[0]) // Q == k] == [j]
    assert int(keys[-1]) < 2 ** f["n"]


# ---- step 4: blocks and thresholds --------------------------------------------------------------


@small
@given(n=st.integers(1, 30), S=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_blocks_store_every_record_and_thresholds_pick_the_block(n, S, seed):
    X, y = _data(n, 2, seed, C=5)
    S = min(S, len(X))
    f = _front(X, y, S, seed)
    N, V = len(f["keys"]), f["V"]
    k, lab = _padded(f, N, S)
    assert len(V) == -(-N // S)
    assert [B.read_record(V[b], s, S, f["n"], f["ell"]) for b in range(len(V)) for s in range(S)] == list(zip(k, lab))
    assert all(b > a for a, b in zip(V[:-1], V[1:]))
    assert all(v < 2 ** (S * (f["n"] + f["ell"])) for v in V)
    z, taus = f["pr"].z, f["taus"]
    assert [sum(1 for t in taus if zi >= t) for zi in z] == [i // S for i in range(N)]


def test_decode_labels_follows_the_records_and_catches_a_wrong_block():
    X, y = _data(40, 2, 3, C=4)
    f = _front(X, y, 3)
    args = (f["pr"].z, f["keys"], f["V"], f["taus"], 3, f["n"], f["ell"])
    assert B.decode_labels(*args).tolist() == f["labels"].tolist()
    V = list(f["V"])
    V[0], V[1] = V[1], V[0]
    bad = B.decode_labels(f["pr"].z, f["keys"], V, *args[3:])
    assert bad[:6].tolist() == [-1] * 6 and bad[6:].tolist() == f["labels"][6:].tolist()


# ---- step 5: the lookup ------------------------------------------------------------------------


@small
@given(n=st.integers(1, 40), S=st.integers(1, 3), W2=st.integers(4, 12), kind=st.sampled_from(["flat", "grouped"]),
       seed=st.integers(0, 10**6))
def test_lookup_hands_on_the_points_block_integer(n, S, W2, kind, seed):
    X, y = _data(n, 3, seed)
    S = min(S, len(X))
    f = _front(X, y, S, seed)
    layers, forms = B.lookup_layers({"z": B.unit_form(0)}, 1, f["taus"], f["V"], W2, kind)
    assert [layer.out_dim for layer in layers] == plan.lookup_widths(plan.plan_lookup(len(f["taus"]), W2, kind))
    assert max([layer.out_dim for layer in layers], default=0) <= W2
    h = _forward([B.projection_layer(f["pr"])] + layers, f["Xs"])
    N = len(f["keys"])
    assert _values(h, forms["V"]).tolist() == [f["V"][i // S] for i in range(N)]
    assert _values(h, forms["z"]).tolist() == f["pr"].z.tolist()


def test_grouped_module_selects_slot_by_group():
    # 3 groups of 2 slots with thresholds 10, 20, ..., 60 and heights 1, 2, ..., 6 (one pads)
    taus, heights = [10, 20, 30, 40, 50], [1, 2, 3, 4, 5]
    layers, forms = B.grouped_lookup_module({"z": B.unit_form(0), "V": B.const_form(100)}, 1, taus, heights, 3, 2)
    z = np.array([[v] for v in (0, 9, 10, 19, 20, 35, 49, 50, 99)], dtype=object)
    got = _values(_forward(layers, z), forms["V"]).tolist()
    assert got == [100 + sum(h for t, h in zip(taus, heights) if v[0] >= t) for v in z]


# ---- steps 6–7: bit extraction, interval test, label ----------------------------------------------


def _extraction_trace(f, q, W2=6, kind="flat"):
    """Run steps 5–6 layer by layer; yield (schedule entry, bits left, forms, activations)."""
    S, n, ell = f["S"], f["n"], f["ell"]
    lookup, forms = B.lookup_layers({"z": B.unit_form(0)}, 1, f["taus"], f["V"], W2, kind)
    h = _forward([B.projection_layer(f["pr"])] + lookup, f["Xs"])
    forms = {"z": forms["z"], "x": forms["V"], "y": B.const_form(0)}
    beta, width = S * (n + ell), h.shape[1]
    for lay in plan.extraction_layers(S, n, ell, q):
        dense, forms, beta = B.extraction_layer(forms, width, lay, beta, int(f["pr"].z[0]), f["pr"].Q, ell)
        h = dense.forward(h)
        width = dense.out_dim
        yield lay, beta, forms, h


@small
@given(n=st.integers(1, 25), S=st.integers(1, 4), q=st.integers(1, 3), seed=st.integers(0, 10**6),
       C=st.integers(1, 9))
def test_extraction_reads_exactly_the_stored_bits(n, S, q, seed, C):
    X, y = _data(n, 2, seed, C=C)
    S = min(S, len(X))
    f = _front(X, y, S, seed)
    N, ell, nb = len(f["keys"]), f["ell"], f["n"]
    k, lab = _padded(f, N, S)
    block = [i // S for i in range(N)]
    Vi = [f["V"][b] for b in block]
    read, y_final = 0, None
    for lay, beta, forms, h in _extraction_trace(f, q):
        if lay["bits"]:
            read = lay["bits"] if lay["first"] else read + lay["bits"]
            field_bits = nb if lay["field"] == "key" else ell
            rest = [v % 2**beta for v in Vi]
            if not lay["last_x"]:
                assert _values(h, forms["x"]).tolist() == rest  # the unread low bits
            # acc holds the field's top `read` bits; at its end, exactly the stored field
            recs = [b * S + lay["seg"] for b in block]
            field = [k[r] if lay["field"] == "key" else lab[r] for r in recs]
            assert _values(h, forms["acc"]).tolist() == [v >> (field_bits - read) for v in field]
        if lay["test"]:
            mis = _values(h, forms["mis"])
            own = [i % S == lay["seg"] for i in range(N)]
            assert all((m == 0) == o and m >= 0 for m, o in zip(mis, own))
        y_final = _values(h, forms["y"])
    assert y_final.tolist() == f["labels"].tolist()


@pytest.mark.parametrize("q, W2, kind", [(1, 4, "flat"), (2, 8, "grouped"), (3, 30, "grouped")])
def test_output_layer_gives_the_label(q, W2, kind):
    X, y = _data(30, 3, 5, C=4)
    y = y * 3 - 2  # integer labels with an offset: the output is the label itself
    f = _front(X, y, 4)
    *_, (lay, beta, forms, h) = _extraction_trace(f, q, W2, kind)
    assert beta == 0
    out = B.output_layer(forms["y"], h.shape[1], f["offset"]).forward(h)[:, 0]
    assert out.tolist() == (f["labels"] + f["offset"]).tolist()
    assert sorted(set(out.tolist())) == sorted(set(y.tolist()))


# ---- the two builders ----------------------------------------------------------------------------


def test_vardi2022_module_and_yang2026_exports():
    from memorize.constructions import vardi2022, yang2026

    assert memorize.registry.get("vardi2022").builder is vardi2022.vardi2022
    assert yang2026.choose_shape is plan.choose_shape
    a = vardi2022.architecture(200, 3, 10, key_max=2**20)
    b = yang2026.architecture(200, 3, 10, key_max=2**20, bits_per_layer=1, lookup="flat")
    assert (a.method, b.method) == ("vardi2022", "yang2026")
    assert (a.widths, a.num_params, a.num_nonzero, a.max_weight_bits) == (
        b.widths, b.num_params, b.num_nonzero, b.max_weight_bits)
    assert max(a.widths) <= 7
    X, y = _data(30, 2, 1)
    net = memorize.build("vardi2022", X, y)
    assert net.meta["method"] == "vardi2022" and memorize.verify(net, X, y).max_error == 0
