"""Sliced prediction: large images cut into overlapping tiles, predicted in batches, merged back.

The framework-free steps (tiles, batching, stitching) live in `wt_core.slicing`;
here is the Ultralytics forward pass plugged into them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
from wt_core.raster import ImageSource, open_image
from wt_core.slicing import Detections, Forward, Slicing, predict_sliced, stitch, windows

__all__ = ["Detections", "Forward", "SlicedPredictor", "detections_of", "predict_sliced", "stitch", "windows"]


class SlicedPredictor:
    """An Ultralytics detector (.pt, .onnx, .torchscript) that predicts large images tile by tile.

    Keeps `wt_core.predictor.DetectorPredictor`: `conf`, `iou` and `max_det` given at construction are the
    defaults of each call, which may give its own. An Ultralytics model is not safe to call from two threads
    at once (its predictor object holds the arguments of the call under way), so forward passes take turns
    behind a lock; each passes its own thresholds.
    """

    def __init__(self, weights: str | Path, *, imgsz: int, conf: float = 0.25, iou: float = 0.7,
                 max_det: int = 300, slicing: Slicing | None = None, device: str | None = None):
        from ultralytics import YOLO

        _not_ultralytics_cli()
        self.model = YOLO(str(weights), task="detect")
        self.imgsz, self.conf, self.iou, self.max_det = imgsz, conf, iou, max_det
        self.slicing = slicing or Slicing()
        self.device = device
        self._lock = threading.Lock()

    def forward(self, crops: list[np.ndarray], conf: float | None = None, iou: float | None = None,
                max_det: int | None = None) -> list[Detections]:
        """Ultralytics' prediction (letterbox to imgsz, NMS within each crop) of a batch of BGR crops, with this
        call's thresholds (None: the defaults)."""
        kwargs = {"device": self.device} if self.device else {}
        with self._lock:
            results = self.model.predict(crops, imgsz=self.imgsz, conf=self.conf if conf is None else conf,
                                         iou=self.iou if iou is None else iou,
                                         max_det=self.max_det if max_det is None else max_det,
                                         verbose=False, save=False, **kwargs)
            return detections_of(results)

    def predict_arrays(self, images: Iterable[np.ndarray | ImageSource], *, conf: float | None = None,
                       max_det: int | None = None, iou: float | None = None) -> Iterator[Detections]:
        """Detections of each image (BGR arrays, as OpenCV reads them), in full-image pixels, scoring at least
        `conf`, the best `max_det`, NMS at `iou` within a tile (None: the defaults)."""
        top = self.max_det if max_det is None else max_det
        return predict_sliced(images, partial(self.forward, conf=conf, iou=iou, max_det=top), self.slicing, top)

    def predict_files(self, paths: Iterable[str | Path], *, conf: float | None = None,
                      max_det: int | None = None) -> Iterator[Detections]:
        """Detections of each image file, in order (a raster read window by window, never whole)."""
        return self.predict_arrays((open_image(p) for p in paths), conf=conf, max_det=max_det)

    def record(self) -> dict:
        """The thresholds and slicing, as a predictions manifest records them."""
        s = self.slicing
        thresholds = {"conf": self.conf, "iou": self.iou, "max_det": float(self.max_det)}
        slicing = None if s.tile == 0 else {"tile": s.tile, "overlap": s.overlap, "batch": s.batch, "merge": s.merge,
                                            "merge_iou": s.merge_iou, "merge_metric": s.merge_metric, "block": s.block,
                                            "imgsz": self.imgsz}
        return {"thresholds": thresholds, "slicing": slicing}


def detections_of(results: list) -> list[Detections]:
    """Ultralytics' Results of a batch as our Detections (boxes in crop pixels)."""
    return [Detections(r.boxes.xyxy.cpu().numpy().astype(np.float64), r.boxes.conf.cpu().numpy().astype(np.float64),
                       r.boxes.cls.cpu().numpy().astype(np.int64)) for r in results]


def _not_ultralytics_cli() -> None:
    """Ultralytics takes any program whose name ends in 'yolo' run with 'predict' in its arguments for its
    own CLI: `predict` then saves images under its runs directory and returns None. `wt-yolo predict` is not."""
    import ultralytics.engine.model as ultralytics_model

    if ultralytics_model.ARGV and ultralytics_model.ARGV[0].endswith("yolo"):
        ultralytics_model.ARGV = ["wt-yolo-api", *ultralytics_model.ARGV[1:]]
