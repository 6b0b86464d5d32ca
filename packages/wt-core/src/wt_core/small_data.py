"""Small-data training: settings that give a detector enough weight updates on a few hundred tiles or less.

Detection frameworks ship defaults made for COCO-sized data. Ultralytics, for
one, accumulates gradients to a nominal batch of 64: with batch 8 and a
26-tile training split (4 batches an epoch) the optimizer steps once every two
epochs, so 160 epochs make about 80 weight updates; a 3-epoch warm-up and
mosaic closed for the last 10 epochs then cover most of a short run.

`plan` decides, from the size of the training split, the batch and the epochs,
which of the framework's settings to change, and says why. The trainer maps
the generic names below onto its own options (wt-yolo: `nbs`, `warmup_epochs`,
`close_mosaic`, `flipud`), passes what the user set explicitly (an explicit
value always wins, even one equal to the default), prints the plan on stderr
and records it in the run manifest (`details.small_data`).

Generic settings:
- `nominal_batch`: the batch gradients are accumulated to before a step.
- `warmup_epochs`: the learning-rate warm-up, in epochs (Ultralytics).
- `warmup_updates`: the learning-rate warm-up, in weight updates (MMEngine's LinearLR `end`); capped at
  10 % of the run's updates whenever it is longer, small split or not (a short run is all warm-up).
- `close_augment_epochs`: final epochs without mosaic-style augmentation.
- `vertical_flip`: probability of flipping a training image upside down.
- `norm_momentum`: how far the running statistics of the normalization layers (BatchNorm) move towards
  each training batch's. A model validates and predicts with those statistics; Ultralytics sets 0.03, so
  about 150 batches pass before the statistics of the untrained start weigh under 1 %. On a split of a few
  batches an epoch that is dozens of epochs in which the model in training finds objects and the same
  model in evaluation finds none (its validation loss even rises). Measured on the realistic survey (24
  tiles, batch 8, 3 batches an epoch, from scratch): the first box at epoch 35-50 at 0.03, at epoch 5 at
  0.3; batch 2 (12 batches an epoch) found it at 11. The momentum is chosen so the statistics follow the
  model within `NORM_FOLLOW_EPOCHS` epochs, at most `NORM_MOMENTUM_MAX`, never below the framework's.
  A framework whose momentum is known only once the model is built (wt-mmdet: each config sets its own)
  leaves it out of `plan`'s defaults and calls `choose_norm_momentum` with the built model's.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

SMALL_UPDATES_PER_EPOCH = 4
"""A training split is small when the framework's defaults make fewer weight updates than this per epoch."""
WARMUP_SHARE = 0.1
"""On a small split the warm-up takes at most this share of the run's updates."""
CLOSE_AUGMENT_SHARE = 0.1
"""On a small split mosaic-style augmentation is off for this share of the epochs (at least one)."""
NORM_FOLLOW_EPOCHS = 2
"""The running statistics of the normalization layers forget their start (to under `NORM_FORGET`) in this
many epochs' batches."""
NORM_FORGET = 0.01
NORM_MOMENTUM_MAX = 0.3
"""The most momentum chosen: above it the statistics are those of the last few batches (measured: 0.3)."""


@dataclass
class Choice:
    """One setting the policy chose: the value used, the framework's default, and why."""

    value: Any
    default: Any
    why: str


@dataclass
class Plan:
    """The small-data settings of one training run."""

    policy: str
    """'wildtrain' (the policy below) or the framework's name ('ultralytics': its own defaults)."""
    train_images: int
    batch: int | None
    epochs: int
    small: bool
    updates_default: int | None
    """Weight updates the framework's defaults would make in `epochs` (None: unknown, e.g. AutoBatch)."""
    updates: int | None
    """Weight updates with the settings used."""
    settings: dict[str, Choice] = field(default_factory=dict)
    """Chosen by the policy, in the framework's option names."""
    framework: str = "framework"
    """The framework's name, as `--defaults` spells its own defaults."""
    explicit: dict[str, Any] = field(default_factory=dict)
    """Set by the user (these always win), in the framework's option names."""
    size: dict[str, Any] | None = None
    """The objects' size at the input size and the detection head for it (`head_at_input`), when measured."""

    def values(self) -> dict[str, Any]:
        """The option values to pass to the framework (explicit ones included)."""
        return {**{k: c.value for k, c in self.settings.items()}, **self.explicit}

    def record(self) -> dict[str, Any]:
        """As the run manifest records it (`details.small_data`)."""
        d = asdict(self)
        d["settings"] = {k: asdict(c) for k, c in self.settings.items()}
        return d

    def announce(self, log: logging.Logger) -> None:
        """Each setting and why, on stderr."""
        size = f"{self.train_images} training images at batch {self.batch}"
        if self.policy != "wildtrain":
            log.info("training defaults: %s's own (%s, %s weight updates)", self.policy, size,
                     self.updates_default if self.updates_default is not None else "?")
            return
        if self.small:
            log.info("small training split (%s): %s weight updates in %d epochs with the framework's defaults, %s "
                     "with wildtrain's (--defaults %s turns this off)", size, self.updates_default, self.epochs,
                     self.updates, self.framework)
        elif not self.settings:
            log.info("training defaults: %s is not a small split (%s weight updates per epoch): the framework's "
                     "defaults are kept", size, _per_epoch(self.updates_default, self.epochs))
            return
        else:
            log.info("training defaults (%s): wildtrain's, --defaults %s turns them off", size, self.framework)
        for name, c in self.settings.items():
            log.info("  %s = %s (default %s): %s", name, c.value, c.default, c.why)
        for name, v in self.explicit.items():
            log.info("  %s = %s: set explicitly, kept", name, v)


