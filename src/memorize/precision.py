"""Number formats, and networks evaluated in them.

A network built in float64 is usually *run* in something smaller: float32 on a GPU, bfloat16 or
float16 in a mixed-precision stack. This module makes the format a first-class value:

* :class:`Format` describes an IEEE-style binary format (significand bits, exponent range) and
  the format its dot products accumulate in;
* :meth:`Format.round` rounds float64 values to the format (round to nearest, ties to even);
* :func:`forward` evaluates a :class:`~memorize.Network` *in* a format, as PyTorch does on a
  CPU: weights and inputs rounded to the format, every layer computed in it — bfloat16 and
  float16 layers multiply-add in float32 and round each layer's result to the format.

:func:`memorize.certify` proves, for every evaluation order, what :func:`forward` measures for one.

=========  ==============  ===============  =======================  ==================
format     significand p   unit roundoff u  largest finite           accumulates in
=========  ==============  ===============  =======================  ==================
float64    53              1.1e-16          1.8e308                  float64
float32    24              6.0e-8           3.4e38                   float32
bfloat16   8               3.9e-3           3.4e38                   float32
float16    11              4.9e-4           65504                    float32
=========  ==============  ===============  =======================  ==================

Conversions from float64 to bfloat16 and float16 go through float32 (float64 → float32 →
format, each step rounded to nearest even), which is what PyTorch does; so the weights a network
exported with ``to_torch(dtype=torch.bfloat16)`` holds are exactly ``Format.round``'s.

Examples
--------
>>> import numpy as np
>>> from memorize.precision import FORMATS
>>> FORMATS["bfloat16"].round(np.array([1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8])).tolist()
[1.0, 1.015625]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .errors import ArgumentError, ExactnessError

__all__ = ["Format", "FORMATS", "as_format", "forward", "forward_chunks", "round_network"]


@dataclass(frozen=True)
class Format:
    """A binary floating-point format.

    Parameters
    ----------
    name : str
    p : int
        Significand bits, the implicit leading bit included (float32: 24).
    emin, emax : int
        Exponents of the smallest normal and of the largest finite number (float32: −126, 127).
    accumulate : str
        Name of the format dot products are accumulated in (bfloat16 and float16: "float32").
    """

    name: str
    p: int
    emin: int
    emax: int
    accumulate: str

    @property
    def u(self) -> float:
        """Unit roundoff 2^−p: the largest relative error of one rounding to nearest."""
        return 2.0 ** -self.p

    @property
    def eps(self) -> float:
        """Spacing of the format just above 1 (2^(1−p))."""
        return 2.0 ** (1 - self.p)

    @property
    def max(self) -> float:
        """Largest finite number."""
        return float((2.0 - 2.0 ** (1 - self.p)) * 2.0**self.emax)

    @property
    def tiny(self) -> float:
        """Smallest positive normal number (below it, products may flush to zero)."""
        return 2.0**self.emin

    @property
    def accumulator(self) -> "Format":
        return FORMATS[self.accumulate]

    @property
    def numpy_dtype(self):
        """The NumPy dtype that holds this format's values (bfloat16 values are held in float32)."""
        return {"float64": np.float64, "float32": np.float32, "bfloat16": np.float32, "float16": np.float16}[self.name]

    def round(self, a) -> np.ndarray:
        """The float64 array of ``a`` rounded to this format (overflow gives ±inf).

        float64 → float32 is one rounding to nearest even; bfloat16 and float16 are reached
        through float32 (two roundings, as PyTorch converts).
        """
        x = np.asarray(a, dtype=np.float64)
        if self.name == "float64":
            return x.copy()
        with np.errstate(over="ignore"):
            x32 = x.astype(np.float32)
        return self.round32(x32).astype(np.float64)

    def round32(self, x32: np.ndarray) -> np.ndarray:
        """Round a float32 array to this format, keeping float32 storage (float32 and smaller only)."""
        if self.name == "float32":
            return x32
        if self.name == "bfloat16":
            bits = np.ascontiguousarray(x32, dtype=np.float32).view(np.uint32)
            # round to nearest, ties to even, on the upper 16 bits (overflow carries into inf)
            lsb = (bits >> np.uint32(16)) & np.uint32(1)
            out = ((bits + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)).view(np.float32)
            return np.where(np.isfinite(x32), out, x32)
        if self.name == "float16":
            with np.errstate(over="ignore"):
                return x32.astype(np.float16).astype(np.float32)
        raise ArgumentError(f"dtype: {self.name} values are not held in float32")  # pragma: no cover

    def next_up(self, a) -> np.ndarray:
        """The smallest number of the format above each entry of ``a`` (numbers of the format)."""
        x = np.asarray(a, dtype=np.float64)
        if self.name == "float64":
            return np.nextafter(x, np.inf)
        if self.name in ("float32", "float16"):
            t = x.astype(self.numpy_dtype)
            return np.nextafter(t, self.numpy_dtype(np.inf)).astype(np.float64)
        bits = x.astype(np.float32).view(np.uint32).astype(np.int64)
        step = np.where(x > 0, 0x10000, np.where(x < 0, -0x10000, 0))
        out = (bits + step).astype(np.uint32).view(np.float32).astype(np.float64)
        return np.where(x == 0, 2.0 ** (self.emin - self.p + 1), out)

    def round_up(self, a) -> np.ndarray:
        """The smallest number of the format ≥ each entry of ``a``."""
        x = np.asarray(a, dtype=np.float64)
        r = self.round(x)
        return np.where(r < x, self.next_up(r), r)

    def round_down(self, a) -> np.ndarray:
        """The largest number of the format ≤ each entry of ``a``."""
        return -self.round_up(-np.asarray(a, dtype=np.float64))

    def representable(self, a) -> np.ndarray:
        """Elementwise: is the float64 value exactly a number of this format?"""
        x = np.asarray(a, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return self.round(x) == x

    def __repr__(self) -> str:
        return f"Format({self.name!r}, p={self.p})"


FORMATS = {
    "float64": Format("float64", 53, -1022, 1023, "float64"),
    "float32": Format("float32", 24, -126, 127, "float32"),
    "bfloat16": Format("bfloat16", 8, -126, 127, "float32"),
    "float16": Format("float16", 11, -14, 15, "float32"),
}

_ALIASES = {"fp64": "float64", "double": "float64", "fp32": "float32", "single": "float32",
            "bf16": "bfloat16", "fp16": "float16", "half": "float16"}


def as_format(dtype) -> Format:
    """The :class:`Format` named by ``dtype``: a name, a NumPy dtype, a torch dtype or a Format.

    ``None`` means float64.

    Examples
    --------
    >>> import numpy as np
    >>> as_format("bf16").name, as_format(np.float32).name, as_format(None).name
    ('bfloat16', 'float32', 'float64')
    """
    if dtype is None:
        return FORMATS["float64"]
    if isinstance(dtype, Format):
        return dtype
    name = None
    if isinstance(dtype, str):
        name = dtype.lower().removeprefix("torch.")
    elif type(dtype).__module__ == "torch" or str(dtype).startswith("torch."):
        name = str(dtype).removeprefix("torch.")
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
    name = _ALIASES.get(name, name)
    if name not in FORMATS:
        raise ArgumentError(
            f"dtype: expected one of {', '.join(FORMATS)} (or a NumPy/torch dtype naming one), got {dtype!r}"
        )
    return FORMATS[name]


# ---------------------------------------------------------------------------------------------
# evaluation in a format
# ---------------------------------------------------------------------------------------------
def _check_float_net(net) -> None:
    if net.is_exact:
        raise ExactnessError(
            "net: an exact network is evaluated exactly; convert it with net.astype('float64') to run it in a format"
        )


def round_network(net, dtype):
    """The float64 network whose weights are ``net``'s rounded to the format ``dtype``.

    This is the network a user runs after casting the weights (``to_torch(dtype=...)``,
    ``.astype(float32)``): :func:`memorize.certify` certifies exactly it.
    """
    fmt = as_format(dtype)
    if net.is_exact:
        net = net.astype("float64")
    if fmt.name == "float64":
        return net
    bad = []
    for i, layer in enumerate(net.layers):
        for key, a in layer.arrays().items():
            with np.errstate(over="ignore"):
                if not np.all(np.isfinite(fmt.round(a))):
                    bad.append(f"layers[{i}].{key}")
    if bad:
        raise ArgumentError(
            f"dtype: weights of {', '.join(bad)} overflow {fmt.name} (largest finite {fmt.max:.4g})"
        )
    return net._map_arrays(fmt.round)


def _layer_arrays32(layer, fmt: Format) -> dict:
    return {k: fmt.round32(np.asarray(a, dtype=np.float64).astype(np.float32)) for k, a in layer.arrays().items()}


def _act32(act, t: np.ndarray, fmt: Format) -> np.ndarray:
    """The activation applied to float32-held values of the format, rounded back to it."""
    if act.name == "identity":
        return t
    if act.name == "relu":
        return np.maximum(t, np.float32(0), out=t)
    if act.name == "hardtanh":
        return np.clip(t, np.float32(-1), np.float32(1), out=t)
    if act.name == "step":
        return (t >= 0).astype(np.float32)
    sp, sm = np.float32(float(act.slopes[0])), np.float32(float(act.slopes[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        return fmt.round32(np.where(t >= 0, t * sp, t * sm).astype(np.float32))


def _linear32(h: np.ndarray, W: np.ndarray, b: np.ndarray, fmt: Format) -> np.ndarray:
    # float32 multiply-add (BLAS sgemm), then one rounding of the result to the format; an
    # overflow gives ±inf (or nan), as the format's own arithmetic does, without a warning
    with np.errstate(over="ignore", invalid="ignore"):
        t = h @ W.T
        t += b
    return fmt.round32(t)


def forward_chunks(net, X, dtype, *, chunk_bytes: int | None = None) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(rows, outputs)`` of ``net`` evaluated in the format ``dtype``, chunk by chunk.

    Outputs are float64 arrays holding the format's values. float64 is the network's own forward
    pass. See :func:`forward`.
    """
    fmt = as_format(dtype)
    _check_float_net(net)
    if fmt.name == "float64":
        yield from net.forward_chunks(X, chunk_bytes=chunk_bytes)
        return
    from .network import Dense, Factored

    arr, _ = net._as_input(X)
    params = [_layer_arrays32(layer, fmt) for layer in net.layers]
    rows = net.chunk_rows(chunk_bytes)
    for start in range(0, arr.shape[0], rows):
        sl = slice(start, min(start + rows, arr.shape[0]))
        h = fmt.round(arr[sl]).astype(np.float32)
        for layer, p in zip(net.layers, params):
            if isinstance(layer, Factored):  # B h rounded to the format, then A(B h) + b
                t = _linear32(h, p["B"], np.float32(0), fmt)
                h = _act32(layer.activation, _linear32(t, p["A"], p["b"], fmt), fmt)
            elif isinstance(layer, Dense):
                h = _act32(layer.activation, _linear32(h, p["W"], p["b"], fmt), fmt)
            else:
                inner = _act32(layer.activation, _linear32(h, p["U"], p["b"], fmt), fmt)
                h = fmt.round32(h + _linear32(inner, p["V"], p["c"], fmt))
        yield sl, h.astype(np.float64)


def forward(net, X, dtype, *, chunk_bytes: int | None = None) -> np.ndarray:
    """Evaluate ``net`` on ``X`` in the format ``dtype``.

    Weights and inputs are rounded to the format; each layer computes ``W h + b`` with float32
    (float64 for float64) multiply-adds, rounds the result to the format and applies the
    activation (a leaky slope's product is rounded too); a residual block rounds
    ``V σ(U h + b) + c`` and then ``h + (...)``; a factored layer rounds ``B h`` and then
    ``A (B h) + b`` (two linear maps, as its PyTorch export). This is PyTorch's evaluation of the exported
    network on a CPU up to the summation order, which no format fixes: :func:`memorize.certify`
    covers every order.

    Parameters
    ----------
    net : Network
        A float network (exact networks: convert with ``astype("float64")`` first).
    X : array_like (N, d)
    dtype : str, NumPy or torch dtype, or Format
        ``"float64"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.

    Returns
    -------
    ndarray
        In the format's NumPy dtype: float64, float32, float32 holding bfloat16 values, float16.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> from memorize.precision import forward
    >>> net = memorize.Network([memorize.Dense([[1.0]], [2.0**-10])])
    >>> float(forward(net, np.array([[1.0]]), "float32")[0, 0]), float(forward(net, np.array([[1.0]]), "bfloat16")[0, 0])
    (1.0009765625, 1.0)
    """
    fmt = as_format(dtype)
    _check_float_net(net)
    arr, single = net._as_input(X)
    out = np.empty((arr.shape[0], net.output_dim), dtype=np.float64)
    for sl, h in forward_chunks(net, arr, fmt, chunk_bytes=chunk_bytes):
        out[sl] = h
    out = out.astype(fmt.numpy_dtype)
    return out[0] if single else out
