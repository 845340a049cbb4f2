"""Tests for memorize.dynamics: gradients, span projector, SGD and the Theorem 5.1 experiment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import memorize
from memorize import Dense, Network, Residual, hardtanh, identity, relu, relu_like, step
from memorize.dynamics import (
    Loss,
    activation_pattern,
    flatten,
    kink_margin,
    log_cosh_loss,
    near_minimum_experiment,
    per_example_gradients,
    rebalance,
    risk,
    risk_gradient,
    sgd,
    span_basis,
    span_projector,
    squared_loss,
    unflatten,
)
from memorize.errors import ArgumentError, ArgumentTypeError, AssumptionError, ExactnessError, ShapeError

ACTIVATIONS = {
    "identity": identity,
    "relu": relu,
    "relu_like": relu_like(1.0, 0.3),
    "hardtanh": hardtanh,
}


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def random_net(rng, d, spec, k=1, scale=0.8):
    """spec: list of ("dense"|"residual", activation name, width)."""
    layers, dim = [], d
    for kind, act, width in spec:
        a = ACTIVATIONS[act]
        if kind == "dense":
            layers.append(Dense(scale * rng.standard_normal((width, dim)), 0.3 * rng.standard_normal(width), a))
            dim = width
        else:
            layers.append(
                Residual(
                    scale * rng.standard_normal((width, dim)),
                    0.3 * rng.standard_normal(width),
                    scale * rng.standard_normal((dim, width)),
                    0.3 * rng.standard_normal(dim),
                    a,
                )
            )
    layers.append(Dense(rng.standard_normal((k, dim)), rng.standard_normal(k)))
    return Network(layers)


def fd_outputs(net, X, h=1e-6):
    """Central finite differences of every output w.r.t. every parameter: (N·k, P)."""
    theta = flatten(net)
    cols = []
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        cols.append(((unflatten(net, theta + e)(X) - unflatten(net, theta - e)(X)) / (2 * h)).ravel())
    return np.stack(cols, axis=1)


def fd_risk(net, X, y, loss, h=1e-6):
    theta = flatten(net)
    g = np.empty_like(theta)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        g[j] = (risk(unflatten(net, theta + e), X, y, loss=loss) - risk(unflatten(net, theta - e), X, y, loss=loss)) / (2 * h)
    return g


def away_from_kinks(net, X, margin=1e-3):
    return kink_margin(net, X) > margin


SPECS = [
    [("dense", "relu", 5)],
    [("dense", "relu_like", 4), ("dense", "hardtanh", 3)],
    [("dense", "identity", 3), ("dense", "relu", 4)],
    [("residual", "relu", 4)],
    [("residual", "relu_like", 3), ("residual", "hardtanh", 4)],
    [("residual", "identity", 2), ("dense", "hardtanh", 3)],
    [("dense", "relu", 3), ("residual", "relu", 5), ("residual", "hardtanh", 2)],
]


# ------------------------------------------------------------------------------------------
# gradients against finite differences
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: "-".join(f"{k[0]}{a}" for k, a, _ in s))
@pytest.mark.parametrize("k", [1, 2])
def test_gradients_match_finite_differences(spec, k):
    rng = np.random.default_rng(hash(str(spec)) % 2**32 + k)
    for _ in range(20):
        net = random_net(rng, 3, spec, k=k)
        X = rng.standard_normal((6, 3))
        if away_from_kinks(net, X):
            break
    else:
        pytest.fail("no kink-free random network found")
    y = rng.standard_normal((6, k))
    J = per_example_gradients(net, X)
    assert J.shape == (6 * k, net.num_params)
    Jfd = fd_outputs(net, X)
    np.testing.assert_allclose(J, Jfd, rtol=1e-6, atol=1e-7 * (1 + np.abs(Jfd).max()))
    for loss in (squared_loss, log_cosh_loss):
        r, g = risk_gradient(net, X, y, loss=loss)
        assert r == pytest.approx(risk(net, X, y, loss=loss), rel=1e-12)
        gfd = fd_risk(net, X, y, loss)
        np.testing.assert_allclose(g, gfd, rtol=1e-5, atol=1e-7 * (1 + np.abs(gfd).max()))
        # chain rule: ∇R = (1/N) Jᵀ ℓ′
        lp = loss.grad(net(X), y).ravel()
        np.testing.assert_allclose(g, J.T @ lp / 6, rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    spec=st.lists(
        st.tuples(st.sampled_from(["dense", "residual"]), st.sampled_from(sorted(ACTIVATIONS)), st.integers(1, 4)),
        min_size=1,
        max_size=3,
    ),
    d=st.integers(1, 3),
)
def test_gradients_match_finite_differences_property(seed, spec, d):
    rng = np.random.default_rng(seed)
    net = random_net(rng, d, spec, scale=0.6)
    X = rng.standard_normal((4, d))
    if not away_from_kinks(net, X, 1e-3):
        # a kink within 1e-3 of a data point: finite differences straddle it; use other points
        X = X + 0.37
        if not away_from_kinks(net, X, 1e-3):
            return
    J = per_example_gradients(net, X)
    Jfd = fd_outputs(net, X)
    np.testing.assert_allclose(J, Jfd, rtol=1e-5, atol=1e-6 * (1 + np.abs(Jfd).max()))


def test_step_activation_is_refused():
    net = Network([Dense([[1.0]], [0.0], step), Dense([[1.0]], [0.0])])
    with pytest.raises(ArgumentError, match="step"):
        risk_gradient(net, [[1.0]], [1.0])
    with pytest.raises(ArgumentError, match=r"layers\[0\]"):
        flatten(net)


def test_exact_network_is_refused():
    X, y = np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 0.0, 1.0])
    net = memorize.build("zhang2017", X, y, exact=True)
    with pytest.raises(ExactnessError, match="astype"):
        per_example_gradients(net, X)


def test_flatten_unflatten_roundtrip_and_errors():
    rng = np.random.default_rng(0)
    net = random_net(rng, 3, SPECS[-1], k=2)
    theta = flatten(net)
    assert theta.shape == (net.num_params,)
    back = unflatten(net, theta)
    X = rng.standard_normal((5, 3))
    np.testing.assert_array_equal(back(X), net(X))
    theta2 = theta + 1.0
    assert np.array_equal(flatten(unflatten(net, theta2)), theta2)
    with pytest.raises(ShapeError, match="theta"):
        unflatten(net, theta[:-1])
    with pytest.raises(ArgumentTypeError, match="net"):
        flatten("not a net")
    with pytest.raises(ArgumentTypeError, match="loss"):
        risk(net, X, rng.standard_normal((5, 2)), loss=lambda f, y: f)
    with pytest.raises(ShapeError, match="y"):
        risk(net, X, rng.standard_normal(5))


def test_per_example_gradient_memory_limit():
    rng = np.random.default_rng(1)
    net = random_net(rng, 3, [("dense", "relu", 50)])
    with pytest.raises(ArgumentError, match="max_bytes"):
        per_example_gradients(net, rng.standard_normal((100, 3)), max_bytes=1000)


# ------------------------------------------------------------------------------------------
# projector
# ------------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), m=st.integers(1, 8), p=st.integers(1, 12), rank=st.integers(0, 8))
def test_projector_is_an_orthogonal_projection(seed, m, p, rank):
    rng = np.random.default_rng(seed)
    rank = min(rank, m, p)
    J = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, p))
    Pi = span_projector(J)
    np.testing.assert_allclose(Pi @ Pi, Pi, atol=1e-12)
    np.testing.assert_allclose(Pi, Pi.T, atol=1e-14)
    assert span_basis(J).shape == (p, rank)
    assert round(float(np.trace(Pi))) == rank
    # rows of J lie in the span; a vector orthogonal to them is annihilated
    np.testing.assert_allclose(J @ Pi, J, atol=1e-10 * (1 + np.abs(J).max()))
    v = rng.standard_normal(p)
    perp = v - Pi @ v
    np.testing.assert_allclose(J @ perp, 0, atol=1e-9 * (1 + np.abs(J).max()) * np.linalg.norm(v))


def test_projector_on_memorizer_gradients():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((10, 2)), rng.uniform(-1, 1, 10)
    net = memorize.build("zhang2017", X, y, theta=0.25)
    J = per_example_gradients(net, X)
    Pi = span_projector(J)
    assert round(float(np.trace(Pi))) == 10  # the N gradients are independent
    np.testing.assert_allclose(Pi @ Pi, Pi, atol=1e-12)
    np.testing.assert_allclose(Pi, Pi.T, atol=1e-14)
    with pytest.raises(ArgumentError, match="max_bytes"):
        span_projector(J, max_bytes=100)


# ------------------------------------------------------------------------------------------
# kinks, patterns, rebalance
# ------------------------------------------------------------------------------------------
def test_kink_margin_detects_data_on_kinks():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((12, 2)), rng.uniform(-1, 1, 12)
    assert kink_margin(memorize.build("zhang2017", X, y), X) == 0.0
    net = memorize.build("zhang2017", X, y, theta=0.25)
    assert kink_margin(net, X) > 0
    with pytest.raises(AssumptionError, match="kink"):
        near_minimum_experiment(X=X, y=y, theta=0.0, epochs=1)
    lin = Network([Dense([[2.0]], [0.0])])
    assert kink_margin(lin, X[:, :1]) == np.inf
    assert activation_pattern(lin, X[:, :1]).size == 0


def test_activation_pattern_hardtanh_pieces():
    net = Network([Dense([[1.0]], [0.0], hardtanh), Dense([[1.0]], [0.0])])
    np.testing.assert_array_equal(activation_pattern(net, [[-2.0], [0.5], [3.0]]), [0, 1, 2])


def test_rebalance_keeps_function_and_pattern():
    rng = np.random.default_rng(4)
    net = random_net(rng, 3, [("dense", "relu", 6), ("residual", "relu_like", 4), ("dense", "relu", 5)])
    X = rng.standard_normal((20, 3))
    nb = rebalance(net)
    np.testing.assert_allclose(nb(X), net(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(activation_pattern(nb, X), activation_pattern(net, X))
    res, last, out = nb.layers[1], nb.layers[2], nb.layers[3]
    np.testing.assert_allclose(np.sqrt((res.U**2).sum(1) + res.b**2), np.sqrt((res.V**2).sum(0)), rtol=1e-12)
    np.testing.assert_allclose(np.sqrt((last.weight**2).sum(1) + last.bias**2), np.abs(out.weight[0]), rtol=1e-12)
    # a Dense layer feeding a residual stream has no unit-wise rescaling symmetry: left alone
    np.testing.assert_array_equal(nb.layers[0].weight, net.layers[0].weight)
    assert nb.meta["rebalanced"] is True


# ------------------------------------------------------------------------------------------
# SGD
# ------------------------------------------------------------------------------------------
def _small_problem(seed=5, n=8):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, 2)), rng.uniform(-1, 1, n)
    star = memorize.build("zhang2017", X, y, theta=0.25)
    return X, y, star, rng


def test_sgd_fixed_order_matches_manual_steps():
    X, y, star, rng = _small_problem()
    start = unflatten(star, flatten(star) + 1e-2 * rng.standard_normal(star.num_params))
    lr, B = 1e-3, 2
    res = sgd(start, X, y, lr=lr, batch_size=B, epochs=2, order="fixed", reference=star)
    theta = flatten(start)
    for _ in range(2):
        for t in range(4):
            sl = slice(t * B, (t + 1) * B)
            _, g = risk_gradient(unflatten(star, theta), X[sl], y[sl])
            theta = theta - lr * g
    np.testing.assert_allclose(flatten(res.network), theta, rtol=1e-13, atol=1e-15)
    rec = res.record
    assert len(rec) == 3 and rec.steps_per_epoch == 4 and rec.order == "fixed"
    xi = theta - flatten(star)
    assert rec.xi_norm[-1] == pytest.approx(np.linalg.norm(xi), rel=1e-12)
    Pi = span_projector(per_example_gradients(star, X))
    assert rec.xi_par_norm[-1] == pytest.approx(np.linalg.norm(Pi @ xi), rel=1e-8)
    assert rec.xi_perp_norm[-1] == pytest.approx(np.linalg.norm(xi - Pi @ xi), rel=1e-8)
    assert rec.risk[-1] == pytest.approx(risk(res.network, X, y), rel=1e-12)
    with pytest.raises(ValueError):
        rec.risk[0] = 1.0  # records are read-only


def test_sgd_full_batch_is_gradient_descent_and_seeded():
    X, y, star, rng = _small_problem(6)
    start = unflatten(star, flatten(star) + 1e-2 * rng.standard_normal(star.num_params))
    res = sgd(start, X, y, lr=1e-3, batch_size=8, epochs=1)
    _, g = risk_gradient(start, X, y)
    np.testing.assert_allclose(flatten(res.network), flatten(start) - 1e-3 * g, rtol=1e-13, atol=1e-15)
    a = sgd(start, X, y, lr=1e-3, batch_size=2, epochs=3, rng=7, reference=star).record
    b = sgd(start, X, y, lr=1e-3, batch_size=2, epochs=3, rng=7, reference=star).record
    c = sgd(start, X, y, lr=1e-3, batch_size=2, epochs=3, rng=8, reference=star).record
    np.testing.assert_array_equal(a.xi_norm, b.xi_norm)
    assert not np.array_equal(a.xi_norm, c.xi_norm)


def test_sgd_refuses_bad_arguments_and_flags_divergence():
    X, y, star, _ = _small_problem(7)
    with pytest.raises(ArgumentError, match="batch_size"):
        sgd(star, X, y, lr=1e-3, batch_size=3, epochs=1)
    with pytest.raises(ArgumentError, match="lr"):
        sgd(star, X, y, lr=-1.0, batch_size=2, epochs=1)
    with pytest.raises(ArgumentError, match="order"):
        sgd(star, X, y, lr=1e-3, batch_size=2, epochs=1, order="random")
    with pytest.raises(ArgumentError, match="epochs"):
        sgd(star, X, y, lr=1e-3, batch_size=2, epochs=-1)
    other = Network([Dense(np.ones((3, 2)), np.zeros(3), relu), Dense(np.ones((1, 3)), np.zeros(1))])
    with pytest.raises(ArgumentError, match="reference"):
        sgd(star, X, y, lr=1e-3, batch_size=2, epochs=1, reference=other)
    start = unflatten(star, flatten(star) + 0.1)
    rec = sgd(start, X, y, lr=1e6, batch_size=8, epochs=50).record
    assert rec.diverged and len(rec) < 51 and np.all(np.isfinite(rec.risk))


# ------------------------------------------------------------------------------------------
# Theorem 5.1 experiment
# ------------------------------------------------------------------------------------------
def _check_claims(res, eps_ratio_spread=3.0):
    assert res.kink_margin > 0 and res.max_loss_grad < 1e-10
    for run in res.runs:
        rec = run.record
        # claim 2: geometric decay of ‖ξ_par‖ at (or faster than) the first-order rate 1 − ηλ
        assert run.t_star is not None and run.t_star > 10
        gap = 1 - res.predicted_factor
        assert 1 - 3 * gap <= run.contraction <= res.predicted_factor + 1e-5  # close to / below 1 − ηλ
        assert run.initial_contraction <= run.contraction  # fast modes of H die out first
        assert run.worst_epoch_ratio < 1
        # below the geometric envelope ‖ξ_par⁰‖ (1 − ηλ)^k at every epoch up to t*
        k = np.arange(run.t_star + 1)
        par = rec.xi_par_norm[: run.t_star + 1]
        assert np.all(par <= 1.01 * par[0] * res.predicted_factor**k)
        # ‖ξ_par‖ really went from order ε to order ε²
        assert rec.xi_par_norm[run.t_star] < res.tau * rec.xi_norm[run.t_star] ** 2
        assert rec.xi_par_norm[0] > 10 * res.tau * rec.xi_norm[0] ** 2
        # claim 3: ‖ξ‖ ≤ 2‖ξ⁰‖
        assert run.max_xi_ratio <= 2.0
        assert run.pattern_kept
    # claim 1 and claim 3 with one constant each for all ε
    r2 = np.array([r.risk0_over_eps2 for r in res.runs])
    r4 = np.array([r.risk_t_star_over_eps4 for r in res.runs])
    assert np.all(r2 > 0) and r2.max() / r2.min() < 1.5
    assert np.all(r4 > 0) and r4.max() / r4.min() < eps_ratio_spread
    C = r4.max()
    for r in res.runs:
        assert r.risk_t_star <= C * r.eps**4
        assert r.risk_t_star < 1e-2 * r.risk0  # from O(ε²) down to O(ε⁴)


def test_experiment_shows_theorem_on_zhang_memorizer():
    res = near_minimum_experiment(epsilons=(1e-2, 1e-3), epochs=8000, rng=0)  # t* ≈ 5.7e3 epochs at ε = 1e-3 for this seed
    assert res.network.meta["method"] == "zhang2017"
    assert res.rank == 8 and res.num_params == 33
    assert 0 < res.lam_min < res.lam_max
    assert res.lr == pytest.approx(0.5 * res.batch_size / res.lam_max)
    _check_claims(res)


def test_experiment_fixed_order_and_log_cosh_loss():
    res = near_minimum_experiment(epsilons=(1e-2, 1e-3), epochs=2500, rng=1, order="fixed", loss=log_cosh_loss)
    _check_claims(res)


def _random_feature_memorizer(rng, n, d, width, act):
    """A two-layer memorizer with random first layer and least-squares output (not Zhang)."""
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = rng.uniform(-1, 1, n)
    W, b = rng.standard_normal((width, d)), 0.3 * rng.standard_normal(width)
    H = act(X @ W.T + b)
    A = np.c_[H, np.ones(n)]
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    return Network([Dense(W, b, act), Dense(coef[None, :-1], coef[-1:])]), X, y


def _residual_memorizer(rng, n, d, width):
    X = rng.standard_normal((n, d))
    y = rng.uniform(-1, 1, n)
    U, b = rng.standard_normal((width, d)), 0.3 * rng.standard_normal(width)
    S = np.maximum(X @ U.T + b, 0)
    # readout e_1: f = x_1 + V[0] · s + c_1, solve V[0] and c_1 for the residuals y − x_1
    coef = np.linalg.lstsq(np.c_[S, np.ones(n)], y - X[:, 0], rcond=None)[0]
    V = np.zeros((d, width))
    V[0] = coef[:-1]
    c = np.zeros(d)
    c[0] = coef[-1]
    out = np.zeros((1, d))
    out[0, 0] = 1.0
    return Network([Residual(U, b, V, c, relu), Dense(out, [0.0])]), X, y


@pytest.mark.parametrize("kind", ["hardtanh_features", "residual_relu"])
def test_experiment_accepts_any_memorizing_network(kind):
    rng = np.random.default_rng(11)
    if kind == "hardtanh_features":
        net, X, y = _random_feature_memorizer(rng, 8, 4, 30, hardtanh)
    else:
        net, X, y = _residual_memorizer(rng, 8, 3, 30)
    assert np.abs(net(X)[:, 0] - y).max() < 1e-10
    # rebalancing the residual block (a symmetry of relu units) speeds SGD up; hardtanh has none
    res = near_minimum_experiment(net, X, y, epsilons=(1e-2, 1e-3), epochs=1500, rng=2, balance=kind == "residual_relu")
    assert res.rank == 8
    assert res.network.meta.get("rebalanced", False) == (kind == "residual_relu")
    _check_claims(res)


def test_experiment_refuses_non_memorizing_network_and_bad_options():
    rng = np.random.default_rng(12)
    net, X, y = _random_feature_memorizer(rng, 8, 4, 30, relu)
    with pytest.raises(AssumptionError, match="memorizing"):
        near_minimum_experiment(net, X, y + 0.1, epochs=1)
    with pytest.raises(ArgumentError, match="X, y"):
        near_minimum_experiment(net, epochs=1)
    with pytest.raises(ArgumentError, match="epsilons"):
        near_minimum_experiment(net, X, y, epsilons=(0.0,), epochs=1)
    with pytest.raises(ArgumentError, match="batch_size"):
        near_minimum_experiment(net, X, y, batch_size=3, epochs=1)


def test_custom_loss_is_used():
    quartic = Loss(
        "quartic",
        lambda f, y: (f - y) ** 4 + (f - y) ** 2,
        lambda f, y: 4 * (f - y) ** 3 + 2 * (f - y),
        lambda f, y: 12 * (f - y) ** 2 + 2.0,
    )
    rng = np.random.default_rng(13)
    net = random_net(rng, 2, [("dense", "relu", 4)])
    X, y = rng.standard_normal((5, 2)), rng.standard_normal(5)
    if not away_from_kinks(net, X):
        X = X + 0.21
    r, g = risk_gradient(net, X, y, loss=quartic)
    np.testing.assert_allclose(g, fd_risk(net, X, y, quartic), rtol=1e-5, atol=1e-8)
    assert r == pytest.approx(np.mean((net(X)[:, 0] - y) ** 4 + (net(X)[:, 0] - y) ** 2))


def test_record_is_plain_json_ready_data():
    import json

    X, y, star, _ = _small_problem(8)
    rec = sgd(unflatten(star, flatten(star) + 1e-3), X, y, lr=1e-3, batch_size=4, epochs=3, reference=star).record
    d = json.loads(json.dumps(rec.as_dict()))
    assert d["epoch"] == [0, 1, 2, 3] and d["batch_size"] == 4 and d["order"] == "shuffle"
    assert len(d["xi_par_norm"]) == 4 and all(isinstance(v, bool) for v in d["pattern_kept"])


def test_rebalance_leaves_hardtanh_units_alone():
    rng = np.random.default_rng(9)
    net = random_net(rng, 2, [("dense", "hardtanh", 4), ("residual", "hardtanh", 3)])
    nb = rebalance(net)
    np.testing.assert_array_equal(flatten(nb), flatten(net))


def test_public_names_are_those_of_the_former_single_module():
    import memorize.dynamics as dyn
    from memorize.dynamics import descent, gradients, losses, params, theorem51

    assert set(dyn.__all__) == {
        "Loss", "squared_loss", "log_cosh_loss", "flatten", "unflatten", "risk", "risk_gradient",
        "per_example_gradients", "span_basis", "span_projector", "activation_pattern", "kink_margin",
        "SGDRecord", "SGDResult", "sgd", "rebalance", "EpsilonRun", "NearMinimumResult",
        "near_minimum_experiment", "DEFAULT_MAX_BYTES",
    }
    # each name is defined once, in the module of its topic
    homes = {m: m.__all__ for m in (descent, gradients, losses, params, theorem51)}
    assert sum(len(names) for names in homes.values()) == len(dyn.__all__)
    for module, names in homes.items():
        assert all(getattr(dyn, n) is getattr(module, n) for n in names)
