"""`wt-cls fit --resume` while a fit runs: refused; after SIGKILL: refused when an option changed that may not, continued with more epochs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

from cls_helpers import FAST, camtrap_splits, fit, import_folder
from helpers import assert_bad_input, manifest_of, tool_path
from wt_core.metrics_log import read_metrics


def test_kill_9_then_resume_checks_options_and_finishes_more_epochs(tmp_path):
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
    os.kill(proc.pid, signal.SIGSTOP)  # alive and holding its output: a second fit of it is refused, whatever flags
    try:
        for flags in (["--resume"], ["--overwrite"]):
            second = fit(sep_ds, out, "--trainer.max_epochs", "3", *flags, check=False)
            assert_bad_input(second, f"being written by PID {proc.pid} on host {socket.gethostname()}")
        assert (partial / "checkpoints" / "last.ckpt").is_file()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert not out.exists() and [r["epoch"] for r in read_metrics(partial)][:1] == [1]
    state = json.loads((partial / "wt-state.json").read_text())
    before = sorted(p.name for p in partial.rglob("*"))

    # another backbone, another dataset, fewer epochs: refused with one line naming the option, nothing touched
    other_ds = import_folder(camtrap_splits(tmp_path / "other", train=4, val=2, test=0), tmp_path / "ds2")
    for args, option in ((["--model.backbone", "resnet10t"], "model.backbone"),
                         (["--model.input_size", "48"], "model.input_size"),
                         (["--trainer.max_epochs", "2"], "trainer.max_epochs")):
        proc = fit(sep_ds, out, "--trainer.max_epochs", "3", *args, "--resume", check=False)
        line = assert_bad_input(proc, f"--{option} differs from the interrupted run's", option)
        assert len(line) < 500, line  # one readable line
    proc = fit(other_ds, out, "--trainer.max_epochs", "3", "--resume", check=False)
    assert_bad_input(proc, "another dataset", "dataset")
    assert sorted(p.name for p in partial.rglob("*")) == before

    # more epochs may change: the same MLflow run continues to epoch 4, and the manifest says what changed
    m = manifest_of(fit(sep_ds, out, "--trainer.max_epochs", "4", "--resume"))
    assert m["details"]["resumed"] is True
    assert m["details"]["changed_on_resume"] == {"trainer.max_epochs": {"from": 3, "to": 4}}
    rows = read_metrics(out)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert m["details"]["epochs"] == 4
    assert m["tracking"]["run_id"] == state["mlflow_run_id"]
    assert not partial.exists()
