"""`wt-cls fit` under Lightning's DDP (2 CPU processes, gloo): one MLflow run, one metrics.jsonl, one manifest."""

from __future__ import annotations

import os
from pathlib import Path

from cls_helpers import camtrap_splits, fit, import_folder
from helpers import manifest_of
from wt_core.metrics_log import read_metrics


def test_ddp_on_two_cpu_processes_records_once_from_rank_0(tmp_path):
    ds = import_folder(camtrap_splits(tmp_path / "images", train=8, val=4, test=0), tmp_path / "ds")
    out = tmp_path / "run"
    proc = fit(ds, out, "--device", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
               "--train.epochs", "2", cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert len(proc.stdout.strip().splitlines()) == 1  # rank 1 printed nothing
    m = manifest_of(proc)
    assert m["details"]["world_size"] == 2  # two processes really trained
    rows = read_metrics(out)
    assert [r["epoch"] for r in rows] == [1, 2]  # one line per epoch: rank 1 wrote none
    assert m["details"]["best_epoch"] in (1, 2) and "acc" in m["metrics"]
    assert (out / m["artifacts"]["best"]["path"]).is_file()
    # nothing written beside the one output: no second output directory, no database, no default runs/
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "images", "run"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    runs = client.search_runs([m["tracking"]["experiment_id"]], filter_string=f"tags.`wt.output` = '{out}'")
    assert [r.info.run_id for r in runs] == [m["tracking"]["run_id"]]
    assert runs[0].info.status == "FINISHED"
    assert sorted(x.step for x in client.get_metric_history(runs[0].info.run_id, "val/acc")) == [1, 2]
    assert Path(m["tracking"]["uri"].removeprefix("sqlite:///")).parent != tmp_path
