"""Trust at the edges: single-class data, label types, tied features, extreme values, files and
the command line behave the same way through every entry point (the refusals are in
``tests/test_hostile.py``)."""

from __future__ import annotations

import argparse
import json
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import memorize
from memorize import errors as E
from memorize.cli import main, make_parser

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(3)
X = RNG.standard_normal((30, 4))

ONE_HOT_BUILDERS = ["yun2019_one_hidden", "yun2019_classifier", "yun2019_resnet", "hardt_ma2017"]


# -- 1. one class, one point -----------------------------------------------------------------------
@pytest.mark.parametrize("method", ONE_HOT_BUILDERS + ["float_safe_classifier", "yang2026"])
@pytest.mark.parametrize("n", [30, 1])
def test_single_class_and_single_point_networks_verify(method, n):
    y = np.full(n, 4)
    net = memorize.build(method, X[:n], y)
    rep = memorize.verify(net, X[:n], y)
    assert rep.ok and rep.n_failed == 0
    if net.output_dim == 1 and method != "yang2026":
        assert rep.accuracy == 1.0  # read as a one-class classifier, not as the value 4
        with pytest.raises(E.LabelError, match="y"):
            memorize.verify(net, X[:n], np.full(n, 5))  # a label it has no output for


def test_single_class_exact_and_certified():
    y = np.zeros(10, int)
    net = memorize.build("yun2019_one_hidden", X[:10], y, exact=True)
    assert memorize.verify(net, X[:10], y).max_error == 0
    assert memorize.certify(memorize.build("yun2019_classifier", X[:10], y), X[:10], y).ok


# -- 3. tied features: real tabular data ----------------------------------------------------------
def _tied_tabular(n_per=30, seed=0):
    """Iris-like data: 4 measured features rounded to 0.1, 3 classes; the last feature takes
    few values, so many points tie on it."""
    rng = np.random.default_rng(seed)
    centres = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.5, 2.0]])
    X = np.vstack([c + rng.normal(0, [0.35, 0.3, 0.3, 0.15], (n_per, 4)) for c in centres])
    X = np.round(X, 1)
    y = np.repeat(np.arange(3), n_per)
    _, first = np.unique(X, axis=0, return_index=True)
    keep = np.sort(first)
    return X[keep], y[keep]


@pytest.mark.parametrize("n_per,seed", [(30, 0), (30, 1), (50, 2)])
def test_resnet_builds_on_data_with_tied_features(n_per, seed):
    Xt, yt = _tied_tabular(n_per, seed)  # refused before: "within the rounding level" of a point 0.2 away
    net = memorize.build("yun2019_resnet", Xt, yt)
    assert memorize.verify(net, Xt, yt).ok


def test_slab_refusal_states_the_measured_reason():
    with pytest.raises(E.AssumptionError) as info:
        memorize.build("yun2019_one_hidden", X * 1e300, np.arange(30) % 3)
    assert "overflow" in str(info.value) and "rounding level of the data of point" not in str(info.value)


# -- 4. extreme values that are legal -------------------------------------------------------------
def test_tiny_coordinates_build_with_bit_extraction():
    y = np.arange(30) % 3
    net = memorize.build("yang2026", X * 1e-300, y)
    assert memorize.verify(net, X * 1e-300, y).max_error == 0


def test_plan_of_a_huge_problem_says_what_it_cannot_compute(capsys):
    assert main(["plan", "--n", "1000000000000", "--dx", "3"]) == 0
    out = capsys.readouterr().out
    # sizes that are closed-form come out at once; a network too deep to lay out says so
    assert "yun2019_deep: the network for N = 1,000,000,000,000 has" in out and "memory" in out
    assert "yun2019_two_hidden: its size cannot be computed" not in out


# -- 5. one label path everywhere -----------------------------------------------------------------
def test_object_string_labels_through_build_verify_estimator_and_cli(tmp_path):
    y = np.array(["cat", "dog", "emu"], dtype=object)[np.arange(30) % 3]
    net = memorize.build("yun2019_one_hidden", X, y)
    assert net.meta["classes"] == ["cat", "dog", "emu"] and memorize.verify(net, X, y).ok
    assert memorize.verify(net, X, list(y)).ok
    clf = memorize.MemorizingClassifier().fit(X, y)
    assert clf.score(X, y) == 1.0
    np.savez(tmp_path / "d.npz", X=X, y=y.astype(str))
    assert main(["build", "--method", "yun2019_one_hidden", str(tmp_path / "d.npz"), "-o", str(tmp_path / "n")]) == 0
    assert main(["verify", str(tmp_path / "n"), str(tmp_path / "d.npz")]) == 0


def test_pandas_series_and_categoricals():
    pd = pytest.importorskip("pandas")
    y = np.array(["a", "b", "c"])[np.arange(30) % 3]
    for series in (pd.Series(y), pd.Series(y).astype("category"), pd.Series(y, dtype="string")):
        net = memorize.build("yun2019_one_hidden", X, series)
        assert memorize.verify(net, X, series).ok


@pytest.mark.parametrize("method", ["baum1988", "yang2026"])
def test_string_labels_of_one_output_networks(method):
    y = np.array(["no", "yes"])[np.arange(30) % 2]
    net = memorize.build(method, X, y)
    assert net.meta["output"] == "class index" and memorize.verify(net, X, y).ok


