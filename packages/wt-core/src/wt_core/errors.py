"""Errors every tool raises, and the one line each prints.

`BadInput` is the user's mistake (exit 2, one line naming file and field); any other exception
is a failure while running (exit 1), of which a full disk gets a line of its own (`disk_full_line`).
"""

from __future__ import annotations

import errno
from pathlib import Path


class BadInput(Exception):
    """Bad usage or bad input: the tool exits 2 with one line `error: <message> (<file>, <field>)`.

    `file` is the file (or the tool, for a command-line option) the bad value came from, `field` the key,
    line or option in it; either may be None.
    """

    def __init__(self, message: str, file: str | Path | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field

    def line(self) -> str:
        where = ", ".join(x for x in (self.file, self.field) if x)
        text = " ".join(self.message.split())
        return f"error: {text} ({where})" if where else f"error: {text}"


_RETRY = "free some space, then run the same command again (with --resume where it has one: the unfinished output is kept)"


def disk_full_line(e: BaseException | None) -> str | None:
    """One line for an error caused by a full disk or an exhausted quota anywhere in its chain, else None."""
    codes = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in codes:
            what = "no space left on device" if e.errno == errno.ENOSPC else "disk quota exceeded"
            where = f" while writing {e.filename}" if e.filename else ""
            return f"error: {what}{where}; {_RETRY}"
        if "No space left on device" in str(e) or "Disk quota exceeded" in str(e):  # wrapped by a library as text
            return "error: no space left on device (" + " ".join(str(e).split())[:200] + f"); {_RETRY}"
        e = e.__cause__ or e.__context__
    return None
