"""The libraries' offline switches, set once at every tool's start.

No tool reaches the network on its own: Ultralytics gets its settings in a
directory of ours (no sync, no MLflow callback of its own, a font already in
place so plots never download one), YOLO_OFFLINE and no auto-install; MLflow
gets telemetry off. Nothing here imports the libraries.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ULTRALYTICS_SETTINGS = {
    "sync": False,
    "mlflow": False,
    "clearml": False,
    "comet": False,
    "dvc": False,
    "raytune": False,
    "vscode_msg": False,
    "openvino_msg": False,
    "tensorboard": False,
    "wandb": False,
}
# Ultralytics defaults these to the git root it is installed under; ours live in WT_HOME.
ULTRALYTICS_DIRS = {"runs_dir": "runs", "weights_dir": "weights", "datasets_dir": "datasets"}
ENV = {
    "YOLO_OFFLINE": "1",
    "YOLO_AUTOINSTALL": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GIT_PYTHON_REFRESH": "quiet",
}
_applied = False


def wt_home() -> Path:
    """Where WildTrain keeps library settings and caches (WT_HOME, else ~/.cache/wildtrain)."""
    if env := os.environ.get("WT_HOME"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wildtrain"


def _font_source() -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    return p if p.exists() else None


def ultralytics_config_dir() -> Path:
    """Ultralytics' settings directory of ours, with settings and fonts in place."""
    base = wt_home() / "ultralytics"
    d = base / "Ultralytics"  # Ultralytics appends this to YOLO_CONFIG_DIR
    d.mkdir(parents=True, exist_ok=True)
    settings_file = d / "settings.json"
    settings: dict[str, Any] = {}
    if settings_file.exists():
        try:
            settings = json.loads(settings_file.read_text())
        except ValueError:
            settings = {}
    wanted = {**ULTRALYTICS_SETTINGS, **{k: str(base / v) for k, v in ULTRALYTICS_DIRS.items()}}
    if any(settings.get(k) != v for k, v in wanted.items()):
        settings.update(wanted)
        tmp = settings_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(settings, indent=2))
        os.replace(tmp, settings_file)
    font = _font_source()
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = d / name
        if font is not None and not target.exists():
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(font, tmp)
            os.replace(tmp, target)
    return base


def apply() -> None:
    """Set every offline switch (idempotent). Called at each tool's start."""
    global _applied
    if _applied:
        return
    for k, v in ENV.items():
        os.environ[k] = v
    os.environ["YOLO_CONFIG_DIR"] = str(ultralytics_config_dir())
    plain_ultralytics_logs()
    no_heif_install_on_a_bad_image()
    _applied = True


class _NoColour(logging.Filter):
    """Drops the ANSI colour codes Ultralytics puts in its log messages."""

    CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "\x1b[" in record.msg:
            record.msg = self.CODES.sub("", record.msg)
        return True


def plain_ultralytics_logs() -> None:
    """Ultralytics' messages without colour codes when stderr is not a terminal (a log file, a CI job).

    The filter goes on the `ultralytics` logger before Ultralytics is imported; its own setup keeps it.
    """
    if sys.stderr.isatty():
        return
    logger = logging.getLogger("ultralytics")
    if not any(isinstance(f, _NoColour) for f in logger.filters):
        logger.addFilter(_NoColour())


HEIF_PATCH = "ultralytics.utils.patches"


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs `then(module)` once the module named `name` has been executed (a post-import hook)."""

    def __init__(self, name: str, then: Callable[[ModuleType], None]):
        self.name, self.then = name, then
        self.loader: importlib.abc.Loader | None = None

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        self.loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        assert self.loader is not None
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        assert self.loader is not None
        self.loader.exec_module(module)
        self.then(module)


def no_heif_install_on_a_bad_image() -> None:
    """Importing Ultralytics replaces `PIL.Image.open` with one that, on a file Pillow cannot identify,
    runs `check_requirements("pi-heif")` (a pip install, offline a failure) and imports it: a corrupt photo was
    then reported as "No module named 'pi_heif'" in every process that had imported Ultralytics (a yolo or
    two-stage survey's failure records, a classifier's message). Without pi-heif installed, the patch is told
    its plugins are registered, so a bad file raises Pillow's own error; with pi-heif, HEIF photos open as
    Ultralytics intends."""
    if importlib.util.find_spec("pi_heif") is not None:
        return

    def registered(patches: ModuleType) -> None:
        setattr(patches, "_pil_plugins_registered", True)  # noqa: B010 (a private flag of Ultralytics)

    if HEIF_PATCH in sys.modules:
        registered(sys.modules[HEIF_PATCH])
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(HEIF_PATCH, registered))
