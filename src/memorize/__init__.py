"""memorize: closed-form ReLU networks that provably memorize a dataset.

One builder per theorem of the memorization-capacity literature, each returning a plain
:class:`Network` of NumPy arrays, and :func:`verify`, which checks by evaluation (in exact
rational arithmetic when asked) that the network hits every label.

Examples
--------
>>> import numpy as np, memorize
>>> rng = np.random.default_rng(0)
>>> X, y = rng.standard_normal((20, 4)), rng.uniform(-1, 1, 20)
>>> net = memorize.build("zhang2017", X, y, exact=True)
>>> memorize.verify(net, X, y).max_error
0
"""

from . import errors
from .estimators import MemorizingClassifier, MemorizingRegressor
from .activations import Activation, hardtanh, identity, relu, relu_like, step
from .certificate import Certificate, certify
from .io import load
from .network import Dense, Factored, Network, Residual
from .registry import Architecture, build, methods
from .verify import Report, verify

__version__ = "0.1.0"


def from_torch(module) -> Network:
    """Read a ``torch.nn`` module back as a :class:`Network`; see :func:`memorize.interop.torch.from_torch`."""
    from .interop.torch import from_torch as _from_torch

    return _from_torch(module)


__all__ = [
    "Activation",
    "Architecture",
    "Certificate",
    "Dense",
    "Factored",
    "MemorizingClassifier",
    "MemorizingRegressor",
    "Network",
    "Report",
    "Residual",
    "build",
    "certify",
    "errors",
    "from_torch",
    "hardtanh",
    "identity",
    "load",
    "methods",
    "relu",
    "relu_like",
    "step",
    "verify",
]

# -- sizes and limits: memorize.bounds, memorize.plan, the Theorem 3.3 converse ----------------
from . import bounds  # noqa: E402
from .pieces import count_pieces, hard_dataset  # noqa: E402
from .planner import plan  # noqa: E402

__all__ += ["bounds", "count_pieces", "hard_dataset", "plan"]

# -- interop: figures (matplotlib imported lazily inside memorize.plot) -------------------------
from . import plot  # noqa: E402

__all__ += ["plot"]

# -- SGD near a memorizing minimum, exact activation rewrites, bundled data --------------------
from . import datasets, dynamics, precision, rewrite, rows  # noqa: E402

__all__ += ["datasets", "dynamics", "precision", "rewrite", "rows"]
