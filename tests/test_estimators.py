"""MemorizingClassifier / MemorizingRegressor: scikit-learn conventions, with and without scikit-learn."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import memorize
from memorize import MemorizingClassifier, MemorizingRegressor
from memorize.datasets import synthetic
from memorize.errors import ArgumentError, LabelError
from memorize.estimators import NotFittedError
from memorize.registry import all_methods

# scikit-learn checks that memorization contradicts, with the reason. Empty at scikit-learn
# 1.9.1: every applicable check passes (the memorizer fits the training data perfectly, which
# is all check_classifiers_train / check_regressors_train ask of training accuracy).
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


def _sklearn():
    sk = pytest.importorskip("sklearn", reason="scikit-learn is not installed: the check_estimator and Pipeline tests need it")
    if tuple(int(p) for p in sk.__version__.split(".")[:2]) < (1, 6):
        pytest.skip(f"scikit-learn {sk.__version__} predates estimator tags and expected_failed_checks (needs >= 1.6)")
    return sk


@pytest.mark.parametrize("est", [MemorizingClassifier(method="zhang2017"), MemorizingRegressor()], ids=lambda e: type(e).__name__)
def test_check_estimator(est):
    _sklearn()
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, expected_failed_checks=EXPECTED_FAILED_CHECKS, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:300]) for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 40


def test_pipeline_and_model_selection():
    _sklearn()
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = synthetic(120, 6, classes=4, rng=3)
    pipe = make_pipeline(StandardScaler(), MemorizingClassifier(method="zhang2017"))
    assert pipe.fit(X, y).score(X, y) == 1.0
    grid = GridSearchCV(pipe, {"memorizingclassifier__random_state": [0, 1]}, cv=3).fit(X, y)
    assert grid.best_estimator_.score(X, y) == 1.0
    Xr, yr = synthetic(80, 3, rng=4)
    reg = make_pipeline(StandardScaler(), MemorizingRegressor()).fit(Xr, yr)
    assert np.max(np.abs(reg.predict(Xr) - yr)) < 1e-8


def test_params_follow_sklearn_conventions():
    clf = MemorizingClassifier(method="zhang2017", options={"n_directions": 2}, random_state=5)
    assert clf.get_params() == {"method": "zhang2017", "options": {"n_directions": 2}, "random_state": 5, "exact": False}
    assert clf.set_params(random_state=7) is clf and clf.random_state == 7
    with pytest.raises(ValueError, match="Invalid parameter"):
        clf.set_params(colour="red")
    assert repr(clf) == "MemorizingClassifier(method='zhang2017', options={'n_directions': 2}, random_state=7)"
    assert not hasattr(clf, "network_")
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.predict(np.zeros((1, 3)))


def test_classifier_string_labels_and_attributes():
    X, _ = synthetic(50, 4, rng=1)
    y = np.random.default_rng(1).choice(["a", "b", "c"], 50)
    clf = MemorizingClassifier(method="zhang2017")
    assert clf.fit(X, y) is clf
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])
    assert clf.n_features_in_ == 4 and clf.method_ == "zhang2017" and clf.report_.ok
    np.testing.assert_array_equal(clf.predict(X), y)
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(P, np.eye(3)[np.searchsorted(clf.classes_, y)], atol=1e-8)
    Xt = np.random.default_rng(9).standard_normal((200, 4)) * 3
    np.testing.assert_array_equal(clf.classes_[np.argmax(clf.predict_proba(Xt), axis=1)], clf.predict(Xt))
    assert clf.decision_function(Xt).shape == (200, 3)
    with pytest.raises(ValueError, match="X has 3 features, but MemorizingClassifier is expecting 4"):
        clf.predict(X[:, :3])


def test_binary_decision_function_sign_matches_predict():
    X, y = synthetic(40, 3, classes=2, rng=2)
    clf = MemorizingClassifier(method="zhang2017").fit(X, y)
    Xt = np.random.default_rng(0).standard_normal((300, 3)) * 2
    d = clf.decision_function(Xt)
    assert d.shape == (300,)
    np.testing.assert_array_equal(clf.predict(Xt), clf.classes_[(d > 0).astype(int)])


def test_classifier_refusals():
    X, _ = synthetic(20, 3, rng=0)
    with pytest.raises(LabelError, match="continuous"):
        MemorizingClassifier(method="zhang2017").fit(X, np.linspace(0, 1, 20))
    # one class is data like any other: the network outputs that class everywhere
    one = MemorizingClassifier(method="zhang2017").fit(X, np.full(20, 7))
    assert one.report_.ok and one.classes_.tolist() == [7] and (one.predict(X) == 7).all()
    with pytest.raises(ValueError, match="Reshape your data"):
        MemorizingClassifier(method="zhang2017").fit(X[:, 0], np.arange(20) % 2)
    with pytest.raises(ValueError, match="NaN"):
        Xn = X.copy()
        Xn[3, 1] = np.nan
        MemorizingClassifier(method="zhang2017").fit(Xn, np.arange(20) % 2)
    with pytest.raises(memorize.errors.UnknownMethodError):
        MemorizingClassifier(method="no_such_method").fit(X, np.arange(20) % 2)
    Xd = np.vstack([X, X[:1]])
    with pytest.raises(memorize.errors.DuplicateError):
        MemorizingClassifier(method="zhang2017").fit(Xd, np.r_[np.arange(20) % 2, 1 - 0])


def test_regressor_multioutput_exact_and_refusal():
    X, y = synthetic(15, 2, rng=6)
    Y = np.column_stack([y, -2 * y])
    reg = MemorizingRegressor(exact=True).fit(X, Y)
    assert reg.network_.is_exact and reg.report_.max_error == 0
    assert reg.predict(X).shape == (15, 2) and reg.score(X, Y) == 1.0
    clf_only = [n for n, m in all_methods().items() if m.task != "regression"]
    for name in clf_only:
        with pytest.raises(ArgumentError, match="MemorizingRegressor needs a regression"):
            MemorizingRegressor(method=name).fit(X, y)


def test_pickle_keeps_predictions():
    X, y = synthetic(30, 3, classes=3, rng=8)
    clf = MemorizingClassifier(method="zhang2017").fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict(X), clf.predict(X))
    assert clone.network_.num_params == clf.network_.num_params


def _labels_for(m, n, rng):
    if m.task == "regression":
        return synthetic(n, 5, classes=3, rng=rng)
    return synthetic(n, 5, classes=2 if m.task == "binary" else 3, rng=rng)


# The options a construction cannot do without (the estimators add no hidden defaults).
REQUIRED_OPTIONS: dict = {}


@pytest.mark.parametrize("name", sorted(all_methods()))
def test_classifier_memorizes_with_every_builder(name):
    m = all_methods()[name]
    X, y = _labels_for(m, 60, 11)
    options = REQUIRED_OPTIONS.get(name)
    try:
        clf = MemorizingClassifier(method=name, options=options).fit(X, y)
    except memorize.errors.ExactnessError:  # exact-only constructions
        clf = MemorizingClassifier(method=name, options=options, exact=True).fit(X, y)
    except memorize.errors.DataError:  # constructions for points of the unit ball
        X = X / (1.01 * np.max(np.linalg.norm(X, axis=1)))
        clf = MemorizingClassifier(method=name, options=options).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.method_ == name


def test_default_method():
    X, y = synthetic(30, 4, classes=3, rng=0)
    clf = MemorizingClassifier().fit(X, y)
    expected = "yun2019_one_hidden" if "yun2019_one_hidden" in all_methods() else "zhang2017"
    assert clf.method_ == expected and clf.score(X, y) == 1.0
    assert MemorizingRegressor().fit(X, y.astype(float)).method_ == "zhang2017"


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), d=st.integers(1, 5), k=st.integers(2, 5), seed=st.integers(0, 10**6))
def test_property_any_small_dataset_is_memorized(n, d, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, k, n)
    if len(np.unique(y)) < 2:
        y[0], y[1] = 0, 1
    assert MemorizingClassifier(method="zhang2017").fit(X, y).score(X, y) == 1.0
    t = rng.uniform(-3, 3, n)
    reg = MemorizingRegressor().fit(X, t)
    assert np.max(np.abs(reg.predict(X) - t)) <= 1e-6 * max(1.0, np.max(np.abs(t)))


def test_regressor_rescale_is_explicit():
    X, y = synthetic(30, 3, rng=4)
    y = 5 * y / np.max(np.abs(y))  # targets up to 5, outside Theorem 3.1's [-1, 1]
    reg = MemorizingRegressor(method="yun2019_two_hidden", rescale=True).fit(X, y)
    assert reg.network_.meta["rescaled"] and reg.report_.ok and reg.score(X, y) == 1.0
    # the default is the builder's (rescale=False), as memorize.build would do
    for est in (MemorizingRegressor(method="yun2019_two_hidden"),
                MemorizingRegressor(method="yun2019_two_hidden", rescale=False)):
        with pytest.raises(memorize.errors.LabelError, match="rescale"):
            est.fit(X, y)
    with pytest.raises(memorize.errors.LabelError, match="rescale"):
        memorize.build("yun2019_two_hidden", X, y)
    # an explicit builder option wins over the estimator's parameter
    with pytest.raises(memorize.errors.LabelError):
        MemorizingRegressor(method="yun2019_two_hidden", rescale=True, options={"rescale": False}).fit(X, y)
    # constructions without the assumption ignore it
    assert MemorizingRegressor(rescale=False).fit(X, y).report_.ok


def test_no_hidden_builder_options():
    # the estimator passes only what the user gave (and rescale when it is set)
    X, y = synthetic(40, 3, rng=5)
    reg = MemorizingRegressor(method="yun2019_deep").fit(X, y)
    assert reg.network_.widths == memorize.bounds.architecture("yun2019_deep", 40, 3).widths
    reg = MemorizingRegressor(method="yun2019_deep", options={"widths": [36, 36, 36, 36]}).fit(X, y)
    assert reg.network_.widths == (36, 36, 36, 36)
    with pytest.raises(ArgumentError, match="depth"):
        MemorizingRegressor(method="yun2019_deep", options={"depth": 1}).fit(X, y)
