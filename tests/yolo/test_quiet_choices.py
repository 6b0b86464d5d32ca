"""Quiet wrong choices made loud (issue 17, item 5), through the real CLI.

- a GPU asked for on a machine without one: exit 2, one line, no .partial left (a plain rerun is not blocked);
- a dataset with only a train split: validated on its training images, said on stderr and kept in the manifest.
"""

from __future__ import annotations

import pytest
from helpers import assert_bad_input, written
from yolo_helpers import wt_yolo


def _no_gpu() -> bool:
    from wt_core.devices import cuda_count

    return cuda_count() == 0


@pytest.mark.skipif(not _no_gpu(), reason="this machine has a GPU")
def test_gpu_on_a_machine_without_one(yolo_data, tmp_path):
    out = tmp_path / "run"
    for device in ("0", "cuda:0", "0,1"):
        proc = wt_yolo("fit", "--dataset", yolo_data.tiles, "--device", device, "--out", out)
        assert_bad_input(proc, f"device '{device}' asks for a GPU, but this machine has none", "device")
        assert not out.exists() and not out.with_name("run.partial").exists()  # a plain rerun is not blocked
    proc = wt_yolo("predict", "--run", tmp_path / "nowhere", "--images", tmp_path, "--device", "0")
    assert_bad_input(proc, "asks for a GPU", "(device)")


def test_train_only_dataset_warns_and_records(yolo_data, tmp_path):
    """The imported set has the one split 'all': Ultralytics validates on it; the user is told and it is kept."""
    proc = wt_yolo("fit", "--dataset", yolo_data.base / "imported", "--train.epochs", "1",
                   "--train.imgsz", "64", "--train.batch", "4", "--train.workers", "0",
                   "--device", "cpu", "--ultralytics.plots", "false", "--out", tmp_path / "run",
                   timeout=600)
    m, _ = written(proc)
    assert m["details"]["train_split"] == m["details"]["val_split"] == "all"
    (warning,) = m["details"]["warnings"]
    assert "validates on the training split 'all'" in warning
    assert "WARNING: the dataset has no val or test split" in proc.stderr


def test_split_dataset_has_no_warning(yolo_data, tmp_path):
    """Stays quiet where there is nothing to say (the check reads the splits, it does not warn always)."""
    from wt_core.invocation import command
    from wt_core.manifest_io import read_manifest
    from wt_yolo.data import check_trainable

    @command("wt-test", "check")
    def check(ref):
        from wt_core.invocation import current

        ds = read_manifest(ref, "dataset")
        return check_trainable(ds, "train", "val"), list(current().warnings)

    assert check(yolo_data.full) == (("train", "val"), [])
