"""Benchmark of the bit-extraction memorizers (yang2026 / vardi2022): size vs N, exact verification.

For N = 10² … 10⁵ points uniform in the unit ball of R^4 with C = 10 labels, and three width
settings, it builds the network, verifies every point in exact integer arithmetic, and prints

    W, L, W²L²/(N·n), S, q, dense params and nonzeros (and their ratio to N), the largest
    weight's bit length, build and exact-verify seconds, and the points a float64 cast loses.

It then extrapolates the sizes to N = 10⁶ … 10⁸ through the architecture function (no build),
finds the N where the nonzero (and dense) parameter count drops below N, and times the
straightforward object-matmul evaluator (the baseline) against the library's kernel.

The depth curve of ``vardi2022`` (``--curve``): for one data set (N = 10⁴ points uniform in the
unit ball of R^8, 10 classes) it builds the network for several depth budgets L, from the
constant-width network to shallow parallel copies, verifies every point exactly and prints
L → (copies, depth, width, parameters, nonzero parameters, bits per weight, build and verify
seconds, error), then the planner's rows for the same budgets (no build).

Run:  flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_bits.py [--max-n 100000]
      [--out docs/benchmarks/bits.md] [--figures docs/figures]
      flock /tmp/bench.lock env PYTHONPATH=src python benchmarks/bench_bits.py --curve
      [--curve-depths 400,200,100,70,50] [--out docs/benchmarks/vardi2022_depth.md] [--figures docs/figures]
"""

from __future__ import annotations

import os
import argparse
import math
import sys
import time

import numpy as np

import memorize
from memorize import _exact, verify
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _common
from _common import float_cast_lost, machine as _machine  # noqa: E402

SETTINGS = [
    ("narrow (vardi2022: q=1, flat, W=7)", "vardi2022", {}),
    ("grouped, width ≤ 20", "yang2026", {"width": 20}),
    ("grouped, width ≤ 40", "yang2026", {"width": 40}),
]
D = 4
C = 10


def machine() -> str:
    """The shared machine line, plus whether gmpy2 is installed (it is not used)."""
    try:
        import gmpy2  # noqa: F401

        gm = "gmpy2 installed (unused)"
    except ImportError:
        gm = "no gmpy2"
    return f"{_machine()}, {gm}"


def ball_points(n: int, seed: int, d: int = D) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X *= rng.random((n, 1)) ** (1.0 / d)
    return X


def baseline_forward(net, X) -> np.ndarray:
    """The straightforward exact evaluator: dense object matmul per layer, ReLU by np.where,
    Fraction(k, 1) turned into int after the first layer (as in the spec's measurements)."""
    h = _exact.to_exact_array(X)
    for i, layer in enumerate(net.layers):
        t = np.matmul(h, layer.weight.T) + layer.bias
        h = layer.activation(t)
        if i == 0:
            h = _exact._normalise(h)
    return h


def run_built(ns, baseline_max_n):
    rows = []
    for N in ns:
        X = ball_points(N, seed=N)
        y = np.random.default_rng(N + 1).integers(0, C, N)
        for label, method, knobs in SETTINGS:
            t0 = time.perf_counter()
            net = memorize.build(method, X, y, **knobs)
            tb = time.perf_counter() - t0
            rep = verify(net, X, y)
            float_lost = float_cast_lost(net, X, y)
            base = None
            if N <= baseline_max_n:
                t0 = time.perf_counter()
                out = baseline_forward(net, X)
                base = time.perf_counter() - t0
                assert out[:, 0].tolist() == y.tolist()
            m = net.meta
            rows.append(dict(N=N, setting=label, method=method, knobs=knobs, W=m["width"], L=m["depth"],
                             n=m["key_bits"], S=m["block_size"], q=m["bits_per_layer"], lookup=m["lookup"],
                             ratio=m["W2L2_over_Nn"], params=net.num_params, nnz=net.num_nonzero,
                             bits=net.max_weight_bits, build=tb, verify=rep.seconds, ok=rep.n_failed == 0 and rep.max_error == 0,
                             float_lost=float_lost, key_max=m["key_max"], delta=m["delta_unit_ball"],
                             baseline=base))
            r = rows[-1]
            print(f"  built N={N:>6} {label:36s} W={r['W']:>3} L={r['L']:>5} bits={r['bits']:>5} "
                  f"build {tb:6.2f}s verify {rep.seconds:7.2f}s exact={'yes' if r['ok'] else 'NO'}"
                  + (f" baseline {base:7.2f}s" if base is not None else ""), file=sys.stderr, flush=True)
    return rows


