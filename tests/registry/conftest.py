"""Fixtures of the registry tests: one tiny detector run (`wt-yolo fit`) and one tiny classifier
run (`wt-cls fit`), trained once per session by the real trainers on the synthetic sets, and
a real `mlflow server` process on loopback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import mmdet_helpers
import pytest
from helpers import BIN, free_port, run_cli
from registry_helpers import stop, wait_http


@pytest.fixture(scope="session")
def runs(aerial, camtrap, tmp_path_factory) -> dict[str, Path]:
    """Datasets and runs made by the real tools: {'detector': run manifest, 'classifier': ..., 'image': a full-size image}."""
    reuse = os.environ.get("WT_REGISTRY_TEST_RUNS")  # a developer's shortcut: runs made earlier by these same commands
    if reuse:
        r = Path(reuse)
        return {"detector": r / "runs/yolo/manifest.json", "classifier": r / "runs/cls/manifest.json",
                "image": r / "data/aerial/images/survey_000.jpg", "dataset": r / "ds/aerial-split/manifest.json",
                "base": r}
    base = tmp_path_factory.mktemp("registry-runs")
    imp = run_cli("wt-data", "import", "--source", aerial / "coco.json", "--format", "coco", "--out", base / "aerial",
                  check=True, cwd=base).stdout.strip()
    split = run_cli("wt-data", "split", "--dataset", imp, "--ratios", "[0.75,0.25]", "--names", "[train,val]",
                    "--stratify", "false", "--out", base / "aerial-split", check=True, cwd=base).stdout.strip()
    det = run_cli("wt-yolo", "fit", "--dataset", split, "--train.epochs", "1", "--train.imgsz", "320",
                  "--train.batch", "4", "--train.workers", "0", "--ultralytics.plots", "false",
                  "--out", base / "yolo", check=True, cwd=base).stdout.strip()
    cimp = run_cli("wt-data", "import", "--source", camtrap, "--format", "imagefolder", "--out", base / "cam",
                   check=True, cwd=base).stdout.strip()
    csplit = run_cli("wt-data", "split", "--dataset", cimp, "--ratios", "[0.7,0.3]", "--names", "[train,val]",
                     "--out", base / "cam-split", check=True, cwd=base).stdout.strip()
    cls = run_cli("wt-cls", "fit", "--dataset", csplit, "--model.backbone", "mobilenetv3_small_050",
                  "--train.imgsz", "64", "--train.epochs", "1", "--train.batch", "16",
                  "--train.workers", "0", "--out", base / "cls", check=True, cwd=base).stdout.strip()
    image = sorted((aerial / "images").glob("*.jpg"))[0]
    return {"detector": Path(det), "classifier": Path(cls), "image": image, "dataset": Path(split), "base": base}


# the narrow RetinaNet tests/mmdet trains, scoring boxes from 0.001: after one epoch its scores are about 0.01,
# under the preset's 0.05
SMALL_RETINANET = {**mmdet_helpers.SMALL_RETINANET, "model.test_cfg.score_thr": 0.001}


@pytest.fixture(scope="session")
def mmdet_run(tmp_path_factory) -> dict[str, Path]:
    """A one-epoch RetinaNet run of the real `wt-mmdet fit` on 4 small synthetic images: {'run', 'image'}."""
    import json

    reuse = os.environ.get("WT_REGISTRY_TEST_RUNS")
    if reuse and (Path(reuse) / "runs/mmdet/manifest.json").is_file():
        r = Path(reuse)
        return {"run": r / "runs/mmdet/manifest.json", "image": sorted((r / "data/small/images").glob("*.jpg"))[0]}
    import synth

    base = tmp_path_factory.mktemp("registry-mmdet")
    synth.make_aerial(base / "small", images=4, width=320, height=240, seed=1)
    ds = run_cli("wt-data", "import", "--source", base / "small" / "coco.json", "--out", base / "ds", check=True,
                 cwd=base).stdout.strip()
    run = run_cli("wt-mmdet", "fit", "--dataset", ds, "--model", "retinanet_r18_fpn", "--train.epochs", "1",
                  "--train.imgsz", "160", "--train.batch", "2", "--train.workers", "0", "--mmdet.warmup_iters", "2",
                  "--train.val_split", "all", "--cfg_options", json.dumps(SMALL_RETINANET), "--out", base / "mmdet",
                  check=True, cwd=base).stdout.strip()
    return {"run": Path(run), "image": sorted((base / "small" / "images").glob("*.jpg"))[0]}


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 (sqlite backend, proxied artifacts); yields its URL."""
    base = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    cmd = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{base / 'server.db'}",
           "--artifacts-destination", str(base / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1"]
    log = open(base / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=base, start_new_session=True,
                            env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", proc, timeout=300)
        yield url
    finally:
        stop(proc)
        log.close()


