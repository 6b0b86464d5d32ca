"""EXIF at import: sizes are the displayed ones (orientation applied); GPS becomes lat/lon metadata."""

from __future__ import annotations

import json

from data_helpers import coco_of, imported, wt_data
from helpers import assert_bad_input
from PIL import Image


def _rotated_image_with_gps(path):
    img = Image.new("RGB", (120, 60), (10, 120, 30))  # stored 120x60, shown 60x120 (orientation 6)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "S", 2: (2.0, 30.0, 0.0), 3: "E", 4: (34.0, 15.0, 36.0)}
    img.save(path, exif=exif)


def _coco(root, w, h):
    doc = {"images": [{"id": 1, "file_name": "r.jpg", "width": w, "height": h}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 90, 20, 25]}],
           "categories": [{"id": 1, "name": "zebra"}]}
    (root / "coco.json").write_text(json.dumps(doc))
    return root / "coco.json"


def test_displayed_size_and_gps(tmp_path):
    _rotated_image_with_gps(tmp_path / "r.jpg")
    m, d = imported("import", "--source", _coco(tmp_path, 60, 120), "--meta.exif_gps", "--out", tmp_path / "ok")
    im = coco_of(d)["images"][0]
    assert (im["width"], im["height"], im["exif_orientation"]) == (60, 120, 6)
    assert im["lat"] == -2.5 and im["lon"] == 34.26
    proc = wt_data("import", "--source", _coco(tmp_path, 120, 60), "--out", tmp_path / "bad")
    assert_bad_input(proc, "annotated size 120x60 differs from the image's 60x120 (EXIF orientation 6)", "images[0]")


def test_tiles_follow_the_displayed_frame(tmp_path):
    _rotated_image_with_gps(tmp_path / "r.jpg")
    imported("import", "--source", _coco(tmp_path, 60, 120), "--out", tmp_path / "ds")
    m, d = imported("tile", "--dataset", tmp_path / "ds", "--size", "60", "--overlap", "0", "--empty_ratio", "null",
                    "--out", tmp_path / "t")
    coco = coco_of(d)
    assert [im["offset"] for im in coco["images"]] == [[0, 0], [0, 60]]
    assert all(Image.open(d / "images" / im["file_name"]).size == (60, 60) for im in coco["images"])
    assert coco["annotations"][0]["bbox"] == [5, 30, 20, 25]
