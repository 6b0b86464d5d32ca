"""Error galleries: the mistakes cut from the right place, worst first, with their boxes drawn."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from evalcases import coco, gt_boxes, write_predictions
from PIL import Image, ImageDraw
from wt_core.manifest import DatasetManifest, DatasetSplit
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_eval import classify, detect
from wt_eval.gallery import FP_COLOUR, MISSED_COLOUR

BLUE, YELLOW = (20, 40, 230), (240, 220, 20)


def _dataset(out: Path, root: Path, classes: list[str], doc: dict, task: str = "detect") -> DatasetManifest:
    o = Output("wt-data", "import", out)
    o.path("val.json").write_text(json.dumps(doc))
    o.add("val_annotations", "val.json")
    rec = DatasetSplit(annotations="val_annotations", image_root=str(root), images=len(doc["images"]),
                       boxes=len(doc["annotations"]))
    return o.commit(build(DatasetManifest, id=o.id, task=task, classes=classes, splits={"val": rec}))


def _near(pixels: np.ndarray, x: float, y: float, colour, r: int = 2) -> bool:
    x, y = int(round(x)), int(round(y))
    patch = pixels[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].reshape(-1, 3)
    return bool((np.abs(patch.astype(int) - np.array(colour)).sum(axis=1) <= 40).any())


def test_detection_gallery_worst_first_cut_from_the_right_place(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    for i in (1, 2):
        im = Image.new("RGB", (400, 300), (120, 110, 80))
        d = ImageDraw.Draw(im)
        d.rectangle([300, 200, 339, 229], fill=BLUE)  # where a confident false positive lies (image 1)
        d.rectangle([40, 40, 119, 99], fill=YELLOW)  # a large animal, missed (image 2)
        im.save(root / f"im{i}.png")
    images = [{"id": i, "file_name": f"im{i}.png", "width": 400, "height": 300} for i in (1, 2)]
    anns = gt_boxes(1, (0, [150, 100, 30, 20])) + [
        {**a, "id": a["id"] + 10} for a in gt_boxes(2, (0, [40, 40, 80, 60]), (1, [200, 150, 10, 10]))]
    ds = _dataset(tmp_path / "ds", root, ["zebra", "gnu"], coco(images, anns, ["zebra", "gnu"]))
    preds = [{"image_id": 1, "category_id": 0, "bbox": [150, 100, 30, 20], "score": 0.95},  # true positive
             {"image_id": 1, "category_id": 1, "bbox": [300, 200, 40, 30], "score": 0.9},  # worst false positive
             {"image_id": 2, "category_id": 0, "bbox": [330, 20, 20, 20], "score": 0.5},  # another one
             {"image_id": 2, "category_id": 0, "bbox": [200, 260, 20, 20], "score": 0.1}]  # under the threshold
    pred = write_predictions(tmp_path / "pred", ds, {"val": preds})
    m = detect(str(ds.path), str(pred.path), out=str(tmp_path / "ev"))
    g = m.details["gallery"]
    assert g["errors_false_positives.png"] == {"count": 2, "shown": 2}
    assert g["errors_missed.png"] == {"count": 2, "shown": 2}
    per_image = m.details["per_image"]
    assert per_image["columns"] == ["image_id", "true", "predicted", "error", "false_positives", "missed"]
    assert per_image["rows"] == [[1, 1, 2, 1, 1, 0], [2, 2, 1, -1, 1, 2]]
    with open(m.artifact_path("counts")) as fh:
        assert list(csv.reader(fh))[1:] == [["1", "im1.png", "1", "2", "1", "1", "0"],
                                           ["2", "im2.png", "2", "1", "-1", "1", "2"]]

    from wt_eval.data import read_detection_inputs
    from wt_eval.gallery import Errors, detection_gallery, find_errors

    inputs = read_detection_inputs(str(ds.path), str(pred.path), None)
    errors: Errors = find_errors(inputs.gt, inputs.dets, 0.25, 0.5)
    shown = detection_gallery(tmp_path, inputs.gt, inputs.dets, errors, root, 0.25)
    fps, missed = shown["errors_false_positives.png"]["items"], shown["errors_missed.png"]["items"]
    assert [i["score"] for i in fps] == [0.9, 0.5]  # highest score first
    assert [i["bbox"] for i in missed] == [[40, 40, 120, 100], [200, 150, 210, 160]]  # largest first
    for name, items, colour, inside in (("errors_false_positives.png", fps, FP_COLOUR, BLUE),
                                        ("errors_missed.png", missed, MISSED_COLOUR, YELLOW)):
        with Image.open(tmp_path / name) as im:
            assert im.format == "PNG" and im.size[0] >= 2 * 160 and im.size[1] >= 160
            pixels = np.asarray(im.convert("RGB"))
        x0, y0, x1, y1 = items[0]["box_on_sheet"]
        assert _near(pixels, x0, (y0 + y1) / 2, colour)  # the error's box drawn where it is
        assert _near(pixels, (x0 + x1) / 2, (y0 + y1) / 2, inside, r=1)  # cut from the right place of the image


def test_classification_gallery_most_confident_mistakes_first(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    classes = ["deer", "fox", "boar"]
    images, anns, preds = [], [], []
    truth = [0, 0, 0, 1, 1, 2]
    guess = [(1, 0.99), (1, 0.6), (0, 0.9), (0, 0.7), (1, 0.8), (1, 0.95)]
    for i, (t, (p, s)) in enumerate(zip(truth, guess, strict=True), start=1):
        Image.new("RGB", (64, 48), (40 * i, 20, 200 - 30 * i)).save(root / f"c{i}.png")
        images.append({"id": i, "file_name": f"c{i}.png", "width": 64, "height": 48})
        anns.append({"id": i, "image_id": i, "category_id": t})
        preds.append({"image_id": i, "category_id": p, "score": s})
    ds = _dataset(tmp_path / "ds", root, classes, coco(images, anns, classes), task="classify")
    pred = write_predictions(tmp_path / "pred", ds, {"val": preds}, task="classify")
    m = classify(str(ds.path), str(pred.path), out=str(tmp_path / "ev"))
    g = m.details["gallery"]
    assert g["wrong"] == 4
    # deer -> fox twice (the most frequent pair first), then the single pairs
    assert [(p["true"], p["predicted"], p["count"]) for p in g["pairs"]] == [
        ("deer", "fox", 2), ("fox", "deer", 1), ("boar", "fox", 1)]
    with Image.open(m.artifact_path("gallery_confident")) as im:
        pixels = np.asarray(im.convert("RGB"))
    # row 1: image c1 (0.99) before c2 (0.6); each cell framed in red around the image's own colour
    from wt_eval.gallery import CAPTION, CELL

    first, second = (150 + CELL // 2, 30 + CELL // 2), (150 + CELL + 6 + CELL // 2, 30 + CELL // 2)
    assert _near(pixels, *first, (40, 20, 170), r=1) and _near(pixels, *second, (80, 20, 140), r=1)
    assert _near(pixels, 150, 30 + CELL // 2, FP_COLOUR)
    assert pixels.shape[0] == 30 + 3 * (CELL + CAPTION + 6)
