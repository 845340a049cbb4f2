"""Benchmark of the hyperplane-slab memorizers.

1. CIFAR-shaped synthetic set (N = 50 000, d = 3 072, 10 classes, float64 Gaussian) built with
   ``yun2019_one_hidden`` and verified on every point: hidden ReLUs (the paper: 106), build and
   verify seconds (goal: build + verify ≤ 60 s), max error, share of exactly one-hot outputs.
2. float64 error against N for each builder (Gaussian data), with bubeck2020 ablations against the
   straightforward recipe of the spec (random groups, no local search, per-group unit layout),
   whose error at N = 10⁴, d = 10 was 4.0e-6.
3. The bundled digits (not in general position): units built against the theorem's count.
4. Figures (``--figures``): a 2-D example with the slabs and the points, and the error curves.

Run (timings: hold the shared lock)::

    flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_slabs.py [--quick] [--figures]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import memorize
from memorize import Dense, Network
from memorize.datasets import load_digits
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _common
from _common import machine  # noqa: E402

SPEC_BASELINE_BUBECK = {(100, 10): 3.8e-11, (1000, 10): 3.9e-9, (10000, 10): 4.0e-6, (1000, 100): 5.2e-10, (10000, 100): 2.6e-7}


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print()


def per_group_layout(net: Network) -> Network:
    """The same network with each group's four units adjacent (the straightforward layout)."""
    L1, L2 = net.layers
    W = L1.weight.shape[0]
    G = W // 4
    B = 8
    order = []
    for start in range(0, G, B):
        size = min(B, G - start)
        for i in range(size):
            order += [4 * start + tau * size + i for tau in range(4)]
    order = np.array(order)
    return Network([Dense(L1.weight[order], L1.bias[order], L1.activation), Dense(L2.weight[:, order], L2.bias)])


def cifar(n=50_000, d=3072, k=10, activation="relu"):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, k, n)
    t0 = time.perf_counter()
    net = memorize.build("yun2019_one_hidden", X, y, activation=activation, rng=0)
    tb = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = memorize.verify(net, X, y)
    tv = time.perf_counter() - t0
    out = net(X)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    exact_rows = float(np.mean(np.all(out == onehot, axis=1)))
    bound = (4 if activation == "relu" else 2) * (n / d + k)
    return [
        f"{n}×{d}, {k} classes", activation, net.num_hidden, f"{bound:.1f} → {int(np.ceil(bound))}",
        f"{tb:.1f}", f"{tv:.1f}", f"{tb + tv:.1f}", f"{rep.max_error:.1e}", f"{rep.accuracy:.4f}",
        f"{100 * exact_rows:.2f}%", f"{net.meta['slabs_min_margin']:.2e}", f"{net.meta['max_gain']:.1e}",
    ]


def error_curves(quick: bool):
    rows = []
    Ns = [100, 1000, 10_000] if quick else [100, 1000, 10_000, 30_000]
    for N in Ns:
        for d in (10, 100):
            if d == 100 and N > 10_000:
                continue
            rng = np.random.default_rng(1)
            X = rng.standard_normal((N, d))
            y = rng.uniform(-1, 1, N)
            variants = [("default", {}), ("random groups", {"grouping": "random"}),
                        ("random groups, no search", {"grouping": "random", "optimize": False})]
            for label, opts in variants:
                t0 = time.perf_counter()
                net = memorize.build("bubeck2020", X, y, rng=0, **opts)
                tb = time.perf_counter() - t0
                err = memorize.verify(net, X, y).max_error
                naive = memorize.verify(per_group_layout(net), X, y).max_error
                base = SPEC_BASELINE_BUBECK.get((N, d))
                rows.append(("bubeck2020", N, d, label, net.num_hidden, f"{err:.1e}", f"{naive:.1e}",
                             f"{base:.1e}" if base else "–", f"{net.meta['min_delta']:.1e}", f"{tb:.2f}"))
    for N in Ns + ([100_000] if not quick else []):
        rng = np.random.default_rng(2)
        d = 32
        X = rng.standard_normal((N, d))
        y = rng.integers(0, 10, N)
        for act in ("relu", "hardtanh"):
            t0 = time.perf_counter()
            net = memorize.build("yun2019_one_hidden", X, y, activation=act, rng=0)
            tb = time.perf_counter() - t0
            rep = memorize.verify(net, X, y)
            rows.append(("yun2019_one_hidden", N, d, act, net.num_hidden, f"{rep.max_error:.1e}", "–", "–",
                         f"{net.meta['slabs_min_margin']:.1e}", f"{tb:.2f}"))
        yb = np.where(rng.integers(0, 2, N) == 1, 1, -1)
        t0 = time.perf_counter()
        net = memorize.build("baum1988", X, yb, rng=0)
        tb = time.perf_counter() - t0
        rep = memorize.verify(net, X, yb)
        rows.append(("baum1988", N, d, "step", net.num_hidden, f"{rep.max_error:.1e}", "–", "–",
                     f"{net.meta['slabs_min_margin']:.1e}", f"{tb:.2f}"))
    return rows


