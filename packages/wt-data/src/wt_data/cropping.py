"""`wt-data crops`: a classification dataset of square crops around detection boxes.

Each box larger than `min_box` gives one square crop centred on it (its longer
side times 1 + padding, or a fixed side), shifted to stay inside the image where
it fits (padded with black where it does not), resized to `size`. Background
crops come from empty images and from annotated images away from every box.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from wt_core.console import get_logger
from wt_core.dask_engine import Dask
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest
from wt_core.outputs import Output
from wt_core.ranges import NonNegative, UnitBelowOne
from wt_core.raster import open_image, read_padded
from wt_core.readers import read_dataset, require_boxes

from wt_data.canon import ClassMap, mapping_table
from wt_data.dataset import (
    annotations_by_image,
    coco_doc,
    load_split,
    selected_splits,
    write_dataset,
)
from wt_data.parallel import run_jobs, write_image

log = get_logger("wt-data")
SOURCE_KEYS = {"id", "file_name", "width", "height", "exif_orientation", "offset", "source_image", "source_id"}


def square_window(bbox: list[float], width: int, height: int, padding: float, fixed: int | None) -> tuple[int, int, int, int]:
    """A square window around a COCO box, shifted inside the image when the image is large enough."""
    x, y, w, h = bbox
    side = int(round(fixed if fixed else max(w, h) * (1 + padding)))
    side = max(side, 1)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    if side <= width:
        x0 = min(max(x0, 0), width - side)
    if side <= height:
        y0 = min(max(y0, 0), height - side)
    return x0, y0, x0 + side, y0 + side


def crop_unit(job: tuple[str, list[tuple[tuple[int, int, int, int], str]], int, int, str]) -> None:
    import cv2

    src, crops, size, quality, out_dir = job
    cv2.setNumThreads(1)
    with open_image(src) as source:  # a photo decoded once, a raster read crop by crop
        for win, rel in crops:
            crop = read_padded(source, win)
            interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
            write_image(os.path.join(out_dir, rel), cv2.resize(crop, (size, size), interpolation=interp), quality)


def overlap_fraction(win: tuple[int, int, int, int], bbox: list[float]) -> float:
    """The fraction of a box's area inside a window."""
    x, y, w, h = bbox
    ix = max(0.0, min(win[2], x + w) - max(win[0], x))
    iy = max(0.0, min(win[3], y + h) - max(win[1], y))
    return ix * iy / (w * h) if w * h > 0 else 0.0


def background_windows(images: list[dict], anns: dict[Any, list[dict]], sides: list[int], n: int, max_overlap: float,
                       rng: random.Random, tries: int = 50) -> list[tuple[dict, tuple[int, int, int, int]]]:
    """Up to n seeded windows, each overlapping every box by at most `max_overlap` of the box."""
    out: list[tuple[dict, tuple[int, int, int, int]]] = []
    if not images or not sides:
        return out
    for _ in range(n):
        for _attempt in range(tries):
            im = rng.choice(images)
            side = rng.choice(sides)
            if side > im["width"] or side > im["height"]:
                continue
            x0, y0 = rng.randint(0, im["width"] - side), rng.randint(0, im["height"] - side)
            win = (x0, y0, x0 + side, y0 + side)
            if all(overlap_fraction(win, a["bbox"]) <= max_overlap for a in anns.get(im["id"], [])):
                out.append((im, win))
                break
    return out


class CropSet:
    """The crops of one split: COCO entries, and the windows to cut per source image."""

    def __init__(self, split: str, size: int, index: dict[str, int]):
        self.split, self.size, self.index = split, size, index
        self.images: list[dict] = []
        self.anns: list[dict] = []
        self.per_source: dict[Any, list[tuple[tuple[int, int, int, int], str]]] = {}

    def add(self, im: dict, win: tuple[int, int, int, int], cls: str, tag: str) -> None:
        rel = f"{self.split}/{cls}/{Path(im['file_name']).with_suffix('').as_posix().replace('/', '__')}_{tag}.jpg"
        iid = len(self.images) + 1
        meta = {k: v for k, v in im.items() if k not in SOURCE_KEYS}
        self.images.append({"id": iid, "file_name": rel, "width": self.size, "height": self.size, **meta,
                            "source_image": im.get("source_image", im["file_name"]), "source_id": im["id"],
                            "window": list(win)})
        self.anns.append({"id": len(self.anns) + 1, "image_id": iid, "category_id": self.index[cls]})
        self.per_source.setdefault(im["id"], []).append((win, rel))


