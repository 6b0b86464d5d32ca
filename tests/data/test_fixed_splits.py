"""Fixed splits on import: each way users keep their splits lands in the named splits in one `wt-data import`;
`wt-data split --by` takes the split from a metadata field; what an importer leaves out is counted."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from data_helpers import assert_same_boxes, boxes_by_image, imported, wt_data

TRAIN = ["survey_000.jpg", "survey_001.jpg", "survey_002.jpg"]
VAL = ["survey_003.jpg", "survey_004.jpg"]
TEST = ["survey_005.jpg"]
WANT = {"train": TRAIN, "val": VAL, "test": TEST}


def split_of(name: str) -> str:
    return next(s for s, files in WANT.items() if name in files)


def files_per_split(ds_dir: Path) -> dict[str, list[str]]:
    m = json.loads((ds_dir / "manifest.json").read_text())
    out = {}
    for split in m["splits"]:
        doc = json.loads((ds_dir / "annotations" / f"{split}.json").read_text())
        out[split] = sorted(Path(im["file_name"]).name for im in doc["images"])
    return out


@pytest.fixture(scope="module")
def reference(small_aerial, tmp_path_factory):
    """The six images imported from the one COCO file: the boxes every split import must give."""
    out = tmp_path_factory.mktemp("ref") / "ds"
    imported("import", "--source", small_aerial / "coco.json", "--out", out)
    return boxes_by_image(out)


def coco_subset(src: dict, files: list[str]) -> dict:
    ids = {im["id"] for im in src["images"] if im["file_name"] in files}
    return {**src, "images": [im for im in src["images"] if im["id"] in ids],
            "annotations": [a for a in src["annotations"] if a["image_id"] in ids]}


def test_coco_one_file_per_split(small_aerial, reference, tmp_path):
    src = json.loads((small_aerial / "coco.json").read_text())
    args = []
    for split, files in WANT.items():
        (small_aerial / f"{split}_only.json").write_text(json.dumps(coco_subset(src, files)))
        args += ["--source", f"{split}={small_aerial / f'{split}_only.json'}"]
    m, d = imported("import", *args, "--out", tmp_path / "ds")
    assert files_per_split(d) == WANT and m["report"] == {}
    assert_same_boxes(boxes_by_image(d), reference, atol=1e-9)


def test_roboflow_folder_with_train_valid_test(small_aerial, reference, tmp_path):
    src = json.loads((small_aerial / "coco.json").read_text())
    root = tmp_path / "roboflow"
    for folder, files in (("train", TRAIN), ("valid", VAL), ("test", TEST)):
        (root / folder).mkdir(parents=True)
        for f in files:
            os.link(small_aerial / "images" / f, root / folder / f)
        (root / folder / "_annotations.coco.json").write_text(json.dumps(coco_subset(src, files)))
    (root / "README.roboflow.txt").write_text("exported")
    m, d = imported("import", "--source", root, "--out", tmp_path / "ds")
    assert files_per_split(d) == WANT
    assert_same_boxes(boxes_by_image(d), reference, atol=1e-9)


def test_voc_image_sets_and_what_they_leave_out(aerial, aerial_ds, tmp_path):
    voc = tmp_path / "voc"
    os.symlink(aerial / "voc" / "Annotations", voc / "Annotations", target_is_directory=True) if voc.mkdir() is None else None
    os.symlink(aerial / "voc" / "JPEGImages", voc / "JPEGImages", target_is_directory=True)
    sets = voc / "ImageSets" / "Main"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("survey_000\nsurvey_001\nsurvey_002\nsurvey_003\n")
    (sets / "val.txt").write_text("survey_004\nsurvey_005\n")
    (sets / "test.txt").write_text("survey_006\n")
    (sets / "elephant_train.txt").write_text("survey_000  1\n")  # VOC's per-class lists are not splits
    proc = wt_data("import", "--source", voc, "--format", "voc", "--out", tmp_path / "ds", check=True)
    m = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert {k: v["images"] for k, v in m["splits"].items()} == {"train": 4, "val": 2, "test": 1}
    # survey_007 is annotated but in no list: left out, counted, and said
    assert m["report"] == {"left_out_not_in_any_split": 1}
    assert "1 images left out" in proc.stderr and "train (4 images)" in proc.stderr
    want = {k: v for k, v in boxes_by_image(aerial_ds).items() if k != "survey_007.jpg"}
    assert_same_boxes(boxes_by_image(tmp_path / "ds"), want, atol=0.006)


def with_split_column(src: Path, dst: Path) -> None:
    rows = list(csv.reader(src.open()))
    with dst.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*rows[0], "split", "survey_part"])
        for r in rows[1:]:
            name = Path(r[0]).name
            w.writerow([*r, {"train": "train", "val": "valid", "test": "test"}[split_of(name)], f"part{name[-5]}"])


def test_csv_split_column_and_one_csv_per_split(small_aerial, reference, tmp_path):
    with_split_column(small_aerial / "annotations.csv", small_aerial / "split.csv")
    m, d = imported("import", "--source", small_aerial / "split.csv", "--format", "csv", "--out", tmp_path / "a")
    assert files_per_split(d) == WANT
    assert_same_boxes(boxes_by_image(d), reference, atol=0.006)
    coco = json.loads((d / "annotations" / "train.json").read_text())
    assert coco["images"][0]["survey_part"] == "part0"  # other columns stay as image metadata
    rows = list(csv.reader((small_aerial / "annotations.csv").open()))
    args = []
    for split, files in WANT.items():
        p = tmp_path / f"{split}.csv"
        with p.open("w", newline="") as f:
            csv.writer(f).writerows([rows[0], *(r for r in rows[1:] if Path(r[0]).name in files)])
        args += ["--source", f"{split}={p}"]
    _, d2 = imported("import", *args, "--format", "csv", "--images", small_aerial, "--out", tmp_path / "b")
    assert files_per_split(d2) == WANT
    assert_same_boxes(boxes_by_image(d2), reference, atol=0.006)


def test_labelstudio_split_field_and_one_export_per_split(small_aerial, reference, tmp_path):
    tasks = json.loads((small_aerial / "labelstudio.json").read_text())
    for t in tasks:
        t["data"]["split"] = split_of(Path(t["data"]["image"]).name)
    tasks[-1]["data"]["split"] = ""  # a task with no split: left out and counted
    (tmp_path / "ls.json").write_text(json.dumps(tasks))
    m, d = imported("import", "--source", tmp_path / "ls.json", "--format", "labelstudio", "--images", small_aerial,
                    "--out", tmp_path / "a")
    assert files_per_split(d) == {"train": TRAIN, "val": VAL}
    assert m["report"] == {"left_out_not_in_any_split": 1}
    args = []
    for split in WANT:
        (tmp_path / f"{split}.json").write_text(json.dumps([t for t in tasks if split_of(Path(t["data"]["image"]).name) == split]))
        args += ["--source", f"{split}={tmp_path / f'{split}.json'}"]
    _, d2 = imported("import", *args, "--format", "labelstudio", "--images", small_aerial, "--out", tmp_path / "b")
    assert files_per_split(d2) == WANT
    assert_same_boxes(boxes_by_image(d2), reference, atol=0.006)


def test_yolo_keeps_its_train_and_val(small_aerial, tmp_path):
    y = small_aerial / "yolo"
    (y / "train.txt").write_text("".join(f"./images/{f}\n" for f in TRAIN))
    (y / "val.txt").write_text("".join(f"./images/{f}\n" for f in VAL + TEST))
    (y / "split.yaml").write_text("path: .\ntrain: train.txt\nval: val.txt\nnames: [elephant, giraffe, zebra]\n")
    m, d = imported("import", "--source", y / "split.yaml", "--format", "yolo", "--out", tmp_path / "ds")
    assert files_per_split(d) == {"train": TRAIN, "val": VAL + TEST}


def test_split_by_a_metadata_field(small_aerial, tmp_path):
    """A path pattern group (or any CSV column) names each image's split."""
    src = json.loads((small_aerial / "coco.json").read_text())
    for im in src["images"]:
        im["file_name"] = f"{split_of(im['file_name'])}/{im['file_name']}"
        (small_aerial / "by_folder" / Path(im["file_name"]).parent).mkdir(parents=True, exist_ok=True)
        dst = small_aerial / "by_folder" / im["file_name"]
        if not dst.exists():
            os.link(small_aerial / "images" / Path(im["file_name"]).name, dst)
    (small_aerial / "by_folder" / "coco.json").write_text(json.dumps(src))
    _, d = imported("import", "--source", small_aerial / "by_folder" / "coco.json", "--meta.pattern",
                    "^(?P<part>[a-z]+)/", "--out", tmp_path / "all")
    m, s = imported("split", "--dataset", d, "--by", "part", "--out", tmp_path / "split")
    assert files_per_split(s) == WANT and m["details"]["by"] == "part"
    # a field whose values are not split names is refused, naming the image field
    _, d2 = imported("import", "--source", small_aerial / "by_folder" / "coco.json", "--meta.pattern",
                     "survey_(?P<n>\\d+)", "--out", tmp_path / "all2")
    proc = wt_data("split", "--dataset", d2, "--by", "n", "--out", tmp_path / "bad")
    assert proc.returncode == 2 and "unknown split name '000'" in proc.stderr and "images[0].n" in proc.stderr
    assert not (tmp_path / "bad").exists()
