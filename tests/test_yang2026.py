"""yang2026 / vardi2022: exact bit-extraction memorizers."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import memorize
from memorize import errors, registry, verify
from memorize.constructions import yang2026 as Y


def _separated(n, d, seed, delta=None):
    """n points of the unit ball pairwise ≥ delta apart (rejection sampling)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (4 * n + 50, d))
    X = X[np.linalg.norm(X, axis=1) <= 1]
    if delta is not None:
        keep = []
        for i, x in enumerate(X):
            if all(np.linalg.norm(x - X[j]) >= delta for j in keep):
                keep.append(i)
            if len(keep) == n:
                break
        X = X[keep]
    return X[:n]


SETTINGS = {
    "narrow (Vardi: q=1, flat)": dict(bits_per_layer=1, lookup="flat"),
    "grouped width 20": dict(width=20),
    "grouped width 40": dict(width=40),
}


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("C", [2, 10])
@pytest.mark.parametrize("N", [8, 60, 250])
def test_exact_memorization(N, C, setting):
    X = _separated(N, 3, seed=N + C, delta=0.05)
    y = np.random.default_rng(N * C).integers(0, C, len(X))
    net = memorize.build("yang2026", X, y, rng=0, **SETTINGS[setting])
    assert net.is_exact
    rep = verify(net, X, y)
    assert rep.exact and rep.max_error == 0 and rep.n_failed == 0
    out = net(X)[:, 0]
    assert all(type(v) is int for v in out)
    assert out.tolist() == y.tolist()
    # every weight is a Python int
    for layer in net.layers:
        for a in layer.arrays().values():
            assert all(type(v) is int for v in a.flat)


@pytest.mark.parametrize("knobs", [dict(bits_per_layer=1, lookup="flat"), dict(width=20), dict(width=40),
                                   dict(depth=30), dict(block_size=4, bits_per_layer=2), dict(layers_per_key=3),
                                   {}, dict(width=9, lookup="flat")])
def test_reported_shape_matches_network_and_architecture(knobs):
    X = _separated(300, 4, seed=5)
    y = np.random.default_rng(6).integers(0, 10, len(X))
    net = memorize.build("yang2026", X, y, **knobs)
    m = net.meta
    assert m["width"] == max(net.widths) and m["depth"] == net.depth
    assert m["W2L2"] == max(net.widths) ** 2 * net.depth**2
    assert m["num_params"] == net.num_params and m["num_nonzero"] == net.num_nonzero
    assert m["max_weight_bits"] == net.max_weight_bits
    if "width" in knobs:
        assert m["width"] <= knobs["width"]
    if "depth" in knobs:
        assert m["depth"] <= knobs["depth"]
    arch = registry.get("yang2026").architecture(len(X), 4, 10, key_max=m["key_max"], **knobs)
    assert arch.widths == net.widths
    assert arch.num_params == net.num_params
    assert net.num_nonzero <= arch.num_nonzero <= net.num_nonzero + 10  # structural count
    assert verify(net, X, y).n_failed == 0


def test_block_size_and_bits_knobs_are_honoured():
    X = _separated(200, 2, seed=1)
    y = np.random.default_rng(2).integers(0, 4, len(X))
    net = memorize.build("yang2026", X, y, block_size=7, bits_per_layer=3)
    assert net.meta["block_size"] == 7 and net.meta["bits_per_layer"] == 3
    assert net.meta["block_bits"] == 7 * (net.meta["key_bits"] + net.meta["label_bits"])
    assert net.max_weight_bits >= net.meta["block_bits"]
    assert verify(net, X, y).max_error == 0


def test_vardi2022_constant_width():
    for N in (50, 400):
        X = _separated(N, 3, seed=N)
        y = np.random.default_rng(N).integers(0, 10, len(X))
        net = memorize.build("vardi2022", X, y)
        assert max(net.widths) <= 7
        assert net.meta["lookup"] == "flat" and net.meta["bits_per_layer"] == 1
        assert verify(net, X, y).max_error == 0
        arch = registry.get("vardi2022").architecture(len(X), 3, 10, key_max=net.meta["key_max"])
        assert arch.widths == net.widths and arch.num_params == net.num_params


