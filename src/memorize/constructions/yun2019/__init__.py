"""Yun, Sra, Jadbabaie 2019, "Small ReLU networks are powerful memorizers" (NeurIPS 2019).

One module per theorem; importing the package registers every builder in it, in this order:
Theorem 3.1 (``two_hidden``), Proposition 3.2 (``classifier``), Proposition 3.4 (``deep``) and its
classification form (``deep_classifier``), the one-hidden-layer classifier (``one_hidden``) and
the residual network (``resnet``).
"""

from . import two_hidden, classifier, deep, deep_classifier, one_hidden, resnet  # noqa: F401
