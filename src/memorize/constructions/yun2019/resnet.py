"""Yun, Sra, Jadbabaie 2019, Theorem 4.1: a ResNet with 4N/d_x + 6d_y ReLUs (general position).

Each class-pure group of at most d_x points gets a hyperplane through it (no other point lies on
it under general position) and a flat-top *bump* of 2 hard-tanh nodes (4 ReLU-like units) in a
residual block, which pushes exactly that group by ``D`` along the coordinate of its class. After
the blocks, coordinate ``c`` separates class ``c`` from the rest by a wide gap, and an output
layer of d_y hard-tanh nodes (2d_y ReLU-like units) thresholds it into an exact one-hot vector.

The proof's steps are the functions below, in order: :func:`plan_blocks` (widths and groups),
:func:`push_length`, then block by block :func:`fit_slabs` (and :func:`straddling_slab` for a
bump split over two blocks), :func:`push_block` and :func:`propagate`; finally
:func:`class_thresholds`, :func:`output_layer` and :func:`check_output`. The grouping, the
hyperplanes and their margins come from the shared slab machinery
(:mod:`memorize.constructions._slabs`), applied to the residual stream exactly as the float64
network computes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ... import _exact
from ..._arith import Arithmetic, arithmetic
from ...activations import Activation, get_activation, identity
from ...data import Dataset, as_rng, format_indices, prepare
from ...errors import ArgumentError, ArgumentTypeError, AssumptionError, CapacityError
from ...network import DEFAULT_CHUNK_BYTES, Dense, Network, Residual
from ...precision import Format, round_network
from ...registry import Architecture, PaperSize, register
from ...verify import check_self
from .._slabs import build_slabs, split_groups
from .._target import certified, in_format, refusals, target_format, tuned

__all__ = ["yun2019_resnet", "resnet_architecture", "resnet_bound", "resnet_condition"]


#: Largest N certified in each format (benchmarks/float_limits.py --mode after: N standard Gaussian
#: points in R^32, 10 classes, ReLU, seeds 0–2; every N of the doubling-and-bisection grid below
#: it certified too; "measured_to" is the largest N tried). A fact about these data, not a
#: guarantee: the builder certifies its own network anyway.
FLOAT_LIMITS = {"float32": 724, "bfloat16": 4, "measured_to": 1024}

# A target format's margin acceptance: γ > 8·(rounding + residual), so that with M ≤ 8/γ a group's
# |M·s| stays below 1 (the bump's flat top) and the others' above 3.
_FORMAT_FACTOR = 8.0


# --------------------------------------------------------------------------------------------
# sizes


def _activation(activation) -> Activation:
    act = get_activation(activation)
    if not (act.is_relu_like or act.name == "hardtanh"):
        raise ArgumentError(
            f"activation: expected 'relu', 'hardtanh' or memorize.relu_like(s_plus, s_minus), got {act!r}"
        )
    return act


def _unit(act: Activation) -> int:
    """Hidden units per hard-tanh node: 1 in hard-tanh, 2 in ReLU-like."""
    return 1 if act.name == "hardtanh" else 2


def resnet_bound(n: int, dx: int, dy: int, activation="relu") -> Fraction:
    """The theorem's bound on the residual blocks' total width: (2 or 4)·(N/d_x + d_y)."""
    f = 2 * _unit(_activation(activation))
    return Fraction(f * n, dx) + f * dy


def resnet_condition(widths, n: int, dx: int, dy: int, activation="relu") -> bool:
    """Whether block widths satisfy Theorem 4.1's condition Σ d_l ≥ (2 or 4)(N/d_x + d_y)."""
    return sum(int(w) for w in widths) >= resnet_bound(n, dx, dy, activation)


def _default_widths(n: int, dx: int, dy: int, act: Activation) -> list[int]:
    """The theorem's count ⌈(2 or 4)(N/d_x + d_y)⌉ in one residual block.

    One block is the robust default: every slab is then fitted on the raw data, which no float64
    evaluation order changes (see ``docs/yun2019_resnet.md``, "Evaluation order"). Pass
    ``widths`` for deeper networks.
    """
    return [math.ceil(resnet_bound(n, dx, dy, act))]


