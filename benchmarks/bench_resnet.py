"""Benchmark of the residual-network memorizers: Yun et al. Thm 4.1 and Hardt & Ma 2017.

Parts (run all by default, or name them):

* ``cifar``  — CIFAR-shaped synthetic data (N = 50 000, d = 3 072, 10 classes, X ~ N(0, I)):
  ``yun2019_resnet`` (ReLU) built and verified on every point, timed next to
  ``yun2019_one_hidden`` (Corollary 4.2) on the same data; hidden units against Hardt & Ma's
  N + d_y.
* ``error``  — float64 error against N (Gaussian, d = 32, 10 classes) for ``yun2019_resnet``
  (ReLU and hard-tanh) up to N = 10⁵ and ``hardt_ma2017`` up to N = 10⁴ (raw and unit-norm).
* ``digits`` — the bundled UCI digits (not in general position): extra units.
* ``figures`` — PNGs in docs/figures/ (matplotlib needed): error vs N, and one residual block
  pushing a group along its class axis (2-D example).

Run with ``flock /tmp/bench.lock python benchmarks/bench_resnet.py [parts]`` so that timings do
not collide with other jobs on a shared machine. Results are printed as markdown tables and
saved to ``benchmarks/results_resnet.json``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import memorize  # noqa: E402
from memorize.datasets import load_digits, synthetic  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _common
from _common import machine  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results_resnet.json"
FIGDIR = ROOT / "docs" / "figures"


def table(header, rows) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def timed(fn, *a, **k):
    t = time.perf_counter()
    v = fn(*a, **k)
    return v, time.perf_counter() - t


def run_cifar(res: dict) -> None:
    n, d, k = 50_000, 3072, 10
    X, y = synthetic(n, d, classes=k, rng=0)
    rows = []
    out = {}
    for name in ("yun2019_resnet", "yun2019_one_hidden"):
        try:
            net, t_build = timed(memorize.build, name, X, y)
        except Exception as exc:  # the other builder may be missing on this branch
            rows.append((name, "-", "-", "-", "-", "-", "-", f"not run: {exc}"))
            continue
        rep, t_ver = timed(memorize.verify, net, X, y)
        arch = memorize.registry.get(name).architecture(n, d, k)
        out[name] = dict(
            hidden=net.num_hidden, theorem=arch.num_hidden, widths=list(net.widths), build_s=t_build,
            verify_s=t_ver, max_error=float(rep.max_error), accuracy=rep.accuracy, n_failed=rep.n_failed,
            params=net.num_params, max_abs_weight=float(net.max_abs_weight),
            min_margin=net.meta.get("min_margin"),
        )
        rows.append(
            (name, net.num_hidden, arch.num_hidden, net.widths, f"{t_build:.1f}", f"{t_ver:.1f}",
             f"{float(rep.max_error):.2e}", f"{rep.accuracy:.4f} ({rep.n_failed} failed)")
        )
        del net
    res["cifar"] = out
    print("\n### CIFAR-shaped synthetic data (N = 50 000, d = 3 072, 10 classes)\n")
    print(table(("builder", "hidden units", "theorem count", "widths", "build s", "verify s", "max error",
                 "accuracy"), rows))
    if "yun2019_resnet" in out:
        r = out["yun2019_resnet"]
        print(f"\nHidden units vs Hardt & Ma (N + d_y = {n + k}): {r['hidden']} → ratio {(n + k) / r['hidden']:.0f}×")
        if "yun2019_one_hidden" in out:
            o = out["yun2019_one_hidden"]
            print(f"Build time ratio resnet / one_hidden: {r['build_s'] / o['build_s']:.2f}")


def run_error(res: dict, n_max: int) -> None:
    d, k = 32, 10
    rows = []
    out = []
    for n in [100, 1000, 10_000, 100_000]:
        if n > n_max:
            continue
        X, y = synthetic(n, d, classes=k, rng=0)
        runs = [("yun2019_resnet", {"activation": "relu"}, X), ("yun2019_resnet", {"activation": "hardtanh"}, X)]
        if n <= 10_000:
            Xu = X / np.linalg.norm(X, axis=1, keepdims=True)
            runs += [("hardt_ma2017", {}, X), ("hardt_ma2017", {"block_size": n}, Xu)]
        for name, opts, Xr in runs:
            net, tb = timed(memorize.build, name, Xr, y, **opts)
            rep, tv = timed(memorize.verify, net, Xr, y)
            # the same points evaluated one at a time (other BLAS shapes): 500 sampled points
            # (50 for hardt_ma2017, whose depth is N)
            idx = np.random.default_rng(1).choice(n, size=min(n, 500 if net.depth < 100 else 50), replace=False)
            Ys = (y[idx, None] == np.arange(k)[None, :]).astype(float)
            single = max(float(np.max(np.abs(net(Xr[i]) - Ys[j]))) for j, i in enumerate(idx))
            label = name + (" unit-norm" if Xr is not X else "") + "".join(f" {v}" for v in opts.values() if v != n)
            m = net.meta
            margin = m.get("min_margin", m.get("min_threshold"))
            row = dict(n=n, builder=label, hidden=net.num_hidden, depth=net.depth, max_error=float(rep.max_error),
                       single_point_error=single,
                       ok=rep.ok, margin=margin, max_abs_weight=float(net.max_abs_weight), build_s=tb, verify_s=tv)
            out.append(row)
            rows.append((n, label, net.num_hidden, net.depth, f"{float(rep.max_error):.2e}", f"{single:.2e}",
                         f"{margin:.2e}" if margin is not None else "-", f"{float(net.max_abs_weight):.2e}",
                         f"{tb:.2f}", f"{tv:.2f}"))
            del net
            print(rows[-1], flush=True)
    res["error"] = out
    print("\n### float64 error against N (Gaussian X in R^32, 10 classes)\n")
    print(table(("N", "builder", "hidden", "depth", "max error", "max error, one point at a time (500 or 50 points)",
                 "min margin / threshold", "max abs weight", "build s",
                 "verify s"), rows))


def run_digits(res: dict) -> None:
    X, y = load_digits()
    rows = []
    out = []
    for name, opts in [("yun2019_resnet", {"activation": "relu"}), ("yun2019_resnet", {"activation": "hardtanh"}),
                       ("hardt_ma2017", {}), ("yun2019_one_hidden", {})]:
        try:
            net, tb = timed(memorize.build, name, X, y, **opts)
        except Exception as exc:
            rows.append((name, "-", "-", "-", "-", f"not run: {exc}"))
            continue
        rep = memorize.verify(net, X, y)
        m = net.meta
        out.append(dict(builder=name, opts=opts, hidden=net.num_hidden, theorem=m.get("theorem_units"),
                        extra=m.get("extra_units"), max_error=float(rep.max_error), build_s=tb))
        rows.append((name + "".join(f" {v}" for v in opts.values()), net.num_hidden, m.get("theorem_units"),
                     m.get("extra_units"), f"{float(rep.max_error):.2e}", f"{tb:.2f}"))
        del net
    res["digits"] = out
    print("\n### Bundled digits (N = 1 797, d = 64, 10 classes; not in general position)\n")
    print(table(("builder", "hidden", "theorem units", "extra units", "max error", "build s"), rows))


def run_figures(res: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIGDIR.mkdir(parents=True, exist_ok=True)
    err = res.get("error") or (json.loads(RESULTS.read_text()).get("error") if RESULTS.exists() else None)
    if err:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label in sorted({r["builder"] for r in err}):
            pts = [(r["n"], max(r["max_error"], 1e-17)) for r in err if r["builder"] == label]
            ax.loglog(*zip(*pts), "o-", label=label)
        ax.axhline(1e-17, color="grey", lw=0.5)
        ax.set_xlabel("N")
        ax.set_ylabel("max |f(x_i) − e_{y_i}|  (0 drawn at 1e-17)")
        ax.set_title("float64 error, Gaussian X in R^32, 10 classes")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(FIGDIR / "resnet_error_vs_n.png", dpi=120)
        plt.close(fig)

    # One residual block of yun2019_resnet (hard-tanh) pushing one group along its class axis.
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (8, 2))
    y = np.arange(8) % 2
    net = memorize.build("yun2019_resnet", X, y, activation="hardtanh", widths=[2] * 8, rng=3)
    block = net.layers[0]
    H1 = block.forward(X)
    moved = np.nonzero(np.any(H1 != X, axis=1))[0]
    M = float(np.linalg.norm(block.U[0]))
    a = block.U[0] / M
    beta = -(block.b[0] - 2) / M  # node⁺ = σ_H(M(<a, h> − β) + 2)
    D = net.meta["push_length"]
    perp = np.array([-a[1], a[0]])
    colors = np.array(["tab:blue", "tab:orange"])
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.6]})
    t = np.array([-4.0, 4.0])
    for w, alpha in [(3 / M, 0.12), (1 / M, 0.3)]:
        p_lo, p_hi = a * (beta - w), a * (beta + w)
        poly = np.array([p_lo + t[0] * perp, p_lo + t[1] * perp, p_hi + t[1] * perp, p_hi + t[0] * perp])
        ax0.fill(poly[:, 0], poly[:, 1], color="grey", alpha=alpha, lw=0)
    line = a * beta + t[:, None] * perp
    ax0.plot(line[:, 0], line[:, 1], "k-", lw=0.8)
    for ax in (ax0, ax1):
        ax.scatter(X[:, 0], X[:, 1], c=colors[y], s=30, zorder=3)
    ax0.scatter(X[moved, 0], X[moved, 1], facecolors="none", edgecolors="k", s=120, zorder=4)
    ax0.set_xlim(-1.3, 1.3)
    ax0.set_ylim(-1.3, 1.3)
    ax0.set_aspect("equal")
    ax0.set_title(f"hyperplane through the group (circled); bump = 1 in the dark band,\n"
                  f"0 outside the light band (gain M = 4/δ = {M:.3g})", fontsize=8)
    ax1.scatter(H1[moved, 0], H1[moved, 1], facecolors="none", edgecolors=colors[y[moved]], s=80, zorder=3)
    for i in moved:
        ax1.annotate("", H1[i], X[i], arrowprops=dict(arrowstyle="->", color="k", lw=0.8))
    ax1.set_xlim(-2, D + 2)
    ax1.set_ylim(-1.3, 1.3)
    ax1.set_title(f"after the block: the group moved by D = {D:.0f} along e_{{{int(y[moved[0]])}}} "
                  "(its class axis); every other point stays", fontsize=8)
    for ax in (ax0, ax1):
        ax.set_xlabel("h_0")
        ax.set_ylabel("h_1")
    fig.tight_layout()
    fig.savefig(FIGDIR / "resnet_block_push.png", dpi=120)
    plt.close(fig)
    print(f"\nfigures written to {FIGDIR}")


def main(argv) -> None:
    parts = argv or ["cifar", "error", "digits", "figures"]
    n_max = int(os.environ.get("BENCH_RESNET_NMAX", "100000"))
    res = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    res["machine"] = machine()
    print(f"machine: {res['machine']}")
    for p in parts:
        {"cifar": run_cifar, "error": lambda r: run_error(r, n_max), "digits": run_digits,
         "figures": run_figures}[p](res)
        RESULTS.write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
