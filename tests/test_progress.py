"""CLI progress: shown only on a terminal, never by the library, same verification result."""

import io
import time

import numpy as np
import pytest

import memorize
from memorize import _progress, cli
from memorize.datasets import synthetic


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_bar_draws_on_a_terminal_only(monkeypatch):
    monkeypatch.delenv("MEMORIZE_PROGRESS", raising=False)
    tty, pipe = _TTY(), io.StringIO()
    for stream in (tty, pipe):
        with _progress.Bar(10, "work", stream=stream, delay=0.0) as bar:
            for _ in range(10):
                bar.update(1)
    assert "work [" in tty.getvalue() and "100.0%" in tty.getvalue()
    assert tty.getvalue().endswith("\r")  # the line is erased at the end
    assert pipe.getvalue() == ""
    monkeypatch.setenv("MEMORIZE_PROGRESS", "0")
    assert not _progress.enabled(_TTY())


def test_spinner_shows_elapsed_time_after_delay():
    tty = _TTY()
    with _progress.Spinner("building", stream=tty, delay=0.0, force=True, interval=0.01):
        time.sleep(0.1)
    assert "building" in tty.getvalue() and " s" in tty.getvalue()
    quick = _TTY()
    with _progress.Spinner("building", stream=quick, delay=5.0, force=True):
        pass
    assert quick.getvalue() == ""  # short work shows nothing


@pytest.mark.parametrize("labels", ["classes", "values", "exact"])
def test_blockwise_verification_equals_one_call(labels):
    if labels == "classes":
        X, y = synthetic(300, 4, classes=4, rng=0)
        net = memorize.build("zhang2017", X, np.eye(4)[y])
    else:
        X, y = synthetic(40 if labels == "exact" else 300, 3, rng=1)
        net = memorize.build("zhang2017", X, y, exact=labels == "exact")
    # a wrong label makes one point fail, at a known index
    y_bad = y.copy()
    y_bad[17] = (y_bad[17] + 1) % 4 if labels == "classes" else y_bad[17] + 1
    for target in (y, y_bad):
        ref = memorize.verify(net, X, target)
        got = cli._verify_with_progress(net, X, target, force=True, blocks=7)
        assert (got.n, got.n_failed, got.exact, got.accuracy) == (ref.n, ref.n_failed, ref.exact, ref.accuracy)
        assert got.max_error == ref.max_error and got.tol == ref.tol
        np.testing.assert_array_equal(got.failed, ref.failed)


def test_cli_verify_output_is_clean_when_not_a_terminal(tmp_path, capsys):
    X, y = synthetic(200, 3, rng=2)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    assert cli.main(["build", "--method", "zhang2017", str(tmp_path / "d.npz"), "-o", str(tmp_path / "n.npz")]) == 0
    assert cli.main(["verify", str(tmp_path / "n.npz"), str(tmp_path / "d.npz")]) == 0
    assert cli.main(["--no-progress", "verify", str(tmp_path / "n.npz"), str(tmp_path / "d.npz")]) == 0
    out, err = capsys.readouterr()
    assert "\r" not in out and "\r" not in err
    assert out.count("verification in float64 arithmetic on 200 points: OK") == 2
