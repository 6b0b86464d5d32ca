"""`wt-cls fit --resume` after SIGKILL: refused when an option changed that may not, continued with more epochs."""

from __future__ import annotations

import json
import os
import signal

from cls_helpers import FAST, camtrap_splits, fit, import_folder
from helpers import assert_bad_input, held_writer, manifest_of
from wt_core.metrics_log import read_metrics


def test_kill_9_then_resume_checks_options_and_finishes_more_epochs(tmp_path):
    sep_ds = import_folder(camtrap_splits(tmp_path / "images", train=20, val=5, test=0), tmp_path / "ds")
    out = tmp_path / "run"
    partial = tmp_path / "run.partial"
    # held where epoch 2's row is about to be recorded: epoch 1 is in last.ckpt, epoch 2 in no checkpoint (waiting
    # for last.ckpt to appear and then sleeping raced a fast machine, which finished all 3 epochs meanwhile)
    proc = held_writer("wt-cls", "wt_core.training:Training.epoch", tmp_path / "gate", "fit", "--dataset", sep_ds,
                       "--out", out, *FAST, "--train.epochs", "3", cwd=tmp_path, call=2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert not out.exists() and [r["epoch"] for r in read_metrics(partial)] == [1]
    assert (partial / "checkpoints" / "last.ckpt").is_file()
    state = json.loads((partial / "wt-state.json").read_text())
    before = sorted(p.name for p in partial.rglob("*"))

    # another backbone, another dataset, fewer epochs: refused with one line naming the option, nothing touched
    other_ds = import_folder(camtrap_splits(tmp_path / "other", train=4, val=2, test=0), tmp_path / "ds2")
    for args, option in ((["--model.backbone", "resnet10t"], "model.backbone"),
                         (["--train.imgsz", "48"], "train.imgsz"),
                         (["--train.epochs", "2"], "train.epochs")):
        proc = fit(sep_ds, out, "--train.epochs", "3", *args, "--resume", check=False)
        line = assert_bad_input(proc, f"--{option} differs from the interrupted run's", option)
        assert len(line) < 500, line  # one readable line
    proc = fit(other_ds, out, "--train.epochs", "3", "--resume", check=False)
    assert_bad_input(proc, "another dataset", "dataset")
    assert sorted(p.name for p in partial.rglob("*")) == before

    # more epochs may change: the same MLflow run continues to epoch 4, and the manifest says what changed
    m = manifest_of(fit(sep_ds, out, "--train.epochs", "4", "--resume"))
    assert m["details"]["resumed"] is True
    assert m["details"]["changed_on_resume"] == {"train.epochs": {"from": 3, "to": 4}}
    rows = read_metrics(out)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert m["details"]["epochs"] == 4
    assert m["tracking"]["run_id"] == state["mlflow_run_id"]
    assert not partial.exists()


def test_a_kill_between_an_epoch_row_and_its_checkpoint_leaves_each_epoch_once_in_mlflow(tmp_path):
    """Lightning writes last.ckpt after the harness has recorded the epoch: a kill -9 in between (here: held
    there, then killed) makes the resume train epoch 1 again. MLflow then holds each epoch once, with the
    values metrics.jsonl keeps (the epoch trained again), not the killed attempt's beside them."""
    from helpers import held_writer
    from mlflow.tracking import MlflowClient

    ds = import_folder(camtrap_splits(tmp_path / "images", train=12, val=4, test=0), tmp_path / "ds")
    out = tmp_path / "run"
    args = ["fit", "--dataset", ds, "--out", out, *FAST, "--train.epochs", "2"]
    first = held_writer("wt-cls", "wt_core.training:Training.epoch", tmp_path / "gate", *args, cwd=tmp_path,
                        after=True)
    killed = [r["epoch"] for r in read_metrics(tmp_path / "run.partial")]
    has_checkpoint = (tmp_path / "run.partial" / "checkpoints" / "last.ckpt").exists()
    first.kill()
    first.communicate()
    assert killed == [1] and not has_checkpoint  # the window: epoch 1 recorded, not yet in a checkpoint
    m = manifest_of(fit(ds, out, "--train.epochs", "2", "--resume"))
    rows = read_metrics(out)
    assert [r["epoch"] for r in rows] == [1, 2]
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    run = client.get_run(m["tracking"]["run_id"])
    twice, other = {}, {}
    for key in rows[0]:
        if key == "epoch":
            continue
        history = sorted((h.step, h.value) for h in client.get_metric_history(run.info.run_id, key))
        if [step for step, _ in history] != [1, 2]:
            twice[key] = history
        elif [value for _, value in history] != [r[key] for r in rows]:
            other[key] = (history, [r[key] for r in rows])
    assert not twice, f"epochs not held once: {twice}"
    assert not other, f"MLflow differs from metrics.jsonl: {other}"
