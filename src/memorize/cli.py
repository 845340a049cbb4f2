"""The ``memorize`` command line: ``demo``, ``methods``, ``build``, ``verify``, ``plan``."""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
import zipfile

import numpy as np

from . import _progress, registry, rows
from .errors import ArgumentError, ArgumentTypeError, FileFormatError, MemorizeError
from .network import DEFAULT_CHUNK_BYTES
from .verify import verify

_NPY_MAGIC = b"\x93NUMPY"
_SAVE_HINT = "numpy.savez('data.npz', X=X, y=y)"


def _open_npy(path: str, what: str):
    """An ``.npy`` file memory-mapped read-only (never read whole, never written; no pickles)."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FileFormatError(f"{what}: {path} cannot be read as an .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biufUS":
        raise FileFormatError(f"{what}: {path} holds dtype {getattr(arr, 'dtype', '?')}, not numbers or strings")
    return arr


def _load_data(path: str, labels: str | None = None):
    """Arrays ``X`` and ``y``: of an .npz data file, read with the checks of
    :func:`memorize.io.read_arrays`; or ``X`` of an .npy file (memory-mapped, read in chunks by
    the builders and verify) and ``y`` of the .npy file ``labels``."""
    from .io import read_arrays

    if os.path.isdir(path):
        raise FileFormatError(f"DATA: {path} is a directory, not an .npz or .npy data file")
    is_npy = False
    if os.path.exists(path) and not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(len(_NPY_MAGIC))
        is_npy = head == _NPY_MAGIC
        if not is_npy:
            raise FileFormatError(f"DATA: {path} is not an .npz or .npy file (a CSV or text file?); memorize reads "
                                  f"data from an .npz file holding arrays X and y, written e.g. with {_SAVE_HINT}, "
                                  "or from X.npy with --labels y.npy")
    if is_npy or labels is not None:
        if not is_npy:
            raise ArgumentError(f"--labels: DATA must then be an .npy file of the points X, got {path}")
        if labels is None:
            raise ArgumentError(f"--labels: DATA {path} is an .npy file (the points X); give the labels with --labels y.npy")
        X = _open_npy(path, "DATA")
        return X, np.asarray(_open_npy(labels, "--labels"))
    try:
        arrays = read_arrays(path, ("X", "y"))
    except FileFormatError as exc:
        raise FileFormatError(f"DATA: {exc}") from None
    return arrays["X"], arrays["y"]


def _parse_value(s: str):
    """An option value: a Python literal (number, string, list, tuple, dict, True/False/None), read
    with ``ast.literal_eval`` (never evaluated as code); anything else is the string itself."""
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return s


def _parse_options(items, where: str = "--option") -> dict:
    opts = {}
    for kv in items or []:
        if "=" not in kv or not kv.split("=", 1)[0].strip():
            raise ArgumentError(f"{where}: expected KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        opts[k.strip()] = _parse_value(v)
    return opts


def _demo_rows(seed: int):
    """Rows of the demo table. Options a construction needs for the demo (``rescale=True`` for
    labels outside [−1, 1]) are shown in the row, never hidden; a registered ``demo_variants``
    option set (``vardi2022``'s ``depth``) adds rows of its own."""
    from .datasets import load_digits, synthetic

    Xd, yd = load_digits()
    rows = []
    for name, m in registry.all_methods().items():
        if m.task == "classification":
            sets = [("digits", Xd, yd), ("gauss", *synthetic(500, 8, classes=5, rng=seed))]
        elif m.task == "binary":
            sets = [("digits parity", Xd, yd % 2), ("gauss", synthetic(500, 8, rng=seed)[0], synthetic(500, 8, classes=2, rng=seed)[1])]
        else:
            sets = [("digits (class as value)", Xd, yd.astype(np.float64)), ("gauss", *synthetic(500, 8, rng=seed))]
        if m.demo_max_n is not None:
            sets = [(f"{label}[:{m.demo_max_n}]", X[: m.demo_max_n], y[: m.demo_max_n]) if len(X) > m.demo_max_n
                    else (label, X, y) for label, X, y in sets]
        for opts, (label, X, y) in ((dict(o), s) for o in (m.demo_options, *m.demo_variants) for s in sets):
            shown = " ".join(f"{k}={v!r}".replace(" ", "") for k, v in opts.items()) or "-"
            t0 = time.perf_counter()
            try:
                net = m.builder(X, y, rng=seed, **opts)
            except MemorizeError as exc:
                rows.append((name, label, len(X), X.shape[1], "-", "-", "-", "-", "-", f"refused: {exc}", "", "",
                             shown))
                continue
            secs = time.perf_counter() - t0
            rep = verify(net, X, y)
            theorem = _theorem_units(m, X, y, net, opts)
            if theorem.isdigit() and net.num_hidden > int(theorem):
                theorem += " *"
            err = "0 (exact)" if rep.exact and rep.max_error == 0 else f"{float(rep.max_error):.2e}"
            rows.append(
                (name, label, len(X), net.input_dim, net.output_dim, net.depth, net.num_hidden, theorem,
                 net.num_params, err, rep.arithmetic, f"{secs:.2f}", shown)
            )
    return rows


def _theorem_units(m, X, y, net, opts) -> str:
    """The hidden units the theorem's count gives for these data: distinct points, d_x and the
    number of classes for a classification construction (its output count otherwise)."""
    if m.architecture is None:
        return "-"
    dy = len(np.unique(y)) if m.task == "classification" else net.output_dim
    try:
        return str(m.architecture(len(np.unique(X, axis=0)), X.shape[1], dy, **opts).num_hidden)
    except (MemorizeError, TypeError, ValueError):  # the count may not apply to these data
        return "n/a"


def _print_table(header, rows, out=sys.stdout):
    cols = list(zip(*([header] + [tuple(str(c) for c in r) for r in rows])))
    widths = [max(len(c) for c in col) for col in cols]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line, file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)), file=out)


