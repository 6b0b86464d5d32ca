"""Old spellings of options, read as the new ones for a while (contract section 4, "one vocabulary").

Each rename belongs to a `Deprecation`: the release its old spelling was deprecated in and the release
that removes it. tests/core/test_renames.py fails once the package's version reaches a removal release,
so an old spelling cannot outlive the release that promised to drop it.

`RENAMED` (tool -> command -> {old key: new key}) is every rename in force; "section.*" renames every
key of a section. A rename applies only where the new key is an option of the command and the old one
is not, so an entry is harmless on a command not renamed yet. The table of every option:
docs/contract.md (tools/options_table.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wt_core.errors import BadInput

Table = dict[str, dict[str, dict[str, str]]]  # tool -> command -> {old key: new key}


@dataclass(frozen=True)
class Deprecation:
    """Renames deprecated in one release, accepted with a warning until `removed_in`."""

    deprecated_in: str
    removed_in: str
    renames: Table


DEPRECATIONS: tuple[Deprecation, ...] = (
    Deprecation(deprecated_in="0.1.0", removed_in="0.3.0", renames={
        "wt-yolo": {
            "fit": {"data": "dataset", "ultralytics.device": "device"},
            "val": {"data": "dataset"},
            "predict": {"data": "dataset"},
            "export": {"data": "dataset"},
        },
        "wt-mmdet": {
            "fit": {"data": "dataset"},
            "test": {"data": "dataset", "score_thr": "conf"},
            "predict": {"data": "dataset"},
        },
        "wt-cls": {
            "fit": {"trainer.accelerator": "device", "data.*": "loader.*"},
            "validate": {"batch_size": "batch", "num_workers": "workers", "accelerator": "device"},
            "test": {"batch_size": "batch", "num_workers": "workers", "accelerator": "device"},
            "predict": {"batch_size": "batch"},
        },
        "wt-eval": {
            "detect": {"score": "conf", "max_dets": "max_det", "merge.method": "slicing.merge",
                       "merge.iou": "slicing.merge_iou", "merge.metric": "slicing.merge_metric"},
        },
        "wt-registry": {
            "register": {"thresholds.conf": "conf", "thresholds.iou": "iou", "thresholds.max_det": "max_det",
                         "thresholds.imgsz": "imgsz"},
        },
    }),
    Deprecation(deprecated_in="0.1.0", removed_in="0.3.0", renames={
        # one training vocabulary (a shared --train.* section, --select.* in every trainer) and one way to
        # name a registered model (--model name/VERSION or name@ALIAS)
        "wt-yolo": {
            "fit": {"ultralytics.epochs": "train.epochs", "ultralytics.batch": "train.batch",
                    "ultralytics.workers": "train.workers", "ultralytics.imgsz": "train.imgsz",
                    "ultralytics.lr0": "train.lr", "ultralytics.seed": "train.seed",
                    "ultralytics.patience": "train.patience", "ultralytics.freeze": "train.freeze"},
        },
        "wt-mmdet": {
            "fit": {"train_split": "train.split", "val_split": "train.val_split",
                    "train.frozen_stages": "train.freeze", "train.optimizer": "mmdet.optimizer",
                    "train.weight_decay": "mmdet.weight_decay", "train.momentum": "mmdet.momentum",
                    "train.scheduler": "mmdet.scheduler", "train.warmup_iters": "mmdet.warmup_iters",
                    "train.grad_clip": "mmdet.grad_clip", "train.amp": "mmdet.amp",
                    "train.val_interval": "mmdet.val_interval"},
        },
        "wt-cls": {
            "fit": {"trainer.max_epochs": "train.epochs",
                    "loader.batch_size": "train.batch", "loader.num_workers": "train.workers",
                    "loader.train_split": "train.split", "loader.val_split": "train.val_split",
                    "data.batch_size": "train.batch", "data.num_workers": "train.workers",
                    "data.train_split": "train.split", "data.val_split": "train.val_split",
                    "model.input_size": "train.imgsz", "optimizer.lr": "train.lr", "seed": "train.seed",
                    "model.freeze_backbone": "train.freeze", "checkpoint.patience": "train.patience",
                    "checkpoint.monitor": "select.metric", "checkpoint.mode": "select.mode"},
        },
        "wt-registry": {
            "register": {"name": "model"},
            "alias": {"name": "model"},  # with --version: a deprecated option of its own (wt_registry.aliases)
            "promote": {"name": "model"},
        },
    }),
)


def _merged(deprecations: tuple[Deprecation, ...]) -> Table:
    table: Table = {}
    for dep in deprecations:
        for tool, commands in dep.renames.items():
            for command, renames in commands.items():
                table.setdefault(tool, {}).setdefault(command, {}).update(renames)
    return table


RENAMED: Table = _merged(DEPRECATIONS)


def deprecation_of(tool: str, command: str, old: str) -> Deprecation | None:
    """The deprecation a rename belongs to (None for one not in `DEPRECATIONS`)."""
    return next((d for d in DEPRECATIONS if old in d.renames.get(tool, {}).get(command, {})), None)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("+")[0].split(".")[:3] if part.isdigit())


def overdue(version: str) -> list[str]:
    """The renames a package at `version` should no longer accept, one line each (none: all in time)."""
    return [f"{tool} {command} --{old} (deprecated in {d.deprecated_in}, to be removed in {d.removed_in})"
            for d in DEPRECATIONS if _release(version) >= _release(d.removed_in)
            for tool, commands in d.renames.items() for command, renames in commands.items() for old in renames]


def given_twice(old: str, new: str) -> BadInput:
    """The refusal of one option given in its old spelling and its new one."""
    return BadInput(f"--{old} and --{new} are one option (--{old} is its old spelling): give it once", None, new)


def renames_of(tool: str, command: str | None) -> dict[str, str]:
    return RENAMED.get(tool, {}).get(command or "", {})


def new_spelling(key: str, table: dict[str, str], known: set[str]) -> str | None:
    """The new key for an old `key` (a list append `key+` keeps its +; `--score-thr` is `--score_thr`), or None."""
    base, plus = (key[:-1], "+") if key.endswith("+") else (key, "")
    if base not in known:
        base = base.replace("-", "_")
    new = table.get(base)
    for old, repl in table.items():
        if new is None and old.endswith(".*") and (base == old[:-2] or base.startswith(old[:-1])):
            new = repl[:-2] + base[len(old) - 2:]
    if new is None or base in known or new not in known:
        return None
    return new + plus


def rename_config(config: dict[str, Any], table: dict[str, str], known: set[str]) -> list[tuple[str, str]]:
    """Rename old keys of a nested config in place (sections emptied by the moves dropped); the renames made."""
    done: list[tuple[str, str]] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key in list(node):
            if key not in node:
                continue
            path = f"{prefix}{key}"
            new = new_spelling(path, table, known)
            if new is not None:
                value = node.pop(key)
                target = config
                *parents, leaf = new.split(".")
                for part in parents:
                    target = target.setdefault(part, {})
                if leaf in target:
                    raise given_twice(path, new)
                target[leaf] = value
                done.append((path, new))
            elif isinstance(node[key], dict):
                walk(node[key], path + ".")
                if not node[key] and any(old.startswith(path + ".") for old, _ in done):
                    del node[key]

    walk(config, "")
    return done


def renamed_config_file(path: str, table: dict[str, str], known: set[str],
                        warn: Callable[[str, str, str], None]) -> str:
    """A config file's path, or its text with old keys renamed where it has any (`warn(old, new, where)` each)."""
    import yaml

    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return path  # not a readable file: jsonargparse reports it (or takes it as config text)
    if not isinstance(config, dict):
        return path
    done = rename_config(config, table, known)
    for old, new in done:
        warn(old, new, f" (in {path})")
    return yaml.safe_dump(config, sort_keys=False) if done else path
