"""The small-data policy shared by the trainers (wt_core.small_data); wt-yolo's use of it is in tests/yolo."""

from __future__ import annotations

from wt_core.small_data import plan


def test_the_policy_for_mmdetection_counts_the_warmup_in_iterations():
    """wt-mmdet shares the policy: 26 tiles at batch 2 for 12 epochs are 156 iterations, 100 of them warm-up."""
    names, defaults = {"warmup_updates": "warmup_iters"}, {"warmup_iters": 100}
    p = plan(26, 2, 12, names=names, defaults=defaults, explicit={}, framework="mmdet")
    assert p.updates == 156 and p.settings["warmup_iters"].value == 16 and p.settings["warmup_iters"].default == 100
    assert not plan(26, 2, 12, names=names, defaults=defaults, explicit={"warmup_iters": 100}).settings
    assert not plan(26, 2, 12, names=names, defaults=defaults, explicit={}, policy="mmdet").settings
    assert not plan(5000, 2, 12, names=names, defaults=defaults, explicit={}).settings  # 30,000 iterations


def test_wt_mmdet_fills_the_warmup_and_keeps_an_explicit_one():
    from wt_mmdet.config import MmdetTrainArgs
    from wt_mmdet.small_data import apply_small_data_policy

    t, p = apply_small_data_policy(MmdetTrainArgs(epochs=12, batch=2), 26)
    assert t.warmup_iters == 16 and p.record()["settings"]["warmup_iters"]["default"] == 100
    t, _ = apply_small_data_policy(MmdetTrainArgs(epochs=12, batch=2, warmup_iters=100), 26)
    assert t.warmup_iters == 100
    t, _ = apply_small_data_policy(MmdetTrainArgs(epochs=12, batch=2), 26, "mmdet")
    assert t.warmup_iters == 100
