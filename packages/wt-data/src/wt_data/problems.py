"""What to do with an invalid item: stop, skip it, or clip it, and count it either way.

Every reader and check reports a problem here with the file and field (or line)
it came from. `error` stops at the first one with that one line (exit 2);
`skip` and `clip` go on and count each item by reason in the manifest's report;
`collect` (validate) keeps every problem for the full report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wt_core.errors import BadInput

OnInvalid = Literal["error", "skip", "clip"]


@dataclass
class Problem:
    reason: str
    message: str
    file: str | None
    where: str | None
    action: str

    def line(self) -> str:
        loc = ", ".join(x for x in (self.file, self.where) if x)
        return f"{self.message} ({loc})" if loc else self.message


@dataclass
class Problems:
    mode: Literal["error", "skip", "clip", "collect"] = "error"
    counts: Counter = field(default_factory=Counter)
    items: list[Problem] = field(default_factory=list)

    def skip(self, reason: str, message: str, file: str | Path | None = None, where: str | None = None) -> None:
        """An item that cannot be used: raise (error) or count it as skipped."""
        self._note(reason, message, file, where, "skipped")

    def clip(self, reason: str, message: str, file: str | Path | None = None, where: str | None = None) -> bool:
        """An item that clipping can repair: True when it should be clipped, False when skipped."""
        action = "clipped" if self.mode in ("clip", "collect") else "skipped"
        self._note(reason, message, file, where, action)
        return action == "clipped"

    def note(self, key: str, n: int = 1) -> None:
        """Count an item changed on purpose (e.g. clipped within the tolerance, dropped by mapping)."""
        self.counts[key] += n

    def _note(self, reason: str, message: str, file, where, action: str) -> None:
        file = str(file) if file is not None else None
        if self.mode == "error":
            raise BadInput(message, file, where)
        self.counts[f"{action}_{reason}"] += 1
        self.items.append(Problem(reason, message, file, where, action))

    def report(self) -> dict[str, int]:
        return {k: int(v) for k, v in sorted(self.counts.items()) if v}
