"""Small-data defaults: what wt-yolo chose on a small split, why, that it is recorded, and that explicit values win."""

from __future__ import annotations

import yaml
from helpers import read_json
from wt_core.metrics_log import read_metrics
from wt_yolo.args import YoloTrainArgs
from wt_yolo.small_data import apply_small_data_policy
from yolo_helpers import wt_yolo


def test_issue_example_26_tiles_batch_8_160_epochs():
    u, plan = apply_small_data_policy(YoloTrainArgs(batch=8, epochs=160), 26)
    assert plan.small and plan.updates_default == 80  # 4 batches an epoch, one step per 8 batches
    assert plan.updates == 640 and u.nbs == 8
    rec = plan.record()
    assert rec["settings"]["nbs"] == {"value": 8, "default": 64, "why": rec["settings"]["nbs"]["why"]}
    assert "nominal batch of 64" in rec["settings"]["nbs"]["why"]
    assert u.warmup_epochs is None  # 3 of 160 epochs is under 10 %: Ultralytics' own warm-up stays
    assert u.close_mosaic is None  # 10 of 160 epochs: Ultralytics' own
    assert u.flipud == 0.5
    # 4 batches an epoch: at Ultralytics' 0.03 the BatchNorm statistics need 152 batches (38 epochs) to forget the
    # untrained start, so the model in evaluation finds nothing for 38 epochs; at 0.3, 13 batches
    assert u.bn_momentum == 0.3 and rec["settings"]["bn_momentum"]["default"] == 0.03
    assert "152 batches, 38 epochs of 4 batches" in rec["settings"]["bn_momentum"]["why"]
    assert "bn_momentum" not in u.to_train_kwargs()  # applied by wt-yolo, not handed to Ultralytics


def test_bn_momentum_default_is_what_ultralytics_builds():
    from torch.nn.modules.batchnorm import _BatchNorm
    from ultralytics import YOLO
    from wt_yolo.small_data import BN_MOMENTUM

    momenta = {m.momentum for m in YOLO("yolo11n.yaml").model.modules() if isinstance(m, _BatchNorm)}
    assert momenta == {BN_MOMENTUM}


def test_ema_decay_and_ramp_replace_ultralytics_curve_on_its_own_ema():
    import math
    import types

    import torch
    from ultralytics.utils.torch_utils import ModelEMA
    from wt_yolo.fit import set_ema

    model = torch.nn.Linear(2, 1)
    trainer = types.SimpleNamespace(ema=ModelEMA(model))
    assert trainer.ema.decay(120) < 0.06  # Ultralytics' curve after 120 updates (40 epochs of 3): averages nothing
    set_ema(trainer, decay=0.9, tau=3)
    assert math.isclose(trainer.ema.decay(3), 0.9 * (1 - math.exp(-1)))
    with torch.no_grad():
        model.weight.fill_(1.0)
    start = trainer.ema.ema.weight.detach().clone()
    trainer.ema.updates = 1000  # the ramp is over: each update moves the average by 1 - 0.9 of the way
    trainer.ema.update(model)
    assert torch.allclose(trainer.ema.ema.weight, 0.9 * start + 0.1, atol=1e-6)
    set_ema(trainer, decay=None, tau=None)  # unset: Ultralytics' own curve
    assert math.isclose(trainer.ema.decay(2000), 0.9999 * (1 - math.exp(-1)))


def test_short_run_gets_short_warmup_and_late_mosaic_close():
    u, plan = apply_small_data_policy(YoloTrainArgs(batch=8, epochs=20), 60)
    assert (u.nbs, u.warmup_epochs, u.close_mosaic, u.bn_momentum) == (8, 2.0, 2, 0.25)  # 8 batches an epoch
    assert set(plan.settings) == {"nbs", "warmup_epochs", "close_mosaic", "flipud", "bn_momentum"}


