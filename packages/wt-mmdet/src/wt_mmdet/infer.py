"""A trained run's detector, loaded safely, predicting images whole or tile by tile.

Large images go through `wt_core.slicing.predict_sliced`, the tiling, batching
and merging across tiles that wt-yolo and the registry use too; here is the
MMDetection forward pass plugged into it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import numpy as np
from wt_core.manifest import RunManifest
from wt_core.raster import ImageSource, open_image
from wt_core.readers import read_run, run_weights
from wt_core.slicing import Detections, Slicing, predict_sliced

from wt_mmdet import checkpoints


def default_slicing(**options) -> Slicing:
    """wt-mmdet's slicing: images predicted whole, 4 per forward pass, unless `options` say otherwise."""
    return Slicing(**{"tile": 0, "batch": 4, **options})


def trusted_run(ref: str | Path) -> RunManifest:
    """A verified wt-mmdet run manifest; its checkpoints become trusted (their sha256 was just checked)."""
    run = read_run(ref, "mmdet")
    checkpoints.trust_run(run)
    return run


def run_checkpoint(run: RunManifest, weights: str, checkpoint: Path | None) -> Path:
    if checkpoint is not None:
        checkpoints.check_loadable(checkpoint)
        return Path(checkpoint)
    return run_weights(run, weights)


def predict_config(config_file: Path, size: int):
    """An MMDetection config file, with the test pipeline prediction uses at `size`."""
    from wt_mmdet.compat import prepare
    from wt_mmdet.config import load_config, test_pipeline

    prepare()
    cfg = load_config(config_file, "mmdet_config")
    cfg.test_dataloader = dict(dataset=dict(pipeline=test_pipeline(size, with_annotations=False)))
    return cfg


def crops_forward(model, size: int, conf: float = 0.0,
                  lock: threading.Lock | None = None) -> Callable[..., list[Detections]]:
    """The forward pass of an MMDetection model (in eval mode) on BGR crops: their detections scoring >= conf.

    The returned function takes the crops and, optionally, its own `conf` for that call (`conf` here is
    the default): the threshold is an argument, never state, so concurrent calls each get theirs. With a
    `lock`, forward passes take turns. The test pipeline is `wt_mmdet.config.test_pipeline` at `size`, as
    `wt-mmdet predict` and validation resize."""
    import torch
    from mmengine.dataset import Compose, pseudo_collate

    from wt_mmdet.config import test_pipeline

    steps = test_pipeline(size, with_annotations=False)
    steps[0] = dict(type="mmdet.LoadImageFromNDArray")
    pipeline = Compose(steps)
    default = conf

    def forward(crops: list[np.ndarray], conf: float | None = None) -> list[Detections]:
        threshold = default if conf is None else conf
        batch = pseudo_collate([pipeline(dict(img=c, img_id=i)) for i, c in enumerate(crops)])
        with lock or nullcontext(), torch.no_grad():
            results = model.test_step(batch)
        out = []
        for r in results:
            p = r.pred_instances
            keep = p.scores >= threshold
            out.append(Detections(p.bboxes[keep].cpu().numpy().astype(np.float64),
                                  p.scores[keep].cpu().numpy().astype(np.float64),
                                  p.labels[keep].cpu().numpy().astype(np.int64)))
        return out

    return forward


class Detector:
    """An MMDetection model of a wt-mmdet run, in eval mode, predicting BGR arrays in batches.

    Keeps `wt_core.predictor.DetectorPredictor`: `conf` and `max_det` are the defaults of each call, which may
    give its own (the model scores boxes from its `test_cfg.score_thr` up; a call keeps those at or above its
    `conf`). Forward passes take turns behind a lock: one model, one forward pass at a time, each call's
    threshold applied to its own results.
    """

    def __init__(self, run: RunManifest | str | Path, *, weights: str = "best", checkpoint: Path | None = None,
                 imgsz: int | None = None, conf: float = 0.25, max_det: int = 300, slicing: Slicing | None = None,
                 device: str | None = None):
        run = trusted_run(run.path if isinstance(run, RunManifest) else run)  # verified: its sha256 are trusted
        size = imgsz or run.imgsz or 640
        self._build(run.artifact_path("mmdet_config"), run_checkpoint(run, weights, checkpoint), run.classes, size,
                    conf, max_det, slicing, device)

    @classmethod
    def from_files(cls, config_file: Path, checkpoint: Path, classes: list[str], *, imgsz: int, conf: float = 0.25,
                   max_det: int = 300, slicing: Slicing | None = None, device: str | None = None) -> Detector:
        """A detector from an MMDetection config file and a checkpoint (as a registered model stores them)."""
        self = cls.__new__(cls)
        self._build(Path(config_file), Path(checkpoint), classes, imgsz, conf, max_det, slicing, device)
        return self

    def _build(self, config_file: Path, ckpt: Path, classes: list[str], size: int, conf: float, max_det: int,
               slicing: Slicing | None, device: str | None) -> None:
        import torch

        from wt_mmdet.compat import prepare

        prepare()
        from mmdet.registry import MODELS
        from mmengine.model.utils import revert_sync_batchnorm
        from mmengine.runner import load_checkpoint

        self.ckpt, self.imgsz = ckpt, size
        cfg = predict_config(config_file, size)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        cfg.model.pop("pretrained", None)
        if isinstance(cfg.model.get("backbone"), dict):
            cfg.model.backbone.init_cfg = None
        self.model = revert_sync_batchnorm(MODELS.build(cfg.model))
        self.model.cfg = cfg
        with checkpoints.safe_loading():
            load_checkpoint(self.model, str(self.ckpt), map_location="cpu", logger="silent")
        self.model.dataset_meta = {"classes": tuple(classes)}
        self.model.to(self.device).eval()
        self._forward = crops_forward(self.model, size, conf, threading.Lock())
        self.conf, self.max_det = conf, max_det
        self.slicing = slicing or default_slicing()

    def predict_arrays(self, images: Iterable[np.ndarray | ImageSource], *, conf: float | None = None,
                       max_det: int | None = None) -> Iterator[Detections]:
        """Detections of each image (BGR arrays), tiles of consecutive images batched together, scoring at
        least `conf`, the best `max_det` of each image (None: the defaults)."""
        forward = partial(self._forward, conf=self.conf if conf is None else conf)
        return predict_sliced(images, forward, self.slicing, self.max_det if max_det is None else max_det)

    def predict_files(self, paths: Iterable[str | Path], *, conf: float | None = None,
                      max_det: int | None = None) -> Iterator[Detections]:
        """Detections of each image file, in order (a raster read window by window)."""
        return self.predict_arrays((open_image(p) for p in paths), conf=conf, max_det=max_det)

    def record(self) -> dict:
        """Thresholds and slicing, as the predictions manifest records them."""
        s = self.slicing
        slicing = None if s.tile == 0 else {"tile": s.tile, "overlap": s.overlap, "batch": s.batch,
                                            "merge": s.merge, "merge_iou": s.merge_iou,
                                            "merge_metric": s.merge_metric, "block": s.block, "imgsz": self.imgsz}
        return {"thresholds": {"conf": self.conf, "max_det": float(self.max_det)}, "slicing": slicing}
