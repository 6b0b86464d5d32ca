"""`wt-yolo predict`: a run's detector on a dataset split or an image folder, sliced for large images."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from wt_core import console
from wt_core.blocks import BlockRule
from wt_core.dask_engine import Dask
from wt_core.devices import check_device
from wt_core.errors import BadInput
from wt_core.geo_output import GeoFormat
from wt_core.invocation import command
from wt_core.manifest import PredictionsManifest
from wt_core.outputs import Output
from wt_core.predictions import commit_predictions, file_records, predict_job
from wt_core.ranges import PositiveUnit, UnitInterval
from wt_core.readers import read_detect_dataset, read_run, run_weights
from wt_core.slicing import Slicing
from wt_core.streaming import Shard

from wt_yolo.data import folder_images, split_images
from wt_yolo.slicing import SlicedPredictor

log = console.get_logger("wt-yolo")


@command("wt-yolo", "predict")
def predict(run: str, dataset: str | None = None, split: str = "val", images: Path | None = None,
            slicing: Slicing = Slicing(), conf: UnitInterval = 0.25, iou: PositiveUnit = 0.7,
            max_det: int = 300, imgsz: int | None = None, device: str | None = None, out: Path | None = None,
            overwrite: bool = False, resume: bool = False, shard: str | None = None, part_size: int = 256,
            dask: Dask = Dask(), geo: GeoFormat | None = None) -> PredictionsManifest:
    """Predict boxes with a trained run on a dataset split or an image folder (sliced for large images).

    Boxes are in full-image pixels; boxes that neighbouring tiles found of one animal are merged,
    class by class. Writes a predictions manifest (COCO results JSON, class ids 0-based).

    Args:
        run: The run manifest (file, directory or '-').
        dataset: A detection dataset manifest whose split to predict (or give --images).
        split: The split of --dataset to predict.
        images: A folder of images to predict instead of a dataset split.
        slicing: Tiles, overlap, batching and the merge across tiles (tile 0 predicts images whole).
        conf: Minimum score of a box.
        iou: IoU threshold of the NMS within each tile.
        max_det: Maximum boxes per image (after merging).
        imgsz: The network input size (default: the run's training size).
        device: 'cpu', '0', ... (default: Ultralytics picks).
        out: The output directory (default runs/yolo/predict/<id>).
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
    r = read_run(run, "yolo")
    ds = read_detect_dataset(dataset) if dataset is not None else None
    todo = split_images(ds, split) if ds is not None else folder_images(images, sizes=False)
    key = split if ds is not None else "images"
    Shard.parse(shard)  # refused before any output directory is made
    output = Output("wt-yolo", "predict", out, overwrite=overwrite, resume=resume)
    loader = Loader(str(run_weights(r)), imgsz=imgsz or r.imgsz or 640, conf=conf, iou=iou, max_det=max_det,
                    slicing=slicing, device=device)
    name, details = predict_job(output, key, todo, loader, shard=shard, dask=dask, part_size=part_size, log=log,
                                folder=images if ds is None else None, blocks=BlockRule.of(slicing, max_det), geo=geo,
                                classes=r.classes)
    return commit_predictions(output, r, ds, {key: name}, loader.record(), details)


@dataclass(frozen=True)
class Loader:
    """What loads a run's detector for a prediction job (picklable: a Dask worker loads it once)."""

    weights: str
    imgsz: int
    conf: float
    iou: float
    max_det: int
    slicing: Slicing
    device: str | None

    def __call__(self):
        p = SlicedPredictor(self.weights, imgsz=self.imgsz, iou=self.iou, slicing=self.slicing, device=self.device)
        return file_records(partial(p.predict_arrays, conf=self.conf, max_det=self.max_det))

    def record(self) -> dict:
        """The thresholds and slicing as the manifest records them (the predictor's own record)."""
        return SlicedPredictor.record(self)  # type: ignore[arg-type]  # it reads only these fields
