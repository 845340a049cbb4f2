"""Regenerate docs/which_network.md's measured sections and its figure.

    PYTHONPATH=src python benchmarks/plot_which_network.py

* the planner's tables for MNIST, CIFAR-10 and ImageNet shapes (``memorize.plan``);
* hidden units vs N (log-log) per registered construction and for the lower bounds, written to
  ``docs/figures/which_network.png`` (matplotlib, imported lazily);
* Theorem 3.3 made concrete: every registered builder on the witness (exact build, exact piece
  count) and random networks below the bound.

Everything between the ``<!-- generated:NAME -->`` / ``<!-- /generated:NAME -->`` markers of the
docs page is replaced by this run's output; run it again after new builders are merged.
"""

from __future__ import annotations

import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

import memorize
from memorize import bounds, registry
from memorize.errors import MemorizeError
from memorize.pieces import max_pieces, theorem33_max_pieces

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "which_network.md"
FIG = ROOT / "docs" / "figures" / "which_network.png"

SHAPES = [
    ("MNIST", 60_000, 784, 10),
    ("CIFAR-10", 50_000, 3072, 10),
    ("ImageNet, the paper's size", 1_000_000, 224 * 224 * 3, 1000),
    ("ImageNet-1k train set", 1_281_167, 224 * 224 * 3, 1000),
]


def md_table(header, rows) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def plan_tables() -> str:
    parts = []
    for name, n, dx, dy in SHAPES:
        p = memorize.plan(n, dx, dy, task="classification")
        rows = [(f"`{r.label}`", t[1], t[2], t[3], t[4], ", ".join(r.assumptions) or "-", t[5],
                 "-" if r.min_bits is None else f"{r.min_bits:.3g}") for r, t in zip(p, p.table())]
        parts.append(f"**{name}** (N = {n:,}, d_x = {dx:,}, {dy:,} classes; `memorize plan --n {n} --dx {dx} "
                     f"--dy {dy} --task classification`)\n")
        parts.append(md_table(("method", "hidden widths (built)", "hidden units (built)", "paper's count",
                               "parameters", "assumptions", "largest weight (bits)",
                               "min bits/weight (P·b ≥ N log₂C)"), rows))
        lb = [(b.name, b.quantity, f"{b.value:,.0f}", b.scope) for b in p.lower_bounds]
        parts.append("\nLower bounds:\n")
        parts.append(md_table(("bound", "quantity", "at least", "scope"), lb))
        if p.skipped:
            parts.append("\nNot applicable: " + "; ".join(f"`{m}` ({why})" for m, why in p.skipped))
        parts.append("")
    return "\n".join(parts)


