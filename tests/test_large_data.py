"""Data that do not fit in memory: memmaps, h5py-like arrays and dask arrays (memorize.rows).

The claims: every builder accepts a memmap and builds the very network it builds from the same
data in memory; the streaming builders (zhang2017, yun2019_two_hidden, yun2019_classifier) never
read the whole array at once and give the same bits for every chunk layout's storage (memmap,
h5py-like, dask, in memory); the data checks (duplicates, NaN) name the user's rows; verify
streams too; the command line reads .npy files memory-mapped.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memorize
from memorize import rows
from memorize.errors import DuplicateError, NonFiniteError
from memorize.registry import all_methods

from _fingerprint import fingerprint

STREAMING = ("zhang2017", "yun2019_two_hidden", "yun2019_classifier")


def _labels(method: str, rng, n: int):
    task = all_methods()[method].task
    if task == "classification":
        return rng.integers(0, 3, n)
    if task == "binary":
        return rng.choice([-1.0, 1.0], n)
    return rng.uniform(-1, 1, n)


def _memmap(tmp_path, X, name="X.npy"):
    path = tmp_path / name
    np.save(path, X)
    return np.load(path, mmap_mode="r")


class RowStore:
    """An h5py-like dataset: shape, dtype and slicing only (no __array__), counting reads."""

    def __init__(self, a):
        self._a = np.asarray(a)
        self.shape, self.dtype = self._a.shape, self._a.dtype
        self.largest_read = 0

    def __getitem__(self, key):
        out = self._a[key]
        self.largest_read = max(self.largest_read, out.shape[0] if out.ndim else 1)
        return out.copy()


@pytest.fixture(scope="module")
def gauss():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 4))
    X[9] = X[2]  # a consistent duplicate: merged
    return X


@pytest.mark.parametrize("method", sorted(all_methods()))
def test_every_builder_builds_the_same_network_from_a_memmap(method, gauss, tmp_path):
    rng = np.random.default_rng(1)
    y = _labels(method, rng, len(gauss))
    y[9] = y[2]
    opts = dict(all_methods()[method].demo_options)
    X = gauss if all_methods()[method].demo_max_n is None else gauss[: all_methods()[method].demo_max_n]
    y = y[: len(X)]
    mm = _memmap(tmp_path, X)
    try:
        expected = fingerprint(memorize.build(method, X, y, rng=3, **opts))
    except memorize.errors.MemorizeError as exc:  # a refusal must be the same refusal
        with pytest.raises(type(exc)):
            memorize.build(method, mm, y, rng=3, **opts)
        return
    assert fingerprint(memorize.build(method, mm, y, rng=3, **opts)) == expected


@pytest.fixture(scope="module")
def pixels():
    """Integer pixels (uint8), with two consistent duplicates, and one class/real label each."""
    rng = np.random.default_rng(11)
    X = rng.integers(0, 256, (700, 12)).astype(np.uint8)
    X[400] = X[3]
    X[650] = X[13]
    return X


@pytest.mark.parametrize("method", STREAMING)
def test_streaming_builders_are_identical_on_every_storage_and_read_in_chunks(method, pixels, tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    y = _labels(method, rng, len(pixels))
    y[400], y[650] = y[3], y[13]
    mm = _memmap(tmp_path, pixels)
    store = RowStore(pixels)
    with rows.memory_budget(32 * 12 * 64):  # 64 rows per chunk: 11 chunks
        assert rows.chunk_rows(12) == 64
        ref = fingerprint(memorize.build(method, pixels, y))
        # a streaming builder never converts the whole array: np.asarray(Rows) would
        monkeypatch.setattr(rows.Rows, "__array__", lambda self, *a, **k: pytest.fail("whole X read into memory"))
        assert fingerprint(memorize.build(method, mm, y)) == ref
        assert fingerprint(memorize.build(method, store, y)) == ref
    net = memorize.build(method, mm, y)
    assert net.meta["n_duplicates_merged"] == 2
    # never more than one chunk at a time (its selected rows span at most twice as many source
    # rows), or one forward-pass chunk when a builder evaluates its first layer (yun2019's refit)
    assert store.largest_read <= (2 * 64 if method == "zhang2017" else max(2 * 64, net.chunk_rows()))


def test_byte_identity_holds_when_the_chunks_change_the_bits(tmp_path):
    """Real-valued data over several chunks: whatever the chunking does to the last bits, the
    memmap and the in-memory array are computed with the same chunks, so they agree."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((901, 37)), rng.uniform(-1, 1, 901)
    mm = _memmap(tmp_path, X)
    with rows.memory_budget(32 * 37 * 100):
        assert fingerprint(memorize.build("zhang2017", X, y)) == fingerprint(memorize.build("zhang2017", mm, y))


def test_duplicates_in_a_memmap_are_named_across_chunks(pixels, tmp_path):
    y = np.zeros(len(pixels))
    y[650] = 1.0  # row 650 repeats row 13 with another label
    mm = _memmap(tmp_path, pixels)
    with rows.memory_budget(32 * 12 * 64), pytest.raises(DuplicateError, match=r"\(13, 650\)"):
        memorize.build("zhang2017", mm, y)


def test_non_finite_values_in_a_memmap_are_named_in_every_chunk(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 3))
    X[5, 1], X[170, 0], X[299, 2] = np.nan, np.inf, -np.inf
    mm = _memmap(tmp_path, X)
    with rows.memory_budget(32 * 3 * 64), pytest.raises(NonFiniteError, match=r"rows \[5, 170, 299\]"):
        memorize.build("yun2019_classifier", mm, rng.integers(0, 3, 300))
    with pytest.raises(NonFiniteError, match=r"\[5, 170, 299\]"):
        memorize.verify(memorize.build("zhang2017", X[:4], np.zeros(4)), _memmap(tmp_path, X, "Z.npy"), np.zeros(300))


