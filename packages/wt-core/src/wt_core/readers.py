"""One reader per manifest kind, each with one behaviour, for every tool.

A reader reads and verifies a manifest (`read_manifest`: schema, kind, artifacts
and their sha256, parents) and then checks what its callers need: the task of a
dataset, the framework of a run. `run_weights` names a run's weights file or
refuses with one line: it never falls back to other weights.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from wt_core.errors import BadInput
from wt_core.manifest import (
    DatasetManifest,
    EvaluationManifest,
    ManifestBase,
    PredictionsManifest,
    RunManifest,
)
from wt_core.manifest_io import read_manifest

TASK_WORDS = {"detect": "detection", "classify": "classification"}
TASK_HINTS = {"classify": " (make one with `wt-data crops` or `wt-data import --format imagefolder`)"}


def read_dataset(ref: str | Path | DatasetManifest, task: str | None = None) -> DatasetManifest:
    """A dataset manifest (a file, a directory, '-' or one already read); with `task`, only a dataset of that task."""
    ds = ref if isinstance(ref, DatasetManifest) else read_manifest(ref, "dataset", expect=DatasetManifest)
    if task is not None and ds.task != task:
        raise BadInput(f"this is a {ds.task} dataset; expected a {TASK_WORDS.get(task, task)} dataset"
                       f"{TASK_HINTS.get(task, '')}", ds.path, "task")
    return ds


def read_detect_dataset(ref: str | Path | DatasetManifest) -> DatasetManifest:
    """A detection dataset with classes (a classify dataset, or one without classes, is refused)."""
    ds = read_dataset(ref, "detect")
    if not ds.classes:
        raise BadInput("the dataset has no classes", ds.path, "classes")
    return ds


def require_boxes(ds: DatasetManifest) -> None:
    """Refuse a dataset whose point annotations have no box (a box detector would learn them as background)."""
    for name, s in ds.splits.items():
        if s.points:
            raise BadInput(f"split {name!r} has {s.points} point annotations without a box: give them boxes first "
                           "(wt-data boxes --size CLASS=PIXELS)", ds.path, f"splits.{name}.points")


def read_dataset_or_predictions(ref: str | Path) -> DatasetManifest | PredictionsManifest:
    """A dataset or a predictions manifest (the commands that export either)."""
    m: ManifestBase = read_manifest(ref)
    if not isinstance(m, DatasetManifest | PredictionsManifest):
        raise BadInput(f"expected a dataset or predictions manifest, got a {m.kind} manifest", m.path, "kind")
    return m


def read_predictions(ref: str | Path) -> PredictionsManifest:
    """A predictions manifest."""
    return read_manifest(ref, "predictions", expect=PredictionsManifest)


def read_evaluation(ref: str | Path, *, hashes: bool = True) -> EvaluationManifest:
    """An evaluation manifest; `hashes=False` to read only its metrics (the artifacts' sha256 not recomputed)."""
    return read_manifest(ref, "evaluation", expect=EvaluationManifest, hashes=hashes)


def read_run(ref: str | Path | RunManifest, frameworks: str | Iterable[str] | None = None) -> RunManifest:
    """A run manifest, its artifacts verified against their sha256; with `frameworks`, only a run of one of them."""
    run = ref if isinstance(ref, RunManifest) else read_manifest(ref, "run", expect=RunManifest)
    if frameworks is not None:
        allowed = [frameworks] if isinstance(frameworks, str) else list(frameworks)
        if run.framework not in allowed:
            raise BadInput(f"this is a {run.framework} run; expected a run of {' or '.join(allowed)}", run.path,
                           "framework")
    return run


def run_weights(run: RunManifest, role: str = "best") -> Path:
    """The file of the run's `role` weights (best, last ...); a role the run lacks is refused, never replaced."""
    name = run.weights.get(role)
    if name is None or name not in run.artifacts:
        have = ", ".join(run.weights) or "none"
        raise BadInput(f"the run records no {role} weights (it has: {have})", run.path, f"weights.{role}")
    path = run.artifact_path(name)
    if not path.is_file():
        raise BadInput(f"the run's {role} weights file is missing: {run.artifacts[name].path}", run.path,
                       f"artifacts.{name}")
    return path
