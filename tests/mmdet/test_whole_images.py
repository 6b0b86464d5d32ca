"""wt-mmdet fit on tiles: best.pth is the epoch the whole-image mAP50 selects, validated every N epochs."""

from __future__ import annotations

import json

from helpers import read_json, run_cli, split_and_tile
from mmdet_helpers import FIT_ARGS, SMALL_RETINANET
from wt_core.metrics_log import read_metrics


def test_best_weights_follow_the_whole_image_metric(tmp_path):
    import synth
    import torch

    synth.make_aerial(tmp_path / "raw", images=4, width=480, height=320, seed=2, empty_every=0)
    _, tiles = split_and_tile(tmp_path / "raw" / "coco.json", tmp_path, 160)
    args = [a for a in FIT_ARGS if a not in ("--train.val_split", "all")]
    proc = run_cli("wt-mmdet", "fit", "--dataset", tiles, "--model", "retinanet_r18_fpn", "--train.epochs", "3",
                   *args, "--train.imgsz", "160", "--cfg_options", json.dumps(SMALL_RETINANET),
                   "--out", tmp_path / "run", cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    m = read_json(tmp_path / "run" / "manifest.json")
    assert m["details"]["select"] == {"metric": "full/mAP50", "mode": "max"}
    sel = m["details"]["selection"]
    assert sel["whole_images"] == 1 and sel["every"] == 2 and sel["validations"] == 2
    rows = read_metrics(tmp_path / "run")
    assert ["full/mAP50" in r for r in rows] == [False, True, True]  # every 2 epochs, and the last
    assert all("full/count_error" in r for r in rows[1:])
    scored = [r for r in rows if "full/mAP50" in r]
    best = max(r["full/mAP50"] for r in scored)
    best_epoch = next(r["epoch"] for r in scored if r["full/mAP50"] == best)  # the first of equals
    assert m["details"]["best_epoch"] == best_epoch and m["metrics"]["full/mAP50"] == best
    ckpt = torch.load(tmp_path / "run" / "weights" / "best.pth", map_location="cpu", weights_only=False)
    assert ckpt["meta"]["epoch"] == best_epoch  # the checkpoint of the selected epoch, kept by the hook
    assert "best weights chosen by full/mAP50" in proc.stderr
    assert not list((tmp_path / "run" / "mmdet").glob("*.pth"))
