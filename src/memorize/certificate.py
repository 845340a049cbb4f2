"""``memorize.certify``: proof that a network memorizes its data in a number format, in any evaluation order.

:func:`memorize.verify` measures one evaluation. A floating-point evaluation is not unique: a
dot product may be summed left to right, pairwise, in blocks of a BLAS kernel, on a GPU, with or
without fused multiply-adds, and each order rounds differently. :func:`certify` proves a bound
that holds for *every* such evaluation in the target format, and from it that each point's output
is right: its class wins by more than the bound, or its value is within the tolerance.

The error model (standard floating-point analysis, e.g. Higham, *Accuracy and Stability of
Numerical Algorithms*, ch. 3): a dot product of n nonzero terms computed in any order with unit
roundoff u has |fl(w·h) − w·h| ≤ γ_n Σ|w_k h_k|, γ_n = nu/(1 − nu). The certificate carries, for
every hidden value, a float64 reference value h and a bound E ≥ |ĥ − h| valid for every
evaluation ĥ in the format, layer by layer:

    |ẑ − z| ≤ (γ_n^acc + γ_n^64)(|W||h| + |b|) + (1 + γ_n^acc)|W|E + 2n·tiny_acc   (then the
    format's rounding of the result, u·(|z| + e), for bfloat16/float16 accumulating in float32)

where n counts the terms of the row that are not *certainly* zero (a term whose input is exactly
0 in every evaluation adds nothing and rounds nothing), γ^acc is the accumulation format's and
γ^64 accounts for the float64 reference itself. A row with a single live term is computed with
one rounding, so its bound is that rounding exactly (0 when the product is representable): this
is what lets a float-safe network's output be certified *equal* to its label. Activations:
ReLU and hard-tanh are 1-Lipschitz and certainly saturated where z ± e stays on one side (then
the output is exact, E = 0); a step is certain where |z| > e; leaky slopes add the rounding of
their product. Residual blocks add the rounding of the final sum. Weights and inputs are rounded
to the format first: the certified network is the one a user runs after the cast.

Assumptions: IEEE-754 binary arithmetic with round-to-nearest in the format (and float32
accumulation for bfloat16/float16, as PyTorch does on CPUs and GPUs); products may be fused or
not; subnormal results may be kept or flushed to zero. Not covered: TF32 "float32" matrix
products (10-bit significands; PyTorch enables them only on request) and stochastic rounding.
The bounds are computed in float64 and float32 with a relative safety factor for their own
rounding. The bound is worst-case, often ~√n above the error a run shows: the price of "any order".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .data import format_indices
from .errors import ArgumentError, ShapeError
from .network import Dense, Network
from .precision import FORMATS, Format, as_format, round_network

__all__ = ["Certificate", "certify", "bound_chunks"]

_MAX_LISTED = 1000


@dataclass(frozen=True)
class Certificate:
    """The result of :func:`certify`.

    Attributes
    ----------
    format : str
        The certified format (``"float32"``, ``"bfloat16"``, ...).
    n : int
        Number of points.
    task : {"classification", "regression"}
    certified : ndarray of bool
        Per point: proven right for every evaluation in the format.
    margin : ndarray of float
        Classification: the true output's lead over the best other output, minus both bounds
        (certified when > 0). Regression: ``tol − (|f(x) − y| + bound)`` (certified when ≥ 0).
    bound : ndarray of float
        Per point: the largest proven error bound over the outputs.
    exact : ndarray of bool
        Per point: every output is proven *equal* to the reference value and that equals the
        label (regression; for classification: the outputs are exactly the one-hot row).
    tol : float or None
        The regression tolerance (None for classification).
    seconds : float
    """

    format: str
    n: int
    task: str
    certified: np.ndarray
    margin: np.ndarray
    bound: np.ndarray
    exact: np.ndarray
    tol: float | None
    seconds: float
    notes: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every point is certified."""
        return bool(np.all(self.certified))

    @property
    def n_certified(self) -> int:
        return int(np.count_nonzero(self.certified))

    @property
    def fraction(self) -> float:
        return self.n_certified / self.n if self.n else 1.0

    @property
    def uncertified(self) -> np.ndarray:
        """Indices of the points the certificate cannot prove."""
        return np.flatnonzero(~self.certified)

    @property
    def n_exact(self) -> int:
        return int(np.count_nonzero(self.exact))

    def summary(self) -> dict:
        """JSON-able facts (for a network's ``meta`` or a report)."""
        return {
            "format": self.format,
            "task": self.task,
            "n": self.n,
            "certified": self.n_certified,
            "exact": self.n_exact,
            "max_bound": float(np.max(self.bound)) if self.n else 0.0,
            "min_margin": float(np.min(self.margin)) if self.n else None,
            "tol": self.tol,
        }

    def __str__(self) -> str:
        lines = [
            f"certificate in {self.format} (any summation order) on {self.n} points: "
            f"{'OK' if self.ok else 'NOT PROVEN'}",
            f"  certified  {self.n_certified} of {self.n} ({100 * self.fraction:.4g} %)",
        ]
        if not self.ok:
            lines.append(f"  unproven   {format_indices(self.uncertified[:_MAX_LISTED])}")
        lines.append(f"  exact      {self.n_exact} points whose outputs are proven equal to their labels")
        if self.n:
            lines.append(f"  max bound  {float(np.max(self.bound)):.3e}")
            lines.append(f"  min margin {float(np.min(self.margin)):.3e}" + (f" (tol {self.tol:.3e})" if self.tol is not None else ""))
        lines.append(f"  time       {self.seconds:.3f} s")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the bound, layer by layer
