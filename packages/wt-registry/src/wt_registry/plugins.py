"""Predictors as plugins: the registry finds each trainer's predictor by its entry point.

A trainer declares, in its pyproject.toml,

    [project.entry-points."wildtrain.predictors"]
    yolo = "wt_yolo.predictor:plugin"

The name is the framework its run manifests record; the object keeps the protocol
written as code in `wt_core.predictor`: a `PredictorPlugin` (task, requirements,
stage, load) whose `load` returns a `DetectorPredictor` (per-call `conf` and
`max_det`, safe from several threads) or a `ClassifierPredictor`. A loaded
predictor that lacks part of the protocol (e.g. a detector of the older protocol,
whose threshold was a settable attribute) is refused with one line naming what
is missing.

The registry names no framework: a run of any installed trainer that declares a
predictor can be registered, loaded and served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from wt_core.errors import BadInput
from wt_core.predictor import ClassifierPredictor, DetectorPredictor, PredictorPlugin, protocol_gaps

GROUP = "wildtrain.predictors"


@cache
def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=GROUP)}


@cache
def plugin(framework: str) -> PredictorPlugin:
    """The predictor plugin of `framework`; one that is not installed is a BadInput naming those that are."""
    ep = _entry_points().get(framework)
    if ep is None:
        have = ", ".join(sorted(_entry_points())) or "none"
        raise BadInput(f"no predictor for {framework} runs is installed (installed: {have}); install the trainer "
                       f"that made the run (e.g. pip install wt-{framework})", None, "framework")
    found = ep.load()
    if not isinstance(found, PredictorPlugin):
        raise BadInput(f"the {framework} predictor plugin ({ep.value}) lacks task, requirements, stage or load "
                       f"(see wt_core.predictor)", None, "framework")
    return found


def load_detector(part: Mapping[str, Any], files: Sequence[Path], device: str | None) -> DetectorPredictor:
    """The detector of the `detector` part of model.json, checked against the protocol."""
    return cast(DetectorPredictor, _load(part, files, device, "detect"))


def load_classifier(part: Mapping[str, Any], files: Sequence[Path], device: str | None) -> ClassifierPredictor:
    """The classifier of the `classifier` part of model.json, checked against the protocol."""
    return cast(ClassifierPredictor, _load(part, files, device, "classify"))


def _load(part: Mapping[str, Any], files: Sequence[Path], device: str | None, task: str) -> object:
    framework = part["framework"]
    predictor = plugin(framework).load(list(files), part, device)
    gaps = protocol_gaps(predictor, task)
    if gaps:
        raise BadInput(f"the {framework} predictor does not keep the predictor protocol of wt_core.predictor: it "
                       f"lacks {', '.join(gaps)}; update the trainer that provides it", None, "framework")
    return predictor
