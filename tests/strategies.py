"""Hypothesis strategies shared by the builder tests."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@st.composite
def grid_datasets(draw, n_max=200, d_max=8, k_max=3, n_min=1, scale=8):
    """Distinct points on a grid of spacing 1/scale in [-4, 4]^d, real labels in [-1, 1]."""
    d = draw(st.integers(1, d_max))
    n = draw(st.integers(n_min, n_max))
    k = draw(st.integers(1, k_max))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pts = rng.integers(-4 * scale, 4 * scale + 1, size=(4 * n + 8, d))
    pts = np.unique(pts, axis=0)
    rng.shuffle(pts)
    n = min(n, len(pts))
    X = pts[:n] / scale
    y = rng.uniform(-1, 1, size=(n, k))
    if k == 1 and draw(st.booleans()):
        y = y[:, 0]
    return X, y


@st.composite
def distinct_float_datasets(draw, n_max=12, d_max=3):
    """Arbitrary distinct finite floats (including tiny differences) with arbitrary real labels."""
    d = draw(st.integers(1, d_max))
    n = draw(st.integers(1, n_max))
    elems = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    X = draw(hnp.arrays(np.float64, (n, d), elements=elems, unique=False))
    X = np.unique(X + 0.0, axis=0)
    y = draw(hnp.arrays(np.float64, (len(X),), elements=st.floats(-1e3, 1e3, allow_nan=False)))
    return X, y
