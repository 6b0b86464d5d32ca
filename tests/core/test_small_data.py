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


def test_size_policy_tiles_hold_the_large_objects_and_keep_pixel_size():
    """Objects of 25-60 px (a real survey's): a tile of 512 holds the 95th percentile 8 times, input at tile size."""
    import random

    from wt_core.small_data import CONTEXT, TILE_SIZES, size_plan

    rng = random.Random(0)
    sides = [rng.uniform(25, 60) for _ in range(400)]
    p = size_plan(sides)
    assert p.tile.value == 512 and p.imgsz.value == 512 and p.small_object_head.value is False
    smaller = TILE_SIZES[TILE_SIZES.index(p.tile.value) - 1]
    assert smaller < CONTEXT * p.p95_px <= p.tile.value  # the smallest tile that does
    assert "95th-percentile" in p.tile.why and p.record()["tile"]["value"] == 512


def test_size_policy_enlarges_small_objects_then_asks_for_a_stride_4_head():
    from wt_core.small_data import SEEN_PX, size_plan

    p = size_plan([11.0] * 50)  # 11 px: enlarged 1.5x to 16 px, a stride-8 head then sees it
    assert p.tile.value == 256 and p.imgsz.value == 384 and not p.small_object_head.value
    p = size_plan([5.0] * 50)  # 5 px: 2x is not enough
    assert p.imgsz.value == 2 * p.tile.value and p.small_object_head.value is True
    assert f"under the {SEEN_PX} px" in p.small_object_head.why
    p = size_plan([50.0] * 10, max_image_side=300)  # 400 px wanted, but no tile larger than the photos
    assert p.tile.value == 256 and "largest image side" in p.tile.why
    assert size_plan([]).tile.value == 640  # nothing to measure: the default
