"""certify's integer rule on routing sums: integer terms whose sum fits the formats are exact in any order.

Claims: the rule proves such rows exact (bound 0); it never applies
when the sum needs more bits than the accumulator has (bound > 0); and what it proves is true:
evaluating in float32 in random summation orders gives the reference value bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import memorize
from memorize.activations import relu, step
from memorize.certificate import bound_chunks
from memorize.network import Dense, Network


def _router(n_in: int, W2: np.ndarray, b2: np.ndarray) -> Network:
    """Step units (exact 0/1 outputs) routed through integer weights."""
    return Network([Dense(np.eye(n_in), -0.5 * np.ones(n_in), step), Dense(W2, b2)])


def test_integer_routing_sum_is_proven_exact_in_float32_and_bfloat16():
    rng = np.random.default_rng(0)
    n_in = 64
    W2 = rng.integers(-3, 4, (5, n_in)).astype(float)
    net = _router(n_in, W2, np.array([1.0, -2.0, 0.0, 7.0, 5.0]))
    X = rng.integers(0, 2, (30, n_in)).astype(float)
    for dtype in ("float32", "bfloat16"):
        (_, out, E), = list(bound_chunks(net, X, dtype))
        assert np.all(E == 0), dtype  # integer terms, every sum below 2^8: exact in any order
        assert np.array_equal(out, (X @ W2.T) + net.layers[1].bias)


def test_sum_beyond_the_accumulator_is_not_called_exact():
    # 2^24 + 1 is not a float32: the order decides whether the 1 survives
    net = _router(3, np.array([[2.0**24, 1.0, -1.0]]), np.zeros(1))
    (_, _, E), = list(bound_chunks(net, np.array([[1.0, 1.0, 0.0]]), "float32"))
    assert E[0, 0] > 0


@given(st.integers(0, 2**16), st.integers(2, 40), st.integers(0, 12))
def test_what_the_rule_proves_holds_in_random_orders(seed, width, shift):
    rng = np.random.default_rng(seed)
    W2 = rng.integers(-2**shift, 2**shift + 1, (3, width)).astype(float) * 2.0 ** -rng.integers(0, 6)
    b2 = rng.integers(-50, 51, 3).astype(float) / 4
    net = _router(width, W2, b2)
    X = rng.integers(0, 2, (8, width)).astype(float)
    (_, out, E), = list(bound_chunks(net, X, "float32"))
    H = X.astype(np.float32)  # the step outputs, exact
    for _ in range(5):
        perm = rng.permutation(width)
        for i in range(X.shape[0]):
            for j in range(3):
                acc = np.float32(b2[j])
                for k in perm:  # one summation order, each product and sum rounded to float32
                    acc = np.float32(acc + np.float32(np.float32(W2[j, k]) * H[i, k]))
                assert abs(float(acc) - out[i, j]) <= E[i, j]


def test_baum_float32_network_is_proven_exact():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 32)), rng.choice([-1.0, 1.0], 64)
    cert = memorize.certify(memorize.build("baum1988", X, y), X, y, dtype="float32")
    assert cert.ok and cert.n_exact == 64
