"""Option sections of `wt-registry register` (nested dataclasses: `--slicing.tile 640`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal


@dataclass
class Slicing:
    """Sliced inference on full-size images: tiles, overlap, batching, the merge across tiles."""

    tile: int = 640
    """Tile size in pixels; 0 predicts each image whole (resized to the input size)."""
    overlap: float = 0.2
    """Overlap of neighbouring tiles, as a fraction of the tile size."""
    batch: int = 8
    """Tiles per forward pass."""
    merge: Literal["nms", "greedy"] = "nms"
    """How boxes several tiles found of one animal become one: the best (nms) or their union (greedy)."""
    merge_iou: float = 0.5
    """Overlap above which two boxes of one class in different tiles are one animal."""
    merge_metric: Literal["ios", "iou"] = "ios"
    """Overlap measure: intersection over the smaller box (ios) or over the union (iou)."""

    def __post_init__(self) -> None:
        if self.tile < 0:
            raise ValueError(f"slicing.tile must be 0 (off) or positive, got {self.tile}")
        if not 0 <= self.overlap < 1:
            raise ValueError(f"slicing.overlap must be in [0, 1), got {self.overlap}")
        if self.batch < 1:
            raise ValueError(f"slicing.batch must be positive, got {self.batch}")
        if not 0 < self.merge_iou <= 1:
            raise ValueError(f"slicing.merge_iou must be in (0, 1], got {self.merge_iou}")

    def record(self) -> dict:
        return asdict(self)


@dataclass
class Thresholds:
    """Score and NMS thresholds of the detector (a --calibration manifest sets conf when conf is not given)."""

    conf: float | None = None
    """Minimum detector score of a box (default: the calibrated threshold, else 0.25)."""
    iou: float = 0.7
    """IoU threshold of the NMS within each tile."""
    max_det: int = 300
    """Maximum boxes per image, after merging."""
    imgsz: int | None = None
    """Network input size (default: the run's training size)."""

    def __post_init__(self) -> None:
        if self.conf is not None and not 0 <= self.conf <= 1:
            raise ValueError(f"thresholds.conf must be in [0, 1], got {self.conf}")
        if not 0 < self.iou <= 1:
            raise ValueError(f"thresholds.iou must be in (0, 1], got {self.iou}")
        if self.max_det < 1:
            raise ValueError(f"thresholds.max_det must be positive, got {self.max_det}")


@dataclass
class Relabel:
    """How the second-stage classifier re-labels the detector's boxes."""

    background: str = "background"
    """The classifier's class that means 'no animal' (boxes it wins are dropped)."""
    keep_background: bool = False
    """Keep boxes the classifier calls background (labelled background)."""
    crop_margin: float = 0.0
    """Grow each box by this fraction of its size on each side before cropping."""
    batch: int = 32
    """Crops per classifier forward pass."""

    def __post_init__(self) -> None:
        if not 0 <= self.crop_margin <= 1:
            raise ValueError(f"relabel.crop_margin must be in [0, 1], got {self.crop_margin}")
        if self.batch < 1:
            raise ValueError(f"relabel.batch must be positive, got {self.batch}")
