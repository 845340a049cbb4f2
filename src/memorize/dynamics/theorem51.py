"""The Theorem 5.1 experiment: SGD started near a memorizing global minimum (Yun et al. 2019, §5).

See ``docs/dynamics.md`` for the claims it checks and a reference run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np

from ..data import as_rng, format_indices
from ..errors import ArgumentError, AssumptionError
from ..network import Network
from ._passes import as_data, layout
from .gradients import kink_margin, per_example_gradients, span_basis
from .losses import Loss, check_loss, squared_loss
from .params import flatten, rebalance, unflatten
from .descent import SGDRecord, readonly, sgd

__all__ = ["EpsilonRun", "NearMinimumResult", "near_minimum_experiment"]


@dataclass(frozen=True)
class EpsilonRun:
    """One SGD run started at distance ε from θ* (see :func:`near_minimum_experiment`).

    Attributes
    ----------
    eps : float
        ‖ξ⁰‖.
    record : SGDRecord
        The per-epoch record of the run.
    risk0 : float
        R(θ⁰) − R(θ*) (R(θ*) is at the rounding level and is subtracted).
    risk0_over_eps2 : float
        Claim 1: bounded as ε → 0.
    t_star : int or None
        First epoch k with ‖ξ_par‖ < τ‖ξ‖², None if the run ended before.
    contraction : float
        Per-epoch factor of ‖ξ_par‖ over the second half of the epochs before t* (the last
        epoch of the run if t* is None): (‖ξ_par^{end}‖ / ‖ξ_par^{mid}‖)^{1/(end − mid)}. Once
        the fast modes of H have died out this is the slowest rate; claim 2 says ≤ 1 − ηλ.
    initial_contraction : float
        The same over the first half (faster: all modes of H still contribute).
    worst_epoch_ratio : float
        max_k ‖ξ_par^{k+1}‖ / ‖ξ_par^k‖ over the epochs before t*.
    growth_ratio : float
        max_k (‖ξ^{k+1}‖ − ‖ξ^k‖) / (ηλ‖ξ_par^k‖) over the epochs before t*, with the
        first-order ηλ = 1 − predicted_factor; claim 2 bounds it by 1 (with the paper's λ).
    max_xi_ratio : float
        max ‖ξ‖ / ‖ξ⁰‖ over epochs 0..t* (claim 3: ≤ 2); over the whole run if t* is None.
    max_xi_ratio_run : float
        The same over the whole run (the theorem claims nothing after t*).
    risk_t_star : float
        R(θ^{t*}) − R(θ*) (NaN when t* is None).
    risk_t_star_over_eps4 : float
        Claim 3: bounded as ε → 0 (NaN when t* is None).
    pattern_kept : bool
        Activation pattern at the data unchanged from θ* at every epoch up to t* (or the end; otherwise ε
        is outside the ball where the theorem applies).
    pattern_kept_run : bool
        The same over the whole run.
    final_risk : float
        R after the last epoch.
    """

    eps: float
    record: SGDRecord
    risk0: float
    risk0_over_eps2: float
    t_star: int | None
    contraction: float
    initial_contraction: float
    worst_epoch_ratio: float
    growth_ratio: float
    max_xi_ratio: float
    max_xi_ratio_run: float
    risk_t_star: float
    risk_t_star_over_eps4: float
    pattern_kept: bool
    pattern_kept_run: bool
    final_risk: float


@dataclass(frozen=True)
class NearMinimumResult:
    """Everything :func:`near_minimum_experiment` computed.

    Attributes
    ----------
    network : Network
        θ*, the memorizing global minimum (after :func:`rebalance` if asked).
    X, y : numpy.ndarray
        The data (N, d) and targets (N, k).
    num_params : int
        P.
    rank : int
        dim span{ν_i} (≤ N·k).
    lam_max, lam_min : float
        Largest and smallest positive eigenvalue of H = Σ_i ℓ″(f_θ*(x_i); y_i) ν_i ν_iᵀ.
    lr : float
        η.
    batch_size, steps_per_epoch : int
    predicted_factor : float
        1 − ηλ with the first-order λ = λ_min⁺(H)/B: one epoch of SGD multiplies ξ_par by
        Id − (η/B)H + O(η²) on span{ν_i}.
    tau : float
        τ in the stopping condition ‖ξ_par‖ < τ‖ξ‖².
    kink_margin : float
        Smallest |pre-activation − kink| at the data at θ* (> 0: R differentiable at θ*).
    max_loss_grad : float
        max_i |ℓ′(f_θ*(x_i); y_i)| (0 up to rounding at a memorizing minimum).
    runs : tuple of EpsilonRun
        One per ε, in the order given.
    """

    network: Network
    X: np.ndarray
    y: np.ndarray
    num_params: int
    rank: int
    lam_max: float
    lam_min: float
    lr: float
    batch_size: int
    steps_per_epoch: int
    predicted_factor: float
    tau: float
    kink_margin: float
    max_loss_grad: float
    runs: tuple = field(default_factory=tuple)

    def table(self) -> str:
        """The per-ε results as a Markdown table."""
        head = (
            "| ε | R(θ⁰) | R(θ⁰)/ε² | ‖ξ_par‖ factor/epoch (2nd half to t*) | 1 − ηλ | max‖ξ‖/‖ξ⁰‖ to t* | t* (epochs) "
            "| R(t*) | R(t*)/ε⁴ | pattern kept to t* | final R |\n|---|---|---|---|---|---|---|---|---|---|---|"
        )
        rows = []
        for r in self.runs:
            ts = "–" if r.t_star is None else str(r.t_star)
            rows.append(
                f"| {r.eps:.0e} | {r.risk0:.2e} | {r.risk0_over_eps2:.3g} | {r.contraction:.5f} | "
                f"{self.predicted_factor:.5f} | {r.max_xi_ratio:.3f} | {ts} | {r.risk_t_star:.2e} | "
                f"{r.risk_t_star_over_eps4:.3g} | {'yes' if r.pattern_kept else 'no'} | {r.final_risk:.1e} |"
            )
        return "\n".join([head] + rows)


def _default_batch(n: int) -> int:
    # E = N/B = 4 batches per epoch when 4 divides N, else the largest divisor ≤ N/4 (or 1).
    for b in range(max(1, n // 4), 0, -1):
        if n % b == 0:
            return b
    return 1


def _summarise(eps, rec: SGDRecord, r_star: float, tau: float, eta_lam: float) -> EpsilonRun:
    xi, par = rec.xi_norm, rec.xi_par_norm
    fails = np.nonzero(par < tau * xi**2)[0]
    t_star = int(fails[0]) if fails.size else None
    end = t_star if t_star is not None else len(rec) - 1
    if end >= 2:
        mid = end // 2
        contraction = float((par[end] / par[mid]) ** (1.0 / (end - mid)))
        initial = float((par[mid] / par[0]) ** (1.0 / mid))
        worst = float(np.max(par[1 : end + 1] / par[:end]))
        growth = float(np.max(np.diff(xi[: end + 1]) / (eta_lam * par[:end])))
    else:
        contraction = initial = worst = growth = float("nan")
    # Without t* inside the run there is no R(t*) to report.
    risk_t = float(rec.risk[t_star] - r_star) if t_star is not None else float("nan")
    return EpsilonRun(
        eps=float(eps),
        record=rec,
        risk0=float(rec.risk[0] - r_star),
        risk0_over_eps2=float((rec.risk[0] - r_star) / eps**2),
        t_star=t_star,
        contraction=contraction,
        initial_contraction=initial,
        worst_epoch_ratio=worst,
        growth_ratio=growth,
        max_xi_ratio=float(np.max(xi[: end + 1]) / xi[0]),
        max_xi_ratio_run=float(np.max(xi) / xi[0]),
        risk_t_star=risk_t,
        risk_t_star_over_eps4=risk_t / eps**4,
        pattern_kept=bool(np.all(rec.pattern_kept[: end + 1])),
        pattern_kept_run=bool(np.all(rec.pattern_kept)),
        final_risk=float(rec.risk[-1]),
    )


def _default_memorizer(X, y, n_points, dim, theta: float, gen):
    """θ* when none is given: ``zhang2017(X, y, theta=theta)``, on random data if X is None too."""
    from ..constructions.zhang2017 import zhang2017

    if X is None:
        if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
            raise ArgumentError(f"n_points: must be an integer ≥ 2, got {n_points!r}")
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ArgumentError(f"dim: must be a positive integer, got {dim!r}")
        X = gen.standard_normal((int(n_points), int(dim)))
        y = gen.uniform(-1.0, 1.0, int(n_points))
    elif y is None:
        raise ArgumentError("y: required when X is given")
    return zhang2017(X, y, theta=theta, rng=gen), X, y


def _check_minimum(net: Network, X, Y, out, loss: Loss, fit_tol: float) -> tuple[float, float]:
    """The theorem's hypotheses at θ*: R differentiable (kink margin > 0) and ℓ′ = 0 at every point
    up to ``fit_tol`` (``out`` = f(X)). Returns the kink margin and max_i |ℓ′(f(x_i); y_i)|."""
    margin = kink_margin(net, X)
    if not margin > 0:
        raise AssumptionError(
            "net: a pre-activation at the data sits exactly on a kink, so R is not differentiable at θ* and "
            "Theorem 5.1 does not apply (for zhang2017 use theta > 0)"
        )
    lg = np.abs(loss.grad(out, Y))
    if not np.max(lg) <= fit_tol:
        bad = np.nonzero(np.max(lg, axis=1) > fit_tol)[0]
        raise AssumptionError(
            f"net: not a memorizing global minimum: |ℓ′(f(x_i); y_i)| > fit_tol = {fit_tol} at points "
            f"{format_indices(bad)} (max {np.max(lg):.3e})"
        )
    return float(margin), float(np.max(lg))


def _hessian_spectrum(net: Network, X, Y, out, loss: Loss, rtol: float) -> tuple[float, float, np.ndarray]:
    """λ_max and the smallest positive λ of H = Σ_i ℓ″ ν_i ν_iᵀ at θ*, and a basis of span{ν_i}.

    H = Jᵀ diag(ℓ″) J has the nonzero spectrum of S J Jᵀ S with S = diag(√ℓ″), an N·k × N·k
    matrix, much smaller than P × P.
    """
    J = per_example_gradients(net, X)
    curv = loss.hess(out, Y).ravel()
    if not np.all(curv > 0):
        raise AssumptionError("loss: ℓ″ must be positive at θ* (Theorem 5.1 needs a strictly convex loss)")
    SJ = np.sqrt(curv)[:, None] * J
    eig = np.linalg.eigvalsh(SJ @ SJ.T)
    lam_max = float(eig[-1])
    pos = eig[eig > rtol * lam_max]
    return lam_max, float(pos[0]), span_basis(SJ, rtol=float(np.sqrt(rtol)))


def near_minimum_experiment(
    net: Network | None = None,
    X=None,
    y=None,
    *,
    epsilons: Sequence[float] = (3e-2, 1e-2, 3e-3, 1e-3),
    epochs: int = 8000,
    batch_size: int | None = None,
    lr: float | None = None,
    lr_factor: float = 0.5,
    tau: float = 1.0,
    loss: Loss = squared_loss,
    order: Literal["shuffle", "fixed"] = "shuffle",
    balance: bool | None = None,
    n_points: int = 8,
    dim: int = 2,
    theta: float = 0.25,
    rtol: float = 1e-9,
    fit_tol: float = 1e-6,
    rng=None,
) -> NearMinimumResult:
    """Run SGD from random perturbations of a memorizing global minimum (Yun et al. Thm 5.1).

    For every ε: θ⁰ = θ* + ε·u with one random unit direction u, then ``epochs`` epochs of
    :func:`sgd`; the result reports the theorem's three claims per ε (see :class:`EpsilonRun`).

    Parameters
    ----------
    net : Network, optional
        θ*: any float64 network that memorizes ``(X, y)`` with R differentiable at θ* (no
        pre-activation at the data on a kink). Default: ``zhang2017(X, y, theta=theta)`` on
        ``n_points`` random points in ``dim`` dimensions with labels U(−1, 1).
    X, y : array_like, optional
        The data ``net`` memorizes (required with ``net``; generated otherwise).
    epsilons : sequence of float
        Perturbation sizes ‖ξ⁰‖.
    epochs : int
        Epochs per run.
    batch_size : int, optional
        B, dividing N. Default: N/4 when 4 divides N (E = 4 steps per epoch).
    lr : float, optional
        η. Default ``lr_factor · B / λ_max(H)`` (η ≤ 2B/λ_max keeps the linearised epoch map
        stable; the theorem asks η < γ of that order).
    tau : float, default 1
        τ in the condition ‖ξ_par‖ ≥ τ‖ξ‖²; t* is the first epoch where it fails.
    loss : Loss, default :data:`squared_loss`
    order : {"shuffle", "fixed"}, default "shuffle"
    balance : bool, optional
        Apply :func:`rebalance` to θ* first (same function and memorization, better
        conditioned H). Default: True for the generated Zhang memorizer, False for a given
        ``net`` (which is then used as θ* unchanged).
    n_points, dim, theta : int, int, float
        Size of the generated dataset and the kink placement of the default Zhang builder
        (θ > 0 keeps every data point off the kinks; θ = 0 puts them on kinks and is refused
        here because R is then not differentiable at θ*).
    rtol : float, default 1e-9
        Eigenvalues of H below ``rtol · λ_max`` count as zero (rounding noise).
    fit_tol : float, default 1e-6
        θ* must satisfy max_i |ℓ′(f(x_i); y_i)| ≤ fit_tol (a memorizing global minimum).
    rng : None, int or numpy.random.Generator
        Seeds data, direction and partitions (``None`` means seed 0).

    Returns
    -------
    NearMinimumResult

    Notes
    -----
    Theorem 5.1 (Yun, Sra, Jadbabaie 2019). Let θ* be a memorizing global minimum
    (ℓ′(f_θ*(x_i); y_i) = 0 for all i) of R with ℓ strictly convex and C³, R differentiable at
    θ*, and ν_i = ∇_θ f_θ*(x_i). Split ξ = θ − θ* = ξ_par + ξ_perp with ξ_par ∈ span{ν_i}.
    There are ρ, γ, λ, τ > 0 such that if ‖ξ⁰‖ ≤ ρ and η < γ:
    (1) R(θ⁰) − R* = O(‖ξ⁰‖²); (2) every epoch in which ‖ξ_par^t‖ ≥ τ‖ξ^t‖² holds multiplies
    ‖ξ_par‖ by at most 1 − ηλ and lets ‖ξ‖ grow by at most ηλ‖ξ_par‖; (3) at the first t* where
    the condition fails, ‖ξ^{t*}‖ ≤ 2‖ξ⁰‖ and R(θ^{t*}) − R* ≤ C‖ξ⁰‖⁴.
    The paper's constants (its Appendix G) are not reproduced; this experiment checks the
    claims' form: R(θ⁰)/ε² and R(t*)/ε⁴ stay bounded as ε shrinks, ‖ξ_par‖ contracts
    geometrically at a rate comparable to the first-order 1 − ηλ_min⁺(H)/B, and ‖ξ‖ ≤ 2‖ξ⁰‖.
    The condition is checked once per epoch (at t = kE), not at every step.

    References
    ----------
    C. Yun, S. Sra, A. Jadbabaie. Small ReLU networks are powerful memorizers: a tight analysis
    of memorization capacity. NeurIPS 2019, Section 5, Theorem 5.1.

    Examples
    --------
    >>> from memorize.dynamics import near_minimum_experiment
    >>> res = near_minimum_experiment(epsilons=(1e-2, 3e-3), epochs=3000)
    >>> all(run.max_xi_ratio <= 2 for run in res.runs)
    True
    """
    loss = check_loss(loss)
    gen = as_rng(rng)
    generated = net is None
    if net is None:
        net, X, y = _default_memorizer(X, y, n_points, dim, theta, gen)
    elif X is None or y is None:
        raise ArgumentError("X, y: the data that net memorizes are required when net is given")
    layout(net)
    Xa, Y = as_data(net, X, y)
    if balance is None:
        balance = net.meta.get("method") == "zhang2017" and generated
    if balance:
        net = rebalance(net)
    epsilons = [float(e) for e in np.atleast_1d(np.asarray(epsilons, dtype=np.float64))]
    if not epsilons or not all(np.isfinite(e) and e > 0 for e in epsilons):
        raise ArgumentError(f"epsilons: must be positive finite numbers, got {epsilons}")
    if not (np.isfinite(tau) and tau > 0):
        raise ArgumentError(f"tau: must be positive, got {tau}")
    n = Xa.shape[0]
    B = _default_batch(n) if batch_size is None else batch_size

    out = net(Xa)
    margin, max_loss_grad = _check_minimum(net, Xa, Y, out, loss, fit_tol)
    r_star = float(np.sum(loss.value(out, Y)) / n)
    lam_max, lam_min, Q = _hessian_spectrum(net, Xa, Y, out, loss, rtol)
    if lr is None:
        if not (np.isfinite(lr_factor) and lr_factor > 0):
            raise ArgumentError(f"lr_factor: must be positive, got {lr_factor}")
        lr = lr_factor * B / lam_max

    theta_star = flatten(net)
    u = gen.standard_normal(theta_star.size)
    u /= np.linalg.norm(u)
    seed = int(gen.integers(2**63))
    runs = []
    for eps in epsilons:
        start = unflatten(net, theta_star + eps * u)
        res = sgd(start, Xa, Y, lr=lr, batch_size=B, epochs=epochs, loss=loss, order=order,
                  rng=np.random.default_rng(seed), reference=net, basis=Q)
        runs.append(_summarise(eps, res.record, r_star, tau, lr * lam_min / B))
    return NearMinimumResult(
        network=net,
        X=readonly(Xa),
        y=readonly(Y),
        num_params=int(theta_star.size),
        rank=int(Q.shape[1]),
        lam_max=lam_max,
        lam_min=lam_min,
        lr=float(lr),
        batch_size=int(B),
        steps_per_epoch=n // int(B),
        predicted_factor=float(1.0 - lr * lam_min / B),
        tau=float(tau),
        kink_margin=float(margin),
        max_loss_grad=max_loss_grad,
        runs=tuple(runs),
    )
