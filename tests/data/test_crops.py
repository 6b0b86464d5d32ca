"""Crops: one square crop per box, background away from boxes, classes kept or binarised."""

from __future__ import annotations

from data_helpers import coco_of, imported
from PIL import Image


def test_crops_per_box_and_background(small_aerial, tmp_path):
    src, _ = imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "src")
    m, d = imported("crops", "--dataset", tmp_path / "src", "--size", "64", "--background_ratio", "0.5",
                    "--out", tmp_path / "c")
    assert m["task"] == "classify"
    assert m["classes"] == [*src["classes"], "background"]
    s = m["splits"]["all"]
    n_obj = sum(s["per_class"][:-1])
    assert n_obj + m["report"].get("boxes_too_small", 0) == src["splits"]["all"]["boxes"]
    assert s["per_class"][-1] + m["report"].get("background_not_found", 0) == round(0.5 * n_obj)
    coco = coco_of(d)
    im = coco["images"][0]
    assert Image.open(d / "images" / im["file_name"]).size == (64, 64)
    src_coco = coco_of(tmp_path / "src")
    boxes = {}
    for a in src_coco["annotations"]:
        boxes.setdefault(a["image_id"], []).append(a["bbox"])
    bg = [i for i, a in zip(coco["images"], coco["annotations"], strict=True) if a["category_id"] == len(m["classes"]) - 1]
    for i in bg:  # no background crop touches a box
        x0, y0, x1, y1 = i["window"]
        for bx, by, bw, bh in boxes.get(i["source_id"], []):
            assert bx + bw <= x0 or bx >= x1 or by + bh <= y0 or by >= y1


def test_single_class_binarises(small_aerial, tmp_path):
    imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "src")
    m, _ = imported("crops", "--dataset", tmp_path / "src", "--single_class", "--background_ratio", "1",
                    "--out", tmp_path / "c")
    assert m["classes"] == ["animal", "background"]


def test_square_window_stays_inside_when_it_fits():
    from wt_data.cropping import square_window

    assert square_window([0, 0, 10, 20], 100, 100, 0.5, None) == (0, 0, 30, 30)  # shifted in from the corner
    assert square_window([40, 40, 10, 10], 100, 100, 0.0, 50) == (20, 20, 70, 70)  # fixed side, centred
    assert square_window([0, 0, 10, 10], 30, 30, 0.0, 50) == (-20, -20, 30, 30)  # larger than the image: padded


def test_min_box_and_fixed_side(small_aerial, tmp_path):
    imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "src")
    m, d = imported("crops", "--dataset", tmp_path / "src", "--min_box", "30", "--fixed", "96", "--size", "32",
                    "--out", tmp_path / "c")
    coco = coco_of(d)
    assert all(i["window"][2] - i["window"][0] == 96 for i in coco["images"])
    assert m["report"]["boxes_too_small"] > 0
