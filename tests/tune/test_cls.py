"""A real study over `wt-cls fit` (4 trials of 1 epoch, a tiny net on generated camera-trap images, two workers).

Also the tracking check: the study is a parent MLflow run, the trials' runs (made by wt-cls) its children.
"""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import call_cli, manifest_of, run_cli

pytest.importorskip("wt_cls")
FAST = ("--train.split all --model.backbone resnet10t --train.imgsz 32 --train.workers 0 "
        "--train.epochs 1 --trainer.progress_bar false")


@pytest.mark.slow
def test_wt_cls_study_of_4_trials_and_its_best_yaml_reruns_the_target(tmp_path):
    import synth

    synth.make_camtrap(tmp_path / "cam", per_class=8, seed=0, size=48)
    ds = manifest_of(call_cli("wt-data", "import", "--source", tmp_path / "cam", "--format", "imagefolder",
                              "--out", tmp_path / "ds", check=True))
    study = {"target": f"wt-cls fit --dataset {tmp_path / 'ds'} {FAST}",
             "space": {"train.lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
                       "train.batch": {"type": "categorical", "choices": [8, 16]}},
             "objective": "acc", "n_trials": 4, "pruner": {"name": "none"}, "plots": False, "workers": 2}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    m = manifest_of(call_cli("wt-tune", "run", "--config", tmp_path / "study.yaml", "--out", tmp_path / "study",
                             check=True))
    assert m["details"]["states"] == {"COMPLETE": 4}
    assert 0.0 <= m["best_value"] <= 1.0
    (parent,) = m["parents"]
    best_run = json.loads((tmp_path / "study" / parent["path"]).read_text())
    assert best_run["kind"] == "run" and best_run["dataset_id"] == ds["id"]
    assert best_run["metrics"]["acc"] == m["best_value"]
    # each trial's MLflow run (made by wt-cls itself) is a child of the study's run
    import mlflow

    client = mlflow.MlflowClient(m["tracking"]["uri"])
    run_id = m["tracking"]["run_id"]
    children = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                  f"tags.mlflow.parentRunId = '{run_id}'")
    assert len(children) == 4 and best_run["tracking"]["run_id"] in {r.info.run_id for r in children}
    parent = client.get_run(run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best_value"] == pytest.approx(m["best_value"])
    assert parent.data.tags["best.trial"] == str(m["details"]["best_trial"])
    assert {"trials.csv", "best.yaml"} <= {a.path for a in client.list_artifacts(run_id)}
    best = yaml.safe_load((tmp_path / "study" / "best.yaml").read_text())
    assert best["train"]["lr"] == m["best_params"]["train.lr"] and best["out"] is None
    # best.yaml re-runs the target: the same config, and (seeded, on the same machine) the same score
    rerun = manifest_of(run_cli("wt-cls", "fit", "--config", tmp_path / "study" / "best.yaml",
                                "--out", tmp_path / "rerun", check=True, timeout=600))
    assert rerun["producer"]["config"]["train"]["lr"] == m["best_params"]["train.lr"]
    assert rerun["producer"]["config"]["train"]["batch"] == m["best_params"]["train.batch"]
    assert rerun["dataset_id"] == ds["id"]
    assert rerun["metrics"]["acc"] == pytest.approx(m["best_value"], abs=1e-6)
