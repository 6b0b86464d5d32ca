"""`wt-cls fit` learns, records every epoch, tracks one MLflow run, and its checkpoint alone rebuilds the predictor."""

from __future__ import annotations

import json
import os
from pathlib import Path

from wt_core.metrics_log import read_metrics


def test_two_epochs_on_separable_classes_learn_well_above_chance(trained):
    rows = read_metrics(Path(trained["_path"]).parent)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[-1]["val/acc"] >= 0.6, rows  # chance is 0.33; seen 0.78-0.88 over CPUs, threads 1-2, seeds 0-1
    best = next(r for r in rows if r["val/f1_macro"] == max(r["val/f1_macro"] for r in rows))  # the first best
    assert trained["details"]["best_epoch"] == best["epoch"]
    assert trained["metrics"]["val/f1_macro"] == best["val/f1_macro"]
    # the standard names of classification beside Lightning's keys, validation metrics only
    assert trained["metrics"]["f1_macro"] == best["val/f1_macro"] and trained["metrics"]["acc"] == best["val/acc"]
    assert not any(k.startswith(("train/", "lr")) for k in trained["metrics"])


def test_run_manifest_names_dataset_weights_and_preprocessing(trained, sep_ds):
    ds = json.loads(sep_ds.read_text())
    assert trained["kind"] == "run" and trained["framework"] == "cls" and trained["task"] == "classify"
    assert trained["classes"] == ds["classes"] == ["boar", "deer", "fox"]
    assert trained["dataset_id"] == ds["id"] and trained["parents"][0]["id"] == ds["id"]
    assert set(trained["weights"]) == {"best", "last"}
    root = Path(trained["_path"]).parent
    for name in ("best", "last", "metrics", "config"):
        assert (root / trained["artifacts"][name]["path"]).is_file()
    assert trained["details"]["input_size"] == 64 and len(trained["details"]["mean"]) == 3
    assert trained["producer"]["config"]["model"]["backbone"] == "test_efficientnet_gn"
    assert not any(p.name.endswith(".partial") for p in root.parent.iterdir())


def test_one_mlflow_run_with_params_epoch_metrics_and_artifacts(trained):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    run = client.get_run(trained["tracking"]["run_id"])
    assert run.data.params["model.backbone"] == "test_efficientnet_gn"
    assert run.data.params["train.epochs"] == "2"
    assert run.data.tags["wt.dataset_id"] == trained["dataset_id"]
    history = client.get_metric_history(run.info.run_id, "val/acc")
    assert sorted(m.step for m in history) == [1, 2]
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"weights", "metrics.jsonl", "manifest.json", "config.yaml"} <= names
    assert run.data.tags["wt.command"] == "wt-cls fit" and run.data.tags["wt.task"] == "classify"
    assert run.data.metrics["best/acc"] == trained["metrics"]["acc"]


def test_checkpoint_alone_rebuilds_the_predictor(trained, sep_ds):
    """A .ckpt file with no manifest beside it: classes and preprocessing come from inside it."""
    import shutil

    from wt_cls import load

    root = Path(trained["_path"]).parent
    lonely = Path("lonely.ckpt")
    shutil.copy(root / trained["artifacts"]["best"]["path"], lonely)
    predictor = load(lonely)
    assert predictor.classes == trained["classes"] and predictor.input_size == 64
    images = sorted((Path(json.loads(sep_ds.read_text())["splits"]["test"]["image_root"]) / "fox").glob("*.jpg"))[:5]
    rows = predictor.predict(images)
    assert len(rows) == 5 and all(abs(sum(r["scores"]) - 1) < 1e-5 for r in rows)
    assert [r["label"] for r in rows] == [r["label"] for r in load(root).predict(images)]  # the run's own model
