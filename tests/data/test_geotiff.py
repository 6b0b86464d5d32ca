"""Orthomosaics: GeoTIFF import (pixel and map coordinates), tiling window by window under a memory limit,
GeoJSON back on the map."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geotiff
import pytest
from data_helpers import coco_of, imported, wt_data
from helpers import assert_bad_input


@pytest.fixture(scope="session")
def ortho(tmp_path_factory) -> Path:
    """A 3000 x 2000 tiled GeoTIFF (UTM 36S, 5 cm) with 30 animals, its GeoJSON and CSV in map coordinates."""
    out = tmp_path_factory.mktemp("ortho")
    geotiff.make_geotiff(out, 3000, 2000, animals=30, seed=1)
    return out


def _truth(folder: Path) -> list[tuple[str, list[float]]]:
    t = json.loads((folder / "truth.json").read_text())
    return sorted((b["label"], [float(v) for v in b["bbox"]]) for b in t["boxes"])


def _boxes(ds_dir: Path) -> list[tuple[str, list[float]]]:
    coco = coco_of(ds_dir)
    names = {c["id"]: c["name"] for c in coco["categories"]}
    return sorted((names[a["category_id"]], a["bbox"]) for a in coco["annotations"])


def _close(a, b, tol: float) -> None:
    assert len(a) == len(b)
    for (la, ba), (lb, bb) in zip(a, b, strict=True):
        assert la == lb and max(abs(x - y) for x, y in zip(ba, bb, strict=True)) <= tol, (la, ba, bb)


def test_import_from_map_coordinates_lands_on_the_pixels(ortho, tmp_path):
    # the raster alone: its sidecar GeoJSON (map coordinates, crs named) is read
    m, ds = imported("import", "--format", "geotiff", "--source", ortho / "ortho.tif", "--out", tmp_path / "a")
    assert m["splits"]["all"]["images"] == 1 and m["classes"] == ["elephant", "giraffe", "zebra"]
    image = coco_of(ds)["images"][0]
    assert (image["width"], image["height"]) == (3000, 2000)
    _close(_boxes(ds), _truth(ortho), 0.01)
    # the CSV in map coordinates (crs column), naming its raster
    _, ds2 = imported("import", "--format", "geotiff", "--source", ortho / "ortho.csv", "--out", tmp_path / "b")
    _close(_boxes(ds2), _truth(ortho), 0.01)


def test_geojson_in_lon_lat_and_csv_in_pixels(ortho, tmp_path):
    from rasterio.warp import transform

    src = tmp_path / "src"
    src.mkdir()
    (src / "survey.tif").symlink_to(ortho / "ortho.tif")
    doc = json.loads((ortho / "ortho.geojson").read_text())
    del doc["crs"]  # RFC 7946: no crs member and coordinates outside the raster: longitude, latitude
    for f in doc["features"]:
        ring = f["geometry"]["coordinates"][0]
        lon, lat = transform("EPSG:32736", "EPSG:4326", [p[0] for p in ring], [p[1] for p in ring])
        f["geometry"]["coordinates"] = [[[x, y] for x, y in zip(lon, lat, strict=True)]]
    (src / "survey.geojson").write_text(json.dumps(doc))
    _, ds = imported("import", "--format", "geotiff", "--source", src, "--out", tmp_path / "lonlat")
    _close(_boxes(ds), _truth(ortho), 0.5)  # reprojected twice, within half a pixel
    with open(src / "pixels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image_path", "xmin", "ymin", "xmax", "ymax", "label"])
        for label, (x, y, bw, bh) in _truth(ortho):
            w.writerow(["survey.tif", x, y, x + bw, y + bh, label])
    _, ds2 = imported("import", "--format", "geotiff", "--source", src / "pixels.csv", "--out", tmp_path / "px")
    _close(_boxes(ds2), _truth(ortho), 0.001)


def test_geojson_export_puts_a_box_back_at_its_map_coordinate(ortho, tmp_path):
    """A box drawn at a known map coordinate comes back at that coordinate, within a pixel."""
    import rasterio

    _, ds = imported("import", "--format", "geotiff", "--source", ortho / "ortho.tif", "--out", tmp_path / "ds")
    m, out = imported("geojson", "--dataset", ds, "--out", tmp_path / "gj")
    files = m["details"]["export"]["files"]
    assert files == ["geojson/all/ortho.geojson"]
    got = json.loads((out / files[0]).read_text())
    want = json.loads((ortho / "ortho.geojson").read_text())
    assert got["crs"]["properties"]["name"] == "EPSG:32736"
    with rasterio.open(ortho / "ortho.tif") as r:
        pixel = abs(r.transform.a)
    key = lambda f: (f["properties"].get("class") or f["properties"]["label"], f["geometry"]["coordinates"][0][0])  # noqa: E731
    for g, w in zip(sorted(got["features"], key=key), sorted(want["features"], key=key), strict=True):
        assert g["properties"]["class"] == w["properties"]["label"]
        assert g["geometry"]["type"] == "Polygon"
        gx = sorted(p[0] for p in g["geometry"]["coordinates"][0])
        wx = sorted(p[0] for p in w["geometry"]["coordinates"][0])
        gy = sorted(p[1] for p in g["geometry"]["coordinates"][0])
        wy = sorted(p[1] for p in w["geometry"]["coordinates"][0])
        assert max(abs(a - b) for a, b in zip(gx + gy, wx + wy, strict=True)) < pixel
    # and the raster's own transform maps each annotated pixel box onto its feature's corners
    coco = coco_of(ds)
    corners = sorted((round(r.transform.c + a["bbox"][0] * r.transform.a, 3),
                      round(r.transform.f + a["bbox"][1] * r.transform.e, 3)) for a in coco["annotations"])
    assert corners == sorted((round(min(p[0] for p in f["geometry"]["coordinates"][0]), 3),
                              round(max(p[1] for p in f["geometry"]["coordinates"][0]), 3)) for f in got["features"])


def test_sixteen_bit_striped_bigtiff_tiles(tmp_path):
    geotiff.make_geotiff(tmp_path / "r", 1500, 1100, animals=12, seed=2, dtype="uint16", layout="striped",
                         texture="smooth", bigtiff=True)
    assert (tmp_path / "r" / "ortho.tif").read_bytes()[2:4] == b"\x2b\x00"  # BigTIFF magic
    _, ds = imported("import", "--format", "geotiff", "--source", tmp_path / "r" / "ortho.tif", "--out", tmp_path / "ds")
    m, tiles = imported("tile", "--dataset", ds, "--size", "512", "--out", tmp_path / "tiles")
    assert m["splits"]["all"]["boxes"] >= 12
    from PIL import Image

    coco = coco_of(tiles)
    im = next(i for i in coco["images"] if any(a["image_id"] == i["id"] for a in coco["annotations"]))
    with Image.open(tiles / "images" / im["file_name"]) as pic:
        assert pic.mode == "RGB" and pic.size == (512, 512)
        lo, hi = pic.convert("L").getextrema()
        assert hi - lo > 100  # stretched: 16-bit ground and animals spread over the 8-bit range


def test_tiling_a_raster_larger_than_the_memory_limit(tmp_path):
    """20000 x 20000 RGB (1.2 GB decoded): import and tile stay far below that (peak RSS of each process)."""
    geotiff.make_geotiff(tmp_path / "big", 20000, 20000, animals=40, seed=3)
    limit_mb = 700
    proc, rss = geotiff.peak_rss_mb([_tool("wt-data"), "import", "--format", "geotiff", "--source",
                                     tmp_path / "big" / "ortho.tif", "--out", tmp_path / "ds"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rss < limit_mb, f"import peaked at {rss:.0f} MB"
    proc, rss = geotiff.peak_rss_mb([_tool("wt-data"), "tile", "--dataset", tmp_path / "ds", "--out", tmp_path / "t",
                                     "--workers", "1", "--empty_ratio", "null", "--max_empty_per_image", "40"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rss < limit_mb, f"tiling peaked at {rss:.0f} MB"
    assert "tiles done" in proc.stderr  # progress on stderr
    m = json.loads((tmp_path / "t" / "manifest.json").read_text())
    assert m["splits"]["all"]["boxes"] >= 40 and m["splits"]["all"]["empty_images"] == 40


def _tool(name: str) -> str:
    import sys

    return str(Path(sys.executable).parent / name)


@pytest.mark.parametrize("case", ["unknown_crs", "missing_raster", "bad_header", "no_rasters", "map_without_crs"])
def test_bad_geotiff_inputs(ortho, tmp_path, case):
    src = tmp_path / "src"
    src.mkdir()
    if case == "unknown_crs":
        (src / "a.csv").write_text("image_path,x,y,label,crs\n" + f"{ortho / 'ortho.tif'},1,2,zebra,EPSG:99999999\n")
        assert_bad_input(wt_data("import", "--format", "geotiff", "--source", src / "a.csv"), "unknown CRS", "line 2")
    elif case == "missing_raster":
        (src / "a.csv").write_text("image_path,x,y,label\nnowhere.tif,1,2,zebra\n")
        assert_bad_input(wt_data("import", "--format", "geotiff", "--source", src / "a.csv"), "not found", "line 2")
    elif case == "bad_header":
        (src / "a.csv").write_text("file,x,y,label\northo.tif,1,2,zebra\n")
        assert_bad_input(wt_data("import", "--format", "geotiff", "--source", src / "a.csv"), "expected the header",
                         "line 1")
    elif case == "no_rasters":
        assert_bad_input(wt_data("import", "--format", "geotiff", "--source", src), "no rasters")
    else:
        import numpy as np
        import rasterio

        with rasterio.open(src / "plain.tif", "w", driver="GTiff", width=50, height=40, count=3, dtype="uint8") as d:
            d.write(np.zeros((3, 40, 50), np.uint8))
        (src / "plain.csv").write_text("image_path,x,y,label,crs\nplain.tif,500000,9000000,zebra,raster\n")
        assert_bad_input(wt_data("import", "--format", "geotiff", "--source", src / "plain.csv"), "has no CRS")


def test_predictions_on_a_raster_record_its_georef_and_come_back_on_the_map(ortho, tmp_path):
    """A predictions manifest made on a raster (as every trainer's predict writes it) records CRS and transform;
    `wt-data geojson --predictions` puts each box at its map coordinate with class and score."""
    import logging

    import numpy as np
    from wt_core.manifest import RunManifest
    from wt_core.manifest_io import build
    from wt_core.outputs import Output
    from wt_core.predictions import (
        commit_predictions,
        folder_images,
        write_image_index,
        write_predictions,
    )
    from wt_core.slicing import Detections

    folder = tmp_path / "survey"
    folder.mkdir()
    (folder / "ortho.tif").symlink_to(ortho / "ortho.tif")
    o = Output("wt-yolo", "fit", tmp_path / "run")
    run = o.commit(build(RunManifest, id=o.id, framework="yolo", task="detect", classes=["elephant", "giraffe", "zebra"],
                         dataset_id="none"))
    output = Output("wt-yolo", "predict", tmp_path / "pred")
    todo = folder_images(folder)
    boxes = np.array([[100.5, 200.25, 140.0, 230.0], [2000.0, 1500.0, 2030.0, 1520.0]])
    det = Detections(boxes, np.array([0.91, 0.42]), np.array([0, 2]))
    name = write_predictions(output, "images", todo, iter([det]), logging.getLogger("test"))
    details = write_image_index(output, todo, folder)
    pred = commit_predictions(output, run, None, {"images": name},
                              {"thresholds": {"conf": 0.25}, "slicing": {"tile": 640}}, details)
    assert pred.georef["images"]["1"].crs == "EPSG:32736"
    assert pred.georef["images"]["1"].transform == [geotiff.PIXEL, 0.0, geotiff.ORIGIN[0], 0.0, -geotiff.PIXEL,
                                                    geotiff.ORIGIN[1]]
    m, out = imported("geojson", "--predictions", pred.path, "--conf", "0.5", "--out", tmp_path / "gj")
    assert m["kind"] == "predictions" and m["georef"] == json.loads(pred.path.read_text())["georef"]
    doc = json.loads((out / m["details"]["export"]["files"][0]).read_text())
    assert doc["crs"]["properties"]["name"] == "EPSG:32736"
    [f] = doc["features"]  # the 0.42 box is under --conf
    assert f["properties"] == {"class": "elephant", "class_id": 0, "image": "ortho.tif", "score": 0.91}
    ring = f["geometry"]["coordinates"][0]
    want = [geotiff.to_map(x, y) for x, y in ((100.5, 200.25), (140, 200.25), (140, 230), (100.5, 230), (100.5, 200.25))]
    assert np.abs(np.array(ring) - np.array(want)).max() < geotiff.PIXEL  # within a pixel (exact here)


def test_points_in_map_coordinates(ortho, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "ortho.tif").symlink_to(ortho / "ortho.tif")
    features = [{"type": "Feature", "properties": {"label": "zebra"},
                 "geometry": {"type": "Point", "coordinates": list(geotiff.to_map(120.5, 340.25))}}]
    (src / "ortho.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    _, ds = imported("import", "--format", "geotiff", "--source", src / "ortho.tif", "--out", tmp_path / "ds")
    [a] = coco_of(ds)["annotations"]
    assert a["point"] == pytest.approx([120.5, 340.25], abs=1e-3)
    m, out = imported("geojson", "--dataset", ds, "--out", tmp_path / "gj")
    [f] = json.loads((out / m["details"]["export"]["files"][0]).read_text())["features"]
    assert f["geometry"]["type"] == "Point"
    assert f["geometry"]["coordinates"] == pytest.approx(list(geotiff.to_map(120.5, 340.25)), abs=geotiff.PIXEL)
