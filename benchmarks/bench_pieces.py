"""Exact piece counting: time of ``memorize.count_pieces`` against a plain Fraction implementation.

    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_pieces.py

Baseline: the straightforward exact algorithm (tests/test_pieces.py::_reference_pieces), which
keeps one full Fraction state row per segment and multiplies it through every layer. The
library's engine uses integers over a common denominator and updates a segment's output only
in the units that crossed a kink. Both return identical pieces (tested); the baseline runs only
where it finishes in reasonable time.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

import memorize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_pieces import _reference_pieces, random_net  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"Python {sys.version.split()[0]}, numpy {np.__version__}\n")
    rows = []
    for n, ref in [(100, True), (1000, True), (10_000, False), (100_000, False)]:
        hd = memorize.hard_dataset(n)
        net = memorize.build("zhang2017", hd.X, hd.y)
        k, t = timed(lambda: hd.pieces(net))
        tr = None
        if ref:
            kr, tr = timed(lambda: len(_reference_pieces(net, hd.x0, hd.direction, *hd.t_range)))
            assert kr == k
        rows.append((f"zhang2017 on the witness, N = {n:,} (float64)", net.widths, k, t, tr))
    for n in (100, 400):
        hd = memorize.hard_dataset(n)
        net = memorize.build("zhang2017", hd.X, hd.y, exact=True)
        k, t = timed(lambda: hd.pieces(net))
        kr, tr = timed(lambda: len(_reference_pieces(net, hd.x0, hd.direction, *hd.t_range)))
        assert kr == k
        rows.append((f"zhang2017 on the witness, N = {n:,} (exact)", net.widths, k, t, tr))
    for widths, ref in [((20, 20), True), ((50, 50), True), ((200, 200), False), ((30, 30, 30), True),
                        ((8,) * 8, True)]:
        rng = np.random.default_rng(0)
        net = random_net(rng, 1, widths, memorize.relu)
        k, t = timed(lambda: memorize.count_pieces(net, [0.0], [1.0], (-3, 3)))
        tr = None
        if ref:
            kr, tr = timed(lambda: len(_reference_pieces(net, [0.0], [1.0], -3, 3)))
            assert kr == k
        rows.append((f"random ReLU net, widths {'-'.join(map(str, widths))}", widths, k, t, tr))
    print("| network | pieces | count_pieces (s) | plain Fraction baseline (s) | speed-up |")
    print("|---|---|---|---|---|")
    for name, _, k, t, tr in rows:
        base = "-" if tr is None else f"{tr:.3f}"
        ratio = "-" if tr is None else f"{tr / t:.0f}×"
        print(f"| {name} | {k:,} | {t:.3f} | {base} | {ratio} |")


if __name__ == "__main__":
    main()
