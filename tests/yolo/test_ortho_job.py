"""An orthomosaic predicted as a job of blocks: sharded and merged, killed -9 and resumed, mapped in its CRS.

A 2000x1500 georeferenced GeoTIFF cut into 12 blocks (--slicing.block 640 with 320-pixel tiles), beside a
corrupt raster and a photo, predicted with the session's trained run. Every variant must give the
uninterrupted run's boxes exactly; the map files hold those boxes in the raster's CRS.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_bad_input, call_cli, dask_cluster, read_json, tool_path, written

PREDICT = ["--conf", "0.001", "--slicing.tile", "320", "--slicing.block", "640", "--device", "cpu"]
BLOCKS = 12  # 2000 wide: 8 tile columns, 2 per block; 1500 high: 6 tile rows, 2 per block


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    import cv2
    import geotiff

    base = tmp_path_factory.mktemp("ortho")
    geotiff.make_geotiff(base / "raster", 2000, 1500, animals=60, seed=4, texture="smooth")
    images = base / "images"
    images.mkdir()
    (base / "raster" / "ortho.tif").rename(images / "ortho.tif")
    (images / "broken.tif").write_bytes(b"II*\x00 not a raster at all")
    cv2.imwrite(str(images / "photo.jpg"), np.random.default_rng(0).integers(0, 255, (240, 320, 3), np.uint8))
    return images


def _results(d: Path) -> list[dict]:
    m = read_json(d / "manifest.json")
    return read_json(d / m["artifacts"][m["splits"]["images"]]["path"])


@pytest.fixture(scope="module")
def baseline(yolo_run, folder, tmp_path_factory) -> tuple[dict, Path]:
    proc = call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", folder, *PREDICT,
                    "--out", tmp_path_factory.mktemp("base") / "pred")
    m, d = written(proc)
    assert m["details"]["images"] == {"images": 3} and m["details"]["failures"] == {"images": 1}
    assert m["details"]["blocks"]["units"] == {"images": BLOCKS}
    assert m["details"]["geo"]["format"] == "geojson" and m["details"]["geo"]["files"] == 1
    return m, d


def test_blocks_are_boxes_in_raster_pixels_and_geojson_in_its_crs(baseline, folder):
    import rasterio

    m, d = baseline
    results = _results(d)
    ids = {im["file_name"].rsplit("/", 1)[-1]: im["id"] for im in read_json(d / "images.json")}
    assert set(ids) == {"ortho.tif", "photo.jpg"}, "the corrupt raster is a failure, not an image"
    on_raster = [r for r in results if r["image_id"] == ids["ortho.tif"]]
    assert len(on_raster) > 10, "a trained model at conf 0.001 finds boxes on the raster"
    xs = [r["bbox"][0] + r["bbox"][2] for r in on_raster]
    assert max(xs) > 1300 and max(r["bbox"][1] + r["bbox"][3] for r in on_raster) > 1000, "boxes of later blocks"
    failures = [json.loads(line) for line in (d / "failures" / "images.jsonl").read_text().splitlines()]
    assert [f["path"] for f in failures] == [str(folder / "broken.tif")] and failures[0]["reason"]
    records = [json.loads(line) for line in (d / "records" / "images.jsonl").read_text().splitlines()]
    assert [r["pos"] for r in records] == list(range(BLOCKS + 2))
    assert sum("window" in r for r in records) == BLOCKS

    doc = read_json(d / m["artifacts"]["geo.images.ortho"]["path"])
    assert list((d / "geo" / "images").iterdir()) == [d / "geo" / "images" / "ortho.geojson"], "photos: no map file"
    with rasterio.open(folder / "ortho.tif") as ds:
        left, bottom, right, top = ds.bounds
        assert doc["crs"]["properties"]["name"] == f"EPSG:{ds.crs.to_epsg()}"
    assert len(doc["features"]) == len(on_raster)
    assert sorted(f["properties"]["score"] for f in doc["features"]) == sorted(r["score"] for r in on_raster)
    corners = np.array([c for f in doc["features"] for c in f["geometry"]["coordinates"][0]])
    assert (corners[:, 0] >= left).all() and (corners[:, 0] <= right).all()
    assert (corners[:, 1] >= bottom).all() and (corners[:, 1] <= top).all()
    assert m["georef"]["images"][str(ids["ortho.tif"])]["crs"] == doc["crs"]["properties"]["name"]


def test_blocks_equal_the_raster_predicted_in_one_piece(yolo_run, folder, baseline, tmp_path):
    """The blocks hold the raster's own tiles, each once, and their boxes are merged once: as without blocks."""
    args = [a if a != "640" else "0" for a in PREDICT]  # --slicing.block 0
    m, d = written(call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", folder, *args, "--out", tmp_path / "p"))
    assert "blocks" not in m["details"]
    assert _results(d) == _results(baseline[1])


def test_two_shards_merged_equal_the_unsharded_run_and_write_a_geopackage(yolo_run, folder, baseline,
                                                                           tmp_path):
    from pyogrio import read_info

    outs = []
    for i in range(2):
        m, d = written(call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", folder, *PREDICT,
                                "--geo", "gpkg", "--shard", f"{i}/2", "--out", tmp_path / f"shard-{i}"))
        assert m["details"]["shard"]["index"] == i and m["details"]["blocks"]["units"]["images"] < BLOCKS
        assert not (d / "geo").exists(), "a shard holds part of a raster's blocks: no map file yet"
        outs.append(d)
    m, d = written(call_cli("wt-eval", "merge", "--shards", json.dumps([str(o) for o in reversed(outs)]),
                            "--out", tmp_path / "merged"))
    assert _results(d) == _results(baseline[1]), "box for box the unsharded run's"
    assert m["details"]["blocks"]["units"] == {"images": BLOCKS} and m["details"]["failures"] == {"images": 1}
    gpkg = d / m["artifacts"]["geo.images.ortho"]["path"]
    assert gpkg.suffix == ".gpkg" and m["details"]["geo"] == {**m["details"]["geo"], "format": "gpkg", "files": 1}
    info = read_info(gpkg)
    base_doc = read_json(baseline[1] / "geo" / "images" / "ortho.geojson")
    assert info["features"] == len(base_doc["features"]) and info["crs"] == base_doc["crs"]["properties"]["name"]
    assert info["geometry_type"] == "Polygon" and list(info["fields"]) == ["class", "class_id", "score", "image"]


