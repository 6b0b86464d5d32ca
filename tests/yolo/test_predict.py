"""Sliced predict on full-size images, val, export: real CLIs on the session's trained run, no network."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import read_json, written
from wt_core.geometry import box_ios, xywh_to_xyxy
from wt_core.manifest_io import read_manifest
from yolo_helpers import assert_no_network, nonet_env, wt_yolo


@pytest.fixture(scope="module")
def sliced(run_dir, yolo_data, tmp_path_factory):
    base = tmp_path_factory.mktemp("sliced")
    log = base / "nonet.jsonl"
    proc = wt_yolo("predict", "--run", run_dir, "--dataset", yolo_data.full, "--split", "val", "--conf", "0.001",
                   "--slicing.tile", "640", "--slicing.overlap", "0.2", "--slicing.batch", "4",
                   "--out", base / "pred", env=nonet_env(log), cwd=base)
    m, d = written(proc)
    return m, d, log


def test_sliced_predict_writes_coco_results_in_full_image_pixels(sliced, yolo_data):
    m, d, _ = sliced
    assert m["kind"] == "predictions" and m["task"] == "detect"
    assert m["thresholds"] == {"conf": 0.001, "iou": 0.7, "max_det": 300.0}
    assert m["slicing"]["tile"] == 640 and m["slicing"]["merge"] == "nms" and m["slicing"]["imgsz"] == 320
    assert m["classes"] == ["elephant", "giraffe", "zebra"]
    assert {p["kind"] for p in m["parents"]} == {"run", "dataset"}
    ds = read_manifest(yolo_data.full, "dataset")
    coco = json.loads(ds.artifact_path(ds.splits["val"].annotations).read_text())
    sizes = {im["id"]: (im["width"], im["height"]) for im in coco["images"]}
    results = read_json(d / m["artifacts"][m["splits"]["val"]]["path"])
    assert results, "a 2-epoch model at conf 0.001 still finds something"
    assert {r["image_id"] for r in results} <= set(sizes)
    for r in results:
        x, y, w, h = r["bbox"]
        W, H = sizes[r["image_id"]]
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= W + 0.01 and y + h <= H + 0.01
        assert r["category_id"] in (0, 1, 2) and 0.001 <= r["score"] <= 1
    assert max(r["bbox"][0] + r["bbox"][2] for r in results) > 640  # beyond the first tile: full-image pixels


def test_no_two_boxes_of_one_class_overlap_across_tiles(sliced):
    m, d, _ = sliced
    results = read_json(d / m["artifacts"][m["splits"]["val"]]["path"])
    for image_id in {r["image_id"] for r in results}:
        for cls in range(3):
            rows = [r for r in results if r["image_id"] == image_id and r["category_id"] == cls]
            if len(rows) < 2:
                continue
            b = xywh_to_xyxy(np.array([r["bbox"] for r in rows]))
            ios = box_ios(b, b)
            np.fill_diagonal(ios, 0)
            assert ios.max() <= 0.5 + 1e-6, "the merge left two boxes of one animal"


def test_predict_an_image_folder(run_dir, yolo_data, tmp_path):
    log = tmp_path / "nonet.jsonl"
    proc = wt_yolo("predict", "--run", run_dir, "--images", yolo_data.raw / "images", "--slicing.merge", "greedy",
                   "--conf", "0.01", "--out", tmp_path / "p", env=nonet_env(log))
    m, d = written(proc)
    assert m["splits"] == {"images": "predictions.images"} and m["dataset_id"] is None
    assert m["slicing"]["merge"] == "greedy"
    index = read_json(d / "images.json")
    assert [im["id"] for im in index] == [1, 2, 3, 4]
    assert all(im["file_name"].endswith(".jpg") and im["width"] > 640 for im in index)
    assert_no_network(log)


def test_val_reports_ultralytics_metrics_and_writes_predictions(run_dir, yolo_data, tmp_path):
    log = tmp_path / "nonet.jsonl"
    proc = wt_yolo("val", "--run", run_dir, "--dataset", yolo_data.tiles, "--split", "val", "--out", tmp_path / "v",
                   env=nonet_env(log))
    m, d = written(proc)
    assert "mAP50-95" in m["details"]["ultralytics_metrics"]
    assert m["thresholds"]["conf"] == 0.001 and m["slicing"] is None
    results = read_json(d / m["artifacts"][m["splits"]["val"]]["path"])
    tiles = read_manifest(yolo_data.tiles, "dataset")
    ids = {im["id"] for im in json.loads(tiles.artifact_path(tiles.splits["val"].annotations).read_text())["images"]}
    assert {r["image_id"] for r in results} <= ids
    assert "Ultralytics metrics on val" in proc.stderr
    assert_no_network(log)


def test_sliced_predict_reaches_no_network(sliced):
    assert_no_network(sliced[2])


def test_every_sliced_box_is_a_tile_box_moved_by_its_tile_offset(run_dir, yolo_data):
    """In-process, the same model: each merged box is exactly a box one tile found, shifted into the image."""
    import cv2
    from wt_core.geometry import tile_grid
    from wt_yolo import SlicedPredictor, Slicing

    ds = read_manifest(yolo_data.full, "dataset")
    coco = json.loads(ds.artifact_path(ds.splits["val"].annotations).read_text())
    path = ds.resolve(ds.splits["val"].image_root) / coco["images"][0]["file_name"]
    image = cv2.imread(str(path))
    predictor = SlicedPredictor(run_dir / "train" / "weights" / "best.pt", imgsz=320, conf=0.001, device="cpu",
                                slicing=Slicing(tile=640, overlap=0.2, batch=4))
    merged = next(predictor.predict_arrays([image]))
    wins = tile_grid(image.shape[1], image.shape[0], 640, 640, overlap=0.2)
    assert len(wins) > 1
    boxes, classes = [], []
    crops = [image[y0:y1, x0:x1] for x0, y0, x1, y1 in wins]
    for (x0, y0, _, _), d in zip(wins, predictor.forward(crops),
                                   strict=True):
        boxes.append(d.boxes + [x0, y0, x0, y0])
        classes.append(d.classes)
    boxes, classes = np.concatenate(boxes), np.concatenate(classes)
    assert 0 < len(merged) <= len(boxes)
    for b, c in zip(merged.boxes, merged.classes, strict=True):
        same = np.abs(boxes[classes == c] - b).max(axis=1)
        assert same.min() < 0.05, f"box {b} of class {c} is no tile's box"
