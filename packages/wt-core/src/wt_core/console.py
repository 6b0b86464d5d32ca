"""Logs and progress on standard error: rich on a terminal, plain lines elsewhere.

Standard output is kept for the one line a command prints: the manifest path.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_configured = False


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def setup(verbose: bool = False) -> None:
    """Send the `wildtrain` loggers to stderr (rich on a terminal, plain lines otherwise)."""
    global _configured
    root = logging.getLogger("wildtrain")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if _configured:
        return
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
        if now - self.last >= self.every:
            self.log.info("%s", self.line())
            self.last = now

    def close(self) -> None:
        if self.total is None:
            self.total = self.done
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
