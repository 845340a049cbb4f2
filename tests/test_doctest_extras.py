"""Doctests that need an optional extra are skipped with a reason when it is missing, never silently."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# pytest in a child process in which torch, matplotlib and scikit-learn cannot be imported.
_WITHOUT_EXTRAS = """
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "matplotlib", "sklearn"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def test_doctests_needing_a_missing_extra_are_skipped_with_the_reason():
    r = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS, "-q", "-rs", "-p", "no:cacheprovider",
         "src/memorize/plot.py", "src/memorize/interop/torch.py", "src/memorize/verify.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    skips = [line for line in r.stdout.splitlines() if line.startswith("SKIPPED")]
    # the module that imports torch when loaded is skipped whole, each plot example on its own
    assert any("memorize.interop.torch" in s and "needs torch" in s and "memorize[torch]" in s for s in skips)
    assert any("memorize.plot." in s and "needs matplotlib" in s for s in skips)
    # the doctests without an extra still ran
    assert "passed" in r.stdout.splitlines()[-1]
