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
    # at x = 0 the output is exactly 1e-300: a report that rounded or cut small errors to 0
    # (or to a tolerance) would say 0 here
    rep = memorize.verify(line_net(1e-300), np.array([[0.0], [0.1]]), np.array([0.0, 0.1]))
    assert rep.max_error == 1e-300 and rep.ok
    # 1 + 2⁻⁵² is the float after 1: the error of one ulp is reported as that ulp
    rep = memorize.verify(line_net(2.0**-52), np.array([[1.0]]), np.array([1.0]))
    assert rep.max_error == 2.0**-52
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


@pytest.mark.parametrize("exact", [False, True])
def test_progress_callback_after_every_chunk(exact):
    net = line_net(0.0).to_exact() if exact else line_net(0.0)
    X = np.arange(10.0)[:, None]
    y = X[:, 0].copy()
    y[7] += 1
    calls = []
    rows = 3
    rep = memorize.verify(net, X, y, chunk_bytes=rows * net.row_bytes,
                          progress=lambda done, total: calls.append((done, total)))
    # one call per chunk of 3 rows, rows done growing to the total
    assert calls == [(3, 10), (6, 10), (9, 10), (10, 10)]
    ref = memorize.verify(net, X, y)
    assert (rep.n_failed, list(rep.failed), rep.max_error) == (ref.n_failed, [7], ref.max_error)
