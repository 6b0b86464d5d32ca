"""From tiles back to full images: shift boxes by each tile's offset, then merge duplicates across edges.

The merging is wt_core.geometry's (the same `nms` and `merge_greedy` a sliced
predictor uses), applied per full image. An animal cut by a tile edge is seen
whole in one tile and in part in the next; with the 'ios' metric (intersection
over the smaller box) the part lies inside the whole and is merged into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from wt_core import geometry
from wt_core.errors import BadInput


@dataclass
class Merge:
    """How duplicate detections across tile edges are merged."""

    method: Literal["nms", "greedy"] = "nms"
    """nms: the best box is kept, those it overlaps dropped (as wt-yolo's sliced predict by default); greedy: the
    best box absorbs those it overlaps (their union)."""
    iou: float = 0.5
    """Overlap above which two boxes are one animal."""
    metric: Literal["ios", "iou"] = "ios"
    """ios: intersection over the smaller box (a part inside a whole counts as the same animal); iou: over the union."""
    class_aware: bool = True
    """Only boxes of the same class are merged."""

    def __post_init__(self) -> None:
        if not 0 < self.iou <= 1:
            raise BadInput(f"merge iou must be in (0, 1], got {self.iou}", "--merge.iou")


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


def to_full(tile_ids: np.ndarray, xywh: np.ndarray, where: dict[int, Placement],
            full_index: dict[Any, int]) -> tuple[np.ndarray, np.ndarray]:
    """Boxes in full-image pixels and the index of their full image (`full_index`: source key to index).

    A placement's key is its `source_id` when `full_index` knows it, else its `source_image`.
    """
    dx = np.empty(len(tile_ids))
    dy = np.empty(len(tile_ids))
    img = np.empty(len(tile_ids), dtype=np.int64)
    cache: dict[int, tuple[int, float, float]] = {}
    for n, t in enumerate(tile_ids.tolist()):
        if t not in cache:
            p = where[t]
            key = p.source_id if p.source_id in full_index else p.source_image
            if key not in full_index:
                raise BadInput(f"tile {t}'s source image ({p.source_id or p.source_image}) is not in the full "
                               "dataset's split", None, "source_id")
            cache[t] = (full_index[key], p.dx, p.dy)
        img[n], dx[n], dy[n] = cache[t]
    shifted = xywh.copy()
    shifted[:, 0] += dx
    shifted[:, 1] += dy
    return img, shifted


def merge(img: np.ndarray, cls: np.ndarray, xyxy: np.ndarray, score: np.ndarray,
          how: Merge) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge duplicates within each image; returns image index, class, xyxy box and score of what remains."""
    out_img, out_cls, out_box, out_score = [], [], [], []
    order = np.argsort(img, kind="stable")
    bounds = np.flatnonzero(np.r_[True, img[order][1:] != img[order][:-1], True]) if len(img) else [0]
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        idx = order[a:b]
        classes = cls[idx] if how.class_aware else None
        if how.method == "nms":
            keep = geometry.nms(xyxy[idx], score[idx], how.iou, classes, how.metric)
            boxes, scores = xyxy[idx][keep], score[idx][keep]
        else:
            boxes, scores, keep = geometry.merge_greedy(xyxy[idx], score[idx], how.iou, classes, how.metric)
        out_img.append(np.full(len(keep), img[idx[0]], dtype=np.int64))
        out_cls.append(cls[idx][keep])
        out_box.append(boxes)
        out_score.append(scores)
    if not out_img:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)
    return np.concatenate(out_img), np.concatenate(out_cls), np.concatenate(out_box), np.concatenate(out_score)
