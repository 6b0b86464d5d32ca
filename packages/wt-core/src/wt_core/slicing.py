"""Sliced prediction, framework-free: large images cut into overlapping tiles, predicted in batches, merged back.

A detector trained on 640-pixel tiles sees a 6000x4000 survey image the same
way: the image is cut with `geometry.tile_grid`, each tile predicted, each box
shifted by its tile's offset into full-image pixels, and the boxes that several
tiles found of one animal merged into one (class-aware NMS, or greedy merging
that keeps their union). Every detector tool (wt-yolo, wt-mmdet) and the
registry's predictor plug their own `forward` into `predict_sliced`, which
reads an image through `wt_core.raster` window by window (an orthomosaic is
never decoded whole); `wt-eval detect --on full` stitches tile predictions back
with the same `stitch`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from wt_core.console import Ticker
from wt_core.errors import BadInput
from wt_core.geometry import merge_greedy, nms, tile_grid
from wt_core.ranges import PositiveUnit, UnitBelowOne, check_fields
from wt_core.raster import ArraySource, ImageSource, RasterSource, read_windows


@dataclass
class Slicing:
    """Sliced prediction: cut large images into overlapping tiles, predict, merge across tiles."""

    tile: int = 640
    """Tile size in pixels; 0 predicts each image whole (resized to the input size)."""
    overlap: UnitBelowOne = 0.2
    """Overlap between neighbouring tiles, as a fraction of the tile size."""
    batch: int = 8
    """Tiles per forward pass."""
    merge: Literal["nms", "greedy"] = "nms"
    """How boxes found by several tiles become one: keep the best (nms) or their union (greedy)."""
    merge_iou: PositiveUnit = 0.5
    """Overlap above which two boxes of the same class across tiles are one animal."""
    merge_metric: Literal["ios", "iou"] = "ios"
    """Overlap measure: intersection over the smaller box (ios: a box cut by a tile edge is
    inside the whole one) or intersection over union."""
    block: int = 4096
    """Rasters longer than this on a side are cut into blocks of this side (overlapping as tiles do), each
    a unit of the prediction job (sharded, resumed, its boxes merged across block edges); 0: one unit each."""

    def __post_init__(self) -> None:
        if self.tile < 0:
            raise ValueError(f"slicing.tile must be 0 (off) or positive, got {self.tile}")
        if self.block and self.block < self.tile:
            raise ValueError(f"slicing.block must be 0 (off) or at least slicing.tile, got {self.block}")
        if self.batch < 1:
            raise ValueError(f"slicing.batch must be positive, got {self.batch}")
        check_fields(self, "slicing")

    def record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Detections:
    """Boxes of one image in full-image pixels: xyxy (N, 4), scores (N,), class ids (N,)."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.scores)

    def coco(self, image_id: int) -> list[dict[str, Any]]:
        """COCO results: one {image_id, category_id (0-based class id), bbox [x, y, w, h], score} per box."""
        return [{"image_id": int(image_id), "category_id": int(c),
                 "bbox": [round(float(b[0]), 2), round(float(b[1]), 2),
                          round(float(b[2] - b[0]), 2), round(float(b[3] - b[1]), 2)],
                 "score": round(float(s), 5)}
                for b, s, c in zip(self.boxes, self.scores, self.classes, strict=True)]


def stitch(tiles: Iterable[tuple[tuple[float, float], Detections]], *, method: str = "nms", iou: float = 0.5,
           metric: str = "ios", max_det: int | None = 300, pieces: bool = False) -> Detections:
    """Boxes of several tiles of one image, shifted by each tile's (x0, y0) and merged class by class.

    An image predicted in one piece keeps the detector's own boxes: there is nothing to merge across tiles
    (unless `pieces`: the parts hold boxes of several tiles, not yet merged). Method 'none' only gathers
    the boxes (a raster's block, merged with its other blocks later: `wt_core.blocks`). The best `max_det`
    boxes are kept (all with None).
    """
    boxes, scores, classes = [], [], []
    n_tiles = 0
    for (x0, y0), det in tiles:
        n_tiles += 1
        if len(det):
            boxes.append(det.boxes + np.array([x0, y0, x0, y0], dtype=np.float64))
            scores.append(det.scores)
            classes.append(det.classes)
    if not boxes:
        return Detections.empty()
    b, s, c = np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes).astype(np.int64)
    # best score first, equal scores by place: one order (and one merge) whatever order the pieces came in
    canon = np.lexsort((c, b[:, 3], b[:, 2], b[:, 1], b[:, 0], -s))
    b, s, c = b[canon], s[canon], c[canon]
    merge = n_tiles > 1 or pieces
    if merge and method == "greedy":
        b, s, kept = merge_greedy(b, s, iou=iou, classes=c, metric=metric)
        c = c[kept]
    elif merge and method != "none":
        kept = nms(b, s, iou=iou, classes=c, metric=metric)
        b, s, c = b[kept], s[kept], c[kept]
    order = np.argsort(-s, kind="stable")[:max_det]
    return Detections(b[order], s[order], c[order])


