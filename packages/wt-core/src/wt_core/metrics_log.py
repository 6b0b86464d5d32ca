"""`metrics.jsonl`: one JSON line per epoch, appended while training runs."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"


def finite_metrics(metrics: dict[str, Any], rename: Callable[[str], str] = str) -> dict[str, float]:
    """The metrics that are finite numbers, as floats, their names passed through `rename`."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[rename(k)] = f
    return out


class MetricsLog:
    def __init__(self, directory: str | Path):
        self.path = Path(directory) / METRICS_FILE

    def write(self, epoch: int, metrics: dict[str, Any]) -> None:
        row: dict[str, Any] = {"epoch": int(epoch)}
        for k, v in metrics.items():
            v = float(v)
            row[k] = v if math.isfinite(v) else None
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()

    def read(self) -> list[dict[str, Any]]:
        return read_metrics(self.path)

    def truncate_after(self, epoch: int) -> None:
        """Keep the lines up to `epoch` (a resumed run rewrites later ones)."""
        rows = [r for r in self.read() if r["epoch"] <= epoch]
        self.path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The complete lines of a metrics.jsonl (a line being written is skipped)."""
    p = Path(path)
    if p.is_dir():
        p = p / METRICS_FILE
    if not p.exists():
        return []
    rows = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows
