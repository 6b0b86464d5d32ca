"""Best weights chosen on whole images: `wt_core.selection`'s validation with the Runner's model.

Every `select.every` epochs (and at the last) the model being trained predicts
the whole val images (sliced in tiles the size of the training tiles, the
forward pass of `wt-mmdet predict`) and is scored by `wt_core.selection.score`.
The metrics join the epoch's row before the harness writes it; when the metric
that selects is a whole-image one, mmengine's `save_best` is off and
`wt_mmdet.hooks.WildTrainHook` keeps the epoch checkpoint the harness selects.
"""

from __future__ import annotations

from wt_core.manifest import DatasetManifest
from wt_core.selection import TILE_FITNESS, DetectSelectArgs, WholeImageValidation, plan_selection

from wt_mmdet.infer import crops_forward


class MmdetWholeImages(WholeImageValidation):
    """`hook(epoch, row)`: the whole-image metrics of the Runner's current model, on the epochs they are due."""

    runner = None

    def __call__(self, epoch: int, row: dict[str, float]) -> dict[str, float] | None:
        r = self.runner
        if r is None or not self.due(epoch, epoch >= r.max_epochs):
            return None
        from mmengine.model import is_model_wrapper

        model = r.model.module if is_model_wrapper(r.model) else r.model
        was_training = model.training
        model.eval()
        try:
            return self.evaluate(crops_forward(model, self.imgsz, self.args.conf))
        finally:
            model.train(was_training)


def whole_image_validation(ds: DatasetManifest, val_split: str | None, args: DetectSelectArgs,
                           imgsz: int) -> tuple[str | None, MmdetWholeImages | None]:
    """The whole-image metric that selects best weights (None: mmdet's own bbox_mAP on the tiles, as
    mmengine's save_best), and the whole-image validation when the val split was tiled."""
    metric, whole, tile = plan_selection(ds, val_split, args, imgsz, "wt-mmdet")
    validation = MmdetWholeImages(whole, args, tile, imgsz, "wt-mmdet") if whole is not None else None
    return (None if metric == TILE_FITNESS else metric), validation
