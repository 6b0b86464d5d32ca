"""wt-yolo's predictor plugin: how wt-registry stores and loads a yolo run's detector.

Declared in wt-yolo's pyproject.toml under the entry-point group `wildtrain.predictors`
(the protocol is `wt_core.predictor`). The registered model keeps the run's
weights file unchanged and predicts through `SlicedPredictor`, as `wt-yolo predict` does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from wt_core.manifest import RunManifest
from wt_core.readers import run_weights
from wt_core.slicing import Slicing


class YoloPredictor:
    """An Ultralytics detector of a `wt-yolo fit` run."""

    task = "detect"
    requirements = ("wt-yolo", "ultralytics", "torch", "torchvision")

    def stage(self, run: RunManifest, weights: str, directory: Path, role: str) -> list[str]:
        """Copy the run's weights into `directory` as `<role>.pt`."""
        src = run_weights(run, weights)
        name = f"{role}{src.suffix}"
        shutil.copyfile(src, Path(directory) / name)
        return [name]

    def load(self, files: list[Path], spec: dict[str, Any], device: str | None = None):
        """A `SlicedPredictor` of the staged weights, with the thresholds and slicing of `spec` (model.json)."""
        from wt_yolo.slicing import SlicedPredictor

        return SlicedPredictor(files[0], imgsz=int(spec["imgsz"]), conf=float(spec["conf"]), iou=float(spec["iou"]),
                               max_det=int(spec["max_det"]), slicing=Slicing(**spec["slicing"]), device=device)


plugin = YoloPredictor()
