"""The shape every format's reader returns before checks and class mapping.

Readers only parse: file names stay as written (relative to the split's image
root), labels stay foreign names, boxes stay COCO `[x, y, w, h]` in pixels.
The import pipeline then maps classes, checks images and boxes, and writes
canonical COCO with 0-based category ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RawBox:
    label: str
    bbox: list[float] | None
    """COCO xywh in pixels; None for a classification label."""
    where: str | None = None
    """Field or line of the source this came from, for error messages."""
    normalized: bool = False
    """bbox is in fractions of the image size (YOLO), converted once the size is known."""
    point: list[float] | None = None
    """[x, y] in pixels for a point annotation (then bbox is None)."""


@dataclass
class RawImage:
    file_name: str
    width: int | None = None
    height: int | None = None
    boxes: list[RawBox] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    source_id: Any = None
    where: str | None = None


@dataclass
class RawSplit:
    image_root: Path
    images: list[RawImage]
    file: Path
    """The annotation file (or folder) errors name."""


@dataclass
class RawDataset:
    task: str
    classes: list[str]
    """Foreign class names in their source order."""
    splits: dict[str, RawSplit]
