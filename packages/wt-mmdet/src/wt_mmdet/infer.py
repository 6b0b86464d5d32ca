"""A trained run's detector, loaded safely, predicting images whole or tile by tile.

Large images are cut with `wt_core.geometry.tile_grid`; each tile's boxes are
shifted into full-image pixels and the boxes several tiles found of one animal
become one with `wt_core.geometry.nms` or `merge_greedy` (class-aware), the
same geometry wt-yolo's sliced prediction uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from wt_core.errors import BadInput
from wt_core.geometry import merge_greedy, nms, tile_grid
from wt_core.manifest import RunManifest
from wt_core.manifest_io import read_manifest

from wt_mmdet import checkpoints


@dataclass
class SliceArgs:
    """Sliced prediction: cut large images into overlapping tiles, predict, merge across tiles."""

    tile: int = 0
    """Tile size in pixels; 0 predicts each image whole."""
    overlap: float = 0.2
    """Overlap between neighbouring tiles, as a fraction of the tile size."""
    batch: int = 4
    """Images (or tiles) per forward pass."""
    merge: Literal["nms", "greedy"] = "nms"
    """How boxes found by several tiles become one: keep the best (nms) or their union (greedy)."""
    merge_iou: float = 0.5
    """Overlap above which two boxes of the same class across tiles are one animal."""
    merge_metric: Literal["ios", "iou"] = "ios"
    """Overlap measure: intersection over the smaller box, or intersection over union."""

    def __post_init__(self) -> None:
        if self.tile < 0:
            raise BadInput(f"must be 0 (off) or positive, got {self.tile}", None, "slicing.tile")
        if not 0 <= self.overlap < 1:
            raise BadInput(f"must be in [0, 1), got {self.overlap}", None, "slicing.overlap")
        if self.batch < 1:
            raise BadInput(f"must be positive, got {self.batch}", None, "slicing.batch")


def read_run(ref: str | Path) -> RunManifest:
    """A verified wt-mmdet run manifest; its checkpoints become trusted (their sha256 was just checked)."""
    run = read_manifest(ref, "run")
    if run.framework != "mmdet":
        raise BadInput(f"this is a {run.framework} run; wt-mmdet reads runs of wt-mmdet fit", run.path, "framework")
    checkpoints.trust_run(run)
    return run  # type: ignore[return-value]


def run_checkpoint(run: RunManifest, weights: str, checkpoint: Path | None) -> Path:
    if checkpoint is not None:
        checkpoints.check_loadable(checkpoint)
        return Path(checkpoint)
    if weights not in run.weights:
        raise BadInput(f"the run has no {weights!r} weights (has: {', '.join(run.weights)})", run.path, "weights")
    return run.artifact_path(run.weights[weights])


def run_config(run: RunManifest, imgsz: int | None):
    """The run's MMDetection config, with the test pipeline prediction uses."""
    from wt_mmdet.compat import prepare
    from wt_mmdet.config import load_config, test_pipeline

    prepare()
    cfg = load_config(run.artifact_path("mmdet_config"), "mmdet_config")
    size = imgsz or run.imgsz or 640
    cfg.test_dataloader = dict(dataset=dict(pipeline=test_pipeline(size, with_annotations=False)))
    return cfg, size


