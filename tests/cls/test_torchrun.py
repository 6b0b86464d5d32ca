"""`wt-cls fit` under torchrun as two "nodes" on this machine (one process each, gloo), the way a cluster
launches it: one MLflow run, one metrics.jsonl, one run manifest, and a validation split of one image (fewer
than the two ranks) does not hang."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from cls_helpers import FAST, camtrap_splits, import_folder
from helpers import manifest_of, torchrun_nodes
from wt_core.metrics_log import read_metrics

pytestmark = pytest.mark.slow
LIMIT = 600
"""Seconds the two nodes get; a rank waiting forever for the other (a hang) fails the test loudly."""


def test_torchrun_two_nodes_one_process_each_with_a_val_split_smaller_than_the_world(tmp_path):
    images = camtrap_splits(tmp_path / "images", train=6, val=1, test=0)
    for extra in sorted((images / "val").rglob("*.jpg"))[1:]:
        extra.unlink()  # one validation image for two ranks: one rank's shard of it is padding
    ds = import_folder(images, tmp_path / "ds")
    assert json.loads(ds.read_text())["splits"]["val"]["images"] == 1
    out = tmp_path / "run"
    stdout = torchrun_nodes("wt-cls", ["fit", "--dataset", ds, "--out", out, *FAST, "--device", "cpu",
                                       "--trainer.devices", "1", "--trainer.num_nodes", "2", "--trainer.strategy",
                                       "ddp", "--train.epochs", "2"], cwd=tmp_path, limit=LIMIT)
    printed = [line for line in stdout.splitlines() if line.strip()]
    assert printed == [str(out / "manifest.json")]  # node 0's rank printed the manifest; node 1 printed nothing
    m = manifest_of(subprocess.CompletedProcess([], 0, printed[0] + "\n", ""))
    assert m["details"]["world_size"] == 2
    assert [r["epoch"] for r in read_metrics(out)] == [1, 2]  # one line per epoch
    assert (out / m["artifacts"]["best"]["path"]).is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".log")) == ["ds", "images", "run"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    runs = client.search_runs([m["tracking"]["experiment_id"]], filter_string=f"tags.`wt.output` = '{out}'")
    assert [r.info.run_id for r in runs] == [m["tracking"]["run_id"]]
    assert runs[0].info.status == "FINISHED"
