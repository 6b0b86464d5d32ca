"""wt-yolo test helpers (`from yolo_helpers import ...`: pytest's pythonpath holds this folder)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from helpers import run_cli

NONET = Path(__file__).parent / "nonet"
# tiny, quick settings shared by every training in these tests
QUICK = ["--train.epochs", "2", "--train.imgsz", "320", "--train.batch", "8",
         "--train.workers", "0", "--device", "cpu", "--ultralytics.plots", "false"]


def nonet_env(log: Path) -> dict[str, str]:
    """Environment of a subprocess whose network attempts fail and are recorded in `log`."""
    pp = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": f"{NONET}{os.pathsep}{pp}" if pp else str(NONET), "WT_NONET_LOG": str(log)}


def nonet_events(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def assert_no_network(log: Path) -> None:
    events = nonet_events(log)
    assert events, "the audit hook recorded nothing: was sitecustomize loaded?"
    net = [e for e in events if e["kind"] == "network"]
    assert not net, f"network attempts: {net[:5]}"
    bad = [e for e in events if e["kind"] == "process" and any(w in e["detail"] for w in ("pip", "install", "http", "curl", "wget"))]
    assert not bad, f"installs or downloads started: {bad[:5]}"


def wt_yolo(*args, **kw) -> subprocess.CompletedProcess:
    return run_cli("wt-yolo", *args, **kw)
