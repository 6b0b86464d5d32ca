"""Test data for wt-eval: dataset and predictions manifests written with wt_core, and generated cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest, DatasetSplit, ManifestBase, PredictionsManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output


def coco(images: list[dict], anns: list[dict], classes: list[str]) -> dict:
    return {"images": images, "annotations": anns, "categories": [{"id": i, "name": n} for i, n in enumerate(classes)]}


def gt_boxes(image_id: int, *boxes: tuple[int, list[float]]) -> list[dict]:
    """COCO annotations of one image from (class id, [x, y, w, h]) pairs, ids from 1."""
    return [{"id": k + 1, "image_id": image_id, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": 0}
            for k, (c, b) in enumerate(boxes)]


def one_image_dataset(out: Path, classes: list[str], image: dict, *boxes: tuple[int, list[float]]) -> DatasetManifest:
    """A detection dataset of one image (split val)."""
    return write_dataset(out, classes, {"val": coco([image], gt_boxes(image["id"], *boxes), classes)})


def write_dataset(out: Path, classes: list[str], splits: dict[str, dict], task: str = "detect",
                  parents: list[ManifestBase] = ()) -> DatasetManifest:
    o = Output("wt-data", "import", out)
    recs = {}
    for name, doc in splits.items():
        o.path(f"{name}.json").write_text(json.dumps(doc))
        o.add(f"{name}_annotations", f"{name}.json")
        recs[name] = DatasetSplit(annotations=f"{name}_annotations", image_root="/nonexistent/images",
                                  images=len(doc["images"]), boxes=len(doc["annotations"]))
    return o.commit(build(DatasetManifest, id=o.id, parents=list(parents), task=task, classes=classes, splits=recs))


@command("wt-yolo", "predict")
def write_predictions(out: Path, ds: DatasetManifest | None, rows_by_split: dict[str, Any], classes: list[str] | None = None,
                      task: str = "detect", dataset_id: str | None = None, slicing: dict | None = None) -> PredictionsManifest:
    """A predictions manifest as a trainer's predict would write it (recorded as made by `wt-yolo predict`)."""
    o = Output("wt-yolo", "predict", out)
    splits = {}
    for name, rows in rows_by_split.items():
        text = rows if isinstance(rows, str) else json.dumps(rows)
        o.path(f"pred_{name}.json").write_text(text)
        o.add(f"predictions_{name}", f"pred_{name}.json")
        splits[name] = f"predictions_{name}"
    return o.commit(build(PredictionsManifest, id=o.id, parents=[ds] if ds else [], task=task,
                          classes=classes if classes is not None else ds.classes,
                          dataset_id=dataset_id if dataset_id is not None else (ds.id if ds else None),
                          splits=splits, thresholds={"score": 0.001, "iou": 0.7}, slicing=slicing))


def generated(n_images: int = 60, n_classes: int = 3, seed: int = 0, max_boxes: int = 12) -> tuple[dict, list[dict], list[str]]:
    """Ground truth of varied sizes, and predictions perturbed, missed, duplicated, mislabelled and false."""
    rng = np.random.default_rng(seed)
    classes = [f"class{k}" for k in range(n_classes)]
    images, anns, preds = [], [], []
    for i in range(n_images):
        w, h = 640, 480
        images.append({"id": i, "file_name": f"img{i:04d}.jpg", "width": w, "height": h})
        for _ in range(int(rng.integers(0, max_boxes + 1))):
            bw, bh = float(rng.uniform(6, 160)), float(rng.uniform(6, 160))
            x, y = float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh))
            c = int(rng.integers(0, n_classes))
            anns.append({"id": len(anns), "image_id": i, "category_id": c, "bbox": [x, y, bw, bh],
                         "area": bw * bh, "iscrowd": 0})
            r = rng.random()
            if r < 0.15:
                continue  # missed
            jitter = rng.normal(0, 0.08, 4) * [bw, bh, bw, bh]
            pc = c if rng.random() > 0.1 else int(rng.integers(0, n_classes))
            box = [x + jitter[0], y + jitter[1], max(1.0, bw + jitter[2]), max(1.0, bh + jitter[3])]
            preds.append({"image_id": i, "category_id": pc, "bbox": box, "score": float(rng.uniform(0.05, 1))})
            if rng.random() < 0.1:  # a duplicate
                preds.append({"image_id": i, "category_id": pc, "bbox": [b + 2 for b in box],
                              "score": float(rng.uniform(0.01, 0.6))})
        for _ in range(int(rng.integers(0, 4))):  # false detections
            bw, bh = float(rng.uniform(8, 100)), float(rng.uniform(8, 100))
            preds.append({"image_id": i, "category_id": int(rng.integers(0, n_classes)),
                          "bbox": [float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh)), bw, bh],
                          "score": float(rng.uniform(0.01, 0.9))})
    return coco(images, anns, classes), preds, classes


def write_evaluation(out: Path, metrics: dict[str, float], dataset_id: str = "ds-1", split: str = "val",
                     task: str = "detect"):
    from wt_core.manifest import EvaluationManifest

    o = Output("wt-eval", "detect", out)
    return o.commit(build(EvaluationManifest, id=o.id, task=task, dataset_id=dataset_id, split=split,
                          metrics=metrics))