def windows(width: int, height: int, slicing: Slicing) -> list[tuple[int, int, int, int]]:
    """The tile windows of one image (the whole image when slicing is off)."""
    t = slicing.tile
    if t == 0:
        return [(0, 0, width, height)]
    return tile_grid(width, height, t, t, overlap=slicing.overlap)


Forward = Callable[[list[np.ndarray]], list[Detections]]
WHOLE_LIMIT = 100_000_000
"""Pixels above which a raster is refused for prediction in one piece (tile 0): it would be decoded whole."""
SHOW_PROGRESS = 64
"""Images cut into at least this many windows report their own progress (windows done, time left)."""


def predict_sliced(images: Iterable[np.ndarray | ImageSource], forward: Forward, slicing: Slicing,
                   max_det: int = 300) -> Iterator[Detections]:
    """Detections of each image, in order.

    An image is an HxWx3 array or an `ImageSource` (`wt_core.raster.open_image`):
    a raster is read window by window, never whole. Tiles of several images go
    through `forward` `slicing.batch` at a time; each image's tiles are stitched
    as soon as all are predicted (a raster's block, a source marked `unmerged`,
    yields its tiles' boxes unmerged and unranked: they are merged once with the
    raster's other blocks). `forward` maps a list of HxWx3 crops to their
    boxes in crop pixels.
    """
    pending: list[tuple[int, tuple[int, int], np.ndarray]] = []  # (image index, tile offset, crop)
    parts: dict[int, list[tuple[tuple[int, int], Detections]]] = {}
    expected: dict[int, int] = {}
    unmerged: set[int] = set()
    done = 0

    def flush() -> None:
        for (idx, offset, _), det in zip(pending, forward([c for _, _, c in pending]), strict=True):
            parts[idx].append((offset, det))
        pending.clear()

    def ready() -> Iterator[Detections]:
        nonlocal done
        while done in expected and len(parts[done]) == expected[done]:
            gather = done in unmerged  # a raster's block: its tiles' boxes are merged with the other blocks'
            yield stitch(parts.pop(done), method="none" if gather else slicing.merge, iou=slicing.merge_iou,
                         metric=slicing.merge_metric, max_det=None if gather else max_det)
            unmerged.discard(done)
            done += 1

    for idx, img in enumerate(images):
        source = ArraySource(img) if isinstance(img, np.ndarray) else img
        wins = windows(source.width, source.height, slicing)
        if slicing.tile == 0 and isinstance(source, RasterSource) and source.width * source.height > WHOLE_LIMIT:
            raise BadInput(f"this raster is {source.width}x{source.height} pixels: predict it sliced "
                           f"(--slicing.tile 640), not whole", source.path, "slicing.tile")
        parts[idx], expected[idx] = [], len(wins)
        if getattr(source, "unmerged", False):
            unmerged.add(idx)
        ticker = Ticker(len(wins), f"{source.path.name}: windows") if len(wins) >= SHOW_PROGRESS else None
        try:
            for (x0, y0, _, _), crop in read_windows(source, wins):
                pending.append((idx, (x0, y0), np.ascontiguousarray(crop)))
                if ticker:
                    ticker.advance()
                if len(pending) >= slicing.batch:
                    flush()
                    yield from ready()
        finally:
            source.close()  # a photo's pixels are freed; its crops are copies
        if ticker:
            ticker.close()
    if pending:
        flush()
    yield from ready()
