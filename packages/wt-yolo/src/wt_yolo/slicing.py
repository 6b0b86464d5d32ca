"""Sliced prediction: large images cut into overlapping tiles, predicted in batches, merged back.

A detector trained on 640-pixel tiles sees a 6000x4000 survey image the same
way: the image is cut with `wt_core.geometry.tile_grid`, each tile predicted,
each box shifted by its tile's offset into full-image pixels, and the boxes
that several tiles found of one animal merged into one (class-aware NMS, or
greedy merging that keeps their union). `stitch` is that last step alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from wt_core.geometry import merge_greedy, nms, tile_grid

from wt_yolo.args import SliceArgs


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

    def coco(self, image_id: int) -> list[dict]:
        """COCO results: one {image_id, category_id (0-based class id), bbox [x, y, w, h], score} per box."""
        return [{"image_id": int(image_id), "category_id": int(c),
                 "bbox": [round(float(b[0]), 2), round(float(b[1]), 2),
                          round(float(b[2] - b[0]), 2), round(float(b[3] - b[1]), 2)],
                 "score": round(float(s), 5)}
                for b, s, c in zip(self.boxes, self.scores, self.classes, strict=True)]


def stitch(tiles: Iterable[tuple[tuple[int, int], Detections]], *, method: str = "nms", iou: float = 0.5,
           metric: str = "ios", max_det: int = 300) -> Detections:
    """Boxes of several tiles of one image, shifted by each tile's (x0, y0) and merged class by class."""
    boxes, scores, classes = [], [], []
    for (x0, y0), det in tiles:
        if len(det):
            boxes.append(det.boxes + np.array([x0, y0, x0, y0], dtype=np.float64))
            scores.append(det.scores)
            classes.append(det.classes)
    if not boxes:
        return Detections.empty()
    b, s, c = np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes).astype(np.int64)
    if method == "greedy":
        b, s, kept = merge_greedy(b, s, iou=iou, classes=c, metric=metric)
        c = c[kept]
    else:
        kept = nms(b, s, iou=iou, classes=c, metric=metric)
        b, s, c = b[kept], s[kept], c[kept]
    order = np.argsort(-s, kind="stable")[:max_det]
    return Detections(b[order], s[order], c[order])


def windows(width: int, height: int, slicing: SliceArgs) -> list[tuple[int, int, int, int]]:
    """The tile windows of one image (the whole image when slicing is off)."""
    t = slicing.tile
    if t == 0:
        return [(0, 0, width, height)]
    return tile_grid(width, height, t, t, overlap=slicing.overlap)


Forward = Callable[[list[np.ndarray]], list[Detections]]


def predict_sliced(images: Iterable[np.ndarray], forward: Forward, slicing: SliceArgs,
                   max_det: int = 300) -> Iterator[Detections]:
    """Detections of each image, in order: tiles of several images go through `forward` `slicing.batch` at a
    time, each image's tiles are stitched as soon as all are predicted. Knows no framework: `forward` maps
    a list of HxWx3 crops to their boxes in crop pixels."""
    pending: list[tuple[int, tuple[int, int], np.ndarray]] = []  # (image index, tile offset, crop)
    parts: dict[int, list[tuple[tuple[int, int], Detections]]] = {}
    expected: dict[int, int] = {}
    done = 0

    def flush() -> None:
        for (idx, offset, _), det in zip(pending, forward([c for _, _, c in pending]), strict=True):
            parts[idx].append((offset, det))
        pending.clear()

    def ready() -> Iterator[Detections]:
        nonlocal done
        while done in expected and len(parts[done]) == expected[done]:
            yield stitch(parts.pop(done), method=slicing.merge, iou=slicing.merge_iou, metric=slicing.merge_metric,
                         max_det=max_det)
            done += 1

    for idx, img in enumerate(images):
        wins = windows(img.shape[1], img.shape[0], slicing)
        parts[idx], expected[idx] = [], len(wins)
        for x0, y0, x1, y1 in wins:
            pending.append((idx, (x0, y0), np.ascontiguousarray(img[y0:y1, x0:x1])))
            if len(pending) >= slicing.batch:
                flush()
                yield from ready()
    if pending:
        flush()
    yield from ready()


class SlicedPredictor:
    """An Ultralytics detector (.pt, .onnx, .torchscript) that predicts large images tile by tile."""

    def __init__(self, weights: str | Path, *, imgsz: int, conf: float = 0.25, iou: float = 0.7,
                 max_det: int = 300, slicing: SliceArgs | None = None, device: str | None = None):
        from ultralytics import YOLO

        _not_ultralytics_cli()
        self.model = YOLO(str(weights), task="detect")
        self.imgsz, self.conf, self.iou, self.max_det = imgsz, conf, iou, max_det
        self.slicing = slicing or SliceArgs()
        self.device = device

    def forward(self, crops: list[np.ndarray]) -> list[Detections]:
        """Ultralytics' prediction (letterbox to imgsz, NMS within each crop) of a batch of BGR crops."""
        kwargs = {"device": self.device} if self.device else {}
        results = self.model.predict(crops, imgsz=self.imgsz, conf=self.conf, iou=self.iou, max_det=self.max_det,
                                     verbose=False, save=False, **kwargs)
        return [Detections(r.boxes.xyxy.cpu().numpy().astype(np.float64), r.boxes.conf.cpu().numpy().astype(np.float64),
                           r.boxes.cls.cpu().numpy().astype(np.int64)) for r in results]

    def predict_arrays(self, images: Iterable[np.ndarray]) -> Iterator[Detections]:
        """Detections of each image (BGR arrays, as OpenCV reads them), in full-image pixels."""
        return predict_sliced(images, self.forward, self.slicing, self.max_det)

    def predict_files(self, paths: Iterable[str | Path]) -> Iterator[Detections]:
        """Detections of each image file, in order."""
        return self.predict_arrays(_read_bgr(p) for p in paths)

    def record(self) -> dict:
        """The thresholds and slicing, as a predictions manifest records them."""
        s = self.slicing
        thresholds = {"conf": self.conf, "iou": self.iou, "max_det": float(self.max_det)}
        slicing = None if s.tile == 0 else {"tile": s.tile, "overlap": s.overlap, "batch": s.batch, "merge": s.merge,
                                            "merge_iou": s.merge_iou, "merge_metric": s.merge_metric,
                                            "imgsz": self.imgsz}
        return {"thresholds": thresholds, "slicing": slicing}


def _not_ultralytics_cli() -> None:
    """Ultralytics takes any program whose name ends in 'yolo' run with 'predict' in its arguments for its
    own CLI: `predict` then saves images under its runs directory and returns None. `wt-yolo predict` is not."""
    import ultralytics.engine.model as ultralytics_model

    if ultralytics_model.ARGV and ultralytics_model.ARGV[0].endswith("yolo"):
        ultralytics_model.ARGV = ["wt-yolo-api", *ultralytics_model.ARGV[1:]]


def _read_bgr(path: str | Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        from wt_core.errors import BadInput

        raise BadInput("cannot read this image", path, "images")
    return img
