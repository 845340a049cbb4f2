"""Park, Lee, Yun, Shin 2021: memorization with O(N^{2/3}) parameters by a deep, narrow ReLU network.

Theorem (Park et al., COLT 2021, in the form re-derived in ``docs/park2021.md``; the constants are
this library's): N points with ‖x_i‖ ≤ r, pairwise at least δ apart, with C class labels, are
memorized by a ReLU network of constant width (8 at one bit per layer) and depth
O(N^{2/3}·(ℓ·n)^{1/3} + n), i.e. O(N^{2/3}) parameters up to logarithmic factors, where
ℓ = ⌈log₂ C⌉ and n ≈ log₂(N²·r/δ) is the bit length of the projected key range.

Construction F = φ4 ∘ φ3 ∘ φ2 ∘ φ1, every weight a Python ``int``:

* φ1 (steps 1–2): the separation and the norm bound are checked exactly; one ReLU
  z = ⟨a, x⟩ + b maps the points to distinct integers (shared with ``yang2026``, :mod:`._bits`);
  the keys κ = ⌊(z − z0)/2^e⌋, 2^e ≤ the smallest gap of z, are distinct.
* steps 3–4: the sorted points are cut into buckets of K; bucket b gets the smallest modulus
  m_b under which its keys have distinct residues (at most M* = O(K²·n): the fingerprint
  lemma), and one big integer V_b holding m_b, a parity bit and a table of M slots of ℓ bits
  whose slot κ mod m_b holds the label of key κ.
* φ2 (step 5): a staircase of z hands on V_b (the flat lookup of :mod:`._bits`, N/K thresholds).
* φ3 (step 6): reads m_b off V_b, reduces z − z0 modulo 2^e·m_b (restoring division by a
  looked-up divisor: a test layer and a gate layer per digit) and reads h = κ mod m_b.
* φ4 (steps 7–8): reads the table slot by slot and adds the label of slot h alone; output.

The keys are never stored (Vardi et al.'s records store them): the slot index is the key's
residue, at the price of M ≈ K² slots per bucket. Balancing N/K lookup thresholds against K²
slots gives K ≈ N^{1/3} and O(N^{2/3}) layers of constant width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .._arith import EXACT
from .._checks import check_int
from ..data import Dataset, as_rng, format_indices, prepare
from ..errors import ArgumentError, AssumptionError, CapacityError, ConstructionError
from ..network import Dense, Network
from ..precision import as_format
from ..registry import Architecture, PaperSize, register
from ..verify import check_self
from . import _bitsplan as plan
from ._bits import (
    LayerForms, _label_sum, _read_chunk, block_thresholds, check_separation, const_form, integer_coordinates,
    lin_form, lookup_layers, output_layer, project_to_integers, projection_layer, stored_labels, unit_form,
)

__all__ = [
    "park2021", "architecture", "paper_size", "choose_shape", "modulus_bound", "expected_modulus_max",
    "check_assumptions", "hash_keys", "find_moduli", "pack_buckets", "read_modulus", "read_slot", "Buckets",
    "make_buckets", "network_layers", "modulus_layers", "reduce_layers", "quotient_layers", "hash_layers",
    "decode_layers", "decode_from_buckets", "self_check",
]

FULL_CHECK_N = 400  # below this, the builder also runs the exact forward pass as its self-check


# ---------------------------------------------------------------------------------------------
# Step 1: the theorem's assumptions
# ---------------------------------------------------------------------------------------------


def _positive(name: str, v) -> Fraction:
    try:
        q = v if isinstance(v, Fraction) else Fraction(float(v))
    except (TypeError, ValueError, OverflowError):
        raise ArgumentError(f"{name}: expected a positive number, got {v!r}") from None
    if not q > 0:
        raise ArgumentError(f"{name}: expected a positive number, got {v!r}")
    return q


@dataclass(frozen=True)
class Assumptions:
    """What step 1 measured, exactly.

    Attributes
    ----------
    d2 : int or None
        Smallest squared distance in units of 1/D0² (None for one point).
    pair : tuple of int or None
        The closest pair, as rows of the prepared data.
    norm2 : int
        Largest squared norm ‖x_i‖² in units of 1/D0².
    """

    d2: int | None
    pair: tuple | None
    norm2: int


def check_assumptions(X: np.ndarray, Dx: np.ndarray, D0: int, delta, radius, index: np.ndarray) -> Assumptions:
    """Step 1: the separation δ and the norm bound r, checked exactly.

    Claim: the closest pair and its squared distance are exact (integers D0²·‖x_i − x_j‖²); a
    promised ``delta`` holds, ‖x_i − x_j‖ ≥ δ for every pair, else :class:`AssumptionError`
    names the closest pair (as the caller's row indices) and its distance; a promised
    ``radius`` holds, ‖x_i‖ ≤ r for every row, else :class:`AssumptionError` names the rows
    outside the ball.
    """
    dq = _positive("delta", delta) if delta is not None else None
    rq = _positive("radius", radius) if radius is not None else None
    d2, pair = check_separation(X, Dx, D0, None, index)
    if dq is not None and d2 is not None and d2 < (dq * D0) ** 2:
        i, j = int(index[pair[0]]), int(index[pair[1]])
        dist = math.sqrt(float(Fraction(d2, D0 * D0)))
        raise AssumptionError(
            f"X: rows {i} and {j} are {dist:.6g} apart, closer than delta = {float(dq):.6g}; the theorem needs "
            "every pair of points at least delta apart (this is the closest pair)")
    norm2 = (Dx * Dx).sum(axis=1) if Dx.size else np.zeros(0, dtype=object)
    if rq is not None:
        lim = (rq * D0) ** 2
        bad = [int(index[i]) for i in range(len(norm2)) if norm2[i] > lim]
        if bad:
            raise AssumptionError(
                f"X: rows {format_indices(bad)} lie outside the ball of radius {float(rq):.6g} about the origin; "
                "the theorem needs ‖x_i‖ ≤ radius")
    return Assumptions(d2, pair, int(max(norm2)) if len(norm2) else 0)


# ---------------------------------------------------------------------------------------------
# Steps 2–4: keys, buckets, moduli, bucket integers
# ---------------------------------------------------------------------------------------------


def hash_keys(z: np.ndarray, Q: int) -> tuple[np.ndarray, int]:
    """Step 2 (after φ1): the keys κ_i = ⌊(z_i − z_0)/2^e⌋ with 2^e the largest power of two ≤ Q.

    Claim: the keys are distinct and increasing (consecutive z differ by at least Q ≥ 2^e), and
    κ_0 = 0. A power of two makes ⌊·/2^e⌋ a read of the top bits in step 6.

    Examples
    --------
    >>> keys, e = hash_keys(np.array([5, 8, 14, 15], dtype=object), 1)
    >>> keys.tolist(), e
    ([0, 3, 9, 10], 0)
    """
    e = int(Q).bit_length() - 1
    z0 = int(z[0])
    return np.array([(int(v) - z0) >> e for v in z], dtype=object), e


def modulus_bound(K: int, n: int) -> int:
    """M*(K, n): some m ≤ M* gives K distinct integers below 2^n distinct residues.

    Every prime p ≥ K that fails divides one of the K(K−1)/2 nonzero differences, so the failing
    primes multiply to less than 2^{n·K(K−1)/2}; Chebyshev's θ(x) = Σ_{p≤x} ln p satisfies
    θ(x) > x(1 − 1/ln x) ≥ 0.7306·x for x ≥ 41 and θ(y) < 1.01624·y (Rosser & Schoenfeld 1962),
    so the primes in [K, x] cannot all fail once 0.7306·x ≥ 1.01624·K + ln2·n·K(K−1)/2. Also
    m = 2^n always works (the residues are the keys). So M* = O(K²·n).

    Examples
    --------
    >>> modulus_bound(1, 30), modulus_bound(10, 30), modulus_bound(10, 3)
    (1, 1295, 8)
    """
    if K <= 1:
        return 1
    x = (1.01624 * K + math.log(2) * n * K * (K - 1) / 2) / 0.7306
    return int(min(max(41, math.ceil(x)), 2**n))


def _bucket_moduli_int64(keys2d: np.ndarray, start: int) -> np.ndarray:
    B, K = keys2d.shape
    out = np.zeros(B, dtype=np.int64)
    todo = np.arange(B)
    m = start
    while todo.size:
        r = np.sort(keys2d[todo] % m, axis=1)
        ok = np.all(np.diff(r, axis=1) != 0, axis=1)
        out[todo[ok]] = m
        todo = todo[~ok]
        m += 1
    return out


def _bucket_modulus(keys: list) -> int:
    m = len(keys)
    while len({k % m for k in keys}) < len(keys):
        m += 1
    return m


def find_moduli(keys: np.ndarray, K: int) -> list:
    """Step 3: per bucket of K consecutive keys, the smallest m_b with distinct residues κ mod m_b.

    Claim: the residues of each bucket's keys modulo its m_b are distinct, and
    |bucket| ≤ m_b ≤ :func:`modulus_bound`\\ (K, n) (the search tries every m upward, the primes
    of the bound included). The last bucket may hold fewer than K keys.

    Examples
    --------
    >>> find_moduli(np.array([0, 3, 9, 10, 17], dtype=object), 2)
    [2, 2, 1]
    """
    N = len(keys)
    if N == 0:
        return []
    B = -(-N // K)
    full = N // K
    small = int(keys[-1]) < 2**62
    moduli: list = []
    if full and K > 1 and small:
        arr = np.array([int(k) for k in keys[: full * K]], dtype=np.int64).reshape(full, K)
        moduli = [int(m) for m in _bucket_moduli_int64(arr, K)]
    else:
        moduli = [_bucket_modulus([int(k) for k in keys[b * K:(b + 1) * K]]) for b in range(full)]
    if B > full:
        moduli.append(_bucket_modulus([int(k) for k in keys[full * K:]]))
    return moduli


def pack_buckets(keys: np.ndarray, labels: np.ndarray, K: int, moduli: list, M: int, ell: int) -> list:
    """Step 4: V_b = (2·m_b + (b mod 2))·2^{Mℓ} + Σ_{i ∈ b} y_i·2^{ℓ(M − 1 − (κ_i mod m_b))}.

    Claim: the top field of V_b is m_b (:func:`read_modulus`) and slot κ_i mod m_b of its table
    (:func:`read_slot`) is the label y_i of every point i of bucket b; the other slots hold 0.
    Needs labels < 2^ℓ and m_b ≤ M (the residues are distinct, step 3, so no slot is written
    twice). The parity bit b mod 2 between them makes consecutive bucket integers differ, so
    every lookup step has a nonzero height and the network's shape does not depend on the labels.

    Examples
    --------
    >>> V = pack_buckets(np.array([0, 3, 9, 10]), np.array([1, 2, 3, 1]), 2, [2, 2], 2, 2)
    >>> [(read_modulus(v, 2, 2), read_slot(v, 0, 2, 2), read_slot(v, 1, 2, 2)) for v in V]
    [(2, 1, 2), (2, 1, 3)]
    >>> V[1] - V[0] != 0
    True
    """
    out = []
    for b, m in enumerate(moduli):
        acc = ((m << 1) | (b & 1)) << (M * ell)
        for i in range(b * K, min((b + 1) * K, len(keys))):
            acc |= int(labels[i]) << (ell * (M - 1 - int(keys[i]) % m))
        out.append(acc)
    return out


def read_modulus(V_b: int, M: int, ell: int) -> int:
    """m_b, the top field of a bucket integer (the inverse of :func:`pack_buckets`)."""
    return V_b >> (M * ell + 1)


def read_slot(V_b: int, s: int, M: int, ell: int) -> int:
    """Slot s of the table of a bucket integer (ℓ bits, slot 0 most significant)."""
    return (V_b >> (ell * (M - 1 - s))) & ((1 << ell) - 1)


# ---------------------------------------------------------------------------------------------
# Step 6: φ3, the hash h = κ mod m_b computed from z
# ---------------------------------------------------------------------------------------------


def _carry(L: LayerForms, name: str) -> tuple:
    """σ(form) as a unit; the form is ≥ 0 on the data wherever this is used."""
    return unit_form(L.unit([(name, 1)]))


def _read_layer(forms: dict, width: int, lay: dict, beta: int, carry: tuple) -> tuple[Dense, dict, int]:
    """One digit-reading layer: carries ``carry``, then reads the top bits of ``"x"`` (:mod:`._bits`)."""
    L = LayerForms(forms, width)
    new = {name: _carry(L, name) for name in carry}
    beta = _read_chunk(L, lay, beta, new)
    return L.dense(), new, beta


def _read_field(forms: dict, width: int, bits: int, beta: int, q: int, keep_x: bool, carry: tuple):
    """Read the top ``bits`` of x ∈ [0, 2^β) into ``"acc"``, q bits per layer; x keeps the rest."""
    layers = []
    cs = plan.chunks(bits, q)
    for j, b in enumerate(cs):
        lay = {"bits": b, "acc": j > 0, "last_x": not keep_x and j == len(cs) - 1}
        dense, forms, beta = _read_layer(forms, width, lay, beta, carry)
        layers.append(dense)
        width = dense.out_dim
    return layers, forms, width


def modulus_layers(forms: dict, width: int, M: int, ell: int, q: int) -> tuple[list, dict, int]:
    """Step 6a: read m_b, the top F = bit_length(M) bits of V_b, carrying z; drop the parity bit.

    Claim: V_b < 2^{Mℓ + F + 1} and every chunk is read exactly (:mod:`._bits`, ``_read_chunk``),
    so after ⌈F/q⌉ layers ``"m"`` is m_b, and one more layer reads the parity bit off, leaving
    ``"T"``, the table part of V_b (< 2^{Mℓ}). With M = 1, m_b = 1 is known: the top two bits are
    read off without carrying anything. Takes the forms ``{"z", "V"}`` of the lookup; hands on
    ``{"z", "m", "T"}`` (only ``{"T"}`` when M = 1).
    """
    F = M.bit_length()
    beta = M * ell + F + 1
    if M == 1:
        layers, new, width = _read_field({"x": forms["V"]}, width, F + 1, beta, q, True, ())
        return layers, {"T": new["x"]}, width
    layers, new, width = _read_field({"z": forms["z"], "x": forms["V"]}, width, F, beta, q, True, ("z",))
    parity = {"bits": 1, "acc": False, "last_x": False}
    dense, new, _ = _read_layer({"z": new["z"], "m": new["acc"], "x": new["x"]}, width, parity, M * ell + 1, ("z", "m"))
    return layers + [dense], {"z": new["z"], "m": new["m"], "T": new["x"]}, dense.out_dim


def _test_layer(forms: dict, width: int, b: int, unit: int) -> tuple[Dense, dict]:
    """Test half of one digit: ind_t = [rem ≥ t·u·m] = σ(rem − t·u·m + 1) − σ(rem − t·u·m), t < 2^b.

    Claim: rem and t·u·m are integers, so the two ReLUs differ by exactly the indicator.
    """
    L = LayerForms(forms, width)
    new = {name: _carry(L, name) for name in ("T", "m", "rem")}
    for t in range(1, 2**b):
        p = L.unit([("rem", 1), ("m", -t * unit)], 1)
        n = L.unit([("rem", 1), ("m", -t * unit)])
        new[f"ind{t}"] = lin_form([(p, 1), (n, -1)])
    return L.dense(), new


def _gate_layer(forms: dict, width: int, b: int, unit: int, M: int, keep_m: bool) -> tuple[Dense, dict]:
    """Gate half: g_t = σ(u·m − u·M·(1 − ind_t)) = u·m·ind_t, and rem ← rem − Σ_t g_t.

    Claim: 0 ≤ u·m ≤ u·M and ind_t ∈ {0, 1}, so the gate is u·m when the test passed and 0
    otherwise: the product of a looked-up divisor and an indicator, which no single ReLU forms.
    """
    L = LayerForms(forms, width)
    new = {"T": _carry(L, "T")}
    if keep_m:
        new["m"] = _carry(L, "m")
    r = L.unit([("rem", 1)])
    gates = [L.unit([("m", unit), (f"ind{t}", unit * M)], -unit * M) for t in range(1, 2**b)]
    new["rem"] = lin_form([(r, 1)] + [(g, -1) for g in gates])
    return L.dense(), new


def reduce_layers(forms: dict, width: int, z0: int, e: int, M: int, qbits: int, q: int) -> tuple[list, dict, int]:
    """Step 6b: rem = (z − z0) mod D_b, D_b = 2^e·m_b, by restoring division with a looked-up divisor.

    Claim: the quotient ⌊(z − z0)/D_b⌋ has at most ``qbits`` bits at every data point, read in
    digits of b ≤ q bits, most significant first, at shifts s: before a digit rem < 2^{s+b}·D_b,
    the test layer counts c = ⌊rem/(2^s·D_b)⌋ = Σ_t ind_t, the gate layer subtracts 2^s·D_b·c,
    so after it rem < 2^s·D_b; after the last digit (s = 0) rem = (z − z0) mod D_b. Two layers
    per digit. Takes ``{"z", "m", "T"}``; hands on ``{"rem", "T"}``.
    """
    zc, zk = forms["z"]
    cur = {"T": forms["T"], "m": forms["m"], "rem": (dict(zc), zk - z0)}
    layers = []
    cs = plan.chunks(qbits, q)
    shift = qbits
    for j, b in enumerate(cs):
        shift -= b
        unit = 1 << (shift + e)
        dense, cur = _test_layer(cur, width, b, unit)
        layers.append(dense)
        dense, cur = _gate_layer(cur, dense.out_dim, b, unit, M, keep_m=j < len(cs) - 1)
        layers.append(dense)
        width = dense.out_dim
    return layers, {"rem": cur["rem"], "T": cur["T"]}, width


def quotient_layers(forms: dict, width: int, e: int, M: int, q: int) -> tuple[list, dict, int]:
    """Step 6c: h = ⌊rem/2^e⌋ = κ mod m_b, the top H = bit_length(M − 1) bits of rem < 2^{e+H}.

    Claim: with z − z0 = 2^e·κ + ρ (0 ≤ ρ < 2^e) and κ = k·m_b + h, (z − z0) mod 2^e·m_b =
    2^e·h + ρ, so its bits above e are h (step 6b), read exactly by the bank; the table T is
    carried. Takes ``{"rem", "T"}``; hands on ``{"h", "T"}``.
    """
    H = (M - 1).bit_length()
    layers, new, width = _read_field({"x": forms["rem"], "T": forms["T"]}, width, H, e + H, q, False, ("T",))
    return layers, {"h": new["acc"], "T": new["T"]}, width


def hash_layers(forms: dict, width: int, z0: int, e: int, M: int, qbits: int, ell: int,
                q: int) -> tuple[list, dict, int]:
    """Step 6: φ3, from the lookup's ``{"z", "V"}`` to ``{"h", "T"}`` (steps 6a–6c).

    Claim: at every data point ``"h"`` is κ mod m_b and ``"T"`` the table of its bucket. With
    M = 1 every bucket is one point with m_b = 1: h = 0, and only the table is read off.
    """
    a, f, width = modulus_layers(forms, width, M, ell, q)
    if M == 1:
        return a, {"h": const_form(0), "T": f["T"]}, width
    b, f, width = reduce_layers(f, width, z0, e, M, qbits, q)
    c, f, width = quotient_layers(f, width, e, M, q)
    return a + b + c, f, width


# ---------------------------------------------------------------------------------------------
# Steps 7–8: φ4, the table read-out and the output
# ---------------------------------------------------------------------------------------------


def decode_layer(forms: dict, width: int, lay: dict, beta: int, ell: int) -> tuple[Dense, dict, int]:
    """One layer of φ4 as the schedule entry ``lay`` (:func:`._bitsplan.extraction_layers` with
    no key field) says: carry h (``lay["z"]``), add the last slot's label if it matched, test the
    slot ``lay["seg"]`` against h, read the slot's next bits.

    Claim: mis = σ(h − s) + σ(s − h) = |h − s| is 0 exactly at the slot s = h and ≥ 1 at every
    other slot, so σ(label − 2^ℓ·mis) adds the label of slot h alone (``_label_sum``).
    """
    L = LayerForms(forms, width)
    new: dict = {}
    if lay["z"]:
        new["z"] = _carry(L, "z")
    new["y"] = _label_sum(L, lay, ell)
    if lay["test"]:
        s = lay["seg"]
        a = L.unit([("z", 1)], -s)
        b = L.unit([("z", -1)], s)
        new["mis"] = lin_form([(a, 1), (b, 1)])
    if lay["mis"]:
        new["mis"] = _carry(L, "mis")
    if lay["bits"]:
        beta = _read_chunk(L, lay, beta, new)
    return L.dense(), new, beta


def decode_layers(forms: dict, width: int, M: int, ell: int, q: int) -> tuple[list, dict]:
    """Step 7: φ4, read the M slots of T, ℓ bits each, and sum the label of slot h.

    Claim: after the last chunk of slot s, ``"acc"`` holds slot s exactly; slot s passes the test
    iff s = h (:func:`decode_layer`), and slot h holds the point's label (steps 4 and 6), so
    ``"y"`` ends as the label. Depth M·⌈ℓ/q⌉ + 1. Takes ``{"h", "T"}``; hands on ``{"y"}``.
    """
    cur = {"z": forms["h"], "x": forms["T"], "y": const_form(0)}
    beta = M * ell
    layers = []
    for lay in plan.extraction_layers(M, 0, ell, q):
        dense, cur, beta = decode_layer(cur, width, lay, beta, ell)
        layers.append(dense)
        width = dense.out_dim
    if beta != 0:
        raise ConstructionError(f"park2021: the read-out left {beta} bits unread; this is a bug in memorize")
    return layers, cur


def decode_from_buckets(z: np.ndarray, keys: np.ndarray, V: list, taus: list, K: int, M: int, e: int, qbits: int,
                        ell: int) -> np.ndarray:
    """Step 8 (large data): the claims of steps 3–6 checked from the stored integers alone.

    Claim: for every sorted point i the thresholds put z_i in bucket b = ⌊i/K⌋, the top field of
    V_b is its modulus m_b ≤ M, the quotient ⌊(z_i − z0)/(2^e·m_b)⌋ has at most ``qbits`` bits
    (when M > 1: with M = 1 the network divides nothing and h = 0),
    h = ((z_i − z0) mod 2^e·m_b) >> e equals κ_i mod m_b, and slot h holds the label; then the
    network's output is that label. Returns the labels, −1 where a claim fails. O(N) big-integer
    operations; the full forward pass is :func:`memorize.verify`'s job.
    """
    N, B = len(z), len(V)
    z0 = int(z[0])
    out = np.empty(N, dtype=object)
    for i in range(N):
        b = i // K
        m = read_modulus(V[b], M, ell)
        ok = (b == 0 or z[i] >= taus[b - 1]) and (b == B - 1 or z[i] < taus[b]) and 1 <= m <= M
        zi = int(z[i]) - z0
        h = (zi % (m << e)) >> e if m >= 1 else -1
        ok = ok and (M == 1 or (zi // (m << e)).bit_length() <= qbits) and h == int(keys[i]) % m
        out[i] = read_slot(V[b], h, M, ell) if ok else -1
    return out


# ---------------------------------------------------------------------------------------------
# the shape: bucket size, estimated moduli, widths, sizes
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def expected_modulus_max(K: int, B: int) -> int:
    """Estimate of M = max_b m_b for B buckets of K random keys (used before the keys are known).

    Residues of K random keys modulo m are distinct with probability p(m) = m!/((m − K)!·m^K);
    treating the moduli as independent, a bucket is still unresolved after K … m with
    probability Π(1 − p), and M is where B times that falls to 1/2. The tests hold it within
    0.65–1.5 times the measured maximum on random keys; ``benchmarks/bench_park.py`` prints both.
    """
    from scipy.special import gammaln

    if K <= 1:
        return 1
    step = max(1, K // 16)  # p(m) changes on the scale m ≈ K²: steps of K/16 resolve it
    hi = K * K + 4 * K + 64
    while True:
        m = np.arange(K, hi + 1, step, dtype=np.float64)
        logp = gammaln(m + 1) - gammaln(m - K + 1) - K * np.log(m)
        unresolved = step * np.cumsum(np.log1p(-np.minimum(np.exp(logp), 1 - 1e-16)))
        hit = np.nonzero(math.log(max(B, 1)) + unresolved <= math.log(0.5))[0]
        if hit.size:
            return int(m[hit[0]])
        hi *= 2


def _quotient_bits(key_max: int, K: int) -> int:
    return int(key_max // max(K, 1)).bit_length()


def widths(N: int, K: int, M: int, qbits: int, ell: int, q: int, W2: int) -> list[int]:
    """All hidden widths, in order: projection, lookup, 6a (6b and 6c when M > 1), read-out."""
    B = -(-N // K)
    ws = [1] + plan.lookup_widths(plan.plan_lookup(B - 1, W2, "flat"))
    if M == 1:
        ws += [2 * (2**b - 1) + 1 + (j > 0) for j, b in enumerate(plan.chunks(2, q))]
    else:
        ws += [1 + 2 * (2**b - 1) + 1 + (j > 0) for j, b in enumerate(plan.chunks(M.bit_length(), q))] + [5]
        cs = plan.chunks(qbits, q)
        for j, b in enumerate(cs):
            ws += [3 + 2 * (2**b - 1), 2 + (j < len(cs) - 1) + (2**b - 1)]
        hc = plan.chunks((M - 1).bit_length(), q)
        ws += [1 + 2 * (2**b - 1) + (j < len(hc) - 1) + (j > 0) for j, b in enumerate(hc)]
    return ws + decode_widths(M, ell, q)


def decode_widths(M: int, ell: int, q: int) -> list[int]:
    """Widths of the read-out, :func:`._bitsplan.extraction_widths` with no key field, in O(1) per
    layer: slots 2 … M − 2 have identical layers (they carry h, y and the increment)."""
    if M <= 4:
        return plan.extraction_widths(M, 0, ell, q)
    c = -(-ell // q)
    w4 = plan.extraction_widths(4, 0, ell, q)
    return w4[:3 * c] + w4[2 * c:3 * c] * (M - 4) + w4[3 * c:]


def _depth(N: int, K: int, M: int, qbits: int, ell: int, q: int, W2: int) -> int:
    """len(widths(...)) in O(1)."""
    B = -(-N // K)
    d = 1 + int(plan.lookup_depth(np.array([B - 1]), W2, "flat")[0])
    if M == 1:
        d += -(-2 // q)
    else:
        d += -(-M.bit_length() // q) + 1 + 2 * -(-qbits // q) + -(-(M - 1).bit_length() // q)
    return d + M * -(-ell // q) + 1


def decode_width(ell: int, q: int) -> int:
    """Largest width of the read-out (any M); the default lookup width."""
    return max(decode_widths(4, ell, q))


def _best_bucket_size(N: int, key_max: int, ell: int, q: int, W2: int, worst: bool) -> int:
    """The bucket size K with the smallest depth, on a grid around the balance point."""
    n = max(1, int(key_max).bit_length())
    k = plan.lookup_k(W2)

    def depth(K: int) -> int:
        B = -(-N // K)
        M = modulus_bound(K, n) if worst else min(expected_modulus_max(K, B), modulus_bound(K, n))
        return _depth(N, K, M, _quotient_bits(key_max, K), ell, q, W2)

    # depth ≈ N/(k·K) + a·K², a = (layers per slot)·(M/K²): M ≈ K²/4 estimated, ≈ 0.475·n·K² worst
    a = -(-ell // q) * (0.475 * n if worst else 0.25)
    K0 = max(1.0, (N / (2 * a * k)) ** (1 / 3))
    grid = sorted({min(N, max(1, round(K0 * 2 ** (j / 8)))) for j in range(-16, 17)})
    best = min(grid, key=lambda K: (depth(K), K))
    near = range(max(1, best - 3), min(N, best + 3) + 1)
    return min(near, key=lambda K: (depth(K), K))


def choose_shape(N: int, key_max: int, ell: int, *, bucket_size=None, bits_per_layer=1, lookup_width=None,
                 modulus_max=None, quotient_bits=None, worst: bool = False) -> dict:
    """Pick (K, q, W2) and the widths; refuse impossible knobs with :class:`CapacityError`.

    Without ``bucket_size`` the K with the smallest depth wins, the moduli estimated by
    :func:`expected_modulus_max` (``worst=True``: bounded by :func:`modulus_bound`, the
    theorem's worst case). ``modulus_max`` and ``quotient_bits`` (a built network's ``meta``)
    make the widths exact. Returns a dict with K, q, W2, M, qbits, widths.

    Examples
    --------
    >>> sh = choose_shape(10_000, 2**27, 4)
    >>> sh["K"] > 1, max(sh["widths"]) == 8
    (True, True)
    """
    for name, v in (("bucket_size", bucket_size), ("lookup_width", lookup_width)):
        if v is not None:
            check_int(name, v, 1)
    q = check_int("bits_per_layer", bits_per_layer, 1)
    if q > plan.MAX_Q:
        raise CapacityError(f"bits_per_layer: at most {plan.MAX_Q} (a layer holds 2^(q+1) units), got {q}")
    W2 = int(lookup_width) if lookup_width is not None else decode_width(ell, q)
    if W2 < 4:
        raise CapacityError(f"lookup_width: at least 4 (carries of z and V plus one step of two units), got {W2}")
    N = int(N)
    if bucket_size is not None and bucket_size > N:
        raise CapacityError(f"bucket_size: {bucket_size} exceeds the number of distinct points ({N})")
    K = int(bucket_size) if bucket_size is not None else _best_bucket_size(N, key_max, ell, q, W2, worst)
    n = max(1, int(key_max).bit_length())
    if modulus_max is not None:
        M = int(modulus_max)
    elif worst:
        M = modulus_bound(K, n)
    else:
        M = min(expected_modulus_max(K, -(-N // K)), modulus_bound(K, n))
    qbits = int(quotient_bits) if quotient_bits is not None else _quotient_bits(key_max, K)
    if M == 1:
        qbits = 0
    return {"K": K, "q": q, "W2": W2, "M": M, "qbits": qbits, "widths": widths(N, K, M, qbits, ell, q, W2)}


def structural_nonzeros(N: int, dx: int, sh: dict, ell: int, z0: int = 3, e: int = 1) -> int:
    """Nonzero weights and biases if no data-dependent coefficient vanishes (an upper bound).

    The lookup is counted by :mod:`._bitsplan`'s formula; the later stages by running the very
    layer functions of steps 6–7 on placeholder forms (a few slots of the read-out stand for
    all of them: every middle slot has the same units).
    """
    K, M, q, W2, qbits = sh["K"], sh["M"], sh["q"], sh["W2"], sh["qbits"]
    B = -(-N // K)
    steps = plan.lookup_steps(plan.plan_lookup(B - 1, W2, "flat"))
    lookup, v_terms = plan._lookup_nonzeros(steps)  # noqa: SLF001 (the shared count of the flat lookup)
    width = 1 + v_terms
    forms = {"z": unit_form(0), "V": lin_form([(i, 1) for i in range(1, 1 + v_terms)], 1 if len(steps) < 2 else 0)}
    hashed, forms, width = hash_layers(forms, width, z0, e, M, qbits, ell, q)

    def readout(slots: int) -> int:
        return sum(_nonzeros(d) for d in decode_layers(forms, width, slots, ell, q)[0])

    dec = readout(M) if M <= 4 else readout(4) + (M - 4) * (readout(4) - readout(3))
    out = 1 + 2  # output layer: the label accumulator and its last increment, plus the offset
    return dx + 1 + lookup + sum(_nonzeros(d) for d in hashed) + dec + out


def _nonzeros(d: Dense) -> int:
    return int(sum(1 for v in d.weight.flat if v != 0) + sum(1 for v in d.bias.flat if v != 0))


def _weight_bits(sh: dict, ell: int, z_bits: int) -> int:
    """Bound on the bit length of every weight and bias: the bucket integers and the read-out
    thresholds have at most M·ℓ + F + 2 bits (F = bit_length(M)); the projection and the lookup
    thresholds at most z_bits + 1; the tests and gates of step 6b multiply 2^s·2^e ≤ z·2/m_b by
    t < 2^q, the read-in digit weights (≤ 2^q) and M: at most z_bits + F + 2q + 2."""
    F = sh["M"].bit_length()
    return max(sh["M"] * ell + F + sh["q"] + 2, z_bits + F + 2 * sh["q"] + 2)


def architecture(n: int, dx: int, dy: int = 1, *, n_classes: int | None = None, key_max: int | None = None,
                 modulus_max: int | None = None, quotient_bits: int | None = None, z_bits: int | None = None,
                 delta: float | None = None, radius: float | None = None, bucket_size: int | None = None,
                 bits_per_layer: int = 1, lookup_width: int | None = None) -> Architecture:
    """Sizes of the ``park2021`` network for ``n`` points without building it.

    Exact when ``key_max``, ``modulus_max`` and ``quotient_bits`` (``meta`` of a built network)
    are given. Otherwise the key range is estimated from ``delta`` (the separation, and
    ``radius`` the norm bound, default 1) as the union bound ``key_max ≈ 6.4·n²·√dx·r/δ``, or
    as the typical ``4·n²``, and the largest modulus by :func:`expected_modulus_max`.
    ``num_nonzero`` is the structural count (an upper bound); ``max_weight_bits`` a bound,
    exact in its ``z_bits`` part only when ``z_bits`` (``meta["z_bits"]``) is given.

    Examples
    --------
    >>> from memorize.constructions.park2021 import architecture
    >>> a = architecture(10**5, 4, 10, key_max=2**33)
    >>> max(a.widths), a.num_nonzero < 10**5
    (8, True)
    """
    N = int(n)
    C = int(n_classes) if n_classes is not None else max(int(dy), 2)
    ell = plan.label_bits(C)
    if key_max is None:
        if delta is not None:
            r = float(radius) if radius is not None else 1.0
            key_max = int(max(1.0, 6.4 * N * N * math.sqrt(dx) * r / float(delta)))
        else:
            key_max = 4 * N * N
    sh = choose_shape(N, int(key_max), ell, bucket_size=bucket_size, bits_per_layer=bits_per_layer,
                      lookup_width=lookup_width, modulus_max=modulus_max, quotient_bits=quotient_bits)
    ws = sh["widths"]
    zb = int(z_bits) if z_bits is not None else 90
    notes = (f"K={sh['K']} points per bucket, {-(-N // sh['K'])} buckets, largest modulus M={sh['M']} "
             f"({'given' if modulus_max is not None else 'estimated'}), q={sh['q']} bits per layer, "
             f"lookup width {sh['W2']}, quotient bits {sh['qbits']}")
    return Architecture("park2021", dx, tuple(ws), 1, plan.dense_params(dx, ws), residual=False, activation="relu",
                        max_weight_bits=_weight_bits(sh, ell, zb),
                        num_nonzero=structural_nonzeros(N, dx, sh, ell), notes=notes)


def paper_size(n: int, dx: int, dy: int = 1, activation: str = "relu", **_options) -> PaperSize:
    """The theorem's size: O(N^{2/3}) parameters at constant width (Park et al. 2021).

    The paper states the order, not a constant; the numbers are this library's worst case of the
    re-derived construction: every bucket's modulus at the bound :func:`modulus_bound` (the
    fingerprint lemma), the typical key range 4N² of the architecture estimate, one bit per layer.

    Examples
    --------
    >>> p = paper_size(10**4, 8, 10)
    >>> p.num_hidden > 0 and "N^(2/3)" in p.statement
    True
    """
    C = max(int(dy), 2)
    ell = plan.label_bits(C)
    sh = choose_shape(int(n), 4 * int(n) ** 2, ell, worst=True)
    ws = sh["widths"]
    return PaperSize(tuple(ws), int(sum(ws)),
                     f"O(N^(2/3)) parameters at constant width (Park et al. 2021); worst case of the "
                     f"re-derived construction: {plan.dense_params(dx, ws):,} parameters, width {max(ws)}, "
                     f"depth {len(ws)}")


# ---------------------------------------------------------------------------------------------
# assembly: steps 2–8 from the projection
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Buckets:
    """What steps 2–4 hand on: keys, buckets, moduli and the bucket integers.

    Attributes
    ----------
    keys : object array
        κ_i = ⌊(z_i − z0)/2^e⌋ of the sorted points.
    e : int
    labels : object array
        Stored labels (non-negative integers < 2^ℓ) of the sorted points.
    K, q, W2 : int
        Bucket size, bits per layer, lookup width.
    moduli : list of int
        m_b per bucket; M = max m_b.
    M, qbits, ell : int
        Slots per table, quotient bits of step 6b, label bits.
    V : list of int
        The bucket integers; ``taus`` the lookup thresholds between buckets.
    """

    keys: np.ndarray
    e: int
    labels: np.ndarray
    K: int
    q: int
    W2: int
    moduli: list
    M: int
    qbits: int
    ell: int
    V: list
    taus: list


def make_buckets(pr, labels: np.ndarray, ell: int, *, bucket_size=None, bits_per_layer=1,
                 lookup_width=None) -> Buckets:
    """Steps 2–4 after φ1: keys (:func:`hash_keys`), the bucket size (:func:`choose_shape`), the
    moduli (:func:`find_moduli`) and the bucket integers (:func:`pack_buckets`).

    Claim: ``qbits`` is the bit length of the largest quotient ⌊κ_i/m_b⌋ =
    ⌊(z_i − z0)/(2^e·m_b)⌋ over the data, the number of digits step 6b divides out.
    """
    keys, e = hash_keys(pr.z, pr.Q)
    N = len(keys)
    sh = choose_shape(N, int(keys[-1]), ell, bucket_size=bucket_size, bits_per_layer=bits_per_layer,
                      lookup_width=lookup_width)
    K = sh["K"]
    moduli = find_moduli(keys, K)
    M = max(moduli)
    qbits = 0 if M == 1 else max(int(keys[i]) // moduli[i // K] for i in range(N)).bit_length()
    V = pack_buckets(keys, labels, K, moduli, M, ell)
    return Buckets(keys, e, labels, K, sh["q"], sh["W2"], moduli, M, qbits, ell, V, block_thresholds(pr.z, K))


def network_layers(pr, bk: Buckets, offset: int) -> list:
    """Steps 5–7 in order: projection, lookup, hash, read-out, output (the labels plus ``offset``)."""
    layers = [projection_layer(pr)]
    lookup, forms = lookup_layers({"z": unit_form(0)}, 1, bk.taus, bk.V, bk.W2, "flat")
    layers += lookup
    hashed, forms, width = hash_layers(forms, layers[-1].out_dim, int(pr.z[0]), bk.e, bk.M, bk.qbits, bk.ell, bk.q)
    layers += hashed
    decoded, forms = decode_layers(forms, width, bk.M, bk.ell, bk.q)
    layers += decoded
    layers.append(output_layer(forms["y"], layers[-1].out_dim, offset))
    return layers


def self_check(net: Network, data: Dataset, pr, bk: Buckets, offset: int) -> None:
    """Step 8: every point's output is its label: the exact forward pass on small data, else the
    claims of steps 3–6 decoded from the stored integers (:func:`decode_from_buckets`).

    Raises :class:`ConstructionError` naming the points missed (a bug, never the data's fault).
    """
    if len(bk.keys) <= FULL_CHECK_N:
        values = net(EXACT.array(data.X[pr.order]))[:, 0]
    else:
        values = decode_from_buckets(pr.z, bk.keys, bk.V, bk.taus, bk.K, bk.M, bk.e, bk.qbits, bk.ell) + offset
    targets = np.array([int(v) + offset for v in bk.labels], dtype=object)
    check_self(values[:, None], targets[:, None], 0, method="park2021", index=data.index[pr.order])


# ---------------------------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------------------------


def _check_dtype(dtype) -> None:
    """Only exact arithmetic is supported: refuse every float format with the reason."""
    if dtype is None or (isinstance(dtype, str) and dtype.lower() == "exact"):
        return
    fmt = as_format(dtype)  # unknown names get the library's message
    raise ArgumentError(
        f"dtype: park2021 builds exact networks only (dtype=None or 'exact'), got {fmt.name!r}: its bucket "
        "integers hold K²-slot label tables of hundreds of bits, beyond every float format; build exactly and "
        f"cast with net.astype('{fmt.name}') to measure what the format loses")


@register(
    "park2021",
    summary=("Park, Lee, Yun, Shin 2021 (re-derived): deep ReLU net of width 8 with O(N^(2/3)) parameters "
             "(buckets of K ≈ N^(1/3) points, K²-slot label tables keyed by κ mod m_b); exact big-integer "
             "weights; C classes."),
    task="classification",
    architecture=architecture,
    reference=("S. Park, J. Lee, C. Yun, J. Shin. Provable memorization via deep neural networks using sub-linear "
               "parameters. COLT 2021 (arXiv:2010.13363)."),
    demo_max_n=300,
    assumptions=("δ-separated points", "norm bound ‖x‖ ≤ r", "class labels",
                 "exact arithmetic (big-integer weights)"),
    paper_size=paper_size,
)
def park2021(X, y, *, bucket_size: int | None = None, bits_per_layer: int = 1, lookup_width: int | None = None,
             delta=None, radius=None, n_directions: int = 8, rng=None, exact: bool = True, dtype=None) -> Network:
    """Build a deep, narrow ReLU network with O(N^{2/3}) parameters that memorizes ``(X, y)`` exactly.

    Parameters
    ----------
    X : array_like, shape (N, d) or (N,)
        Distinct points (any scale and offset: the first layer absorbs them; identical points
        with equal labels are merged).
    y : array_like, shape (N,)
        Class labels (integers, strings or booleans), or a one-hot matrix (N, C).
    bucket_size : int, optional
        K, the points per bucket (default: the K with the smallest depth, about N^{1/3}).
    bits_per_layer : int, default 1
        q, bits read per layer of the read-out and per digit of the division (1 … 16); width
        2^{q+1} + 4 (8 for q = 1).
    lookup_width : int, optional
        Width of the lookup layers (default: the read-out's width): (W − 2)/2 thresholds a layer.
    delta : float, optional
        The theorem's separation, in the units of ``X``: if two points are closer,
        :class:`~memorize.errors.AssumptionError` names the closest pair. The separation is
        always measured exactly and reported in ``meta``.
    radius : float, optional
        The theorem's norm bound: rows with ‖x‖ > ``radius`` are refused (naming them). The
        construction itself works at any scale; ``meta["radius"]`` reports the largest norm.
    n_directions : int, default 8
        Integer projection directions tried (the one with the smallest key range wins).
    rng : None, int or numpy.random.Generator
        Seeds the directions (``None`` means seed 0).
    exact : bool, default True
        Accepted for the common builder signature; the network is always exact (see Notes).
    dtype : None or "exact"
        The arithmetic of the network. Only exact arithmetic is supported; a float format
        (``"float64"``, ...) is refused with :class:`~memorize.errors.ArgumentError`.

    Returns
    -------
    Network
        Exact network (Python ``int`` weights), ReLU hidden layers, one output: the integer label
        itself for integer labels, else the index into ``meta["classes"]``. ``meta`` reports
        K, the number of buckets, the largest modulus M and its bound M*, the quotient bits, the
        key range (``key_max``, ``key_bits``), the measured separation and radius, width, depth,
        parameters and nonzeros; ``key_max``, ``modulus_max``, ``quotient_bits`` and ``z_bits``
        make :func:`architecture` exact.

    Raises
    ------
    AssumptionError
        When two points are closer than ``delta`` (naming the closest pair) or a row lies
        outside ``radius``.
    CapacityError
        When a knob cannot be realised (K > N, q > 16, lookup width < 4).
    ArgumentError
        For a float ``dtype``.

    Notes
    -----
    Theorem (Park, Lee, Yun, Shin 2021, main result; form and constants re-derived, see
    ``docs/park2021.md``): N points with ‖x_i‖ ≤ r, pairwise δ apart, with C labels, are
    memorized by a ReLU network of constant width with O(N^{2/3}) parameters up to factors
    logarithmic in N, r/δ and C. Recipe: one ReLU projects to distinct integers z (checked
    exactly); keys κ = ⌊(z − z0)/2^e⌋; buckets of K consecutive points; per bucket the smallest
    modulus m_b making the keys' residues distinct (m_b = O(K² log R), the fingerprint lemma);
    one big integer per bucket holds m_b and M label slots, slot κ mod m_b holding κ's label; a
    staircase of z looks the integer up (⌈N/K⌉ − 1 thresholds, three a layer); the network
    reads m_b, computes h = κ mod m_b by restoring division with gated subtraction (the divisor
    is looked up, so each digit needs a test layer and a gate layer), then reads the M slots one
    after another and adds slot h's label. Depth ≈ N/(3K) + M·ℓ/q with M ≈ K²/5 measured:
    K ≈ N^{1/3} balances them. The weights have about M·ℓ bits: float64 cannot hold them
    (``net.astype(np.float64)`` is allowed and loses points, see ``docs/park2021.md``).

    References
    ----------
    S. Park, J. Lee, C. Yun, J. Shin. Provable memorization via deep neural networks using
    sub-linear parameters. COLT 2021 (arXiv:2010.13363). G. Vardi, G. Yehudai, O. Shamir. On the
    optimal memorization power of ReLU neural networks. ICLR 2022 (keys stored with the labels:
    Õ(√N)). J. B. Rosser, L. Schoenfeld. Approximate formulas for some functions of prime
    numbers. Illinois J. Math. 6, 1962 (the bound on θ(x) behind the fingerprint lemma).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.uniform(-1, 1, (60, 3)), rng.integers(0, 10, 60)
    >>> net = memorize.build("park2021", X, y)
    >>> memorize.verify(net, X, y).max_error
    0
    >>> net.meta["width"] <= 8 and net.is_exact
    True
    """
    _check_dtype(dtype)
    tries = check_int("n_directions", n_directions, 1)
    data = prepare(X, y, task="classification")
    labvals, offset, output, ell = stored_labels(data)
    Dx, D0 = integer_coordinates(data.X)
    asm = check_assumptions(data.X, Dx, D0, delta, radius, data.index)
    pr = project_to_integers(data.X, Dx, D0, as_rng(rng), tries)
    bk = make_buckets(pr, labvals[pr.order], ell, bucket_size=bucket_size, bits_per_layer=bits_per_layer,
                      lookup_width=lookup_width)
    net = Network(network_layers(pr, bk, offset))
    self_check(net, data, pr, bk, offset)
    meta = {"method": "park2021", **_label_meta(data, output, offset), **_size_meta(net, len(bk.keys)),
            **_bucket_meta(bk, pr), **_assumption_meta(asm, D0, delta, radius, data.index),
            "n_directions": tries, "exact": True}
    return Network(net.layers, meta)


def _label_meta(data: Dataset, output: str, offset: int) -> dict:
    """What the output means: the label itself (integers, stored minus ``offset``) or a class index."""
    classes = [c.item() if hasattr(c, "item") else c for c in np.asarray(data.classes).tolist()]
    return {"output": output, "classes": classes, "label_offset": offset, "n_duplicates_merged": data.n_duplicates}


def _size_meta(net: Network, N: int) -> dict:
    return {
        "width": max(net.widths),
        "depth": net.depth,
        "num_params": net.num_params,
        "num_nonzero": net.num_nonzero,
        "nonzero_over_N": net.num_nonzero / N,
        "max_weight_bits": net.max_weight_bits,
    }


def _bucket_meta(bk: Buckets, pr) -> dict:
    n = max(1, int(bk.keys[-1]).bit_length())
    return {
        "bucket_size": bk.K,
        "num_buckets": len(bk.moduli),
        "modulus_max": bk.M,
        "modulus_mean": float(np.mean(bk.moduli)),
        "modulus_bound": modulus_bound(bk.K, n),
        "quotient_bits": bk.qbits,
        "bits_per_layer": bk.q,
        "lookup_width": bk.W2,
        "label_bits": bk.ell,
        "table_bits": bk.M * bk.ell,
        "key_max": int(bk.keys[-1]),
        "key_bits": n,
        "key_shift_e": bk.e,
        "z_bits": max(abs(int(pr.z[-1])), abs(pr.bias), max(abs(a) for a in pr.a)).bit_length(),
        "direction": pr.g,
    }


def _assumption_meta(asm: Assumptions, D0: int, delta, radius, index) -> dict:
    d2 = asm.d2
    return {
        "delta": math.sqrt(float(Fraction(d2, D0 * D0))) if d2 is not None else None,
        "delta_pair": [int(index[asm.pair[0]]), int(index[asm.pair[1]])] if asm.pair else None,
        "delta_given": float(delta) if delta is not None else None,
        "radius": math.sqrt(float(Fraction(asm.norm2, D0 * D0))),
        "radius_given": float(radius) if radius is not None else None,
    }