def _per_epoch(updates: int | None, epochs: int) -> str:
    return "?" if updates is None else f"{updates / max(epochs, 1):.1f}"


def updates_in(n_images: int, batch: int, nominal_batch: int, epochs: int) -> int:
    """Weight updates in `epochs`: one per `round(nominal/batch)` batches, batches counted across epochs."""
    accumulate = max(round(nominal_batch / batch), 1)
    batches = math.ceil(n_images / batch) * epochs
    return batches // accumulate


def plan(n_train: int, batch: int | float | None, epochs: int, *, names: dict[str, str], defaults: dict[str, Any],
         explicit: dict[str, Any], policy: str = "wildtrain", framework: str = "framework") -> Plan:
    """The small-data settings for a training split of `n_train` images.

    `names` maps the generic settings (module docstring) to the framework's option names (a generic
    setting it lacks is left out); `defaults` holds the framework's defaults under its names;
    `explicit` the values the user set (never changed).
    """
    int_batch = int(batch) if batch is not None and float(batch) >= 1 and float(batch) == int(batch) else None
    nbs_name = names.get("nominal_batch")
    nominal = explicit.get(nbs_name, defaults.get(nbs_name, 1)) if nbs_name else 1
    updates_default = (updates_in(n_train, int_batch, int(defaults.get(nbs_name, int_batch)) if nbs_name else int_batch,
                                  epochs) if int_batch else None)
    p = Plan(policy=policy, train_images=n_train, batch=int_batch,
             epochs=epochs, small=False, updates_default=updates_default, updates=updates_default,
             framework=framework, explicit={k: v for k, v in explicit.items() if k in names.values()})
    if int_batch is None or updates_default is None:
        return p
    p.small = updates_default is not None and updates_default < SMALL_UPDATES_PER_EPOCH * epochs
    if policy != "wildtrain":
        return p
    choose_norm_momentum(p, names, defaults, explicit, math.ceil(n_train / int_batch))
    if not p.small:
        _warmup_in_updates(p, names, defaults, explicit)
        return p

    def choose(generic: str, value: Any, why: str) -> None:
        name = names.get(generic)
        if name is None or name in explicit:
            return
        p.settings[name] = Choice(value, defaults.get(name), why)

    per_epoch_default = updates_default / max(epochs, 1)
    if nbs_name and nbs_name not in explicit and int(nominal) > int_batch:
        choose("nominal_batch", int_batch,
               f"accumulating {math.ceil(n_train / int_batch)} batches an epoch to a nominal batch of {nominal} "
               f"steps the optimizer {per_epoch_default:.2g} times an epoch; stepping after every batch gives "
               f"{math.ceil(n_train / int_batch)} (weight decay is scaled the same way)")
        nominal = int_batch
    p.updates = updates_in(n_train, int_batch, int(nominal), epochs)
    per_epoch = p.updates / max(epochs, 1)
    warm_name = names.get("warmup_epochs")
    if warm_name and warm_name not in explicit:
        warm_default = float(defaults.get(warm_name) or 0)
        cap = round(WARMUP_SHARE * epochs, 2)
        if warm_default > cap:
            choose("warmup_epochs", cap,
                   f"a {warm_default:g}-epoch warm-up is {warm_default / max(epochs, 1):.0%} of a {epochs}-epoch run; "
                   f"warm-up is kept to {WARMUP_SHARE:.0%} of the updates ({round(cap * per_epoch)} of {p.updates})")
    close_name = names.get("close_augment_epochs")
    if close_name and close_name not in explicit:
        close_default = int(defaults.get(close_name) or 0)
        close = max(1, round(CLOSE_AUGMENT_SHARE * epochs))
        if close_default > close:
            choose("close_augment_epochs", close,
                   f"closing mosaic for the last {close_default} of {epochs} epochs leaves "
                   f"{max(epochs - close_default, 0)} epochs of mosaic on a split that needs every view it can "
                   f"get; it is closed for the last {CLOSE_AUGMENT_SHARE:.0%} ({close})")
    flip_name = names.get("vertical_flip")
    if flip_name and flip_name not in explicit and float(defaults.get(flip_name) or 0) < 0.5:
        choose("vertical_flip", 0.5, "aerial photos have no up: vertical flips double the views of each "
                                     "training tile")
    _warmup_in_updates(p, names, defaults, explicit)
    return p


