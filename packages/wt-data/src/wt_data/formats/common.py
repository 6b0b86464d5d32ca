"""Small helpers the readers share."""

from __future__ import annotations

import os
from pathlib import Path

from wt_core.errors import BadInput

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def need_file(path: Path, what: str) -> Path:
    if not path.exists():
        raise BadInput(f"{what} not found", path)
    if path.is_dir():
        raise BadInput(f"expected a {what} file, got a directory", path)
    if not os.access(path, os.R_OK):
        raise BadInput(f"cannot read {what}: permission denied", path)
    return path


def need_dir(path: Path, what: str) -> Path:
    if not path.exists():
        raise BadInput(f"{what} not found", path)
    if not path.is_dir():
        raise BadInput(f"expected a {what} directory", path)
    if not os.access(path, os.R_OK | os.X_OK):
        raise BadInput(f"cannot read {what}: permission denied", path)
    return path


def list_dir(path: Path) -> list[Path]:
    try:
        return sorted(path.iterdir())
    except PermissionError:
        raise BadInput("cannot read directory: permission denied", path) from None
    except OSError as e:
        raise BadInput(f"cannot read directory: {e.strerror}", path) from None


def image_files(root: Path) -> list[Path]:
    """Every image under `root`, sorted, following the directory tree."""
    out: list[Path] = []
    for p in list_dir(root):
        if p.is_dir():
            out.extend(image_files(p))
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            out.append(p)
    return out


def first_existing_root(candidates: list[Path], probe: str | None) -> Path:
    """The first candidate image root holding `probe` (a file name), else the first candidate."""
    if probe:
        for c in candidates:
            if (c / probe).exists():
                return c
    return candidates[0]


SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val",
                 "test": "test", "testing": "test", "all": "all"}


def split_name(value: str, file, where: str | None = None) -> str:
    """Our name of a split a source names (train, val, test; valid and validation are val); refuses others."""
    name = SPLIT_ALIASES.get(str(value).strip().lower())
    if name is None:
        raise BadInput(f"unknown split name {value!r} (use train, val or test)", file, where)
    return name


def by_split(images: list, split_of: dict[int, str], root: Path, file: Path) -> dict:
    """RawSplits from images and the split each one is in (by index in `images`); images in no split are left out."""
    from wt_data.raw import RawSplit

    out: dict[str, list] = {}
    for i, im in enumerate(images):
        if i in split_of:
            out.setdefault(split_of[i], []).append(im)
    return {name: RawSplit(root, ims, file) for name, ims in out.items()}


def report_splits(problems, file: Path, read: dict[str, int], left_out: int, why: str) -> None:
    """Say what a source's own split information gave, and count the images it left out."""
    from wt_core.console import get_logger

    log = get_logger("wt-data")
    log.info("splits read from %s: %s", file, ", ".join(f"{k} ({v} images)" for k, v in read.items()) or "none")
    if left_out:
        log.warning("%d images left out: %s (%s)", left_out, why, file)
        problems.note("left_out_not_in_any_split", left_out)
