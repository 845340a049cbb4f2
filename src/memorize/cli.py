"""The ``memorize`` command line: ``demo``, ``methods``, ``build``, ``verify``."""

from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile

import numpy as np

from . import _progress, registry
from .errors import FileFormatError, MemorizeError
from .network import DEFAULT_CHUNK_BYTES
from .verify import verify


def _load_data(path: str):
    try:
        with np.load(path, allow_pickle=False) as z:
            if "X" not in z.files or "y" not in z.files:
                raise FileFormatError(f"{path}: a data file must hold arrays 'X' and 'y' (found {sorted(z.files)})")
            return z["X"], z["y"]
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise FileFormatError(f"{path}: not a readable .npz data file ({exc})") from None


def _parse_value(s: str):
    try:
        return json.loads(s)
    except json.JSONDecodeError:
        return s


def _demo_rows(seed: int):
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
        for label, X, y in sets:
            if m.demo_max_n is not None and len(X) > m.demo_max_n:
                X, y = X[: m.demo_max_n], y[: m.demo_max_n]
                label = f"{label}[:{m.demo_max_n}]"
            opts = dict(m.demo_options)
            t0 = time.perf_counter()
            try:
                net = m.builder(X, y, rng=seed, **opts)
            except MemorizeError as exc:
                rows.append((name, label, len(X), X.shape[1], "-", "-", "-", "-", f"refused: {exc}", "", ""))
                continue
            secs = time.perf_counter() - t0
            rep = verify(net, X, y)
            theorem = "-"
            if m.architecture is not None:
                try:
                    dy = net.output_dim
                    theorem = str(m.architecture(len(np.unique(X, axis=0)), X.shape[1], dy, **opts).num_hidden)
                except Exception:  # the theorem's count may not apply to these data (e.g. degenerate)
                    theorem = "n/a"
            err = "0 (exact)" if rep.exact and rep.max_error == 0 else f"{float(rep.max_error):.2e}"
            rows.append(
                (name, label, len(X), net.input_dim, net.output_dim, net.num_hidden, theorem, net.num_params, err,
                 rep.arithmetic, f"{secs:.2f}")
            )
    return rows


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
    header = ("method", "data", "N", "d_in", "d_out", "hidden", "theorem", "params", "max error", "arithmetic", "build s")
    _print_table(header, rows)
    print("\n'hidden' is the number of hidden units built; 'theorem' the count the theorem guarantees for these sizes.")
    return 0


def cmd_methods(args) -> int:
    for name, summary in registry.methods().items():
        print(f"{name:22s} {summary}")
    return 0


def cmd_build(args) -> int:
    X, y = _load_data(args.data)
    opts = {}
    for kv in args.option or []:
        if "=" not in kv:
            raise FileFormatError(f"--option: expected KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        opts[k] = _parse_value(v)
    t0 = time.perf_counter()
    with _progress.Spinner(f"building {args.method} on {len(X):,} points", force=_force(args)):
        if args.dtype is not None:
            opts["dtype"] = args.dtype
        net = registry.build(args.method, X, y, rng=args.seed, exact=args.exact, **opts)
    secs = time.perf_counter() - t0
    net.save(args.output)
    print(f"built {net!r} in {secs:.2f} s; saved to {args.output}")
    return 0


def cmd_verify(args) -> int:
    from .io import load

    net = load(args.network)
    X, y = _load_data(args.data)
    rep = _verify_with_progress(net, X, y, tol=args.tol, force=_force(args))
    print(rep)
    return 0 if rep.ok else 1


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memorize", description="Closed-form ReLU networks that memorize a dataset.")
    p.add_argument("--no-progress", action="store_true",
                   help="never show progress (shown on stderr only when it is a terminal; MEMORIZE_PROGRESS=0 also hides it)")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="build every construction on bundled data, verify, print a table")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=cmd_demo)
    m = sub.add_parser("methods", help="list the constructions")
    m.set_defaults(func=cmd_methods)
    b = sub.add_parser("build", help="build a network from DATA.npz (arrays X, y)")
    b.add_argument("--method", required=True)
    b.add_argument("data")
    b.add_argument("-o", "--output", required=True)
    b.add_argument("--exact", action="store_true", help="build in exact rational arithmetic")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--option", action="append", metavar="KEY=VALUE", help="builder option (JSON value)")
    b.add_argument("--dtype", default=None, metavar="FORMAT",
                   help="build for this format (float32, bfloat16, ...) and certify the network in it")
    b.set_defaults(func=cmd_build)
    v = sub.add_parser("verify", help="verify NET.npz on DATA.npz")
    v.add_argument("network")
    v.add_argument("data")
    v.add_argument("--tol", type=float, default=None)
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
    except Exception as exc:  # one clear line, no traceback, for anything unexpected too
        print(f"memorize: unexpected error ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 3


# -- memorize plan ---------------------------------------------------------------------------------
def cmd_plan(args) -> int:
    from .planner import plan

    opts = {}
    for kv in args.option or []:
        if "=" not in kv or ":" not in kv.split("=", 1)[0]:
            raise FileFormatError(f"--option: expected METHOD:KEY=VALUE, got {kv!r}")
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
    q.add_argument("--task", choices=("regression", "classification", "binary"), default="regression")
    q.add_argument("--delta", type=float, default=None, help="separation of the points in the unit ball")
    q.add_argument("--general-position", choices=("yes", "no", "unknown"), default="unknown",
                   help="'no' drops constructions that assume general position")
    q.add_argument("--rank", choices=("hidden", "params"), default="hidden")
    q.add_argument("--method", action="append", help="restrict to this method (repeatable)")
    q.add_argument("--option", action="append", metavar="METHOD:KEY=VALUE", help="architecture option (JSON value)")
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
