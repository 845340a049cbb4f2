"""PyTorch export: agreement of ``net.to_torch()`` with ``net(X)`` in float64 and float32.

For zhang2017 on N random points in R^32 (real labels in [-1, 1], and 10 random classes as
one-hot targets): max |torch − numpy| relative to max |output| in float64; in float32 the
max error against the labels and the argmax accuracy; export and forward times.
Run: ``flock /tmp/bench.lock python benchmarks/bench_torch_export.py``.
"""

from __future__ import annotations

import platform
import time

import numpy as np

import memorize


def main() -> int:
    import torch

    torch.set_num_threads(2)
    print(f"machine: {platform.platform()}; numpy {np.__version__}; torch {torch.__version__}")
    print("| N | targets | export s | float64 max |torch − numpy| | /max|out| | builder's float64 error estimate 2u·M | "
          "float64 max error vs labels: numpy / torch | float32: max error | float32: argmax accuracy |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in (100, 1000, 10000):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, 32))
        for kind in ("real", "10 classes"):
            if kind == "real":
                y = rng.uniform(-1, 1, n)
                T = y[:, None]
            else:
                c = rng.integers(0, 10, n)
                T = np.eye(10)[c]
                y = T
            net = memorize.build("zhang2017", X, y)
            ref = net(X)
            t0 = time.perf_counter()
            m64 = net.to_torch()
            t_exp = time.perf_counter() - t0
            Xt = torch.from_numpy(X)
            with torch.no_grad():
                o64 = m64(Xt).numpy()
            diff = np.max(np.abs(o64 - ref))
            rel = diff / np.max(np.abs(ref))
            est = net.meta.get("error_estimate", float("nan"))
            e_np, e_t = np.max(np.abs(ref - T)), np.max(np.abs(o64 - T))
            with torch.no_grad():
                o32 = net.to_torch(dtype=torch.float32)(Xt.float()).double().numpy()
            err32 = np.max(np.abs(o32 - T))
            acc = "-" if kind == "real" else f"{np.mean(np.argmax(o32, 1) == c):.4f}"
            print(f"| {n} | {kind} | {t_exp:.3f} | {diff:.1e} | {rel:.1e} | {est:.1e} | {e_np:.1e} / {e_t:.1e} | "
                  f"{err32:.2e} | {acc} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
