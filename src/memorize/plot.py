"""Figures of memorizing networks (optional extra ``plot``: matplotlib, imported lazily).

* :func:`function_1d`: the network along a line through the data, with the points and kinks.
* :func:`regions_2d`: output values or class regions of a network with 2-D inputs.
* :func:`sizes`: hidden units (or parameters) vs N per construction, from ``memorize.plan``.
* :func:`dynamics`: the per-epoch curves of the SGD experiment (``memorize.dynamics``).

Every function returns the matplotlib ``Figure`` (drawing into ``ax`` when given) and never
calls ``plt.show()``; save it with ``fig.savefig(path)``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from . import _exact
from .errors import ArgumentError, ArgumentTypeError, ShapeError
from .network import Dense, Factored, Network

__all__ = ["function_1d", "regions_2d", "sizes", "dynamics"]


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError("memorize.plot needs matplotlib: pip install 'memorize[plot]'") from exc
    return plt


def _axes(ax, figsize):
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _float_net(net: Network) -> Network:
    if not isinstance(net, Network):
        raise ArgumentTypeError(f"net: expected a memorize.Network, got {type(net).__name__}")
    return net.astype(np.float64) if net.is_exact else net


def _as_points(X, d: int) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype == object:
        X = _exact.to_float_array(X)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1 and d == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != d:
        raise ShapeError(f"X: expected shape (N, {d}) for a network with {d} inputs, got {X.shape}")
    return X


def _as_targets(y, n: int, k: int) -> np.ndarray:
    Y = np.asarray(y)
    if Y.dtype == object:
        Y = _exact.to_float_array(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.shape[0] != n:
        raise ShapeError(f"y: has {Y.shape[0]} rows but X has {n} points")
    return Y.astype(np.float64) if Y.dtype.kind in "biuf" else Y


def _projection(net: Network, X: np.ndarray, direction) -> np.ndarray:
    """The line direction: given, the builder's ``meta['direction']``, a rank-one first layer, or the top PC."""
    d = X.shape[1]
    if direction is None and "direction" in net.meta:
        direction = net.meta["direction"]
    if direction is None:
        first = net.layers[0]
        # a factored layer's rows are combinations of the rows of B: its rank shows there
        W = first.B if isinstance(first, Factored) else first.weight if isinstance(first, Dense) else first.U
        if d == 1:
            direction = np.ones(1)
        elif np.linalg.matrix_rank(W) == 1:
            # every unit sees the same projection (e.g. Zhang et al.): that is the line to draw
            direction = W[np.argmax(np.linalg.norm(W, axis=1))]
        else:
            Xc = X - X.mean(axis=0)
            direction = np.linalg.svd(Xc, full_matrices=False)[2][0] if len(X) > 1 else np.eye(d)[0]
    u = np.asarray(direction, dtype=np.float64).reshape(-1)
    if u.shape != (d,) or not np.all(np.isfinite(u)) or not np.any(u):
        raise ArgumentError(f"direction: expected a nonzero vector of length {d}, got shape {u.shape}")
    return u / np.linalg.norm(u)


