"""`wt-data geojson`: a dataset's annotations, or a predictions manifest's boxes, as GeoJSON on the map.

One FeatureCollection per georeferenced raster, `geojson/<split>/<raster stem>.geojson`,
in the raster's own CRS (named in the legacy `crs` member, which GDAL, QGIS and
geopandas read), so the features lie on the orthomosaic without reprojection.
A box becomes the Polygon of its four corners mapped through the raster's
affine transform (pixel corners: pixel (0, 0) is the raster's upper-left
corner, `wt_core.geo_output`, as prediction jobs write them); a point becomes a Point. Properties: `class`, `class_id`, `image`,
and for predictions `score`. Photos and rasters without a CRS or transform are
left out and counted.

For predictions the CRS and transform come from the predictions manifest
(recorded when the raster was predicted), else from the raster's header; the
output is a predictions manifest again (the boxes kept at --conf beside their
GeoJSON), so it chains like its parent.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.geo_output import collection, feature
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest, ManifestBase, PredictionsManifest
from wt_core.manifest_io import build, read_manifest
from wt_core.outputs import Output
from wt_core.predictions import split_images
from wt_core.ranges import UnitInterval
from wt_core.raster import georef_of
from wt_core.readers import read_dataset, read_predictions

from wt_data.dataset import load_split, selected_splits, write_dataset

log = get_logger("wt-data")


def write_collections(output: Output, split: str, images: list[tuple[Any, str, dict | None]],
                      by_image: dict[Any, list[dict]], classes: list[str]) -> tuple[list[str], int]:
    """GeoJSON files of one split: (image id, file name, georef or None) per image; returns files, images left out."""
    files, skipped, used = [], 0, set()
    for image_id, name, georef in images:
        if georef is None:
            skipped += 1
            continue
        stem = Path(name).with_suffix("").as_posix().replace("/", "__")
        stem = stem if stem not in used else f"{stem}-{image_id}"
        used.add(stem)
        feats = [f for a in by_image.get(image_id, []) if (f := feature(georef, a, classes, name)) is not None]
        rel = f"geojson/{split}/{stem}.geojson"
        output.path(rel).write_text(json.dumps(collection(georef, feats)))
        output.add(f"geojson.{split}.{stem}", rel)
        files.append(rel)
    return files, skipped


def _dataset_geojson(ds: DatasetManifest, splits: list[str] | None, output: Output) -> DatasetManifest:
    names = selected_splits(ds, splits)
    files, skipped = [], 0
    result = {}
    for split in names:
        coco, root = load_split(ds, split)
        result[split] = (coco, root)
        by_image: dict[Any, list[dict]] = defaultdict(list)
        for a in coco["annotations"]:
            by_image[a["image_id"]].append(a)
        images = [(im["id"], im["file_name"], georef_of(root / im["file_name"])) for im in coco["images"]]
        f, s = write_collections(output, split, images, by_image, ds.classes)
        files += f
        skipped += s
    _check_any(files, skipped, ds)
    return write_dataset(output, task=ds.task, classes=ds.classes, splits=result, report=dict(ds.report), parents=[ds],
                         details={"export": {"format": "geojson", "files": files, "images_not_georeferenced": skipped}})


def _predictions_geojson(pred: PredictionsManifest, conf: float, output: Output) -> PredictionsManifest:
    ds = None
    if (parent := pred.parent("dataset")) is not None:
        ds = read_manifest(pred.parent_path(parent), "dataset")
    files, skipped = [], 0
    splits: dict[str, str] = {}
    for key, artifact in pred.splits.items():
        if ds is not None and key in ds.splits:
            refs = [(im.id, im.file_name, im.path) for im in split_images(ds, key)]  # type: ignore[arg-type]
        elif "images" in pred.artifacts:
            index = json.loads(pred.artifact_path("images").read_text())
            refs = [(im["id"], Path(im["file_name"]).name, Path(im["file_name"])) for im in index]
        else:
            raise BadInput(f"cannot tell which images the predictions {key!r} were made on", pred.path, "parents")
        recorded = pred.georef.get(key, {})
        images = [(i, name, recorded[str(i)].model_dump() if str(i) in recorded else georef_of(path))
                  for i, name, path in refs]
        by_image: dict[Any, list[dict]] = defaultdict(list)
        for r in json.loads(pred.artifact_path(artifact).read_text()):
            if r.get("score", 1.0) >= conf:
                by_image[r["image_id"]].append(r)
        f, s = write_collections(output, key, images, by_image, pred.classes)
        files += f
        skipped += s
        kept = [r for rows in by_image.values() for r in rows]
        output.path(f"predictions/{key}.json").write_text(json.dumps(kept))
        output.add(f"predictions.{key}", f"predictions/{key}.json")
        splits[key] = f"predictions.{key}"
    _check_any(files, skipped, pred)
    if "images" in pred.artifacts:
        shutil.copyfile(pred.artifact_path("images"), output.path("images.json"))
        output.add("images", "images.json")
    m = build(PredictionsManifest, id=output.id, parents=[pred], task=pred.task, classes=list(pred.classes),
              dataset_id=pred.dataset_id, run_id=pred.run_id, splits=splits, thresholds={**pred.thresholds, "conf": conf},
              slicing=pred.slicing, georef=pred.georef,
              details={"export": {"format": "geojson", "files": files, "images_not_georeferenced": skipped}})
    return output.commit(m)


def _check_any(files: list[str], skipped: int, m: ManifestBase) -> None:
    if not files:
        raise BadInput(f"none of the {skipped} images is a georeferenced raster (a GeoTIFF with a CRS and transform)",
                       m.path, "images")
    if skipped:
        log.warning("%d images are not georeferenced rasters and were left out", skipped)


@command("wt-data", "geojson")
def geojson(dataset: str | None = None, predictions: str | None = None, splits: list[str] | None = None,
            conf: UnitInterval = 0.0, out: Path | None = None, overwrite: bool = False) -> ManifestBase:
    """Write boxes and points as GeoJSON in each georeferenced raster's CRS (one file per raster).

    Args:
        dataset: A dataset manifest whose annotations to write (or give --predictions).
        predictions: A predictions manifest whose boxes to write, with class and score per feature.
        splits: The dataset's splits to write (default all).
        conf: Predictions scored below this are left out.
        out: The output directory (default runs/data/geojson/<id>).
        overwrite: Replace an existing output directory.
    """
    if (dataset is None) == (predictions is None):
        raise BadInput("give exactly one of --dataset or --predictions", None, "dataset")
    m = read_dataset(dataset) if dataset is not None else read_predictions(predictions)
    if isinstance(m, PredictionsManifest) and m.task != "detect":
        raise BadInput("GeoJSON needs detection predictions", m.path, "task")
    output = Output("wt-data", "geojson", out, overwrite=overwrite)
    try:
        if isinstance(m, DatasetManifest):
            return _dataset_geojson(m, splits, output)
        return _predictions_geojson(m, conf, output)  # type: ignore[arg-type]
    except BadInput:
        output.discard()
        raise
