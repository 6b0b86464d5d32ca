"""wt-mmdet fixtures: one small detection dataset and one RetinaNet run, trained once per session.

The run is trained the hard way: `wt-mmdet fit` is killed with SIGKILL once its
first epoch's checkpoint is on disk, then finished with `--resume`; the resume
test checks that story and the other tests reuse the finished run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import manifest_of, run_cli, tool_path
from mmdet_helpers import FIT_ARGS, SMALL_RETINANET


@pytest.fixture(scope="session")
def small_ds(tmp_path_factory) -> Path:
    """4 synthetic aerial images (about 320-700 px wide), imported as one split 'all'."""
    import synth

    base = tmp_path_factory.mktemp("mmdet-data")
    synth.make_aerial(base / "aerial", images=4, width=320, height=240, seed=1)
    proc = run_cli("wt-data", "import", "--source", base / "aerial" / "coco.json", "--out", base / "ds", check=True)
    return Path(proc.stdout.strip()).parent


@pytest.fixture(scope="session")
def retina(tmp_path_factory, small_ds) -> dict:
    """A 2-epoch RetinaNet run: killed (SIGKILL) after epoch 1, then resumed. Returns what happened."""
    base = tmp_path_factory.mktemp("mmdet-run")
    out = base / "run"
    args = ["fit", "--dataset", small_ds, "--model", "retinanet_r18_fpn", "--train.epochs", "2", *FIT_ARGS,
            "--cfg_options", json.dumps(SMALL_RETINANET), "--out", out]
    proc = subprocess.Popen([tool_path("wt-mmdet"), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=base, env=os.environ.copy())
    ledger = base / "run.partial" / "mmdet" / "checkpoints.sha256"
    metrics = base / "run.partial" / "metrics.jsonl"
    deadline = time.time() + 600
    killed = False
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and ledger.exists() and "epoch_1.pth" in ledger.read_text():
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.2)
    _, first_err = proc.communicate(timeout=60)
    assert killed, f"fit ended (exit {proc.returncode}) before it could be killed:\n{first_err[-3000:]}"
    metrics_before = metrics.read_text()
    resumed = run_cli("wt-mmdet", *args, "--resume", cwd=base, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    return {"dir": out, "manifest": manifest_of(resumed), "stderr": resumed.stderr, "metrics_before": metrics_before,
            "cwd": base}
