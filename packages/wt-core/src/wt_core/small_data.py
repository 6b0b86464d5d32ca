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


def _warmup_in_updates(p: Plan, names: dict[str, str], defaults: dict[str, Any], explicit: dict[str, Any]) -> None:
    name = names.get("warmup_updates")
    if not name or name in explicit or p.updates is None:
        return
    default = int(defaults.get(name) or 0)
    cap = max(1, round(WARMUP_SHARE * p.updates))
    if default > cap:
        p.settings[name] = Choice(cap, default, f"a {default}-update warm-up is {default / max(p.updates, 1):.0%} of "
                                                f"the run's {p.updates} updates; kept to {WARMUP_SHARE:.0%} ({cap})")
