"""Readers, one per annotation format: each parses into a RawDataset and reports problems.

A reader takes (source, image root or None, problems, task) and resolves the
image root the way that format's own tools do when none is given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wt_data.problems import Problems
from wt_data.raw import RawDataset

Reader = Callable[[Path, Path | None, Problems, str], RawDataset]


def reader(name: str) -> Reader:
    from importlib import import_module

    module, fn = READERS[name]
    return getattr(import_module(f"wt_data.formats.{module}"), fn)


READERS: dict[str, tuple[str, str]] = {
    "coco": ("coco", "read_coco"),
    "imagefolder": ("imagefolder", "read_imagefolder"),
    "yolo": ("yolo", "read_yolo"),
    "voc": ("voc", "read_voc"),
    "labelstudio": ("labelstudio", "read_labelstudio"),
    "csv": ("csvfmt", "read_csv_boxes"),
    "csv-classify": ("csvfmt", "read_csv_labels"),
    "wildata": ("wildata", "read_wildata"),
    "dataset": ("dataset", "read_manifest_dataset"),
    "geotiff": ("geotiff", "read_geotiff"),
}
