"""Best weights chosen on whole images: an epoch hook of the training harness.

Every `select.every` epochs (and at the last), after Ultralytics has validated
the EMA weights on the tiles, the same EMA weights predict the whole val images
(sliced, `wt_core.slicing`, tiles the size of the training tiles) and are scored
by `wt_core.selection.score` (the evaluator of `wt-eval detect`). The metrics
(`full/mAP50`, `full/count_error` ...) join the epoch's row; the harness selects
the best epoch by the metric the user picked, and wt-yolo's epoch callback hands
that choice to Ultralytics as its fitness, so Ultralytics' own bookkeeping writes
`best.pt` (and early stopping waits) by it. An epoch without a whole-image
validation is no candidate.
"""

from __future__ import annotations

import time
from typing import Any

from wt_core import console
from wt_core.manifest import DatasetManifest
from wt_core.raster import ImageSource, open_image
from wt_core.selection import SelectArgs, WholeImages, default_metric, score
from wt_core.slicing import Detections, Slicing, predict_sliced

from wt_yolo.slicing import detections_of

log = console.get_logger("wt-yolo")
CACHE_PIXELS = 400_000_000  # whole val images kept decoded in memory up to this many pixels


class WholeImageValidation:
    """`hook(epoch, row)`: the whole-image metrics of the current EMA weights, on the epochs they are due."""

    def __init__(self, whole: WholeImages, args: SelectArgs, tile: int, imgsz: int):
        self.whole, self.args, self.imgsz = whole, args, imgsz
        self.slicing = Slicing(tile=tile, overlap=0.2)
        self.seconds = 0.0
        self.validations = 0
        self.trainer = None
        self._images: list[ImageSource] | None = None

    def attach(self, model) -> None:
        """Know Ultralytics' trainer (its EMA weights, device, epochs) from the start of training."""
        model.add_callback("on_train_start", self._on_train_start)

    def _on_train_start(self, trainer) -> None:
        self.trainer = trainer

    def __call__(self, epoch: int, row: dict[str, float]) -> dict[str, float] | None:
        tr = self.trainer
        if tr is None or "fitness" not in row:  # not validated this epoch
            return None
        if epoch % self.args.every and epoch < tr.epochs and not tr.stop:
            return None
        return self.evaluate(tr.ema.ema if tr.ema else tr.model, tr.args.device)

    def images(self) -> list[ImageSource]:
        if self._images is not None:
            return self._images
        imgs = [open_image(im.path) for im in self.whole.images]
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

        def forward(crops) -> list[Detections]:
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
        return {"every": self.args.every, "whole_images": len(self.whole.images), "validations": self.validations,
                "seconds": round(self.seconds, 2), "slicing": self.slicing.record(), "imgsz": self.imgsz}


def whole_image_validation(ds: DatasetManifest, val_split: str, args: SelectArgs,
                           imgsz: int) -> tuple[str, WholeImageValidation | None]:
    """The selection metric of a fit, and the whole-image validation when the val split was tiled."""
    whole = WholeImages.of_tiled(ds, val_split)
    metric = default_metric(whole, args.metric)
    if whole is None:
        return metric, None
    tile = int(ds.details["tiling"]["size"])
    log.info("best.pt chosen by %s; the %d whole %s images are validated every %d epoch(s), sliced in tiles of %d",
             metric, len(whole.images), val_split, args.every, tile)
    return metric, WholeImageValidation(whole, args, tile, imgsz)
