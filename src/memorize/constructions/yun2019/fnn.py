"""The Yun et al. 2019 fully connected builders under their former common module name.

Theorem 3.1, Proposition 3.2 and Proposition 3.4 now live in ``two_hidden.py``,
``classifier.py`` and ``deep.py``; this module re-exports their public names so that
``from memorize.constructions.yun2019 import fnn`` keeps working.
"""

from .classifier import class_codes, classifier_architecture, classifier_condition, yun2019_classifier
from .deep import deep_architecture, yun2019_deep
from .two_hidden import two_hidden_architecture, two_hidden_condition, yun2019_two_hidden

__all__ = [
    "yun2019_two_hidden",
    "yun2019_classifier",
    "yun2019_deep",
    "two_hidden_architecture",
    "classifier_architecture",
    "deep_architecture",
    "two_hidden_condition",
    "classifier_condition",
    "class_codes",
]
