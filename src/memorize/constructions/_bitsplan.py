"""Layer schedule of the bit-extraction memorizers (shared by the builder and the size formulas).

Everything here is integer bookkeeping: which hidden units each layer holds, given

* ``N`` points, ``n`` key bits, ``ell`` label bits,
* the block size ``S`` (points per big integer) and ``q`` (bits read per extraction layer),
* the lookup kind (``"flat"`` or ``"grouped"``) and its width budget ``W2``.

The builder in :mod:`memorize.constructions.yang2026` walks the same schedule and fills in the
numbers; ``tests/test_yang2026.py`` checks that the two agree on every built network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


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


def lookup_widths(plan: LookupPlan) -> list[int]:
    """Hidden widths of the lookup layers (z carry, V carry once V depends on z, steps)."""
    widths: list[int] = []
    v_carry = 0  # V is the constant V_0 until the first lookup layer has acted

    def flat(r):
        nonlocal v_carry
        widths.append(1 + v_carry + 2 * r)
        v_carry = 1

    def module(G, Wg):
        nonlocal v_carry
        widths.append(1 + v_carry + 2 * (G - 1))  # layer A: z, V, group indicators
        widths.append(2 + 2 * Wg)  # layer B: z, V + base(e), (h0, hv) per slot
        v_carry = 1

    k = plan.k
    for _ in range(plan.full_modules):
        if plan.kind == "flat":
            flat(k)
        else:
            module(k + 1, k)
    if plan.tail:
        if plan.tail[0] == "flat":
            flat(plan.tail[1])
        else:
            module(plan.tail[1], k)
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
