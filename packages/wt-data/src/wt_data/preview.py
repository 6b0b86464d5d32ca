"""`wt-data preview`: a PNG contact sheet of sampled images or tiles, boxes, points and class names drawn.

The first look at a dataset: N images drawn with a seed (the same sheet for the
same seed), filtered by split, by class or to empty images, each scaled into
a square cell with its boxes (one colour per class, the class name above the
box), its points (a dot) and, for a classification dataset, its label under it.
A legend of the class colours runs along the top. Large rasters are read
decimated (wt_core.raster.overview), never whole.

`contact_sheet(dataset, path, n=..., seed=...)` is the function other tools call
(the trainers log its PNG to MLflow as a first look at what they train on).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest
from wt_core.outputs import output_file

from wt_data.dataset import annotations_by_image, load_split, read_dataset, selected_splits

log = get_logger("wt-data")
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
"""Class colours (RGB), cycled: class k is PALETTE[k % 10]."""
CAPTION = 18
LEGEND = 24


def class_colour(k: int) -> tuple[int, int, int]:
    return PALETTE[k % len(PALETTE)]


def font(size: int = 12):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def sample_images(ds: DatasetManifest, n: int, seed: int, splits: list[str] | None = None,
                  classes: list[str] | None = None, empty: bool = False) -> list[tuple[str, dict, list[dict], Path]]:
    """A seeded sample of (split, COCO image, its annotations, image root), after the filters."""
    unknown = [c for c in classes or [] if c not in ds.classes]
    if unknown:
        raise BadInput(f"unknown classes {unknown} (classes: {', '.join(ds.classes)})", ds.path, "classes")
    wanted = {ds.classes.index(c) for c in classes or []}
    pool = []
    for split in selected_splits(ds, splits):
        coco, root = load_split(ds, split)
        by_image = annotations_by_image(coco)
        for im in coco["images"]:
            anns = by_image.get(im["id"], [])
            if empty and anns:
                continue
            if wanted and not any(a.get("category_id") in wanted for a in anns):
                continue
            pool.append((split, im, anns, root))
    rng = random.Random(seed)
    return rng.sample(pool, min(n, len(pool)))


def draw_cell(sheet, draw, origin: tuple[int, int], size: int, image: np.ndarray, scale: float,
              anns: list[dict], classes: list[str], caption: str, detect: bool) -> dict[str, Any]:
    """One image scaled into a size x size cell at `origin`, annotations drawn; where it went."""
    from PIL import Image

    h, w = image.shape[:2]
    fit = min(size / w, size / h)
    tw, th = max(1, round(w * fit)), max(1, round(h * fit))
    thumb = Image.fromarray(image[:, :, ::-1]).resize((tw, th), Image.Resampling.BILINEAR)
    ox, oy = origin[0] + (size - tw) // 2, origin[1] + (size - th) // 2
    sheet.paste(thumb, (ox, oy))
    k = scale * fit  # sheet pixels per image pixel
    small = font(11)
    labels = [classes[a["category_id"]] for a in anns if a.get("point") is None and a.get("bbox") is None]
    boxes = [a for a in anns if a.get("point") is None and a.get("bbox") is not None]
    for a in boxes:  # names first, so no name hides another animal's box
        x, y = a["bbox"][:2]
        tx, ty = ox + x * k, max(oy, oy + y * k - 13)
        box = draw.textbbox((tx, ty), classes[a["category_id"]], font=small)
        draw.rectangle([box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1], fill=class_colour(a["category_id"]))
        draw.text((tx, ty), classes[a["category_id"]], fill=(255, 255, 255), font=small)
    for a in anns:
        colour = class_colour(a["category_id"])
        if a.get("point") is not None:
            px, py = ox + a["point"][0] * k, oy + a["point"][1] * k
            draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour, outline=(0, 0, 0))
        elif a.get("bbox") is not None:
            x, y, bw, bh = a["bbox"]
            x0, y0 = ox + x * k, oy + y * k
            x1, y1 = max(x0 + 2, ox + (x + bw) * k), max(y0 + 2, oy + (y + bh) * k)
            draw.rectangle([x0, y0, x1, y1], outline=colour, width=2)
    text = f"{caption}: {', '.join(labels)}" if labels and not detect else caption
    draw.text((origin[0] + 2, origin[1] + size + 2), text[: size // 6], fill=(30, 30, 30), font=font(11))
    return {"origin": [ox, oy], "scale": k}


def contact_sheet(dataset: str | Path | DatasetManifest, path: str | Path, n: int = 16, seed: int = 0,
                  splits: list[str] | None = None, classes: list[str] | None = None, empty: bool = False,
                  size: int = 320) -> dict[str, Any]:
    """Write a contact sheet PNG of `n` seeded images of a dataset to `path`; returns what it holds.

    The result lists each cell: split, image id, file name, `origin` (the image's top-left corner on the
    sheet) and `scale` (sheet pixels per image pixel), so a box (x, y, w, h) is drawn from
    origin + scale * (x, y).
    """
    from PIL import Image, ImageDraw
    from wt_core.raster import open_image, overview

    ds = read_dataset(dataset)
    if n < 1 or size < 32:
        raise BadInput("n must be at least 1 and size at least 32", None, "n")
    chosen = sample_images(ds, n, seed, splits, classes, empty)
    if not chosen:
        raise BadInput("no image matches the filters", ds.path, "splits")
    cols = int(np.ceil(np.sqrt(len(chosen))))
    rows = int(np.ceil(len(chosen) / cols))
    cell_w, cell_h = size + 8, size + CAPTION + 8
    sheet = Image.new("RGB", (cols * cell_w + 8, rows * cell_h + LEGEND + 8), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    x = 8
    for k, name in enumerate(ds.classes):
        draw.rectangle([x, 7, x + 12, 19], fill=class_colour(k))
        draw.text((x + 16, 6), name, fill=(0, 0, 0), font=font(13))
        x += 16 + int(draw.textlength(name, font=font(13))) + 14
    cells = []
    for i, (split, im, anns, root) in enumerate(chosen):
        origin = (8 + (i % cols) * cell_w, LEGEND + 8 + (i // cols) * cell_h)
        with open_image(root / im["file_name"]) as src:
            pixels, scale = overview(src, size * 2)
        where = draw_cell(sheet, draw, origin, size, pixels, scale, anns, ds.classes,
                          f"{split}/{Path(im['file_name']).name}", ds.task == "detect")
        cells.append({"split": split, "image_id": im["id"], "file_name": im["file_name"], **where})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    sheet.save(tmp)
    tmp.replace(path)
    return {"path": str(path.resolve()), "dataset": ds.id, "seed": seed, "cells": cells}


@command("wt-data", "preview")
def preview(dataset: str, n: int = 16, seed: int = 0, splits: list[str] | None = None, classes: list[str] | None = None,
            empty: bool = False, size: int = 320, out: Path | None = None, overwrite: bool = False,
            json: bool = False) -> dict[str, Any] | None:
    """Write a PNG contact sheet of sampled images or tiles with their boxes, points and class names.

    Args:
        dataset: The dataset manifest (a manifest.json, its directory, or - for a path on stdin).
        n: How many images to show.
        seed: The seed of the sample (the same seed shows the same images).
        splits: Only images of these splits (default all).
        classes: Only images holding at least one of these classes.
        empty: Only images without any annotation (the background a detector learns from).
        size: The side of each image's cell in pixels.
        out: The PNG to write (default runs/data/preview/<dataset id>-<seed>.png).
        overwrite: Replace an existing PNG.
        json: Print {path, cells} as JSON on stdout (else the path is logged on stderr).
    """
    ds = read_dataset(dataset)
    target = output_file(out or Path.cwd() / "runs" / "data" / "preview" / f"{ds.id}-{seed}.png", overwrite)
    result = contact_sheet(ds, target, n=n, seed=seed, splits=splits, classes=classes, empty=empty, size=size)
    log.info("preview of %d images: %s", len(result["cells"]), result["path"])
    return result if json else None
