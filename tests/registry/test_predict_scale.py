"""`wt-registry predict`: a registered model by name@alias runs a survey job: the trainer's own boxes, a
failure record for a corrupt photo, two shards merged equal to one run."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import read_json, run_cli, written

pytestmark = pytest.mark.slow
NAME = "aerial-survey"
CONF = "0.001"


@pytest.fixture(scope="module")
def photos(runs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for p in sorted(runs["image"].parent.glob("*.jpg"))[:3]:
        shutil.copyfile(p, folder / p.name)
    return folder


@pytest.fixture(scope="module")
def model(runs, tmp_path_factory) -> str:
    base = tmp_path_factory.mktemp("survey-model")
    written(run_cli("wt-registry", "register", "--model", NAME, "--detector", runs["detector"], "--alias", "champion",
                    "--conf", CONF, "--out", base / "model", cwd=base))
    return f"{NAME}@champion"


def _boxes(d) -> list[dict]:
    m = read_json(d / "manifest.json")
    return read_json(d / m["artifacts"][m["splits"]["images"]]["path"])


def test_registered_model_predicts_a_folder_as_the_trainer_does(model, runs, photos, tmp_path):
    ours = written(run_cli("wt-registry", "predict", "--model", model, "--images", photos, "--out", tmp_path / "reg"))
    trainer = written(run_cli("wt-yolo", "predict", "--run", runs["detector"], "--images", photos, "--conf", CONF,
                              "--out", tmp_path / "yolo"))
    got, want = _boxes(ours[1]), _boxes(trainer[1])
    assert want, "the comparison must compare boxes"
    assert [(r["image_id"], r["category_id"]) for r in got] == [(r["image_id"], r["category_id"]) for r in want]
    for a, b in zip(got, want, strict=True):
        assert max(abs(x - y) for x, y in zip(a["bbox"], b["bbox"], strict=True)) < 0.02
        assert abs(a["score"] - b["score"]) < 1e-4
    m = ours[0]
    assert m["details"]["model"].endswith(f"{NAME}@champion") and m["details"]["version"] == "1"
    assert read_json(ours[1] / "images.json") == read_json(trainer[1] / "images.json")


def test_corrupt_photo_and_two_shards(model, photos, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(photos, folder)
    (folder / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    whole = written(run_cli("wt-registry", "predict", "--model", model, "--images", folder, "--out", tmp_path / "w"))
    assert whole[0]["details"]["failures"] == {"images": 1} and whole[0]["details"]["images"] == {"images": 4}
    fail = [json.loads(x) for x in (whole[1] / "failures" / "images.jsonl").read_text().splitlines()]
    assert [f["file_name"] for f in fail] == ["zz_broken.jpg"]
    shards = [written(run_cli("wt-registry", "predict", "--model", model, "--images", folder, "--shard", f"{i}/2",
                              "--out", tmp_path / f"s{i}"))[1] for i in range(2)]
    merged = written(run_cli("wt-eval", "merge", "--shards", json.dumps([str(s) for s in shards]),
                             "--out", tmp_path / "m"))
    assert _boxes(merged[1]) == _boxes(whole[1])
    assert merged[0]["details"]["failures"] == {"images": 1}


def test_an_orthomosaic_as_blocks_sharded_and_mapped(runs, tmp_path):
    """A registered detector that slices: a georeferenced raster longer than its block is predicted block by
    block; two shards merged equal one run; the boxes are written as GeoJSON in the raster's CRS."""
    import geotiff

    geotiff.make_geotiff(tmp_path / "raster", 2000, 1500, animals=60, seed=4, texture="smooth")
    folder = tmp_path / "mosaic"
    folder.mkdir()
    (tmp_path / "raster" / "ortho.tif").rename(folder / "ortho.tif")
    written(run_cli("wt-registry", "register", "--model", "mosaic", "--detector", runs["detector"], "--alias", "champion",
                    "--conf", CONF, "--slicing.tile", "320", "--slicing.block", "640", "--out", tmp_path / "model",
                    cwd=tmp_path))
    m, d = written(run_cli("wt-registry", "predict", "--model", "mosaic@champion", "--images", folder,
                           "--out", tmp_path / "whole", cwd=tmp_path))
    assert m["details"]["blocks"]["units"] == {"images": 12}, "2000x1500: 4 x 3 blocks of 2 x 2 tiles"
    records = [json.loads(x) for x in (d / "records" / "images.jsonl").read_text().splitlines()]
    assert [r["window"][:2] for r in records[:2]] == [[0, 0], [512, 0]]
    boxes = _boxes(d)
    assert boxes and max(b["bbox"][0] for b in boxes) > 1000, "boxes in full-raster pixels, from later blocks"
    geo = read_json(d / m["artifacts"]["geo.images.ortho"]["path"])
    assert len(geo["features"]) == len(boxes) and geo["crs"]["properties"]["name"] == geotiff.CRS
    shards = [written(run_cli("wt-registry", "predict", "--model", "mosaic@champion", "--images", folder,
                              "--shard", f"{i}/2", "--out", tmp_path / f"s{i}", cwd=tmp_path))[1] for i in range(2)]
    merged = written(run_cli("wt-eval", "merge", "--shards", json.dumps([str(s) for s in shards]),
                             "--out", tmp_path / "m"))
    assert _boxes(merged[1]) == boxes
    assert read_json(merged[1] / "geo" / "images" / "ortho.geojson") == geo
