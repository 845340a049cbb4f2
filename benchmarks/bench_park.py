"""Benchmark of park2021 (Park, Lee, Yun, Shin 2021): O(N^{2/3}) parameters, exact memorization.

For N = 10³ … 10⁵ points uniform in the unit ball of R⁴ with C = 10 labels it builds the network,
verifies every point in exact integer arithmetic, and prints

    the bucket size K, the largest modulus M (and the estimate and worst-case bound), the
    quotient bits, W, L, dense parameters and nonzeros (and their ratio to N), the largest
    weight's bit length, build and exact-verify seconds, and the points a float64 cast loses.

It then extends the sizes to N = 10⁸ with the architecture functions (no build), finds the N from
which park2021's nonzero (and dense) parameter count stays below N, and compares with
vardi2022, yang2026 (width ≤ 20), zhang2017 and yun2019_two_hidden (the last two fit the class
index as a real label: the same scalar output as the bit-extraction networks).

Run:  flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_park.py [--max-n 100000]
      [--out docs/benchmarks/park.md] [--figures docs/figures]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

import memorize
from memorize import bounds, verify
from memorize.constructions import park2021 as P

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _common
from _common import float_cast_lost, machine, table  # noqa: E402

D = 4
C = 10
# (label, method, knobs): the bit-extraction networks are built (their key range is measured)
OTHERS = [("vardi2022", "vardi2022", {}), ("yang2026, width ≤ 20", "yang2026", {"width": 20})]
DENSE = [("zhang2017", "zhang2017"), ("yun2019_two_hidden", "yun2019_two_hidden")]


def ball_points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X * rng.random((n, 1)) ** (1.0 / D)


def run_built(ns: list) -> list:
    rows = []
    for N in ns:
        X = ball_points(N, seed=N)
        y = np.random.default_rng(N + 1).integers(0, C, N)
        t0 = time.perf_counter()
        net = memorize.build("park2021", X, y)
        tb = time.perf_counter() - t0
        rep = verify(net, X, y)
        m = net.meta
        est = P.expected_modulus_max(m["bucket_size"], m["num_buckets"])
        row = dict(N=N, K=m["bucket_size"], B=m["num_buckets"], M=m["modulus_max"], M_est=est,
                   M_bound=m["modulus_bound"], M_mean=m["modulus_mean"], qbits=m["quotient_bits"], n=m["key_bits"],
                   key_max=m["key_max"], W=m["width"], L=m["depth"], params=net.num_params, nnz=net.num_nonzero,
                   bits=net.max_weight_bits, delta=m["delta"], build=tb, verify=rep.seconds,
                   ok=rep.n_failed == 0 and rep.max_error == 0, lost=float_cast_lost(net, X, y))
        for label, method, knobs in OTHERS:
            o = memorize.build(method, X, y, **knobs)
            row[label] = dict(params=o.num_params, nnz=o.num_nonzero, key_max=o.meta["key_max"])
        rows.append(row)
        print(f"  built N={N:>6}: K={row['K']} M={row['M']} W={row['W']} L={row['L']} build {tb:.2f}s "
              f"verify {rep.seconds:.2f}s exact={'yes' if row['ok'] else 'NO'}", file=sys.stderr, flush=True)
    return rows


def fit(Ns, values):
    """Least-squares log2(value) = a + b·log2(N)."""
    b, a = np.polyfit(np.log2(Ns), np.log2(np.maximum(values, 1)), 1)
    return float(a), float(b)


def key_at(model, N: int) -> int:
    a, b = model
    return int(2 ** (a + b * math.log2(N)))


def sizes(N: int, models: dict) -> dict:
    """Dense and nonzero counts of every compared network for N points (architecture functions)."""
    out = {}
    a = P.architecture(N, D, C, key_max=key_at(models["park2021"], N))
    out["park2021"] = (a.num_params, a.num_nonzero, a.notes)
    for label, method, knobs in OTHERS:
        a = bounds.architecture(method, N, D, C, key_max=key_at(models[label], N), **knobs)
        out[label] = (a.num_params, a.num_nonzero, "")
    for label, method in DENSE:
        a = bounds.architecture(method, N, D, 1)
        out[label] = (a.num_params, None, "")
    return out


def crossover(grid: list, counts: list):
    """First N of the grid from which the count stays below N (None if never)."""
    for i in range(len(grid)):
        if all(c is not None and c < n for n, c in zip(grid[i:], counts[i:])):
            return grid[i]
    return None


def worked_example() -> str:
    """Eight points of the plane, three labels, K = 4: the stored integers and one point's trace."""
    from memorize._arith import EXACT
    from memorize.constructions import _bits as B
    from memorize.data import prepare

    X = np.array([[0.0, 0.0], [1.0, 0.5], [0.25, 1.0], [-1.0, 0.75], [0.5, -0.5], [-0.5, -1.0], [1.0, -1.0],
                  [-0.75, 0.25]])
    y = np.array([2, 0, 1, 1, 0, 2, 2, 0])
    net = memorize.build("park2021", X, y, bucket_size=4)
    assert verify(net, X, y).max_error == 0
    data = prepare(X, y, task="classification")
    labvals, offset, _, ell = B.stored_labels(data)
    Dx, D0 = B.integer_coordinates(data.X)
    pr = B.project_to_integers(data.X, Dx, D0, np.random.default_rng(0), 8)
    bk = P.make_buckets(pr, labvals[pr.order], ell, bucket_size=4)
    z0 = int(pr.z[0])
    out = ["```",
           f"first layer z = relu(<{pr.a}, x> + {pr.bias}); smallest gap Q = {pr.Q}, 2^e = {2**bk.e}, z0 = {z0}",
           f"K = {bk.K}, moduli m_b = {bk.moduli}, M = {bk.M} slots of ell = {bk.ell} bits, quotient bits "
           f"{bk.qbits}", "",
           "| point | x | z | key (z − z0) >> e | bucket | key mod m_b | label |", "|---|---|---|---|---|---|---|"]
    for i, row in enumerate(pr.order):
        b = i // bk.K
        out.append(f"| {row} | {X[row].tolist()} | {pr.z[i]} | {bk.keys[i]} | {b} | {int(bk.keys[i]) % bk.moduli[b]} | "
                   f"{bk.labels[i]} |")
    out.append("")
    F = bk.M.bit_length()
    for b, V in enumerate(bk.V):
        bits = format(V, f"0{bk.M * bk.ell + F + 1}b")
        slots = " ".join(bits[F + 1 + s * bk.ell:F + 1 + (s + 1) * bk.ell] for s in range(bk.M))
        out.append(f"V_{b} = {V}: modulus {bits[:F]} | parity {bits[F]} | slots {slots}")
    out.append(f"threshold tau_1 = z of the last point of bucket 0, plus 1 = {bk.taus[0]}")
    i = 5
    b, m = i // bk.K, bk.moduli[i // bk.K]
    zi = int(pr.z[i]) - z0
    D = m << bk.e
    h = (zi % D) >> bk.e
    val = int(net(EXACT.array(X[[pr.order[i]]]))[0, 0])
    out += ["", f"trace of point {pr.order[i]} (z = {pr.z[i]}, key {bk.keys[i]}): lookup -> V_{b}; read m = {m}; "
            f"z − z0 = {zi} = {zi // D}·{D} + {zi % D} (D = 2^e·m); h = {zi % D} >> {bk.e} = {h} = {bk.keys[i]} mod {m}; "
            f"slot {h} holds {P.read_slot(bk.V[b], h, bk.M, bk.ell)}; network output {val}",
            f"network: widths {net.widths}, depth {net.depth}, params {net.num_params}, "
            f"max weight bits {net.max_weight_bits}", "```"]
    return "\n".join(out)