@dataclass
class Detections:
    """Boxes of one image in full-image pixels: xyxy (N, 4), scores (N,), class ids (N,)."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    def coco(self, image_id: int) -> list[dict]:
        """COCO results with our 0-based class ids."""
        return [{"image_id": int(image_id), "category_id": int(c),
                 "bbox": [round(float(b[0]), 2), round(float(b[1]), 2), round(float(b[2] - b[0]), 2),
                          round(float(b[3] - b[1]), 2)], "score": round(float(s), 5)}
                for b, s, c in zip(self.boxes, self.scores, self.classes, strict=True)]


def merge_tiles(parts: list[tuple[tuple[int, int], Detections]], s: SliceArgs, max_det: int) -> Detections:
    """The boxes of an image's tiles in image pixels, merged class by class with wt-core's geometry."""
    shifted = [(d.boxes + np.array([x, y, x, y], dtype=np.float64), d.scores, d.classes) for (x, y), d in parts]
    b = np.concatenate([p[0] for p in shifted]).reshape(-1, 4)
    sc = np.concatenate([p[1] for p in shifted])
    c = np.concatenate([p[2] for p in shifted]).astype(np.int64)
    if len(parts) > 1 and len(sc):
        if s.merge == "greedy":
            b, sc, kept = merge_greedy(b, sc, iou=s.merge_iou, classes=c, metric=s.merge_metric)
            c = c[kept]
        else:
            kept = nms(b, sc, iou=s.merge_iou, classes=c, metric=s.merge_metric)
            b, sc, c = b[kept], sc[kept], c[kept]
    order = np.argsort(-sc, kind="stable")[:max_det]
    return Detections(b[order], sc[order], c[order])


class Detector:
    """An MMDetection model of a wt-mmdet run, in eval mode, predicting BGR arrays in batches."""

    def __init__(self, run: RunManifest | str | Path, *, weights: str = "best", checkpoint: Path | None = None,
                 imgsz: int | None = None, conf: float = 0.25, max_det: int = 300, slicing: SliceArgs | None = None,
                 device: str | None = None):
        import torch

        from wt_mmdet.compat import prepare

        prepare()
        run = read_run(run.path if isinstance(run, RunManifest) else run)  # verified: its sha256 are trusted
        from mmdet.registry import MODELS
        from mmengine.dataset import Compose
        from mmengine.model.utils import revert_sync_batchnorm
        from mmengine.runner import load_checkpoint

        self.ckpt = run_checkpoint(run, weights, checkpoint)
        cfg, self.imgsz = run_config(run, imgsz)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        cfg.model.pop("pretrained", None)
        if isinstance(cfg.model.get("backbone"), dict):
            cfg.model.backbone.init_cfg = None
        self.model = revert_sync_batchnorm(MODELS.build(cfg.model))
        self.model.cfg = cfg
        with checkpoints.safe_loading():
            load_checkpoint(self.model, str(self.ckpt), map_location="cpu", logger="silent")
        self.model.dataset_meta = {"classes": tuple(run.classes)}
        self.model.to(self.device).eval()
        steps = [dict(cfg.test_dataloader.dataset.pipeline[i]) for i in range(len(cfg.test_dataloader.dataset.pipeline))]
        steps[0] = dict(type="mmdet.LoadImageFromNDArray")
        self.pipeline = Compose(steps)
        self.conf, self.max_det = conf, max_det
        self.slicing = slicing or SliceArgs()

    def _forward(self, crops: list[np.ndarray]) -> list[Detections]:
        import torch
        from mmengine.dataset import pseudo_collate

        batch = pseudo_collate([self.pipeline(dict(img=c, img_id=i)) for i, c in enumerate(crops)])
        with torch.no_grad():
            results = self.model.test_step(batch)
        out = []
        for r in results:
            p = r.pred_instances
            keep = p.scores >= self.conf
            out.append(Detections(p.bboxes[keep].cpu().numpy().astype(np.float64),
                                  p.scores[keep].cpu().numpy().astype(np.float64),
                                  p.labels[keep].cpu().numpy().astype(np.int64)))
        return out

    def windows(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        t = self.slicing.tile
        if t == 0:
            return [(0, 0, width, height)]
        return tile_grid(width, height, t, t, overlap=self.slicing.overlap)

    def predict_arrays(self, images: Iterable[np.ndarray]) -> Iterator[Detections]:
        """Detections of each image (BGR arrays), tiles of consecutive images batched together."""
        pending: list[tuple[int, tuple[int, int], np.ndarray]] = []
        parts: dict[int, list] = {}
        expected: dict[int, int] = {}
        done = 0

        def flush() -> None:
            for (idx, off, _), det in zip(pending, self._forward([c for _, _, c in pending]), strict=True):
                parts[idx].append((off, det))
            pending.clear()

        def ready() -> Iterator[Detections]:
            nonlocal done
            while done in expected and len(parts[done]) == expected[done]:
                yield merge_tiles(parts.pop(done), self.slicing, self.max_det)
                done += 1

        for idx, img in enumerate(images):
            h, w = img.shape[:2]
            wins = self.windows(w, h)
            parts[idx], expected[idx] = [], len(wins)
            for x0, y0, x1, y1 in wins:
                pending.append((idx, (x0, y0), np.ascontiguousarray(img[y0:y1, x0:x1])))
                if len(pending) >= self.slicing.batch:
                    flush()
                    yield from ready()
        if pending:
            flush()
        yield from ready()

    def predict_files(self, paths: Iterable[str | Path]) -> Iterator[Detections]:
        return self.predict_arrays(read_bgr(p) for p in paths)

    def record(self) -> dict:
        """Thresholds and slicing, as the predictions manifest records them."""
        s = self.slicing
        slicing = None if s.tile == 0 else {"tile": s.tile, "overlap": s.overlap, "batch": s.batch,
                                            "merge": s.merge, "merge_iou": s.merge_iou,
                                            "merge_metric": s.merge_metric, "imgsz": self.imgsz}
        return {"thresholds": {"conf": self.conf, "max_det": float(self.max_det)}, "slicing": slicing}


def read_bgr(path: str | Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise BadInput("cannot read this image", path, "images")
    return img
