"""`wt-mmdet predict`: a run's detector on a dataset split or an image folder, sliced for large images."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from wt_core import console
from wt_core.blocks import BlockRule
from wt_core.dask_engine import Dask
from wt_core.devices import check_device
from wt_core.errors import BadInput
from wt_core.geo_output import GeoFormat
from wt_core.invocation import command
from wt_core.manifest import PredictionsManifest
from wt_core.outputs import Output
from wt_core.predictions import (
    commit_predictions,
    file_records,
    folder_images,
    predict_job,
    split_images,
)
from wt_core.ranges import UnitInterval
from wt_core.slicing import Slicing
from wt_core.streaming import Shard

from wt_mmdet.infer import Detector, default_slicing, trusted_run

log = console.get_logger("wt-mmdet")


@command("wt-mmdet", "predict")
def predict(run: str, dataset: str | None = None, split: str = "val", images: Path | None = None,
            slicing: Slicing = default_slicing(),
            conf: UnitInterval = 0.25, max_det: int = 300, imgsz: int | None = None,
            weights: Literal["best", "last"] = "best", checkpoint: Path | None = None, device: str | None = None,
            out: Path | None = None, overwrite: bool = False, resume: bool = False, shard: str | None = None,
            part_size: int = 256, dask: Dask = Dask(), geo: GeoFormat | None = None) -> PredictionsManifest:
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
        resume: Continue the unfinished output of the same command (same --out) after a crash or kill.
        shard: 'i/N': predict share i of N (0-based) of the images, for an array job (then `wt-eval merge`).
        part_size: Images per committed part of the results (a kill loses at most one part).
        dask: Run the job's shards as Dask tasks on a cluster (scheduler address or dask-jobqueue spec).
        geo: Boxes on georeferenced rasters as map files in the raster's CRS beside the COCO results:
            geojson, gpkg (GeoPackage) or none (default: geojson for rasters with a CRS, nothing for photos).
    """
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
    todo = split_images(ds, split) if ds is not None else folder_images(images, sizes=False)
    key = split if ds is not None else "images"
    loader = Loader(str(r.path), weights, str(checkpoint) if checkpoint else None, imgsz or r.imgsz or 640, conf,
                    max_det, slicing, device)
    Shard.parse(shard)  # refused before any output directory is made
    output = Output("wt-mmdet", "predict", out, overwrite=overwrite, resume=resume)
    name, details = predict_job(output, key, todo, loader, shard=shard, dask=dask, part_size=part_size, log=log,
                                folder=images if ds is None else None, blocks=BlockRule.of(slicing, max_det), geo=geo,
                                classes=r.classes)
    details["weights"] = weights if checkpoint is None else str(Path(checkpoint).resolve())
    return commit_predictions(output, r, ds, {key: name}, loader.record(), details)


@dataclass(frozen=True)
class Loader:
    """What loads a run's detector for a prediction job (picklable: a Dask worker loads it once)."""

    run: str
    weights: str
    checkpoint: str | None
    imgsz: int
    conf: float
    max_det: int
    slicing: Slicing
    device: str | None

    def __call__(self):
        d = Detector(self.run, weights=self.weights, checkpoint=Path(self.checkpoint) if self.checkpoint else None,
                     imgsz=self.imgsz, conf=self.conf, max_det=self.max_det, slicing=self.slicing, device=self.device)
        return file_records(partial(d.predict_arrays, conf=self.conf, max_det=self.max_det))

    def record(self) -> dict:
        """Thresholds and slicing as the manifest records them (the detector's own record)."""
        return Detector.record(self)  # type: ignore[arg-type]  # it reads only these fields
