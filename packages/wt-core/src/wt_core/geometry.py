"""Geometry shared by tiling and sliced prediction: tile grids, box clipping, box merging.

Boxes are `[x1, y1, x2, y2]` in pixels unless a function says `xywh` (COCO).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Starts of tiles along one axis: every `stride`, the last aligned to the edge.

    Full coverage without padding: when `length <= tile` there is one tile at 0.
    """
    if tile <= 0 or stride <= 0:
        raise ValueError("tile size and stride must be positive")
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def stride_for(tile: int, overlap: float) -> int:
    """The stride of tiles of size `tile` overlapping by the fraction `overlap` (0 <= overlap < 1)."""
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    return max(1, int(round(tile * (1 - overlap))))


def tile_grid(width: int, height: int, tile_w: int, tile_h: int, overlap: float = 0.2,
              stride: tuple[int, int] | None = None) -> list[tuple[int, int, int, int]]:
    """Tile windows `(x0, y0, x1, y1)` covering the whole image."""
    sx, sy = stride if stride else (stride_for(tile_w, overlap), stride_for(tile_h, overlap))
    xs, ys = tile_starts(width, tile_w, sx), tile_starts(height, tile_h, sy)
    return [(x, y, min(x + tile_w, width), min(y + tile_h, height)) for y in ys for x in xs]


def clip_to_window(box_xywh: Sequence[float], window: Sequence[int]) -> tuple[list[float], float] | None:
    """A COCO box clipped to a window, in window coordinates, and its visible fraction.

    None when the box and the window do not overlap.
    """
    x, y, w, h = box_xywh
    wx0, wy0, wx1, wy1 = window
    x0, y0 = max(x, wx0), max(y, wy0)
    x1, y1 = min(x + w, wx1), min(y + h, wy1)
    if x1 <= x0 or y1 <= y0:
        return None
    area = w * h
    vis = ((x1 - x0) * (y1 - y0)) / area if area > 0 else 0.0
    return [x0 - wx0, y0 - wy0, x1 - x0, y1 - y0], vis


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of xyxy boxes `a` (N, 4) and `b` (M, 4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def box_ios(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over the smaller box: a box cut by a tile edge is inside the whole one."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    return np.where(smaller > 0, inter / np.where(smaller > 0, smaller, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.5, classes: np.ndarray | None = None,
        metric: str = "iou") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first.

    With `classes`, only boxes of the same class suppress each other. `metric`
    'ios' (intersection over the smaller box) also removes the part of an animal
    that a neighbouring tile saw cut by its edge.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    overlap = box_ios if metric == "ios" else box_iou
    keep: list[int] = []
    suppressed = np.zeros(len(boxes), dtype=bool)
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(int(i))
        rest = order[pos + 1:]
        rest = rest[~suppressed[rest]]
        if classes is not None:
            rest = rest[np.asarray(classes)[rest] == np.asarray(classes)[i]]
        if len(rest):
            ov = overlap(boxes[i:i + 1], boxes[rest])[0]
            suppressed[rest[ov > iou]] = True
    return np.asarray(keep, dtype=np.int64)


def merge_greedy(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.5, classes: np.ndarray | None = None,
                 metric: str = "ios") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy merging: each kept box absorbs the boxes it suppresses (their union).

    Returns merged boxes, their scores (the best of each group) and the kept indices.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    overlap = box_ios if metric == "ios" else box_iou
    used = np.zeros(len(boxes), dtype=bool)
    out_boxes, out_scores, kept = [], [], []
    for i in order:
        if used[i]:
            continue
        used[i] = True
        group = [i]
        rest = np.where(~used)[0]
        if classes is not None:
            rest = rest[np.asarray(classes)[rest] == np.asarray(classes)[i]]
        if len(rest):
            ov = overlap(boxes[i:i + 1], boxes[rest])[0]
            members = rest[ov > iou]
            used[members] = True
            group += list(members)
        g = boxes[group]
        out_boxes.append([g[:, 0].min(), g[:, 1].min(), g[:, 2].max(), g[:, 3].max()])
        out_scores.append(scores[i])
        kept.append(int(i))
    return (np.asarray(out_boxes, dtype=np.float64).reshape(-1, 4), np.asarray(out_scores, dtype=np.float64),
            np.asarray(kept, dtype=np.int64))


def xywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4).copy()
    b[:, 2:] += b[:, :2]
    return b