def test_the_users_file_is_never_written(tmp_path):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((200, 5))
    X[3, 2] = -0.0  # folded to 0.0 in the builder's copy only
    path = tmp_path / "X.npy"
    np.save(path, X)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    mm = np.load(path, mmap_mode="r+")  # even a writable memmap is only read
    memorize.build("zhang2017", mm, rng.uniform(-1, 1, 200))
    del mm
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_verify_streams_a_memmap_and_names_failed_rows(tmp_path):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((500, 6)), rng.uniform(-1, 1, 500)
    net = memorize.build("zhang2017", X, y)
    mm = _memmap(tmp_path, X)
    seen = []
    wrong = y.copy()
    wrong[[17, 480]] += 1.0
    rep = memorize.verify(net, mm, wrong, chunk_bytes=net.row_bytes * 50, progress=lambda d, t: seen.append(d))
    assert rep.failed.tolist() == [17, 480] and seen == list(range(50, 501, 50))
    ref = memorize.verify(net, X, wrong, chunk_bytes=net.row_bytes * 50)
    assert rep.max_error == ref.max_error


def test_exact_builds_read_a_memmap_too(tmp_path):
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((30, 3)), rng.uniform(-1, 1, 30)
    net = memorize.build("zhang2017", _memmap(tmp_path, X), y, exact=True)
    assert fingerprint(net) == fingerprint(memorize.build("zhang2017", X, y, exact=True))
    assert memorize.verify(net, _memmap(tmp_path, X, "Y.npy"), y).max_error == 0


def test_rows_selection_and_products_match_numpy():
    rng = np.random.default_rng(9)
    A = rng.integers(-5, 6, (50, 4)).astype(np.int16)
    idx = np.array([0, 3, 4, 9, 30, 49])
    R = rows.Rows(A, index=idx)
    F = A[idx].astype(np.float64)
    with rows.memory_budget(32 * 4 * 2):
        assert R.n_chunks == 3
        w = rng.standard_normal(4)
        assert np.array_equal(R @ w, np.concatenate([F[s] @ w for s in (slice(0, 2), slice(2, 4), slice(4, 6))]))
        assert np.array_equal(np.ones(6) @ R, F.sum(axis=0))  # small integers: every order is exact
        assert np.array_equal(R[[5, 0, 5]], F[[5, 0, 5]]) and np.array_equal(R[2:5], F[2:5])
        assert np.array_equal(np.asarray(R), F)


def test_cli_reads_npy_files_memory_mapped(tmp_path, capsys, monkeypatch):
    from memorize import cli

    rng = np.random.default_rng(13)
    X, y = rng.integers(0, 256, (300, 8)).astype(np.uint8), rng.integers(0, 4, 300)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    opened = []
    real_load = np.load
    monkeypatch.setattr(cli.np, "load", lambda *a, **k: opened.append(k.get("mmap_mode")) or real_load(*a, **k))
    net_path = str(tmp_path / "net.npz")
    assert cli.main(["build", "--method", "yun2019_classifier", str(tmp_path / "X.npy"), "--labels",
                     str(tmp_path / "y.npy"), "-o", net_path]) == 0
    assert opened == ["r", "r"]
    assert cli.main(["verify", net_path, str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy")]) == 0
    assert "OK" in capsys.readouterr().out
    assert fingerprint(memorize.load(net_path)) == fingerprint(memorize.build("yun2019_classifier", X, y))
    assert cli.main(["verify", net_path, str(tmp_path / "X.npy")]) == 2  # the labels are required
    assert "--labels" in capsys.readouterr().err
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    assert cli.main(["verify", net_path, str(tmp_path / "obj.npy"), "--labels", str(tmp_path / "y.npy")]) == 2
    assert "cannot be read" in capsys.readouterr().err  # pickles are never loaded


def test_a_network_evaluates_a_memmap_chunk_by_chunk(tmp_path, monkeypatch):
    rng = np.random.default_rng(14)
    X, y = rng.integers(0, 256, (120, 6)).astype(np.uint8), rng.uniform(-1, 1, 120)
    net = memorize.build("zhang2017", X, y)
    mm = _memmap(tmp_path, X)
    monkeypatch.setattr(rows.Rows, "__array__", lambda self, *a, **k: pytest.fail("whole X read into memory"))
    assert np.array_equal(net(mm, chunk_bytes=net.row_bytes * 7), net(X, chunk_bytes=net.row_bytes * 7))
    assert np.array_equal(net(mm[5]), net(X[5]))  # one point stays one point


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 90), d=st.integers(1, 6), chunk=st.integers(1, 40),
       dtype=st.sampled_from(["uint8", "int16", "float32", "float64"]))
def test_checking_pass_matches_the_in_memory_checks(seed, n, d, chunk, dtype):
    """Any chunking of any numeric source: the chunked pass finds the duplicates that
    unique_rows finds in memory (the same first occurrences and inverse), and the same rows."""
    from memorize.data import _check_chunked, as_inputs, unique_rows

    rng = np.random.default_rng(seed)
    X = rng.integers(-3 if dtype != "uint8" else 0, 4, (n, d)).astype(dtype)  # small values: many duplicates
    if dtype.startswith("float"):
        X[rng.random((n, d)) < 0.1] = -0.0  # equal to 0.0 as a point
    store = RowStore(X)
    with rows.memory_budget(32 * d * chunk):
        R = _check_chunked(store)
        first, inverse = unique_rows(as_inputs(X))
        assert np.array_equal(R.unique[0], first) and np.array_equal(R.unique[1], inverse)
        assert np.array_equal(np.asarray(R), as_inputs(X))