def test_trade_off_wider_is_shallower():
    X = _separated(2000, 3, seed=9)
    y = np.random.default_rng(9).integers(0, 2, len(X))
    shapes = [Y.architecture(len(X), 3, 2, key_max=2**25, width=w) for w in (8, 20, 40, 136)]
    depths = [a.depth for a in shapes]
    assert depths == sorted(depths, reverse=True) and depths[0] > 3 * depths[-1]


def test_float_cast_loses_points_beyond_53_bits():
    X = _separated(300, 3, seed=11)
    y = np.random.default_rng(11).integers(0, 10, len(X))
    net = memorize.build("yang2026", X, y, block_size=10, bits_per_layer=2)
    assert net.max_weight_bits > 53
    fnet = net.astype(np.float64)
    assert not fnet.is_exact
    rep = verify(fnet, X, y)
    assert rep.n_failed > 0 and not rep.exact
    assert verify(net, X, y).n_failed == 0


def test_float_cast_is_fine_below_53_bits():
    # Small integer inputs on a line: every weight and every hidden value stays below 2^53.
    X = np.arange(12, dtype=np.float64)[:, None] * 3
    y = np.arange(12) % 3
    net = memorize.build("yang2026", X, y, block_size=1, bits_per_layer=1)
    assert net.max_weight_bits <= 53
    rep = verify(net.astype(np.float64), X, y)
    assert rep.n_failed == 0


def test_labels_integer_values_and_strings():
    X = _separated(40, 2, seed=3)
    y_int = np.random.default_rng(3).choice([-3, 7, 100], len(X))
    net = memorize.build("yang2026", X, y_int)
    assert net.meta["output"] == "label"
    assert net(X)[:, 0].tolist() == y_int.tolist()
    assert verify(net, X, y_int).max_error == 0
    y_str = np.array(["cat", "dog", "emu"])[np.random.default_rng(4).integers(0, 3, len(X))]
    net = memorize.build("yang2026", X, y_str)
    assert net.meta["output"] == "class index"
    cls = net.meta["classes"]
    codes = np.array([cls.index(s) for s in y_str])
    assert verify(net, X, codes).max_error == 0
    onehot = np.eye(3)[codes]
    net = memorize.build("yang2026", X, onehot)
    assert net(X)[:, 0].tolist() == codes.tolist()


def test_any_scale_and_duplicates():
    X = _separated(50, 3, seed=8) * 1e6 + 3e7
    y = np.random.default_rng(8).integers(0, 5, len(X))
    Xd, yd = np.vstack([X, X[:5]]), np.concatenate([y, y[:5]])
    net = memorize.build("yang2026", Xd, yd)
    assert verify(net, Xd, yd).max_error == 0
    assert net.meta["n_duplicates_merged"] == 5
    with pytest.raises(errors.DuplicateError):
        memorize.build("yang2026", Xd, np.concatenate([y, (y[:5] + 1) % 5]))


def test_delta_is_measured_and_checked():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.25], [3.0, 3.0]])
    y = np.array([0, 1, 0, 1])
    net = memorize.build("yang2026", X, y)
    assert net.meta["delta"] == pytest.approx(0.25)
    assert sorted(net.meta["delta_pair"]) == [0, 2]
    memorize.build("yang2026", X, y, delta=0.25)  # exactly δ apart is allowed
    with pytest.raises(errors.AssumptionError, match=r"\(0, 2\)"):
        memorize.build("yang2026", X, y, delta=0.3)
    with pytest.raises(errors.ArgumentError):
        memorize.build("yang2026", X, y, delta=-1)


@pytest.mark.parametrize("knobs, err", [
    (dict(width=5), errors.CapacityError),
    (dict(depth=3), errors.CapacityError),
    (dict(block_size=1000), errors.CapacityError),
    (dict(bits_per_layer=17), errors.CapacityError),
    (dict(width=8, bits_per_layer=4), errors.CapacityError),
    (dict(width=0), errors.ArgumentError),
    (dict(block_size=2.5), errors.ArgumentError),
    (dict(lookup="tree"), errors.ArgumentError),
    (dict(bits_per_layer=2, layers_per_key=2), errors.ArgumentError),
    (dict(n_directions=0), errors.ArgumentError),
    (dict(lookup_width=3), errors.CapacityError),
])
def test_impossible_knobs_refused(knobs, err):
    X = _separated(100, 2, seed=2)
    y = np.random.default_rng(2).integers(0, 3, len(X))
    with pytest.raises(err):
        memorize.build("yang2026", X, y, **knobs)


