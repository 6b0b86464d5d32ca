"""export: ONNX and TorchScript with classes and imgsz inside, predicting like the .pt."""

from __future__ import annotations

import ast
import json

import pytest
from helpers import written
from wt_core.manifest_io import read_manifest
from yolo_helpers import assert_no_network, nonet_env, wt_yolo


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_the_pt(fmt, run_dir, yolo_data, tmp_path):
    log = tmp_path / "nonet.jsonl"
    proc = wt_yolo("export", "--run", run_dir, "--format", fmt, "--dataset", yolo_data.tiles, "--split", "val",
                   "--check_images", "2", "--conf", "0.01", "--out", tmp_path / "x", env=nonet_env(log))
    m, d = written(proc)
    run = read_manifest(d, "run")
    info = run.details["export"]
    assert info["format"] == fmt and info["imgsz"] == 320 and info["checked_images"] == 2
    assert info["raw_max_abs_diff"] < 1e-2
    assert info["box_max_diff_px"] <= 1.0
    assert run.classes == ["elephant", "giraffe", "zebra"] and run.parents[0].kind == "run"
    exported = run.artifact_path("export")
    if fmt == "onnx":
        import onnx

        meta = {p.key: p.value for p in onnx.load(str(exported)).metadata_props}
        assert ast.literal_eval(meta["names"]) == {0: "elephant", 1: "giraffe", 2: "zebra"}
        assert ast.literal_eval(meta["imgsz"]) == [320, 320]
    else:
        import torch

        extra = {"config.txt": ""}
        torch.jit.load(str(exported), _extra_files=extra, map_location="cpu")
        meta = json.loads(extra["config.txt"])
        assert meta["imgsz"] == [320, 320] and meta["names"]["0"] == "elephant"
    assert_no_network(log)
