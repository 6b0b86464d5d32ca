"""`wt-cls fit --resume` after SIGKILL mid-training finishes the planned epochs, in the same MLflow run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from cls_helpers import FAST, camtrap_splits, fit, import_folder
from helpers import manifest_of, tool_path
from wt_core.metrics_log import read_metrics


def test_kill_9_then_resume_finishes_the_planned_epochs(tmp_path):
    sep_ds = import_folder(camtrap_splits(tmp_path / "images", train=20, val=5, test=0), tmp_path / "ds")
    out = tmp_path / "run"
    partial = tmp_path / "run.partial"
    cmd = [tool_path("wt-cls"), "fit", "--dataset", str(sep_ds), "--out", str(out), *FAST,
           "--trainer.max_epochs", "3"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if (partial / "checkpoints" / "last.ckpt").is_file():  # epoch 1 is checkpointed: kill mid-epoch 2
            time.sleep(0.5)  # let the checkpoint file be written whole
            break
        time.sleep(0.05)
    assert proc.poll() is None, "fit ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert not out.exists() and [r["epoch"] for r in read_metrics(partial)][:1] == [1]
    run_id = json.loads((partial / "tracking.json").read_text())["run_id"]

    m = manifest_of(fit(sep_ds, out, "--trainer.max_epochs", "3", "--resume"))
    assert m["details"]["resumed"] is True
    rows = read_metrics(out)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert m["metrics"]["epochs"] == 3.0
    assert m["tracking"]["run_id"] == run_id
    assert not partial.exists()
