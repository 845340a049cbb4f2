"""Verification by evaluation: does a network hit every label?"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from numbers import Number
from typing import Callable

import numpy as np

from . import _exact
from ._arith import arithmetic
from .data import as_inputs, class_vector, encode_labels, format_indices, label_array
from .errors import ArgumentError, ConstructionError, LabelError, ShapeError
from .network import Network
from .rows import Rows, is_dask, is_out_of_core

__all__ = ["Report", "verify", "default_tol", "targets", "check_self"]

#: Default relative tolerance for float64 networks: ``tol = DEFAULT_RTOL * max(1, max|y|)``.
DEFAULT_RTOL = 1e-6
_MAX_LISTED = 1000


@dataclass(frozen=True)
class Report:
    """The result of :func:`verify`.

    Attributes
    ----------
    n : int
        Number of points checked.
    max_error : float or Fraction
        ``max_i max_j |f(x_i)_j − y_ij|``. Exact (an ``int`` or ``Fraction``) when the network
        was evaluated in exact arithmetic; otherwise the float64 value as measured, never rounded.
    n_failed : int
        Points whose error exceeds ``tol``.
    failed : ndarray
        Indices of failed points (at most the first 1000).
    accuracy : float or None
        Fraction of points whose argmax output is their class (class or one-hot labels only).
    exact : bool
        True only when the network was evaluated in exact rational arithmetic.
    tol : float or Fraction
    seconds : float
    format : str
        The arithmetic of the evaluation: ``"exact"``, ``"float64"``, ``"float32"``,
        ``"bfloat16"`` or ``"float16"`` (one evaluation order; :func:`memorize.certify` covers all).
    """

    n: int
    max_error: float | Fraction | int
    n_failed: int
    failed: np.ndarray
    accuracy: float | None
    exact: bool
    tol: float | Fraction | int
    seconds: float
    format: str = "float64"

    @property
    def ok(self) -> bool:
        """True when no point's error exceeds ``tol``."""
        return self.n_failed == 0

    @property
    def arithmetic(self) -> str:
        if self.exact:
            return "exact rational"
        if self.format in ("bfloat16", "float16"):
            return f"{self.format} (float32 accumulation)"
        return self.format

    def __str__(self) -> str:
        err = self.max_error
        err_s = ("0 (exactly)" if err == 0 else f"{float(err):.3e} (exact value)") if self.exact else f"{float(err):.3e}"
        lines = [
            f"verification in {self.arithmetic} arithmetic on {self.n} points: {'OK' if self.ok else 'FAILED'}",
            f"  max error  {err_s}",
            f"  tolerance  {float(self.tol):.3e}",
            f"  failed     {self.n_failed}" + (f" {format_indices(self.failed)}" if self.n_failed else ""),
        ]
        if self.accuracy is not None:
            lines.append(f"  accuracy   {self.accuracy:.6f} (argmax)")
        lines.append(f"  time       {self.seconds:.3f} s")
        return "\n".join(lines)


def default_tol(y_abs_max, exact: bool = False, dtype=None):
    """0 for exact networks; ``max(1e-6, 8u)·max(1, max|y|)`` in a float format of unit roundoff u.

    That is ``1e-6·max(1, max|y|)`` for float64 and float32, 8u (about 3e-2 and 4e-3) for
    bfloat16 and float16, whose spacing near 1 is coarser than 1e-6.
    """
    if exact:
        return 0
    from .precision import as_format

    return max(DEFAULT_RTOL, 8 * as_format(dtype).u) * max(1.0, float(y_abs_max))


def _class_list(net: Network, arr: np.ndarray, classes, k: int):
    """The class of each output: ``classes``, else ``net.meta["classes"]``, else 0..k−1 for
    integer labels (or the sorted distinct labels)."""
    if classes is not None:
        return class_vector(classes, name="classes")
    if net.meta.get("classes") is not None:
        return class_vector(list(net.meta["classes"]), name="classes")
    if arr.dtype.kind in "biu":
        return np.arange(k)
    return np.unique(arr)


def _is_classifier(net: Network, classes) -> bool:
    """Whether a network's outputs are one-hot class scores: several outputs, or one output for a
    builder that recorded a single class (every point of one class: its one output is 1)."""
    k = net.output_dim
    if k > 1:
        return True
    listed = classes if classes is not None else net.meta.get("classes")
    return listed is not None and len(listed) == 1 and net.meta.get("output") is None


