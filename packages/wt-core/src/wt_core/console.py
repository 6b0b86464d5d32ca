"""Logs and progress on standard error: rich on a terminal, plain lines elsewhere.

Standard output is kept for the one line a command prints: the manifest path.

Every tool reads the same two switches: `--verbose` (debug logs, tracebacks) and `--quiet`
(warnings and errors only, no progress). When stderr is not a terminal (a log file, a CI
job, a pipe), progress is plain lines at a steady pace, ours (`progress`, `Ticker`) and the
libraries' (`PlainStream`: Ultralytics' and tqdm's bars, redrawn with carriage returns and
terminal codes on a terminal, become one line every few seconds and a last one when done).
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_configured = False
_quiet = _was_quiet = _verbose = False
QUIETED = ("ultralytics", "lightning.pytorch", "lightning.fabric", "mlflow")
PROGRESS_EVERY = 10.0  # seconds between two lines of a library's progress bar when stderr is not a terminal


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def is_quiet() -> bool:
    return _quiet


def switches() -> list[str]:
    """The log switches this process was set up with, for a process of ours it starts (wt-tune's workers)
    to log as it does: `--verbose`, `--quiet` or none."""
    return ["--verbose"] if _verbose else ["--quiet"] if _quiet else []


def setup(verbose: bool = False, quiet: bool = False) -> None:
    """Send the `wildtrain` loggers to stderr (rich on a terminal, plain lines otherwise); silence the
    libraries' noise (wt_core.library_logs); --quiet: warnings and errors only, no progress."""
    global _configured, _quiet, _was_quiet, _verbose
    from wt_core import library_logs

    library_logs.silence()
    _quiet, _verbose = quiet and not verbose, verbose
    root = logging.getLogger("wildtrain")
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if _quiet else logging.INFO)
    # --quiet quiets the libraries' information too: Ultralytics warns and fails only, without bars (YOLO_VERBOSE
    # is read when it is imported), Lightning's and MLflow's loggers show warnings only
    if _quiet:
        os.environ["YOLO_VERBOSE"] = "false"
    elif os.environ.get("YOLO_VERBOSE") == "false" and _was_quiet:
        del os.environ["YOLO_VERBOSE"]
    for name in QUIETED:
        if _quiet or _was_quiet:
            logging.getLogger(name).setLevel(logging.WARNING if _quiet else logging.NOTSET)
    _was_quiet = _quiet
    if _configured:
        return
    if not stderr_is_terminal():
        plain_streams()
    if stderr_is_terminal():
        from rich.console import Console
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=Console(stderr=True), show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    root.addHandler(handler)
    root.propagate = False
    _configured = True


def get_logger(name: str) -> logging.Logger:
    """A logger under `wildtrain`, e.g. get_logger('wt-data')."""
    return logging.getLogger(f"wildtrain.{name}")


