"""wt-data fixtures: small synthetic sets built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_helpers import imported


@pytest.fixture(scope="session")
def small_aerial(tmp_path_factory) -> Path:
    """Six small aerial images (about 700x500): quick to tile and crop."""
    import synth

    out = tmp_path_factory.mktemp("small_aerial")
    synth.make_aerial(out, images=6, seed=3, width=700, height=500, sites=3, empty_every=3)
    return out


@pytest.fixture(scope="session")
def aerial_ds(aerial, tmp_path_factory) -> Path:
    """The aerial fixture imported from COCO (one split 'all')."""
    out = tmp_path_factory.mktemp("aerial_ds") / "ds"
    imported("import", "--source", aerial / "coco.json", "--out", out)
    return out


@pytest.fixture(scope="session")
def small_aerial_ds(small_aerial, tmp_path_factory) -> Path:
    """The small_aerial fixture imported from COCO (one split 'all')."""
    out = tmp_path_factory.mktemp("small_aerial_ds") / "ds"
    imported("import", "--source", small_aerial / "coco.json", "--out", out)
    return out
