"""Every importer counts what it drops or changes, by reason, in the manifest's report and on stderr
(issue 17, item 4): nothing is lost or changed without a word."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from data_helpers import coco_of, imported, tiny_coco, wt_data


def test_labelstudio_polygon_becomes_its_bounding_box_and_is_counted(tmp_path):
    tiny_coco(tmp_path)
    result = [{"type": "rectanglelabels", "original_width": 100, "original_height": 80,
               "value": {"x": 5 * k, "y": 10, "width": 4, "height": 10, "rectanglelabels": ["zebra"]}} for k in range(19)]
    result.append({"type": "polygonlabels", "original_width": 100, "original_height": 80,
                   "value": {"points": [[10, 50], [30, 40], [20, 75]], "polygonlabels": ["elephant"]}})
    tasks = [{"id": 1, "data": {"image": "/data/local-files/?d=images/im0.jpg"}, "annotations": [{"result": result}]}]
    (tmp_path / "ls.json").write_text(json.dumps(tasks))
    proc = wt_data("import", "--source", tmp_path / "ls.json", "--format", "labelstudio", "--out", tmp_path / "o",
                   check=True)
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["splits"]["all"]["boxes"] == 20 and m["report"] == {"converted_polygon_to_box": 1}
    assert "converted_polygon_to_box 1" in proc.stderr
    poly = next(a for a in coco_of(tmp_path / "o")["annotations"] if a["category_id"] == m["classes"].index("elephant"))
    assert poly["bbox"] == [10.0, 32.0, 20.0, 28.0]  # x 10..30 % of 100, y 40..75 % of 80


def test_coco_segmentation_only_is_a_box_and_tiles(tmp_path):
    doc = tiny_coco(tmp_path)
    del doc["annotations"][1]["bbox"]
    doc["annotations"][1]["segmentation"] = [[10, 10, 40, 12, 30, 50]]
    (tmp_path / "coco.json").write_text(json.dumps(doc))
    for task in ("auto", "detect"):
        m, d = imported("import", "--source", tmp_path / "coco.json", "--task", task, "--out", tmp_path / task)
        assert m["task"] == "detect" and m["splits"]["all"]["boxes"] == 3
        assert m["report"] == {"converted_segmentation_to_box": 1}
        assert coco_of(d)["annotations"][1]["bbox"] == [10.0, 10.0, 30.0, 40.0]
    t, _ = imported("tile", "--dataset", tmp_path / "detect", "--size", "64", "--out", tmp_path / "tiles")
    assert t["splits"]["all"]["boxes"] >= 3


def test_coco_crowd_regions_are_refused_or_counted(tmp_path):
    doc = tiny_coco(tmp_path)
    doc["annotations"][0]["iscrowd"] = 1
    (tmp_path / "coco.json").write_text(json.dumps(doc))
    proc = wt_data("import", "--source", tmp_path / "coco.json", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "crowd region" in proc.stderr
    m, _ = imported("import", "--source", tmp_path / "coco.json", "--on_invalid", "skip", "--out", tmp_path / "o")
    assert m["splits"]["all"]["boxes"] == 2 and m["report"] == {"skipped_crowd_region": 1}


def test_absolute_image_paths_anywhere_are_taken_as_written(tmp_path):
    tiny_coco(tmp_path / "pictures")
    ann = tmp_path / "annotations" / "deep"
    ann.mkdir(parents=True)
    with open(ann / "a.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_path", "xmin", "ymin", "xmax", "ymax", "label"])
        for i in range(3):
            w.writerow([tmp_path / "pictures" / "images" / f"im{i}.jpg", 10, 10, 30, 25, "zebra"])
    m, d = imported("import", "--source", ann / "a.csv", "--format", "csv", "--out", tmp_path / "csv")
    assert m["splits"]["all"]["images"] == 3 and m["report"] == {}
    root = Path(m["splits"]["all"]["image_root"])
    assert all((root / im["file_name"]).is_file() for im in coco_of(d)["images"])
    doc = tiny_coco(tmp_path / "other")
    for im in doc["images"]:
        im["file_name"] = str(tmp_path / "other" / "images" / im["file_name"])
    (ann / "coco.json").write_text(json.dumps(doc))
    m, _ = imported("import", "--source", ann / "coco.json", "--out", tmp_path / "coco")
    assert m["splits"]["all"]["images"] == 3 and m["splits"]["all"]["boxes"] == 3 and m["report"] == {}


def test_labelstudio_export_keeps_class_ids_of_an_unsorted_class_list(tmp_path):
    """Classes come back in the dataset's order (not sorted by name), so class ids map back."""
    doc = tiny_coco(tmp_path)
    doc["categories"] = [{"id": 1, "name": "zebra"}, {"id": 2, "name": "elephant"}, {"id": 3, "name": "rhino"}]
    (tmp_path / "coco.json").write_text(json.dumps(doc))
    m, d = imported("import", "--source", tmp_path / "coco.json", "--out", tmp_path / "ds")
    assert m["classes"] == ["zebra", "elephant", "rhino"]
    _, x = imported("export", "--dataset", d, "--format", "labelstudio", "--out", tmp_path / "x")
    m2, d2 = imported("import", "--source", x / "tasks.json", "--format", "labelstudio", "--out", tmp_path / "again")
    assert m2["classes"] == m["classes"] and m2["splits"]["all"]["per_class"] == m["splits"]["all"]["per_class"]
    assert coco_of(d2)["annotations"] == coco_of(d)["annotations"]


def test_csv_rows_with_an_empty_split_are_left_out_and_counted(tmp_path):
    tiny_coco(tmp_path)
    (tmp_path / "a.csv").write_text("image_path,xmin,ymin,xmax,ymax,label,split\nimages/im0.jpg,1,1,20,20,zebra,train\n"
                                    "images/im1.jpg,1,1,20,20,zebra,\nimages/im2.jpg,1,1,20,20,zebra,val\n")
    proc = wt_data("import", "--source", tmp_path / "a.csv", "--format", "csv", "--out", tmp_path / "o", check=True)
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert {k: v["images"] for k, v in m["splits"].items()} == {"train": 1, "val": 1}
    assert m["report"] == {"left_out_not_in_any_split": 1} and "1 images left out: rows with an empty split" in proc.stderr


def test_points_outside_the_image_clip_onto_its_edge_with_on_invalid_clip(tmp_path):
    tiny_coco(tmp_path)
    (tmp_path / "p.csv").write_text("image,x,y,label\nimages/im0.jpg,50,40,zebra\nimages/im1.jpg,101,40,zebra\n"
                                    "images/im2.jpg,-30,90,zebra\n")
    m, d = imported("import", "--source", tmp_path / "p.csv", "--format", "csv", "--on_invalid", "clip",
                    "--out", tmp_path / "o")
    assert m["report"] == {"clipped_within_tolerance": 1, "clipped_point_out_of_image": 1}
    assert [a["point"] for a in coco_of(d)["annotations"]] == [[50.0, 40.0], [100.0, 40.0], [0.0, 80.0]]
