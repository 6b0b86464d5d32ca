"""fit: a 2-epoch yolo11n run from scratch on tiles, killed with SIGKILL after epoch 1 and resumed."""

from __future__ import annotations

import os
import signal

from helpers import read_json, written
from wt_core.manifest_io import read_manifest
from wt_core.metrics_log import read_metrics
from yolo_helpers import assert_no_network


def test_kill_9_then_resume_finishes_the_planned_epochs(trained):
    assert trained.first.returncode == -signal.SIGKILL, trained.first_stderr[-2000:]
    m, d = written(trained.resumed)
    assert d == trained.out and not trained.partial.exists()
    assert "resuming from" in trained.resumed.stderr
    rows = read_metrics(d / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2], rows  # epoch 1 not trained twice, epoch 2 done
    assert {"train/box_loss", "mAP50", "mAP50-95", "fitness"} <= set(rows[-1])
    assert m["details"]["epochs"] == 2


def test_run_manifest_records_weights_classes_metrics_and_lineage(trained, run_dir, yolo_data):
    run = read_manifest(run_dir, "run")  # schema, artifacts and their sha256, parent digest all verified
    assert run.framework == "yolo" and run.task == "detect"
    assert run.classes == ["elephant", "giraffe", "zebra"]
    assert run.weights == {"best": "best", "last": "last"}
    assert run.imgsz == 320
    assert {"mAP50", "mAP50-95", "precision", "recall"} <= set(run.metrics)
    ds = read_json(yolo_data.tiles / "manifest.json")
    assert run.dataset_id == ds["id"] and run.parents[0].id == ds["id"]
    assert run.producer.config["ultralytics"]["epochs"] == 2
    assert run.producer.config["ultralytics"]["lr0"] == 0.01  # defaults recorded too
    assert run.tracking is not None and run.tracking.run_id


def test_best_weights_reload_and_predict(run_dir, yolo_data):
    from ultralytics import YOLO

    model = YOLO(str(run_dir / "train" / "weights" / "best.pt"))
    assert model.names == {0: "elephant", 1: "giraffe", 2: "zebra"}
    image = next((yolo_data.raw / "images").glob("*.jpg"))
    results = model.predict(str(image), imgsz=320, conf=0.001, verbose=False, save=False)
    assert results[0].boxes is not None


def test_exactly_one_mlflow_run_with_metrics_per_epoch(trained, run_dir):
    import mlflow

    run = read_json(run_dir / "manifest.json")
    client = mlflow.MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
    found = client.search_runs([run["tracking"]["experiment_id"]],
                               filter_string=f"tags.`wt.dataset_id` = '{run['dataset_id']}'")
    assert [r.info.run_id for r in found] == [run["tracking"]["run_id"]]  # the resume continued the same run
    r = found[0]
    assert r.info.status == "FINISHED"
    assert r.data.params["ultralytics.epochs"] == "2"
    steps = [mm.step for mm in client.get_metric_history(r.info.run_id, "mAP50")]
    assert sorted(set(steps)) == [1, 2]
    assert "final/mAP50" in r.data.metrics
    names = {a.path for a in client.list_artifacts(r.info.run_id)}
    assert {"best.pt", "manifest.json", "config.yaml"} <= names
    # Ultralytics' own MLflow callback stayed off: no other run, no experiment named after its project
    everything = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                    filter_string=f"attributes.start_time >= {trained.started_ms}")
    assert [r.info.run_id for r in everything] == [run["tracking"]["run_id"]]
    assert client.get_experiment_by_name(str(trained.partial)) is None
    assert not (trained.base / "mlflow.db").exists()


def test_fit_and_resume_never_reach_the_network(trained):
    assert_no_network(trained.log)


def test_nothing_written_outside_the_output(trained):
    assert not (trained.base / "runs").exists()
    assert sorted(p.name for p in trained.base.iterdir() if p.name not in ("mlruns", "mlartifacts")) == \
        ["first.log", "nonet.jsonl", "run"]