def key_model(rows):
    """Least-squares fit log2(key_max) = a + b·log2(N) on the built networks."""
    xs = np.log2([r["N"] for r in rows])
    ys = np.log2([max(r["key_max"], 1) for r in rows])
    b, a = np.polyfit(xs, ys, 1)
    return a, b


def extrapolate(a, b, ns):
    out = []
    for N in ns:
        kmax = int(2 ** (a + b * math.log2(N)))
        for label, method, knobs in SETTINGS:
            arch = memorize.registry.get(method).architecture(N, D, C, key_max=kmax, **knobs)
            W, L = max(arch.widths), arch.depth
            n = max(1, kmax.bit_length())
            out.append(dict(N=N, setting=label, W=W, L=L, n=n, ratio=W * W * L * L / (N * n), params=arch.num_params,
                            nnz=arch.num_nonzero, bits=arch.max_weight_bits, notes=arch.notes))
    return out


def crossovers(a, b, top=7.0, step=1 / 16):
    """For each setting, the N (on a ``step``-decade grid up to 10^top) from which the
    architecture's nonzero / dense parameter count stays below N."""
    grid = [int(round(10**e)) for e in np.arange(2.0, top + 1e-9, step)]
    out = {}
    for label, method, knobs in SETTINGS:
        below_nnz, below_p = [], []
        for N in grid:
            kmax = int(2 ** (a + b * math.log2(N)))
            arch = memorize.registry.get(method).architecture(N, D, C, key_max=kmax, **knobs)
            below_nnz.append(arch.num_nonzero < N)
            below_p.append(arch.num_params < N)

        def first_stay(flags):
            for i in range(len(flags)):
                if all(flags[i:]):
                    return grid[i]
            return None

        out[label] = (first_stay(below_nnz), first_stay(below_p))
    return out


