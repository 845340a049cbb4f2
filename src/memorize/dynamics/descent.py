"""Without-replacement mini-batch SGD as Yun et al.'s Theorem 5.1 assumes, measured every epoch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..data import as_rng
from ..errors import ArgumentError, ArgumentTypeError, ShapeError
from ..network import Network
from ._passes import as_data, backward, forward, layout, pattern, preactivations, views
from .gradients import per_example_gradients, span_basis
from .losses import Loss, check_loss, squared_loss
from .params import flatten, unflatten

__all__ = ["SGDRecord", "SGDResult", "sgd"]


def readonly(a) -> np.ndarray:
    """A read-only copy of ``a`` (the records are frozen, their arrays too)."""
    a = np.array(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class SGDRecord:
    """What :func:`sgd` measured at the start of every epoch (index k = state after k epochs).

    All array fields are read-only NumPy arrays of equal length ``epochs + 1`` (shorter when the
    run diverged). ξ = θ − θ* is measured from the reference point θ*; ξ_par is its component
    in span{ν_i} (the per-example gradients at θ*) and ξ_perp the rest.

    Attributes
    ----------
    epoch : int64 array
        0, 1, 2, ...: the number of epochs done (step t = epoch · steps_per_epoch).
    risk : float64 array
        R(θ) on the whole dataset.
    xi_norm, xi_par_norm, xi_perp_norm : float64 arrays
        ‖ξ‖, ‖ξ_par‖, ‖ξ_perp‖.
    pattern_kept : bool array
        True where the activation pattern at every data point equals the one at θ*.
    lr : float
        Step size η.
    batch_size : int
        B; ``steps_per_epoch = N / B``.
    steps_per_epoch : int
    order : {"shuffle", "fixed"}
        A fresh random partition every epoch, or the fixed cyclic order 0..N−1.
    loss : str
        Name of the loss.
    diverged : bool
        True if θ or R(θ) became non-finite (the record then stops at the last finite epoch,
        and :attr:`SGDResult.network` is the starting network).
    """

    epoch: np.ndarray
    risk: np.ndarray
    xi_norm: np.ndarray
    xi_par_norm: np.ndarray
    xi_perp_norm: np.ndarray
    pattern_kept: np.ndarray
    lr: float
    batch_size: int
    steps_per_epoch: int
    order: str
    loss: str
    diverged: bool = False

    def __len__(self) -> int:
        return len(self.epoch)

    def as_dict(self) -> dict:
        """JSON-ready copy (lists and scalars)."""
        out = {}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        return out


@dataclass(frozen=True)
class SGDResult:
    """The network after the last epoch (the start if the run diverged) and the :class:`SGDRecord`."""

    network: Network
    record: SGDRecord


def _check_same_architecture(net: Network, other: Network, name: str):
    a, pa = layout(net)
    b, pb = layout(other)
    same = pa == pb and len(a) == len(b) and all(
        x.residual == y.residual and x.activation == y.activation and x.shapes == y.shapes for x, y in zip(a, b)
    )
    if not same:
        raise ArgumentError(f"{name}: must have the same layers, shapes and activations as net")


def _check_schedule(n: int, lr, batch_size, epochs, order) -> float:
    """Check SGD's schedule for N points; returns the step size as a float."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ArgumentError(f"batch_size: must be a positive integer, got {batch_size!r}")
    if n % int(batch_size):
        raise ArgumentError(f"batch_size: must divide N = {n} (Theorem 5.1 assumes E = N/B batches), got {batch_size}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ArgumentError(f"epochs: must be a non-negative integer, got {epochs!r}")
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"lr: expected a number, got {type(lr).__name__}") from None
    if not (np.isfinite(lr) and lr > 0):
        raise ArgumentError(f"lr: must be a positive finite number, got {lr}")
    if order not in ("shuffle", "fixed"):
        raise ArgumentError(f"order: must be 'shuffle' or 'fixed', got {order!r}")
    return lr


