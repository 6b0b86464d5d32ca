"""A WildTrain dataset manifest read back as raw input (validate or re-import a dataset)."""

from __future__ import annotations

from pathlib import Path

from wt_core.readers import read_dataset

from wt_data.dataset import load_split
from wt_data.formats.coco import parse_coco
from wt_data.problems import Problems
from wt_data.raw import RawDataset


def read_manifest_dataset(source: Path, images: Path | None, problems: Problems, task: str = "auto") -> RawDataset:
    ds = read_dataset(source)
    splits = {}
    for name in ds.splits:
        coco, root = load_split(ds, name)
        _, rs, _ = parse_coco(coco, ds.artifact_path(ds.splits[name].annotations), images or root, problems, ds.task)
        splits[name] = rs
    return RawDataset(ds.task, list(ds.classes), splits)
