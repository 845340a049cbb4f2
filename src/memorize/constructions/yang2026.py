"""Deep bit-extraction memorizers: Yang & Yang 2026 (width–depth trade-off) and Vardi et al. 2022.

The network is F = φ3 ∘ φ2 ∘ φ1, every weight a Python ``int``:

* φ1 (one ReLU): an integer projection ``z = ⟨a, x⟩ + G`` whose values at the data are distinct
  integers, pairwise at least ``Q`` apart; the key of a point is ``⌊(z − z0)/Q⌋``.
* φ2 (lookup): a staircase of z giving the big integer ``V_k`` of the block that holds the
  point; ``V_k`` concatenates the S records (key ‖ label) of block k.
* φ3 (extraction): reads ``V_k`` q bits per layer, tests each key against z and adds the label
  of the one record whose key matches.

The recipes follow ``shared/specs/bitextract.md`` with this library's own constants (one
combined staircase for keys and labels, key separation 1, a single extraction bank); the
formulas are re-derived, not the papers' own statements (the paper's formulas were not
available). See ``docs/yang2026.md``.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from .. import _exact
from ..activations import identity, relu
from ..data import as_rng, format_indices, prepare
from ..errors import ArgumentError, AssumptionError, CapacityError
from ..network import Dense, Network
from ..registry import Architecture, register
from ..verify import check_self
from . import _bitsplan as plan

__all__ = ["yang2026", "architecture", "choose_shape"]

_MAX_Q = 16
_FULL_CHECK_N = 400  # below this, the builder also runs the exact forward pass as its self-check


# ---------------------------------------------------------------------------------------------
# shape selection (shared with the architecture function)
# ---------------------------------------------------------------------------------------------


def _label_bits(num_values: int) -> int:
    return max(1, int(num_values - 1).bit_length())


def choose_shape(N: int, key_max: int, ell: int, *, width=None, depth=None, block_size=None,
                 bits_per_layer=None, layers_per_key=None, lookup="auto", lookup_width=None,
                 method="yang2026") -> dict:
    """Pick (S, q, lookup, W2) from the knobs; raise :class:`CapacityError` if impossible.

    Returns a dict with keys S, q, n, lookup, W2, widths, depth, width.
    """
    N = int(N)
    n_est = max(1, int(key_max).bit_length())
    if lookup not in ("auto", "flat", "grouped"):
        raise ArgumentError(f"lookup: expected 'auto', 'flat' or 'grouped', got {lookup!r}")
    for name, v in (("width", width), ("depth", depth), ("block_size", block_size),
                    ("bits_per_layer", bits_per_layer), ("layers_per_key", layers_per_key),
                    ("lookup_width", lookup_width)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
            raise ArgumentError(f"{name}: expected a positive integer, got {v!r}")
    if bits_per_layer is not None and layers_per_key is not None:
        raise ArgumentError("bits_per_layer, layers_per_key: give at most one of them")
    if lookup_width is not None and lookup_width < 4:
        raise CapacityError(f"lookup_width: at least 4 (carries of z and V plus one step of two units), got {lookup_width}")
    if block_size is not None and block_size > N:
        raise CapacityError(f"block_size: {block_size} exceeds the number of distinct points ({N})")
    if bits_per_layer is not None and bits_per_layer > _MAX_Q:
        raise CapacityError(f"bits_per_layer: at most {_MAX_Q} (a layer holds 2^(q+1) units), got {bits_per_layer}")
    if layers_per_key is not None:
        qs = [max(1, -(-n_est // int(layers_per_key)))]
        if qs[0] > _MAX_Q:
            raise CapacityError(f"layers_per_key: {layers_per_key} layers need {qs[0]} bits per layer (max {_MAX_Q})")
    elif bits_per_layer is not None:
        qs = [int(bits_per_layer)]
    else:
        qs = list(range(1, _MAX_Q + 1))

    def shape(q):
        W3 = plan.extraction_width(n_est, ell, q)
        if width is not None and W3 > width:
            return None
        W2 = int(lookup_width) if lookup_width is not None else (int(width) if width is not None else W3)
        if W2 < 4:
            return None
        kind = lookup
        if kind == "auto":
            kind = "grouped" if plan.lookup_k(W2) >= 2 else "flat"
        if block_size is not None:
            S = int(block_size)
            L = int(plan.total_depth(N, np.array([S]), key_max, ell, q, W2, kind)[0])
        else:
            S, L = plan.best_block_size(N, key_max, ell, q, W2, kind)
        n = plan.key_bits(key_max, N, S)
        ws = plan.widths(N, 1, S, n, ell, q, W2, kind)
        return {"S": S, "q": q, "n": n, "lookup": kind, "W2": W2, "depth": len(ws), "width": max(ws),
                "widths": ws}

    cands = [c for c in (shape(q) for q in qs) if c is not None]
    if not cands:
        need = plan.extraction_width(n_est, ell, qs[0])
        raise CapacityError(
            f"width: {width} is too narrow for {method}; bit extraction at {qs[0]} bit(s) per layer needs "
            f"width ≥ {need}"
        )
    if depth is not None:
        ok = [c for c in cands if c["depth"] <= depth]
        if not ok:
            best = min(c["depth"] for c in cands)
            raise CapacityError(
                f"depth: no setting reaches depth ≤ {depth} for N = {N} (key bits {n_est}, label bits {ell}); "
                f"the shallowest allowed by the other knobs has depth {best}"
            )
        # the narrowest network that fits the depth budget
        return min(ok, key=lambda c: (c["width"], c["depth"]))
    if width is not None:
        return min(cands, key=lambda c: (c["depth"], c["width"]))
    # no target: fewest dense parameters
    return min(cands, key=lambda c: (plan.dense_params(1, c["widths"]), c["depth"]))


def architecture(n: int, dx: int, dy: int = 1, *, n_classes: int | None = None, key_max: int | None = None,
                 key_bits: int | None = None, delta: float | None = None, z_bits: int | None = None, **options) -> Architecture:
    """Sizes of the ``yang2026`` network for ``n`` points without building it.

    The widths and parameter count are exact when ``key_max`` (``meta["key_max"]`` of a built
    network) is given. Otherwise the key range is estimated from ``key_bits`` or, failing
    that, from the separation ``delta`` in the unit ball as the union bound
    ``key_max ≈ 3.2·n²·√dx/δ`` (spec §2.1), or else as the typical ``2·n²`` (generic points:
    the smallest of n − 1 projected gaps is about range/n²; measured key ranges are
    2^1.8·n^1.57 for uniform data in the 4-ball, N = 10²…10⁵).
    ``n_classes`` defaults to ``max(dy, 2)``. ``max_weight_bits`` is an estimate unless
    ``z_bits`` (``meta["z_bits"]``) is given; ``num_nonzero`` is the structural count (an
    upper bound: a data-dependent weight may vanish).

    Examples
    --------
    >>> from memorize.constructions.yang2026 import architecture
    >>> a = architecture(10**6, 4, 10, key_max=2**33, width=20)
    >>> max(a.widths), a.num_nonzero < 10**6
    (20, True)
    """
    N = int(n)
    C = int(n_classes) if n_classes is not None else max(int(dy), 2)
    ell = _label_bits(C)
    if key_max is None:
        if key_bits is not None:
            key_max = 2 ** (int(key_bits) - 1)
        elif delta is not None:
            # the union bound of spec §2.1: the range of the projection over the smallest gap
            key_max = int(max(1.0, 3.2 * N * N * math.sqrt(dx) / float(delta)))
        else:
            # typical: the smallest of N−1 gaps of N generic projected points is ~ range/N²
            key_max = 2 * N * N
    knob_names = ("width", "depth", "block_size", "bits_per_layer", "layers_per_key", "lookup", "lookup_width")
    knobs = {k: options[k] for k in knob_names if k in options}
    sh = choose_shape(N, int(key_max), ell, **knobs)
    ws = [1] + sh["widths"][1:]
    params = plan.dense_params(dx, ws)
    nnz = _structural_nonzeros(N, dx, sh, ell)
    rho = sh["n"] + ell
    # Largest weight: the block integers (S·ρ bits) and, in the grouped lookup, the products
    # K·T of a jump height and a threshold of z; z carries the input precision (≈ 80 bits for
    # generic float64 data: 53-bit mantissas, their exponent spread and a 16-bit direction).
    zb = int(z_bits) if z_bits is not None else 80
    grouped = sh["lookup"] == "grouped" and sh["S"] < N
    bits = max(sh["S"] * rho + (zb if grouped else 0), zb + 1)
    notes = (f"S={sh['S']} points per block, q={sh['q']} bits per layer, n={sh['n']} key bits, ell={ell} label bits, "
             f"{sh['lookup']} lookup (width budget {sh['W2']}); W^2 L^2 = {max(ws) ** 2 * len(ws) ** 2}")
    return Architecture("yang2026", dx, tuple(ws), 1, params, residual=False, activation="relu",
                        max_weight_bits=bits, num_nonzero=nnz, notes=notes)


def _structural_nonzeros(N, dx, sh, ell) -> int:
    """Nonzero weights and biases if no data-dependent coefficient happens to vanish."""
    S, q, n, W2, kind = sh["S"], sh["q"], sh["n"], sh["W2"], sh["lookup"]
    B = -(-N // S)
    lp = plan.plan_lookup(B - 1, W2, kind)
    total = dx + 1  # φ1
    # V's linear form over the current layer: number of terms, and whether it has a constant
    v_terms, v_const = 0, True
    prev_w = 1

    def carry_v():
        return v_terms + (1 if v_const else 0) if v_terms else 0

    def flat_layer(r):
        nonlocal v_terms, v_const, prev_w, total
        cv = carry_v()
        total += 1 + cv + 4 * r  # z carry; V carry; each step unit: weight on z + bias
        v_terms, v_const = (1 if cv else 0) + 2 * r, not cv
        prev_w = 1 + (1 if cv else 0) + 2 * r

    def module(G, Wg):
        nonlocal v_terms, v_const, prev_w, total
        cv = carry_v()
        total += 1 + cv + 4 * (G - 1)  # layer A
        # layer B: z carry; V + base(e) reads V and every e (2 units each) + bias;
        # each of the 2·Wg slot units reads z and every e, plus a bias
        total += 1 + ((1 if cv else 0) + 2 * (G - 1) + (0 if cv else 1)) + 2 * Wg * (1 + 2 * (G - 1) + 1)
        v_terms, v_const = 1 + 2 * Wg, False
        prev_w = 2 + 2 * Wg

    for _ in range(lp.full_modules):
        if kind == "flat":
            flat_layer(lp.k)
        else:
            module(lp.k + 1, lp.k)
    if lp.tail:
        if lp.tail[0] == "flat":
            flat_layer(lp.tail[1])
        else:
            module(lp.tail[1], lp.k)
    return total + _extraction_nonzeros(S, n, ell, q, v_terms, prev_w, lp)


def _extraction_nonzeros(S, n, ell, q, v_terms, prev_w, lp) -> int:
    # The extraction stage's structure is regular enough to count from the schedule; the
    # first layer reads V's form (all units of the last lookup layer but z).
    layers = plan.extraction_layers(S, n, ell, q)
    total = 0
    x_terms = v_terms
    acc_terms = 0
    prev = None
    for lay in layers:
        nb = 2 ** lay["bits"] - 1 if lay["bits"] else 0
        # bank units: each reads x's form, plus a bias (always nonzero but for t·c − 1 = 0)
        total += 2 * nb * x_terms + 2 * nb
        if not lay["last_x"]:
            total += x_terms
        if lay["acc"]:
            total += acc_terms
        if lay["z"]:
            total += 1
        if lay["y"]:
            total += 1 + (1 if prev is not None and prev["inc"] else 0)
        if lay["test"]:
            total += 2 * (acc_terms + 1 + 1)  # reads κ̂, z, bias
        if lay["mis"]:
            total += 2 if prev is not None and prev["test"] else 1
        if lay["inc"]:
            total += acc_terms + (2 if prev is not None and prev["test"] else 1)
        # forms read by the next layer
        pbits = 2 ** lay["bits"] - 1 if lay["bits"] else 0
        x_terms = (1 + 2 * pbits) if not lay["last_x"] else 0
        acc_terms = (1 if lay["acc"] else 0) + 2 * pbits
        prev = lay
    # output layer: y carry and inc (+ bias for the label offset, counted when nonzero)
    total += (1 if prev["y"] else 0) + 1
    return total


# ---------------------------------------------------------------------------------------------
# exact input handling
# ---------------------------------------------------------------------------------------------

_ratio = np.frompyfunc(lambda v: float(v).as_integer_ratio(), 1, 1)


def _integer_coordinates(X: np.ndarray) -> tuple[np.ndarray, int]:
    """(D0·X as Python ints, D0): every float64 is m/2^k, so D0 = 2^max k clears all denominators."""
    pairs = _ratio(X.astype(object))
    num = np.frompyfunc(lambda p: p[0], 1, 1)(pairs)
    den = np.frompyfunc(lambda p: p[1], 1, 1)(pairs)
    D0 = int(max(den.flat)) if den.size else 1
    Dx = num * (D0 // den)  # exact: every denominator is a power of two dividing D0
    return np.asarray(Dx, dtype=object), D0


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
    diff = Dx[pairs[:, 0]] - Dx[pairs[:, 1]]
    d2 = [sum(v * v for v in row) for row in diff]
    best = min(range(len(d2)), key=d2.__getitem__)
    return d2[best], (int(pairs[best, 0]), int(pairs[best, 1]))


def _pairs_closer_than(X: np.ndarray, Dx: np.ndarray, D0: int, delta: Fraction) -> list:
    from scipy.spatial import cKDTree

    tree = cKDTree(X)
    pairs = tree.query_pairs(float(delta) * (1 + 1e-9) + 1e-300, output_type="ndarray")
    if pairs.size == 0:
        return []
    diff = Dx[pairs[:, 0]] - Dx[pairs[:, 1]]
    lim = delta * delta * D0 * D0
    bad = [tuple(int(v) for v in p) for p, row in zip(pairs, diff) if sum(v * v for v in row) < lim]
    return sorted(bad)


def _project(Xf: np.ndarray, Dx: np.ndarray, gen: np.random.Generator, n_directions: int):
    """Integer direction g with distinct exact projections; best of ``n_directions`` by the
    key range (max − min)/(min gap), which sets the key bits."""
    n, d = Xf.shape
    if d == 1:
        G = np.ones((1, 1))
    else:
        G = gen.standard_normal((d, n_directions))
        G = np.round(G * (2.0**15 / np.max(np.abs(G), axis=0)))
    Zf = Xf @ G
    Zs = np.sort(Zf, axis=0)
    gaps = np.diff(Zs, axis=0) if n > 1 else np.ones((1, G.shape[1]))
    score = np.min(gaps, axis=0) / np.maximum(Zs[-1] - Zs[0], np.finfo(float).tiny)
    for j in np.argsort(-score, kind="stable"):
        g = [int(v) for v in G[:, j]]
        p = Dx.dot(np.array(g, dtype=object)) if d > 1 else Dx[:, 0] * g[0]
        p = np.asarray(p, dtype=object)
        # exact order (floats of distinct huge ints may tie)
        ps = sorted(zip(p.tolist(), range(n)))
        vals = [t[0] for t in ps]
        gap = min((b - a for a, b in zip(vals[:-1], vals[1:])), default=1)
        if gap > 0:
            return g, p, np.array([t[1] for t in ps], dtype=np.int64), gap
    return None


# ---------------------------------------------------------------------------------------------
# the layer builder: hidden units as linear forms over the previous layer
# ---------------------------------------------------------------------------------------------


class _Layer:
    """Collects the units of one hidden layer; ``forms`` maps names to (coeffs, const) over the
    previous layer's units."""

    def __init__(self, forms: dict, in_dim: int):
        self.forms = forms
        self.in_dim = in_dim
        self.rows: list[dict] = []
        self.bias: list[int] = []

    def unit(self, terms, const=0) -> int:
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
        W = np.zeros((len(self.rows), self.in_dim), dtype=object)
        for i, row in enumerate(self.rows):
            for col, v in row.items():
                W[i, col] = v
        b = np.array(self.bias + [0], dtype=object)[:-1]
        return Dense(W, b, activation)