def cmd_demo(args) -> int:
    print("memorize demo: every registered construction on the bundled UCI digits (1797×64) and on Gaussian data\n")
    with _progress.Spinner("demo: building and verifying every construction", force=_force(args)):
        rows = _demo_rows(args.seed)
    header = ("method", "data", "N", "d_in", "d_out", "depth", "hidden", "theorem", "params", "max error",
              "arithmetic", "build s", "options")
    _print_table(header, rows)
    print("\n'depth' is the number of hidden layers; 'hidden' the number of hidden units built; 'theorem' the "
          "count the theorem guarantees for these sizes (N distinct points, d_in, and the number of classes for a "
          "classifier).")
    if any(str(r[7]).endswith("*") for r in rows):
        print("* more units than the theorem's count: its count assumes points in general position, and these "
              "data are not (the digits have repeated pixel values), so groups of points were split.")
    print("'options' are the builder options this demo passes (memorize build passes only those you give).")
    return 0


def cmd_methods(args) -> int:
    for name, summary in registry.methods().items():
        print(f"{name:22s} {summary}")
    return 0


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def cmd_build(args) -> int:
    if _same_file(args.output, args.data):
        raise ArgumentError(f"--output: {args.output} is the input data file; choose another file name")
    X, y = _load_data(args.data, args.labels)
    opts = _parse_options(args.option)
    for own, flag in (("rng", "--seed"), ("exact", "--exact")):
        if own in opts:
            raise ArgumentError(f"--option: {own!r} is set by {flag}, not by --option")
    try:
        registry.check_options(registry.get(args.method), opts)
    except ArgumentError as exc:
        if str(exc).startswith(("--option", "method:")):
            raise
        raise type(exc)(f"--option {exc}") from None
    except ArgumentTypeError as exc:
        raise ArgumentTypeError(f"--option {exc}") from None
    t0 = time.perf_counter()
    desc = f"building {args.method} on {len(X):,} points"
    if args.dtype is not None:
        opts["dtype"] = args.dtype
    with _progress.Spinner(desc, force=_force(args)) as spin, rows.progress_hook(_stage_display(spin, desc)):
        net = registry.build(args.method, X, y, rng=args.seed, exact=args.exact, **opts)
    secs = time.perf_counter() - t0
    net.save(args.output)
    print(f"built {net!r} in {secs:.2f} s; saved to {args.output}")
    return 0


def cmd_verify(args) -> int:
    from .io import load

    net = load(args.network)
    X, y = _load_data(args.data, args.labels)
    rep = _verify_with_progress(net, X, y, tol=args.tol, force=_force(args))
    print(rep)
    return 0 if rep.ok else 1


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"a seed must be a non-negative integer, got {v}")
    return v


def _tolerance(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"expected a non-negative number (not NaN), got {text!r}")
    return v


