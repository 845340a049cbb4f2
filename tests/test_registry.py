import numpy as np
import pytest

import memorize
from memorize import registry
from memorize.errors import UnknownMethodError


def test_methods_lists_a_statement_per_builder():
    ms = memorize.methods()
    assert "zhang2017" in ms and all(isinstance(v, str) and v for v in ms.values())


def test_unknown_method_names_the_alternatives():
    with pytest.raises(UnknownMethodError, match="zhang2017"):
        memorize.build("nope", np.eye(2), np.ones(2))
    with pytest.raises(ValueError):
        memorize.build("nope", np.eye(2), np.ones(2))


@pytest.mark.parametrize("name", sorted(registry.all_methods()))
def test_every_builder_has_docs_and_a_task(name):
    m = registry.get(name)
    assert m.task in ("regression", "classification", "binary")
    doc = m.builder.__doc__ or ""
    for section in ("Parameters", "Returns", "Notes", "References", "Examples"):
        assert section in doc, f"{name}: docstring lacks {section}"
