"""A raster's blocks: they hold the raster's own tiles, each once; their boxes merge across block edges."""

from __future__ import annotations

import pytest
from wt_core.blocks import Block, BlockRule, job_units, whole_images
from wt_core.geometry import tile_grid
from wt_core.predictions import ImageRef
from wt_core.slicing import Slicing


@pytest.mark.parametrize(("width", "height", "tile", "block"), [(1800, 1400, 320, 640), (30000, 30000, 640, 4096),
                                                                (5000, 700, 640, 4096), (1000, 3000, 320, 700)])
def test_the_blocks_hold_the_rasters_tiles_each_once(width, height, tile, block):
    rule = BlockRule.of(Slicing(tile=tile, block=block), 300)
    blocks = rule.windows(width, height)
    assert len(blocks) > 1 and all(x1 - x0 <= block and y1 - y0 <= block for x0, y0, x1, y1 in blocks)
    tiles = [(x0 + a, y0 + b, x0 + c, y0 + d) for x0, y0, x1, y1 in blocks
             for a, b, c, d in tile_grid(x1 - x0, y1 - y0, tile, tile, 0.2)]
    assert sorted(tiles) == sorted(tile_grid(width, height, tile, tile, 0.2))


def test_a_raster_within_a_block_and_a_photo_stay_one_unit(tmp_path):
    import geotiff

    geotiff.make_geotiff(tmp_path / "a", 900, 700, animals=2)
    geotiff.make_geotiff(tmp_path / "b", 500, 400, animals=2)
    images = [ImageRef(1, tmp_path / "a" / "ortho.tif", "a.tif", 0, 0), ImageRef(2, tmp_path / "b" / "ortho.tif",
                                                                                   "b.tif", 0, 0),
              ImageRef(3, tmp_path / "photo.jpg", "photo.jpg", 0, 0)]
    units = job_units(images, BlockRule.of(Slicing(tile=320, block=640), 300))
    assert [u.id for u in units] == [1, 1, 1, 1, 2, 3]
    assert all(isinstance(u, Block) and (u.width, u.height) == (900, 700) for u in units[:4])
    assert job_units(images, BlockRule.of(Slicing(tile=320, block=0), 300)) == images


def test_block_records_become_one_image_with_one_box_per_animal():
    rule = BlockRule.of(Slicing(tile=320, block=640), 300)
    box = {"image_id": 1, "category_id": 0, "bbox": [560.0, 100.0, 40.0, 30.0], "score": 0.9}
    cut = {"image_id": 1, "category_id": 0, "bbox": [560.0, 100.0, 16.0, 30.0], "score": 0.6}  # cut by an edge
    other = {"image_id": 1, "category_id": 1, "bbox": [560.0, 100.0, 40.0, 30.0], "score": 0.5}  # another class
    head = {"id": 1, "file": "o.tif", "path": "/o.tif", "width": 1800, "height": 1400}
    records = [{"pos": 0, **head, "window": [0, 0, 576, 576], "results": [cut]},
               {"pos": 1, **head, "window": [512, 0, 1088, 576], "results": [box, other]},
               {"pos": 2, **head, "window": [1024, 0, 1800, 576], "error": "cannot read window"},
               {"pos": 3, "id": 2, "file": "p.jpg", "path": "/p.jpg", "results": []}]
    out = list(whole_images(records, rule))
    assert [r["id"] for r in out] == [1, 2]
    assert sorted(r["score"] for r in out[0]["results"]) == [0.5, 0.9], "the cut box merged into the whole one"
    assert (out[0]["width"], out[0]["height"]) == (1800, 1400)
    raw = [{"pos": i, **head, "window": [0, 0, 1, 1], "boxes": [[*xyxy, score, cls]]}  # tiles' boxes, unmerged
           for i, (xyxy, score, cls) in enumerate([((560, 100, 576, 130), 0.6, 0), ((560, 100, 600, 130), 0.9, 0)])]
    merged = list(whole_images(raw, rule))[0]["results"]
    assert [(r["bbox"], r["score"]) for r in merged] == [([560.0, 100.0, 40.0, 30.0], 0.9)]
    failed = list(whole_images([{**records[2], "pos": 0}], rule))
    assert failed[0]["error"] == "cannot read window"