def _const(c):
    return ({}, c)


def _unit(i, coef=1):
    return ({i: coef}, 0)


def _lin(pairs, const=0):
    f: dict = {}
    for i, c in pairs:
        if c != 0:
            f[i] = f.get(i, 0) + c
    return (f, const)


# ---------------------------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------------------------


def _build_layers(Dg: list, bias1: int, taus: list, V: list, z0: int, Q: int, S: int, n: int, ell: int,
                  q: int, W2: int, kind: str) -> list:
    layers = [Dense(np.array([Dg], dtype=object), np.array([bias1], dtype=object), relu)]
    forms = {"z": _unit(0)}
    width = 1
    # ---- φ2: the lookup z ↦ V_{k(z)} ---------------------------------------------------------
    forms["V"] = _const(V[0])
    heights = [V[j] - V[j - 1] for j in range(1, len(V))]
    lp = plan.plan_lookup(len(taus), W2, kind)
    pos = 0

    def flat_layer(r):
        nonlocal forms, width, pos
        L = _Layer(forms, width)
        zi = L.unit([("z", 1)])
        vi = L.unit([("V", 1)]) if forms["V"][0] else None
        steps = []
        for j in range(pos, pos + r):
            p = L.unit([("z", 1)], 1 - taus[j])
            m = L.unit([("z", 1)], -taus[j])
            steps.append((p, m, heights[j]))
        pos += r
        vf = [(vi, 1)] if vi is not None else []
        for p, m, h in steps:
            vf += [(p, h), (m, -h)]
        layers.append(L.dense())
        forms = {"z": _unit(zi), "V": _lin(vf, 0 if vi is not None else forms["V"][1])}
        width = len(L.rows)

    def module(G, Wg):
        nonlocal forms, width, pos
        r = min(G * Wg, len(taus) - pos)
        T = [[None] * Wg for _ in range(G)]
        A = [[0] * Wg for _ in range(G)]
        for g in range(G):
            first = pos + g * Wg
            for s in range(Wg):
                j = first + s
                if j < pos + r:
                    T[g][s], A[g][s] = taus[j], heights[j]
                else:  # padding slot of the last group: height 0, any threshold
                    T[g][s], A[g][s] = taus[first], 0
        K = max(max(row) for row in A)
        K = max(K, 1)
        base = [0] * G
        for g in range(1, G):
            base[g] = base[g - 1] + sum(A[g - 1])
        # layer A: group indicators e_g = [z ≥ T_{g,0}], g ≥ 1
        LA = _Layer(forms, width)
        zi = LA.unit([("z", 1)])
        vi = LA.unit([("V", 1)]) if forms["V"][0] else None
        e = []
        for g in range(1, G):
            p = LA.unit([("z", 1)], 1 - T[g][0])
            m = LA.unit([("z", 1)], -T[g][0])
            e.append((p, m))
        layers.append(LA.dense())
        fA = {"z": _unit(zi), "V": _unit(vi) if vi is not None else _const(forms["V"][1])}
        for g in range(1, G):
            fA[f"e{g}"] = _lin([(e[g - 1][0], 1), (e[g - 1][1], -1)])
        # layer B: per slot, h0 = σ(K(z − T_s(e))), hv = σ(A_s(e) + K(z − T_s(e)))
        LB = _Layer(fA, len(LA.rows))
        zi = LB.unit([("z", 1)])
        vb = LB.unit([("V", 1)] + [(f"e{g}", base[g] - base[g - 1]) for g in range(1, G)])
        slot = []
        for s in range(Wg):
            tz = [("z", K)] + [(f"e{g}", -K * (T[g][s] - T[g - 1][s])) for g in range(1, G)]
            h0 = LB.unit(tz, -K * T[0][s])
            hv = LB.unit(tz + [(f"e{g}", A[g][s] - A[g - 1][s]) for g in range(1, G)], A[0][s] - K * T[0][s])
            slot += [(hv, 1), (h0, -1)]
        layers.append(LB.dense())
        forms = {"z": _unit(zi), "V": _lin([(vb, 1)] + slot)}
        width = len(LB.rows)
        pos += r

    for _ in range(lp.full_modules):
        if kind == "flat":
            flat_layer(lp.k)
        else:
            module(lp.k + 1, lp.k)
    if lp.tail:
        if lp.tail[0] == "flat":
            flat_layer(lp.tail[1])
        else:
            module(lp.tail[1], lp.k)
    assert pos == len(taus)

    # ---- φ3: read S records (key ‖ label), q bits per layer; test keys; accumulate the label ----
    forms = {"z": forms["z"], "x": forms["V"], "y": _const(0)}
    beta = S * (n + ell)
    for lay in plan.extraction_layers(S, n, ell, q):
        L = _Layer(forms, width)
        new: dict = {}
        if lay["z"]:
            new["z"] = _unit(L.unit([("z", 1)]))
        # the label accumulator and this layer's increment
        yf = []
        if lay["y"]:
            yf.append((L.unit([("y", 1)]), 1))
        if lay["inc"]:
            yf.append((L.unit([("acc", 1), ("mis", -(2**ell))]), 1))
        new["y"] = _lin(yf) if yf else _const(0)
        if lay["test"]:
            # Δ = z − z0 − Q·κ̂; a = σ(Δ − Q + 1), b = σ(−Δ): both 0 iff ⌊(z − z0)/Q⌋ = κ̂
            a = L.unit([("z", 1), ("acc", -Q)], -z0 - Q + 1)
            b = L.unit([("z", -1), ("acc", Q)], z0)
            new["mis"] = _lin([(a, 1), (b, 1)])
        if lay["mis"]:
            new["mis"] = _unit(L.unit([("mis", 1)]))
        if lay["bits"]:
            qt = lay["bits"]
            c = 2 ** (beta - qt)
            bank = []
            for t in range(1, 2**qt):
                p = L.unit([("x", 1)], 1 - t * c)
                m = L.unit([("x", 1)], -t * c)
                bank.append((p, m))
            d = [(p, 1) for p, _ in bank] + [(m, -1) for _, m in bank]
            if not lay["last_x"]:
                xi = L.unit([("x", 1)])
                new["x"] = _lin([(xi, 1)] + [(p, -c) for p, _ in bank] + [(m, c) for _, m in bank])
            accf = d
            if lay["acc"]:
                accf = [(L.unit([("acc", 1)]), 2**qt)] + d
            new["acc"] = _lin(accf)
            beta -= qt
        layers.append(L.dense())
        forms = new
        width = len(L.rows)
    assert beta == 0
    return layers, forms["y"], width


