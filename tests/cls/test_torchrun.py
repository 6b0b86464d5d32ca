"""`wt-cls fit` under torchrun as two "nodes" on this machine (one process each, gloo), the way a cluster
launches it: one MLflow run, one metrics.jsonl, one run manifest, and a validation split of one image (fewer
than the two ranks) does not hang."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cls_helpers import FAST, camtrap_splits, import_folder
from helpers import free_port, manifest_of, tool_path
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
    port = free_port()
    torchrun = str(Path(sys.executable).parent / "torchrun")
    nodes = []
    for node in range(2):
        cmd = [torchrun, "--nnodes", "2", "--nproc_per_node", "1", "--node_rank", str(node),
               "--master_addr", "127.0.0.1", "--master_port", str(port), tool_path("wt-cls"), "fit",
               "--dataset", str(ds), "--out", str(out), *FAST, "--device", "cpu", "--trainer.devices", "1",
               "--trainer.num_nodes", "2", "--trainer.strategy", "ddp", "--train.epochs", "2"]
        nodes.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(tmp_path / f"node{node}.log", "w"),
                                      text=True, cwd=tmp_path, start_new_session=True))
    outputs = []
    try:
        for p in nodes:
            outputs.append(p.communicate(timeout=LIMIT)[0])
    except subprocess.TimeoutExpired:
        logs = "\n".join((tmp_path / f"node{k}.log").read_text()[-1500:] for k in range(2))
        pytest.fail(f"torchrun's two nodes did not finish in {LIMIT} s (a hang):\n{logs}")
    finally:
        for p in nodes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for k, p in enumerate(nodes):
        assert p.returncode == 0, (tmp_path / f"node{k}.log").read_text()[-4000:]
    printed = [line for o in outputs for line in o.splitlines() if line.strip()]
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
