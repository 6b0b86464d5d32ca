"""Train, mine, fine-tune: `wt-yolo mine` with the session's run, then `wt-yolo fit --model RUN` on the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_bad_input, read_json, written
from wt_core.manifest_io import read_manifest
from wt_core.metrics_log import read_metrics
from yolo_helpers import QUICK, wt_yolo


@pytest.fixture(scope="module")
def mined(run_dir, yolo_data, tmp_path_factory) -> tuple[dict, Path]:
    """The session's tiles mined with its 2-epoch run at a score any box reaches."""
    out = tmp_path_factory.mktemp("mine") / "mined"
    return written(wt_yolo("mine", "--run", run_dir, "--dataset", yolo_data.tiles, "--conf", "0.0001",
                           "--ratio", "0.5", "--out", out))


def test_mined_tiles_are_the_ones_the_run_scored_highest(mined, yolo_data):
    m, d = mined
    hn = m["details"]["hard_negatives"]
    tiles = read_json(yolo_data.tiles / "manifest.json")
    coco = json.loads((d / m["artifacts"][m["splits"]["train"]["annotations"]]["path"]).read_text())
    rows = json.loads((d / "predictions" / "empty_tiles.json").read_text())
    top: dict[int, float] = {}
    for r in rows:
        top[r["image_id"]] = max(top.get(r["image_id"], 0.0), r["score"])
    hard = {im["id"]: im["hard_negative_score"] for im in coco["images"] if "hard_negative_score" in im}
    assert hn["tiles_positive"] == tiles["splits"]["train"]["images"] - tiles["splits"]["train"]["empty_images"]
    assert hn["empty_tiles"] == tiles["splits"]["train"]["empty_images"] == hn["empty_tiles_predicted"]
    assert hn["hard_negatives_found"] == len(top)  # every tile with a box at >= score
    assert len(hard) == hn["hard_negatives_kept"] == min(len(top), int(0.5 * hn["tiles_positive"]))
    assert all(abs(s - top[i]) < 1e-4 for i, s in hard.items())
    left_out = [s for i, s in top.items() if i not in hard]
    assert not left_out or min(hard.values()) >= max(left_out) - 1e-4  # the most confident first
    assert [p["kind"] for p in m["parents"]] == ["dataset", "run"]
    assert m["splits"]["val"] == tiles["splits"]["val"] | {"annotations": m["splits"]["val"]["annotations"],
                                                           "image_root": m["splits"]["val"]["image_root"]}


def test_a_score_nothing_reaches_is_an_honest_empty_result(run_dir, yolo_data, tmp_path):
    proc = wt_yolo("mine", "--run", run_dir, "--dataset", yolo_data.tiles, "--conf", "1.0", "--out", tmp_path / "m")
    m, _ = written(proc)
    assert "no hard negatives" in proc.stderr
    assert m["details"]["hard_negatives"]["hard_negatives_kept"] == 0
    assert m["splits"]["train"]["empty_images"] == 0


def test_mine_refuses_a_bad_conf(run_dir, yolo_data, tmp_path):
    assert_bad_input(wt_yolo("mine", "--run", run_dir, "--dataset", yolo_data.tiles, "--conf", "2",
                             "--out", tmp_path / "m"), "conf")
    assert not (tmp_path / "m").exists()


def test_second_stage_starts_from_the_run_and_selects_by_count_error(mined, run_dir, tmp_path):
    """Fine-tune from the run on the mined tiles; an explicit nbs wins; best.pt by the lowest count error."""
    import torch

    _, mined_dir = mined
    m, d = written(wt_yolo("fit", "--dataset", mined_dir, "--model", run_dir, *QUICK, "--ultralytics.nbs", "64",
                           "--select.metric", "full/count_error", "--select.every", "1", "--out", tmp_path / "stage2"))
    run = read_manifest(d, "run")
    first = read_json(run_dir / "manifest.json")
    assert [p.kind for p in run.parents] == ["dataset", "run"] and run.parents[1].id == first["id"]
    sd = m["details"]["small_data"]
    assert sd["explicit"] == {"nbs": 64} and "nbs" not in sd["settings"]
    assert m["details"]["train_args"]["nbs"] == 64
    assert m["details"]["select"] == {"metric": "full/count_error", "mode": "min"}
    rows = read_metrics(d / "metrics.jsonl")
    assert all("full/count_error" in r for r in rows)  # --select.every 1
    best = torch.load(d / "train" / "weights" / "best.pt", map_location="cpu", weights_only=False)
    lowest = min(r["full/count_error"] for r in rows)
    assert best["train_metrics"]["fitness"] == -lowest  # lower error, higher fitness: what Ultralytics kept it by
    assert m["metrics"]["full/count_error"] == lowest


def test_background_photos_are_cut_like_the_tiles_and_mined_with_them(run_dir, yolo_data, tmp_path):
    """Two photos of bare ground join the pool: cut as the dataset's 640-px tiles were, predicted with the empty
    tiles, kept when the run fires on them; the mined split's one image root holds tiles and background tiles."""
    import numpy as np
    from PIL import Image
    from wt_core.geometry import tile_grid

    rng = np.random.default_rng(0)
    (tmp_path / "bg").mkdir()
    for k in range(2):
        ground = rng.normal((96, 112, 58), 12, (960, 1280, 3)).clip(0, 255).astype(np.uint8)
        Image.fromarray(ground).save(tmp_path / "bg" / f"bare_{k}.jpg")
    m, d = written(wt_yolo("mine", "--run", run_dir, "--dataset", yolo_data.tiles, "--conf", "0.0001",
                           "--ratio", "null", "--background", tmp_path / "bg", "--out", tmp_path / "m"))
    hn = m["details"]["hard_negatives"]
    per_photo = len(tile_grid(1280, 960, 640, 640, 0.2, None))
    assert hn["background_tiles"] == 2 * per_photo == 12
    assert hn["empty_tiles_predicted"] == hn["empty_tiles"]  # the background tiles are counted apart
    assert 1 <= hn["background_found"] == hn["background_kept"] <= hn["hard_negatives_kept"]
    coco = json.loads((d / m["artifacts"][m["splits"]["train"]["annotations"]]["path"]).read_text())
    root = d / m["splits"]["train"]["image_root"]
    background = [im for im in coco["images"] if im.get("background")]
    assert len(background) == hn["background_kept"] and all("hard_negative_score" in im for im in background)
    for im in coco["images"]:  # every image of the split is there, at its recorded size
        with Image.open(root / im["file_name"]) as img:
            assert img.size == (im["width"], im["height"])
    on_disk = sorted(p.name for p in (root / "background").iterdir())
    assert on_disk == sorted(Path(im["file_name"]).name for im in background)  # the others were deleted
    assert {im["width"] for im in background} == {640}
    positives = m["splits"]["train"]["images"] - m["splits"]["train"]["empty_images"]
    assert positives == hn["tiles_positive"]
