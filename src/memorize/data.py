"""The one place where data are checked and converted.

Every builder calls :func:`prepare` (or the smaller functions it is made of). The user's arrays
are never modified: everything returned is a fresh, read-only array.

Duplicated points are handled once, here: identical inputs with identical labels are merged
(the network is built on the distinct points and still memorizes every given row); identical
inputs with different labels raise :class:`~memorize.errors.DuplicateError` naming the pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ._exact import to_exact_array
from ._linalg import U64, is_singular, rank_tol
from ._linalg import rank as exact_rank
from .errors import ArgumentError, ArgumentTypeError, DuplicateError, LabelError, NonFiniteError, ShapeError

__all__ = [
    "Dataset",
    "as_inputs",
    "as_targets",
    "as_class_labels",
    "label_array",
    "class_vector",
    "encode_labels",
    "as_rng",
    "unique_rows",
    "prepare",
    "format_indices",
]

Task = Literal["regression", "classification"]


def format_indices(idx, limit: int = 10) -> str:
    """``[3, 17, 40, ...] (12 in all)``: a short, readable list of offending indices."""
    idx = [int(i) if np.ndim(i) == 0 else tuple(int(j) for j in i) for i in idx]
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f", ... ({len(idx)} in all)" if len(idx) > limit else ""
    return f"[{shown}{more}]"


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def as_inputs(X, name: str = "X") -> np.ndarray:
    """Check and convert inputs to a read-only float64 array of shape (N, d).

    Float64 input that needs no conversion is returned as a read-only view (no copy); anything
    else is copied. Either way the caller's array is never written to.

    A 1-D array is N points with one feature. Integers and booleans are converted exactly
    (integers above 2**53 are refused, since float64 would round them).
    """
    if isinstance(X, (str, bytes)) or X is None:
        raise ArgumentTypeError(f"{name}: expected a numeric array, got {type(X).__name__}")
    arr = np.asarray(X)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"{name}: expected a numeric array, got non-numeric objects") from None
    if arr.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ShapeError(f"{name}: expected a 2-D array (N, d), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ShapeError(f"{name}: expected at least one point and one feature, got shape {arr.shape}")
    if arr.dtype.kind in "iu" and arr.size and np.max(np.abs(arr.astype(object))) > 2**53:
        raise ArgumentError(f"{name}: integers above 2**53 cannot be converted to float64 exactly")
    if arr.dtype == np.float64:
        if not np.isfinite(arr).all():
            rows = np.unique(np.nonzero(~np.isfinite(arr))[0])
            raise NonFiniteError(f"{name}: NaN or infinite values in rows {format_indices(rows)}")
        if not (np.signbit(arr) & (arr == 0)).any():
            # Nothing to convert: a read-only view, so large data are not copied (and the
            # user's array is still never written to).
            view = arr.view()
            return _readonly(view)
    out = np.array(arr, dtype=np.float64, copy=True)
    bad = ~np.isfinite(out)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise NonFiniteError(f"{name}: NaN or infinite values in rows {format_indices(rows)}")
    out += 0.0  # -0.0 -> 0.0, so equal points have equal bytes
    return _readonly(out)


#: Integral float and Python-int class labels must lie in this range to be stored as int64.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _kinds(flat: list) -> np.ndarray:
    """Per element of an object array: "s" string, "b" bytes, "i" integer or bool, "f" real, "x" other."""
    def kind(v):
        if isinstance(v, str):
            return "s"
        if isinstance(v, bytes):
            return "b"
        if isinstance(v, (bool, int, np.bool_, np.integer)):
            return "i"
        if isinstance(v, (float, np.floating)):
            return "f"
        return "x"

    return np.array([kind(v) for v in flat], dtype="<U1")


def _from_objects(arr: np.ndarray, name: str) -> np.ndarray:
    """An object array of labels (a pandas string or Categorical Series, a list of mixed Python
    values) as an array of one NumPy kind: strings, bytes, int64 or float64.

    Missing values (``None``, ``pandas.NA``, anything that is not a string or a number) and a mix
    of strings and numbers are refused naming the rows; integers outside int64 too.
    """
    flat = arr.reshape(-1).tolist()
    kinds = _kinds(flat)
    rows = lambda mask: format_indices(np.unique(np.nonzero(mask.reshape(arr.shape))[0]))  # noqa: E731
    other = kinds == "x"
    if other.any():
        first = flat[int(np.argmax(other))]
        raise LabelError(f"{name}: rows {rows(other)} hold missing or non-label values (such as {first!r}); "
                         "labels must be strings or numbers")
    textual = (kinds == "s") | (kinds == "b")
    if textual.any() and not textual.all():
        minority = textual if textual.sum() <= (~textual).sum() else ~textual
        raise ArgumentTypeError(f"{name}: labels mix strings and numbers; rows {rows(minority)} differ in type "
                                "from the others")
    if (kinds == "s").all():
        return np.array(flat, dtype=np.str_).reshape(arr.shape)
    if (kinds == "b").all():
        return np.array(flat, dtype=np.bytes_).reshape(arr.shape)
    if (kinds == "f").any():
        return np.array([float(v) for v in flat], dtype=np.float64).reshape(arr.shape)
    big = np.array([not (_INT64_MIN <= int(v) <= _INT64_MAX) for v in flat], dtype=bool)
    if big.any():
        raise LabelError(f"{name}: rows {rows(big)} hold integers outside the int64 range, which cannot be "
                         "represented; map the labels to smaller integers or strings")
    if all(isinstance(v, (bool, np.bool_)) for v in flat):
        return np.array(flat, dtype=bool).reshape(arr.shape)
    return np.array([int(v) for v in flat], dtype=np.int64).reshape(arr.shape)


def label_array(y, name: str = "y") -> np.ndarray:
    """``y`` as a NumPy array of one plain kind (bool, int, float, string or bytes).

    The one conversion every entry point applies to labels first (builders through
    :func:`prepare`, :func:`memorize.verify`, the estimators, the command line): pandas Series
    and Categoricals, lists and object arrays of strings or numbers become ordinary arrays, so
    the same labels mean the same thing everywhere. Missing values, mixed strings and numbers,
    and integers outside int64 raise errors naming the rows.

    Examples
    --------
    >>> label_array(np.array(["b", "a"], dtype=object))
    array(['b', 'a'], dtype='<U1')
    >>> label_array([1, 2.0]).dtype
    dtype('float64')
    """
    if y is None:
        raise ArgumentTypeError(f"{name}: expected labels, got None")
    if isinstance(y, (str, bytes)):
        raise ArgumentTypeError(f"{name}: expected an array of labels, got a single {type(y).__name__}")
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"{name}: cannot be read as an array ({exc})") from None
    if arr.dtype == object:
        arr = _from_objects(arr, name)
    if arr.dtype.kind == "c":
        raise ArgumentTypeError(f"{name}: complex labels are not supported")
    if arr.dtype.kind not in "biufUS":
        raise ArgumentTypeError(f"{name}: expected numbers or strings, got dtype {arr.dtype}")
    return arr


def as_targets(y, n: int, name: str = "y") -> np.ndarray:
    """Check and convert real targets to a fresh float64 array of shape (N, k)."""
    arr = label_array(y, name)
    if arr.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{name}: expected real-valued targets, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ShapeError(f"{name}: expected shape (N,) or (N, k), got {arr.shape}")
    if arr.shape[0] != n:
        raise ShapeError(f"{name}: has {arr.shape[0]} rows but X has {n} points")
    if arr.shape[1] == 0:
        raise ShapeError(f"{name}: needs at least one output column")
    if arr.dtype.kind in "iu" and arr.size and np.max(np.abs(arr.astype(object))) > 2**53:
        rows = np.unique(np.nonzero(np.abs(arr.astype(object)) > 2**53)[0])
        raise LabelError(f"{name}: rows {format_indices(rows)} hold integers above 2**53, which float64 "
                         "cannot represent exactly")
    out = np.array(arr, dtype=np.float64, copy=True)
    bad = ~np.isfinite(out)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise NonFiniteError(f"{name}: NaN or infinite values in rows {format_indices(rows)}")
    out += 0.0
    return _readonly(out)


def _integral_codes(arr: np.ndarray, name: str) -> np.ndarray:
    """Integral float labels as int64; non-integral, non-finite or out-of-range ones refused."""
    bad = ~np.isfinite(arr) | (arr != np.round(arr))
    if bad.any():
        raise LabelError(f"{name}: class labels must be integers; rows {format_indices(np.nonzero(bad)[0])} are not")
    big = (arr < -(2.0**63)) | (arr >= 2.0**63)
    if big.any():
        raise LabelError(
            f"{name}: rows {format_indices(np.nonzero(big)[0])} hold labels beyond the int64 range "
            f"(|y| ≥ 2**63, e.g. {float(arr[np.argmax(big)]):g}), which cannot be represented as class labels; "
            "map them to smaller integers or strings"
        )
    return arr.astype(np.int64)


def class_vector(y, n: int | None = None, name: str = "y") -> np.ndarray:
    """A vector of class labels, checked: integers, booleans, strings or bytes (integral floats
    become int64). ``n``: the number of points it must have."""
    arr = label_array(y, name)
    if arr.ndim != 1:
        raise ShapeError(f"{name}: class labels must be a vector (N,) or a one-hot matrix (N, C), got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ShapeError(f"{name}: has {arr.shape[0]} labels but X has {n} points")
    if arr.dtype.kind == "f":
        arr = _integral_codes(arr, name)
    return arr


def encode_labels(arr: np.ndarray, classes, name: str = "y") -> np.ndarray:
    """The position in ``classes`` (any order) of every label of ``arr``; labels not in it raise
    :class:`LabelError` naming the rows."""
    cls = class_vector(classes, name="classes")
    if cls.size == 0:
        raise ArgumentError("classes: needs at least one class")
    if cls.dtype.kind != arr.dtype.kind and cls.dtype.kind in "biu" and arr.dtype.kind in "biu":
        cls, arr = cls.astype(np.int64), arr.astype(np.int64)
    if (cls.dtype.kind in "US") != (arr.dtype.kind in "US") or (cls.dtype.kind in "US" and cls.dtype.kind != arr.dtype.kind):
        raise LabelError(f"{name}: labels of dtype {arr.dtype} cannot be classes of dtype {cls.dtype} "
                         f"(rows {format_indices(np.arange(len(arr)))})")
    order = np.argsort(cls, kind="stable")
    pos = np.clip(np.searchsorted(cls[order], arr), 0, len(cls) - 1)
    codes = order[pos]
    bad = cls[codes] != arr
    if bad.any():
        raise LabelError(f"{name}: rows {format_indices(np.nonzero(bad)[0])} hold labels not in classes")
    return codes.astype(np.int64)


def as_class_labels(y, n: int, name: str = "y", classes=None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(classes, codes)`` for class labels.

    ``y`` is a vector of labels (integers, strings or booleans; integral floats are accepted;
    pandas Series and Categoricals, lists and object arrays of such values too, see
    :func:`label_array`) or a one-hot matrix (N, C). ``codes[i]`` indexes ``classes``.
    ``classes`` may be given to fix the class list (and hence the output dimension); labels
    outside it raise ``LabelError``.
    """
    arr = label_array(y, name)
    if arr.ndim == 2:
        if arr.shape[0] != n:
            raise ShapeError(f"{name}: has {arr.shape[0]} rows but X has {n} points")
        if arr.dtype.kind not in "biuf":
            raise ArgumentTypeError(f"{name}: a one-hot label matrix must be numeric")
        ok = np.all((arr == 0) | (arr == 1), axis=1) & (np.sum(arr == 1, axis=1) == 1)
        if not ok.all():
            raise LabelError(f"{name}: rows {format_indices(np.nonzero(~ok)[0])} are not one-hot")
        return np.arange(arr.shape[1]), _readonly(np.argmax(arr, axis=1).astype(np.int64))
    arr = class_vector(arr, n, name)
    if classes is None:
        cls, codes = np.unique(arr, return_inverse=True)
    else:
        cls = class_vector(classes, name="classes")
        codes = encode_labels(arr, cls, name)
    return _readonly(np.array(cls)), _readonly(codes.astype(np.int64).ravel())


