"""The config sections of `wt-cls fit`, as dataclasses (each field becomes `--section.key`).

What every trainer has (epochs, batch, workers, input size, lr, seed, patience,
freeze, splits) is the shared `--train.*` section (`wt_core.train_args`), with
wt-cls's defaults in `TRAIN`; best weights are `--select.metric/mode`.

Light on purpose: nothing here imports torch, so `--help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from wt_core.errors import BadInput
from wt_core.ranges import OpenUnit, UnitBelowOne, check_fields
from wt_core.train_args import SelectArgs, TrainArgs

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


@dataclass
class ModelConfig:
    """The network: a timm backbone and a classification head."""

    backbone: str = "resnet18"
    """Any timm model name (`timm.list_models()`), e.g. resnet18, efficientnet_b0, convnext_tiny."""
    pretrained: bool = False
    """Start from the backbone's pretrained weights. Offline: they must be in the Hugging Face cache, or give `weights`."""
    weights: str | None = None
    """A local weights file (.pth, .bin or .safetensors) for the backbone; implies pretrained."""
    hidden: list[int] = field(default_factory=list)
    """Sizes of hidden layers in the head (empty: one linear layer)."""
    dropout: UnitBelowOne = 0.0
    """Dropout before each linear layer of the head."""
    mean: list[float] | None = None
    """Normalisation mean (RGB, 0-1); default: the backbone's own, else ImageNet's."""
    std: list[float] | None = None
    """Normalisation std (RGB, 0-1); default: the backbone's own, else ImageNet's."""

    def __post_init__(self) -> None:
        check_fields(self, "model")
        for name in ("mean", "std"):
            v = getattr(self, name)
            if v is not None and len(v) != 3:
                raise BadInput(f"{name} needs 3 values (RGB), got {len(v)}", None, f"model.{name}")


@dataclass
class LossConfig:
    """The loss and the class-imbalance tools that act on it."""

    name: Literal["ce", "focal"] = "ce"
    """Cross-entropy, or focal loss (down-weights easy examples)."""
    class_weights: Literal["none", "inverse", "effective"] = "none"
    """Per-class weights from the training counts: inverse frequency, or the effective number of samples."""
    beta: OpenUnit = 0.999
    """Beta of the effective number of samples, (1 - beta) / (1 - beta^n)."""
    gamma: float = 2.0
    """Focusing parameter of the focal loss."""
    label_smoothing: UnitBelowOne = 0.0
    """Label smoothing in [0, 1)."""

    def __post_init__(self) -> None:
        check_fields(self, "loss")


@dataclass
class LoaderConfig:
    """Sampling and augmentation (the `--loader.*` section; `--data.*` is its deprecated spelling)."""

    sampler: Literal["none", "weighted"] = "none"
    """`weighted`: draw training images with probability inverse to their class's frequency."""
    augment: Literal["default", "light", "none"] = "default"
    """Training augmentation: default (random resized crop, flip, colour jitter), light (flip only), none."""
    scale_min: float = 0.6
    """Smallest area fraction of the random resized crop (augment=default)."""
    hflip: bool = True
    """Random horizontal flips (augment default or light)."""
    color_jitter: float = 0.2
    """Brightness/contrast/saturation jitter (augment=default; 0 turns it off)."""
    val_fraction: OpenUnit = 0.2
    """Fraction of the training split held out (stratified, by seed) when there is no validation split."""

    def __post_init__(self) -> None:
        check_fields(self, "loader")


@dataclass
class TrainerConfig:
    """Lightning Trainer settings."""

    devices: int | str = "auto"
    """How many devices (or DDP processes on CPU) when --device names a kind (cpu, gpu, auto); GPU indices given
    to --device override it."""
    strategy: str = "auto"
    """auto, ddp, ddp_spawn, fsdp, ... (Lightning's strategies; several GPUs use its DDP)."""
    num_nodes: int = 1
    """Nodes for multi-node DDP (launched by torchrun or SLURM)."""
    precision: str = "32-true"
    """32-true, 16-mixed, bf16-mixed, ..."""
    accumulate_grad_batches: int = 1
    """Batches to accumulate before an optimizer step."""
    gradient_clip_val: float | None = None
    """Clip gradients to this norm (none: no clipping)."""
    deterministic: bool = False
    """Ask torch for deterministic algorithms."""
    log_every_n_steps: int = 10
    """How often step metrics are logged."""
    progress_bar: bool = True
    """A rich progress bar on stderr (when stderr is a terminal)."""


@dataclass
class OptimizerConfig:
    """The optimizer."""

    name: Literal["adamw", "adam", "sgd"] = "adamw"
    """AdamW, Adam or SGD (with Nesterov momentum)."""
    weight_decay: float = 1e-4
    """Weight decay."""
    momentum: float = 0.9
    """SGD momentum."""


@dataclass
class SchedulerConfig:
    """The learning-rate schedule (stepped per epoch)."""

    name: Literal["cosine", "step", "none"] = "cosine"
    """Cosine annealing over max_epochs, step decay, or constant."""
    warmup_epochs: int = 0
    """Linear warm-up epochs before the schedule."""
    step_size: int = 10
    """Epochs between decays (step)."""
    gamma: float = 0.1
    """Decay factor (step)."""


TRAIN = TrainArgs(epochs=10, batch=32, workers=2, imgsz=224, lr=1e-3, seed=0, patience=0, freeze=0)
"""wt-cls's defaults of the shared `--train.*` section."""
SELECT = SelectArgs(metric="val/f1_macro", mode=None)
"""wt-cls's default selection: macro F1 on the val split."""


def check_train(train: TrainArgs) -> None:
    """The shared section as wt-cls takes it: a whole batch, an input of at least 16 pixels."""
    if not isinstance(train.batch, int) or train.batch < 1:
        raise BadInput(f"must be a whole number of images, at least 1, got {train.batch}", None, "train.batch")
    if train.imgsz < 16:
        raise BadInput(f"must be at least 16, got {train.imgsz}", None, "train.imgsz")
