"""memorize.plan: the paper's numbers, ranking, applicability, text form and CLI."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memorize
from memorize import bounds, registry
from memorize.cli import main
from memorize.errors import ArgumentError, UnknownMethodError

CIFAR = dict(n=50_000, dx=3072, dy=10, task="classification")
IMAGENET = dict(n=1_000_000, dx=224 * 224 * 3, dy=1000, task="classification")


def _row(p, method):
    if method not in registry.all_methods():
        pytest.skip(f"{method} is not registered on this branch (it lands with its builder)")
    rows = [r for r in p if r.method == method]
    assert rows, f"{method} is registered but plan left it out: {p.skipped}"
    return rows[0]


def test_cifar10_one_hidden_layer_needs_106_relus():
    r = _row(memorize.plan(**CIFAR), "yun2019_one_hidden")
    assert r.paper.num_hidden == 106  # the paper's 4N/d_x + 4d_y, rounded up
    assert r.num_hidden <= 106 and r.widths == (r.num_hidden,)  # the builder never needs more
    assert "106" in str(memorize.plan(**CIFAR))


def test_cifar10_resnet_needs_126_relus():
    r = _row(memorize.plan(**CIFAR), "yun2019_resnet")
    assert r.paper.num_hidden == 126 and r.residual
    assert r.num_hidden <= 126


def test_imagenet_needs_2k_2k_4k():
    r = _row(memorize.plan(**IMAGENET), "yun2019_classifier")
    assert r.paper.widths == (2000, 2000, 4000)
    assert r.widths == (2000, 2000, 4000)
    assert "2k-2k-4k" in str(memorize.plan(**IMAGENET))


def test_rows_are_the_registry_architectures_ranked():
    for rank in ("hidden", "params"):
        p = memorize.plan(**CIFAR, rank=rank)
        assert p, "no construction applies to CIFAR-10"
        for r in p:
            a = bounds.architecture(r.method, 50_000, 3072, 1 if r.task == "binary" else 10, **r.options)
            assert (r.widths, r.num_hidden, r.num_params) == (a.widths, a.num_hidden, a.num_params)
            assert r.depth == len(r.widths) and isinstance(r.assumptions, tuple)
            assert r.min_bits == pytest.approx(bounds.min_weight_bits(50_000, r.num_params, 10))
        keys = [(r.num_hidden, r.num_params) if rank == "hidden" else (r.num_params, r.num_hidden) for r in p]
        assert keys == sorted(keys)
        assert {r.method for r in p} | {s[0] for s in p.skipped} == set(registry.all_methods())


def test_applicability_by_task_and_assumption():
    reg = memorize.plan(1000, 16, 1, task="regression")
    assert all(registry.get(r.method).task == "regression" for r in reg)
    assert "zhang2017" in [r.method for r in reg]
    cls = memorize.plan(1000, 16, 5, task="classification")
    assert all(registry.get(r.method).task != "binary" for r in cls)  # 5 classes: no binary builders
    nogp = memorize.plan(1000, 16, 5, task="classification", general_position=False)
    assert all("general position" not in " ".join(r.assumptions) for r in nogp)
    binary = memorize.plan(1000, 16, task="binary")
    assert binary.dy == 2
    for r in binary:
        assert registry.get(r.method).task in ("binary", "classification", "regression")


def test_text_form_lists_rows_and_lower_bounds():
    p = memorize.plan(**CIFAR)
    text = str(p)
    assert "N = 50,000" in text and "lower bounds" in text
    for r in p:
        assert r.method in text
    for b in p.lower_bounds:
        assert b.name in text
    assert "Thm 3.3, 2 hidden layers" in text


def test_zhang_row_and_options():
    p = memorize.plan(1000, 10, 2, task="regression", methods=["zhang2017"], options={"zhang2017": {"theta": 0.1}})
    assert len(p) == 1 and p[0].widths == (1000,) and p[0].options == {"theta": 0.1}
    assert p[0].num_params == 1000 * 10 + 1000 + 2 * 1000 + 2
    assert p[0].min_bits is None


def test_plan_refuses_bad_arguments():
    with pytest.raises(ArgumentError, match="task"):
        memorize.plan(100, 2, task="ranking")
    with pytest.raises(ArgumentError, match="rank"):
        memorize.plan(100, 2, rank="speed")
    with pytest.raises(ArgumentError, match="n"):
        memorize.plan(1, 2)
    with pytest.raises(ArgumentError, match="delta"):
        memorize.plan(100, 2, delta=-1.0)
    with pytest.raises(ArgumentError, match="options"):
        memorize.plan(100, 2, options={"nope": {}})
    with pytest.raises(UnknownMethodError):
        memorize.plan(100, 2, methods=["nope"])
    with pytest.raises(ArgumentError, match="dy"):
        memorize.plan(100, 2, 3, task="binary")


def test_cli_plan(capsys):
    assert main(["plan", "--n", "50000", "--dx", "3072", "--dy", "10", "--task", "classification"]) == 0
    out = capsys.readouterr().out
    assert "memorize plan: N = 50,000" in out and "zhang2017" in out and "lower bounds" in out
    assert main(["plan", "--n", "100", "--dx", "2", "--method", "zhang2017", "--option", "zhang2017:theta=0.2"]) == 0
    assert "zhang2017" in capsys.readouterr().out
    assert main(["plan", "--n", "100", "--dx", "2", "--option", "theta=0.2"]) == 2
    assert "METHOD:KEY=VALUE" in capsys.readouterr().err


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 10**6),
    dx=st.integers(1, 4096),
    dy=st.integers(1, 50),
    task=st.sampled_from(["regression", "classification"]),
    rank=st.sampled_from(["hidden", "params"]),
)
def test_plan_properties(n, dx, dy, task, rank):
    p = memorize.plan(n, dx, dy, task=task, rank=rank)
    # every registered method is either planned (once with its default network, then the points
    # of its trade-off curve) or skipped with a reason
    assert sorted([r.method for r in p if not r.variant] + [s[0] for s in p.skipped]) == sorted(registry.all_methods())
    assert all(why for _, why in p.skipped)
    for r in p:
        assert r.num_hidden == sum(r.widths) and r.depth == len(r.widths) and r.num_params > 0
        # no construction beats the parameter bound from the VC dimension for its depth
        depth = 2 * r.depth + 1 if r.residual else r.depth
        assert r.num_params >= bounds.vc_min_params(n, depth)
        if task == "regression":
            assert r.num_params >= bounds.dimension_min_params(n, dy)
        if r.paper is not None and r.method in ("yun2019_one_hidden", "yun2019_resnet", "zhang2017", "hardt_ma2017"):
            assert r.num_hidden <= r.paper.num_hidden
    keys = [(r.num_hidden, r.num_params) if rank == "hidden" else (r.num_params, r.num_hidden) for r in p]
    assert keys == sorted(keys)
    assert [b.name for b in p.lower_bounds] == [b.name for b in bounds.lower_bounds(n, dx, dy, task=task)]


def test_registry_assumptions_field_is_used(monkeypatch):
    def arch(n, dx, dy=1, **_):
        return registry.Architecture("fake_gp", dx, (3,), dy, 3 * dx + 3 + 3 * dy + dy)

    fake = registry.Method("fake_gp", lambda X, y, **o: None, "fake", "regression", arch,
                           assumptions=("general position", "labels in [-1, 1]"))
    monkeypatch.setitem(registry._REGISTRY, "fake_gp", fake)
    p = memorize.plan(100, 4, task="regression")
    row = [r for r in p if r.method == "fake_gp"][0]
    assert row.assumptions == ("general position", "labels in [-1, 1]") and row.widths == (3,)
    assert "general position, labels in [-1, 1]" in str(p)
    q = memorize.plan(100, 4, task="regression", general_position=False)
    assert "fake_gp" not in [r.method for r in q]
    assert ("fake_gp", "assumes general position") in q.skipped


GRID = [(2, 1, 1), (50, 3, 2), (1000, 64, 10), (10**5, 32, 10), (10**6, 3072, 1000)]


@pytest.mark.parametrize("n,dx,dy", GRID)
@pytest.mark.parametrize("task", ["regression", "classification", "binary"])
def test_plan_lists_every_builder_with_a_size_or_a_reason(n, dx, dy, task):
    dy = 2 if task == "binary" else dy
    p = memorize.plan(n, dx, dy, task=task)
    planned = {r.method for r in p if not r.variant}
    skipped = dict(p.skipped)
    assert len(skipped) == len(p.skipped) and not planned & set(skipped)
    text = str(p)
    for name, m in registry.all_methods().items():
        if name in planned:
            (row,) = [r for r in p if r.method == name and not r.variant]
            arch = m.architecture(n, dx, 1 if m.task == "binary" else dy, **row.options)
            assert (row.widths, row.num_params) == (tuple(arch.widths), arch.num_params) and row.num_params > 0
            assert f"{row.num_params:,}" in text
        else:
            assert name in skipped and len(skipped[name]) > 10, (name, skipped.get(name))
            assert f"  {name}: " in text
        # a builder of this task is never skipped for its task
        if name in skipped and m.task == task:
            assert "labels only" not in skipped[name]


@pytest.mark.parametrize("n", [10**3, 10**4, 10**5])
def test_plan_offers_the_vardi_depth_curve_with_bits(n):
    p = memorize.plan(n, 8, 10, task="classification", rank="params")
    curve = sorted((r for r in p if r.method == "vardi2022"), key=lambda r: -r.depth)
    assert not curve[0].variant and all(r.variant for r in curve[1:]) and len(curve) >= 3
    depths = [r.depth for r in curve]
    assert depths == sorted(set(depths), reverse=True) and depths[0] >= 4 * depths[-1]
    assert all(r.variant["depth"] == r.depth for r in curve[1:])
    # along the curve: wider, more nonzeros (about N/L), fewer bits per weight
    assert [max(r.widths) for r in curve] == sorted(max(r.widths) for r in curve)
    assert [r.num_nonzero for r in curve] == sorted(r.num_nonzero for r in curve)
    bits = [r.max_weight_bits for r in curve]
    assert bits == sorted(bits, reverse=True) and bits[-1] < bits[0]
    assert all(r.min_bits is not None for r in curve)
    text = str(p)
    assert all(f"vardi2022 depth={r.depth}" in text for r in curve[1:]) and "trade-off curve" in text
    # each point is what the architecture function gives for that depth budget, and the user's
    # own knobs replace the curve
    arch = registry.get("vardi2022").architecture(n, 8, 10, depth=curve[-1].depth)
    assert (arch.widths, arch.num_params) == (curve[-1].widths, curve[-1].num_params)
    mine = memorize.plan(n, 8, 10, task="classification", options={"vardi2022": {"depth": depths[1]}})
    assert [r.depth for r in mine if r.method == "vardi2022"] == [depths[1]]
