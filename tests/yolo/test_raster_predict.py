"""Sliced prediction of an orthomosaic larger than the memory limit: window by window, CRS and transform recorded.

The detector is an untrained YOLO11n (built from its yaml, saved, wrapped in a run manifest): the point is memory,
not accuracy, so no training is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import geotiff
import pytest
from helpers import tool_path
from wt_core.blocks import BlockRule
from wt_core.manifest import RunManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.slicing import Slicing


@pytest.fixture(scope="module")
def untrained_run(tmp_path_factory) -> Path:
    from ultralytics import YOLO

    out = tmp_path_factory.mktemp("untrained") / "run"
    o = Output("wt-yolo", "fit", out)
    model = YOLO("yolo11n.yaml")
    model.save(str(o.path("weights/best.pt")))
    o.add("weights_best", "weights/best.pt")
    names = [str(v) for v in model.names.values()]
    o.commit(build(RunManifest, id=o.id, framework="yolo", task="detect", classes=names, dataset_id="none",
                   weights={"best": "weights_best"}, imgsz=160))
    return out


def _predict(run: Path, images: Path, out: Path, tile: int):
    return geotiff.peak_rss_mb([tool_path("wt-yolo"), "predict", "--run", run, "--images", images,
                                "--slicing.tile", str(tile), "--slicing.batch", "8", "--conf", "0.5", "--device", "cpu",
                                "--out", out])


def test_sliced_predict_of_a_large_raster_stays_under_the_limit(untrained_run, tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    geotiff.make_geotiff(small, 2000, 2000, animals=5, seed=1)
    geotiff.make_geotiff(large, 20000, 20000, animals=40, seed=2)  # 1200 MB decoded
    for folder in (small, large):
        for extra in ("ortho.geojson", "ortho.csv", "truth.json"):
            (folder / extra).unlink()
    proc, base = _predict(untrained_run, small, tmp_path / "p_small", 2000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc, peak = _predict(untrained_run, large, tmp_path / "p_large", 2000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the same process on a raster 100 times larger: a whole decode would add 1200 MB; window by window it adds
    # a row band of 2000-pixel windows, a batch of them and what Ultralytics keeps of a batch (about 400 MB)
    print(f"peak RSS: {base:.0f} MB on 2000x2000, {peak:.0f} MB on 20000x20000")
    assert peak - base < 700 and peak < 2000, f"peak {peak:.0f} MB against {base:.0f} MB on the small raster"
    # progress: the closing count of the raster's blocks (the job's units) is printed however fast the run was
    # (the lines with the rate and the time left come only every few seconds, so a fast machine prints none)
    n = len(BlockRule.of(Slicing(tile=2000), 300).windows(20000, 20000))
    assert n > 1 and f"predicting images: {n}/{n} blocks done" in proc.stderr, proc.stderr[-2000:]
    m = json.loads((tmp_path / "p_large" / "manifest.json").read_text())
    georef = m["georef"]["images"]["1"]
    assert georef["crs"] == "EPSG:32736"
    assert georef["transform"] == [geotiff.PIXEL, 0.0, geotiff.ORIGIN[0], 0.0, -geotiff.PIXEL, geotiff.ORIGIN[1]]
    assert m["slicing"]["tile"] == 2000


def test_a_large_raster_whole_is_refused(untrained_run, tmp_path):
    geotiff.make_geotiff(tmp_path / "r", 10050, 10000, animals=1, seed=1)  # just over 100 megapixels
    (tmp_path / "r" / "ortho.geojson").unlink()
    proc, _ = _predict(untrained_run, tmp_path / "r", tmp_path / "p", 0)
    assert proc.returncode == 2 and "predict it sliced" in proc.stderr.strip().splitlines()[-1], proc.stderr[-2000:]
