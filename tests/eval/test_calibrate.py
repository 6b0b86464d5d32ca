"""wt-eval calibrate: the score threshold and NMS setting found on a case counted by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalcases import one_image_dataset, write_predictions
from helpers import assert_bad_input, call_cli, manifest_of

CLASSES = ["zebra", "giraffe"]


@pytest.fixture
def case(tmp_path):
    ds = one_image_dataset(tmp_path / "ds", CLASSES, {"id": 0, "file_name": "a.jpg", "width": 100, "height": 100},
                           (0, [0, 0, 10, 10]), (0, [50, 50, 10, 10]))
    preds = [{"image_id": 0, "category_id": 0, "bbox": [0, 0, 10, 10], "score": 0.9},
             # the same zebra again, called giraffe (IoU 0.68): only class-agnostic NMS removes it
             {"image_id": 0, "category_id": 1, "bbox": [1, 1, 10, 10], "score": 0.85},
             {"image_id": 0, "category_id": 0, "bbox": [50, 50, 10, 10], "score": 0.6},
             {"image_id": 0, "category_id": 0, "bbox": [80, 10, 10, 10], "score": 0.2}]
    return ds, write_predictions(tmp_path / "p", ds, {"val": preds})


def test_finds_threshold_and_class_agnostic_nms(case):
    ds, pred = case
    proc = call_cli("wt-eval", "calibrate", "--dataset", ds.path, "--predictions", pred.path, check=True)
    m = manifest_of(proc)
    met = m["metrics"]
    # without NMS the best is F1 0.8 at 0.6 (2 TP of 3 kept); class-agnostic NMS at IoU <= 0.6 removes the
    # mislabelled duplicate: F1 1.0 at 0.6
    assert met["f1"] == pytest.approx(1.0)
    assert met["score_threshold"] == pytest.approx(0.6)
    assert met["nms_iou"] == pytest.approx(0.3) and met["class_aware"] == 0.0
    grid = json.loads((Path(proc.stdout.strip()).parent / "calibration.json").read_text())["grid"]
    none = next(r for r in grid if r["nms_iou"] is None)
    assert none["f1"] == pytest.approx(0.8) and none["score_threshold"] == pytest.approx(0.6)
    aware = next(r for r in grid if r["nms_iou"] == 0.3 and r["class_aware"])
    assert aware["f1"] == pytest.approx(0.8)
    assert m["details"]["calibration"]["class_aware"] is False


def test_count_metric(case):
    ds, pred = case
    m = manifest_of(call_cli("wt-eval", "calibrate", "--dataset", ds.path, "--predictions", pred.path,
                             "--metric", "count_mae", "--nms_ious", "0.5", "0.9", "--class_aware", "no", check=True))
    assert m["metrics"]["count_mae"] == 0.0 and m["metrics"]["nms_iou"] == pytest.approx(0.5)


def test_bad_grid(case):
    ds, pred = case
    assert_bad_input(call_cli("wt-eval", "calibrate", "--dataset", ds.path, "--predictions", pred.path,
                              "--nms_ious", "0", "0.5"), "--nms_ious must be in (0, 1]; got 0 (wt-eval, nms_ious)")
