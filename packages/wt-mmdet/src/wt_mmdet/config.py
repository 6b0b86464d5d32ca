"""Model presets, user config files, and the mmengine Config a command runs.

A model is a preset name (a config file shipped in `wt_mmdet/presets/`, built
on MMDetection's own configs with a small backbone and no pretrained init) or
the path of any MMDetection config file. WildTrain then sets what comes from
the manifest and the command's options: the datasets (the cached COCO view,
classes as `metainfo`), `num_classes` of every head, the shared `--train.*`
section (epochs, batch, workers, imgsz, lr, seed, freeze as the backbone's
frozen stages; `OWNED`), `--mmdet.*` (schedule, optimizer), hooks and work
directory. `cfg_options` (dotted keys, as mmdet's
`--cfg-options`) are merged last.
"""

from __future__ import annotations

import difflib
import uuid
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from wt_core.errors import BadInput
from wt_core.train_args import TrainArgs, refuse_owned

from wt_mmdet.distributed import Launcher

PRESETS_DIR = Path(__file__).parent / "presets"
CONFIG_SUFFIXES = (".py", ".yaml", ".yml", ".json")


TRAIN = TrainArgs(epochs=12, batch=2, workers=2, imgsz=640, lr=None, seed=0, patience=0, freeze=None)
"""wt-mmdet's defaults of the shared `--train.*` section (lr, freeze None: the model config's own)."""
OWNED = {"train_cfg.max_epochs": "train.epochs", "train_dataloader.batch_size": "train.batch",
         "train_dataloader.num_workers": "train.workers", "val_dataloader.num_workers": "train.workers",
         "optim_wrapper.optimizer.lr": "train.lr", "randomness.seed": "train.seed",
         "model.backbone.frozen_stages": "train.freeze"}
"""MMDetection config keys the shared section sets: refused in --cfg_options (one way to set each value)."""


@dataclass
class MmdetArgs:
    """MMDetection's own training options (the shared ones are --train.*); None keeps the model config's value."""

    optimizer: Literal["preset", "SGD", "AdamW"] = "preset"
    """The optimizer; 'preset' keeps the model config's."""
    weight_decay: float | None = None
    """Weight decay (None: the config's, or 1e-4 for SGD / 0.05 for AdamW)."""
    momentum: float = 0.9
    """SGD momentum (when --mmdet.optimizer SGD)."""
    scheduler: Literal["step", "cosine", "constant"] = "step"
    """After warmup: step (x0.1 at 2/3 and 11/12 of the epochs), cosine, or constant."""
    warmup_iters: int | None = None
    """Linear warmup iterations, 0 none (unset: 100, or at most 10 % of the run's iterations)."""
    grad_clip: float | None = None
    """Clip the gradient norm to this (None: the config's; 0: no clipping)."""
    amp: bool = False
    """Mixed precision (needs a GPU)."""
    val_interval: int = 1
    """Validate (and keep the best checkpoint) every this many epochs."""
    launcher: Launcher = "auto"
    """Several processes or nodes (mmengine's launcher): 'auto' is 'pytorch' under torchrun, else 'none';
    'slurm' under srun (GPUs). --train.batch is per process."""
    norm_momentum: float | None = None
    """The momentum of every BatchNorm layer (SyncBN too) in training: the weight of each batch in the running
    statistics the model validates and predicts with (unset: the model config's, 0.1 in the presets, raised
    up to 0.3 on a split of few batches an epoch so those statistics follow the model; `wt_core.small_data`)."""

    def __post_init__(self) -> None:
        if self.val_interval < 1:
            raise BadInput(f"must be at least 1, got {self.val_interval}", None, "mmdet.val_interval")
        if self.norm_momentum is not None and not 0 < self.norm_momentum < 1:
            raise BadInput(f"must be above 0 and below 1, got {self.norm_momentum}", None, "mmdet.norm_momentum")


