"""Yun, Sra, Jadbabaie 2019, Theorem 4.1: a ResNet with 4N/d_x + 6d_y ReLUs (general position).

Each class-pure group of at most d_x points gets a hyperplane through it (no other point lies on
it under general position) and a flat-top *bump* of 2 hard-tanh nodes (4 ReLU-like units) in a
residual block, which pushes exactly that group by ``D`` along the coordinate of its class. After
the blocks, coordinate ``c`` separates class ``c`` from the rest by a wide gap, and an output
layer of d_y hard-tanh nodes (2d_y ReLU-like units) thresholds it into an exact one-hot vector.

The grouping, the hyperplanes and their margins come from the shared slab machinery
(:mod:`memorize.constructions._slabs`), applied block by block to the residual stream exactly
as the float64 network computes it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ... import _exact
from ...activations import Activation, get_activation, identity
from ...data import Dataset, as_rng, format_indices, prepare
from ...errors import ArgumentError, ArgumentTypeError, AssumptionError, CapacityError
from ...network import DEFAULT_CHUNK_BYTES, Dense, Network, Residual
from ...registry import Architecture, PaperSize, register
from ...verify import check_self
from .._slabs import build_slabs, split_groups

__all__ = ["yun2019_resnet", "resnet_architecture", "resnet_bound", "resnet_condition"]


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
# the network pieces


def _node_rows(M, a, beta, offsets, exact):
    """Rows ``M·a`` and biases ``−M·β + o`` for the pre-activations ``M(<a, h> − β) + o``."""
    k = len(offsets)
    U = np.tile(M * a, (k, 1))
    b = np.array([-M * beta + o for o in offsets], dtype=object if exact else np.float64)
    return U, b


def _atom_block(atoms, push, act: Activation, d: int, width: int, exact: bool):
    """One residual block from *atoms* (hard-tanh nodes of bumps); unused units are zero rows.

    An atom is ``(M, a, β, class, sign)``: sign +1 is the node n⁺ = σ_H(M s + 2) contributing
    ½(n⁺ + 1)·D e_c, sign −1 the node n⁻ = σ_H(M s − 2) contributing −½(n⁻ + 1)·D e_c
    (s = <a, h> − β). The two atoms of a bump sum to ½(n⁺ − n⁻)·D e_c: D e_c on the group, 0
    elsewhere; when both sit in one block their constants cancel. ReLU-like: each node is two
    units, σ_H(t) + 1 = [σ_R(t + 1) − σ_R(t − 1) − 2s₋]/(s₊ − s₋).
    """
    dt = object if exact else np.float64
    U = np.zeros((width, d), dtype=dt)
    b = np.zeros(width, dtype=dt)
    V = np.zeros((d, width), dtype=dt)
    cz = np.zeros(d, dtype=dt)
    if exact:
        U[:] = 0
        b[:] = 0
        V[:] = 0
        cz[:] = 0
    half = Fraction(1, 2) if exact else 0.5
    if act.name == "hardtanh":
        spec = {1: ((2,), (push * half,), push * half), -1: ((-2,), (-push * half,), -push * half)}
    else:
        sp, sm = (_exact.exact_scalar(s) for s in act.slopes) if exact else (float(s) for s in act.slopes)
        w = push * (Fraction(1) if exact else 1.0) / (2 * (sp - sm))
        spec = {1: ((3, 1), (w, -w), -2 * sm * w), -1: ((-1, -3), (-w, w), 2 * sm * w)}
    col = 0
    for M, a, beta, c, sign in atoms:
        offs, cols, const = spec[sign]
        rows, bias = _node_rows(M, a, beta, offs, exact)
        k = len(offs)
        U[col : col + k] = rows
        b[col : col + k] = bias
        for t, v in enumerate(cols):
            V[c, col + t] = v
        cz[c] = cz[c] + const
        col += k
    return Residual(U, b, V, cz, act)


def _track(layer, H, rows: int):
    """The stream after ``layer``, computed chunk by chunk exactly as ``Network.__call__`` does."""
    if H.dtype == object:
        return layer.forward(H)
    parts = [layer.forward(H[s : s + rows]) for s in range(0, H.shape[0], rows)]
    return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


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
)
def yun2019_resnet(X, y, *, widths=None, activation="relu", rng=None, exact: bool = False) -> Network:
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
    ``docs/yun2019_resnet.md``):

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
    data: Dataset = prepare(X, y, task="classification")
    act = _activation(activation)
    gen = as_rng(rng)
    n, d = data.X.shape
    dy = len(data.classes)
    if d < dy:
        raise AssumptionError(
            f"X, y: Theorem 4.1 needs d_x ≥ d_y (each class is pushed along its own input coordinate); "
            f"got d_x = {d} < d_y = {dy} classes"
        )
    u = _unit(act)
    q = 2 * u  # units per bump
    bound = resnet_bound(n, d, dy, act)
    default = widths is None
    if default:
        ws = _default_widths(n, d, dy, act)
    else:
        if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
            raise ArgumentTypeError(f"widths: expected a sequence of positive ints, got {widths!r}")
        ws = []
        for w in widths:
            if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
                raise ArgumentError(f"widths: block widths must be positive ints, got {list(widths)!r}")
            ws.append(int(w))
        if not ws:
            raise ArgumentError("widths: needs at least one residual block")
        if sum(ws) < bound:
            raise CapacityError(
                f"widths: the residual blocks have {sum(ws)} units in all, below Theorem 4.1's bound "
                f"{'2' if u == 1 else '4'}N/d_x + {'2' if u == 1 else '4'}d_y = {float(bound):.2f} "
                f"(N = {n}, d_x = {d}, d_y = {dy}, {act!r})"
            )
    labels = data.labels
    groups = split_groups(n, d, labels=labels, rng=gen)
    theorem_groups = len(groups)
    if not default and sum(w // u for w in ws) < 2 * theorem_groups:
        raise CapacityError(
            f"widths: {ws} hold {sum(w // u for w in ws)} hard-tanh nodes"
            + (" (each is 2 ReLU-like units of one block)" if u == 2 else "")
            + f", but the {dy} classes need {theorem_groups} groups of at most d_x = {d} points, 2 nodes each; "
            f"use even block widths"
        )

    Xw = _exact.to_exact_array(data.X) if exact else data.X
    # Push length: the class coordinates' largest range, times 16, plus 8 (see Notes, step 3).
    rng_c = np.ptp(data.X[:, :dy], axis=0)
    D = float(16 * np.max(rng_c) + 8)
    D = float(math.ceil(D))  # an integer keeps the exact weights short
    Dw = _exact.exact_scalar(D) if exact else D

    widest = max([d] + ws + [u * dy])
    rows = max(1, DEFAULT_CHUNK_BYTES // (3 * 8 * widest))
    H = Xw.copy() if exact else np.array(Xw, copy=True)
    queue = list(groups)
    layers = []
    used_units = 0
    min_margin = math.inf
    n_groups_built = 0
    stats = {"shrunk_groups": 0, "normal_retries": 0, "straddling": 0, "order_sensitive": 0}
    # ReLU-like float64 builds: coordinates no bump moves (see the block loop)
    robust_cols = None if (exact or not act.is_relu_like or d == dy) else np.arange(dy, d)
    block_ws = list(ws)
    pending = None  # the second node of a bump that straddles into this block
    bi = 0

    def gain_of(m):
        nonlocal min_margin
        if np.isfinite(float(m)):
            min_margin = min(min_margin, float(m))
            return Fraction(4) / m if exact else 4.0 / m
        return 1  # a group holding every point: any gain

    while bi < len(block_ws) or queue or pending is not None:
        if bi == len(block_ws):
            if not default:
                need = used_units + q * len(queue)
                raise CapacityError(
                    f"widths: {need} units in bumps are needed, more than the {sum(ws)} given ({len(queue)} "
                    f"groups left): the data are not in general position and groups had to be split, or a bump "
                    f"could not straddle two blocks; pass more width, block widths that are multiples of {q}, "
                    "or widths=None"
                )
            block_ws.append(q * len(queue) + (u if pending is not None else 0))  # extra block (degenerate data)
        width = block_ws[bi]
        cap = width // u  # hard-tanh nodes this block holds
        atoms = []
        classes_here = set()
        if pending is not None and cap >= 1:
            atoms.append(pending)
            classes_here.add(pending[3])
            cap -= 1
            pending = None
        k = cap // 2
        take, queue = queue[:k], queue[k:]
        if take:
            fitted = []  # (group, normal, offset, margin)
            # After the first block, ReLU-like cancellation leaves rounding noise in the class
            # coordinates that depends on the evaluation order (BLAS blocking); normals that ignore
            # the class coordinates are immune to it. A group of at most d_x − d_y points has one.
            small = [g for g in take if robust_cols is not None and bi > 0 and len(g) <= robust_cols.size]
            big = [g for g in take if not (robust_cols is not None and bi > 0 and len(g) <= robust_cols.size)]
            for part, cols in ((small, robust_cols), (big, None)):
                if not part:
                    continue
                Hp = H if cols is None else H[:, cols]
                sl = build_slabs(Hp, part, rng=gen, exact=exact, labels=labels, max_size=d, allow_dependent=True)
                stats["shrunk_groups"] += sl.shrunk_groups
                stats["normal_retries"] += sl.normal_retries
                for j in range(sl.n_groups):
                    a = sl.normals[j]
                    if cols is not None:
                        a = np.zeros(d, dtype=object if exact else np.float64)
                        if exact:
                            a[:] = 0
                        a[cols] = sl.normals[j]
                    elif bi > 0 and robust_cols is not None:
                        stats["order_sensitive"] += 1
                    fitted.append((np.asarray(sl.groups[j]), a, sl.offsets[j], sl.margins[j]))
            kept = min(k, len(fitted))
            # groups beyond this block's capacity (made on degenerate data) wait for the next block
            queue = [f[0] for f in fitted[kept:]] + queue
            for grp, a, beta, m in fitted[:kept]:
                M = gain_of(m)
                c = int(labels[grp[0]])
                classes_here.add(c)
                for sign in (1, -1):
                    atoms.append((M, a, beta, c, sign))
                n_groups_built += 1
                used_units += q
        later = sum(w // u for w in block_ws[bi + 1 :])
        if pending is None and len(atoms) < width // u and queue and later >= 1:
            # A bump straddling this block and the next: its normal must ignore every coordinate this
            # block moves (the classes of its bumps), so that both nodes see the same slab value.
            cand = np.asarray(queue[0])
            c = int(labels[cand[0]])
            moved = sorted(classes_here | {c})
            keep = np.array([j for j in range(d) if j not in moved], dtype=np.int64)
            if robust_cols is not None and cand.size <= robust_cols.size:
                keep = robust_cols  # also immune to the ReLU rounding noise (see above)
            if keep.size >= cand.size:
                sl = build_slabs(H[:, keep], [cand], rng=gen, exact=exact, labels=labels, max_size=d,
                                 allow_dependent=True)
                if sl.n_groups == 1 and len(sl.groups[0]) == cand.size:
                    a = np.zeros(d, dtype=object if exact else np.float64)
                    if exact:
                        a[:] = 0
                    a[keep] = sl.normals[0]
                    M = gain_of(sl.margins[0])
                    atoms.append((M, a, sl.offsets[0], c, 1))
                    pending = (M, a, sl.offsets[0], c, -1)
                    queue = queue[1:]
                    n_groups_built += 1
                    used_units += q
                    stats["straddling"] += 1
        block = _atom_block(atoms, Dw, act, d, width, exact)
        layers.append(block)
        H = _track(block, H, rows)
        bi += 1

    # Output layer: one threshold per class on its coordinate, read from the tracked stream.
    Hc = H[:, :dy]
    Y = data.Y
    mask = Y.astype(bool)
    dt = object if exact else np.float64
    alpha = np.empty(dy, dtype=dt)
    lo = np.empty(dy, dtype=dt)
    gaps = []
    for c in range(dy):
        inside = Hc[mask[:, c], c]
        outside = Hc[~mask[:, c], c]
        lo_c = min(inside) if exact else float(np.min(inside))
        hi_c = max(inside) if exact else float(np.max(inside))
        # (a single class has no outside: any gap ≥ 9·spread serves)
        gap = (lo_c - max(outside)) if outside.size else (15 * (hi_c - lo_c) + 15)
        if exact:
            gap_ok = gap > 0
        else:
            gap = float(gap)
            gap_ok = gap > 0
        if not gap_ok or (hi_c - lo_c) * 15 > gap:
            bad = data.index[np.nonzero(mask[:, c])[0]]
            raise AssumptionError(
                f"X: class {data.classes[c].item()!r} was not separated on its coordinate (gap {float(gap):.3g}, spread "
                f"{float(hi_c - lo_c):.3g}); points {format_indices(bad)} — the data are too close to tell apart "
                "in float64; pass exact=True"
            )
        gaps.append(float(gap))
        alpha[c] = (Fraction(15, 2) / gap) if exact else 7.5 / gap
        lo[c] = lo_c
    # t_c = α_c (h_c − lo_c) + 21/4: class c ∈ [5.25, 5.75], others ≤ −2.25. The ReLU units then
    # see t ± 1 ∈ [4.25, 6.75], one binade of float64, where adding the biases B ± 1 rounds the same
    # way: their difference is exactly 2 and the output exactly one-hot (B on a 2⁻¹² grid keeps
    # B ± 1 exact).
    if act.name == "hardtanh":
        offs = (0,)
    else:
        offs = (1, -1)
    k = len(offs)
    UL = np.zeros((k * dy, d), dtype=dt)
    bL = np.zeros(k * dy, dtype=dt)
    VL = np.zeros((dy, k * dy), dtype=dt)
    cL = np.zeros(dy, dtype=dt)
    if exact:
        UL[:] = 0
        VL[:] = 0
    if exact:
        B = [-alpha[c] * lo[c] + Fraction(21, 4) for c in range(dy)]
    else:
        B = [round((-alpha[c] * lo[c] + 5.25) * 4096.0) / 4096.0 for c in range(dy)]
    for c in range(dy):
        for t, o in enumerate(offs):
            UL[k * c + t, c] = alpha[c]
            bL[k * c + t] = B[c] + o
    half = Fraction(1, 2) if exact else 0.5
    if act.name == "hardtanh":
        for c in range(dy):
            VL[c, c] = half
        cL[:] = half
    else:
        sp, sm = (_exact.exact_scalar(s) for s in act.slopes) if exact else (float(s) for s in act.slopes)
        den = 2 * (sp - sm)
        w = Fraction(1) / den if exact else 1.0 / den
        for c in range(dy):
            VL[c, 2 * c] = w
            VL[c, 2 * c + 1] = -w
        cL[:] = -2 * sm * w
    layers.append(Dense(UL, bL, act))
    layers.append(Dense(VL, cL, identity))

    theorem_blocks = math.ceil(bound)
    total_blocks = sum(block_ws)
    meta = {
        "method": "yun2019_resnet",
        "activation": act.to_json(),
        "classes": [c_.item() if hasattr(c_, "item") else c_ for c_ in data.classes],
        "groups": n_groups_built,
        "theorem_groups": theorem_groups,
        "theorem_units": theorem_blocks + u * dy,
        "extra_units": max(0, total_blocks - (theorem_blocks if default else sum(ws))) if default else 0,
        "idle_units": total_blocks - used_units,
        "block_widths": list(block_ws),
        "push_length": D,
        "min_margin": None if min_margin == math.inf else min_margin,
        "min_class_gap": min(gaps) if gaps else None,
        "shrunk_groups": stats["shrunk_groups"],
        "normal_retries": stats["normal_retries"],
        "straddling_bumps": stats["straddling"],
        "order_sensitive_bumps": stats["order_sensitive"],
        "n_duplicates_merged": data.n_duplicates,
    }
    if default and total_blocks > theorem_blocks:
        meta["extra_units"] = total_blocks - theorem_blocks
    net = Network(layers, meta)
    out = _track(layers[-1], _track(layers[-2], H, rows), rows)
    target = _exact.to_exact_array(data.Y) if exact else data.Y
    check_self(out, target, 0 if exact else 1e-9, method="yun2019_resnet", index=data.index)
    return net
