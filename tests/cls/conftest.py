"""wt-cls fixtures: classification datasets from the synthetic camera-trap folders, and one trained run.

The trained run is made once per session (a tiny timm net at 64 px, 2 epochs)
and reused by the validate, test, predict, export and registry-style tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cls_helpers import FAST, imagefolder_dataset, manifest_of, run_cli  # noqa: E402


@pytest.fixture(scope="session")
def cls_dataset(camtrap, tmp_path_factory) -> Path:
    """The balanced camtrap folder (3 classes x 30) as a dataset with train, val and test splits."""
    return imagefolder_dataset(camtrap, tmp_path_factory.mktemp("cls-ds") / "ds", val_every=4, test_every=4)


@pytest.fixture(scope="session")
def trained(cls_dataset, tmp_path_factory) -> dict:
    """One 2-epoch fit on the separable set, shared by the session: its manifest."""
    out = tmp_path_factory.mktemp("cls-run") / "run"
    proc = run_cli("wt-cls", "fit", "--dataset", cls_dataset, "--out", out, "--trainer.max_epochs", "2",
                   "--optimizer.lr", "0.003", *FAST, check=True, cwd=out.parent)
    return manifest_of(proc)
