"""Benchmarks for the Yun, Sra, Jadbabaie 2019 builders.

Run under the shared lock, from the repository root::

    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_yun.py scaling      # (a) Thm 3.1
    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_yun.py imagenet     # (b) Prop 3.2
    PYTHONPATH=src python benchmarks/bench_yun.py curve [--png docs/figures/yun_error_curve.png]
    PYTHONPATH=src python benchmarks/bench_yun.py figure --png docs/figures/yun_zigzag.png

Every part prints Markdown tables and names the machine. (a) times the Theorem 3.1 build next to
the baseline "projection + argsort" of the same data in the same run; (b) builds the ImageNet-sized
classifier (N = 10⁶ points in R⁶⁴, 1000 classes, ReLU widths 2000-2000-4000), runs a plain float64
chunked forward pass over all points, counts exactly one-hot outputs and compares the forward
pass's GFLOP/s with the machine's matmul GFLOP/s measured in the same run.
"""

from __future__ import annotations

import os
import argparse
import sys
import time

import numpy as np

import memorize
from memorize.constructions.yun2019 import fnn
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _common
from _common import machine  # noqa: E402


def _table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print()


def _baseline(X, rng, reps=3):
    """Projection on a random direction plus argsort: the floor of any projection-based build."""
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        u = rng.standard_normal(X.shape[1])
        u /= np.linalg.norm(u)
        t = X @ u
        np.argsort(t, kind="stable")
        best = min(best, time.perf_counter() - t0)
    return best


def _max_error(net, X, y, limit=None, rng=None):
    """max |f(x) − y| over all points, or over a random subset of ``limit`` points."""
    if limit is not None and len(X) > limit:
        idx = np.sort(rng.choice(len(X), limit, replace=False))
        X, y = X[idx], y[idx]
    return memorize.verify(net, X, y).max_error, len(X)


def scaling(ns, d=10, seed=0, check_limit=200_000):
    print("### (a) Theorem 3.1: build time vs projection + argsort, and float64 error\n")
    print(f"machine: {machine()}\n")
    print(f"data: X ~ N(0, I_{d}), y ~ U[−1, 1], d_y = 1, default (smallest) widths, seed {seed}\n")
    rows = []
    for n in ns:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, d))
        y = rng.uniform(-1, 1, n)
        base = _baseline(X, np.random.default_rng(1))
        configs = [("relu", "default", {}), ("hardtanh", "default", {}),
                   ("relu", "fast", dict(n_directions=1, strategy="balance", refit=False))]
        for act, label, opts in configs:
            t0 = time.perf_counter()
            net = fnn.yun2019_two_hidden(X, y, activation=act, rng=seed, **opts)
            tb = time.perf_counter() - t0
            t0 = time.perf_counter()
            err, checked = _max_error(net, X, y, check_limit, np.random.default_rng(2))
            tv = time.perf_counter() - t0
            m = net.meta
            rows.append((
                n, f"{act} ({label})", "-".join(map(str, net.widths)), f"{err:.2e}", checked, m["strategy"],
                f"{m['max_level']:.2e}", m["virtual_points"], m["window_score"] and f"{m['window_score']:.2e}",
                f"{tb:.2f}", f"{base:.3f}", f"{tb / base:.1f}×", f"{tv:.1f}",
            ))
            print(f"  done N={n} {act}", file=sys.stderr, flush=True)
    print("default: 16 directions × 6 ownership rules, layer 2 refitted to the float64 layer 1; fast: one\n"
          "direction, the balance rule, no refit\n")
    _table(
        ["N", "activation (options)", "widths", "max error", "points checked", "ownership", "max level", "virtual pts",
         "max span/gap", "build s", "proj+argsort s", "build / baseline", "verify s"],
        rows,
    )


def curve(ns, png=None, d=10, seed=0):
    print("### Error vs N (Theorem 3.1, float64)\n")
    print(f"machine: {machine()}\n")
    res = {"relu": [], "hardtanh": []}
    rows = []
    for n in ns:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, d))
        y = rng.uniform(-1, 1, n)
        row = [n]
        for act in ("relu", "hardtanh"):
            net = fnn.yun2019_two_hidden(X, y, activation=act, rng=seed)
            e = memorize.verify(net, X, y).max_error
            res[act].append(e)
            row += [f"{e:.2e}", net.meta["strategy"], f"{net.meta['max_level']:.2e}"]
        rows.append(row)
        print(f"  done N={n}", file=sys.stderr, flush=True)
    _table(["N", "ReLU error", "ReLU ownership", "ReLU max level", "hard-tanh error", "ht ownership", "ht max level"], rows)
    if png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        ax.loglog(ns, res["relu"], "o-", label="ReLU (default widths)")
        ax.loglog(ns, res["hardtanh"], "s-", label="hard-tanh (default widths)")
        ax.axhline(1e-6, color="gray", ls=":", label="verify tolerance 1e-6")
        ax.set_xlabel("N")
        ax.set_ylabel("max |f(x_i) − y_i| (float64)")
        ax.set_title("yun2019_two_hidden: float64 error vs N")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(png, dpi=120)
        print(f"figure written to {png}\n")


