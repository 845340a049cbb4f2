"""Evaluation of long runs of ReLU residual blocks, only where a block acts.

A residual block ``h ← h + V relu(U h + b)`` without constant (``c = 0``) leaves a point
unchanged when every pre-activation ``<u, h> + b`` is ≤ 0 there. Networks that memorize one
point per block (Hardt & Ma 2017: one detector per data point) consist of thousands of such
blocks, each of which acts on one point of the data; the generic forward pass still evaluates
every block on every point, block after block (O(blocks·N·d) with the full batch moved through
memory at every block).

This module evaluates a run of such blocks as follows (:func:`forward`):

1. For every point and every unit of the run, bound the pre-activation from above by one
   matrix product for all blocks at once, with a rigorous bound on the rounding of *any*
   summation order (:func:`_certified_inactive`). A block whose units are all certified ≤ 0
   leaves the point unchanged in the generic forward pass too, whatever order its BLAS sums in.
2. Walk each point through its remaining (not certified) blocks in order, evaluating each with
   the block's own ``forward`` on that one point. A block that does not change the point is
   passed; after one that does, the point's later blocks are certified again, from its new
   value, against a few *anchors* (points it lies close to, e.g. the surrogate a detector
   moved it to) or directly.

Claim (tested in ``tests/test_residual_runs.py``): the output of a run equals, bit for bit, the
generic forward pass of the run evaluated on each point alone (a chunk of one row); in exact
arithmetic it equals the generic forward exactly. Only the summation order that BLAS picks for
a batch of rows can differ from a batched generic evaluation, the same freedom the generic
forward has between chunk sizes. When the blocks act on many points (the number of evaluated
(point, block) pairs or of re-certification rounds exceeds a budget) or values are not finite,
the run is evaluated by the generic forward on the whole batch instead.
"""

from __future__ import annotations

import numpy as np

from . import _exact, _flint
from .network import Residual

__all__ = ["sparse_block", "segments", "plan", "forward", "forward_plain", "enable"]

#: Runs shorter than this go through the generic forward pass.
MIN_RUN = 16
_U = 2.0**-53
_TINY = 2.0**-1000  # covers the absolute error of underflowing products
_MAX_ANCHORS = 64
_MAX_ROUNDS = 8
_LISTED = 8  # candidate blocks listed per point and round (the walk usually stops at the first)
_TILE_ELEMS = 2**22  # entries of one tile of pre-activations (32 MB in float64)
_enabled = True
#: Counters for tests and benchmarks: runs evaluated sparsely, and runs handed to the generic pass.
stats = {"sparse": 0, "fallback": 0}


def enable(flag: bool) -> bool:
    """Switch the fast evaluation on or off (for benchmarks and tests); returns the old state."""
    global _enabled
    old, _enabled = _enabled, bool(flag)
    return old


def sparse_block(layer) -> bool:
    """Whether ``layer`` is a ReLU residual block with zero constant (it can leave points unchanged)."""
    if not isinstance(layer, Residual) or layer.activation.name != "relu":
        return False
    c = layer.c
    return not any(v != 0 for v in c) if c.dtype == object else not c.any()


def segments(layers) -> list[tuple[int, int, bool]]:
    """Split ``layers`` into ``(start, end, sparse)`` ranges: runs of at least :data:`MIN_RUN`
    sparse blocks of one arithmetic and width (``sparse=True``), and everything else."""
    out: list[tuple[int, int, bool]] = []
    n = len(layers)
    i = 0
    plain_from = 0
    while i < n:
        if not sparse_block(layers[i]):
            i += 1
            continue
        j = i
        while j < n and sparse_block(layers[j]) and layers[j].U.shape[1] == layers[i].U.shape[1]:
            j += 1
        if j - i >= MIN_RUN:
            if plain_from < i:
                out.append((plain_from, i, False))
            out.append((i, j, True))
            plain_from = j
        i = j
    if plain_from < n:
        out.append((plain_from, n, False))
    return out


def plan(layers) -> list | None:
    """The segments of ``layers`` as ``(start, end, run)``, ``run`` the prepared evaluator of a
    sparse run or None, when some run would be evaluated sparsely; else None."""
    if not _enabled or len(layers) < MIN_RUN:
        return None
    segs = segments(layers)
    if not any(s for _, _, s in segs):
        return None
    return [(a, e, _Run(layers[a:e]) if sparse else None) for a, e, sparse in segs]


def forward_plain(layers, h: np.ndarray) -> np.ndarray:
    """The generic forward pass (exact backends for object arrays, layer by layer in float64)."""
    if h.dtype == object:
        return _flint.forward(layers, h) if _flint.enabled() else _exact.forward(layers, h)
    for layer in layers:
        h = layer.forward(h)
    return h


