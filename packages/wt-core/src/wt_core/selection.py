"""Choosing a run's best weights on whole images, the way its users will count animals.

A dataset made by `wt-data tile` records its parent dataset and, per tile, the
source image and offset. A trainer validating on such a split learns how well
it finds animals on tiles; the user's question is how many animals are on the
whole photo. `WholeImages.of_tiled` finds the whole images of the val split in
the parent dataset; the trainer predicts them sliced (`wt_core.slicing`) with
its current weights; `score` scores them with the one COCO evaluator
(`wt_core.cocometrics`, as `wt-eval detect` does) and the count error; and
the harness (`wt_core.training.Training.choose`) keeps the best value of the metric the
user picked. `WholeImageValidation` is that validation, framework-neutral: a
trainer supplies only its forward pass on a batch of crops (wt-yolo: the EMA
weights through Ultralytics' predictor; wt-mmdet: the Runner's model).

Metrics (logged per validation under these names):
- `full/mAP50`, `full/mAP50_95`: COCO box AP on the whole images;
- `full/count_error`: sum over images of |predicted - true count| divided by the
  true total, boxes counted at `count_conf`;
- `full/count`, `full/count_true`: the totals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from wt_core import cocometrics, console
from wt_core.errors import BadInput
from wt_core.manifest import DatasetManifest
from wt_core.predictions import ImageRef, split_images
from wt_core.ranges import UnitInterval, check_fields
from wt_core.raster import ImageSource, open_image
from wt_core.slicing import Detections, Slicing, predict_sliced
from wt_core.train_args import SelectArgs

CACHE_PIXELS = 400_000_000  # whole val images kept decoded in memory up to this many pixels
Forward = Callable[[list[np.ndarray]], list[Detections]]

WHOLE_METRICS = ("full/mAP50", "full/mAP50_95", "full/count_error")
TILE_FITNESS = "fitness"


@dataclass
class DetectSelectArgs(SelectArgs):
    """Which validation metric chooses best weights, and how often whole images are validated.

    metric: 'full/mAP50', 'full/mAP50_95', 'full/count_error' (on the whole val images of a tiled dataset), or
    'fitness' (the framework's own, on the tiles); default full/mAP50 when the val split is tiled."""

    every: int = 2
    """Validate on the whole images every N epochs (the last epoch always); one validation costs about 10-20 %
    of an epoch on a small tiled split, so every 2 adds under 10 %. 0: never (best weights by 'fitness')."""
    conf: UnitInterval = 0.01
    """Lowest score kept when predicting whole images for the mAP."""
    count_conf: UnitInterval = 0.25
    """Score from which a box counts as an animal (count error)."""
    max_det: int = 1000
    """Most boxes per whole image (COCO scores this many per image and class)."""

    def __post_init__(self) -> None:
        if self.metric is not None and self.metric not in (*WHOLE_METRICS, TILE_FITNESS):
            raise BadInput(f"unknown selection metric {self.metric!r} (choose from "
                           f"{', '.join((*WHOLE_METRICS, TILE_FITNESS))})", None, "select.metric")
        if self.every < 0:
            raise BadInput(f"select.every must be 0 (never) or more, got {self.every}", None, "select.every")
        if self.every == 0 and self.metric not in (None, TILE_FITNESS):
            raise BadInput(f"--select.metric {self.metric} needs whole-image validations: select.every must be "
                           "at least 1", None, "select.every")
        check_fields(self, "select")


@dataclass
class WholeImages:
    """The whole images behind a tiled split, and their ground truth (COCO, 0-based class ids)."""

    images: list[ImageRef]
    coco: dict[str, Any]
    dataset: DatasetManifest
    split: str

    @classmethod
    def of_tiled(cls, ds: DatasetManifest, split: str) -> WholeImages | None:
        """The `split` of the dataset that was tiled, when `ds` was made by `wt-data tile` (else None).

        Datasets made of tiles (`wt-data hardneg`) keep `details.tiling`; the walk goes up through them."""
        from wt_core.manifest_io import read_manifest

        src = ds
        while "tiling" in (src.details or {}):  # up through tiles and datasets made of tiles (hard negatives)
            parent = src.parent("dataset")
            if parent is None:
                return None
            path = src.parent_path(parent)
            if not path.is_file():
                raise BadInput("the tiled dataset's parent (its whole images) is missing", src.path, "parents")
            src = read_manifest(path, "dataset", expect=DatasetManifest, hashes=False, parents=False)
        if src is ds or split not in src.splits:
            return None
        coco = json.loads(src.artifact_path(src.splits[split].annotations).read_text())
        for i, a in enumerate(coco["annotations"]):
            a["id"] = i + 1
            a.setdefault("area", a["bbox"][2] * a["bbox"][3])
            a.setdefault("iscrowd", 0)
        coco["categories"] = [{"id": k, "name": n} for k, n in enumerate(src.classes)]
        return cls(split_images(src, split), coco, src, split)

    def true_counts(self) -> dict[int, int]:
        counts = {im.id: 0 for im in self.images}
        for a in self.coco["annotations"]:
            counts[int(a["image_id"])] = counts.get(int(a["image_id"]), 0) + 1
        return counts


def score(whole: WholeImages, detections: list[Detections], count_conf: float = 0.25,
          max_det: int = 1000) -> dict[str, float]:
    """COCO mAP and count error of one prediction of every whole image (in the order of `whole.images`)."""
    results: list[dict[str, Any]] = []
    predicted: dict[int, int] = {}
    for im, det in zip(whole.images, detections, strict=True):
        results.extend(det.coco(im.id))
        predicted[im.id] = int((det.scores >= count_conf).sum())
    r = cocometrics.evaluate(json.loads(json.dumps(whole.coco)), results, max_dets=max_det)
    true = whole.true_counts()
    total = sum(true.values())
    err = sum(abs(predicted.get(i, 0) - t) for i, t in true.items())
    return {"full/mAP50": max(r.stats["mAP50"], 0.0), "full/mAP50_95": max(r.stats["mAP"], 0.0),
            "full/count_error": err / max(total, 1), "full/count": float(sum(predicted.values())),
            "full/count_true": float(total)}


def default_metric(whole: WholeImages | None, requested: str | None) -> str:
    """The metric that picks best weights: the user's, else whole-image mAP50 when the val split is tiled."""
    if requested is None:
        return "full/mAP50" if whole is not None else TILE_FITNESS
    if requested != TILE_FITNESS and whole is None:
        raise BadInput(f"--select.metric {requested} needs a val split made by `wt-data tile` (its whole images "
                       "are in the parent dataset); this one is not tiled: use 'fitness'", None, "select.metric")
    return requested


class WholeImageValidation:
    """The whole val images predicted sliced by a trainer's forward pass and scored, on the epochs it is due.

    Each trainer subclasses it as a harness epoch hook (`t.add_epoch_hook`): its `__call__(epoch, row)`
    returns nothing unless `due` (every `args.every` epochs, and the last), and otherwise
    `evaluate(forward)` with `forward` (BGR crops -> Detections) for the weights being trained."""

    def __init__(self, whole: WholeImages, args: DetectSelectArgs, tile: int, imgsz: int, tool: str):
        self.whole, self.args, self.imgsz = whole, args, imgsz
        self.slicing = Slicing(tile=tile, overlap=0.2)
        self.seconds = 0.0
        self.validations = 0
        self.log = console.get_logger(tool)
        self._images: list[ImageSource] | None = None

    def due(self, epoch: int, last: bool) -> bool:
        return last or epoch % self.args.every == 0

    def images(self) -> list[ImageSource]:
        if self._images is not None:
            return self._images
        imgs = [open_image(im.path) for im in self.whole.images]
        if sum(im.width * im.height for im in self.whole.images) <= CACHE_PIXELS:
            self._images = imgs
        return imgs

    def evaluate(self, forward: Forward) -> dict[str, float]:
        """Sliced prediction of the whole val images with `forward`, scored; the seconds it took are counted."""
        start = time.perf_counter()
        dets = list(predict_sliced(self.images(), forward, self.slicing, self.args.max_det))
        out = score(self.whole, dets, self.args.count_conf, self.args.max_det)
        took = time.perf_counter() - start
        self.seconds += took
        self.validations += 1
        self.log.info("whole val images: mAP50 %.3f, count %d of %d (error %.1f%%), %.1f s", out["full/mAP50"],
                      out["full/count"], out["full/count_true"], 100 * out["full/count_error"], took)
        return out

    def record(self) -> dict[str, Any]:
        """What the run manifest records (`details.selection`)."""
        return {"every": self.args.every, "whole_images": len(self.whole.images), "validations": self.validations,
                "seconds": round(self.seconds, 2), "slicing": self.slicing.record(), "imgsz": self.imgsz}


def selection_record(validation: WholeImageValidation | None) -> dict[str, Any]:
    """The run manifest's `details.selection`: the validation's record, or no whole images."""
    return validation.record() if validation is not None else {"whole_images": 0}


def plan_selection(ds: DatasetManifest, val_split: str | None, args: DetectSelectArgs, imgsz: int,
                   tool: str) -> tuple[str, WholeImages | None, int]:
    """The selection metric of a fit, the whole val images when the val split was tiled, and the tile size."""
    whole = WholeImages.of_tiled(ds, val_split) if val_split and args.every else None
    metric = default_metric(whole, args.metric)
    if whole is None:
        return metric, None, 0
    tile = int(ds.details["tiling"]["size"])
    console.get_logger(tool).info(
        "best weights chosen by %s; the %d whole %s images are validated every %d epoch(s), sliced in tiles of %d",
        metric, len(whole.images), val_split, args.every, tile)
    return metric, whole, tile
