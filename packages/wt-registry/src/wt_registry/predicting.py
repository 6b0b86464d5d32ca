"""`wt-registry predict`: a registered model (`name@alias`) on a dataset split or an image folder, as a survey job.

The model an inference system loads (a detector, optionally with its
classifier) predicts through its public API (`wt_registry.load(...).predict`),
in the same streaming, resumable, shardable job as the trainers' predict
commands (`wt_core.predictions.predict_job`). The alias is resolved once, when
the job starts: every image, shard and Dask worker uses that one version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from wt_core import console
from wt_core.blocks import BlockRule
from wt_core.dask_engine import Dask
from wt_core.errors import BadInput
from wt_core.geo_output import GeoFormat
from wt_core.invocation import command
from wt_core.manifest import PredictionsManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.predictions import folder_images, georeferences, predict_job, split_images
from wt_core.ranges import UnitInterval
from wt_core.slicing import Slicing
from wt_core.streaming import ImageAt, Shard, read_batches

from wt_registry import __version__

log = console.get_logger("wt-registry")


@command("wt-registry", "predict", __version__)
def predict(model: str, dataset: str | None = None, split: str = "val", images: Path | None = None,
            conf: UnitInterval | None = None, batch: int = 8, device: str | None = None, out: Path | None = None,
            overwrite: bool = False, resume: bool = False, shard: str | None = None, part_size: int = 256,
            dask: Dask = Dask(), geo: GeoFormat | None = None) -> PredictionsManifest:
    """Predict a dataset split or an image folder with a registered model; writes a predictions manifest.

    Args:
        model: The registered model: name@alias, name/3, models:/name@alias, or a pulled model's directory.
        dataset: A detection dataset manifest whose split to predict (or give --images).
        split: The split of --dataset to predict.
        images: A folder of images to predict instead of a dataset split.
        conf: Minimum detector score of a box (default: the model's own).
        batch: Images per call of the model.
        device: 'cpu', 'cuda', 'cuda:1' ... (default: the model's choice).
        out: The output directory (default runs/registry/predict/<id>).
        overwrite: Replace an existing output directory.
        resume: Continue the unfinished output of the same command (same --out) after a crash or kill.
        shard: 'i/N': predict share i of N (0-based) of the images, for an array job (then `wt-eval merge`).
        part_size: Images per committed part of the results (a kill loses at most one part).
        dask: Run the job's shards as Dask tasks on a cluster (scheduler address or dask-jobqueue spec).
        geo: Boxes on georeferenced rasters as map files in the raster's CRS beside the COCO results:
            geojson, gpkg (GeoPackage) or none (default: geojson for rasters with a CRS, nothing for photos).
    """
    from wt_registry.loading import load

    if (dataset is None) == (images is None):
        raise BadInput("give exactly one of --dataset (with --split) or --images", None, "dataset")
    ds = None
    if dataset is not None:
        from wt_core.readers import read_detect_dataset

        ds = read_detect_dataset(dataset)
    todo = split_images(ds, split) if ds is not None else folder_images(images, sizes=False)
    key = split if ds is not None else "images"
    predictor = load(model, device=device)  # the version the alias names now: the job keeps it
    pinned = model if Path(model).expanduser().exists() else f"models:/{_name(model)}/{predictor.version}"
    Shard.parse(shard)  # refused before any output directory is made
    output = Output("wt-registry", "predict", out, overwrite=overwrite, resume=resume)
    loader = Loader(pinned, device, conf, batch)
    name, details = predict_job(output, key, todo, loader, shard=shard, dask=dask, part_size=part_size, log=log,
                                folder=images if ds is None else None, blocks=_blocks(predictor), geo=geo,
                                classes=predictor.classes)
    details.update(model=predictor.uri or str(model), version=predictor.version)
    m = build(PredictionsManifest, id=output.id, parents=[ds] if ds is not None else [], task="detect",
              classes=list(predictor.classes), dataset_id=ds.id if ds else None, splits={key: name},
              thresholds={"conf": float(conf)} if conf is not None else {}, details=details,
              georef=georeferences(output, ds, {key: name}))
    return output.commit(m)


def _blocks(predictor) -> BlockRule | None:
    """Rasters cut into blocks by the registered detector's slicing (its tiles, merge and max_det)."""
    det = predictor.detector
    slicing = getattr(det, "slicing", None)
    return BlockRule.of(slicing, getattr(det, "max_det", None)) if isinstance(slicing, Slicing) else None


def _name(model: str) -> str:
    from wt_registry.store import parse_ref

    return parse_ref(model).name


@dataclass(frozen=True)
class Loader:
    """What loads the registered model for a prediction job (picklable: a Dask worker loads it once)."""

    model: str
    device: str | None
    conf: float | None
    batch: int

    def __call__(self):
        import numpy as np
        from wt_core.blocks import open_unit, placed
        from wt_core.slicing import Detections

        from wt_registry.loading import load
        from wt_registry.predictor import decode_image

        predictor = load(self.model, device=self.device)

        def rgb(it: ImageAt) -> np.ndarray:
            if getattr(it.image, "window", None) is None:
                return decode_image(str(it.path))[0][..., ::-1]  # RGB, as predict takes arrays
            with open_unit(it.image) as src:  # a block of a raster: its window only
                return src.read((0, 0, src.width, src.height))[..., ::-1]

        def records(items: Iterable[ImageAt]) -> Iterator[dict]:
            for chunk, failed in read_batches(items, rgb, self.batch):
                yield from failed
                if not chunk:
                    continue
                found = predictor.predict([a for _, a in chunk], conf=self.conf)
                for (at, a), dets in zip(chunk, found, strict=True):
                    d = Detections(np.array([x.box for x in dets], dtype=np.float64).reshape(-1, 4),
                                   np.array([x.score for x in dets], dtype=np.float64),
                                   np.array([x.class_id for x in dets], dtype=np.int64))
                    yield at.result(placed(d, at.image).coco(at.id), a.shape[1], a.shape[0])

        return records
