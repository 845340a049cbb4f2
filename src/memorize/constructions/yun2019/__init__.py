"""Yun, Sra, Jadbabaie 2019, "Small ReLU networks are powerful memorizers" (NeurIPS 2019).

One package for the paper, one submodule per network family; importing the package registers
every builder in it.
"""

import importlib as _importlib
import pkgutil as _pkgutil

for _info in _pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_info.name}")
