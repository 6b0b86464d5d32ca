"""`wt-mmdet fit` under torchrun as two "nodes" on this machine (one process each, gloo), through mmengine's
'pytorch' launcher, the way a cluster runs it, preemption included: both nodes killed -9 after epoch 1 and
started again with --resume. One MLflow run, one metrics.jsonl, one run manifest, each epoch recorded once,
a validation split of one image (fewer than the two ranks) does not hang, and an early stop (--train.patience,
decided by rank 0) stops every rank."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from helpers import call_cli, kill_tree, manifest_of, torchrun_start, torchrun_wait, written
from mmdet_helpers import SMALL_RETINANET
from wt_core.metrics_log import read_metrics

pytestmark = pytest.mark.slow
CFG = {**SMALL_RETINANET, "model.test_cfg.score_thr": 0.0}
"""Every box kept: an untrained model's scores are all under the preset's 0.05, which leaves no metric."""
LIMIT = 420
"""Seconds the two nodes get; a rank waiting forever for the other (a hang) fails the test loudly."""


def test_torchrun_two_nodes_killed_and_resumed_with_a_val_split_smaller_than_the_world(tmp_path):
    import synth

    synth.make_aerial(tmp_path / "aerial", images=4, width=160, height=128, seed=1)
    _, imported = written(call_cli("wt-data", "import", "--source", tmp_path / "aerial" / "coco.json",
                                   "--out", tmp_path / "imported"))
    m_ds, ds = written(call_cli("wt-data", "split", "--dataset", imported, "--ratios", "[0.75, 0.25]", "--names",
                                "[train, val]", "--stratify", "false", "--out", tmp_path / "ds"))
    assert m_ds["splits"]["val"]["images"] == 1  # one validation image for two ranks: one rank's share is padding
    out = tmp_path / "run"
    args = ["fit", "--dataset", ds, "--out", out, "--device", "cpu", "--train.epochs", "3", "--train.patience", "1",
            "--train.imgsz", "128", "--train.batch", "1", "--train.workers", "0", "--mmdet.warmup_iters", "1", "--cfg_options",
            json.dumps(CFG)]
    nodes = torchrun_start("wt-mmdet", args, tmp_path, log="first")
    ledger = tmp_path / "run.partial" / "mmdet" / "checkpoints.sha256"
    metrics = tmp_path / "run.partial" / "metrics.jsonl"  # epoch 1's row follows its checkpoint and validation
    deadline, killed = time.time() + LIMIT, False
    try:
        while time.time() < deadline and all(p.poll() is None for p in nodes):
            if metrics.exists() and ledger.exists() and "epoch_1.pth" in ledger.read_text():
                killed = True
                break
            time.sleep(0.2)
    finally:
        for p in nodes:  # a preempted job: every process of both nodes, at once
            kill_tree(p.pid)
            p.wait()
    assert killed, "\n".join((tmp_path / f"first{k}.log").read_text()[-2000:] for k in range(2))
    assert [r["epoch"] for r in read_metrics(tmp_path / "run.partial")] == [1]

    stdout = torchrun_wait(torchrun_start("wt-mmdet", [*args, "--resume"], tmp_path), tmp_path, LIMIT)
    printed = [line for line in stdout.splitlines() if line.strip()]
    assert printed == [str(out / "manifest.json")]  # node 0's rank printed the manifest; node 1 printed nothing
    m = manifest_of(subprocess.CompletedProcess([], 0, printed[0] + "\n", ""))
    assert (m["details"]["launcher"], m["details"]["world_size"], m["details"]["resumed"]) == ("pytorch", 2, True)
    rows = read_metrics(out)
    assert [r["epoch"] for r in rows] == list(range(1, len(rows) + 1))  # one line per epoch, written once
    assert len(rows) == _last_epoch([r["bbox_mAP"] for r in rows], epochs=3)  # (an untrained model: stops at 2)
    assert all("mAP50" in r for r in rows)  # the one val image was scored, though one rank only held padding
    assert m["metrics"]["mAP50"] == rows[m["details"]["best_epoch"] - 1]["mAP50"]
    assert m["details"]["epochs"] == len(rows)
    assert (out / m["artifacts"]["best"]["path"]).is_file()
    # nothing beside the run: no second output, no mmengine .dist_test folder in the working directory
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".log")) == [
        "aerial", "ds", "imported", "run"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    runs = client.search_runs([m["tracking"]["experiment_id"]], filter_string=f"tags.`wt.output` = '{out}'")
    assert [r.info.run_id for r in runs] == [m["tracking"]["run_id"]]
    assert runs[0].info.status == "FINISHED"
    history = client.get_metric_history(runs[0].info.run_id, "train/loss")
    assert sorted(h.step for h in history) == [r["epoch"] for r in rows]  # each epoch logged once, across the kill


def _last_epoch(scores: list[float], epochs: int) -> int:
    """The epoch a run with --train.patience 1 ends after: the first not strictly better than every earlier one."""
    for e in range(2, len(scores) + 1):
        if scores[e - 1] <= max(scores[: e - 1]):
            return e
    return epochs