@dataclass
class MmdetTrainArgs(MmdetArgs):
    """Every training option a fit maps onto the Config: the shared section's and MMDetection's own."""

    epochs: int = 12
    batch: int = 2
    imgsz: int = 640
    lr: float | None = None
    workers: int = 2
    seed: int = 0
    patience: int = 0
    frozen_stages: int | None = None

    @classmethod
    def of(cls, train: TrainArgs, m: MmdetArgs) -> MmdetTrainArgs:
        """The shared section and MMDetection's own as one set (freeze 0 is mmdet's frozen_stages -1)."""
        if not isinstance(train.batch, int) or train.batch < 1:
            raise BadInput(f"wt-mmdet trains on a whole number of images per batch, got {train.batch}", None,
                           "train.batch")
        frozen = None if train.freeze is None else (train.freeze or -1)
        return cls(**{f.name: getattr(m, f.name) for f in fields(MmdetArgs)}, epochs=train.epochs,
                   batch=train.batch, imgsz=train.imgsz, lr=train.lr, workers=train.workers, seed=train.seed,
                   patience=train.patience, frozen_stages=frozen)


def presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.py") if not p.stem.startswith("_"))


def resolve_model(model: str) -> tuple[Path, bool]:
    """(config file, is_preset) for a preset name or a config path; unknown names get suggestions."""
    p = Path(model).expanduser()
    if p.suffix in CONFIG_SUFFIXES or p.exists():
        if not p.is_file():
            raise BadInput("config file not found", p, "model")
        return p.absolute(), False
    names = presets()
    if model in names:
        return PRESETS_DIR / f"{model}.py", True
    close = difflib.get_close_matches(model, names, n=3, cutoff=0.4)
    hint = f"did you mean {' or '.join(close)}?" if close else f"presets: {', '.join(names)}"
    raise BadInput(f"unknown model preset {model!r}; {hint} (or give an MMDetection config file)", None, "model")


def load_config(path: Path, field: str = "model"):
    """An mmengine Config from a file; a broken file is one line naming it (and the line, for syntax errors)."""
    from mmengine.config import Config

    from wt_mmdet.compat import patch_config_lookup

    patch_config_lookup()
    try:
        return Config.fromfile(str(path))
    except SyntaxError as e:
        inner = e.__context__ if isinstance(e.__context__, SyntaxError) else e
        line = getattr(inner, "lineno", None)
        where = f"{field}, line {line}" if line else field
        raise BadInput(f"syntax error in config file: {getattr(inner, 'msg', None) or e}", path, where) from None
    except BadInput:
        raise
    except Exception as e:  # mmengine raises many kinds for broken configs
        raise BadInput(f"cannot read config file: {' '.join(str(e).split())[:300]}", path, field) from None


def check_cfg_options(cfg, options: dict[str, Any] | None) -> None:
    """Refuse an override of a key the shared `--train.*` section sets, and one whose parent key does not exist
    (mmengine would silently add it), with the closest name."""
    refuse_owned("cfg_options", options or {}, OWNED)
    for key in options or {}:
        node, path = getattr(cfg, "_cfg_dict", cfg), []
        for part in str(key).split(".")[:-1]:
            path.append(part)
            if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                names = list(node) if isinstance(node, dict) else []
                close = difflib.get_close_matches(part, names, n=1)
                hint = f"; did you mean {'.'.join(path[:-1] + [close[0]])}?" if close else ""
                raise BadInput(f"the model config has no key {'.'.join(path)!r}{hint}", None, f"cfg_options.{key}")


def set_num_classes(node: Any, n: int, key: str = "") -> int:
    """Set `num_classes` in every head of a model config (not the class-agnostic RPN); returns how many."""
    count = 0
    if isinstance(node, dict):
        if "num_classes" in node and key != "rpn_head":
            node["num_classes"] = n
            count += 1
        for k, v in node.items():
            count += set_num_classes(v, n, k)
    elif isinstance(node, (list, tuple)):
        for v in node:
            count += set_num_classes(v, n, key)
    return count


