"""Prop 3.2 at ImageNet size: float64 margin of yun2019_classifier for 16 vs 48 directions.

Usage: PYTHONPATH=src python benchmarks/yun_classifier_directions.py   (~4 min; no timing lock needed,
build times are indicative). Same data and 10^5-point subset as `bench_yun.py imagenet`.
"""
import sys, time, numpy as np
from memorize.constructions.yun2019 import fnn
n, d, C = 10**6, 64, 1000
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d)); y = rng.integers(0, C, n)
idx = np.sort(np.random.default_rng(3).choice(n, 100_000, replace=False))
for kw in [{"n_directions": 16}, {"n_directions": 48}]:
    t0 = time.time()
    net = fnn.yun2019_classifier(X, y, **kw)
    bt = time.time() - t0
    m = net.meta
    rho = np.array(m["class_codes"]); M = m["decoder_gain"]; beta = M * m["code_spacing"] / 2
    h = X[idx]
    for l in net.layers[:2]:
        h = l.forward(h)
    p = h @ net.layers[2].weight[0] + net.layers[2].bias[0]
    r = (p - 1 - beta) / M + rho[0]
    err = np.abs(r - rho[y[idx]])
    print(kw, f"build {bt:.0f}s pred {m['predicted_error']:.3e} sampled4096 {m['sampled_code_error']:.3e} "
          f"guaranteed {m['float64_exact_guaranteed']} subset1e5 err {err.max():.3e} n_over_tol {(err > m['code_error_bound']).sum()} "
          f"maxlevel {m['max_level']:.3e} strategy {m['strategy']} dirs {m['directions_tried']}", flush=True)
