"""The invocation's record of inputs and outputs (issue 17, item 2), called in-process.

Whichever comes first, the input or the Output, an output that is, holds or lies in
an input is refused; a refused command leaves no fresh DIR.partial, a resumed one
keeps its work; a command reading its own committed output is not refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from wt_core.errors import BadInput
from wt_core.invocation import add_input, command
from wt_core.manifest import DatasetManifest, DatasetSplit
from wt_core.manifest_io import build, read_manifest
from wt_core.outputs import Output


@command("wt-test", "make")
def make(out: Path, parents: list[str] = (), overwrite: bool = False) -> DatasetManifest:
    ins = [read_manifest(p) for p in parents]
    o = Output("wt-test", "make", out, overwrite=overwrite)
    o.path("ann.json").write_text('{"images": [], "annotations": [], "categories": []}')
    o.add("ann", "ann.json")
    m = o.commit(build(DatasetManifest, id=o.id, parents=ins, task="detect", classes=["a"],
                       splits={"all": DatasetSplit(annotations="ann", image_root=".")}))
    read_manifest(m.path)  # its own output, read back after the commit: not an input
    return m


@command("wt-test", "late")
def late(out: Path, source: Path, resume: bool = False) -> None:
    """Makes its output first and reads an input after it (the order some commands have)."""
    o = Output("wt-test", "late", out, resume=resume)
    o.path("work.txt").write_text("progress")
    add_input(source, "source folder")


def test_output_made_before_the_input_is_refused_and_removed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(BadInput, match="--out lies inside the source folder") as e:
        late(src / "out", src)
    assert e.value.field == "out" and e.value.file == str(src.resolve())
    assert not (src / "out.partial").exists() and not (src / "out").exists()


def test_a_resumed_output_keeps_its_work_when_refused(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "out.partial").mkdir()
    with pytest.raises(BadInput):
        late(src / "out", src, resume=True)
    assert (src / "out.partial" / "work.txt").read_text() == "progress"


def test_parents_and_grandparents_are_inputs(tmp_path):
    a = make(tmp_path / "a")
    b = make(tmp_path / "b", [str(a.path)])
    assert b.parents[0].relpath == "../a/manifest.json"
    for out in (tmp_path / "a", tmp_path / "b", tmp_path / "b" / "x", tmp_path):
        with pytest.raises(BadInput, match="--out (is|holds|lies inside) the"):
            make(out, [str(b.path)], overwrite=True)
    assert read_manifest(b.path).id == b.id  # intact
    c = make(tmp_path / "c", [str(b.path)])
    assert c.parents[0].relpath == "../b/manifest.json"


def test_outside_a_command_nothing_is_recorded(tmp_path):
    """The Python API below the commands (read_manifest alone) keeps no record between calls."""
    a = make(tmp_path / "a")
    read_manifest(a.path)
    o = Output("wt-test", "free", tmp_path / "a" / "inner")
    assert o.dir.is_dir()
