"""The bit-extraction construction shared by ``yang2026`` and ``vardi2022``, step by step.

The network is F = φ3 ∘ φ2 ∘ φ1, every weight a Python ``int`` (exact arithmetic only):

* φ1 (one ReLU, steps 1–3): an integer projection ``z = ⟨a, x⟩ + b`` whose values at the data
  are distinct positive integers, pairwise at least ``Q`` apart; the key of a point is
  ``⌊(z − z_0)/Q⌋``, so the keys are distinct.
* φ2 (lookup, steps 4–5): the sorted points are cut into blocks of S; ``V_k`` concatenates the
  S records (key ‖ label) of block k, and a staircase of z gives the ``V_k`` of the point's block.
* φ3 (extraction, steps 6–7): reads ``V_k`` q bits per layer, tests each record's key against z
  and adds the label of the one record whose key matches; the output layer adds the offset.
* Parallel copies (``vardi2022``'s depth-bounded variant): the blocks are split into P runs
  of consecutive blocks and steps 4–6 are built once per run (:func:`copy_network`); the
  copies sit side by side after φ1 (:func:`stack_copies`) and the output sums them. A copy
  adds its label at its own points and 0 elsewhere, because keys are distinct. P = 1 is the
  network above.

Hidden units are written as linear forms over the previous layer's units (:class:`LayerForms`):
each step names the quantities it hands on (``"z"``, ``"V"``, ``"x"``, ``"acc"``, ``"mis"``,
``"y"``), and the next layer reads them by name. The layer schedule (which units each layer
holds) is :mod:`._bitsplan`; this module fills in the numbers. See ``docs/yang2026.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._arith import EXACT
from ..activations import identity, relu
from ..data import Dataset, as_rng, format_indices, prepare
from ..errors import ArgumentError, AssumptionError
from ..network import Dense, Network
from ..verify import check_self
from . import _bitsplan as plan

__all__ = [
    "LayerForms", "Projection", "integer_coordinates", "check_separation", "project_to_integers", "projection_layer",
    "assign_keys", "pack_blocks", "read_record", "block_thresholds", "lookup_layers", "extraction_layers",
    "Copy", "split_into_copies", "copy_network", "stack_copies", "output_layer", "decode_labels", "check_outputs",
    "stored_labels", "build",
]

FULL_CHECK_N = 400  # below this, the builder also runs the exact forward pass as its self-check


# ---------------------------------------------------------------------------------------------
# hidden units as linear forms over the previous layer
# ---------------------------------------------------------------------------------------------


def const_form(c) -> tuple:
    """The constant c as a form (it reads no unit)."""
    return ({}, c)


def unit_form(i: int, coef=1) -> tuple:
    """coef times unit i of the layer."""
    return ({i: coef}, 0)


def lin_form(pairs, const=0) -> tuple:
    """Σ coef·unit_i + const over the (unit, coef) pairs."""
    f: dict = {}
    for i, c in pairs:
        if c != 0:
            f[i] = f.get(i, 0) + c
    return (f, const)


class LayerForms:
    """Collects the ReLU units of one hidden layer.

    ``forms`` maps the names the previous layer hands on to forms ``(coeffs, const)`` over its
    units; :meth:`unit` adds a unit whose pre-activation is Σ coef·form + const.
    """

    def __init__(self, forms: dict, in_dim: int):
        self.forms = forms
        self.in_dim = in_dim
        self.rows: list[dict] = []
        self.bias: list[int] = []

    def unit(self, terms, const=0) -> int:
        """Add the unit σ(Σ coef·forms[name] + const) for (name, coef) in ``terms``; its index."""
        row: dict = {}
        c = const
        for name, coef in terms:
            if coef == 0:
                continue
            f, fc = self.forms[name]
            for col, v in f.items():
                row[col] = row.get(col, 0) + coef * v
            c += coef * fc
        self.rows.append({k: v for k, v in row.items() if v != 0})
        self.bias.append(c)
        return len(self.rows) - 1

    def dense(self, activation=relu) -> Dense:
        W = EXACT.zeros((len(self.rows), self.in_dim))
        for i, row in enumerate(self.rows):
            for col, v in row.items():
                W[i, col] = v
        b = EXACT.zeros(len(self.bias))
        b[:] = self.bias
        return Dense(W, b, activation)


# ---------------------------------------------------------------------------------------------
# Steps 1–3: φ1, the projection to distinct integers and the keys
# ---------------------------------------------------------------------------------------------

_ratio = np.frompyfunc(lambda v: float(v).as_integer_ratio(), 1, 1)
_numerator = np.frompyfunc(lambda p: p[0], 1, 1)
_denominator = np.frompyfunc(lambda p: p[1], 1, 1)


def integer_coordinates(X: np.ndarray) -> tuple[np.ndarray, int]:
    """(D0·X as Python ints, D0): every float64 is m/2^k, so D0 = 2^max k clears all denominators.

    Examples
    --------
    >>> Dx, D0 = integer_coordinates(np.array([[0.5, 3.0], [0.25, -1.0]]))
    >>> D0, Dx.tolist()
    (4, [[2, 12], [1, -4]])
    """
    pairs = _ratio(X.astype(object))
    num, den = _numerator(pairs), _denominator(pairs)
    D0 = int(max(den.flat)) if den.size else 1
    Dx = num * (D0 // den)  # exact: every denominator is a power of two dividing D0
    return np.asarray(Dx, dtype=object), D0


def _squared_distances(Dx: np.ndarray, pairs: np.ndarray) -> list:
    diff = Dx[pairs[:, 0]] - Dx[pairs[:, 1]]
    return [sum(v * v for v in row) for row in diff]


def _closest_pair(X: np.ndarray, Dx: np.ndarray):
    """Exact smallest squared distance (in units of 1/D0²) and its pair.

    A k-d tree finds the float nearest-neighbour distance; every pair within a hair of it is
    re-measured in integers, so float ties or rounding cannot pick the wrong pair.
    """
    from scipy.spatial import cKDTree

    if X.shape[0] < 2:
        return None, None
    tree = cKDTree(X)
    dist, idx = tree.query(X, k=2)
    dmin = float(np.min(dist[:, 1]))
    pairs = tree.query_pairs(dmin * (1 + 1e-9) + 1e-300, output_type="ndarray")
    if pairs.size == 0:  # float rounding: fall back to the nearest-neighbour list
        i = int(np.argmin(dist[:, 1]))
        pairs = np.array([[min(i, idx[i, 1]), max(i, idx[i, 1])]])
    d2 = _squared_distances(Dx, pairs)
    best = min(range(len(d2)), key=d2.__getitem__)
    return d2[best], (int(pairs[best, 0]), int(pairs[best, 1]))


def _pairs_closer_than(X: np.ndarray, Dx: np.ndarray, D0: int, delta: Fraction) -> list:
    from scipy.spatial import cKDTree

    pairs = cKDTree(X).query_pairs(float(delta) * (1 + 1e-9) + 1e-300, output_type="ndarray")
    if pairs.size == 0:
        return []
    lim = delta * delta * D0 * D0
    return sorted(tuple(int(v) for v in p) for p, d2 in zip(pairs, _squared_distances(Dx, pairs)) if d2 < lim)


def _as_delta(delta) -> Fraction:
    try:
        dq = Fraction(float(delta)) if not isinstance(delta, Fraction) else delta
    except (TypeError, ValueError, OverflowError):
        raise ArgumentError(f"delta: expected a positive number, got {delta!r}") from None
    if not dq > 0:
        raise ArgumentError(f"delta: expected a positive number, got {delta!r}")
    return dq


def check_separation(X: np.ndarray, Dx: np.ndarray, D0: int, delta, index: np.ndarray):
    """Step 1: the separation δ of the data, measured exactly; a promised δ checked pair by pair.

    Claim: no two points are closer than a given ``delta`` (exactly: squared distances in
    integers), else :class:`AssumptionError` names the pairs (as indices of the caller's
    rows). Returns the exact smallest squared distance in units of 1/D0² and its pair (None,
    None for one point).
    """
    big = float(np.max(np.abs(X))) if X.size else 0.0
    if not np.isfinite(big * big * X.shape[1]):  # the k-d tree's squared distances would overflow
        raise AssumptionError(f"X: coordinates up to {big:.3g} overflow float64 when distances are measured; "
                              "rescale X (e.g. X / np.max(np.abs(X)))")
    if delta is not None:
        bad = _pairs_closer_than(X, Dx, D0, _as_delta(delta))
        if bad:
            pairs = [(int(index[i]), int(index[j])) for i, j in bad]
            raise AssumptionError(
                f"X: points closer than delta = {float(delta):.6g} at index pairs {format_indices(pairs)}")
    return _closest_pair(X, Dx)


def _integer_direction(Xf: np.ndarray, Dx: np.ndarray, gen: np.random.Generator, n_directions: int):
    """Integer direction g with distinct exact projections ⟨g, D0·x_i⟩; best of ``n_directions``
    by the key range (max − min)/(min gap), which sets the key bits.

    Returns (g, projections, sorted order, smallest gap), or None when no candidate separates.
    """
    n, d = Xf.shape
    if d == 1:
        G = np.ones((1, 1))
    else:
        G = gen.standard_normal((d, n_directions))
        G = np.round(G * (2.0**15 / np.max(np.abs(G), axis=0)))
    Zs = np.sort(Xf @ G, axis=0)
    gaps = np.diff(Zs, axis=0) if n > 1 else np.ones((1, G.shape[1]))
    score = np.min(gaps, axis=0) / np.maximum(Zs[-1] - Zs[0], np.finfo(float).tiny)
    for j in np.argsort(-score, kind="stable"):
        g = [int(v) for v in G[:, j]]
        p = np.asarray(Dx.dot(np.array(g, dtype=object)) if d > 1 else Dx[:, 0] * g[0], dtype=object)
        # exact order (floats of distinct huge ints may tie)
        ps = sorted(zip(p.tolist(), range(n)))
        vals = [t[0] for t in ps]
        gap = min((b - a for a, b in zip(vals[:-1], vals[1:])), default=1)
        if gap > 0:
            return g, p, np.array([t[1] for t in ps], dtype=np.int64), gap
    return None


def _grid_centre(X: np.ndarray, D0: int) -> np.ndarray:
    """D0·c as an integer vector, c the centre of the bounding box snapped to the 1/D0 grid."""
    centre = (np.min(X, axis=0) + np.max(X, axis=0)) / 2
    # (D0 beyond 2**1000: tiny coordinates; the float product would overflow, so exactly)
    return np.array([int(round(float(v) * D0)) if D0.bit_length() < 1000 and abs(v) * D0 < 2**62
                     else int(Fraction(float(v)) * D0) for v in centre], dtype=object)


@dataclass(frozen=True)
class Projection:
    """φ1: z = ⟨a, x⟩ + bias with a = D0·g, and its values at the data.

    Attributes
    ----------
    a : list of int
        Weights on the raw input.
    bias : int
    z : object array
        Values at the data in increasing order (distinct positive integers).
    order : int array
        Data rows in that order.
    Q : int
        Smallest gap between consecutive z.
    g : list of int
        The integer direction.
    M2 : int
        (D0·r)², r the radius of the data around the snapped centre of their bounding box.
    """

    a: list
    bias: int
    z: np.ndarray
    order: np.ndarray
    Q: int
    g: list
    M2: int


def project_to_integers(X: np.ndarray, Dx: np.ndarray, D0: int, gen: np.random.Generator,
                        n_directions: int) -> Projection:
    """Step 2: φ1, one ReLU mapping the points to distinct positive integers z_i.

    Claim: the z_i = ⟨a, x_i⟩ + bias are integers, distinct (checked exactly), and consecutive
    sorted values differ by at least Q ≥ 1. Moreover the pre-activation is positive on the
    whole ball of radius r around the data's centre c: ⟨g, D0(x − c)⟩ ≥ −‖g‖·D0·r > −G with
    G = ⌊√(‖g‖²·M2)⌋ + 1 the shift in the bias, so the ReLU acts as the identity on the data.
    Raises :class:`AssumptionError` when no candidate direction separates the points.
    """
    Dc = _grid_centre(X, D0)
    M2 = max(sum(v * v for v in row) for row in Dx - Dc)
    found = _integer_direction(X, Dx, gen, n_directions)
    if found is None:
        raise AssumptionError(
            f"X: none of {n_directions} integer directions separates the points; pass a larger n_directions")
    g, p, order, gap = found
    shift = math.isqrt(sum(v * v for v in g) * M2) + 1  # ≥ ‖g‖·D0·r
    c_dot = sum(gi * ci for gi, ci in zip(g, Dc))
    z = np.array([p[i] - c_dot + shift for i in order.tolist()], dtype=object)
    return Projection([gi * D0 for gi in g], shift - c_dot, z, order, int(gap), g, M2)


def projection_layer(pr: Projection) -> Dense:
    """Step 2 (cont.): φ1 as the first hidden layer, the single unit z = σ(⟨a, x⟩ + bias)."""
    W = EXACT.zeros((1, len(pr.a)))
    W[0, :] = pr.a
    b = EXACT.zeros(1)
    b[0] = pr.bias
    return Dense(W, b, relu)


def assign_keys(z: np.ndarray, Q: int) -> np.ndarray:
    """Step 3: the keys κ_i = ⌊(z_i − z_0)/Q⌋ of the sorted points.

    Claim: κ_0 = 0 and the keys strictly increase, since consecutive z differ by at least Q;
    so a key identifies its point, and ⌊(z − z_0)/Q⌋ = κ_i holds for z = z_i alone.

    Examples
    --------
    >>> assign_keys(np.array([5, 8, 14, 15], dtype=object), 1).tolist()
    [0, 3, 9, 10]
    """
    z0 = int(z[0])
    return np.array([(int(v) - z0) // Q for v in z], dtype=object)


# ---------------------------------------------------------------------------------------------
# Steps 4–5: φ2, the blocks and the lookup z ↦ V_{k(z)}
# ---------------------------------------------------------------------------------------------


def pack_blocks(keys: np.ndarray, labels: np.ndarray, S: int, n: int, ell: int) -> list:
    """Step 4: the block integers V_k = Σ_s (κ_{kS+s}·2^ℓ + y_{kS+s})·2^{(n+ℓ)(S−1−s)}.

    Claim: record s of V_k (see :func:`read_record`) is the key and label of sorted point kS+s;
    the last block is padded with keys κ_max + 1, κ_max + 2, ... (label 0), so V_0 < V_1 < ...
    (their leading records' keys increase). Needs keys < 2^n and labels < 2^ℓ.

    Examples
    --------
    >>> V = pack_blocks(np.array([0, 1, 3]), np.array([1, 0, 1]), 2, 3, 1)
    >>> [read_record(v, s, 2, 3, 1) for v in V for s in range(2)]
    [(0, 1), (1, 0), (3, 1), (4, 0)]
    """
    N = len(keys)
    B = -(-N // S)
    kmax = int(keys[-1])
    k = [int(v) for v in keys] + [kmax + j for j in range(1, B * S - N + 1)]
    y = [int(v) for v in labels] + [0] * (B * S - N)
    rho = n + ell
    V = []
    for blk in range(B):
        acc = 0
        for s in range(S):
            i = blk * S + s
            acc = (acc << rho) | (k[i] << ell) | y[i]
        V.append(acc)
    return V


def read_record(V_k: int, s: int, S: int, n: int, ell: int) -> tuple[int, int]:
    """(key, label) of record s of the block integer V_k (the inverse of :func:`pack_blocks`)."""
    rho = n + ell
    rec = (V_k >> (rho * (S - 1 - s))) & ((1 << rho) - 1)
    return rec >> ell, rec & ((1 << ell) - 1)


def block_thresholds(z: np.ndarray, S: int) -> list:
    """Step 4 (cont.): the staircase thresholds τ_k = z_{kS−1} + 1, k = 1 … B−1.

    Claim: the sorted point i reaches block #{k : z_i ≥ τ_k} = ⌊i/S⌋ (z strictly increasing
    integers: z_i ≥ τ_k iff i ≥ kS).
    """
    B = -(-len(z) // S)
    return [int(z[j * S - 1]) + 1 for j in range(1, B)]


def flat_lookup_layer(forms: dict, width: int, taus: list, heights: list) -> tuple[Dense, dict]:
    """One flat lookup layer: V ← V + Σ_j h_j·[z ≥ τ_j] over the given thresholds.

    Claim: for integer z, [z ≥ τ] = σ(z − τ + 1) − σ(z − τ) (two units per threshold); z and V
    are carried (V only once it depends on z).
    """
    L = LayerForms(forms, width)
    zi = L.unit([("z", 1)])
    vi = L.unit([("V", 1)]) if forms["V"][0] else None
    vf = [(vi, 1)] if vi is not None else []
    for tau, h in zip(taus, heights):
        p = L.unit([("z", 1)], 1 - tau)
        m = L.unit([("z", 1)], -tau)
        vf += [(p, h), (m, -h)]
    return L.dense(), {"z": unit_form(zi), "V": lin_form(vf, 0 if vi is not None else forms["V"][1])}


def _group_table(taus: list, heights: list, G: int, Wg: int):
    """Thresholds T[g][s] and heights A[g][s] of G groups of Wg slots (padding slots: height 0
    at the group's first threshold), the bound K ≥ every height, and base[g] = the heights of
    the groups before g."""
    T = [[None] * Wg for _ in range(G)]
    A = [[0] * Wg for _ in range(G)]
    for g in range(G):
        for s in range(Wg):
            j = g * Wg + s
            if j < len(taus):
                T[g][s], A[g][s] = taus[j], heights[j]
            else:
                T[g][s], A[g][s] = taus[g * Wg], 0
    K = max(max(max(row) for row in A), 1)
    base = [0] * G
    for g in range(1, G):
        base[g] = base[g - 1] + sum(A[g - 1])
    return T, A, K, base


def grouped_lookup_module(forms: dict, width: int, taus: list, heights: list, G: int,
                          Wg: int) -> tuple[list, dict]:
    """Two lookup layers for up to G·Wg thresholds in G groups of Wg (Yang 2025's W²L lookup).

    Claim: layer A computes the group indicators e_g = [z ≥ T_{g,0}] (g ≥ 1); since they are
    monotone, T_s(e) = T_{0,s} + Σ_g e_g(T_{g,s} − T_{g−1,s}) is slot s of the last group whose
    first threshold z reached, and likewise A_s(e). Layer B adds base(e) and, per slot,
    σ(A_s(e) + K(z − T_s(e))) − σ(K(z − T_s(e))) = A_s(e)·[z ≥ T_s(e)] for integer z, because
    K ≥ A_s(e) ≥ 0. So V grows by the heights of every threshold ≤ z, as in the flat lookup.
    """
    T, A, K, base = _group_table(taus, heights, G, Wg)
    LA = LayerForms(forms, width)
    zi = LA.unit([("z", 1)])
    vi = LA.unit([("V", 1)]) if forms["V"][0] else None
    e = [(LA.unit([("z", 1)], 1 - T[g][0]), LA.unit([("z", 1)], -T[g][0])) for g in range(1, G)]
    fA = {"z": unit_form(zi), "V": unit_form(vi) if vi is not None else const_form(forms["V"][1])}
    for g in range(1, G):
        fA[f"e{g}"] = lin_form([(e[g - 1][0], 1), (e[g - 1][1], -1)])
    LB = LayerForms(fA, len(LA.rows))
    zi = LB.unit([("z", 1)])
    vb = LB.unit([("V", 1)] + [(f"e{g}", base[g] - base[g - 1]) for g in range(1, G)])
    slot = []
    for s in range(Wg):
        tz = [("z", K)] + [(f"e{g}", -K * (T[g][s] - T[g - 1][s])) for g in range(1, G)]
        h0 = LB.unit(tz, -K * T[0][s])
        hv = LB.unit(tz + [(f"e{g}", A[g][s] - A[g - 1][s]) for g in range(1, G)], A[0][s] - K * T[0][s])
        slot += [(hv, 1), (h0, -1)]
    return [LA.dense(), LB.dense()], {"z": unit_form(zi), "V": lin_form([(vb, 1)] + slot)}


def lookup_layers(forms: dict, width: int, taus: list, V: list, W2: int, kind: str) -> tuple[list, dict]:
    """Step 5: φ2, the staircase z ↦ V_{k(z)} in layers of width at most W2.

    Claim: V starts as the constant V_0 and every threshold τ_j adds V_j − V_{j−1} once z ≥ τ_j
    (flat layers, or grouped modules of two layers, as :func:`._bitsplan.lookup_steps` lays
    them out); at the sorted point i the form ``"V"`` handed on equals V_{⌊i/S⌋} (step 4).
    Returns the layers and the forms ``{"z", "V"}`` over the last one.
    """
    forms = dict(forms, V=const_form(V[0]))
    heights = [V[j] - V[j - 1] for j in range(1, len(V))]
    layers: list = []
    pos = 0
    for step in plan.lookup_steps(plan.plan_lookup(len(taus), W2, kind)):
        if step[0] == "flat":
            r = step[1]
            dense, forms = flat_lookup_layer(forms, width, taus[pos:pos + r], heights[pos:pos + r])
            new = [dense]
        else:
            G, Wg = step[1], step[2]
            r = min(G * Wg, len(taus) - pos)
            new, forms = grouped_lookup_module(forms, width, taus[pos:pos + r], heights[pos:pos + r], G, Wg)
        layers += new
        width = new[-1].out_dim
        pos += r
    assert pos == len(taus)
    return layers, forms


# ---------------------------------------------------------------------------------------------
# Steps 6–7: φ3, bit extraction, the interval test and the label read-out
# ---------------------------------------------------------------------------------------------


def _read_chunk(L: LayerForms, lay: dict, beta: int, new: dict) -> int:
    """Read the top qt bits of x ∈ [0, 2^β): t = Σ_{u=1}^{2^qt−1} [x ≥ u·c], c = 2^(β−qt).

    Claim: [x ≥ uc] = σ(x − uc + 1) − σ(x − uc) for integer x, so t = ⌊x/c⌋, the next qt bits
    of the block integer; x − t·c ∈ [0, c) is handed on as ``"x"`` (unless no longer needed)
    and ``"acc"`` becomes 2^qt·acc + t (the field's bits read so far). Returns β − qt.
    """
    qt = lay["bits"]
    c = 2 ** (beta - qt)
    bank = [(L.unit([("x", 1)], 1 - t * c), L.unit([("x", 1)], -t * c)) for t in range(1, 2**qt)]
    d = [(p, 1) for p, _ in bank] + [(m, -1) for _, m in bank]
    if not lay["last_x"]:
        xi = L.unit([("x", 1)])
        new["x"] = lin_form([(xi, 1)] + [(p, -c) for p, _ in bank] + [(m, c) for _, m in bank])
    new["acc"] = lin_form(([(L.unit([("acc", 1)]), 2**qt)] if lay["acc"] else []) + d)
    return beta - qt


def _test_key(L: LayerForms, z0: int, Q: int, new: dict) -> None:
    """The interval test of a complete key κ̂ (in ``"acc"``) against z.

    Claim: with Δ = z − z0 − Q·κ̂, mis = σ(Δ − Q + 1) + σ(−Δ) is a non-negative integer, 0 iff
    0 ≤ Δ < Q, i.e. iff ⌊(z − z0)/Q⌋ = κ̂ (the point's own key, step 3).
    """
    a = L.unit([("z", 1), ("acc", -Q)], -z0 - Q + 1)
    b = L.unit([("z", -1), ("acc", Q)], z0)
    new["mis"] = lin_form([(a, 1), (b, 1)])


def _label_sum(L: LayerForms, lay: dict, ell: int) -> tuple:
    """The label accumulator y, plus this layer's increment σ(label − 2^ℓ·mis).

    Claim: a complete label field (in ``"acc"``, < 2^ℓ) passes iff its record's test gave
    mis = 0; any mis ≥ 1 makes the argument negative. y and the increment are ≥ 0, so the ReLU
    carries them unchanged.
    """
    yf = []
    if lay["y"]:
        yf.append((L.unit([("y", 1)]), 1))
    if lay["inc"]:
        yf.append((L.unit([("acc", 1), ("mis", -(2**ell))]), 1))
    return lin_form(yf) if yf else const_form(0)


def extraction_layer(forms: dict, width: int, lay: dict, beta: int, z0: int, Q: int,
                     ell: int) -> tuple[Dense, dict, int]:
    """One layer of φ3 as the schedule entry ``lay`` (:func:`._bitsplan.extraction_layers`) says.

    Unit order: z carry, y carry, label increment, key test, mis carry, bit bank, x carry.
    Returns the layer, the forms it hands on and the bits β left in x.
    """
    L = LayerForms(forms, width)
    new: dict = {}
    if lay["z"]:
        new["z"] = unit_form(L.unit([("z", 1)]))
    new["y"] = _label_sum(L, lay, ell)
    if lay["test"]:
        _test_key(L, z0, Q, new)
    if lay["mis"]:
        new["mis"] = unit_form(L.unit([("mis", 1)]))
    if lay["bits"]:
        beta = _read_chunk(L, lay, beta, new)
    return L.dense(), new, beta


def extraction_layers(forms: dict, width: int, z0: int, Q: int, S: int, n: int, ell: int,
                      q: int) -> tuple[list, dict]:
    """Step 6: φ3, reading the S records of V q bits per layer and summing the matching label.

    Claim: after the last chunk of a field, ``"acc"`` holds that field of the current record
    exactly (key, then label; every chunk is read by :func:`_read_chunk`); the first label
    layer tests the record's key against z (:func:`_test_key`) and the layer after the label
    adds the label iff the test passed (:func:`_label_sum`). Keys are distinct (step 3) and
    the point's own record is in its block (steps 4–5), so ``"y"`` ends as exactly the
    point's label. Returns the layers and the forms ``{"y"}`` over the last one.
    """
    forms = {"z": forms["z"], "x": forms["V"], "y": const_form(0)}
    beta = S * (n + ell)
    layers = []
    for lay in plan.extraction_layers(S, n, ell, q):
        dense, forms, beta = extraction_layer(forms, width, lay, beta, z0, Q, ell)
        layers.append(dense)
        width = dense.out_dim
    assert beta == 0
    return layers, forms


def output_layer(yform: tuple, width: int, offset: int) -> Dense:
    """Step 7 (cont.): the output y + offset (identity activation).

    Claim: for integer labels the output is the label itself (labels are stored minus their
    smallest value ``offset``), otherwise the class index.
    """
    W = EXACT.zeros((1, width))
    for col, v in yform[0].items():
        W[0, col] = v
    b = EXACT.zeros(1)
    b[0] = offset + yform[1]
    return Dense(W, b, identity)


def decode_labels(z: np.ndarray, keys: np.ndarray, V: list, taus: list, S: int, n: int, ell: int) -> np.ndarray:
    """Step 8 (large data): the claims of steps 3–5 checked from the stored integers alone.

    Claim: for every sorted point i, the thresholds put z_i in block k = ⌊i/S⌋
    (τ_k ≤ z_i < τ_{k+1}) and record i − kS of V_k carries the key κ_i; then the network's
    output is the label stored there. Returns those labels, −1 where a claim fails (stored
    labels are ≥ 0). O(N) big-integer shifts over object arrays; the full forward pass is
    :func:`memorize.verify`'s job.
    """
    N, rho = len(z), n + ell
    k, s = np.divmod(np.arange(N), S)
    records = (np.array(V, dtype=object)[k] >> (rho * (S - 1 - s)).astype(object)) & ((1 << rho) - 1)
    z = np.asarray(z, dtype=object)
    low = np.array([z[0]] + list(taus), dtype=object)[k]  # block 0 has no lower threshold
    high = np.array(list(taus) + [z[-1] + 1], dtype=object)[k]  # nor the last an upper one
    ok = (records >> ell == np.asarray(keys, dtype=object)) & (z >= low) & (z < high)
    return np.where(ok.astype(bool), records & ((1 << ell) - 1), -1)


# ---------------------------------------------------------------------------------------------
# Parallel copies (vardi2022's depth-bounded variant): steps 4–6 per run of blocks, side by side
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    """One parallel copy: steps 4–6 for the sorted points ``lo … hi − 1``.

    Attributes
    ----------
    lo, hi : int
        Its points, as positions in the sorted order.
    V, taus : list of int
        Its block integers and block thresholds (step 4).
    layers : list of Dense
        z carries, lookup and extraction; the first layer reads the single input z.
    y : tuple
        Its label accumulator, a form over the units of its last layer.
    """

    lo: int
    hi: int
    V: list
    taus: list
    layers: list
    y: tuple


def split_into_copies(N: int, S: int, copies: int) -> list[tuple[int, int]]:
    """Step 4 (cont.): the copies' point ranges, runs of consecutive blocks.

    Claim: the ranges [lo, hi) partition the sorted points 0 … N − 1 in order; each holds
    ⌊B/P⌋ or ⌈B/P⌉ whole blocks of S points (B = ⌈N/S⌉), except that the last range ends with
    the last, possibly partial, block. So the keys of a copy are consecutive keys of step 3,
    and only the last copy's block integers need padding records.

    Examples
    --------
    >>> split_into_copies(10, 2, 2)
    [(0, 6), (6, 10)]
    """
    ranges, lo = [], 0
    for blocks in plan.copy_block_counts(-(-N // S), copies):
        hi = min(N, lo + blocks * S)
        ranges.append((lo, hi))
        lo = hi
    return ranges


def z_carry_layer() -> Dense:
    """A layer that hands z on unchanged (z > 0): pads a copy with a short lookup."""
    L = LayerForms({"z": unit_form(0)}, 1)
    L.unit([("z", 1)])
    return L.dense()


def copy_network(z: np.ndarray, keys: np.ndarray, labels: np.ndarray, lo: int, hi: int, Q: int, sh: dict,
                 ell: int, lookup_depth: int) -> Copy:
    """Steps 4–6 for one copy: the sub-network z ↦ Σ (labels of its matching records).

    Claim: at the data point of sorted position i the copy's ``y`` is the label of i when
    lo ≤ i < hi, and 0 otherwise. Inside the range this is steps 4–6 on the copy's own points.
    Outside it, the lookup still hands on one of the copy's block integers (a staircase is
    defined for every integer z), but none of its records carries the point's key (keys are
    distinct, step 3; padding keys exceed κ_max), so every interval test fails and no label is
    added. The global z0 and Q keep the keys of all copies on one scale. The copy is padded
    with z carries in front to the common ``lookup_depth``, so all copies have one depth.
    """
    S, n = sh["S"], sh["n"]
    V = pack_blocks(keys[lo:hi], labels[lo:hi], S, n, ell)
    taus = block_thresholds(z[lo:hi], S)
    pad = lookup_depth - plan.plan_lookup(len(taus), sh["W2"], sh["lookup"]).depth
    layers = [z_carry_layer() for _ in range(pad)]
    lookup_part, forms = lookup_layers({"z": unit_form(0)}, 1, taus, V, sh["W2"], sh["lookup"])
    layers += lookup_part
    width = layers[-1].out_dim if layers else 1
    extraction_part, forms = extraction_layers(forms, width, int(z[0]), Q, S, n, ell, sh["q"])
    return Copy(lo, hi, V, taus, layers + extraction_part, forms["y"])


def _side_by_side(blocks: list, shared_input: bool) -> Dense:
    """One layer of the copies: block diagonal, or (``shared_input``) every block reading the
    single input z."""
    W = EXACT.zeros((sum(b.out_dim for b in blocks), 1 if shared_input else sum(b.in_dim for b in blocks)))
    bias = EXACT.zeros(W.shape[0])
    r = c = 0
    for b in blocks:
        cols = slice(0, 1) if shared_input else slice(c, c + b.in_dim)
        W[r:r + b.out_dim, cols] = b.weight
        bias[r:r + b.out_dim] = b.bias
        r, c = r + b.out_dim, c + b.in_dim
    return Dense(W, bias, relu)


def stack_copies(copies: list) -> tuple[list, tuple]:
    """Step 7: the copies side by side, their label forms summed.

    Claim: layer j of the result is the block-diagonal union of the copies' layers j (the
    first layer: every copy reads the projection's unit z), so each copy computes exactly what
    it computes alone; the returned form is Σ_c y_c over the last layer, i.e. (step 6 per copy)
    the point's own label from its copy and 0 from every other. One copy is returned as is.
    """
    if len(copies) == 1:
        return list(copies[0].layers), copies[0].y
    layers = [_side_by_side([c.layers[j] for c in copies], j == 0) for j in range(len(copies[0].layers))]
    terms, const, offset = [], 0, 0
    for c in copies:
        terms += [(offset + col, v) for col, v in c.y[0].items()]
        const += c.y[1]
        offset += c.layers[-1].out_dim
    return layers, lin_form(terms, const)


# ---------------------------------------------------------------------------------------------
# assembly
# ---------------------------------------------------------------------------------------------


def stored_labels(data: Dataset) -> tuple[np.ndarray, int, str, int]:
    """Labels as the non-negative integers the records store.

    Integer classes are stored minus their smallest value (the output layer adds it back);
    other classes as their index. Returns (stored values per point, offset, what the output
    means, label bits ℓ).
    """
    cls = np.asarray(data.classes)
    codes = np.asarray(data.labels)
    if cls.dtype.kind in "iu":
        offset = int(cls.min())
        values = np.array([int(v) - offset for v in cls], dtype=object)[codes]
        output = "label"
    else:
        offset, values, output = 0, codes.astype(object), "class index"
    return values, offset, output, plan.label_bits(int(max(values)) + 1 if len(values) else 1)


def check_outputs(layers: list, Xs: np.ndarray, pr: Projection, keys: np.ndarray, labels: np.ndarray, parts: list,
                  sh: dict, ell: int, offset: int, method: str, index: np.ndarray) -> None:
    """Step 8: every point's output is its label.

    On small data (N ≤ ``FULL_CHECK_N``) the exact forward pass at the sorted points ``Xs``;
    else the claims of steps 3–5 decoded from each copy's records (:func:`decode_labels`; the
    other copies add 0 because keys are distinct). Raises through
    :func:`memorize.verify.check_self` naming the points that fail.
    """
    if len(keys) <= FULL_CHECK_N:
        values = Network(layers)(Xs)[:, 0]
    else:
        values = np.concatenate([decode_labels(pr.z[c.lo:c.hi], keys[c.lo:c.hi], c.V, c.taus, sh["S"], sh["n"], ell)
                                 for c in parts]) + offset
    targets = np.array([int(v) + offset for v in labels], dtype=object)
    check_self(values[:, None], targets[:, None], 0, method=method, index=index)


def build(X, y, *, width, depth, block_size, bits_per_layer, layers_per_key, lookup, lookup_width, delta,
          n_directions, rng, method, copies=None) -> Network:
    """The construction, steps 1–8 in order (the body of both builders).

    ``copies`` is None for one network (``yang2026``), else a number of parallel copies or
    ``"auto"`` (the fewest within ``depth``); then ``meta["copies"]`` reports it.
    """
    data = prepare(X, y, task="classification")
    gen = as_rng(rng)
    if isinstance(n_directions, bool) or not isinstance(n_directions, (int, np.integer)) or n_directions < 1:
        raise ArgumentError(f"n_directions: expected a positive integer, got {n_directions!r}")
    labvals, offset, output, ell = stored_labels(data)
    Dx, D0 = integer_coordinates(data.X)
    d2, pair = check_separation(data.X, Dx, D0, delta, data.index)
    pr = project_to_integers(data.X, Dx, D0, gen, int(n_directions))
    keys = assign_keys(pr.z, pr.Q)
    labels = labvals[pr.order]
    N = len(keys)
    sh = plan.choose_shape(N, int(keys[-1]), ell, width=width, depth=depth, block_size=block_size,
                           bits_per_layer=bits_per_layer, layers_per_key=layers_per_key, lookup=lookup,
                           lookup_width=lookup_width, copies=copies, method=method)
    lookup_depth = plan.copies_lookup_depth(N, sh["S"], sh["W2"], sh["lookup"], sh["copies"])
    parts = [copy_network(pr.z, keys, labels, lo, hi, pr.Q, sh, ell, lookup_depth)
             for lo, hi in split_into_copies(N, sh["S"], sh["copies"])]
    hidden, yform = stack_copies(parts)
    layers = [projection_layer(pr)] + hidden
    layers.append(output_layer(yform, layers[-1].out_dim, offset))
    check_outputs(layers, EXACT.array(data.X[pr.order]) if N <= FULL_CHECK_N else None, pr, keys, labels, parts,
                  sh, ell, offset, method, data.index[pr.order])
    net = Network(layers)
    meta = {
        "method": method,
        "output": output,
        "classes": [c.item() if hasattr(c, "item") else c for c in np.asarray(data.classes).tolist()],
        "label_offset": offset,
        **_shape_meta(net, sh, ell, N, sum(len(c.V) for c in parts)),
        **_projection_meta(pr, keys, d2, pair, D0, delta, data.index),
        "n_directions": int(n_directions),
        "n_duplicates_merged": data.n_duplicates,
        "exact": True,
    }
    if copies is not None:
        meta["copies"] = sh["copies"]
    return Network(layers, meta)


def _shape_meta(net: Network, sh: dict, ell: int, N: int, B: int) -> dict:
    ws = net.widths
    S, q, n = sh["S"], sh["q"], sh["n"]
    return {
        "width": max(ws),
        "depth": len(ws),
        "W2L2": max(ws) ** 2 * len(ws) ** 2,
        "W2L2_over_Nn": max(ws) ** 2 * len(ws) ** 2 / (N * n),
        "num_params": net.num_params,
        "num_nonzero": net.num_nonzero,
        "max_weight_bits": net.max_weight_bits,
        "block_size": S,
        "bits_per_layer": q,
        "layers_per_key": -(-n // q),
        "key_bits": n,
        "label_bits": ell,
        "record_bits": n + ell,
        "block_bits": S * (n + ell),
        "num_blocks": B,
        "lookup": sh["lookup"],
        "lookup_width": sh["W2"],
        "lookup_depth": len(ws) - 1 - int(plan.extraction_depth(S, n, ell, q)),
    }


def _projection_meta(pr: Projection, keys, d2, pair, D0: int, delta, index) -> dict:
    return {
        "key_max": int(keys[-1]),
        "z_bits": int(max(abs(int(pr.z[-1])), abs(pr.bias))).bit_length(),
        "key_gap_Q": str(pr.Q),
        "direction": pr.g,
        "input_denominator_bits": D0.bit_length() - 1,
        "delta": float(math.sqrt(float(Fraction(d2, D0 * D0)))) if d2 is not None else None,
        "delta_unit_ball": float(math.sqrt(float(Fraction(d2, pr.M2)))) if d2 is not None and pr.M2 > 0 else None,
        "delta_pair": [int(index[pair[0]]), int(index[pair[1]])] if pair else None,
        "delta_given": float(delta) if delta is not None else None,
    }
