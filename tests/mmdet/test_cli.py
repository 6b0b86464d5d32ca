"""The command line stays light, and every shipped preset is a loadable MMDetection config."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import run_cli


def test_help_imports_no_heavy_library():
    code = ("import sys, wt_mmdet, wt_mmdet.cli; "
            "print(','.join(m for m in ('torch', 'mmdet', 'mmengine', 'mmcv', 'mlflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
    proc = run_cli("wt-mmdet", "fit", "--help")
    assert proc.returncode == 0 and "--train.epochs" in proc.stdout and "--cfg_options" in proc.stdout


def test_print_config_round_trips(tmp_path):
    proc = run_cli("wt-mmdet", "fit", "--dataset", "x", "--train.epochs", "3", "--print_config")
    assert proc.returncode == 0 and "epochs: 3" in proc.stdout
    (tmp_path / "fit.yaml").write_text(proc.stdout)
    again = run_cli("wt-mmdet", "fit", "--config", tmp_path / "fit.yaml", "--print_config")
    assert again.stdout == proc.stdout


@pytest.mark.parametrize("preset", ["retinanet_r18_fpn", "fcos_r18_fpn", "faster_rcnn_r18_fpn", "rtmdet_tiny"])
def test_preset_loads_and_trains_from_scratch(preset):
    from wt_mmdet.config import load_config, resolve_model, set_num_classes

    path, is_preset = resolve_model(preset)
    cfg = load_config(path)
    assert is_preset
    assert cfg.model.backbone.get("init_cfg") is None, "presets download nothing"
    assert set_num_classes(cfg.model, 3) >= 1
