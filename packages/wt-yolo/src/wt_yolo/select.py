"""Best weights chosen on whole images: `wt_core.selection`'s validation with Ultralytics' EMA weights.

Every `select.every` epochs (and at the last), after Ultralytics has validated
the EMA weights on the tiles, the same EMA weights predict the whole val images
(sliced, tiles the size of the training tiles) and are scored by
`wt_core.selection.score` (the evaluator of `wt-eval detect`). The metrics
(`full/mAP50`, `full/count_error` ...) join the epoch's row; the harness selects
the best epoch by the metric the user picked, and wt-yolo's epoch callback hands
that choice to Ultralytics as its fitness, so Ultralytics' own bookkeeping writes
`best.pt` (and early stopping waits) by it. An epoch without a whole-image
validation is no candidate.
"""

from __future__ import annotations

from wt_core.manifest import DatasetManifest
from wt_core.selection import DetectSelectArgs, WholeImageValidation, plan_selection
from wt_core.slicing import Detections

from wt_yolo.slicing import detections_of


class YoloWholeImages(WholeImageValidation):
    """`hook(epoch, row)`: the whole-image metrics of the current EMA weights, on the epochs they are due."""

    trainer = None

    def attach(self, model) -> None:
        """Know Ultralytics' trainer (its EMA weights, device, epochs) from the start of training."""
        model.add_callback("on_train_start", self._on_train_start)

    def _on_train_start(self, trainer) -> None:
        self.trainer = trainer

    def __call__(self, epoch: int, row: dict[str, float]) -> dict[str, float] | None:
        tr = self.trainer
        if tr is None or "fitness" not in row:  # not validated this epoch
            return None
        if not self.due(epoch, epoch >= tr.epochs or tr.stop):
            return None
        from ultralytics.models.yolo.detect import DetectionPredictor

        device = tr.args.device
        predictor = DetectionPredictor(overrides={"conf": self.args.conf, "iou": 0.7, "imgsz": self.imgsz,
                                                  "max_det": 300, "verbose": False, "save": False,
                                                  "device": str(device) if device is not None else None})
        predictor.setup_model(tr.ema.ema if tr.ema else tr.model, verbose=False)

        def forward(crops) -> list[Detections]:
            return detections_of(predictor(source=crops, stream=False))

        return self.evaluate(forward)


def whole_image_validation(ds: DatasetManifest, val_split: str, args: DetectSelectArgs,
                           imgsz: int) -> tuple[str, YoloWholeImages | None]:
    """The selection metric of a fit, and the whole-image validation when the val split was tiled."""
    metric, whole, tile = plan_selection(ds, val_split, args, imgsz, "wt-yolo")
    return metric, (YoloWholeImages(whole, args, tile, imgsz, "wt-yolo") if whole is not None else None)
