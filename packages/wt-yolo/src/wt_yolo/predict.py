"""`wt-yolo predict`: a run's detector on a dataset split or an image folder, sliced for large images."""

from __future__ import annotations

import json
from pathlib import Path

from wt_core import console, offline
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest, ManifestBase, PredictionsManifest, RunManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output

from wt_yolo.args import SliceArgs
from wt_yolo.data import (
    SplitImage,
    folder_images,
    read_detect_dataset,
    read_run,
    run_weights,
    split_images,
)
from wt_yolo.slicing import SlicedPredictor

log = console.get_logger("wt-yolo")


def write_predictions(output: Output, predictor: SlicedPredictor, split: str, images: list[SplitImage]) -> str:
    """Predict every image, write COCO results JSON for `split`; returns its artifact name."""
    results: list[dict] = []
    dets = predictor.predict_files(im.path for im in images)
    for im, det in zip(console.progress(images, desc=f"predicting {split}", logger=log), dets, strict=True):
        results.extend(det.coco(im.id))
    name = f"predictions.{split}"
    rel = f"predictions/{split}.json"
    output.path(rel).write_text(json.dumps(results))
    output.add(name, rel)
    log.info("%s: %d boxes on %d images", split, len(results), len(images))
    return name


def predictions_manifest(output: Output, run: RunManifest, ds: DatasetManifest | None, predictor: SlicedPredictor,
                         splits: dict[str, str], details: dict | None = None) -> PredictionsManifest:
    parents: list[ManifestBase] = [run] + ([ds] if ds is not None else [])
    rec = predictor.record()
    m = build(PredictionsManifest, id=output.id, parents=parents, task="detect", classes=list(run.classes),
              dataset_id=ds.id if ds else None, run_id=run.id, splits=splits, thresholds=rec["thresholds"],
              slicing=rec["slicing"], details=details or {})
    return output.commit(m)


@command("wt-yolo", "predict")
def predict(run: str, data: str | None = None, split: str = "val", images: Path | None = None,
            slicing: SliceArgs = SliceArgs(), conf: float = 0.25, iou: float = 0.7,
            max_det: int = 300, imgsz: int | None = None, device: str | None = None, out: Path | None = None,
            overwrite: bool = False) -> PredictionsManifest:
    """Predict boxes with a trained run on a dataset split or an image folder (sliced for large images).

    Boxes are in full-image pixels; boxes that neighbouring tiles found of one animal are merged,
    class by class. Writes a predictions manifest (COCO results JSON, class ids 0-based).

    Args:
        run: The run manifest (file, directory or '-').
        data: A detection dataset manifest whose split to predict (or give --images).
        split: The split of --data to predict.
        images: A folder of images to predict instead of a dataset split.
        slicing: Tiles, overlap, batching and the merge across tiles (tile 0 predicts images whole).
        conf: Minimum score of a box.
        iou: IoU threshold of the NMS within each tile.
        max_det: Maximum boxes per image (after merging).
        imgsz: The network input size (default: the run's training size).
        device: 'cpu', '0', ... (default: Ultralytics picks).
        out: The output directory (default runs/yolo/predict/<id>).
        overwrite: Replace an existing output directory.
    """
    offline.apply()
    if isinstance(slicing, dict):
        slicing = SliceArgs(**slicing)
    if (data is None) == (images is None):
        raise BadInput("give exactly one of --data (with --split) or --images", None, "data")
    r = read_run(run)
    ds = read_detect_dataset(data) if data is not None else None
    todo = split_images(ds, split) if ds is not None else folder_images(images)
    key = split if ds is not None else "images"
    _check_conf(conf, iou)
    output = Output("wt-yolo", "predict", out, overwrite=overwrite)
    predictor = SlicedPredictor(run_weights(r), imgsz=imgsz or r.imgsz or 640, conf=conf, iou=iou, max_det=max_det,
                                slicing=slicing, device=device)
    name = write_predictions(output, predictor, key, todo)
    details = {}
    if ds is None:
        index = [{"id": im.id, "file_name": str(im.path), "width": im.width, "height": im.height} for im in todo]
        output.path("images.json").write_text(json.dumps(index))
        output.add("images", "images.json")
        details["image_folder"] = str(Path(images).resolve())
    return predictions_manifest(output, r, ds, predictor, {key: name}, details)


def _check_conf(conf: float, iou: float) -> None:
    if not 0 <= conf <= 1:
        raise BadInput(f"conf must be in [0, 1], got {conf}", None, "conf")
    if not 0 < iou <= 1:
        raise BadInput(f"iou must be in (0, 1], got {iou}", None, "iou")