def resnet_architecture(n: int, dx: int, dy: int = 2, *, widths=None, activation="relu", **_options) -> Architecture:
    """Residual blocks of the theorem's total width plus an output layer of d_y (2d_y) units."""
    act = _activation(activation)
    ws = _default_widths(n, dx, dy, act) if widths is None else [int(w) for w in widths]
    dl = dy * _unit(act)
    params = sum(w * dx + w + dx * w + dx for w in ws) + (dl * dx + dl) + (dy * dl + dy)
    return Architecture(
        "yun2019_resnet",
        dx,
        tuple(ws) + (dl,),
        dy,
        params,
        residual=True,
        activation=act.name,
        notes="Σ d_l ≥ (2|4)(N/d_x + d_y) in the blocks, d_L = (1|2)·d_y; the last hidden width is the output layer",
    )


# --------------------------------------------------------------------------------------------
# the proof's steps


class Node(NamedTuple):
    """One hard-tanh node of a bump: ``σ_H(M(<a, h> − β) + 2·sign)``, pushing along ``e_cls``.

    The node with sign +1 contributes ``½(n⁺ + 1)·D e_cls``, the one with sign −1
    ``−½(n⁻ + 1)·D e_cls``; together ``½(n⁺ − n⁻)·D e_cls``, which is ``D e_cls`` on the slab
    ``|<a, h> − β| ≤ 1/M`` and 0 where ``|<a, h> − β| ≥ 4/M``.
    """

    gain: object
    normal: np.ndarray
    offset: object
    cls: int
    sign: int


@dataclass
class Tally:
    """What the blocks built: the bumps (block of their first node, rows, class, straddling),
    the finite margins and the slab machinery's counts, for ``meta`` and the tests."""

    bumps: list = field(default_factory=list)
    margins: list = field(default_factory=list)
    shrunk_groups: int = 0
    normal_retries: int = 0
    straddling: int = 0
    order_sensitive: int = 0

    def add_bump(self, block: int, rows, cls: int, margin, straddling: bool = False) -> None:
        self.bumps.append((block, np.asarray(rows), cls, straddling))
        if _exact.is_finite(margin):
            self.margins.append(margin)
        self.straddling += int(straddling)


@dataclass(frozen=True)
class Setting:
    """The fixed facts every block step reads: activation, class codes, d_x, d_y, the
    coordinates no bump moves (see :func:`noise_free_columns`) and the random generator."""

    act: Activation
    labels: np.ndarray
    d: int
    dy: int
    robust_cols: np.ndarray | None
    rng: np.random.Generator
    fmt: Format | None = None  # the format the network is built for (None: float64)

    @property
    def unit(self) -> int:
        return _unit(self.act)


def _parse_widths(widths) -> list[int]:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise ArgumentTypeError(f"widths: expected a sequence of positive ints, got {widths!r}")
    ws = []
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise ArgumentError(f"widths: block widths must be positive ints, got {list(widths)!r}")
        ws.append(int(w))
    if not ws:
        raise ArgumentError("widths: needs at least one residual block")
    return ws


