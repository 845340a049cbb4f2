"""memorize.plot: every figure renders to a PNG with the Agg backend and shows what it claims."""

import importlib.util

import numpy as np
import pytest

import memorize
from memorize import Dense, Network, Residual, hardtanh, identity, relu, step
from memorize.datasets import synthetic
from memorize.errors import ArgumentError, ArgumentTypeError, ShapeError
from memorize.registry import get

matplotlib = pytest.importorskip("matplotlib", reason="matplotlib is not installed: pip install 'memorize[plot]' to run the plot tests")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

import memorize.plot as mplot  # noqa: E402


def _render(fig, path):
    fig.savefig(path, dpi=60)
    plt.close(fig)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert np.std(img[..., :3]) > 0.01  # not a blank canvas
    return img


def test_function_1d_zhang_passes_through_every_point(tmp_path):
    X, y = synthetic(25, 3, rng=0)
    net = memorize.build("zhang2017", X, y)
    fig = mplot.function_1d(net, X, y)
    ax = fig.axes[0]
    curve, data = ax.lines[0], ax.lines[1]
    t, f = curve.get_xdata(), curve.get_ydata()
    ti, yi = data.get_xdata(), data.get_ydata()
    np.testing.assert_allclose(np.interp(ti, t, f), yi, atol=0.05 * np.ptp(y))
    kinks = [ln for ln in ax.lines if ln.get_label().startswith("kinks")]
    assert kinks and kinks[0].get_label() == "kinks (25)"  # one kink per hidden unit, all inside the range
    _render(fig, tmp_path / "f1d.png")


def test_function_1d_generic_deep_network_and_exact(tmp_path):
    rng = np.random.default_rng(3)
    net = Network([Dense(rng.standard_normal((6, 2)), rng.standard_normal(6), relu),
                   Residual(rng.standard_normal((3, 6)), rng.standard_normal(3), rng.standard_normal((6, 3)), np.zeros(6), hardtanh),
                   Dense(rng.standard_normal((4, 6)), rng.standard_normal(4), step),
                   Dense(rng.standard_normal((2, 4)), np.zeros(2), identity)])
    X = rng.standard_normal((10, 2))
    fig = mplot.function_1d(net, X, net(X), output=1)
    labels = [ln.get_label() for ln in fig.axes[0].lines]
    assert "f(x_i)" in labels  # points off the line: their network values are drawn
    _render(fig, tmp_path / "deep.png")
    Xe = np.array([[0.0], [1.0], [3.0]])
    exact = memorize.build("zhang2017", Xe, np.array([1.0, -1.0, 2.0]), exact=True)
    _render(mplot.function_1d(exact, Xe, [1, -1, 2]), tmp_path / "exact.png")
    with pytest.raises(ArgumentError, match="output"):
        mplot.function_1d(net, X, net(X), output=5)


def test_regions_2d_classes_and_values(tmp_path):
    X, y = synthetic(40, 2, classes=3, rng=1)
    net = memorize.build("zhang2017", X, np.eye(3)[y])
    fig = mplot.regions_2d(net, X, y, resolution=120)
    mesh = fig.axes[0].collections[0]
    assert set(np.unique(mesh.get_array())) == {0, 1, 2} and mesh.get_array().size == 120 * 120
    _render(fig, tmp_path / "classes.png")
    Xr, yr = synthetic(30, 2, rng=2)
    fig = mplot.regions_2d(memorize.build("zhang2017", Xr, yr), Xr, yr, resolution=80)
    assert len(fig.axes) == 2  # the output map and its colour bar
    _render(fig, tmp_path / "values.png")
    with pytest.raises(ShapeError, match="2 inputs"):
        mplot.regions_2d(memorize.build("zhang2017", *synthetic(5, 3, rng=0)), np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ArgumentError, match="not among"):
        mplot.regions_2d(net, X, y + 10)


def test_sizes_from_architectures_and_single_plan(tmp_path):
    arch = {n: [get("zhang2017").architecture(n, 32, 10)] for n in (100, 1000, 10000)}
    fig = mplot.sizes(arch)
    line = fig.axes[0].lines[0]
    np.testing.assert_array_equal(line.get_ydata(), [100, 1000, 10000])
    _render(fig, tmp_path / "sizes_arch.png")
    fig = mplot.sizes([get("zhang2017").architecture(500, 8, 1)], quantity="params")
    assert fig.axes[0].patches[0].get_width() == get("zhang2017").architecture(500, 8, 1).num_params
    _render(fig, tmp_path / "bars.png")
    with pytest.raises(ArgumentTypeError, match="plan"):
        mplot.sizes([object()])
    with pytest.raises(ArgumentError, match="quantity"):
        mplot.sizes(arch, quantity="bits")


@pytest.mark.skipif(not hasattr(memorize, "plan"), reason="memorize.plan (issue 7, branch 'bounds') is not on this branch yet")
def test_sizes_from_memorize_plan(tmp_path):
    plans = {n: memorize.plan(n, 64, 10, task="classification") for n in (100, 1000, 10000, 100000)}
    fig = mplot.sizes(plans)
    names = {ln.get_label() for ln in fig.axes[0].lines}
    assert {r.method for r in plans[1000]} <= names
    assert any(lab.startswith("lower bound") for lab in names) == any(
        b.quantity == "hidden units" for b in plans[1000].lower_bounds)
    _render(fig, tmp_path / "plan.png")
    _render(mplot.sizes(plans[1000]), tmp_path / "plan1.png")


def test_dynamics_from_a_mapping(tmp_path):
    e = np.arange(50)
    rec = {"epoch": e, "risk": 1e-4 * 0.9**e, "xi_norm": np.full(50, 1e-2), "xi_par_norm": 1e-2 * 0.95**e,
           "xi_perp_norm": np.full(50, 9e-3), "pattern_kept": e < 40}
    fig = mplot.dynamics(rec)
    labels = [ln.get_label() for ln in fig.axes[0].lines]
    assert labels == ["R(θ)", "‖ξ‖", "‖ξ_par‖", "‖ξ_perp‖"]
    assert fig.axes[0].get_yscale() == "log"
    _render(fig, tmp_path / "dyn.png")
    with pytest.raises(ArgumentError, match="per-epoch"):
        mplot.dynamics({"epoch": e})
    with pytest.raises(ArgumentTypeError, match="record"):
        mplot.dynamics(3)


@pytest.mark.skipif(importlib.util.find_spec("memorize.dynamics") is None,
                    reason="memorize.dynamics (issue 8, branch 'sgd') is not on this branch yet")
def test_dynamics_from_the_sgd_experiment(tmp_path):
    from memorize import dynamics as D

    res = D.near_minimum_experiment(epochs=40, epsilons=(1e-2, 1e-3))
    fig = mplot.dynamics(res)
    assert len(fig.axes) == 2
    _render(fig, tmp_path / "exp.png")
    fig = mplot.dynamics(res.runs[0].record)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), res.runs[0].record.risk)
    _render(fig, tmp_path / "run.png")
