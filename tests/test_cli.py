import subprocess
import sys

import numpy as np

from memorize.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "memorize", *args], capture_output=True, text=True, timeout=600)


def test_build_and_verify_round_trip(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", X=rng.standard_normal((30, 4)), y=rng.uniform(-1, 1, 30))
    assert main(["build", "--method", "zhang2017", str(tmp_path / "data.npz"), "-o", str(tmp_path / "net.npz"), "--exact"]) == 0
    assert main(["verify", str(tmp_path / "net.npz"), str(tmp_path / "data.npz")]) == 0
    out = capsys.readouterr().out
    assert "exact rational" in out and "0 (exactly)" in out


def test_verify_fails_with_nonzero_exit_on_wrong_labels(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((10, 2)), rng.uniform(-1, 1, 10)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    np.savez(tmp_path / "wrong.npz", X=X, y=y + 1)
    assert main(["build", "--method", "zhang2017", str(tmp_path / "d.npz"), "-o", str(tmp_path / "n.npz")]) == 0
    assert main(["verify", str(tmp_path / "n.npz"), str(tmp_path / "wrong.npz")]) == 1


def test_errors_are_one_line_without_traceback(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"junk")
    r = run("verify", str(tmp_path / "bad.npz"), str(tmp_path / "bad.npz"))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("memorize: error:")
    np.savez(tmp_path / "dup.npz", X=np.zeros((2, 2)), y=np.array([0.0, 1.0]))
    r = run("build", "--method", "zhang2017", str(tmp_path / "dup.npz"), "-o", str(tmp_path / "o.npz"))
    assert r.returncode == 2 and "(0, 1)" in r.stderr and "Traceback" not in r.stderr
    r = run("build", "--method", "nope", str(tmp_path / "dup.npz"), "-o", str(tmp_path / "o.npz"))
    assert r.returncode == 2 and "unknown method" in r.stderr


def test_demo_prints_the_table():
    r = run("demo")
    assert r.returncode == 0, r.stderr
    assert "zhang2017" in r.stdout and "digits" in r.stdout and "max error" in r.stdout
    import memorize

    rows = [line.split() for line in r.stdout.splitlines()]
    for name, m in memorize.registry.all_methods().items():  # every builder, each knob the demo shows
        for opts in (m.demo_options, *m.demo_variants):
            shown = " ".join(f"{k}={v!r}".replace(" ", "") for k, v in opts.items()) or "-"
            mine = [row for row in rows if row[:1] == [name] and row[-1] == shown]
            assert len(mine) == 2 and all("refused:" not in row for row in mine), (name, shown)