def forward(layers, h: np.ndarray, prepared=None) -> np.ndarray:
    """Evaluate ``layers`` on the batch ``h``, runs of sparse blocks only where they act.

    ``prepared`` is the :func:`plan` of ``layers`` (reused across the chunks of one batch).
    """
    prepared = plan(layers) if prepared is None else prepared
    if prepared is None:
        return forward_plain(layers, h)
    for a, e, run in prepared:
        h = run.forward(h) if (run is not None and _enabled) else forward_plain(layers[a:e], h)
    return h


class _Budget(Exception):
    """The blocks act on too many points: evaluate the run by the generic forward pass."""


def _gamma(k: int, u: float) -> float:
    """γ_k = k·u/(1 − k·u): any sum of k products has relative error ≤ γ_k (Higham, Thm 3.1)."""
    m = k * u
    return m / (1 - m) if m < 0.5 else np.inf


class _Run:
    """A run of sparse blocks stacked into one unit matrix ``U`` (all blocks' units in order).

    In float64 each unit (u, b) is also kept scaled by a power of two ``2^e ≥ 2‖u‖`` (an exact
    scaling): ``Us`` holds the rows (u, b)/2^e, whose ``u`` part has norm ≤ 1, so one bound per
    point covers the rounding of every unit's ``<u, h>`` at that point (Cauchy–Schwarz).
    """

    def __init__(self, blocks):
        self.blocks = tuple(blocks)
        widths = np.array([blk.U.shape[0] for blk in self.blocks], dtype=np.int64)
        self.start = np.concatenate([[0], np.cumsum(widths)])
        self.unit_block = np.repeat(np.arange(len(self.blocks)), widths)
        self.U = np.concatenate([blk.U for blk in self.blocks])
        self.b = np.concatenate([blk.b for blk in self.blocks])
        self.exact = self.U.dtype == object
        self.d = self.U.shape[1]
        if not self.exact:
            norm = np.sqrt(np.einsum("ij,ij->i", self.U, self.U))
            e = np.ceil(np.log2(np.where(norm > 0, norm, 1.0))).astype(np.int64) + 1
            self.Us = np.ldexp(np.concatenate([self.U, self.b[:, None]], axis=1), -e[:, None])
            self.bs = self.Us[:, -1].copy()
            self.U32 = None  # the float32 copy, made on first use
            self.g64 = _gamma(self.d + 5, _U)
            self.g32 = _gamma(self.d + 5, 2.0**-24)

    # -- driver ------------------------------------------------------------------------------
    def forward(self, h: np.ndarray) -> np.ndarray:
        n = h.shape[0]
        if n == 0:
            return forward_plain(self.blocks, h)
        H = np.array(h, dtype=object if self.exact else np.float64, copy=True)
        if not self.exact and not self._moderate(H):
            stats["fallback"] += 1
            return forward_plain(self.blocks, h)
        pos = np.zeros(n, dtype=np.int64)  # the next block of each point
        self.budget = 4 * n + 2 * len(self.blocks)  # (point, block) evaluations before giving up
        todo = np.arange(n)
        try:
            for rnd in range(_MAX_ROUNDS + 1):
                if not todo.size:
                    break
                if rnd == _MAX_ROUNDS:
                    raise _Budget
                rows, blocks, more = self._candidates(H, todo, pos, first=rnd == 0)
                todo = self._walk(H, pos, rows, blocks, more)
                todo = todo[pos[todo] < len(self.blocks)]
        except _Budget:
            stats["fallback"] += 1
            return forward_plain(self.blocks, h)
        stats["sparse"] += 1
        if not self.exact:
            H += 0.0  # every generic block adds its zero constant: no negative zero survives a run
        return H

    @staticmethod
    def _moderate(H) -> bool:
        """Finite and below 2⁵⁰⁰ in magnitude: no pre-activation bound below can overflow."""
        return bool(np.all(np.abs(H) < 2.0**500))

    def _walk(self, H, pos, rows, blocks, more) -> np.ndarray:
        """Evaluate each point's listed candidate blocks in order until one changes it. Returns
        the points to certify again: those changed (from their new value) and those ``more``
        (listed only in part) that passed all their listed blocks unchanged."""
        again = []
        i, m = 0, rows.size
        ends = np.searchsorted(rows, rows, side="right") if m else rows
        while i < m:
            j, k = int(rows[i]), int(blocks[i])
            self.budget -= 1
            if self.budget < 0:
                raise _Budget
            hj = H[j : j + 1]
            out = self.blocks[k].forward(hj)
            pos[j] = k + 1
            if np.array_equal(out, hj):  # the block did not act (values; the sign of a zero aside)
                i += 1
                if i == ends[i - 1] and more[j]:
                    again.append(j)
                continue
            if not self.exact and not self._moderate(out):
                raise _Budget
            H[j] = out[0]
            again.append(j)
            i = int(ends[i])
        return np.array(again, dtype=np.int64)

    # -- certification ------------------------------------------------------------------------
    def _candidates(self, H, todo, pos, first: bool):
        """Sorted (point, block) pairs of the first :data:`_LISTED` candidate units (at or after
        each point's position, not certified to leave it unchanged) of the points ``todo``, and a
        flag per point of ``H``: True when it has more candidates than were listed."""
        more = np.zeros(H.shape[0], dtype=bool)
        if self.exact:
            parts = self._exact_candidates(H, todo, pos, more)
        elif first:
            parts = self._direct(H, todo, pos, more)
        else:
            parts, crowded = self._anchored(H, todo, pos, more)
            if crowded.size:
                parts += self._direct(H, crowded, pos, more)
        rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        units = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        blocks = self.unit_block[units]
        key = np.unique(rows.astype(np.int64) * len(self.blocks) + blocks)
        return key // len(self.blocks), key % len(self.blocks), more

    def _listed(self, cand, tile, u0, more, cols=None):
        """The pairs of the first :data:`_LISTED` candidates of each row of the mask ``cand``
        (a point's walk rarely goes beyond its first); flags the rows with more in ``more``."""
        rows, units = [], []
        live = np.arange(cand.shape[0])
        for _ in range(_LISTED):
            if not live.size or not cand.shape[1]:
                break
            first = np.argmax(cand[live], axis=1)  # stops at the first True of each row
            hit = cand[live, first]
            live, first = live[hit], first[hit]
            rows.append(live)
            units.append(first)
            cand[live, first] = False
        if live.size and cand.shape[1]:
            more[tile[live[cand[live].any(axis=1)]]] = True
        r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        u = np.concatenate(units) if units else np.zeros(0, dtype=np.int64)
        return tile[r], (u if cols is None else cols[u]) + u0

    def _tiles(self, rows, pos):
        """Rows sorted by position, in tiles whose pre-activations against the units from the
        tile's first position on fit in :data:`_TILE_ELEMS` entries."""
        rows = rows[np.argsort(pos[rows], kind="stable")]
        i = 0
        while i < rows.size:
            u0 = int(self.start[pos[rows[i]]])
            size = max(1, _TILE_ELEMS // max(1, self.U.shape[0] - u0))
            yield rows[i : i + size], u0
            i += size

    def _drop_applied(self, cand, tile, u0, pos):
        """Clear the units before each point's position (those blocks were already applied)."""
        first = self.start[pos[tile]] - u0
        for i in np.nonzero(first > 0)[0]:
            cand[i, : first[i]] = False

    def _direct(self, H, todo, pos, more):
        """Certify from each point's own pre-activations, one matrix product per tile.

        Claim: with the tile's mean m and β = <u', m> + b' (float64, rounded up by its error
        bound), the product G = (h − m, 1)·(u', β) in float32 (float64 when float32 cannot
        decide) differs from the exact <u', h> + b' by at most γ·‖h − m‖ + γ·|β| (any
        summation order, conversions included; ‖u'‖ ≤ 1), and the generic forward's own
        pre-activation from it by at most γ₆₄‖h‖. So G < −θ certifies the unit is ≤ 0 in the
        generic forward; the per-unit part of the bound is added to β, the per-point part is θ.
        """
        parts = []
        for tile, u0 in self._tiles(todo, pos):
            Ht = H[tile]
            m = Ht.mean(axis=0)
            Dc = Ht - m
            dn = np.sqrt(np.einsum("ij,ij->i", Dc, Dc))
            hn = np.sqrt(np.einsum("ij,ij->i", Ht, Ht))
            beta = self.Us[u0:, :-1] @ m
            beta += self.bs[u0:]
            beta += 1.1 * self.g64 * (np.sqrt(m @ m) + np.abs(self.bs[u0:]) + np.abs(beta))
            cand = None
            if np.max(np.abs(Dc), initial=0.0) < 2.0**60 and np.max(np.abs(beta), initial=0.0) < 2.0**60:
                cand = self._tile_product(Dc, dn, hn, beta, u0, np.float32, self.g32)
            if cand is None:
                cand = self._tile_product(Dc, dn, hn, beta, u0, np.float64, self.g64)
            self._drop_applied(cand, tile, u0, pos)
            parts.append(self._listed(cand, tile, u0, more))
        return parts

    def _tile_product(self, Dc, dn, hn, beta, u0, dtype, g):
        """Candidate mask of one tile from the product in ``dtype``; None when more than one
        unit per point is too close to 0 to decide in float32."""
        if dtype == np.float32:
            if self.U32 is None:
                self.U32 = np.empty((self.U.shape[0], self.d + 1), dtype=np.float32)
                self.U32[:, :-1] = self.Us[:, :-1]
            Ua = self.U32[u0:]
        else:
            Ua = np.empty((self.U.shape[0] - u0, self.d + 1))
            Ua[:, :-1] = self.Us[u0:, :-1]
        up = beta + 1.1 * g * np.abs(beta)
        col = up.astype(dtype)
        Ua[:, -1] = np.where(col < up, np.nextafter(col, dtype(np.inf)), col)  # rounded up
        Da = np.empty((Dc.shape[0], self.d + 1), dtype=dtype)
        Da[:, :-1] = Dc
        Da[:, -1] = 1.0
        G = Da @ Ua.T
        theta = 1.1 * (g * dn + self.g64 * hn) + 2.0**-120 * (self.d + 2) * (dn + 1.0) + _TINY
        th = theta.astype(dtype)
        th = np.where(th < theta, np.nextafter(th, dtype(np.inf)), th)
        cand = G >= -th[:, None]
        if dtype == np.float32 and np.count_nonzero(cand & (G <= th[:, None])) > Dc.shape[0]:
            return None
        return cand

    def _choose_anchors(self, Hr):
        """Farthest-point anchors among the rows ``Hr`` until every row is within 2⁻³⁰ of the
        data's scale from one, or :data:`_MAX_ANCHORS` anchors: returns anchor indices, each
        row's anchor (an index into them) and its distance to it."""
        scale = float(np.max(np.abs(Hr))) * np.sqrt(self.d)
        tau = scale * 2.0**-30
        anchors = [0]
        dist = np.sqrt(np.einsum("ij,ij->i", Hr - Hr[0], Hr - Hr[0]))
        owner = np.zeros(Hr.shape[0], dtype=np.int64)
        while len(anchors) < _MAX_ANCHORS:
            far = int(np.argmax(dist))
            if not dist[far] > tau:
                break
            diff = Hr - Hr[far]
            dnew = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            closer = dnew < dist
            owner[closer] = len(anchors)
            dist[closer] = dnew[closer]
            anchors.append(far)
        return np.array(anchors), owner, dist

    def _anchored(self, H, todo, pos, more):
        """Certify the points ``todo`` from the scaled pre-activations at their anchors.

        Claim: |<u', h − a>| ≤ ‖h − a‖ (Cauchy–Schwarz, ‖u'‖ ≤ 1); the anchors' products are
        within γ(‖a‖ + |b'|) of exact (added per unit), the generic forward's within γ‖h‖ (per
        point), so θ = 1.01‖h − a‖ + 1.1γ‖h‖ + tiny certifies as in :meth:`_direct`. Points
        left with many candidate units are returned as ``crowded``.
        """
        Hr = H[todo]
        anchors, owner, dist = self._choose_anchors(Hr)
        u0 = int(self.start[int(pos[todo].min())])
        Aa = np.empty((anchors.size, self.d + 1))
        Aa[:, :-1] = Hr[anchors]
        Aa[:, -1] = 1.0
        P = Aa @ self.Us[u0:].T
        an = np.sqrt(np.einsum("ij,ij->i", Aa, Aa))
        P += 1.1 * self.g64 * (an[:, None] + np.abs(self.bs[u0:])[None, :] + np.abs(P))
        hn = np.sqrt(np.einsum("ij,ij->i", Hr, Hr))
        theta = 1.01 * dist + 1.1 * self.g64 * hn + _TINY
        crowd_limit = max(2 * _LISTED, (self.U.shape[0] - u0) // 64)
        parts, crowded = [], []
        for a in range(anchors.size):
            members = np.nonzero(owner == a)[0]
            cols = np.nonzero(P[a] >= -theta[members].max())[0]
            cand = P[a, cols][None, :] >= -theta[members][:, None]
            first = self.start[pos[todo[members]]] - u0
            cand &= cols[None, :] >= first[:, None]
            few = cand.sum(axis=1) <= crowd_limit
            crowded.append(todo[members[~few]])
            parts.append(self._listed(cand[few], todo[members[few]], u0, more, cols))
        return parts, np.concatenate(crowded)

    def _exact_candidates(self, H, todo, pos, more):
        """Exact pre-activations, once per distinct point value: candidates are the units > 0."""
        groups: dict = {}
        for j in todo.tolist():
            groups.setdefault(tuple(H[j]), []).append(j)
        reps = np.array([g[0] for g in groups.values()], dtype=np.int64)
        u0 = int(self.start[int(pos[todo].min())])
        T = _exact.affine(H[reps], self.U[u0:], self.b[u0:])
        positive = np.asarray(T > 0, dtype=bool)
        parts = []
        for g, row in zip(groups.values(), positive):
            members = np.array(g, dtype=np.int64)
            cand = np.repeat(row[None, :], members.size, axis=0)
            self._drop_applied(cand, members, u0, pos)
            parts.append(self._listed(cand, members, u0, more))
        return parts
