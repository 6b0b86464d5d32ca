"""The config sections of `wt-cls fit`, as dataclasses (each field becomes `--section.key`).

Light on purpose: nothing here imports torch, so `--help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from wt_core.errors import BadInput
from wt_core.ranges import OpenUnit, UnitBelowOne, check_fields

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
    freeze_backbone: bool = False
    """Train only the head."""
    hidden: list[int] = field(default_factory=list)
    """Sizes of hidden layers in the head (empty: one linear layer)."""
    dropout: UnitBelowOne = 0.0
    """Dropout before each linear layer of the head."""
    input_size: int = 224
    """Square input size in pixels."""
    mean: list[float] | None = None
    """Normalisation mean (RGB, 0-1); default: the backbone's own, else ImageNet's."""
    std: list[float] | None = None
    """Normalisation std (RGB, 0-1); default: the backbone's own, else ImageNet's."""

    def __post_init__(self) -> None:
        if self.input_size < 16:
            raise BadInput(f"input_size must be at least 16, got {self.input_size}", None, "model.input_size")
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
    """Loading, sampling and augmentation (the `--loader.*` section; `--data.*` is its deprecated spelling)."""

    batch_size: int = 32
    """Images per batch (per device)."""
    num_workers: int = 2
    """DataLoader worker processes (0: load in the main process)."""
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
    train_split: str = "train"
    """The split to train on."""
    val_split: str = "val"
    """The split to validate on; when the dataset lacks it, `val_fraction` of train is held out."""
    val_fraction: OpenUnit = 0.2
    """Fraction of the training split held out (stratified, by seed) when there is no validation split."""

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise BadInput(f"batch_size must be at least 1, got {self.batch_size}", None, "loader.batch_size")
        check_fields(self, "loader")


@dataclass
class TrainerConfig:
    """Lightning Trainer settings."""

    max_epochs: int = 10
    """Epochs to train."""
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
    lr: float = 1e-3
    """Learning rate."""
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


@dataclass
class CheckpointConfig:
    """Which checkpoint is best, and when to stop early."""

    monitor: str = "val/f1_macro"
    """The metric that picks the best checkpoint (val/f1_macro, val/acc, val/loss, ...)."""
    mode: Literal["max", "min"] = "max"
    """Whether a larger or a smaller monitored value is better."""
    patience: int = 0
    """Stop after this many epochs without improvement (0: no early stopping)."""



def lightning_device(device: str, devices: int | str) -> tuple[str, int | str | list[int]]:
    """`--device` as Lightning's (accelerator, devices): 'cpu', 'gpu', 'mps', 'auto', or GPU indices '0', '0,1'."""
    text = str(device).strip().lower().removeprefix("cuda:")
    if text and all(part.strip().isdigit() for part in text.split(",")):
        return "gpu", [int(part) for part in text.split(",")]
    if text not in ("cpu", "gpu", "cuda", "mps", "auto", "tpu"):
        raise BadInput(f"unknown device {device!r}: use cpu, gpu, mps, auto, or GPU indices such as 0 or 0,1",
                       None, "device")
    if isinstance(devices, str) and devices.isdigit():
        devices = int(devices)
    return ("gpu" if text == "cuda" else text), devices
