"""The predictor protocol: what a trainer's predictor plugin gives wt-registry, written as code.

A trainer declares a plugin under the entry-point group `wildtrain.predictors`
(`wt_registry.plugins` finds it); the plugin keeps `PredictorPlugin`, and what its
`load` returns keeps `DetectorPredictor` (task "detect") or `ClassifierPredictor`
(task "classify").

Per call, never state: the score threshold (`conf`) and the most boxes kept per
image (`max_det`) are arguments of every `predict_arrays` call, their defaults the
registered spec's (the `conf` and `max_det` attributes, read, never set for one
call). Two threads predicting at once with different thresholds each get their
own answer; a detector whose framework model is not safe to call from two threads
at once serialises its forward pass with a lock. The NMS IoU is per call where the
framework takes it per call (Ultralytics: `iou=`); where it is part of the model
(MMDetection's `test_cfg`) it is the loaded spec's. The device is chosen once, at
`load`: a model lives on one device, and moving its weights for one call would be
state shared by every concurrent call.

Module level stays light (no torch): numpy and wt-core's own types only.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from wt_core.slicing import Detections

if TYPE_CHECKING:
    from wt_core.manifest import RunManifest

PER_CALL = ("conf", "max_det")
"""The keyword arguments every detector's `predict_arrays` takes (None: the spec's default)."""


@runtime_checkable
class DetectorPredictor(Protocol):
    """A loaded detector: BGR arrays in, `Detections` in full-image pixels out, one per image, in order."""

    conf: float
    """The default score threshold (the registered spec's); read, never set for one call."""
    max_det: int
    """The default most boxes kept per image."""

    def predict_arrays(self, images: Iterable[np.ndarray], *, conf: float | None = None,
                       max_det: int | None = None) -> Iterator[Detections]:
        """Detections of each image (HxWx3 BGR uint8, as OpenCV reads them) scoring at least `conf`,
        the best `max_det` of them; None takes the default. Safe to call from several threads at once."""
        ...


@runtime_checkable
class ClassifierPredictor(Protocol):
    """A loaded classifier: RGB arrays (whole images or crops) in, one probability per class out."""

    classes: list[str]

    def probabilities(self, crops: Sequence[np.ndarray], batch: int = 32) -> np.ndarray:
        """An (N, len(classes)) float array, rows summing to 1, for N RGB arrays (H, W, 3); `batch` per
        forward pass. Safe to call from several threads at once."""
        ...


@runtime_checkable
class PredictorPlugin(Protocol):
    """A trainer's predictor plugin (the object an entry point of `wildtrain.predictors` names)."""

    task: Literal["detect", "classify"]
    """The runs it predicts for."""
    requirements: Sequence[str]
    """The distributions predicting needs (pinned in the registered model)."""

    def stage(self, run: RunManifest, weights: str, directory: Path, role: str) -> list[str]:
        """Write into `directory` the files a registered model needs, named after `role` ("detector",
        "classifier"), and return their names, the weights first. `weights` is the role of the run's
        weights (best, last); a missing one is a BadInput."""
        ...

    def load(self, files: list[Path], spec: Mapping[str, Any],
             device: str | None = None) -> DetectorPredictor | ClassifierPredictor:
        """The predictor of the staged files (paths, in `stage`'s order) on `device` (None: the best there
        is). `spec` is the role's part of model.json: classes, imgsz, conf, iou, max_det and slicing for
        a detector."""
        ...


def protocol_gaps(predictor: object, task: str) -> list[str]:
    """What `predictor` (a plugin's `load` result for `task`) lacks of the protocol; empty when it keeps it."""
    if task == "classify":
        return [] if isinstance(predictor, ClassifierPredictor) else ["classes and probabilities(crops, batch)"]
    if not isinstance(predictor, DetectorPredictor):
        return ["conf, max_det and predict_arrays(images, *, conf, max_det)"]
    params = inspect.signature(predictor.predict_arrays).parameters
    return [f"a per-call {name!r} argument of predict_arrays" for name in PER_CALL if name not in params]