def _output_layer(yform, width: int, offset: int) -> Dense:
    W = np.zeros((1, width), dtype=object)
    for col, v in yform[0].items():
        W[0, col] = v
    return Dense(W, np.array([offset + yform[1]], dtype=object), identity)


def _records(keys: np.ndarray, labels: np.ndarray, S: int, n: int, ell: int) -> list:
    """Block integers V_k = Σ_s (κ_{k,s}·2^ℓ + y_{k,s})·2^{(n+ℓ)(S−1−s)} (keys sorted)."""
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


@register(
    "yang2026",
    summary=("Yang & Yang 2026, Thm 2.1 (re-derived): deep ReLU net of width W and depth L with "
             "W²L² ≈ N·log(N/δ), weights exact big integers (bit extraction); C classes."),
    task="classification",
    architecture=architecture,
    reference=("X. Yang, Y. Yang. Memorization capacity of deep ReLU neural networks characterized by width and "
               "depth. arXiv:2603.09589, 2026; G. Vardi, G. Yehudai, O. Shamir. On the optimal memorization power "
               "of ReLU neural networks. ICLR 2022."),
    demo_max_n=300,
    demo_options={},
    assumptions=("δ-separated points", "class labels", "exact arithmetic (big-integer weights)"),
)
def yang2026(X, y, *, width: int | None = None, depth: int | None = None, block_size: int | None = None,
             bits_per_layer: int | None = None, layers_per_key: int | None = None, lookup: str = "auto",
             lookup_width: int | None = None, delta=None, n_directions: int = 8, rng=None,
             exact: bool = True) -> Network:
    """Build a deep bit-extraction ReLU network that memorizes ``(X, y)`` exactly.

    Parameters
    ----------
    X : array_like, shape (N, d) or (N,)
        Distinct points (any scale: the first layer rescales them; identical points with equal
        labels are merged).
    y : array_like, shape (N,)
        Class labels (integers, strings or booleans), or a one-hot matrix (N, C).
    width, depth : int, optional
        Target largest hidden width / number of hidden layers. With ``width`` the builder reads
        as many bits per layer as fit and uses the whole width for the lookup, then picks the
        block size with the smallest depth; with ``depth`` it picks the narrowest network
        within that depth. Without targets it minimises the dense parameter count.
    block_size : int, optional
        S, the number of points packed in one big integer (default: best for the depth).
    bits_per_layer : int, optional
        q, bits read per extraction layer (1 ... 16); the extraction layer has 2^(q+1)+O(1) units.
    layers_per_key : int, optional
        m, layers spent reading one key (sets q = ⌈n/m⌉ from the measured key bits n).
    lookup : {"auto", "flat", "grouped"}
        The staircase lookup: flat (Vardi et al., (W−2)/2 thresholds per layer) or grouped
        (Yang 2025's W²L realisation, about W²/4 thresholds per two layers). Auto: grouped
        whenever it holds more.
    lookup_width : int, optional
        Width budget of the lookup (default: the target width, else the extraction width).
    delta : float, optional
        Promised separation in the units of ``X``; pairs closer than this are refused
        (:class:`~memorize.errors.AssumptionError` naming the pairs). The builder always
        measures the true separation exactly and reports it in ``meta``.
    n_directions : int, default 8
        Random integer projection directions tried; the one with the smallest key range wins.
    rng : None, int or numpy.random.Generator
        Seeds the directions (``None`` means seed 0).
    exact : bool, default True
        Accepted for the common builder signature. The network is always exact (Python-int
        weights): float64 cannot hold its weights, see Notes.

    Returns
    -------
    Network
        Exact network (object arrays of Python ``int``), ReLU hidden layers, one output equal
        to the label: the integer label itself for integer labels, else the index of the label
        in ``meta["classes"]``. ``meta`` reports width, depth, ``W2L2``, params, nonzeros,
        ``max_weight_bits``, S, q, n, ℓ, the lookup, the measured separation and the key data
        (``key_max``, ``z_bits``) that make :func:`architecture` exact.

    Raises
    ------
    CapacityError
        When the knobs cannot be realised (too narrow, too shallow, S > N, q > 16).
    AssumptionError
        When two points are closer than ``delta``.

    Notes
    -----
    Theorem (Yang & Yang 2026, Thm 2.1, shape re-derived in ``specs/bitextract.md`` §6.2):
    N points of the unit ball, pairwise δ apart, with C labels, are memorized by a ReLU
    network of width W and depth L whenever W²L² ≳ N·log(1/δ) (up to logarithmic factors).
    Vardi et al. 2022 (Thm 3.1) is the constant-width case: ``bits_per_layer=1,
    lookup="flat"`` (the alias ``"vardi2022"`` means exactly these defaults), with Õ(√N)
    parameters. Recipe: φ1 projects to integers z with verified distinct values (exact, no
    probability bound); keys ⌊(z − z0)/Q⌋ (Q the smallest projected gap) are distinct; S
    consecutive (key, label) records are concatenated into one big integer per block; a
    staircase of z (flat or grouped) selects the block's integer; q bits per layer are read
    off with 2(2^q − 1) ReLUs [x ≥ t·c] = σ(x − tc + 1) − σ(x − tc); an interval test adds
    the label of the one record whose key equals the point's. The weights have about
    S·(n + ℓ) bits, far beyond float64: ``net.astype(np.float64)`` is allowed but loses
    points (see ``docs/yang2026.md``).

    References
    ----------
    X. Yang, Y. Yang. Memorization capacity of deep ReLU neural networks characterized by
    width and depth. arXiv:2603.09589, 2026. G. Vardi, G. Yehudai, O. Shamir. On the optimal
    memorization power of ReLU neural networks. ICLR 2022. P. Bartlett, N. Harvey, C. Liaw,
    A. Mehrabian. Nearly-tight VC-dimension bounds for piecewise linear neural networks. JMLR
    2019 (bit extraction).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.uniform(-1, 1, (40, 3)), rng.integers(0, 10, 40)
    >>> net = memorize.build("yang2026", X, y, width=12)
    >>> memorize.verify(net, X, y).max_error
    0
    >>> net.meta["width"] <= 12 and net.is_exact
    True
    """
    return _build(X, y, width=width, depth=depth, block_size=block_size, bits_per_layer=bits_per_layer,
                  layers_per_key=layers_per_key, lookup=lookup, lookup_width=lookup_width, delta=delta,
                  n_directions=n_directions, rng=rng, method="yang2026")


