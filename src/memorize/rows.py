"""Data that do not fit in memory: row sources read chunk by chunk.

A builder or :func:`memorize.verify` accepts ``X`` as

* an in-memory NumPy array (as always);
* a NumPy memmap (``np.load(path, mmap_mode="r")``, ``np.memmap``), read a chunk of rows at a
  time and never copied whole;
* any array-like with ``shape``, ``dtype`` and row slicing (an h5py or zarr dataset, or an
  object of your own with ``__getitem__`` on slices);
* a ``dask.array.Array`` (optional extra ``dask``): every pass over the rows is one dask
  computation over row blocks, run by dask's scheduler — threads by default, or the
  ``dask.distributed`` client you have created.

Such sources are wrapped in :class:`Rows`, a read-only float64 view of the rows (optionally a
selection of them: the distinct rows after duplicates are merged) that supports what the
streaming builders need: ``X @ W`` and ``v @ X`` (chunked products), row slices and row
selections (``X[a:b]``, ``X[idx]``, float64 arrays), ``len`` and ``shape``.

Memory: one chunk holds :func:`chunk_rows` rows, so that its float64 copy takes at most a
quarter of :data:`MEMORY_BUDGET` (the rest is for the source chunk, products and a second dask
worker); the extra memory of a pass is bounded by the budget whatever N is. Outputs of one
number per row and candidate direction (projections, hashes) are O(N) and kept.

Byte identity: a chunk's BLAS products depend on the chunk's size, so the chunk layout depends
only on N, d and the budget — never on where the data are stored. The network built from a
memmap, an h5py-like source or a dask array is therefore byte-identical to the one built from
the same data in memory; in-memory data that fit one chunk are computed exactly as before
(one product over all rows).

Examples
--------
>>> import numpy as np, tempfile, os, memorize
>>> path = os.path.join(tempfile.mkdtemp(), "X.npy")
>>> rng = np.random.default_rng(0)
>>> np.save(path, rng.standard_normal((100, 4)))
>>> X = np.load(path, mmap_mode="r")
>>> y = rng.uniform(-1, 1, 100)
>>> net = memorize.build("zhang2017", X, y)
>>> same = memorize.build("zhang2017", np.load(path), y)  # the data read into memory
>>> all(a.tobytes() == b.tobytes() for la, lb in zip(net.layers, same.layers)
...     for a, b in zip(la.arrays().values(), lb.arrays().values()))
True
>>> memorize.verify(net, X, y).ok
True
>>> import shutil; del X; shutil.rmtree(os.path.dirname(path))

Builders that stream large ``X``: ``zhang2017``, ``yun2019_two_hidden``, ``yun2019_classifier``.
The others check it chunk by chunk and then read it into memory (see ``docs/large_data.md``).
"""

from __future__ import annotations

import contextlib
import mmap
from typing import Callable, Iterator

import numpy as np

from .errors import ArgumentError, ArgumentTypeError, NonFiniteError, ShapeError

__all__ = ["MEMORY_BUDGET", "memory_budget", "chunk_rows", "is_dask", "is_out_of_core", "Rows", "progress_hook",
           "project_columns", "project_each"]

#: Bound (bytes) on the extra memory of one pass over large data: the float64 copy of one chunk
#: of rows takes at most a quarter of it. Changing it changes the chunk layout, hence the last
#: bits of networks built on data larger than one chunk (never of data that fit one chunk).
MEMORY_BUDGET: int = 2 * 2**30


@contextlib.contextmanager
def memory_budget(nbytes: int):
    """Within the ``with`` block, passes over large data use at most ``nbytes`` extra memory.

    Examples
    --------
    >>> from memorize import rows
    >>> with rows.memory_budget(2**20):
    ...     rows.chunk_rows(1024)
    32
    """
    global MEMORY_BUDGET
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 1:
        raise ArgumentError(f"nbytes: expected a positive number of bytes, got {nbytes!r}")
    old, MEMORY_BUDGET = MEMORY_BUDGET, int(nbytes)
    try:
        yield
    finally:
        MEMORY_BUDGET = old


_PROGRESS: list = []


