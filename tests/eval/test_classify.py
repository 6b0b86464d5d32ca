"""wt-eval classify: torchmetrics' numbers on a case counted by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalcases import coco, write_dataset, write_predictions
from helpers import assert_bad_input, call_cli, manifest_of

CLASSES = ["deer", "fox", "boar"]
TRUE = [0, 0, 0, 1, 1, 2]
PRED = [0, 0, 1, 1, 2, 2]
SCORES = [[.8, .1, .1], [.7, .2, .1], [.4, .5, .1],  # image 2: deer second
          [.1, .8, .1], [.5, .1, .4], [.1, .1, .8]]  # image 4: fox last


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    base = tmp_path_factory.mktemp("cls")
    images = [{"id": i + 10, "file_name": f"{i}.jpg", "width": 64, "height": 64} for i in range(6)]
    anns = [{"id": i + 1, "image_id": i + 10, "category_id": c} for i, c in enumerate(TRUE)]
    return write_dataset(base / "ds", CLASSES, {"val": coco(images, anns, CLASSES)}, task="classify")


def rows(with_scores=True):
    out = []
    for i, (p, s) in enumerate(zip(PRED, SCORES, strict=True)):
        r = {"image_id": i + 10, "category_id": p, "score": max(s)}
        if with_scores:
            r["scores"] = s
        out.append(r)
    return out


def test_hand_computed(ds, tmp_path):
    pred = write_predictions(tmp_path / "p", ds, {"val": rows()}, task="classify")
    proc = call_cli("wt-eval", "classify", "--dataset", ds.path, "--predictions", pred.path, "--top_k", "2",
                    check=True)
    m = manifest_of(proc)
    met = m["metrics"]
    assert met["accuracy"] == pytest.approx(4 / 6)
    assert met["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert met["macro_precision"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert met["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert met["weighted_f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 2 / 3) / 6)
    assert met["top1_accuracy"] == pytest.approx(4 / 6)
    assert met["top2_accuracy"] == pytest.approx(5 / 6)
    assert m["per_class"]["deer"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    root = Path(proc.stdout.strip()).parent
    conf = json.loads((root / "confusion.json").read_text())
    assert conf["counts"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]] and conf["rows"] == "true"
    assert (root / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_scores_are_optional(ds):
    """Without per-class scores there is no top-k (checked without the CLI: torchmetrics' import costs seconds)."""
    import numpy as np
    from wt_eval.classify import parse_class_predictions

    ids = np.arange(10, 16)
    pred, scores = parse_class_predictions(rows(False), Path("p.json"), ids, 3)
    assert pred.tolist() == PRED and scores is None
    pred, scores = parse_class_predictions(rows(), Path("p.json"), ids, 3)
    assert scores.shape == (6, 3)


@pytest.mark.parametrize("bad,fragment", [
    ([{"image_id": 10, "category_id": 0}], "5 images of the split have no prediction"),
    ([*rows()[:5], {**rows()[0]}], "image 10 is predicted twice"),
    ([*rows()[:5], {**rows()[5], "category_id": 3}], "class id 3 out of range"),
    ([*rows()[:5], {**rows()[5], "scores": [0.5, 0.5]}], "scores must be 3 finite numbers"),
], ids=["missing images", "twice", "class out of range", "short scores"])
def test_bad_classify_predictions(ds, tmp_path, bad, fragment):
    pred = write_predictions(tmp_path / "p", ds, {"val": bad}, task="classify")
    assert_bad_input(call_cli("wt-eval", "classify", "--dataset", ds.path, "--predictions", pred.path), fragment)
