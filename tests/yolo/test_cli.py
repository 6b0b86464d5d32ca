"""The command line: Ultralytics' defaults visible in --print_config, configs round-trip, light imports."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import yaml
from wt_yolo.args import OURS, SHARED, TRAIN, UltralyticsArgs
from yolo_helpers import wt_yolo


def test_ultralytics_section_matches_ultralytics_defaults():
    from ultralytics.cfg import DEFAULT_CFG_DICT
    from wt_yolo.small_data import ULTRALYTICS_DEFAULTS

    for f in dataclasses.fields(UltralyticsArgs):
        if f.name in OURS:  # wt-yolo applies it itself: never handed to Ultralytics
            assert f.name not in DEFAULT_CFG_DICT and f.name not in UltralyticsArgs(**{f.name: 0.5}).to_train_kwargs()
            continue
        assert f.name in DEFAULT_CFG_DICT, f"{f.name} is not an Ultralytics argument"
        ours = ULTRALYTICS_DEFAULTS[f.name] if f.name in ULTRALYTICS_DEFAULTS else f.default
        assert ours == DEFAULT_CFG_DICT[f.name], f"{f.name}: ours {ours!r}, Ultralytics {DEFAULT_CFG_DICT[f.name]!r}"
    for name in [*ULTRALYTICS_DEFAULTS, *OURS]:  # small-data settings: unset (None) until the policy or the user sets them
        assert next(f for f in dataclasses.fields(UltralyticsArgs) if f.name == name).default is None
    for name, shared in SHARED.items():  # the shared --train.* section has Ultralytics' defaults in wt-yolo fit
        assert name not in {f.name for f in dataclasses.fields(UltralyticsArgs)}, f"{name} is --train.{shared}"
        assert getattr(TRAIN, shared) == DEFAULT_CFG_DICT[name], f"train.{shared}"


def test_print_config_shows_every_train_argument_and_round_trips(tmp_path):
    proc = wt_yolo("fit", "--dataset", "ds", "--train.epochs", "3", "--print_config")
    assert proc.returncode == 0, proc.stderr
    cfg = yaml.safe_load(proc.stdout)
    assert cfg["train"]["epochs"] == 3
    assert cfg["train"]["lr"] == 0.01 and cfg["ultralytics"]["mosaic"] == 1.0
    assert set(cfg["ultralytics"]) == {f.name for f in dataclasses.fields(UltralyticsArgs)}
    (tmp_path / "fit.yaml").write_text(proc.stdout)
    again = wt_yolo("fit", "--config", tmp_path / "fit.yaml", "--print_config")
    assert again.returncode == 0 and yaml.safe_load(again.stdout) == cfg


def test_predict_config_records_slicing_defaults():
    cfg = yaml.safe_load(wt_yolo("predict", "--run", "r", "--print_config").stdout)
    assert cfg["slicing"] == {"tile": 640, "overlap": 0.2, "batch": 8, "merge": "nms", "merge_iou": 0.5,
                              "merge_metric": "ios", "block": 4096}  # block: an orthomosaic's job unit


def test_importing_the_cli_loads_no_heavy_library():
    code = ("import sys, wt_yolo.cli; heavy = [m for m in ('torch', 'ultralytics', 'mlflow', 'cv2') if m in sys.modules];"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_lists_the_commands():
    proc = wt_yolo("--help")
    assert proc.returncode == 0
    for name in ("fit", "val", "predict", "export"):
        assert name in proc.stdout