def _version() -> str:
    from . import __version__

    return f"memorize {__version__}"


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memorize", description="Closed-form ReLU networks that memorize a dataset.")
    p.add_argument("--version", action="version", version=_version(), help="print the version and exit")
    p.add_argument("--no-progress", action="store_true",
                   help="never show progress (shown on stderr only when it is a terminal; MEMORIZE_PROGRESS=0 also hides it)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    d = sub.add_parser("demo", help="build every construction on bundled data, verify, print a table")
    d.add_argument("--seed", type=_seed, default=0, help="seed of the builders' random choices and of the Gaussian data (default 0)")
    d.set_defaults(func=cmd_demo)
    m = sub.add_parser("methods", help="list the constructions")
    m.set_defaults(func=cmd_methods)
    b = sub.add_parser("build", help="build a network from DATA.npz (arrays X, y)")
    b.add_argument("--method", required=True, help="the construction (see 'memorize methods')")
    b.add_argument("data", metavar="DATA", help=f"an .npz file holding arrays X (N, d) and y, e.g. from {_SAVE_HINT}; "
                                                "or X.npy (memory-mapped: data larger than memory) with --labels y.npy")
    b.add_argument("--labels", metavar="Y.npy", default=None, help="the labels, when DATA is an .npy file of the points")
    b.add_argument("-o", "--output", required=True, metavar="NET",
                   help="file to write the network to, exactly this name (not the data file)")
    b.add_argument("--exact", action="store_true", help="build in exact rational arithmetic")
    b.add_argument("--seed", type=_seed, default=0, help="seed of the builder's random choices (default 0)")
    b.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a builder option (repeatable); VALUE is a Python literal (3, 0.5, [24, 24], 'relu', True) "
                        "or else a plain string")
    b.add_argument("--dtype", default=None, metavar="FORMAT",
                   help="build for this format (float32, bfloat16, ...) and certify the network in it")
    b.set_defaults(func=cmd_build)
    v = sub.add_parser("verify", help="verify NET.npz on DATA.npz")
    v.add_argument("network", metavar="NET", help="a network file written by 'memorize build' or Network.save")
    v.add_argument("data", metavar="DATA", help="an .npz file holding arrays X and y, or X.npy (memory-mapped) with --labels")
    v.add_argument("--labels", metavar="Y.npy", default=None, help="the labels, when DATA is an .npy file of the points")
    v.add_argument("--tol", type=_tolerance, default=None,
                   help="largest error allowed per point, a number >= 0 (inf: only measure; default: 0 for exact networks, "
                        "1e-6·max(1, max|y|) for float64)")
    v.set_defaults(func=cmd_verify)
    _add_plan_parser(sub)
    return p


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MemorizeError as exc:
        print(f"memorize: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("memorize: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (e.g. | head): nothing left to say
        sys.stderr.close()
        return 141
    except MemoryError as exc:
        print(f"memorize: error: out of memory ({exc or 'the request is too large for this machine'})", file=sys.stderr)
        return 2
    except Exception as exc:  # one clear line, no traceback, for anything unexpected too
        print(f"memorize: unexpected error ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 3


# -- memorize plan ---------------------------------------------------------------------------------
def cmd_plan(args) -> int:
    from .planner import plan

    opts = {}
    for kv in args.option or []:
        if "=" not in kv or ":" not in kv.split("=", 1)[0]:
            raise ArgumentError(f"--option: expected METHOD:KEY=VALUE, got {kv!r}")
        head, v = kv.split("=", 1)
        method, k = head.split(":", 1)
        opts.setdefault(method, {})[k] = _parse_value(v)
    gp = {"yes": True, "no": False, "unknown": None}[args.general_position]
    result = plan(
        args.n, args.dx, args.dy, task=args.task, delta=args.delta, general_position=gp, rank=args.rank,
        methods=args.method or None, options=opts, dtype=args.dtype,
    )
    print(result)
    return 0


def _add_plan_parser(sub) -> None:
    q = sub.add_parser("plan", help="sizes of every applicable construction for N points, with the lower bounds")
    q.add_argument("--n", type=int, required=True, help="number of data points")
    q.add_argument("--dx", type=int, required=True, help="input dimension")
    q.add_argument("--dy", type=int, default=1, help="output dimension, or number of classes")
    q.add_argument("--task", choices=("regression", "classification", "binary"), default="regression",
                   help="regression (real labels, default), classification (dy classes) or binary")
    q.add_argument("--delta", type=float, default=None, help="separation of the points in the unit ball")
    q.add_argument("--general-position", choices=("yes", "no", "unknown"), default="unknown",
                   help="'no' drops constructions that assume general position")
    q.add_argument("--rank", choices=("hidden", "params"), default="hidden",
                   help="sort by hidden units (default) or by parameters")
    q.add_argument("--method", action="append", help="restrict to this method (repeatable)")
    q.add_argument("--option", action="append", metavar="METHOD:KEY=VALUE",
                   help="an architecture option (repeatable); VALUE is a Python literal or else a plain string")
    q.add_argument("--dtype", default=None, metavar="FORMAT",
                   help="say for each construction whether its network is certified in this format at N "
                        "(float32, bfloat16, float16, float64)")
    q.set_defaults(func=cmd_plan)


# -- progress for long builds and verifications --------------------------------------------------
def _force(args):
    """False when --no-progress was given, else None (show only on a terminal)."""
    return False if getattr(args, "no_progress", False) else None


def _verify_with_progress(net, X, y, *, tol=None, force=None, blocks: int = 100):
    """:func:`memorize.verify` with a progress bar fed by its ``progress`` callback.

    On a terminal the rows are checked in about ``blocks`` chunks (never more memory per chunk
    than verify's default), so that the bar moves; the Report is the one verify returns.
    """
    show = _progress.enabled() if force is None else force
    if not show:
        return verify(net, X, y, tol=tol)
    n = len(X)
    rows = max(1, -(-n // blocks))
    chunk_bytes = min(DEFAULT_CHUNK_BYTES, rows * net.row_bytes)
    with _progress.Bar(n, f"verifying {n:,} points", force=force) as bar:
        return verify(net, X, y, tol=tol, chunk_bytes=chunk_bytes,
                      progress=lambda done, total: bar.update(done - bar.done))


def _stage_display(spinner, desc: str):
    """A :func:`memorize.rows.progress_hook` that shows the current pass over chunked data
    (``checking 35 %``) in the spinner's line."""
    def show(stage, done, total):
        pct = 100.0 * done / total if total else 100.0
        spinner.desc = f"{desc}: {stage} {pct:5.1f}% of {total:,} rows"
    return show
