"""The options of wt-yolo fit: the shared `--train.*` section mapped onto Ultralytics, and Ultralytics' own.

What every trainer has (epochs, batch, workers, imgsz, lr, seed, patience,
freeze) is the shared `--train.*` section (`wt_core.train_args.TrainArgs`,
mapped here by `SHARED`). `UltralyticsArgs` lists the rest of Ultralytics'
train arguments under their own names with
Ultralytics' defaults (a test keeps them equal to `ultralytics/cfg/default.yaml`),
so `--print_config` shows every value a run will use and a mistyped key is
refused with the closest name. The few that wildtrain's small-data defaults may
choose (`wt_yolo.small_data`) default to None, "not set", so a value set
explicitly always wins. The keys wt-yolo sets itself (model, data,
project, name, resume, save, exist_ok) are not listed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from wt_core.train_args import TrainArgs

TRAIN = TrainArgs(epochs=100, batch=16, workers=8, imgsz=640, lr=0.01, seed=0, patience=100, freeze=None)
"""wt-yolo's defaults of the shared `--train.*` section: Ultralytics' own (a test keeps them equal)."""
SHARED = {"epochs": "epochs", "batch": "batch", "workers": "workers", "imgsz": "imgsz", "lr0": "lr", "seed": "seed",
          "patience": "patience", "freeze": "freeze"}
"""Ultralytics' train argument -> the shared `--train.*` key that sets it."""


