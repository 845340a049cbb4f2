"""memorize.bounds: registry-dispatched sizes agree with the builders; the lower-bound formulas."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memorize
from memorize import Residual, bounds, registry
from memorize.errors import ArgumentError, MemorizeError, UnknownMethodError

WITH_ARCH = sorted(name for name, m in registry.all_methods().items() if m.architecture is not None)

# (N, d_x, d_y): small general-position cases (Gaussian points), balanced classes.
CASES = [(7, 3, 1), (24, 5, 1), (24, 6, 3), (61, 8, 2), (40, 4, 4)]


def _data(m, n, dx, dy, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dx))
    if m.task == "regression":
        y = rng.uniform(-1, 1, (n, dy)) if dy > 1 else rng.uniform(-1, 1, n)
        out = dy
    elif m.task == "binary":
        y = np.arange(n) % 2
        out = 1
    else:
        y = np.arange(n) % dy if dy > 1 else np.arange(n) % 2
        out = max(dy, 2)
    return X, y, out


def _named_keywords(fn) -> list:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.name not in ("n", "dx", "dy")]


@pytest.mark.parametrize("name", WITH_ARCH)
@pytest.mark.parametrize("case", CASES)
def test_architecture_agrees_with_the_built_network(name, case):
    """The registry's size formula is the builder's size, for every registered builder."""
    m = registry.get(name)
    n, dx, dy = case
    X, y, out = _data(m, n, dx, dy, seed=n * 100 + dx)
    opts = dict(m.demo_options)
    try:
        net = m.builder(X, y, rng=0, **opts)
    except MemorizeError as exc:  # e.g. d_x < d_y for the ResNet: refused with a library error
        pytest.skip(f"{name} refuses (N, d_x, d_y) = {case}: {exc}")
    # Sizes that depend on the data beyond (N, d_x, d_y) (e.g. the key range of a bit-extraction
    # net) are recorded by the builder in net.meta under the architecture function's keyword name.
    # (Builder keywords such as ``activation`` are never hints: the builder's options are.)
    hints = {k: net.meta[k] for k in _named_keywords(m.architecture)
             if k in net.meta and k not in opts and k not in _named_keywords(m.builder)}
    # the registry's d_y: outputs for regression, classes for classifiers, 1 for binary builders
    arch_dy = {"regression": dy, "binary": 1}.get(m.task, len(np.unique(y)))
    arch = bounds.architecture(name, n, dx, arch_dy, **opts, **hints)
    assert arch.widths == net.widths, f"{name}: formula {arch.widths} vs built {net.widths}"
    assert arch.num_params == net.num_params
    assert arch.depth == net.depth and arch.num_hidden == net.num_hidden
    assert arch.input_dim == net.input_dim and arch.output_dim == net.output_dim
    assert arch.residual == any(isinstance(layer, Residual) for layer in net.layers)
    if arch.num_nonzero is not None:
        assert net.num_nonzero <= arch.num_nonzero
    if arch.max_weight_bits is not None and net.is_exact:
        assert net.max_weight_bits <= arch.max_weight_bits
    assert net.meta.get("extra_units", 0) in (0, None)


def test_architecture_dispatches_to_the_registry():
    for name in WITH_ARCH:
        m = registry.get(name)
        a = bounds.architecture(name, 50, 4, 2, **m.demo_options)
        assert a == m.architecture(50, 4, 2, **m.demo_options)
    a = bounds.architecture("zhang2017", 1000, 10)
    assert (a.widths, a.depth, a.num_hidden, a.num_params) == ((1000,), 1, 1000, 1000 * 10 + 1000 + 1000 + 1)


def test_architecture_refuses_bad_input(monkeypatch):
    with pytest.raises(UnknownMethodError):
        bounds.architecture("no_such_method", 10, 2)
    for bad in (0, -3):
        with pytest.raises(ArgumentError, match="n"):
            bounds.architecture("zhang2017", bad, 2)
    with pytest.raises(ArgumentError, match="dx"):
        bounds.architecture("zhang2017", 10, 0)
    with pytest.raises(MemorizeError, match="n"):
        bounds.architecture("zhang2017", 10.5, 2)
    fake = registry.Method("fake_no_arch", lambda X, y: None, "no size formula", "regression")
    monkeypatch.setitem(registry._REGISTRY, "fake_no_arch", fake)
    with pytest.raises(ArgumentError, match="architecture"):
        bounds.architecture("fake_no_arch", 10, 2)


# -- the builders never beat the lower bounds that apply to them ------------------------------------
@pytest.mark.parametrize("name", WITH_ARCH)
@pytest.mark.parametrize("n", [100, 10_000, 1_000_000])
def test_no_construction_beats_an_applicable_lower_bound(name, n):
    m = registry.get(name)
    dx, dy = 32, 10
    out = 1 if m.task == "binary" else dy
    try:
        a = m.architecture(n, dx, out, **m.demo_options)
    except MemorizeError as exc:
        pytest.skip(f"{name} has no architecture for N = {n}: {exc}")
    # a residual block is two layers of a plain network (σ(U h + b), then the linear V)
    depth = 2 * a.depth + 1 if a.residual else a.depth
    assert a.num_params >= bounds.vc_min_params(n, depth)
    if m.task == "regression":
        assert a.num_params >= bounds.dimension_min_params(n, out)
    assumptions = " ".join(m.assumptions)
    if "δ" not in assumptions:
        assert a.num_params >= bounds.sontag_min_params(n)
    if "general position" not in assumptions and not a.residual and a.depth in (1, 2) and out == 1:
        assert a.num_hidden >= sum(bounds.theorem33_min_hidden(n, a.depth))


# -- Theorem 3.3 --------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 400), p=st.sampled_from([2, 3]))
def test_theorem33_min_hidden_is_minimal(n, p):
    (d1,) = bounds.theorem33_min_hidden(n, 1, p)
    assert bounds.theorem33_capacity((d1,), p) >= n
    assert d1 == 1 or bounds.theorem33_capacity((d1 - 1,), p) < n
    d1, d2 = bounds.theorem33_min_hidden(n, 2, p)
    assert bounds.theorem33_capacity((d1, d2), p) >= n
    total = d1 + d2
    for a in range(1, total):
        b = total - 1 - a
        if b >= 1:
            assert bounds.theorem33_capacity((a, b), p) < n


def test_theorem33_matches_the_paper():
    # 2-layer ReLU fails iff d1 + 2 < N; hard-tanh iff 2 d1 + 2 < N
    assert bounds.theorem33_fails(12, (9,)) and not bounds.theorem33_fails(11, (9,))
    assert bounds.theorem33_fails(21, (9,), 3) and not bounds.theorem33_fails(20, (9,), 3)
    # 3-layer ReLU: 2 d1 d2 + d2 + 2 < N; hard-tanh: 6 d1 d2 + 2 d2 + 2 < N
    assert bounds.theorem33_capacity((10, 10)) == 212
    assert bounds.theorem33_capacity((10, 10), 3) == 622
    # Θ(√N): the minimum two-hidden-layer total is within a constant of 2√(N/2)
    for n in (10**4, 10**6):
        total = sum(bounds.theorem33_min_hidden(n, 2))
        assert 2 * math.sqrt(n / 2) - 2 <= total <= 2 * math.sqrt(n / 2) + 3
    with pytest.raises(ArgumentError):
        bounds.theorem33_min_hidden(10, 3)


# -- VC dimension ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 10, 100, 1000])
def test_vc_bound_is_above_what_constructions_memorize(n):
    # Zhang et al.: N hidden ReLUs memorize N points of R^1, so VCdim ≥ N for that shape
    assert bounds.vc_dimension_bound(1, (n,)) >= n
    # Yun et al. Thm 3.1: 4⌊d1/4⌋⌊d2/4⌋ points with two hidden layers
    d = 4 * max(1, math.isqrt(n) // 2)
    assert bounds.vc_dimension_bound(1, (d, d)) >= 4 * (d // 4) ** 2


def test_vc_bound_grows_with_size_and_min_params_inverts_it():
    assert bounds.vc_dimension_bound(3, (4,)) < bounds.vc_dimension_bound(3, (8,)) < bounds.vc_dimension_bound(3, (8, 8))
    for n in (5, 100, 5000, 10**6):
        for depth in (1, 2, 5):
            W = bounds.vc_min_params(n, depth)
            L = depth + 1

            def g(w):
                r = 2 * math.e * w * L
                return L + L * w * math.log2(2 * r * math.log2(r))

            assert g(W) >= n and (W == 1 or g(W - 1) < n)
    # Θ(N / (L log N)): deeper allows fewer parameters, never below N / (L log2 N)^2
    assert bounds.vc_min_params(10**6, 1) > bounds.vc_min_params(10**6, 3)
    # the width form is at least as strong as the parameter form (more detail, same theorem)
    for ws in [(5,), (20, 20), (8, 8, 8)]:
        W = bounds.dense_num_params(1, ws, 1)
        vc = bounds.vc_dimension_bound(1, ws)
        assert bounds.vc_min_params(math.floor(vc), len(ws)) <= W


# -- parameter and bit bounds ------------------------------------------------------------------------
def test_parameter_bounds():
    assert bounds.sontag_min_params(1) == 0 and bounds.sontag_min_params(2) == 1 and bounds.sontag_min_params(101) == 50
    assert bounds.dimension_min_params(7, 3) == 21
    assert bounds.min_weight_bits(1024, 32, 4) == 64.0
    with pytest.raises(ArgumentError):
        bounds.min_weight_bits(10, 5, 1)
    assert bounds.dense_num_params(3, (4, 5), 2) == 3 * 4 + 4 + 4 * 5 + 5 + 5 * 2 + 2


def test_yang_theorem32_and_proposition33():
    lhs, rhs, ok = bounds.yang_theorem32(10**4, 2, 2, 1, 2)
    assert lhs == 10**4 and not ok and rhs < lhs
    assert bounds.yang_theorem32(10**4, 40, 4, 1, 2)[2]
    # more classes need more sign patterns
    assert bounds.yang_theorem32(10**4, 8, 8, 1, 10)[0] > bounds.yang_theorem32(10**4, 8, 8, 1, 2)[0]
    # the floor falls as δ shrinks (more bits available per point)
    assert bounds.yang_theorem32_floor(10**4, 2, 10, 1e-2, 13, 50) > bounds.yang_theorem32_floor(10**4, 2, 10, 1e-6, 13, 50)
    # tiny networks have fewer pieces than N/2: ruled out at any δ
    assert bounds.yang_proposition33(1000, 2, 2, 1e-3)[0] == math.inf
    # a wide deep network is not ruled out at moderate δ
    assert bounds.yang_proposition33(100, 50, 10, 1e-2)[0] < 0
    with pytest.raises(ArgumentError, match="delta"):
        bounds.yang_proposition33(100, 5, 5, 0.5)  # only 4 points fit 0.5 apart
    with pytest.raises(ArgumentError, match="delta"):
        bounds.yang_theorem32_floor(100, 2, 2, 0.0, 5, 5)


def test_lower_bounds_collection():
    lb = bounds.lower_bounds(1000, 10, 1, task="regression")
    names = [b.name for b in lb]
    assert "dimension count" in names and "Sontag" in names
    assert all(b.value > 0 and b.reference and b.scope for b in lb)
    lbc = bounds.lower_bounds(1000, 10, 10, task="classification", delta=0.01)
    assert "dimension count" not in [b.name for b in lbc] and "Thm 3.2 type" in [b.name for b in lbc]
    assert "Sontag" not in [b.name for b in lbc]  # a margin δ escapes Sontag's bound
    assert str(lb[0]).startswith("Thm 3.3, 1 hidden layer: hidden units ≥ 998")
    with pytest.raises(ArgumentError, match="task"):
        bounds.lower_bounds(10, 2, task="ranking")


# -- the papers' stated sizes ---------------------------------------------------------------------------
def test_paper_sizes_reproduce_the_headline_numbers():
    assert bounds.paper_size("yun2019_one_hidden", 50_000, 3072, 10).num_hidden == 106
    assert bounds.paper_size("yun2019_resnet", 50_000, 3072, 10).num_hidden == 126
    assert bounds.paper_size("yun2019_classifier", 10**6, 224 * 224 * 3, 1000).widths == (2000, 2000, 4000)
    assert bounds.paper_size("yun2019_one_hidden", 50_000, 3072, 10, activation="hardtanh").num_hidden == 53
    # Thm 3.1 for d_y = 1: d1 = d2 = 2√N suffices
    assert bounds.paper_size("yun2019_two_hidden", 10_000, 5, 1).widths == (200, 200)
    assert bounds.paper_size("zhang2017", 77, 3).num_hidden == 77
    assert bounds.paper_size("baum1988", 10, 2) is None  # registered, but states no closed form here
    with pytest.raises(UnknownMethodError, match="not_a_paper_method"):
        bounds.paper_size("not_a_paper_method", 10, 2)
    with pytest.raises(ArgumentError, match="activation"):
        bounds.paper_size("zhang2017", 10, 2, activation="tanh")


@pytest.mark.parametrize("name", [m for m in WITH_ARCH if bounds.paper_size(m, 100, 8, 2) is not None])
@pytest.mark.parametrize("n, dx, dy", [(100, 8, 2), (5000, 32, 10), (50_000, 3072, 10), (10**6, 512, 100)])
def test_no_builder_needs_more_than_its_theorem_states(name, n, dx, dy):
    m = registry.get(name)
    try:
        a = m.architecture(n, dx, dy, **m.demo_options)
    except MemorizeError as exc:
        pytest.skip(f"{name}: {exc}")
    paper = bounds.paper_size(name, n, dx, dy, activation="hardtanh" if a.activation == "hardtanh" else "relu")
    assert a.num_hidden <= paper.num_hidden, f"{name}: builds {a.num_hidden} > the theorem's {paper.statement}"


@pytest.mark.parametrize("name", WITH_ARCH)
@pytest.mark.parametrize("n, dx, dy", [(64, 2, 2), (1000, 8, 3), (20_000, 16, 10)])
def test_every_plain_builder_passes_the_necessary_conditions(name, n, dx, dy):
    """A network that memorizes N points must pass every necessary condition.

    Checked on the registry's architectures: VC dimension ≥ N (Bartlett et al. Thm 7 for its
    exact widths) and Yang & Yang's Theorem 3.2-type counting condition for NN(max width,
    depth), which contains the network. Residual nets are not plain fully connected: skipped.
    """
    m = registry.get(name)
    out = 1 if m.task == "binary" else dy
    try:
        a = m.architecture(n, dx, out, **m.demo_options)
    except MemorizeError as exc:
        pytest.skip(f"{name}: {exc}")
    if a.residual:
        pytest.skip(f"{name} is residual; the bounds here are for plain networks")
    assert bounds.vc_dimension_bound(dx, a.widths) >= n
    classes = 2 if m.task != "classification" else max(2, dy)
    assert bounds.yang_theorem32(n, max(a.widths), a.depth, dx, classes)[2]
