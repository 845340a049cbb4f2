"""Benchmark: ``hardt_ma2017`` at MNIST shape, generic forward pass against the sparse run evaluation.

Data: synthetic MNIST-shaped images (784 pixels, uint8 values, seeded): each pixel is 0 with
probability 0.81 (about MNIST's share of dark pixels) and otherwise uniform in 1..255; labels
uniform in 0..9. For each N the network is built and verified twice in the same run:

* ``before``: the generic forward pass, every residual block on every point one after another
  (``memorize._residual_runs.enable(False)``); the builder's own check is one such pass;
* ``after``: the default, runs of ReLU residual blocks evaluated only where they act.

The two builds must give the same network (compared array by array), and the sparse outputs
must equal, bit for bit, the generic forward of the residual blocks on each point alone (checked
on a sample of points).

Usage::

    flock /tmp/bench.lock python benchmarks/bench_hardt.py [N ...] [--no-before]

Prints a markdown table and writes ``benchmarks/results_hardt.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import memorize  # noqa: E402
from memorize import _residual_runs  # noqa: E402
from memorize.network import Network  # noqa: E402
from _common import machine, table  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results_hardt.json"


def mnist_shaped(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n synthetic 28×28 uint8 images (as float64 rows of 784) and labels 0..9."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(1, 256, (n, 784))
    lit = rng.random((n, 784)) < 0.19
    return (pixels * lit).astype(np.float64), rng.integers(0, 10, n)


def timed(fn, *a, **k):
    t = time.perf_counter()
    v = fn(*a, **k)
    return v, time.perf_counter() - t


def same_network(a: Network, b: Network) -> bool:
    if len(a.layers) != len(b.layers) or dict(a.meta) != dict(b.meta):
        return False
    for la, lb in zip(a.layers, b.layers):
        for (ka, va), (kb, vb) in zip(la.arrays().items(), lb.arrays().items()):
            if ka != kb or va.shape != vb.shape or va.tobytes() != vb.tobytes():
                return False
    return True


def one_row_check(net: Network, X: np.ndarray, sample: int = 20) -> bool:
    """The sparse outputs of the residual blocks equal the generic forward on each point alone."""
    k = sum(1 for layer in net.layers if hasattr(layer, "V"))
    run = Network(net.layers[:k])
    rows = np.random.default_rng(1).choice(len(X), min(sample, len(X)), replace=False)
    fast = run(X[rows])
    old = _residual_runs.enable(False)
    try:
        ref = np.vstack([run(X[i : i + 1]) for i in rows])
    finally:
        _residual_runs.enable(old)
    return bool(np.array_equal(fast, ref))


def bench(n: int, before: bool) -> dict:
    X, y = mnist_shaped(n)
    out: dict = {"n": n, "d": X.shape[1]}
    stats0 = dict(_residual_runs.stats)
    net, out["build_after"] = timed(memorize.build, "hardt_ma2017", X, y)
    rep, out["verify_after"] = timed(memorize.verify, net, X, y)
    out["ok_after"], out["max_error_after"] = rep.ok, float(rep.max_error)
    out["fallbacks"] = _residual_runs.stats["fallback"] - stats0["fallback"]
    out["one_row_equal"] = one_row_check(net, X)
    out["blocks"] = net.meta["n_blocks"]
    if before:
        old = _residual_runs.enable(False)
        try:
            net0, out["build_before"] = timed(memorize.build, "hardt_ma2017", X, y)
            rep0, out["verify_before"] = timed(memorize.verify, net0, X, y)
        finally:
            _residual_runs.enable(old)
        out["same_network"] = same_network(net, net0)
        out["ok_before"], out["max_error_before"] = rep0.ok, float(rep0.max_error)
    return out


def main(argv: list[str]) -> None:
    before = "--no-before" not in argv
    sizes = [int(a) for a in argv if not a.startswith("--")] or [1000, 2000, 5000]
    results = []
    for n in sizes:
        r = bench(n, before)
        results.append(r)
        print(json.dumps(r), flush=True)
    header = ["N", "blocks", "build s before", "verify s before", "build s after", "verify s after",
              "build+verify speed-up", "max error before", "max error after", "same network",
              "one-row equal", "fallbacks"]
    rows = []
    for r in results:
        if "build_before" in r:
            tb, vb = f"{r['build_before']:.1f}", f"{r['verify_before']:.1f}"
            sp = f"{(r['build_before'] + r['verify_before']) / (r['build_after'] + r['verify_after']):.0f}×"
            eb, same = f"{r['max_error_before']:.2e}", r["same_network"]
        else:
            tb = vb = sp = eb = same = "–"
        rows.append([r["n"], r["blocks"], tb, vb, f"{r['build_after']:.2f}", f"{r['verify_after']:.2f}", sp, eb,
                     f"{r['max_error_after']:.2e}", same, r["one_row_equal"], r["fallbacks"]])
    print()
    print("Machine:", machine())
    print()
    print(table(header, rows))
    RESULTS.write_text(json.dumps({"machine": machine(), "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
