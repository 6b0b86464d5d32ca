"""Round trips: every import format of the generated set equals its COCO import; exports load in the
libraries users check them with (Ultralytics, pycocotools) with the same counts and re-import unchanged."""

from __future__ import annotations

import json

import pytest
from data_helpers import assert_same_boxes, boxes_by_image, imported


@pytest.fixture(scope="module")
def split_ds(aerial_ds, tmp_path_factory):
    out = tmp_path_factory.mktemp("rt") / "split"
    imported("split", "--dataset", aerial_ds, "--group_by", "site", "--ratios", "[0.5, 0.5]", "--names", "[train, val]",
             "--out", out)
    return out


@pytest.mark.parametrize(("fmt", "source"), [("labelstudio", "labelstudio.json"), ("voc", "voc"), ("csv", "annotations.csv"),
                                             ("yolo", "yolo/data.yaml"), ("wildata", "wildata")])
def test_every_format_imports_like_coco(fmt, source, aerial, aerial_ds, tmp_path):
    m, d = imported("import", "--source", aerial / source, "--format", fmt, "--out", tmp_path / fmt)
    assert m["classes"] == ["elephant", "giraffe", "zebra"]
    # YOLO keeps 6 decimals of the image size: about 0.01 px
    assert_same_boxes(boxes_by_image(d), boxes_by_image(aerial_ds), atol=0.02 if fmt == "yolo" else 0.006)


def test_coco_export_reimports_the_same_and_loads_in_pycocotools(split_ds, tmp_path):
    from pycocotools.coco import COCO

    m, d = imported("export", "--dataset", split_ds, "--format", "coco", "--out", tmp_path / "x")
    src = json.loads((split_ds / "manifest.json").read_text())
    for split, s in src["splits"].items():
        coco = COCO(str(d / "annotations" / f"instances_{split}.json"))
        assert len(coco.getImgIds()) == s["images"] and len(coco.getAnnIds()) == s["boxes"]
        assert coco.loadCats(coco.getCatIds())[0] == {"id": 1, "name": "elephant", "supercategory": "animal"}
        again, d2 = imported("import", "--source", d / "annotations" / f"instances_{split}.json",
                             "--images", d / "images" / split, "--out", tmp_path / f"again_{split}")
        assert again["classes"] == src["classes"] and again["splits"]["all"]["per_class"] == s["per_class"]
        mine = {k: v for k, v in boxes_by_image(split_ds).items() if k in boxes_by_image(d2)}
        assert_same_boxes(boxes_by_image(d2), mine, atol=1e-9)


def test_yolo_export_passes_ultralytics_check_with_same_counts(split_ds, tmp_path):
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    m, d = imported("export", "--dataset", split_ds, "--format", "yolo", "--out", tmp_path / "y")
    info = check_det_dataset(str(d / "data.yaml"))
    assert info["nc"] == 3 and list(info["names"].values()) == m["classes"]
    for split in ("train", "val"):
        yd = YOLODataset(img_path=info[split], data=info, task="detect", augment=False)
        assert len(yd.labels) == m["splits"][split]["images"]
        assert sum(len(lab["cls"]) for lab in yd.labels) == m["splits"][split]["boxes"]
    assert all(p.is_symlink() for p in (d / "images" / "train").iterdir())


def test_voc_export_reimports_the_same(split_ds, tmp_path):
    _, d = imported("export", "--dataset", split_ds, "--format", "voc", "--out", tmp_path / "v")
    _, d2 = imported("import", "--source", d, "--format", "voc", "--out", tmp_path / "again")
    assert_same_boxes(boxes_by_image(d2), boxes_by_image(split_ds), atol=0.006)


def test_imagefolder_export_reimports_the_same(camtrap, tmp_path):
    _, src = imported("import", "--source", camtrap, "--format", "imagefolder", "--out", tmp_path / "c")
    _, d = imported("export", "--dataset", src, "--format", "imagefolder", "--out", tmp_path / "x")
    m2, d2 = imported("import", "--source", d / "all", "--format", "imagefolder", "--out", tmp_path / "again")
    assert boxes_by_image(d2) == boxes_by_image(src)