def plan_blocks(widths, n: int, d: int, dy: int, labels, act: Activation, rng) -> tuple[list[int], list[np.ndarray]]:
    """Step 1: the block widths and the class-pure groups of at most d_x points.

    Claim: each class splits into ⌈n_c/d_x⌉ groups, Σ_c ⌈n_c/d_x⌉ ≤ N/d_x + d_y, so the
    theorem's Σ d_l ≥ (2 or 4)(N/d_x + d_y) units hold one bump (2 hard-tanh nodes) per group.
    Explicit ``widths`` below the bound, or whose blocks hold fewer nodes than the bumps need
    (a ReLU-like node's two units share a block), raise :class:`CapacityError`.
    """
    u = _unit(act)
    if widths is None:
        ws = _default_widths(n, d, dy, act)
    else:
        ws = _parse_widths(widths)
        bound = resnet_bound(n, d, dy, act)
        if sum(ws) < bound:
            raise CapacityError(
                f"widths: the residual blocks have {sum(ws)} units in all, below Theorem 4.1's bound "
                f"{'2' if u == 1 else '4'}N/d_x + {'2' if u == 1 else '4'}d_y = {float(bound):.2f} "
                f"(N = {n}, d_x = {d}, d_y = {dy}, {act!r})"
            )
    groups = split_groups(n, d, labels=labels, rng=rng)
    if widths is not None and sum(w // u for w in ws) < 2 * len(groups):
        raise CapacityError(
            f"widths: {ws} hold {sum(w // u for w in ws)} hard-tanh nodes"
            + (" (each is 2 ReLU-like units of one block)" if u == 2 else "")
            + f", but the {dy} classes need {len(groups)} groups of at most d_x = {d} points, 2 nodes each; "
            f"use even block widths"
        )
    return ws, groups


def push_length(X: np.ndarray, dy: int) -> float:
    """Step 2: the push length ``D = ⌈16·R + 8⌉``, R the largest range of a class coordinate.

    Claim: after the pushes class c occupies an interval of length ≤ R on coordinate c and every
    other point lies at least D − R below it, a gap of at least 15 times the class's spread
    (see :func:`class_thresholds`). D is an integer, which keeps the exact weights short.
    """
    D = float(16 * np.max(np.ptp(X[:, :dy], axis=0)) + 8)
    return float(math.ceil(D))


def noise_free_columns(ar: Arithmetic, act: Activation, d: int, dy: int) -> np.ndarray | None:
    """The coordinates no bump moves (d_y..d_x − 1), where later slabs may look in float64.

    After a ReLU-like block the class coordinates carry rounding noise (a bump's units cancel
    on the far side of its hyperplane only up to rounding) that depends on the BLAS blocking, i.e.
    on the batch shape. Normals without class components are immune to it. None when there is
    no such noise (exact arithmetic, hard-tanh) or no such coordinate (d_x = d_y).
    """
    if ar.exact or not act.is_relu_like or d == dy:
        return None
    return np.arange(dy, d)


def _embed(ar: Arithmetic, d: int, cols: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The vector of R^d that is ``v`` on ``cols`` and 0 elsewhere."""
    a = ar.zeros(d)
    a[cols] = v
    return a


def fit_slabs(ar: Arithmetic, H: np.ndarray, groups, s: Setting, block: int, tally: Tally) -> list[tuple]:
    """Step 3: a hyperplane ``<a, h> = β`` through each group on the current stream, and its margin.

    Claim: for each returned ``(rows, a, β, δ)`` the group's points lie on the hyperplane and
    every other point of the stream has ``|<a, h> − β| ≥ δ > 0`` (exactly in exact arithmetic,
    beyond the rounding bound in float64), so the gain ``M = 4/δ`` makes the bump 1 on the
    group and 0 at every other point. On degenerate data a group may give up points, which come
    back as extra groups (more fits than groups). From the second block on, float64 ReLU-like
    slabs of small groups use only the noise-free coordinates (:func:`noise_free_columns`).
    """
    robust = s.robust_cols is not None and block > 0
    small = [g for g in groups if robust and len(g) <= s.robust_cols.size]
    big = [g for g in groups if not (robust and len(g) <= s.robust_cols.size)]
    fitted = []
    for part, cols in ((small, s.robust_cols), (big, None)):
        if not part:
            continue
        try:
            sl = build_slabs(H if cols is None else H[:, cols], part, rng=s.rng, exact=ar.exact, labels=s.labels,
                             max_size=s.d, allow_dependent=True, fmt=s.fmt, format_factor=_FORMAT_FACTOR)
        except AssumptionError:
            if cols is None:
                raise
            cols = None  # points that tie on the noise-free coordinates: every coordinate (order-sensitive)
            sl = build_slabs(H, part, rng=s.rng, exact=ar.exact, labels=s.labels, max_size=s.d, allow_dependent=True,
                             fmt=s.fmt, format_factor=_FORMAT_FACTOR)
        tally.shrunk_groups += sl.shrunk_groups
        tally.normal_retries += sl.normal_retries
        for j in range(sl.n_groups):
            a = sl.normals[j] if cols is None else _embed(ar, s.d, cols, sl.normals[j])
            if cols is None and robust:
                tally.order_sensitive += 1
            fitted.append((np.asarray(sl.groups[j]), a, sl.offsets[j], sl.margins[j]))
    return fitted


def bump_gain(ar: Arithmetic, margin, fmt: Format | None = None):
    """The gain ``M = 4/δ`` of a bump whose slab has margin δ (any gain when δ = ∞: the group
    holds every point). For a target format the power of two ≥ 4/δ, so that M·a is a number of
    the format when the normal a is."""
    if not _exact.is_finite(margin):
        return 1
    return ar.div(4, margin) if fmt is None else float(2.0 ** np.ceil(np.log2(4.0 / float(margin))))


def straddling_slab(ar: Arithmetic, H: np.ndarray, rows, moved: set, s: Setting) -> tuple | None:
    """Step 3′: the slab of a bump whose two nodes lie in consecutive blocks, or None.

    Claim: the normal ignores every coordinate the first block moves (the classes in ``moved``
    and the group's own), so both nodes see the same slab value ``<a, h> − β`` although the
    stream changes between them. Needs the group to have at most d_x − |moved| points (and to
    stay whole); otherwise None and the unit stays idle.
    """
    rows = np.asarray(rows)
    keep = np.array([j for j in range(s.d) if j not in moved], dtype=np.int64)
    if s.robust_cols is not None and rows.size <= s.robust_cols.size:
        keep = s.robust_cols  # also immune to the ReLU rounding noise (see noise_free_columns)
    if keep.size < rows.size:
        return None
    try:
        sl = build_slabs(H[:, keep], [rows], rng=s.rng, exact=ar.exact, labels=s.labels, max_size=s.d,
                         allow_dependent=True, fmt=s.fmt, format_factor=_FORMAT_FACTOR)
    except AssumptionError:
        return None  # a point ties with another on these coordinates: the unit stays idle
    if sl.n_groups != 1 or len(sl.groups[0]) != rows.size:
        return None
    return _embed(ar, s.d, keep, sl.normals[0]), sl.offsets[0], sl.margins[0]


def fill_block(ar, H, width: int, later_nodes: int, queue: list, pending, s: Setting, block: int, tally: Tally):
    """Steps 3 and 3′ for one block: the nodes it holds, the groups still waiting, the node
    carried into the next block.

    The block first takes the node carried over from the previous block, then whole bumps
    (two nodes) for as many waiting groups as fit; a node left over starts a straddling bump
    when a later block can take its second node.
    """
    cap = width // s.unit  # hard-tanh nodes this block holds
    nodes: list[Node] = []
    if pending is not None and cap >= 1:
        nodes.append(pending)
        pending = None
    k = (cap - len(nodes)) // 2
    take, queue = queue[:k], queue[k:]
    if take:
        fitted = fit_slabs(ar, H, take, s, block, tally)
        # groups beyond this block's capacity (split on degenerate data) wait for the next block
        queue = [f[0] for f in fitted[k:]] + queue
        for rows, a, beta, m in fitted[:k]:
            c, M = int(s.labels[rows[0]]), bump_gain(ar, m, s.fmt)
            nodes += [Node(M, a, beta, c, 1), Node(M, a, beta, c, -1)]
            tally.add_bump(block, rows, c, m)
    if pending is None and len(nodes) < cap and queue and later_nodes >= 1:
        rows = np.asarray(queue[0])
        c = int(s.labels[rows[0]])
        slab = straddling_slab(ar, H, rows, {n_.cls for n_ in nodes} | {c}, s)
        if slab is not None:
            a, beta, m = slab
            M = bump_gain(ar, m, s.fmt)
            nodes.append(Node(M, a, beta, c, 1))
            pending = Node(M, a, beta, c, -1)
            queue = queue[1:]
            tally.add_bump(block, rows, c, m, straddling=True)
    return nodes, queue, pending


def _hardtanh_node(ar: Arithmetic, act: Activation, g, shift):
    """Units computing ``g·½(σ_H(t + shift) + 1)`` from a pre-activation t: their bias offsets,
    output weights and output constant.

    Hard-tanh: one unit. ReLU-like (slopes s₊, s₋): two units, because
    ``σ_H(t) + 1 = [σ(t + 1) − σ(t − 1) − 2s₋]/(s₊ − s₋)``.
    """
    if act.name == "hardtanh":
        half = g * ar.const(1, 2)
        return (shift,), (half,), half
    sp, sm = (ar.scalar(v) for v in act.slopes)
    w = ar.div(g, 2 * (sp - sm))
    return (shift + 1, shift - 1), (w, -w), -2 * sm * w


def _node_rows(ar: Arithmetic, M, a, beta, offsets):
    """Rows ``M·a`` and biases ``−M·β + o`` for the pre-activations ``M(<a, h> − β) + o``."""
    U = np.tile(M * a, (len(offsets), 1))
    b = np.array([-M * beta + o for o in offsets], dtype=ar.dtype)
    return U, b


def push_block(ar: Arithmetic, nodes, D, act: Activation, d: int, width: int) -> Residual:
    """Step 4: the residual block ``h ← h + V σ(U h + b) + c`` of the given nodes.

    Claim: a bump whose two nodes both sit in this block adds exactly ``D e_c`` to the points
    of its group and exactly 0 to every other point (the nodes' constants cancel). A node
    whose partner lies in the next block adds ``±½(n + 1)·D e_c``, which the partner completes.
    Unused units are zero rows.
    """
    U, b = ar.zeros((width, d)), ar.zeros(width)
    V, cz = ar.zeros((d, width)), ar.zeros(d)
    col = 0
    for node in nodes:
        offs, cols, const = _hardtanh_node(ar, act, node.sign * D, 2 * node.sign)
        k = len(offs)
        U[col : col + k], b[col : col + k] = _node_rows(ar, node.gain, node.normal, node.offset, offs)
        V[node.cls, col : col + k] = cols
        cz[node.cls] = cz[node.cls] + const
        col += k
    return Residual(U, b, V, cz, act)


def chunk_rows(widths) -> int:
    """Rows per chunk of ``Network.__call__`` for a network of these widths (see :func:`propagate`)."""
    return max(1, DEFAULT_CHUNK_BYTES // (3 * 8 * max(widths)))


def propagate(layer, H: np.ndarray, rows: int, fmt: Format | None = None) -> np.ndarray:
    """Step 5: the stream after ``layer``, computed chunk by chunk as ``Network.__call__`` does.

    Claim: the result is bit for bit what the finished float64 network computes after this
    layer (exact results do not depend on the chunks), so the next block's slabs are fitted on
    the very values they will see. For a target format ``fmt`` the layer is first rounded to it:
    the stream is then the certificate's reference value of the network the user runs.
    """
    if fmt is not None:
        layer = round_network(Network([layer]), fmt).layers[0]
    parts = [layer.forward(H[i : i + rows]) for i in range(0, H.shape[0], rows)]
    return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def residual_blocks(ar: Arithmetic, X, ws: list[int], groups, D, s: Setting, rows: int, *, default: bool):
    """Steps 3–5 block by block: fit the slabs on the current stream, build the block, propagate.

    Claim: after the last block every group has been pushed by D along its class coordinate
    and nothing else has moved. With the default widths, groups the degenerate data added go
    into an extra block; with explicit widths they must fit, else :class:`CapacityError`.
    Returns the blocks, the final stream, the widths used and the :class:`Tally`.
    """
    u, q, d = s.unit, 2 * s.unit, s.d
    H = ar.array(X)
    block_ws, queue, pending, layers, tally = list(ws), list(groups), None, [], Tally()
    bi = 0
    while bi < len(block_ws) or queue or pending is not None:
        if bi == len(block_ws):
            if not default:
                # (the units may suffice in number: a bump that cannot straddle leaves a unit idle)
                left = len(queue) + (pending is not None)
                raise CapacityError(
                    f"widths: {left} of {len(tally.bumps) + len(queue)} bumps do not fit in the {len(ws)} blocks "
                    f"({q * len(tally.bumps)} of the {sum(ws)} units hold bumps, {q} units per bump): the data are "
                    f"not in general position and groups had to be split, or a bump could not straddle two blocks; "
                    f"pass more width, block widths that are multiples of {q}, or widths=None"
                )
            block_ws.append(q * len(queue) + (u if pending is not None else 0))  # extra block (degenerate data)
        later = sum(w // u for w in block_ws[bi + 1 :])
        nodes, queue, pending = fill_block(ar, H, block_ws[bi], later, queue, pending, s, bi, tally)
        layers.append(push_block(ar, nodes, ar.scalar(D), s.act, d, block_ws[bi]))
        H = propagate(layers[-1], H, rows, s.fmt)
        bi += 1
    return layers, H, block_ws, tally


def class_thresholds(ar: Arithmetic, H: np.ndarray, data: Dataset):
    """Step 6: per class, the lowest value ``lo_c`` of coordinate c on the class and the gain
    ``α_c = 7.5/gap_c`` (gap_c between the class and the highest other point).

    Claim: ``gap_c > 15·spread_c`` on the final stream, so ``t_c = α_c(h_c − lo_c) + 21/4`` lies
    in [5.25, 5.75] on class c and is ≤ −2.25 at every other point. A class that fails raises
    :class:`AssumptionError` naming its points. Returns α, lo and the gaps (for ``meta``).
    """
    dy = len(data.classes)
    mask = data.Y.astype(bool)
    alpha, lo, gaps = ar.zeros(dy), ar.zeros(dy), []
    for c in range(dy):
        inside, outside = H[mask[:, c], c], H[~mask[:, c], c]
        lo_c, hi_c = ar.min(inside), ar.max(inside)
        # (a single class has no outside: any gap ≥ 15·spread serves)
        gap = (lo_c - ar.max(outside)) if outside.size else (15 * (hi_c - lo_c) + 15)
        if not gap > 0 or (hi_c - lo_c) * 15 > gap:
            bad = data.index[np.nonzero(mask[:, c])[0]]
            raise AssumptionError(
                f"X: class {data.classes[c].item()!r} was not separated on its coordinate (gap {float(ar.to_float(gap)):.3g}, "
                f"spread {float(ar.to_float(hi_c - lo_c)):.3g}); points {format_indices(bad)} — the data are too close to tell apart "
                "in float64; pass exact=True"
            )
        gaps.append(gap)
        alpha[c] = ar.div(ar.const(15, 2), gap)
        lo[c] = lo_c
    return alpha, lo, gaps


def output_layer(ar: Arithmetic, alpha, lo, act: Activation, d: int) -> tuple[Dense, Dense]:
    """Step 7: the output layer, one hard-tanh node ``½(σ_H(t_c) + 1)`` per class.

    Claim: with the thresholds of step 6 the node of class c is 1 on class c and 0 elsewhere,
    so the output is exactly one-hot. In float64 the bias ``B_c = 21/4 − α_c lo_c`` is rounded
    to a multiple of 2⁻¹²: the two ReLU units ``σ(t ± 1)`` of a class point then lie in one
    binade [4, 8), where ``t + 1`` and ``t − 1`` round alike, so their difference is exactly 2
    and (plain ReLU) the float64 output is exactly one-hot as well.
    """
    dy = len(alpha)
    if ar.exact:
        B = [-alpha[c] * lo[c] + ar.const(21, 4) for c in range(dy)]
    else:  # on a 2⁻¹² grid, so that B ± 1 are exact
        B = [round((-alpha[c] * lo[c] + 5.25) * 4096.0) / 4096.0 for c in range(dy)]
    offs, cols, const = _hardtanh_node(ar, act, 1, 0)
    k = len(offs)
    UL, bL = ar.zeros((k * dy, d)), ar.zeros(k * dy)
    VL, cL = ar.zeros((dy, k * dy)), ar.zeros(dy)
    for c in range(dy):
        UL[k * c : k * c + k, c] = alpha[c]
        bL[k * c : k * c + k] = [B[c] + o for o in offs]
        VL[c, k * c : k * c + k] = cols
    cL[:] = const
    return Dense(UL, bL, act), Dense(VL, cL, identity)


def check_output(ar: Arithmetic, head, H: np.ndarray, data: Dataset, rows: int) -> None:
    """Step 8: the output layer applied to the final stream is the one-hot label of every point
    (exactly in exact arithmetic, to 1e-9 in float64; plain ReLU and hard-tanh give exactly 0)."""
    out = propagate(head[1], propagate(head[0], H, rows), rows)
    check_self(out, ar.array(data.Y), ar.tol(1e-9), method="yun2019_resnet", index=data.index)


def paper_size(n: int, dx: int, dy: int = 1, activation="relu", **_options) -> PaperSize:
    """Theorem 4.1's statement: Σ d_l ≥ 4N/d_x + 4d_y residual units and 2d_y output units (ReLU-like)."""
    per = 2 if activation == "hardtanh" else 4
    blocks = math.ceil(per * n / dx + per * dy - 1e-12)
    out = dy if per == 2 else 2 * dy
    return PaperSize((blocks, out), blocks + out, f"Σd_l ≥ {per}N/d_x + {per}d_y, d_L = {out // dy}d_y (Thm 4.1)")


@register(
    "yun2019_resnet",
    summary="Yun et al. 2019, Thm 4.1: ResNet memorizer under general position, Σ d_l ≥ 4N/d_x + 4d_y ReLUs in the blocks + 2d_y output (hard-tanh: half).",
    task="classification",
    architecture=resnet_architecture,
    reference="C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis of memorization capacity. NeurIPS 2019, Theorem 4.1.",
    assumptions=("general position", "one-hot labels", "d_x ≥ d_y"),
    paper_size=paper_size,
    float_limits=FLOAT_LIMITS,
)
def yun2019_resnet(X, y, *, widths=None, activation="relu", rng=None, exact: bool = False, dtype=None) -> Network:
    """Build a ResNet that maps every point to the exact one-hot vector of its class.

    Parameters
    ----------
    X : array_like, shape (N, d_x)
        Distinct points; the theorem assumes general position (no d_x + 1 on one affine
        hyperplane). Other data are adapted to, at a reported extra cost (see Notes).
    y : array_like, shape (N,) or (N, d_y)
        Class labels or one-hot rows; d_y ≤ d_x classes.
    widths : sequence of int, optional
        Widths d_1..d_{L−1} of the residual blocks. Default: the theorem's count
        ⌈4N/d_x + 4d_y⌉ (hard-tanh ⌈2N/d_x + 2d_y⌉) in one block. Each group's bump uses
        4 (hard-tanh: 2) units; units left over are idle (zero weights).
    activation : "relu", "hardtanh" or Activation, default "relu"
        The network is built natively in this activation (ReLU-like: memorize.relu_like(s₊, s₋)).
    rng : None, int or numpy.random.Generator
        Seeds the grouping and the hyperplane normals (``None`` means seed 0).
    exact : bool, default False
        Build in exact rational arithmetic (small data): outputs are then exactly one-hot.
    dtype : str, NumPy or torch dtype, optional
        Build for this format ("float32", "bfloat16", ...): on the inputs rounded to it, with
        hyperplanes of the format, power-of-two gains, each block's slabs fitted on the stream of the
        rounded earlier blocks; weights rounded to it; every point certified (``meta["certificate"]``)
        or :class:`~memorize.errors.PrecisionError` (limits: :data:`FLOAT_LIMITS`;
        ``float_safe_classifier`` is correct in the format by design). None: the float64 network,
        uncertified.

    Returns
    -------
    Network
        ``Residual`` blocks then ``Dense(d_L×d_x, act)`` and ``Dense(d_y×d_L)``. ``meta``
        holds ``classes``, the number of groups, ``theorem_units`` (the theorem's count for the
        blocks plus the output layer), ``extra_units`` (units beyond it, on degenerate data),
        ``idle_units``, the push length ``D`` and the smallest margin.

    Raises
    ------
    AssumptionError
        d_x < d_y, or a point that no hyperplane can separate from the others in float64.
    CapacityError
        ``widths`` below the theorem's bound, or too narrow per block to hold the bumps.

    Notes
    -----
    Theorem (Yun, Sra, Jadbabaie 2019, Thm 4.1): if no d_x + 1 points lie on one affine
    hyperplane, labels are one-hot and d_x ≥ d_y, a ResNet
    ``h ← h + V σ(U h + b) + c`` followed by ``g = V_L σ(U_L h + b_L) + c_L`` memorizes the
    data when Σ d_l ≥ 2N/d_x + 2d_y and d_L ≥ d_y (hard-tanh), or Σ d_l ≥ 4N/d_x + 4d_y and
    d_L ≥ 2d_y (ReLU-like). For CIFAR-10 sizes that is 106 + 20 = 126 ReLUs.

    Recipe (the paper's appendix is not available; this follows its proof idea, see
    ``docs/yun2019_resnet.md``; the steps are the functions of this module, in order):

    1. Split each class into ⌈n_c/d_x⌉ groups (Σ_c⌈n_c/d_x⌉ ≤ N/d_x + d_y).
    2. Block by block, on the stream as the float network computes it, pass a hyperplane
       ``<a, h> = β`` through each group; its margin δ is the smallest ``|<a, h> − β|`` over the
       other points. With ``M = 4/δ`` the nodes ``σ_H(M s ± 2)`` give a bump that is 1 on the
       group and 0 elsewhere; its output column pushes the group by ``D`` along ``e_class``.
    3. ``D = 16·R + 8`` (R the largest range of a class coordinate) leaves a gap ≥ 15× the
       spread of each class on its coordinate, so one threshold per class, with gain
       ``7.5/gap``, maps the class to pre-activations in [5.25, 5.75] and the rest to ≤ −2.25.
       In ReLU form the two units σ(t ± 1) of a class point then take values in one binade
       [4, 8), where float64 rounds ``p + B + 1`` and ``p + B − 1`` alike: their difference is
       exactly 2 and, for plain ReLU, the float64 output is exactly one-hot too.

    Degenerate data (not in general position, e.g. the bundled digits): a group whose
    hyperplane meets another point first tries other normals, then gives up points, which form
    new groups (``_slabs.build_slabs``). With the default widths the extra bumps go into an extra
    block and are counted in ``meta["extra_units"]``; with explicit ``widths`` they must fit, or
    a CapacityError says how many units were needed.

    Evaluation order (ReLU-like, float64): a bump's ReLUs cancel on the far side of its
    hyperplane only up to rounding, and that rounding depends on the BLAS blocking, i.e. on the
    batch shape. Slabs of later blocks that look at class coordinates can amplify the
    difference, so the default uses one block (slabs fitted on the raw inputs), and later blocks
    prefer normals without class components (``meta["order_sensitive_bumps"]`` counts the rest).

    Odd block widths: a bump may straddle two consecutive blocks (its first node ends one block,
    its second starts the next). Its normal is then drawn orthogonal to every class coordinate
    the first block moves, so both nodes see the same slab value; this needs the group to have
    at most d_x − (number of such classes) points, otherwise the unit stays idle. In ReLU-like
    form a hard-tanh node's two units share a block, so an odd ReLU width leaves one unit idle.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019, Section 4, Theorem 4.1.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((200, 16)), rng.integers(0, 4, 200)
    >>> net = memorize.build("yun2019_resnet", X, y)
    >>> net.num_hidden    # ⌈4·200/16 + 4·4⌉ + 2·4
    74
    >>> memorize.verify(net, X, y).max_error
    0.0
    """
    fmt = target_format(dtype, exact=exact)
    data: Dataset = in_format(prepare(X, y, task="classification"), fmt, "yun2019_resnet")
    act = _activation(activation)
    ar = arithmetic(exact)
    gen = as_rng(rng)
    n, d = data.X.shape
    dy = len(data.classes)
    if d < dy:
        raise AssumptionError(
            f"X, y: Theorem 4.1 needs d_x ≥ d_y (each class is pushed along its own input coordinate); "
            f"got d_x = {d} < d_y = {dy} classes"
        )
    ws, groups = plan_blocks(widths, n, d, dy, data.labels, act, gen)
    D = push_length(data.X, dy)
    setting = Setting(act, data.labels, d, dy, noise_free_columns(ar, act, d, dy), gen, tuned(fmt))
    rows = chunk_rows([d] + ws + [_unit(act) * dy])
    with refusals(fmt, "yun2019_resnet"):
        layers, H, block_ws, tally = residual_blocks(ar, data.X, ws, groups, D, setting, rows, default=widths is None)
        alpha, lo, gaps = class_thresholds(ar, H, data)
    layers += output_layer(ar, alpha, lo, act, d)
    check_output(ar, layers[-2:], H, data, rows)

    u = _unit(act)
    theorem_blocks = math.ceil(resnet_bound(n, d, dy, act))
    total_blocks = sum(block_ws)
    meta = {
        "method": "yun2019_resnet",
        "activation": act.to_json(),
        "classes": [c_.item() if hasattr(c_, "item") else c_ for c_ in data.classes],
        "groups": len(tally.bumps),
        "theorem_groups": len(groups),
        "theorem_units": theorem_blocks + u * dy,
        "extra_units": max(0, total_blocks - theorem_blocks) if widths is None else 0,
        "idle_units": total_blocks - 2 * u * len(tally.bumps),
        "block_widths": list(block_ws),
        "push_length": D,
        **ar.summary(min_margin=min(tally.margins) if tally.margins else None),
        **ar.summary(min_class_gap=min(gaps) if gaps else None),
        "shrunk_groups": tally.shrunk_groups,
        "normal_retries": tally.normal_retries,
        "straddling_bumps": tally.straddling,
        "order_sensitive_bumps": tally.order_sensitive,
        "n_duplicates_merged": data.n_duplicates,
    }
    # Step 9 (dtype given): the network in its format, certified on every point
    return certified(Network(layers, meta), data, fmt, "yun2019_resnet")
