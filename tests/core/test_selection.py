"""Which metric picks best weights, and when whole images are validated (`wt_core.selection.plan_selection`)."""

from __future__ import annotations

import json

import pytest
from helpers import split_and_tile
from wt_core.errors import BadInput
from wt_core.readers import read_detect_dataset
from wt_core.selection import DetectSelectArgs, plan_selection


@pytest.fixture(scope="module")
def datasets(aerial, tmp_path_factory):
    base = tmp_path_factory.mktemp("selection")
    full, tiles = split_and_tile(aerial / "coco.json", base, 320)
    return read_detect_dataset(full), read_detect_dataset(tiles)


def test_tiled_val_split_is_validated_whole_by_default(datasets):
    full, tiles = datasets
    metric, whole, tile = plan_selection(tiles, "val", DetectSelectArgs(), 320, "wt-test")
    assert metric == "full/mAP50" and tile == 320
    val = json.loads(full.artifact_path(full.splits["val"].annotations).read_text())
    assert sorted(im.id for im in whole.images) == sorted(int(im["id"]) for im in val["images"]) != []


def test_every_0_never_validates_whole_images(datasets):
    _, tiles = datasets
    assert plan_selection(tiles, "val", DetectSelectArgs(every=0), 320, "wt-test") == ("fitness", None, 0)
    with pytest.raises(BadInput, match="select.every must be at least 1"):
        DetectSelectArgs(every=0, metric="full/count_error")


def test_untiled_dataset_selects_by_fitness_and_refuses_whole_metrics(datasets):
    full, _ = datasets
    assert plan_selection(full, "val", DetectSelectArgs(), 320, "wt-test") == ("fitness", None, 0)
    with pytest.raises(BadInput, match="needs a val split made by `wt-data tile`"):
        plan_selection(full, "val", DetectSelectArgs(metric="full/mAP50"), 320, "wt-test")
