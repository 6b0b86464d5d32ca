"""Inputs stay intact and projects move (issue 17, items 2 and 3), through the real CLI.

An --out that is, holds or lies inside an input manifest's directory or a source
folder is refused (exit 2, one line naming the input's file and `out`) and nothing
is written or removed. A project tree moved whole still works: parents are found
relative to the child first, or under WT_PARENTS_ROOT; the sha256 still guards them.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from data_helpers import wt_data
from helpers import assert_bad_input, manifest_of, run_cli
from PIL import Image


def tiny_coco(root: Path, n: int = 6) -> Path:
    (root / "images").mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (120, 90), (30 * i, 90, 60)).save(root / "images" / f"im{i}.jpg")
    doc = {"images": [{"id": i + 1, "file_name": f"im{i}.jpg", "width": 120, "height": 90} for i in range(n)],
           "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1 + i % 2, "bbox": [10, 10, 30, 20]}
                           for i in range(n)],
           "categories": [{"id": 1, "name": "elephant"}, {"id": 2, "name": "zebra"}]}
    (root / "images" / "coco.json").write_text(json.dumps(doc))
    return root / "images" / "coco.json"


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path) -> Path:
    """proj/raw (imported from COCO) and proj/split (its train/val split)."""
    coco = tiny_coco(tmp_path / "src")
    proj = tmp_path / "proj"
    wt_data("import", "--source", coco, "--out", proj / "raw", check=True)
    wt_data("split", "--dataset", proj / "raw", "--ratios", "0.5", "0.5", "--names", "train", "val",
            "--out", proj / "split", check=True)
    return proj


def test_out_equal_to_the_input_is_refused_even_with_overwrite(project):
    before = snapshot(project)
    proc = wt_data("split", "--dataset", project / "split", "--ratios", "0.5", "0.5", "--names", "train", "val",
                   "--out", project / "split", "--overwrite")
    line = assert_bad_input(proc, "--out is the input dataset's directory", "(" + str(project / "split" / "manifest.json"),
                            ", out)")
    assert "choose another --out" in line
    assert snapshot(project) == before  # nothing overwritten, nothing added
    wt_data("stats", "--dataset", project / "split", check=True)  # and it still reads


def test_out_holding_or_inside_an_input_or_a_parent_is_refused(project):
    before = snapshot(project)
    cases = {  # --out: what the line says
        project: "--out holds the input dataset's directory",
        project / "split" / "tiles": "--out lies inside the input dataset's directory",
        project / "raw": "a parent of an input",  # replacing the parent would make the input unreadable
    }
    for out, fragment in cases.items():
        proc = wt_data("tile", "--dataset", project / "split", "--size", "64", "--out", out, "--overwrite")
        assert_bad_input(proc, fragment, ", out)")
    assert snapshot(project) == before
    assert not list(project.parent.glob("**/*.partial"))


def test_out_inside_an_image_folder_source_is_refused(tmp_path):
    """The next import of the folder would otherwise gain a class named after the output."""
    import synth

    synth.make_camtrap(tmp_path / "cam", per_class=2, size=32, classes=["deer", "fox"])
    before = snapshot(tmp_path / "cam")
    proc = wt_data("import", "--source", tmp_path / "cam", "--format", "imagefolder", "--out", tmp_path / "cam" / "ds")
    assert_bad_input(proc, "--out lies inside the source folder", f"({tmp_path / 'cam'}, out)")
    # the default output under the current directory is refused there too
    proc = wt_data("import", "--source", ".", "--format", "imagefolder", cwd=tmp_path / "cam")
    assert_bad_input(proc, "--out lies inside the source folder")
    assert snapshot(tmp_path / "cam") == before
    m = manifest_of(wt_data("import", "--source", tmp_path / "cam", "--format", "imagefolder",
                            "--out", tmp_path / "ds", check=True))
    assert m["classes"] == ["deer", "fox"]


def test_out_holding_the_source_annotations_is_refused(tmp_path):
    coco = tiny_coco(tmp_path / "src")
    before = snapshot(tmp_path / "src")
    proc = wt_data("import", "--source", coco, "--out", tmp_path / "src", "--overwrite")
    assert_bad_input(proc, "--out holds the source file", f"({coco}, out)")
    assert snapshot(tmp_path / "src") == before


def test_two_paths_on_stdin_are_refused(project):
    both = f"{project / 'raw'}\n{project / 'split'}\n"
    proc = run_cli("wt-data", "tile", "--dataset", "-", "--size", "64", "--out", project.parent / "t", stdin=both)
    assert_bad_input(proc, "standard input holds 2 paths", "'-' reads exactly one manifest path", "(<stdin>)")
    assert not (project.parent / "t").exists() and not (project.parent / "t.partial").exists()
    one = run_cli("wt-data", "stats", "--dataset", "-", "--json", stdin=f"{project / 'split'}\n", check=True)
    assert json.loads(one.stdout)


def test_a_moved_project_works(project, tmp_path):
    """mv proj proj2: tile reads proj2/split, its lineage reaches the raw import; a changed parent is refused."""
    split_before = json.loads((project / "split" / "manifest.json").read_text())
    (parent,) = split_before["parents"]
    assert parent["relpath"] == "../raw/manifest.json" and Path(parent["path"]).is_absolute()
    moved = tmp_path / "proj2"
    shutil.move(project, moved)
    tiles = manifest_of(wt_data("tile", "--dataset", moved / "split", "--size", "64", "--out", tmp_path / "tiles",
                                check=True))
    from wt_core.manifest_io import lineage

    chain = lineage(tmp_path / "tiles")
    assert [m.id for m in chain] == [tiles["id"], split_before["id"], parent["id"]]
    assert chain[-1].path == (moved / "raw" / "manifest.json").resolve()
    # a changed parent is still refused, wherever it is found
    raw = moved / "raw" / "manifest.json"
    doc = json.loads(raw.read_text())
    doc["details"]["note"] = "edited"
    raw.write_text(json.dumps(doc))
    proc = wt_data("tile", "--dataset", moved / "split", "--size", "64", "--out", tmp_path / "tiles2")
    assert_bad_input(proc, "has changed since this manifest was made", "parents[0].sha256")


def test_parents_root_finds_a_parent_moved_apart(project, tmp_path):
    """An old manifest (no relpath), or a child moved without its parent: WT_PARENTS_ROOT points at the tree."""
    split = project / "split" / "manifest.json"
    doc = json.loads(split.read_text())
    for p in doc["parents"]:
        p.pop("relpath")  # as manifests made before relpath existed
    split.write_text(json.dumps(doc, indent=2))
    (tmp_path / "elsewhere").mkdir()
    shutil.move(project / "raw", tmp_path / "elsewhere" / "raw")
    proc = wt_data("tile", "--dataset", project / "split", "--size", "64", "--out", tmp_path / "t1")
    assert_bad_input(proc, "is missing", "WT_PARENTS_ROOT", "parents[0].path")
    env = {"WT_PARENTS_ROOT": os.pathsep.join([str(tmp_path / "nowhere"), str(tmp_path / "elsewhere")])}
    m = manifest_of(wt_data("tile", "--dataset", project / "split", "--size", "64", "--out", tmp_path / "t1",
                            env=env, check=True))
    assert m["parents"][0]["relpath"] == "../proj/split/manifest.json"


def test_out_under_the_image_root_is_allowed_but_not_the_root_itself(tmp_path):
    """--images is read by file name, never scanned: `--images /` works (the root holds every --out)."""
    coco = tiny_coco(tmp_path / "src")
    doc = json.loads(coco.read_text())
    for im in doc["images"]:
        im["file_name"] = str(coco.parent / im["file_name"])  # absolute names under the root /
    coco.unlink()
    coco = tmp_path / "a.json"
    coco.write_text(json.dumps(doc))
    m = manifest_of(wt_data("import", "--source", coco, "--images", "/", "--out", tmp_path / "ds", check=True))
    assert m["splits"]["all"]["images"] == 6
    images = tmp_path / "src" / "images"
    proc = wt_data("import", "--source", coco, "--images", images, "--out", images, "--overwrite")
    assert_bad_input(proc, "--out is the image folder")
    proc = wt_data("import", "--source", coco, "--images", images, "--out", tmp_path / "src", "--overwrite")
    assert_bad_input(proc, "--out holds the image folder")
    assert len(list(images.iterdir())) == 6