def as_rng(rng, name: str = "rng") -> np.random.Generator:
    """``None`` means seed 0 (builds are reproducible by default); an int seeds a new generator.

    Seeds must be non-negative integers (NumPy's rule), refused otherwise naming ``rng``.
    """
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ArgumentError(f"{name}: a seed must be a non-negative integer, got {int(rng)}")
        return np.random.default_rng(int(rng))
    raise ArgumentTypeError(f"{name}: expected None, an int seed or a numpy Generator, got {type(rng).__name__}")


def _void_unique(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First occurrences and inverse by sorting the rows' bytes (exact; O(N log N · d))."""
    Xc = np.ascontiguousarray(X)
    view = Xc.view(np.dtype((np.void, Xc.dtype.itemsize * Xc.shape[1]))).ravel()
    _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # keep the user's order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order], rank[inverse.ravel()]


_HASH_MULT = np.random.default_rng(20260101).integers(1, 2**63, size=4096, dtype=np.uint64) | np.uint64(1)


def row_hashes(X: np.ndarray) -> np.ndarray:
    """A 64-bit hash of every row of a float64 array (−0.0 folded): a random linear form of the
    rows' 64-bit words, wrapping modulo 2**64 (O(N·d), vectorized)."""
    n, d = X.shape
    words = np.ascontiguousarray(X).view(np.uint64)
    mult = _HASH_MULT[:d] if d <= _HASH_MULT.size else np.resize(_HASH_MULT, d)
    h = np.empty(n, dtype=np.uint64)
    step = max(1, (1 << 22) // max(d, 1))
    for s0 in range(0, n, step):  # integer matmul wraps modulo 2**64, which is what a hash wants
        h[s0:s0 + step] = words[s0:s0 + step] @ mult
    return h


def _raw_hashes(a: np.ndarray) -> np.ndarray:
    """:func:`row_hashes` of the rows' bytes in their own dtype (8× fewer words for uint8 pixels
    than their float64 values); rows are zero-padded to whole 64-bit words."""
    a = np.ascontiguousarray(a)
    b = a.reshape(a.shape[0], -1).view(np.uint8)
    pad = -b.shape[1] % 8
    if pad:
        b = np.concatenate([b, np.zeros((b.shape[0], pad), dtype=np.uint8)], axis=1)
    return row_hashes(b.view(np.float64))


def unique_from_hashes(h: np.ndarray, rows) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)`` as in :func:`unique_rows` from the rows' hashes ``h``; ``rows(idx)``
    returns the float64 rows ``idx`` (increasing), read only for rows whose hash is shared, which
    are then compared byte by byte, so the answer is exact."""
    n = h.shape[0]
    if not (np.diff(np.sort(h)) == 0).any():
        ar = np.arange(n)
        return ar, ar.copy()
    order = np.argsort(h, kind="stable")
    hs = h[order]
    same = hs[1:] == hs[:-1]
    mark = np.zeros(n, dtype=bool)
    mark[1:] |= same
    mark[:-1] |= same
    cand = np.sort(order[mark])  # every row that shares its hash with another row
    f_sub, inv_sub = _void_unique(rows(cand))
    # rows outside `cand` are their own representatives; inside, map to the first equal row
    rep = np.arange(n)
    rep[cand] = cand[f_sub][inv_sub]
    first = np.nonzero(rep == np.arange(n))[0]
    pos = np.empty(n, dtype=np.int64)
    pos[first] = np.arange(first.size)
    return first, pos[rep]


def unique_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(first, inverse)``: indices of the first occurrence of each distinct row, in
    order of appearance, and for every row the position of its distinct row in ``first``.

    Rows are hashed (a random linear form of their 64-bit words, O(N·d)) and the hashes sorted
    (O(N log N)); only rows whose hash occurs twice are compared byte by byte, so the answer is
    exact. ``X`` must be float64 with ``-0.0`` folded to ``0.0``.
    """
    return unique_from_hashes(row_hashes(X), lambda idx: X[idx])


@dataclass(frozen=True, eq=False)
class Dataset:
    """Checked data, ready for a builder.

    Attributes
    ----------
    X : (n, d) float64, the distinct points in order of first appearance
    Y : (n, k) float64, their targets (one-hot rows for classification, made on first use: at
        10⁶ points and 10³ classes they take 8 GB, which builders that read ``labels`` never pay)
    index : (n,) int, position of each kept point in the user's arrays
    n_given : int, number of rows the user passed
    classes : array or None, the class labels (classification only)
    labels : (n,) int or None, class codes of the kept points
    """

    X: np.ndarray
    targets: np.ndarray | None
    index: np.ndarray
    n_given: int
    classes: np.ndarray | None = None
    labels: np.ndarray | None = None

    @property
    def Y(self) -> np.ndarray:
        if self.targets is not None:
            return self.targets
        onehot = self.__dict__.get("_onehot")
        if onehot is None:
            onehot = np.zeros((self.n, len(self.classes)))
            onehot[np.arange(self.n), self.labels] = 1.0
            onehot = _readonly(onehot)
            object.__setattr__(self, "_onehot", onehot)
        return onehot

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def k(self) -> int:
        return self.targets.shape[1] if self.targets is not None else len(self.classes)

    @property
    def n_duplicates(self) -> int:
        return self.n_given - self.n


def _chunked(X) -> bool:
    """Whether ``X`` is checked chunk by chunk: an out-of-core source (memmap, h5py-like, dask),
    or an in-memory array larger than one chunk (so that it gives the same bits as on disk)."""
    from . import rows as _rows

    if _rows.is_out_of_core(X):
        return True
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "biuf":
        return X.shape[0] > _rows.chunk_rows(X.shape[1])
    return False


def _check_chunked(X, name: str = "X"):
    """The checks of :func:`as_inputs` and the row hashes of :func:`unique_rows`, in one pass of
    row chunks; returns a :class:`~memorize.rows.Rows` whose ``unique`` is ``(first, inverse)``."""
    from . import rows as _rows

    shape = tuple(getattr(X, "shape", ()))
    if len(shape) not in (1, 2):
        raise ShapeError(f"{name}: expected a 2-D array (N, d), got shape {shape}")
    if 0 in shape:
        raise ShapeError(f"{name}: expected at least one point and one feature, got shape {shape}")
    kind = np.dtype(X.dtype).kind
    if kind not in "biuf":
        raise ArgumentTypeError(f"{name}: expected a numeric array, got dtype {X.dtype}")
    R = _rows.Rows(X, name=name, check=False)
    if kind in "iu" and np.dtype(X.dtype).itemsize == 8:
        big = R.map(lambda sl, h: bool(h.size) and bool(np.abs(h.astype(object)).max() > 2**53), raw=True)
        if any(big):
            raise ArgumentError(f"{name}: integers above 2**53 cannot be converted to float64 exactly")

    def check(sl, h):
        """Hashes of the rows' own bytes (equal rows ⇔ equal float64 rows for numbers ≤ 2**53,
        once −0.0 is folded), and the rows holding NaN or infinities."""
        if h.dtype.kind == "f":
            bad = ~np.isfinite(h)
            if bad.any():
                return None, np.unique(np.nonzero(bad)[0]) + sl.start
            h = h + h.dtype.type(0)  # −0.0 -> 0.0
        return _raw_hashes(h), None

    parts = R.map(check, progress=_rows.current_progress("checking"), raw=True)
    bad = [b for _, b in parts if b is not None]
    if bad:
        idx = np.concatenate(bad) if R.index is None else R.index[np.concatenate(bad)]
        raise NonFiniteError(f"{name}: NaN or infinite values in rows {format_indices(idx)}")
    h = np.concatenate([p for p, _ in parts])
    R = _rows.Rows(R, name=name)
    R.unique = unique_from_hashes(h, lambda idx: R[idx])
    return R


def prepare(X, y, *, task: Task = "regression", classes=None, stream: bool = False) -> Dataset:
    """Check ``X`` and ``y`` and merge consistent duplicates.

    Parameters
    ----------
    X : array_like (N, d) or (N,)
        Also a memmap, an h5py-like array or a dask array (see :mod:`memorize.rows`): then, and
        for in-memory arrays larger than one chunk, the checks run chunk by chunk in one pass
        (finiteness, and a hash of every row; rows whose hash is shared are read again and
        compared byte by byte), never converting the whole array at once.
    y : array_like
        ``task="regression"``: real targets (N,) or (N, k).
        ``task="classification"``: class labels (N,) or a one-hot matrix (N, C).
    task : {"regression", "classification"}
    classes : array_like, optional
        Class list for classification (fixes the output dimension).
    stream : bool, default False
        For a builder that reads ``X`` only through what :class:`memorize.rows.Rows` offers
        (products, row slices and selections): large ``X`` stays a lazy :class:`~memorize.rows.Rows`
        in ``Dataset.X``. Otherwise ``Dataset.X`` is an in-memory float64 array (large sources
        are read into memory after the chunked checks).

    Raises
    ------
    ShapeError, NonFiniteError, LabelError, ArgumentTypeError
        For malformed data.
    DuplicateError
        When identical inputs carry different labels (the message lists the index pairs).
    """
    from . import rows as _rows

    if _chunked(X):
        Xa = _check_chunked(X)
    else:
        Xa = as_inputs(X)
    n = Xa.shape[0]
    cls = codes = Y = None
    if task == "regression":
        Y = as_targets(y, n)
    elif task == "classification":
        cls, codes = as_class_labels(y, n, classes=classes)
    else:
        raise ArgumentError(f"task: expected 'regression' or 'classification', got {task!r}")
    if isinstance(Xa, _rows.Rows):
        first, inverse = Xa.unique
    else:
        first, inverse = unique_rows(Xa)
    if first.size < n:
        rep = first[inverse]
        differs = (codes[rep] != codes) if Y is None else np.any(Y[rep] != Y, axis=1)
        conflict = np.nonzero(differs)[0]
        if conflict.size:
            pairs = [(int(rep[j]), int(j)) for j in conflict]
            raise DuplicateError(
                f"X, y: identical points with different labels at index pairs {format_indices(pairs)}; "
                "no function can memorize them"
            )
    if isinstance(Xa, _rows.Rows):
        Xu = _rows.Rows(Xa, first) if first.size < n else Xa
        if not stream:
            Xu = _readonly(np.asarray(Xu))
    else:
        Xu = _readonly(Xa[first].copy()) if first.size < n else Xa
    Yu = None if Y is None else (_readonly(Y[first].copy()) if first.size < n else _readonly(Y))
    labels = None if codes is None else _readonly(codes[first].copy())
    return Dataset(Xu, Yu, _readonly(first.copy()), n, cls, labels)


# ---------------------------------------------------------------------------------------------
# General position (the assumption of the hyperplane-slab memorizers)
# ---------------------------------------------------------------------------------------------
__all__ += ["GeneralPosition", "general_position"]


@dataclass(frozen=True)
class GeneralPosition:
    """The result of :func:`general_position`.

    Attributes
    ----------
    verdict : bool or None
        ``True``: proven in general position (exhaustive exact check); ``False``: proven not in
        general position (``witness`` holds d + 1 rows on one affine hyperplane, confirmed in
        exact rational arithmetic); ``None``: no violation found by sampling (not a proof).
    method : str
        ``"exhaustive"``, ``"affine hull"``, ``"repeated coordinate"``, ``"sampled"``, ...
    n : int
        Number of distinct points checked.
    affine_dim : int
        Dimension of the affine hull of the distinct points (float64 numerical rank).
    constant_columns : tuple of int
    witness : tuple of int or None
        Row indices (into the user's ``X``) of d + 1 points on one affine hyperplane.
    n_checked : int
        Number of (d + 1)-subsets examined by determinant.
    reason : str
    """

    verdict: bool | None
    method: str
    n: int
    affine_dim: int
    constant_columns: tuple
    witness: tuple | None
    n_checked: int
    reason: str

    def __bool__(self) -> bool:
        return self.verdict is True


def _subset_sigmas(X: np.ndarray, subsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest singular value of each (d+1)-subset's difference matrix and a threshold below
    which the matrix may be singular (then decided exactly).

    A backward-stable SVD returns each singular value within a few d·u·σ_max of the true one, so
    σ_min > 64·d·u·σ_max proves the subset affinely independent.
    """
    P = X[subsets]  # (k, d+1, d)
    D = P[:, 1:, :] - P[:, :1, :]
    s = np.linalg.svd(D, compute_uv=False)
    d = D.shape[-1]
    return s[:, -1], s[:, 0] * (64.0 * d * U64)


def general_position(X, *, rng=None, max_exhaustive: int = 20000, n_samples: int = 20000) -> GeneralPosition:
    """Check whether the rows of ``X`` are in general position (no d + 1 on one affine hyperplane).

    The answer is *sound*: a violation is reported only with a witness (d + 1 row indices)
    confirmed in exact rational arithmetic, and "in general position" only after an exhaustive
    exact check. In between, sampling gives ``verdict=None``.

    Steps, cheapest first (N distinct points in R^d):

    1. N ≤ d: general position means affine independence (exact rank check for small d).
    2. A coordinate taking the same value at d + 1 points puts them on the hyperplane
       ``x_j = v`` (catches constant columns and integer pixels) — O(N·d log N).
    3. Affine hull of dimension < d with N > d: any d + 1 points are a witness.
    4. ``C(N, d+1) ≤ max_exhaustive``: every (d + 1)-subset's determinant, near-zero ones decided
       exactly — a proof either way.
    5. Otherwise ``n_samples`` random subsets (one-sided: can only find violations).

    Parameters
    ----------
    X : array_like (N, d)
        Duplicate rows are merged first (a duplicate is not a violation the builders care about:
        they merge duplicates).
    rng : None, int or Generator
    max_exhaustive : int
        Largest number of subsets to enumerate.
    n_samples : int
        Random subsets to test when enumeration is too large.

    Returns
    -------
    GeneralPosition

    Examples
    --------
    >>> import numpy as np
    >>> from memorize.data import general_position
    >>> general_position(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])).verdict
    True
    >>> general_position(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])).witness
    (0, 1, 2)
    """
    from math import comb

    Xa = as_inputs(X)
    first, _ = unique_rows(Xa)
    U = Xa[first]
    n, d = U.shape
    gen = as_rng(rng)
    const = tuple(int(j) for j in np.nonzero(np.all(U == U[:1], axis=0))[0]) if n > 1 else ()
    C = U - U.mean(axis=0)
    if n * d * min(n, d) <= 2e9:
        s = np.linalg.svd(C, compute_uv=False) if n > 1 else np.zeros(0)
        hull = int(np.sum(s > rank_tol(s, C.shape)))
    else:
        hull = -1  # not computed for very large data
    def out(verdict, method, witness, checked, reason):
        w = None if witness is None else tuple(int(first[i]) for i in witness)
        return GeneralPosition(verdict, method, n, hull, const, w, checked, reason)

    if n <= d:
        if n <= 1:
            return out(True, "exhaustive", None, 0, "at most one point")
        D = U[1:] - U[0]
        # affine independence: the (n-1)×d difference matrix has full row rank, decided exactly
        if (n - 1) * d <= 20000:
            r = exact_rank(to_exact_array(D))
            ok = r == n - 1
            return out(ok, "exhaustive", None if ok else tuple(range(n)), 1,
                       "affinely independent" if ok else f"the {n} points are affinely dependent (rank {r})")
        return out(None, "affine hull", None, 0, f"numerical affine rank {hull} of {n - 1}; too large for an exact check")
    # 2. a coordinate value shared by d + 1 points
    for j in range(d):
        col = U[:, j]
        order = np.argsort(col, kind="stable")
        sc = col[order]
        starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
        runs = np.diff(np.r_[starts, n])
        big = np.nonzero(runs >= d + 1)[0]
        if big.size:
            st = starts[big[0]]
            wit = np.sort(order[st : st + d + 1])
            kind = "constant column" if runs[big[0]] == n else "repeated coordinate"
            return out(False, kind, wit, 0, f"{int(runs[big[0]])} points have x[{j}] = {float(sc[st]):g}, so any {d + 1} of them lie on that hyperplane")
    # 3. affine hull of dimension < d: any d+1 points are on a common hyperplane
    if 0 <= hull < d:
        wit = np.arange(d + 1)
        if d <= 200 and is_singular(U[wit[1:]] - U[wit[0]]):
            return out(False, "affine hull", wit, 1, f"all points lie in an affine subspace of dimension {hull} < {d}")
    # 4./5. determinants of (d+1)-subsets (each confirmed exactly, O(d³) rational operations)
    if d > 200:
        return out(None, "none", None, 0, f"d = {d} is too large for determinant checks; the slab builders verify every group's margin instead")
    n_samples = int(min(n_samples, max(1, 2e8 // (d**3 + 1))))  # keep the sampled check to ~a second
    total = comb(n, d + 1)
    if total <= max_exhaustive:
        from itertools import combinations

        subsets = np.array(list(combinations(range(n), d + 1)), dtype=np.int64)
        method = "exhaustive"
    else:
        subsets = np.sort(np.array([gen.choice(n, d + 1, replace=False) for _ in range(n_samples)]), axis=1) if d + 1 > 8 \
            else np.sort(gen.integers(0, n, (n_samples * 2, d + 1)), axis=1)
        subsets = subsets[np.all(np.diff(subsets, axis=1) > 0, axis=1)][:n_samples]
        method = "sampled"
    checked = 0
    step = max(1, 2**22 // max((d + 1) * d, 1))
    for start in range(0, len(subsets), step):
        block = subsets[start : start + step]
        smin, bound = _subset_sigmas(U, block)
        checked += len(block)
        for i in np.nonzero(smin <= bound)[0]:
            if is_singular(U[block[i, 1:]] - U[block[i, 0]]):
                return out(False, method, block[i], checked, f"points {tuple(int(first[k]) for k in block[i])} lie on one affine hyperplane")
    if method == "exhaustive":
        return out(True, method, None, checked, f"all {checked} subsets of {d + 1} points are affinely independent")
    return out(None, method, None, checked, f"no violation among {checked} random subsets of {d + 1} points (not a proof)")
