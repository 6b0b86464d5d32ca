"""wt-cls fixtures: classification datasets made by tools/synth.py and `wt-data import`, and one trained run.

The trained run is made once per session (a tiny timm net at 64 px, 2 epochs)
and reused by the validate, test, predict and export tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cls_helpers import camtrap_splits, fit, import_folder
from helpers import manifest_of


@pytest.fixture(scope="session")
def sep_ds(tmp_path_factory) -> Path:
    """Three clearly separable classes: train 60, val 20, test 20 per class."""
    base = tmp_path_factory.mktemp("cls-sep")
    return import_folder(camtrap_splits(base / "images"), base / "ds")


@pytest.fixture(scope="session")
def trained(sep_ds, tmp_path_factory) -> dict:
    """One 2-epoch fit on the separable set, shared by the session: its manifest (path in `_path`)."""
    out = tmp_path_factory.mktemp("cls-run") / "run"
    m = manifest_of(fit(sep_ds, out, "--train.epochs", "2", cwd=out.parent))
    m["_path"] = str(out / "manifest.json")
    return m
