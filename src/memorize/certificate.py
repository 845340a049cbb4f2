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
    format's rounding of the result, u·(|z| + e) + tiny, for bfloat16/float16 accumulating in float32)

where n counts the terms of the row that are not *certainly* zero (a term whose input is exactly
0 in every evaluation adds nothing and rounds nothing), γ^acc is the accumulation format's and
γ^64 accounts for the float64 reference itself. Two rules make a row exact or nearly so:

* a row with a single live term, whose input is exact, is computed with one rounding, so its
  bound is that rounding exactly (0 when the product is representable, |z| where the result may be
  flushed): this is what lets a float-safe network's routing be certified *exact*;
* a row of integer weights and bias whose live inputs are exact integers with
  Σ|w_k h_k| + |b| < 2^p (p the significand of the format and of its accumulator) has bound 0:
  every product and every partial sum, in any order, is an integer below 2^p, hence exact. This
  makes integer sums (a one-hot decoder, ±1 votes) exactly their labels.

Activations: ReLU and hard-tanh are 1-Lipschitz and certainly saturated where z ± e stays on one
side (then the output is exact, E = 0); a step is certain where |z| > e; a leaky slope adds the
rounding of the slope to the accumulator (PyTorch multiplies by the slope in float32), of the
product, of its conversion to the format, and an absolute tiny where the product may be subnormal.
Residual blocks add the rounding of the final sum. A factored layer (weight A·B) is evaluated as
its two products, t = B h rounded to the format and then A t + b, so it is bounded as two layers,
the first without bias or activation; the bound is for that evaluation (the one
:func:`memorize.precision.forward` and the PyTorch export perform), not for a product with the
dense matrix A·B. Any value that may overflow gets bound inf, and
so does a row whose partial sums (bounded by |W||h| + |b| + |W|E) may overflow the accumulator.
Weights and inputs are rounded to the format first: the certified network is the one a user runs
after the cast.

Assumptions: IEEE-754 binary arithmetic with round-to-nearest in the format (and float32
accumulation for bfloat16/float16, as PyTorch does on CPUs and GPUs); products may be fused or
not; sums in any order or association; subnormal results may be kept or flushed to zero.
Not covered: subnormal *operands* read as zero (DAZ; only subnormal weights or inputs are affected),
TF32 "float32" matrix products (10-bit significands; PyTorch enables them only on request) and
stochastic rounding. The bounds are computed in float64 and float32, rounded up where they are
cast, with a relative safety factor for their own rounding, and a positive bound is never below
2^-100 (float32) or 2^-900 (float64). The bound is worst-case, often ~√n above the error a run
shows: the price of "any order". The test suite checks it against adversarial evaluations (every
order above, fused and flushed variants, NumPy and PyTorch) on random networks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .data import format_indices
from .errors import ArgumentError, ShapeError
from .activations import identity
from .network import Dense, Factored, Network
from .precision import FORMATS, Format, as_format, round_network

__all__ = ["Certificate", "certify", "bound_chunks"]

_MAX_LISTED = 1000
_CACHE_BYTES = 2**21


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
# A positive bound is never smaller than this (in the bound's dtype). Then a positive bound times
# a weight of magnitude ≥ _SMALL_W is a normal number, so "|W|E == 0" proves that every live input
# of the row is exact; layers with smaller weights count their inexact inputs instead.
_FLOOR = {np.float32: 2.0**-100, np.float64: 2.0**-900}
_SMALL_W = {np.float32: 2.0**-24, np.float64: 2.0**-100}


def _gamma_coef(u: float, n_max: float) -> float:
    """c with γ_n = nu/(1 − nu) ≤ n·c for every n ≤ n_max (inf when n_max·u is not small)."""
    return u / (1 - n_max * u) if n_max * u < 0.5 else np.inf


def _cast_up(x: np.ndarray, dt) -> np.ndarray:
    """Bounds ``x`` (float64, ≥ 0) in the dtype ``dt``, rounded up and kept ≥ the floor where
    positive; nan (a reference that overflowed) becomes inf."""
    x = np.asarray(x, dtype=np.float64)
    if np.isnan(x).any():
        x = np.where(np.isnan(x), np.inf, x)
    if dt == np.float32:
        # one float32 spacing above x, then rounded to nearest: ≥ x wherever float32 is normal,
        # and the floor covers the rest
        with np.errstate(over="ignore"):
            r = (x * (1 + 2.0**-23)).astype(np.float32)
    else:
        r = x.copy()
    floor = x > 0  # x, not r: a positive x may round to 0 in float32
    return np.maximum(r, floor * dt(_FLOOR[dt]), out=r)


