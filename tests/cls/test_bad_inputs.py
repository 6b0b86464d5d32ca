"""Bad inputs to wt-cls: each exits 2 with one `error:` line naming what is wrong (table in the README)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cls_helpers import FAST, camtrap_splits, import_folder
from helpers import assert_bad_input, call_cli, run_cli


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("cls-bad")
    return import_folder(camtrap_splits(base / "images", train=4, val=2, test=0), base / "ds")


@pytest.fixture(scope="module")
def detection_ds(aerial, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cls-det") / "ds"
    return Path(call_cli("wt-data", "import", "--source", aerial / "coco.json", "--out", out, check=True).stdout.strip())


@pytest.fixture(scope="module")
def one_class_ds(tmp_path_factory) -> Path:
    import synth

    base = tmp_path_factory.mktemp("cls-one")
    synth.make_camtrap(base / "images", per_class=4, seed=0, size=32, classes=["deer"])
    return import_folder(base / "images", base / "ds")


@pytest.fixture
def unreadable_ds(small, tmp_path) -> tuple[Path, Path]:
    """A copy of `small` whose images live in a folder of ours, one of them overwritten with garbage."""
    m = json.loads(small.read_text())
    ds_dir = tmp_path / "ds"
    shutil.copytree(small.parent, ds_dir)
    images = tmp_path / "images"
    for name, split in m["splits"].items():
        shutil.copytree(split["image_root"], images / name)
    data = json.loads((ds_dir / "manifest.json").read_text())
    for name, split in data["splits"].items():
        split["image_root"] = str(images / name)
    (ds_dir / "manifest.json").write_text(json.dumps(data))
    bad = sorted((images / "train" / "fox").glob("*.jpg"))[0]
    bad.write_bytes(b"this is not a jpeg")
    return ds_dir, bad


def fit(ds, *args):
    """`wt-cls fit` in this process (one case below runs it as a subprocess)."""
    return call_cli("wt-cls", "fit", "--dataset", ds, "--out", "run", *FAST, "--train.epochs", "1", *args)


def test_detection_dataset(detection_ds):
    assert_bad_input(fit(detection_ds), "this is a detect dataset", "wt-data crops", "task")
    assert not Path("run").exists() and not Path("run.partial").exists()


def test_dataset_with_one_class(one_class_ds):
    assert_bad_input(fit(one_class_ds), "1 class (deer)", "at least 2", "classes")


def test_unknown_backbone_suggests_closest_timm_names(small):
    line = assert_bad_input(fit(small, "--model.backbone", "resnet_18"), "unknown timm backbone 'resnet_18'",
                            "closest:", "model.backbone")
    assert "resnet18" in line
    assert not Path("run.partial").exists()


def test_unreadable_image_fails_naming_it(unreadable_ds):
    ds, bad = unreadable_ds
    assert_bad_input(fit(ds), "unreadable image", str(bad), "file_name")


def test_missing_split(small):
    assert_bad_input(fit(small, "--train.split", "all"), "no split 'all'", "splits")


def test_pretrained_weights_not_on_disk(small):
    assert_bad_input(fit(small, "--model.backbone", "resnet10t", "--model.pretrained", "true"),
                     "pretrained weights for resnet10t are not on disk", "--model.weights", "model.pretrained")


def test_weights_file_missing(small):
    assert_bad_input(fit(small, "--model.weights", "nope.pth"), "weights file not found", "nope.pth")


def test_mistyped_option_suggests_the_right_one(small):
    """As a user runs it, in a fresh process (the other cases run the same command line in this one)."""
    proc = run_cli("wt-cls", "fit", "--dataset", small, "--out", "run", *FAST, "--model.backbnoe", "resnet18")
    assert_bad_input(proc, "unknown option --model.backbnoe", "did you mean --model.backbone")


def test_out_of_range_value(small):
    assert_bad_input(fit(small, "--loss.label_smoothing", "1.5"), "--loss.label_smoothing must be in [0, 1); got 1.5", "loss.label_smoothing)")


def test_resume_with_nothing_to_resume(small):
    assert_bad_input(fit(small, "--resume"), "nothing to resume")


def test_validate_on_an_unknown_device(small):
    proc = run_cli("wt-cls", "validate", "--run", "nowhere.ckpt", "--dataset", small, "--device", "nope", "--out", "v")
    assert_bad_input(proc, "unknown device 'nope'")
    assert not Path("v.partial").exists()


def test_predict_with_a_file_that_is_no_checkpoint(small, tmp_path):
    fake = tmp_path / "model.ckpt"
    fake.write_bytes(b"\x00" * 64)
    proc = call_cli("wt-cls", "predict", "--run", fake, "--dataset", small, "--out", "p")
    assert_bad_input(proc, "not a wt-cls checkpoint", str(fake))
    assert not Path("p.partial").exists()


def test_a_refusal_after_training_keeps_the_trained_output(small):
    """A check that fails after training (the selection metric never logged) is a refusal (exit 2), and the
    trained output stays, resumable: a refusal never deletes a trained model."""
    assert_bad_input(fit(small, "--select.metric", "val/nope"), "the selection metric 'val/nope' was never logged",
                     "select.metric")
    assert (Path("run.partial") / "checkpoints" / "last.ckpt").is_file() and not Path("run").exists()
    assert (Path("run.partial") / "metrics.jsonl").read_text().count("\n") == 1