def batches_to_forget(momentum: float) -> int:
    """Batches after which the running statistics' start weighs under `NORM_FORGET` at this momentum."""
    return math.ceil(math.log(NORM_FORGET) / math.log(1 - momentum)) if 0 < momentum < 1 else 1


def choose_norm_momentum(p: Plan, names: dict[str, str], defaults: dict[str, Any], explicit: dict[str, Any],
                         batches: int) -> Choice | None:
    """The normalization momentum for `batches` batches an epoch, added to the plan's settings (None: the
    framework's is kept: set explicitly, unknown, not the wildtrain policy, or already fast enough)."""
    name = names.get("norm_momentum")
    if p.policy != "wildtrain" or not name or name in explicit or defaults.get(name) is None or batches < 1:
        return None
    default = float(defaults[name])
    follow = 1 - NORM_FORGET ** (1 / (NORM_FOLLOW_EPOCHS * batches))
    value = round(min(NORM_MOMENTUM_MAX, follow), 3)
    if value <= default:
        return None
    slow, fast = batches_to_forget(default), batches_to_forget(value)
    c = p.settings[name] = Choice(value, default, (
        f"the model validates and predicts with its normalization layers' running statistics: at momentum "
        f"{default:g} they forget the untrained start only after {slow} batches, {slow / batches:.0f} epochs of "
        f"{batches} batches, and until then the model finds nothing; at {value:g}, after {fast} batches "
        f"({fast / batches:.1f} epochs)"))
    return c


def _warmup_in_updates(p: Plan, names: dict[str, str], defaults: dict[str, Any], explicit: dict[str, Any]) -> None:
    name = names.get("warmup_updates")
    if not name or name in explicit or p.updates is None:
        return
    default = int(defaults.get(name) or 0)
    cap = max(1, round(WARMUP_SHARE * p.updates))
    if default > cap:
        p.settings[name] = Choice(cap, default, f"a {default}-update warm-up is {default / max(p.updates, 1):.0%} of "
                                                f"the run's {p.updates} updates; kept to {WARMUP_SHARE:.0%} ({cap})")


# ---- the size policy: tile size, input size and the small-object head, from the boxes' sizes ----

SEEN_PX = 16
"""The smallest object side (px, at the input size) a stride-8 head (P3) sees well; below it a stride-4 head
(P2) is chosen."""
CONTEXT = 8
"""A tile holds the 95th-percentile object this many times across, so few objects are cut by a tile edge."""
TILE_SIZES = (256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280)
"""The tile sizes the size policy picks from (multiples of 32, as detectors' strides need)."""
MAX_UPSCALE = 2.0
"""The input size is at most this multiple of the tile size (more costs compute and invents no detail)."""


@dataclass
class SizePlan:
    """Tile size, input size and detection head chosen from the boxes' sizes, each with why."""

    boxes: int
    median_px: float
    """The median box side (the longer one), in source pixels."""
    p95_px: float
    tile: Choice
    imgsz: Choice
    small_object_head: Choice
    """True: a stride-4 head (P2) for objects smaller than `SEEN_PX` at the input size."""

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("tile", "imgsz", "small_object_head"):
            d[k] = asdict(getattr(self, k))
        return d

    def announce(self, log: logging.Logger) -> None:
        log.info("size policy (%d boxes, median side %.0f px, 95th percentile %.0f px):", self.boxes,
                 self.median_px, self.p95_px)
        for name in ("tile", "imgsz", "small_object_head"):
            c = getattr(self, name)
            log.info("  %s = %s: %s", name, c.value, c.why)


def box_sides(boxes: list[list[float]]) -> list[float]:
    """The longer side of each COCO box [x, y, w, h] that has an area."""
    return [max(b[2], b[3]) for b in boxes if b[2] > 0 and b[3] > 0]


