"""What the libraries we wrap print that a user of our tools should not read, silenced at its source.

Set once per process by `wt_core.console.setup` (every tool's start), before the libraries are
imported: warnings filters by message and category, logging filters and levels by logger name.
Nothing here imports a library. Each entry says why it is noise; a warning about the user's data
or a failure is never silenced.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from typing import Any

WARNINGS: list[tuple[str, type[Warning], str]] = [
    # torch 2.10+ deprecates `isinstance(x, LeafSpec)`; Lightning's and Ultralytics' tree utilities still
    # call it on every batch. Nothing a user can change: it goes away when they update.
    (r".*LeafSpec.* is deprecated", FutureWarning, "torch"),
    # MLflow asks for type hints on PythonModel.predict (in yellow, ANSI codes and all) when wt-registry logs a
    # model: our predict takes photos of any kind on purpose; the signature is written by hand.
    (r".*Add type hints to the `predict` method", UserWarning, "mlflow"),
]

SUBPROCESS_WARNING = "ignore:Add type hints to the `predict` method:UserWarning"


class DropMessages(logging.Filter):
    """Drops records whose message starts with one of `prefixes`."""

    def __init__(self, *prefixes: str):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).lstrip().startswith(self.prefixes)


# Lightning at every Trainer start: an advertisement for its cloud logger (litlogger), and which accelerators
# exist (wt-cls chose the device from --device already); at the end, that max_epochs was reached (wt-cls says
# "finished N epochs" with the best epoch).
LIGHTNING = ("💡 Tip", "Tip:", "GPU available", "TPU available", "HPU available", "`Trainer.fit` stopped")
# logger name -> message starts dropped
DROPPED: dict[str, tuple[str, ...]] = {
    "lightning.pytorch.utilities.rank_zero": LIGHTNING,
    "lightning.fabric.utilities.rank_zero": LIGHTNING,
    # Ultralytics migrates the settings file wt_core.offline writes (our keys only) on its first start in a
    # WT_HOME: a warning about a file of ours, not about the user's data.
    # MLflow announces that it creates and migrates its sqlite tables on the first run of a project: bookkeeping,
    # not news. (A filter, not a level: MLflow's logging setup resets the levels of its loggers' children.)
    "mlflow.store.db.utils": ("Creating initial MLflow database tables", "Updating database tables"),
    "alembic.runtime.migration": ("Context impl", "Will assume", "Running upgrade"),
    "ultralytics": ("Ultralytics settings updated to the latest schema", "Creating new Ultralytics Settings"),
}
_done = False


def silence() -> None:
    """Install the filters (idempotent)."""
    global _done
    if _done:
        return
    for message, category, _library in WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    # MLflow wraps some calls in its own `catch_warnings` with a "once" filter for every UserWarning first, which
    # outranks ours there: the noise is also dropped where warnings are shown
    show = warnings.showwarning
    noise = [(re.compile(m, re.I), c) for m, c, _ in WARNINGS]

    def show_unless_noise(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if not any(issubclass(category, c) and p.match(str(message)) for p, c in noise):
            show(message, category, *args, **kwargs)

    warnings.showwarning = show_unless_noise
    # the same in the Python processes a library starts (MLflow checks a logged model in a subprocess of its
    # own): PYTHONWARNINGS takes the start of the message as it is printed (uncoloured there)
    inherited = [w for w in os.environ.get("PYTHONWARNINGS", "").split(",") if w]
    if SUBPROCESS_WARNING not in inherited:
        os.environ["PYTHONWARNINGS"] = ",".join([*inherited, SUBPROCESS_WARNING])
    for name, prefixes in DROPPED.items():
        logging.getLogger(name).addFilter(DropMessages(*prefixes))
    _done = True
