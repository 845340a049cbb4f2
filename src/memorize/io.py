"""Saving and loading networks without pickle (format: ``docs/format.md``)."""

from __future__ import annotations

import json
import zipfile
from fractions import Fraction

import numpy as np

from .activations import Activation
from .errors import ArgumentError, FileFormatError
from .network import Dense, Network, Residual

__all__ = ["save_network", "load", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "memorize.network"
FORMAT_VERSION = 1


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


def _decode_exact(a: np.ndarray, key: str) -> np.ndarray:
    if a.dtype.kind != "U":
        raise FileFormatError(f"load: array {key!r} of an exact network must hold strings, got {a.dtype}")
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
            raise FileFormatError(f"load: array {key!r} holds {s[:40]!r}, not an exact number") from None
    return out


def save_network(net: Network, path) -> None:
    """Write ``net`` to ``path`` as an ``.npz`` readable with ``numpy.load(allow_pickle=False)``."""
    exact = net.is_exact
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "dtype": "exact" if exact else "float64",
        "layers": [
            {"kind": "dense" if isinstance(layer, Dense) else "residual", "activation": layer.activation.to_json()}
            for layer in net.layers
        ],
        "meta": dict(net.meta),
    }
    arrays = {"header": np.array(json.dumps(header))}
    for i, layer in enumerate(net.layers):
        for k, a in layer.arrays().items():
            arrays[f"layer{i}.{k}"] = _encode_exact(a) if exact else a
    try:
        np.savez_compressed(path, **arrays)
    except OSError as exc:
        raise ArgumentError(f"path: cannot write {path!s}: {exc.strerror or exc}") from None


def load(path) -> Network:
    """Read a network written by :meth:`Network.save`.

    The file is opened with ``allow_pickle=False``, so loading an untrusted file cannot run
    code; anything that is not a valid network raises :class:`~memorize.errors.FileFormatError`.

    Examples
    --------
    >>> import numpy as np, memorize, tempfile, os
    >>> net = memorize.build("zhang2017", np.array([[0.0], [1.0]]), np.array([1.0, 2.0]))
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> net.save(path)
    >>> bool(np.all(memorize.load(path)(np.array([[0.0], [1.0]])) == net(np.array([[0.0], [1.0]]))))
    True
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            files = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise FileFormatError(f"load: no such file: {path!s}") from None
    except IsADirectoryError:
        raise FileFormatError(f"load: {path!s} is a directory") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise FileFormatError(f"load: {path!s} is not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if "header" not in files:
        raise FileFormatError(f"load: {path!s} is not a memorize network file (no header)")
    try:
        header = json.loads(str(files["header"]))
        if header.get("format") != FORMAT_NAME:
            raise FileFormatError(f"load: {path!s} is not a memorize network file")
        if header.get("version") != FORMAT_VERSION:
            raise FileFormatError(f"load: unsupported format version {header.get('version')!r}")
        exact = header["dtype"] == "exact"
        if header["dtype"] not in ("exact", "float64"):
            raise FileFormatError(f"load: unknown dtype {header['dtype']!r}")
        layers = []
        for i, spec in enumerate(header["layers"]):
            act = Activation.from_json(spec["activation"])
            keys = {"dense": ("W", "b"), "residual": ("U", "b", "V", "c")}[spec["kind"]]
            arrs = []
            for k in keys:
                key = f"layer{i}.{k}"
                a = files[key]
                if exact:
                    a = _decode_exact(a, key)
                elif a.dtype != np.float64:
                    raise FileFormatError(f"load: array {key!r} must be float64, got {a.dtype}")
                arrs.append(a)
            layers.append(Dense(*arrs, act) if spec["kind"] == "dense" else Residual(*arrs, act))
        return Network(layers, header.get("meta", {}))
    except FileFormatError:
        raise
    except Exception as exc:  # any malformed content becomes one clear error
        raise FileFormatError(f"load: {path!s} is not a valid memorize network ({type(exc).__name__}: {exc})") from None
