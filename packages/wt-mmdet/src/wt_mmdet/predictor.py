"""wt-mmdet's predictor plugin: how wt-registry stores and loads a wt-mmdet run's detector.

Declared in wt-mmdet's pyproject.toml under the entry-point group `wildtrain.predictors`
(the protocol is `wt_core.predictor`). A registered model holds two files:

- `<role>.pth`: the model weights alone (`{"state_dict": ...}`, tensors only), taken from
  the run's verified checkpoint. It loads with `torch.load(weights_only=True)`, so loading
  a registered model never unpickles objects; it is also smaller (no optimizer state).
- `<role>_config.py`: the run's MMDetection config.

It predicts through `wt_mmdet.infer.Detector`, as `wt-mmdet predict` does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from wt_core.errors import BadInput
from wt_core.manifest import RunManifest
from wt_core.readers import run_weights
from wt_core.slicing import Slicing


class MMDetPredictor:
    """An MMDetection detector of a `wt-mmdet fit` run."""

    task = "detect"
    requirements = ("wt-mmdet", "mmdet", "mmengine", "mmcv-lite", "torch", "torchvision")

    def stage(self, run: RunManifest, weights: str, directory: Path, role: str) -> list[str]:
        """Write the run's weights (tensors only) and its MMDetection config into `directory`."""
        import torch

        from wt_mmdet import checkpoints

        src = run_weights(run, weights)
        if "mmdet_config" not in run.artifacts:
            raise BadInput("the run records no MMDetection config", run.path, "artifacts.mmdet_config")
        checkpoints.trust_run(run)  # the run manifest was verified: its checkpoints are ours
        ckpt = checkpoints.load(src, map_location="cpu")
        state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else ckpt
        names = [f"{role}.pth", f"{role}_config.py"]
        torch.save({"state_dict": dict(state)}, Path(directory) / names[0])
        shutil.copyfile(run.artifact_path("mmdet_config"), Path(directory) / names[1])
        return names

    def load(self, files: list[Path], spec: dict[str, Any], device: str | None = None):
        """A `Detector` of the staged weights and config, with the thresholds and slicing of `spec` (model.json)."""
        from wt_mmdet.infer import Detector

        return Detector.from_files(files[1], files[0], list(spec["classes"]), imgsz=int(spec["imgsz"]),
                                   conf=float(spec["conf"]), max_det=int(spec["max_det"]),
                                   slicing=Slicing(**spec["slicing"]), device=device)


plugin = MMDetPredictor()
