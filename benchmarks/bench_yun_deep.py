"""Benchmark of Proposition 3.4 (``yun2019_deep``, ``yun2019_deep_classifier``) with default widths.

Run from the repository root (under the shared lock for the timings)::

    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_yun_deep.py regression
    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_yun_deep.py classifier
    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_yun_deep.py pairs
    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_yun_deep.py dtype

Data: X ~ N(0, I₃₂), y ~ U[−1, 1] (regression) or uniform classes, seed 0. ``regression`` builds
the default network for N = 10²…10⁵ and verifies it on every point in float64; ``classifier``
counts exactly one-hot rows of the default classifier; ``pairs`` builds N = 10⁵ with fewer,
larger pairs (explicit widths) to show how the float64 error grows with the points per pair;
``dtype`` tries the certificate in float32. Every part prints Markdown tables naming the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import memorize
from memorize.constructions.yun2019 import _core
from memorize.errors import ConstructionError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _common
from _common import machine, table  # noqa: E402


def _regression_data(n, d=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.uniform(-1, 1, n)


def _widths(ws) -> str:
    lo, hi = min(ws), max(ws)
    return f"{lo}…{hi} ×{len(ws)}" if lo != hi else f"{lo} ×{len(ws)}"


def regression(sizes):
    rows = []
    for n in sizes:
        X, y = _regression_data(n)
        t0 = time.perf_counter()
        net = memorize.build("yun2019_deep", X, y)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        rep = memorize.verify(net, X, y)
        ver = time.perf_counter() - t0
        rows.append((n, net.depth, _widths(net.widths), f"{net.num_params:,}", len(net.meta["pairs"]),
                     max(net.meta["chunks"]), f"{build:.1f}", f"{ver:.1f}", f"{rep.max_error:.2e}",
                     f"{net.meta['predicted_error']:.2e}", rep.ok))
    print(table(["N", "depth", "ReLU widths", "params", "pairs", "points/pair", "build s", "verify s",
                 "float64 max error", "predicted", "verify ok"], rows))


def classifier(sizes, classes):
    rows = []
    for n in sizes:
        for C in classes:
            rng = np.random.default_rng(0)
            X, y = rng.standard_normal((n, 32)), rng.integers(0, C, n)
            t0 = time.perf_counter()
            net = memorize.build("yun2019_deep_classifier", X, y)
            build = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = net(X)
            exact_rows = int(np.count_nonzero(np.all(out == np.eye(C)[y], axis=1)))
            fwd = time.perf_counter() - t0
            rep = memorize.verify(net, X, y)
            rows.append((n, C, net.depth, _widths(net.widths[:-1]) + f", {net.widths[-1]}", f"{net.num_params:,}",
                         f"{build:.1f}", f"{fwd:.1f}", f"{exact_rows} / {n} ({100 * exact_rows / n:.4f} %)",
                         f"{rep.max_error:g}", f"{net.meta['predicted_error']:.1e}", f"{net.meta['code_error_bound']:.2e}"))
    print(table(["N", "classes", "depth", "ReLU widths (pairs, decoder)", "params", "build s", "forward s",
                 "exactly one-hot rows", "verify max_error", "predicted code error", "decoder tolerance"], rows))


def pairs(n, counts):
    """N points in m pairs of equal ReLU widths given explicitly (the widths a user might pick)."""
    X, y = _regression_data(n)
    rows = []
    for m in counts:
        a, b = _core.smallest_pair(-(-n // m), 2, 2)
        widths = []
        for j in range(1, m + 1):
            r = (j > 1) + (j < m)
            widths += [2 * (2 * a + r), 2 * (2 * b + r)]
        t0 = time.perf_counter()
        try:
            net = memorize.build("yun2019_deep", X, y, widths=widths)
            err, outcome = memorize.verify(net, X, y).max_error, "ok"
            pred = net.meta["predicted_error"]
        except ConstructionError as exc:
            msg = str(exc)
            err = float(msg.split("by up to ")[1].split(" ")[0])
            pred = float(msg.split("predicted error ")[1].split(")")[0])
            outcome = "refused: " + msg.split("misses points ")[1].split("]")[0].split("(")[-1].rstrip(" in all)") + " points over 1e-6"
        rows.append((n, m, -(-n // m), _widths(widths), f"{time.perf_counter() - t0:.1f}", f"{err:.2e}", f"{pred:.2e}", outcome))
    print(table(["N", "pairs", "points/pair", "ReLU widths", "build s", "float64 max error", "predicted", "outcome"], rows))


def dtype(sizes):
    rows = []
    for n in sizes:
        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((n, 32)), rng.integers(0, 10, n)
        for act in ("hardtanh", "relu"):
            net = memorize.build("yun2019_deep_classifier", X, y, activation=act)
            measured = memorize.verify(net, X, y, dtype="float32")
            cert = memorize.certify(net, X, y, dtype="float32")
            rows.append((n, act, f"{measured.accuracy:.4f}", f"{cert.n_certified} / {n}"))
    print(table(["N", "activation", "float32 accuracy (measured)", "float32 certified points"], rows))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("part", choices=["regression", "classifier", "pairs", "dtype"])
    a = p.parse_args()
    print(f"machine: {machine()}\n")
    if a.part == "regression":
        regression([100, 1000, 10_000, 100_000])
    elif a.part == "classifier":
        classifier([10_000, 100_000], [10, 100])
    elif a.part == "pairs":
        pairs(100_000, [3, 5, 10, 20])
    else:
        dtype([100, 1000, 10_000])


if __name__ == "__main__":
    main()
