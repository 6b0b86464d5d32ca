"""Predictors as plugins: the registry finds each trainer's predictor by its entry point.

A trainer declares, in its pyproject.toml,

    [project.entry-points."wildtrain.predictors"]
    yolo = "wt_yolo.predictor:plugin"

The name is the framework its run manifests record; the object is a plugin with

- `task`: "detect" or "classify", the runs it predicts for;
- `requirements`: the distributions predicting needs (pinned in the registered model);
- `stage(run, weights, directory, role) -> list[str]`: write into `directory` the files a
  registered model needs, named after `role` ("detector", "classifier"), and return
  their names, the weights first. `weights` is the role of the run's weights (best, last);
  a missing one is a BadInput;
- `load(files, spec, device)`: the predictor of the staged files (paths, in that order).
  `spec` is the role's part of model.json (classes, imgsz, conf, iou, max_det, slicing
  for a detector). A detector has a settable `conf` and `predict_arrays(BGR arrays)`, an
  iterator of `wt_core.slicing.Detections` in full-image pixels; a classifier has
  `classes` and `probabilities(RGB arrays, batch)`, an (N, classes) array.

The registry names no framework: a run of any installed trainer that declares a
predictor can be registered, loaded and served.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from typing import Any

from wt_core.errors import BadInput

GROUP = "wildtrain.predictors"


@cache
def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=GROUP)}


@cache
def plugin(framework: str) -> Any:
    """The predictor plugin of `framework`; one that is not installed is a BadInput naming those that are."""
    ep = _entry_points().get(framework)
    if ep is None:
        have = ", ".join(sorted(_entry_points())) or "none"
        raise BadInput(f"no predictor for {framework} runs is installed (installed: {have}); install the trainer "
                       f"that made the run (e.g. pip install wt-{framework})", None, "framework")
    return ep.load()
