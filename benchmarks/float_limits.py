"""Largest N at which each builder's network is certified in float32 and bfloat16 (Gaussian data, d = 32).

For every builder and format the script builds on N standard Gaussian points in R^32 (seeds
0 … S−1, ``--seeds``; labels: uniform in [−1, 1] for regression, ±1 for binary, 10 classes for
classification, each present ⌈N/10⌉ or ⌊N/10⌋ times, ±1 balanced for binary; default options,
so ReLU networks) and
certifies the network with :func:`memorize.certify` in the format (every point, every summation
order). ``--mode before`` builds in float64 as the builders did before they took ``dtype``
(``dtype`` not passed) and certifies the float64 network in the format; ``--mode after`` passes
``dtype=`` and counts a build that returns (the builder certified it itself) as a pass, a
:class:`~memorize.errors.PrecisionError` as a failure.

An N counts as certified when every seed is. N doubles from 2 until the first failure (or until
one N's builds and certificates take longer than
``--max-seconds``, or N reaches ``--max-n``), then bisects between the last pass and the first
failure on a grid of 1/8 octave. The reported limit is the largest N certified with every
smaller grid N certified too. The builders' ``FLOAT_LIMITS`` tables are this script's output
(``--mode after``), rounded down.

Usage: ``python benchmarks/float_limits.py --mode before [--methods zhang2017,...] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import memorize
from memorize.errors import MemorizeError

D = 32
CLASSES = 10
METHODS = ("zhang2017", "baum1988", "bubeck2020", "yun2019_one_hidden", "yun2019_two_hidden",
           "yun2019_classifier", "yun2019_resnet", "hardt_ma2017")
FORMATS = ("float32", "bfloat16")


def data(method: str, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D))
    task = memorize.registry.get(method).task
    if task == "regression":
        y = rng.uniform(-1, 1, n)
    elif task == "binary":
        y = rng.permutation(np.where(np.arange(n) % 2 == 0, -1.0, 1.0))
    else:  # every class present (as far as N allows): tiny N never degenerates to one class
        y = rng.permutation(np.arange(n) % CLASSES)
    return X, y


OPTIONS: dict = {}  # builder options (--option KEY=VALUE), e.g. activation="hardtanh"


def attempt(method: str, fmt: str, n: int, mode: str, seeds: int = 1) -> tuple[bool, float, str]:
    """(certified for every seed, seconds, note); stops at the first seed that fails."""
    secs = 0.0
    for seed in range(seeds):
        ok, s, note = _attempt(method, fmt, n, mode, seed)
        secs += s
        if not ok:
            return False, secs, f"seed {seed}: {note}"
    return True, secs, note


def _attempt(method: str, fmt: str, n: int, mode: str, seed: int) -> tuple[bool, float, str]:
    X, y = data(method, n, seed)
    t0 = time.perf_counter()
    try:
        if mode == "before":
            net = memorize.build(method, X, y, rng=seed, **OPTIONS)
            cert = memorize.certify(net, X, y, dtype=fmt)
            ok, note = cert.ok, f"{cert.n_certified}/{n}"
        else:
            net = memorize.build(method, X, y, dtype=fmt, rng=seed, **OPTIONS)
            c = net.meta["certificate"]
            ok, note = c["points"] == c["of"], f"{c['points']}/{c['of']}"
    except MemorizeError as exc:
        ok, note = False, f"{type(exc).__name__}: {str(exc)[:90]}"
    return ok, time.perf_counter() - t0, note


def limit(method: str, fmt: str, mode: str, max_n: int, max_seconds: float, log, seeds: int = 1) -> dict:
    """Largest grid N certified (with every smaller grid N certified), by doubling then bisection."""
    results = {}

    def run(n):
        ok, secs, note = attempt(method, fmt, n, mode, seeds)
        results[n] = ok
        log(f"  {method:20s} {fmt:9s} N={n:8d} {'ok  ' if ok else 'FAIL'} {secs:7.2f}s {note}")
        return ok, secs

    n, last_ok, first_bad, capped = 2, None, None, None
    while n <= max_n:
        ok, secs = run(n)
        if not ok:
            first_bad = n
            break
        last_ok = n
        if secs > max_seconds:
            capped = "time"
            break
        n *= 2
    else:
        capped = "max_n"
    if last_ok is not None and first_bad is not None:
        lo, hi = last_ok, first_bad  # bisect in 1/8 octave: lo·2^(k/8)
        for _ in range(3):
            mid = int(round(np.sqrt(lo * hi)))
            if mid in (lo, hi):
                break
            ok, _ = run(mid)
            lo, hi = (mid, hi) if ok else (lo, mid)
        last_ok = lo
    return {"method": method, "format": fmt, "mode": mode, "seeds": seeds, "limit": last_ok or 0,
            "first_failure": first_bad, "measured_to": max(results),
            "capped": capped, "tried": {str(k): v for k, v in sorted(results.items())}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=("before", "after"), required=True)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--formats", default=",".join(FORMATS))
    p.add_argument("--max-n", type=int, default=1 << 16)
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="builder option (JSON value)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    for kv in args.option:
        key, value = kv.split("=", 1)
        try:
            OPTIONS[key] = json.loads(value)
        except json.JSONDecodeError:
            OPTIONS[key] = value

    def log(s):
        print(s, file=sys.stderr, flush=True)

    rows = []
    for m in args.methods.split(","):
        for f in args.formats.split(","):
            rows.append(limit(m, f, args.mode, args.max_n, args.max_seconds, log, args.seeds))
            r = rows[-1]
            print(f"{m:20s} {f:9s} {args.mode:6s} limit {r['limit']:>8} first failure {r['first_failure']}"
                  f"{' (capped: ' + r['capped'] + ')' if r['capped'] else ''}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