def _build(X, y, *, width, depth, block_size, bits_per_layer, layers_per_key, lookup, lookup_width, delta,
           n_directions, rng, method):
    data = prepare(X, y, task="classification")
    gen = as_rng(rng)
    if isinstance(n_directions, bool) or not isinstance(n_directions, (int, np.integer)) or n_directions < 1:
        raise ArgumentError(f"n_directions: expected a positive integer, got {n_directions!r}")
    N, d = data.X.shape
    cls = np.asarray(data.classes)
    codes = np.asarray(data.labels)
    if cls.dtype.kind in "iu" and not (cls.dtype.kind == "b"):
        offset = int(cls.min())
        labvals = np.array([int(v) - offset for v in cls], dtype=object)[codes]
        output = "label"
    else:
        offset = 0
        labvals = codes.astype(object)
        output = "class index"
    ell = _label_bits(int(max(labvals)) + 1 if N else 1)

    Dx, D0 = _integer_coordinates(data.X)
    # ---- separation: measured exactly; a promised δ is checked pair by pair ------------------
    if delta is not None:
        try:
            dq = Fraction(float(delta)) if not isinstance(delta, Fraction) else delta
        except (TypeError, ValueError, OverflowError):
            raise ArgumentError(f"delta: expected a positive number, got {delta!r}") from None
        if not dq > 0:
            raise ArgumentError(f"delta: expected a positive number, got {delta!r}")
        bad = _pairs_closer_than(data.X, Dx, D0, dq)
        if bad:
            pairs = [(int(data.index[i]), int(data.index[j])) for i, j in bad]
            raise AssumptionError(
                f"X: points closer than delta = {float(delta):.6g} at index pairs {format_indices(pairs)}"
            )
    d2, pair = _closest_pair(data.X, Dx)
    # ---- φ1: rescale into the unit ball and project to distinct integers ----------------------
    lo = np.min(data.X, axis=0)
    hi = np.max(data.X, axis=0)
    centre = (lo + hi) / 2  # float, then snapped to the D0 grid so D0·c is an integer vector
    Dc = np.array([int(round(float(v) * D0)) if abs(v) * D0 < 2**62 else int(Fraction(float(v)) * D0) for v in centre],
                  dtype=object)
    dev = Dx - Dc
    M2 = max(sum(v * v for v in row) for row in dev)  # (D0·r)², r = radius of the data around c
    proj = _project(data.X, Dx, gen, int(n_directions))
    if proj is None:
        raise AssumptionError(
            f"X: none of {n_directions} integer directions separates the points; pass a larger n_directions")
    g, p, order, gap = proj
    gnorm2 = sum(v * v for v in g)
    Gshift = math.isqrt(gnorm2 * M2) + 1  # ≥ ‖g‖·D0·r: the pre-activation is ≥ 0 on the whole ball
    c_dot = sum(gi * ci for gi, ci in zip(g, Dc))
    a_int = [gi * D0 for gi in g]  # weights on the raw x: ⟨g, D0·x⟩
    bias1 = Gshift - c_dot
    zs = np.array([p[i] - c_dot + Gshift for i in order.tolist()], dtype=object)  # sorted, distinct
    Q = int(gap)
    z0 = int(zs[0])
    keys = np.array([(int(v) - z0) // Q for v in zs], dtype=object)
    kmax = int(keys[-1])
    labels_sorted = labvals[order]

    sh = choose_shape(N, kmax, ell, width=width, depth=depth, block_size=block_size, bits_per_layer=bits_per_layer,
                      layers_per_key=layers_per_key, lookup=lookup, lookup_width=lookup_width, method=method)
    S, q, n, kind, W2 = sh["S"], sh["q"], sh["n"], sh["lookup"], sh["W2"]
    B = -(-N // S)
    V = _records(keys, labels_sorted, S, n, ell)
    taus = [int(zs[j * S - 1]) + 1 for j in range(1, B)]
    layers, yform, w_last = _build_layers(a_int, bias1, taus, V, z0, Q, S, n, ell, q, W2, kind)
    layers.append(_output_layer(yform, w_last, offset))

    # ---- self-check ---------------------------------------------------------------------------
    targets = np.array([int(v) + offset for v in labels_sorted], dtype=object)
    if N <= _FULL_CHECK_N:
        tmp = Network(layers)
        Xe = _exact.to_exact_array(data.X[order])
        values = tmp(Xe)[:, 0]
    else:
        # Decode the stored records along the sorted data: the block a point reaches through the
        # thresholds, the record at its position, and that the key there is the point's key.
        rho = n + ell
        mask = (1 << rho) - 1
        values = np.empty(N, dtype=object)
        for i in range(N):  # O(N) big-int shifts; the full forward pass is verify's job
            k, s = divmod(i, S)
            rec = (V[k] >> (rho * (S - 1 - s))) & mask
            ok = (rec >> ell) == keys[i] and (k == 0 or zs[i] >= taus[k - 1]) and (k == B - 1 or zs[i] < taus[k])
            values[i] = (rec & ((1 << ell) - 1)) + offset if ok else -1
    check_self(values[:, None], targets[:, None], 0, method=method, index=data.index[order])

    net = Network(layers)
    ws = net.widths
    meta = {
        "method": method,
        "output": output,
        "classes": [c.item() if hasattr(c, "item") else c for c in cls.tolist()],
        "label_offset": offset,
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
        "lookup": kind,
        "lookup_width": W2,
        "lookup_depth": len(ws) - 1 - (S * (-(-n // q) + -(-ell // q)) + 1),
        "key_max": kmax,
        "z_bits": int(max(abs(int(zs[-1])), abs(bias1))).bit_length(),
        "key_gap_Q": str(Q),
        "direction": g,
        "input_denominator_bits": D0.bit_length() - 1,
        "delta": float(math.sqrt(float(Fraction(d2, D0 * D0)))) if d2 is not None else None,
        "delta_unit_ball": float(math.sqrt(float(Fraction(d2, M2)))) if d2 is not None and M2 > 0 else None,
        "delta_pair": [int(data.index[pair[0]]), int(data.index[pair[1]])] if pair else None,
        "delta_given": float(delta) if delta is not None else None,
        "n_directions": int(n_directions),
        "n_duplicates_merged": data.n_duplicates,
        "exact": True,
    }
    return Network(layers, meta)


@register(
    "vardi2022",
    summary=("Vardi, Yehudai, Shamir 2022, Thm 3.1: constant-width deep ReLU net with Õ(√N) parameters "
             "(bit extraction one bit per layer, flat lookup); exact big-integer weights; C classes."),
    task="classification",
    architecture=functools.partial(architecture, bits_per_layer=1, lookup="flat"),
    reference="G. Vardi, G. Yehudai, O. Shamir. On the optimal memorization power of ReLU neural networks. ICLR 2022.",
    demo_max_n=300,
    assumptions=("δ-separated points", "class labels", "exact arithmetic (big-integer weights)"),
)
def vardi2022(X, y, *, block_size: int | None = None, depth: int | None = None, delta=None, n_directions: int = 8,
              rng=None, exact: bool = True) -> Network:
    """Constant-width bit-extraction memorizer (Vardi et al. 2022): ``yang2026`` with one bit per
    layer and the flat lookup.

    Parameters
    ----------
    X, y, block_size, depth, delta, n_directions, rng
        As in :func:`yang2026`.
    exact : bool, default True
        The network is always exact (big-integer weights); ``exact=False`` is accepted for a
        uniform builder signature and changes nothing.

    Returns
    -------
    Network
        An exact network of width at most 7 whose scalar output is each point's class index.

    Notes
    -----
    Vardi, Yehudai & Shamir (2022), Theorem 3.1: N points of the unit ball, pairwise at least δ
    apart, with C classes are memorized by a ReLU network of constant width and depth
    Õ(√N·log(C/δ)) — fewer parameters than points for large N. The weights carry the labels in
    their bits, so they have hundreds to thousands of bits: float64 cannot represent them. See
    :func:`yang2026` (this is its constant-width setting) and ``docs/yang2026.md``.

    References
    ----------
    G. Vardi, G. Yehudai, O. Shamir. On the optimal memorization power of ReLU neural networks.
    ICLR 2022.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(1)
    >>> X, y = rng.uniform(-1, 1, (30, 2)), rng.integers(0, 2, 30)
    >>> net = memorize.build("vardi2022", X, y)
    >>> memorize.verify(net, X, y).max_error, net.meta["width"] <= 7
    (0, True)
    """
    return _build(X, y, width=None, depth=depth, block_size=block_size, bits_per_layer=1, layers_per_key=None,
                  lookup="flat", lookup_width=None, delta=delta, n_directions=n_directions, rng=rng,
                  method="vardi2022")
