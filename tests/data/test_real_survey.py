"""tools/real_survey.py: real bird-survey photos from a BirdDetector copy; its boxes and its refusals.

The photos themselves are not in this repository (and CI has no copy of BirdDetector), so these tests check
what a copy's absence or a changed copy does, and the shapefile reading, on files they write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "real_survey.py"


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True)


def test_a_missing_copy_is_a_one_line_error_and_nothing_is_written(tmp_path):
    proc = run("--source", tmp_path / "nowhere", "--out", tmp_path / "set")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: no BirdDetector copy here") and "--source" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_changed_photo_is_refused(tmp_path):
    import real_survey

    figures = tmp_path / "copy" / "Figures"
    figures.mkdir(parents=True)
    (figures / real_survey.PHOTOS[0].image).write_bytes(b"not the checked photo")
    proc = run("--source", tmp_path / "copy", "--out", tmp_path / "set")
    assert proc.returncode == 2 and "differs from the checked copy" in proc.stderr


def test_boxes_come_from_the_pixel_fields_clipped_to_the_photo(tmp_path):
    pyogrio_raw = pytest.importorskip("pyogrio.raw")
    import real_survey

    fields = {"xmin": np.array([10.0, 690.0, -5.0]), "ymin": np.array([20.0, 0.0, 100.0]),
              "xmax": np.array([40.0, 720.0, 1.0]), "ymax": np.array([45.0, 13.0, 130.0])}
    pyogrio_raw.write(tmp_path / "a.dbf", None, list(fields.values()), fields=list(fields), driver="ESRI Shapefile")
    boxes = real_survey.read_boxes((tmp_path / "a.dbf").read_bytes(), width=700, height=700)
    # the second box is cut at the photo's right edge; the third is left with under 2 px and dropped
    assert [b["bbox"] for b in boxes] == [[10.0, 20.0, 30.0, 25.0], [690.0, 0.0, 10.0, 13.0]]
    assert {b["label"] for b in boxes} == {"bird"}
