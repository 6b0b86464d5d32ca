"""Tiling: full coverage, boxes clipped by the offset, visibility, parallel and resumable."""

from __future__ import annotations

import json

import numpy as np
from data_helpers import coco_of, imported, wt_data
from helpers import manifest_of
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from wt_data.tiling import plan_image


@st.composite
def image_with_boxes(draw):
    w, h = draw(st.integers(50, 1500)), draw(st.integers(50, 1500))
    size = draw(st.integers(32, 700))
    overlap = draw(st.floats(0.1, 0.6))
    stride = max(1, int(round(size * (1 - overlap))))
    room = max(2, min(size - stride, w, h, size))  # a box this small fits whole in some tile
    boxes = []
    for _ in range(draw(st.integers(0, 8))):
        bw, bh = draw(st.integers(1, room)), draw(st.integers(1, room))
        x, y = draw(st.integers(0, w - bw)), draw(st.integers(0, h - bh))
        boxes.append({"id": len(boxes) + 1, "category_id": 0, "bbox": [x, y, bw, bh]})
    return {"id": 1, "file_name": "a.jpg", "width": w, "height": h}, boxes, size, overlap


@settings(max_examples=150, deadline=None)
@given(case=image_with_boxes(), min_vis=st.floats(0.1, 1.0))
def test_tiles_cover_every_pixel_and_every_box(case, min_vis):
    image, boxes, size, overlap = case
    tiles = plan_image(image, boxes, (size, size), overlap, None, min_vis)
    covered = np.zeros((image["height"], image["width"]), dtype=bool)
    for t in tiles:
        x0, y0, x1, y1 = t.window
        covered[y0:y1, x0:x1] = True
        assert x1 - x0 == min(size, image["width"]) and y1 - y0 == min(size, image["height"])
        for b in t.boxes:
            assert b["visibility"] >= round(min_vis, 4) - 1e-9  # visibility is recorded to 4 decimals
            src = next(a for a in boxes if _same(a, b, t.window))
            assert src is not None
    assert covered.all()
    for a in boxes:  # every box is seen whole (visibility 1 >= min_visibility) in some tile
        assert any(any(b["visibility"] >= min_vis and _same(a, b, t.window) for b in t.boxes) for t in tiles)


def _same(src: dict, b: dict, win) -> bool:
    """b is the source box minus the tile offset, clipped to the tile."""
    x, y, w, h = src["bbox"]
    x0, y0 = max(x, win[0]) - win[0], max(y, win[1]) - win[1]
    x1, y1 = min(x + w, win[2]) - win[0], min(y + h, win[3]) - win[1]
    return np.allclose(b["bbox"], [x0, y0, x1 - x0, y1 - y0], atol=1e-3)


def test_tile_cli_writes_tiles_with_source_and_offset(small_aerial, tmp_path):
    src, _ = imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "src")
    m, d = imported("tile", "--dataset", tmp_path / "src", "--size", "256", "--overlap", "0.25",
                    "--empty_ratio", "null", "--max_empty_per_image", "null", "--out", tmp_path / "t")
    coco = coco_of(d)
    first = coco["images"][0]
    assert {"source_image", "source_id", "offset"} <= set(first)
    tile_img = np.asarray(Image.open(d / m["splits"]["all"]["image_root"] / first["file_name"]))
    source = np.asarray(Image.open(small_aerial / "images" / first["source_image"]))
    x, y = first["offset"]
    assert tile_img.shape[:2] == (256, 256)
    assert np.abs(tile_img.astype(int) - source[y:y + 256, x:x + 256].astype(int)).mean() < 3  # JPEG noise only
    assert m["report"]["tiles_empty_left_out"] == 0
    assert m["report"]["boxes_in_no_tile"] == 0  # every animal is small next to the 64 px overlap
    assert {a["source_annotation_id"] for a in coco["annotations"]} == {a["id"] for a in coco_of(tmp_path / "src")["annotations"]}
    assert m["splits"]["all"]["image_root"] == "images"  # tiles live inside the dataset


def test_tile_resume_after_interrupt_finishes_the_same(small_aerial, tmp_path, monkeypatch):
    import wt_data.tiling as t

    imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "src")
    args = ["tile", "--dataset", tmp_path / "src", "--size", "128", "--workers", "1", "--out", tmp_path / "t"]
    orig, calls = t.cut_unit, []

    def cut(job):  # Ctrl-C while the third image is cut
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return orig(job)

    monkeypatch.setattr(t, "cut_unit", cut)
    proc = wt_data(*args)
    monkeypatch.undo()
    assert proc.returncode == 130, proc.stderr
    partial = tmp_path / "t.partial"
    assert len(list((partial / ".progress" / "all").iterdir())) == 2
    assert not (tmp_path / "t").exists()
    done = wt_data(*args, "--resume", check=True)
    m = manifest_of(done)
    fresh, _ = imported(*args[:-1], tmp_path / "fresh")
    assert m["splits"] == fresh["splits"] and m["report"] == fresh["report"]
    coco = coco_of(tmp_path / "t")
    assert all((tmp_path / "t" / "images" / im["file_name"]).is_file() for im in coco["images"])


def test_tile_parallel_equals_serial(small_aerial, tmp_path):
    imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "src")
    one, d1 = imported("tile", "--dataset", tmp_path / "src", "--size", "200", "--workers", "1", "--out", tmp_path / "a")
    two, d2 = imported("tile", "--dataset", tmp_path / "src", "--size", "200", "--workers", "2", "--out", tmp_path / "b")
    assert coco_of(d1) == coco_of(d2)
    assert json.dumps(one["report"]) == json.dumps(two["report"])


def test_tile_size_auto_chooses_from_the_boxes_and_records_why(tmp_path):
    """`--size auto` on a survey of 25-60 px animals: tiles of the chosen size, the choice and why in the manifest."""
    import survey
    from wt_core.small_data import size_plan

    truth = survey.realistic_survey(tmp_path / "svy", train=1, val=1, test=0, seed=1, width=640, height=480)
    src, _ = imported("import", "--source", tmp_path / "svy" / "wildata", "--format", "wildata", "--out",
                      tmp_path / "src")
    m, d = imported("tile", "--dataset", tmp_path / "src", "--size", "auto", "--out", tmp_path / "t")
    auto = m["details"]["tiling"]["size_auto"]
    train = [max(b["bbox"][2], b["bbox"][3]) for r in truth["images"] if r["id"] in truth["splits"]["train"]
             for b in r["boxes"]]
    expected = size_plan(train, max_image_side=640)
    assert auto["measured_splits"] == ["train"] and auto["boxes"] == len(train)
    assert m["details"]["tiling"]["size"] == auto["tile"]["value"] == expected.tile.value
    assert auto["imgsz"]["value"] == expected.imgsz.value and auto["tile"]["why"]
    first = coco_of(d, "train")["images"][0]
    assert Image.open(d / "images" / first["file_name"]).size == (expected.tile.value,) * 2
