"""Before/after timing of the builders' rewrite on the arithmetic object (one sitting).

Usage: python benchmarks/bench_structure.py OLD_SRC NEW_SRC [--repeat 5]

OLD_SRC and NEW_SRC are ``src`` directories of two checkouts (e.g. a ``git worktree`` of the
commit before the rewrite and of main). Every measurement runs in a fresh subprocess per tree,
the two trees alternating, so that a busy machine slows both alike; the table gives the median
of ``--repeat`` runs and the ratio new/old. Measured: build and forward time of zhang2017
(N = 10⁵, d = 16) and yun2019_classifier / yun2019_two_hidden (N = 10⁵, d = 32), and the exact
builds of zhang2017 and yun2019_two_hidden on small data.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, table  # noqa: E402

CASES = {
    "zhang2017 N=1e5 d=16": ("zhang2017", 100_000, 16, "regression", {}),
    "yun2019_two_hidden N=1e5 d=32": ("yun2019_two_hidden", 100_000, 32, "regression", {}),
    "yun2019_classifier N=1e5 d=32 C=10": ("yun2019_classifier", 100_000, 32, "classification", {}),
    "zhang2017 exact N=200": ("zhang2017", 200, 8, "regression", {"exact": True}),
    "yun2019_two_hidden exact N=200": ("yun2019_two_hidden", 200, 8, "regression", {"exact": True}),
}

_CHILD = r"""
import json, sys, time
import numpy as np
import memorize
method, n, d, task, opts = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d))
y = rng.integers(0, 10, n) if task == "classification" else rng.uniform(-1, 1, n)
memorize.build(method, X[:50], y[:50], **opts)  # imports and first-call costs out of the timing
t0 = time.perf_counter(); net = memorize.build(method, X, y, **opts); t1 = time.perf_counter()
net(X); t2 = time.perf_counter()
print(json.dumps({"build": t1 - t0, "forward": t2 - t1}))
"""


def run(src: str, case) -> dict:
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(case)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    rows = []
    for name, case in CASES.items():
        res = {"old": [], "new": []}
        for _ in range(args.repeat):
            for tag, src in (("old", args.old), ("new", args.new)):
                res[tag].append(run(src, case))
        for what in ("build", "forward"):
            old = statistics.median(r[what] for r in res["old"])
            new = statistics.median(r[what] for r in res["new"])
            rows.append([name, what, f"{old:.3f}", f"{new:.3f}", f"{new / old:.2f}"])
        print(rows[-2], rows[-1], flush=True)
    print(table(["case", "time", "before (s)", "after (s)", "after/before"], rows))


if __name__ == "__main__":
    main()
