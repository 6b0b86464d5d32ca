"""Point annotations: read from CSV, Label Studio key points and COCO keypoints; kept as points; carried into
tiles; given boxes per class for box detectors; refused where a box detector would take them for background."""

from __future__ import annotations

import csv
import json
import statistics

import pytest
from data_helpers import coco_of, imported, wt_data
from helpers import assert_bad_input, written

CLASSES = ["elephant", "giraffe", "zebra"]


def points_by_image(ds_dir) -> dict:
    """Every split's points as {image base name: sorted [(class, x, y)]}."""
    m = json.loads((ds_dir / "manifest.json").read_text())
    out: dict = {}
    for split in m["splits"]:
        coco = coco_of(ds_dir, split)
        files = {im["id"]: im["file_name"].rsplit("/", 1)[-1] for im in coco["images"]}
        for f in files.values():
            out.setdefault(f, [])
        for a in coco["annotations"]:
            assert "bbox" not in a, a
            out[files[a["image_id"]]].append((CLASSES[a["category_id"]], *a["point"]))
    return {k: sorted(v) for k, v in out.items()}


def assert_same_points(a: dict, b: dict, atol: float = 0.01) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert len(a[k]) == len(b[k]), k
        for p, q in zip(a[k], b[k], strict=True):
            assert p[0] == q[0] and abs(p[1] - q[1]) <= atol and abs(p[2] - q[2]) <= atol, (k, p, q)


