"""Option sections of `wt-registry register` (nested dataclasses: `--slicing.tile 640`)."""

from __future__ import annotations

from dataclasses import dataclass

from wt_core.ranges import PositiveUnit, UnitInterval, check_fields
from wt_core.slicing import Slicing

__all__ = ["Relabel", "Slicing", "Thresholds"]


@dataclass
class Thresholds:
    """Score and NMS thresholds of the detector and its input size (`register --conf --iou --max_det --imgsz`)."""

    conf: UnitInterval | None = None
    """Minimum detector score of a box (default: the calibrated threshold, else 0.25)."""
    iou: PositiveUnit = 0.7
    """IoU threshold of the NMS within each tile."""
    max_det: int = 300
    """Maximum boxes per image, after merging."""
    imgsz: int | None = None
    """Network input size (default: the run's training size)."""

    def __post_init__(self) -> None:
        check_fields(self)  # given as --conf, --iou
        if self.max_det < 1:
            raise ValueError(f"max_det must be positive, got {self.max_det}")


@dataclass
class Relabel:
    """How the second-stage classifier re-labels the detector's boxes."""

    background: str = "background"
    """The classifier's class that means 'no animal' (boxes it wins are dropped)."""
    keep_background: bool = False
    """Keep boxes the classifier calls background (labelled background)."""
    crop_margin: UnitInterval | None = None
    """Grow each box by this fraction of its size on each side before cropping; default: as the classifier's
    training crops were cut (half of `wt-data crops --padding`), else 0."""
    batch: int = 32
    """Crops per classifier forward pass."""

    def __post_init__(self) -> None:
        check_fields(self, "relabel")
        if self.batch < 1:
            raise ValueError(f"relabel.batch must be positive, got {self.batch}")
