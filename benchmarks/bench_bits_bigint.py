"""Does gmpy2 pay for the exact forward pass? Cost per element of the NumPy object-array
operations the exact kernel performs, with Python ints vs gmpy2.mpz, by operand size.

Run (needs gmpy2, the ``fast`` extra):
    flock /tmp/bench.lock python benchmarks/bench_bits_bigint.py
"""

import platform
import random
import time

import numpy as np


def per_op(fn, reps=5, n=100_000):
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps / n * 1e9


def main():
    try:
        import gmpy2
    except ImportError:
        print("gmpy2 is not installed (pip install gmpy2, or the 'fast' extra); nothing to compare")
        return
    print(f"{platform.platform()}, Python {platform.python_version()}, numpy {np.__version__}, gmpy2 {gmpy2.version()}")
    n = 100_000
    rnd = random.Random(0)
    print("| bits | operation | int ns/elem | mpz ns/elem | int/mpz |")
    print("|---|---|---|---|---|")
    for bits in (64, 128, 256, 512, 1024, 2048):
        a = np.array([rnd.getrandbits(bits) for _ in range(n)], dtype=object)
        b = np.array([rnd.getrandbits(bits) for _ in range(n)], dtype=object)
        c = rnd.getrandbits(bits)
        am = np.array([gmpy2.mpz(v) for v in a], dtype=object)
        bm = np.array([gmpy2.mpz(v) for v in b], dtype=object)
        cm = gmpy2.mpz(c)
        ops = {
            "add columns": (lambda: a + b, lambda: am + bm),
            "add constant (bias)": (lambda: a - c, lambda: am - cm),
            "relu (compare + where)": (lambda: np.where(a > c, a, 0), lambda: np.where(am > cm, am, 0)),
            "scale by constant": (lambda: a * c, lambda: am * cm),
        }
        for name, (fi, fm) in ops.items():
            ti, tm = per_op(fi, n=n), per_op(fm, n=n)
            print(f"| {bits} | {name} | {ti:.0f} | {tm:.0f} | {ti / tm:.2f} |")


if __name__ == "__main__":
    main()