def test_bad_data_refused():
    with pytest.raises(errors.NonFiniteError):
        memorize.build("yang2026", np.array([[0.0], [np.nan]]), [0, 1])
    with pytest.raises(errors.LabelError):
        memorize.build("yang2026", np.array([[0.0], [1.0]]), [0.5, 1])
    with pytest.raises(errors.ShapeError):
        memorize.build("yang2026", np.zeros((3, 2)), [0, 1])


def test_deterministic():
    X = _separated(80, 3, seed=4)
    y = np.random.default_rng(4).integers(0, 2, len(X))
    a = memorize.build("yang2026", X, y, rng=7)
    b = memorize.build("yang2026", X, y, rng=7)
    for la, lb in zip(a.layers, b.layers):
        for k in la.arrays():
            assert la.arrays()[k].tolist() == lb.arrays()[k].tolist()


def test_save_load_roundtrip(tmp_path):
    X = _separated(30, 2, seed=6)
    y = np.random.default_rng(6).integers(0, 4, len(X))
    net = memorize.build("yang2026", X, y, width=12)
    net.save(tmp_path / "net.npz")
    back = memorize.load(tmp_path / "net.npz")
    assert back.is_exact and verify(back, X, y).max_error == 0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 25), d=st.integers(1, 3), C=st.integers(1, 6), seed=st.integers(0, 10**6),
       q=st.sampled_from([None, 1, 2, 3]), S=st.sampled_from([None, 1, 2, 5]),
       lookup=st.sampled_from(["auto", "flat", "grouped"]))
def test_property_any_small_dataset(n, d, C, seed, q, S, lookup):
    rng = np.random.default_rng(seed)
    X = np.round(rng.standard_normal((n, d)) * rng.choice([1e-3, 1.0, 1e3]), int(rng.integers(0, 6)))
    y = rng.integers(0, C, n)
    knobs = {k: v for k, v in dict(bits_per_layer=q, block_size=S, lookup=lookup).items() if v is not None}
    if S is not None and S > len(np.unique(X, axis=0)):
        knobs.pop("block_size")
    # identical rounded points with different labels must be refused, everything else memorized
    uniq, inv = np.unique(X, axis=0, return_inverse=True)
    inv = inv.ravel()
    conflict = any(len(set(y[inv == k])) > 1 for k in range(len(uniq)))
    if conflict:
        with pytest.raises(errors.DuplicateError):
            memorize.build("yang2026", X, y, **knobs)
        return
    net = memorize.build("yang2026", X, y, **knobs)
    assert verify(net, X, y).max_error == 0
    span = int(y.max()) - int(y.min()) + 1  # the builder stores label − min(label)
    arch = Y.architecture(len(uniq), d, 1, n_classes=max(span, 2), key_max=net.meta["key_max"], **knobs)
    assert arch.widths == net.widths and arch.num_params == net.num_params


@pytest.mark.slow
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_exact_memorization_10k(setting):
    X = _separated(10_000, 4, seed=1)
    y = np.random.default_rng(1).integers(0, 10, len(X))
    net = memorize.build("yang2026", X, y, **SETTINGS[setting])
    assert verify(net, X, y).max_error == 0


@pytest.mark.parametrize("W", [7, 8, 10, 11, 12, 19, 20, 21, 40])
def test_width_target_is_a_hard_limit(W):
    for N, C in ((150, 10), (400, 2)):
        X = _separated(N, 3, seed=W + N)
        y = np.random.default_rng(W).integers(0, C, len(X))
        net = memorize.build("yang2026", X, y, width=W)
        assert max(net.widths) <= W
        assert verify(net, X, y).max_error == 0
