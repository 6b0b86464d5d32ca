"""wt-mmdet's share of the small-data defaults (`wt_core.small_data`): the warm-up counted in iterations, and
the BatchNorm momentum of the model as built.

MMDetection trains without gradient accumulation, so the nominal batch does not
apply; its linear warm-up is 100 iterations, which on 26 tiles at batch 2 and
12 epochs (156 iterations) is most of the run. `--mmdet.warmup_iters` unset
(None) lets the policy keep it to 10 % of the run's iterations; a value set
explicitly wins; `--defaults mmdet` keeps MMDetection's 100.

The BatchNorm momentum is each model config's own (`norm_cfg`; the layers' class default when the config
gives none): the presets' ResNet-18 and RTMDet-tiny build every BatchNorm with 0.1 (RTMDet's config replaces
CSPNeXt's `momentum=0.03` by `dict(type='SyncBN')`). So the policy reads it from the model the Runner built
(`decide_norm_momentum`), raises it on a split of few batches an epoch, and `NormMomentumHook`
(`wt_mmdet.hooks`) sets it before training. `--mmdet.norm_momentum` set explicitly wins; `--defaults mmdet`
keeps the model's. Layers held in eval mode in training (`norm_eval=True`, frozen stages) never update their
statistics, whatever the momentum.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Literal

from wt_core import console
from wt_core.small_data import Plan, choose_norm_momentum, plan

from wt_mmdet.config import MmdetTrainArgs

log = console.get_logger("wt-mmdet")
Defaults = Literal["wildtrain", "mmdet"]
NAMES = {"warmup_updates": "warmup_iters", "norm_momentum": "norm_momentum"}
MMDET_DEFAULTS = {"warmup_iters": 100}
"""MMDetection's defaults known before the model is built (the norm momentum is read from the built model)."""


def apply_small_data_policy(t: MmdetTrainArgs, train_images: int, defaults: Defaults = "wildtrain"
                            ) -> tuple[MmdetTrainArgs, Plan]:
    """The training options with the warm-up filled in, and the plan (announced once the model is built and
    `decide_norm_momentum` has completed it)."""
    explicit = {k: getattr(t, k) for k in NAMES.values() if getattr(t, k) is not None}
    p = plan(train_images, t.batch, t.epochs, names=NAMES, defaults=MMDET_DEFAULTS, explicit=explicit,
             policy=defaults, framework="mmdet")
    values = {**MMDET_DEFAULTS, **{k: c.value for k, c in p.settings.items()}, **explicit}
    return replace(t, **values), p


def batch_norms(model: Any) -> list:
    """Every BatchNorm layer of a model: torch's (SyncBatchNorm included) and mmcv's SyncBN."""
    from torch.nn.modules.batchnorm import _BatchNorm

    kinds: tuple[type, ...] = (_BatchNorm,)
    try:
        from mmcv.ops import SyncBatchNorm as MmcvSyncBN

        kinds += (MmcvSyncBN,)
    except ImportError:  # mmcv without its ops
        pass
    return [m for m in model.modules() if isinstance(m, kinds)]


def built_momentum(layers: list) -> float | None:
    """The momentum the model was built with: the smallest of its BatchNorm layers' (the slowest decides when
    its statistics forget their start); None without BatchNorm or with a cumulative average (momentum None)."""
    momenta = [m.momentum for m in layers]
    return None if not momenta or None in momenta else min(float(x) for x in momenta)


def batches_per_epoch(train_images: int, batch: int, world_size: int = 1) -> int:
    """The batches each process's normalization layers see in an epoch (mmengine's sampler splits the images)."""
    return math.ceil(math.ceil(train_images / max(world_size, 1)) / batch)


def decide_norm_momentum(p: Plan, t: MmdetTrainArgs, model: Any, batches: int) -> float | None:
    """The BatchNorm momentum to train with (None: the model's own), chosen into the plan from the model's
    built momentum; then the whole plan is printed on stderr."""
    layers = batch_norms(model)
    value = t.norm_momentum
    if not layers:
        p.explicit.pop("norm_momentum", None)
        if value is not None:
            log.warning("--mmdet.norm_momentum %g: the model has no BatchNorm layer, nothing to set", value)
        value = None
    elif value is None:
        c = choose_norm_momentum(p, NAMES, {"norm_momentum": built_momentum(layers)}, {}, batches)
        value = None if c is None else float(c.value)
    p.announce(log)
    return value
