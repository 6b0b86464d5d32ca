"""Errors every tool raises, and how they map to exit statuses.

`BadInput` is the user's mistake (exit 2, one line naming file and field);
any other exception is a failure while running (exit 1).
"""

from __future__ import annotations

from pathlib import Path


class BadInput(Exception):
    """Bad usage or bad input: the tool exits 2 with one line."""

    exit_code = 2

    def __init__(self, message: str, file: str | Path | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field

    def line(self) -> str:
        where = ", ".join(x for x in (self.file, self.field) if x)
        text = " ".join(self.message.split())
        return f"error: {text} ({where})" if where else f"error: {text}"
