"""Tracking helpers (one MLflow run, local sqlite by default) and the offline switches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from wt_core.errors import BadInput
from wt_core.metrics_log import MetricsLog, finite_metrics, read_metrics


def test_metrics_log_appends_one_line_per_epoch(tmp_path):
    log = MetricsLog(tmp_path)
    log.write(0, {"loss": 1.5, "acc": 0.5})
    log.write(1, {"loss": 1.0, "acc": float("nan")})
    with open(log.path, "a") as f:
        f.write('{"epoch": 2, "lo')  # a line being written is skipped
    assert read_metrics(tmp_path) == [{"epoch": 0, "loss": 1.5, "acc": 0.5}, {"epoch": 1, "loss": 1.0, "acc": None}]
    log.truncate_after(0)
    assert [r["epoch"] for r in log.read()] == [0]


def test_finite_metrics_keeps_finite_numbers_renamed():
    got = finite_metrics({"metrics/mAP50(B)": "0.5", "loss": float("inf"), "lr": None, "name": "x", "n": 3},
                         lambda k: k.removeprefix("metrics/"))
    assert got == {"mAP50(B)": 0.5, "n": 3.0}


LOCAL_RUN = """
import json, sys
from wt_core.mlflow_process import mlflow_helper
with mlflow_helper() as run:
    run.start("wt-test", "fit-1", params={"model": {"name": "yolo11n"}, "epochs": 2}, tags={"wt.dataset_id": "d1"})
    t = run.tracking
    run.log_metrics({"loss": 0.5}, step=0)
print(json.dumps(t.model_dump()))
"""


def test_local_tracking_needs_no_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.run([sys.executable, "-c", LOCAL_RUN], cwd=tmp_path, capture_output=True, text=True,
                          timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    t = json.loads(proc.stdout.strip().splitlines()[-1])
    assert t["uri"] == f"sqlite:///{tmp_path / 'mlflow.db'}" and (tmp_path / "mlflow.db").exists()
    import mlflow

    client = mlflow.MlflowClient(t["uri"])
    run = client.get_run(t["run_id"])
    assert run.data.params == {"model.name": "yolo11n", "epochs": "2"}
    assert run.data.tags["wt.dataset_id"] == "d1"
    assert run.info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())
    assert [m.value for m in client.get_metric_history(t["run_id"], "loss")] == [0.5]
    assert not (tmp_path / "mlruns").exists()


def test_unreachable_tracking_server_fails_fast(monkeypatch):
    from wt_core.tracking import check_reachable

    t0 = time.time()
    with pytest.raises(BadInput) as e:
        check_reachable("http://127.0.0.1:9", timeout=2)
    assert time.time() - t0 < 5
    assert "unreachable" in e.value.line() and "MLFLOW_TRACKING_URI" in e.value.line()


OFFLINE = """
import json, os
from wt_core import offline
offline.apply()
from ultralytics.utils import SETTINGS, USER_CONFIG_DIR
from ultralytics.utils.checks import check_font
print(json.dumps({"settings": {k: SETTINGS[k] for k in ("sync", "mlflow", "tensorboard", "wandb", "comet")},
                  "dirs": [SETTINGS["runs_dir"], SETTINGS["weights_dir"], SETTINGS["datasets_dir"]],
                  "config_dir": str(USER_CONFIG_DIR), "font": str(check_font("Arial.ttf")),
                  "env": {k: os.environ[k] for k in ("YOLO_OFFLINE", "YOLO_AUTOINSTALL", "MLFLOW_DISABLE_TELEMETRY")}}))
"""


def test_offline_switches_reach_ultralytics(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "WT_HOME": str(home)}
    env.pop("YOLO_CONFIG_DIR", None)
    proc = subprocess.run([sys.executable, "-c", OFFLINE], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["settings"] == {"sync": False, "mlflow": False, "tensorboard": False, "wandb": False, "comet": False}
    assert out["config_dir"] == str(home / "ultralytics" / "Ultralytics")
    assert out["dirs"] == [str(home / "ultralytics" / d) for d in ("runs", "weights", "datasets")]
    assert out["font"] == str(home / "ultralytics" / "Ultralytics" / "Arial.ttf")  # in place: no download
    assert out["env"] == {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}


def test_synthetic_data_is_deterministic(tmp_path):
    import synth

    a = synth.make_aerial(tmp_path / "a", images=3, seed=7, width=640, height=480)
    b = synth.make_aerial(tmp_path / "b", images=3, seed=7, width=640, height=480)
    assert a == b
    assert (tmp_path / "a" / "images" / "survey_000.jpg").read_bytes() == (tmp_path / "b" / "images" / "survey_000.jpg").read_bytes()
    for rel in ("coco.json", "labelstudio.json", "annotations.csv", "metadata.csv", "yolo/data.yaml",
                "voc/Annotations/survey_000.xml", "wildata/datasets/synthetic/dataset_info.json",
                "wildata/datasets/synthetic/annotations/train.json"):
        assert (tmp_path / "a" / rel).exists(), rel
    coco = json.loads((tmp_path / "a" / "coco.json").read_text())
    assert len(coco["annotations"]) == sum(len(r["boxes"]) for r in a["images"])
    counts = synth.make_camtrap(tmp_path / "c", per_class=20, imbalance=10, seed=0)
    assert counts == {"deer": 20, "fox": 6, "boar": 2}


def test_ultralytics_logs_carry_no_colour_codes_into_a_log_file(tmp_path):
    code = ("from wt_core import offline; offline.apply()\n"
            "from ultralytics.utils import LOGGER, colorstr\n"
            "LOGGER.info(colorstr('engine/trainer:') + ' epochs=2')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "WT_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "engine/trainer: epochs=2" in proc.stdout and "\x1b[" not in proc.stdout


BAD_IMAGE_AFTER_ULTRALYTICS = """
import sys
from pathlib import Path
from wt_core import offline
if sys.argv[2] == "switches":
    offline.apply()
import ultralytics  # patches PIL.Image.open
from PIL import Image
bad = Path(sys.argv[1])
bad.write_bytes(b"not an image")
try:
    Image.open(bad)
except Exception as e:
    print(type(e).__name__)
"""


@pytest.mark.parametrize(("switches", "error"), [("switches", "UnidentifiedImageError"),
                                                 ("none", "ModuleNotFoundError")])
def test_a_corrupt_photo_is_pillows_error_not_a_missing_heif_plugin(tmp_path, switches, error):
    """Ultralytics' PIL patch tries to install and import pi-heif on any file Pillow cannot identify; with the
    offline switches a corrupt photo reads as Pillow's own error (without them, as the missing plugin: the
    second case shows the test sees the patch at work)."""
    proc = subprocess.run([sys.executable, "-c", BAD_IMAGE_AFTER_ULTRALYTICS, str(tmp_path / "bad.jpg"), switches],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "YOLO_OFFLINE": "1"})
    assert proc.stdout.split()[-1:] == [error], proc.stderr[-2000:]
