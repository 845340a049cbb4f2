"""Factored (low-rank) layers: ``Factored(A, B, b, σ)`` computes σ(A (B h) + b).

Claims checked: the factored layer is the dense layer ``W = A B`` (exactly in exact arithmetic,
to rounding in float64); networks count the theorem's architecture in ``num_params`` and the
stored numbers in ``num_stored_params``; file format v3 round-trips factored layers bit for bit
and v1/v2 files written by earlier releases still load; the PyTorch export computes the same
function; pieces, rewrites, dynamics, rounding and the certificate understand factored layers,
and the certificate bounds the factored evaluation in every summation order; the builders whose
first layer has rank one build it factored, with the function of the dense layer.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import memorize
from memorize import Dense, Factored, Network, relu, hardtanh
from memorize.errors import ArgumentTypeError, FileFormatError, ShapeError, UncheckedFileWarning
from memorize.precision import forward, round_network

from test_certificate import assert_sound, evaluations

OLD = Path(__file__).parent / "data" / "old_files"
RNG = np.random.default_rng(2024)


def _net(rng, d=5, width=30, rank=1, k=2, act=relu, exact=False, ints=False):
    if ints:
        A = rng.integers(-4, 5, (width, rank)).astype(float)
        B = rng.integers(-4, 5, (rank, d)).astype(float)
        b = rng.integers(-4, 5, width).astype(float)
        V = rng.integers(-3, 4, (k, width)).astype(float)
    else:
        A, B = rng.standard_normal((width, rank)), rng.standard_normal((rank, d))
        b, V = rng.standard_normal(width), rng.standard_normal((k, width))
    net = Network([Factored(A, B, b, act), Dense(V, np.zeros(k))])
    return net.to_exact() if exact else net


# ------------------------------------------------------------------------------- the layer
@given(seed=st.integers(0, 10**6), d=st.integers(1, 6), width=st.integers(1, 40), rank=st.integers(1, 3),
       act=st.sampled_from([relu, hardtanh, memorize.relu_like(1, 0.25)]))
def test_factored_layer_is_the_dense_layer_of_its_product(seed, d, width, rank, act):
    rng = np.random.default_rng(seed)
    net = _net(rng, d, width, rank, act=act, ints=True)
    X = rng.integers(-5, 6, (25, d)).astype(float)
    dense = net.densified()
    assert isinstance(dense.layers[0], Dense) and not isinstance(dense.layers[0], Factored)
    assert np.array_equal(dense.layers[0].weight, net.layers[0].A @ net.layers[0].B)
    # exact: the same function, entry for entry
    assert net.to_exact()(X).tolist() == dense.to_exact()(X).tolist()
    # float64 with small integers: every product and sum is exact, so both orders agree bit for bit
    assert np.array_equal(net(X), dense(X))
    Xr = rng.standard_normal((25, d))
    scale = np.abs(net.layers[0].A).sum() * np.abs(net.layers[0].B).sum() * (1 + np.abs(Xr).max()) + 1
    assert np.max(np.abs(net(Xr) - dense(Xr))) <= 1e-13 * scale * np.abs(net.layers[1].weight).max()


def test_exact_factored_layer_evaluates_exactly_with_and_without_the_shared_projection():
    from memorize import _exact

    rng = np.random.default_rng(3)
    net = _net(rng, d=3, width=60, rank=1).to_exact()
    X = np.array([[Fraction(1, 3), Fraction(-2, 7), 5]] + rng.integers(-9, 9, (30, 3)).tolist(), dtype=object)
    ref = net.densified()(X)
    assert net(X).tolist() == ref.tolist()
    old = _exact.SHARED_PROJECTION
    try:
        _exact.SHARED_PROJECTION = False
        assert net(X).tolist() == ref.tolist()
    finally:
        _exact.SHARED_PROJECTION = old


def test_factored_checks_its_arrays():
    with pytest.raises(ShapeError, match="Factored"):
        Factored(np.ones((3, 2)), np.ones((1, 4)), np.zeros(3))
    with pytest.raises(ShapeError, match="bias"):
        Factored(np.ones((3, 1)), np.ones((1, 4)), np.zeros(2))
    with pytest.raises(ArgumentTypeError, match="mix"):
        Factored(np.array([[1]], dtype=object), np.ones((1, 2)), np.zeros(1))
    layer = Factored(np.ones((3, 1)), np.ones((1, 4)), np.zeros(3))
    assert not layer.A.flags.writeable and not layer.weight.flags.writeable


def test_counts_keep_the_theorem_architecture_and_report_storage():
    rng = np.random.default_rng(1)
    net = _net(rng, d=7, width=50, rank=2, k=3)
    dense = net.densified()
    assert net.widths == dense.widths == (50,)
    assert net.num_params == dense.num_params == 50 * 7 + 50 + 3 * 50 + 3
    assert net.num_stored_params == 50 * 2 + 2 * 7 + 50 + 3 * 50 + 3
    assert dense.num_stored_params == dense.num_params
    assert net.num_nonzero == dense.num_nonzero
    assert net.max_abs_weight == dense.max_abs_weight
    ex = net.to_exact()
    assert ex.num_nonzero == ex.densified().num_nonzero and ex.max_abs_weight == ex.densified().max_abs_weight
    # rank one: counted from the factors, zeros included
    A = np.array([[0.0], [2.0], [-3.0]])
    one = Network([Factored(A, np.array([[1.0, 0.0, -0.5]]), np.array([0.0, 1.0, 0.0]), relu), Dense(np.ones((1, 3)), [0.0])])
    assert one.num_nonzero == one.densified().num_nonzero == 2 * 2 + 1 + 3
    assert one.max_abs_weight == one.densified().max_abs_weight == 3.0


# ------------------------------------------------------------------------------- builders
@pytest.mark.parametrize("method,task", [
    ("zhang2017", "regression"), ("yun2019_two_hidden", "regression"), ("yun2019_classifier", "classification"),
    ("yun2019_deep", "regression"), ("yun2019_deep_classifier", "classification"),
])
@pytest.mark.parametrize("exact", [False, True])
def test_rank_one_builders_build_their_first_layer_factored(method, task, exact):
    rng = np.random.default_rng(5)
    n, d = 40, 6
    X = rng.standard_normal((n, d))
    y = rng.integers(0, 3, n) if task == "classification" else rng.uniform(-1, 1, n)
    net = memorize.build(method, X, y, exact=exact)
    first = net.layers[0]
    assert isinstance(first, Factored) and first.rank == 1
    arch = memorize.registry.get(method).architecture(n, d, 3 if task == "classification" else 1)
    assert net.num_params == net.densified().num_params
    if method in ("zhang2017", "yun2019_two_hidden", "yun2019_classifier"):
        assert net.num_params == arch.num_params
    assert net.num_stored_params == net.num_params - first.out_dim * d + first.out_dim + d  # A, B instead of W
    assert memorize.verify(net, X, y).max_error <= (0 if exact else 1e-6)
    Z = rng.standard_normal((30, d))
    if exact:
        assert net(Z).tolist() == net.densified()(Z).tolist()
    else:
        assert np.allclose(net(Z), net.densified()(Z), rtol=1e-9, atol=1e-9)


def test_zhang2017_stores_order_n_plus_d_numbers():
    rng = np.random.default_rng(0)
    n, d = 300, 64
    X, y = rng.standard_normal((n, d)), rng.uniform(-1, 1, n)
    net = memorize.build("zhang2017", X, y)
    # ones (N), the direction (d), kinks (N), output weights (N) and bias (1)
    assert net.num_stored_params == 3 * n + d + 1
    assert net.num_params == n * d + n + n + 1
    assert np.array_equal(net.layers[0].B[0], np.array(net.meta["direction"]))


# ------------------------------------------------------------------------------- files
@pytest.mark.parametrize("exact", [False, True])
def test_version_3_round_trip_is_bit_exact(tmp_path, exact):
    rng = np.random.default_rng(2)
    net = _net(rng, rank=2, exact=exact)
    net.save(tmp_path / "f.npz")
    back = memorize.load(tmp_path / "f.npz")
    assert isinstance(back.layers[0], Factored)
    for a, b in zip(net.layers, back.layers):
        for k in a.arrays():
            assert a.arrays()[k].tolist() == b.arrays()[k].tolist()
    with np.load(tmp_path / "f.npz", allow_pickle=False) as z:
        header = json.loads(str(z["header"]))
        assert header["version"] == 3 and header["layers"][0]["kind"] == "factored"
        assert sorted(z.files) == ["checksum", "header", "layer0.A", "layer0.B", "layer0.b", "layer1.W", "layer1.b"]


def _expected(name):
    e = json.loads((OLD / "expected.json").read_text())
    X = np.array([[float.fromhex(v) for v in r] for r in e["X"]])
    out = e[name]
    return X, (np.array([[Fraction(v) for v in r] for r in out], dtype=object) if "exact" in name
               else np.array([[float.fromhex(v) for v in r] for r in out]))


@pytest.mark.parametrize("name", ["v2_zhang2017_float.npz", "v2_zhang2017_exact.npz", "v2_yun2019_resnet_float.npz"])
def test_version_2_files_of_the_previous_release_load(name, recwarn):
    X, out = _expected(name)
    net = memorize.load(OLD / name)
    assert not [w for w in recwarn if issubclass(w.category, UncheckedFileWarning)]
    assert net(X).tolist() == out.tolist()


def test_version_1_file_loads_with_a_warning_and_saves_as_version_3(tmp_path):
    X, out = _expected("v1_zhang2017_float.npz")
    with pytest.warns(UncheckedFileWarning):
        net = memorize.load(OLD / "v1_zhang2017_float.npz")
    assert np.array_equal(net(X), out) and "file_unchecked" in net.meta
    net.save(tmp_path / "again.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = memorize.load(tmp_path / "again.npz")
    assert np.array_equal(again(X), out)


def test_loading_a_factored_layer_never_forms_its_product(tmp_path):
    # 2^15 × 2^15 dense product (8 GiB in float64) from 0.5 MB of factors
    n = 2**15
    layer = Factored(np.ones((n, 1)), np.full((1, n), 0.5), np.zeros(n), relu)
    net = Network([layer, Dense(np.ones((1, n)) / n, [0.0])])
    net.save(tmp_path / "big.npz")
    tracemalloc.start()
    back = memorize.load(tmp_path / "big.npz")
    out = back(np.ones((4, n)), chunk_bytes=2**22)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.allclose(out, n / 2) and peak < 64 * 2**20
    assert back.num_params == n * n + n + n + 1


def test_a_factored_layer_in_an_old_version_is_refused(tmp_path):
    import zipfile
    import hashlib

    net = _net(np.random.default_rng(0))
    net.save(tmp_path / "f.npz")
    with zipfile.ZipFile(tmp_path / "f.npz") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    header = json.loads(str(np.load(io.BytesIO(members["header.npy"]))))
    header["version"] = 2
    text = json.dumps(header)
    for key, value in (("header", text), ("checksum", "sha256:" + hashlib.sha256(text.encode()).hexdigest())):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.array(value))
        members[key + ".npy"] = buf.getvalue()
    with zipfile.ZipFile(tmp_path / "g.npz", "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(FileFormatError, match="'factored', which format version 2"):
        memorize.load(tmp_path / "g.npz")


# ------------------------------------------------------------------------------- PyTorch
torch = pytest.importorskip("torch")


@pytest.mark.parametrize("method", ["zhang2017", "yun2019_classifier"])
def test_to_torch_of_a_factored_network_is_its_forward(method):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 8))
    y = rng.integers(0, 4, 60) if "classifier" in method else rng.uniform(-1, 1, 60)
    net = memorize.build(method, X, y)
    module = net.to_torch()
    lin = [m for m in module if isinstance(m, torch.nn.Linear)]
    assert lin[0].bias is None and lin[0].weight.shape == (1, 8) and lin[1].weight.shape == (net.widths[0], 1)
    with torch.no_grad():
        out = module(torch.from_numpy(X)).numpy()
    ref = net(X)
    assert np.max(np.abs(out - ref)) <= 1e-12 * max(1.0, np.abs(ref).max())
    dense = net.to_torch(materialize=True)
    assert isinstance(dense[0], torch.nn.Linear) and dense[0].weight.shape == (net.widths[0], 8)
    with torch.no_grad():
        assert np.max(np.abs(dense(torch.from_numpy(X)).numpy() - ref)) <= 1e-9 * max(1.0, np.abs(ref).max())
    back = memorize.from_torch(module)
    assert isinstance(back.layers[0], Factored) and np.array_equal(back(X), ref)


def test_float32_torch_of_a_factored_network_lies_within_the_certificate():
    rng = np.random.default_rng(6)
    net = _net(rng, d=6, width=40, rank=2, k=3)
    X = rng.standard_normal((50, 6))
    outs = evaluations(net, X, "float32", use_torch=True)
    assert [label for label, _ in outs][-1] == "torch"
    assert_sound(net, X, "float32", outs, "factored")


# ------------------------------------------------------------------------------- every walker
@pytest.mark.parametrize("name", ["float64", "float32", "bfloat16", "float16"])
@pytest.mark.parametrize("seed", [0, 1])
def test_certificate_bounds_the_factored_evaluation_in_every_order(name, seed):
    rng = np.random.default_rng(seed)
    net = _net(rng, d=4, width=12, rank=2, k=2, ints=seed == 1)
    X = rng.standard_normal((12, 4)) if seed == 0 else rng.integers(-3, 4, (12, 4)).astype(float)
    assert_sound(net, X, name, evaluations(net, X, name), f"factored seed {seed}")


def test_precision_forward_evaluates_the_factors():
    # t = B h = 1 + 2^-8 is a tie in bfloat16 and rounds to 1 before A t + b: the factored
    # evaluation gives 0, the dense layer (float32 accumulation of 1 + 2^-8 − 1) gives 2^-8
    net = Network([Factored([[1.0]], [[1.0, 2.0**-8]], [-1.0])])
    X = np.array([[1.0, 1.0]])
    assert float(forward(net, X, "bfloat16")[0, 0]) == 0.0
    assert float(forward(net.densified(), X, "bfloat16")[0, 0]) == 2.0**-8
    with torch.no_grad():
        out = net.to_torch(dtype=torch.bfloat16)(torch.tensor(X, dtype=torch.bfloat16))
    assert float(out[0, 0]) == 0.0


def test_round_network_rounds_the_factors():
    net = Network([Factored([[1.0 + 2.0**-20]], [[3.0 + 2.0**-30]], [0.0])])
    r = round_network(net, "float32").layers[0]
    assert isinstance(r, Factored) and r.A[0, 0] == np.float32(1.0 + 2.0**-20) and r.B[0, 0] == 3.0


def test_count_pieces_of_a_factored_network_equals_its_dense_form():
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((25, 3)), rng.uniform(-1, 1, 25)
    for net in (memorize.build("zhang2017", X, y, exact=True), memorize.build("yun2019_two_hidden", X, y)):
        x0, u = np.zeros(3), np.array(net.meta["direction"])
        a = memorize.pieces.count_pieces(net, x0, u, (-10, 10))
        b = memorize.pieces.count_pieces(net.densified(), x0, u, (-10, 10))
        assert a == b and a >= 2


@pytest.mark.parametrize("exact", [False, True])
def test_rewrites_keep_a_factored_layer_factored(exact):
    from memorize.rewrite import hardtanh_to_relu, relu_to_hardtanh

    rng = np.random.default_rng(8)
    net = _net(rng, d=3, width=10, rank=1, act=hardtanh, ints=True)
    net = net.to_exact() if exact else net
    X = rng.integers(-4, 5, (40, 3)).astype(float)
    r = hardtanh_to_relu(net, mirror={0: np.arange(10) < 5})
    assert isinstance(r.layers[0], Factored) and r.layers[0].rank == 1 and r.widths == (20,)
    assert r(X).tolist() == net(X).tolist() if exact else np.allclose(r(X), net(X), atol=1e-12)
    relu_net = _net(rng, d=3, width=10, ints=True)
    relu_net = relu_net.to_exact() if exact else relu_net
    back = relu_to_hardtanh(relu_net, X)
    assert isinstance(back.layers[0], Factored)
    assert back(X).tolist() == relu_net(X).tolist() if exact else np.allclose(back(X), relu_net(X), atol=1e-12)


def test_dynamics_see_the_dense_parameters():
    from memorize.dynamics import flatten, unflatten

    net = _net(np.random.default_rng(9), d=3, width=6, rank=1)
    theta = flatten(net)
    assert theta.shape == (net.num_params,) and np.array_equal(theta, flatten(net.densified()))
    X = np.random.default_rng(0).standard_normal((10, 3))
    assert np.allclose(unflatten(net, theta)(X), net(X), atol=1e-12)


def test_plot_draws_along_the_factored_direction():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from memorize.plot import _projection

    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((20, 4)), rng.uniform(-1, 1, 20)
    net = memorize.build("yun2019_two_hidden", X, y)
    u = _projection(net, X, None)
    d = np.array(net.meta["direction"])
    assert np.allclose(np.abs(u @ d), np.linalg.norm(d))
