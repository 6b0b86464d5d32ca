"""Manifests: write, read back, validate, and a table of refusals (exit 2, one line naming file and field)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from wt_core.errors import BadInput
from wt_core.hashing import file_sha256, manifest_digest
from wt_core.invocation import command
from wt_core.manifest import SCHEMA, DatasetManifest, DatasetSplit, RunManifest, json_schemas
from wt_core.manifest_io import build, lineage, read_manifest
from wt_core.outputs import Output


@command("wt-test", "make")
def make_dataset(out: Path, classes: tuple[str, ...] = ("zebra", "giraffe")) -> DatasetManifest:
    o = Output("wt-test", "make", out)
    o.path("train.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    o.add("train", "train.json")
    m = build(DatasetManifest, id=o.id, task="detect", classes=list(classes),
              splits={"train": DatasetSplit(annotations="train", image_root="/data/images")})
    return o.commit(m)


def test_write_then_read_back(tmp_path):
    m = make_dataset(tmp_path / "ds")
    data = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert data["schema"] == SCHEMA and data["kind"] == "dataset" and data["classes"] == ["zebra", "giraffe"]
    assert data["producer"]["tool"] == "wt-test" and data["producer"]["command"] == "make"
    assert data["producer"]["config"]["classes"] == ["zebra", "giraffe"]
    art = data["artifacts"]["train"]
    assert art["path"] == "train.json" and art["sha256"] == file_sha256(tmp_path / "ds" / "train.json")
    assert data["created"].endswith("Z") or "+00:00" in data["created"]
    back = read_manifest(tmp_path / "ds", "dataset")
    assert back.id == m.id and back.path == (tmp_path / "ds" / "manifest.json").resolve()
    assert not (tmp_path / "ds.partial").exists()


def test_moved_directory_still_reads(tmp_path):
    make_dataset(tmp_path / "ds")
    shutil.move(tmp_path / "ds", tmp_path / "moved")
    assert read_manifest(tmp_path / "moved").kind == "dataset"


def test_lineage_and_parent_digest(tmp_path):
    ds = make_dataset(tmp_path / "ds")

    @command("wt-test", "fit")
    def fit(out: Path) -> RunManifest:
        o = Output("wt-test", "fit", out)
        o.path("best.pt").write_bytes(b"weights")
        o.add("best", "best.pt")
        return o.commit(build(RunManifest, id=o.id, parents=[ds], framework="yolo", task="detect",
                              classes=ds.classes, dataset_id=ds.id, weights={"best": "best"}))

    run = fit(tmp_path / "run")
    assert run.parents[0].sha256 == manifest_digest(json.loads(ds.path.read_text()))
    chain = lineage(tmp_path / "run")
    assert [m.kind for m in chain] == ["run", "dataset"] and chain[1].id == ds.id
    # a view recorded later does not invalidate the child
    data = json.loads(ds.path.read_text())
    data["views"] = {"yolo": "views/yolo"}
    ds.path.write_text(json.dumps(data))
    assert read_manifest(tmp_path / "run").id == run.id


def test_json_schema_for_every_kind():
    schemas = json_schemas()
    assert set(schemas) == {"dataset", "run", "predictions", "evaluation", "study", "model"}
    assert "schema" in schemas["dataset"]["properties"]


def _corrupt(tmp_path: Path, how: str) -> tuple[Path, str]:
    """A dataset directory broken in one way, and the fragment its error line must hold."""
    make_dataset(tmp_path / "ds")
    d = tmp_path / "ds"
    mf = d / "manifest.json"
    data = json.loads(mf.read_text())
    if how == "invalid JSON":
        mf.write_text("{'schema': nope}")
        return d, "invalid JSON"
    if how == "truncated file":
        mf.write_text(mf.read_text()[:120])
        return d, "truncated JSON"
    if how == "wrong kind":
        return d, "expected a run manifest"
    if how == "unknown schema major":
        data["schema"] = "wildtrain.manifest/2"
        field = "schema"
    elif how == "missing artifact":
        (d / "train.json").unlink()
        return d, "artifacts.train"
    elif how == "sha256 mismatch":
        (d / "train.json").write_text(json.dumps({"images": [1], "annotations": [], "categories": []})[:62].ljust(62))
        data["artifacts"]["train"]["bytes"] = 62
        field = "artifacts.train.sha256"
    elif how == "parent missing":
        data["parents"] = [{"kind": "dataset", "id": "x", "path": str(tmp_path / "gone" / "manifest.json"), "sha256": "0" * 64}]
        field = "parents[0].path"
    elif how == "path escapes directory":
        (tmp_path / "outside.json").write_text("{}")
        data["artifacts"]["train"]["path"] = "../outside.json"
        field = "artifacts.train.path"
    elif how == "absolute artifact path":
        data["artifacts"]["train"]["path"] = str(d / "train.json")
        field = "artifacts.train.path"
    elif how == "unknown field":
        data["clases"] = ["x"]
        field = "clases"
    elif how == "not an object":
        data = [data]
        field = "manifest must be a JSON object"
    mf.write_text(json.dumps(data))
    return d, field


REFUSALS = ["invalid JSON", "truncated file", "wrong kind", "unknown schema major", "missing artifact",
            "sha256 mismatch", "parent missing", "path escapes directory", "absolute artifact path",
            "unknown field", "not an object"]


@pytest.mark.parametrize("how", REFUSALS)
def test_refusals_in_process(tmp_path, how):
    d, fragment = _corrupt(tmp_path, how)
    with pytest.raises(BadInput) as e:
        read_manifest(d, "run" if how == "wrong kind" else "dataset")
    line = e.value.line()
    assert fragment in line and "manifest.json" in line and "\n" not in line


@pytest.mark.parametrize("how", ["invalid JSON", "truncated file", "unknown schema major", "missing artifact",
                                 "sha256 mismatch", "parent missing", "path escapes directory"])
def test_refusals_on_the_command_line(tmp_path, how, slow_here):
    d, fragment = _corrupt(tmp_path, how)
    proc = slow_here("read", "--data", d)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr
    assert str(d / "manifest.json") in lines[0] or "manifest.json" in lines[0]
