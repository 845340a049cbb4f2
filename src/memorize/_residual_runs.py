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

__all__ = ["sparse_block", "segments", "applies", "forward", "forward_plain"]

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
    return not any(v != 0 for v in c) if c.dtype == object else not np.any(c)


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


def applies(layers) -> bool:
    """Whether :func:`forward` would evaluate some run of ``layers`` sparsely."""
    return _enabled and len(layers) >= MIN_RUN and any(s for _, _, s in segments(layers))


def forward_plain(layers, h: np.ndarray) -> np.ndarray:
    """The generic forward pass (exact backends for object arrays, layer by layer in float64)."""
    if h.dtype == object:
        return _flint.forward(layers, h) if _flint.enabled() else _exact.forward(layers, h)
    for layer in layers:
        h = layer.forward(h)
    return h


def forward(layers, h: np.ndarray) -> np.ndarray:
    """Evaluate ``layers`` on the batch ``h``, runs of sparse blocks only where they act."""
    for a, e, sparse in segments(layers):
        seg = layers[a:e]
        h = _Run(seg).forward(h) if (sparse and _enabled) else forward_plain(seg, h)
    return h


class _Budget(Exception):
    """The blocks act on too many points: evaluate the run by the generic forward pass."""


class _Run:
    """A run of sparse blocks stacked into one unit matrix ``U`` (all blocks' units in order)."""

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
            self.unorm = np.sqrt(np.einsum("ij,ij->i", self.U, self.U))
            # γ_{d+2} = (d+2)u/(1-(d+2)u) bounds the relative error of any summation of d products
            m = (self.d + 2) * _U
            self.gamma = m / (1 - m) if m < 0.5 else np.inf

    # -- driver ------------------------------------------------------------------------------
    def forward(self, h: np.ndarray) -> np.ndarray:
        n = h.shape[0]
        if n == 0:
            return forward_plain(self.blocks, h)
        H = np.array(h, dtype=object if self.exact else np.float64, copy=True)
        if not self.exact and not np.isfinite(H).all():
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
            if not self.exact and not np.isfinite(out).all():
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

    def _listed(self, cand, tile, u0, more):
        """The pairs of the first :data:`_LISTED` candidates of each row of the mask ``cand``."""
        count = cand.sum(axis=1)
        over = count > _LISTED
        if over.any():
            more[tile[over]] = True
            cand[over] &= np.cumsum(cand[over], axis=1) <= _LISTED
        r, u = np.nonzero(cand)
        return tile[r], u + u0

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

    def _unit_mask(self, tile, u0, pos):
        """Units at or after each point's position (earlier blocks were already applied)."""
        return np.arange(u0, self.U.shape[0])[None, :] >= self.start[pos[tile]][:, None]

    def _certified_inactive(self, T, unorm, radius):
        """``T`` (computed pre-activations, any rounding) is certified < 0 for every summation
        order when ``T + 2·‖u‖·radius + 8u|T| + tiny < 0``; ``radius`` bounds, per point, the
        distance from the evaluated vector to the point plus 2γ·(their norms)."""
        slack = np.abs(T)
        slack *= 8 * _U
        slack += (2 * unorm)[None, :] * radius[:, None]
        slack += _TINY * self.d
        slack += T
        return slack < 0  # NaN (overflow) is never certified

    def _direct(self, H, todo, pos, more):
        """Pre-activations of the points themselves (one product per tile): radius 2γ‖h‖·2."""
        parts = []
        for tile, u0 in self._tiles(todo, pos):
            Ht = H[tile]
            T = Ht @ self.U[u0:].T
            T += self.b[u0:]
            hn = np.sqrt(np.einsum("ij,ij->i", Ht, Ht))
            radius = 4 * self.gamma * hn * (1 + 4 * self.gamma)
            cand = ~self._certified_inactive(T, self.unorm[u0:], radius) & self._unit_mask(tile, u0, pos)
            parts.append(self._listed(cand, tile, u0, more))
        return parts

    def _choose_anchors(self, Hr):
        """Farthest-point anchors among the rows ``Hr`` until every row is within 2⁻³⁰ of the
        data's scale from one, or :data:`_MAX_ANCHORS` anchors: returns anchor rows, each row's
        anchor and distance."""
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
        return Hr[anchors], owner, dist

    def _anchored(self, H, todo, pos, more):
        """Certify the points ``todo`` from the pre-activations of their anchors (Cauchy–Schwarz:
        |<u, h − a>| ≤ ‖u‖·‖h − a‖). Points left with many candidate units are returned as
        ``crowded`` for :meth:`_direct`."""
        Hr = H[todo]
        A, owner, dist = self._choose_anchors(Hr)
        u0 = int(self.start[int(pos[todo].min())])
        P = A @ self.U[u0:].T
        P += self.b[u0:]
        an = np.sqrt(np.einsum("ij,ij->i", A, A))[owner]
        hn = np.sqrt(np.einsum("ij,ij->i", Hr, Hr))
        g = self.gamma
        radius = (dist + 2 * g * (an + hn)) * (1 + 4 * g) + 2 * g * (an + hn)
        crowd_limit = max(2 * _LISTED, (self.U.shape[0] - u0) // 64)
        parts, crowded = [], []
        size = max(1, _TILE_ELEMS // max(1, self.U.shape[0] - u0))
        for s in range(0, todo.size, size):
            part = slice(s, s + size)
            tile = todo[part]
            cand = ~self._certified_inactive(P[owner[part]], self.unorm[u0:], radius[part])
            cand &= self._unit_mask(tile, u0, pos)
            few = cand.sum(axis=1) <= crowd_limit
            parts.append(self._listed(cand[few], tile[few], u0, more))
            crowded.append(tile[~few])
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
            cand = row[None, :] & self._unit_mask(members, u0, pos)
            parts.append(self._listed(cand, members, u0, more))
        return parts
