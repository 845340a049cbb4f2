"""Make the figures of docs/gallery.md: ``python docs/gallery/make_figures.py`` (needs matplotlib).

Every figure is drawn by ``memorize.plot`` from a network built here, with fixed seeds.
"""

from __future__ import annotations

import os
import sys

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

import memorize  # noqa: E402
import memorize.plot as mplot  # noqa: E402
from memorize import Dense, Network, Residual, hardtanh, identity, relu, relu_like  # noqa: E402

OUT = os.path.dirname(os.path.abspath(__file__))


def save(fig, name):
    path = os.path.join(OUT, name)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print("wrote", path)


def main() -> int:
    rng = np.random.default_rng(0)
    # 1. Zhang et al. along its projection: the spline through every point, one kink per unit.
    X = rng.standard_normal((30, 5))
    y = np.sin(2 * X[:, 0]) + 0.3 * rng.standard_normal(30)
    save(mplot.function_1d(memorize.build("zhang2017", X, y), X, y), "zhang_1d.png")

    # 2. A hand-made deep network along a line: leaky, residual hard-tanh and step kinks.
    W = np.random.default_rng(3)
    net = Network([
        Dense(W.standard_normal((8, 2)), W.standard_normal(8), relu_like(1, 0.2)),
        Residual(W.standard_normal((4, 8)), W.standard_normal(4), W.standard_normal((8, 4)) * 0.5, np.zeros(8), hardtanh),
        Dense(W.standard_normal((6, 8)), W.standard_normal(6), relu),
        Dense(W.standard_normal((1, 6)), np.zeros(1), identity),
    ], {"method": "hand-made deep network"})
    Xl = W.standard_normal((12, 2))
    save(mplot.function_1d(net, Xl, net(Xl)), "deep_1d.png")

    # 3. Class regions of a 2-D memorizer: every point in its own colour, however entangled.
    Xc = rng.standard_normal((60, 2))
    yc = (np.arctan2(Xc[:, 1], Xc[:, 0]) * 3 / np.pi).astype(int) % 3
    yc[rng.choice(60, 8, replace=False)] = rng.integers(0, 3, 8)  # label noise, memorized too
    clf = memorize.MemorizingClassifier(method="zhang2017").fit(Xc, yc)
    save(mplot.regions_2d(clf.network_, Xc, yc, classes=np.arange(3)), "regions_classes.png")

    # 4. Output of a 2-D regression memorizer.
    Xr = rng.uniform(-1, 1, (40, 2))
    yr = np.cos(3 * Xr[:, 0]) * Xr[:, 1]
    save(mplot.regions_2d(memorize.build("zhang2017", Xr, yr), Xr, yr), "regions_values.png")

    # 5. Sizes vs N for CIFAR-10-shaped data (memorize.plan), when the planner is available.
    if hasattr(memorize, "plan"):
        plans = {int(n): memorize.plan(int(n), 3072, 10, task="classification") for n in np.logspace(2, 7, 11)}
        save(mplot.sizes(plans), "sizes_cifar.png")
        save(mplot.sizes(memorize.plan(50000, 3072, 10, task="classification")), "sizes_cifar_50k.png")
    else:
        print("memorize.plan not available: no sizes figure", file=sys.stderr)

    # 6. SGD near a memorizing minimum (memorize.dynamics), when available.
    try:
        from memorize import dynamics
    except ImportError:
        print("memorize.dynamics not available: no dynamics figure", file=sys.stderr)
    else:
        res = dynamics.near_minimum_experiment(epochs=1500, epsilons=(3e-2, 3e-3))
        save(mplot.dynamics(res), "dynamics.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
