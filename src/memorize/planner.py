"""``memorize.plan``: every applicable construction for a problem size, ranked, with the lower bounds.

The planner knows no size formula of its own: it asks each registered builder's
``architecture`` function (:func:`memorize.bounds.architecture`) and reads the theorem's task and
assumptions from the registry entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import registry
from ._checks import check_delta, check_int
from .bounds import LowerBound, PaperSize, accepts, lower_bounds, min_weight_bits, paper_size
from .errors import ArgumentError, MemorizeError
from .precision import as_format

__all__ = ["PlanRow", "Plan", "plan", "format_status"]

@dataclass(frozen=True)
class PlanRow:
    """One construction's network for the planned problem.

    Attributes
    ----------
    method : str
    widths : tuple of int
    depth, num_hidden, num_params : int
    num_nonzero : int or None
        Structural nonzero weights and biases where the construction counts them (the
        parameter count of the sparse papers; ``num_params`` counts zeros too).
    residual : bool
    activation : str
    assumptions : tuple of str
        What the theorem needs of the data.
    task : str
        The builder's task ("regression", "classification", "binary").
    max_weight_bits : int or None
        Largest weight's bit length where the construction fixes it.
    min_bits : float or None
        Bits per weight that *any* network with this many parameters needs for the labels
        (:func:`memorize.bounds.min_weight_bits`); None for real labels.
    options : dict
        Options passed to the architecture function.
    summary, reference, notes : str
    paper : PaperSize or None
        The size the theorem *states* as sufficient, in the paper's terms
        (:func:`memorize.bounds.paper_size`); the builder may use fewer units.
    certified_safe : bool or None
        With ``plan(..., dtype=...)``: whether the builder's network is certified in that format
        at this N — True by design (``float_safe*``) or at or below its measured limit, False
        above it or for exact-only constructions, None when not known (not measured, or N
        beyond the largest N measured without a failure). None without ``dtype``.
    precision : str
        The reason, e.g. ``"by design"``, ``"yes (limit 8,192)"``, ``"no (limit 64)"``,
        ``"exact arithmetic only"``, ``"not measured"``; empty without ``dtype``.
    variant : dict
        The knob settings of a further point on the builder's trade-off curve (the registry's
        ``plan_variants``, e.g. ``{"depth": 361}`` for ``vardi2022``); empty for its default
        network.
    """

    method: str
    widths: tuple
    depth: int
    num_hidden: int
    num_params: int
    residual: bool
    activation: str
    assumptions: tuple
    task: str
    max_weight_bits: int | None = None
    min_bits: float | None = None
    options: dict = field(default_factory=dict)
    summary: str = ""
    reference: str = ""
    notes: str = ""
    paper: PaperSize | None = None
    certified_safe: bool | None = None
    precision: str = ""
    num_nonzero: int | None = None
    variant: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The method, followed by the variant's settings if any (``"vardi2022 depth=361"``)."""
        return " ".join([self.method, *(f"{k}={v}" for k, v in self.variant.items())])


def _fmt_widths(ws) -> str:
    if not ws:
        return "-"
    if len(ws) > 6:
        return f"{ws[0]}×{len(ws)}" if len(set(ws)) == 1 else f"{'-'.join(map(str, ws[:3]))}-…({len(ws)} layers)"
    return "-".join(_short(w) for w in ws)


def _short(w: int) -> str:
    if w >= 10**6 and w % 10**6 == 0:
        return f"{w // 10**6}M"
    return f"{w // 1000}k" if w >= 1000 and w % 1000 == 0 else str(w)


