"""The small-object head: yolo11n-p2.yaml (shipped by wt-yolo) builds with a stride-4 head, trains an epoch, and
the fit records the objects' size at the input size and why the head suits it (details.small_data.size)."""

from __future__ import annotations

import pytest
from helpers import call_cli, written
from wt_yolo.model import resolve_model


def test_p2_yaml_resolves_at_any_scale_and_has_a_stride_4_head():
    from ultralytics import YOLO

    path = resolve_model("yolo11n-p2.yaml")
    model = YOLO(path)
    assert [int(s) for s in model.model.stride] == [4, 8, 16, 32]
    assert model.model.yaml["scale"] == "n"
    assert resolve_model("yolo11s-p2.yaml").endswith("yolo11s-p2.yaml")


@pytest.fixture(scope="module")
def small_tiles(tmp_path_factory):
    """A realistic survey (animals of 25-60 px) of one train and one val photo, in tiles of 320 px."""
    import survey

    base = tmp_path_factory.mktemp("p2")
    survey.realistic_survey(base / "svy", train=1, val=1, test=0, seed=2, width=640, height=480)
    _, ds = written(call_cli("wt-data", "import", "--source", base / "svy" / "wildata", "--format", "wildata",
                             "--out", base / "ds"))
    _, tiles = written(call_cli("wt-data", "tile", "--dataset", ds, "--size", "320", "--out", base / "tiles"))
    return base, tiles


def test_p2_model_trains_an_epoch_and_the_fit_records_why(small_tiles):
    """At 160 px the 25-60 px animals of 320-px tiles are 12-30 px: the median is near 16 px; with P2 by name the
    record says so; the fit trains one epoch and writes best.pt."""
    base, tiles = small_tiles
    m, d = written(call_cli("wt-yolo", "fit", "--dataset", tiles, "--model", "yolo11n-p2.yaml",
                            "--train.epochs", "1", "--train.imgsz", "160", "--train.batch", "8",
                            "--train.workers", "0", "--device", "cpu", "--ultralytics.plots", "false",
                            "--out", base / "run"))
    size = m["details"]["small_data"]["size"]
    assert size["small_object_head"] is True and size["model"] == "yolo11n-p2.yaml"
    assert size["imgsz"] == 160 and 5 < size["median_px"] < 40 and "stride-4 head" in size["why"]
    assert (d / "train" / "weights" / "best.pt").is_file()


def test_a_default_model_on_small_objects_is_told_about_the_p2_head(small_tiles):
    """The same animals at 64 px input are about 5-12 px: the record recommends the stride-4 head."""
    from wt_core.manifest_io import read_manifest
    from wt_core.small_data import head_at_input, sides_at_input
    from wt_yolo.args import YoloTrainArgs
    from wt_yolo.small_data import apply_small_data_policy, measure_size

    _, tiles = small_tiles
    ds = read_manifest(tiles / "manifest.json", "dataset")
    _, plan = apply_small_data_policy(YoloTrainArgs(batch=8, epochs=10, imgsz=64), ds.splits["train"].images)
    measure_size(plan, ds, "train", 64, "yolo11n.yaml")
    assert plan.size["recommend_small_object_head"] is True and "yolo11n-p2.yaml" in plan.size["why"]
    assert plan.record()["size"] == plan.size
    assert not head_at_input(sides_at_input({"images": [], "annotations": []}, 64), 64, False, "m")["boxes"]