def test_an_explicit_value_wins_even_when_it_equals_ultralytics_default():
    u, plan = apply_small_data_policy(YoloTrainArgs(batch=8, epochs=20, nbs=64, flipud=0.0, bn_momentum=0.03), 26)
    assert u.nbs == 64 and u.flipud == 0.0 and u.bn_momentum == 0.03
    assert "nbs" not in plan.settings and plan.explicit == {"nbs": 64, "flipud": 0.0, "bn_momentum": 0.03}
    assert plan.updates == plan.updates_default  # what the user's nominal batch gives


def test_large_split_and_ultralytics_defaults_change_nothing():
    u, plan = apply_small_data_policy(YoloTrainArgs(batch=16, epochs=100), 5000)
    assert not plan.small and not plan.settings and u == YoloTrainArgs(batch=16, epochs=100)
    u, plan = apply_small_data_policy(YoloTrainArgs(batch=8, epochs=20), 26, "ultralytics")
    assert plan.small and not plan.settings and u.to_train_kwargs().get("nbs") is None  # Ultralytics' own 64


def test_print_config_keeps_unset_as_null_and_explicit_values(tmp_path):
    cfg = yaml.safe_load(wt_yolo("fit", "--dataset", "ds", "--print_config").stdout)
    assert cfg["ultralytics"]["nbs"] is None and cfg["defaults"] == "wildtrain"
    assert cfg["select"]["metric"] is None
    cfg = yaml.safe_load(wt_yolo("fit", "--dataset", "ds", "--ultralytics.nbs", "64", "--print_config").stdout)
    assert cfg["ultralytics"]["nbs"] == 64


def test_fit_prints_and_records_the_settings_it_chose(trained, run_dir):
    m = read_json(run_dir / "manifest.json")
    sd = m["details"]["small_data"]
    assert sd["policy"] == "wildtrain" and sd["small"] is True
    n = m["details"]["train_split"]
    assert sd["train_images"] == read_json(run_dir / m["parents"][0]["path"])["splits"]["train"]["images"]
    assert sd["settings"]["nbs"]["value"] == 8 and sd["settings"]["nbs"]["default"] == 64
    assert m["details"]["train_args"]["nbs"] == 8  # what Ultralytics trained with
    assert m["details"]["train_args"]["flipud"] == 0.5
    assert sd["updates"] > sd["updates_default"]
    assert n == "train"
    stderr = trained.first_stderr
    assert "small training split" in stderr and "nbs = 8 (default 64)" in stderr
    momentum = sd["settings"]["bn_momentum"]["value"]
    assert 0.03 < momentum <= 0.3 and f"BatchNorm momentum {momentum:g} in " in stderr  # set in the model trained


def test_best_weights_follow_the_whole_image_metric(trained, run_dir):
    import torch

    m = read_json(run_dir / "manifest.json")
    assert m["details"]["select"] == {"metric": "full/mAP50", "mode": "max"}  # the harness's selection
    sel = m["details"]["selection"]
    assert sel["whole_images"] == 1 and sel["every"] == 2 and sel["validations"] >= 1
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert all("fitness" in r for r in rows), rows  # the tiles' own fitness, every epoch
    last = rows[-1]["epoch"]  # (the session's run was killed and resumed with one epoch more)
    assert ["full/mAP50" in r for r in rows] == [r["epoch"] % 2 == 0 or r["epoch"] == last for r in rows]
    rows = [r for r in rows if "full/mAP50" in r]  # an epoch without whole images is no candidate
    best = torch.load(run_dir / "train" / "weights" / "best.pt", map_location="cpu", weights_only=False)
    assert best["train_metrics"]["fitness"] == max(r["full/mAP50"] for r in rows)  # what Ultralytics kept it by
    assert m["details"]["best_epoch"] == next(r["epoch"] for r in rows if r["full/mAP50"] == max(
        s["full/mAP50"] for s in rows))
    assert m["metrics"]["full/mAP50"] == max(r["full/mAP50"] for r in rows)

