"""The study is a parent MLflow run; each trial's own run (made by the target) is its child."""

from __future__ import annotations

import pytest
from tune_helpers import study_config, toy, trials_of

from tests.conftest import manifest_of, run_cli


def test_trials_are_child_runs_of_the_study_run(tmp_path):
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "1", "--track", "true"), n_trials=2,
                       track=True, pruner={"name": "none"})
    m = manifest_of(run_cli("wt-tune", "run", "--config", cfg, "--out", tmp_path / "s", check=True, timeout=400))
    import mlflow

    client = mlflow.MlflowClient(m["tracking"]["uri"])
    run_id = m["tracking"]["run_id"]
    experiments = [e.experiment_id for e in client.search_experiments()]
    children = client.search_runs(experiments, f"tags.mlflow.parentRunId = '{run_id}'")
    trial_runs = {t.user_attrs["mlflow_run_id"] for t in trials_of(tmp_path / "s")}
    assert len(trial_runs) == 2 and {r.info.run_id for r in children} == trial_runs
    parent = client.get_run(run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best_value"] == pytest.approx(m["best_value"])
    assert parent.data.tags["best.trial"] == str(m["details"]["best_trial"])
    assert "trials.csv" in {a.path for a in client.list_artifacts(run_id)}
