"""Reading what an evaluation compares: a dataset split's ground truth and a predictions file.

Everything is checked before any metric runs, and each refusal names the file
and the field (`[i].bbox`), so a bad prediction file fails in one line.
Arrays are kept in numpy: an evaluation of 500,000 predictions spends its time
in the COCO evaluator, not here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from wt_core.errors import BadInput
from wt_core.manifest import DatasetManifest, PredictionsManifest
from wt_core.manifest_io import load_json
from wt_core.readers import read_dataset, read_predictions


@dataclass
class GroundTruth:
    """One split of a dataset: the COCO dict (renumbered for the evaluators) and its boxes as arrays."""

    coco: dict[str, Any]
    classes: list[str]
    image_ids: np.ndarray  # (I,) sorted int64
    images: list[dict[str, Any]]  # COCO image entries, in image_ids order
    img: np.ndarray  # (N,) index into image_ids
    cls: np.ndarray  # (N,) class id
    xyxy: np.ndarray  # (N, 4)
    file: Path

    @property
    def n_images(self) -> int:
        return len(self.image_ids)


@dataclass
class Predictions:
    """Detections as arrays; `img` indexes GroundTruth.image_ids."""

    img: np.ndarray
    cls: np.ndarray
    xywh: np.ndarray
    score: np.ndarray

    @property
    def xyxy(self) -> np.ndarray:
        b = self.xywh.copy()
        b[:, 2:] += b[:, :2]
        return b

    def __len__(self) -> int:
        return len(self.score)

    def subset(self, mask: np.ndarray) -> Predictions:
        return Predictions(self.img[mask], self.cls[mask], self.xywh[mask], self.score[mask])

    def coco_results(self, image_ids: np.ndarray) -> list[dict[str, Any]]:
        """COCO results entries (image ids back in the dataset's numbering)."""
        ids = image_ids[self.img].tolist()
        return [{"image_id": i, "category_id": c, "bbox": b, "score": s}
                for i, c, b, s in zip(ids, self.cls.tolist(), self.xywh.tolist(), self.score.tolist(), strict=True)]


def pick_split(ds: DatasetManifest, pred: PredictionsManifest | None, split: str | None) -> str:
    """The split to evaluate: the one asked for, else the only split the predictions hold, else val."""
    if split is None:
        common = [s for s in (pred.splits if pred else {}) if s in ds.splits]
        split = common[0] if len(common) == 1 else ("val" if "val" in ds.splits else next(iter(ds.splits)))
    if split not in ds.splits:
        raise BadInput(f"no split {split!r} in the dataset (splits: {', '.join(ds.splits)})", ds.path, "splits")
    if pred is not None and split not in pred.splits:
        raise BadInput(f"no predictions for split {split!r} (splits: {', '.join(pred.splits)})", pred.path, "splits")
    return split


def check_pair(ds: DatasetManifest, pred: PredictionsManifest, task: str) -> None:
    """Refuse predictions made for another dataset, task or class list."""
    if ds.task != task:
        raise BadInput(f"this is a {ds.task} dataset; use `wt-eval {ds.task}` to evaluate it", ds.path, "task")
    if pred.task != task:
        raise BadInput(f"these are {pred.task} predictions; `wt-eval {task}` needs {task} predictions", pred.path, "task")
    if pred.dataset_id is not None and pred.dataset_id != ds.id:
        raise BadInput(f"the predictions were made on dataset {pred.dataset_id}, not on {ds.id}",
                       pred.path, "dataset_id")
    if list(pred.classes) != list(ds.classes):
        raise BadInput(f"the predictions' classes {pred.classes} differ from the dataset's {ds.classes}",
                       pred.path, "classes")


def load_coco(ds: DatasetManifest, split: str) -> tuple[dict[str, Any], Path]:
    name = ds.splits[split].annotations
    if name not in ds.artifacts:
        raise BadInput(f"split {split!r} names a missing artifact {name!r}", ds.path, f"splits.{split}.annotations")
    file = ds.artifact_path(name)
    coco = load_json(file)
    if not isinstance(coco, dict) or not isinstance(coco.get("images"), list) \
            or not isinstance(coco.get("annotations"), list):
        raise BadInput("not a COCO file: expected an object with images and annotations lists", file)
    return coco, file


def load_ground_truth(ds: DatasetManifest, split: str) -> GroundTruth:
    """The split's boxes, checked, with annotation ids renumbered from 1.

    pycocotools treats an annotation id of 0 as "unmatched", so the evaluators get
    fresh ids 1..N; category ids are the dataset's 0-based class ids.
    """
    coco, file = load_coco(ds, split)
    return ground_truth_from_coco(coco, ds.classes, file)


def _annotation_problem(anns: list, file: Path, n_classes: int) -> BadInput:
    """The first malformed annotation, found the slow way once the fast parse failed."""
    for i, a in enumerate(anns):
        if not isinstance(a, dict):
            return BadInput("an annotation must be a JSON object", file, f"annotations[{i}]")
        bbox = a.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            hint = ": a point annotation (evaluate points with --match points --radius R)" if "point" in a else ""
            return BadInput(f"an annotation without a box in a detection dataset{hint}", file, f"annotations[{i}].bbox")
        if not isinstance(a.get("image_id"), int):
            return BadInput("an annotation without an integer image_id", file, f"annotations[{i}].image_id")
    return BadInput("malformed annotations", file, "annotations")


def ground_truth_from_coco(coco: dict[str, Any], classes: list[str], file: Path) -> GroundTruth:
    """Check a split's COCO dict and index its boxes; the dict is changed in place (ids 1..N, area, iscrowd)."""
    images = sorted(coco["images"], key=lambda im: im["id"])
    image_ids = np.asarray([im["id"] for im in images], dtype=np.int64)
    if len(np.unique(image_ids)) != len(image_ids):
        raise BadInput("duplicate image ids", file, "images")
    anns = coco["annotations"]
    n = len(anns)
    try:
        cats = np.asarray([a["category_id"] for a in anns])
        img_of = np.asarray([a["image_id"] for a in anns])
        boxes = np.asarray([a["bbox"] for a in anns], dtype=np.float64).reshape(n, 4)
    except (KeyError, TypeError, ValueError):
        raise _annotation_problem(anns, file, len(classes)) from None
    if n and (cats.dtype.kind not in "iu" or img_of.dtype.kind not in "iu"):
        raise _annotation_problem(anns, file, len(classes))
    cats = cats.astype(np.int64)
    img_of = img_of.astype(np.int64)
    bad = (cats < 0) | (cats >= len(classes))
    if bad.any():
        i = int(np.argmax(bad))
        raise BadInput(f"category id {int(cats[i])} out of range 0..{len(classes) - 1}", file,
                       f"annotations[{i}].category_id")
    for i, a in enumerate(anns):
        a["id"] = i + 1
        if "area" not in a:
            a["area"] = a["bbox"][2] * a["bbox"][3]
        if "iscrowd" not in a:
            a["iscrowd"] = 0
    pos = np.searchsorted(image_ids, img_of)
    bad = (pos >= len(image_ids)) | (image_ids[np.minimum(pos, len(image_ids) - 1)] != img_of) if n else []
    if np.any(bad):
        i = int(np.argmax(bad))
        raise BadInput(f"annotation for unknown image id {img_of[i]}", file, f"annotations[{i}].image_id")
    doc = {"images": images, "annotations": anns,
           "categories": [{"id": i, "name": name} for i, name in enumerate(classes)]}
    xyxy = boxes.copy()
    xyxy[:, 2:] += xyxy[:, :2]
    return GroundTruth(doc, list(classes), image_ids, images, pos.astype(np.int64), cats, xyxy, file)


def _row_problem(rows: list, file: Path, n_classes: int) -> BadInput:
    """The first malformed row, found the slow way once the fast parse failed."""
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            return BadInput("a prediction must be a JSON object", file, f"[{i}]")
        for key in ("image_id", "category_id", "bbox", "score"):
            if key not in r:
                return BadInput(f"a prediction without {key}", file, f"[{i}].{key}")
        if not isinstance(r["image_id"], int) or isinstance(r["image_id"], bool):
            return BadInput(f"image id {r['image_id']!r} is not an integer", file, f"[{i}].image_id")
        if not isinstance(r["category_id"], int) or isinstance(r["category_id"], bool):
            return BadInput(f"class id {r['category_id']!r} is not an integer", file, f"[{i}].category_id")
        b = r["bbox"]
        if not isinstance(b, list) or len(b) != 4 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in b):
            return BadInput(f"a box is four numbers [x, y, w, h], got {b!r}", file, f"[{i}].bbox")
        if not isinstance(r["score"], int | float) or isinstance(r["score"], bool):
            return BadInput(f"score {r['score']!r} is not a number", file, f"[{i}].score")
    return BadInput("malformed predictions", file)