def _quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def size_plan(sides: list[float], default_tile: int = 640, max_image_side: int | None = None) -> SizePlan:
    """The tile size and input size for objects with these box sides (source pixels).

    Tile: the smallest of `TILE_SIZES` that holds the 95th-percentile object `CONTEXT` times across (few
    objects cut by an edge, and small tiles give many training views), no larger than the largest image
    side. Input size: the tile size (objects keep their pixel size) unless the median object would be under
    `SEEN_PX`; then the tile is enlarged up to `MAX_UPSCALE` times. A median still under `SEEN_PX` at that
    size asks for a stride-4 head. No boxes: the default tile, at its size.
    """
    if not sides:
        why = "no boxes to measure: the default tile size, at its size"
        return SizePlan(0, 0.0, 0.0, Choice(default_tile, default_tile, why), Choice(default_tile, default_tile, why),
                        Choice(False, False, why))
    med, p95 = _quantile(sides, 0.5), _quantile(sides, 0.95)
    want = CONTEXT * p95
    tile = next((t for t in TILE_SIZES if t >= want), TILE_SIZES[-1])
    tile_why = (f"the smallest tile that holds the 95th-percentile object ({p95:.0f} px) {CONTEXT} times across "
                f"({want:.0f} px), so an edge cuts few objects and the photos give many views")
    if max_image_side is not None and tile > max_image_side:
        fits = [t for t in TILE_SIZES if t <= max_image_side]
        tile = fits[-1] if fits else TILE_SIZES[0]
        tile_why += f"; no larger than the largest image side ({max_image_side} px)"
    scale = 1.0
    if med < SEEN_PX:
        scale = min(MAX_UPSCALE, SEEN_PX / med)
    imgsz = int(math.ceil(tile * scale / 32) * 32)
    at_input = med * imgsz / tile
    if scale == 1.0:
        imgsz_why = (f"the tile size: objects keep their pixel size (median {med:.0f} px, at least the {SEEN_PX} px "
                     f"a stride-8 head sees well)")
    else:
        imgsz_why = (f"{imgsz / tile:.2g}x the tile: the median object ({med:.0f} px) is enlarged to {at_input:.0f} "
                     f"px (a stride-8 head sees objects of {SEEN_PX} px and more; at most {MAX_UPSCALE:g}x)")
    p2 = at_input < SEEN_PX
    head_why = (f"the median object is {at_input:.0f} px at the input size, under the {SEEN_PX} px a stride-8 head "
                f"sees well: a stride-4 (P2) head" if p2 else
                f"the median object is {at_input:.0f} px at the input size: the stride-8 head sees it")
    return SizePlan(len(sides), round(med, 2), round(p95, 2), Choice(tile, default_tile, tile_why),
                    Choice(imgsz, default_tile, imgsz_why), Choice(p2, False, head_why))


def sides_at_input(coco: dict[str, Any], imgsz: int) -> list[float]:
    """Each box's longer side as the detector sees it: scaled as the image's longer side is to `imgsz`."""
    longest = {im["id"]: max(im["width"], im["height"]) for im in coco["images"]}
    return [max(a["bbox"][2], a["bbox"][3]) * imgsz / longest[a["image_id"]] for a in coco["annotations"]
            if a.get("bbox") and a["bbox"][2] > 0 and a["bbox"][3] > 0 and longest.get(a["image_id"])]


def head_at_input(sides: list[float], imgsz: int, small_head: bool, model: str) -> dict[str, Any]:
    """Whether the model's head suits the objects' size at the input size, and why (printed by the trainer,
    recorded in `details.small_data.size`). `small_head`: the model has a stride-4 head."""
    if not sides:
        return {"boxes": 0, "imgsz": imgsz, "model": model, "small_object_head": small_head,
                "why": "no boxes to measure"}
    med = _quantile(sides, 0.5)
    small = med < SEEN_PX
    if small_head:
        why = (f"{model} has a stride-4 head (chosen by name); the median object is {med:.0f} px at {imgsz} px"
               + ("" if small else f", at least the {SEEN_PX} px a stride-8 head sees: the P2 head costs compute "
                                    f"for little"))
    elif small:
        why = (f"the median object is {med:.0f} px at {imgsz} px, under the {SEEN_PX} px a stride-8 head sees "
               f"well: a larger input size or a stride-4 head (--model yolo11n-p2.yaml) should help")
    else:
        why = f"the median object is {med:.0f} px at {imgsz} px: the stride-8 head sees it"
    return {"boxes": len(sides), "imgsz": imgsz, "median_px": round(med, 2), "p95_px": round(_quantile(sides, 0.95), 2),
            "model": model, "small_object_head": small_head, "recommend_small_object_head": small and not small_head,
            "why": why}
