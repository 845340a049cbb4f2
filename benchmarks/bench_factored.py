"""Factored (rank-one) first layers: forward, build and memory against their dense form.

Run under the shared lock, from the repository root::

    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_factored.py \\
        [--before-src DIR] [--zhang-n 10000 100000] [--out docs/benchmarks/factored.md]

(a) CIFAR-shaped synthetic data (N = 50 000 points of 3 072 uint8 pixels, seeded, 10 classes),
``yun2019_classifier``: build time against the baseline "projection + argsort" of the same data,
forward time over all points against the projection X·u alone, and the same network with its
first layer densified (the layer as the builder stored it before), all in one run. With
``--before-src DIR`` (a checkout of ``src`` before factored layers) the dense build of that
release is timed too, in a subprocess on the same data.

(b) ``zhang2017`` at d = 3 072: the numbers the network stores (``num_stored_params``), its file
size, and the theorem's dense count (``num_params``: what a dense N×d first layer stores).

Targets (``docs/benchmarks/factored.md``): forward ≤ 2× projection, build ≤ 20× (projection +
argsort), stored memory O(N + d).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _common
from _common import best_of, machine, table  # noqa: E402

import memorize  # noqa: E402

N_CIFAR, D_CIFAR, C_CIFAR = 50_000, 3072, 10


def cifar_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (N_CIFAR, D_CIFAR), dtype=np.uint8)
    y = rng.integers(0, C_CIFAR, N_CIFAR)
    return X, y


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def part_cifar(before_src: str | None) -> tuple[str, dict]:
    X8, y = cifar_data()
    X = X8.astype(np.float64)  # the builder and the forward pass work in float64
    t_build, net = _time(lambda: memorize.build("yun2019_classifier", X, y))
    u = np.asarray(net.meta["direction"], dtype=np.float64)
    t_proj = best_of(lambda: X @ u)
    t_proj_sort = best_of(lambda: np.argsort(X @ u, kind="stable"))
    t_fwd, out = _time(lambda: net(X))
    t_fwd = min(t_fwd, best_of(lambda: net(X), 2))
    layer_s, h = [], X  # unchunked, layer by layer (median of 3): where the forward time goes
    for layer in net.layers:
        layer_s.append(best_of(lambda layer=layer, h=h: layer.forward(h)))
        h = layer.forward(h)
    del h
    t_densify, dense = _time(net.densified)
    t_fwd_dense, out_dense = _time(lambda: dense(X))
    t_fwd_dense = min(t_fwd_dense, best_of(lambda: dense(X), 1))
    res = {
        "build_s": t_build, "proj_s": t_proj, "proj_argsort_s": t_proj_sort, "forward_s": t_fwd,
        "densify_s": t_densify, "forward_dense_s": t_fwd_dense,
        "correct": int(np.sum(np.argmax(out, axis=1) == y)), "correct_dense": int(np.sum(np.argmax(out_dense, axis=1) == y)),
        "max_diff": float(np.max(np.abs(out - out_dense))),
        "layer_s": layer_s, "widths": net.widths, "num_params": net.num_params, "num_stored_params": net.num_stored_params,
    }
    before = run_before(before_src, "cifar") if before_src else None
    rows = [
        ["build (factored)", f"{t_build:.2f}", f"{t_build / t_proj_sort:.1f}× projection + argsort"],
        ["projection + argsort", f"{t_proj_sort:.3f}", ""],
        ["forward, all points (factored)", f"{t_fwd:.3f}", f"{t_fwd / t_proj:.2f}× projection"],
        ["projection X·u", f"{t_proj:.3f}", ""],
        *[[f"  layer {i + 1} alone ({type(layer).__name__}, {layer.out_dim} × {layer.in_dim}, all points)", f"{dt:.3f}",
           f"{dt / t_proj:.1f}× projection"] for i, (layer, dt) in enumerate(zip(net.layers, layer_s))],
        ["densify the first layer (A·B)", f"{t_densify:.3f}", ""],
        ["forward, all points (dense first layer)", f"{t_fwd_dense:.3f}", f"{t_fwd_dense / t_proj:.1f}× projection"],
    ]
    if before:
        res["before"] = before
        rows.insert(1, ["build (previous release, dense first layer)", f"{before['build_s']:.2f}",
                        f"{before['build_s'] / t_proj_sort:.1f}× projection + argsort"])
        rows.append(["forward, all points (previous release)", f"{before['forward_s']:.3f}",
                     f"{before['forward_s'] / t_proj:.1f}× projection"])
    text = (
        f"N = {N_CIFAR}, d = {D_CIFAR} (uint8 pixels, uniform, seed 0, as float64), {C_CIFAR} classes; "
        f"ReLU widths {net.widths}; num_params {net.num_params} (theorem), num_stored_params "
        f"{net.num_stored_params}.\n\n"
        + table(["step", "seconds", "ratio"], rows)
        + f"\n\nCorrect argmax on all points: factored {res['correct']}/{N_CIFAR}, dense {res['correct_dense']}/{N_CIFAR}; "
        f"max |factored − dense| over all outputs {res['max_diff']:.2e}.\n"
    )
    return text, res


def zhang_memory(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, D_CIFAR), dtype=np.uint8).astype(np.float64)
    y = rng.uniform(-1, 1, n)
    t_build, net = _time(lambda: memorize.build("zhang2017", X, y))
    del X
    stored_bytes = sum(a.nbytes for layer in net.layers for a in layer.arrays().values())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.npz")
        net.save(path)
        file_bytes = os.path.getsize(path)
    return {"n": n, "build_s": t_build, "num_params": net.num_params, "num_stored_params": net.num_stored_params,
            "stored_bytes": stored_bytes, "file_bytes": file_bytes, "dense_bytes": 8 * net.num_params,
            "widths": net.widths}


def part_zhang(ns) -> tuple[str, list]:
    res = [zhang_memory(n) for n in ns]
    rows = [[f"{r['n']:.0e}", f"{r['build_s']:.1f}", r["num_stored_params"], f"{r['stored_bytes'] / 2**20:.1f}",
             f"{r['file_bytes'] / 2**20:.1f}", r["num_params"], f"{r['dense_bytes'] / 2**30:.2f}",
             f"{r['num_stored_params'] / (3 * r['n'] + D_CIFAR + 1):.3f}"] for r in res]
    text = (
        f"d = {D_CIFAR} (uint8 pixels, uniform, seed 0, as float64), real labels in [−1, 1]. Dense first layer "
        "(previous release): N·d float64 numbers.\n\n"
        + table(["N", "build s", "num_stored_params", "stored MiB", "file MiB (v3, deflated)",
                 "num_params (theorem, dense)", "dense GiB", "stored / (3N + d + 1)"], rows)
        + "\n"
    )
    return text, res


_BEFORE = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {bench!r})
from bench_factored import cifar_data
import memorize
X8, y = cifar_data()
X = X8.astype(np.float64)
t0 = time.perf_counter(); net = memorize.build("yun2019_classifier", X, y); t_build = time.perf_counter() - t0
t0 = time.perf_counter(); out = net(X); t_fwd = time.perf_counter() - t0
t0 = time.perf_counter(); net(X); t_fwd = min(t_fwd, time.perf_counter() - t0)
print(json.dumps({{"build_s": t_build, "forward_s": t_fwd, "correct": int(np.sum(np.argmax(out, axis=1) == y)),
                  "num_params": net.num_params, "first_layer": type(net.layers[0]).__name__}}))
"""


def run_before(src: str, what: str) -> dict:
    """The previous release (``src``: its source tree) on the same data, in a subprocess."""
    code = _BEFORE.format(bench=os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=src, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before-src", help="source tree (its src/) of the release before factored layers")
    ap.add_argument("--zhang-n", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--skip-cifar", action="store_true")
    ap.add_argument("--out", help="write the Markdown tables here as well")
    ap.add_argument("--json", help="write the raw numbers here")
    args = ap.parse_args(argv)
    parts, raw = [f"Machine: {machine()}\n"], {}
    if not args.skip_cifar:
        text, raw["cifar"] = part_cifar(args.before_src)
        parts.append("### yun2019_classifier on CIFAR-shaped data\n\n" + text)
    if args.zhang_n:
        text, raw["zhang"] = part_zhang(args.zhang_n)
        parts.append("### zhang2017 at d = 3 072: memory of the network\n\n" + text)
    report = "\n".join(parts)
    print(report)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(report)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(raw, fh, indent=1, default=list)


if __name__ == "__main__":
    main()
