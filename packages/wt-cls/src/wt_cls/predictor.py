"""A trained classifier from a run manifest or a checkpoint alone: `load(ref).predict(images)`.

The checkpoint carries the class names and the preprocessing (input size,
mean, std), so nothing else is needed. Module level stays light: torch is
imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wt_core.errors import BadInput
from wt_core.manifest import RunManifest
from wt_core.readers import read_run, run_weights


def resolve_checkpoint(ref: str | Path, role: str = "best") -> tuple[RunManifest | None, Path]:
    """A run manifest (file, directory or '-') or a .ckpt file: (the run or None, the checkpoint)."""
    p = Path(str(ref)).expanduser()
    if p.suffix == ".ckpt":
        if not p.is_file():
            raise BadInput("checkpoint not found", p)
        return None, p.resolve()
    run = read_run(ref, "cls")
    return run, run_weights(run, role)


def load_module(ckpt: str | Path, map_location: str = "cpu"):
    """The ClassifierModule saved in a checkpoint, in eval mode."""
    from wt_cls.model import ClassifierModule

    try:
        module = ClassifierModule.load_from_checkpoint(str(ckpt), map_location=map_location, weights_only=False)
    except BadInput:
        raise
    except Exception as e:
        raise BadInput(f"not a wt-cls checkpoint: {type(e).__name__}: {' '.join(str(e).split())[:200]}", ckpt) from None
    return module.eval()


class Predictor:
    """Class probabilities for images, with the preprocessing the model was trained with."""

    def __init__(self, module: Any):
        from wt_cls.data import eval_transform

        self.module = module.eval()
        hp = module.hparams
        self.classes: list[str] = list(hp["classes"])
        self.input_size, self.mean, self.std = int(hp["input_size"]), list(hp["mean"]), list(hp["std"])
        self.transform = eval_transform(self.input_size, self.mean, self.std)

    def probabilities(self, images: list[Any], batch_size: int = 32):
        """An (N, classes) tensor of probabilities for paths or PIL images."""
        import torch

        from wt_cls.data import load_rgb

        out = []
        device = next(self.module.parameters()).device
        with torch.inference_mode():
            for i in range(0, len(images), batch_size):
                chunk = [load_rgb(str(im)) if isinstance(im, (str, Path)) else im.convert("RGB")
                         for im in images[i:i + batch_size]]
                x = torch.stack([self.transform(im) for im in chunk]).to(device)
                out.append(torch.softmax(self.module(x), dim=1).float().cpu())
        return torch.cat(out) if out else torch.zeros((0, len(self.classes)))

    def predict(self, images: list[Any], batch_size: int = 32) -> list[dict[str, Any]]:
        """Per image: label (class name), category_id, score and scores (one probability per class)."""
        probs = self.probabilities(images, batch_size)
        rows = []
        for p in probs.tolist():
            k = max(range(len(p)), key=p.__getitem__)
            rows.append({"label": self.classes[k], "category_id": k, "score": p[k], "scores": p})
        return rows


def load(ref: str | Path, map_location: str = "cpu") -> Predictor:
    """A Predictor from a run manifest, its directory, or a .ckpt file."""
    _, ckpt = resolve_checkpoint(ref)
    return Predictor(load_module(ckpt, map_location))


class CropClassifier:
    """A wt-cls checkpoint classifying RGB arrays (whole images or crops), with its own preprocessing."""

    def __init__(self, checkpoint: str | Path, device: str | None = None):
        import torch

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.inner = Predictor(load_module(checkpoint, map_location=device))
        self.classes: list[str] = list(self.inner.classes)

    def probabilities(self, crops: list[Any], batch: int = 32):
        """(N, classes) numpy probabilities of RGB arrays (H, W, 3)."""
        import numpy as np
        from PIL import Image

        if not len(crops):
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        images = [Image.fromarray(np.ascontiguousarray(c)) for c in crops]
        return self.inner.probabilities(images, batch_size=batch).numpy()


class ClsPredictor:
    """wt-cls's predictor plugin (entry-point group `wildtrain.predictors`; the protocol is
    `wt_core.predictor`): a registered model keeps the run's checkpoint unchanged."""

    task = "classify"
    requirements = ("wt-cls", "torch", "torchvision", "timm", "lightning", "torchmetrics")

    def stage(self, run: RunManifest, weights: str, directory: Path, role: str) -> list[str]:
        """Copy the run's checkpoint into `directory` as `<role>.ckpt`."""
        import shutil

        src = run_weights(run, weights)
        name = f"{role}{src.suffix}"
        shutil.copyfile(src, Path(directory) / name)
        return [name]

    def load(self, files: list[Path], spec: dict[str, Any], device: str | None = None) -> CropClassifier:
        return CropClassifier(files[0], device=device)


plugin = ClsPredictor()
