"""`wt-mmdet predict`: a run's detector on a dataset split or an image folder, sliced for large images."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from wt_core import console, offline
from wt_core.devices import check_device
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import PredictionsManifest
from wt_core.outputs import Output
from wt_core.predictions import (
    commit_predictions,
    folder_images,
    split_images,
    write_image_index,
    write_predictions,
)
from wt_core.ranges import UnitInterval
from wt_core.slicing import Slicing

from wt_mmdet.infer import Detector, default_slicing, trusted_run

log = console.get_logger("wt-mmdet")


@command("wt-mmdet", "predict")
def predict(run: str, dataset: str | None = None, split: str = "val", images: Path | None = None,
            slicing: Slicing = default_slicing(),
            conf: UnitInterval = 0.25, max_det: int = 300, imgsz: int | None = None,
            weights: Literal["best", "last"] = "best", checkpoint: Path | None = None, device: str | None = None,
            out: Path | None = None, overwrite: bool = False) -> PredictionsManifest:
    """Predict boxes with a wt-mmdet run on a dataset split or an image folder (sliced for large images).

    Writes a predictions manifest: COCO results JSON (boxes in full-image pixels, 0-based class ids).

    Args:
        run: The run manifest of wt-mmdet fit (file, directory or '-').
        dataset: A detection dataset manifest whose split to predict (or give --images).
        split: The split of --dataset to predict.
        images: A folder of images to predict instead of a dataset split.
        slicing: Tiles, overlap, batching and the merge across tiles (tile 0: whole images).
        conf: Minimum score of a box.
        max_det: Maximum boxes per image (after merging).
        imgsz: The network input size (default: the run's training size).
        weights: Which weights of the run.
        checkpoint: Other weights for the run's model: a plain state_dict (loaded weights-only) or a
            checkpoint of a wt-mmdet run.
        device: 'cpu', 'cuda', 'cuda:1' or '1' ... (default: cuda when available).
        out: The output directory (default runs/mmdet/predict/<id>).
        overwrite: Replace an existing output directory.
    """
    offline.apply()
    check_device(device, "device")
    if (dataset is None) == (images is None):
        raise BadInput("give exactly one of --dataset (with --split) or --images", None, "dataset")
    if device is not None and device.isdigit():
        device = f"cuda:{device}"  # the GPU index alone, as --device means in every tool
    r = trusted_run(run)
    ds = None
    if dataset is not None:
        from wt_core.readers import read_detect_dataset

        ds = read_detect_dataset(dataset)
    todo = split_images(ds, split) if ds is not None else folder_images(images)
    key = split if ds is not None else "images"
    detector = Detector(r, weights=weights, checkpoint=checkpoint, imgsz=imgsz, conf=conf, max_det=max_det,
                        slicing=slicing, device=device)
    output = Output("wt-mmdet", "predict", out, overwrite=overwrite)
    name = write_predictions(output, key, todo, detector.predict_files(im.path for im in todo), log)
    details: dict = {"weights": weights if checkpoint is None else str(Path(checkpoint).resolve())}
    if ds is None:
        details.update(write_image_index(output, todo, images))
    return commit_predictions(output, r, ds, {key: name}, detector.record(), details)
