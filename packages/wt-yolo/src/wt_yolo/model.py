"""Which model to start from: a model yaml, a weights file, or a pretrained name, all offline."""

from __future__ import annotations

from pathlib import Path

from wt_core.errors import BadInput
from wt_core.offline import wt_home

HOW_TO_PROVIDE = ("nothing is downloaded: copy it from a machine with network "
                  "(https://github.com/ultralytics/assets/releases) into WT_HOME/weights ({dir}) "
                  "or pass its path with --model")


def weights_dir() -> Path:
    """Where pretrained weights given by name are looked up (besides the current directory)."""
    return wt_home() / "weights"


MODELS = Path(__file__).parent / "models"
"""Model yamls wt-yolo ships beside Ultralytics' own: yolo11-p2.yaml (a stride-4 head for small objects)."""


def shipped_yaml(name: str) -> Path | None:
    """A model yaml wt-yolo ships, by name with or without its scale (`yolo11n-p2.yaml`: yolo11-p2.yaml at
    scale n; Ultralytics reads the scale from the name), or None."""
    import re

    unscaled = re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", name)
    return MODELS / name if (MODELS / unscaled).is_file() else None


def resolve_model(spec: str) -> str:
    """The path or built-in name Ultralytics should load for `spec`, checked offline.

    `yolo11n.yaml` (a built-in architecture, trained from scratch), one wt-yolo ships
    (`yolo11n-p2.yaml`: a stride-4 head for objects under about 16 px) or a path to a
    model yaml; a weights file `path/to/best.pt`; or a pretrained name
    (`yolo11n.pt`, `yolo11n`) found in the current directory or WT_HOME/weights.
    """
    text = str(spec).strip()
    if not text:
        raise BadInput("no model given", None, "model")
    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        if path.exists():
            return str(path.resolve())
        if len(path.parts) > 1:
            raise BadInput("model yaml not found", path, "model")
        if (shipped := shipped_yaml(text)) is not None:
            return str(shipped)
        from ultralytics.nn.tasks import yaml_model_load

        try:
            yaml_model_load(text)  # resolves scales: yolo11n.yaml is yolo11.yaml at scale n
        except Exception:
            raise BadInput("unknown model yaml: neither a file nor an Ultralytics architecture "
                           "(e.g. yolo11n.yaml, yolov8s.yaml)", text, "model") from None
        return text
    if suffix == "":
        if len(path.parts) > 1 and not path.with_suffix(".pt").exists():  # a path, not a pretrained name
            raise BadInput("run not found: no run directory, manifest or weights file at this path", path, "model")
        path = path.with_suffix(".pt")
    if path.exists():
        if path.is_dir():
            raise BadInput("expected a weights file, got a directory", path, "model")
        return str(path.resolve())
    if len(path.parts) == 1 and (weights_dir() / path.name).is_file():
        return str((weights_dir() / path.name).resolve())
    raise BadInput(f"weights file {path.name} not found and " + HOW_TO_PROVIDE.format(dir=weights_dir()), path, "model")
