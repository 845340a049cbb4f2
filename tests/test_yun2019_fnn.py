"""Tests for the Yun, Sra, Jadbabaie 2019 fully connected memorizers (Thm 3.1, Prop 3.2, Prop 3.4)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memorize
from memorize import registry
from memorize._arith import FLOAT64
from memorize.constructions.yun2019 import fnn
from memorize.errors import ArgumentError, CapacityError, DuplicateError, LabelError

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ACTS = ["relu", "hardtanh", memorize.relu_like(1.0, 0.1), memorize.relu_like(2, 0.5)]


def _data(n, d, dy, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.uniform(-1, 1, (n, dy))


# ----------------------------------------------------------------------------- Theorem 3.1
@SETTINGS
@given(n=st.integers(1, 60), d=st.integers(1, 4), dy=st.integers(1, 3), a=st.integers(0, 3), seed=st.integers(0, 99))
def test_two_hidden_memorizes_any_small_dataset(n, d, dy, a, seed):
    X, y = _data(n, d, dy, seed)
    act = ACTS[a]
    net = fnn.yun2019_two_hidden(X, y, activation=act)
    rep = memorize.verify(net, X, y)
    assert rep.ok, rep
    arch = fnn.two_hidden_architecture(n, d, dy, activation=act)
    assert net.widths == arch.widths and net.num_params == arch.num_params
    assert fnn.two_hidden_condition(*net.widths, n, dy, act)


@SETTINGS
@given(n=st.integers(2, 24), dy=st.integers(1, 2), a=st.integers(0, 3), seed=st.integers(0, 99))
def test_two_hidden_exact_error_is_zero(n, dy, a, seed):
    X, y = _data(n, 3, dy, seed)
    net = fnn.yun2019_two_hidden(X, y, activation=ACTS[a], exact=True)
    assert net.is_exact
    assert memorize.verify(net, X, y).max_error == 0


@pytest.mark.parametrize("act", ["relu", "hardtanh"])
def test_default_widths_are_smallest(act):
    f = 1 if act == "hardtanh" else 2
    for n in (1, 7, 40, 100, 1000, 10**5):
        d1, d2 = fnn.two_hidden_architecture(n, 3, 1, activation=act).widths
        assert fnn.two_hidden_condition(d1, d2, n, 1, act)
        # no valid pair with a smaller total width
        best = min(
            a + b
            for a in range(2 * f, d1 + d2 + 1, 2 * f)
            for b in range(2 * f, d1 + d2 + 1, 2 * f)
            if fnn.two_hidden_condition(a, b, n, 1, act)
        ) if n <= 1000 else d1 + d2
        assert d1 + d2 == best
    assert fnn.two_hidden_architecture(10**5, 10, 1).widths == (636, 632)


def test_user_widths_at_and_above_condition_and_refused_below():
    X, y = _data(100, 3, 1, 0)
    net = fnn.yun2019_two_hidden(X, y, widths=(20, 20))
    assert net.widths == (20, 20) and memorize.verify(net, X, y).ok
    net = fnn.yun2019_two_hidden(X, y, widths=(31, 27))  # odd widths: leftover units are zero
    assert net.widths == (31, 27) and memorize.verify(net, X, y).ok
    with pytest.raises(CapacityError, match=r"4⌊d1/4⌋⌊d2/\(4·d_y\)⌋ ≥ N.*smallest valid widths are \(20, 20\)"):
        fnn.yun2019_two_hidden(X, y, widths=(20, 19))
    with pytest.raises(CapacityError, match="hard-tanh|hardtanh"):
        fnn.yun2019_two_hidden(X, y, widths=(10, 9), activation="hardtanh")


@SETTINGS
@given(n=st.integers(5, 80), d1=st.integers(2, 40), d2=st.integers(2, 40), a=st.integers(0, 1))
def test_widths_condition_decides_acceptance(n, d1, d2, a):
    act = ACTS[a]
    X, y = _data(n, 2, 1, n)
    if fnn.two_hidden_condition(d1, d2, n, 1, act):
        net = fnn.yun2019_two_hidden(X, y, widths=(d1, d2), activation=act)
        assert net.widths == (d1, d2) and memorize.verify(net, X, y).ok
    else:
        with pytest.raises(CapacityError):
            fnn.yun2019_two_hidden(X, y, widths=(d1, d2), activation=act)


def test_labels_outside_range_refused_unless_rescaled():
    X, y = _data(30, 2, 1, 1)
    y = y * 5
    with pytest.raises(LabelError, match="rescale=True"):
        fnn.yun2019_two_hidden(X, y)
    net = fnn.yun2019_two_hidden(X, y, rescale=True)
    assert memorize.verify(net, X, y).ok
    ne = fnn.yun2019_two_hidden(X[:12], y[:12], rescale=True, exact=True)
    assert memorize.verify(ne, X[:12], y[:12]).max_error == 0


def test_bad_input_refused():
    X, y = _data(10, 2, 1, 2)
    with pytest.raises(DuplicateError):
        fnn.yun2019_two_hidden(np.vstack([X, X[:1]]), np.concatenate([y[:, 0], [y[0, 0] + 0.5]]))
    with pytest.raises(ArgumentError):
        fnn.yun2019_two_hidden(X, y, activation="step")
    with pytest.raises(ArgumentError):
        fnn.yun2019_two_hidden(X, y, strategy="fixed")
    with pytest.raises(ArgumentError):
        fnn.yun2019_two_hidden(X, y, widths=(8,))


def test_duplicates_with_equal_labels_are_memorized():
    X, y = _data(20, 2, 1, 3)
    X2, y2 = np.vstack([X, X[:5]]), np.concatenate([y, y[:5]])
    net = fnn.yun2019_two_hidden(X2, y2)
    assert memorize.verify(net, X2, y2).ok


def test_same_seed_same_network_and_meta_facts():
    X, y = _data(200, 4, 1, 4)
    a = fnn.yun2019_two_hidden(X, y, rng=3)
    b = fnn.yun2019_two_hidden(X, y, rng=3)
    for la, lb in zip(a.layers, b.layers):
        assert np.array_equal(la.weight, lb.weight) and np.array_equal(la.bias, lb.bias)
    assert a.meta["strategy"] in ("match", "balance")
    assert a.meta["windows"] * a.meta["positions_per_window"] >= 200


@pytest.mark.parametrize("strategy", ["match", "balance"])
def test_ownership_rules_keep_levels_bounded(strategy):
    """A fixed ownership order makes the zig-zag levels grow like Π(1−s)/s (1e52 at N = 1000)."""
    X, y = _data(1000, 5, 1, 5)
    net = fnn.yun2019_two_hidden(X, y, strategy=strategy)
    assert net.meta["max_level"] < 1e9
    assert memorize.verify(net, X, y).max_error < 1e-8


def test_one_dimensional_alternating_labels():
    x = np.arange(64.0)
    y = (-1.0) ** np.arange(64)
    net = fnn.yun2019_two_hidden(x, y)
    assert memorize.verify(net, x, y).ok
    ne = fnn.yun2019_two_hidden(x[:16], y[:16], exact=True)
    assert memorize.verify(ne, x[:16], y[:16]).max_error == 0


# ------------------------------------------------------------------------- Proposition 3.2
@SETTINGS
@given(n=st.integers(1, 80), d=st.integers(1, 4), C=st.integers(1, 7), a=st.integers(0, 3), seed=st.integers(0, 99))
def test_classifier_memorizes_one_hot(n, d, C, a, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, C, n)
    act = ACTS[a]
    net = fnn.yun2019_classifier(X, y, activation=act)
    # one-hot targets (a single class would otherwise read as the regression target 0)
    onehot = (y[:, None] == np.array(net.meta["classes"])[None, :]).astype(float)
    rep = memorize.verify(net, X, onehot)
    assert rep.ok
    if a < 2:  # ReLU and hard-tanh decoders are exact in float64 (leaky ReLU cancels on one side)
        assert rep.max_error == 0
    arch = fnn.classifier_architecture(n, d, net.output_dim, activation=act)
    assert net.widths == arch.widths and net.num_params == arch.num_params


@SETTINGS
@given(n=st.integers(2, 30), C=st.integers(2, 5), a=st.integers(0, 3), seed=st.integers(0, 99))
def test_classifier_exact(n, C, a, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, 3)), rng.integers(0, C, n)
    net = fnn.yun2019_classifier(X, y, activation=ACTS[a], exact=True)
    onehot = (y[:, None] == np.array(net.meta["classes"])[None, :]).astype(int)
    assert memorize.verify(net, X, onehot).max_error == 0


def test_classifier_relu_output_exactly_one_hot_in_float64():
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((3000, 8)), rng.integers(0, 50, 3000)
    net = fnn.yun2019_classifier(X, y)
    out = net(X)
    assert np.array_equal(out, np.eye(50)[y])  # not just close: exactly 0 and 1


def test_classifier_widths_condition_and_labels():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((100, 3)), np.array(["a", "b", "c", "d"])[rng.integers(0, 4, 100)]
    net = fnn.yun2019_classifier(X, y)
    assert net.meta["classes"] == ["a", "b", "c", "d"]
    assert net.widths == (20, 20, 16)
    assert memorize.verify(net, X, y).ok
    with pytest.raises(CapacityError, match="d3 ≥ 4·d_y"):
        fnn.yun2019_classifier(X, y, widths=(20, 20, 15))
    with pytest.raises(CapacityError, match=r"smallest valid widths are \(20, 20, 16\)"):
        fnn.yun2019_classifier(X, y, widths=(16, 20, 16))
    net = fnn.yun2019_classifier(X, y, widths=(10, 10, 8), activation="hardtanh")
    assert net.widths == (10, 10, 8) and memorize.verify(net, X, y).ok


def test_imagenet_scale_widths():
    arch = fnn.classifier_architecture(10**6, 64, 1000)
    assert arch.widths == (2000, 2000, 4000)


def test_class_codes_dyadic_and_spaced():
    for C in (1, 2, 3, 10, 999, 1000, 1025):
        rho, delta = fnn.class_codes(FLOAT64, C)
        assert len(rho) == C and max(np.abs(rho)) <= 1
        assert C == 1 or np.allclose(np.diff(rho), delta)
        assert delta > 1.0 / (C + 1)  # at least half of 2/(C+1)
        assert C == 1 or max(np.abs(rho)) <= 1 - delta
        assert np.log2(delta) == int(np.log2(delta))


# ------------------------------------------------------------------------- Proposition 3.4
SPEC_CASES = [
    (1, [1, 14, 14, 3, 14, 14, 2, 2], [2, 5], 288),
    (1, [12] * 6, [1, 3, 5], 300),
    (2, [1, 16, 16, 3, 3, 16, 16, 2], [2, 6], 168),
    (1, [1, 1, 20, 20], [3], 400),
]


@pytest.mark.parametrize("dy,D,pairs,n", SPEC_CASES)
@pytest.mark.parametrize("act", ["hardtanh", "relu"])
def test_deep_spec_cases_at_full_capacity(dy, D, pairs, n, act):
    X, y = _data(n, 4, dy, n)
    widths = D if act == "hardtanh" else [2 * w for w in D]
    net = fnn.yun2019_deep(X, y, widths=widths, pairs=pairs, activation=act)
    assert net.widths == tuple(widths)
    assert memorize.verify(net, X, y).ok
    assert fnn.deep_architecture(n, 4, dy, widths=widths, pairs=pairs, activation=act).num_params == net.num_params
    with pytest.raises(CapacityError):
        X2, y2 = _data(n + 1, 4, dy, n)
        fnn.yun2019_deep(X2, y2, widths=widths, pairs=pairs, activation=act)


@SETTINGS
@given(n=st.integers(1, 40), L=st.integers(2, 6), w=st.integers(4, 12), a=st.integers(0, 2), seed=st.integers(0, 50))
def test_deep_random_widths(n, L, w, a, seed):
    X, y = _data(n, 2, 1, seed)
    act = ACTS[a]
    widths = [w] * L
    D = [x // (1 if act == "hardtanh" else 2) for x in widths]
    from memorize.constructions.yun2019 import _deep

    cap, starts = _deep.best_starts(D, 1)
    if starts is not None and cap >= n:
        net = fnn.yun2019_deep(X, y, widths=widths, activation=act)
        assert net.widths == tuple(widths) and memorize.verify(net, X, y).ok
    else:
        with pytest.raises(CapacityError):
            fnn.yun2019_deep(X, y, widths=widths, activation=act)


@pytest.mark.parametrize("act", ["hardtanh", "relu", memorize.relu_like(1, 0.25)])
def test_deep_exact(act):
    X, y = _data(40, 3, 2, 11)
    widths = [2, 30, 30, 4, 30, 30, 3] if act == "hardtanh" else [4, 60, 60, 8, 60, 60, 6]
    net = fnn.yun2019_deep(X, y, widths=widths, pairs=[2, 5], activation=act, exact=True)
    assert memorize.verify(net, X, y).max_error == 0


def test_deep_refuses_bad_pairs():
    X, y = _data(50, 2, 1, 0)
    with pytest.raises(CapacityError, match="disjoint"):
        fnn.yun2019_deep(X, y, widths=[12] * 6, pairs=[1, 2], activation="hardtanh")
    with pytest.raises(CapacityError, match="d_y \\+ 1"):
        fnn.yun2019_deep(X, y, widths=[12, 12, 1, 12, 12, 1], pairs=[1, 4], activation="hardtanh")
    with pytest.raises(ArgumentError, match="pairs: pass it with widths"):
        fnn.yun2019_deep(X, y, pairs=[1, 3])
    with pytest.raises(ArgumentError, match="depth"):
        fnn.yun2019_deep(X, y, depth=1)
    with pytest.raises(ArgumentError, match="depth: 4 disagrees"):
        fnn.yun2019_deep(X, y, widths=[12] * 6, depth=4)


# ------------------------------------------------------------------------------- registry
def test_registered_with_tasks():
    m = registry.all_methods()
    assert m["yun2019_two_hidden"].task == "regression"
    assert m["yun2019_classifier"].task == "classification"
    assert m["yun2019_deep"].task == "regression"
    assert m["yun2019_two_hidden"].demo_options.get("rescale") is True


def test_demo_style_digits_value_labels():
    from memorize.datasets import load_digits

    X, y = load_digits()
    X, y = X[:400], y[:400].astype(float)
    net = memorize.build("yun2019_two_hidden", X, y, rescale=True)
    assert memorize.verify(net, X, y).ok
    net = memorize.build("yun2019_classifier", X, y.astype(int))
    assert memorize.verify(net, X, y.astype(int)).max_error == 0


@pytest.mark.parametrize("strategy", ["greedy", "match", "balance", "greedy-nc", "match-nc", "balance-nc"])
def test_every_ownership_rule_memorizes_exactly(strategy):
    X, y = _data(48, 3, 1, 12)
    net = fnn.yun2019_two_hidden(X, y, strategy=strategy, exact=True)
    assert net.meta["strategy"] == strategy
    assert memorize.verify(net, X, y).max_error == 0


def test_auto_keeps_smallest_predicted_cancellation():
    X, y = _data(3000, 4, 1, 13)
    auto = fnn.yun2019_two_hidden(X, y, n_directions=1)
    masses = [fnn.yun2019_two_hidden(X, y, n_directions=1, strategy=s).meta["cancellation_mass"]
              for s in ("greedy", "match", "balance", "greedy-nc", "match-nc", "balance-nc")]
    assert auto.meta["cancellation_mass"] == pytest.approx(min(masses), rel=0.5)
    with pytest.raises(ArgumentError):
        fnn.yun2019_two_hidden(X, y, n_trials=0)


def test_more_directions_do_not_hurt_predicted_error():
    X, y = _data(5000, 6, 1, 14)
    one = fnn.yun2019_two_hidden(X, y, n_directions=16, n_trials=1)
    many = fnn.yun2019_two_hidden(X, y, n_directions=16, n_trials=16)
    # the trial set contains the single best-ranked direction, so the kept one is never worse
    # (up to the refit to the float64 layer 1)
    assert many.meta["cancellation_mass"] <= 1.5 * one.meta["cancellation_mass"]
    assert memorize.verify(many, X, y).ok


# ----------------------------------------------------------------------------- float64 honesty guard
@SETTINGS
@given(n=st.integers(2, 400), C=st.integers(2, 30), d=st.integers(1, 6), a=st.integers(0, 3), seed=st.integers(0, 99))
def test_classifier_float64_guarantee_is_honest(n, C, d, a, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, d)), rng.integers(0, C, n)
    net = fnn.yun2019_classifier(X, y, activation=ACTS[a])
    m = net.meta
    # the a-priori estimate is within the documented factor 3 of what the float64 network does
    assert m["sampled_code_error"] <= max(3 * m["predicted_error"], 1e-12)
    assert m["float64_exact_guaranteed"] == (
        3 * m["predicted_error"] <= m["code_error_bound"] and m["sampled_code_error"] <= m["code_error_bound"]
    )
    if m["float64_exact_guaranteed"]:
        onehot = (y[:, None] == np.array(m["classes"])[None, :]).astype(float)
        assert memorize.verify(net, X, onehot).ok


def test_classifier_exact_build_is_guaranteed():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((20, 2)), rng.integers(0, 3, 20)
    m = fnn.yun2019_classifier(X, y, exact=True).meta
    assert m["float64_exact_guaranteed"] is True and m["sampled_code_error"] == 0.0


def test_classifier_thin_margin_is_recorded_or_refused(monkeypatch):
    from memorize.errors import ConstructionError

    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((500, 4)), rng.integers(0, 20, 500)
    m = fnn.yun2019_classifier(X, y, require_float64_exact=True).meta
    assert m["float64_exact_guaranteed"] and m["directions_tried"] == 16  # wide margin: no refit
    # pretend the estimate were 1e15 times less reliable: the same margin is now too thin
    from memorize.constructions.yun2019 import classifier

    monkeypatch.setattr(classifier, "_FLOAT64_SAFETY", 1e15)
    net = fnn.yun2019_classifier(X, y)
    assert net.meta["float64_exact_guaranteed"] is False
    # a thin margin makes the default refit on 48 directions, a superset of the first 16
    assert net.meta["directions_tried"] == 48
    fixed = fnn.yun2019_classifier(X, y, n_directions=16).meta
    assert fixed["directions_tried"] == 16
    assert net.meta["predicted_error"] <= fixed["predicted_error"]
    with pytest.raises(ConstructionError, match="7Δ/16"):
        fnn.yun2019_classifier(X, y, require_float64_exact=True)


@pytest.mark.slow
def test_classifier_1000_classes_at_1e5_is_guaranteed():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((10**5, 64)), rng.integers(0, 1000, 10**5)
    net = fnn.yun2019_classifier(X, y)
    m = net.meta
    assert m["float64_exact_guaranteed"]
    assert m["sampled_code_error"] <= m["code_error_bound"] / 10
