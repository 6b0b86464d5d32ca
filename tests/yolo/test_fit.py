"""fit: a yolo11n run from scratch on tiles, killed with SIGKILL after epoch 1, resumed with more epochs; resumes
with changed options are refused."""

from __future__ import annotations

import os
import signal

from helpers import assert_bad_input, read_json, tool_path, written
from wt_core.manifest_io import read_manifest
from wt_core.metrics_log import read_metrics
from yolo_helpers import QUICK, assert_no_network, wt_yolo


def test_kill_9_then_resume_with_more_epochs_trains_them(trained):
    assert trained.first.returncode == -signal.SIGKILL, trained.first_stderr[-2000:]
    m, d = written(trained.resumed)
    assert d == trained.out and not trained.partial.exists()
    assert "resuming after epoch 1" in trained.resumed.stderr
    rows = read_metrics(d / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2, 3], rows  # epoch 1 not trained twice, 2 and 3 trained
    assert {"train/box_loss", "mAP50", "mAP50-95", "mAP50_95", "fitness"} <= set(rows[-1])
    assert m["details"]["epochs"] == 3 and m["details"]["train_args"]["epochs"] == 3
    assert m["details"]["changed_on_resume"] == {"train.epochs": {"from": 2, "to": 3}}


def test_manifest_metrics_are_the_validation_of_the_selected_epoch(trained, run_dir):
    m = read_json(run_dir / "manifest.json")
    rows = read_metrics(run_dir / "metrics.jsonl")
    # tiles of a split dataset: the selection metric is mAP50 on the whole val photos (first of equals)
    assert m["details"]["select"] == {"metric": "full/mAP50", "mode": "max"}
    scored = [r for r in rows if "full/mAP50" in r]
    best = next(r for r in scored if r["full/mAP50"] == max(s["full/mAP50"] for s in scored))
    assert m["details"]["best_epoch"] == best["epoch"]
    assert m["metrics"] == {k: v for k, v in best.items()
                            if k not in ("epoch", "epoch_s") and not k.startswith(("train/", "lr"))}
    assert m["metrics"]["mAP50_95"] == m["metrics"]["mAP50-95"]


def test_run_manifest_records_weights_classes_metrics_and_lineage(trained, run_dir, yolo_data):
    run = read_manifest(run_dir, "run")  # schema, artifacts and their sha256, parent digest all verified
    assert run.framework == "yolo" and run.task == "detect"
    assert run.classes == ["elephant", "giraffe", "zebra"]
    assert run.weights == {"best": "best", "last": "last"}
    assert run.imgsz == 320
    assert {"mAP50", "mAP50_95", "precision", "recall", "mAP50-95"} <= set(run.metrics)
    ds = read_json(yolo_data.tiles / "manifest.json")
    assert run.dataset_id == ds["id"] and run.parents[0].id == ds["id"]
    assert run.producer.config["train"]["epochs"] == 3 and run.producer.config["device"] == "cpu"
    assert run.producer.config["train"]["lr"] == 0.01  # defaults recorded too
    assert run.details["train_args"]["epochs"] == 3  # as Ultralytics ran
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
    assert r.data.params["train.epochs"] == "2"
    twice = {}  # each epoch once in every metric's history, though the run was killed after epoch 1 and resumed
    for key in r.data.metrics:
        if not key.startswith("best/"):
            steps = sorted(mm.step for mm in client.get_metric_history(r.info.run_id, key))
            if len(steps) != len(set(steps)):
                twice[key] = steps
    assert not twice, twice
    assert r.data.metrics["best/mAP50"] == run["metrics"]["mAP50"]
    assert r.data.tags["wt.command"] == "wt-yolo fit" and r.data.tags["wt.framework"] == "yolo"
    names = {a.path for a in client.list_artifacts(r.info.run_id)}
    assert {"weights", "manifest.json", "config.yaml", "metrics.jsonl"} <= names
    # Ultralytics' own MLflow callback stayed off: no other run while it trained (later tests of the session
    # train runs of their own), no experiment named after its project
    everything = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                    filter_string=f"attributes.start_time >= {trained.started_ms} and "
                                                  f"attributes.start_time <= {trained.finished_ms}")
    assert [r.info.run_id for r in everything] == [run["tracking"]["run_id"]]
    assert client.get_experiment_by_name(str(trained.partial)) is None
    assert not (trained.base / "mlflow.db").exists()


def test_fit_and_resume_never_reach_the_network(trained):
    assert_no_network(trained.log)


def test_nothing_written_outside_the_output(trained):
    assert not (trained.base / "runs").exists()
    assert sorted(p.name for p in trained.base.iterdir() if p.name not in ("mlruns", "mlartifacts")) == \
        ["first.log", "nonet.jsonl", "run"]


def test_resume_with_another_dataset_imgsz_or_model_is_refused(yolo_data, tmp_path):
    """The issue's case: killed early, then resumed with other options; each is refused, naming the option."""
    import subprocess
    import time

    out, partial = tmp_path / "run", tmp_path / "run.partial"
    cmd = [tool_path("wt-yolo"), "fit", "--dataset", str(yolo_data.tiles), *QUICK, "--out", str(out)]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.monotonic() + 300
    while not (partial / "wt-state.json").exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()
    first.communicate()
    assert (partial / "wt-state.json").exists()
    before = sorted(p.name for p in partial.rglob("*"))
    for args, option in ((["--dataset", str(yolo_data.full)], "dataset"),
                         (["--train.imgsz", "160"], "train.imgsz"),
                         (["--model", "yolo11s.yaml"], "model"),
                         (["--train.epochs", "1"], "train.epochs")):
        proc = wt_yolo("fit", "--dataset", yolo_data.tiles, *QUICK, "--out", out, *args, "--resume", cwd=tmp_path)
        assert_bad_input(proc, option)
    assert sorted(p.name for p in partial.rglob("*")) == before
