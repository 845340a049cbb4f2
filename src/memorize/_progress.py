"""A small terminal progress display for the command line (the library API never uses it).

Two forms, both silent unless their stream is a terminal (and ``MEMORIZE_PROGRESS`` is not
``0``), and both invisible for work that ends within ``delay`` seconds:

* :class:`Bar`: known amount of work, ``update(k)`` as it is done.
* :class:`Spinner`: unknown amount (a builder call); shows the elapsed time from a thread.

They write to standard error so that the command's output on standard output stays clean, and
erase their line when done.
"""

from __future__ import annotations

import os
import sys
import threading
import time

__all__ = ["Bar", "Spinner", "enabled"]


def enabled(stream=None) -> bool:
    """True when progress should be shown on ``stream`` (default stderr)."""
    stream = sys.stderr if stream is None else stream
    if os.environ.get("MEMORIZE_PROGRESS", "").strip() == "0":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or file-like without isatty
        return False


def _fmt_secs(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(s), 60)
    return f"{m}:{s:02d} min" if m < 60 else f"{m // 60}:{m % 60:02d}:{s:02d} h"


class _Line:
    def __init__(self, desc: str, stream, delay: float, force: bool | None):
        self.desc = desc
        self.stream = sys.stderr if stream is None else stream
        self.delay = delay
        self.on = enabled(self.stream) if force is None else bool(force)
        self.start = time.perf_counter()
        self._width = 0
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            self._width = len(text)

    def _clear(self) -> None:
        if self._width:
            with self._lock:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0


class Bar(_Line):
    """``with Bar(total, "verifying") as bar: ... bar.update(k)``.

    Parameters
    ----------
    total : int
    desc : str
    stream : file, default sys.stderr
    delay : float, default 1.0
        Seconds before the bar first appears.
    force : bool, optional
        Show (True) or hide (False) regardless of the terminal test.
    """

    WIDTH = 30

    def __init__(self, total: int, desc: str = "", *, stream=None, delay: float = 1.0, force: bool | None = None):
        super().__init__(desc, stream, delay, force)
        self.total = max(int(total), 0)
        self.done = 0
        self._last = 0.0

    def update(self, k: int = 1) -> None:
        self.done = min(self.total, self.done + int(k))
        if not self.on:
            return
        now = time.perf_counter()
        el = now - self.start
        if el < self.delay or (now - self._last < 0.1 and self.done < self.total):
            return
        self._last = now
        frac = self.done / self.total if self.total else 1.0
        fill = int(round(self.WIDTH * frac))
        eta = f", {_fmt_secs(el * (1 - frac) / frac)} left" if 0 < frac < 1 else ""
        self._write(f"{self.desc} [{'#' * fill}{'.' * (self.WIDTH - fill)}] {100 * frac:5.1f}% "
                    f"{self.done:,}/{self.total:,} ({_fmt_secs(el)}{eta})")

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc) -> None:
        if self.on:
            self._clear()


class Spinner(_Line):
    """``with Spinner("building zhang2017"): net = build(...)``: elapsed time while the block runs."""

    FRAMES = "|/-\\"

    def __init__(self, desc: str = "", *, stream=None, delay: float = 1.0, force: bool | None = None,
                 interval: float = 0.2):
        super().__init__(desc, stream, delay, force)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        i = 0
        while not self._stop.is_set():
            self._write(f"{self.desc} {self.FRAMES[i % 4]} {_fmt_secs(time.perf_counter() - self.start)}")
            i += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> "Spinner":
        if self.on:
            self._thread = threading.Thread(target=self._run, name="memorize-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._clear()
