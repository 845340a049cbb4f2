"""Layer schedule of the bit-extraction memorizers (shared by the builders and the size formulas).

Everything here is integer bookkeeping: which hidden units each layer holds, given

* ``N`` points, ``n`` key bits, ``ell`` label bits,
* the block size ``S`` (points per big integer) and ``q`` (bits read per extraction layer),
* the lookup kind (``"flat"`` or ``"grouped"``) and its width budget ``W2``,
* the number P of parallel copies (``vardi2022``'s depth-bounded variant): the B blocks are
  split into P runs of consecutive blocks, one sub-network per run, side by side.

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


def lookup_capacity(R, W2: int, kind: str):
    """The most thresholds a lookup of at most ``R`` layers holds (vectorised; −1 where R < 0).

    The inverse of :func:`lookup_depth`: ``lookup_depth(J) <= R`` exactly when
    ``J <= lookup_capacity(R)``. Flat: k per layer; grouped: (k+1)·k per two layers, and k more
    in a last odd layer (a flat tail).

    Examples
    --------
    >>> [int(lookup_capacity(R, 7, "flat")) for R in (-1, 0, 1, 3)]
    [-1, 0, 2, 6]
    >>> J = np.arange(60)
    >>> all(np.array_equal(lookup_depth(J, 9, "grouped") <= R, J <= lookup_capacity(R, 9, "grouped")) for R in range(6))
    True
    """
    R = np.asarray(R, dtype=np.int64)
    k = lookup_k(W2)
    cap = R * k if kind == "flat" else (R // 2) * (k + 1) * k + (R % 2) * k
    return np.where(R < 0, -1, cap)


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


def total_depth(N: int, S, kmax: int, ell: int, q: int, W2: int, kind: str, copies: int = 1):
    """Hidden layers: projection + lookup + extraction + drain (vectorised in S).

    With P ``copies`` the lookup is that of the largest copy, ⌈B/P⌉ blocks (the others are
    padded to its depth, see :func:`copy_widths`).
    """
    S = np.asarray(S, dtype=np.int64)
    B = -(-N // S)
    n = key_bits(kmax, N, S)
    return 1 + lookup_depth(-(-B // copies) - 1, W2, kind) + extraction_depth(S, n, ell, q)


def _block_sizes(N: int, block_size: int | None = None) -> np.ndarray:
    """The block sizes S worth trying: the given one, else 1 … max(64, 8√N + 8) (at most N)."""
    if block_size is not None:
        return np.array([int(block_size)], dtype=np.int64)
    return np.arange(1, int(min(N, max(64, 8 * math.isqrt(N) + 8))) + 1, dtype=np.int64)


def best_block_size(N: int, kmax: int, ell: int, q: int, W2: int, kind: str, max_depth: int | None = None,
                    copies: int = 1):
    """The block size S with the smallest depth (ties: the smallest S, i.e. the fewest bits),
    among those leaving at least one block per copy."""
    S = _block_sizes(N)
    S = S[-(-N // S) >= copies]
    if S.size == 0:
        raise CapacityError(f"copies: {copies} copies need at least {copies} blocks; there are {N} points")
    L = total_depth(N, S, kmax, ell, q, W2, kind, copies)
    i = int(np.argmin(L))
    return int(S[i]), int(L[i])


def copy_block_counts(B: int, copies: int) -> list[int]:
    """Blocks per copy: the B blocks in ``copies`` runs of consecutive blocks, as even as possible
    (the longer runs first, so only the last copy holds the padded last block).

    Examples
    --------
    >>> copy_block_counts(10, 4)
    [3, 3, 2, 2]
    """
    base, extra = divmod(int(B), int(copies))
    return [base + 1] * extra + [base] * (int(copies) - extra)


def fewest_copies(N: int, kmax: int, ell: int, q: int, W2: int, kind: str, depth: int,
                  block_size: int | None = None) -> int | None:
    """The fewest parallel copies P whose network has at most ``depth`` hidden layers (None if
    no P reaches it).

    For a block size S, R = depth − 1 − (extraction depth) lookup layers are left; they hold
    C(R) thresholds (:func:`lookup_capacity`), i.e. C(R) + 1 blocks per copy, so
    P(S) = ⌈B/(C(R) + 1)⌉ copies suffice and no fewer do. The answer is the smallest P(S).
    """
    S = _block_sizes(N, block_size)
    B = -(-N // S)
    R = int(depth) - 1 - extraction_depth(S, key_bits(kmax, N, S), ell, q)
    cap = lookup_capacity(R, W2, kind)
    ok = R >= 0
    if not ok.any():
        return None
    return int(np.min(-(-B[ok] // (cap[ok] + 1))))


def shallowest_copies(N: int, kmax: int, ell: int, q: int, block_size: int | None = None) -> tuple[int, int]:
    """(S, P) of the shallowest network with copies: one block per copy (no lookup layers) and
    the S with the shortest extraction."""
    S = _block_sizes(N, block_size)
    L = extraction_depth(S, key_bits(kmax, N, S), ell, q)
    i = int(np.argmin(L))
    return int(S[i]), int(-(-N // int(S[i])))


def copy_widths(blocks: int, lookup_layers: int, S: int, n: int, ell: int, q: int, W2: int, kind: str) -> list[int]:
    """Hidden widths of one copy with ``blocks`` blocks, after the projection: z carries up to
    the common lookup depth ``lookup_layers`` (V is still constant there), its lookup, the
    extraction."""
    lw = lookup_widths(plan_lookup(blocks - 1, W2, kind))
    return [1] * (lookup_layers - len(lw)) + lw + extraction_widths(S, n, ell, q)


def copies_lookup_depth(N: int, S: int, W2: int, kind: str, copies: int = 1) -> int:
    """Lookup layers of the network: those of its largest copy (⌈B/P⌉ blocks)."""
    B = -(-N // S)
    return plan_lookup(-(-B // copies) - 1, W2, kind).depth


def widths(N: int, dx: int, S: int, n: int, ell: int, q: int, W2: int, kind: str, copies: int = 1) -> list[int]:
    """All hidden widths, in order: the projection, then the copies side by side (their widths
    add up layer by layer)."""
    counts = copy_block_counts(-(-N // S), copies)
    D = copies_lookup_depth(N, S, W2, kind, copies)
    total = np.zeros(D + len(extraction_widths(S, n, ell, q)), dtype=np.int64)
    for b in set(counts):
        total += counts.count(b) * np.array(copy_widths(b, D, S, n, ell, q, W2, kind), dtype=np.int64)
    return [1] + [int(w) for w in total]


def dense_params(dx: int, ws: list[int], dy: int = 1) -> int:
    dims = [dx] + list(ws) + [dy]
    return int(sum(a * b + b for a, b in zip(dims[:-1], dims[1:])))


def label_bits(num_values: int) -> int:
    """Bits ℓ of a label field holding the values 0 … num_values − 1 (at least one bit)."""
    return max(1, int(num_values - 1).bit_length())


# ---------------------------------------------------------------------------------------------
# the knobs → (S, q, lookup, W2)
# ---------------------------------------------------------------------------------------------


def _check_knobs(N, n_est, width, depth, block_size, bits_per_layer, layers_per_key, lookup, lookup_width,
                 copies=None):
    """Refuse malformed or unrealisable knobs; return the candidate q values."""
    if lookup not in ("auto", "flat", "grouped"):
        raise ArgumentError(f"lookup: expected 'auto', 'flat' or 'grouped', got {lookup!r}")
    for name, v in (("width", width), ("depth", depth), ("block_size", block_size),
                    ("bits_per_layer", bits_per_layer), ("layers_per_key", layers_per_key),
                    ("lookup_width", lookup_width), ("copies", None if copies == "auto" else copies)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
            raise ArgumentError(f"{name}: expected a positive integer, got {v!r}")
    if bits_per_layer is not None and layers_per_key is not None:
        raise ArgumentError("bits_per_layer, layers_per_key: give at most one of them")
    if lookup_width is not None and lookup_width < 4:
        raise CapacityError(
            f"lookup_width: at least 4 (carries of z and V plus one step of two units), got {lookup_width}")
    if block_size is not None and block_size > N:
        raise CapacityError(f"block_size: {block_size} exceeds the number of distinct points ({N})")
    if copies not in (None, "auto") and copies > N:
        raise CapacityError(f"copies: at most one copy per distinct point ({N}), got {copies}")
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


def _copies_for(q: int, N: int, key_max: int, ell: int, W2: int, kind: str, knobs: dict) -> int:
    """P: the given number of copies, or (``"auto"``) the fewest that reach the depth target."""
    copies, depth = knobs.get("copies"), knobs.get("depth")
    if copies is None or (copies == "auto" and depth is None):
        return 1
    if copies != "auto":
        return int(copies)
    P = fewest_copies(N, key_max, ell, q, W2, kind, depth, knobs.get("block_size"))
    if P is None:  # out of reach: the shallowest network, whose depth the caller's error reports
        P = shallowest_copies(N, key_max, ell, q, knobs.get("block_size"))[1]
    return P


def _shape(q: int, N: int, key_max: int, ell: int, n_est: int, knobs: dict) -> dict | None:
    """The network for q bits per layer within the width target (None if too narrow)."""
    width, block_size, lookup_width = knobs.get("width"), knobs.get("block_size"), knobs.get("lookup_width")
    W3 = extraction_width(n_est, ell, q)
    if width is not None and W3 > width:
        return None
    W2 = int(lookup_width) if lookup_width is not None else (int(width) if width is not None else W3)
    if W2 < 4:
        return None
    kind = knobs.get("lookup", "auto")
    if kind == "auto":
        kind = "grouped" if lookup_k(W2) >= 2 else "flat"
    P = _copies_for(q, N, key_max, ell, W2, kind, knobs)
    if block_size is not None:
        S = int(block_size)
        if -(-N // S) < P:
            raise CapacityError(f"copies: {P} copies need {P} blocks, but block size {S} makes {-(-N // S)}")
        L = int(total_depth(N, np.array([S]), key_max, ell, q, W2, kind, P)[0])
    else:
        S, L = best_block_size(N, key_max, ell, q, W2, kind, copies=P)
    n = key_bits(key_max, N, S)
    ws = widths(N, 1, S, n, ell, q, W2, kind, P)
    if width is not None and max(ws) > width:
        return None
    return {"S": S, "q": q, "n": n, "lookup": kind, "W2": W2, "copies": P, "depth": len(ws), "width": max(ws),
            "widths": ws}


def choose_shape(N: int, key_max: int, ell: int, *, width=None, depth=None, block_size=None,
                 bits_per_layer=None, layers_per_key=None, lookup="auto", lookup_width=None,
                 copies=None, method="yang2026") -> dict:
    """Pick (S, q, lookup, W2, P) from the knobs; raise :class:`CapacityError` if impossible.

    With a ``depth`` target the narrowest network within it wins, with a ``width`` target the
    shallowest within it, and without targets the one with the fewest dense parameters.
    ``copies``: None for one network (P = 1), a number P of parallel copies, or ``"auto"``:
    the fewest copies that reach the ``depth`` target (one without a target).
    Returns a dict with keys S, q, n, lookup, W2, copies, widths, depth, width.

    Examples
    --------
    >>> sh = choose_shape(100, 2**12, 2, width=12)
    >>> sh["width"] <= 12, sh["depth"] == len(sh["widths"]), sh["copies"]
    (True, True, 1)
    >>> sh = choose_shape(10**4, 2**27, 4, bits_per_layer=1, lookup="flat", depth=100, copies="auto")
    >>> sh["copies"], sh["depth"] <= 100
    (73, True)
    """
    N = int(N)
    n_est = max(1, int(key_max).bit_length())
    qs = _check_knobs(N, n_est, width, depth, block_size, bits_per_layer, layers_per_key, lookup, lookup_width,
                      copies)
    knobs = {"width": width, "depth": depth, "block_size": block_size, "lookup": lookup,
             "lookup_width": lookup_width, "copies": copies}
    cands = [c for c in (_shape(q, N, key_max, ell, n_est, knobs) for q in qs) if c is not None]
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

_KNOBS = ("width", "depth", "block_size", "bits_per_layer", "layers_per_key", "lookup", "lookup_width", "copies")


def architecture(n: int, dx: int, dy: int = 1, *, n_classes: int | None = None, key_max: int | None = None,
                 key_bits: int | None = None, delta: float | None = None, z_bits: int | None = None,
                 method: str = "yang2026", **options) -> Architecture:
    """Sizes of the bit-extraction network for ``n`` points (the body of both builders'
    ``architecture``, ``method`` naming the builder; see
    :func:`memorize.constructions.yang2026.architecture`)."""
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
    sh = choose_shape(N, int(key_max), ell, method=method, **{k: options[k] for k in _KNOBS if k in options})
    ws = [1] + sh["widths"][1:]
    rho = sh["n"] + ell
    # Largest weight: the block integers (S·ρ bits) and, in the grouped lookup, the products
    # K·T of a jump height and a threshold of z; z carries the input precision (≈ 80 bits for
    # generic float64 data: 53-bit mantissas, their exponent spread and a 16-bit direction).
    zb = int(z_bits) if z_bits is not None else 80
    grouped = sh["lookup"] == "grouped" and copies_lookup_depth(N, sh["S"], sh["W2"], "grouped", sh["copies"]) > 0
    bits = max(sh["S"] * rho + (zb if grouped else 0), zb + 1)
    copies = f"{sh['copies']} parallel copies, " if sh["copies"] > 1 else ""
    notes = (f"{copies}S={sh['S']} points per block, q={sh['q']} bits per layer, n={sh['n']} key bits, "
             f"ell={ell} label bits, {sh['lookup']} lookup (width budget {sh['W2']}); "
             f"W^2 L^2 = {max(ws) ** 2 * len(ws) ** 2}")
    return Architecture(method, dx, tuple(ws), 1, dense_params(dx, ws), residual=False, activation="relu",
                        max_weight_bits=bits, num_nonzero=structural_nonzeros(N, dx, sh, ell), notes=notes)


def structural_nonzeros(N: int, dx: int, sh: dict, ell: int) -> int:
    """Nonzero weights and biases if no data-dependent coefficient happens to vanish: the
    projection, then every copy (its z carries up to the common lookup depth, one weight
    each; its lookup; its extraction and its share of the output layer)."""
    S, P = sh["S"], sh.get("copies", 1)
    counts = copy_block_counts(-(-N // S), P)
    D = copies_lookup_depth(N, S, sh["W2"], sh["lookup"], P)
    total = dx + 1
    for b in set(counts):
        steps = lookup_steps(plan_lookup(b - 1, sh["W2"], sh["lookup"]))
        lookup, v_terms = _lookup_nonzeros(steps)
        pad = D - plan_lookup(b - 1, sh["W2"], sh["lookup"]).depth
        total += counts.count(b) * (pad + lookup + _extraction_nonzeros(S, sh["n"], ell, sh["q"], v_terms))
    return total


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