@command("wt-data", "crops")
def crops(dataset: str, size: int = 128, padding: float = 0.25, fixed: int | None = None, min_box: float = 8.0,
          background_ratio: NonNegative = 0.0, background_overlap: UnitBelowOne = 0.0, background_class: str = "background",
          single_class: bool = False, single_class_name: str = "animal", classes: ClassMap = ClassMap(),
          splits: list[str] | None = None, seed: int = 0, quality: int = 95, workers: int = 0,
          out: Path | None = None, overwrite: bool = False, dask: Dask = Dask()) -> DatasetManifest:
    """Make a classification dataset of square crops around the boxes of a detection dataset.

    Args:
        dataset: The detection dataset manifest (a manifest.json, its directory, or - for a path on stdin).
        size: The side of every crop after resizing, in pixels.
        padding: The crop's side is the box's longer side times 1 + padding.
        fixed: A fixed crop side in source pixels instead (padding is then ignored).
        min_box: Boxes whose longer side is smaller than this (pixels) give no crop (counted).
        background_ratio: Background crops per object crop, from empty images and from areas away from every box.
        background_overlap: The largest fraction of any box a background crop may contain.
        background_class: The class name of background crops.
        single_class: Put every object in one class (binary: animal vs background).
        single_class_name: The name of that class.
        classes: Renames, merges and drops as `old=new` (as in import).
        splits: The splits to crop (default all).
        seed: The seed of the background sample.
        quality: JPEG quality of the crops.
        workers: Processes cutting crops (0: one per core).
        out: The output directory (default runs/data/crops/<id>).
        overwrite: Replace an existing output directory.
        dask: Cut the photos' crops as Dask tasks on a cluster (scheduler address or dask-jobqueue spec); the
            output directory must be on a disk the workers share.
    """
    ds = read_dataset(dataset)
    if ds.task != "detect":
        raise BadInput(f"crops need a detect dataset, this one is {ds.task}", ds.path, "task")
    require_boxes(ds)  # crops are cut around boxes: points need boxes first
    if size <= 0 or (fixed is not None and fixed <= 0) or padding < 0:
        raise BadInput("size and fixed must be positive, padding non-negative", None, "size")
    table = mapping_table(classes, ds.classes)
    if single_class:
        table = {c: (single_class_name if v is not None else None) for c, v in table.items()}
    out_classes: list[str] = []
    for c in ds.classes:
        if table[c] is not None and table[c] not in out_classes:
            out_classes.append(table[c])
    if background_ratio > 0:
        if background_class in out_classes:
            raise BadInput(f"background class {background_class!r} is already a class", None, "background_class")
        out_classes.append(background_class)
    index = {c: i for i, c in enumerate(out_classes)}
    names = selected_splits(ds, splits)
    output = Output("wt-data", "crops", out, overwrite=overwrite)
    rng = random.Random(seed)
    report: dict[str, int] = {"boxes_too_small": 0, "boxes_dropped_by_mapping": 0, "background_not_found": 0}
    result: dict[str, tuple[dict, Path]] = {}
    jobs: list[tuple] = []
    for split in names:
        coco, root = load_split(ds, split)
        by_image = annotations_by_image(coco)
        cs = CropSet(split, size, index)
        sides: list[int] = []
        for im in coco["images"]:
            for a in by_image.get(im["id"], []):
                cls = table[ds.classes[a["category_id"]]]
                if cls is None:
                    report["boxes_dropped_by_mapping"] += 1
                    continue
                if max(a["bbox"][2], a["bbox"][3]) < min_box:
                    report["boxes_too_small"] += 1
                    continue
                win = square_window(a["bbox"], im["width"], im["height"], padding, fixed)
                sides.append(win[2] - win[0])
                cs.add(im, win, cls, f"a{a['id']}")
        if background_ratio > 0:
            n_bg = int(round(background_ratio * len(cs.anns)))
            found = background_windows(coco["images"], by_image, sides, n_bg, background_overlap, rng)
            report["background_not_found"] += n_bg - len(found)
            for k, (im, win) in enumerate(found):
                cs.add(im, win, background_class, f"bg{k}")
        src = {im["id"]: im for im in coco["images"]}
        jobs += [(str(root / src[i]["file_name"]), wins, size, quality, str(output.dir / "images"))
                 for i, wins in cs.per_source.items()]
        result[split] = (coco_doc(cs.images, cs.anns, out_classes), output.dir / "images")
    run_jobs(crop_unit, jobs, workers, "cropping", dask=dask)
    m = write_dataset(output, task="classify", classes=out_classes, splits=result,
                      report={**ds.report, **{k: v for k, v in report.items() if v}}, parents=[ds],
                      details={"crops": {"size": size, "padding": padding, "fixed": fixed, "min_box": min_box,
                                         "background_ratio": background_ratio, "single_class": single_class}})
    for name, s in m.splits.items():
        log.info("%s: %d crops %s", name, s.images, dict(zip(out_classes, s.per_class, strict=True)))
    return m
