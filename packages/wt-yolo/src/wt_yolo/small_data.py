"""wt-yolo's small-data defaults: `wt_core.small_data` mapped onto Ultralytics' train arguments.

The arguments the policy may choose (`nbs`, `warmup_epochs`, `close_mosaic`,
`flipud`, and wt-yolo's own `bn_momentum`) default to None in `UltralyticsArgs`, meaning "not set": a value the
user gives, on the command line, in a `--config` file or from Python, is never
changed, even when it equals Ultralytics' default. `--defaults ultralytics`
leaves every one of them to Ultralytics.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Literal

from wt_core import console
from wt_core.manifest import DatasetManifest
from wt_core.small_data import Plan, head_at_input, plan, sides_at_input

from wt_yolo.args import UltralyticsArgs

log = console.get_logger("wt-yolo")
Defaults = Literal["wildtrain", "ultralytics"]
NAMES = {"nominal_batch": "nbs", "warmup_epochs": "warmup_epochs", "close_augment_epochs": "close_mosaic",
         "vertical_flip": "flipud", "norm_momentum": "bn_momentum"}
ULTRALYTICS_DEFAULTS = {"nbs": 64, "warmup_epochs": 3.0, "close_mosaic": 10, "flipud": 0.0}
"""Ultralytics' own defaults of the arguments above (a test keeps them equal to ultralytics/cfg/default.yaml)."""
BN_MOMENTUM = 0.03
"""The BatchNorm momentum Ultralytics gives every model it builds (`initialize_weights`; a test keeps it equal)."""


def apply_small_data_policy(u: UltralyticsArgs, train_images: int, defaults: Defaults = "wildtrain"
                            ) -> tuple[UltralyticsArgs, Plan]:
    """The train arguments with the small-data settings filled in, and the plan (printed on stderr)."""
    if defaults not in ("wildtrain", "ultralytics"):
        from wt_core.errors import BadInput

        raise BadInput(f"defaults must be 'wildtrain' or 'ultralytics', got {defaults!r}", None, "defaults")
    explicit = {k: getattr(u, k) for k in NAMES.values() if getattr(u, k) is not None}
    p = plan(train_images, u.batch, u.epochs, names=NAMES, defaults={**ULTRALYTICS_DEFAULTS, "bn_momentum": BN_MOMENTUM},
             explicit=explicit, policy=defaults, framework="ultralytics")
    p.announce(log)
    return replace(u, **{k: c.value for k, c in p.settings.items()}), p


def measure_size(p: Plan, ds: DatasetManifest, split: str, imgsz: int, model: str) -> None:
    """The training boxes' size at the input size and whether the model's head suits it, printed and recorded
    in the plan (`details.small_data.size`). A model with a stride-4 head is chosen by name
    (`yolo11n-p2.yaml`)."""
    coco = json.loads(ds.artifact_path(ds.splits[split].annotations).read_text())
    p.size = head_at_input(sides_at_input(coco, int(imgsz)), int(imgsz), "-p2" in str(model).lower(), str(model))
    (log.warning if p.size.get("recommend_small_object_head") else log.info)("object size: %s", p.size["why"])
