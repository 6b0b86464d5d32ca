"""What the libraries we wrap print that a user of our tools should not read, silenced at its source.

Set once per process by `wt_core.console.setup` (every tool's start), before the libraries are
imported: warnings filters by message and category, logging filters and levels by logger name.
Nothing here imports a library. Each entry says why it is noise; a warning about the user's data
or a failure is never silenced.
"""

from __future__ import annotations

import logging
import warnings

WARNINGS: list[tuple[str, type[Warning], str]] = [
    # torch 2.10+ deprecates `isinstance(x, LeafSpec)`; Lightning's and Ultralytics' tree utilities still
    # call it on every batch. Nothing a user can change: it goes away when they update.
    (r".*LeafSpec.* is deprecated", FutureWarning, "torch"),
    # MLflow asks for type hints on PythonModel.predict (in yellow, ANSI codes and all) when wt-registry logs a
    # model: our predict takes photos of any kind on purpose; the signature is written by hand.
    (r".*Add type hints to the `predict` method", UserWarning, "mlflow"),
    # Lightning: `Trainer(logger=False)` and tracking of our own (MLflow) is how wt-cls logs; the hint to
    # install a logger, and its check that no loggers are set, are about Lightning's way, not ours.
    (r".*does not have many workers which may be a bottleneck", UserWarning, "lightning"),
    (r".*The number of training batches \(\d+\) is smaller than the logging interval", UserWarning, "lightning"),
    # pydantic: MLflow's own models trip its deprecation of class-based config; nothing of ours.
    (r".*Support for class-based `config` is deprecated", DeprecationWarning, "pydantic"),
]


class DropMessages(logging.Filter):
    """Drops records whose message starts with one of `prefixes`."""

    def __init__(self, *prefixes: str):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).lstrip().startswith(self.prefixes)


# logger name -> message starts dropped
DROPPED: dict[str, tuple[str, ...]] = {
    # Lightning's advertisement for its cloud logger (litlogger), printed at every Trainer start.
    "lightning.pytorch.utilities.rank_zero": ("💡 Tip", "Tip:"),
    "lightning.fabric.utilities.rank_zero": ("💡 Tip", "Tip:"),
}
# logger name -> the lowest level shown
LEVELS: dict[str, int] = {
    # MLflow announces that it creates and migrates its sqlite tables on the first run of a project
    # ("Creating initial MLflow database tables...", "Updating database tables"): bookkeeping, not news.
    "mlflow.store.db.utils": logging.WARNING,
    "alembic.runtime.migration": logging.WARNING,
}

_done = False


def silence() -> None:
    """Install the filters (idempotent)."""
    global _done
    if _done:
        return
    for message, category, _library in WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name, prefixes in DROPPED.items():
        logging.getLogger(name).addFilter(DropMessages(*prefixes))
    for name, level in LEVELS.items():
        logging.getLogger(name).setLevel(level)
    _done = True
