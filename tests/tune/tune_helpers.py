"""wt-tune test helpers (`from tune_helpers import ...`: pytest's pythonpath holds this folder)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

TOY = Path(__file__).with_name("toytarget.py")
SPACE = {
    "x": {"type": "float", "low": 0.0, "high": 1.0},
    "depth": {"type": "int", "low": 1, "high": 8},
    "kind": {"type": "categorical", "choices": ["a", "b", "c"]},
    "opt.lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
}


def toy(*args: str) -> str:
    """The toy target's command line, as a study's `target`."""
    return shlex.join([sys.executable, str(TOY), "fit", *args])


def study_config(path: Path, **fields: Any) -> Path:
    """A study YAML over the toy target (no tracking, no plots unless asked)."""
    config = {"target": toy("--epochs", "3"), "space": SPACE, "objective": "score", "n_trials": 4,
              "track": False, "plots": False, **fields}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def trials_of(study_dir: Path, name: str | None = None, storage: str | None = None) -> list:
    """The study's trials, read back through Optuna itself."""
    import optuna

    study_dir = Path(study_dir)
    if storage is None:
        from optuna.storages.journal import JournalFileBackend

        storage = optuna.storages.JournalStorage(JournalFileBackend(str(study_dir / "journal.log")))
    return optuna.load_study(study_name=name or study_dir.name.removesuffix(".partial"), storage=storage).trials
