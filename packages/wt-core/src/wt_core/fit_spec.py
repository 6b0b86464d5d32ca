"""What a trainer tells the harness (`wt_core.training`) about itself, and the small rules the harness applies.

`TrainerSpec` (tool, framework, task, the default selection, the standard metric names, which options
may change on --resume), `Select` (the metric that picks the best weights), `EpochRecord` (what `Training.epoch`
answers), the DDP rank, and `pick_splits` (the split to train on and the one to validate on).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from wt_core.errors import BadInput
from wt_core.manifest import ManifestBase

MORE, ANY = "more", "any"  # how an option may change on --resume


@dataclass(frozen=True)
class Select:
    """The metric that selects the best weights, and whether larger (`max`) or smaller (`min`) is better."""

    metric: str
    mode: Literal["max", "min"] = "max"

    def better(self, value: float, than: float | None) -> bool:
        return than is None or (value > than if self.mode == "max" else value < than)


@dataclass
class TrainerSpec:
    """What a trainer tells the harness about itself."""

    tool: str
    framework: Literal["yolo", "mmdet", "cls"]
    task: Literal["detect", "classify"]
    select: Select
    standard: dict[str, str] = field(default_factory=dict)
    """Standard name -> the framework's key for it (e.g. 'mAP50_95': 'mAP50-95')."""
    may_change: dict[str, str] = field(default_factory=dict)
    """Dotted config keys that may differ on --resume: MORE (only a larger number) or ANY."""
    checkpoint_after_epoch: bool = False
    """The framework saves an epoch's checkpoint after the harness has recorded the epoch (Lightning): its
    metrics go to MLflow once a checkpoint holds it (`checkpointed`, the next epoch or `finish`)."""


@dataclass
class EpochRecord:
    epoch: int
    row: dict[str, float]
    is_best: bool
    stop: bool = False
    """`patience` epochs have passed without a better selection metric: the trainer's loop should stop."""


def rank() -> int:
    """This process's global rank under DDP (0 when not distributed)."""
    for key in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return 0


def flat(config: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as dotted keys (an empty section is a value)."""
    if not isinstance(config, dict) or not config:
        return {prefix.rstrip("."): config} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in config.items():
        out.update(flat(v, f"{prefix}{k}."))
    return out


def is_validation_key(key: str) -> bool:
    """Whether a metrics.jsonl key is a validation metric (not a training loss, a learning rate or a time)."""
    return not (key == "epoch" or key == "epoch_s" or key.startswith(("train/", "lr")))


def pick_splits(dataset: ManifestBase, split: str | None, val_split: str | None,
                val_names: tuple[str, ...] = ("val", "test")) -> tuple[str, str | None]:
    """The split to train on (named, else 'train', else the only split) and the one to validate on (named,
    else the first of `val_names` the dataset has, else None: each trainer says what it does without one)."""
    names = list(getattr(dataset, "splits", None) or {})
    for name, opt in ((split, "train.split"), (val_split, "train.val_split")):
        if name is not None and name not in names:
            raise BadInput(f"no split {name!r} (splits: {', '.join(names)})", dataset.path, opt)
    if split is None:
        split = "train" if "train" in names else (names[0] if len(names) == 1 else None)
        if split is None:
            raise BadInput(f"no 'train' split; name one with --train.split (splits: {', '.join(names)})",
                           dataset.path, "splits")
    if val_split is None:
        val_split = next((s for s in val_names if s in names and s != split), None)
    return split, val_split
