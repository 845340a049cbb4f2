import json
import zipfile
from fractions import Fraction

import numpy as np
import pytest

import memorize
from memorize import Dense, Network, Residual, relu_like, step
from memorize.errors import FileFormatError


def sample_net(exact=False):
    rng = np.random.default_rng(0)
    net = Network(
        [Dense(rng.standard_normal((4, 3)), rng.standard_normal(4), relu_like(1.0, 0.1)),
         Residual(rng.standard_normal((2, 4)), rng.standard_normal(2), rng.standard_normal((4, 2)), rng.standard_normal(4), "hardtanh"),
         Dense(rng.standard_normal((2, 4)), rng.standard_normal(2), step)],
        meta={"method": "hand-made", "note": [1, 2]},
    )
    return net.to_exact() if exact else net


def same(a, b):
    assert len(a.layers) == len(b.layers) and dict(a.meta) == dict(b.meta)
    for la, lb in zip(a.layers, b.layers):
        assert type(la) is type(lb) and la.activation == lb.activation
        for x, y in zip(la.arrays().values(), lb.arrays().values()):
            assert x.dtype == y.dtype and x.shape == y.shape
            if x.dtype == object:
                assert all(type(u) is type(v) and u == v for u, v in zip(x.ravel(), y.ravel()))
            else:
                assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize("exact", [False, True])
def test_round_trip_bit_exact(tmp_path, exact):
    net = sample_net(exact)
    path = tmp_path / "net.npz"
    net.save(path)
    same(net, memorize.load(path))
    with np.load(path, allow_pickle=False) as z:  # readable without pickle
        assert "header" in z.files


def test_huge_integers_and_fractions_round_trip(tmp_path):
    big = 3**20000  # 31 700 bits: beyond int/str conversion limits, hence hex
    W = np.array([[big, Fraction(-1, 3)]], dtype=object)
    net = Network([Dense(W, np.array([Fraction(7, 2**70)], dtype=object))])
    net.save(tmp_path / "big.npz")
    back = memorize.load(tmp_path / "big.npz")
    assert back.layers[0].weight[0, 0] == big and back.layers[0].weight[0, 1] == Fraction(-1, 3)
    assert back.max_weight_bits == big.bit_length()


def test_truncated_corrupted_and_foreign_files(tmp_path):
    sample_net().save(tmp_path / "ok.npz")
    raw = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not a zip at all" * 10)
    np.savez(tmp_path / "foreign.npz", a=np.arange(3))
    for name in ["trunc.npz", "garbage.npz", "foreign.npz", "missing.npz"]:
        with pytest.raises(FileFormatError):
            memorize.load(tmp_path / name)


def test_tampered_header_and_object_arrays_refused(tmp_path):
    sample_net().save(tmp_path / "ok.npz")
    with np.load(tmp_path / "ok.npz") as z:
        files = {k: z[k] for k in z.files}
    header = json.loads(str(files["header"]))
    header["layers"][0]["activation"]["name"] = "evil"
    np.savez(tmp_path / "bad1.npz", **{**files, "header": np.array(json.dumps(header))})
    np.savez(tmp_path / "bad2.npz", **{**files, "layer0.W": np.array([[{"x": 1}]], dtype=object)})
    np.savez(tmp_path / "bad3.npz", **{k: v for k, v in files.items() if k != "layer1.V"})
    for name in ["bad1.npz", "bad2.npz", "bad3.npz"]:
        with pytest.raises(FileFormatError):
            memorize.load(tmp_path / name)


def test_zip_with_pickle_payload_is_not_executed(tmp_path):
    import pickle

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle ran')",))

    np.save(tmp_path / "x.npy", np.array([Boom()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as zf:
        zf.write(tmp_path / "x.npy", "header.npy")
    with pytest.raises(FileFormatError):
        memorize.load(tmp_path / "evil.npz")
    assert pickle  # imported only to build the payload
