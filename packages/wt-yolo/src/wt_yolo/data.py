"""Datasets and runs as wt-yolo reads them: checked manifests, split images, weights."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from wt_core.errors import BadInput
from wt_core.manifest import DatasetManifest, RunManifest
from wt_core.manifest_io import read_manifest


def read_detect_dataset(ref: str | Path) -> DatasetManifest:
    """A detection dataset manifest (a classify dataset is refused)."""
    ds = read_manifest(ref, "dataset", expect=DatasetManifest)
    if ds.task != "detect":
        raise BadInput(f"wt-yolo trains detectors; this is a {ds.task} dataset (use wt-cls)", ds.path, "task")
    return ds


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
    return train, val


def read_run(ref: str | Path) -> RunManifest:
    """A yolo run manifest, its weights verified against their sha256."""
    run = read_manifest(ref, "run", expect=RunManifest)
    if run.framework != "yolo":
        raise BadInput(f"this is a {run.framework} run; wt-yolo runs yolo runs", run.path, "framework")
    return run


def run_weights(run: RunManifest, role: str = "best") -> Path:
    name = run.weights.get(role) or run.weights.get("best") or next(iter(run.weights.values()), None)
    if name is None or name not in run.artifacts:
        raise BadInput(f"the run records no {role} weights", run.path, "weights")
    return run.artifact_path(name)


@dataclass
class SplitImage:
    id: int
    path: Path
    file_name: str
    width: int
    height: int


def split_images(ds: DatasetManifest, split: str) -> list[SplitImage]:
    """The images of one split, with the ids of its COCO JSON."""
    if split not in ds.splits:
        raise BadInput(f"no split {split!r} (splits: {', '.join(ds.splits)})", ds.path, "splits")
    rec = ds.splits[split]
    coco = json.loads(ds.artifact_path(rec.annotations).read_text())
    root = ds.resolve(rec.image_root)
    return [SplitImage(int(im["id"]), root / im["file_name"], im["file_name"], int(im["width"]), int(im["height"]))
            for im in coco["images"]]


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}


def folder_images(folder: str | Path) -> list[SplitImage]:
    """The images of a folder (recursively, sorted), numbered from 1."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise BadInput("image folder not found", root, "images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise BadInput("no images in this folder", root, "images")
    from PIL import Image

    out = []
    for i, p in enumerate(files, 1):
        with Image.open(p) as im:
            w, h = im.size
        out.append(SplitImage(i, p.resolve(), p.relative_to(root).as_posix(), w, h))
    return out


def yolo_data_yaml(ds: DatasetManifest) -> Path:
    """The Ultralytics view of the dataset (data.yaml), built once inside the dataset directory."""
    from wt_data.views import yolo_view

    return Path(yolo_view(ds))