def digits_rows():
    X, y = load_digits()
    rows = []
    for name, yy in (("baum1988", y % 2), ("bubeck2020", y.astype(float)), ("yun2019_one_hidden", y)):
        t0 = time.perf_counter()
        net = memorize.build(name, X, yy, rng=0)
        tb = time.perf_counter() - t0
        rep = memorize.verify(net, X, yy)
        m = net.meta
        rows.append((name, net.num_hidden, m["theorem_units"], m["extra_units"], m["slabs_hull_dim"],
                     m["slabs_planned_groups"], m["slabs_groups"], m["slabs_moved_points"], f"{rep.max_error:.1e}",
                     "yes" if rep.ok else "NO", f"{tb:.2f}"))
    return rows


def figures(outdir: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (14, 2))
    y = rng.uniform(-1, 1, 14)
    net = memorize.build("bubeck2020", X, y, rng=0)
    m = net.meta
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    xs = np.linspace(-1.3, 1.3, 400)
    G, Yg = np.meshgrid(xs, xs)
    Z = net(np.c_[G.ravel(), Yg.ravel()])[:, 0].reshape(G.shape)
    ax = axes[0]
    im = ax.pcolormesh(G, Yg, Z, cmap="coolwarm", shading="auto", vmin=-1, vmax=1)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", vmin=-1, vmax=1, edgecolors="k", s=50, zorder=3)
    ax.set_title(f"bubeck2020 on 14 points in R²: {net.num_hidden} ReLUs\n(slabs = lines through pairs; output y off the slabs = {m['output_bias'][0]:.2f})")
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    fig.colorbar(im, ax=ax, fraction=0.046)
    yc = rng.integers(0, 3, 14)
    net2 = memorize.build("yun2019_one_hidden", X, yc, rng=0)
    P = net2(np.c_[G.ravel(), Yg.ravel()]).reshape(G.shape + (3,))
    ax = axes[1]
    colors = np.array([[0.85, 0.3, 0.3], [0.3, 0.6, 0.3], [0.3, 0.4, 0.85]])
    img = np.ones(G.shape + (3,))
    for c in range(3):
        img -= np.clip(P[..., c], 0, 1)[..., None] * (1 - colors[c])
    ax.imshow(np.clip(img, 0, 1), extent=(-1.3, 1.3, -1.3, 1.3), origin="lower")
    ax.scatter(X[:, 0], X[:, 1], c=colors[yc], edgecolors="k", s=50, zorder=3)
    ax.set_title(f"yun2019_one_hidden, 3 classes: {net2.num_hidden} ReLUs\n(flat-top bumps: output exactly one-hot on the points)")
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "slabs_2d.png"), dpi=110)
    plt.close(fig)


def error_figure(rows, outdir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for (name, d, label), style in {
        ("bubeck2020", 10, "default"): "o-", ("bubeck2020", 10, "random groups, no search"): "s--",
        ("bubeck2020", 100, "default"): "o-", ("yun2019_one_hidden", 32, "relu"): "^-",
    }.items():
        pts = [(r[1], float(r[5])) for r in rows if r[0] == name and r[2] == d and r[3] == label]
        if pts:
            ax.loglog(*zip(*pts), style, label=f"{name} d={d} ({label})")
    base = sorted((N, e) for (N, d), e in SPEC_BASELINE_BUBECK.items() if d == 10)
    ax.loglog(*zip(*base), "k:", label="bubeck2020 spec baseline, d=10")
    ax.axhline(1e-9, color="gray", lw=0.5)
    ax.set_xlabel("N")
    ax.set_ylabel("max |f(x_i) − y_i| (float64)")
    ax.legend(fontsize=7)
    ax.set_title("float64 error of the slab memorizers\n(baum1988 and hard-tanh: exactly 0)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "slabs_error.png"), dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes, no CIFAR-shaped run")
    ap.add_argument("--figures", action="store_true")
    ap.add_argument("--skip-cifar", action="store_true")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}\n")
    if not (args.quick or args.skip_cifar):
        print("## CIFAR-shaped synthetic set, yun2019_one_hidden (goal: build + verify ≤ 60 s)\n")
        table(["data", "activation", "hidden units", "paper bound 4N/d+4d_y", "build s", "verify s", "total s",
               "max error", "accuracy", "exactly one-hot rows", "min margin", "max gain"], [cifar()])
        sys.stdout.flush()
    print("## Bundled digits (1797×64, affine hull of dimension 61: not in general position)\n")
    table(["method", "hidden", "theorem", "extra", "hull dim", "planned groups", "groups", "moved points",
           "max error", "memorized", "build s"], digits_rows())
    sys.stdout.flush()
    print("## float64 error vs N (Gaussian data)\n")
    rows = error_curves(args.quick)
    table(["method", "N", "d", "variant", "hidden", "max error", "max error, per-group unit layout",
           "spec baseline", "min δ / min margin", "build s"], rows)
    if args.figures:
        out = os.path.join(os.path.dirname(__file__), "..", "docs", "figures")
        os.makedirs(out, exist_ok=True)
        figures(out)
        error_figure(rows, out)
        print("figures: docs/figures/slabs_2d.png, docs/figures/slabs_error.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
