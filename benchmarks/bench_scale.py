"""Benchmark: data larger than memory (memmaps on disk) and the dask path.

Usage::

    python benchmarks/bench_scale.py imagenet [--rows N] [--dask] [--cluster]
    python benchmarks/bench_scale.py zhang [--rows N] [--dask]

* ``imagenet``: ImageNet-64-shaped data, N × 12 288 uint8 (N = 1 281 167 by default: 15.7 GB),
  1000 classes, ``yun2019_classifier``; build and verify every point from a memmap.
* ``zhang``: N × 3072 uint8 (N = 10⁶ by default), real labels, ``zhang2017``.

The data are generated deterministically (seeded, chunk by chunk) into a temporary folder under
/tmp, deleted afterwards even on failure. Every stage runs in its own process, so its peak
resident memory (``ru_maxrss``) is its own: one streaming pass ``X·u`` over the same file (the
baseline, run before and after), the build, the verification and, with ``--dask``, the same
build and verification with ``X`` a dask array of the memmap (threads; ``--cluster``: a
``dask.distributed`` LocalCluster of 2 worker threads). Results are printed as JSON lines and a
Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import machine, table  # noqa: E402

SHAPES = {"imagenet": (1_281_167, 12_288, 1000, "yun2019_classifier"), "zhang": (1_000_000, 3072, 0, "zhang2017")}
SEED = 20261205
GEN_ROWS = 8192


def generate(folder: str, n: int, d: int, classes: int) -> tuple[str, str]:
    """X.npy (uint8 pixels, chunk k drawn from the generator seeded (SEED, k)) and y.npy."""
    xp, yp = os.path.join(folder, "X.npy"), os.path.join(folder, "y.npy")
    with open(xp, "wb") as f:
        np.lib.format.write_array_header_2_0(f, {"descr": "|u1", "fortran_order": False, "shape": (n, d)})
        for k, a in enumerate(range(0, n, GEN_ROWS)):
            rng = np.random.default_rng([SEED, k])
            f.write(rng.integers(0, 256, (min(GEN_ROWS, n - a), d), dtype=np.uint8).tobytes())
    rng = np.random.default_rng(SEED)
    y = rng.integers(0, classes, n) if classes else rng.uniform(-1, 1, n)
    np.save(yp, y)
    return xp, yp


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage(name: str, folder: str, method: str, extra: str) -> dict:
    """One measured stage, in this (fresh) process."""
    sys.path.insert(0, os.path.join(HERE, "..", "src"))
    import memorize
    from memorize import rows

    X = np.load(os.path.join(folder, "X.npy"), mmap_mode="r")
    y = np.load(os.path.join(folder, "y.npy"))
    out = {"stage": name, "n": int(X.shape[0]), "d": int(X.shape[1])}
    source = X
    client = None
    if name.startswith("dask"):
        import dask.array as da

        source = da.from_array(X, chunks=(rows.chunk_rows(X.shape[1]), X.shape[1]))
        if extra == "cluster":  # noqa: SIM102
            from distributed import Client, LocalCluster

            client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None))
    net_path = os.path.join(folder, f"net-{name.split('_')[0]}.npz")
    passes: list = []  # [stage, seconds from the start to its first chunk, to its last chunk]

    def seen(stage_name, done, total):
        now = time.perf_counter() - t0
        if not passes or passes[-1][0] != stage_name or passes[-1][3]:
            passes.append([stage_name, now, now, False])
        passes[-1][2], passes[-1][3] = now, done >= total

    hook = rows.progress_hook(seen)
    hook.__enter__()
    t0 = time.perf_counter()
    if name == "pass":
        u = np.random.default_rng(1).standard_normal(X.shape[1])
        z = rows.Rows(X) @ u
        out["checksum"] = float(np.sum(z[:10]))
    elif name.endswith("build"):
        net = memorize.build(method, source, y)
        out["build_s"] = time.perf_counter() - t0
        net.save(net_path)
        out["widths"] = list(net.widths)
        out["params"] = int(net.num_params)
        out["stored_params"] = int(net.num_stored_params)
        out["save_bytes"] = os.path.getsize(net_path)
        for key in ("directions_tried", "predicted_error", "float64_exact_guaranteed", "min_gap", "error_estimate"):
            if key in net.meta:
                out[key] = net.meta[key]
    elif name.endswith("verify"):
        net = memorize.load(os.path.join(folder, "net-build.npz"))
        if extra.startswith("rows="):  # a dense N-wide first layer: verify the first rows only
            k = int(extra[5:])
            source, y = source[:k], y[:k]
            out["verified_rows"] = k
        rep = memorize.verify(net, source, y)
        out.update(ok=rep.ok, n_failed=int(rep.n_failed), max_error=float(rep.max_error), accuracy=rep.accuracy)
    out["seconds"] = time.perf_counter() - t0
    hook.__exit__(None, None, None)
    out["passes"] = [(p[0], round(p[1], 1), round(p[2], 1)) for p in passes]
    out["peak_rss_mb"] = _peak_mb()
    if client is not None:
        client.close()
    return out


def run_stage(name, folder, method, extra="", timeout=6 * 3600) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "_stage", name, folder, method, extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        return {"stage": name, "error": (r.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "_stage":
        print(json.dumps(stage(*argv[1:5])))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", choices=sorted(SHAPES))
    p.add_argument("--rows", type=int, default=None, help="N (default: the full size)")
    p.add_argument("--dask", action="store_true", help="also build and verify with X a dask array")
    p.add_argument("--cluster", action="store_true", help="the dask stages on a LocalCluster (2 workers)")
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--verify-rows", type=int, default=None,
                   help="verify only the first rows (zhang2017's dense first layer is N × d: a forward pass is N²·d)")
    args = p.parse_args(argv)
    n_full, d, classes, method = SHAPES[args.case]
    n = args.rows or n_full
    print(f"# {args.case}: N = {n:,}, d = {d:,}, {method}; {machine()}", flush=True)
    folder = tempfile.mkdtemp(prefix="memorize-scale-", dir="/tmp")
    results = []
    try:
        t0 = time.perf_counter()
        generate(folder, n, d, classes)
        print(json.dumps({"stage": "generate", "seconds": time.perf_counter() - t0,
                          "bytes": os.path.getsize(os.path.join(folder, "X.npy"))}), flush=True)
        stages = ["pass", "build"] + ([] if args.no_verify else ["verify"])
        if args.dask:
            stages += ["dask_build"] + ([] if args.no_verify else ["dask_verify"])
        stages += ["pass"]
        for name in stages:
            extra = "cluster" if args.cluster and name.startswith("dask") else ""
            if name.endswith("verify") and args.verify_rows:
                extra = f"rows={args.verify_rows}"
            res = run_stage(name, folder, method, extra)
            print(json.dumps(res), flush=True)
            results.append(res)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    passes = [r["seconds"] for r in results if r.get("stage") == "pass" and "seconds" in r]
    base = min(passes) if passes else float("nan")
    rows_ = [(r["stage"], f"{r.get('seconds', float('nan')):.1f}", f"{r.get('seconds', float('nan')) / base:.2f}",
              f"{r.get('peak_rss_mb', float('nan')):.0f}", r.get("error", "") or
              ", ".join(f"{k}={r[k]}" for k in ("ok", "n_failed", "accuracy", "widths") if k in r))
             for r in results]
    print(table(("stage", "seconds", "× pass", "peak RSS MB", "notes"), rows_))
    return 0


if __name__ == "__main__":
    sys.exit(main())
