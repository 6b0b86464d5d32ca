"""Every preset trains from scratch, tests and predicts on CPU with the pure-torch ops backend.

RetinaNet goes through the command line in test_fit_test_predict.py; the other presets go
through the Python API (the same functions the CLI maps to) in this one process, so
MMDetection is imported once. Models are narrowed with cfg_options to keep CPU time small.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

NARROW = {
    "fcos_r18_fpn": {"model.neck.out_channels": 64, "model.bbox_head.in_channels": 64,
                     "model.bbox_head.feat_channels": 64},
    "faster_rcnn_r18_fpn": {"model.neck.out_channels": 64, "model.rpn_head.in_channels": 64,
                            "model.rpn_head.feat_channels": 64,
                            "model.roi_head.bbox_roi_extractor.out_channels": 64,
                            "model.roi_head.bbox_head.in_channels": 64,
                            "model.roi_head.bbox_head.fc_out_channels": 128},
    "rtmdet_tiny": {},
}
BATCHNORMS = {"fcos_r18_fpn": 20, "faster_rcnn_r18_fpn": 20, "rtmdet_tiny": 76}
"""BatchNorm layers of each preset (FCOS's head has GroupNorm)."""
HELD = {"rtmdet_tiny": {"model.backbone.norm_eval": True}}
"""RTMDet trains with its backbone's 33 BatchNorm layers held in eval mode (norm_eval, as MMDetection's configs
for pretrained ResNets have it): their statistics never move, whatever the momentum."""


def test_every_preset_is_listed():
    from wt_mmdet.config import presets

    assert set(presets()) == set(NARROW) | {"retinanet_r18_fpn"}


@pytest.mark.parametrize("preset", list(NARROW))
def test_preset_fit_test_predict(preset, small_ds, tmp_path, caplog):
    import wt_mmdet

    caplog.set_level(logging.INFO, logger="wildtrain")
    run = wt_mmdet.fit(str(small_ds), model=preset,
                       train={"epochs": 1, "batch": 2, "imgsz": 320, "workers": 0, "val_split": "all"},
                       mmdet={"warmup_iters": 1, "norm_momentum": 0.05}, cfg_options={**NARROW[preset],
                                                                                     **HELD.get(preset, {})},
                       out=tmp_path / "run")
    assert run.framework == "mmdet" and run.details["model"] == preset
    # an explicit BatchNorm momentum wins over the policy's (4 images at batch 2 would get 0.3), recorded, and is
    # what every layer had after the first training iteration
    assert run.details["small_data"]["explicit"]["norm_momentum"] == 0.05
    assert "norm_momentum" not in run.details["small_data"]["settings"]
    trained = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("BatchNorm momentum"))
    assert trained.startswith(f"BatchNorm momentum 0.05 in {BATCHNORMS[preset]} layers")
    assert ("(33 held in eval mode by norm_eval" in trained) == (preset in HELD)
    assert [r["epoch"] for r in map(json.loads, (run.root / "metrics.jsonl").read_text().splitlines())] == [1]
    tested = wt_mmdet.test(str(run.path), str(small_ds), split="all", conf=0.0, out=tmp_path / "test")
    results = json.loads(tested.artifact_path("predictions.all").read_text())
    assert {r["category_id"] for r in results} <= {0, 1, 2}
    if preset != "rtmdet_tiny":  # after 2 iterations RTMDet's boxes are still inverted (filtered as too small)
        assert results and "bbox_mAP" in tested.details["metrics"]
    if preset == "rtmdet_tiny":  # predict a dataset split, whole images
        pred = wt_mmdet.predict(str(run.path), dataset=str(small_ds), split="all", conf=0.0, out=tmp_path / "pred")
        assert pred.splits == {"all": "predictions.all"} and pred.slicing is None
        assert isinstance(json.loads(pred.artifact_path("predictions.all").read_text()), list)
    else:
        pred = wt_mmdet.predict(str(run.path), images=Path(small_ds).parent / "aerial" / "images",
                                slicing={"tile": 256}, conf=0.0, out=tmp_path / "pred")
        assert pred.slicing["tile"] == 256
    assert pred.run_id == run.id
