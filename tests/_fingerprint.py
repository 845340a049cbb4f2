"""Canonical fingerprints of built networks, for the byte-identity regression test.

A fingerprint is the SHA-256 of a canonical serialisation of a network: for every layer its
kind, activation and arrays (float64 bytes, or exact values as hexadecimal fractions), plus
the network's ``meta`` as sorted JSON. Two networks have the same fingerprint exactly when a
saved file of one would hold the same numbers as the other's, independent of the file format.

``python tests/_fingerprint.py`` rewrites ``tests/data/fingerprints.json``; do that only when a
change of the built networks is intended, and say why in the commit message.
"""

from __future__ import annotations

import hashlib
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).parent / "data" / "fingerprints.json"


def _array_bytes(a: np.ndarray) -> bytes:
    if a.dtype == object:
        vals = []
        for v in a.flat:
            f = Fraction(v)
            vals.append(f"{f.numerator:x}/{f.denominator:x}")
        return (f"exact{a.shape}:" + ",".join(vals)).encode()
    return f"f8{a.shape}:".encode() + np.ascontiguousarray(a, dtype=np.float64).tobytes()


def fingerprint(net) -> str:
    h = hashlib.sha256()
    for layer in net.layers:
        h.update(type(layer).__name__.encode())
        h.update(json.dumps(layer.activation.to_json(), sort_keys=True).encode())
        for key, a in layer.arrays().items():
            h.update(key.encode())
            h.update(_array_bytes(a))
    h.update(json.dumps(dict(net.meta), sort_keys=True).encode())
    return h.hexdigest()


def _datasets():
    rng = np.random.default_rng(12345)
    X = rng.standard_normal((40, 4))
    y_reg = rng.uniform(-1, 1, 40)
    y_cls = rng.integers(0, 3, 40)
    y_bin = rng.choice([-1.0, 1.0], 40)
    Xs = rng.standard_normal((12, 3))
    ys_reg = rng.uniform(-1, 1, 12)
    ys_cls = rng.integers(0, 3, 12)
    # integer-valued, degenerate data (not in general position): exercises the repair paths
    Xd = rng.integers(0, 3, (30, 3)).astype(float)
    Xd = np.unique(Xd, axis=0)
    yd_cls = np.arange(len(Xd)) % 2
    yd_reg = np.linspace(-1, 1, len(Xd))
    return {
        "gauss": (X, y_reg, y_cls, y_bin),
        "small": (Xs, ys_reg, ys_cls, np.where(ys_reg > 0, 1.0, -1.0)),
        "grid": (Xd, yd_reg, yd_cls, np.where(yd_cls > 0, 1.0, -1.0)),
    }


# (method, options, exact sizes allowed): builders whose exact mode is slow use only the small set
CASES = [
    ("zhang2017", {}),
    ("zhang2017", {"theta": 0.25}),
    ("baum1988", {}),
    ("bubeck2020", {}),
    ("bubeck2020", {"grouping": "random", "optimize": False}),
    ("yun2019_one_hidden", {}),
    ("yun2019_one_hidden", {"activation": "hardtanh"}),
    ("yun2019_two_hidden", {}),
    ("yun2019_two_hidden", {"activation": "hardtanh"}),
    ("yun2019_classifier", {}),
    ("yun2019_classifier", {"activation": "hardtanh"}),
    ("yun2019_deep", {"widths": (24, 24, 24, 24, 24)}),
    ("yun2019_deep", {}),
    ("yun2019_deep_classifier", {}),
    ("yun2019_deep_classifier", {"activation": "hardtanh"}),
    ("yun2019_resnet", {}),
    ("yun2019_resnet", {"activation": "hardtanh"}),
    ("hardt_ma2017", {}),
    ("yang2026", {}),
    ("vardi2022", {}),
]


def _label(task, ys):
    y_reg, y_cls, y_bin = ys
    return {"regression": y_reg, "classification": y_cls, "binary": y_bin}[task]


def compute() -> dict:
    import memorize
    from memorize.registry import get

    out = {}
    for name, (X, *ys) in _datasets().items():
        for method, opts in CASES:
            m = get(method)
            y = _label(m.task, ys)
            for exact in (False, True):
                if exact and name == "gauss" and method in ("yang2026", "vardi2022", "hardt_ma2017"):
                    continue
                key = f"{name}/{method}/{json.dumps(opts, sort_keys=True)}/{'exact' if exact else 'float'}"
                try:
                    net = memorize.build(method, X, y, rng=7, exact=exact, **opts)
                    out[key] = fingerprint(net)
                except Exception as exc:  # a refusal is part of the behaviour too
                    out[key] = f"error:{type(exc).__name__}"
    return out


if __name__ == "__main__":
    result = compute()
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(result)} fingerprints to {GOLDEN}", file=sys.stderr)
