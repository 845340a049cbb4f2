"""PyTorch export/import: every layer and activation type, and every registered builder."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import memorize
from memorize import Dense, Network, Residual, hardtanh, identity, relu, relu_like, step
from memorize.datasets import synthetic
from memorize.errors import ArgumentError, ArgumentTypeError, ExactnessError
from memorize.registry import all_methods

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install 'memorize[torch]' to run the export tests")

RTOL = 1e-12
ACTIVATIONS = [identity, relu, relu_like(1, 0.25), relu_like(2, Fraction(1, 3)), relu_like(0.5, 0), hardtanh, step]


def _torch_out(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(np.asarray(X, dtype=np.float64))).numpy()


def _rel_err(a, b):
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def _same_network(a: Network, b: Network):
    assert len(a.layers) == len(b.layers)
    for la, lb in zip(a.layers, b.layers):
        assert type(la) is type(lb)
        assert la.activation == lb.activation
        for k, v in la.arrays().items():
            np.testing.assert_array_equal(v, lb.arrays()[k])


def _check_round_trip(net: Network, X):
    module = net.to_torch()
    ref = net(X)
    out = _torch_out(module, X)
    assert out.dtype == np.float64 and out.shape == ref.shape
    assert _rel_err(out, ref) <= RTOL
    back = memorize.from_torch(module)
    _same_network(net, back)
    assert dict(back.meta) == dict(net.meta)
    np.testing.assert_array_equal(back(X), ref)


def _random_net(rng, dims, kinds, acts):
    layers = []
    for i, (kind, act) in enumerate(zip(kinds, acts)):
        d_in = dims[i]
        if kind == "res":
            w = int(rng.integers(1, 6))
            layers.append(Residual(rng.standard_normal((w, d_in)), rng.standard_normal(w),
                                   rng.standard_normal((d_in, w)), rng.standard_normal(d_in), act))
            dims[i + 1] = d_in
        else:
            layers.append(Dense(rng.standard_normal((dims[i + 1], d_in)), rng.standard_normal(dims[i + 1]), act))
    return Network(layers, {"method": "hand-made"})


@pytest.mark.parametrize("act", ACTIVATIONS, ids=repr)
@pytest.mark.parametrize("kind", ["dense", "res"])
def test_each_layer_and_activation_round_trips(kind, act):
    rng = np.random.default_rng(1)
    net = _random_net(rng, [3, 5, 2], [kind, "dense"], [act, identity])
    _check_round_trip(net, rng.standard_normal((200, 3)))


def test_module_structure_is_plain_torch():
    nn = torch.nn
    net = Network([Dense(np.ones((4, 2)), np.zeros(4), relu), Dense(np.ones((4, 4)), np.zeros(4), relu_like(1, 0.1)),
                   Dense(np.ones((3, 4)), np.zeros(3), hardtanh), Dense(np.ones((1, 3)), np.zeros(1))])
    m = net.to_torch()
    kinds = [type(c) for c in m]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.LeakyReLU, nn.Linear, nn.Hardtanh, nn.Linear]
    assert all(p.dtype == torch.float64 for p in m.parameters())
    assert next(net.to_torch(dtype=torch.float32).parameters()).dtype == torch.float32


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(1, 4), data=st.data())
def test_random_networks_round_trip(seed, depth, data):
    rng = np.random.default_rng(seed)
    kinds = [data.draw(st.sampled_from(["dense", "res"])) for _ in range(depth)] + ["dense"]
    acts = [data.draw(st.sampled_from(ACTIVATIONS)) for _ in range(depth)] + [identity]
    dims = [int(rng.integers(1, 5)) for _ in range(depth + 2)]
    net = _random_net(rng, dims, kinds, acts)
    _check_round_trip(net, rng.standard_normal((50, dims[0])))


def _small_data(method, n, d, seed=0):
    if method.task == "classification":
        return synthetic(n, d, classes=3, rng=seed)
    if method.task == "binary":
        X, _ = synthetic(n, d, rng=seed)
        return X, synthetic(n, d, classes=2, rng=seed + 1)[1]
    return synthetic(n, d, rng=seed)


def _build(m, X, y, **kw):
    """Build on Gaussian data; constructions for points of the unit ball get the data scaled into it."""
    try:
        return m.builder(X, y, rng=0, **m.demo_options, **kw), X
    except memorize.errors.DataError:
        Xb = X / (1.01 * np.max(np.linalg.norm(X, axis=1)))
        return m.builder(Xb, y, rng=0, **m.demo_options, **kw), Xb


@pytest.mark.parametrize("name", sorted(all_methods()))
def test_every_builder_exports_in_float64(name):
    m = all_methods()[name]
    X, y = _small_data(m, 40, 4)
    try:
        net, X = _build(m, X, y)
    except ExactnessError:
        net = None  # an exact-only builder may refuse float64 outright
    if net is None or net.is_exact:
        # exact-only construction: the export must refuse and say why
        net = net or _build(m, X, y, exact=True)[0]
        with pytest.raises(ExactnessError, match="exact arithmetic"):
            net.to_torch()
        return
    _check_round_trip(net, X)
    Xt = np.random.default_rng(5).standard_normal((100, X.shape[1]))
    assert _rel_err(_torch_out(net.to_torch(), Xt), net(Xt)) <= RTOL


@pytest.mark.parametrize("name", sorted(all_methods()))
def test_every_builder_refuses_exact_export(name):
    m = all_methods()[name]
    X, y = _small_data(m, 10, 3)
    net, X = _build(m, X, y, exact=True)
    assert net.is_exact
    with pytest.raises(ExactnessError, match="needs exact arithmetic"):
        net.to_torch()
    if net.max_weight_bits <= 53:
        # the documented escape hatch: round to float64, then export
        _check_round_trip(net.astype(np.float64), X)


def test_exact_only_message_names_the_bits():
    big = Network([Dense(np.array([[2**80 + 1]], dtype=object), np.array([0], dtype=object), relu)])
    with pytest.raises(ExactnessError, match="81 bits"):
        big.to_torch()


def test_from_torch_reads_foreign_modules():
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 6, bias=False), nn.LeakyReLU(0.2), nn.Sequential(nn.Linear(6, 4), nn.Hardtanh()),
                      nn.Linear(4, 2), nn.Identity()).double()
    net = memorize.from_torch(m)
    assert net.widths == (6, 4) and net.output_dim == 2
    X = np.random.default_rng(0).standard_normal((30, 3))
    assert _rel_err(net(X), _torch_out(m, X)) <= RTOL


@pytest.mark.parametrize(
    "module, err, match",
    [
        (lambda nn: nn.Sequential(nn.Linear(2, 2), nn.Sigmoid()), ArgumentTypeError, r"module\[1\]: unsupported module Sigmoid"),
        (lambda nn: nn.Sequential(nn.ReLU(), nn.Linear(2, 2)), ArgumentTypeError, "does not follow a Linear"),
        (lambda nn: nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(-0.5)), ArgumentError, "not ReLU-like"),
        (lambda nn: nn.Sequential(nn.Linear(2, 2), nn.Hardtanh(0, 2)), ArgumentError, "only Hardtanh"),
        (lambda nn: nn.Sequential(), ArgumentError, "no Linear"),
    ],
)
def test_from_torch_refuses_unsupported(module, err, match):
    with pytest.raises(err, match=match):
        memorize.from_torch(module(torch.nn))


def test_from_torch_names_non_finite_parameters():
    m = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)).double()
    with torch.no_grad():
        m[2].weight[0, 1] = float("nan")
    with pytest.raises(memorize.errors.NonFiniteError, match=r"module\[2\]: parameters contain NaN"):
        memorize.from_torch(m)


def test_bad_arguments():
    net = Network([Dense(np.ones((1, 1)), np.zeros(1))])
    with pytest.raises(ArgumentTypeError, match="dtype"):
        net.to_torch(dtype=torch.int64)
    with pytest.raises(ArgumentTypeError, match="module"):
        memorize.from_torch("not a module")


# -- export to a smaller format ------------------------------------------------------------------
@pytest.mark.parametrize("tdtype, name", [(torch.float32, "float32"), (torch.bfloat16, "bfloat16"), (torch.float16, "float16")])
def test_export_rounds_like_torch_and_keeps_a_matching_certificate_only(tdtype, name):
    from memorize.precision import FORMATS

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 32)), rng.choice([-1.0, 1.0], 40)
    net = memorize.build("baum1988", X, y, dtype="bfloat16")
    model = net.to_torch(dtype=tdtype)
    W = net.layers[0].weight * 3.3  # a float64 array that is not bfloat16 already
    ours = model[0].weight.detach().to(torch.float64).numpy()
    assert np.array_equal(ours, FORMATS[name].round(net.layers[0].weight))
    theirs = torch.from_numpy(W).to(tdtype).to(torch.float64).numpy()
    assert np.array_equal(theirs, FORMATS[name].round(W))  # Format.round is torch's conversion
    assert ("certificate" in model.memorize_meta) == (name == "bfloat16")
    if name == "bfloat16":
        with torch.no_grad():
            out = model(torch.from_numpy(X).to(tdtype)).to(torch.float64).numpy()[:, 0]
        assert np.array_equal(out, y)  # the certificate's claim, on PyTorch's own evaluation
    back = memorize.from_torch(model)
    assert ("certificate" in back.meta) == (name == "bfloat16")