def progress(items: Iterable[T], total: int | None = None, desc: str = "working",
             logger: logging.Logger | None = None) -> Iterator[T]:
    """Iterate with a progress bar on a terminal, or a plain line every few seconds."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if _quiet:
        yield from items
        return
    if stderr_is_terminal():
        from rich.progress import Progress

        with Progress(transient=True, console=_stderr_console()) as bar:
            task = bar.add_task(desc, total=total)
            for item in items:
                yield item
                bar.advance(task)
        return
    ticker = Ticker(total, desc, logger)
    for item in items:
        yield item
        ticker.advance()
    ticker.close()


class Ticker:
    """Progress counted by hand (windows of a raster, tiles of a pool): a line every few seconds on stderr
    with the count, the rate and the time left."""

    def __init__(self, total: int | None, desc: str = "working", logger: logging.Logger | None = None,
                 every: float = 5.0, unit: str = ""):
        self.total, self.desc, self.every, self.unit = total, desc, every, unit
        self.log = logger or get_logger("progress")
        self.done = 0
        self.start = self.last = time.monotonic()

    def line(self) -> str:
        total = self.total if self.total is not None else "?"
        text = f"{self.desc}: {self.done}/{total}{' ' + self.unit if self.unit else ''}"
        elapsed = time.monotonic() - self.start
        if self.total and 0 < self.done < self.total and elapsed > 0:
            left = elapsed / self.done * (self.total - self.done)
            text += f", {self.done / elapsed:.1f}/s, {_duration(left)} left"
        return text

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every and not _quiet:
            self.log.info("%s", self.line())
            self.last = now

    def close(self) -> None:
        if self.total is None:
            self.total = self.done
        if not _quiet:
            self.log.info("%s done", self.line())


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def print_table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    """A table on stderr: rich on a terminal, aligned text otherwise."""
    cells = [[_fmt(c) for c in row] for row in rows]
    if stderr_is_terminal():
        from rich.table import Table

        table = Table(title=title)
        for c in columns:
            table.add_column(c)
        for row in cells:
            table.add_row(*row)
        _stderr_console().print(table)
        return
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    out = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    sys.stderr.write("\n".join(out) + "\n")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
BAR_GLYPHS = re.compile(r"\s*[\u2500-\u259f]+")  # box-drawing and block characters: a bar's drawing


def plain(text: str) -> str:
    """A line as a log file should hold it: what a terminal would show last (after the last carriage
    return), without terminal codes or a bar's drawing."""
    text = TERMINAL_CODES.sub("", text.rsplit("\r", 1)[-1])
    return " ".join(BAR_GLYPHS.sub(" ", text).split()) if BAR_GLYPHS.search(text) else text.rstrip()


class PlainStream(io.TextIOBase):
    """A text stream for a log file: whole lines without carriage returns or terminal codes; a progress
    bar (a line redrawn after a carriage return, or Ultralytics' `progress(key, frame)` hook) becomes a
    line every PROGRESS_EVERY seconds (none for a bar done sooner) and its last state when it ends."""

    def __init__(self, stream: Any, every: float = PROGRESS_EVERY):
        self.stream, self.every = stream, every
        self.pending = ""
        self.bars: dict[object, tuple[float, str, str]] = {}  # key -> (time of the last line, last frame, last line)
        self.closed_bar = False

    # -- the stream ----------------------------------------------------------------------------------
    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return int(self.stream.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # buffer, errors, reconfigure...: the wrapped stream's
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        if self.closed_bar and text.strip(" \r\n\x1b[K") == "":
            self.closed_bar = False  # the newline (or the clearing) a bar writes when it closes
            return len(text)
        self.closed_bar = False
        data = self.pending + text
        *lines, self.pending = data.split("\n")
        for raw in lines:
            if "\r" in raw or "raw" in self.bars:  # the end of a line redrawn in place
                self._frame("raw", raw)
                self._end("raw")
                continue
            self.stream.write(plain(raw) + "\n")
        if "\r" in self.pending:  # a bar redrawn in place: keep its last state only
            self._frame("raw", self.pending)
            self.pending = ""
        return len(text)

    # -- progress bars --------------------------------------------------------------------------------
    def progress(self, key: object, frame: str) -> None:
        """Ultralytics' hook: each redraw of bar `key`; an empty frame when the bar closes."""
        if frame == "":
            self._end(key)
            self.closed_bar = True
        else:
            self._frame(key, frame)

    def _frame(self, key: object, frame: str) -> None:
        line = plain(frame)
        if not line:
            return
        now = time.monotonic()
        last, _, shown = self.bars.get(key, (now, "", ""))
        if now - last >= self.every and not _quiet:
            self.stream.write(line + "\n")
            self.stream.flush()
            last, shown = now, line
        self.bars[key] = (last, line, shown)

    def _end(self, key: object) -> None:
        if key in self.bars:
            _, line, shown = self.bars.pop(key)
            if line and line != shown and not _quiet:
                self.stream.write(line + "\n")
                self.stream.flush()


def plain_streams() -> None:
    """Standard output and error through a PlainStream each (stderr is not a terminal): what the libraries
    print while a command runs (its stdout goes to stderr) reaches the log as plain lines."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, PlainStream):
            setattr(sys, name, PlainStream(stream))