def report(rows, models, grid, curves) -> str:
    lines = [f"Machine: {machine()}\n",
             f"Data: N points uniform in the unit ball of R^{D}, C = {C} uniform labels; δ is the measured "
             "smallest distance. Every park2021 network was verified on all N points in exact integer arithmetic "
             "(`memorize.verify`, error exactly 0 where the table says yes). float64 cast: points lost by "
             "`verify(net.astype(np.float64), X, y)`; when a weight exceeds 2^1024 the cast itself is refused "
             "(NonFiniteError) and every point counts as lost.\n", "### Built networks\n"]
    head = ["N", "δ", "K", "buckets", "M (max m_b)", "M estimated", "mean m_b", "M* bound", "quotient bits",
            "key bits n", "W", "L", "dense params", "params/N", "nonzeros", "nonzeros/N", "max bits", "build s",
            "exact verify s", "exact", "float64 cast: points lost"]
    body = [[r["N"], f"{r['delta']:.3g}", r["K"], r["B"], r["M"], r["M_est"], f"{r['M_mean']:.0f}", r["M_bound"],
             r["qbits"], r["n"], r["W"], r["L"], r["params"], f"{r['params'] / r['N']:.2f}", r["nnz"],
             f"{r['nnz'] / r['N']:.2f}", r["bits"], f"{r['build']:.2f}", f"{r['verify']:.2f}",
             "yes" if r["ok"] else "NO", f"{r['lost']}/{r['N']}"] for r in rows]
    lines += [table(head, body), ""]
    lines += ["### The same data, other constructions (built, sizes only)\n"]
    head = ["N", "park2021 nonzeros", "park2021 dense"] + [f"{lab} nonzeros" for lab, _, _ in OTHERS] + \
        [f"{lab} dense" for lab, _, _ in OTHERS]
    body = [[r["N"], r["nnz"], r["params"]] + [r[lab]["nnz"] for lab, _, _ in OTHERS] +
            [r[lab]["params"] for lab, _, _ in OTHERS] for r in rows]
    lines += [table(head, body), ""]
    lines += ["### Sizes without building (architecture functions), N = 10⁶ … 10⁸\n",
              "Key ranges fitted on the built networks: " + "; ".join(
                  f"{k}: log₂(key_max) = {a:.2f} + {b:.3f}·log₂N" for k, (a, b) in models.items()) +
              ". zhang2017 and yun2019_two_hidden fit the class index as a real label (scalar output); "
              "their counts are dense (no structural zeros reported).\n"]
    head = ["N", "park2021 dense", "park2021 nonzeros", "nonzeros/N", "park2021 shape"] + \
        [f"{lab} nonzeros" for lab, _, _ in OTHERS] + [f"{lab} dense" for lab, _ in DENSE]
    body = []
    for N in (10**6, 10**7, 10**8):
        s = sizes(N, models)
        body.append([f"{N:.0e}", s["park2021"][0], s["park2021"][1], f"{s['park2021'][1] / N:.3f}", s["park2021"][2]]
                    + [s[lab][1] for lab, _, _ in OTHERS] + [s[lab][0] for lab, _ in DENSE])
    lines += [table(head, body), ""]
    lines += ["### Crossover: the N from which the count stays below N\n",
              f"1/16-decade grid from 10² to {grid[-1]:.0e} (architecture functions with the fitted key ranges).\n"]
    head = ["network", "nonzeros < N from", "dense params < N from"]
    body = [[lab, crossover(grid, c["nnz"]) or "never", crossover(grid, c["params"]) or "never"]
            for lab, c in curves.items()]
    lines += [table(head, body), ""]
    lines += ["### Worked example, N = 8 (K = 4)\n", worked_example(), ""]
    return "\n".join(lines)


