"""`wt-data tile`: large images cut into overlapping tiles, boxes clipped, empty tiles sampled.

Planning reads only annotations: the grid of each image (wt_core.geometry.tile_grid,
the last row and column aligned to the edge), the boxes of each tile (kept when
their visible fraction is at least `min_visibility`, else dropped and counted),
and a seeded sample of empty tiles. The plan is the same for the same input and
options, so `--resume` continues it: each source image is one unit of work,
written by a pool of processes, and marked done once all its tiles are on disk.

Each tile's COCO image entry records `source_image`, `source_id` and
`offset: [x, y]`; a box in the tile is the source box minus the offset, clipped,
with its `visibility` and `source_annotation_id`; a point annotation (`point` [x, y], no
bbox) goes to every tile that holds it, minus the offset. The report counts the box parts
dropped for low visibility and the boxes that no tile kept (`boxes_in_no_tile`).

`--size auto` chooses the tile size (and the input size a detector should train
at) from the box sizes of the train split (every tiled split when there is
none) by `wt_core.small_data.size_plan`; the choice and why are printed and
recorded in the manifest (`details.tiling.size_auto`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wt_core.console import get_logger
from wt_core.dask_engine import Dask
from wt_core.errors import BadInput
from wt_core.geometry import clip_to_window, tile_grid
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest
from wt_core.outputs import Output
from wt_core.ranges import NonNegative, PositiveUnit, UnitBelowOne
from wt_core.raster import is_raster, open_image, read_windows
from wt_core.readers import read_dataset
from wt_core.small_data import box_sides, size_plan

from wt_data.dataset import (
    annotations_by_image,
    assemble,
    load_split,
    selected_splits,
    write_dataset,
)
from wt_data.parallel import run_jobs, write_image
from wt_data.summary import split_line

log = get_logger("wt-data")
SOURCE_KEYS = {"id", "file_name", "width", "height", "exif_orientation"}


@dataclass
class Tile:
    window: tuple[int, int, int, int]
    boxes: list[dict] = field(default_factory=list)
    """Annotations in tile coordinates (bbox clipped, visibility recorded)."""
    cut: int = 0
    """Boxes that touch the tile but are less visible than min_visibility."""


def plan_image(image: dict, anns: list[dict], size: tuple[int, int], overlap: float = 0.2,
               stride: tuple[int, int] | None = None, min_visibility: float = 0.5) -> list[Tile]:
    """Every tile of one image with its boxes (no pixels read)."""
    tiles = []
    for win in tile_grid(image["width"], image["height"], size[0], size[1], overlap, stride):
        t = Tile(win)
        for a in anns:
            if a.get("bbox") is None and a.get("point") is not None:  # a point: in every tile that holds it
                x, y = a["point"]
                if win[0] <= x <= win[2] and win[1] <= y <= win[3]:
                    t.boxes.append({"category_id": a["category_id"], "point": [round(x - win[0], 3), round(y - win[1], 3)],
                                    "area": 0, "iscrowd": 0, "source_annotation_id": a.get("id")})
                continue
            clipped = clip_to_window(a["bbox"], win)
            if clipped is None:
                continue
            box, vis = clipped
            if vis + 1e-9 >= min_visibility:
                t.boxes.append({"category_id": a["category_id"], "bbox": [round(v, 3) for v in box],
                                "area": round(box[2] * box[3], 3), "iscrowd": 0, "visibility": round(vis, 4),
                                "source_annotation_id": a.get("id")})
            else:
                t.cut += 1
        tiles.append(t)
    return tiles


def select_tiles(plans: list[list[Tile]], empty_ratio: float | None, max_empty_per_image: int | None,
                 seed: int, partial_as_empty: bool = False) -> tuple[list[list[Tile]], dict[str, int]]:
    """Keep every tile with a box, and a seeded sample of empty tiles.

    `empty_ratio` is empty tiles per positive tile (None keeps every empty tile);
    `max_empty_per_image` caps the empty tiles of one image. A tile with no box
    but a part of an animal too small to keep is left out, unless `partial_as_empty`.
    """
    rng = random.Random(seed)
    positive = sum(1 for p in plans for t in p if t.boxes)
    pool: list[tuple[int, int]] = []
    partial = 0
    for i, p in enumerate(plans):
        empties = [j for j, t in enumerate(p) if not t.boxes and (partial_as_empty or not t.cut)]
        partial += 0 if partial_as_empty else sum(1 for t in p if not t.boxes and t.cut)
        rng.shuffle(empties)
        if max_empty_per_image is not None:
            empties = empties[:max_empty_per_image]
        pool += [(i, j) for j in empties]
    if empty_ratio is not None:
        rng.shuffle(pool)
        pool = pool[:int(round(empty_ratio * positive))]
    chosen = set(pool)
    out = [[t for j, t in enumerate(p) if t.boxes or (i, j) in chosen] for i, p in enumerate(plans)]
    total = sum(len(p) for p in plans)
    return out, {"tiles_positive": positive, "tiles_empty_kept": len(chosen),
                 "tiles_empty_left_out": total - positive - len(chosen) - partial, "tiles_partial_left_out": partial}


def tile_name(image: dict, win: tuple[int, int, int, int], ext: str) -> str:
    stem = Path(image["file_name"]).with_suffix("").as_posix().replace("/", "__")
    return f"{stem}_x{win[0]}_y{win[1]}.{ext}"


def tile_size(window: tuple[int, int, int, int], size: tuple[int, int], pad: bool) -> tuple[int, int]:
    """A tile's width and height as written: the window, padded to the tile size when `pad`."""
    x0, y0, x1, y1 = window
    return (max(size[0], x1 - x0), max(size[1], y1 - y0)) if pad else (x1 - x0, y1 - y0)