def _integer_rows(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows whose weights and bias are all integers (and not all zero)."""
    whole = np.all(W == np.round(W), axis=1) & (b == np.round(b)) & np.any(W != 0, axis=1)
    return np.flatnonzero(whole)


class _Layer:
    """A rounded linear map prepared for bounding (|W| and its pattern, constants folded in).

    The bound of a row is ``e = (A + v)·n' + B`` with A = |h|·|W|ᵀ, n' = c·(live count) and
    B = E·(|W|·(1 + c_acc n_row))ᵀ: the constants (γ coefficients, the safety factor for the bound's
    own rounding, the format's rounding for bfloat16/float16) are folded into v, n' and the matrix
    of B, so a layer costs three matrix products and a handful of passes over its outputs.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, fmt: Format):
        acc = fmt.accumulator
        self.fmt, self.W, self.b = fmt, W, b
        # bounds of formats up to float32 are computed in float32 (half the memory traffic);
        # float64's in float64, since its bounds can lie below float32's range
        self.dt = dt = np.float64 if fmt.name == "float64" else np.float32
        absW = np.abs(W)
        nz = W != 0
        n_max = float(W.shape[1] + 1)
        c_acc = _gamma_coef(acc.u, n_max)
        c1 = c_acc + _gamma_coef(2.0**-53, n_max)  # the evaluation's rounding and the float64 reference's
        # 2n·tiny covers underflow and flush-to-zero of every product and sum; never below the floor
        c0 = max(2 * acc.tiny, _FLOOR[dt])
        # the bound's own rounding in dt: about ten roundings and two sums of ≤ n_max terms per entry
        u_b = 2.0**-24 if dt == np.float32 else 2.0**-53
        g_b = (n_max + 2) * u_b / (1 - (n_max + 2) * u_b)
        safety = (1 + 16 * u_b) * (1 + g_b) ** 2
        # bfloat16/float16: the float32 result is rounded to the format, e ← (e + u|z|)(1 + u) + tiny
        self.u_out = u_out = fmt.u if fmt.name != acc.name else 0.0
        g = safety * (1 + u_out)
        self.n_static = (nz.sum(axis=1) + (b != 0)).astype(np.float32)
        self.c = np.float32(c1 * g) if dt == np.float32 else c1 * g
        self.nzW_T = (nz.T * self.c).astype(dt)  # live @ nzW_T = c·(live count)
        self.n_static_c = (self.n_static * self.c).astype(dt)
        self.nzb_c = ((b != 0) * self.c).astype(dt)
        self.absW_T = absW.T.astype(dt)
        # |h| cast to float32 loses < 2^-150 per entry (values below float32's range)
        cast_loss = 2.0**-149 * absW.sum(axis=1) if dt == np.float32 else 0.0
        self.v = _cast_up(np.abs(b) + cast_loss + c0 / c1, dt) if np.isfinite(c1) else np.full(len(b), np.inf, dt)
        with np.errstate(over="ignore", invalid="ignore"):
            self.absW_B_T = (absW.T * ((1 + c_acc * self.n_static) * g)).astype(dt)
        self.t_coef = dt(u_out * (1 + u_out) * safety)
        self.tiny_out = dt(fmt.tiny * safety) if u_out else dt(0)
        self.lim = min(fmt.max, acc.max)
        self.acc_eighth = acc.max / 8
        self.abs_b = np.abs(b).astype(dt)
        self.b_max = float(np.max(np.abs(b), initial=0.0))
        # e ≥ c1(A + |b|) ≥ c1|z|/2, e ≥ B and e ≥ u_out|z|: when max e is below this, no partial
        # sum of any order overflows and |z| + e stays below the largest finite number
        self.elim = c1 * acc.max / 4 if np.isfinite(c1) else 0.0
        zfac = min(2 / c1, 1 / u_out if u_out else np.inf) if np.isfinite(c1) and c1 > 0 else np.inf
        self.e_fast = min(self.elim, self.lim / (zfac + 1))
        small = nz & (absW < _SMALL_W[dt])
        self.small_weights = bool(small.any())
        # rows whose one term is always an exact product: a power-of-two weight and no bias, or a
        # bias alone (copies and carriers); the single-term rule handles them column by column
        pow2 = np.all((np.frexp(absW)[0] == 0.5) | ~nz, axis=1)
        n_w = nz.sum(axis=1)
        exact_rows = ((n_w == 1) & (b == 0) & pow2) | (n_w == 0)
        self.exact_rows = np.flatnonzero(exact_rows) if not self.small_weights else np.zeros(0, dtype=np.intp)
        self.single_rest = (self.n_static <= 1) & ~np.isin(np.arange(len(b)), self.exact_rows)
        r = self.exact_rows
        if r.size and r[-1] - r[0] + 1 == r.size:  # contiguous (carriers): a view instead of a copy
            self.exact_rows = slice(int(r[0]), int(r[-1]) + 1)
        # the integer rule: rows of integer weights and bias (see _integer_exact)
        self.int_rows = _integer_rows(W, b)
        self.p_int = min(fmt.p, acc.p)


def _linear_bound(h, E, L: _Layer, *, exact_inputs: bool):
    """Reference z = W h + b (float64) and e ≥ |ẑ − z| for every evaluation ẑ in the format."""
    fmt, dt = L.fmt, L.dt
    z = h @ L.W.T
    z += L.b
    ah = np.abs(h, dtype=dt) if dt == np.float32 else np.abs(h)
    # a term is live unless its input is exactly 0 in every evaluation (h = 0 with bound 0); an
    # exact input is a number of the format, so its cast |h| is not 0 either
    live = ah if exact_inputs else ah + E
    if np.all(live > 0):
        n = L.n_static_c  # broadcast over the points
    else:
        n = np.sign(live, out=live if not exact_inputs else None) @ L.nzW_T
        n += L.nzb_c
    e = ah @ L.absW_T  # A = |W||h|
    del ah, live
    # no partial sum of any order can overflow when A + |b| and B each stay below max/8
    # (every partial sum is at most (1 + γ)(A + |b| + |W|E)); tested per entry only when the
    # layer's largest values come near
    acc_ok = None
    if not (float(e.max(initial=0.0)) + L.b_max <= L.acc_eighth):
        acc_ok = e + L.abs_b <= L.acc_eighth
    e += L.v
    e *= n  # c·n·(A + |b| + c0/c1)
    B = None
    if not exact_inputs:
        B = E @ L.absW_B_T  # (1 + γ)|W|E
        if not (float(B.max(initial=0.0)) <= L.acc_eighth):
            acc_ok = (B <= L.acc_eighth) if acc_ok is None else acc_ok & (B <= L.acc_eighth)
        e += B
    if L.u_out:  # one more rounding: the accumulated result to the format
        t = np.abs(z, dtype=dt)
        t *= L.t_coef
        e += t
        del t
        e += L.tiny_out
    if not (float(e.max(initial=0.0)) <= L.e_fast):
        with np.errstate(invalid="ignore"):
            ok = np.abs(z) + e <= L.lim
        if acc_ok is not None:
            ok &= acc_ok
        e = np.where(ok, e, dt(np.inf))
    _single_terms(z, e, n, B, E, L)
    if L.int_rows.size:
        _integer_exact(h, z, e, n, B, L)
    return z, e


def _single_terms(z, e, n, B, E, L: _Layer) -> None:
    """Rows with at most one live term, all of whose live inputs are exact: one rounding (in place).

    Such a row is computed with a single rounding of an exactly known product (or is its bias),
    so its error is that rounding, |round(z) − z| — 0 when the product is a number of the format
    — or, where the result is below the format's smallest normal number and may be flushed, |z|.
    """
    if not isinstance(L.exact_rows, np.ndarray) or L.exact_rows.size:
        _exact_product_rows(z, e, B, L)
    thr = L.c * 1.5
    if n is L.n_static_c:
        if not L.single_rest.any():
            return
        cand = np.broadcast_to(L.single_rest, e.shape)
    else:
        if not (float(n.min(initial=np.inf)) < thr):
            return
        cand = n < thr
        cand[:, L.exact_rows] = False
    if B is not None:
        cand = cand & (B == 0)
        if L.small_weights and cand.any():
            # |W|E may underflow for tiny weights: count the inexact live inputs instead
            cols = np.flatnonzero(cand.any(axis=0))
            inexact = (E > 0).astype(L.dt) @ L.nzW_T[:, cols]
            cand[:, cols] &= inexact == 0
    idx = np.flatnonzero(cand)  # masked assignment is slow; indices cost only what they select
    if not idx.size:
        return
    zs = z.ravel().take(idx)
    d = L.fmt.round(zs)
    d -= zs
    np.abs(d, out=d)
    az = np.abs(zs)
    tiny = az < L.fmt.tiny  # then |round(z)| ≤ tiny and the result may be flushed: |z| (≥ d)
    if tiny.any():
        d = np.where(tiny, az, d)
    e.ravel()[idx] = _cast_up(d, L.dt)


def _exact_product_rows(z, e, B, L: _Layer) -> None:
    """The single-term rule on the rows whose product is always exact (in place): bound 0 where the
    input is exact, |z| where the result may be flushed, inf where it overflows."""
    cols = L.exact_rows
    az = np.abs(z[:, cols])
    d = np.where(az < L.fmt.tiny, az, np.where(az <= L.fmt.max, 0.0, np.inf))
    d = _cast_up(d, L.dt)
    e[:, cols] = d if B is None else np.where(B[:, cols] == 0, d, e[:, cols])


def _integer_exact(h, z, e, n, B, L: _Layer) -> None:
    """The integer rule (in place): rows whose sum cannot round in any order get bound 0.

    Claim: if a row's weights and bias are integers, each of its inputs with a nonzero weight is an
    exact integer (bound 0) and S = Σ|w_k h_k| + |b| < 2^p, p the significand of both the
    accumulation format and the format, then every evaluation returns z exactly. Proof: every
    product w_k h_k is an integer of magnitude ≤ S < 2^p, hence a number of both formats, and every
    partial sum of any subset of the terms (in any order, fused or not) is an integer of magnitude
    ≤ S < 2^p, hence exact too; the result, an integer below 2^p, is not changed by the rounding to
    the format, and the float64 reference (p = 53 ≥ the format's) computes the same integer. No
    result is subnormal (integers), so flushing changes nothing.
    """
    thr = L.c * 1.5
    cand = n >= thr if n is not L.n_static_c else np.broadcast_to(L.n_static_c >= thr, e.shape)
    if B is not None:
        cand = cand & (B == 0)  # integer weights are ≥ 1: no underflow in |W|E
    hit = np.zeros(e.shape[1], dtype=bool)
    hit[L.int_rows] = True
    hit &= cand.any(axis=0)
    cols = np.flatnonzero(hit)
    if not cols.size:
        return
    cand = cand[:, cols]
    dt = L.dt
    ah = np.abs(h, dtype=dt) if dt == np.float32 else np.abs(h)
    S = ah @ L.absW_T[:, cols]
    S += np.abs(L.b[cols]).astype(dt)
    frac = np.abs(h - np.round(h)).astype(dt)  # exact for numbers of the format (bound 0)
    nonint = frac @ (L.nzW_T[:, cols] > 0).astype(dt)
    # S is a sum of nonnegative integers: below 2^p_dt every product and partial sum of it is
    # exact, and rounding is monotone, so "computed S < 2^p" is decided exactly (p ≤ p_dt)
    ok = cand & (nonint == 0) & (S < dt(2.0**L.p_int))
    if ok.any():
        e[:, cols] = np.where(ok, dt(0), e[:, cols])


def _tiny_term(v, e, T: float):
    """T where a value within e of v may be below the normal range (its rounding is then absolute)."""
    with np.errstate(invalid="ignore"):
        return np.where((np.abs(v) - e < 2 * T) & ((v != 0) | (e > 0)), T, 0.0)


def _activation_bound(act, z, e, fmt: Format):
    """σ(z) and the bound on |σ(ẑ) − σ(z)|; certain saturations give exact outputs (bound 0)."""
    name = act.name
    if name == "identity":
        return z, e
    with np.errstate(invalid="ignore"):
        if name == "relu":
            # dead where z + e ≤ 0 (compared exactly in float64); a dead unit's bound is finite,
            # and a nan reference (an overflowing input) keeps its bound
            keep = ~(z <= -e)
            h = np.maximum(z, 0.0, out=z)
            np.multiply(e, keep, out=e)
            return h, e
        if name == "hardtanh":
            sat = ((z - e) >= 1) | ((z + e) <= -1)  # float64: right whenever it is not a tie
            h = np.clip(z, -1.0, 1.0)
            return h, e * ~sat
        if name == "step":
            h = (z >= 0).astype(np.float64)
            return h, np.where((z - e >= 0) | (z + e < 0), 0.0, 1.0).astype(e.dtype)
        return _relu_like_bound(act, z, e, fmt)


def _relu_like_bound(act, z, e, fmt: Format):
    """A leaky slope: the evaluation multiplies by the slope rounded to the accumulator (as PyTorch
    does) and rounds the product there and then to the format; the reference multiplies in float64."""
    acc = fmt.accumulator
    sp, sm = float(act.slopes[0]), float(act.slopes[1])
    slope_err = max(abs(float(acc.round(s)) - s) / s if s else 0.0 for s in (sp, sm))
    u = (fmt.u if fmt.name != acc.name else 0.0) + acc.u + slope_err + 2.0**-53
    T = fmt.tiny + (acc.tiny if fmt.name != acc.name else 0.0)
    h = np.where(z >= 0, z * sp, z * sm)
    with np.errstate(invalid="ignore", over="ignore"):
        s = np.where(z - e >= 0, sp, np.where(z + e <= 0, sm, max(sp, sm)))
        top = s * (np.abs(z) + e)
        out = (s * e + u * top) * (1 + 2.0**-20) + np.where(s > 0, _tiny_term(z, e, T), 0.0)
        out = np.where(top * (1 + 2 * u) <= fmt.max, out, np.inf)
    return h, _cast_up(out, e.dtype.type)


def _add_bound(h, Eh, t, Et, fmt: Format):
    """h + t (a residual sum) and its bound; exact where one side is certainly zero."""
    out = h + t
    acc = fmt.accumulator
    u = fmt.u + (acc.u if fmt.name != acc.name else 0.0) + 2.0**-53
    T = fmt.tiny + (acc.tiny if fmt.name != acc.name else 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        s = Eh.astype(np.float64) + Et
        e = s + u * (np.abs(out) + s)
        one_side = ((t == 0) & (Et == 0)) | ((h == 0) & (Eh == 0))
        e = np.where(one_side, s, e * (1 + 2.0**-20))
        e += _tiny_term(out, s, T)  # a subnormal sum may be rounded absolutely or flushed
        e = np.where(np.abs(out) + e <= fmt.max, e, np.inf)
    return out, _cast_up(e, Eh.dtype.type)


def _prepare(net: Network, fmt: Format):
    plan = []
    for layer in net.layers:
        if isinstance(layer, Factored):
            # the evaluation performed is B h, rounded, then A(B h) + b: two linear maps, each
            # bounded for every summation order (the first without bias or activation)
            plan.append(("dense", _Layer(layer.B, np.zeros(layer.rank), fmt), identity))
            plan.append(("dense", _Layer(layer.A, layer.bias, fmt), layer.activation))
        elif isinstance(layer, Dense):
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
    # about six arrays of the widest layer live at once; the bound makes a dozen passes over each
    # layer's outputs, so chunks small enough to stay in cache (about 2 MB per array) are faster
    widest = max([rnet.input_dim] + [layer.hidden_width for layer in rnet.layers] + [rnet.output_dim])
    rows = max(1, min(rnet.chunk_rows(chunk_bytes) // 2, max(64, _CACHE_BYTES // (8 * widest))))
    total = arr.shape[0]
    for start in range(0, total, rows):
        sl = slice(start, min(start + rows, total))
        with np.errstate(over="ignore"):
            h = fmt.round(arr[sl])
        E = np.zeros(h.shape, dtype=np.float64 if fmt.name == "float64" else np.float32)
        h, E = _bound_layers(plan, h, E, fmt)
        if progress is not None:
            progress(sl.stop, total)
        yield sl, h, E


def _bound_layers(plan, h, E, fmt: Format):
    """The reference and the bound through every layer (overflow gives inf bounds, silently)."""
    exact_inputs = True
    with np.errstate(over="ignore", invalid="ignore"):
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
    return h, E


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
    in the module docstring and in ``docs/precision.md``. Cost: one float64 and three float32
    matrix products per layer (float64: four float64 ones), in cache-sized chunks; measured at
    2.3–3.3× a float64 forward pass ``net(X)`` for float32 and bfloat16, 3.6–4.8× for float64
    (yun2019_classifier and float_safe_classifier, N = 10⁴ and 10⁵, d = 32, one BLAS thread).

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
                # (1 + 2^-51) covers the two float64 roundings of |out − y| + E
                err = np.max(np.abs(out - Ys) + E, axis=1) * (1 + 2.0**-51)
            margin[sl] = np.where(np.isnan(err), -np.inf, tol - err)
            certified[sl] = margin[sl] >= 0
    return Certificate(fmt.name, n, task, certified, margin, bound, exact, tol, time.perf_counter() - start)