@pytest.fixture(scope="module")
def survey(small_aerial):
    """The small aerial set's animals as one click each (the centre of each box), in three formats."""
    coco = json.loads((small_aerial / "coco.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    truth: dict = {im["file_name"]: [] for im in coco["images"]}
    size = {im["id"]: (im["width"], im["height"]) for im in coco["images"]}
    files = {im["id"]: im["file_name"] for im in coco["images"]}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        truth[files[a["image_id"]]].append((names[a["category_id"]], round(x + w / 2, 3), round(y + h / 2, 3)))
    with open(small_aerial / "points.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["image", "x", "y", "label"])
        for name, pts in truth.items():
            if not pts:
                wr.writerow([f"images/{name}", "", "", ""])
            for c, x, y in pts:
                wr.writerow([f"images/{name}", x, y, c])
    kp = {**coco, "annotations": [{"id": a["id"], "image_id": a["image_id"], "category_id": a["category_id"],
                                   "keypoints": [a["bbox"][0] + a["bbox"][2] / 2, a["bbox"][1] + a["bbox"][3] / 2, 2],
                                   "num_keypoints": 1} for a in coco["annotations"]]}
    (small_aerial / "keypoints.json").write_text(json.dumps(kp))
    tasks = []
    for im in coco["images"]:
        w, h = size[im["id"]]
        result = [{"type": "keypointlabels", "from_name": "point", "to_name": "image", "original_width": w,
                   "original_height": h, "value": {"x": 100 * x / w, "y": 100 * y / h, "width": 0.5,
                                                   "keypointlabels": [c]}} for c, x, y in truth[im["file_name"]]]
        tasks.append({"id": im["id"], "data": {"image": f"/data/local-files/?d=images/{im['file_name']}"},
                      "annotations": [{"result": result}]})
    (small_aerial / "keypoints_ls.json").write_text(json.dumps(tasks))
    return {k: sorted(v) for k, v in truth.items()}


@pytest.fixture(scope="module")
def points_ds(survey, small_aerial, tmp_path_factory):
    m, d = imported("import", "--source", small_aerial / "points.csv", "--format", "csv",
                    "--out", tmp_path_factory.mktemp("pts") / "ds")
    return m, d


def test_csv_points_are_kept_as_points(points_ds, survey):
    m, d = points_ds
    n = sum(len(v) for v in survey.values())
    assert m["splits"]["all"]["points"] == n and m["splits"]["all"]["boxes"] == 0 and m["classes"] == CLASSES
    assert points_by_image(d) == survey
    ann = coco_of(d)["annotations"][0]
    assert set(ann) == {"id", "image_id", "category_id", "point", "area", "iscrowd"}


@pytest.mark.parametrize(("fmt", "source"), [("labelstudio", "keypoints_ls.json"), ("coco", "keypoints.json")])
def test_labelstudio_and_coco_keypoints_give_the_same_points(fmt, source, survey, small_aerial, tmp_path):
    m, d = imported("import", "--source", small_aerial / source, "--format", fmt, "--images", small_aerial
                    if fmt == "labelstudio" else small_aerial / "images", "--out", tmp_path / "ds")
    assert m["report"] == {}
    assert_same_points(points_by_image(d), survey, atol=0.002)


def test_tile_carries_every_point_into_the_tiles_holding_it(points_ds, survey, tmp_path):
    _, d = points_ds
    proc = wt_data("tile", "--dataset", d, "--size", "256", "--overlap", "0.25", "--empty_ratio", "null",
                   "--max_empty_per_image", "null", "--out", tmp_path / "tiles", check=True)
    m, t = written(proc)
    s = m["splits"]["all"]
    assert f"all: {s['images']} tiles, 0 boxes, {s['points']} points, {s['empty_images']} empty" in proc.stderr
    coco = coco_of(t)
    tiles = {im["id"]: im for im in coco["images"]}
    seen = set()
    for a in coco["annotations"]:
        im = tiles[a["image_id"]]
        x, y = a["point"]
        assert 0 <= x <= im["width"] and 0 <= y <= im["height"] and "bbox" not in a
        seen.add((im["source_image"].rsplit("/", 1)[-1], CLASSES[a["category_id"]],
                  round(x + im["offset"][0], 3), round(y + im["offset"][1], 3)))
    want = {(f, c, x, y) for f, pts in survey.items() for c, x, y in pts}
    assert seen == want  # every point lands in a tile, at its place in the source image
    assert m["report"]["boxes_in_no_tile"] == 0 and m["splits"]["all"]["points"] >= len(want)


def test_boxes_of_a_size_per_class_and_learnt_from_a_box_dataset(points_ds, small_aerial, tmp_path):
    _, d = points_ds
    m, b = imported("boxes", "--dataset", d, "--size", "elephant=80", "--size", "giraffe=50x70", "--size", "zebra=40",
                    "--out", tmp_path / "b")
    assert m["splits"]["all"]["boxes"] == m["report"]["points_given_boxes"] and m["splits"]["all"]["points"] == 0
    for a in coco_of(b)["annotations"]:
        x, y, w, h = a["bbox"]
        want = {0: (80, 80), 1: (50, 70), 2: (40, 40)}[a["category_id"]]
        if (w, h) == want:  # not clipped at the image edge: centred on the point
            assert abs(x + w / 2 - a["point"][0]) < 1e-3 and abs(y + h / 2 - a["point"][1]) < 1e-3
        else:
            assert w <= want[0] and h <= want[1]
    clipped = sum(1 for a in coco_of(b)["annotations"] if (a["bbox"][2], a["bbox"][3]) !=
                  {0: (80, 80), 1: (50, 70), 2: (40, 40)}[a["category_id"]])
    assert m["report"].get("point_boxes_clipped_at_edge", 0) == clipped
    # learnt: the median width and height of each class's boxes in a box-annotated dataset
    _, ref = imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "ref")
    m2, b2 = imported("boxes", "--dataset", d, "--like", ref, "--out", tmp_path / "b2")
    ref_boxes = coco_of(ref)["annotations"]
    median_w = statistics.median(a["bbox"][2] for a in ref_boxes if a["category_id"] == 2)
    assert m2["details"]["boxes"]["sizes"]["zebra"][0] == pytest.approx(median_w)
    # a detector's view of the boxed set works; of the point set it is refused
    _, y = imported("export", "--dataset", b, "--format", "yolo", "--out", tmp_path / "y")
    assert sum(1 for p in (y / "labels" / "all").rglob("*.txt") if p.read_text().strip()) >= 1
    proc = wt_data("export", "--dataset", d, "--format", "yolo", "--out", tmp_path / "no")
    assert_bad_input(proc, "point annotations without a box", "splits.all.points")


def test_boxes_without_a_size_for_a_class_is_refused(points_ds, tmp_path):
    _, d = points_ds
    proc = wt_data("boxes", "--dataset", d, "--size", "elephant=80", "--out", tmp_path / "b")
    assert_bad_input(proc, "no box size for giraffe, zebra", "(size)")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("fmt", ["csv", "labelstudio"])
def test_points_round_trip_through_export(fmt, points_ds, survey, tmp_path):
    _, d = points_ds
    _, x = imported("export", "--dataset", d, "--format", fmt, "--out", tmp_path / "x")
    source = x / ("annotations.csv" if fmt == "csv" else "tasks.json")
    m, again = imported("import", "--source", source, "--format", fmt, "--out", tmp_path / "again")
    assert m["report"] == {} and m["classes"] == CLASSES
    assert_same_points(points_by_image(again), survey, atol=0.002)


def test_crops_of_points_say_what_to_do(points_ds, tmp_path):
    _, d = points_ds
    assert_bad_input(wt_data("crops", "--dataset", d, "--out", tmp_path / "c"), "point annotations without a box",
                     "splits.all.points")