def parse_predictions(rows: Any, file: Path, gt: GroundTruth) -> Predictions:
    """Check a COCO results list against the ground truth and return it as arrays."""
    if not isinstance(rows, list):
        raise BadInput("predictions must be a JSON list of COCO results", file)
    n = len(rows)
    if n == 0:
        return Predictions(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))
    try:
        image = np.asarray([r["image_id"] for r in rows])
        cls = np.asarray([r["category_id"] for r in rows])
        box = np.asarray([r["bbox"] for r in rows])
        score = np.asarray([r["score"] for r in rows])
    except (KeyError, TypeError, ValueError):
        raise _row_problem(rows, file, len(gt.classes)) from None
    if image.dtype.kind not in "iu" or cls.dtype.kind not in "iu" or box.shape != (n, 4) \
            or box.dtype.kind not in "iuf" or score.dtype.kind not in "iuf":
        raise _row_problem(rows, file, len(gt.classes))
    box = box.astype(np.float64, copy=False)
    score = score.astype(np.float64, copy=False)

    def first(mask: np.ndarray) -> int | None:
        return int(np.argmax(mask)) if mask.any() else None

    if (i := first((cls < 0) | (cls >= len(gt.classes)))) is not None:
        raise BadInput(f"class id {int(cls[i])} out of range 0..{len(gt.classes) - 1}", file, f"[{i}].category_id")
    if (i := first(~np.isfinite(box).all(axis=1))) is not None:
        raise BadInput(f"box {box[i].tolist()} is not finite", file, f"[{i}].bbox")
    if (i := first((box[:, 2] < 0) | (box[:, 3] < 0))) is not None:
        raise BadInput(f"box {box[i].tolist()} has a negative width or height", file, f"[{i}].bbox")
    if (i := first(~np.isfinite(score) | (score < 0))) is not None:
        raise BadInput(f"score {score[i]} is not a finite non-negative number", file, f"[{i}].score")
    pos = np.searchsorted(gt.image_ids, image)
    known = (pos < gt.n_images) & (gt.image_ids[np.minimum(pos, max(gt.n_images - 1, 0))] == image) \
        if gt.n_images else np.zeros(n, bool)
    if (i := first(~known)) is not None:
        raise BadInput(f"image id {int(image[i])} is not in the dataset's split", file, f"[{i}].image_id")
    return Predictions(pos.astype(np.int64), cls.astype(np.int64), box, score)


def load_predictions_rows(pred: PredictionsManifest, split: str) -> tuple[Any, Path]:
    name = pred.splits[split]
    if name not in pred.artifacts:
        raise BadInput(f"split {split!r} names a missing artifact {name!r}", pred.path, f"splits.{split}")
    file = pred.artifact_path(name)
    return load_json(file), file


@dataclass
class DetectionInputs:
    dataset: DatasetManifest
    predictions: PredictionsManifest
    split: str
    gt: GroundTruth
    rows: list[dict[str, Any]]
    """The predictions as read (checked): COCO results rows."""
    dets: Predictions


def read_detection_inputs(dataset: str | Path, predictions: str | Path, split: str | None,
                          ground_truth=None) -> DetectionInputs:
    """A detection dataset split and the predictions made on it, read and checked against each other.
    `ground_truth(ds, split)` loads the split (default: its boxes)."""
    ds = read_dataset(dataset)
    pred = read_predictions(predictions)
    check_pair(ds, pred, "detect")
    split = pick_split(ds, pred, split)
    gt = (ground_truth or load_ground_truth)(ds, split)
    rows, file = load_predictions_rows(pred, split)
    return DetectionInputs(ds, pred, split, gt, rows, parse_predictions(rows, file, gt))


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)
