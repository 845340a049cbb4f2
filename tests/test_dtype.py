"""Builders given ``dtype=``: built for the format, certified in it, or refused with the limit.

Claims checked: the data the builders see are the format's numbers (merged, or refused when
rounding makes two labels collide); the returned network's weights are numbers of the format and
an independent :func:`memorize.certify` proves every point; ``meta["certificate"]`` says so; a
failing certificate raises :class:`PrecisionError` naming the failing count, the measured limit
and the float-safe builder; ``dtype=None`` and ``dtype="float64"`` build the same bytes; the slab
machinery's format rule holds; the planner and the CLI report it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import memorize
from memorize import registry
from memorize.cli import main
from memorize.constructions import _slabs, _target
from memorize.data import prepare
from memorize.errors import (
    ArgumentError, AssumptionError, ConstructionError, MemorizeError, PrecisionError,
)
from memorize.planner import format_status
from memorize.precision import FORMATS

BUILDERS = ("zhang2017", "baum1988", "bubeck2020", "yun2019_one_hidden", "yun2019_two_hidden",
            "yun2019_classifier", "yun2019_resnet", "hardt_ma2017")


def _data(method, n, d=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    task = registry.get(method).task
    if task == "regression":
        return X, rng.uniform(-1, 1, n)
    if task == "binary":
        return X, rng.permutation(np.where(np.arange(n) % 2 == 0, -1.0, 1.0))
    return X, rng.permutation(np.arange(n) % 3)


def _weights_in(net, fmt):
    return all(np.all(fmt.representable(a)) for layer in net.layers for a in layer.arrays().values())


# -- the builders ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method, dtype, n", [
    ("baum1988", "float32", 40), ("baum1988", "bfloat16", 40),
    ("yun2019_one_hidden", "float32", 40), ("yun2019_resnet", "float32", 40),
    ("hardt_ma2017", "float32", 30), ("hardt_ma2017", "bfloat16", 30),
])
def test_certified_builds_hold_format_weights_and_an_independent_certificate(method, dtype, n):
    X, y = _data(method, n)
    net = memorize.build(method, X, y, dtype=dtype)
    fmt = FORMATS[dtype]
    assert _weights_in(net, fmt)
    cert = memorize.certify(net, X, y, dtype=dtype)
    assert cert.ok
    rec = net.meta["certificate"]
    assert rec["format"] == dtype and rec["points"] == rec["of"] == n and rec["rows"] == n
    assert rec["max_bound"] == pytest.approx(float(np.max(cert.bound)))


@pytest.mark.parametrize("method", ["zhang2017", "bubeck2020", "yun2019_two_hidden"])
def test_regression_in_float32_is_refused_with_the_limit_and_the_float_safe_builder(method):
    X, y = _data(method, 20)
    with pytest.raises(PrecisionError) as info:
        memorize.build(method, X, y, dtype="float32")
    msg = str(info.value)
    assert "of 20 points" in msg and "float_safe" in msg and "float32" in msg
    assert "N = " in msg or "not measured" in msg
    assert isinstance(info.value, ConstructionError)


def test_certified_step_counts_exactly_the_points_the_certificate_fails():
    X, y = _data("zhang2017", 12)
    net = memorize.build("zhang2017", X, y)
    cert = memorize.certify(net, X, y, dtype="bfloat16")
    data = prepare(X, y)
    if cert.ok:
        out = _target.certified(net, data, FORMATS["bfloat16"], "zhang2017")
        assert out.meta["certificate"]["points"] == 12
        return
    with pytest.raises(PrecisionError) as info:
        _target.certified(net, data, FORMATS["bfloat16"], "zhang2017")
    assert f"misses {12 - cert.n_certified} of 12 points" in str(info.value)
    assert str(int(cert.uncertified[0])) in str(info.value)
    assert _target.certified(net, data, None, "zhang2017") is net  # no format: untouched


@pytest.mark.parametrize("method", BUILDERS)
def test_float64_dtype_builds_the_same_bytes_and_adds_a_certificate(method):
    X, y = _data(method, 30, d=5)
    a = memorize.build(method, X, y)
    b = memorize.build(method, X, y, dtype="float64")
    c = memorize.build(method, X, y, dtype=None)
    for la, lb, lc in zip(a.layers, b.layers, c.layers):
        for key, arr in la.arrays().items():
            assert np.array_equal(arr, lb.arrays()[key]) and np.array_equal(arr, lc.arrays()[key])
    assert "certificate" not in a.meta and "certificate" not in c.meta
    assert b.meta["certificate"]["format"] == "float64" and b.meta["certificate"]["points"] == 30


@pytest.mark.parametrize("method", BUILDERS)
def test_exact_builds_take_no_dtype(method):
    X, y = _data(method, 6, d=3)
    with pytest.raises(ArgumentError, match="dtype"):
        memorize.build(method, X, y, exact=True, dtype="float32")


@pytest.mark.parametrize("method", ["yang2026", "vardi2022"])
def test_big_integer_constructions_refuse_every_format(method):
    X = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    y = np.arange(20) % 3
    for dtype in ("float64", "float32", "bfloat16"):
        with pytest.raises(PrecisionError, match="exact arithmetic only"):
            memorize.build(method, X, y, dtype=dtype)
    with pytest.raises(ArgumentError, match="dtype"):
        memorize.build(method, X, y, dtype="float8")
    assert memorize.build(method, X, y, dtype=None).is_exact


@given(st.integers(4, 30), st.integers(2, 6), st.integers(0, 2**16), st.sampled_from(["float32", "bfloat16"]))
def test_baum_in_a_format_is_certified_or_refused(n, d, seed, dtype):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.choice([-1.0, 1.0], n)
    try:
        net = memorize.build("baum1988", X, y, dtype=dtype, rng=seed)
    except PrecisionError:
        return
    assert _weights_in(net, FORMATS[dtype])
    assert memorize.certify(net, X, y, dtype=dtype).ok
    assert memorize.verify(net, X, y, dtype=dtype).ok


# -- the data in the format -------------------------------------------------------------------------
def test_in_format_merges_points_that_round_alike_and_keeps_user_indices():
    X = np.array([[1.0], [1.0 + 2.0**-12], [2.0], [3.0]])  # rows 0 and 1 are one bfloat16 number
    data = _target.in_format(prepare(X, np.array([5.0, 5.0, 1.0, 2.0])), FORMATS["bfloat16"], "m")
    assert data.n == 3 and data.n_given == 4
    assert data.index.tolist() == [0, 2, 3]
    assert np.all(FORMATS["bfloat16"].representable(data.X))
    same = _target.in_format(prepare(X, np.arange(4.0)), FORMATS["float32"], "m")
    assert same.n == 4  # float32 tells them apart


def test_in_format_refuses_labels_that_rounding_makes_collide():
    X = np.array([[1.0], [2.0], [1.0 + 2.0**-12]])
    with pytest.raises(PrecisionError, match=r"\(0, 2\).*bfloat16"):
        _target.in_format(prepare(X, np.array([0.0, 1.0, 1.0])), FORMATS["bfloat16"], "m")


def test_in_format_refuses_overflow():
    with pytest.raises(PrecisionError, match="rows \\[1\\] overflow float16"):
        _target.in_format(prepare(np.array([[1.0], [1e6]]), np.zeros(2)), FORMATS["float16"], "m")


def test_refusals_turn_assumption_errors_into_precision_errors_only_in_a_small_format():
    with pytest.raises(PrecisionError, match="cannot build for float32.*float_safe"):
        with _target.refusals(FORMATS["float32"], "zhang2017"):
            raise AssumptionError("X: too close")
    for fmt in (None, FORMATS["float64"]):
        with pytest.raises(AssumptionError):
            with _target.refusals(fmt, "zhang2017"):
                raise AssumptionError("X: too close")


def test_target_format_and_tuned():
    assert _target.target_format(None, exact=False) is None
    assert _target.target_format("bf16", exact=False).name == "bfloat16"
    assert _target.tuned(FORMATS["float64"]) is None and _target.tuned(FORMATS["float32"]).name == "float32"


# -- slabs built for a format ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_format_slabs_are_format_numbers_with_margins_above_the_format_rule(dtype):
    fmt = FORMATS[dtype]
    rng = np.random.default_rng(3)
    X = fmt.round(rng.standard_normal((60, 8)))
    groups = _slabs.split_groups(60, 5, rng=rng)  # under-full groups (5 < d = 8): through the origin
    ss = _slabs.build_slabs(X, groups, rng=1, fmt=fmt, allow_dependent=True)
    assert np.all(fmt.representable(ss.normals)) and np.all(fmt.representable(ss.offsets))
    xnorm = float(np.max(np.linalg.norm(X, axis=1)))
    A = np.abs(X @ ss.normals.T - ss.offsets)
    for g, grp in enumerate(ss.groups):
        outside = np.setdiff1d(np.arange(60), grp)
        margin = A[outside, g].min()
        residual = A[grp, g].max()
        bound = _slabs.format_rounding_bound(xnorm, ss.offsets[g], 8, fmt)
        assert margin > _slabs.FORMAT_FACTOR * (bound + residual)
        if len(grp) < 8:
            assert abs(ss.offsets[g]) <= 1e-6 * xnorm  # through the origin: nothing to round
    assert sorted(np.concatenate(ss.groups).tolist()) == list(range(60))


# -- the planner and the command line -------------------------------------------------------------
def test_plan_reports_the_format_as_a_column_not_a_filter():
    plain = memorize.plan(2000, 32, 10, task="classification")
    p = memorize.plan(2000, 32, 10, task="classification", dtype="float32")
    assert [r.method for r in p] == [r.method for r in plain]
    by = {r.method: r for r in p}
    assert by["float_safe_classifier"].certified_safe is True and by["float_safe_classifier"].precision == "by design"
    assert by["yang2026"].certified_safe is False and by["yang2026"].precision == "exact arithmetic only"
    for r in p:
        limits = registry.get(r.method).float_limits
        if isinstance(limits, dict):
            assert r.certified_safe is (True if 2000 <= limits["float32"] else (None if limits["float32"] >= limits["measured_to"] else False))
    assert all(r.certified_safe is None and r.precision == "" for r in plain)
    assert "certified in float32" in str(p) and "certified in" not in str(plain)


def test_format_status_reads_the_measured_limit():
    m = registry.get("baum1988")
    fake = type(m)(m.name, m.builder, m.summary, m.task, m.architecture, float_limits={"float32": 100, "measured_to": 400})
    assert format_status(fake, 100, "float32") == (True, "yes (limit 100)")
    assert format_status(fake, 101, "float32") == (False, "no (limit 100)")
    assert format_status(fake, 10, "bfloat16") == (None, "not measured")
    top = type(m)(m.name, m.builder, m.summary, m.task, m.architecture, float_limits={"float32": 400, "measured_to": 400})
    assert format_status(top, 500, "float32")[0] is None


def test_cli_plan_and_build_take_dtype(tmp_path, capsys):
    assert main(["plan", "--n", "1000", "--dx", "32", "--dy", "10", "--task", "classification", "--dtype", "bfloat16"]) == 0
    out = capsys.readouterr().out
    assert "certified in bfloat16" in out and "by design" in out and "exact arithmetic only" in out
    X, y = _data("baum1988", 40)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    assert main(["build", "--method", "baum1988", str(tmp_path / "d.npz"), "-o", str(tmp_path / "n.npz"),
                 "--dtype", "float32"]) == 0
    assert memorize.load(tmp_path / "n.npz").meta["certificate"]["format"] == "float32"
    Xz, yz = _data("zhang2017", 20)
    np.savez(tmp_path / "z.npz", X=Xz, y=yz)
    assert main(["build", "--method", "zhang2017", str(tmp_path / "z.npz"), "-o", str(tmp_path / "z_net.npz"),
                 "--dtype", "float32"]) == 2
    assert "float_safe" in capsys.readouterr().err


def test_every_float_builder_registers_its_limits():
    for name in BUILDERS:
        limits = registry.get(name).float_limits
        assert set(limits) == {"float32", "bfloat16", "measured_to"}
        assert all(0 <= limits[f] <= limits["measured_to"] for f in ("float32", "bfloat16"))
    assert registry.get("float_safe").float_limits == "by design"


def test_precision_error_is_a_memorize_error():
    assert issubclass(PrecisionError, MemorizeError) and issubclass(PrecisionError, RuntimeError)