@contextlib.contextmanager
def progress_hook(fn: Callable[[str, int, int], object]):
    """Within the ``with`` block, passes over chunked data call ``fn(stage, done_rows, total_rows)``
    after every chunk (``stage``: ``"checking"``, ``"projecting"``, ...). For a progress display
    (the command line uses it); the return value is ignored.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize.rows import Rows, progress_hook
    >>> seen = []
    >>> with progress_hook(lambda stage, done, total: seen.append((stage, done, total))):
    ...     _ = Rows(np.ones((3, 2), dtype=np.uint8)) @ np.ones(2)
    >>> seen
    [('projecting', 3, 3)]
    """
    _PROGRESS.append(fn)
    try:
        yield
    finally:
        _PROGRESS.pop()


def current_progress(stage: str):
    """The active progress hook bound to ``stage`` as ``(done, total) -> None``, or None."""
    if not _PROGRESS:
        return None
    fn = _PROGRESS[-1]
    return lambda done, total: fn(stage, done, total)


def chunk_rows(d: int) -> int:
    """Rows per chunk for ``d`` features: a float64 chunk takes at most MEMORY_BUDGET / 4."""
    return max(1, MEMORY_BUDGET // (32 * max(int(d), 1)))


def is_dask(X) -> bool:
    """Whether ``X`` is a dask array (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks") and hasattr(X, "compute")


def _is_memmap(X) -> bool:
    base = X
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return True
        base = base.base
    return isinstance(base, mmap.mmap)


def is_out_of_core(X) -> bool:
    """Whether ``X`` is read in chunks instead of converted whole: a memmap, a dask array, an
    h5py/zarr dataset, or another array-like with ``shape``, ``dtype`` and ``__getitem__`` that
    is not convertible by NumPy (no ``__array__``)."""
    if isinstance(X, Rows):
        return True
    if isinstance(X, np.ndarray):
        return _is_memmap(X)
    if is_dask(X) or type(X).__module__.split(".")[0] in ("h5py", "zarr"):
        return True
    shape = getattr(X, "shape", None)
    return (isinstance(shape, tuple) and len(shape) in (1, 2) and hasattr(X, "dtype") and hasattr(X, "__getitem__")
            and not hasattr(X, "__array__") and not isinstance(X, (list, tuple, str, bytes)))


def to_float64(raw, start: int, name: str = "X", check: bool = True, buffer: np.ndarray | None = None) -> np.ndarray:
    """One chunk of source rows as a float64 array (−0.0 folded to 0.0), checked.

    ``start`` is the index of the chunk's first row in the user's array (for error messages);
    ``check=False`` leaves NaN and infinities for the caller to report. ``buffer``: a float64
    array of at least as many elements to write into instead of allocating (a fresh
    allocation of a large chunk costs the kernel as much as the conversion).
    """
    from .data import format_indices

    arr = np.asarray(raw)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind in "iu" and arr.dtype.itemsize == 8 and arr.size and np.abs(arr.astype(object)).max() > 2**53:
        raise ArgumentError(f"{name}: integers above 2**53 cannot be converted to float64 exactly")
    if buffer is not None and buffer.size >= arr.size:
        out = buffer.ravel()[: arr.size].reshape(arr.shape)
        np.copyto(out, arr, casting="unsafe")  # integers up to 2**53 and floats: exact
    else:
        out = np.array(arr, dtype=np.float64, copy=True, order="C")
    if arr.dtype.kind in "biu":  # no −0.0, no NaN: nothing to fold or check
        return out
    if check:
        bad = ~np.isfinite(out)
        if bad.any():
            rows = np.unique(np.nonzero(bad)[0]) + start
            raise NonFiniteError(f"{name}: NaN or infinite values in rows {format_indices(rows)}")
    out += 0.0
    return out


def _release(source, lo: int, hi: int) -> None:
    """Unmap the pages of rows lo..hi of a memmap once they are read (they stay in the page
    cache): the file's pages then never accumulate in the process's resident memory."""
    if not isinstance(source, np.ndarray) or hi <= lo or not hasattr(mmap, "MADV_DONTNEED"):
        return
    base = source
    while isinstance(base, np.ndarray) and not isinstance(getattr(base, "_mmap", None), mmap.mmap):
        base = base.base
    mm = getattr(base, "_mmap", None) if isinstance(base, np.ndarray) else (base if isinstance(base, mmap.mmap) else None)
    if mm is None or not source.flags.c_contiguous:
        return
    try:
        start = source[lo:hi].ctypes.data - np.frombuffer(mm, dtype=np.uint8, count=1).ctypes.data
    except (ValueError, TypeError):  # a closed or foreign map: nothing to release
        return
    page = mmap.PAGESIZE
    first = -(-start // page) * page  # only whole pages inside the rows read
    last = (start + (hi - lo) * source.strides[0]) // page * page
    if last > first:
        mm.madvise(mmap.MADV_DONTNEED, first, last - first)


class Rows:
    """Read-only float64 rows of a large source (memmap, h5py-like, dask), read in chunks.

    Parameters
    ----------
    source : memmap, array-like with row slicing, or dask array, of shape (N, d) or (N,)
    index : increasing int array, optional
        The rows of ``source`` this view holds (e.g. the first occurrence of every distinct
        row); all rows when omitted.
    name : str
        The argument's name in error messages.
    check : bool, default True
        Refuse NaN and infinities (naming the rows) when reading.
    rows : int, optional
        Rows per chunk (default :func:`chunk_rows` of d).

    Notes
    -----
    Every chunk is converted to float64 on reading and checked for NaN/inf (the message names
    the rows of ``source``). NumPy operations that need the whole array (``np.asarray``) read
    it all into memory: the streaming builders never do.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize.rows import Rows
    >>> R = Rows(np.arange(12, dtype=np.uint8).reshape(6, 2), index=np.array([0, 2, 5]))
    >>> R.shape, R[1:].tolist()
    ((3, 2), [[4.0, 5.0], [10.0, 11.0]])
    >>> (R @ np.array([1.0, 1.0])).tolist(), (np.ones(3) @ R).tolist()
    ([1.0, 9.0, 21.0], [14.0, 17.0])
    """

    __array_ufunc__ = None  # `ndarray @ Rows` defers to Rows.__rmatmul__ (chunked)

    def __init__(self, source, index=None, name: str = "X", check: bool = True, rows: int | None = None):
        if isinstance(source, Rows):
            if index is None or source.index is not None:
                index = source.index if index is None else source.index[np.asarray(index)]
            source = source.source
        shape = tuple(int(s) for s in source.shape)
        if len(shape) == 1:
            shape = (shape[0], 1)
        if len(shape) != 2:
            raise ShapeError(f"{name}: expected a 2-D array (N, d), got shape {shape}")
        self.source = source
        self.index = None if index is None else np.asarray(index, dtype=np.int64)
        self.name = name
        self.check = check
        self._rows = rows
        n = shape[0] if self.index is None else len(self.index)
        self.shape = (n, shape[1])
        self.dtype = np.dtype(np.float64)
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        kind = "dask" if is_dask(self.source) else type(self.source).__name__
        return f"<Rows {self.shape[0]}×{self.shape[1]} float64 of a {kind} source, {self.n_chunks} chunk(s)>"

    @property
    def chunk(self) -> int:
        """Rows per chunk: :func:`chunk_rows` unless given (``rows=``) when created."""
        return chunk_rows(self.shape[1]) if self._rows is None else max(1, int(self._rows))

    @property
    def n_chunks(self) -> int:
        return -(-self.shape[0] // self.chunk)

    def slices(self) -> list[slice]:
        n, r = self.shape[0], self.chunk
        return [slice(a, min(a + r, n)) for a in range(0, n, r)]

    # -- reading -------------------------------------------------------------------------------
    def _source_rows(self, idx: np.ndarray):
        """Rows ``idx`` (increasing) of the source, in the source's dtype, in memory."""
        if idx.size == 0:
            return np.zeros((0, self.shape[1]))
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        if hi - lo <= 2 * idx.size:  # dense: one contiguous read, then select
            block = self._read_range(lo, hi)
            return block[idx - lo]
        if is_dask(self.source):
            return np.asarray(self.source[idx].compute())
        if isinstance(self.source, np.ndarray):
            return self.source[idx]
        return np.concatenate([self._read_range(int(i), int(i) + 1) for i in idx])  # h5py-like: row by row

    def _read_range(self, lo: int, hi: int):
        part = self.source[lo:hi]
        if is_dask(part):
            part = part.compute()
        return np.asarray(part)

    def read(self, sl: slice, buffer: np.ndarray | None = None) -> np.ndarray:
        """Rows ``sl`` of this view as a float64 array (checked finite): fresh, or written into
        ``buffer`` (see :func:`to_float64`)."""
        if self.index is None:
            out = to_float64(self._read_range(sl.start, sl.stop), sl.start, self.name, self.check, buffer)
            lo, hi = sl.start, sl.stop
        else:
            idx = self.index[sl]
            out = to_float64(self._source_rows(idx), int(idx[0]) if idx.size else 0, self.name, self.check, buffer)
            lo, hi = (int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0)
        _release(self.source, lo, hi)
        return out

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            if step == 1:
                return self.read(slice(start, max(start, stop)))
            key = np.arange(start, stop, step)
        if isinstance(key, (int, np.integer)):
            return self[np.array([int(key)])][0]
        if isinstance(key, tuple):
            return self[key[0]][(slice(None),) + key[1:]]
        idx = np.asarray(key)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = np.where(idx < 0, idx + self.shape[0], idx).astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.shape[0]):
            raise IndexError(f"row index out of range for {self.shape[0]} rows")
        uniq, inv = np.unique(idx, return_inverse=True)
        src = uniq if self.index is None else self.index[uniq]
        out = to_float64(self._source_rows(src), 0, self.name, self.check) if uniq.size else np.zeros((0, self.shape[1]))
        return out[inv.reshape(idx.shape)]

    def __array__(self, dtype=None, copy=None):
        out = np.empty(self.shape, dtype=np.float64)

        def fill(sl, h):
            out[sl] = h

        self.map(fill)
        return out if dtype is None else out.astype(dtype)

    # -- passes over the rows ------------------------------------------------------------------
    def map(self, fn: Callable[..., object], progress: Callable[[int, int], object] | None = None,
            raw: bool = False, chunk_args: Callable[[slice], tuple] | None = None) -> list:
        """``[fn(sl, X[sl]) for every chunk sl]``, in order; one dask computation for dask sources.

        For a dask source the row blocks are the same as for any other source (so results are
        identical), ``fn`` runs on dask's workers, and the results (one small object per chunk)
        are gathered. Otherwise chunks are read one after the other (``progress(done, total)``
        after each) into one reused float64 buffer: ``fn`` must not keep its argument (copy
        what it needs). ``raw=True`` passes the source's rows unconverted (a checking pass).
        ``chunk_args(sl)``: further arguments of ``fn`` for the chunk (e.g. its labels), so that
        a dask task receives its own part of them only: ``fn(sl, rows, *chunk_args(sl))``.
        """
        if is_dask(self.source):
            return self._map_dask(fn, progress, raw, chunk_args)
        if chunk_args is not None:
            inner = fn
            fn = lambda sl, h: inner(sl, h, *chunk_args(sl))  # noqa: E731
        out = []
        buffer = None
        for sl in self.slices():
            if raw:
                if self.index is None:
                    h = np.ascontiguousarray(self._read_range(sl.start, sl.stop))
                    lo, hi = sl.start, sl.stop
                else:
                    idx = self.index[sl]
                    h = np.ascontiguousarray(self._source_rows(idx))
                    lo, hi = (int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0)
                out.append(fn(sl, h[:, None] if h.ndim == 1 else h))
                _release(self.source, lo, hi)
            else:
                if buffer is None and self.n_chunks > 1:
                    buffer = np.empty(self.chunk * self.shape[1])
                out.append(fn(sl, self.read(sl, buffer)))
            if progress is not None:
                progress(sl.stop, self.shape[0])
        return out

    def _map_dask(self, fn, progress, raw=False, chunk_args=None):
        import dask

        src = self.source
        if src.ndim == 1:
            src = src[:, None]
        if self.index is not None:
            src = src[self.index]
        sls = self.slices()
        src = src.rechunk((tuple(s.stop - s.start for s in sls), (self.shape[1],)))
        blocks = src.to_delayed().ravel()
        starts = [int(s.start) for s in sls] if self.index is None else [int(self.index[s.start]) for s in sls]
        name, check = self.name, self.check
        if raw:
            task = dask.delayed(lambda b, sl, first, *a: fn(sl, np.ascontiguousarray(b), *a), pure=True)
        else:
            task = dask.delayed(lambda b, sl, first, *a: fn(sl, to_float64(b, first, name, check), *a), pure=True)
        more = chunk_args or (lambda sl: ())
        out = list(dask.compute(*[task(b, sl, f, *more(sl)) for b, sl, f in zip(blocks, sls, starts)]))
        if progress is not None:
            progress(self.shape[0], self.shape[0])
        return out

    def __matmul__(self, W):
        W = np.asarray(W, dtype=np.float64)
        parts = self.map(lambda sl, h: h @ W, current_progress("projecting"))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def __rmatmul__(self, v):
        v = np.asarray(v, dtype=np.float64)
        if v.ndim != 1 or v.shape[0] != self.shape[0]:
            raise ShapeError(f"{self.name}: cannot multiply a vector of shape {v.shape} by {self.shape[0]} rows")
        parts = self.map(lambda sl, h, v_sl: v_sl @ h, current_progress("summing"), chunk_args=lambda sl: (v[sl],))
        total = parts[0]
        for p in parts[1:]:  # in chunk order, so every source gives the same bits
            total = total + p
        return total

    def project_columns(self, W) -> np.ndarray:
        """``(Wᵀ Xᵀ)ᵀ`` chunk by chunk (BLAS computes it faster than ``X @ W`` for few columns)."""
        W = np.asarray(W, dtype=np.float64)
        parts = self.map(lambda sl, h: (W.T @ h.T).T, current_progress("projecting"))
        if len(parts) == 1:
            return parts[0]
        out = np.empty((self.shape[0],) + parts[0].shape[1:], order="F")  # as one product would be
        for sl, p in zip(self.slices(), parts):
            out[sl] = p
        return out


