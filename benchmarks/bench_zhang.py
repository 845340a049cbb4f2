"""Benchmark of zhang2017: build time, float64 error, forward throughput.

Usage: python benchmarks/bench_zhang.py [--quick] [--figures] [--part all|timing|errors]

* Build time at N = 1e3 … 1e6 (d = 16) next to "projection + argsort" of the same data in the
  same run (the issue's goal: build ≤ 5× that baseline at N = 1e6).
* Float64 max error over all points for N ≤ 1e5; at N = 1e6 over 10 000 random points (a full
  forward pass there is 1.6e13 flops).
* Forward throughput (GFLOP/s of net(X)) next to a plain matmul with the same shapes.
* The error curve vs N (d = 10, X ~ N(0, I), y ~ U(-1, 1), several seeds) and, with --figures,
  docs/figures/zhang_error_vs_n.png and docs/figures/zhang_1d.png (needs matplotlib).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import best_of, machine, table  # noqa: E402

import memorize  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIG = os.path.join(HERE, "..", "docs", "figures")


def data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.uniform(-1, 1, n)


def build_rows(sizes, d=16):
    rows = []
    for n in sizes:
        X, y = data(n, d)
        w = np.random.default_rng(1).standard_normal(d)
        base = best_of(lambda: np.argsort(X @ w))
        t_build = best_of(lambda: memorize.build("zhang2017", X, y))
        net = memorize.build("zhang2017", X, y)
        if n <= 10**5:
            rep = memorize.verify(net, X, y, tol=np.inf)
            err, where = rep.max_error, "all points"
        else:
            idx = np.random.default_rng(2).choice(n, 10_000, replace=False)
            rep = memorize.verify(net, X[idx], y[idx], tol=np.inf)
            err, where = rep.max_error, "10 000 random points"
        rows.append((f"{n:.0e}", f"{base:.3f}", f"{t_build:.3f}", f"{t_build / base:.1f}×", f"{err:.2e}", where,
                     f"{net.meta['error_estimate']:.1e}", f"{rep.seconds:.1f}"))
    return rows


def throughput_rows(sizes, d=16, batch=4096):
    rows = []
    for n in sizes:
        X, y = data(n, d)
        net = memorize.build("zhang2017", X, y)
        W1, b1 = net.layers[0].weight, net.layers[0].bias
        W2 = net.layers[1].weight
        Xb = X[:batch]
        flops = 2.0 * batch * (n * d + n)
        t_net = best_of(lambda: net(Xb))
        t_mm = best_of(lambda: (Xb @ W1.T) @ W2.T)
        rows.append((f"{n:.0e}", batch, f"{flops / t_net / 1e9:.1f}", f"{flops / t_mm / 1e9:.1f}", f"{t_mm / t_net:.0%}"))
    return rows


def error_curve(sizes, seeds, d=10):
    out = {}
    for n in sizes:
        errs = []
        for s in seeds:
            X, y = data(n, d, seed=s)
            net = memorize.build("zhang2017", X, y, rng=s)
            errs.append(memorize.verify(net, X, y, tol=np.inf).max_error)
        out[n] = errs
    return out


def direction_scores(n=10_000, d=10, k=48):
    """Spearman correlation of candidate scores with the measured error over k random directions."""
    from scipy.stats import spearmanr

    from memorize.constructions import zhang2017 as Z

    X, y = data(n, d)
    W = np.random.default_rng(5).standard_normal((d, k))
    W /= np.linalg.norm(W, axis=0)
    rows = []
    for c in range(k):
        z = X @ W[:, c]
        o = np.argsort(z)
        plus, _ = Z._largest_terms(z[o][:, None], y[o][:, None, None])
        gap = np.diff(z[o]).min()
        net = memorize.build("zhang2017", X, y, direction=W[:, c])
        err = memorize.verify(net, X, y, tol=np.inf).max_error
        rows.append((err, plus[0], -gap))
    r = np.array(rows)
    return (spearmanr(r[:, 0], r[:, 1]).correlation, spearmanr(r[:, 0], r[:, 2]).correlation,
            r[:, 0].min(), np.median(r[:, 0]), r[:, 0].max())


def figures(curve):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(FIG, exist_ok=True)
    ns = sorted(curve)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for n in ns:
        ax.scatter([n] * len(curve[n]), curve[n], color="C0", s=12)
    ax.plot(ns, [np.median(curve[n]) for n in ns], color="C0", label="zhang2017 (median of seeds)")
    ref = {100: 9.4e-13, 1000: 1.4e-9, 10000: 4.6e-7, 100000: 1.4e-5}
    ax.plot(list(ref), list(ref.values()), "k--", label="straightforward (one random direction)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (d = 10)")
    ax.set_ylabel("max |f(x_i) − y_i| in float64")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(FIG, "zhang_error_vs_n.png"), dpi=120)
    plt.close(fig)

    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((12, 2)), rng.uniform(-1, 1, 12)
    net = memorize.build("zhang2017", X, y)
    w = net.layers[0].weight[0]
    z = X @ w
    t = np.linspace(z.min() - 0.6, z.max() + 0.3, 800)
    # points along the direction w: x = t·w (w is unit), so <w, x> = t
    f = net(t[:, None] * w[None, :])[:, 0]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(t, f, label="network along w")
    ax.scatter(z, y, color="C3", zorder=3, label="data (projected)")
    for b in -net.layers[0].bias:
        ax.axvline(b, color="0.8", lw=0.8, zorder=0)
    ax.set_xlabel("t = <w, x>")
    ax.set_ylabel("f")
    ax.set_title("zhang2017: N = 12 ReLUs, kinks (grey) on the previous point")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(FIG, "zhang_1d.png"), dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    ap.add_argument("--figures", action="store_true")
    ap.add_argument("--part", choices=["all", "timing", "errors"], default="all",
                    help="timing: build and forward speed (run alone on the machine); errors: float64 error curve")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    if args.part in ("all", "timing"):
        sizes = [10**3, 10**4] if args.quick else [10**3, 10**4, 10**5, 10**6]
        print("## Build time and float64 error (d = 16)\n")
        print(table(["N", "projection + argsort s", "build s", "ratio", "max error", "measured on",
                     "predicted 2⁻⁵²·M", "verify s"], build_rows(sizes)))
        print("\n## Forward throughput (batch of 4096 points)\n")
        tsizes = [10**3, 10**4] if args.quick else [10**3, 10**4, 10**5]
        print(table(["N", "batch", "net(X) GFLOP/s", "plain matmul GFLOP/s", "net / matmul"], throughput_rows(tsizes)))
    if args.part in ("all", "errors"):
        csizes = [100, 300, 1000, 3000, 10000] if args.quick else [100, 300, 1000, 3000, 10000, 30000, 100000]
        seeds = [0, 1] if args.quick else [0, 1, 2, 3]
        curve = error_curve(csizes, seeds)
        print("\n## Float64 error vs N (d = 10, one row per N, one column per seed)\n")
        print(table(["N"] + [f"seed {s}" for s in seeds] + ["median"],
                    [(n, *[f"{e:.2e}" for e in errs], f"{np.median(errs):.2e}") for n, errs in curve.items()]))
        if not args.quick:
            rho_term, rho_gap, lo, med, hi = direction_scores()
            print("\n## Which direction score predicts the error (N = 1e4, d = 10, 48 random directions)\n")
            print(table(["score", "Spearman ρ with measured error"],
                        [("largest output term (used)", f"{rho_term:.2f}"), ("smallest gap (negated)", f"{rho_gap:.2f}")]))
            print(f"\nmeasured error over the 48 directions: min {lo:.2e}, median {med:.2e}, max {hi:.2e}")
        if args.figures:
            figures(curve)
            print("\nfigures written to docs/figures/zhang_error_vs_n.png and docs/figures/zhang_1d.png")


if __name__ == "__main__":
    main()
