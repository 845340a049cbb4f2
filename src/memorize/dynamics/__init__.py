"""Training dynamics near a memorizing network: gradients, SGD, and Yun et al. Theorem 5.1.

The builders of :mod:`memorize` write down a global minimum θ* of the empirical risk in closed
form. This module asks what gradient training does next to such a point. It provides

* :func:`flatten` / :func:`unflatten`: one parameter vector θ for a :class:`~memorize.Network`;
* :func:`risk`, :func:`risk_gradient`: the empirical risk R(θ) = (1/N) Σ_i ℓ(f_θ(x_i); y_i) and
  its gradient by backpropagation in NumPy (Dense and Residual layers; identity, relu,
  relu_like and hardtanh activations — step has no gradient and is refused);
* :func:`per_example_gradients`: the matrix J whose rows are ν_i = ∇_θ f_θ(x_i), and
  :func:`span_basis` / :func:`span_projector` onto span{ν_i};
* :func:`activation_pattern`, :func:`kink_margin`: on which linear piece every pre-activation
  at the data sits, and how far it is from a kink (R is differentiable where the margin is > 0);
* :func:`sgd`: without-replacement mini-batch SGD exactly as Theorem 5.1 assumes, with a
  per-epoch :class:`SGDRecord`;
* :func:`near_minimum_experiment`: the experiment that checks the theorem's claims on a
  constructed memorizer (see ``docs/dynamics.md``).

Modules: :mod:`~memorize.dynamics.losses`, :mod:`~memorize.dynamics.params` (θ and the
rescaling symmetry), :mod:`~memorize.dynamics.gradients`, :mod:`~memorize.dynamics.descent` (SGD),
:mod:`~memorize.dynamics.theorem51`; every public name is importable from
:mod:`memorize.dynamics` itself.

Parameter order
---------------
θ concatenates, layer after layer, the arrays of :meth:`Dense.arrays` (``W`` then ``b``) or
:meth:`Residual.arrays` (``U``, ``b``, ``V``, ``c``), each flattened in C order. This is the
order of :attr:`Network.num_params`.
"""

# Every public name of the submodules (each lists its own in __all__) is a name of this package.
from . import descent, gradients, losses, params, theorem51
from .gradients import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .params import *  # noqa: F401,F403
from .descent import *  # noqa: F401,F403
from .theorem51 import *  # noqa: F401,F403

__all__ = [*losses.__all__, *params.__all__, *gradients.__all__, *descent.__all__, *theorem51.__all__]
