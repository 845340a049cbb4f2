"""scikit-learn-style estimators around the builders, without depending on scikit-learn.

:class:`MemorizingClassifier` and :class:`MemorizingRegressor` follow scikit-learn's
conventions — keyword parameters stored unchanged by ``__init__``, ``get_params`` /
``set_params``, ``fit`` returning ``self``, learned attributes with a trailing underscore
(``network_``, ``classes_``, ``n_features_in_``, ``method_``, ``report_``) — so they drop into a
``sklearn.pipeline.Pipeline`` or ``cross_val_score``. "Fitting" builds a network in closed form
that provably hits every training label; nothing is trained.
"""

from __future__ import annotations

import inspect
import io as _io
import warnings

import numpy as np

from . import _exact, registry
from .data import as_class_labels, label_array
from .errors import ArgumentError, ArgumentTypeError, LabelError, MemorizeError
from .network import Network
from .verify import Report, verify

__all__ = ["MemorizingClassifier", "MemorizingRegressor", "NotFittedError", "DataConversionWarning"]


class NotFittedError(MemorizeError, ValueError, AttributeError):
    """Raised when ``predict`` (or similar) is called before ``fit``.

    A ``ValueError`` and an ``AttributeError``, like scikit-learn's own ``NotFittedError``
    (when scikit-learn is installed, the raised error is also an instance of that class).
    """


class DataConversionWarning(UserWarning):
    """Warns that ``y`` was converted (a column vector raveled), like scikit-learn's warning."""


_SK_CACHE: dict = {}


def _sk_compatible(ours: type, module: str, name: str) -> type:
    """``ours``, or a subclass of both ``ours`` and scikit-learn's class of that name if installed.

    scikit-learn's tools catch their own exception and warning classes; this keeps the
    estimators compatible without importing scikit-learn unless it is already installed.
    """
    if name not in _SK_CACHE:
        cls = ours
        try:
            import importlib

            sk = getattr(importlib.import_module(module), name)
            cls = type(name, (ours, sk), {"__module__": __name__, "__doc__": ours.__doc__})
        except (ImportError, AttributeError, TypeError):
            pass
        _SK_CACHE[name] = cls
    return _SK_CACHE[name]


