import numpy as np

from memorize.datasets import load_digits, synthetic


def test_digits_facts_the_docs_rely_on():
    X, y = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert len(np.unique(X, axis=0)) == 1797
    assert list(np.nonzero(X.std(axis=0) == 0)[0]) == [0, 32, 39]
    centred = X - X.mean(axis=0)
    assert np.linalg.matrix_rank(centred) == 61
    assert set(np.unique(y)) == set(range(10)) and X.min() == 0 and X.max() == 16


def test_synthetic_is_seeded():
    a, b = synthetic(5, 3, rng=1), synthetic(5, 3, rng=1)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert set(synthetic(50, 2, classes=3)[1]) <= {0, 1, 2}