def figures(rows, grid, curves, outdir: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figures", file=sys.stderr)
        return
    os.makedirs(outdir, exist_ok=True)
    fig, ax = plt.subplots(1, 2, figsize=(11.5, 4.4))
    styles = {"park2021": "C3", "vardi2022": "C0", "yang2026, width ≤ 20": "C2", "zhang2017": "C7",
              "yun2019_two_hidden": "C4"}
    for lab, c in curves.items():
        col = styles[lab]
        if any(v is not None for v in c["nnz"]):
            ax[0].loglog(grid, c["nnz"], "-", color=col, label=f"{lab}: nonzeros")
        ax[0].loglog(grid, c["params"], ":", color=col, label=f"{lab}: dense")
        x = crossover(grid, c["nnz"])
        if lab == "park2021" and x:
            ax[0].plot([x], [x], "o", color=col, mfc="none", ms=9)
            ax[0].annotate(f"nonzeros < N from {x:.2g}", (x, x), textcoords="offset points", xytext=(8, -14),
                           fontsize=7, color=col)
    ax[0].loglog([r["N"] for r in rows], [r["nnz"] for r in rows], "o", color=styles["park2021"],
                 label="park2021: built and verified")
    ax[0].loglog(grid, grid, "k--", lw=0.8, label="= N")
    ax[0].set_xlabel("N (C = 10 labels, R⁴)")
    ax[0].set_ylabel("parameters")
    ax[0].set_title("Parameters vs N (built ≤ 10⁵, architecture functions beyond)")
    ax[0].legend(fontsize=6, ncol=2)
    Ks = np.unique(np.round(np.logspace(np.log10(2), np.log10(400), 40)).astype(int))
    ax[1].loglog(Ks, [P.expected_modulus_max(int(k), max(1, 10**5 // int(k))) for k in Ks], "-", color="C3",
                 label="estimated max m_b (⌈10⁵/K⌉ buckets)")
    ax[1].loglog(Ks, Ks**2 / 4, ":", color="grey", label="K²/4")
    ax[1].loglog(Ks, Ks, "-.", color="grey", lw=0.8, label="K (the keys a bucket holds)")
    ax[1].loglog(Ks, [P.modulus_bound(int(k), 33) for k in Ks], "--", color="k", lw=0.8,
                 label="worst-case bound M* (n = 33)")
    ax[1].loglog([r["K"] for r in rows], [r["M"] for r in rows], "o", color="C3", label="measured max m_b")
    ax[1].loglog([r["K"] for r in rows], [r["M_mean"] for r in rows], "s", color="C1", mfc="none",
                 label="measured mean m_b")
    ax[1].set_xlabel("bucket size K")
    ax[1].set_ylabel("table slots (modulus)")
    ax[1].set_title("Slots per bucket grow like K²")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(outdir, "park_params.png")
    fig.savefig(path, dpi=120)
    print(f"wrote {path}", file=sys.stderr)


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--max-n", type=int, default=100_000)
    p.add_argument("--top", type=float, default=8.0, help="crossover grid up to 10^top")
    p.add_argument("--out", default=None, help="also write the markdown here")
    p.add_argument("--figures", default=None, help="directory for the PNG figure (needs matplotlib)")
    args = p.parse_args(argv)
    ns = [n for n in (1000, 10_000, 100_000) if n <= args.max_n]
    rows = run_built(ns)
    models = {"park2021": fit(ns, [r["key_max"] for r in rows])}
    for lab, _, _ in OTHERS:
        models[lab] = fit(ns, [r[lab]["key_max"] for r in rows])
    grid = [int(round(10**e)) for e in np.arange(2.0, args.top + 1e-9, 1 / 16)]
    curves = {}
    for N in grid:
        for lab, (dense, nnz, _) in sizes(N, models).items():
            c = curves.setdefault(lab, {"params": [], "nnz": []})
            c["params"].append(dense)
            c["nnz"].append(nnz)
    text = report(rows, models, grid, curves)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    if args.figures:
        figures(rows, grid, curves, args.figures)


if __name__ == "__main__":
    main()