def _breakpoints(net: Network, x0: np.ndarray, u: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Parameters t where some unit along x0 + t·u crosses a kink (first layer exactly, deeper on the grid)."""
    kinks = {"relu": (0.0,), "relu_like": (0.0,), "step": (0.0,), "hardtanh": (-1.0, 1.0), "identity": ()}
    found = []
    first = net.layers[0]
    if isinstance(first, Factored):
        slope, offset = first.A @ (first.B @ u), first.A @ (first.B @ x0) + first.bias
    else:
        W, b = (first.weight, first.bias) if isinstance(first, Dense) else (first.U, first.b)
        slope, offset = W @ u, W @ x0 + b
    nz = slope != 0
    for level in kinks[first.activation.name]:
        found.append((level - offset[nz]) / slope[nz])
    # Deeper layers: kinks where the activation pattern changes between grid points.
    H = x0 + t[:, None] * u
    h = H
    for i, layer in enumerate(net.layers):
        pre = layer.preactivation(h) if isinstance(layer, Dense) else h @ layer.U.T + layer.b
        if i > 0 and kinks[layer.activation.name]:
            pattern = np.stack([pre >= lv for lv in kinks[layer.activation.name]], axis=-1).reshape(len(t), -1)
            change = np.nonzero(np.any(pattern[1:] != pattern[:-1], axis=1))[0]
            found.append(0.5 * (t[change] + t[change + 1]))
        h = layer.forward(h)
    pts = np.concatenate(found) if found else np.empty(0)
    return np.unique(pts[(pts >= t[0]) & (pts <= t[-1])])


def function_1d(net: Network, X, y, *, direction=None, output: int | None = None, num: int = 4000,
                margin: float = 0.05, show_kinks: bool = True, ax=None):
    """Plot the network along a line through the data, with the data points and the kinks.

    The line is ``x(t) = x̄ + t·u`` with ``x̄`` the data mean and ``u`` (unit) the first of:
    ``direction``; ``net.meta["direction"]`` (Zhang et al. store their projection); the common
    direction of a rank-one first layer; the data's first principal axis. Each point is drawn at
    ``t_i = <x_i − x̄, u>``. When the network depends on ``x`` only through ``<u, x>`` (Zhang et
    al. 2017), the curve passes through every point; otherwise the curve is the network's
    restriction to the line and the values ``f(x_i)`` are drawn too (hollow markers).

    Parameters
    ----------
    net : Network
    X : array_like (N, d)
    y : array_like (N,) or (N, k)
        Targets (class labels are drawn as their values; use one output per class via ``output``).
    direction : array_like (d,), optional
    output : int, optional
        Which output to draw (default: all, up to 10).
    num : int
        Grid points along the line.
    margin : float
        Extra range on each side, as a fraction of the data's range.
    show_kinks : bool
        Mark breakpoints: first-layer kinks exactly, deeper-layer kinks to the grid's resolution.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, memorize, memorize.plot
    >>> X = np.random.default_rng(0).standard_normal((12, 3)); y = np.sin(np.arange(12.0))
    >>> fig = memorize.plot.function_1d(memorize.build("zhang2017", X, y), X, y)
    >>> fig.axes[0].get_xlabel()
    't = ⟨x − x̄, u⟩'
    """
    net = _float_net(net)
    X = _as_points(X, net.input_dim)
    Y = _as_targets(y, X.shape[0], net.output_dim)
    outs = list(range(min(net.output_dim, 10))) if output is None else [int(output)]
    if any(not 0 <= o < net.output_dim for o in outs):
        raise ArgumentError(f"output: must lie in [0, {net.output_dim}), got {output}")
    u = _projection(net, X, direction)
    x0 = X.mean(axis=0)
    ti = (X - x0) @ u
    lo, hi = float(ti.min()), float(ti.max())
    pad = margin * max(hi - lo, 1e-12)
    t = np.linspace(lo - pad, hi + pad, int(num))
    F = net(x0 + t[:, None] * u)
    first = net.layers[0]
    W1 = first.B if isinstance(first, Factored) else first.weight if isinstance(first, Dense) else first.U
    # f depends on x only through <u, x> when every first-layer row is parallel to u
    # (and the block is not residual, which passes x on unchanged).
    through_u = isinstance(first, Dense) and np.allclose(W1 - np.outer(W1 @ u, u), 0, atol=1e-12 * max(1.0, np.abs(W1).max()))
    targets = Y if (Y.dtype.kind == "f" and Y.shape[1] == net.output_dim) else None
    fig, ax = _axes(ax, (7, 4))
    fX = net(X)
    for j, o in enumerate(outs):
        c = f"C{j % 10}"
        ax.plot(t, F[:, o], color=c, lw=1.2, label=f"output {o}" if len(outs) > 1 else "network")
        if targets is not None:
            ax.plot(ti, targets[:, o], "o", color=c, ms=4, label="data" if j == 0 else None)
        if targets is None or not through_u:
            ax.plot(ti, fX[:, o], "o", mfc="none", color=c, ms=7, label="f(x_i)" if j == 0 else None)
    if show_kinks:
        bp = _breakpoints(net, x0, u, t)
        if bp.size:
            ax.plot(bp, np.full(bp.shape, 0.0), "|", color="0.4", ms=8, transform=ax.get_xaxis_transform(),
                    label=f"kinks ({bp.size})")
    ax.set_xlabel("t = ⟨x − x̄, u⟩")
    ax.set_ylabel("output")
    method = net.meta.get("method")
    ax.set_title(f"{method or 'network'} along a line through the data (N = {X.shape[0]})")
    ax.legend(fontsize=8, loc="best")
    return fig


def regions_2d(net: Network, X, y, *, kind: str | None = None, resolution: int = 300, margin: float = 0.1,
               classes=None, ax=None):
    """Plot a 2-input network's output (or class regions) over the data's bounding box, with the points.

    Parameters
    ----------
    net : Network
        ``input_dim`` must be 2.
    X : array_like (N, 2)
    y : array_like (N,)
        Real targets (``kind="values"``) or class labels (``kind="classes"``).
    kind : {"classes", "values"}, optional
        Default: "classes" when the network has several outputs or ``meta["classes"]``,
        otherwise "values".
    resolution : int
        Grid points per axis.
    margin : float
        Extra area around the points, as a fraction of their range.
    classes : array_like, optional
        The label of each output (default ``net.meta["classes"]`` or 0..k−1). With one output
        and ``kind="classes"`` the output is rounded to the nearest class index.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, memorize, memorize.plot
    >>> X = np.random.default_rng(1).standard_normal((30, 2)); y = np.random.default_rng(2).integers(0, 3, 30)
    >>> fig = memorize.plot.regions_2d(memorize.build("zhang2017", X, np.eye(3)[y]), X, y)
    >>> len(fig.axes)
    1
    """
    net = _float_net(net)
    if net.input_dim != 2:
        raise ShapeError(f"net: regions_2d needs a network with 2 inputs, this one has {net.input_dim}")
    X = _as_points(X, 2)
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ShapeError(f"y: has {y.shape[0]} rows but X has {X.shape[0]} points")
    if kind is None:
        kind = "classes" if (net.output_dim > 1 or "classes" in net.meta) else "values"
    if kind not in ("classes", "values"):
        raise ArgumentError(f"kind: expected 'classes' or 'values', got {kind!r}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-12)
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], int(resolution))
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], int(resolution))
    GX, GY = np.meshgrid(gx, gy)
    F = net(np.column_stack([GX.ravel(), GY.ravel()]))
    fig, ax = _axes(ax, (6, 5))
    plt = _plt()
    if kind == "values":
        Z = F[:, 0].reshape(GX.shape)
        yv = y.astype(np.float64).reshape(len(y), -1)[:, 0]
        vmin, vmax = min(Z.min(), yv.min()), max(Z.max(), yv.max())
        mesh = ax.pcolormesh(GX, GY, Z, shading="auto", cmap="viridis", vmin=vmin, vmax=vmax)
        ax.scatter(X[:, 0], X[:, 1], c=yv, cmap="viridis", vmin=vmin, vmax=vmax, edgecolors="k", s=30)
        fig.colorbar(mesh, ax=ax, label="network output (points: targets)")
    else:
        k = net.output_dim
        cls = classes if classes is not None else net.meta.get("classes")
        if y.ndim == 2:  # one-hot rows
            codes = np.argmax(y, axis=1)
            cls = np.arange(y.shape[1]) if cls is None else np.asarray(cls)
        else:
            cls = np.asarray(cls) if cls is not None else (np.arange(k) if k > 1 else np.unique(y))
            order = np.argsort(cls, kind="stable")
            pos = np.clip(np.searchsorted(cls[order], y), 0, len(cls) - 1)
            codes = order[pos]
            if np.any(cls[codes] != y):
                raise ArgumentError("y: holds labels that are not among the network's classes; pass classes=")
        if k > 1:
            region = np.argmax(F, axis=1)
        else:
            region = np.clip(np.rint(F[:, 0]), 0, len(cls) - 1).astype(int)
        ncls = max(len(cls), int(region.max()) + 1)
        cmap = plt.get_cmap("tab10" if ncls <= 10 else "tab20", ncls)
        ax.pcolormesh(GX, GY, region.reshape(GX.shape), shading="auto", cmap=cmap, vmin=-0.5, vmax=ncls - 0.5, alpha=0.45)
        ax.scatter(X[:, 0], X[:, 1], c=codes, cmap=cmap, vmin=-0.5, vmax=ncls - 0.5, edgecolors="k", s=30)
        handles = [plt.Line2D([], [], marker="o", ls="", color=cmap(j), mec="k", label=str(cls[j]))
                   for j in range(min(len(cls), 20))]
        ax.legend(handles=handles, title="class", fontsize=8, loc="best")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    method = net.meta.get("method")
    ax.set_title(f"{method or 'network'}: {'class regions' if kind == 'classes' else 'output'} (N = {X.shape[0]})")
    return fig


def _rows_of(plan) -> list:
    rows = list(plan)
    for r in rows:
        if not (hasattr(r, "method") and hasattr(r, "num_hidden") and hasattr(r, "num_params")):
            raise ArgumentTypeError(
                "plan: expected rows with attributes method, num_hidden, num_params (memorize.plan(...) "
                f"rows or registry.Architecture), got {type(r).__name__}"
            )
    return rows


def sizes(plan, *, quantity: str = "hidden", lower_bounds: bool = True, ax=None):
    """Hidden units (or parameters) per construction: vs N for several plans, or as bars for one.

    Parameters
    ----------
    plan : Plan, or mapping {N: Plan}, or sequence of Plans
        What :func:`memorize.plan` returns (rows with ``method``, ``num_hidden``,
        ``num_params``; :class:`memorize.registry.Architecture` objects work too). With several
        plans (a mapping N → plan, or plans carrying their ``n``), one line per construction on
        log–log axes (its default network: a plan row with a ``variant``, a point of a builder's
        trade-off curve, is drawn only in the bars); with one plan, horizontal bars.
    quantity : {"hidden", "params"}
    lower_bounds : bool
        Also draw the plans' ``lower_bounds`` that bound the same quantity.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import memorize, memorize.plot
    >>> from memorize.registry import get
    >>> arch = {n: [get("zhang2017").architecture(n, 10, 1)] for n in (100, 1000, 10000)}
    >>> fig = memorize.plot.sizes(arch)
    >>> fig.axes[0].get_xscale()
    'log'
    """
    if quantity not in ("hidden", "params"):
        raise ArgumentError(f"quantity: expected 'hidden' or 'params', got {quantity!r}")
    attr = "num_hidden" if quantity == "hidden" else "num_params"
    bound_q = "hidden units" if quantity == "hidden" else "parameters"
    if isinstance(plan, Mapping):
        plans = sorted(((int(n), p) for n, p in plan.items()), key=lambda np_: np_[0])
    elif hasattr(plan, "n") or (isinstance(plan, Sequence) and plan and hasattr(plan[0], "method")):
        plans = [(getattr(plan, "n", None), plan)]
    elif isinstance(plan, Sequence) and all(hasattr(p, "n") for p in plan):
        plans = sorted(((int(p.n), p) for p in plan), key=lambda np_: np_[0])
    elif isinstance(plan, Sequence):
        plans = [(None, plan)]  # _rows_of names the bad row
    else:
        raise ArgumentTypeError(f"plan: expected a plan, a mapping N -> plan or a list of plans, got {type(plan).__name__}")
    fig, ax = _axes(ax, (7, 4.5))
    if len(plans) == 1:
        n, p = plans[0]
        rows = _rows_of(p)
        names = [getattr(r, "label", r.method) for r in rows]
        vals = [getattr(r, attr) for r in rows]
        ax.barh(range(len(rows)), vals, color=["C1" if getattr(r, "residual", False) else "C0" for r in rows])
        ax.set_yticks(range(len(rows)), names)
        ax.invert_yaxis()
        ax.set_xscale("log")
        if lower_bounds:
            for j, b in enumerate(b for b in getattr(p, "lower_bounds", []) if b.quantity == bound_q):
                ax.axvline(b.value, color=f"C{3 + j}", ls="--", lw=1, label=f"lower bound: {b.name}")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
        ax.set_xlabel("hidden units" if quantity == "hidden" else "parameters")
        ax.set_title("memorizing network sizes" + (f" for N = {n:,}" if n else ""))
        return fig
    series: dict[str, list] = {}
    bounds: dict[str, list] = {}
    for n, p in plans:
        for r in _rows_of(p):
            if not getattr(r, "variant", None):  # a curve's knob settings change with N: defaults only
                series.setdefault(r.method, []).append((n, getattr(r, attr)))
        if lower_bounds:
            for b in getattr(p, "lower_bounds", []):
                if b.quantity == bound_q:
                    bounds.setdefault(b.name, []).append((n, b.value))
    for j, (name, pts) in enumerate(sorted(series.items())):
        ns, vs = zip(*pts)
        ax.plot(ns, vs, "o-", color=f"C{j % 10}", ms=3, label=name)
    for j, (name, pts) in enumerate(sorted(bounds.items())):
        ns, vs = zip(*pts)
        ax.plot(ns, vs, ls=("--", ":", "-.")[j % 3], color="k", alpha=0.7, lw=1.2, label=f"lower bound: {name}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (data points)")
    ax.set_ylabel("hidden units" if quantity == "hidden" else "parameters")
    p0 = plans[0][1]
    dims = f" (d_x = {p0.dx}, d_y = {p0.dy})" if hasattr(p0, "dx") else ""
    ax.set_title("memorizing network size vs N" + dims)
    ax.legend(fontsize=7, loc="upper left")
    return fig


_SERIES = (("risk", "R(θ)"), ("xi_norm", "‖ξ‖"), ("xi_par_norm", "‖ξ_par‖"), ("xi_perp_norm", "‖ξ_perp‖"))


def _record_fields(record) -> dict[str, Any]:
    if isinstance(record, Mapping):
        return dict(record)
    if hasattr(record, "as_dict"):
        return dict(record.as_dict())
    if hasattr(record, "__dataclass_fields__"):
        return {k: getattr(record, k) for k in record.__dataclass_fields__}
    raise ArgumentTypeError(
        f"record: expected an SGD record (memorize.dynamics), its result, or a mapping of per-epoch arrays; got {type(record).__name__}"
    )


def dynamics(record, *, ax=None):
    """Per-epoch curves of SGD near a memorizing minimum: R(θ), ‖ξ‖, ‖ξ_par‖, ‖ξ_perp‖ (log scale).

    Parameters
    ----------
    record : SGDRecord, SGDResult, EpsilonRun, NearMinimumResult or mapping
        From :mod:`memorize.dynamics`. A :class:`~memorize.dynamics.NearMinimumResult` draws
        one panel per ε. A mapping needs per-epoch arrays under some of the keys ``risk``,
        ``xi_norm``, ``xi_par_norm``, ``xi_perp_norm`` (and optionally ``epoch``,
        ``pattern_kept``).
    ax : matplotlib Axes, optional
        Only for a single run.

    Returns
    -------
    matplotlib.figure.Figure
        Epochs where the activation pattern at the data differs from θ*'s are shaded.
    """
    runs = getattr(record, "runs", None)
    if runs is not None and not isinstance(record, Mapping):
        runs = list(runs)
        if not runs:
            raise ArgumentError("record: the experiment holds no runs")
        plt = _plt()
        fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.6), squeeze=False, sharey=True)
        for a, run in zip(axes[0], runs):
            _draw_run(a, run.record, title=f"ε = {run.eps:.0e}", t_star=getattr(run, "t_star", None))
        fig.tight_layout()
        return fig
    if hasattr(record, "record") and not isinstance(record, Mapping):
        record = record.record
    fig, ax = _axes(ax, (6.5, 4))
    _draw_run(ax, record, title="SGD near a memorizing minimum")
    return fig


def _draw_run(ax, record, *, title: str, t_star=None):
    fields = _record_fields(record)
    found = [(k, lab) for k, lab in _SERIES if k in fields]
    if not found:
        raise ArgumentError(f"record: none of the per-epoch series {[k for k, _ in _SERIES]} is present")
    n = len(np.asarray(fields[found[0][0]]))
    epoch = np.asarray(fields.get("epoch", np.arange(n)), dtype=float)
    for j, (k, lab) in enumerate(found):
        v = np.asarray(fields[k], dtype=float)
        if v.shape != epoch.shape:
            raise ShapeError(f"record: series {k!r} has {v.shape[0]} entries, epoch has {epoch.shape[0]}")
        ax.plot(epoch, np.where(v > 0, v, np.nan), color=f"C{j}", lw=1.3, label=lab)
    kept = fields.get("pattern_kept")
    if kept is not None:
        lost = ~np.asarray(kept, dtype=bool)
        if lost.any():
            ax.fill_between(epoch, 0, 1, where=lost, color="red", alpha=0.12, transform=ax.get_xaxis_transform(),
                            label="pattern changed")
    if t_star is not None:
        ax.axvline(t_star, color="k", ls=":", lw=1, label="t*")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="best")
