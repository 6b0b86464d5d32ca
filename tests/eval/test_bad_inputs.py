"""Bad inputs wt-eval was tried with: each exits 2 with one `error:` line naming what is wrong (README table)."""

from __future__ import annotations

import pytest
from evalcases import coco, write_dataset, write_predictions
from helpers import assert_bad_input, call_cli, run_cli

CLASSES = ["zebra", "giraffe"]
OK = {"image_id": 3, "category_id": 1, "bbox": [1, 2, 10, 10], "score": 0.5}


def with_(**kw):
    return [OK, {**OK, **kw}]


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")
    gt = coco([{"id": 3, "file_name": "a.jpg", "width": 100, "height": 100}],
              [{"id": 1, "image_id": 3, "category_id": 1, "bbox": [1, 2, 10, 10], "area": 100, "iscrowd": 0}], CLASSES)
    return write_dataset(base / "ds", CLASSES, {"val": gt})


# (case id, predictions file content, fragments of the error line)
ROWS = [
    ("unknown image id", with_(image_id=99), ["image id 99 is not in the dataset", "[1].image_id"]),
    ("class id too large", with_(category_id=2), ["class id 2 out of range 0..1", "[1].category_id"]),
    ("negative class id", with_(category_id=-1), ["class id -1 out of range", "[1].category_id"]),
    ("negative width", with_(bbox=[1, 2, -5, 10]), ["negative width or height", "[1].bbox"]),
    ("NaN box", '[{"image_id": 3, "category_id": 0, "bbox": [NaN, 2, 5, 5], "score": 0.5}]',
     ["not finite", "[0].bbox"]),
    ("NaN score", '[{"image_id": 3, "category_id": 0, "bbox": [1, 2, 5, 5], "score": NaN}]',
     ["score nan", "[0].score"]),
    ("negative score", with_(score=-0.1), ["score -0.1", "[1].score"]),
    ("box of three numbers", with_(bbox=[1, 2, 3]), ["four numbers", "[1].bbox"]),
    ("missing score", [{"image_id": 3, "category_id": 0, "bbox": [1, 2, 3, 4]}], ["without score", "[0].score"]),
    ("image id as text", with_(image_id="3"), ["not an integer", "[1].image_id"]),
    ("box numbers as text", with_(bbox=["1", "2", "3", "4"]), ["four numbers", "[1].bbox"]),
    ("score as text", with_(score="0.5"), ["score '0.5' is not a number", "[1].score"]),
    ("not a list", {"annotations": []}, ["JSON list"]),
    ("truncated file", '[{"image_id": 3, "categ', ["truncated JSON"]),
]


@pytest.mark.parametrize("rows,fragments", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_predictions(ds, tmp_path, rows, fragments):
    pred = write_predictions(tmp_path / "p", ds, {"val": rows})
    proc = call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path)
    assert_bad_input(proc, *fragments)
    assert not list(tmp_path.glob("runs/eval/detect/*")), "nothing is written for refused input"


def test_predictions_of_another_dataset(ds, tmp_path):
    pred = write_predictions(tmp_path / "p", None, {"val": [OK]}, classes=CLASSES, dataset_id="other-dataset")
    assert_bad_input(call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path),
                     "made on dataset other-dataset", "dataset_id")


def test_classify_dataset_with_detect(tmp_path):
    gt = coco([{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
              [{"id": 1, "image_id": 1, "category_id": 0}], CLASSES)
    cls_ds = write_dataset(tmp_path / "cls", CLASSES, {"val": gt}, task="classify")
    pred = write_predictions(tmp_path / "p", cls_ds, {"val": []}, task="classify")
    assert_bad_input(call_cli("wt-eval", "detect", "--dataset", cls_ds.path, "--predictions", pred.path),
                     "classify dataset", "wt-eval classify", "task")


def test_other_classes(ds, tmp_path):
    pred = write_predictions(tmp_path / "p", ds, {"val": [OK]}, classes=["zebra", "lion"])
    assert_bad_input(call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path), "classes")


def test_split_missing(ds, tmp_path):
    pred = write_predictions(tmp_path / "p", ds, {"val": [OK]})
    assert_bad_input(call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path, "--split", "test"),
                     "no split 'test'")


def test_conf_out_of_range(ds, tmp_path):
    pred = write_predictions(tmp_path / "p", ds, {"val": [OK]})
    assert_bad_input(call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path, "--conf", "1.5"),
                     "--conf must be in [0, 1]; got 1.5 (wt-eval, conf)")


def test_swapped_manifests(ds, tmp_path):
    """As a user runs it, in a fresh process (the other cases run the same command line in this one)."""
    pred = write_predictions(tmp_path / "p", ds, {"val": [OK]})
    assert_bad_input(run_cli("wt-eval", "detect", "--dataset", pred.path, "--predictions", ds.path),
                     "expected a dataset manifest, got a predictions manifest")


def test_max_det_too_small(ds, tmp_path):
    pred = write_predictions(tmp_path / "p", ds, {"val": [OK]})
    assert_bad_input(call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path, "--max_det", "5"),
                     "max_det must be at least 10")
