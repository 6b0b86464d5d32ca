"""For each format: import, export, import gives the same dataset, splits included (images, ids where the
format keeps them, classes, boxes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_helpers import assert_same_boxes, boxes_by_image, coco_of, imported


@pytest.fixture(scope="module")
def split3(small_aerial, tmp_path_factory):
    root = tmp_path_factory.mktemp("rt3")
    _, d = imported("import", "--source", small_aerial / "coco.json", "--out", root / "all")
    _, s = imported("split", "--dataset", d, "--ratios", "[0.5, 0.34, 0.16]", "--out", root / "split")
    return s


def names_per_split(ds_dir: Path) -> dict:
    m = json.loads((ds_dir / "manifest.json").read_text())
    return {s: sorted(Path(im["file_name"]).name for im in coco_of(ds_dir, s)["images"]) for s in m["splits"]}


def source_of(fmt: str, x: Path, splits: list[str]) -> list:
    if fmt == "coco":
        return [a for s in splits for a in ("--source", f"{s}={x / 'annotations' / f'instances_{s}.json'}")]
    return ["--source", {"voc": x, "yolo": x / "data.yaml", "labelstudio": x / "tasks.json",
                         "csv": x / "annotations.csv"}[fmt]]


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo", "labelstudio", "csv"])
def test_import_export_import_gives_the_same_dataset(fmt, split3, tmp_path):
    src = json.loads((split3 / "manifest.json").read_text())
    assert set(src["splits"]) == {"train", "val", "test"}
    _, x = imported("export", "--dataset", split3, "--format", fmt, "--out", tmp_path / "x")
    m, again = imported("import", *source_of(fmt, x, list(src["splits"])), "--format", fmt, "--out", tmp_path / "again")
    assert m["classes"] == src["classes"] and m["report"] == {}
    assert names_per_split(again) == names_per_split(split3)
    assert {k: v["per_class"] for k, v in m["splits"].items()} == {k: v["per_class"] for k, v in src["splits"].items()}
    # YOLO keeps 6 decimals of the image size, VOC and CSV 2-3 decimals
    assert_same_boxes(boxes_by_image(again), boxes_by_image(split3), atol={"yolo": 0.02, "coco": 1e-9}.get(fmt, 0.006))
    if fmt in ("coco", "labelstudio"):  # formats that carry image ids
        ids = {s: sorted(im["id"] for im in coco_of(split3, s)["images"]) for s in src["splits"]}
        assert {s: sorted(im["id"] for im in coco_of(again, s)["images"]) for s in m["splits"]} == ids
