"""Byte identity: every builder, float and exact, still builds the very same networks.

The golden fingerprints in ``tests/data/fingerprints.json`` were computed before the builders
were rewritten on the arithmetic object; a refactoring must not change a single weight or meta
value. An intended change of the networks regenerates the file (``python tests/_fingerprint.py``)
in a commit that says why.
"""

import json

import pytest

from _fingerprint import GOLDEN, compute


@pytest.fixture(scope="module")
def current():
    return compute()


def test_every_case_is_covered(current):
    golden = json.loads(GOLDEN.read_text())
    assert sorted(current) == sorted(golden)


def test_networks_are_byte_identical(current):
    golden = json.loads(GOLDEN.read_text())
    changed = sorted(k for k in golden if current.get(k) != golden[k])
    assert not changed, f"{len(changed)} networks changed: {changed[:10]}"