def float_cast_curve():
    """Points lost by ``net.astype(float64)`` vs the largest weight, on integer-grid data (so
    that the input precision does not already exceed 53 bits) with growing block size."""
    rng = np.random.default_rng(5)
    flat = rng.choice(1024 * 1024, size=1000, replace=False)
    X = np.stack([flat // 1024, flat % 1024], axis=1).astype(np.float64)
    y = rng.integers(0, C, len(X))
    out = []
    for S in (1, 2, 3, 4, 6, 8, 12, 16, 24, 48):
        net = memorize.build("vardi2022", X, y, block_size=S)
        assert verify(net, X, y).max_error == 0
        out.append(dict(S=S, bits=net.max_weight_bits, block_bits=net.meta["block_bits"], lost=float_cast_lost(net, X, y),
                        N=len(X)))
    return out


CURVE_N, CURVE_D, CURVE_C = 10_000, 8, 10
CURVE_DEPTHS = (400, 200, 100, 70, 50)


def depth_curve(depths, N=CURVE_N, d=CURVE_D, C=CURVE_C, seed=3):
    """vardi2022 on one data set for each depth budget (None: the constant-width network):
    build, exact verification of every point, and the architecture function's prediction."""
    X = ball_points(N, seed, d)
    y = np.random.default_rng(seed + 1).integers(0, C, N)
    out = []
    for L in (None, *depths):
        knobs = {} if L is None else {"depth": L}
        t0 = time.perf_counter()
        net = memorize.build("vardi2022", X, y, **knobs)
        tb = time.perf_counter() - t0
        rep = verify(net, X, y)
        m = net.meta
        arch = memorize.registry.get("vardi2022").architecture(N, d, C, key_max=m["key_max"], z_bits=m["z_bits"],
                                                               **knobs)
        out.append(dict(L=L, copies=m["copies"], depth=net.depth, width=max(net.widths), S=m["block_size"],
                        params=net.num_params, nnz=net.num_nonzero, bits=net.max_weight_bits,
                        block_bits=m["block_bits"], z_bits=m["z_bits"], build=tb, verify=rep.seconds,
                        err=rep.max_error, failed=rep.n_failed, N=N,
                        arch_exact=arch.widths == net.widths and arch.num_params == net.num_params))
        r = out[-1]
        print(f"  curve L={L} P={r['copies']} depth={r['depth']} W={r['width']} nnz={r['nnz']} bits={r['bits']} "
              f"build {tb:.2f}s verify {rep.seconds:.2f}s error {rep.max_error}", file=sys.stderr, flush=True)
        del net
    return out


def planner_curve(depths, N=CURVE_N, d=CURVE_D, C=CURVE_C):
    """The planner's vardi2022 row for each depth budget (no build; estimated key range)."""
    rows = []
    for L in (None, *depths):
        opts = {"vardi2022": {} if L is None else {"depth": L}}
        r = memorize.plan(N, d, C, task="classification", methods=["vardi2022"], options=opts)[0]
        arch = memorize.registry.get("vardi2022").architecture(N, d, C, **opts["vardi2022"])
        rows.append(dict(L=L, depth=r.depth, width=max(r.widths), params=r.num_params, nnz=arch.num_nonzero,
                         bits=r.max_weight_bits, min_bits=r.min_bits, notes=r.notes,
                         min_bits_nnz=memorize.bounds.min_weight_bits(N, arch.num_nonzero, C)))
    return rows


def emit_curve(emit, curve, planned):
    N = curve[0]["N"]
    emit(f"### vardi2022: the depth curve (N = {N}, points uniform in the unit ball of R^{CURVE_D}, "
         f"C = {CURVE_C} classes)\n")
    emit("L: the depth budget (`depth=L`; – is the constant-width network). P: parallel copies. "
         "Params: every weight and bias of the dense layers, zeros between copies included "
         "(`num_params`); nonzeros: the paper's count. Bits: the largest weight "
         "(`max_weight_bits`), and S·ρ, the bits of one block integer (what the copies shrink; the "
         "first layer carries the input's precision, z bits). Every network verified on all points "
         "in exact arithmetic; the architecture function gives the built widths and parameter count "
         "exactly (column *arch = built*).\n")
    emit("| L | P | depth | width | params | nonzeros | nonzeros·depth/N | max bits | S | S·ρ | z bits | build s | "
         "exact verify s | max error | arch = built |")
    emit("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in curve:
        emit(f"| {r['L'] or '–'} | {r['copies']} | {r['depth']} | {r['width']} | {r['params']} | {r['nnz']} | "
             f"{r['nnz'] * r['depth'] / N:.0f} | {r['bits']} | {r['S']} | {r['block_bits']} | {r['z_bits']} | "
             f"{fmt(r['build'])} | {fmt(r['verify'])} | {r['err']} | {'yes' if r['arch_exact'] else 'NO'} |")
    emit("")
    emit("The planner's rows for the same budgets (`memorize.plan(..., methods=['vardi2022'], "
         "options={'vardi2022': {'depth': L}})`, no build: key range estimated as 2N²):\n")
    emit("| L | depth | width | params | nonzeros | weight bits | min bits (planner: dense params) | "
         "min bits (nonzeros) |")
    emit("|---|---|---|---|---|---|---|---|")
    for r in planned:
        emit(f"| {r['L'] or '–'} | {r['depth']} | {r['width']} | {r['params']} | {r['nnz']} | {r['bits']} | "
             f"{r['min_bits']:.3g} | {r['min_bits_nnz']:.3g} |")
    emit("")


def _pyplot(outdir):
    """matplotlib.pyplot with the file backend (None without matplotlib), and the output folder."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figures", file=sys.stderr)
        return None
    os.makedirs(outdir, exist_ok=True)
    return plt


def _save(fig, outdir, name):
    fig.tight_layout()
    path = os.path.join(outdir, name)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}", file=sys.stderr)


def curve_figure(curve, outdir):
    plt = _pyplot(outdir)
    if plt is None:
        return
    N = curve[0]["N"]
    L = np.array([r["depth"] for r in curve], dtype=float)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    ax[0].loglog(L, [r["nnz"] for r in curve], "o-", label="nonzero parameters (built)")
    ax[0].loglog(L, [r["params"] for r in curve], "s:", label="dense parameters (zeros between copies)")
    c = np.median([r["nnz"] * r["depth"] / N for r in curve])
    ax[0].loglog(L, c * N / L, "k--", lw=0.8, label=f"{c:.0f}·N/L")
    ax[0].axhline(N, color="grey", lw=0.5)
    for r in curve:
        ax[0].annotate(f"P={r['copies']}", (r["depth"], r["nnz"]), fontsize=7, xytext=(3, 3),
                       textcoords="offset points")
    ax[0].set_xlabel("depth L (hidden layers)")
    ax[0].set_ylabel("parameters")
    ax[0].set_title(f"vardi2022, N = {N}: parameters vs depth")
    ax[0].legend(fontsize=7)
    ax[1].semilogx(L, [r["bits"] for r in curve], "o-", label="largest weight (bits)")
    ax[1].semilogx(L, [r["block_bits"] for r in curve], "s-", label="block integer S·ρ (bits)")
    ax[1].semilogx(L, [r["z_bits"] for r in curve], "k:", label="first layer (input precision)")
    ax[1].axhline(53, color="grey", ls="--", lw=0.8, label="float64 mantissa")
    ax[1].set_xlabel("depth L (hidden layers)")
    ax[1].set_ylabel("bits per weight")
    for a in ax:  # label the measured depths, not the log axis' default ticks
        a.set_xticks(L, [str(int(v)) for v in L])
        a.minorticks_off()
    ax[1].set_title("bits per weight vs depth")
    ax[1].legend(fontsize=7)
    _save(fig, outdir, "vardi2022_depth_curve.png")


def fmt(x, nd=2):
    return f"{x:.{nd}f}"


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--max-n", type=int, default=100_000)
    p.add_argument("--baseline-max-n", type=int, default=10_000)
    p.add_argument("--out", default=None, help="also write the markdown fragment here")
    p.add_argument("--figures", default=None, help="directory for PNG figures (needs matplotlib)")
    p.add_argument("--curve", action="store_true", help="only the vardi2022 depth curve")
    p.add_argument("--curve-depths", default=",".join(map(str, CURVE_DEPTHS)),
                   help="depth budgets of the curve, comma-separated")
    p.add_argument("--curve-n", type=int, default=CURVE_N, help="points of the depth curve's data set")
    args = p.parse_args(argv)
    depths = [int(v) for v in args.curve_depths.split(",") if v]
    if args.curve:
        return curve_main(depths, args)
    ns = [n for n in (100, 1000, 10_000, 100_000) if n <= args.max_n]
    lines = []
    emit = lines.append
    emit(f"Machine: {machine()}\n")
    emit(f"Data: N points uniform in the unit ball of R^{D}, C = {C} uniform labels; δ is the measured smallest "
         "distance (unit-ball units). Every network below was verified on all N points in exact integer "
         "arithmetic (`memorize.verify`, error exactly 0).\n")
    rows = run_built(ns, args.baseline_max_n)
    emit("### Built networks\n")
    emit("float64 cast: points lost by `verify(net.astype(np.float64), X, y)`; when a weight exceeds 2^1024 the "
         "cast itself is refused (NonFiniteError) and every point counts as lost.\n")
    emit("| N | δ | setting | W | L | W²L²/(N·n) | n | S | q | lookup | dense params | params/N | nonzeros | "
         "nonzeros/N | max bits | build s | exact verify s | exact | float64 cast: points lost |")
    emit("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        emit(f"| {r['N']} | {r['delta']:.3g} | {r['setting']} | {r['W']} | {r['L']} | {r['ratio']:.1f} | {r['n']} | "
             f"{r['S']} | {r['q']} | {r['lookup']} | {r['params']} | {r['params'] / r['N']:.2f} | {r['nnz']} | "
             f"{r['nnz'] / r['N']:.2f} | {r['bits']} | {fmt(r['build'])} | {fmt(r['verify'])} | "
             f"{'yes' if r['ok'] else 'NO'} | {r['float_lost']}/{r['N']} |")
    emit("")
    base_rows = [r for r in rows if r["baseline"] is not None and r["N"] >= 1000]
    if base_rows:
        emit("### Exact evaluation: library kernel vs the straightforward object-matmul evaluator (baseline)\n")
        emit("| N | setting | baseline s (dense object matmul) | memorize s (verify) | speed-up |")
        emit("|---|---|---|---|---|")
        for r in base_rows:
            emit(f"| {r['N']} | {r['setting']} | {fmt(r['baseline'])} | {fmt(r['verify'])} | "
                 f"{r['baseline'] / r['verify']:.1f}× |")
        emit("")
    a, b = key_model(rows)
    emit("### Sizes without building (architecture function), N = 10⁶ … 10⁸\n")
    emit(f"Key range model fitted on the built networks: log₂(key_max) = {a:.2f} + {b:.3f}·log₂N "
         f"(uniform data in the 4-ball, where δ shrinks like N^(-1/2)). Counts are exact for that key range; "
         "nonzeros are the structural count.\n")
    emit("| N | setting | W | L | W²L²/(N·n) | n | dense params | params/N | nonzeros | nonzeros/N | max bits (est.) |")
    emit("|---|---|---|---|---|---|---|---|---|---|---|")
    ext = extrapolate(a, b, [10**6, 10**7, 10**8])
    for r in ext:
        emit(f"| {r['N']:.0e} | {r['setting']} | {r['W']} | {r['L']} | {r['ratio']:.1f} | {r['n']} | {r['params']} | "
             f"{r['params'] / r['N']:.3f} | {r['nnz']} | {r['nnz'] / r['N']:.3f} | {r['bits']} |")
    emit("")
    emit("### Crossover: the N from which the network has fewer parameters than points\n")
    emit("First N on a 1/16-decade grid from which the count stays below N up to 10⁷ (architecture "
         "function with the fitted key range).\n")
    emit("| setting | nonzeros < N from | dense params < N from |")
    emit("|---|---|---|")
    for label, (cn, cp) in crossovers(a, b).items():
        emit(f"| {label} | {cn if cn else '> 10⁷'} | {cp if cp else '> 10⁷'} |")
    emit("")
    curve = float_cast_curve()
    emit("### float64 cast of an exact network (N = 1000 integer-grid points in [0, 1024)², C = 10, vardi2022)\n")
    emit("| block size S | block bits S·(n+ℓ) | max weight bits | points lost by `net.astype(np.float64)` |")
    emit("|---|---|---|---|")
    for r in curve:
        emit(f"| {r['S']} | {r['block_bits']} | {r['bits']} | {r['lost']}/{r['N']} |")
    emit("")
    dcurve = depth_curve(depths, N=args.curve_n)
    emit_curve(emit, dcurve, planner_curve(depths, N=args.curve_n))
    _write("\n".join(lines), args.out)
    if args.figures:
        figures(rows, ext, args.figures, curve)
        curve_figure(dcurve, args.figures)


def _write(text: str, out: str | None) -> None:
    print(text)
    if out:
        with open(out, "w") as fh:
            fh.write(text + "\n")


def curve_main(depths, args):
    lines = [f"Machine: {machine()}\n"]
    curve = depth_curve(depths, N=args.curve_n)
    emit_curve(lines.append, curve, planner_curve(depths, N=args.curve_n))
    _write("\n".join(lines), args.out)
    if args.figures:
        curve_figure(curve, args.figures)


def figures(rows, ext, outdir, curve):
    plt = _pyplot(outdir)
    if plt is None:
        return
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for (label, _, _), mk in zip(SETTINGS, "osd"):
        built = [r for r in rows if r["setting"] == label]
        more = [r for r in ext if r["setting"] == label]
        Ns = [r["N"] for r in built] + [r["N"] for r in more]
        ax[0].loglog(Ns, [r["nnz"] for r in built] + [r["nnz"] for r in more], mk + "-", label=f"{label}: nonzeros")
        ax[0].loglog(Ns, [r["params"] for r in built] + [r["params"] for r in more], mk + ":", alpha=0.6,
                     label=f"{label}: dense")
    Nline = np.logspace(2, 8, 20)
    ax[0].loglog(Nline, Nline, "k--", label="= N")
    ax[0].axvline(1.5e5, color="grey", lw=0.5)
    ax[0].set_xlabel("N (built ≤ 10⁵, architecture function beyond)")
    ax[0].set_ylabel("parameters")
    ax[0].legend(fontsize=6)
    ax[0].set_title("Sub-linear size: parameters vs N")
    for (label, _, _), mk in zip(SETTINGS, "osd"):
        built = [r for r in rows if r["setting"] == label]
        ax[1].plot([r["bits"] for r in built], [r["float_lost"] / r["N"] for r in built], mk, label=f"ball data: {label}")
    ax[1].plot([r["bits"] for r in curve], [r["lost"] / r["N"] for r in curve], "k^-",
               label="integer-grid data, vardi2022, S = 1…48")
    ax[1].axvline(53, color="k", ls="--", lw=0.8)
    ax[1].set_xscale("log")
    ax[1].set_xlabel("largest weight (bits)")
    ax[1].set_ylabel("fraction of points lost by net.astype(float64)")
    ax[1].set_title("float64 cast of an exact network")
    ax[1].legend(fontsize=7)
    _save(fig, outdir, "bits_tradeoff.png")


if __name__ == "__main__":
    main()
