"""Fresh windows of the whole photos every epoch (`wt-yolo fit --sample windows`, wt_yolo.windows)."""

from __future__ import annotations

import random

import pytest
import yaml
from helpers import assert_bad_input, call_cli, written
from wt_core.geometry import clip_to_window
from wt_data.tiling import plan_image
from wt_yolo.windows import Photo, draw_windows, window_boxes


def _photo(rng: random.Random, w: int = 700, h: int = 500, n: int = 40) -> Photo:
    boxes = []
    for _ in range(n):
        bw, bh = rng.uniform(10, 70), rng.uniform(10, 70)
        boxes.append([rng.uniform(0, w - bw), rng.uniform(0, h - bh), bw, bh])
    return Photo(path=None, width=w, height=h, boxes=boxes, classes=[k % 3 for k in range(n)])


@pytest.mark.parametrize("min_vis", [0.3, 0.5, 0.9])
def test_window_boxes_follow_the_tilers_rule_at_the_edges(min_vis):
    """On the tiler's own windows, a window keeps exactly the boxes (clipped) the tiler keeps in that tile."""
    p = _photo(random.Random(1))
    anns = [{"id": k, "category_id": c, "bbox": b} for k, (b, c) in enumerate(zip(p.boxes, p.classes, strict=True))]
    tiles = plan_image({"width": p.width, "height": p.height}, anns, (160, 160), 0.2, None, min_vis)
    cut = 0
    for t in tiles:
        boxes, classes, _ = window_boxes(p, t.window, min_vis)
        assert [[round(v, 3) for v in b] for b in boxes] == [b["bbox"] for b in t.boxes]
        assert classes == [b["category_id"] for b in t.boxes]
        cut += t.cut
    assert cut > 0  # some boxes were cut by an edge below the rule, and dropped alike


def test_windows_are_inside_the_photo_with_a_whole_box_or_empty_in_the_splits_share():
    rng = random.Random(3)
    photos = [_photo(rng, n=15), _photo(rng, 900, 600, 10)]
    wins = draw_windows(photos, 200, 160, 0.25, 0.5, random.Random(0))
    assert len(wins) == 200
    empty = 0
    for w in wins:
        p = photos[w.photo]
        x0, y0, x1, y1 = w.window
        assert 0 <= x0 and 0 <= y0 and x1 <= p.width and y1 <= p.height and (x1 - x0, y1 - y0) == (160, 160)
        for b in w.boxes:  # window coordinates, clipped, never outside
            assert b[0] >= 0 and b[1] >= 0 and b[0] + b[2] <= 160 + 1e-6 and b[1] + b[3] <= 160 + 1e-6
        whole = [b for b in p.boxes if (vis := clip_to_window(b, w.window)) and vis[1] >= 1 - 1e-9]
        if not w.boxes:
            empty += 1
            assert not any(clip_to_window(b, w.window) for b in p.boxes)  # no part of an animal in an empty one
        else:
            assert whole  # placed around a box that lies whole inside
    assert empty == 50
    again = draw_windows(photos, 200, 160, 0.25, 0.5, random.Random(0))
    assert [w.window for w in again] == [w.window for w in wins]  # seeded
    assert len({(w.photo, w.window) for w in wins}) > 150  # fresh views, not a few fixed tiles


def test_fit_samples_windows_and_records_them(tmp_path):
    """One epoch on windows of a realistic survey's photos: trains, records the sampling; a dataset that was not
    tiled is refused."""
    import survey

    survey.realistic_survey(tmp_path / "svy", train=1, val=1, test=0, seed=4, width=640, height=480)
    _, ds = written(call_cli("wt-data", "import", "--source", tmp_path / "svy" / "wildata", "--format", "wildata",
                             "--out", tmp_path / "ds"))
    _, tiles = written(call_cli("wt-data", "tile", "--dataset", ds, "--size", "320", "--out", tmp_path / "tiles"))
    common = ["--train.epochs", "1", "--train.imgsz", "160", "--train.batch", "8",
              "--train.workers", "0", "--device", "cpu", "--ultralytics.plots", "false", "--sample", "windows"]
    # quarter turns on the windows, mosaic closed for the one epoch (the transforms are built again), and the EMA's
    # own curve: all three hook into the same trainer
    turned = ["--ultralytics.rot90", "1", "--ultralytics.close_mosaic", "1", "--ultralytics.ema_decay", "0.9",
              "--ultralytics.ema_tau", "3"]
    proc = call_cli("wt-yolo", "fit", "--dataset", tiles, *common, *turned, "--out", tmp_path / "run")
    m, d = written(proc)
    assert "training views turned by 90 degrees with probability 1" in proc.stderr
    assert "turned by 90 degrees with probability 1 (transforms rebuilt)" in proc.stderr  # mosaic closed: kept
    assert "weight average (EMA): decay 0.9, ramp 3 updates" in proc.stderr
    assert yaml.safe_load((d / "config.yaml").read_text())["ultralytics"]["rot90"] == 1
    assert "rot90" not in m["details"]["train_args"]  # wt-yolo's own: never handed to Ultralytics
    rec = m["details"]["sample"]
    assert rec["epochs_drawn"] == 1  # Ultralytics trained the epoch on our WindowDataset, which drew its windows
    assert rec["photos"] == 1 and rec["tile"] == 320 and rec["windows_per_epoch"] == m["details"]["small_data"][
        "train_images"]
    assert (d / "train" / "weights" / "best.pt").is_file()
    proc = call_cli("wt-yolo", "fit", "--dataset", ds, *common, "--out", tmp_path / "bad")
    assert_bad_input(proc, "--sample windows needs a dataset made by wt-data tile")
