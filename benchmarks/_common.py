"""Shared helpers for the benchmark scripts: machine description, timing, tables."""

from __future__ import annotations

import os
import platform
import statistics
import time

import warnings

import numpy as np

import memorize
from memorize.errors import NonFiniteError


def machine() -> str:
    """One line naming the machine: CPU model, cores, memory, Python, NumPy and its BLAS."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    blas = ""
    try:
        cfg = np.show_config(mode="dicts")
        blas = ", BLAS " + cfg["Build Dependencies"]["blas"]["name"]
    except Exception:
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, NumPy {np.__version__}{blas}")


def best_of(fn, repeat: int = 3) -> float:
    """Median wall time of ``repeat`` calls (the machine may be shared: the median is robust)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def table(header, rows) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def float_cast_lost(net, X, y):
    """Points lost by ``net.astype(float64)``; every point when a weight overflows float64
    (> 2^1024: the cast itself is refused with NonFiniteError)."""
    try:
        fnet = net.astype(np.float64)
    except NonFiniteError:
        return len(X)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return memorize.verify(fnet, X, y).n_failed
