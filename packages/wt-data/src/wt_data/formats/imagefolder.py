"""A classification image folder: `root/<class>/*.jpg`, or `root/<split>/<class>/*.jpg`.

Classes are the folder names, sorted (as torchvision's ImageFolder does).
"""

from __future__ import annotations

from pathlib import Path

from wt_core.errors import BadInput

from wt_data.formats.common import image_files, list_dir, need_dir
from wt_data.problems import Problems
from wt_data.raw import RawBox, RawDataset, RawImage, RawSplit

SPLIT_NAMES = {"train", "val", "valid", "validation", "test"}


def _split(root: Path) -> tuple[list[str], list[RawImage]]:
    classes = [p.name for p in list_dir(root) if p.is_dir() and not p.name.startswith(".")]
    images: list[RawImage] = []
    for c in classes:
        for f in image_files(root / c):
            rel = f.relative_to(root).as_posix()
            images.append(RawImage(rel, boxes=[RawBox(c, None, where=rel)], where=rel))
    return classes, images


def read_imagefolder(source: Path, images: Path | None, problems: Problems, task: str = "classify") -> RawDataset:
    if task == "detect":
        raise BadInput("an image folder is a classification dataset", source, "task")
    root = need_dir(images or source, "image folder")
    subdirs = [p.name for p in list_dir(root) if p.is_dir() and not p.name.startswith(".")]
    if subdirs and set(subdirs) <= SPLIT_NAMES:
        parts = {("val" if s in ("valid", "validation") else s): root / s for s in subdirs}
    else:
        parts = {"all": root}
    classes: list[str] = []
    splits: dict[str, RawSplit] = {}
    for name, d in parts.items():
        found, imgs = _split(d)
        classes += [c for c in found if c not in classes]
        splits[name] = RawSplit(d.absolute(), imgs, d)
    if not classes:
        raise BadInput("no class folders found (expected root/<class>/*.jpg)", root)
    return RawDataset("classify", sorted(classes), splits)