def imagenet(n=1_000_000, d=64, C=1000, seed=0):
    print("### (b) ImageNet scale: Proposition 3.2, N = 10⁶ points in R⁶⁴, 1000 classes\n")
    print(f"machine: {machine()}\n")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, C, n)
    t0 = time.perf_counter()
    net = fnn.yun2019_classifier(X, y, rng=seed)
    tb = time.perf_counter() - t0
    print(f"built {net!r} in {tb:.1f} s", file=sys.stderr, flush=True)
    dims = [net.input_dim, *net.widths, net.output_dim]
    flops_per_point = sum(2 * dims[i] * dims[i + 1] for i in range(len(dims) - 1))
    rows_per_chunk = net.chunk_rows()
    # the machine's dgemm speed on the forward pass's largest product, same run
    A = np.random.default_rng(1).standard_normal((rows_per_chunk, dims[2]))
    Bm = np.random.default_rng(2).standard_normal((dims[2], dims[3]))
    A @ Bm
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 10 or reps < 3:
        A @ Bm
        reps += 1
    mm = 2.0 * A.shape[0] * A.shape[1] * Bm.shape[1] * reps / (time.perf_counter() - t0) / 1e9
    # plain float64 chunked forward over every point: exact one-hot?
    classes = np.asarray(net.meta["classes"])
    t0 = time.perf_counter()
    exact_rows = 0
    correct = 0
    max_err = 0.0
    max_code_err = 0.0
    L = net.layers
    M = net.meta["decoder_gain"]
    beta = M * net.meta["code_spacing"] / 2
    rho = np.asarray(net.meta["class_codes"])
    for sl, out in net.forward_chunks(X):
        lab = np.searchsorted(classes, y[sl])
        target = np.zeros_like(out)
        target[np.arange(out.shape[0]), lab] = 1.0
        exact_rows += int(np.sum(np.all(out == target, axis=1)))
        correct += int(np.sum(np.argmax(out, axis=1) == lab))
        max_err = max(max_err, float(np.max(np.abs(out - target))))
    tf = time.perf_counter() - t0
    gflops = flops_per_point * n / tf / 1e9
    # the inner scalar code r on a subset (layers 1-2 + first decoder row), for the margin
    idx = np.sort(np.random.default_rng(3).choice(n, 100_000, replace=False))
    h = L[1].forward(L[0].forward(X[idx]))
    r = (h @ L[2].weight[0] + L[2].bias[0] - beta - 1) / M + rho[0]
    max_code_err = float(np.max(np.abs(r - rho[np.searchsorted(classes, y[idx])])))
    m = net.meta
    _table(
        ["N", "d", "classes", "ReLU widths", "params", "build s", "ownership", "max level", "exactly one-hot rows",
         "argmax accuracy", "max |f − onehot|", "forward + check s", "forward GFLOP/s", "matmul GFLOP/s",
         "forward / matmul", "inner code error (10⁵ pts)", "decoder tolerance"],
        [(n, d, C, "-".join(map(str, net.widths)), net.num_params, f"{tb:.1f}", m["strategy"],
          f"{m['max_level']:.2e}", f"{exact_rows} / {n} ({100 * exact_rows / n:.4f} %)", f"{correct / n:.6f}",
          f"{max_err:.2e}", f"{tf:.0f}", f"{gflops:.1f}", f"{mm:.1f}", f"{100 * gflops / mm:.0f} %",
          f"{max_code_err:.2e}", f"{m['code_error_bound']:.2e}")],
    )


