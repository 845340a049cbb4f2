"""pytest set-up for the whole repository: doctests that need an optional extra.

``python -m pytest`` also runs the examples in the docstrings of ``src/memorize`` (see
``[tool.pytest.ini_options]`` in ``pyproject.toml``). Some of them need an optional extra
(PyTorch, matplotlib, scikit-learn). When that extra is not installed they are skipped, each
with a reason naming the extra and how to install it, so that a skip is never silent:

* a module that imports the extra when it is loaded (``memorize.interop.torch``) is skipped as
  a whole at collection;
* a single example that uses the extra (``import torch``, ``memorize.plot``, ``to_torch(...)``)
  is skipped as one item.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

# import name -> how to install it
EXTRAS = {
    "torch": "pip install 'memorize[torch]'",
    "matplotlib": "pip install 'memorize[plot]'",
    "sklearn": "pip install scikit-learn",
    "dask": "pip install 'memorize[dask]'",
}

# What in an example's source needs which extra (the figures need matplotlib, the bridge torch).
_USES = [
    (re.compile(r"\b(?:import|from)\s+torch\b|\bto_torch\(|\bfrom_torch\("), "torch"),
    (re.compile(r"\b(?:import|from)\s+matplotlib\b|\bmemorize\.plot\b|\bfrom memorize import plot\b"), "matplotlib"),
    (re.compile(r"\b(?:import|from)\s+sklearn\b"), "sklearn"),
    (re.compile(r"\b(?:import|from)\s+dask\b"), "dask"),
]

_SRC = Path(__file__).parent / "src" / "memorize"


def _missing(extra: str) -> bool:
    try:
        return importlib.util.find_spec(extra) is None
    except (ImportError, ValueError):  # a parent package that fails, or a module set to None
        return True


def _reason(extra: str, what: str) -> str:
    return f"{what}: needs {extra}, which is not installed ({EXTRAS[extra]})"


def _imported_on_load(path: Path) -> set[str]:
    """Top-level packages a module imports when it is loaded (module level, inside try/if too)."""
    names: set[str] = set()
    stack = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, (ast.Try, ast.If)):
            stack += node.body + node.orelse + getattr(node, "finalbody", [])
            for handler in getattr(node, "handlers", []):
                stack += handler.body
    return names


class _SkippedModule(pytest.File):
    """Stands for a module whose doctests cannot even be collected without an extra."""

    reason = ""

    def collect(self):
        pytest.skip(self.reason)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent):
    collectors = yield
    if file_path.suffix != ".py" or _SRC not in file_path.parents:
        return collectors
    for extra in sorted(_imported_on_load(file_path) & EXTRAS.keys()):
        if _missing(extra):
            skipped = _SkippedModule.from_parent(parent, path=file_path)
            module = ".".join(file_path.relative_to(_SRC.parent).with_suffix("").parts)
            skipped.reason = _reason(extra, f"the doctests of {module}")
            return [skipped]
    return collectors


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        test = getattr(item, "dtest", None)  # only doctest items carry their doctest.DocTest
        if test is None:
            continue
        source = "\n".join(example.source for example in test.examples)
        for pattern, extra in _USES:
            if pattern.search(source) and _missing(extra):
                item.add_marker(pytest.mark.skip(reason=_reason(extra, f"doctest {test.name}")))
                break
