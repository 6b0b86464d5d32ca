"""wt-registry against a real `mlflow server` process on loopback (sqlite backend, proxied artifacts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import manifest_of, run_cli
from registry_helpers import cli

pytestmark = pytest.mark.slow

def test_register_show_pull_load_through_a_tracking_server(mlflow_server, runs, tmp_path, capfd, monkeypatch):
    env = {"MLFLOW_TRACKING_URI": mlflow_server}
    reg = run_cli("wt-registry", "register", "--name", "srv-det", "--detector", runs["detector"], "--classifier",
                  runs["classifier"], "--alias", "champion", "--thresholds.conf", "0.001", "--out", tmp_path / "m",
                  env=env, check=True)
    m = manifest_of(reg)
    assert m["tracking"]["uri"] == mlflow_server and m["version"] == "1" and m["framework"] == "yolo+cls"
    shown = json.loads(cli(capfd, "show", "--model", "srv-det", "--json", env=env).stdout)
    assert shown["aliases"] == {"champion": "1"}
    pulled = cli(capfd, "pull", "--model", "srv-det@champion", "--cache", tmp_path / "cache", env=env)
    files = manifest_of(pulled)["artifacts"]
    assert files["artifacts/detector.pt"]["sha256"] == m["details"]["files"]["artifacts/detector.pt"]
    assert Path(pulled.stdout.strip()).parent.name == "1"
    import wt_registry

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    model = wt_registry.load("models:/srv-det@champion")  # artifacts come through the server
    assert model.metadata["two_stage"] is True and model.classifier is not None
    assert all(d.class_name in model.classes for d in model.predict([runs["image"]])[0])
