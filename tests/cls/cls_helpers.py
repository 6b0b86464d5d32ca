"""wt-cls test helpers (importable as cls_helpers: tests/cls/conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("wt_tests_root_cls", Path(__file__).parents[1] / "conftest.py")
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)
run_cli, manifest_of, assert_bad_input = root.run_cli, root.manifest_of, root.assert_bad_input

# A tiny timm net with GroupNorm (batch-norm statistics lag behind after a few dozen steps; GroupNorm has none)
BACKBONE = "test_efficientnet_gn"
FAST = ["--model.backbone", BACKBONE, "--model.input_size", "64", "--loader.batch_size", "8",
        "--loader.num_workers", "0", "--loader.augment", "none", "--optimizer.lr", "0.005",
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
    proc = run_cli("wt-data", "import", "--source", folder, "--format", "imagefolder", "--out", out, check=True)
    return Path(proc.stdout.strip())


def fit(dataset: Path, out: Path, *args: str, check: bool = True, **kw):
    return run_cli("wt-cls", "fit", "--dataset", dataset, "--out", out, *FAST, *args, check=check, **kw)
