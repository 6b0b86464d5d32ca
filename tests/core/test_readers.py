"""wt_core.readers (one reader per manifest kind) and the option-section coercion of `@command`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from wt_core.errors import BadInput
from wt_core.invocation import command, current
from wt_core.manifest import DatasetManifest, DatasetSplit, RunManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.readers import read_dataset, read_detect_dataset, read_run, run_weights


def dataset(out: Path, task: str = "detect", classes: tuple[str, ...] = ("zebra",)) -> DatasetManifest:
    o = Output("wt-test", "make", out)
    o.path("train.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    o.add("train", "train.json")
    return o.commit(build(DatasetManifest, id=o.id, task=task, classes=list(classes),
                          splits={"train": DatasetSplit(annotations="train", image_root="/data")}))


def run(out: Path, ds: DatasetManifest, framework: str = "yolo", roles: tuple[str, ...] = ("best", "last")):
    o = Output("wt-test", "fit", out)
    for role in roles:
        o.path(f"{role}.pt").write_bytes(role.encode())
        o.add(role, f"{role}.pt")
    return o.commit(build(RunManifest, id=o.id, parents=[ds], framework=framework, task="detect",
                          classes=ds.classes, dataset_id=ds.id, weights={r: r for r in roles}))


def test_dataset_readers_check_the_task_and_the_classes(tmp_path):
    det, cls = dataset(tmp_path / "det"), dataset(tmp_path / "cls", task="classify", classes=("a", "b"))
    assert read_detect_dataset(tmp_path / "det").id == det.id
    assert read_dataset(cls, "classify") is cls  # an already read manifest is taken as it is
    with pytest.raises(BadInput) as e:
        read_detect_dataset(tmp_path / "cls")
    assert "this is a classify dataset" in e.value.line() and e.value.field == "task"
    with pytest.raises(BadInput) as e:
        read_dataset(tmp_path / "det", "classify")
    assert "wt-data crops" in e.value.message
    dataset(tmp_path / "none", classes=())
    with pytest.raises(BadInput, match="no classes"):
        read_detect_dataset(tmp_path / "none")


def test_run_reader_checks_the_framework_and_weights_never_fall_back(tmp_path):
    ds = dataset(tmp_path / "ds")
    r = run(tmp_path / "run", ds, roles=("last",))
    assert read_run(tmp_path / "run", "yolo").id == r.id
    assert read_run(tmp_path / "run", ("mmdet", "yolo")).id == r.id
    with pytest.raises(BadInput) as e:
        read_run(tmp_path / "run", "mmdet")
    assert "this is a yolo run" in e.value.message and e.value.field == "framework"
    assert run_weights(r, "last").read_bytes() == b"last"
    with pytest.raises(BadInput) as e:  # no best weights: refused, not replaced by last
        run_weights(r)
    assert e.value.line() == f"error: the run records no best weights (it has: last) ({r.path}, weights.best)"
    r.artifact_path("last").unlink()  # a manifest read earlier whose file went away since
    with pytest.raises(BadInput) as e:
        run_weights(r, "last")
    assert "last.pt" in e.value.message and "missing" in e.value.message


@dataclass
class Section:
    tile: int = 640
    overlap: float = 0.2

    def __post_init__(self) -> None:
        if not 0 <= self.overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap}")


@command("wt-test", "sections")
def sections(a: Section = Section(tile=0), b: Section | None = None) -> tuple[Section, Section | None, dict]:
    return a, b, current().config


def test_a_dict_becomes_the_section_over_the_parameters_default():
    a, b, config = sections(a={"overlap": 0.5}, b={"tile": 320})
    assert a == Section(tile=0, overlap=0.5)  # the command's default (tile 0), not the class's
    assert b == Section(tile=320, overlap=0.2)
    assert config["a"] == {"tile": 0, "overlap": 0.5}  # the recorded config is the section's
    with pytest.raises(BadInput) as e:
        sections(a={"tiles": 3})
    assert "unknown key 'tiles'" in e.value.message and e.value.field == "a.tiles"
    with pytest.raises(BadInput, match="overlap must be in"):
        sections(a={"overlap": 2.0})
