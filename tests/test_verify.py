from fractions import Fraction

import numpy as np
import pytest

import memorize
from memorize import Dense, Network, relu
from memorize.errors import LabelError, ShapeError, ConstructionError
from memorize.verify import check_self


def line_net(offset=0.0):
    return Network([Dense([[1.0]], [offset])])


def test_float_error_is_reported_as_measured_never_rounded():
    X = np.array([[0.1], [0.2]])
    rep = memorize.verify(line_net(1e-300), X, X[:, 0])
    assert rep.max_error > 0 or np.all(X[:, 0] + 1e-300 == X[:, 0])
    rep = memorize.verify(line_net(3e-12), X, X[:, 0])
    assert rep.max_error == pytest.approx(3e-12, rel=1e-3)
    assert rep.ok and not rep.exact and "float64" in str(rep)


def test_exact_report_and_failure_listing():
    net = line_net(0.0).to_exact()
    X = np.array([[0.5], [1.5], [2.0]])
    rep = memorize.verify(net, X, np.array([0.5, 1.5, 2.0]))
    assert rep.exact and rep.max_error == 0 and rep.ok and "exactly" in str(rep)
    rep = memorize.verify(net, X, np.array([0.5, 1.0, 2.0]))
    assert rep.max_error == Fraction(1, 2) and rep.n_failed == 1 and list(rep.failed) == [1]
    assert not rep.ok and "FAILED" in str(rep)


def test_tolerance_default_and_explicit():
    X = np.array([[0.0], [1.0]])
    net = line_net(1e-5)
    assert not memorize.verify(net, X, X[:, 0]).ok
    assert memorize.verify(net, X, X[:, 0], tol=1e-4).ok


def test_class_labels_accuracy():
    net = Network([Dense(np.array([[1.0], [-1.0]]), np.zeros(2))])
    X = np.array([[1.0], [-1.0], [2.0]])
    rep = memorize.verify(net, X, np.array([0, 1, 1]))
    assert rep.accuracy == pytest.approx(2 / 3)
    with pytest.raises(LabelError):
        memorize.verify(net, X, np.array([0, 1, 5]))
    with pytest.raises(ShapeError):
        memorize.verify(net, X, np.zeros((3, 3)))


def test_nan_output_counts_as_failure():
    h = Network([Dense([[1e300]], [0.0], relu), Dense([[1e300]], [0.0])])
    with np.errstate(over="ignore"):
        rep = memorize.verify(h, np.array([[1.0]]), np.array([0.0]))
    assert not rep.ok and rep.n_failed == 1


def test_check_self_raises_naming_points():
    with pytest.raises(ConstructionError, match=r"\[7\]"):
        check_self(np.array([[1.0], [2.0]]), np.array([[1.0], [2.5]]), 1e-9, method="m", index=np.array([3, 7]))
    check_self(np.array([[1.0]]), np.array([[1.0]]), 0, method="m")
