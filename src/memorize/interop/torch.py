"""PyTorch export and import: :func:`to_torch` and :func:`from_torch`.

This module imports :mod:`torch` at import time; the rest of the library imports this module
only inside :meth:`memorize.Network.to_torch` and :func:`memorize.from_torch`, so PyTorch stays
an optional extra (``pip install 'memorize[torch]'``).

Mapping (both directions):

=================================== ==============================================
memorize                            torch
=================================== ==============================================
``Dense(W, b, σ)``                  ``nn.Linear`` followed by the activation module
``Factored(A, B, b, σ)``            ``nn.Linear(in, r, bias=False)`` (marked ``memorize_factor``),
                                    ``nn.Linear(r, out)``, the activation module
``Residual(U, b, V, c, σ)``         :class:`ResidualBlock` (``h + V σ(U h + b) + c``)
``relu``                            ``nn.ReLU``
``relu_like(1, s)``                 ``nn.LeakyReLU(s)``
``relu_like(s₊, s₋)``               :class:`ReLULike`
``hardtanh``                        ``nn.Hardtanh(-1, 1)``
``step``                            :class:`Step` (``1[t ≥ 0]``)
``identity``                        nothing (or ``nn.Identity`` on import)
=================================== ==============================================
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "memorize's PyTorch bridge needs PyTorch: pip install 'memorize[torch]' (the CPU build is enough)"
    ) from exc

from .._exact import exact_scalar
from ..activations import Activation, hardtanh, identity, relu, relu_like, step
from ..errors import ArgumentError, ArgumentTypeError, ExactnessError, NonFiniteError
from ..network import Dense, Factored, Network, Residual
from ..precision import Format, as_format

__all__ = ["to_torch", "from_torch", "ReLULike", "Step", "ResidualBlock"]


class ReLULike(nn.Module):
    """σ(t) = s₊·t for t ≥ 0 and s₋·t for t < 0 (Yun et al.'s ReLU-like activation).

    The slopes are kept as exact fraction strings too, so :func:`from_torch` restores the
    activation exactly as it was built.
    """

    def __init__(self, s_plus, s_minus):
        super().__init__()
        self.slopes = (str(Fraction(exact_scalar(s_plus))), str(Fraction(exact_scalar(s_minus))))
        # The NumPy forward multiplies by float(slope); do the same so both round identically.
        self.s_plus = float(Fraction(self.slopes[0]))
        self.s_minus = float(Fraction(self.slopes[1]))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return torch.where(t >= 0, t * self.s_plus, t * self.s_minus)

    def extra_repr(self) -> str:
        return f"s_plus={self.slopes[0]}, s_minus={self.slopes[1]}"


class Step(nn.Module):
    """The threshold unit 1[t ≥ 0] (no useful gradient: its derivative is 0 almost everywhere)."""

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return (t >= 0).to(t.dtype)


class ResidualBlock(nn.Module):
    """``h ← h + V σ(U h + b) + c``: ``inner`` is ``Linear(U, b)``, activation, ``outer`` is ``Linear(V, c)``."""

    def __init__(self, inner: nn.Linear, activation: nn.Module, outer: nn.Linear):
        super().__init__()
        self.inner = inner
        self.activation = activation
        self.outer = outer

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.outer(self.activation(self.inner(h)))


def _activation_module(act: Activation) -> nn.Module | None:
    if act.name == "identity":
        return None
    if act.name == "relu":
        return nn.ReLU()
    if act.name == "relu_like":
        sp, sm = (exact_scalar(s) for s in act.slopes)
        if sp == 1 and float(sm) == sm:
            return nn.LeakyReLU(float(sm))
        return ReLULike(sp, sm)
    if act.name == "hardtanh":
        return nn.Hardtanh(-1.0, 1.0)
    if act.name == "step":
        return Step()
    raise ArgumentError(f"activation: {act!r} has no PyTorch counterpart")  # pragma: no cover


def _linear(W: np.ndarray, b: np.ndarray | None, dtype, device, fmt: Format | None) -> nn.Linear:
    lin = nn.Linear(W.shape[1], W.shape[0], bias=b is not None, dtype=dtype, device=device)
    # rounded here, explicitly (float64 -> float32 -> format, as PyTorch converts): the copy into
    # the parameter then holds the format's numbers and rounds nothing
    rnd = (lambda a: np.array(a, dtype=np.float64)) if fmt is None else fmt.round
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(rnd(W)))
        if b is not None:
            lin.bias.copy_(torch.from_numpy(rnd(b)))
    return lin


def _factor_linear(B: np.ndarray, dtype, device, fmt: Format | None) -> nn.Linear:
    """The first map ``t = B h`` of a factored layer, marked so that :func:`from_torch` pairs it."""
    lin = _linear(B, None, dtype, device, fmt)
    lin.memorize_factor = True
    return lin


def _export_format(dtype) -> Format | None:
    """The memorize format of a torch dtype (None for one it does not model, e.g. float8)."""
    try:
        return as_format(dtype)
    except ArgumentError:
        return None


def to_torch(net: Network, dtype=None, device=None, *, materialize: bool = False) -> nn.Sequential:
    """Export ``net`` as a ``torch.nn.Sequential`` that computes the same function.

    Parameters
    ----------
    net : Network
        A float64 network. Exact networks are refused (see Raises).
    dtype : torch.dtype, default torch.float64
        Parameter dtype. The weights are rounded to it with
        :meth:`memorize.precision.Format.round` (the same numbers as PyTorch's own conversion,
        done explicitly). In float64 the module's output equals ``net(X)`` up to the rounding
        of a different summation order (≤ 1e-12 relative for every builder, tested). In a
        smaller format the guarantee is the certificate's: a network built with ``dtype=``
        of this format (``memorize.build(..., dtype="float32")``) carries
        ``meta["certificate"]``, and the export keeps it in ``memorize_meta`` only when its
        format is the export's dtype (or float64, the network itself). Then every training
        point is classified (or fitted within the certificate's tolerance) by the module run
        in that dtype on a CPU, for every summation order and with or without fused
        multiply-adds, bfloat16 and float16 accumulating in float32
        (:func:`memorize.certify`); not covered are TF32 matrix products
        (``torch.backends.cuda.matmul.allow_tf32``) and reduced-precision GPU reductions.
        Without a matching certificate, lower precision voids the memorization
        guarantee: check with :func:`memorize.certify` or :func:`memorize.verify` (``dtype=``).
    device : torch.device or str, optional
    materialize : bool, default False
        Export a :class:`~memorize.network.Factored` layer as one ``nn.Linear`` holding the
        dense product ``A B`` (computed in float64, out × in numbers) instead of its two factors.
        The default keeps the factors: two ``nn.Linear`` (``B`` without bias, then ``A`` with
        the bias), which is the evaluation :func:`memorize.certify` bounds and the memory the
        network was built to need.

    Returns
    -------
    torch.nn.Sequential
        Linear layers with activation modules, and :class:`ResidualBlock` for residual
        blocks. The attribute ``memorize_meta`` holds a copy of ``net.meta`` (its
        ``"certificate"`` dropped when it certifies a format other than a smaller export dtype).

    Raises
    ------
    ExactnessError
        If ``net`` is exact: its guarantee needs exact rational arithmetic, which PyTorch
        does not have.

    Examples
    --------
    >>> import numpy as np, memorize, torch
    >>> X, y = np.random.default_rng(0).standard_normal((20, 3)), np.arange(20.0)
    >>> net = memorize.build("zhang2017", X, y)
    >>> module = net.to_torch()
    >>> out = module(torch.from_numpy(X)).detach().numpy()
    >>> bool(np.max(np.abs(out - net(X))) <= 1e-12 * np.max(np.abs(net(X))))
    True
    >>> labels = np.arange(20) % 3
    >>> cert_net = memorize.build("float_safe_classifier", X, labels, dtype="float32")
    >>> m32 = cert_net.to_torch(dtype=torch.float32)
    >>> m32.memorize_meta["certificate"]["format"]
    'float32'
    >>> "certificate" in cert_net.to_torch(dtype=torch.bfloat16).memorize_meta
    False
    """
    if not isinstance(net, Network):
        raise ArgumentTypeError(f"net: expected a memorize.Network, got {type(net).__name__}")
    if net.is_exact:
        bits = net.max_weight_bits
        hint = (
            f" Its weights need up to {bits} bits, more than float64's 53, so rounding them would"
            " destroy the construction." if bits > 53 else
            " If rounding is acceptable, convert with net.astype(numpy.float64), verify the result"
            " with memorize.verify, and export that."
        )
        raise ExactnessError(
            "net: this network is exact (Python int/Fraction weights) and needs exact arithmetic, "
            "which PyTorch does not provide." + hint
        )
    if dtype is None:
        dtype = torch.float64
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ArgumentTypeError(f"dtype: expected a floating torch.dtype such as torch.float64, got {dtype!r}")
    fmt = _export_format(dtype)
    modules: list[nn.Module] = []
    for layer in net.layers:
        act = _activation_module(layer.activation)
        if isinstance(layer, Factored) and not materialize:
            modules.append(_factor_linear(layer.B, dtype, device, fmt))
            modules.append(_linear(layer.A, layer.bias, dtype, device, fmt))
            if act is not None:
                modules.append(act)
        elif isinstance(layer, Dense):
            modules.append(_linear(layer.weight, layer.bias, dtype, device, fmt))
            if act is not None:
                modules.append(act)
        else:
            modules.append(
                ResidualBlock(
                    _linear(layer.U, layer.b, dtype, device, fmt),
                    act if act is not None else nn.Identity(),
                    _linear(layer.V, layer.c, dtype, device, fmt),
                )
            )
    seq = nn.Sequential(*modules)
    meta = dict(net.meta)
    cert = meta.get("certificate")
    if isinstance(cert, dict) and (fmt is None or fmt.name not in ("float64", cert.get("format"))):
        # it certifies another format than the one exported (a float64 export is the network
        # itself, whose certificate still says what its rounding to that format does)
        del meta["certificate"]
    seq.memorize_meta = meta
    return seq


def _activation_of(mod: nn.Module, where: str) -> Activation | None:
    """The memorize activation of an activation module, or None if ``mod`` is not one."""
    if isinstance(mod, nn.ReLU):
        return relu
    if isinstance(mod, nn.Identity):
        return identity
    if isinstance(mod, Step):
        return step
    if isinstance(mod, ReLULike):
        return relu_like(*(exact_scalar(Fraction(s)) for s in mod.slopes))
    if isinstance(mod, nn.LeakyReLU):
        s = float(mod.negative_slope)
        if s == 0:
            return relu
        if not 0 <= s < 1:
            raise ArgumentError(
                f"module{where}: LeakyReLU(negative_slope={s}) is not ReLU-like (needs 0 <= slope < 1)"
            )
        return relu_like(1, s)
    if isinstance(mod, nn.Hardtanh):
        if float(mod.min_val) != -1.0 or float(mod.max_val) != 1.0:
            raise ArgumentError(
                f"module{where}: Hardtanh({mod.min_val}, {mod.max_val}) is not supported; only Hardtanh(-1, 1)"
            )
        return hardtanh
    return None


def _array(t: torch.Tensor, where: str = "") -> np.ndarray:
    a = t.detach().to("cpu", torch.float64).numpy().copy()
    if not np.all(np.isfinite(a)):
        raise NonFiniteError(f"module{where}: parameters contain NaN or infinity (did training diverge?)")
    return a


def _flatten(module: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    if isinstance(module, nn.Sequential):
        out = []
        for name, child in module.named_children():
            out.extend(_flatten(child, f"{prefix}[{name}]"))
        return out
    return [(prefix, module)]


def _affine(lin: nn.Linear, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Weight and bias (zeros without one) of a Linear module."""
    W = _array(lin.weight, where)
    return W, (_array(lin.bias, where) if lin.bias is not None else np.zeros(W.shape[0]))


def _activation_after(items: list, i: int) -> tuple[Activation, int]:
    """The activation module after item i (identity if none) and the index of the last item used."""
    if i + 1 < len(items):
        act = _activation_of(items[i + 1][1], items[i + 1][0])
        if act is not None:
            return act, i + 1
    return identity, i


def from_torch(module) -> Network:
    """Read a ``torch.nn`` module back as a float64 :class:`~memorize.Network`.

    Supported: (nested) ``nn.Sequential`` of ``nn.Linear`` (with or without bias), each
    optionally followed by one activation; a bias-free ``nn.Linear`` that :func:`to_torch`
    marked as the first factor of a factored layer (attribute ``memorize_factor``), followed by
    an ``nn.Linear``, is read back as one :class:`~memorize.network.Factored` layer (``nn.ReLU``, ``nn.LeakyReLU`` with slope in [0, 1),
    ``nn.Hardtanh(-1, 1)``, ``nn.Identity``, :class:`ReLULike`, :class:`Step`), and
    :class:`ResidualBlock`. This covers every module :func:`to_torch` produces; a module it
    cannot read raises an error naming it.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    Network
        float64; ``meta`` is taken from ``module.memorize_meta`` when present.

    Examples
    --------
    >>> import torch, memorize
    >>> m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> memorize.from_torch(m).widths
    (4,)
    """
    if not isinstance(module, nn.Module):
        raise ArgumentTypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    items = _flatten(module)
    layers = []
    i = 0
    while i < len(items):
        where, mod = items[i]
        if isinstance(mod, nn.Linear) and getattr(mod, "memorize_factor", False) and mod.bias is None \
                and i + 1 < len(items) and isinstance(items[i + 1][1], nn.Linear):
            B = _array(mod.weight, where)
            i += 1
            where, mod = items[i]
            (A, b), (act, i) = _affine(mod, where), _activation_after(items, i)
            if A.shape[1] != B.shape[0]:
                raise ArgumentError(f"module{where}: takes {A.shape[1]} inputs but the factor before it gives {B.shape[0]}")
            layers.append(Factored(A, B, b, act))
        elif isinstance(mod, nn.Linear):
            (W, b), (act, i) = _affine(mod, where), _activation_after(items, i)
            layers.append(Dense(W, b, act))
        elif isinstance(mod, ResidualBlock):
            inner, outer = mod.inner, mod.outer
            if not isinstance(inner, nn.Linear) or not isinstance(outer, nn.Linear):
                raise ArgumentTypeError(f"module{where}: a ResidualBlock needs nn.Linear inner and outer maps")
            act = _activation_of(mod.activation, f"{where}.activation")
            if act is None:
                raise ArgumentTypeError(
                    f"module{where}.activation: unsupported activation {type(mod.activation).__name__}"
                )
            U = _array(inner.weight, where)
            V = _array(outer.weight, where)
            b = _array(inner.bias, where) if inner.bias is not None else np.zeros(U.shape[0])
            c = _array(outer.bias, where) if outer.bias is not None else np.zeros(V.shape[0])
            layers.append(Residual(U, b, V, c, act))
        elif _activation_of(mod, where) is not None:
            raise ArgumentTypeError(
                f"module{where}: activation {type(mod).__name__} does not follow a Linear layer; "
                "memorize networks apply activations only after an affine map"
            )
        else:
            raise ArgumentTypeError(
                f"module{where}: unsupported module {type(mod).__name__}; supported are Linear, ReLU, "
                "LeakyReLU, Hardtanh(-1, 1), Identity, and memorize's ReLULike, Step, ResidualBlock"
            )
        i += 1
    if not layers:
        raise ArgumentError("module: contains no Linear layer or ResidualBlock")
    meta = getattr(module, "memorize_meta", None)
    return Network(layers, dict(meta) if isinstance(meta, dict) else None)