def sgd(
    net: Network,
    X,
    y,
    *,
    lr: float,
    batch_size: int,
    epochs: int,
    loss: Loss = squared_loss,
    order: Literal["shuffle", "fixed"] = "shuffle",
    rng=None,
    reference: Network | None = None,
    basis: np.ndarray | None = None,
) -> SGDResult:
    """Without-replacement mini-batch SGD with constant step, as in Yun et al. Theorem 5.1.

    Every epoch partitions the N points into E = N/B batches (a fresh random partition, or the
    fixed order 0..N−1) and takes one step per batch:
    θ ← θ − η · (1/B) Σ_{i∈batch} ℓ′(f_θ(x_i); y_i) ∇_θ f_θ(x_i). No momentum, no decay.

    Parameters
    ----------
    net : Network
        Starting point θ⁰ (float64).
    X, y : array_like
        Points (N, d) and targets (N,) or (N, k).
    lr : float
        Constant step size η > 0.
    batch_size : int
        B; must divide N.
    epochs : int
        Number of passes over the data.
    loss : Loss, default :data:`squared_loss`
    order : {"shuffle", "fixed"}, default "shuffle"
    rng : None, int or numpy.random.Generator
        Seeds the partitions (``None`` means seed 0).
    reference : Network, optional
        θ*, the point ξ = θ − θ* is measured from (same architecture). Default: ``net`` itself.
    basis : array of shape (P, r), optional
        Orthonormal basis of span{ν_i}; default: :func:`span_basis` of the per-example
        gradients at ``reference``.

    Returns
    -------
    SGDResult
        ``network`` after the last epoch and the per-epoch ``record``.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> from memorize.dynamics import flatten, unflatten, sgd
    >>> X = np.linspace(-1, 1, 8)[:, None]; y = np.sin(3 * X[:, 0])
    >>> star = memorize.build("zhang2017", X, y, theta=0.25)
    >>> start = unflatten(star, flatten(star) + 1e-3)
    >>> rec = sgd(start, X, y, lr=0.01, batch_size=2, epochs=50, reference=star).record
    >>> bool(rec.risk[-1] < rec.risk[0])
    True
    """
    loss = check_loss(loss)
    slots, p = layout(net)
    Xa, Y = as_data(net, X, y)
    n = Xa.shape[0]
    lr = _check_schedule(n, lr, batch_size, epochs, order)
    gen = as_rng(rng)
    if reference is None:
        reference = net
    else:
        _check_same_architecture(net, reference, "reference")
    theta_star = flatten(reference)
    if basis is None:
        basis = span_basis(per_example_gradients(reference, Xa))
    Q = np.asarray(basis, dtype=np.float64)
    if Q.ndim != 2 or Q.shape[0] != p:
        raise ShapeError(f"basis: expected shape ({p}, r), got {Q.shape}")
    B, E = int(batch_size), n // int(batch_size)
    star_pattern = pattern(preactivations(slots, views(slots, theta_star), Xa))

    theta = flatten(net)
    params = views(slots, theta)  # views: in-place updates of theta are seen by the passes
    g = np.empty(p)
    cols = {k: [] for k in ("risk", "xi", "par", "perp", "kept")}

    def measure():
        out, cache = forward(slots, params, Xa)
        xi = theta - theta_star
        coef = Q.T @ xi
        cols["risk"].append(float(np.sum(loss.value(out, Y)) / n))
        cols["xi"].append(float(np.linalg.norm(xi)))
        cols["par"].append(float(np.linalg.norm(coef)))
        cols["perp"].append(float(np.linalg.norm(xi - Q @ coef)))
        pre = [(sl.activation, a) for sl, (_, a, _) in zip(slots, cache) if sl.activation.name != "identity"]
        cols["kept"].append(bool(np.array_equal(pattern(pre), star_pattern)))

    measure()
    diverged = False
    fixed = np.arange(n)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(epochs)):
            perm = fixed if order == "fixed" else gen.permutation(n)
            for t in range(E):
                idx = perm[t * B : (t + 1) * B]
                xb = Xa[idx]
                out, cache = forward(slots, params, xb)
                backward(slots, params, cache, loss.grad(out, Y[idx]) / B, g)
                theta -= lr * g
            if not np.all(np.isfinite(theta)):
                diverged = True
                break
            measure()
            if not np.isfinite(cols["risk"][-1]):
                for c in cols.values():
                    c.pop()
                diverged = True
                break
    record = SGDRecord(
        epoch=readonly(np.arange(len(cols["risk"]), dtype=np.int64)),
        risk=readonly(cols["risk"]),
        xi_norm=readonly(cols["xi"]),
        xi_par_norm=readonly(cols["par"]),
        xi_perp_norm=readonly(cols["perp"]),
        pattern_kept=readonly(np.array(cols["kept"], dtype=bool)),
        lr=lr,
        batch_size=B,
        steps_per_epoch=E,
        order=order,
        loss=loss.name,
        diverged=diverged,
    )
    final = unflatten(net, theta) if not diverged else net
    return SGDResult(final, record)
