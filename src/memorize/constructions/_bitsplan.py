"""Layer schedule of the bit-extraction memorizers (shared by the builders and the size formulas).

Everything here is integer bookkeeping: which hidden units each layer holds, given

* ``N`` points, ``n`` key bits, ``ell`` label bits,
* the block size ``S`` (points per big integer) and ``q`` (bits read per extraction layer),
* the lookup kind (``"flat"`` or ``"grouped"``) and its width budget ``W2``.

:func:`choose_shape` turns a builder's knobs into these numbers and :func:`architecture` gives
the network's sizes without building it. The construction in :mod:`._bits` (used by
``yang2026`` and ``vardi2022``) walks the same schedule and fills in the weights;
``tests/test_yang2026.py`` checks that the two agree on every built network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ArgumentError, CapacityError
from ..registry import Architecture

#: Largest q (bits read per extraction layer): a layer holds 2^(q+1) units.
MAX_Q = 16


def chunks(bits: int, q: int) -> list[int]:
    """Bits read by each extraction layer of a field of ``bits`` bits (full chunks first)."""
    full, rem = divmod(bits, q)
    return [q] * full + ([rem] if rem else [])


def lookup_k(W2: int) -> int:
    """Thresholds per flat lookup layer (two units each, plus the carries of z and V)."""
    return (W2 - 2) // 2


@dataclass(frozen=True)
class LookupPlan:
    """How the B−1 block thresholds are laid out in layers."""

    kind: str
    k: int  # flat thresholds per layer; a grouped module has G = k+1 groups of k slots
    full_modules: int  # grouped: number of full modules (2 layers each); flat: full layers
    tail: tuple  # ("flat", r) or ("grouped", G', r) or ()

    @property
    def depth(self) -> int:
        if self.kind == "flat":
            return self.full_modules + (1 if self.tail else 0)
        extra = 0 if not self.tail else (1 if self.tail[0] == "flat" else 2)
        return 2 * self.full_modules + extra


def plan_lookup(J: int, W2: int, kind: str) -> LookupPlan:
    """Lay out ``J`` thresholds with width budget ``W2``."""
    k = lookup_k(W2)
    if J <= 0:
        return LookupPlan(kind, k, 0, ())
    if kind == "flat":
        full, r = divmod(J, k)
        return LookupPlan(kind, k, full, ("flat", r) if r else ())
    M = (k + 1) * k
    full, r = divmod(J, M)
    if r == 0:
        tail = ()
    elif r <= k:
        tail = ("flat", r)
    else:
        tail = ("grouped", -(-r // k), r)
    return LookupPlan(kind, k, full, tail)


def lookup_depth(J, W2: int, kind: str):
    """Vectorised depth of the lookup for an array of threshold counts ``J``."""
    J = np.asarray(J, dtype=np.int64)
    k = lookup_k(W2)
    if kind == "flat":
        return -(-J // k)
    M = (k + 1) * k
    full, r = np.divmod(J, M)
    return 2 * full + np.where(r == 0, 0, np.where(r <= k, 1, 2))


def lookup_steps(plan: LookupPlan) -> list[tuple]:
    """The lookup's pieces in order: ``("flat", r)`` is one layer of r thresholds,
    ``("grouped", G, Wg)`` a two-layer module of G groups of Wg slots."""
    k = plan.k
    one = ("flat", k) if plan.kind == "flat" else ("grouped", k + 1, k)
    steps = [one] * plan.full_modules
    if plan.tail:
        steps.append(("flat", plan.tail[1]) if plan.tail[0] == "flat" else ("grouped", plan.tail[1], k))
    return steps


def lookup_widths(plan: LookupPlan) -> list[int]:
    """Hidden widths of the lookup layers (z carry, V carry once V depends on z, steps)."""
    widths: list[int] = []
    v_carry = 0  # V is the constant V_0 until the first lookup layer has acted
    for step in lookup_steps(plan):
        if step[0] == "flat":
            widths.append(1 + v_carry + 2 * step[1])
        else:
            G, Wg = step[1], step[2]
            widths.append(1 + v_carry + 2 * (G - 1))  # layer A: z, V, group indicators
            widths.append(2 + 2 * Wg)  # layer B: z, V + base(e), (h0, hv) per slot
        v_carry = 1
    return widths


def extraction_layers(S: int, n: int, ell: int, q: int) -> list[dict]:
    """The extraction/test schedule: one dict of unit counts per hidden layer, then the drain.

    Keys of each dict: ``bits`` (bits read, 0 for the drain), ``seg``, ``field`` ("key",
    "label" or "drain"), ``first`` (first chunk of its field), ``last_x`` (x is not needed
    afterwards), and the flags ``acc``, ``z``, ``y``, ``test``, ``mis``, ``inc``.
    """
    out = []
    y_live = False  # the label accumulator is the constant 0 until the first increment
    pending_inc = False  # a label field just ended: its increment is computed in the next layer
    for s in range(S):
        for field, nb in (("key", n), ("label", ell)):
            cs = chunks(nb, q)
            for t, b in enumerate(cs):
                last_x = s == S - 1 and field == "label" and t == len(cs) - 1
                lay = {
                    "bits": b,
                    "seg": s,
                    "field": field,
                    "first": t == 0,
                    "last_x": last_x,
                    "acc": t > 0,
                    "z": not (s == S - 1 and field == "label"),
                    "y": y_live,
                    "test": field == "label" and t == 0,
                    "mis": field == "label" and t > 0,
                    "inc": pending_inc,
                }
                if pending_inc:
                    y_live = True
                    pending_inc = False
                if field == "label" and t == len(cs) - 1:
                    pending_inc = True
                out.append(lay)
    out.append({"bits": 0, "seg": S, "field": "drain", "first": True, "last_x": True, "acc": False,
                "z": False, "y": y_live, "test": False, "mis": False, "inc": True})
    return out


def layer_width(lay: dict) -> int:
    w = 2 * (2 ** lay["bits"] - 1) if lay["bits"] else 0
    w += 0 if lay["last_x"] else 1  # x carry
    w += int(lay["acc"]) + int(lay["z"]) + int(lay["y"]) + int(lay["mis"]) + int(lay["inc"])
    w += 2 if lay["test"] else 0
    return w


def extraction_widths(S: int, n: int, ell: int, q: int) -> list[int]:
    return [layer_width(lay) for lay in extraction_layers(S, n, ell, q)]


def extraction_width(n: int, ell: int, q: int) -> int:
    """Largest width of the extraction stage (an upper bound for every S; attained for S ≥ 3,
    where a middle segment carries both z and the label accumulator)."""
    return max(extraction_widths(3, n, ell, q))


def extraction_depth(S, n, ell: int, q: int):
    """S segments of ⌈n/q⌉ + ⌈ℓ/q⌉ layers, then one drain layer (vectorised in S and n)."""
    S = np.asarray(S, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    return S * (-(-n // q) + -(-ell // q)) + 1


def key_bits(kmax: int, N: int, S):
    """n(S): bits of the largest key after padding the last block with keys kmax+1, kmax+2, ...

    ``kmax`` is the largest real key (a Python int, exact at any size).
    """
    S_arr = np.atleast_1d(np.asarray(S, dtype=np.int64))
    out = np.array([max(1, (int(kmax) + (-(-N // int(s))) * int(s) - N).bit_length()) for s in S_arr], dtype=np.int64)
    return out if np.ndim(S) else int(out[0])


def total_depth(N: int, S, kmax: int, ell: int, q: int, W2: int, kind: str):
    """Hidden layers: projection + lookup + extraction + drain (vectorised in S)."""
    S = np.asarray(S, dtype=np.int64)
    B = -(-N // S)
    n = key_bits(kmax, N, S)
    return 1 + lookup_depth(B - 1, W2, kind) + extraction_depth(S, n, ell, q)


def best_block_size(N: int, kmax: int, ell: int, q: int, W2: int, kind: str, max_depth: int | None = None):
    """The block size S with the smallest depth (ties: the smallest S, i.e. the fewest bits)."""
    smax = int(min(N, max(64, 8 * math.isqrt(N) + 8)))
    S = np.arange(1, smax + 1, dtype=np.int64)
    L = total_depth(N, S, kmax, ell, q, W2, kind)
    i = int(np.argmin(L))
    return int(S[i]), int(L[i])


def widths(N: int, dx: int, S: int, n: int, ell: int, q: int, W2: int, kind: str) -> list[int]:
    """All hidden widths, in order."""
    B = -(-N // S)
    return [1] + lookup_widths(plan_lookup(B - 1, W2, kind)) + extraction_widths(S, n, ell, q)


def dense_params(dx: int, ws: list[int], dy: int = 1) -> int:
    dims = [dx] + list(ws) + [dy]
    return int(sum(a * b + b for a, b in zip(dims[:-1], dims[1:])))


def label_bits(num_values: int) -> int:
    """Bits ℓ of a label field holding the values 0 … num_values − 1 (at least one bit)."""
    return max(1, int(num_values - 1).bit_length())


# ---------------------------------------------------------------------------------------------
# the knobs → (S, q, lookup, W2)
# ---------------------------------------------------------------------------------------------


def _check_knobs(N, n_est, width, depth, block_size, bits_per_layer, layers_per_key, lookup, lookup_width):
    """Refuse malformed or unrealisable knobs; return the candidate q values."""
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
        raise CapacityError(
            f"lookup_width: at least 4 (carries of z and V plus one step of two units), got {lookup_width}")
    if block_size is not None and block_size > N:
        raise CapacityError(f"block_size: {block_size} exceeds the number of distinct points ({N})")
    if bits_per_layer is not None and bits_per_layer > MAX_Q:
        raise CapacityError(f"bits_per_layer: at most {MAX_Q} (a layer holds 2^(q+1) units), got {bits_per_layer}")
    if layers_per_key is not None:
        q = max(1, -(-n_est // int(layers_per_key)))
        if q > MAX_Q:
            raise CapacityError(f"layers_per_key: {layers_per_key} layers need {q} bits per layer (max {MAX_Q})")
        return [q]
    if bits_per_layer is not None:
        return [int(bits_per_layer)]
    return list(range(1, MAX_Q + 1))


def _shape(q: int, N: int, key_max: int, ell: int, n_est: int, width, block_size, lookup, lookup_width) -> dict | None:
    """The network for q bits per layer within the width target (None if too narrow)."""
    W3 = extraction_width(n_est, ell, q)
    if width is not None and W3 > width:
        return None
    W2 = int(lookup_width) if lookup_width is not None else (int(width) if width is not None else W3)
    if W2 < 4:
        return None
    kind = lookup
    if kind == "auto":
        kind = "grouped" if lookup_k(W2) >= 2 else "flat"
    if block_size is not None:
        S = int(block_size)
        L = int(total_depth(N, np.array([S]), key_max, ell, q, W2, kind)[0])
    else:
        S, L = best_block_size(N, key_max, ell, q, W2, kind)
    n = key_bits(key_max, N, S)
    ws = widths(N, 1, S, n, ell, q, W2, kind)
    return {"S": S, "q": q, "n": n, "lookup": kind, "W2": W2, "depth": len(ws), "width": max(ws), "widths": ws}


def choose_shape(N: int, key_max: int, ell: int, *, width=None, depth=None, block_size=None,
                 bits_per_layer=None, layers_per_key=None, lookup="auto", lookup_width=None,
                 method="yang2026") -> dict:
    """Pick (S, q, lookup, W2) from the knobs; raise :class:`CapacityError` if impossible.

    With a ``depth`` target the narrowest network within it wins, with a ``width`` target the
    shallowest within it, and without targets the one with the fewest dense parameters.
    Returns a dict with keys S, q, n, lookup, W2, widths, depth, width.

    Examples
    --------
    >>> sh = choose_shape(100, 2**12, 2, width=12)
    >>> sh["width"] <= 12, sh["depth"] == len(sh["widths"])
    (True, True)
    """
    N = int(N)
    n_est = max(1, int(key_max).bit_length())
    qs = _check_knobs(N, n_est, width, depth, block_size, bits_per_layer, layers_per_key, lookup, lookup_width)
    cands = [c for c in (_shape(q, N, key_max, ell, n_est, width, block_size, lookup, lookup_width) for q in qs)
             if c is not None]
    if not cands:
        need = extraction_width(n_est, ell, qs[0])
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
        return min(ok, key=lambda c: (c["width"], c["depth"]))
    if width is not None:
        return min(cands, key=lambda c: (c["depth"], c["width"]))
    return min(cands, key=lambda c: (dense_params(1, c["widths"]), c["depth"]))


# ---------------------------------------------------------------------------------------------
# sizes without building
# ---------------------------------------------------------------------------------------------

_KNOBS = ("width", "depth", "block_size", "bits_per_layer", "layers_per_key", "lookup", "lookup_width")


def architecture(n: int, dx: int, dy: int = 1, *, n_classes: int | None = None, key_max: int | None = None,
                 key_bits: int | None = None, delta: float | None = None, z_bits: int | None = None,
                 **options) -> Architecture:
    """Sizes of the bit-extraction network for ``n`` points (the body of both builders'
    ``architecture``; see :func:`memorize.constructions.yang2026.architecture`)."""
    N = int(n)
    C = int(n_classes) if n_classes is not None else max(int(dy), 2)
    ell = label_bits(C)
    if key_max is None:
        if key_bits is not None:
            key_max = 2 ** (int(key_bits) - 1)
        elif delta is not None:
            # union bound: the range of the projection over the smallest projected gap
            key_max = int(max(1.0, 3.2 * N * N * math.sqrt(dx) / float(delta)))
        else:
            # typical: the smallest of N−1 gaps of N generic projected points is ~ range/N²
            key_max = 2 * N * N
    sh = choose_shape(N, int(key_max), ell, **{k: options[k] for k in _KNOBS if k in options})
    ws = [1] + sh["widths"][1:]
    rho = sh["n"] + ell
    # Largest weight: the block integers (S·ρ bits) and, in the grouped lookup, the products
    # K·T of a jump height and a threshold of z; z carries the input precision (≈ 80 bits for
    # generic float64 data: 53-bit mantissas, their exponent spread and a 16-bit direction).
    zb = int(z_bits) if z_bits is not None else 80
    grouped = sh["lookup"] == "grouped" and sh["S"] < N
    bits = max(sh["S"] * rho + (zb if grouped else 0), zb + 1)
    notes = (f"S={sh['S']} points per block, q={sh['q']} bits per layer, n={sh['n']} key bits, ell={ell} label bits, "
             f"{sh['lookup']} lookup (width budget {sh['W2']}); W^2 L^2 = {max(ws) ** 2 * len(ws) ** 2}")
    return Architecture("yang2026", dx, tuple(ws), 1, dense_params(dx, ws), residual=False, activation="relu",
                        max_weight_bits=bits, num_nonzero=structural_nonzeros(N, dx, sh, ell), notes=notes)


def structural_nonzeros(N: int, dx: int, sh: dict, ell: int) -> int:
    """Nonzero weights and biases if no data-dependent coefficient happens to vanish."""
    B = -(-N // sh["S"])
    lookup, v_terms = _lookup_nonzeros(lookup_steps(plan_lookup(B - 1, sh["W2"], sh["lookup"])))
    return dx + 1 + lookup + _extraction_nonzeros(sh["S"], sh["n"], ell, sh["q"], v_terms)


def _lookup_nonzeros(steps: list) -> tuple[int, int]:
    """Nonzeros of the lookup layers, and the number of units V's final form reads."""
    total = 0
    # V's linear form over the current layer: number of terms, and whether it has a constant
    v_terms, v_const = 0, True
    for step in steps:
        cv = v_terms + (1 if v_const else 0) if v_terms else 0  # the V carry reads V's form
        if step[0] == "flat":
            r = step[1]
            total += 1 + cv + 4 * r  # z carry; V carry; each step unit: weight on z + bias
            v_terms, v_const = (1 if cv else 0) + 2 * r, not cv
        else:
            G, Wg = step[1], step[2]
            total += 1 + cv + 4 * (G - 1)  # layer A
            # layer B: z carry; V + base(e) reads V and every e (2 units each) + bias;
            # each of the 2·Wg slot units reads z and every e, plus a bias
            total += 1 + ((1 if cv else 0) + 2 * (G - 1) + (0 if cv else 1)) + 2 * Wg * (1 + 2 * (G - 1) + 1)
            v_terms, v_const = 1 + 2 * Wg, False
    return total, v_terms


def _extraction_nonzeros(S: int, n: int, ell: int, q: int, v_terms: int) -> int:
    # The extraction stage's structure is regular enough to count from the schedule; the
    # first layer reads V's form (all units of the last lookup layer but z).
    total = 0
    x_terms = v_terms
    acc_terms = 0
    prev = None
    for lay in extraction_layers(S, n, ell, q):
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
        x_terms = (1 + 2 * nb) if not lay["last_x"] else 0
        acc_terms = (1 if lay["acc"] else 0) + 2 * nb
        prev = lay
    # output layer: y carry and inc (+ bias for the label offset, counted when nonzero)
    return total + (1 if prev["y"] else 0) + 1
