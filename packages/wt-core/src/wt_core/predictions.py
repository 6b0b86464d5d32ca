"""What every predictor's `predict` shares: the images to predict, the job that streams them, the manifest.

A split of a dataset manifest keeps its COCO image ids; an image folder is
numbered from 1 and gets an `images.json` index (file, width, height), so
wt-eval and the registry read both the same way.

`predict_job` runs one split as a streaming, resumable job (`wt_core.streaming`):
on this machine, as one shard of a scheduler's array job (`--shard i/N`, merged
afterwards by `wt-eval merge`), or as Dask tasks on a cluster
(`wt_core.dask_engine`). A predictor takes part through a loader: a picklable
callable without arguments that loads the model and returns its record function
(images in, one record per image out), so a Dask worker loads it once.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wt_core import invocation
from wt_core.blocks import Block, BlockRule, job_units, loaded, open_unit, unit_record
from wt_core.dask_engine import Dask, run_on_dask, task_count
from wt_core.errors import BadInput
from wt_core.geo_output import GeoFormat, GeoWriter, geo_format, georefs
from wt_core.manifest import DatasetManifest, ManifestBase, PredictionsManifest, RunManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.slicing import Detections
from wt_core.streaming import (
    ImageAt,
    JobImage,
    RecordFn,
    Shard,
    failure_reason,
    finalize,
    parts_dir,
    run_shard,
    shard_stream,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}


@dataclass(slots=True)
class ImageRef:
    """One image to predict: its id in the predictions, where it is, its size (0 until read for a folder)."""

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


def folder_images(folder: str | Path, sizes: bool = True) -> list[ImageRef]:
    """The images of a folder (recursively, sorted), numbered from 1.

    With `sizes`, each header is read now (an unreadable image is refused); without, sizes are 0 and a
    prediction job reads them with the pixels (an unreadable image becomes a failure record).
    """
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
        # a raster's from its header, a photo's after EXIF orientation, no pixel limit
        w, h = image_size(p) if sizes else (0, 0)
        out.append(ImageRef(i, p.resolve(), p.relative_to(root).as_posix(), w, h))
    return out


def predict_job(output: Output, key: str, images: Sequence[JobImage], loader: Callable[[], RecordFn], *,
                shard: str | None = None, dask: Dask | None = None, part_size: int = 256,
                log: logging.Logger, folder: str | Path | None = None, blocks: BlockRule | None = None,
                geo: GeoFormat | None = None, classes: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """Predict `images` as split `key` into `output`, streaming and resumable; (artifact name, details).

    The committed parts under `output.dir` are continued when the output was resumed. With `shard`
    ("i/N"), only that share is predicted and the details say which (for `wt-eval merge`); with a
    Dask cluster, the job's shards run as Dask tasks. `folder`: the image folder predicted (its
    images.json index is written). With `blocks`, rasters larger than a block are cut into blocks,
    each a unit of the job (`wt_core.blocks`). `geo`: the map files of georeferenced rasters
    (`wt_core.geo_output`; None: GeoJSON where a raster has a CRS), with `classes` named.
    Details: images, failures (per key), blocks and geo when rasters were cut or mapped, and the shard.
    """
    dask = dask or Dask()
    one = Shard.parse(shard)
    if dask.enabled and one.count > 1:
        raise BadInput("give --shard (for a scheduler's array job) or --dask.* (a Dask cluster), not both",
                       None, "shard")
    found = georefs(list(images))
    fmt = geo_format(geo, list(images), found)
    units = job_units(images, blocks)
    root = output.dir
    job = _job_state(root, key, units, one, dask)
    count = job["count"]
    if dask.enabled:
        run_on_dask(dask, loader, root, key, units, count, part_size, log, output.id)
        shards = list(range(count))
    else:
        run_shard(loader(), root, key, units, one, part_size=part_size, log=log)
        shards = [one.index]
    directory = parts_dir(root, key)
    expected = [p for s in shards for p in Shard(s, count).positions(len(units))]
    # a shard holds some blocks of a raster: its map files are written when the shards are merged
    writer = GeoWriter(output, key, fmt, list(classes), found) if one.count == 1 else None
    fin = finalize(output, key, [shard_stream(directory, s) for s in shards], expected, index=folder is not None,
                   rule=blocks, sink=writer)
    log.info("%s: %d boxes on %d images, %d failed", key, fin.boxes, fin.images, fin.failures)
    for f in _failures(output, key):
        log.warning("could not predict %s%s: %s", f["path"], f" window {f['window']}" if "window" in f else "",
                    f["reason"])
    details: dict[str, Any] = {"images": {key: fin.images}, "failures": {key: fin.failures}}
    n_blocks = sum(isinstance(u, Block) for u in units)
    if n_blocks and blocks is not None:  # recorded by every shard: `wt-eval merge` applies the same rule
        details["blocks"] = {**blocks.record(), "units": {key: n_blocks if one.count == 1 else fin.blocks}}
    if any(g and g.get("crs") for g in found.values()):
        details["geo"] = writer.details() if writer is not None else {"format": fmt, "files": 0, "features": 0}
    if one.count > 1:
        details["shard"] = {"index": one.index, "count": one.count, "key": key, "job": job["job"],
                            "job_images": len(units)}
    if folder is not None:
        details.update(write_image_index(output, fin.indexed, folder))
    shutil.rmtree(root / "parts" / key, ignore_errors=True)
    if (root / "parts").is_dir() and not any((root / "parts").iterdir()):
        (root / "parts").rmdir()
    return fin.predictions, details


def _failures(output: Output, key: str) -> list[dict[str, Any]]:
    file = output.path(f"failures/{key}.jsonl")
    with open(file, encoding="utf-8") as f:
        return [json.loads(line) for line, _ in zip(f, range(20), strict=False) if line.strip()]


def _job_state(root: Path, key: str, images: Sequence[JobImage], one: Shard, dask: Dask) -> dict[str, Any]:
    """The job's identity and shard count, kept in parts/<key>/job.json: a resume must predict the same job
    cut the same way."""
    from wt_core.streaming import job_fingerprint

    file = parts_dir(root, key) / "job.json"
    fp = job_fingerprint(key, images)
    if file.is_file():
        job: dict[str, Any] = json.loads(file.read_text())
        if job["job"] != fp:
            raise BadInput("the images to predict differ from those of the unfinished output", file, "images")
        if job["shard"] != str(one) or job["dask"] != dask.enabled:
            raise BadInput(f"the unfinished output was started with shard {job['shard']}"
                           f"{' on Dask' if job['dask'] else ''}: resume it the same way", file, "shard")
        return job
    count = task_count(dask, len(images)) if dask.enabled else one.count
    job = {"job": fp, "shard": str(one), "dask": dask.enabled, "count": count}
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(job))
    return job


def file_records(predict_arrays: Callable[[Iterable[Any]], Iterable[Detections]]) -> RecordFn:
    """The record function of a detector's `predict_arrays`: each image opened (a photo decoded) here, so one
    that cannot be read becomes a failure record and the job goes on; a block of a raster (or a raster within
    one block) is read whole first, for the same reason, a larger raster window by window; boxes are placed
    in the whole raster's pixels."""

    def records(items: Iterable[ImageAt]) -> Iterator[dict[str, Any]]:
        from wt_core.raster import ImageSource, PhotoSource

        failed: list[dict[str, Any]] = []
        opened: deque[tuple[ImageAt, ImageSource]] = deque()

        def sources() -> Iterator[ImageSource]:
            for it in items:
                try:
                    src = open_unit(it.image)
                    if isinstance(src, PhotoSource):
                        src.array  # noqa: B018  (decoded now: a corrupt photo fails here, not in a batch)
                    src = loaded(src)  # a raster's block read now: one that cannot be read fails alone
                except Exception as e:  # an unreadable image of any kind is recorded, never fatal
                    failed.append(it.failure(failure_reason(e)))
                    continue
                opened.append((it, src))
                yield src

        for det in predict_arrays(sources()):
            yield from failed
            failed.clear()
            it, src = opened.popleft()
            yield unit_record(it, det, src.width, src.height)
            src.close()
        yield from failed

    return records


def write_predictions(output: Output, key: str, images: list[ImageRef], detections: Iterable[Detections],
                      log: logging.Logger) -> str:
    """The detections of `images` (in order) as COCO results JSON `predictions/<key>.json`, held in memory
    (a validation split; a survey streams through `predict_job`); its artifact name."""
    from wt_core import console

    results: list[dict[str, Any]] = []
    for im, det in zip(console.progress(images, desc=f"predicting {key}", logger=log), detections, strict=True):
        results.extend(det.coco(im.id))
    name, rel = f"predictions.{key}", f"predictions/{key}.json"
    output.path(rel).write_text(json.dumps(results))
    output.add(name, rel)
    log.info("%s: %d boxes on %d images", key, len(results), len(images))
    return name


def write_image_index(output: Output, images: list[ImageRef] | list[dict[str, Any]], folder: str | Path) -> dict[str, str]:
    """`images.json` ({id, file_name (absolute), width, height} per image) for predictions of an image folder;
    the details that record the folder."""
    index = [im if isinstance(im, dict) else {"id": im.id, "file_name": str(im.path), "width": im.width,
                                              "height": im.height} for im in images]
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
