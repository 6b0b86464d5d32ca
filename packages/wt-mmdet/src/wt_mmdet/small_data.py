"""wt-mmdet's share of the small-data defaults (`wt_core.small_data`): the warm-up counted in iterations.

MMDetection trains without gradient accumulation, so the nominal batch does not
apply; its linear warm-up is 100 iterations, which on 26 tiles at batch 2 and
12 epochs (156 iterations) is most of the run. `--mmdet.warmup_iters` unset
(None) lets the policy keep it to 10 % of the run's iterations; a value set
explicitly wins; `--defaults mmdet` keeps MMDetection's 100.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from wt_core import console
from wt_core.small_data import Plan, plan

from wt_mmdet.config import MmdetTrainArgs

log = console.get_logger("wt-mmdet")
Defaults = Literal["wildtrain", "mmdet"]
NAMES = {"warmup_updates": "warmup_iters"}
MMDET_DEFAULTS = {"warmup_iters": 100}


def apply_small_data_policy(t: MmdetTrainArgs, train_images: int, defaults: Defaults = "wildtrain"
                            ) -> tuple[MmdetTrainArgs, Plan]:
    """The training options with the warm-up filled in, and the plan (printed on stderr)."""
    explicit = {k: getattr(t, k) for k in NAMES.values() if getattr(t, k) is not None}
    p = plan(train_images, t.batch, t.epochs, names=NAMES, defaults=MMDET_DEFAULTS, explicit=explicit,
             policy=defaults, framework="mmdet")
    p.announce(log)
    values = {**MMDET_DEFAULTS, **{k: c.value for k, c in p.settings.items()}, **explicit}
    return replace(t, **values), p