def ownership(ns=(10_000, 100_000), seeds=(0, 1, 2)):
    """Zig-zag levels under each ownership rule, on the construction's own positions (no network)."""
    from memorize._arith import FLOAT64
    from memorize.constructions.yun2019 import _core

    print("### Ownership rules: distribution of the zig-zag levels |G|\n")
    print("data: t ~ N(0, 1) sorted, y ~ U[−1, 1], K = 2⌊√N/2⌋·… as the default ReLU widths give\n")
    rows = []
    for n in ns:
        K = fnn.two_hidden_architecture(n, 1, 1).widths[1] // 2
        K -= K % 2
        for seed in seeds:
            rng = np.random.default_rng(seed)
            t = np.sort(rng.standard_normal(n))
            nw = -(-n // K)
            win = _core.make_windows(FLOAT64, t, nw, K, 0.9)
            S = (win.T - win.L[:, None]) / (win.R - win.L)[:, None]
            Y = np.zeros((nw, K))
            Y[win.real] = rng.uniform(-1, 1, n)[win.src[win.real]]
            for st in ("fixed-free", "balance", "match", "greedy", "balance-nc", "match-nc", "greedy-nc"):
                if st == "fixed-free":
                    B = _core._requirements(FLOAT64, S, Y / 2 * np.where(np.arange(K) % 2 == 0, 1, -1), 0.25)
                    rows.append((n, K, seed, "max requirement B (lower bound)", "", "", "", f"{np.max(B):.2e}", ""))
                    continue
                zz = _core.fit_zigzag(FLOAT64, S, Y, 2.0, 0.25, st, relu_proxy=True)
                a = np.abs(zz.G)
                p = np.percentile(a, [50, 90, 99, 100])
                rows.append((n, K, seed, st, *(f"{v:.2e}" for v in p), f"{zz.mass * 2.0**-52:.1e}"))
    _table(["N", "K", "seed", "rule", "median", "90 %", "99 %", "max", "predicted ReLU error"], rows)


def figure(png):
    """Layer-1 windows and layer-2 zig-zags of a small 1-D example (hard-tanh core)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(4)
    n = 24
    x = np.sort(rng.uniform(0, 10, n))
    y = rng.uniform(-1, 1, n)
    net = fnn.yun2019_two_hidden(x, y, activation="hardtanh", widths=(6, 8), n_directions=1, rng=0)
    L1, L2, L3 = net.layers
    u = np.sign(net.meta["direction"][0])
    grid = np.linspace(x.min() - 1.5, x.max() + 1.5, 6000)
    h1 = L1.forward(grid[:, None])
    z2 = h1 @ L2.weight.T + L2.bias
    out = net(grid[:, None])[:, 0]
    fig, axes = plt.subplots(3, 1, figsize=(7.5, 7.5), sharex=True)
    nw = net.meta["windows"]
    for j in range(nw):
        axes[0].plot(grid, h1[:, j], lw=1.2, label=f"window {j}")
    axes[0].plot(x, np.zeros_like(x), "k|", ms=10)
    axes[0].set_ylabel("layer 1: σ_H ramps")
    axes[0].set_title(f"N = {n} points on a line; hard-tanh widths 6-8: {net.meta['windows']} windows of K = 8 positions", fontsize=9)
    axes[0].legend(fontsize=7, loc="upper left")
    K = net.meta["positions_per_window"]
    for k in range(K):
        axes[1].plot(grid, z2[:, k], lw=0.5, color="0.7")
    for k in (0, K // 2):
        axes[1].plot(grid, z2[:, k], lw=1.5, label=f"node {k} (team {'A' if k < K // 2 else 'B'})")
    for ax in axes[1:]:
        for xv in x:
            ax.axvline(xv, color="0.85", lw=0.5, zorder=0)
    axes[1].axhspan(-1, 1, color="0.9")
    axes[1].set_ylim(-30, 30)
    axes[1].set_ylabel("layer 2 pre-activation (zig-zags)")
    axes[1].set_title("every node crosses the band [−1, 1] once per window, at the point it owns", fontsize=9)
    axes[1].legend(fontsize=7, loc="upper right")
    axes[2].plot(grid, out, lw=1.0, color="C3", label="network output")
    axes[2].plot(x, y, "ko", ms=4, label="data")
    axes[2].set_ylabel("output")
    axes[2].set_xlabel("t = x")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(f"figure written to {png}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["scaling", "imagenet", "curve", "figure", "ownership"])
    ap.add_argument("--ns", type=str, default=None, help="comma-separated N values")
    ap.add_argument("--png", type=str, default=None)
    a = ap.parse_args(argv)
    if a.part == "scaling":
        ns = [int(float(v)) for v in (a.ns or "1e3,1e4,1e5,1e6").split(",")]
        scaling(ns)
    elif a.part == "curve":
        ns = [int(float(v)) for v in (a.ns or "1e2,3e2,1e3,3e3,1e4,3e4,1e5").split(",")]
        curve(ns, a.png)
    elif a.part == "imagenet":
        imagenet()
    elif a.part == "ownership":
        ownership()
    else:
        figure(a.png or "docs/figures/yun_zigzag.png")


if __name__ == "__main__":
    main()