def _exact_targets(arr: np.ndarray, n: int, k: int, y) -> np.ndarray:
    """An object array of exact real targets, shaped (n, k) and kept as it is."""
    arr = arr[:, None] if arr.ndim == 1 else arr
    if arr.ndim != 2 or arr.shape[1] != k:
        raise ShapeError(f"y: expected shape ({n},) or ({n}, {k}) for a network with {k} outputs, got {np.shape(y)}")
    return arr


class _OneHot:
    """One-hot target rows of class codes, made chunk by chunk (N × classes floats would take
    10 GB for ImageNet's 1.28·10⁶ points and 1000 classes). Exact rows are Python ints."""

    def __init__(self, codes: np.ndarray, k: int, exact: bool = False):
        self.codes, self.k, self.exact = codes, k, exact
        self.shape = (len(codes), k)
        self.size = len(codes) * k

    def __getitem__(self, sl: slice) -> np.ndarray:
        c = self.codes[sl]
        out = np.zeros((len(c), self.k), dtype=object if self.exact else np.float64)
        out[np.arange(len(c)), c] = 1 if self.exact else 1.0
        return out


def targets(net: Network, y, n: int, classes=None, *, lazy: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Targets (n, out) and class codes (or None) for the labels ``y`` of ``n`` points.

    The labels go through the same conversion as a builder's (:func:`memorize.data.label_array`:
    pandas Series, lists and object arrays of strings or numbers are accepted). Then:

    * a vector of class labels for a classifier (several outputs, or one output and a single
      class in ``classes`` / ``net.meta["classes"]``) maps to one-hot rows through ``classes``,
      ``net.meta["classes"]`` or 0..k−1;
    * for a one-output network with ``net.meta["output"] == "class index"`` (bit extraction on
      string labels) each string label maps to its index in ``meta["classes"]`` (numbers are
      taken as the indices themselves);
    * one-hot rows give codes too; anything else is a real target matrix.

    ``lazy=True``: one-hot targets of class labels are returned as an object whose row slices
    are made on demand (``Y[a:b]``, ``Y.shape``), for a chunked check of large data.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> X = np.array([[0.0], [1.0]])
    >>> net = memorize.build("yun2019_one_hidden", X, np.array([3, 3]))  # one class: one output, 1.0
    >>> Y, codes = targets(net, np.array([3, 3]), 2)
    >>> Y.ravel().tolist(), codes.tolist()
    ([1.0, 1.0], [0, 0])
    """
    k = net.output_dim
    raw = np.asarray(y) if isinstance(y, np.ndarray) else None
    if raw is not None and raw.dtype == object and raw.size and not _is_classifier(net, classes) \
            and all(isinstance(v, Number) and not isinstance(v, (bool, complex)) for v in raw.flat):
        return _exact_targets(raw, n, k, y), None  # exact values (int, Fraction) stay exact
    arr = label_array(y, "y")
    if arr.ndim == 1 and _is_classifier(net, classes):
        arr = class_vector(arr, n, "y")
        cls = _class_list(net, arr, classes, k)
        if len(cls) != k:
            raise LabelError(f"y: {len(cls)} classes but the network has {k} outputs")
        codes = encode_labels(arr, cls, "y")
        if lazy:
            return _OneHot(codes, k), codes
        Y = np.zeros((n, k))
        Y[np.arange(n), codes] = 1.0
        return Y, codes
    if arr.ndim == 1 and k == 1 and net.meta.get("output") == "class index" and arr.dtype.kind in "US":
        cls = _class_list(net, class_vector(arr, n, "y"), classes, k)
        codes = encode_labels(class_vector(arr, n, "y"), cls, "y")
        return codes.astype(np.float64)[:, None], None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != k:
        raise ShapeError(f"y: expected shape ({n},) or ({n}, {k}) for a network with {k} outputs, got {np.shape(y)}")
    if arr.dtype.kind not in "biuf":
        raise LabelError(f"y: the network has {k} real-valued output(s), but the labels are of dtype {arr.dtype} "
                         f"(rows {format_indices(np.arange(min(n, arr.shape[0])))}); pass numbers, or a network "
                         "built for class labels")
    arr = np.asarray(arr, dtype=np.float64)
    codes = None
    if k > 1:
        onehot = np.all((arr == 0) | (arr == 1), axis=1) & (np.sum(arr == 1, axis=1) == 1)
        if onehot.all():
            codes = np.argmax(arr, axis=1)
    return arr, codes


def verify(
    net: Network,
    X,
    y,
    *,
    tol=None,
    classes=None,
    dtype=None,
    chunk_bytes: int | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> Report:
    """Evaluate ``net`` on every point of ``X`` and compare with ``y``.

    Parameters
    ----------
    net : Network
    X : array_like (N, d)
        Also a memmap, an h5py-like array or a dask array (:mod:`memorize.rows`): read a chunk at
        a time (never whole); a dask array is evaluated as one dask computation (threads, or the
        ``dask.distributed`` client you have created).
    y : array_like
        Targets (N,) or (N, k), or class labels (N,) for a network with several outputs (mapped
        to outputs through ``classes``, ``net.meta["classes"]`` or ``0..k-1``), or one-hot rows.
    tol : float, optional
        A point fails when its error exceeds ``tol``. Default: 0 for exact networks,
        ``max(1e-6, 8u)·max(1, max|y|)`` for float networks (:func:`default_tol`).
    classes : array_like, optional
        The class label of each output.
    dtype : str, NumPy or torch dtype, optional
        Evaluate in this format instead of the network's own arithmetic: ``"float64"``,
        ``"float32"``, ``"bfloat16"`` or ``"float16"`` — weights and inputs rounded to it, each
        layer computed in it (see :func:`memorize.precision.forward`). An exact network is first
        converted to float64.
    chunk_bytes : int, optional
        Memory bound of one forward chunk (default :data:`memorize.network.DEFAULT_CHUNK_BYTES`).
    progress : callable, optional
        ``progress(done_rows, total_rows)``, called after every chunk has been checked (for a
        progress display; its return value is ignored). ``done_rows`` grows to ``total_rows``.

    Returns
    -------
    Report

    Notes
    -----
    An exact network is evaluated in exact rational arithmetic, inputs and targets converted
    losslessly, and ``max_error`` is the exact error. A float network is evaluated in float64 (or
    in ``dtype``) and ``max_error`` is what was measured: it is zero only if every output equals
    its label. One evaluation is one summation order; :func:`memorize.certify` proves a result for
    all of them.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 0.0])
    >>> net = memorize.build("zhang2017", X, y)
    >>> report = memorize.verify(net, X, y)
    >>> report.ok, report.exact
    (True, False)
    >>> seen = []
    >>> memorize.verify(net, X, y, progress=lambda done, total: seen.append((done, total))).ok
    True
    >>> seen
    [(3, 3)]
    >>> memorize.verify(net, X, y, dtype="float32").arithmetic
    'float32'
    """
    start = time.perf_counter()
    if not isinstance(net, Network):
        raise ArgumentError(f"net: expected a memorize.Network, got {type(net).__name__}")
    fmt = None
    if dtype is not None:
        from .precision import as_format, forward_chunks

        fmt = as_format(dtype)
        if net.is_exact:
            net = net.astype("float64")
    ar = arithmetic(net.is_exact)
    Xa = _inputs(net, X, chunk_bytes)
    n = Xa.shape[0]
    Y, codes = targets(net, y, n, classes, lazy=True)
    if Y.shape[0] != n:
        raise ShapeError(f"y: has {Y.shape[0]} rows but X has {n} points")
    if isinstance(Y, _OneHot):
        Y.exact = ar.exact
        ymax = ar.scalar(1) if Y.size else 0
    else:
        if ar.exact:
            Y = ar.array(Y)  # losslessly; float64 targets are used as they are (no copy of a large Y)
        ymax = ar.max(np.abs(Y)) if Y.size else 0
    if tol is not None and (isinstance(tol, (bool, str, bytes)) or not isinstance(tol, Number) or not tol >= 0):
        raise ArgumentError(f"tol: expected a non-negative number (not NaN), got {tol!r}")
    tol = default_tol(ymax, ar.exact, fmt) if tol is None else ar.scalar(tol)
    def check(sl, out, Y_sl, codes_sl):
        """(largest error, failed rows (at most _MAX_LISTED), number failed, argmax hits) of a chunk."""
        err = np.max(np.abs(out - Y_sl), axis=1)  # each row's error; exact on object arrays
        m = ar.max(err) if err.size else 0
        bad = np.flatnonzero(~np.asarray(err <= tol, dtype=bool))  # NaN fails too
        hits = int(np.sum(np.argmax(ar.to_float(out), axis=1) == codes_sl)) if codes_sl is not None else 0
        return m, (bad[:_MAX_LISTED] + sl.start), bad.size, hits

    def labels(sl):
        return Y[sl], (None if codes is None else codes[sl])

    if is_dask(getattr(Xa, "source", None)):
        # one dask computation: every block evaluated and checked where dask runs it
        def evaluate(sl, h, Y_sl, codes_sl):
            out = net(h) if fmt is None else _format_forward(net, h, fmt, chunk_bytes)
            return check(sl, out, Y_sl, codes_sl)

        results = Xa.map(evaluate, progress, chunk_args=labels)
    else:
        chunks = (net.forward_chunks(Xa, chunk_bytes=chunk_bytes) if fmt is None
                  else forward_chunks(net, Xa, fmt, chunk_bytes=chunk_bytes))
        results = []
        for sl, out in chunks:
            results.append(check(sl, out, *labels(sl)))
            if progress is not None:
                progress(sl.stop, n)
    max_err, failed, n_failed, correct = 0, [], 0, 0
    for m, bad, n_bad, hits in results:
        if m > max_err or m != m:  # m != m: a NaN output, reported rather than skipped
            max_err = m
        n_failed += n_bad
        if len(failed) < _MAX_LISTED:
            failed.extend(bad[: _MAX_LISTED - len(failed)].tolist())
        correct += hits
    acc = None if codes is None else correct / max(n, 1)
    name = "exact" if ar.exact else (fmt.name if fmt is not None else "float64")
    return Report(n, ar.scalar(max_err), n_failed, np.array(failed, dtype=np.int64), acc, ar.exact, tol,
                  time.perf_counter() - start, name)


def _format_forward(net: Network, h: np.ndarray, fmt, chunk_bytes) -> np.ndarray:
    from .precision import forward_chunks

    return np.concatenate([out for _, out in forward_chunks(net, h, fmt, chunk_bytes=chunk_bytes)])


def _inputs(net: Network, X, chunk_bytes=None):
    """The points as an (N, d) array: exact values kept exact for an exact network, else float64.

    Out-of-core data (a memmap, an h5py-like array, a dask array: see :mod:`memorize.rows`)
    become a :class:`~memorize.rows.Rows` read in chunks of the forward pass's size.
    """
    if is_out_of_core(X):
        R = X if isinstance(X, Rows) else Rows(X)
        return Rows(R, rows=net.chunk_rows(chunk_bytes))
    if net.is_exact and isinstance(X, np.ndarray) and X.dtype == object:
        Xa = _exact.to_exact_array(X)
        return Xa[:, None] if Xa.ndim == 1 else Xa
    return as_inputs(X)


def check_self(values, targets, tol, *, method: str, index=None) -> None:
    """A builder's last step: raise :class:`ConstructionError` if its network misses a point.

    ``values`` are the network's outputs at the data (computed cheaply by the builder from its
    own structure, or by a forward pass), ``targets`` the labels, ``tol`` the allowed error
    (0 in exact mode). ``index`` maps rows back to the user's indices for the message.
    """
    v = np.asarray(values)
    t = np.asarray(targets)
    if v.dtype == object and any(isinstance(e, float) for e in v.flat):
        # a float that slipped into an exact build (e.g. int / int) would make "exact" a lie
        raise ConstructionError(f"{method}: an exact build produced float values; this is a bug in memorize")
    if v.dtype == object or t.dtype == object:
        diff = np.abs(_exact.to_exact_array(v) - _exact.to_exact_array(t))
        bad_mask = np.array([any(e > tol for e in row) for row in diff.reshape(len(diff), -1)], dtype=bool)
    else:
        diff = np.abs(v - t).reshape(len(v), -1)
        bad_mask = ~np.all(diff <= tol, axis=1)
    if bad_mask.any():
        bad = np.nonzero(bad_mask)[0]
        if index is not None:
            bad = np.asarray(index)[bad]
        raise ConstructionError(
            f"{method}: the built network misses points {format_indices(bad)} (tolerance {float(tol):.3g}); "
            "this is a bug in memorize, please report it with the data"
        )
