"""`wt-eval detect --match points`: predicted centres against ground-truth points within a radius (HerdNet's way)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from evalcases import coco, generated, write_dataset, write_predictions
from helpers import assert_bad_input, manifest_of, run_cli
from wt_eval import detect

CLASSES = ["elephant", "zebra"]
IMAGE = {"id": 1, "file_name": "survey.jpg", "width": 1000, "height": 800}


def point(k: int, c: int, x: float, y: float) -> dict:
    return {"id": k, "image_id": 1, "category_id": c, "point": [x, y], "area": 0, "iscrowd": 0}


def centred(c: int, x: float, y: float, score: float, size: float = 40) -> dict:
    return {"image_id": 1, "category_id": c, "bbox": [x - size / 2, y - size / 2, size, size], "score": score}


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """Four elephants and one zebra as points; box predictions near some of them."""
    root = tmp_path_factory.mktemp("points")
    anns = [point(1, 0, 100, 100), point(2, 0, 300, 100), point(3, 0, 500, 100), point(4, 0, 700, 100),
            point(5, 1, 100, 500)]
    ds = write_dataset(root / "ds", CLASSES, {"val": coco([IMAGE], anns, CLASSES)})
    rows = [centred(0, 105, 100, 0.9),          # 5 px from elephant 1: TP
            centred(0, 300, 115, 0.8),          # 15 px from elephant 2: TP at radius 20, FP at 10
            centred(0, 104, 103, 0.7),          # a second hit on elephant 1: FP (each animal matched once)
            centred(1, 500, 100, 0.9),          # a zebra on elephant 3: FP (wrong class), elephant 3 missed
            centred(0, 700, 100, 0.1),          # below the score threshold: not counted, elephant 4 missed
            centred(1, 98, 497, 0.6)]           # zebra: TP
    pred = write_predictions(root / "pred", ds, {"val": rows})
    return ds, pred, root


def test_hand_counted_case_at_two_radii(hand, tmp_path):
    ds, pred, _ = hand
    m = detect(str(ds.root), str(pred.root), match="points", radius=20, conf=0.25, out=str(tmp_path / "r20"))
    # TP: elephant 1, elephant 2, zebra = 3; predictions kept: 5; ground truth: 5
    assert (m.metrics["tp"], m.metrics["fp"], m.metrics["fn"]) == (3, 2, 2)
    assert m.metrics["precision"] == pytest.approx(3 / 5) and m.metrics["recall"] == pytest.approx(3 / 5)
    assert m.metrics["f1"] == pytest.approx(0.6)
    assert m.per_class["elephant"]["tp"] == 2 and m.per_class["elephant"]["gt"] == 4
    assert m.per_class["elephant"]["precision"] == pytest.approx(2 / 3)  # 3 elephant predictions kept
    assert m.per_class["zebra"]["precision"] == pytest.approx(1 / 2) and m.per_class["zebra"]["recall"] == 1.0
    assert m.metrics["count_mae"] == 0.0  # 5 kept predictions for 5 animals: the count is right, the places are not
    m10 = detect(str(ds.root), str(pred.root), match="points", radius=10, conf=0.25, out=str(tmp_path / "r10"))
    assert (m10.metrics["tp"], m10.metrics["fp"], m10.metrics["fn"]) == (2, 3, 3)
    rows = list(csv.DictReader(open(m.root / "points_per_image.csv")))
    by_class = {r["class"]: r for r in rows}
    assert by_class["elephant"]["true"] == "4" and by_class["elephant"]["predicted"] == "3"
    assert by_class["elephant"]["count_error"] == "-1" and by_class["zebra"]["count_error"] == "1"
    assert m.details["match"] == "points" and m.details["radius"] == 20


def reference(gt: list[tuple], preds: list[tuple], radius: float) -> int:
    """True positives by the plain rule, one detection at a time (score order), nearest free point of its class."""
    used: set[int] = set()
    tp = 0
    for img, c, x, y, _ in sorted(preds, key=lambda p: -p[4]):
        best, best_d = None, radius
        for k, (gi, gc, gx, gy) in enumerate(gt):
            d = float(np.hypot(gx - x, gy - y))
            if gi == img and gc == c and k not in used and d <= best_d:
                if best is None or d < best_d:
                    best, best_d = k, d
        if best is not None:
            used.add(best)
            tp += 1
    return tp


@pytest.mark.parametrize("radius", [5.0, 25.0, 60.0])
def test_matches_a_plain_reference_on_generated_boxes(radius, tmp_path):
    """Box ground truth counts as its centres; the vectorised matching equals the plain loop."""
    doc, rows, classes = generated(n_images=25, seed=4)
    ds = write_dataset(tmp_path / "ds", classes, {"val": doc})
    pred = write_predictions(tmp_path / "p", ds, {"val": rows})
    m = detect(str(ds.root), str(pred.root), match="points", radius=radius, conf=0.3, out=str(tmp_path / "e"))
    gt = [(a["image_id"], a["category_id"], a["bbox"][0] + a["bbox"][2] / 2, a["bbox"][1] + a["bbox"][3] / 2)
          for a in doc["annotations"]]
    kept = [(r["image_id"], r["category_id"], r["bbox"][0] + r["bbox"][2] / 2, r["bbox"][1] + r["bbox"][3] / 2, r["score"])
            for r in rows if r["score"] >= 0.3]
    tp = reference(gt, kept, radius)
    assert m.metrics["tp"] == tp and m.metrics["fp"] == len(kept) - tp and m.metrics["fn"] == len(gt) - tp


def test_cli_writes_one_path_and_refuses_a_bad_radius(hand, tmp_path):
    ds, pred, _ = hand
    proc = run_cli("wt-eval", "detect", "--dataset", ds.root, "--predictions", pred.root, "--match", "points",
                   "--radius", "20", "--out", tmp_path / "e", check=True)
    assert manifest_of(proc)["metrics"]["tp"] == 3
    proc = run_cli("wt-eval", "detect", "--dataset", ds.root, "--predictions", pred.root, "--match", "points",
                   "--radius", "0", "--out", tmp_path / "bad")
    assert_bad_input(proc, "radius must be a positive number", "(radius)")
    assert not (tmp_path / "bad").exists()
    assert json.loads((tmp_path / "e" / "manifest.json").read_text())["details"]["points"] == 5


def test_box_matching_of_points_names_the_option(hand, tmp_path):
    ds, pred, _ = hand
    proc = run_cli("wt-eval", "detect", "--dataset", ds.root, "--predictions", pred.root, "--out", tmp_path / "e")
    assert_bad_input(proc, "a point annotation (evaluate points with --match points --radius R)", "annotations[0].bbox")
