"""MLflow logged from a helper process (wt_core.mlflow_process): one run, its end status, a trainer's kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

TRAINER = """
import json, sys, time
from wt_core.mlflow_process import mlflow_helper
from wt_core.metrics_log import MetricsLog
mode = sys.argv[1]
with mlflow_helper() as run:
    if mode == "bad-before-start":
        raise SystemExit(2)
    run.start("wt-test", "fit-1", params={"model": {"name": "n"}, "epochs": 3}, tags={"wt.dataset_id": "d1"},
              run_id=sys.argv[2] if len(sys.argv) > 2 else None)
    if mode == "resume":
        run.log_missing_epochs([{"epoch": 1, "loss": 9.0}, {"epoch": 2, "loss": 0.4}])
        run.log_metrics({"loss": 0.3}, step=3)
    else:
        run.log_metrics({"loss": 0.5}, step=1)
    open("metrics.jsonl", "w").write("{}")
    run.log_artifact("metrics.jsonl")
    print(json.dumps(run.tracking.model_dump()), flush=True)
    if mode == "hang":
        time.sleep(600)
    if mode == "fail":
        raise RuntimeError("training diverged")
"""


def trainer(tmp_path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", TRAINER, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=240, **kw)


def client_and_run(proc):
    import mlflow

    t = json.loads(proc.stdout.strip().splitlines()[-1])
    client = mlflow.MlflowClient(t["uri"])
    return client, client.get_run(t["run_id"])


def wait_for_status(client, run_id, status, seconds=60):
    deadline = time.monotonic() + seconds
    while (got := client.get_run(run_id).info.status) != status and time.monotonic() < deadline:
        time.sleep(0.5)
    return got


def test_one_finished_run_with_params_metrics_artifacts_and_resume(tmp_path):
    proc = trainer(tmp_path, "ok")
    assert proc.returncode == 0, proc.stderr[-3000:]
    client, run = client_and_run(proc)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"model.name": "n", "epochs": "3"} and run.data.tags["wt.dataset_id"] == "d1"
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["metrics.jsonl"]
    # a resumed run: the same run again, epoch 1 (already logged) kept, epoch 2 (lost by a kill) logged now
    proc = trainer(tmp_path, "resume", run.info.run_id)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _, again = client_and_run(proc)
    assert again.info.run_id == run.info.run_id and again.info.status == "FINISHED"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 0.5), (2, 0.4), (3, 0.3)]
    assert len(client.search_runs([run.info.experiment_id])) == 1


def test_a_failing_trainer_leaves_a_failed_run_and_its_own_error(tmp_path):
    proc = trainer(tmp_path, "fail")
    assert proc.returncode == 1 and "training diverged" in proc.stderr
    _, run = client_and_run(proc)
    assert run.info.status == "FAILED"


def test_kill_9_of_the_trainer_marks_the_run_killed(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", TRAINER, "hang"], cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    os.kill(p.pid, signal.SIGKILL)
    p.wait(30)
    client, run = client_and_run(subprocess.CompletedProcess([], 0, stdout=line))
    assert wait_for_status(client, run.info.run_id, "KILLED") == "KILLED"


def test_no_run_when_the_trainer_stops_before_start(tmp_path):
    proc = trainer(tmp_path, "bad-before-start")
    assert proc.returncode == 2
    assert not (tmp_path / "mlflow.db").exists()


def test_resuming_an_unknown_run_is_a_bad_input(tmp_path):
    proc = trainer(tmp_path, "resume", "0123456789abcdef0123456789abcdef")
    assert proc.returncode == 1
    assert "the MLflow run to resume is not in the tracking store" in proc.stderr


@pytest.fixture(autouse=True)
def local_tracking(monkeypatch, tmp_path):
    """The default local store (sqlite in the working directory), as a user without a server gets."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def test_the_helper_keeps_mlflow_bookkeeping_off_the_log(tmp_path):
    """A fresh tracking database: MLflow creates and migrates its tables in the helper process without a line
    about it on stderr (wt_core.library_logs applies there as in the trainer)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'fresh.db'}"}
    proc = trainer(tmp_path, "ok", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "fresh.db").exists()
    assert "mlflow" not in proc.stderr.lower() and "alembic" not in proc.stderr.lower(), proc.stderr