class Plan(list):
    """A list of :class:`PlanRow` (ranked), with ``lower_bounds``, ``skipped`` and a text form.

    Attributes
    ----------
    n, dx, dy : int
    task : str
    delta : float or None
    rank : str
        "hidden" or "params".
    dtype : str or None
        The format asked about (its name), or None.
    lower_bounds : list of LowerBound
    skipped : list of (method, reason)
        Registered constructions that do not apply, and why.
    """

    def __init__(self, rows, *, n, dx, dy, task, delta, rank, lower, skipped, dtype=None):
        super().__init__(rows)
        self.n, self.dx, self.dy, self.task, self.delta, self.rank = n, dx, dy, task, delta, rank
        self.dtype = dtype
        self.lower_bounds: list[LowerBound] = list(lower)
        self.skipped: list[tuple] = list(skipped)

    def table(self) -> list[tuple]:
        """Rows of strings: method, widths, hidden, paper's count, params, weight bits, assumptions
        (and, with ``dtype``, whether the network is certified in that format at this N)."""
        out = []
        for r in self:
            bits = "-" if r.max_weight_bits is None else str(r.max_weight_bits)
            kind = "res " if r.residual else ""
            paper = "-" if r.paper is None else (
                f"{r.paper.num_hidden:,}" if len(r.paper.widths) == 1 or r.residual
                else f"{_fmt_widths(r.paper.widths)} = {r.paper.num_hidden:,}")
            params = f"{r.num_params:,}" if r.num_nonzero in (None, r.num_params) else (
                f"{r.num_params:,} ({r.num_nonzero:,} nonzero)")
            row = (r.label, kind + _fmt_widths(r.widths), f"{r.num_hidden:,}", paper, params, bits,
                   ", ".join(r.assumptions) or "-")
            out.append(row if self.dtype is None else row[:6] + (r.precision,) + row[6:])
        return out

    def __str__(self) -> str:
        head = (f"memorize plan: N = {self.n:,}, d_x = {self.dx:,}, d_y = {self.dy:,}, task = {self.task}"
                + (f", δ = {self.delta:g}" if self.delta is not None else "")
                + (f", format {self.dtype}" if self.dtype is not None else "")
                + f"; ranked by {'hidden units' if self.rank == 'hidden' else 'parameters'}")
        header = ("method", "hidden widths", "hidden", "paper's count", "params", "weight bits", "assumptions")
        if self.dtype is not None:
            header = header[:6] + (f"certified in {self.dtype}",) + header[6:]
        rows = self.table()
        cols = list(zip(*([header] + rows))) if rows else [[h] for h in header]
        w = [max(len(c) for c in col) for col in cols]
        lines = [head, ""]
        lines.append("  ".join(h.ljust(x) for h, x in zip(header, w)).rstrip())
        lines.append("  ".join("-" * x for x in w))
        for r in rows:
            lines.append("  ".join(c.ljust(x) for c, x in zip(r, w)).rstrip())
        if not rows:
            lines.append("(no registered construction applies)")
        if rows:
            lines += ["", "hidden: what the builder produces (registry); paper's count: the theorem's stated sufficient size."]
            if self.dtype is not None:
                lines += [f"certified in {self.dtype}: by design (float_safe*), or N against the builder's measured limit "
                          "(Gaussian data in R^32; the builder certifies its own network and refuses when it fails)."]
        if any(r.variant for r in self):
            lines.append("rows 'method key=value': further points of that builder's trade-off curve, built with "
                         "those options (vardi2022 depth=L: parallel copies within L hidden layers).")
        if self.lower_bounds:
            lines += ["", "lower bounds, for the worst data of this size (some data sets of N points need this many; "
                          "yours may need fewer, e.g. when they are in general position or well separated):"]
            for b in self.lower_bounds:
                lines.append(f"  {b}")
        if self.skipped:
            lines += ["", "not applicable:"]
            for name, why in self.skipped:
                lines.append(f"  {name}: {why}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # IPython shows the table
        p.text(str(self))


def plan(
    n: int,
    dx: int,
    dy: int = 1,
    *,
    task: str = "regression",
    delta: float | None = None,
    general_position: bool | None = None,
    rank: str = "hidden",
    methods=None,
    options: dict | None = None,
    dtype=None,
) -> Plan:
    """Every registered construction that applies to N points in R^{d_x} with d_y outputs, ranked.

    Parameters
    ----------
    n : int
        Number of (distinct) data points.
    dx : int
        Input dimension.
    dy : int, default 1
        Label dimension for regression, number of classes for classification.
    task : {"regression", "classification", "binary"}
        Regression offers real-label builders; classification offers one-hot classifiers plus
        the real-label builders fitting one-hot targets (and binary builders when d_y = 2);
        "binary" means two classes.
    delta : float, optional
        Separation of the points (after scaling into the unit ball). Passed to constructions
        whose size depends on it and used by the Yang & Yang lower bound.
    general_position : bool, optional
        False drops constructions that assume general position (e.g. integer pixel data with
        constant features); None (default) keeps them and lists the assumption.
    rank : {"hidden", "params"}
        Sort by hidden units (ties by parameters) or by parameters.
    methods : iterable of str, optional
        Restrict to these registered methods.
    options : dict, optional
        Per-method knobs, ``{"yun2019_deep": {"widths": [...]}, ...}``, passed to the
        architecture functions.
    dtype : str, NumPy or torch dtype, optional
        A number format ("float32", "bfloat16", ...): every row then says whether the builder's
        network is certified in it at this N (``certified_safe``, ``precision``), from the
        builder's registered ``float_limits``: by design for ``float_safe`` and
        ``float_safe_classifier``, measured limits for the others, exact arithmetic only for the
        big-integer constructions. A column, not a filter: every applicable row is kept.

    Returns
    -------
    Plan
        A list of :class:`PlanRow` with attributes ``method``, ``widths``, ``num_hidden``,
        ``num_params``, ``assumptions`` (...); ``print(plan)`` shows the table, the lower bounds
        that apply (:func:`memorize.bounds.lower_bounds`) and the constructions that do not.

    Notes
    -----
    Sizes come from each builder's registered architecture function, the same numbers the
    builder produces on general-position data (tested). The paper's examples: CIFAR-10
    (N = 50 000, d_x = 3 072, 10 classes) needs 106 ReLUs in one hidden layer (Yun et al.
    Corollary 4.2) and 126 in a ResNet (Theorem 4.1); ImageNet-sized data (10⁶ points, 1 000
    classes) needs hidden widths 2k-2k-4k (Proposition 3.2).

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers. NeurIPS 2019.

    Examples
    --------
    >>> import memorize
    >>> p = memorize.plan(1000, 10, 1, task="regression", methods=["zhang2017"])
    >>> p[0].method, p[0].widths
    ('zhang2017', (1000,))
    >>> q = memorize.plan(1000, 10, 5, task="classification", dtype="float32", methods=["float_safe_classifier"])
    >>> q[0].certified_safe, q[0].precision
    (True, 'by design')
    """
    n = check_int("n", n, 2)
    dx = check_int("dx", dx, 1)
    dy = check_int("dy", dy, 1)
    if task not in ("regression", "classification", "binary"):
        raise ArgumentError(f"task: expected 'regression', 'classification' or 'binary', got {task!r}")
    if task == "binary":
        if dy not in (1, 2):
            raise ArgumentError(f"dy: a binary task has 2 classes, got dy = {dy}")
        task, dy = "classification", 2
    if rank not in ("hidden", "params"):
        raise ArgumentError(f"rank: expected 'hidden' or 'params', got {rank!r}")
    if delta is not None:
        delta = check_delta(delta)
    fmt = None if dtype is None else as_format(dtype)
    options = dict(options or {})
    every = registry.all_methods()
    if methods is not None:
        names = [registry.get(m).name for m in methods]
    else:
        names = list(every)
    resolved = {}
    for k, v in options.items():
        try:
            resolved[registry.resolve(k)] = v
        except MemorizeError:
            raise ArgumentError(f"options: unknown method {k!r}; available: {', '.join(every)}") from None
    options = resolved

    rows, skipped = [], []
    for name in names:
        m = every[name]
        assumptions = m.assumptions
        if m.architecture is None:
            skipped.append((name, "registers no architecture function"))
            continue
        # Which output dimension the builder's network has for this problem.
        if task == "regression":
            if m.task != "regression":
                skipped.append((name, f"{m.task} labels only"))
                continue
            out_dim = dy
        else:
            if m.task == "binary":
                if dy != 2:
                    skipped.append((name, f"binary labels only (this problem has {dy} classes)"))
                    continue
                out_dim = 1
            else:
                out_dim = dy
        if general_position is False and any("general position" in a for a in assumptions):
            skipped.append((name, "assumes general position"))
            continue
        opts = dict(options.get(name, {}))
        if delta is not None and "delta" not in opts and accepts(name, "delta"):
            opts["delta"] = delta
        try:
            arch = m.architecture(n, dx, out_dim, **opts)
        except TypeError as exc:
            skipped.append((name, f"needs options ({exc})"))
            continue
        except MemorizeError as exc:
            skipped.append((name, str(exc)))
            continue
        except MemoryError:
            skipped.append((name, f"its size cannot be computed for N = {n:,} within this machine's memory"))
            continue
        status = {} if fmt is None else dict(zip(("certified_safe", "precision"), format_status(m, n, fmt.name)))
        rows.append(_plan_row(m, arch, opts, {}, n, dx, dy, task, assumptions, status))
        if m.plan_variants is not None and name not in options:  # the user's own knobs replace the curve
            for variant in m.plan_variants(n, dx, out_dim, **opts):
                both = {**opts, **variant}
                rows.append(_plan_row(m, m.architecture(n, dx, out_dim, **both), both, variant, n, dx, dy, task,
                                      assumptions, status))
    key = (lambda r: (r.num_hidden, r.num_params, r.method)) if rank == "hidden" else (
        lambda r: (r.num_params, r.num_hidden, r.method))
    rows.sort(key=key)
    lower = lower_bounds(n, dx, dy, task=task, delta=delta)
    return Plan(rows, n=n, dx=dx, dy=dy, task=task, delta=delta, rank=rank, lower=lower, skipped=skipped,
                dtype=None if fmt is None else fmt.name)


def format_status(m: registry.Method, n: int, fmt: str) -> tuple[bool | None, str]:
    """Whether the network of method ``m`` is certified in the format ``fmt`` at N = ``n``, and why.

    Examples
    --------
    >>> from memorize import registry
    >>> format_status(registry.get("yang2026"), 100, "float32")
    (False, 'exact arithmetic only')
    """
    limits = m.float_limits
    if limits == "by design":
        return True, "by design"
    if any("exact arithmetic" in a for a in m.assumptions):
        return False, "exact arithmetic only"
    if not isinstance(limits, dict) or fmt not in limits:
        return None, "not measured"
    lim, top = int(limits[fmt]), int(limits.get("measured_to", limits[fmt]))
    if n <= lim:
        return True, f"yes (limit {lim:,})"
    if lim >= top:
        return None, f"unknown (no failure up to {top:,})"
    return False, f"no (limit {lim:,})" if lim else "no (not even at N = 2)"


def _plan_row(m: registry.Method, arch, opts: dict, variant: dict, n: int, dx: int, dy: int, task: str,
              assumptions, status: dict) -> PlanRow:
    """The row of one network of method ``m`` (its architecture ``arch`` for options ``opts``;
    ``status``: its certification in the target format, if one was asked)."""
    min_bits = None if task == "regression" else min_weight_bits(n, arch.num_params, max(2, dy))
    act = str(arch.activation)
    paper = None if m.task == "binary" else paper_size(
        m.name, n, dx, dy, activation="hardtanh" if act == "hardtanh" else "relu")
    return PlanRow(
        method=m.name,
        widths=tuple(int(w) for w in arch.widths),
        depth=arch.depth,
        num_hidden=arch.num_hidden,
        num_params=int(arch.num_params),
        residual=bool(arch.residual),
        activation=act,
        assumptions=assumptions,
        task=m.task,
        max_weight_bits=arch.max_weight_bits,
        min_bits=min_bits,
        options=opts,
        summary=m.summary,
        reference=m.reference,
        notes=arch.notes,
        paper=paper,
        num_nonzero=None if arch.num_nonzero is None else int(arch.num_nonzero),
        variant=dict(variant),
        **status,
    )
