"""Orthomosaics as prediction jobs: a large raster cut into blocks, each block a unit of the job.

A raster larger than `slicing.block` pixels on a side becomes several job units
(`Block`: the raster's id, path and full size, and the block's window), cut
along the raster's own tile grid (each tile in one block, neighbouring blocks
overlapping as tiles do), so the tiles predicted are those of the whole raster,
each once, and an animal that a tile holds whole lies whole in some block. The
blocks of one raster take consecutive positions of the job, so `--shard i/N`,
`--resume`, `--part_size` and `--dask.*` work over the windows of one raster
exactly as over photos (`wt_core.streaming`). A block is read whole (`loaded`: one block's pixels, so a
block that cannot be read is one failure record and the job goes on) and
predicted sliced like an image, its boxes placed in full-raster pixels; a raster
that fits in one block stays one unit.

A block records its tiles' boxes unmerged (`unit_record`, `boxes` at full
precision). When the job is finalized, the block records of one raster are
gathered (they are consecutive in position order) and their boxes merged once by
`stitch`, the merge the sliced predictor uses across tiles, with the run's
method, threshold and measure (`BlockRule`, recorded in the predictions manifest
as `details.blocks`): the raster's boxes are those of the raster predicted in
one piece, and `wt-eval merge` of the shards, applying the same rule to the same
records, gives the unsharded run's boxes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wt_core.geometry import stride_for, tile_starts
from wt_core.raster import (
    BAND_PIXELS,
    ArraySource,
    ImageSource,
    RasterSource,
    Window,
    is_raster,
    open_image,
)
from wt_core.slicing import Detections, Slicing, stitch

Record = dict[str, Any]


@dataclass(frozen=True)
class BlockRule:
    """How rasters are cut into blocks and how their blocks' boxes become one raster's boxes."""

    size: int
    """Longest side of a block in pixels; rasters within it on both sides are one unit."""
    tile: int
    """The slicing's tile side: blocks are cut along the raster's own tile grid."""
    stride: int
    """The slicing's tile stride (tile side less the overlap)."""
    merge: str = "nms"
    merge_iou: float = 0.5
    merge_metric: str = "ios"
    max_det: int | None = 300

    @classmethod
    def of(cls, slicing: Slicing, max_det: int | None) -> BlockRule | None:
        """The rule of a sliced predictor (None: slicing or blocks off, every image is one unit)."""
        if slicing.tile == 0 or slicing.block == 0:
            return None
        return cls(slicing.block, slicing.tile, stride_for(slicing.tile, slicing.overlap), slicing.merge,
                   slicing.merge_iou, slicing.merge_metric, max_det)

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> BlockRule | None:
        """The rule as `details.blocks` of a predictions manifest records it."""
        if not record:
            return None
        return cls(**{k: v for k, v in record.items() if k in cls.__dataclass_fields__})

    def record(self) -> dict[str, Any]:
        return asdict(self)

    def windows(self, width: int, height: int) -> list[Window]:
        """The blocks of a raster, in row order (one, the whole raster, when it fits in a block).

        Blocks follow the raster's tile grid (`geometry.tile_grid` of the slicing): each tile of that
        grid lies in one block, neighbouring blocks overlap as neighbouring tiles do, and the tiles a
        block's sliced prediction cuts are the raster's own, each predicted once.
        """
        if width <= self.size and height <= self.size:
            return [(0, 0, width, height)]
        xs, ys = self._spans(width), self._spans(height)
        return [(x0, y0, x1, y1) for y0, y1 in ys for x0, x1 in xs]

    def _spans(self, length: int) -> list[tuple[int, int]]:
        starts = tile_starts(length, self.tile, self.stride)
        per = max(1, (self.size - self.tile) // self.stride + 1)  # tiles a block holds along this axis
        return [(starts[i], min(starts[min(i + per, len(starts)) - 1] + self.tile, length))
                for i in range(0, len(starts), per)]

    def merged(self, blocks: Sequence[Record]) -> list[dict[str, Any]]:
        """The COCO results of one raster from the records of its blocks (failed blocks hold none): their
        tiles' boxes merged once, as the sliced predictor merges the tiles of one image."""
        found = [_detections(r) for r in blocks if "boxes" in r or "results" in r]
        if not found:
            return []
        det = stitch([((0, 0), d) for d in found], method=self.merge, iou=self.merge_iou, metric=self.merge_metric,
                     max_det=self.max_det, pieces=True)
        return det.coco(blocks[0]["id"])


def _detections(record: Record) -> Detections:
    """A block's boxes: `boxes` rows [x0, y0, x1, y1, score, class] at full precision (its tiles' boxes,
    unmerged), or COCO `results` (a predictor that merges within the block, as a registered model does)."""
    if "boxes" in record:
        rows = np.asarray(record["boxes"], dtype=np.float64).reshape(-1, 6)
        return Detections(rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int64))
    results = record["results"]
    if not results:
        return Detections.empty()
    xywh = np.array([r["bbox"] for r in results], dtype=np.float64)
    boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    return Detections(boxes, np.array([r["score"] for r in results], dtype=np.float64),
                      np.array([r["category_id"] for r in results], dtype=np.int64))