def test_estimator_and_build_make_the_same_network():
    y = RNG.uniform(-1, 1, 30)
    for method in ("zhang2017", "yun2019_two_hidden"):
        a = memorize.MemorizingRegressor(method=method, random_state=5).fit(X, y).network_
        b = memorize.build(method, X, y, rng=5)
        for la, lb in zip(a.layers, b.layers):
            for u, v in zip(la.arrays().values(), lb.arrays().values()):
                assert u.tobytes() == v.tobytes()
        assert dict(a.meta) == dict(b.meta)


def test_demo_theorem_column_counts_classes_and_shows_its_options():
    from memorize.cli import _theorem_units

    m = memorize.registry.get("yang2026")
    y = np.arange(300) % 10
    Xd = RNG.standard_normal((300, 8))
    net = memorize.build("yang2026", Xd, y)
    assert _theorem_units(m, Xd, y, net, {}) == str(m.architecture(300, 8, 10).num_hidden)
    assert m.architecture(300, 8, 10).num_hidden != m.architecture(300, 8, 1).num_hidden


# -- 6./7. files ------------------------------------------------------------------------------------
def _v1_file(net, path):
    """A file as format version 1 wrote it (no checksums)."""
    net.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    import io

    header = json.loads(str(np.load(io.BytesIO(members["header.npy"]))))
    header["version"] = 1
    header.pop("arrays")
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array(json.dumps(header)))
    members["header.npy"] = buf.getvalue()
    del members["checksum.npy"]
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


def test_version_1_files_load_flagged_unchecked(tmp_path):
    # version 1 had dense layers only: the zhang2017 network in its dense form
    net = memorize.build("zhang2017", X, RNG.uniform(-1, 1, 30)).densified()
    _v1_file(net, tmp_path / "old.npz")
    with pytest.warns(E.UncheckedFileWarning, match="checksums"):
        old = memorize.load(tmp_path / "old.npz")
    assert "file_unchecked" in old.meta
    assert np.array_equal(old(X), net(X))
    old.save(tmp_path / "new.npz")  # saved again: version 3, checked, note dropped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = memorize.load(tmp_path / "new.npz")
    assert "file_unchecked" not in new.meta and dict(new.meta) == dict(net.meta)


def test_save_writes_exactly_the_path_given(tmp_path):
    net = memorize.build("zhang2017", X, RNG.uniform(-1, 1, 30))
    net.save(tmp_path / "noext")
    assert (tmp_path / "noext").exists() and not (tmp_path / "noext.npz").exists()
    assert np.array_equal(memorize.load(tmp_path / "noext")(X), net(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noext"]  # no temporary file left


# -- 8. the command line ----------------------------------------------------------------------------
def test_cli_output_is_the_named_file(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", X=X, y=RNG.uniform(-1, 1, 30))
    assert main(["build", "--method", "zhang2017", str(tmp_path / "d.npz"), "-o", str(tmp_path / "x.csv")]) == 0
    assert f"saved to {tmp_path / 'x.csv'}" in capsys.readouterr().out
    assert (tmp_path / "x.csv").exists() and not (tmp_path / "x.csv.npz").exists()
    assert main(["verify", str(tmp_path / "x.csv"), str(tmp_path / "d.npz"), "--tol", "1e-6"]) == 0


def test_cli_options_are_python_literals(tmp_path):
    y = RNG.uniform(-1, 1, 30)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    assert main(["build", "--method", "yun2019_deep", str(tmp_path / "d.npz"), "-o", str(tmp_path / "n"),
                 "--option", "widths=[24, 24, 24, 24, 24]", "--option", "activation=relu"]) == 0
    assert memorize.load(tmp_path / "n").widths == (24, 24, 24, 24, 24)


def test_every_cli_argument_has_help_and_there_is_a_version(capsys):
    parser = make_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)][0]
    for name, sub in [("memorize", parser), *subs.choices.items()]:
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, (name, action.dest)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--version"])
    assert info.value.code == 0 and memorize.__version__ in capsys.readouterr().out


# -- 9. docs ----------------------------------------------------------------------------------------
def test_planner_says_its_lower_bounds_are_for_the_worst_data():
    text = str(memorize.plan(1000, 3072, 10, task="classification"))
    assert "for the worst data of this size" in text


def test_docs_define_X_and_y_before_using_them():
    pages = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    use = re.compile(r"\(X\b|\bX,|\bX\)")
    define = re.compile(r"\bX\s*(,\s*\w+\s*)?=|load_digits\(")
    for page in pages:
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
            first_use = use.search(block)
            if first_use:
                d = define.search(block)
                assert d and d.start() <= first_use.start(), page.name
                break


def test_no_reference_to_material_outside_the_repository():
    pattern = re.compile(r"\bspecs?\b(?!\w)|spec's|shared/|\bthe issue\b|issue \d", re.I)
    files = [p for p in (ROOT / "src").rglob("*.py")] + list((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    bad = []
    for p in files:
        for i, line in enumerate(p.read_text().splitlines(), 1):
            text = line.replace("find_spec", "")
            if pattern.search(text):
                bad.append(f"{p.relative_to(ROOT)}:{i}")
    assert not bad, bad