def cut_unit(job: tuple[str, list[tuple[tuple[int, int, int, int], str]], tuple[int, int], bool, int, str,
                        str | None]) -> int:
    """Read one source image's windows (a photo decoded once, a raster window by window) and write its
    tiles; then mark the unit done (unless its marker is None). Returns the number of tiles written."""
    import cv2

    src, tiles, size, pad, quality, out_dir, done = job
    names = dict(tiles)
    cv2.setNumThreads(1)
    with open_image(src) as source:
        for win, crop in read_windows(source, names):
            if pad and (crop.shape[1] < size[0] or crop.shape[0] < size[1]):
                crop = cv2.copyMakeBorder(crop, 0, size[1] - crop.shape[0], 0, size[0] - crop.shape[1],
                                          cv2.BORDER_CONSTANT, value=(0, 0, 0))
            write_image(os.path.join(out_dir, names[win]), crop, quality)
    if done is not None:
        Path(done).parent.mkdir(parents=True, exist_ok=True)
        Path(done).write_text("")
    return len(tiles)


def units_of(path: Path, unit: list[tuple[tuple[int, int, int, int], str]]) -> list[list[tuple[tuple[int, int, int, int], str]]]:
    """A photo is one unit (decoded once); a raster's tiles are cut one row of tiles per unit, so several
    processes share one orthomosaic and a resumed run redoes at most a row."""
    if not is_raster(path):
        return [unit]
    rows: dict[tuple[int, int], list] = {}
    for t in unit:
        rows.setdefault((t[0][1], t[0][3]), []).append(t)
    return list(rows.values())


def auto_size(ds: DatasetManifest, names: list[str]) -> dict:
    """The size policy's choice for the boxes of the train split (every split in `names` when none is called
    train), printed; as the manifest records it."""
    measured = ["train"] if "train" in names else names
    sides: list[float] = []
    largest = 0
    for split in measured:
        coco, _ = load_split(ds, split)
        sides += box_sides([a["bbox"] for a in coco["annotations"] if a.get("bbox")])
        largest = max([largest, *(max(im["width"], im["height"]) for im in coco["images"])])
    p = size_plan(sides, max_image_side=largest or None)
    p.announce(log)
    return {**p.record(), "measured_splits": measured}


