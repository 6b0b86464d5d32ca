"""wt-cls test helpers (`from cls_helpers import ...`: pytest's pythonpath holds this folder)."""

from __future__ import annotations

from pathlib import Path

from helpers import call_cli, run_cli

# A tiny timm net with GroupNorm (batch-norm statistics lag behind after a few dozen steps; GroupNorm has none)
BACKBONE = "test_efficientnet_gn"
FAST = ["--model.backbone", BACKBONE, "--train.imgsz", "64", "--train.batch", "8",
        "--train.workers", "0", "--loader.augment", "none", "--train.lr", "0.005",
        "--trainer.progress_bar", "false"]


def camtrap_splits(root: Path, train: int = 60, val: int = 20, test: int = 20, imbalance: float = 1.0) -> Path:
    """`root/{train,val,test}/<class>/*.jpg` from tools/synth.py (64 px; val and test balanced, other seeds)."""
    import synth

    synth.make_camtrap(root / "train", per_class=train, imbalance=imbalance, seed=0, size=64)
    synth.make_camtrap(root / "val", per_class=val, seed=1, size=64)
    if test:
        synth.make_camtrap(root / "test", per_class=test, seed=2, size=64)
    return root


def import_folder(folder: Path, out: Path) -> Path:
    """`wt-data import --format imagefolder`: the dataset manifest's path."""
    proc = call_cli("wt-data", "import", "--source", folder, "--format", "imagefolder", "--out", out, check=True)
    return Path(proc.stdout.strip())


def fit(dataset: Path, out: Path, *args: str, check: bool = True, **kw):
    return run_cli("wt-cls", "fit", "--dataset", dataset, "--out", out, *FAST, *args, check=check, **kw)
