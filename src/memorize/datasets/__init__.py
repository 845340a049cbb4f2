"""Small real datasets bundled with memorize."""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_digits", "synthetic"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits (test part): X (1797, 64) float64 pixel counts 0..16, y (1797,) int.

    Licence CC BY 4.0; cite Alpaydin & Kaynak (1998), UCI Machine Learning Repository,
    https://doi.org/10.24432/C50P49. See ``memorize/datasets/README.md``.

    Examples
    --------
    >>> from memorize.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, y.shape
    ((1797, 64), (1797,))
    """
    with resources.files(__name__).joinpath("digits.npz").open("rb") as fh:
        with np.load(fh, allow_pickle=False) as z:
            return z["X"].astype(np.float64), z["y"].astype(np.int64)


def synthetic(n: int, d: int, *, classes: int | None = None, rng=0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian points ``X ~ N(0, I_d)`` with uniform labels in [−1, 1] or ``classes`` classes."""
    gen = np.random.default_rng(rng)
    X = gen.standard_normal((n, d))
    y = gen.integers(0, classes, n) if classes else gen.uniform(-1.0, 1.0, n)
    return X, y