# ---------------------------------------------------------------------------------------------
class _Layer:
    """A rounded linear map prepared for bounding: |W| and its nonzero pattern in the bound's dtype."""

    def __init__(self, W: np.ndarray, b: np.ndarray, fmt: Format):
        acc = fmt.accumulator
        self.fmt = fmt
        self.W = W
        self.b = b
        # bounds of formats up to float32 are computed in float32 (half the memory traffic);
        # float64's in float64, since its bounds can lie below float32's range
        self.dt = dt = np.float64 if fmt.name == "float64" else np.float32
        self.absW_T = np.abs(W).T.astype(dt)
        self.nzW_T = (W != 0).T.astype(np.float32)
        self.abs_b = np.abs(b).astype(dt)
        self.nz_b = (b != 0).astype(np.float32)
        self.n_static = (W != 0).sum(axis=1).astype(np.float32) + self.nz_b
        n_max = float(W.shape[1] + 1)
        # γ_n ≤ n·u/(1 − n_max·u) for every live count n ≤ n_max: linear in n
        self.c_acc = acc.u / (1 - n_max * acc.u)
        c64 = 2.0**-53 / (1 - n_max * 2.0**-53)
        self.c1 = self.c_acc + c64
        # 2n·tiny covers underflow and flush-to-zero of every product and sum
        self.c0 = 2 * acc.tiny
        self.lim = min(fmt.max, acc.max)
        # the bound's own rounding: casts to dt and a dt matrix product (≤ γ_{n_max} relative)
        u_b = 2.0**-24 if dt == np.float32 else 2.0**-53
        self.safety = (1 + 8 * u_b) * (1 + 2 * (n_max + 2) * u_b / (1 - (n_max + 2) * u_b))
        # the exact-sum rule: lowest set bit of each row's weights and of its bias. It is tried only
        # on layers of short weights (each row spans at most p/2 bits: integers, ±1/2, powers of
        # two, as in routing and read-out layers); rows of data-like weights never meet it, and
        # the lowest bits of every input would cost as much as the matrix product
        self.lsb_W = np.min(np.where(W != 0, lowest_bit(W), np.inf), axis=1, initial=np.inf)
        self.lsb_b = lowest_bit(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            span = np.floor(np.log2(np.max(np.abs(W), axis=1, initial=0.0))) - self.lsb_W
        self.short = bool(np.all(np.where(np.isfinite(span), span, 0) <= acc.p // 2))


def lowest_bit(a) -> np.ndarray:
    """Exponent of the lowest set bit of each float64 value (``inf`` for 0): a = m·2^e, m odd.

    >>> lowest_bit(np.array([3.0, 0.5, 6.0, 0.0])).tolist()
    [0.0, -1.0, 1.0, inf]
    """
    a = np.asarray(a, dtype=np.float64)
    m, ex = np.frexp(np.abs(a))
    mi = np.ldexp(m, 53).astype(np.int64)  # the significand as a 53-bit integer
    low = (mi & -mi).astype(np.float64)
    tz = np.frexp(low)[1] - 1
    return np.where(a != 0, (ex - 53 + tz).astype(np.float64), np.inf)


def _exact_sums(h, W_abs_h, L: _Layer, certain):
    """Rows whose sums are exact in every evaluation order (the exact-sum rule).

    If every term w_k·h_k and the bias are multiples of 2^e (e ≥ the accumulator's smallest
    normal exponent) and Σ|w_k h_k| + |b| < 2^(e + p), every product and every partial sum, in
    any order, fused or not, is a multiple of 2^e below 2^(e + p) in magnitude: a number of the
    accumulator, so nothing rounds. ``certain`` marks the points whose inputs are certain (bound
    0). A cheap lower bound of e is used: lsb(row of W) + lsb(h) over the point's nonzero inputs.
    """
    acc = L.fmt.accumulator
    lsb_h = np.min(np.where(h != 0, lowest_bit(h), np.inf), axis=1, initial=np.inf)
    with np.errstate(invalid="ignore"):
        e = np.minimum(lsb_h[:, None] + L.lsb_W[None, :], L.lsb_b[None, :])
    S = (W_abs_h.astype(np.float64) + np.abs(L.b)) * L.safety
    with np.errstate(over="ignore", invalid="ignore"):
        ok = (e >= acc.emin) & (S < np.exp2(np.minimum(e + acc.p, 1e4)))
    return ok & certain[:, None]


def _linear_bound(h, E, L: _Layer, *, exact_inputs: bool):
    """Reference z = W h + b (float64) and e ≥ |ẑ − z| for every evaluation ẑ in the format."""
    fmt, dt = L.fmt, L.dt
    z = h @ L.W.T
    z += L.b
    live = (h != 0) if exact_inputs else ((h != 0) | (E > 0))
    if live.all():
        n = np.broadcast_to(L.n_static, z.shape)
    else:
        n = live.astype(np.float32) @ L.nzW_T
        n += L.nz_b
    e = np.abs(h).astype(dt) @ L.absW_T  # A = |W||h|
    certain = np.ones(len(h), dtype=bool) if exact_inputs else ~np.any(E > 0, axis=1)
    exact_sum = _exact_sums(h, e, L, certain) if L.short and certain.any() else None
    e += L.abs_b
    e *= L.c1
    e += L.c0
    e *= n  # (γ^acc + γ^64)(A + |b|) + 2n·tiny
    if not exact_inputs:
        B = E.astype(dt) @ L.absW_T  # |W| E
        B *= (1 + L.c_acc * L.n_static)
        e += B
        single = (n <= 1) & (B == 0)
    else:
        single = n <= 1
    if fmt.name != fmt.accumulate:  # one more rounding: the accumulated result to the format
        t = np.abs(z).astype(dt)
        t += e
        t *= fmt.u
        e += t
        e += fmt.tiny
    e *= L.safety
    if exact_sum is not None:
        single |= exact_sum
    if single.any():
        # a row with one live term is one rounding of an exactly known product; an exact sum
        # (see _exact_sums) is at most one rounding too, of the accumulated result to the format
        zs = z[single]
        e[single] = np.abs(fmt.round(zs) - zs)
    zmax = max(float(z.max(initial=0.0)), -float(z.min(initial=0.0)))
    if not (zmax + float(e.max(initial=0.0)) <= L.lim):
        e = np.where(np.abs(z) + e <= L.lim, e, np.inf).astype(dt)
    return z, e


def _activation_bound(act, z, e, fmt: Format):
    """σ(z) and the bound on |σ(ẑ) − σ(z)|; certain saturations give exact outputs (bound 0)."""
    name = act.name
    if name == "identity":
        return z, e
    with np.errstate(invalid="ignore"):
        if name == "relu":
            dead = (z + e) <= 0  # float64 sum: its sign is right whenever it is not 0
            h = np.maximum(z, 0.0, out=z)
            e[dead] = 0
            return h, e
        if name == "hardtanh":
            sat = ((z - e) >= 1) | ((z + e) <= -1)
            h = np.clip(z, -1.0, 1.0)
            e = e.copy()
            e[sat] = 0
            return h, e
        if name == "step":
            h = (z >= 0).astype(np.float64)
            return h, np.where((z - e >= 0) | (z + e < 0), 0.0, 1.0).astype(e.dtype)
        # relu_like: the slope's product rounds (in the accumulator, then to the format)
        sp, sm = float(act.slopes[0]), float(act.slopes[1])
        h = np.where(z >= 0, z * sp, z * sm)
        s = np.where(z - e >= 0, sp, np.where(z + e <= 0, sm, max(sp, sm)))
        u = fmt.u + (fmt.accumulator.u if fmt.name != fmt.accumulate else 0.0) + 2.0**-53
        return h, ((s * e + u * s * (np.abs(z) + e)) * (1 + 2.0**-20)).astype(e.dtype)


def _add_bound(h, Eh, t, Et, fmt: Format):
    """h + t (a residual sum) and its bound; exact where one side is certainly zero."""
    out = h + t
    u = fmt.u + (fmt.accumulator.u if fmt.name != fmt.accumulate else 0.0) + 2.0**-53
    with np.errstate(over="ignore", invalid="ignore"):
        e = Eh + Et + u * (np.abs(out) + Eh + Et)
        one_side = ((t == 0) & (Et == 0)) | ((h == 0) & (Eh == 0))
        e = np.where(one_side, Eh + Et, e)
        e = np.where(np.abs(out) + e <= fmt.max, e, np.inf)
    return out, (e * (1 + 2.0**-20)).astype(Eh.dtype)


def _prepare(net: Network, fmt: Format):
    plan = []
    for layer in net.layers:
        if isinstance(layer, Dense):
            plan.append(("dense", _Layer(layer.weight, layer.bias, fmt), layer.activation))
        else:
            plan.append(("residual", _Layer(layer.U, layer.b, fmt), layer.activation, _Layer(layer.V, layer.c, fmt)))
    return plan


def bound_chunks(net: Network, X, dtype, *, chunk_bytes: int | None = None, progress=None):
    """Yield ``(rows, reference outputs, bounds)`` chunk by chunk (see :func:`certify`).

    ``net`` is rounded to the format first; the reference outputs are float64 evaluations of the
    rounded network on the rounded inputs, and ``bounds ≥ |f̂ − reference|`` elementwise for every
    evaluation f̂ in the format.
    """
    fmt = as_format(dtype)
    rnet = round_network(net, fmt)
    plan = _prepare(rnet, fmt)
    arr, _ = rnet._as_input(X)
    # about six arrays of the widest layer live at once
    rows = max(1, rnet.chunk_rows(chunk_bytes) // 2)
    total = arr.shape[0]
    for start in range(0, total, rows):
        sl = slice(start, min(start + rows, total))
        with np.errstate(over="ignore"):
            h = fmt.round(arr[sl])
        E = np.zeros(h.shape, dtype=np.float64 if fmt.name == "float64" else np.float32)
        exact_inputs = True
        for step in plan:
            if step[0] == "dense":
                _, L, act = step
                z, e = _linear_bound(h, E, L, exact_inputs=exact_inputs)
                h, E = _activation_bound(act, z, e, fmt)
            else:
                _, L1, act, L2 = step
                z, e = _linear_bound(h, E, L1, exact_inputs=exact_inputs)
                s, Es = _activation_bound(act, z, e, fmt)
                t, Et = _linear_bound(s, Es, L2, exact_inputs=False)
                h, E = _add_bound(h, E, t, Et, fmt)
            exact_inputs = False
        if progress is not None:
            progress(sl.stop, total)
        yield sl, h, E


def certify(net: Network, X, y, *, dtype="float32", tol=None, classes=None, chunk_bytes: int | None = None,
            progress=None) -> Certificate:
    """Prove that ``net`` memorizes ``(X, y)`` when evaluated in the format ``dtype``, in any order.

    Parameters
    ----------
    net : Network
        A float64 or exact network. Its weights are rounded to the format (what a cast to the
        format does); the certificate is about that rounded network.
    X : array_like (N, d)
        Inputs; rounded to the format too.
    y : array_like
        Labels, as :func:`memorize.verify` takes them: class labels for a network with several
        outputs (mapped through ``classes``, ``net.meta["classes"]`` or 0..k−1), one-hot rows, or
        real targets.
    dtype : str, NumPy or torch dtype, default "float32"
        ``"float64"``, ``"float32"``, ``"bfloat16"`` (float32 accumulation) or ``"float16"``
        (float32 accumulation).
    tol : float, optional
        Regression only: the largest error allowed. Default ``max(1e-6, 8u)·max(1, max|y|)``
        (:func:`memorize.verify.default_tol`).
    classes : array_like, optional
    chunk_bytes : int, optional
        Memory bound of one chunk (default: the network's forward-pass budget).
    progress : callable, optional
        ``progress(done_rows, total_rows)`` after every chunk.

    Returns
    -------
    Certificate
        ``certified`` per point, ``uncertified`` indices, ``margin``, ``bound``, ``exact``.

    Notes
    -----
    Classification (several outputs, class labels or one-hot rows): point i is certified when
    ``f_y − E_y > max_{k≠y}(f_k + E_k)``, where f is the float64 reference output and E the
    proven bound: then every evaluation in the format ranks class y first. Regression: certified
    when ``|f − y| + E ≤ tol`` for every output. ``exact`` marks points whose outputs are proven
    *equal* to their labels (bound 0). The model, its assumptions and the bound's derivation are
    in the module docstring and in ``docs/precision.md``. Cost: about two float64 forward passes
    (one float64 and two float32 matrix products per layer), chunked so memory stays bounded.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0, 1, 0])
    >>> net = memorize.build("yun2019_classifier", X, y)
    >>> memorize.certify(net, X, y, dtype="float32").ok
    True
    """
    from .verify import default_tol, targets  # one label mapping and one tolerance for verify and certify

    start = time.perf_counter()
    if not isinstance(net, Network):
        raise ArgumentError(f"net: expected a memorize.Network, got {type(net).__name__}")
    fmt = as_format(dtype)
    arr, _ = net._as_input(X) if not net.is_exact else net.astype("float64")._as_input(X)
    n = arr.shape[0]
    Y, codes = targets(net, y, n, classes)
    if Y.shape[0] != n:
        raise ShapeError(f"y: has {Y.shape[0]} rows but X has {n} points")
    Y = np.asarray(Y, dtype=np.float64)
    task = "classification" if codes is not None else "regression"
    if task == "regression":
        tol = default_tol(float(np.max(np.abs(Y))) if Y.size else 0.0, False, fmt) if tol is None else float(tol)
        if not (tol >= 0):
            raise ArgumentError(f"tol: expected a non-negative number, got {tol!r}")
    else:
        tol = None
    certified = np.zeros(n, dtype=bool)
    margin = np.empty(n)
    bound = np.empty(n)
    exact = np.zeros(n, dtype=bool)
    for sl, out, E in bound_chunks(net, arr, fmt, chunk_bytes=chunk_bytes, progress=progress):
        bound[sl] = np.max(E, axis=1) if E.shape[1] else 0.0
        Ys = Y[sl]
        exact[sl] = np.all((E == 0) & (out == Ys), axis=1)
        if codes is not None:
            c = codes[sl]
            r = np.arange(len(c))
            lo_true = out[r, c] - E[r, c]
            hi = out + E
            hi[r, c] = -np.inf
            best_other = np.max(hi, axis=1) if out.shape[1] > 1 else np.full(len(c), -np.inf)
            with np.errstate(invalid="ignore"):
                m = lo_true - best_other
            margin[sl] = np.where(np.isnan(m), -np.inf, m)
            certified[sl] = margin[sl] > 0
        else:
            with np.errstate(invalid="ignore"):
                err = np.max(np.abs(out - Ys) + E, axis=1)
            margin[sl] = np.where(np.isnan(err), -np.inf, tol - err)
            certified[sl] = margin[sl] >= 0
    return Certificate(fmt.name, n, task, certified, margin, bound, exact, tol, time.perf_counter() - start)
