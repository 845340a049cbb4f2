"""The :class:`Network` container: frozen arrays and a forward pass.

A network knows nothing about how it was built. It is a tuple of layers, each either

* :class:`Dense`: ``h ← σ(W h + b)`` with ``W`` of shape (out, in),
* :class:`Factored`: a :class:`Dense` layer whose weight is stored as a product ``W = A B`` of
  rank r (``A`` (out, r), ``B`` (r, in)) and evaluated as ``σ(A (B h) + b)``, or
* :class:`Residual`: ``h ← h + V σ(U h + b) + c`` (the ResNet block of Yun et al. §4),

held either in float64 or exactly (NumPy object arrays of Python ``int`` / ``Fraction``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterator, Mapping, Sequence, Union

import numpy as np

from . import _exact, _flint
from .activations import Activation, get_activation, identity
from .errors import ArgumentError, ArgumentTypeError, ShapeError, NonFiniteError

__all__ = ["Dense", "Factored", "Residual", "Network", "DEFAULT_CHUNK_BYTES"]

#: Default bound on the extra memory of one forward-pass chunk (256 MB).
DEFAULT_CHUNK_BYTES = 256 * 2**20

# Python ints / Fractions cost far more than 8 bytes each; budget exact chunks accordingly.
_OBJECT_ITEM_BYTES = 96


def _nonzero_and_max(arrays) -> tuple[int, object]:
    """Nonzero entries over ``arrays`` and their largest absolute value (0 if none)."""
    total, best = 0, 0
    for a in arrays:
        total += int(np.count_nonzero(a != 0)) if a.dtype == object else int(np.count_nonzero(a))
        if a.size:
            m = np.max(np.abs(a))
            best = m if m > best else best
    return total, best


def _freeze(a, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != ndim:
        raise ShapeError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    if arr.dtype == object:
        arr = _exact.to_exact_array(arr)
    elif arr.dtype.kind in "biuf":
        # A read-only float64 array that owns its memory is already frozen: builders hand over
        # large matrices this way and avoid a second copy. Anything else is copied.
        if not (arr.dtype == np.float64 and arr.flags.owndata and not arr.flags.writeable):
            arr = np.array(arr, dtype=np.float64, copy=True)
        if not np.isfinite(arr).all():
            raise NonFiniteError(f"{name}: weights must be finite")
    else:
        raise ArgumentTypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Dense:
    """A fully connected layer ``h ← σ(W h + b)``.

    Parameters
    ----------
    weight : array of shape (out, in)
    bias : array of shape (out,)
    activation : Activation or str, default identity
    """

    weight: np.ndarray
    bias: np.ndarray
    activation: Activation = identity

    def __post_init__(self):
        w = _freeze(self.weight, "Dense.weight", 2)
        b = _freeze(self.bias, "Dense.bias", 1)
        if b.shape[0] != w.shape[0]:
            raise ShapeError(f"Dense.bias: length {b.shape[0]} does not match weight rows {w.shape[0]}")
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)
        object.__setattr__(self, "activation", get_activation(self.activation))

    @property
    def in_dim(self) -> int:
        return self.weight.shape[1]

    @property
    def out_dim(self) -> int:
        return self.weight.shape[0]

    @property
    def hidden_width(self) -> int:
        return self.weight.shape[0]

    @property
    def num_stored(self) -> int:
        """Numbers the layer stores (for :class:`Dense`: the weight and the bias)."""
        return int(sum(a.size for a in self.arrays().values()))

    @property
    def num_params(self) -> int:
        """Weights and biases of the dense layer: out·in + out (what a theorem counts)."""
        return self.out_dim * self.in_dim + self.out_dim

    def nonzero_and_max(self) -> tuple[int, object]:
        """Nonzero entries of ``W`` and ``b``, and their largest absolute value."""
        return _nonzero_and_max((self.weight, self.bias))

    def arrays(self) -> dict[str, np.ndarray]:
        """The stored arrays by name (what a file holds)."""
        return {"W": self.weight, "b": self.bias}

    def dense_arrays(self) -> dict[str, np.ndarray]:
        """``{"W": weight, "b": bias}``: the layer as the theorem's dense layer."""
        return {"W": self.weight, "b": self.bias}

    def with_arrays(self, arrays: Mapping[str, np.ndarray], activation: Activation | None = None) -> "Dense":
        """A layer of the same kind with the arrays ``arrays`` (keys as :meth:`arrays`)."""
        return Dense(arrays["W"], arrays["b"], self.activation if activation is None else activation)

    def preactivation(self, h: np.ndarray) -> np.ndarray:
        """``W h + b`` for the rows of ``h`` (exact for object arrays), before the activation."""
        if h.dtype == object:
            return _exact.affine(h, self.weight, self.bias)
        t = h @ self.weight.T
        t += self.bias
        return t

    def forward(self, h: np.ndarray) -> np.ndarray:
        if h.dtype == object:
            return self.activation(self.preactivation(h))
        return self.activation.apply_(self.preactivation(h))


