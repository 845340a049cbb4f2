"""The intermediate claims of Yun, Sra, Jadbabaie 2019, Theorem 4.1, step by step.

Each test runs the builder's step functions on small data and checks what the proof says after
that step, exactly in exact arithmetic: the slabs hold their groups with a positive margin, each
block pushes its groups by exactly D along their class coordinate and moves nothing else, and
the output layer maps the final stream to exact one-hot vectors.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import memorize
from memorize._arith import EXACT, FLOAT64
from memorize.constructions.yun2019 import resnet as R
from memorize.data import prepare
from memorize.errors import CapacityError

ACTS = {"relu": "relu", "hardtanh": "hardtanh", "leaky": memorize.relu_like(1.0, 0.25)}


@st.composite
def small_data(draw, max_n=14):
    dy = draw(st.integers(1, 3))
    d = draw(st.integers(max(dy, 2), 6))
    n = draw(st.integers(2, max_n))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10)
    else:  # integer points: often not in general position (groups get split)
        X = np.unique(rng.integers(-2, 3, (n, d)).astype(float), axis=0)
    y = np.arange(len(X)) % dy
    rng.shuffle(y)
    return X, y


def _run_blocks(ar, X, y, act, widths=None, seed=0):
    """Steps 1–5 as the builder runs them; returns the data, D, the blocks, the final stream, the tally."""
    data = prepare(X, y, task="classification")
    act = R._activation(act)
    n, d = data.X.shape
    dy = len(data.classes)
    gen = np.random.default_rng(seed)
    ws, groups = R.plan_blocks(widths, n, d, dy, data.labels, act, gen)
    D = R.push_length(data.X, dy)
    s = R.Setting(act, data.labels, d, dy, R.noise_free_columns(ar, act, d, dy), gen)
    rows = R.chunk_rows([d] + ws + [R._unit(act) * dy])
    layers, H, block_ws, tally = R.residual_blocks(ar, data.X, ws, groups, D, s, rows, default=widths is None)
    return data, D, layers, H, block_ws, tally


@given(small_data())
def test_groups_are_class_pure_and_as_many_as_the_theorem_counts(data):
    X, y = data
    n, d = X.shape
    dy = len(np.unique(y))
    ws, groups = R.plan_blocks(None, n, d, dy, y, R._activation("relu"), np.random.default_rng(0))
    assert sorted(np.concatenate(groups).tolist()) == list(range(n))
    assert all(len(g) <= d and np.unique(y[g]).size == 1 for g in groups)
    assert len(groups) == sum(math.ceil(np.sum(y == c) / d) for c in range(dy)) <= n / d + dy
    assert sum(ws) >= R.resnet_bound(n, d, dy) and sum(ws) // 4 >= len(groups)


@given(small_data(), st.integers(0, 2**31 - 1))
def test_each_slab_holds_its_group_and_no_other_point(data, seed):
    X, y = data
    n, d = X.shape
    H = EXACT.array(X)
    groups = R.split_groups(n, d, labels=y, rng=np.random.default_rng(seed))
    s = R.Setting(R._activation("relu"), y, d, len(np.unique(y)), None, np.random.default_rng(seed))
    fitted = R.fit_slabs(EXACT, H, groups, s, 0, R.Tally())
    covered = np.concatenate([f[0] for f in fitted])
    assert sorted(covered.tolist()) == list(range(n))  # split groups come back as extra fits
    for rows, a, beta, margin in fitted:
        v = H @ a - beta
        assert all(v[i] == 0 for i in rows)
        others = np.setdiff1d(np.arange(n), rows)
        if others.size:
            assert 0 < margin == min(abs(v[j]) for j in others)
        assert np.unique(y[rows]).size == 1


def _expected_stream(X, D, tally, upto):
    """X plus D·e_c on the group of every bump whose first node is in a block ≤ upto."""
    H = EXACT.array(X)
    for block, rows, c, _ in tally.bumps:
        if block <= upto:
            H[rows, c] = H[rows, c] + int(D)
    return H


@settings(max_examples=25)
@given(small_data(), st.sampled_from(sorted(ACTS)), st.integers(1, 3))
def test_each_block_pushes_its_groups_by_D_and_moves_nothing_else(data, act_name, nodes_per_block):
    X, y = data
    unit = 1 if act_name == "hardtanh" else 2
    n, d = X.shape
    # a multiple of two nodes per block holds whole bumps; an odd count makes bumps straddle blocks
    k = math.ceil(float(R.resnet_bound(n, d, len(np.unique(y)), ACTS[act_name])) / (unit * nodes_per_block)) + 2
    try:
        data_, D, layers, H, _, tally = _run_blocks(EXACT, X, y, ACTS[act_name], [unit * nodes_per_block] * k)
    except CapacityError:
        assume(False)  # degenerate data needing more blocks than given: refused, not missed
    h = EXACT.array(data_.X)
    for block, layer in enumerate(layers):
        h = layer.forward(h)
        # a straddling bump is complete only once its second node (next block) has run
        if not any(b == block and straddles for b, _, _, straddles in tally.bumps):
            assert np.array_equal(h, _expected_stream(data_.X, D, tally, block))
    assert np.array_equal(h, H)


@pytest.mark.parametrize("act_name", sorted(ACTS))
def test_bumps_straddling_two_blocks_push_exactly_once_both_nodes_ran(act_name):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((10, 8)), np.arange(10) % 2
    unit = 1 if act_name == "hardtanh" else 2
    data, D, layers, H, _, tally = _run_blocks(EXACT, X, y, ACTS[act_name], [3 * unit] * 4)
    assert tally.straddling > 0
    h = EXACT.array(data.X)
    for block, layer in enumerate(layers):
        h = layer.forward(h)
        if not any(b == block and st_ for b, _, _, st_ in tally.bumps):
            assert np.array_equal(h, _expected_stream(data.X, D, tally, block))


@settings(max_examples=20)
@given(small_data(), st.sampled_from(sorted(ACTS)))
def test_output_layer_is_exactly_one_hot_on_the_final_stream(data, act_name):
    X, y = data
    act = R._activation(ACTS[act_name])
    data_, D, _, H, _, _ = _run_blocks(EXACT, X, y, act)
    alpha, lo, gaps = R.class_thresholds(EXACT, H, data_)
    hidden, out = R.output_layer(EXACT, alpha, lo, act, X.shape[1])
    # class c's node sees t_c = α_c(h_c − lo_c) + 21/4 (its ReLU-like units t_c ± 1)
    k = hidden.hidden_width // len(data_.classes)
    pre = H @ hidden.weight.T + hidden.bias
    Y = data_.Y.astype(bool)
    for c in range(len(data_.classes)):
        t = pre[:, k * c] - (1 if k == 2 else 0)
        assert all(EXACT.const(21, 4) <= v <= EXACT.const(23, 4) for v in t[Y[:, c]])
        assert all(v <= EXACT.const(-9, 4) for v in t[~Y[:, c]])
    assert np.array_equal(out.forward(hidden.forward(H)), EXACT.array(data_.Y))


@pytest.mark.parametrize("act_name", ["relu", "hardtanh"])
def test_float_output_layer_is_exactly_one_hot_and_the_stream_is_the_networks(act_name):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((300, 12)) * 30, rng.integers(0, 5, 300)
    data, D, layers, H, _, _ = _run_blocks(FLOAT64, X, y, act_name, [16] * 10)
    alpha, lo, _ = R.class_thresholds(FLOAT64, H, data)
    head = R.output_layer(FLOAT64, alpha, lo, R._activation(act_name), 12)
    # the tracked stream is bit for bit what the blocks compute inside the network (float64
    # rounding depends on the batch shape, so this needs the network's own chunking)
    assert np.array_equal(memorize.Network(layers)(data.X), H)
    assert np.array_equal(memorize.Network(layers + list(head))(data.X), data.Y)