def figure() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    Ns = np.unique(np.round(np.logspace(2, 7, 26)).astype(int))
    panels = [("regression, d_x = 32, d_y = 1", 32, 1, "regression"),
              ("classification, d_x = 3072, 10 classes (CIFAR-10 shape)", 3072, 10, "classification")]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    for ax, (title, dx, dy, task) in zip(axes, panels):
        series: dict[str, list] = {}
        for n in Ns:
            for r in memorize.plan(int(n), dx, dy, task=task):
                if r.variant:  # a trade-off curve's settings depend on N: one line per default network
                    continue
                series.setdefault(r.method, []).append((n, r.num_hidden))
        for i, (method, pts) in enumerate(sorted(series.items())):
            x, y = zip(*pts)  # ten colours, then the same colours dashed
            ax.loglog(x, y, ls="-" if i < 10 else (0, (6, 2)), color=f"C{i % 10}", lw=2, label=method)
        t1 = [sum(bounds.theorem33_min_hidden(int(n), 1)) for n in Ns]
        t2 = [sum(bounds.theorem33_min_hidden(int(n), 2)) for n in Ns]
        ax.loglog(Ns, t1, "k--", lw=1.2, label="lower: Thm 3.3, 1 hidden layer (collinear data)")
        ax.loglog(Ns, t2, "k:", lw=1.5, label="lower: Thm 3.3, 2 hidden layers (collinear data)")
        # parameter bounds in hidden units of one hidden layer: P = U(d_x + 1 + d_y) + d_y
        per_unit = dx + 1 + dy
        vc = [max(1, -(-(bounds.vc_min_params(int(n), 1) - dy) // per_unit)) for n in Ns]
        ax.loglog(Ns, vc, color="0.5", ls="-.", lw=1.2, label="lower: VC bound, 1 hidden layer (in units)")
        if task == "regression":
            dim = [-(-(bounds.dimension_min_params(int(n), dy) - dy) // per_unit) for n in Ns]
            ax.loglog(Ns, dim, color="0.3", ls=(0, (5, 1, 1, 1)), lw=1.2,
                      label="lower: P ≥ N·d_y, 1 hidden layer (in units)")
        else:
            so = [-(-(bounds.sontag_min_params(int(n)) - dy) // per_unit) for n in Ns]
            ax.loglog(Ns, so, color="0.3", ls=(0, (5, 1, 1, 1)), lw=1.2,
                      label="lower: Sontag (N−1)/2 params, 1 hidden layer (in units)")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("N (data points)")
        ax.set_ylabel("hidden units")
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7, loc="upper left", handlelength=3.5, framealpha=0.6)
    fig.tight_layout()
    FIG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIG, dpi=120)
    plt.close(fig)
    return f"![hidden units vs N](figures/{FIG.name})"


def witness_table(n: int = 16) -> str:
    rows = []
    for name, m in registry.all_methods().items():
        t0 = time.perf_counter()
        net = None
        for dx in (1, 2):  # R^2 only for theorems needing d_x ≥ d_y: collinear, not in general position
            hd = memorize.hard_dataset(n, dx, task=m.task)
            try:
                net = m.builder(hd.X, hd.y, exact=True, rng=0, **dict(m.demo_options))
                break
            except MemorizeError as exc:
                err = exc
        if net is None:
            rows.append((f"`{name}`", "-", "-", "-", "-", f"refused: {err}"[:90]))
            continue
        ok = memorize.verify(net, hd.X, hd.y).ok
        k = hd.pieces(net, output=0)
        secs = time.perf_counter() - t0
        acts = {layer.activation.name for layer in net.layers[:-1]}
        t33 = "-"
        if net.depth in (1, 2) and len(acts) == 1 and net.layers[-1].activation.name == "identity":
            t33 = f"{theorem33_max_pieces(net.widths, net.layers[0].activation.num_pieces):,}"
        rows.append((f"`{name}`", "-".join(map(str, net.widths)), f"{k}", f"{n - 1}",
                     f"{max_pieces(net):,} / {t33}",
                     f"d_x = {net.input_dim}; fits: {ok}; extra units: {net.meta.get('extra_units', 0) or 0}; {secs:.2f} s"))
    return md_table(("method", "widths", "pieces on the witness", "needed (N − 1)",
                     "max for its widths (product / Thm 3.3)", "note"), rows)


def below_bound_table() -> str:
    rows = []
    rng = np.random.default_rng(0)
    for widths in [(8,), (30,), (3, 4), (6, 6)]:
        n = bounds.theorem33_capacity(widths) + 1
        hd = memorize.hard_dataset(n)
        best = 0
        for _ in range(100):
            layers, d = [], 1
            for w in widths:
                layers.append(memorize.Dense(rng.standard_normal((w, d)) * 4, rng.standard_normal(w), memorize.relu))
                d = w
            layers.append(memorize.Dense(rng.standard_normal((1, d)), rng.standard_normal(1)))
            best = max(best, hd.pieces(memorize.Network(layers)))
        rows.append(("-".join(map(str, widths)), n, n - 1, theorem33_max_pieces(widths), best))
    return md_table(("ReLU widths", "N (smallest ruled out)", "pieces needed", "Thm 3.3 max pieces",
                     "most pieces seen in 100 random nets"), rows)


def machine() -> str:
    return f"{platform.platform()}, {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}, numpy {np.__version__}"


def replace(text: str, name: str, body: str) -> str:
    pat = re.compile(rf"(<!-- generated:{name} -->\n).*?(\n<!-- /generated:{name} -->)", re.S)
    if not pat.search(text):
        raise SystemExit(f"marker generated:{name} missing in {DOC}")
    return pat.sub(lambda m: m.group(1) + body + m.group(2), text)


def main() -> None:
    text = DOC.read_text()
    methods = ", ".join(f"`{m}`" for m in registry.all_methods())
    text = replace(text, "machine", f"Generated by `benchmarks/plot_which_network.py` on {machine()}; "
                                    f"registered constructions: {methods}.")
    text = replace(text, "plans", plan_tables())
    text = replace(text, "figure", figure())
    text = replace(text, "witness", witness_table())
    text = replace(text, "below", below_bound_table())
    DOC.write_text(text)
    print(f"updated {DOC} and {FIG}")


if __name__ == "__main__":
    main()
