"""A real study over `wt-cls fit` (1 epoch, a tiny net on generated camera-trap images, two workers).

Also the tracking check: the study is a parent MLflow run, the trials' runs (made by wt-cls) its children.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.conftest import manifest_of, run_cli, tool_path

pytest.importorskip("wt_cls")
FAST = ("--data.train_split all --model.backbone resnet10t --model.input_size 32 --data.num_workers 0 "
        "--trainer.max_epochs 1 --trainer.progress_bar false")


@pytest.mark.slow
def test_wt_cls_study_and_its_best_yaml_is_the_targets_config(tmp_path):
    import synth

    synth.make_camtrap(tmp_path / "cam", per_class=8, seed=0, size=48)
    ds = manifest_of(run_cli("wt-data", "import", "--source", tmp_path / "cam", "--format", "imagefolder",
                             "--out", tmp_path / "ds", check=True))
    study = {"target": f"wt-cls fit --dataset {tmp_path / 'ds'} {FAST}",
             "space": {"optimizer.lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
                       "data.batch_size": {"type": "categorical", "choices": [8, 16]}},
             "objective": "val/acc", "n_trials": 2, "pruner": {"name": "none"}, "plots": False, "workers": 2}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    m = manifest_of(run_cli("wt-tune", "run", "--config", tmp_path / "study.yaml", "--out", tmp_path / "study",
                            check=True, timeout=600))
    assert m["details"]["states"] == {"COMPLETE": 2}
    assert 0.0 <= m["best_value"] <= 1.0
    (parent,) = m["parents"]
    best_run = json.loads((tmp_path / "study" / parent["path"]).read_text())
    assert best_run["kind"] == "run" and best_run["dataset_id"] == ds["id"]
    assert best_run["metrics"]["val/acc"] == m["best_value"]
    # each trial's MLflow run (made by wt-cls itself) is a child of the study's run
    import mlflow

    client = mlflow.MlflowClient(m["tracking"]["uri"])
    run_id = m["tracking"]["run_id"]
    children = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                  f"tags.mlflow.parentRunId = '{run_id}'")
    assert len(children) == 2 and best_run["tracking"]["run_id"] in {r.info.run_id for r in children}
    parent = client.get_run(run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best_value"] == pytest.approx(m["best_value"])
    assert parent.data.tags["best.trial"] == str(m["details"]["best_trial"])
    assert {"trials.csv", "best.yaml"} <= {a.path for a in client.list_artifacts(run_id)}
    best = yaml.safe_load((tmp_path / "study" / "best.yaml").read_text())
    assert best["optimizer"]["lr"] == m["best_params"]["optimizer.lr"] and best["out"] is None
    # wt-cls takes best.yaml back unchanged (the real re-run of a best.yaml is in test_study with the toy target
    # and in the demo pipeline; a third training run here would cost a minute of CI)
    proc = subprocess.run([tool_path("wt-cls"), "fit", "--config", str(tmp_path / "study" / "best.yaml"),
                           "--print_config"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert yaml.safe_load(proc.stdout) == best
