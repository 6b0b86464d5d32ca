"""The options every trainer shares: `--train.*` and `--select.*` (contract section 8).

LitGPT's `TrainArgs` in our tools: the same keys in wt-yolo, wt-mmdet and
wt-cls fit, so a config, a tune search space or a script written for one
trainer reads the same in another. Each trainer gives the section its own
default instance (its framework's defaults, shown by `--print_config`) and
maps the keys onto its framework (Ultralytics' train arguments, an
MMDetection config, a Lightning Trainer, loader and optimizer); its own
section (`--ultralytics.*`, `--mmdet.*` with `--cfg_options`, `--trainer.*`)
passes the rest through. A key of the framework that the shared section owns,
given in a pass-through, is refused with the shared name (`refuse_owned`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from wt_core.errors import BadInput

LOWER_IS_BETTER = ("loss", "error")  # a selection metric whose name ends so is better smaller


@dataclass
class TrainArgs:
    """What every trainer has; a trainer's defaults are its framework's (None: the model config's own)."""

    epochs: int = 10
    """Epochs to train."""
    batch: int | float = 16
    """Images per batch (per device); wt-yolo also takes -1 (AutoBatch) or a fraction of GPU memory."""
    workers: int = 2
    """Data loader worker processes (0: load in the main process)."""
    imgsz: int = 640
    """Input size in pixels (square; detectors resize keeping the aspect ratio)."""
    lr: float | None = None
    """Initial learning rate (None: the optimizer's or the model config's own)."""
    seed: int = 0
    """Random seed (weights, augmentation, sampling, a held-out val split)."""
    patience: int = 0
    """Stop after this many epochs without improvement of the selection metric (0: never)."""
    freeze: int | None = None
    """Keep the start of the network frozen: wt-yolo the first N layers, wt-mmdet N backbone stages, wt-cls the
    whole backbone for any N > 0; 0: nothing frozen (None: the model config's own)."""
    split: str | None = None
    """The split to train on (default 'train', else the only split)."""
    val_split: str | None = None
    """The split to validate on (default 'val', else 'test'; without one, each trainer says what it does)."""

    def __post_init__(self) -> None:
        for name in ("epochs", "imgsz"):
            if getattr(self, name) < 1:
                raise BadInput(f"must be at least 1, got {getattr(self, name)}", None, f"train.{name}")
        for name in ("workers", "seed", "patience"):
            if getattr(self, name) < 0:
                raise BadInput(f"must be 0 or more, got {getattr(self, name)}", None, f"train.{name}")
        if self.batch == 0 or (self.batch < 0 and self.batch != -1):
            raise BadInput(f"must be at least 1 (or -1: AutoBatch), got {self.batch}", None, "train.batch")
        if self.lr is not None and self.lr <= 0:
            raise BadInput(f"must be above 0, got {self.lr}", None, "train.lr")
        if self.freeze is not None and self.freeze < 0:
            raise BadInput(f"must be 0 (nothing frozen) or more, got {self.freeze}", None, "train.freeze")


@dataclass
class SelectArgs:
    """Which validation metric chooses the best weights."""

    metric: str | None = None
    """The metric that picks the best weights (default: the trainer's; see its --help)."""
    mode: Literal["max", "min"] | None = None
    """Whether a larger or a smaller value is better (default: min for a loss or an error, else max)."""


def mode_of(metric: str, mode: str | None = None) -> Literal["max", "min"]:
    """The selection mode: the one given, else min for a loss or an error, else max."""
    if mode is not None:
        return mode  # type: ignore[return-value]
    return "min" if metric.rsplit("/", 1)[-1].endswith(LOWER_IS_BETTER) else "max"


def refuse_owned(section: str, given: dict[str, Any], owned: dict[str, str]) -> None:
    """Refuse (exit 2) a pass-through key that a shared `--train.*` key owns: one way to set each value.

    `given`: the pass-through's keys as the user set them; `owned`: framework key -> shared key."""
    for key in given:
        if key in owned:
            raise BadInput(f"--{section}.{key} is set by --{owned[key]} (the shared training options); give it "
                           f"there only", None, f"{section}.{key}")