def _seed(random_state):
    """Turn a scikit-learn style ``random_state`` into what the builders take (None/int/Generator)."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if random_state is None or isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, (int, np.integer)):
        raise ArgumentTypeError(f"random_state: expected None, an int seed, a numpy Generator or RandomState, "
                                f"got {type(random_state).__name__}")
    if random_state < 0:
        raise ArgumentError(f"random_state: a seed must be a non-negative integer, got {int(random_state)}")
    return random_state


def _check_X(X, n_features: int | None = None, owner: str = "estimator") -> np.ndarray:
    if X is None:
        raise ArgumentError("X: expected a 2-D array of shape (n_samples, n_features), got None")
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError(
            "X: sparse input is not supported; memorizing networks need dense points (pass X.toarray())"
        )
    arr = np.asarray(X)
    if np.iscomplexobj(arr):
        raise ValueError("X: Complex data not supported")
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        arr = np.asarray(arr, dtype=np.float64)  # raises TypeError/ValueError for non-numbers
    if arr.ndim != 2:
        raise ValueError(
            f"X: Expected 2D array, got {arr.ndim}D array instead; Reshape your data either using "
            "X.reshape(-1, 1) if your data has a single feature or X.reshape(1, -1) if it contains a single sample."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"X: Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.shape[1] == 0:
        raise ValueError(f"X: Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("X: Input contains NaN or infinity")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"X has {arr.shape[1]} features, but {owner} is expecting {n_features} features as input.")
    return arr


class _MemorizingBase:
    """get_params / set_params / repr / fitted checks / pickling shared by both estimators."""

    _task = ""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self``."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {type(self).__name__}; valid: {valid}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = [
            f"{name}={getattr(self, name)!r}"
            for name, p in sig.parameters.items()
            if name != "self" and getattr(self, name) is not p.default and getattr(self, name) != p.default
        ]
        return f"{type(self).__name__}({', '.join(parts)})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise _sk_compatible(NotFittedError, "sklearn.exceptions", "NotFittedError")(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments first."
            )

    def _method(self, default: str) -> registry.Method:
        name = self.method if self.method is not None else default
        if not isinstance(name, str):
            raise ArgumentError(f"method: expected a method name (see memorize.methods()), got {name!r}")
        return registry.get(name)

    def _build(self, m: registry.Method, X, targets, **params) -> Network:
        """Call the builder as ``memorize.build(m.name, X, targets, rng=..., exact=..., **options)``
        would: ``self.options`` and the builder's own defaults for the rest. ``params`` are the
        estimator's own parameters that map to a builder option (``rescale``); they apply only
        when set (not None), the builder takes them and ``options`` does not set them."""
        options = self.options if self.options is not None else {}
        if not isinstance(options, dict):
            raise ArgumentTypeError(f"options: expected a dict of builder options, got {type(options).__name__}")
        for own in ("rng", "exact"):
            if own in options:
                raise ArgumentError(f"options: {own!r} is set by the estimator's "
                                    f"{'random_state' if own == 'rng' else 'exact'} parameter, not by options")
        options = dict(options)
        registry.check_options(m, options)
        takes = inspect.signature(m.builder).parameters
        for key, value in params.items():
            if value is not None and key in takes:
                options.setdefault(key, value)
        return m.builder(X, targets, rng=_seed(self.random_state), exact=bool(self.exact), **options)

    def _outputs(self, X) -> np.ndarray:
        self._check_fitted()
        Xc = _check_X(X, self.n_features_in_, type(self).__name__)
        out = self.network_(Xc)
        return _exact.to_float_array(out) if out.dtype == object else out

    # Networks are immutable with a read-only meta mapping and are never pickled by the
    # library; store them in their own .npz format so that pickling an estimator (joblib,
    # multiprocessing, scikit-learn's model selection) works and stays free of code execution
    # for the network itself.
    def __getstate__(self):
        state = dict(self.__dict__)
        net = state.pop("network_", None)
        if net is not None:
            buf = _io.BytesIO()
            net.save(buf)
            state["_network_npz"] = buf.getvalue()
        return state

    def __setstate__(self, state):
        state = dict(state)
        blob = state.pop("_network_npz", None)
        self.__dict__.update(state)
        if blob is not None:
            from .io import load

            self.network_ = load(_io.BytesIO(blob))


class MemorizingClassifier(_MemorizingBase):
    """A classifier whose ``fit`` writes down a network that classifies every training point correctly.

    Parameters
    ----------
    method : str, optional
        A registered construction (see :func:`memorize.methods`). Classification builders get
        the class codes, binary builders the codes of two classes, regression builders (such
        as ``"zhang2017"``) one-hot targets. ``None`` (default): ``"yun2019_one_hidden"`` when it
        is registered, else ``"zhang2017"``.
    options : dict, optional
        Extra keyword arguments for the builder (its knobs), with the builder's own defaults
        for the rest, e.g. ``options={"depth": 8}`` or ``options={"widths": [24, 24, 24, 24, 24]}``
        for ``yun2019_deep``.
    random_state : None, int, numpy Generator or RandomState
        Seed of the builder's random choices (``None`` means the builders' default seed 0, so
        fitting is deterministic).
    exact : bool, default False
        Build in exact rational arithmetic (predictions then come from exact outputs).

    Attributes
    ----------
    network_ : Network
        The built network (outputs: one per class, or one for binary builders).
    classes_ : ndarray
        The class labels, sorted; output ``j`` stands for ``classes_[j]``.
    n_features_in_ : int
    method_ : str
        The construction used.
    report_ : Report
        :func:`memorize.verify` on the training data (accuracy 1.0 by construction).

    Notes
    -----
    ``predict`` is the argmax of the outputs. ``predict_proba`` is *not* a calibrated
    probability: it is the positive part of the outputs, normalised (a one-hot vector on every
    training point, since the network reproduces the one-hot targets there). The decision
    function is the raw output (for two classes: output 1 minus output 0).

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((60, 5)), rng.choice(["cat", "dog", "emu"], 60)
    >>> clf = memorize.MemorizingClassifier(method="zhang2017").fit(X, y)
    >>> clf.score(X, y)
    1.0
    >>> clf.classes_
    array(['cat', 'dog', 'emu'], dtype='<U3')
    """

    _estimator_type = "classifier"

    def __init__(self, method: str | None = None, *, options: dict | None = None, random_state=None,
                 exact: bool = False):
        self.method = method
        self.options = options
        self.random_state = random_state
        self.exact = exact

    def _default_method(self) -> str:
        return "yun2019_one_hidden" if "yun2019_one_hidden" in registry.all_methods() else "zhang2017"

    def fit(self, X, y) -> "MemorizingClassifier":
        """Build the network on ``(X, y)``; returns ``self``."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        m = self._method(self._default_method())
        Xc = _check_X(X)
        yc = np.asarray(y)
        if yc.ndim == 2 and yc.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected; using y.ravel()",
                          _sk_compatible(DataConversionWarning, "sklearn.exceptions", "DataConversionWarning"),
                          stacklevel=2)
            yc = yc.ravel()
        if yc.ndim != 1:
            raise ValueError(f"y: expected 1-D class labels, got shape {yc.shape} (y should be a 1d array)")
        if yc.shape[0] != Xc.shape[0]:
            raise ValueError(f"y: has {yc.shape[0]} labels but X has {Xc.shape[0]} rows")
        if yc.dtype.kind == "f":
            if not np.all(np.isfinite(yc)):
                raise ValueError("y: Input y contains NaN or infinity")
            if np.any(yc != np.round(yc)):
                raise LabelError("y: Unknown label type: continuous (a classifier needs discrete labels; "
                                 "use MemorizingRegressor for real targets)")
        elif yc.dtype == object:
            if any(isinstance(v, float) and not np.isfinite(v) for v in yc):
                raise ValueError("y: Input y contains NaN")
            yc = label_array(yc)
        classes, codes = as_class_labels(yc, Xc.shape[0])  # the builders' own label conversion
        k = len(classes)
        if m.task == "binary" and k > 2:
            raise ArgumentError(f"method: {m.name!r} memorizes two classes only, y has {k} classes")
        if m.task in ("classification", "binary"):
            net = self._build(m, Xc, codes)
            targets = codes
        else:
            targets = np.eye(k)[codes]
            net = self._build(m, Xc, targets)
        if net.output_dim not in (1, k):
            raise ArgumentError(f"method: {m.name!r} built {net.output_dim} outputs for {k} classes; cannot map them to classes")
        self.network_ = net
        self.classes_ = classes
        self.n_features_in_ = Xc.shape[1]
        self.method_ = m.name
        self.report_: Report = verify(net, Xc, targets if (net.output_dim == k or m.task == "binary") else codes.astype(float))
        return self

    def decision_function(self, X) -> np.ndarray:
        """Raw network outputs (n, classes); for two classes one column: positive means ``classes_[1]``."""
        out = self._outputs(X)
        k = len(self.classes_)
        if out.shape[1] == 1:  # binary builders target 0/1: 1/2 is the decision threshold
            return out[:, 0] - 0.5 if k == 2 else out[:, 0]
        return out[:, 1] - out[:, 0] if k == 2 else out

    def _codes(self, out: np.ndarray) -> np.ndarray:
        k = len(self.classes_)
        if out.shape[1] == 1:
            if k == 2:
                return (out[:, 0] > 0.5).astype(np.intp)
            return np.clip(np.rint(out[:, 0]), 0, k - 1).astype(np.intp)
        return np.argmax(out, axis=1)

    def predict(self, X) -> np.ndarray:
        """The class of each row of ``X``."""
        out = self._outputs(X)
        return self.classes_[self._codes(out)]

    def predict_proba(self, X) -> np.ndarray:
        """Normalised positive part of the outputs, shape (n, classes); not a calibrated probability.

        Exactly the one-hot label on every training point; its argmax always agrees with
        :meth:`predict`.
        """
        out = self._outputs(X)
        k = len(self.classes_)
        if out.shape[1] == 1:
            p1 = np.clip(out[:, 0], 0.0, 1.0) if k == 2 else None
            if p1 is None:
                P = np.zeros((out.shape[0], k))
                P[np.arange(out.shape[0]), self._codes(out)] = 1.0
                return P
            # keep the argmax consistent with predict at the 1/2 threshold
            p1 = np.where((p1 == 0.5) & (out[:, 0] <= 0.5), np.nextafter(0.5, 0), p1)
            return np.column_stack([1.0 - p1, p1])
        P = np.maximum(out, 0.0)
        s = P.sum(axis=1)
        none = s <= 0
        P[none] = 0.0
        P[none, np.argmax(out[none], axis=1)] = 1.0
        s[none] = 1.0
        return P / s[:, None]

    def score(self, X, y) -> float:
        """Mean accuracy on ``(X, y)``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags())


class MemorizingRegressor(_MemorizingBase):
    """A regressor whose ``fit`` writes down a network that interpolates every training target.

    Parameters
    ----------
    method : str, default "zhang2017"
        A registered regression construction (see :func:`memorize.methods`).
    options : dict, optional
        Extra keyword arguments for the builder (its knobs), with the builder's own defaults
        for the rest, e.g. ``options={"depth": 8}`` for ``yun2019_deep``.
    random_state : None, int, numpy Generator or RandomState
        Seed of the builder's random choices (``None``: the builders' default seed 0).
    exact : bool, default False
        Build in exact rational arithmetic.
    rescale : bool, optional
        For constructions whose theorem assumes targets in [−1, 1] (those with a ``rescale``
        option, such as ``yun2019_two_hidden`` and ``yun2019_deep``): ``True`` fits any real
        targets by scaling the network's output layer by max|y| (the float64 error scales with
        it); ``False`` keeps the theorem's assumption and ``fit`` refuses larger targets with a
        ``LabelError``. ``None`` (default): the builder's own default, which is ``False`` — the
        same network :func:`memorize.build` gives. Ignored by constructions without that
        option; an explicit ``options["rescale"]`` wins.

    Attributes
    ----------
    network_ : Network
    n_features_in_ : int
    n_outputs_ : int
    method_ : str
    report_ : Report
        :func:`memorize.verify` on the training data.

    Notes
    -----
    The training error is at the float64 rounding level (exactly 0 with ``exact=True``);
    ``score`` on the training data is therefore 1.0. What the interpolant does between the
    points is whatever the construction gives — memorization, not generalization.

    Examples
    --------
    >>> import numpy as np, memorize
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 3)), rng.uniform(-1, 1, 40)
    >>> reg = memorize.MemorizingRegressor().fit(X, y)
    >>> bool(np.max(np.abs(reg.predict(X) - y)) < 1e-9)
    True
    """

    _estimator_type = "regressor"

    def __init__(self, method: str = "zhang2017", *, options: dict | None = None, random_state=None,
                 exact: bool = False, rescale: bool | None = None):
        self.method = method
        self.options = options
        self.random_state = random_state
        self.exact = exact
        self.rescale = rescale

    def fit(self, X, y) -> "MemorizingRegressor":
        """Build the network on ``(X, y)``; returns ``self``."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        m = self._method("zhang2017")
        if m.task != "regression":
            raise ArgumentError(
                f"method: {m.name!r} is a {m.task} construction; MemorizingRegressor needs a regression "
                "construction such as 'zhang2017' (use MemorizingClassifier for labels)"
            )
        Xc = _check_X(X)
        yc = label_array(y)
        if yc.dtype.kind not in "biuf":
            try:
                yc = np.asarray(yc, dtype=np.float64)  # numeric strings, as scikit-learn converts them
            except ValueError:
                raise LabelError(f"y: a regressor needs real-valued targets, got labels of dtype {yc.dtype}; "
                                 "use MemorizingClassifier for class labels") from None
        yc = yc.astype(np.float64)
        if yc.ndim not in (1, 2):
            raise ValueError(f"y: expected shape (n,) or (n, k), got {yc.shape}")
        if yc.shape[0] != Xc.shape[0]:
            raise ValueError(f"y: has {yc.shape[0]} targets but X has {Xc.shape[0]} rows")
        if not np.all(np.isfinite(yc)):
            raise ValueError("y: Input y contains NaN or infinity")
        net = self._build(m, Xc, yc, rescale=None if self.rescale is None else bool(self.rescale))
        self.network_ = net
        self.n_features_in_ = Xc.shape[1]
        self.n_outputs_ = 1 if yc.ndim == 1 else yc.shape[1]
        self._y_1d = yc.ndim == 1
        self.method_ = m.name
        self.report_: Report = verify(net, Xc, yc)
        return self

    def predict(self, X) -> np.ndarray:
        """Network outputs: shape (n,) if fitted on 1-D targets, else (n, k)."""
        out = self._outputs(X)
        return out[:, 0] if self._y_1d else out

    def score(self, X, y) -> float:
        """Coefficient of determination R² (averaged uniformly over outputs)."""
        y = np.asarray(y, dtype=np.float64)
        p = self.predict(X)
        y2, p2 = y.reshape(len(y), -1), p.reshape(len(p), -1)
        ss_res = np.sum((y2 - p2) ** 2, axis=0)
        ss_tot = np.sum((y2 - y2.mean(axis=0)) ** 2, axis=0)
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
        return float(np.mean(r2))

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(estimator_type="regressor", target_tags=TargetTags(required=True, multi_output=True),
                    regressor_tags=RegressorTags(), input_tags=InputTags())
