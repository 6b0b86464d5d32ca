"""Datasets as wt-yolo trains on them: the train and val splits, the Ultralytics view.

Manifests are read with wt-core's readers (`wt_core.readers`).
"""

from __future__ import annotations

from pathlib import Path

from wt_core.errors import BadInput
from wt_core.invocation import warn
from wt_core.manifest import DatasetManifest
from wt_core.predictions import folder_images, split_images  # noqa: F401  (wt-yolo reads them here)


def train_val_splits(ds: DatasetManifest) -> tuple[str, str]:
    """The splits Ultralytics trains and validates on, as wt-data's YOLO view names them:
    train (else the first split), and val (else test, else the train split)."""
    if not ds.splits:
        raise BadInput("the dataset has no splits", ds.path, "splits")
    names = list(ds.splits)
    train = "train" if "train" in names else names[0]
    val = next((s for s in ("val", "test") if s in names), train)
    return train, val


def check_trainable(ds: DatasetManifest) -> tuple[str, str]:
    """A train split with images and boxes, and classes; returns the train and val split names."""
    train, val = train_val_splits(ds)
    rec = ds.splits[train]
    if rec.images == 0 or rec.boxes == 0:
        raise BadInput(f"the train split {train!r} is empty ({rec.images} images, {rec.boxes} boxes)", ds.path,
                       f"splits.{train}")
    if not ds.classes:
        raise BadInput("the dataset has no classes", ds.path, "classes")
    if val == train:
        warn(f"the dataset has no val or test split: Ultralytics validates on the training split {train!r}, so the "
             "run's metrics and its best.pt measure the training images, not new ones (make a val split with "
             "wt-data split)")
    return train, val


def yolo_data_yaml(ds: DatasetManifest) -> Path:
    """The Ultralytics view of the dataset (data.yaml), built once inside the dataset directory."""
    from wt_data.views import yolo_view

    return Path(yolo_view(ds))
