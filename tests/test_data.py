import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from memorize import data
from memorize.errors import ArgumentTypeError, DuplicateError, LabelError, NonFiniteError, ShapeError


def test_one_dimensional_X_is_one_feature():
    assert data.as_inputs([1, 2, 3]).shape == (3, 1)


@pytest.mark.parametrize("bad,err,pattern", [
    (np.array([[1.0, np.nan], [0, 0], [np.inf, 1]]), NonFiniteError, r"rows \[0, 2\]"),
    (np.zeros((2, 2, 2)), ShapeError, "2-D"),
    (np.zeros((0, 3)), ShapeError, "at least one"),
    (np.array([["a"]]), ArgumentTypeError, "numeric"),
    ("abc", ArgumentTypeError, "numeric"),
])
def test_bad_inputs_are_refused_with_the_argument_named(bad, err, pattern):
    with pytest.raises(err, match=pattern):
        data.as_inputs(bad)
    with pytest.raises(err, match="X"):
        data.prepare(bad, np.zeros(len(np.atleast_1d(bad))) if np.ndim(bad) else [0.0])


def test_target_errors():
    X = np.zeros((3, 2)) + np.arange(3)[:, None]
    with pytest.raises(ShapeError, match="y: has 2 rows"):
        data.prepare(X, [1.0, 2.0])
    with pytest.raises(NonFiniteError, match=r"y: .*\[1\]"):
        data.prepare(X, [1.0, np.nan, 2.0])
    with pytest.raises(LabelError, match=r"\[1\]"):
        data.prepare(X, [1.0, 1.5, 2.0], task="classification")
    with pytest.raises(LabelError, match="one-hot"):
        data.prepare(X, np.array([[1, 0], [1, 1], [0, 1]]), task="classification")


def test_classification_labels_and_one_hot():
    X = np.arange(4.0)[:, None]
    ds = data.prepare(X, np.array(["b", "a", "b", "c"]), task="classification")
    assert list(ds.classes) == ["a", "b", "c"]
    assert ds.Y.tolist() == [[0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    ds2 = data.prepare(X, np.eye(3)[[2, 0, 1, 2]], task="classification")
    assert list(ds2.labels) == [2, 0, 1, 2]


@given(hnp.arrays(np.int8, st.tuples(st.integers(1, 60), st.integers(1, 3)), elements=st.integers(-2, 2)))
def test_duplicates_merged_in_order_of_first_appearance(Xi):
    X = Xi.astype(float)
    y = X.sum(axis=1)  # a function of x: duplicates are consistent
    ds = data.prepare(X, y)
    assert len(np.unique(X, axis=0)) == ds.n
    assert np.array_equal(X[ds.index], ds.X)
    assert np.all(np.diff(ds.index) > 0)
    first = {}
    for i, row in enumerate(map(tuple, X)):
        first.setdefault(row, i)
    assert sorted(first.values()) == list(ds.index)


def test_conflicting_duplicates_name_the_pairs():
    X = np.array([[0.0], [1.0], [0.0], [1.0], [-0.0]])
    with pytest.raises(DuplicateError, match=r"\(0, 2\), \(1, 3\)"):
        data.prepare(X, [0.0, 1.0, 5.0, 7.0, 0.0])
    ds = data.prepare(X, [0.0, 1.0, 0.0, 1.0, 0.0])  # -0.0 and 0.0 are the same point
    assert ds.n == 2


def test_user_arrays_untouched_and_outputs_read_only():
    X = np.array([[1.0, -0.0], [2.0, 3.0]])
    X0 = X.copy()
    ds = data.prepare(X, [1.0, 2.0])
    assert np.array_equal(X, X0) and np.signbit(X[0, 1])
    with pytest.raises(ValueError):
        ds.X[0, 0] = 5


def test_rng():
    assert data.as_rng(None).integers(1000) == np.random.default_rng(0).integers(1000)
    g = np.random.default_rng(5)
    assert data.as_rng(g) is g
    with pytest.raises(ArgumentTypeError, match="rng"):
        data.as_rng("seed")
