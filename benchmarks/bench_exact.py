"""Benchmark of the python-flint exact backend against the pure-Python exact path.

1. Exact verification (``memorize.verify`` of an exact network on all its points): the N = 10⁴
   bit-extraction network (``yang2026``, uniform data in the 4-ball, 10 classes, default
   options) and an exact ``zhang2017`` network with N = 2 000 (Gaussian data, d = 16, labels in
   [−1, 1]). Goal: FLINT ≥ 50× faster than the pure path.
2. Exact builds of the slab builders (``baum1988``, ``bubeck2020``, ``yun2019_one_hidden``) at
   N = 2 000, d = 16 (Gaussian data; binary, real and 10-class labels). Goal: ≤ 60 s with FLINT.

All paths run in the same process: *today* is the pure-Python path as it was before the FLINT
backend (``memorize._flint.backend("python")`` and ``memorize._exact.SHARED_PROJECTION = False``),
*pure now* the pure path with the shared-projection kernel (what runs without python-flint),
*python-flint* the default with python-flint installed. Every set of results is checked to be
the same exact numbers (outputs, errors, and the built networks' fingerprints). Wall and CPU seconds are
reported: on a shared machine the CPU seconds are the steadier figure.

Run (timings: hold the shared lock)::

    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_exact.py [--quick] [--no-pure-builds]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import memorize
from memorize import _exact, _flint

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _common and bench_bits
from _common import machine, table  # noqa: E402
from bench_bits import ball_points  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from _fingerprint import fingerprint  # noqa: E402


def timed(fn):
    """(result, wall seconds, CPU seconds) of one call."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


# "today": the pure path as it was before the FLINT backend and the shared-projection kernel;
# "pure": the pure path now (the kernel, no FLINT); "flint": python-flint and the kernel.
MODES = {"today": ("python", False), "pure": ("python", True), "flint": ("flint", True)}


def both(fn, modes=("flint", "today")):
    """Run ``fn`` in each mode: {mode: (result, wall, cpu)}."""
    out = {}
    for mode in modes:
        backend, kernel = MODES[mode]
        _exact.SHARED_PROJECTION = kernel
        try:
            with _flint.backend(backend):
                out[mode] = timed(fn)
        finally:
            _exact.SHARED_PROJECTION = True
        print(f"    {mode:6s} wall {out[mode][1]:8.2f} s  cpu {out[mode][2]:8.2f} s", file=sys.stderr, flush=True)
    return out


def secs(r) -> str:
    return f"{r[1]:.2f} ({r[2]:.2f})"


def verification_rows(quick: bool):
    cases = []
    n_bits = 2_000 if quick else 10_000
    Xb = ball_points(n_bits, seed=n_bits)
    yb = np.random.default_rng(n_bits + 1).integers(0, 10, n_bits)
    cases.append((f"yang2026, N = {n_bits}, d = 4, 10 classes", memorize.build("yang2026", Xb, yb), Xb, yb))
    n_z = 500 if quick else 2_000
    rng = np.random.default_rng(0)
    Xz, yz = rng.standard_normal((n_z, 16)), rng.uniform(-1, 1, n_z)
    with _flint.backend("flint"):
        cases.append((f"zhang2017 exact, N = {n_z}, d = 16", memorize.build("zhang2017", Xz, yz, exact=True), Xz, yz))
    rows = []
    for label, net, X, y in cases:
        print(f"  verify {label} (max weight bits {net.max_weight_bits})", file=sys.stderr, flush=True)
        res = both(lambda: memorize.verify(net, X, y), ("flint", "pure", "today"))
        assert all(r[0].max_error == 0 and r[0].n_failed == 0 for r in res.values())
        outs = both(lambda: net(X[:300]), ("flint", "pure", "today"))
        ref = outs["today"][0]
        assert all(all(a == b for a, b in zip(o[0].flat, ref.flat)) for o in outs.values())
        t, f = res["today"], res["flint"]
        rows.append([label, secs(t), secs(res["pure"]), secs(f), f"{t[1] / f[1]:.1f}× ({t[2] / f[2]:.1f}×)", "yes"])
    return rows


def build_rows(quick: bool, pure: bool):
    n, d = (400, 16) if quick else (2_000, 16)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    labels = {"baum1988": rng.choice([-1.0, 1.0], n), "bubeck2020": rng.uniform(-1, 1, n),
              "yun2019_one_hidden": rng.integers(0, 10, n)}
    rows = []
    for method, y in labels.items():
        print(f"  build {method}, N = {n}, d = {d}", file=sys.stderr, flush=True)
        res = both(lambda: memorize.build(method, X, y, exact=True, rng=0), ("flint", "today") if pure else ("flint",))
        net = res["flint"][0]
        same = "—"
        if pure:
            same = "yes" if fingerprint(net) == fingerprint(res["today"][0]) else "NO"
        p = res.get("today")
        rows.append([f"{method}, N = {n}, d = {d}", f"{p[1]:.1f} ({p[2]:.1f})" if p else "not run",
                     f"{res['flint'][1]:.1f} ({res['flint'][2]:.1f})",
                     f"{p[1] / res['flint'][1]:.1f}×" if p else "—", same, net.max_weight_bits])
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--no-pure-builds", action="store_true", help="skip the pure-Python builds (the slow baseline)")
    ap.add_argument("--only", choices=["verify", "build"], help="run one of the two parts")
    args = ap.parse_args()
    if not _flint.available():
        sys.exit("bench_exact: python-flint is not installed (pip install 'memorize[exact]')")
    import flint

    print(f"Machine: {machine()}; python-flint {flint.__version__}\n")
    if args.only != "build":
        print("### Exact verification of every point (seconds: wall (CPU))\n")
        print(table(["network", "today (pure, layer by layer)", "pure now (no flint)", "python-flint", "speed-up vs today",
                     "same values"], verification_rows(args.quick)))
    if args.only != "verify":
        print("\n### Exact builds (seconds: wall (CPU))\n")
        print(table(["builder", "today (pure)", "python-flint", "speed-up", "same network", "max weight bits"],
                    build_rows(args.quick, not args.no_pure_builds)))


if __name__ == "__main__":
    main()