class Factored(Dense):
    """A fully connected layer whose weight is stored as a product: ``h ← σ(A (B h) + b)``.

    The layer is the :class:`Dense` layer with weight ``W = A B`` (so ``isinstance(layer,
    Dense)`` holds and :attr:`weight` gives ``W``, computed on first use and then kept), but it
    stores only ``A`` and ``B`` and evaluates in that order: ``t = B h`` (r numbers per point),
    then ``A t + b``. A layer of rank r costs r·(in + out) + out numbers instead of in·out + out,
    and a forward pass r·(in + out) multiply-adds per point instead of in·out.

    Parameters
    ----------
    A : array of shape (out, r)
    B : array of shape (r, in)
    bias : array of shape (out,)
    activation : Activation or str, default identity

    Notes
    -----
    In exact arithmetic ``A (B h) = (A B) h``, so an exact factored layer computes exactly the
    function of its dense form. In floating point the two differ by rounding; the factored
    evaluation is the one :meth:`Network.__call__`, :func:`memorize.precision.forward`,
    :func:`memorize.certify` and the PyTorch export (two ``nn.Linear``) perform.
    A :class:`Network` counts a factored layer as its dense form in ``widths`` and
    ``num_params`` (the theorem's architecture) and as stored in ``num_stored_params``.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize import Factored, relu
    >>> layer = Factored([[1.0], [2.0], [-1.0]], [[1.0, 1.0]], [0.0, -1.0, 0.5], relu)
    >>> layer.weight
    array([[ 1.,  1.],
           [ 2.,  2.],
           [-1., -1.]])
    >>> layer.rank, layer.num_stored
    (1, 8)
    """

    # ``weight`` is a property of this class (the product, computed on demand), so instances do
    # not run the dataclass __init__ of Dense.
    def __init__(self, A, B, bias, activation: Activation = identity):
        a = _freeze(A, "Factored.A", 2)
        bm = _freeze(B, "Factored.B", 2)
        b = _freeze(bias, "Factored.bias", 1)
        if a.shape[1] != bm.shape[0]:
            raise ShapeError(f"Factored: A has {a.shape[1]} columns but B has {bm.shape[0]} rows")
        if b.shape[0] != a.shape[0]:
            raise ShapeError(f"Factored.bias: length {b.shape[0]} does not match the rows of A {a.shape[0]}")
        if (a.dtype == object) != (bm.dtype == object) or (a.dtype == object) != (b.dtype == object):
            raise ArgumentTypeError("Factored: A, B and bias mix float64 and exact arrays")
        object.__setattr__(self, "A", a)
        object.__setattr__(self, "B", bm)
        object.__setattr__(self, "bias", b)
        object.__setattr__(self, "activation", get_activation(activation))
        object.__setattr__(self, "_weight", None)

    @property
    def weight(self) -> np.ndarray:  # type: ignore[override]
        """The dense weight ``A B`` (out, in), computed on first use (exact for exact layers)."""
        if self._weight is None:
            if self.A.dtype == object:
                w = _exact.to_exact_array(_exact.affine(self.A, self.B.T, np.zeros(self.B.shape[1], dtype=object)))
            else:
                w = self.A @ self.B
            w.setflags(write=False)
            object.__setattr__(self, "_weight", w)
        return self._weight

    @property
    def rank(self) -> int:
        """The inner dimension r of ``A B`` (an upper bound on the rank of the weight)."""
        return self.A.shape[1]

    @property
    def in_dim(self) -> int:
        return self.B.shape[1]

    @property
    def out_dim(self) -> int:
        return self.A.shape[0]

    @property
    def hidden_width(self) -> int:
        return self.A.shape[0]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"A": self.A, "B": self.B, "b": self.bias}

    def with_arrays(self, arrays: Mapping[str, np.ndarray], activation: Activation | None = None) -> "Factored":
        return Factored(arrays["A"], arrays["B"], arrays["b"], self.activation if activation is None else activation)

    def preactivation(self, h: np.ndarray) -> np.ndarray:
        if h.dtype == object:
            t = _exact.affine(h, self.B, np.zeros(self.B.shape[0], dtype=object))
            return _exact.affine(t, self.A, self.bias)
        t = h @ self.B.T
        # rank one: one product per entry, as the matrix product with an inner dimension of one
        # computes it (the same bits), without BLAS's overhead for that shape
        t = t * self.A[:, 0] if self.rank == 1 else t @ self.A.T
        t += self.bias
        return t

    def nonzero_and_max(self) -> tuple[int, object]:
        if self.rank == 1:  # W_jk = A_j B_k: nonzero iff both are, largest |A|·largest |B|
            (na, ma), (nb, mb), (n0, m0) = (_nonzero_and_max((a,)) for a in (self.A, self.B, self.bias))
            m = ma * mb
            return na * nb + n0, (m if m > m0 else m0)
        # materialise W a block of rows at a time
        rows = max(1, 2**22 // max(1, self.in_dim))
        total, best = _nonzero_and_max((self.bias,))
        for start in range(0, self.out_dim, rows):
            blk = self.A[start:start + rows]
            w = _exact.affine(blk, self.B.T, np.zeros(self.in_dim, dtype=object)) if blk.dtype == object \
                else blk @ self.B
            n, m = _nonzero_and_max((w,))
            total, best = total + n, (m if m > best else best)
        return total, best

    def __repr__(self) -> str:
        return (f"Factored(out={self.out_dim}, rank={self.rank}, in={self.in_dim}, "
                f"activation={self.activation!r})")


@dataclass(frozen=True, eq=False)
class Residual:
    """A residual block ``h ← h + V σ(U h + b) + c``.

    Parameters
    ----------
    U : array of shape (width, dim)
    b : array of shape (width,)
    V : array of shape (dim, width)
    c : array of shape (dim,)
    activation : Activation or str, default relu
    """

    U: np.ndarray
    b: np.ndarray
    V: np.ndarray
    c: np.ndarray
    activation: Activation = field(default_factory=lambda: get_activation("relu"))

    def __post_init__(self):
        U = _freeze(self.U, "Residual.U", 2)
        b = _freeze(self.b, "Residual.b", 1)
        V = _freeze(self.V, "Residual.V", 2)
        c = _freeze(self.c, "Residual.c", 1)
        width, dim = U.shape
        if b.shape != (width,) or V.shape != (dim, width) or c.shape != (dim,):
            raise ShapeError(
                f"Residual: shapes U{U.shape}, b{b.shape}, V{V.shape}, c{c.shape} do not fit "
                f"(expected U (w, d), b (w,), V (d, w), c (d,))"
            )
        for k, v in (("U", U), ("b", b), ("V", V), ("c", c)):
            object.__setattr__(self, k, v)
        object.__setattr__(self, "activation", get_activation(self.activation))

    @property
    def in_dim(self) -> int:
        return self.U.shape[1]

    @property
    def out_dim(self) -> int:
        return self.U.shape[1]

    @property
    def hidden_width(self) -> int:
        return self.U.shape[0]

    @property
    def num_stored(self) -> int:
        return int(sum(a.size for a in self.arrays().values()))

    @property
    def num_params(self) -> int:
        return self.num_stored

    def arrays(self) -> dict[str, np.ndarray]:
        return {"U": self.U, "b": self.b, "V": self.V, "c": self.c}

    def dense_arrays(self) -> dict[str, np.ndarray]:
        return self.arrays()

    def with_arrays(self, arrays: Mapping[str, np.ndarray], activation: Activation | None = None) -> "Residual":
        return Residual(arrays["U"], arrays["b"], arrays["V"], arrays["c"],
                        self.activation if activation is None else activation)

    def nonzero_and_max(self) -> tuple[int, object]:
        return _nonzero_and_max(self.arrays().values())

    def forward(self, h: np.ndarray) -> np.ndarray:
        if h.dtype == object:
            inner = self.activation(_exact.affine(h, self.U, self.b))
            return h + _exact.affine(inner, self.V, self.c)
        t = h @ self.U.T
        t += self.b
        out = self.activation.apply_(t) @ self.V.T
        out += h
        out += self.c
        return out


Layer = Union[Dense, Factored, Residual]


def _layer_dtype(layer: Layer):
    return object if next(iter(layer.arrays().values())).dtype == object else np.float64


class Network:
    """A feed-forward network of :class:`Dense`, :class:`Factored` and :class:`Residual` layers.

    The container is immutable: arrays are read-only copies, ``meta`` is a read-only mapping of
    JSON values a builder may attach (method name, margins, extra units, ...). A network holds
    either float64 arrays or exact arrays (object arrays of ``int``/``Fraction``), never a mix.

    Parameters
    ----------
    layers : sequence of Dense or Residual
    meta : mapping, optional
        JSON-serialisable information about the network; stored by :meth:`save`.

    Examples
    --------
    >>> import numpy as np
    >>> from memorize import Network, Dense, relu
    >>> net = Network([Dense([[1.0], [1.0]], [0.0, -1.0], relu), Dense([[1.0, -2.0]], [0.0])])
    >>> net(np.array([[0.5], [2.0]]))
    array([[0.5],
           [0. ]])
    >>> net.widths, net.num_params
    ((2,), 7)

    A :class:`Factored` layer counts as the dense layer it computes in ``widths`` and
    ``num_params``; ``num_stored_params`` counts what is stored:

    >>> from memorize import Factored
    >>> low = Network([Factored(np.ones((100, 1)), np.ones((1, 50)), np.zeros(100), relu), Dense(np.ones((1, 100)), [0.0])])
    >>> low.widths, low.num_params, low.num_stored_params
    ((100,), 5201, 351)
    """

    __slots__ = ("_layers", "_meta")

    def __init__(self, layers: Sequence[Layer], meta: Mapping | None = None):
        layers = tuple(layers)
        if not layers:
            raise ArgumentError("layers: a network needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, (Dense, Residual)):
                raise ArgumentTypeError(
                    f"layers[{i}]: expected Dense, Factored or Residual, got {type(layer).__name__}")
        kinds = {_layer_dtype(layer) for layer in layers}
        if len(kinds) > 1:
            raise ArgumentTypeError("layers: mixes float64 and exact layers; convert with to_exact() first")
        for i in range(1, len(layers)):
            if layers[i].in_dim != layers[i - 1].out_dim:
                raise ShapeError(
                    f"layers[{i}]: takes {layers[i].in_dim} inputs but layers[{i-1}] gives {layers[i-1].out_dim}"
                )
        meta = dict(meta or {})
        try:
            meta = json.loads(json.dumps(meta))
        except (TypeError, ValueError) as exc:
            raise ArgumentTypeError(f"meta: must be JSON-serialisable ({exc})") from None
        self._layers = layers
        self._meta = MappingProxyType(meta)

    def __setattr__(self, name, value):
        if hasattr(self, "_meta"):
            raise AttributeError("Network is immutable")
        object.__setattr__(self, name, value)

    # -- structure -------------------------------------------------------------------------
    @property
    def layers(self) -> tuple[Layer, ...]:
        return self._layers

    @property
    def meta(self) -> Mapping:
        return self._meta

    @property
    def input_dim(self) -> int:
        return self._layers[0].in_dim

    @property
    def output_dim(self) -> int:
        return self._layers[-1].out_dim

    def _hidden_layers(self) -> tuple[Layer, ...]:
        # Residual blocks always hold hidden units; a final Dense layer is the output layer.
        last = self._layers[-1]
        body = self._layers[:-1] if isinstance(last, Dense) else self._layers
        return body

    @property
    def widths(self) -> tuple[int, ...]:
        """Hidden widths: every Dense layer but the last, and every residual block's width."""
        return tuple(layer.hidden_width for layer in self._hidden_layers())

    @property
    def depth(self) -> int:
        """Number of hidden layers (residual blocks count one each)."""
        return len(self.widths)

    @property
    def num_hidden(self) -> int:
        """Total number of hidden units."""
        return int(sum(self.widths))

    @property
    def num_params(self) -> int:
        """Number of weights and biases, zeros included, of the theorem's architecture.

        A :class:`Factored` layer counts as the dense layer it computes (out·in + out), whatever
        it stores; :attr:`num_stored_params` counts what is stored.
        """
        return int(sum(layer.num_params for layer in self._layers))

    @property
    def num_stored_params(self) -> int:
        """Numbers the network stores (and a file holds): a :class:`Factored` layer of rank r
        stores r·(in + out) + out. Equal to :attr:`num_params` when no layer is factored."""
        return int(sum(layer.num_stored for layer in self._layers))

    @property
    def num_nonzero(self) -> int:
        """Number of nonzero weights and biases (of the dense form of factored layers)."""
        return int(sum(layer.nonzero_and_max()[0] for layer in self._layers))

    @property
    def dtype(self):
        """``numpy.float64`` or ``object`` (exact)."""
        return _layer_dtype(self._layers[0])

    @property
    def is_exact(self) -> bool:
        return self.dtype == object

    @property
    def max_abs_weight(self):
        """Largest absolute value over all weights and biases (exact for exact networks)."""
        best = 0
        for layer in self._layers:
            m = layer.nonzero_and_max()[1]
            best = m if m > best else best
        return best if self.is_exact else float(best)

    @property
    def max_weight_bits(self) -> int:
        """Bit length of the largest numerator or denominator among the stored weights (exact) or 53."""
        if not self.is_exact:
            return 53
        bits = 0
        for layer in self._layers:
            for a in layer.arrays().values():
                for v in a.flat:
                    if isinstance(v, int):
                        bits = max(bits, abs(v).bit_length())
                    else:
                        bits = max(bits, abs(v.numerator).bit_length(), v.denominator.bit_length())
        return bits

    # -- conversion ------------------------------------------------------------------------
    def _map_arrays(self, fn) -> "Network":
        new = []
        for layer in self._layers:
            new.append(layer.with_arrays({k: fn(v) for k, v in layer.arrays().items()}))
        return Network(new, self._meta)

    def densified(self) -> "Network":
        """The same network with every :class:`Factored` layer replaced by its dense form.

        Exact networks compute the same function; float64 ones the same up to rounding (the
        dense layer rounds each product ``(A B)_jk`` once more). Memory: out·in per factored layer.
        """
        if not any(isinstance(layer, Factored) for layer in self._layers):
            return self
        new = [Dense(layer.weight, layer.bias, layer.activation) if isinstance(layer, Factored) else layer
               for layer in self._layers]
        return Network(new, self._meta)

    def to_exact(self) -> "Network":
        """The same network in exact rational arithmetic (lossless: floats are dyadic rationals)."""
        if self.is_exact:
            return self
        return self._map_arrays(_exact.to_exact_array)

    def astype(self, dtype) -> "Network":
        """Convert to ``numpy.float64`` (rounding exact weights) or to ``object`` (exact)."""
        if dtype is object or dtype == "exact":
            return self.to_exact()
        if np.dtype(dtype) != np.float64:
            raise ArgumentError(f"dtype: only float64 or 'exact' are supported, got {dtype!r}")
        if not self.is_exact:
            return self
        return self._map_arrays(_exact.to_float_array)

    # -- evaluation ------------------------------------------------------------------------
    def _as_input(self, X) -> tuple[np.ndarray, bool]:
        from .rows import Rows, is_out_of_core

        if is_out_of_core(X) and not isinstance(X, Rows) and len(X.shape) == 2:  # a memmap, h5py-like or dask array
            X = Rows(X)
        if isinstance(X, Rows):  # large data: converted chunk by chunk in forward_chunks
            if X.shape[1] != self.input_dim:
                raise ShapeError(f"X: network takes {self.input_dim} inputs, X has {X.shape[1]} columns")
            return X, False
        arr = np.asarray(X)
        single = arr.ndim == 1
        if single:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ShapeError(f"X: expected shape (N, {self.input_dim}) or ({self.input_dim},), got {arr.shape}")
        if arr.shape[1] != self.input_dim:
            raise ShapeError(f"X: network takes {self.input_dim} inputs, X has {arr.shape[1]} columns")
        if arr.dtype != object and arr.dtype.kind not in "biuf":
            raise ArgumentTypeError(f"X: expected a numeric array, got dtype {arr.dtype}")
        if self.is_exact:
            arr = _exact.to_exact_array(arr)
        else:
            if arr.dtype == object:
                arr = _exact.to_float_array(arr)
            arr = np.asarray(arr, dtype=np.float64)
        return arr, single

    @property
    def row_bytes(self) -> int:
        """Estimated extra memory one input row costs in a forward pass (bytes).

        A layer holds its input, pre-activation and output at once: about three arrays as wide
        as the widest layer. ``chunk_bytes // row_bytes`` is the number of rows per chunk.
        """
        widest = max([self.input_dim] + [layer.hidden_width for layer in self._layers] + [self.output_dim])
        item = _OBJECT_ITEM_BYTES if self.is_exact else 8
        return 3 * item * widest

    def chunk_rows(self, chunk_bytes: int | None = None) -> int:
        """Rows per chunk so that one chunk's activations stay within ``chunk_bytes``."""
        budget = DEFAULT_CHUNK_BYTES if chunk_bytes is None else int(chunk_bytes)
        return max(1, budget // self.row_bytes)

    def forward_chunks(self, X, *, chunk_bytes: int | None = None) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(rows, outputs)`` chunk by chunk; memory stays bounded for any N."""
        from . import _residual_runs

        arr, _ = self._as_input(X)
        rows = self.chunk_rows(chunk_bytes)
        fast = self.is_exact and _flint.enabled()
        runs = _residual_runs.plan(self._layers)
        for start in range(0, arr.shape[0], rows):
            sl = slice(start, min(start + rows, arr.shape[0]))
            h = arr[sl]
            if self.is_exact and h.dtype != object:  # a chunk of large float data
                h = _exact.to_exact_array(h)
            if runs:  # long runs of ReLU residual blocks: each block evaluated only where it acts
                yield sl, _residual_runs.forward(self._layers, h, runs)
            elif fast:  # the same exact values, on python-flint's integer matrices
                yield sl, _flint.forward(self._layers, h)
            elif self.is_exact:
                yield sl, _exact.forward(self._layers, h)
            else:
                for layer in self._layers:
                    h = layer.forward(h)
                yield sl, h

    def __call__(self, X, *, dtype=None, chunk_bytes: int | None = None) -> np.ndarray:
        """Evaluate the network on a batch ``X`` of shape (N, input_dim) or on one point.

        Float64 results agree with an unchunked evaluation to rounding (BLAS picks different
        kernels for different batch sizes); exact results are identical.

        Exact networks evaluate exactly (inputs are converted losslessly) and return an object
        array; float64 networks return float64. ``dtype`` ("float32", "bfloat16", "float16", or a
        NumPy/torch dtype) evaluates in that format instead, as PyTorch would after a cast (see
        :func:`memorize.precision.forward`; an exact network is converted to float64 first). The
        work is split into chunks so that the extra memory stays below ``chunk_bytes`` (default
        :data:`DEFAULT_CHUNK_BYTES`).
        """
        if dtype is not None:
            from .precision import forward

            net = self.astype("float64") if self.is_exact else self
            return forward(net, X, dtype, chunk_bytes=chunk_bytes)
        arr, single = self._as_input(X)
        out = np.empty((arr.shape[0], self.output_dim), dtype=object if self.is_exact else np.float64)
        for sl, h in self.forward_chunks(arr, chunk_bytes=chunk_bytes):
            out[sl] = h
        return out[0] if single else out

    # -- persistence -----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the network to an ``.npz`` file (no pickle; see ``docs/format.md``)."""
        from .io import save_network

        save_network(self, path)

    def to_torch(self, dtype=None, device=None, *, materialize: bool = False):
        """Export to a ``torch.nn.Sequential`` (float64 by default); see :func:`memorize.interop.torch.to_torch`.

        Needs PyTorch (``pip install 'memorize[torch]'``); exact networks are refused. A
        :class:`Factored` layer becomes two ``nn.Linear`` unless ``materialize=True``.
        """
        from .interop.torch import to_torch

        return to_torch(self, dtype=dtype, device=device, materialize=materialize)

    def __repr__(self) -> str:
        parts = [str(self.input_dim)]
        for layer in self._layers:
            tag = "res" if isinstance(layer, Residual) else (f"rank{layer.rank}:" if isinstance(layer, Factored) else "")
            parts.append(f"{tag}{layer.hidden_width} {layer.activation!r}")
        kind = "exact" if self.is_exact else "float64"
        method = self._meta.get("method")
        head = f"method={method!r}, " if method else ""
        return f"Network({head}{' → '.join(parts)}, {kind}, {self.num_params} params)"
