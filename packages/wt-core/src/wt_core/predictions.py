"""What every detector's `predict` shares: the images to predict, the COCO results it writes, its manifest.

A split of a dataset manifest keeps its COCO image ids; an image folder is
numbered from 1 and gets an `images.json` index (file, width, height), so
wt-eval and the registry read both the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wt_core import console, invocation
from wt_core.errors import BadInput
from wt_core.manifest import DatasetManifest, ManifestBase, PredictionsManifest, RunManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.slicing import Detections

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}


@dataclass
class ImageRef:
    """One image to predict: its id in the predictions, where it is, its size."""

    id: int
    path: Path
    file_name: str
    width: int
    height: int


def split_images(ds: DatasetManifest, split: str) -> list[ImageRef]:
    """The images of one split, with the ids of its COCO JSON."""
    if split not in ds.splits:
        raise BadInput(f"no split {split!r} (splits: {', '.join(ds.splits)})", ds.path, "splits")
    rec = ds.splits[split]
    coco = json.loads(ds.artifact_path(rec.annotations).read_text())
    root = ds.resolve(rec.image_root)
    return [ImageRef(int(im["id"]), root / im["file_name"], im["file_name"], int(im["width"]), int(im["height"]))
            for im in coco["images"]]


def folder_images(folder: str | Path) -> list[ImageRef]:
    """The images of a folder (recursively, sorted), numbered from 1."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise BadInput("image folder not found", root, "images")
    invocation.add_input(root, "image folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise BadInput("no images in this folder", root, "images")
    from wt_core.raster import image_size

    out = []
    for i, p in enumerate(files, 1):
        w, h = image_size(p)  # a raster's from its header, a photo's after EXIF orientation, no pixel limit
        out.append(ImageRef(i, p.resolve(), p.relative_to(root).as_posix(), w, h))
    return out


def write_predictions(output: Output, key: str, images: list[ImageRef], detections: Iterable[Detections],
                      log: logging.Logger) -> str:
    """The detections of `images` (in order) as COCO results JSON `predictions/<key>.json`; its artifact name."""
    results: list[dict[str, Any]] = []
    for im, det in zip(console.progress(images, desc=f"predicting {key}", logger=log), detections, strict=True):
        results.extend(det.coco(im.id))
    name, rel = f"predictions.{key}", f"predictions/{key}.json"
    output.path(rel).write_text(json.dumps(results))
    output.add(name, rel)
    log.info("%s: %d boxes on %d images", key, len(results), len(images))
    return name


def write_image_index(output: Output, images: list[ImageRef], folder: str | Path) -> dict[str, str]:
    """`images.json` for predictions of an image folder; the details that record the folder."""
    index = [{"id": im.id, "file_name": str(im.path), "width": im.width, "height": im.height} for im in images]
    output.path("images.json").write_text(json.dumps(index))
    output.add("images", "images.json")
    return {"image_folder": str(Path(folder).resolve())}


def commit_predictions(output: Output, run: RunManifest, ds: DatasetManifest | None, splits: dict[str, str],
                       record: dict[str, Any], details: dict[str, Any] | None = None) -> PredictionsManifest:
    """The predictions manifest (parents: the run, and the dataset when a split was predicted), committed.

    `record` holds the predictor's `thresholds` and `slicing` as the manifest stores them.
    """
    parents: list[ManifestBase] = [run] + ([ds] if ds is not None else [])
    m = build(PredictionsManifest, id=output.id, parents=parents, task="detect", classes=list(run.classes),
              dataset_id=ds.id if ds else None, run_id=run.id, splits=splits, thresholds=record["thresholds"],
              slicing=record["slicing"], details=details or {}, georef=georeferences(output, ds, splits))
    return output.commit(m)


def georeferences(output: Output, ds: DatasetManifest | None, splits: dict[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    """{split: {image id: {crs, transform}}} of the georeferenced rasters predicted (read from their headers)."""
    from wt_core.raster import georef_of, is_raster

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for key in splits:
        if ds is not None:
            images = [(im.id, im.path) for im in split_images(ds, key)]
        elif "images" in output.artifacts:
            index = json.loads((output.dir / output.artifacts["images"].path).read_text())
            images = [(im["id"], Path(im["file_name"])) for im in index]
        else:
            continue
        found = {str(i): g for i, p in images if is_raster(p) and p.is_file() and (g := georef_of(p)) is not None}
        if found:
            out[key] = found
    return out