def project_columns(X, W) -> np.ndarray:
    """``(Wᵀ Xᵀ)ᵀ`` for an in-memory array or :class:`Rows` (the same bits either way)."""
    if isinstance(X, Rows):
        return X.project_columns(W)
    return (W.T @ X.T).T


def project_each(X, ws) -> Iterator[np.ndarray]:
    """``X @ w`` for every direction ``w`` of ``ws``, in order.

    In memory, one product at a time (lazily); for :class:`Rows`, every chunk is read once and
    multiplied by each ``w`` in turn (a vector product per direction, so the bits are those of
    ``X @ w``): one pass over the data for all candidates.
    """
    ws = [np.asarray(w, dtype=np.float64) for w in ws]
    if not isinstance(X, Rows):
        return (X @ w for w in ws)
    if X.n_chunks == 1:  # the products of the same data in memory (one product per direction)
        parts = X.map(lambda sl, h: [h @ w for w in ws], current_progress("projecting"))
    else:  # large data (in memory too): blocks of rows that stay in the cache for every w
        parts = X.map(lambda sl, h: _blockwise(h, ws), current_progress("projecting"))
    return iter([np.concatenate([p[i] for p in parts]) if len(parts) > 1 else parts[0][i] for i in range(len(ws))])


#: Bytes of the row blocks :func:`project_each` multiplies by every direction in turn.
_CACHE_BLOCK = 2**21


def _blockwise(h: np.ndarray, ws: list) -> list:
    """``[h @ w for w in ws]`` by blocks of rows small enough to stay in the CPU cache while
    every ``w`` passes over them (a fixed function of the chunk: the same bits on every source)."""
    if len(ws) == 1:
        return [h @ ws[0]]
    step = max(32, _CACHE_BLOCK // (8 * max(h.shape[1], 1)) // 32 * 32)
    out = [np.empty(h.shape[0]) for _ in ws]
    for a in range(0, h.shape[0], step):
        blk = h[a:a + step]
        for o, w in zip(out, ws):
            o[a:a + step] = blk @ w
    return out
