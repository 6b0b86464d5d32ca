"""From tiles back to full images: each image's tiles stitched as sliced prediction stitches them.

The shift and the merge across tile edges are wt_core.slicing's `stitch`, the
one a sliced predictor uses, applied per full image. An animal cut by a tile
edge is seen whole in one tile and in part in the next; with the 'ios' metric
(intersection over the smaller box) the part lies inside the whole and is
merged into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from wt_core.errors import BadInput
from wt_core.slicing import Detections, Slicing, stitch


@dataclass
class Placement:
    """Where a tile lies: the full image it was cut from and its top-left corner there."""

    source_id: Any
    source_image: str | None
    dx: float
    dy: float


def placements(tile_images: list[dict[str, Any]], file: Path) -> dict[int, Placement]:
    """Tile image id to its placement, from the tile entries' `source_id`/`source_image` and `offset: [x, y]`."""
    out: dict[int, Placement] = {}
    for i, im in enumerate(tile_images):
        off = im.get("offset")
        if off is None or (im.get("source_id") is None and im.get("source_image") is None):
            raise BadInput("not a tile: the image has no offset and source image (was this dataset made by "
                           "`wt-data tile`?)", file, f"images[{i}]")
        if not (isinstance(off, list | tuple) and len(off) == 2):
            raise BadInput(f"a tile offset is [x, y], got {off!r}", file, f"images[{i}].offset")
        out[im["id"]] = Placement(im.get("source_id"), im.get("source_image"), float(off[0]), float(off[1]))
    return out


def coverage(tile_images: list[dict[str, Any]], full_images: list[dict[str, Any]], cell: int = 16) -> float:
    """The fraction of the whole images' area that some tile covers (wt-data tile may leave out empty tiles)."""
    by_key: dict[Any, list[dict[str, Any]]] = {}
    for t in tile_images:
        by_key.setdefault(t.get("source_id"), []).append(t)
        by_key.setdefault(t.get("source_image"), []).append(t)
    covered = total = 0
    for im in full_images:
        w, h = int(im["width"]), int(im["height"])
        grid = np.zeros(((h + cell - 1) // cell, (w + cell - 1) // cell), dtype=bool)
        tiles = by_key.get(im["id"]) or by_key.get(im.get("file_name")) or []
        for t in tiles:
            x0, y0 = (int(v) for v in t["offset"])
            x1, y1 = min(w, x0 + int(t["width"])), min(h, y0 + int(t["height"]))
            grid[y0 // cell:(y1 + cell - 1) // cell, x0 // cell:(x1 + cell - 1) // cell] = True
        covered += int(grid.sum())
        total += grid.size
    return covered / total if total else 1.0


def on_full(tile_ids: np.ndarray, cls: np.ndarray, xyxy: np.ndarray, score: np.ndarray,
            where: dict[int, Placement], full_index: dict[Any, int],
            slicing: Slicing) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tile detections (xyxy in tile pixels) on the full images: image index, class, xyxy box and score.

    `full_index` maps a source key to a full image's index; a placement's key is its `source_id` when
    `full_index` knows it, else its `source_image`. Every tile of a full image counts, predicted or not,
    so an image that is one tile keeps its boxes unmerged, as a sliced prediction keeps them.
    """
    full_of: dict[int, int] = {}
    tiles_of: dict[int, list[int]] = {}
    for t, p in where.items():
        key = p.source_id if p.source_id in full_index else p.source_image
        if key in full_index:
            full_of[t] = full_index[key]
            tiles_of.setdefault(full_of[t], []).append(t)
    order = np.argsort(tile_ids, kind="stable")
    ids = tile_ids[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.int64)
    rows = {int(ids[a]): order[a:b] for a, b in zip(starts, np.r_[starts[1:], len(ids)], strict=True)}
    for t in rows:
        if t not in full_of:
            p = where[t]
            raise BadInput(f"tile {t}'s source image ({p.source_id or p.source_image}) is not in the full "
                           "dataset's split", None, "source_id")
    out_img, out_cls, out_box, out_score = [], [], [], []
    for img in sorted(tiles_of):
        parts = []
        for t in tiles_of[img]:
            idx = rows.get(t, order[:0])
            parts.append(((where[t].dx, where[t].dy), Detections(xyxy[idx], score[idx], cls[idx])))
        det = stitch(parts, method=slicing.merge, iou=slicing.merge_iou, metric=slicing.merge_metric, max_det=None)
        out_img.append(np.full(len(det), img, dtype=np.int64))
        out_cls.append(det.classes)
        out_box.append(det.boxes)
        out_score.append(det.scores)
    if not out_img:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)
    return np.concatenate(out_img), np.concatenate(out_cls), np.concatenate(out_box), np.concatenate(out_score)
