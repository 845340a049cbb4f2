"""Prop 3.2 at ImageNet size, accuracy only: exactly one-hot rows of the default classifier's plain
float64 forward over all 10^6 points (no timing, so no lock). Same data as `bench_yun.py imagenet`.

Usage: PYTHONPATH=src python benchmarks/yun_classifier_full_check.py   (~15-20 min on 2 loaded cores)
"""
import time

import numpy as np

from memorize.constructions.yun2019 import fnn

n, d, C = 10**6, 64, 1000
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d))
y = rng.integers(0, C, n)
t0 = time.time()
net = fnn.yun2019_classifier(X, y)
m = net.meta
print(f"build {time.time() - t0:.0f}s directions {m['directions_tried']} predicted {m['predicted_error']:.3e} "
      f"sampled {m['sampled_code_error']:.3e} guaranteed {m['float64_exact_guaranteed']}", flush=True)
cls = np.searchsorted(np.array(m["classes"]), y)
exact_rows = 0
argmax_ok = 0
worst = 0.0
step = 20000
for s in range(0, n, step):
    out = net(X[s:s + step])
    target = np.zeros_like(out)
    target[np.arange(out.shape[0]), cls[s:s + step]] = 1.0
    exact_rows += int(np.sum(np.all(out == target, axis=1)))
    argmax_ok += int(np.sum(np.argmax(out, axis=1) == cls[s:s + step]))
    worst = max(worst, float(np.max(np.abs(out - target))))
print(f"exactly one-hot rows {exact_rows} / {n}; argmax accuracy {argmax_ok / n:.6f}; max |f - onehot| {worst:.2e}; "
      f"total {time.time() - t0:.0f}s", flush=True)
