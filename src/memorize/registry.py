"""The builder registry: ``build(method, X, y, **options)`` and ``methods()``.

Every fact about a paper lives in that paper's module and reaches the rest of the library
through :func:`register`: the builder, a one-line statement of the theorem, the architecture the
builder will produce (computed without building, used by :mod:`memorize.bounds` and the size
planner), the task, what the theorem assumes of the data and the size the paper states.
:mod:`memorize.constructions` imports the paper modules by an explicit list on the first call of
:func:`build`, :func:`methods` or :func:`get`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from .errors import ArgumentError, ArgumentTypeError, UnknownMethodError

__all__ = ["Architecture", "PaperSize", "Method", "register", "build", "methods", "get", "all_methods", "resolve",
           "check_options"]

Task = Literal["regression", "classification", "binary"]


@dataclass(frozen=True)
class Architecture:
    """The shape of a network a builder will produce (computed without building it).

    Attributes
    ----------
    method : str
    input_dim, output_dim : int
    widths : tuple of int
        Hidden widths, as :attr:`memorize.Network.widths` reports them.
    num_params : int
        All weights and biases, as :attr:`memorize.Network.num_params` counts them.
    residual : bool
        True when the hidden layers are residual blocks.
    activation : str
    max_weight_bits : int or None
        Bit length of the largest weight where the construction fixes it (exact networks).
    num_nonzero : int or None
        Nonzero parameters where known.
    notes : str
    """

    method: str
    input_dim: int
    widths: tuple
    output_dim: int
    num_params: int
    residual: bool = False
    activation: str = "relu"
    max_weight_bits: int | None = None
    num_nonzero: int | None = None
    notes: str = ""

    @property
    def depth(self) -> int:
        return len(self.widths)

    @property
    def num_hidden(self) -> int:
        return int(sum(self.widths))


@dataclass(frozen=True)
class PaperSize:
    """A theorem's stated sufficient size, as the paper writes it (not the builder's count).

    Attributes
    ----------
    widths : tuple of int
        Hidden widths the statement gives (residual block widths summed into one entry).
    num_hidden : int
    statement : str
        The formula, e.g. ``"⌈4N/d_x + 4d_y⌉"``.
    """

    widths: tuple
    num_hidden: int
    statement: str


@dataclass(frozen=True)
class Method:
    """A registered construction."""

    name: str
    builder: Callable
    summary: str
    task: Task
    architecture: Callable | None = None
    reference: str = ""
    aliases: tuple = ()
    demo_max_n: int | None = None  # the demo subsamples larger data for slow exact-only builders
    demo_options: dict = field(default_factory=dict)
    # What the theorem assumes of the data beyond distinct points ("general position",
    # "labels in [-1, 1]", "δ-separated in the unit ball", ...); read by memorize.plan.
    assumptions: tuple = ()
    # The size the theorem states, fn(n, dx, dy, activation=...) -> PaperSize or None.
    paper_size: Callable | None = None
    # Precision in target formats, read by memorize.plan: {format: largest N certified}, measured
    # (benchmarks/float_limits.py), or "by design" for builders correct in any format they build for.
    float_limits: dict | str | None = None
    # Further option sets the demo also shows, one row per data set each (e.g. a depth knob).
    demo_variants: tuple = ()
    # fn(n, dx, dy, **options) -> list of option dicts: the knob settings memorize.plan lists
    # beside the default network (a trade-off curve, e.g. depth budgets), each within reach.
    plan_variants: Callable | None = None

    def __call__(self, X, y, **options):
        return self.builder(X, y, **options)


_REGISTRY: dict[str, Method] = {}
_ALIASES: dict[str, str] = {}
_LOADED = False


def register(
    name: str,
    *,
    summary: str,
    task: Task,
    architecture: Callable | None = None,
    reference: str = "",
    aliases: tuple = (),
    demo_max_n: int | None = None,
    demo_options: dict | None = None,
    assumptions: tuple = (),
    paper_size: Callable | None = None,
    float_limits: dict | str | None = None,
    demo_variants: tuple = (),
    plan_variants: Callable | None = None,
):
    """Decorator registering a builder ``(X, y, *, ..., rng=None, exact=False) -> Network``.

    ``assumptions`` lists, as short phrases, what the theorem needs of the data (e.g.
    ``("general position", "one-hot labels")``); :func:`memorize.plan` shows them.
    ``paper_size(n, dx, dy, activation="relu")`` returns the :class:`PaperSize` the theorem
    states (None where it states none for these dimensions). ``float_limits`` maps a format
    name to the largest N at which the builder's network is certified in it (a measured fact,
    kept in the builder's module), or is ``"by design"`` for builders that are correct in every
    format they build for; :func:`memorize.plan` reads it.
    states (None where it states none for these dimensions).
    ``demo_options`` are the options ``memorize demo`` passes; each dict of ``demo_variants``
    adds rows built with those options instead (a knob worth seeing beside the default).
    ``plan_variants(n, dx, dy, **options)`` returns the option dicts :func:`memorize.plan` lists
    as further rows of the builder (its trade-off curve for that problem size).
    """

    def deco(fn):
        if name in _REGISTRY or name in _ALIASES:
            raise RuntimeError(f"method {name!r} registered twice")
        _REGISTRY[name] = Method(
            name, fn, summary, task, architecture, reference, tuple(aliases), demo_max_n, dict(demo_options or {}),
            tuple(assumptions), paper_size, float_limits if isinstance(float_limits, (str, type(None))) else dict(float_limits),
            tuple(dict(v) for v in demo_variants), plan_variants,
        )
        for a in aliases:
            _ALIASES[a] = name
        return fn

    return deco


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    from . import constructions  # noqa: F401  (its explicit imports register every builder)

    _LOADED = True


def resolve(method: str) -> str:
    """The registered name of a method given by name or alias.

    Examples
    --------
    >>> resolve("baum_relu")
    'bubeck2020'
    """
    return get(method).name


def get(method: str) -> Method:
    """The registered :class:`Method` for a name or alias."""
    _load()
    key = _ALIASES.get(method, method)
    if key not in _REGISTRY:
        raise UnknownMethodError(f"method: unknown method {method!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[key]


def all_methods() -> dict[str, Method]:
    """Every registered method, by name (aliases not repeated)."""
    _load()
    return dict(sorted(_REGISTRY.items()))


def methods() -> dict[str, str]:
    """Map each method name to a one-line statement of its theorem and size.

    Examples
    --------
    >>> import memorize
    >>> "zhang2017" in memorize.methods()
    True
    """
    return {name: m.summary for name, m in all_methods().items()}


def build(method: str, X, y, **options):
    """Build a memorizing network with the named construction.

    Parameters
    ----------
    method : str
        A name from :func:`methods`.
    X, y : array_like
        The data; see the builder's documentation for the label types it takes.
    **options
        Passed to the builder (``rng``, ``exact`` and the construction's own knobs).

    Returns
    -------
    Network

    Examples
    --------
    >>> import numpy as np, memorize
    >>> X = np.array([[0.0], [1.0], [3.0]]); y = np.array([1.0, -1.0, 2.0])
    >>> net = memorize.build("zhang2017", X, y, exact=True)
    >>> memorize.verify(net, X, y).max_error
    0
    """
    m = get(method)
    check_options(m, options)
    return m.builder(X, y, **options)


def check_options(m: Method, options: dict) -> None:
    """Refuse option names the builder does not take, naming them and listing the ones it does.

    Every entry point (:func:`build`, the estimators, the command line) calls this, so an
    unknown or misspelt option is a :class:`~memorize.errors.ArgumentError` everywhere instead
    of a Python ``TypeError``.
    """
    import inspect

    params = inspect.signature(m.builder).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    takes = [name for name, p in params.items() if p.kind == p.KEYWORD_ONLY]
    unknown = [k for k in options if k not in takes]
    if unknown:
        raise ArgumentError(
            f"{unknown[0]}: {m.name} takes no option {unknown[0]!r}; its options are {', '.join(takes)}"
        )
    for k, v in options.items():
        default = params[k].default
        numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
        if numeric and isinstance(v, (str, bytes)):
            raise ArgumentTypeError(f"{k}: {m.name} expects a number (default {default!r}), got the string {v!r}")