@dataclass
class UltralyticsArgs:
    """Ultralytics train arguments (https://docs.ultralytics.com/modes/train/#train-settings)."""

    time: float | None = None
    """Maximum hours to train; overrides epochs when set."""
    save_period: int = -1
    """Also save a checkpoint every N epochs (disabled below 1)."""
    cache: bool | str = False
    """Cache images in RAM (true or 'ram') or on 'disk'."""
    pretrained: bool | str = True
    """Start from pretrained weights (when the model has them), or load weights from this path."""
    optimizer: str = "auto"
    """SGD, MuSGD, Adam, Adamax, AdamW, NAdam, RAdam, RMSProp or auto."""
    deterministic: bool = True
    """Deterministic operations (reproducible, may be slower)."""
    single_cls: bool = False
    """Train every class as one class."""
    rect: bool = False
    """Rectangular batches."""
    cos_lr: bool = False
    """Cosine learning-rate schedule."""
    close_mosaic: int | None = None
    """Turn mosaic augmentation off for the last N epochs (unset: 10, or 10 % of the epochs on a small split)."""
    amp: bool | str = True
    """Mixed precision: true/'fp16', 'bf16', or false/'fp32' (CPU trains in fp32 anyway)."""
    fraction: float = 1.0
    """Fraction of the training images to use."""
    profile: bool = False
    """Profile ONNX/TensorRT speeds during training."""
    multi_scale: float = 0.0
    """Multi-scale training range, as a fraction of imgsz."""
    compile: bool | str = False
    """torch.compile the model (true, or a mode name)."""
    val: bool = True
    """Validate after every epoch (the last epoch is always validated)."""
    plots: bool = True
    """Save training plots."""
    iou: float = 0.7
    """IoU threshold of the NMS used in validation during training."""
    max_det: int = 300
    """Maximum detections per image in validation during training."""
    lrf: float = 0.01
    """Final learning rate as a fraction of lr0."""
    momentum: float = 0.937
    """SGD momentum or Adam beta1."""
    weight_decay: float = 0.0005
    """Weight decay."""
    warmup_epochs: float | None = None
    """Warm-up epochs, fractions allowed (unset: 3, or at most 10 % of the run on a small split)."""
    warmup_momentum: float = 0.8
    """Initial momentum during warm-up."""
    warmup_bias_lr: float = 0.1
    """Bias learning rate during warm-up."""
    box: float = 7.5
    """Box loss gain."""
    cls: float = 0.5
    """Classification loss gain."""
    cls_pw: float = 0.0
    """Class weight power against class imbalance (0 off, 1 full inverse frequency)."""
    dfl: float = 1.5
    """Distribution focal loss gain."""
    nbs: int | None = None
    """Nominal batch size, gradients accumulate to it (unset: 64, or the batch on a small split)."""
    hsv_h: float = 0.015
    """Hue augmentation (fraction)."""
    hsv_s: float = 0.7
    """Saturation augmentation (fraction)."""
    hsv_v: float = 0.4
    """Brightness augmentation (fraction)."""
    degrees: float = 0.0
    """Rotation augmentation (+/- degrees)."""
    translate: float = 0.1
    """Translation augmentation (+/- fraction)."""
    scale: float = 0.5
    """Scale augmentation (+/- gain)."""
    shear: float = 0.0
    """Shear augmentation (+/- degrees)."""
    perspective: float = 0.0
    """Perspective augmentation (fraction)."""
    flipud: float | None = None
    """Vertical flip probability (unset: 0, or 0.5 on a small split: aerial images have no up)."""
    fliplr: float = 0.5
    """Horizontal flip probability."""
    bgr: float = 0.0
    """RGB/BGR channel swap probability."""
    mosaic: float = 1.0
    """Mosaic augmentation probability."""
    mixup: float = 0.0
    """MixUp augmentation probability."""
    cutmix: float = 0.0
    """CutMix augmentation probability."""
    bn_momentum: float | None = None
    """wt-yolo's, not an Ultralytics argument: the BatchNorm momentum of the model in training (Ultralytics
    builds every model with 0.03; unset: 0.03, or up to 0.3 on a split of few batches an epoch, so the
    statistics the model validates with follow it; `wt_core.small_data`)."""

    rot90: float | None = None
    """wt-yolo's: probability of turning a training view by 90 degrees (with the flips, all eight ways a view of
    the ground can lie; `wt_yolo.rot90`). Unset: 0."""
    ema_decay: float | None = None
    """wt-yolo's: the most weight the average of the weights (EMA) gives its past, Ultralytics' 0.9999 (an
    average over about 10,000 weight updates; `ModelEMA`). Unset: Ultralytics'."""
    ema_tau: float | None = None
    """wt-yolo's: the number of weight updates over which the EMA's weight on its past ramps up, Ultralytics'
    2000. Unset: Ultralytics'."""

    def __post_init__(self) -> None:
        from wt_core.errors import BadInput

        if self.rot90 is not None and not 0 <= self.rot90 <= 1:
            raise BadInput(f"must be from 0 to 1, got {self.rot90}", None, "ultralytics.rot90")
        for name in ("bn_momentum", "ema_decay"):
            v = getattr(self, name)
            if v is not None and not 0 < v < 1:
                raise BadInput(f"must be above 0 and below 1, got {v}", None, f"ultralytics.{name}")
        if self.ema_tau is not None and not self.ema_tau > 0:
            raise BadInput(f"must be above 0, got {self.ema_tau}", None, "ultralytics.ema_tau")

    def to_train_kwargs(self) -> dict:
        """The keyword arguments of `YOLO.train` (None values left out, so Ultralytics keeps its own)."""
        return {k: v for k, v in asdict(self).items() if v is not None and k not in OURS}


OURS = frozenset({"bn_momentum", "rot90", "ema_decay", "ema_tau"})
"""Fields of the `--ultralytics.*` section that wt-yolo applies itself (Ultralytics has no such argument)."""




@dataclass
class YoloTrainArgs(UltralyticsArgs):
    """Every train argument a fit hands Ultralytics: the shared section's under Ultralytics' names, and the rest."""

    epochs: int = 100
    patience: int = 100
    batch: int | float = 16
    imgsz: int = 640
    workers: int = 8
    seed: int = 0
    freeze: int | None = None
    lr0: float = 0.01

    @classmethod
    def of(cls, train: TrainArgs, u: UltralyticsArgs) -> YoloTrainArgs:
        """The shared section and the pass-through as one set of Ultralytics arguments."""
        shared = {k: getattr(train, v) for k, v in SHARED.items()}
        if shared["freeze"] == 0:
            shared["freeze"] = None
        if shared["lr0"] is None:
            shared["lr0"] = TRAIN.lr
        return cls(**{f.name: getattr(u, f.name) for f in fields(UltralyticsArgs)}, **shared)
