"""A catalogue of hostile inputs: every entry point refuses them with an error of
``memorize.errors`` whose message names the argument at fault.

Each case is ``(id, call, error type, words the message must contain)``. The calls cover
``build`` (and builders at extreme values), ``verify``, the estimators, ``load`` (files built
here: huge declared shapes, unused arrays, oversized exact weights, tampered weights, headers
and shapes) and the command line. At the end, the peak memory of loading hostile files is
measured in a subprocess.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy

import memorize
from memorize import errors as E
from memorize.cli import main, make_parser

RNG = np.random.default_rng(7)
X = RNG.standard_normal((20, 3))
Y_REG = RNG.uniform(-1, 1, 20)
Y_CLS = RNG.integers(0, 3, 20)


def _net():
    return memorize.build("zhang2017", X, Y_REG)


def _cls_net():
    return memorize.build("yun2019_one_hidden", X, Y_CLS)


# -- build -------------------------------------------------------------------------------------
BUILD = [
    ("rng negative", lambda: memorize.build("zhang2017", X, Y_REG, rng=-1), E.ArgumentError, ["rng"]),
    ("rng string", lambda: memorize.build("zhang2017", X, Y_REG, rng="a"), E.ArgumentTypeError, ["rng"]),
    ("rng bool", lambda: memorize.build("zhang2017", X, Y_REG, rng=True), E.ArgumentTypeError, ["rng"]),
    ("class labels beyond int64", lambda: memorize.build("yun2019_one_hidden", X[:3], np.array([1e300, 2e300, 3e300])),
     E.LabelError, ["y", "[0, 1, 2]", "int64"]),
    ("python ints beyond int64", lambda: memorize.build("yun2019_one_hidden", X[:3], np.array([1, 2**70, 3], dtype=object)),
     E.LabelError, ["y", "[1]"]),
    ("non-integral class labels", lambda: memorize.build("yun2019_one_hidden", X[:3], [0.0, 1.5, 2.0]),
     E.LabelError, ["y", "[1]"]),
    ("missing label", lambda: memorize.build("yun2019_one_hidden", X[:3], np.array(["a", None, "b"], dtype=object)),
     E.LabelError, ["y", "[1]"]),
    ("strings mixed with numbers", lambda: memorize.build("yun2019_one_hidden", X[:3], np.array(["a", 1, "b"], dtype=object)),
     E.ArgumentTypeError, ["y", "[1]"]),
    ("complex labels", lambda: memorize.build("zhang2017", X[:3], np.array([1j, 2, 3])), E.ArgumentTypeError, ["y"]),
    ("labels overflow the weights", lambda: memorize.build("zhang2017", X, np.where(Y_REG > 0, 1e308, -1e308)),
     E.LabelError, ["y", "overflow"]),
    ("NaN target", lambda: memorize.build("zhang2017", X[:3], [0.0, np.nan, 1.0]), E.NonFiniteError, ["y", "[1]"]),
    ("integer target above 2**53", lambda: memorize.build("zhang2017", X[:3], np.array([0, 2**60, 1])),
     E.LabelError, ["y", "[1]"]),
    ("infinite input", lambda: memorize.build("zhang2017", np.array([[0.0], [np.inf]]), [0.0, 1.0]),
     E.NonFiniteError, ["X", "[1]"]),
    ("string input", lambda: memorize.build("zhang2017", "abc", [0.0]), E.ArgumentTypeError, ["X"]),
    ("3-D input", lambda: memorize.build("zhang2017", np.zeros((2, 2, 2)), [0.0, 1.0]), E.ShapeError, ["X"]),
    ("labels of the wrong length", lambda: memorize.build("zhang2017", X, Y_REG[:5]), E.ShapeError, ["y"]),
    ("unknown option", lambda: memorize.build("zhang2017", X, Y_REG, foo=1), E.ArgumentError, ["foo"]),
    ("string for a number option", lambda: memorize.build("zhang2017", X, Y_REG, theta="0.1"),
     E.ArgumentTypeError, ["theta"]),
    ("unknown method", lambda: memorize.build("nope", X, Y_REG), E.UnknownMethodError, ["method"]),
    ("three string labels for baum1988", lambda: memorize.build("baum1988", X[:3], ["a", "b", "c"]),
     E.LabelError, ["y", "binary"]),
    ("yang2026 at 1e300", lambda: memorize.build("yang2026", X * 1e300, Y_CLS), E.AssumptionError, ["X", "overflow"]),
    ("baum1988 at 1e300", lambda: memorize.build("baum1988", X * 1e300, Y_CLS % 2), E.AssumptionError, ["X", "overflow"]),
    ("yun2019_resnet at 1e300", lambda: memorize.build("yun2019_resnet", X * 1e300, Y_CLS), E.AssumptionError,
     ["X", "overflow"]),
    ("hardt_ma2017 at 1e300", lambda: memorize.build("hardt_ma2017", X * 1e300, Y_CLS), E.AssumptionError,
     ["X", "overflow"]),
    ("label outside the given classes", lambda: memorize.build("float_safe_classifier", X, Y_CLS, classes=[0, 1]),
     E.LabelError, ["y"]),
]

# -- verify ------------------------------------------------------------------------------------
VERIFY = [
    ("tol NaN", lambda: memorize.verify(_net(), X, Y_REG, tol=float("nan")), E.ArgumentError, ["tol"]),
    ("tol negative", lambda: memorize.verify(_net(), X, Y_REG, tol=-1), E.ArgumentError, ["tol"]),
    ("tol string", lambda: memorize.verify(_net(), X, Y_REG, tol="0.1"), E.ArgumentError, ["tol"]),
    ("label without an output", lambda: memorize.verify(_cls_net(), X, np.where(Y_CLS == 2, 5, Y_CLS)),
     E.LabelError, ["y"]),
    ("strings for a real-valued network", lambda: memorize.verify(_net(), X, np.array(["a"] * 20)),
     E.LabelError, ["y"]),
    ("not a network", lambda: memorize.verify("net.npz", X, Y_REG), E.ArgumentError, ["net"]),
    ("targets of the wrong shape", lambda: memorize.verify(_net(), X, np.zeros((20, 3))), E.ShapeError, ["y"]),
    ("unknown string for a class-index network",
     lambda: memorize.verify(memorize.build("yang2026", X, np.array(["a", "b"])[Y_CLS % 2]), X,
                             np.array(["a", "c"])[Y_CLS % 2]), E.LabelError, ["y"]),
]

# -- estimators --------------------------------------------------------------------------------
EST = [
    ("rng inside options", lambda: memorize.MemorizingClassifier(options={"rng": 1}).fit(X, Y_CLS),
     E.ArgumentError, ["options", "random_state"]),
    ("options not a dict", lambda: memorize.MemorizingRegressor(options="abc").fit(X, Y_REG),
     E.ArgumentTypeError, ["options"]),
    ("estimator unknown option", lambda: memorize.MemorizingRegressor(options={"foo": 1}).fit(X, Y_REG),
     E.ArgumentError, ["foo"]),
    ("negative random_state", lambda: memorize.MemorizingRegressor(random_state=-1).fit(X, Y_REG),
     E.ArgumentError, ["random_state"]),
    ("estimator labels beyond int64", lambda: memorize.MemorizingClassifier().fit(X[:3], [1e300, 2e300, 3e300]),
     E.LabelError, ["y", "[0, 1, 2]"]),
    ("estimator missing label", lambda: memorize.MemorizingClassifier().fit(X[:3], np.array(["a", None, "b"], dtype=object)),
     E.LabelError, ["y", "[1]"]),
    ("words for a regressor", lambda: memorize.MemorizingRegressor().fit(X[:3], ["a", "b", "c"]),
     E.LabelError, ["y"]),
]


# -- load: hostile files, built here -----------------------------------------------------------
def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    npy.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _members(path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write(path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    return Path(path)


def _header(members) -> dict:
    return json.loads(str(np.load(io.BytesIO(members["header.npy"]))))


def _with_header(members, header, *, recompute=True) -> dict:
    import hashlib

    text = json.dumps(header)
    out = dict(members, **{"header.npy": _npy_bytes(np.array(text))})
    if recompute:
        out["checksum.npy"] = _npy_bytes(np.array("sha256:" + hashlib.sha256(text.encode()).hexdigest()))
    return out


def _huge_shape_header(shape, dtype="<f8") -> bytes:
    d = {"descr": dtype, "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, d)
    return buf.getvalue()


def hostile_files(folder: Path) -> dict:
    """name -> path of every hostile network file of the catalogue (also used by the memory test)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    Xd, yd = rng.standard_normal((30, 4)), rng.uniform(-1, 1, 30)
    # dense layers: zhang2017's hidden layer, built factored, stored as its N×d matrix
    net = memorize.build("zhang2017", Xd, yd).densified()
    net.save(folder / "ok.npz")
    ok = _members(folder / "ok.npz")
    files = {}
    # a header claiming 21.8 TiB: the zip entry holds only the .npy header
    files["huge shape"] = _write(folder / "huge.npz", {**ok, "layer0.W.npy": _huge_shape_header((2**20, 2**22 * 715))})
    # an unused extra array of 5·10^7 zeros (400 MB; compresses to about 0.4 MB)
    with zipfile.ZipFile(folder / "extra.npz", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, data in ok.items():
            zf.writestr(n, data)
        with zf.open("unused.npy", "w", force_zip64=True) as m:
            m.write(_huge_shape_header((50_000_000,)))
            block = bytes(1 << 24)
            for _ in range(400_000_000 // len(block)):
                m.write(block)
    files["unused array"] = folder / "extra.npz"
    # an exact network whose one weight has 10^7 hexadecimal digits
    small = memorize.build("zhang2017", Xd[:3], yd[:3], exact=True)
    small.save(folder / "exact.npz")
    ex = _members(folder / "exact.npz")
    W = np.load(io.BytesIO(ex["layer1.W.npy"]))
    Wbig = np.array(["0x" + "f" * 10**7] + W.ravel().tolist()[1:]).reshape(W.shape)
    files["10^7-digit weight"] = _write(folder / "digits.npz", {**ex, "layer1.W.npy": _npy_bytes(Wbig)})
    # a weight changed by 0.1 %
    W0 = np.load(io.BytesIO(ok["layer1.W.npy"])).copy()
    W0[0, 0] *= 1.001
    files["weight changed by 0.1 %"] = _write(folder / "weight.npz", {**ok, "layer1.W.npy": _npy_bytes(W0)})
    # a header with a layer removed, without and with a recomputed header checksum
    h = _header(ok)
    h1 = dict(h, layers=h["layers"][:1], arrays={k: v for k, v in h["arrays"].items() if k.startswith("layer0")})
    files["layer removed"] = _write(folder / "nolayer.npz", _with_header(ok, h1, recompute=False))
    files["layer removed, checksum redone"] = _write(folder / "nolayer2.npz", _with_header(ok, h1))
    # the first weight matrix with a column cut (header checksum redone, table unchanged)
    W1 = np.load(io.BytesIO(ok["layer0.W.npy"]))[:, :-1].copy()
    files["columns cut"] = _write(folder / "cut.npz", {**ok, "layer0.W.npy": _npy_bytes(W1)})
    # an object array
    obj = _npy_bytes_pickle(np.array([[{"x": 1}]], dtype=object))
    files["object array"] = _write(folder / "object.npz", {**ok, "layer0.W.npy": obj})
    # an entry that is not an array
    files["non-array entry"] = _write(folder / "script.npz", {**ok, "run.py": b"print('hi')"})
    # a version-1 file (no checksums) with an extra array
    h0 = {k: v for k, v in h.items() if k != "arrays"}
    h0["version"] = 1
    v1 = {k: v for k, v in ok.items() if k != "checksum.npy"}
    v1["header.npy"] = _npy_bytes(np.array(json.dumps(h0)))
    files["version 1 with an extra array"] = _write(folder / "v1extra.npz", {**v1, "junk.npy": _npy_bytes(np.zeros(3))})
    # a factored layer in a file that claims version 2 (which has no factored layers), checksum redone
    memorize.build("zhang2017", Xd, yd).save(folder / "factored.npz")
    fa = _members(folder / "factored.npz")
    files["factored layer in version 2"] = _write(folder / "fv2.npz", _with_header(fa, dict(_header(fa), version=2)))
    # a factored layer whose factors disagree (B with a row too many; header table redone)
    hb = _header(fa)
    B = np.load(io.BytesIO(fa["layer0.B.npy"]))
    B2 = np.vstack([B, B])
    hb["arrays"]["layer0.B"] = {"shape": list(B2.shape), "sha256": hashlib.sha256(B2.tobytes()).hexdigest()}
    files["factors disagree"] = _write(folder / "fbad.npz", _with_header({**fa, "layer0.B.npy": _npy_bytes(B2)}, hb))
    return files


def _npy_bytes_pickle(arr) -> bytes:
    buf = io.BytesIO()
    npy.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


LOAD_EXPECT = {
    "huge shape": ["path", "layer0.W"],
    "unused array": ["path", "unused"],
    "10^7-digit weight": ["path", "max_digits"],
    "weight changed by 0.1 %": ["path", "checksum"],
    "layer removed": ["path", "checksum"],
    "layer removed, checksum redone": ["path", "layer1"],
    "columns cut": ["path", "layer0.W"],
    "object array": ["path", "object"],
    "non-array entry": ["path", "run.py"],
    "version 1 with an extra array": ["path", "junk"],
    "factored layer in version 2": ["path", "factored", "version 2"],
    "factors disagree": ["path", "layer 0", "inconsistent shapes"],
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return hostile_files(tmp_path_factory.mktemp("hostile"))


def _case_id(c):
    return c[0]


@pytest.mark.parametrize("case", BUILD + VERIFY + EST, ids=_case_id)
def test_library_refuses_naming_the_argument(case):
    _, call, err, words = case
    with pytest.raises(err) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


@pytest.mark.parametrize("name", sorted(LOAD_EXPECT))
def test_load_refuses_hostile_files(hostile, name):
    with pytest.raises(E.FileFormatError) as info:
        memorize.load(hostile[name])
    for w in LOAD_EXPECT[name]:
        assert w in str(info.value), (w, str(info.value))


def test_load_refuses_missing_files_and_bad_limits(tmp_path):
    with pytest.raises(E.FileFormatError, match="path"):
        memorize.load(tmp_path / "missing.npz")
    _net().save(tmp_path / "n.npz")
    with pytest.raises(E.ArgumentError, match="max_bytes"):
        memorize.load(tmp_path / "n.npz", max_bytes=-1)
    with pytest.raises(E.FileFormatError, match="max_bytes"):
        memorize.load(tmp_path / "n.npz", max_bytes=100)


# -- the command line ----------------------------------------------------------------------------
@pytest.fixture()
def data(tmp_path):
    np.savez(tmp_path / "d.npz", X=X, y=Y_REG)
    return tmp_path


def _cli_error(argv):
    """The exception the command raises (what main prints as 'memorize: error: ...')."""
    args = make_parser().parse_args(argv)
    with pytest.raises(E.MemorizeError) as info:
        args.func(args)
    return info


CLI = [
    ("-o is the input file", lambda t: ["build", "--method", "zhang2017", str(t / "d.npz"), "-o", str(t / "d.npz")],
     E.ArgumentError, ["--output"]),
    ("CSV data", lambda t: ["build", "--method", "zhang2017", str(t / "d.csv"), "-o", str(t / "n.npz")],
     E.FileFormatError, ["DATA", "CSV", "savez"]),
    ("rng in --option", lambda t: ["build", "--method", "zhang2017", str(t / "d.npz"), "-o", str(t / "n.npz"),
                                   "--option", "rng=5"], E.ArgumentError, ["--option", "--seed"]),
    ("unknown --option", lambda t: ["build", "--method", "zhang2017", str(t / "d.npz"), "-o", str(t / "n.npz"),
                                    "--option", "foo=1"], E.ArgumentError, ["--option", "foo"]),
    ("code in --option", lambda t: ["build", "--method", "zhang2017", str(t / "d.npz"), "-o", str(t / "n.npz"),
                                    "--option", "theta=__import__('os')"], E.ArgumentTypeError, ["--option", "theta"]),
    ("--option without =", lambda t: ["build", "--method", "zhang2017", str(t / "d.npz"), "-o", str(t / "n.npz"),
                                      "--option", "theta"], E.ArgumentError, ["--option"]),
    ("data with an extra array", lambda t: ["build", "--method", "zhang2017", str(t / "extra.npz"), "-o",
                                            str(t / "n.npz")], E.FileFormatError, ["DATA", "z"]),
    ("data with an object array", lambda t: ["build", "--method", "zhang2017", str(t / "obj.npz"), "-o",
                                             str(t / "n.npz")], E.FileFormatError, ["DATA", "object"]),
]


@pytest.mark.parametrize("case", CLI, ids=_case_id)
def test_cli_refuses_naming_the_argument(data, case):
    _, argv, err, words = case
    np.savetxt(data / "d.csv", np.column_stack([X, Y_REG]), delimiter=",")
    np.savez(data / "extra.npz", X=X, y=Y_REG, z=np.zeros(3))
    np.savez(data / "obj.npz", X=X, y=np.array(list(Y_REG), dtype=object))
    info = _cli_error(argv(data))
    assert isinstance(info.value, err)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    assert main(argv(data)) == 2


@pytest.mark.parametrize("argv,flag", [
    (["verify", "n.npz", "d.npz", "--tol", "nan"], "--tol"),
    (["verify", "n.npz", "d.npz", "--tol", "-1"], "--tol"),
    (["demo", "--seed", "-5"], "--seed"),
    (["build", "--method", "zhang2017", "d.npz", "-o", "n.npz", "--seed", "x"], "--seed"),
], ids=["tol nan", "tol -1", "demo seed -5", "build seed x"])
def test_cli_parser_refuses_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as info:
        make_parser().parse_args(argv)
    assert info.value.code == 2 and flag in capsys.readouterr().err


def test_the_catalogue_is_large_enough():
    n = len(BUILD) + len(VERIFY) + len(EST) + len(LOAD_EXPECT) + len(CLI) + 4 + 3
    assert n >= 40


# -- memory: loading hostile files stays within 2× the file size plus a fixed allowance ----------
_MEASURE = textwrap.dedent("""
    import json, sys, tracemalloc, warnings
    import memorize
    from memorize.errors import FileFormatError
    out = {}
    for path in sys.argv[1:]:
        tracemalloc.start()
        try:
            memorize.load(path)
            result = "loaded"
        except FileFormatError as exc:
            result = "refused"
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[path] = [peak, result]
    print(json.dumps(out))
""")

_ALLOWANCE = 8 * 2**20  # bytes: zipfile buffers, JSON, NumPy bookkeeping


def test_loading_hostile_files_is_bounded_in_memory(hostile, tmp_path):
    rng = np.random.default_rng(1)
    legit = tmp_path / "legit.npz"  # random weights: about 16 MB that do not compress
    memorize.Network([memorize.Dense(rng.standard_normal((2000, 1000)), rng.standard_normal(2000), "relu"),
                      memorize.Dense(rng.standard_normal((1, 2000)), np.zeros(1))]).save(legit)
    paths = [str(p) for p in hostile.values()] + [str(legit)]
    env = {"PYTHONPATH": str(Path(memorize.__file__).parents[1])}
    r = subprocess.run([sys.executable, "-c", _MEASURE, *paths], capture_output=True, text=True, timeout=600,
                       env={**__import__("os").environ, **env})
    assert r.returncode == 0, r.stderr
    peaks = json.loads(r.stdout)
    for path, (peak, result) in peaks.items():
        size = Path(path).stat().st_size
        assert result == ("loaded" if path == str(legit) else "refused"), path
        assert peak <= 2 * size + _ALLOWANCE, (path, peak, size)
    # the measurement sees NumPy's allocations: the valid file's weights are in its peak
    assert peaks[str(legit)][0] >= 0.9 * legit.stat().st_size
