"""vardi2022 and its depth-bounded variant (parallel copies): exact memorization at every depth,
sizes without building, and the claims of the copies step by step."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import memorize
from memorize import errors, verify
from memorize._arith import EXACT
from memorize.constructions import _bits as B
from memorize.constructions import _bitsplan as plan
from memorize.constructions import vardi2022 as V
from memorize.data import prepare
from test_bits_steps import _forward as _run, _values  # exact evaluation of layers and forms

small = settings(max_examples=20, deadline=None)


def _data(n, d, seed, C=10):
    """n distinct points of the unit ball (coordinates rounded to 1/1000: shortish keys)."""
    rng = np.random.default_rng(seed)
    X = np.unique(np.round(rng.uniform(-0.7, 0.7, (n, d)), 3), axis=0)
    return X, rng.integers(0, C, len(X))


# ---- the builder: every depth choice memorizes exactly --------------------------------------------


def test_every_depth_choice_memorizes_exactly_and_sizes_agree():
    X, y = _data(120, 3, seed=3)
    N = len(X)
    one = memorize.build("vardi2022", X, y)
    assert one.meta["copies"] == 1 and max(one.widths) <= 7
    previous = 1
    for L in (one.depth, one.depth - 1, 3 * one.depth // 4, one.depth // 2, one.depth // 3):
        net = memorize.build("vardi2022", X, y, depth=L)
        assert net.depth <= L
        assert verify(net, X, y).max_error == 0
        # a smaller depth budget never needs fewer copies
        assert net.meta["copies"] >= previous
        previous = net.meta["copies"]
        a = V.architecture(N, 3, 10, key_max=net.meta["key_max"], z_bits=net.meta["z_bits"], depth=L)
        assert a.method == "vardi2022"
        assert a.widths == net.widths and a.num_params == net.num_params
        assert net.num_nonzero <= a.num_nonzero <= net.num_nonzero + 2 * net.meta["copies"]
        assert net.max_weight_bits <= a.max_weight_bits
    assert previous > 1


def test_shallowest_network_and_the_depth_below_it():
    X, y = _data(24, 2, seed=6)
    one = memorize.build("vardi2022", X, y)
    shallowest = one.meta["key_bits"] + one.meta["label_bits"] + 2  # one one-point block per copy
    net = memorize.build("vardi2022", X, y, depth=shallowest)
    assert net.depth == shallowest and net.meta["block_size"] == 1 and net.meta["copies"] == len(X)
    assert verify(net, X, y).max_error == 0
    with pytest.raises(errors.CapacityError, match=f"shallowest .* has depth {shallowest}"):
        memorize.build("vardi2022", X, y, depth=shallowest - 1)


def test_fewer_layers_buy_more_nonzeros_and_fewer_bits():
    """The trade-off the variant exists for: across the depth choices, depth and block bits fall
    while the nonzero count grows."""
    X, y = _data(200, 2, seed=8)
    one = memorize.build("vardi2022", X, y)
    rows = [(one.depth, one.meta["block_bits"], one.num_nonzero, 1)]
    for L in (one.depth * 2 // 3, one.depth // 2, one.depth // 3):
        net = memorize.build("vardi2022", X, y, depth=L)
        assert verify(net, X, y).max_error == 0
        rows.append((net.depth, net.meta["block_bits"], net.num_nonzero, net.meta["copies"]))
    depths, bits, nnz, copies = map(list, zip(*rows))
    assert depths == sorted(depths, reverse=True) and len(set(depths)) == len(depths)
    assert bits == sorted(bits, reverse=True) and bits[-1] < bits[0]
    assert nnz == sorted(nnz) and copies == sorted(copies) and copies[-1] > 1


@pytest.mark.parametrize("knobs", [dict(copies=2), dict(copies=5), dict(copies=7, block_size=2),
                                   dict(copies=3, depth=40), dict(block_size=3, depth=45)])
def test_copies_knob_memorizes_and_architecture_is_exact(knobs):
    X, y = _data(70, 4, seed=11, C=3)
    net = memorize.build("vardi2022", X, y, **knobs)
    assert verify(net, X, y).max_error == 0
    if "copies" in knobs:
        assert net.meta["copies"] == knobs["copies"]
    if "block_size" in knobs:
        assert net.meta["block_size"] == knobs["block_size"]
    a = V.architecture(len(X), 4, 3, key_max=net.meta["key_max"], z_bits=net.meta["z_bits"], **knobs)
    assert a.widths == net.widths and a.num_params == net.num_params
    assert net.num_nonzero <= a.num_nonzero


def test_large_data_uses_the_decoded_check():
    # above FULL_CHECK_N points the builder checks each copy's records instead of a forward pass
    X, y = _data(B.FULL_CHECK_N + 80, 3, seed=5)
    net = memorize.build("vardi2022", X, y, depth=120)
    assert len(X) > B.FULL_CHECK_N and net.meta["copies"] > 1
    assert verify(net, X, y).max_error == 0


@pytest.mark.parametrize("knobs, err, match", [
    (dict(copies=0), errors.ArgumentError, "copies"),
    (dict(copies=2.5), errors.ArgumentError, "copies"),
    (dict(copies=10_000), errors.CapacityError, "copies"),
    (dict(copies=30, block_size=5), errors.CapacityError, "copies"),
    (dict(depth=5), errors.CapacityError, "depth"),
    (dict(depth=0), errors.ArgumentError, "depth"),
])
def test_impossible_knobs_refused(knobs, err, match):
    X, y = _data(60, 2, seed=2, C=3)
    with pytest.raises(err, match=match):
        memorize.build("vardi2022", X, y, **knobs)


def test_planner_offers_the_depth_curve_with_bits():
    rows = [memorize.plan(10**4, 8, 10, task="classification", methods=["vardi2022"],
                          options={"vardi2022": {"depth": L} if L else {}})[0] for L in (None, 400, 100, 70)]
    depths = [r.depth for r in rows]
    assert depths == sorted(depths, reverse=True) and depths[1] <= 400 and depths[-1] <= 70
    assert all(r.method == "vardi2022" and r.max_weight_bits is not None and r.min_bits is not None for r in rows)
    widths = [max(r.widths) for r in rows]
    assert widths[0] <= 7 and widths == sorted(widths)


# ---- the plan: copies, capacity, fewest copies ------------------------------------------------------


@small
@given(R=st.integers(-2, 12), W2=st.integers(4, 30), kind=st.sampled_from(["flat", "grouped"]))
def test_lookup_capacity_is_the_inverse_of_lookup_depth(R, W2, kind):
    cap = int(plan.lookup_capacity(R, W2, kind))
    if R < 0:
        assert cap == -1
        return
    assert int(plan.lookup_depth(cap, W2, kind)) <= R
    assert int(plan.lookup_depth(cap + 1, W2, kind)) > R


@small
@given(N=st.integers(1, 400), S=st.integers(1, 9), P=st.integers(1, 60))
def test_copies_partition_the_points_into_runs_of_whole_blocks(N, S, P):
    S = min(S, N)
    Bn = -(-N // S)
    P = min(P, Bn)
    ranges = B.split_into_copies(N, S, P)
    assert len(ranges) == P and ranges[0][0] == 0 and ranges[-1][1] == N
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    blocks = [-(-(hi - lo) // S) for lo, hi in ranges]
    assert sum(blocks) == Bn and max(blocks) - min(blocks) <= 1
    assert all((hi - lo) % S == 0 for lo, hi in ranges[:-1])  # only the last run ends partially


@small
@given(N=st.integers(2, 3000), kbits=st.integers(4, 40), ell=st.integers(1, 5), L=st.integers(5, 400))
def test_fewest_copies_is_feasible_and_minimal(N, kbits, ell, L):
    kmax, W2 = 2**kbits - 1, 7
    P = plan.fewest_copies(N, kmax, ell, 1, W2, "flat", L)
    S_all = plan._block_sizes(N)
    if P is None:
        # even one block per copy (no lookup) is deeper than L for every block size
        assert all(int(plan.total_depth(N, s, kmax, ell, 1, W2, "flat", -(-N // int(s)))) > L for s in S_all)
        return
    S, depth = plan.best_block_size(N, kmax, ell, 1, W2, "flat", copies=P)
    assert depth <= L
    if P > 1:  # one copy fewer reaches L with no block size
        ok = S_all[-(-N // S_all) >= P - 1]
        assert np.all(plan.total_depth(N, ok, kmax, ell, 1, W2, "flat", P - 1) > L)


def test_widths_of_copies_add_up_with_z_carries_in_front():
    # B = 7 blocks in 2 copies: 4 and 3 blocks, lookups of 2 and 1 layers (k = 2 per layer)
    N, S, n, ell, W2 = 7, 1, 6, 2, 7
    assert plan.copy_block_counts(7, 2) == [4, 3]
    a = plan.copy_widths(4, 2, S, n, ell, 1, W2, "flat")
    b = plan.copy_widths(3, 2, S, n, ell, 1, W2, "flat")
    assert b[0] == 1 and a[0] > 1  # the shorter lookup starts with a z carry
    assert plan.widths(N, 1, S, n, ell, 1, W2, "flat", 2) == [1] + [u + v for u, v in zip(a, b)]
    assert plan.widths(N, 1, S, n, ell, 1, W2, "flat", 1) == plan.widths(N, 1, S, n, ell, 1, W2, "flat")


# ---- the proof's claims for the copies, run exactly -------------------------------------------------


def _front(X, y, seed=0):
    """Steps 1–3: the sorted projections, keys and labels."""
    data = prepare(X, y, task="classification")
    labvals, offset, _, ell = B.stored_labels(data)
    Dx, D0 = B.integer_coordinates(data.X)
    pr = B.project_to_integers(data.X, Dx, D0, np.random.default_rng(seed), 8)
    keys = B.assign_keys(pr.z, pr.Q)
    return pr, keys, labvals[pr.order], ell, EXACT.array(data.X[pr.order])


def _copies(X, y, P, S):
    """Steps 1–3, then steps 4–6 per copy for P copies of blocks of S points."""
    pr, keys, labels, ell, Xs = _front(X, y)
    N = len(keys)
    sh = plan.choose_shape(N, int(keys[-1]), ell, bits_per_layer=1, lookup="flat", block_size=S, copies=P)
    D = plan.copies_lookup_depth(N, S, sh["W2"], sh["lookup"], P)
    parts = [B.copy_network(pr.z, keys, labels, lo, hi, pr.Q, sh, ell, D) for lo, hi in B.split_into_copies(N, S, P)]
    return pr, keys, labels, ell, Xs, sh, parts


@small
@given(n=st.integers(2, 40), S=st.integers(1, 3), P=st.integers(1, 8), seed=st.integers(0, 10**6))
def test_each_copy_handles_exactly_its_block(n, S, P, seed):
    X, y = _data(n, 2, seed, C=5)
    N = len(X)
    S = min(S, N)
    P = min(P, -(-N // S))
    pr, keys, labels, ell, Xs, sh, parts = _copies(X, y, P, S)
    z = pr.z.reshape(-1, 1)
    D = plan.copies_lookup_depth(N, S, sh["W2"], "flat", P)
    for c in parts:
        y_c = _values(_run(c.layers, z), c.y)
        inside = np.zeros(N, dtype=bool)
        inside[c.lo:c.hi] = True
        assert y_c[inside].tolist() == labels[inside].tolist()  # its own points: their labels
        assert all(v == 0 for v in y_c[~inside])  # every other data point: nothing
        # the schedule's widths, z carries in front up to the common lookup depth
        assert [layer.out_dim for layer in c.layers] == plan.copy_widths(len(c.V), D, S, sh["n"], ell, 1, sh["W2"],
                                                                         "flat")


@small
@given(n=st.integers(2, 30), P=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_stacked_copies_are_block_diagonal_and_sum_the_labels(n, P, seed):
    X, y = _data(n, 3, seed, C=4)
    N = len(X)
    P = min(P, N)
    pr, keys, labels, ell, Xs, sh, parts = _copies(X, y, P, 1)
    layers, yform = B.stack_copies(parts)
    # block structure: copy c's rows read only copy c's columns, with its own weights
    r0 = [0] + list(np.cumsum([c.layers[0].out_dim for c in parts]))
    for j, layer in enumerate(layers):
        rows = np.cumsum([0] + [c.layers[j].out_dim for c in parts])
        cols = np.cumsum([0] + [c.layers[j].in_dim for c in parts])
        for i, c in enumerate(parts):
            block = layer.weight[rows[i]:rows[i + 1]]
            if j == 0:
                assert block.tolist() == c.layers[0].weight.tolist()
            else:
                assert block[:, cols[i]:cols[i + 1]].tolist() == c.layers[j].weight.tolist()
                outside = np.delete(block, np.s_[cols[i]:cols[i + 1]], axis=1)
                assert all(v == 0 for v in outside.flat)
            assert layer.bias[rows[i]:rows[i + 1]].tolist() == c.layers[j].bias.tolist()
    assert r0[-1] == layers[0].out_dim
    h = _run([B.projection_layer(pr)] + layers, Xs)
    assert _values(h, yform).tolist() == labels.tolist()


def test_decode_labels_per_copy_reads_its_records():
    X, y = _data(40, 2, seed=4, C=6)
    pr, keys, labels, ell, Xs, sh, parts = _copies(X, y, 3, 2)
    for c in parts:
        got = B.decode_labels(pr.z[c.lo:c.hi], keys[c.lo:c.hi], c.V, c.taus, 2, sh["n"], ell)
        assert got.tolist() == labels[c.lo:c.hi].tolist()
        # another copy's block integers do not carry these points' keys
        other = parts[(parts.index(c) + 1) % 3]
        k = min(len(c.V), len(other.V))
        wrong = B.decode_labels(pr.z[c.lo:c.lo + 2 * k], keys[c.lo:c.lo + 2 * k], other.V[:k], c.taus[:k - 1], 2,
                                sh["n"], ell)
        assert all(v == -1 for v in wrong)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 30), d=st.integers(1, 3), C=st.integers(1, 5), P=st.integers(1, 9),
       S=st.one_of(st.none(), st.integers(1, 4)), seed=st.integers(0, 10**6))
def test_property_any_small_dataset_any_copies(n, d, C, P, S, seed):
    X, y = _data(n, d, seed, C=C)
    N = len(X)
    S = None if S is None else min(S, N)
    P = min(P, -(-N // (S or 1)))
    knobs = {"copies": P} if S is None else {"copies": P, "block_size": S}
    net = memorize.build("vardi2022", X, y, rng=seed, **knobs)
    assert verify(net, X, y).max_error == 0 and net.meta["copies"] == P
    # integer labels are stored minus the smallest: ℓ counts the values up to the largest
    a = V.architecture(N, d, 2, n_classes=int(y.max() - y.min()) + 1, key_max=net.meta["key_max"],
                       z_bits=net.meta["z_bits"], **knobs)
    assert a.widths == net.widths and a.num_params == net.num_params and net.num_nonzero <= a.num_nonzero