def test_killed_mid_raster_and_resumed_is_exact(yolo_run, folder, baseline, tmp_path):
    out = tmp_path / "pred"
    parts = tmp_path / "pred.partial" / "parts" / "images"
    args = ["predict", "--run", str(yolo_run), "--images", str(folder), *PREDICT, "--part_size", "1", "--out", str(out)]
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen([tool_path("wt-yolo"), *args], stdout=subprocess.PIPE, stderr=log, text=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and first.poll() is None:
            if parts.is_dir() and len(list(parts.glob("s*.jsonl"))) >= 3:
                break
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(60)
    assert first.returncode == -signal.SIGKILL
    held = {json.loads(line)["pos"] for p in parts.glob("s*.jsonl") for line in p.read_text().splitlines()}
    assert 2 <= len(held) < BLOCKS, "killed mid-raster: some blocks committed, not all"
    again = subprocess.run([tool_path("wt-yolo"), *args, "--resume"], capture_output=True, text=True)
    m, d = written(again)
    assert f"{len(held)} images already predicted" in again.stderr
    records = [json.loads(line) for line in (d / "records" / "images.jsonl").read_text().splitlines()]
    assert [r["pos"] for r in records] == list(range(BLOCKS + 2)), "every block exactly once"
    assert _results(d) == _results(baseline[1])
    assert read_json(d / "geo" / "images" / "ortho.geojson") == read_json(baseline[1] / "geo" / "images" / "ortho.geojson")


def test_blocks_as_dask_tasks_on_a_local_cluster_are_exact(yolo_run, folder, baseline, tmp_path):
    """Three Dask tasks over the job's units (a photo, a corrupt raster and the raster's blocks), on a real
    dask.distributed cluster of two worker processes: the blocks are shared out like photos."""
    with dask_cluster(tmp_path) as (address, _):
        m, d = written(call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", folder, *PREDICT,
                                "--dask.scheduler", address, "--dask.tasks", "3", "--out", tmp_path / "pred"))
    assert _results(d) == _results(baseline[1])
    assert m["details"]["blocks"]["units"] == {"images": BLOCKS} and m["details"]["failures"] == {"images": 1}
    assert read_json(d / "geo" / "images" / "ortho.geojson") == read_json(baseline[1] / "geo" / "images" / "ortho.geojson")


def test_a_truncated_raster_fails_block_by_block(yolo_run, folder, tmp_path):
    """The blocks that can be read are predicted; each one that cannot is one failure record with its window."""
    images = tmp_path / "truncated"
    images.mkdir()
    data = (folder / "ortho.tif").read_bytes()
    (images / "ortho.tif").write_bytes(data[:int(len(data) * 0.6)])  # the header and the first tiles only
    proc = call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", images, *PREDICT, "--out", tmp_path / "p")
    m, d = written(proc)
    failures = [json.loads(line) for line in (d / "failures" / "images.jsonl").read_text().splitlines()]
    assert 0 < len(failures) < BLOCKS and m["details"]["failures"] == {"images": len(failures)}
    assert all(f["window"] and "cannot read window" in f["reason"] for f in failures)
    assert m["details"]["images"] == {"images": 1} and len(read_json(d / "images.json")) == 1
    assert "window [" in proc.stderr
    records = [json.loads(line) for line in (d / "records" / "images.jsonl").read_text().splitlines()]
    assert records[0]["window"][:2] == [0, 0] and "boxes" in records[0], "the first block was read and predicted"


def test_map_output_asked_of_a_raster_without_crs_is_refused(yolo_run, tmp_path):
    import cv2
    import rasterio

    images = tmp_path / "nocrs"
    images.mkdir()
    with rasterio.open(images / "plain.tif", "w", driver="GTiff", width=400, height=300, count=3,
                       dtype="uint8") as ds:
        ds.write(np.zeros((3, 300, 400), np.uint8))
    proc = call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", images, *PREDICT, "--geo", "gpkg",
                    "--out", tmp_path / "p")
    assert_bad_input(proc, "--geo gpkg: this raster has no CRS", "plain.tif", "crs")
    assert not list(tmp_path.glob("p*")), "refused before any work: no output, not even a partial one"
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.jpg"), np.zeros((64, 64, 3), np.uint8))
    proc = call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", photos, *PREDICT, "--geo", "geojson",
                    "--out", tmp_path / "q")
    assert_bad_input(proc, "none of the images is a georeferenced raster", "geo")
