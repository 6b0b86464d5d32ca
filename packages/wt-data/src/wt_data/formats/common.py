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