def train_pipeline(imgsz: int) -> list[dict]:
    return [dict(type="LoadImageFromFile", backend_args=None),
            dict(type="LoadAnnotations", with_bbox=True),
            dict(type="Resize", scale=(imgsz, imgsz), keep_ratio=True),
            dict(type="RandomFlip", prob=0.5),
            dict(type="PackDetInputs")]


def test_pipeline(imgsz: int, with_annotations: bool = True) -> list[dict]:
    steps = [dict(type="LoadImageFromFile", backend_args=None),
             dict(type="Resize", scale=(imgsz, imgsz), keep_ratio=True)]
    if with_annotations:
        steps.append(dict(type="LoadAnnotations", with_bbox=True))
    steps.append(dict(type="PackDetInputs",
                      meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")))
    return steps


def dataset_cfg(ann_file: Path, image_root: Path, classes: list[str], pipeline: list[dict], test_mode: bool) -> dict:
    return dict(type="CocoDataset", data_root="", ann_file=str(ann_file), data_prefix=dict(img=f"{image_root}/"),
                metainfo=dict(classes=tuple(classes)), filter_cfg=dict(filter_empty_gt=False, min_size=0),
                pipeline=pipeline, test_mode=test_mode, backend_args=None)


def loader_cfg(dataset: dict, batch: int, workers: int, train: bool) -> dict:
    cfg = dict(batch_size=batch, num_workers=workers, persistent_workers=workers > 0,
               sampler=dict(type="DefaultSampler", shuffle=train), dataset=dataset)
    if train:
        cfg["batch_sampler"] = dict(type="AspectRatioBatchSampler")
    else:
        cfg["drop_last"] = False
    return cfg


def coco_metric(ann_file: Path, outfile_prefix: Path | None = None) -> dict:
    cfg = dict(type="CocoMetric", ann_file=str(ann_file), metric="bbox", format_only=False, backend_args=None)
    if outfile_prefix is not None:
        cfg["outfile_prefix"] = str(outfile_prefix)
    return cfg


def user_pipeline(cfg, loader: str) -> list | None:
    """The pipeline a user's config gives a dataloader, if any (presets always use ours)."""
    try:
        return list(cfg[loader]["dataset"]["pipeline"])
    except (KeyError, TypeError):
        return None


def _optimizer(cfg, t: MmdetTrainArgs) -> None:
    ow = cfg.optim_wrapper
    if t.optimizer != "preset":
        opt: dict[str, Any] = dict(type=t.optimizer)
        if t.optimizer == "SGD":
            opt.update(lr=t.lr or 0.01, momentum=t.momentum,
                       weight_decay=1e-4 if t.weight_decay is None else t.weight_decay)
        else:
            opt.update(lr=t.lr or 0.001, weight_decay=0.05 if t.weight_decay is None else t.weight_decay)
        ow.optimizer = opt
    else:
        if t.lr is not None:
            ow.optimizer.lr = t.lr
        if t.weight_decay is not None:
            ow.optimizer.weight_decay = t.weight_decay
    if t.grad_clip is not None:
        ow.clip_grad = dict(max_norm=t.grad_clip, norm_type=2) if t.grad_clip > 0 else None
    if t.amp:
        ow.type = "AmpOptimWrapper"
        ow.loss_scale = "dynamic"


def schedule(t: MmdetTrainArgs) -> list[dict]:
    out: list[dict] = []
    if (t.warmup_iters if t.warmup_iters is not None else 100) > 0:
        out.append(dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=t.warmup_iters if t.warmup_iters is not None else 100))
    if t.scheduler == "step":
        milestones = sorted({m for m in (round(t.epochs * 2 / 3), round(t.epochs * 11 / 12)) if 0 < m < t.epochs})
        if milestones:
            out.append(dict(type="MultiStepLR", by_epoch=True, begin=0, end=t.epochs, milestones=milestones,
                            gamma=0.1))
    elif t.scheduler == "cosine":
        out.append(dict(type="CosineAnnealingLR", by_epoch=True, begin=0, end=t.epochs, T_max=t.epochs,
                        eta_min_ratio=0.05, convert_to_iter_based=True))
    if not out:
        out.append(dict(type="ConstantLR", factor=1.0, by_epoch=True, begin=0, end=t.epochs))
    return out


def own_visualizer(cfg, name: str) -> None:
    """A visualizer of this run's own: mmengine keeps one global instance per name, and mmdet's configs all
    say 'visualizer', so a second Runner in one process would write into the first one's directory."""
    if cfg.get("visualizer"):
        cfg.visualizer.name = name


def fit_config(cfg, *, is_preset: bool, classes: list[str], train: tuple[Path, Path], val: tuple[Path, Path] | None,
               t: MmdetTrainArgs, work_dir: Path, cfg_options: dict[str, Any] | None):
    """The Config `fit` hands to the Runner (changed in place and returned)."""
    if set_num_classes(cfg.model, len(classes)) == 0:
        raise BadInput("the model config has no head with num_classes", cfg.filename, "model")
    pre = cfg.model.get("data_preprocessor")
    if isinstance(pre, dict) and pre.get("pad_size_divisor", 1) < 32:
        pre["pad_size_divisor"] = 32  # RTMDet's recipe pads in its pipeline; ours resizes, so the batch pads
    if t.frozen_stages is not None and "backbone" in cfg.model:
        cfg.model.backbone.frozen_stages = t.frozen_stages
    cfg.default_scope = cfg.get("default_scope", "mmdet")
    cfg.work_dir = str(work_dir)
    own_visualizer(cfg, f"wt-mmdet-fit-{uuid.uuid4().hex}")
    tp = (None if is_preset else user_pipeline(cfg, "train_dataloader")) or train_pipeline(t.imgsz)
    vp = (None if is_preset else user_pipeline(cfg, "val_dataloader")) or test_pipeline(t.imgsz)
    cfg.train_dataloader = loader_cfg(dataset_cfg(*train, classes, tp, False), t.batch, t.workers, True)
    cfg.train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=t.epochs, val_interval=t.val_interval)
    if val is not None:
        cfg.val_dataloader = loader_cfg(dataset_cfg(*val, classes, vp, True), 1, t.workers, False)
        cfg.val_evaluator = coco_metric(val[0])
        cfg.val_cfg = dict(type="ValLoop")
    else:
        cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    _optimizer(cfg, t)
    cfg.param_scheduler = schedule(t)
    hooks = dict(cfg.get("default_hooks") or {})
    hooks["checkpoint"] = dict(type="CheckpointHook", interval=1, max_keep_ckpts=2, by_epoch=True,
                               save_best="coco/bbox_mAP" if val is not None else None, rule="greater")
    hooks["logger"] = dict(type="LoggerHook", interval=10)  # (--train.patience: the harness, wt_mmdet.hooks)
    cfg.default_hooks = hooks
    if is_preset:
        cfg.custom_hooks = []  # RTMDet's EMA and pipeline switch belong to its 300-epoch COCO recipe
    cfg.randomness = dict(seed=t.seed, deterministic=False)
    cfg.load_from = None
    cfg.resume = False
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=16)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    return cfg


def eval_config(cfg, *, classes: list[str], split: tuple[Path, Path], imgsz: int, work_dir: Path,
                outfile_prefix: Path, workers: int = 0):
    """The Config `test` runs: the split as test set, CocoMetric dumping its results."""
    cfg.work_dir = str(work_dir)
    own_visualizer(cfg, f"wt-mmdet-test-{uuid.uuid4().hex}")
    cfg.test_dataloader = loader_cfg(dataset_cfg(*split, classes, test_pipeline(imgsz), True), 1, workers, False)
    cfg.test_evaluator = coco_metric(split[0], outfile_prefix)
    cfg.test_cfg = dict(type="TestLoop")
    cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = None
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.param_scheduler = None
    cfg.load_from = None
    cfg.resume = False
    hooks = dict(cfg.get("default_hooks") or {})
    hooks.pop("checkpoint", None)
    cfg.default_hooks = hooks
    cfg.custom_hooks = []
    return cfg
