"""Datasets as wt-yolo trains on them: the train and val splits (picked by the harness), the Ultralytics view.

Manifests are read with wt-core's readers (`wt_core.readers`).
"""

from __future__ import annotations

from pathlib import Path

from wt_core.errors import BadInput
from wt_core.invocation import warn
from wt_core.manifest import DatasetManifest
from wt_core.predictions import folder_images, split_images  # noqa: F401  (wt-yolo reads them here)


def check_trainable(ds: DatasetManifest, train: str, val: str | None) -> tuple[str, str]:
    """A train split with images and boxes, and classes; returns the train and val split names (without a val
    split, Ultralytics validates on the train split, with a warning)."""
    rec = ds.splits[train]
    if rec.images == 0 or rec.boxes == 0:
        raise BadInput(f"the train split {train!r} is empty ({rec.images} images, {rec.boxes} boxes)", ds.path,
                       f"splits.{train}")
    if not ds.classes:
        raise BadInput("the dataset has no classes", ds.path, "classes")
    if val is None:
        val = train
        warn(f"the dataset has no val or test split: Ultralytics validates on the training split {train!r}, so the "
             "run's metrics and its best.pt measure the training images, not new ones (make a val split with "
             "wt-data split)")
    return train, val


def yolo_data_yaml(ds: DatasetManifest, train: str, val: str, into: Path) -> Path:
    """The Ultralytics view of the dataset (built once inside the dataset directory) training on `train` and
    validating on `val`: the view's data.yaml, or a copy in `into` naming these splits."""
    import yaml
    from wt_data.views import yolo_view

    path = Path(yolo_view(ds))
    data = yaml.safe_load(path.read_text())
    if (data.get("train"), data.get("val")) == (f"images/{train}", f"images/{val}"):
        return path
    data["train"], data["val"] = f"images/{train}", f"images/{val}"
    into.mkdir(parents=True, exist_ok=True)
    mine = into / "data.yaml"
    mine.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return mine