@command("wt-data", "tile")
def tile(dataset: str, size: int | Literal["auto"] = 640, overlap: UnitBelowOne = 0.2, stride: int | None = None,
         min_visibility: PositiveUnit = 0.5, empty_ratio: NonNegative | None = 0.5, max_empty_per_image: int | None = 4, seed: int = 0,
         splits: list[str] | None = None, image_format: Literal["jpg", "png"] = "jpg", quality: int = 95,
         pad_small: bool = True, partial_as_empty: bool = False, workers: int = 0, out: Path | None = None, overwrite: bool = False,
         resume: bool = False, dask: Dask = Dask()) -> DatasetManifest:
    """Cut a detection dataset into tiles (full coverage, no padding unless an image is smaller than a tile).

    Args:
        dataset: The dataset manifest (a manifest.json, its directory, or - for a path on stdin).
        size: Tile width and height in pixels, or 'auto': chosen from the box sizes (the tile holds the
            95th-percentile object 8 times across; the input size to train at is recorded beside it).
        overlap: The fraction two neighbouring tiles share (ignored when stride is given).
        stride: Pixels between tile starts (instead of overlap).
        min_visibility: A box cut by a tile edge is kept (clipped) when at least this fraction of it is
            in the tile, else dropped and counted.
        empty_ratio: Empty tiles kept per tile with a box (seeded sample); null keeps every empty tile.
        max_empty_per_image: At most this many empty tiles from one image; null for no cap.
        seed: The seed of the empty-tile sample.
        splits: The splits to tile (default all).
        image_format: The tile file format.
        quality: JPEG quality of the tiles.
        pad_small: Pad an image smaller than a tile with black to the tile size (bottom and right).
        partial_as_empty: Treat a tile whose only boxes are too cut to keep as an empty tile (sampled like
            one); by default such tiles are left out, so a part of an animal is never taught as background.
        workers: Processes cutting tiles (0: one per core).
        out: The output directory (default runs/data/tile/<id>).
        overwrite: Replace an existing output directory.
        resume: Continue an interrupted run with the same --out.
        dask: Cut the photos' tiles as Dask tasks on a cluster (scheduler address or dask-jobqueue spec); the
            output directory must be on a disk the workers share.
    """
    ds = read_dataset(dataset)
    if ds.task != "detect":
        raise BadInput(f"tiling needs a detect dataset, this one is {ds.task}", ds.path, "task")
    names = selected_splits(ds, splits)
    size_auto = None
    if size == "auto":
        size_auto = auto_size(ds, names)
        size = int(size_auto["tile"]["value"])
    if size <= 0 or (stride is not None and stride <= 0):
        raise BadInput("size and stride must be positive", None, "size")
    if stride is not None and stride > size:
        raise BadInput(f"a stride of {stride} leaves gaps between tiles of {size}: use at most the tile size", None, "stride")
    output = Output("wt-data", "tile", out, overwrite=overwrite, resume=resume)
    options = {"dataset": ds.id, "size": size, "overlap": overlap, "stride": stride, "min_visibility": min_visibility,
               "empty_ratio": empty_ratio, "max_empty_per_image": max_empty_per_image, "seed": seed, "splits": names,
               "image_format": image_format, "quality": quality, "pad_small": pad_small,
               "partial_as_empty": partial_as_empty}
    key = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()
    stamp = output.dir / ".tile-options"
    if output.resumed and stamp.exists() and stamp.read_text() != key:
        raise BadInput("the unfinished output was made with other options; rerun with them or use --overwrite",
                       output.dir, "options")
    stamp.write_text(key)
    grid_stride = (stride, stride) if stride else None
    report: dict[str, int] = {}
    result: dict[str, tuple[dict, Path]] = {}
    jobs: list[tuple] = []
    for split in names:
        coco, root = load_split(ds, split)
        by_image = annotations_by_image(coco)
        plans = [plan_image(im, by_image.get(im["id"], []), (size, size), overlap, grid_stride, min_visibility)
                 for im in coco["images"]]
        lost = sum(1 for im, p in zip(coco["images"], plans, strict=True) for a in by_image.get(im["id"], [])
                   if not any(b["source_annotation_id"] == a.get("id") for t in p for b in t.boxes))
        for k, v in {"box_parts_dropped_low_visibility": sum(t.cut for p in plans for t in p),
                     "boxes_in_no_tile": lost}.items():
            report[k] = report.get(k, 0) + v
        chosen, counts = select_tiles(plans, empty_ratio, max_empty_per_image, seed, partial_as_empty)
        for k, v in counts.items():
            report[k] = report.get(k, 0) + v
        images: list[dict] = []
        anns: dict[int, list[dict]] = {}
        for im, tiles in zip(coco["images"], chosen, strict=True):
            unit: list[tuple[tuple[int, int, int, int], str]] = []
            for t in tiles:
                rel = f"{split}/{tile_name(im, t.window, image_format)}"
                tid = len(images) + 1
                x0, y0 = t.window[:2]
                w, h = tile_size(t.window, (size, size), pad_small)
                meta = {k: v for k, v in im.items() if k not in SOURCE_KEYS and k not in ("source_image", "offset")}
                images.append({"id": tid, "file_name": rel, "width": w, "height": h, **meta,
                               "source_image": im["file_name"], "source_id": im["id"], "offset": [x0, y0]})
                anns[tid] = [{**b, "image_id": tid} for b in t.boxes]
                unit.append((t.window, rel))
            for k, part in enumerate(units_of(root / im["file_name"], unit) if unit else []):
                done = output.dir / ".progress" / split / f"{im['id']}{f'-{k}' if k else ''}.done"
                if not done.exists():
                    jobs.append((str(root / im["file_name"]), part, (size, size), pad_small, quality,
                                 str(output.dir / "images"), str(done)))
        result[split] = (assemble(images, anns, ds.classes), output.dir / "images")
    if output.resumed:
        log.info("resuming: %d source images left to tile", len(jobs))
    run_jobs(cut_unit, jobs, workers, "tiling", sizes=[len(j[1]) for j in jobs], unit="tiles", dask=dask)
    import shutil

    shutil.rmtree(output.dir / ".progress", ignore_errors=True)
    stamp.unlink()
    m = write_dataset(output, task="detect", classes=ds.classes, splits=result, report={**ds.report, **report},
                      parents=[ds], details={"tiling": {**{k: v for k, v in options.items() if k != "dataset"},
                                                        **({"size_auto": size_auto} if size_auto else {})}})
    for name, s in m.splits.items():
        log.info("%s", split_line(name, s, "tiles"))
    return m
