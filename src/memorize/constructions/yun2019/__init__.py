"""Yun, Sra, Jadbabaie 2019, "Small ReLU networks are powerful memorizers" (NeurIPS 2019).

One module per theorem; importing the package registers every builder in it.
"""

from . import fnn, one_hidden, resnet  # noqa: F401
