"""The BatchNorm momentum of a wt-mmdet fit: read from the model as built, raised by the small-data policy on a
split of few batches an epoch, an explicit `--mmdet.norm_momentum` winning, and what the layers trained with.
An explicit value in training, and layers held by norm_eval: tests/mmdet/test_presets.py."""

from __future__ import annotations

import inspect

import pytest


@pytest.fixture(scope="module")
def built():
    """Each preset's model as MMDetection builds it from the preset's config."""
    from wt_mmdet.compat import prepare

    prepare()
    from mmdet.registry import MODELS
    from wt_mmdet.config import load_config, presets, resolve_model

    return {name: MODELS.build(load_config(resolve_model(name)[0]).model) for name in presets()}


def test_every_preset_builds_its_batchnorm_with_momentum_0_1(built):
    from mmdet.models.backbones import CSPNeXt
    from wt_mmdet.small_data import batch_norms, built_momentum

    for name, model in built.items():
        assert built_momentum(batch_norms(model)) == 0.1, name
    # not CSPNeXt's own 0.03: RTMDet's config gives norm_cfg=dict(type='SyncBN'), which drops it; hence the
    # policy reads the momentum from the built model instead of a table
    assert inspect.signature(CSPNeXt).parameters["norm_cfg"].default["momentum"] == 0.03
    assert len(batch_norms(built["retinanet_r18_fpn"])) == 20  # ResNet-18; the head has no normalization


def test_policy_raises_the_built_momentum_and_an_explicit_value_wins(built):
    from wt_mmdet.config import MmdetTrainArgs
    from wt_mmdet.small_data import apply_small_data_policy, batches_per_epoch, decide_norm_momentum

    model = built["retinanet_r18_fpn"]
    t, p = apply_small_data_policy(MmdetTrainArgs(epochs=12, batch=2), 26)  # wt-mmdet's defaults on 26 tiles
    assert batches_per_epoch(26, 2) == 13
    assert decide_norm_momentum(p, t, model, 13) == 0.162  # forgets the start (to 1 %) in 2 epochs: 26 batches
    c = p.record()["settings"]["norm_momentum"]
    assert c["value"] == 0.162 and c["default"] == 0.1
    assert "only after 44 batches, 3 epochs of 13 batches" in c["why"]  # at 0.1
    t, p = apply_small_data_policy(MmdetTrainArgs(epochs=12, batch=8), 24)  # 3 batches an epoch: the cap
    assert decide_norm_momentum(p, t, model, batches_per_epoch(24, 8)) == 0.3
    t, p = apply_small_data_policy(MmdetTrainArgs(epochs=12, batch=2, norm_momentum=0.1), 26)
    assert decide_norm_momentum(p, t, model, 13) == 0.1  # explicit, even the model's own
    assert "norm_momentum" not in p.settings and p.explicit["norm_momentum"] == 0.1
    t, p = apply_small_data_policy(MmdetTrainArgs(epochs=12, batch=2), 26, "mmdet")
    assert decide_norm_momentum(p, t, model, 13) is None and not p.settings  # the model's own
    t, p = apply_small_data_policy(MmdetTrainArgs(epochs=12, batch=2), 5000)  # 2,500 batches an epoch
    assert decide_norm_momentum(p, t, model, 2500) is None and "norm_momentum" not in p.settings
    assert batches_per_epoch(26, 2, world_size=2) == 7  # each process's sampler takes 13 images


def test_fit_records_and_trains_with_the_chosen_momentum(retina):
    """The CLI fixture (4 images at batch 2: 2 batches an epoch) gets 0.3; the line is read off the live model
    after the first training iteration of the resumed run (the momentum is not in a checkpoint)."""
    sd = retina["manifest"]["details"]["small_data"]
    c = sd["settings"]["norm_momentum"]
    assert (c["value"], c["default"]) == (0.3, 0.1) and "at 0.3, after 13 batches" in c["why"]
    assert "norm_momentum = 0.3 (default 0.1)" in retina["stderr"]
    assert "BatchNorm momentum 0.3 in 20 layers\n" in retina["stderr"]

