"""Best weights chosen on whole images: an Ultralytics callback around the trainer's validation.

Every `select.every` epochs (and at the last), after Ultralytics has validated
the EMA weights on the tiles, the same EMA weights predict the whole val images
(sliced, `wt_core.slicing`, tiles the size of the training tiles) and are scored
by `wt_core.selection.score` (the evaluator of `wt-eval detect`). The
validation then returns the selection metric as Ultralytics' fitness, so
Ultralytics' own bookkeeping writes `best.pt` (and early stopping waits) by it;
an epoch without a whole-image validation is no candidate. The tiles' fitness
stays in the metrics as `fitness_tiles`.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from wt_core import console
from wt_core.manifest import DatasetManifest
from wt_core.metrics_log import MetricsLog
from wt_core.selection import (
    TILE_FITNESS,
    WHOLE_METRICS,
    SelectArgs,
    Selection,
    WholeImages,
    default_metric,
    score,
)
from wt_core.slicing import Detections, Slicing, predict_sliced

from wt_yolo.slicing import _read_bgr, detections_of

log = console.get_logger("wt-yolo")
CACHE_PIXELS = 400_000_000  # whole val images kept decoded in memory up to this many pixels


class WholeImageSelection:
    """Validates on whole images and makes Ultralytics keep best.pt by `metric`."""

    def __init__(self, whole: WholeImages | None, metric: str, args: SelectArgs, tile: int, imgsz: int,
                 metrics_log: MetricsLog | None = None):
        self.whole, self.metric, self.args, self.metrics_log = whole, metric, args, metrics_log
        self.slicing = Slicing(tile=tile, overlap=0.2)
        self.imgsz = imgsz
        self.selection = Selection(metric)
        self.seconds = 0.0
        self.validations = 0
        self._images: list[np.ndarray] | None = None
        self._validate = None
        self.best_full: dict[str, float] = {}

    # -- Ultralytics hooks -------------------------------------------------------------------------
    def attach(self, model) -> None:
        """Add the callback to an Ultralytics model (after a resume, the best so far is read from metrics.jsonl)."""
        if self.whole is None:
            return
        for row in self.metrics_log.read() if self.metrics_log else []:
            if self.metric in row and self.selection.update(float(row[self.metric]), int(row["epoch"])):
                self.best_full = {k: v for k, v in row.items() if k.startswith("full/")}
        model.add_callback("on_train_start", self.on_train_start)

    def on_train_start(self, trainer) -> None:
        self._validate = trainer.validate
        trainer.validate = lambda: self.validate(trainer)

    def validate(self, trainer) -> tuple[dict | None, float | None]:
        before = trainer.best_fitness
        metrics, fitness = self._validate()
        if metrics is None:
            return metrics, fitness
        epoch = trainer.epoch + 1
        due = epoch % self.args.every == 0 or epoch >= trainer.epochs or trainer.stop
        full = self.evaluate(trainer.ema.ema if trainer.ema else trainer.model, trainer.args.device) if due else {}
        metrics = {**metrics, "fitness_tiles": float(fitness) if fitness is not None else math.nan,
                   **{k: full.get(k, math.nan) for k in (*WHOLE_METRICS, "full/count", "full/count_true")}}
        if self.metric == TILE_FITNESS:
            return metrics, fitness
        trainer.best_fitness = before  # undo the tiles' bookkeeping: the whole images decide
        if not full:
            return metrics, None
        if self.selection.update(full[self.metric], epoch):
            self.best_full = full
        value = self.selection.fitness(full[self.metric])
        if trainer.best_fitness is None or trainer.best_fitness < value:
            trainer.best_fitness = value
        return metrics, value

    # -- whole-image prediction --------------------------------------------------------------------
    def images(self) -> list[np.ndarray]:
        if self._images is not None:
            return self._images
        imgs = [_read_bgr(im.path) for im in self.whole.images]
        if sum(im.width * im.height for im in self.whole.images) <= CACHE_PIXELS:
            self._images = imgs
        return imgs

    def evaluate(self, model, device: Any) -> dict[str, float]:
        """Sliced prediction of the whole val images with `model` (the EMA weights), scored."""
        from ultralytics.models.yolo.detect import DetectionPredictor

        start = time.perf_counter()
        predictor = DetectionPredictor(overrides={"conf": self.args.conf, "iou": 0.7, "imgsz": self.imgsz,
                                                  "max_det": 300, "verbose": False, "save": False,
                                                  "device": str(device) if device is not None else None})
        predictor.setup_model(model, verbose=False)

        def forward(crops: list[np.ndarray]) -> list[Detections]:
            return detections_of(predictor(source=crops, stream=False))

        dets = list(predict_sliced(self.images(), forward, self.slicing, self.args.max_det))
        out = score(self.whole, dets, self.args.count_conf, self.args.max_det)
        took = time.perf_counter() - start
        self.seconds += took
        self.validations += 1
        log.info("whole val images: mAP50 %.3f, count %d of %d (error %.1f%%), %.1f s", out["full/mAP50"],
                 out["full/count"], out["full/count_true"], 100 * out["full/count_error"], took)
        return out

    def record(self) -> dict[str, Any]:
        """What the run manifest records (`details.selection`)."""
        return {**self.selection.record(), "every": self.args.every, "whole_images": len(self.whole.images)
                if self.whole else 0, "validations": self.validations, "seconds": round(self.seconds, 2),
                "slicing": self.slicing.record(), "imgsz": self.imgsz}


def whole_image_selection(ds: DatasetManifest, val_split: str, args: SelectArgs, imgsz: int,
                          metrics_log: MetricsLog | None = None) -> WholeImageSelection:
    """The selection of a fit: on the whole val images when the dataset was tiled, else the tiles' fitness."""
    whole = WholeImages.of_tiled(ds, val_split)
    metric = default_metric(whole, args.metric)
    tile = int(ds.details["tiling"]["size"]) if whole is not None else 0
    if whole is not None:
        log.info("best.pt chosen by %s; the %d whole %s images are validated every %d epoch(s), sliced in tiles of %d",
                 metric, len(whole.images), val_split, args.every, tile)
    return WholeImageSelection(whole, metric, args, tile, imgsz, metrics_log)
