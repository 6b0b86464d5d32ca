"""Import: COCO and image folders into canonical datasets; the API trainers use."""

from __future__ import annotations

import json

from data_helpers import coco_of, imported
from wt_data import load_split, yolo_view


def test_coco_import_keeps_every_box_with_zero_based_ids(aerial, aerial_ds):
    truth = json.loads((aerial / "truth.json").read_text())
    m = json.loads((aerial_ds / "manifest.json").read_text())
    assert m["kind"] == "dataset" and m["task"] == "detect"
    assert m["classes"] == truth["classes"]
    s = m["splits"]["all"]
    assert s["images"] == len(truth["images"])
    assert s["boxes"] == sum(len(r["boxes"]) for r in truth["images"])
    assert s["empty_images"] == sum(1 for r in truth["images"] if not r["boxes"])
    coco = coco_of(aerial_ds)
    assert [c["id"] for c in coco["categories"]] == [0, 1, 2]
    assert coco["images"][0]["site"] == truth["images"][0]["site"]  # metadata kept for splitting
    assert m["report"] == {}


def test_load_split_returns_coco_and_absolute_root(aerial, aerial_ds):
    coco, root = load_split(aerial_ds, "all")
    assert root.is_absolute() and root == (aerial / "images").resolve()
    assert all((root / im["file_name"]).is_file() for im in coco["images"])


def test_imagefolder_import_is_one_label_per_image(camtrap, tmp_path):
    m, d = imported("import", "--source", camtrap, "--format", "imagefolder", "--out", tmp_path / "cls")
    assert m["task"] == "classify" and m["classes"] == ["boar", "deer", "fox"]
    s = m["splits"]["all"]
    assert s["images"] == 90 and s["per_class"] == [30, 30, 30] and s["boxes"] == 0
    coco = coco_of(d)
    assert len(coco["annotations"]) == 90 and all("bbox" not in a for a in coco["annotations"])
    first = coco["images"][0]
    assert first["file_name"].split("/")[0] == m["classes"][coco["annotations"][0]["category_id"]]


def test_yolo_view_is_a_valid_ultralytics_dataset(aerial_ds):
    from ultralytics.data.utils import check_det_dataset

    data_yaml = yolo_view(aerial_ds)
    assert yolo_view(aerial_ds) == data_yaml  # cached
    info = check_det_dataset(str(data_yaml))
    assert info["names"] == {0: "elephant", 1: "giraffe", 2: "zebra"}
    images = sorted((data_yaml.parent / "images" / "all").iterdir())
    assert images and all(p.is_symlink() for p in images)
    m = json.loads((aerial_ds / "manifest.json").read_text())
    assert m["views"]["yolo"] == "views/yolo"
    n_lines = sum(len(p.read_text().split()) // 5 for p in (data_yaml.parent / "labels" / "all").iterdir())
    assert n_lines == m["splits"]["all"]["boxes"]
