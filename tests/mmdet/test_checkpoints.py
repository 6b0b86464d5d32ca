"""Checkpoint loading: weights only for anything we cannot vouch for, full pickle for our own files."""

from __future__ import annotations

import argparse

import pytest

torch = pytest.importorskip("torch")

from wt_core.errors import BadInput  # noqa: E402
from wt_core.hashing import file_sha256  # noqa: E402
from wt_mmdet import checkpoints  # noqa: E402


def pickled_checkpoint(path):
    torch.save({"state_dict": {"w": torch.ones(2)}, "meta": argparse.Namespace(evil=True)}, path)
    return path


def test_plain_state_dict_loads_weights_only(tmp_path):
    p = tmp_path / "plain.pth"
    torch.save({"state_dict": {"w": torch.arange(3.0)}}, p)
    assert torch.equal(checkpoints.load(p)["state_dict"]["w"], torch.arange(3.0))


def test_foreign_checkpoint_with_pickled_objects_is_refused(tmp_path):
    p = pickled_checkpoint(tmp_path / "foreign.pth")
    with pytest.raises(BadInput, match="pickled objects") as e:
        checkpoints.load(p)
    assert e.value.field == "checkpoint"


def test_ledger_trusts_only_files_with_the_recorded_digest(tmp_path):
    p = pickled_checkpoint(tmp_path / "epoch_1.pth")
    checkpoints.record(tmp_path, p)
    checkpoints._trusted.clear()
    assert checkpoints.trust_ledger(tmp_path) == {"epoch_1.pth": file_sha256(p)}
    assert checkpoints.load(p)["meta"].evil is True
    checkpoints._trusted.clear()
    torch.save({"meta": argparse.Namespace(other=1)}, p)  # replaced by someone else
    assert checkpoints.trust_ledger(tmp_path) == {}
    with pytest.raises(BadInput):
        checkpoints.load(p)


def test_safe_loading_routes_mmengine_and_restores_its_loader(tmp_path):
    pytest.importorskip("mmengine")
    from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

    before = CheckpointLoader._schemes[""]
    p = pickled_checkpoint(tmp_path / "x.pth")
    with checkpoints.safe_loading(), pytest.raises(BadInput):
        _load_checkpoint(str(p), map_location="cpu")
    assert CheckpointLoader._schemes[""] is before