def unit_record(at: Any, det: Detections, width: int, height: int) -> Record:
    """The record of a predicted unit (`wt_core.streaming.ImageAt`): an image's COCO results, or a block's
    boxes in full-raster pixels, unmerged (`boxes` rows), for the merge of the raster's blocks."""
    det = placed(det, at.image)
    if getattr(at.image, "window", None) is None:
        return at.result(det.coco(at.id), width, height)  # type: ignore[no-any-return]
    rec: Record = at.result([], width, height)
    del rec["results"]
    rec["boxes"] = [[*map(float, b), float(s), int(c)] for b, s, c in zip(det.boxes, det.scores, det.classes,
                                                                           strict=True)]
    return rec


@dataclass(slots=True, frozen=True)
class Block:
    """One unit of a job that is a window of a raster: the raster's id, file and full size, and the window."""

    id: int
    path: Path
    file_name: str
    width: int
    height: int
    window: Window


def job_units(images: Sequence[Any], rule: BlockRule | None) -> list[Any]:
    """The job's units: each photo as it is, each raster larger than a block as its blocks (in row order).

    A raster's size is read from its header here; one whose header cannot be read stays one unit, so it
    becomes the failure record of the streaming job.
    """
    if rule is None:
        return list(images)
    out: list[Any] = []
    for im in images:
        if not is_raster(im.path):
            out.append(im)
            continue
        try:
            with RasterSource(im.path) as src:
                w, h = src.width, src.height
        except Exception:  # an unreadable raster is recorded as a failure when the job reads it
            out.append(im)
            continue
        wins = rule.windows(w, h)
        if len(wins) == 1:
            out.append(im)
            continue
        out.extend(Block(im.id, im.path, im.file_name, w, h, win) for win in wins)
    return out


class BlockSource(ImageSource):
    """A window of an image, read as an image of its own (pixels relative to the window's corner)."""

    unmerged = True
    """`predict_sliced` gathers the boxes of a block's tiles unmerged: they are merged with the other blocks'."""

    def __init__(self, source: ImageSource, window: Window):
        self.source, self.window = source, window
        self.path = source.path
        x0, y0, x1, y1 = window
        self.width, self.height = x1 - x0, y1 - y0

    def read(self, window: Window) -> np.ndarray:
        x0, y0, x1, y1 = window
        bx, by = self.window[:2]
        return self.source.read((x0 + bx, y0 + by, x1 + bx, y1 + by))

    def close(self) -> None:
        self.source.close()


def open_unit(unit: Any) -> ImageSource:
    """A job unit's pixels: a block's window of its raster, or the whole image."""
    window = getattr(unit, "window", None)
    src = open_image(unit.path)
    return BlockSource(src, window) if window is not None else src


class LoadedSource(ArraySource):
    """A block (or a raster within one block) read whole before it is predicted: a block that cannot be read
    fails alone, as a photo that cannot be decoded does, not in the middle of a batch. Closed: freed."""

    def __init__(self, source: ImageSource):
        super().__init__(source.read((0, 0, source.width, source.height)), source.path)
        self.unmerged = getattr(source, "unmerged", False)
        source.close()

    def close(self) -> None:
        self.array = np.zeros((0, 0, 3), np.uint8)


def loaded(source: ImageSource) -> ImageSource:
    """A raster unit of at most `raster.BAND_PIXELS` read now (`LoadedSource`); a larger one (a raster in one
    piece, `--slicing.block 0`) stays read window by window."""
    if isinstance(source, (BlockSource, RasterSource)) and source.width * source.height <= BAND_PIXELS:
        try:
            return LoadedSource(source)
        except BaseException:
            source.close()
            raise
    return source


def placed(det: Detections, unit: Any) -> Detections:
    """A unit's boxes in the pixels of its whole image (a block's shifted by its corner)."""
    window = getattr(unit, "window", None)
    if window is None or not len(det):
        return det
    x0, y0 = window[:2]
    return Detections(det.boxes + np.array([x0, y0, x0, y0], dtype=np.float64), det.scores, det.classes)


def whole_images(records: Iterable[Record], rule: BlockRule | None) -> Iterator[Record]:
    """Records (in position order) as one record per image: a raster's block records become one, its boxes
    merged across block edges by the rule (an error only when every block failed); others pass as they are."""
    pending: list[Record] = []

    def gathered() -> Record:
        if rule is None:
            raise ValueError("block records without the rule that merges them (details.blocks)")
        first = pending[0]
        rec = {k: first[k] for k in ("pos", "id", "file", "path")}
        ok = [r for r in pending if "error" not in r]
        if ok:
            rec.update(width=ok[0].get("width", 0), height=ok[0].get("height", 0), results=rule.merged(ok))
        else:
            rec["error"] = first["error"]
        pending.clear()
        return rec

    for rec in records:
        if pending and ("window" not in rec or rec["id"] != pending[0]["id"]):
            yield gathered()
        if "window" in rec:
            pending.append(rec)
        else:
            yield rec
    if pending:
        yield gathered()
