"""Exact builds never crash on their own summaries.

An exact network may hold numbers far beyond the float64 range (the integer normals of the slab
builders grow with the dimension), so every number a builder reports in ``meta`` goes through
``Arithmetic.summary``: a float when it has one, else None with its log2 beside. These tests feed
every builder data with large features carrying many decimals, and tiny features, and check
that an exact build either succeeds with an exactly correct network and strict-JSON ``meta`` or
refuses with one of the library's errors; and that the overflow path itself is taken.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import memorize
from memorize import _exact
from memorize._arith import EXACT, FLOAT64
from memorize.errors import MemorizeError
from memorize.registry import get

METHODS = sorted(memorize.methods())
# options a builder cannot do without
OPTIONS = {"yun2019_deep": {"widths": (24, 24, 24, 24, 24)}}
# float_safe networks output fl(y) in a float format by design: their exact error is the rounding
NOT_EXACT_OUTPUT = {"float_safe"}
SLAB_BUILDERS = ["baum1988", "bubeck2020", "yun2019_one_hidden", "yun2019_resnet"]


def _labels(task: str, rng: np.random.Generator, n: int):
    if task == "regression":
        return rng.uniform(-1, 1, n)
    if task == "binary":
        return np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return np.arange(n) % 2


def _check_meta(meta) -> None:
    """Strict JSON (no inf/nan), and every ``<key>_log2`` marks a None value."""
    json.dumps(dict(meta), allow_nan=False)
    for key, v in meta.items():
        if key.endswith("_log2"):
            base = meta[key[: -len("_log2")]]
            if isinstance(base, list):
                assert any(b is None for b in base)
                assert all(math.isfinite(x) for x in v if x is not None)
            else:
                assert base is None and math.isfinite(v)


def _build_and_check(method: str, X: np.ndarray, rng: np.random.Generator):
    y = _labels(get(method).task, rng, X.shape[0])
    try:
        net = memorize.build(method, X, y, exact=True, rng=0, **OPTIONS.get(method, {}))
    except MemorizeError:
        return None  # a refusal must be one of the library's errors, never a raw exception
    _check_meta(net.meta)
    if method not in NOT_EXACT_OUTPUT:
        assert memorize.verify(net, X, y).max_error == 0
    return net


@st.composite
def wide_range_data(draw, n_max=7, d_max=4):
    """Distinct points whose features reach 1e6 with a full 53-bit mantissa, or are about 1e-6."""
    n = draw(st.integers(2, n_max))
    d = draw(st.integers(1, d_max))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1e6, 1e-6, 0.0]))  # 0.0: each feature its own scale
    rng = np.random.default_rng(seed)
    if scale:
        X = rng.uniform(-scale, scale, (n, d))
    else:
        X = rng.uniform(-1, 1, (n, d)) * 10.0 ** rng.integers(-6, 7, (n, d))
    return np.unique(X, axis=0), rng


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=wide_range_data())
def test_exact_builds_of_every_builder_survive_wide_ranges(method, data):
    X, rng = data
    _build_and_check(method, X, rng)


@pytest.mark.parametrize("method", SLAB_BUILDERS)
def test_exact_slab_builds_report_numbers_beyond_float64_as_log2(method):
    """Features from 1e-150 to 1e150 in three dimensions make the exact normals, margins and
    widths overflow float64: the build succeeds and reports them as None with their log2."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (12, 3)) * 10.0 ** rng.integers(-150, 150, (12, 3))
    y = _labels(get(method).task, rng, 12)
    if method == "yun2019_resnet":
        y = np.arange(12) % 3  # d_x >= d_y
    try:
        net = memorize.build(method, X, y, exact=True, rng=0)
    except MemorizeError as exc:  # (the resnet's class step may refuse such data; never overflow)
        assert "overflow" not in str(exc).lower()
        return
    _check_meta(net.meta)
    assert memorize.verify(net, X, y).max_error == 0
    if method in ("baum1988", "bubeck2020"):  # (their margins on these data exceed 2^1024)
        assert any(k.endswith("_log2") for k in net.meta)


def test_summary_values_keeps_floats_and_marks_the_others():
    big, tiny = Fraction(2**1100, 3), Fraction(1, 2**1100)
    out = EXACT.summary(a=Fraction(1, 4), b=big, c=tiny, d=None, e=[big, 1, None], f=0)
    assert out["a"] == 0.25 and out["f"] == 0.0 and out["d"] is None
    assert out["b"] is None and out["b_log2"] == pytest.approx(1100 - math.log2(3))
    assert out["c"] is None and out["c_log2"] == pytest.approx(-1100)
    assert out["e"] == [None, 1.0, None] and out["e_log2"][1] == 0.0 and out["e_log2"][2] is None
    assert "a_log2" not in out and "e" in out
    _check_meta(out)


@settings(max_examples=50, deadline=None)
@given(st.fractions() | st.integers(-(2**2000), 2**2000))
def test_summary_float_is_float_when_representable(v):
    f = _exact.summary_float(v)
    try:
        ref = float(v)
    except OverflowError:
        ref = None
    if ref is not None and math.isfinite(ref) and (ref != 0 or v == 0):
        assert f == ref
    else:
        assert f is None


def test_float64_summaries_are_the_plain_floats():
    vals = np.array([1.5, np.inf, 1e-320])
    assert FLOAT64.summary(x=vals[0], y=vals[1], z=vals, n=None) == {
        "x": 1.5, "y": math.inf, "z": [1.5, math.inf, 1e-320], "n": None}


def test_huge_exact_margins_are_finite():
    margins = np.array([Fraction(2**1100, 3), float("inf"), 5], dtype=object)
    assert EXACT.isfinite(margins).tolist() == [True, False, True]
    assert FLOAT64.isfinite(np.array([1.0, np.inf])).tolist() == [True, False]


@pytest.mark.slow
@pytest.mark.parametrize("method", SLAB_BUILDERS)
def test_exact_slab_builds_on_150_rows_of_thirty_features_in_the_thousands(method):
    """The reported case: 150 rows, features in the thousands (here d = 30), exact."""
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1e3, (150, 30))
    net = _build_and_check(method, X, rng)
    assert net is not None
