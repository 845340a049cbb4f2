"""Saving and loading networks without pickle (format: ``docs/format.md``).

A file is a zip of ``.npy`` arrays. :func:`load` never trusts it: it reads every array's
``.npy`` header first and checks the declared dtype, shape and size against the network the
file's header describes and against documented limits (:data:`MAX_BYTES`,
:data:`MAX_DIGITS`, :data:`MAX_HEADER_BYTES`) *before* allocating anything; it refuses arrays
the header does not name; and (format versions 2 and 3) it checks a SHA-256 checksum of the
header and of every array, so that a corrupted or edited file raises
:class:`~memorize.errors.FileFormatError` instead of loading as a different network. Version 3
adds factored layers (:class:`~memorize.network.Factored`, stored as their two factors).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from fractions import Fraction
from math import prod

import numpy as np
from numpy.lib import format as npy

from .activations import Activation
from .errors import ArgumentError, FileFormatError, UncheckedFileWarning
from .network import Dense, Factored, Network, Residual

__all__ = [
    "save_network", "load", "read_arrays", "FORMAT_NAME", "FORMAT_VERSION", "READABLE_VERSIONS",
    "MAX_BYTES", "MAX_DIGITS", "MAX_HEADER_BYTES", "MAX_LAYERS", "UNCHECKED_NOTE",
]

FORMAT_NAME = "memorize.network"
#: The version :func:`save_network` writes (3: SHA-256 checksums, factored layers).
FORMAT_VERSION = 3
#: The versions :func:`load` reads (1: the first format, without checksums, loaded with a warning;
#: 2: with checksums; 3: with checksums and factored layers).
READABLE_VERSIONS = (1, 2, 3)
#: The first version that may hold each layer kind.
KIND_SINCE = {"dense": 1, "residual": 1, "factored": 3}

#: Default limit on the bytes all arrays of one file may declare (4 GiB): :func:`load` refuses a
#: larger file before allocating (pass ``max_bytes=`` to read larger networks).
MAX_BYTES = 4 * 2**30
#: Longest entry of an exact network's array, in characters (about 4 million bits per weight).
MAX_DIGITS = 2**20
#: Largest header (JSON text) or checksum string, in bytes as stored (4 bytes per character).
MAX_HEADER_BYTES = 2**26
#: Most layers a file may declare.
MAX_LAYERS = 100_000
#: The key ``load`` adds to ``meta`` of a network read from a file without checksums.
UNCHECKED_NOTE = "file_unchecked"

_KEYS = {"dense": ("W", "b"), "residual": ("U", "b", "V", "c"), "factored": ("A", "B", "b")}
_CHUNK = 1 << 20


def _sha256(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def _encode_exact(a: np.ndarray) -> np.ndarray:
    # Hexadecimal: Python's int/str conversion limit (4300 digits) does not apply to base 16,
    # and bit-extraction weights have thousands of digits.
    out = []
    for v in a.flat:
        if isinstance(v, int):
            out.append(hex(v))
        else:
            out.append(f"{hex(v.numerator)}/{hex(v.denominator)}")
    return np.array(out, dtype=np.str_).reshape(a.shape) if out else np.zeros(a.shape, dtype="<U1")


def _stored(a: np.ndarray, exact: bool) -> np.ndarray:
    """The array as the file stores it: C order, little-endian float64 or unicode."""
    return np.ascontiguousarray(_encode_exact(a) if exact else a, dtype=None if exact else "<f8")


def _write_zip(f, members: dict) -> None:
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for name, arr in members.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as m:
                npy.write_array(m, arr, allow_pickle=False)


def _kind(layer) -> str:
    return "factored" if isinstance(layer, Factored) else "dense" if isinstance(layer, Dense) else "residual"


def save_network(net: Network, path) -> None:
    """Write ``net`` to exactly ``path`` (no extension is added) as a zip of ``.npy`` arrays.

    The file is readable with ``numpy.load(path, allow_pickle=False)``; the header records the
    shape and SHA-256 checksum of every array and the ``checksum`` array the header's own
    (format version 3, ``docs/format.md``). A :class:`~memorize.network.Factored` layer is
    stored as its factors ``A``, ``B`` and bias, never as the dense product. ``path`` may also be a writable binary file object.
    A file is written to a temporary name beside ``path`` and renamed, so a failed write leaves
    no partial file.

    Examples
    --------
    >>> import numpy as np, memorize, tempfile, os
    >>> net = memorize.build("zhang2017", np.array([[0.0], [1.0]]), np.array([1.0, 2.0]))
    >>> path = os.path.join(tempfile.mkdtemp(), "net")  # no extension: written as given
    >>> net.save(path)
    >>> os.path.exists(path), os.path.exists(path + ".npz")
    (True, False)
    """
    exact = net.is_exact
    arrays = {}
    for i, layer in enumerate(net.layers):
        for k, a in layer.arrays().items():
            arrays[f"layer{i}.{k}"] = _stored(a, exact)
    meta = {k: v for k, v in net.meta.items() if k != UNCHECKED_NOTE}
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "dtype": "exact" if exact else "float64",
        "layers": [
            {"kind": _kind(layer), "activation": layer.activation.to_json()}
            for layer in net.layers
        ],
        "arrays": {name: {"shape": list(a.shape), "sha256": _sha256(a.tobytes())} for name, a in arrays.items()},
        "meta": meta,
    }
    text = json.dumps(header)
    members = {"header": np.array(text), "checksum": np.array("sha256:" + _sha256(text.encode("utf-8")))}
    members.update(arrays)
    if hasattr(path, "write"):
        _write_zip(path, members)
        return
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".memorize-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ArgumentError(f"path: cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            _write_zip(f, members)
        os.replace(tmp, target)
    except OSError as exc:
        raise ArgumentError(f"path: cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------------------
# reading: .npy headers first, data only after every check
# ---------------------------------------------------------------------------------------------
class _Member:
    """One ``.npy`` member of the zip, its header read and checked, its data not yet read."""

    def __init__(self, zf: zipfile.ZipFile, name: str, where: str):
        self.zf, self.name, self.where = zf, name, where
        self.info = zf.getinfo(name + ".npy")
        try:
            with zf.open(self.info) as stream:
                version = npy.read_magic(stream)
                if version == (1, 0):
                    shape, fortran, dtype = npy.read_array_header_1_0(stream)
                elif version == (2, 0):
                    shape, fortran, dtype = npy.read_array_header_2_0(stream)
                else:
                    raise ValueError(f".npy version {version} is not supported")
                self.data_start = stream.tell()
        except (ValueError, EOFError, OSError, zipfile.BadZipFile) as exc:
            raise FileFormatError(f"{where}: array {name!r} has no valid .npy header ({exc})") from None
        if dtype.hasobject or dtype.kind not in "biufUS":
            raise FileFormatError(f"{where}: array {name!r} has dtype {dtype}, which a memorize file never holds")
        self.shape, self.fortran, self.dtype = tuple(int(s) for s in shape), bool(fortran), dtype
        self.nbytes = prod(self.shape) * dtype.itemsize
        if self.info.file_size != self.data_start + self.nbytes:
            raise FileFormatError(
                f"{where}: array {name!r} declares {self.nbytes} bytes of data but the zip entry holds "
                f"{self.info.file_size - self.data_start}; the file is corrupted or was edited"
            )

    def read(self, digest: bool = False) -> tuple[np.ndarray, str | None]:
        """The data (read-only, owning its memory) and, if asked, its SHA-256."""
        shape = self.shape[::-1] if self.fortran else self.shape
        arr = np.empty(shape, dtype=self.dtype)
        buf = memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(bytearray())
        h = hashlib.sha256() if digest else None
        pos = 0
        try:
            with self.zf.open(self.info) as stream:
                stream.read(self.data_start)
                while pos < self.nbytes:
                    got = stream.readinto(buf[pos:pos + _CHUNK])
                    if not got:
                        break
                    if h is not None:
                        h.update(buf[pos:pos + got])
                    pos += got
                tail = stream.read(1)  # reading to the end makes zipfile check the CRC
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise FileFormatError(f"{self.where}: array {self.name!r} cannot be read ({exc})") from None
        if pos < self.nbytes or tail:
            raise FileFormatError(f"{self.where}: array {self.name!r} is truncated or has trailing data")
        if self.fortran:
            arr = np.ascontiguousarray(arr.T)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arr.setflags(write=False)
        return arr, (h.hexdigest() if h is not None else None)


def _open(path, where: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path if hasattr(path, "read") else os.fspath(path), "r")
    except FileNotFoundError:
        raise FileFormatError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise FileFormatError(f"{where}: is a directory") from None
    except PermissionError:
        raise FileFormatError(f"{where}: permission denied") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FileFormatError(f"{where}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    except TypeError:
        raise FileFormatError(f"{where}: expected a file name or a binary file object") from None


def _members(zf: zipfile.ZipFile, where: str) -> set:
    names = zf.namelist()
    odd = [n for n in names if not n.endswith(".npy")]
    if odd:
        raise FileFormatError(f"{where}: holds entries that are not .npy arrays: {odd[:5]}")
    plain = [n[:-4] for n in names]
    if len(set(plain)) != len(plain):
        raise FileFormatError(f"{where}: holds the same array twice")
    return set(plain)


def _string(zf: zipfile.ZipFile, name: str, where: str) -> str:
    m = _Member(zf, name, where)
    if m.dtype.kind != "U" or m.shape != () or m.nbytes > MAX_HEADER_BYTES:
        raise FileFormatError(f"{where}: {name!r} must be one string of at most {MAX_HEADER_BYTES // 4} characters, "
                              f"got dtype {m.dtype} and shape {m.shape}")
    return str(m.read()[0])


def _expected_shapes(layers: list, version: int, where: str) -> dict:
    """The array names the layers need, mapped to ``None`` (shapes checked when the arrays'
    headers are read, against each other and the next layer)."""
    names = {}
    for i, entry in enumerate(layers):
        if not isinstance(entry, dict) or entry.get("kind") not in _KEYS:
            raise FileFormatError(f"{where}: layer {i} has an unknown kind")
        if KIND_SINCE[entry["kind"]] > version:
            raise FileFormatError(f"{where}: layer {i} is {entry['kind']!r}, which format version {version} does "
                                  f"not have (it appeared in version {KIND_SINCE[entry['kind']]})")
        for k in _KEYS[entry["kind"]]:
            names[f"layer{i}.{k}"] = None
    return names


def _check_layer_shapes(layers: list, heads: dict, where: str) -> None:
    """Every layer's arrays agree with each other and with the next layer's input."""
    prev_out = None
    for i, entry in enumerate(layers):
        s = {k: heads[f"layer{i}.{k}"].shape for k in _KEYS[entry["kind"]]}
        if entry["kind"] == "dense":
            ok = len(s["W"]) == 2 and s["b"] == (s["W"][0],)
            d_in, d_out = (s["W"][1], s["W"][0]) if len(s["W"]) == 2 else (None, None)
        elif entry["kind"] == "factored":
            ok = len(s["A"]) == 2 and len(s["B"]) == 2 and s["A"][1] == s["B"][0] and s["b"] == (s["A"][0],)
            d_in, d_out = (s["B"][1], s["A"][0]) if ok else (None, None)
        else:
            ok = len(s["U"]) == 2 and len(s["V"]) == 2 and s["b"] == (s["U"][0],) \
                and s["V"] == (s["U"][1], s["U"][0]) and s["c"] == (s["U"][1],)
            d_in = d_out = s["U"][1] if len(s["U"]) == 2 else None
        if not ok:
            raise FileFormatError(f"{where}: the arrays of layer {i} have inconsistent shapes {s}")
        if prev_out is not None and d_in != prev_out:
            raise FileFormatError(f"{where}: layer {i} takes {d_in} inputs but layer {i - 1} gives {prev_out}")
        prev_out = d_out


def _decode_exact(a: np.ndarray, key: str, where: str) -> np.ndarray:
    if a.dtype.kind != "U":
        raise FileFormatError(f"{where}: array {key!r} of an exact network must hold strings, got {a.dtype}")
    out = np.empty(a.shape, dtype=object)
    flat = out.reshape(-1)
    for i, s in enumerate(a.reshape(-1).tolist()):
        try:
            if "/" in s:
                p, q = s.split("/")
                num, den = int(p, 16), int(q, 16)
                if den <= 0:
                    raise ValueError
                f = Fraction(num, den)
                flat[i] = f.numerator if f.denominator == 1 else f
            else:
                flat[i] = int(s, 16)
        except ValueError:
            raise FileFormatError(f"{where}: array {key!r} holds {s[:40]!r}, not an exact number") from None
    return out


def _header(zf: zipfile.ZipFile, present: set, where: str) -> tuple[dict, bool]:
    """The parsed header and whether the file carries checksums (verified here for the header)."""
    if "header" not in present:
        raise FileFormatError(f"{where}: not a memorize network file (no header)")
    text = _string(zf, "header", where)
    try:
        header = json.loads(text)
    except ValueError:
        raise FileFormatError(f"{where}: the header is not valid JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise FileFormatError(f"{where}: not a memorize network file")
    version = header.get("version")
    if version not in READABLE_VERSIONS:
        raise FileFormatError(f"{where}: unsupported format version {version!r} (this memorize reads "
                              f"{', '.join(map(str, READABLE_VERSIONS))})")
    checked = version >= 2
    if checked:
        if "checksum" not in present:
            raise FileFormatError(f"{where}: a version {version} file must hold the header's checksum")
        stored = _string(zf, "checksum", where)
        if stored != "sha256:" + _sha256(text.encode("utf-8")):
            raise FileFormatError(f"{where}: the header's checksum does not match: the file was modified or corrupted")
    if header.get("dtype") not in ("exact", "float64"):
        raise FileFormatError(f"{where}: unknown dtype {header.get('dtype')!r}")
    layers = header.get("layers")
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise FileFormatError(f"{where}: the header must list between 1 and {MAX_LAYERS} layers")
    if not isinstance(header.get("meta", {}), dict):
        raise FileFormatError(f"{where}: the header's meta must be a JSON object")
    return header, checked


_LAYER = {"dense": Dense, "residual": Residual, "factored": Factored}


def load(path, *, max_bytes: int = MAX_BYTES, max_digits: int = MAX_DIGITS) -> Network:
    """Read a network written by :meth:`Network.save`.

    The file is never unpickled, and nothing is allocated before its structure has been
    checked, so an untrusted file cannot run code or exhaust memory. Anything that is not a
    valid network raises :class:`~memorize.errors.FileFormatError` naming the file.

    Parameters
    ----------
    path : str, path-like or binary file object
    max_bytes : int, default :data:`MAX_BYTES` (4 GiB)
        Largest total size the file's arrays may declare; larger files are refused before
        anything is read. Loading needs about this much memory for a float network (the arrays
        are used in place), plus Python's integers for an exact one. A factored layer (version
        3) loads as its factors: the dense product, which may be far larger than the file, is
        never formed by loading or by a forward pass.
    max_digits : int, default :data:`MAX_DIGITS` (2**20)
        Longest entry of an exact network's arrays, in hexadecimal characters.

    Returns
    -------
    Network

    Raises
    ------
    FileFormatError
        Not a readable zip of ``.npy`` arrays; an array of a dtype, shape or size the header
        does not describe or beyond the limits; an array the header does not name (nothing is
        ignored); a checksum that does not match (format versions 2 and 3); a layer kind the
        file's version does not have (factored layers before version 3).

    Warns
    -----
    UncheckedFileWarning
        For a format version 1 file, which has no checksums: it loads, and
        ``meta["file_unchecked"]`` says so (:meth:`Network.save` writes version 3 and drops it).

    Examples
    --------
    >>> import numpy as np, memorize, tempfile, os
    >>> net = memorize.build("zhang2017", np.array([[0.0], [1.0]]), np.array([1.0, 2.0]))
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> net.save(path)
    >>> bool(np.all(memorize.load(path)(np.array([[0.0], [1.0]])) == net(np.array([[0.0], [1.0]]))))
    True
    """
    where = f"path: {path!s}" if not hasattr(path, "read") else "path: the file object"
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 0:
        raise ArgumentError(f"max_bytes: expected a non-negative integer, got {max_bytes!r}")
    if isinstance(max_digits, bool) or not isinstance(max_digits, (int, np.integer)) or max_digits < 1:
        raise ArgumentError(f"max_digits: expected a positive integer, got {max_digits!r}")
    with _open(path, where) as zf:
        present = _members(zf, where)
        header, checked = _header(zf, present, where)
        exact = header["dtype"] == "exact"
        expected = _expected_shapes(header["layers"], header["version"], where)
        extra = sorted(present - set(expected) - {"header", "checksum"})
        if extra:
            raise FileFormatError(f"{where}: holds arrays the header does not describe: {extra[:10]}"
                                  f"{' ...' if len(extra) > 10 else ''}; the file was modified or corrupted")
        missing = [k for k in expected if k not in present]
        if missing:
            raise FileFormatError(f"{where}: arrays {missing[:10]} are missing")
        table = header.get("arrays") if checked else None
        if checked and (not isinstance(table, dict) or set(table) != set(expected)):
            raise FileFormatError(f"{where}: the header's array table does not list the layers' arrays")
        heads = {k: _Member(zf, k, where) for k in expected}
        _check_arrays(heads, table, exact, max_bytes, max_digits, where)
        _check_layer_shapes(header["layers"], heads, where)
        layers = []
        for i, entry in enumerate(header["layers"]):
            try:
                act = Activation.from_json(entry["activation"])
            except Exception as exc:  # any malformed activation becomes one clear error
                raise FileFormatError(f"{where}: layer {i} has an invalid activation ({exc})") from None
            arrs = []
            for k in _KEYS[entry["kind"]]:
                key = f"layer{i}.{k}"
                a, digest = heads[key].read(digest=checked)
                if checked and digest != table[key].get("sha256"):
                    raise FileFormatError(f"{where}: array {key!r} does not match its checksum: the file was "
                                          "modified or corrupted")
                arrs.append(_decode_exact(a, key, where) if exact else a)
            try:
                layers.append(_LAYER[entry["kind"]](*arrs, act))
            except Exception as exc:
                raise FileFormatError(f"{where}: layer {i} is not a valid layer ({exc})") from None
    meta = dict(header.get("meta", {}))
    if not checked:
        meta[UNCHECKED_NOTE] = f"format version {header['version']} has no checksums"
        warnings.warn(f"{where}: format version {header['version']} has no checksums, so changes to the file "
                      "cannot be detected; save it again to add them", UncheckedFileWarning, stacklevel=2)
    try:
        return Network(layers, meta)
    except Exception as exc:
        raise FileFormatError(f"{where}: not a valid memorize network ({exc})") from None


def _check_arrays(heads: dict, table, exact: bool, max_bytes: int, max_digits: int, where: str) -> None:
    """Dtypes, shapes (against the header's table), entry lengths and the total size, before any data."""
    total = 0
    for key, m in heads.items():
        if exact:
            if m.dtype.kind != "U":
                raise FileFormatError(f"{where}: array {key!r} of an exact network must hold strings, got {m.dtype}")
            if m.dtype.itemsize // 4 > max_digits:
                raise FileFormatError(f"{where}: array {key!r} declares entries of {m.dtype.itemsize // 4} characters, "
                                      f"more than the limit max_digits = {max_digits}")
        elif m.dtype.kind != "f" or m.dtype.itemsize != 8:
            raise FileFormatError(f"{where}: array {key!r} must be float64, got {m.dtype}")
        if len(m.shape) not in (1, 2):
            raise FileFormatError(f"{where}: array {key!r} has shape {m.shape}; weights are 1-D or 2-D")
        if table is not None and list(m.shape) != table[key].get("shape"):
            raise FileFormatError(f"{where}: array {key!r} has shape {m.shape} but the header says "
                                  f"{table[key].get('shape')}: the file was modified or corrupted")
        total += m.nbytes
        if total > max_bytes:
            raise FileFormatError(f"{where}: the arrays declare more than {max_bytes} bytes (limit max_bytes; "
                                  f"array {key!r} alone declares shape {m.shape} of {m.dtype}); pass a larger "
                                  "max_bytes to read a network this large")


def read_arrays(path, names: tuple, *, max_bytes: int = MAX_BYTES, kinds: str = "biufUS") -> dict:
    """The arrays ``names`` of an ``.npz`` data file, checked like :func:`load` checks networks.

    Every array's ``.npy`` header is read first: object arrays, dtypes outside ``kinds``, more
    than ``max_bytes`` in total and arrays other than ``names`` raise
    :class:`~memorize.errors.FileFormatError` before any data is read. Used by the command line
    for its data files.
    """
    where = f"{path!s}"
    with _open(path, where) as zf:
        present = _members(zf, where)
        missing = [n for n in names if n not in present]
        if missing:
            raise FileFormatError(f"{where}: a data file must hold arrays {', '.join(map(repr, names))} "
                                  f"(found {sorted(present)})")
        extra = sorted(present - set(names))
        if extra:
            raise FileFormatError(f"{where}: holds arrays other than {', '.join(map(repr, names))}: {extra[:10]}; "
                                  "save only those (nothing in a file is ignored)")
        heads = {n: _Member(zf, n, where) for n in names}
        total = 0
        for n, m in heads.items():
            if m.dtype.kind not in kinds:
                raise FileFormatError(f"{where}: array {n!r} has dtype {m.dtype}")
            total += m.nbytes
            if total > max_bytes:
                raise FileFormatError(f"{where}: the arrays declare more than {max_bytes} bytes (array {n!r}: "
                                      f"shape {m.shape} of {m.dtype})")
        return {n: heads[n].read()[0] for n in names}
