"""Bad inputs: each exits 2 with one line naming the file and the field or line; with
--on_invalid skip the same input imports and the skipped item is counted in the manifest.
The tables run through the real command line inside this process; one case runs as a subprocess."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from data_helpers import tiny_coco, wt_data
from helpers import assert_bad_input, manifest_of, run_cli
from PIL import Image
from wt_data import import_


def coco_case(mutate):
    def make(root: Path) -> list:
        doc = tiny_coco(root)
        mutate(doc, root)
        (root / "coco.json").write_text(json.dumps(doc))
        return ["--source", root / "coco.json"]
    return make


def yolo_case(lines: str, extra=None):
    def make(root: Path) -> list:
        tiny_coco(root)
        (root / "labels").mkdir()
        for i in range(3):
            (root / "labels" / f"im{i}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
        (root / "labels" / "im1.txt").write_text(lines)
        if extra:
            extra(root)
        (root / "data.yaml").write_text("path: .\ntrain: images\nval: images\nnames: [elephant, zebra]\n")
        return ["--source", root / "data.yaml", "--format", "yolo"]
    return make


def _corrupt(doc, root):
    data = (root / "images" / "im1.jpg").read_bytes()
    (root / "images" / "im1.jpg").write_bytes(data[: len(data) // 3])


def _labelstudio(root: Path) -> list:
    tiny_coco(root)
    tasks = [{"id": i, "data": {"image": f"/data/local-files/?d=images/im{i}.jpg"}, "annotations": [{"result": [
        {"type": "rectanglelabels", "original_width": 100, "original_height": 80,
         "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["zebra"]}}]}]} for i in range(3)]
    tasks[2]["data"] = {}
    (root / "ls.json").write_text(json.dumps(tasks))
    return ["--source", root / "ls.json", "--format", "labelstudio"]


def _csv(root: Path) -> list:
    tiny_coco(root)
    (root / "a.csv").write_text("image_path,xmin,ymin,xmax,ymax,label\nimages/im0.jpg,1,1,20,20,zebra\n"
                                "images/im1.jpg,1,1,20\nimages/im2.jpg,1,1,20,20,zebra\n")
    return ["--source", root / "a.csv", "--format", "csv"]


def _voc(root: Path) -> list:
    tiny_coco(root)
    (root / "Annotations").mkdir()
    (root / "JPEGImages").mkdir()
    for i in range(3):
        os.link(root / "images" / f"im{i}.jpg", root / "JPEGImages" / f"im{i}.jpg")
        (root / "Annotations" / f"im{i}.xml").write_text(
            f"<annotation><filename>im{i}.jpg</filename><size><width>100</width><height>80</height></size>"
            "<object><name>zebra</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object>"
            "</annotation>")
    (root / "Annotations" / "im1.xml").write_text("<annotation><filename>im1.jpg</filename>")
    return ["--source", root, "--format", "voc"]


def _mapped_twice(root: Path) -> list:
    return [*coco_case(lambda d, r: None)(root), "--classes.map", "[zebra=animal, zebra=horse]"]


def _unreadable(root: Path) -> list:
    tiny_coco(root)
    d = root / "folder"
    (d / "zebra").mkdir(parents=True)
    os.chmod(d, 0)
    return ["--source", d, "--format", "imagefolder"]


def _not_a_dir(root: Path) -> list:
    tiny_coco(root)
    (root / "folder").write_text("not a directory")
    return ["--source", root / "folder", "--format", "imagefolder"]


def _set(key, value, i=0, part="images"):
    def mutate(doc, root):
        doc[part][i][key] = value
    return mutate


def _points_csv(rows: str, header: str = "image,x,y,label"):
    def make(root: Path) -> list:
        tiny_coco(root)
        (root / "a.csv").write_text(f"{header}\n{rows}")
        return ["--source", root / "a.csv", "--format", "csv"]
    return make


def _voc_sets(root: Path) -> list:
    _voc(root)
    (root / "Annotations" / "im1.xml").write_text((root / "Annotations" / "im0.xml").read_text().replace("im0", "im1"))
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("im0\nim7\nim1\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("im2\n")
    return ["--source", root, "--format", "voc"]


def _voc_in_two_sets(root: Path) -> list:
    _voc_sets(root)
    (root / "ImageSets" / "Main" / "train.txt").write_text("im0\nim1\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("im1\n")
    return ["--source", root, "--format", "voc"]


def _coco_per_split(root: Path) -> list:
    """COCO per split (`--source train=a.json --source val=b.json`), im1 listed in both files (issue 24)."""
    doc = tiny_coco(root)
    train = {**doc, "images": doc["images"][:2], "annotations": doc["annotations"][:2]}
    val = {**doc, "images": doc["images"][1:], "annotations": doc["annotations"][1:]}
    val["images"][0] = {**val["images"][0], "file_name": "./im1.jpg"}  # the same image, written another way
    (root / "train.json").write_text(json.dumps(train))
    (root / "val.json").write_text(json.dumps(val))
    return ["--source", f"train={root / 'train.json'}", "--source", f"val={root / 'val.json'}",
            "--images", root / "images"]


def _yolo_lists_overlap(root: Path) -> list:
    tiny_coco(root)
    (root / "labels").mkdir()
    for i in range(3):
        (root / "labels" / f"im{i}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "train.txt").write_text("images/im0.jpg\nimages/im1.jpg\n")
    (root / "val.txt").write_text("images/im1.jpg\nimages/im2.jpg\n")
    (root / "data.yaml").write_text("path: .\ntrain: train.txt\nval: val.txt\nnames: [elephant, zebra]\n")
    return ["--source", root / "data.yaml", "--format", "yolo"]


def _ls_task(mutate):
    def make(root: Path) -> list:
        _labelstudio(root)
        tasks = json.loads((root / "ls.json").read_text())
        tasks[2]["data"] = {"image": "/data/local-files/?d=images/im2.jpg"}
        mutate(tasks)
        (root / "ls.json").write_text(json.dumps(tasks))
        return ["--source", root / "ls.json", "--format", "labelstudio"]
    return make


def _ls_result(tasks, **change):
    tasks[1]["annotations"][0]["result"][0].update(change)


def _named_source(root: Path) -> list:
    coco_case(lambda d, r: None)(root)
    return ["--source", f"tarin={root / 'coco.json'}"]


# name, builder, fragments of the error line (file, then field or line), report key under --on_invalid skip (None: fatal)
CASES = [
    ("malformed JSON", lambda r: (r.mkdir(exist_ok=True), (r / "coco.json").write_text('{"images": [1, '),
                                  ["--source", r / "coco.json"])[-1], ["coco.json", "line 1"], None),
    ("missing image", coco_case(lambda d, r: (r / "images" / "im1.jpg").unlink()),
     ["image not found", "coco.json", "images[1]"], "skipped_missing_image"),
    ("corrupt JPEG", coco_case(_corrupt), ["does not decode", "coco.json", "images[1]"], "skipped_corrupt_image"),
    ("box beyond the tolerance", coco_case(_set("bbox", [90, 10, 30, 10], 1, "annotations")),
     ["beyond the 100x80 image", "coco.json", "annotations[1].bbox"], "skipped_box_out_of_bounds"),
    ("zero-size box", coco_case(_set("bbox", [10, 10, 0, 10], 1, "annotations")),
     ["zero or negative size", "coco.json", "annotations[1].bbox"], "skipped_invalid_box"),
    ("negative-size box", coco_case(_set("bbox", [10, 10, 5, -3], 2, "annotations")),
     ["zero or negative size", "coco.json", "annotations[2].bbox"], "skipped_invalid_box"),
    ("unknown category id", coco_case(_set("category_id", 7, 0, "annotations")),
     ["unknown category id 7", "coco.json", "annotations[0].category_id"], "skipped_unknown_category"),
    ("duplicate image ids", coco_case(_set("id", 1, 1)), ["duplicate image id 1", "coco.json", "images[1].id"],
     "skipped_duplicate_image_id"),
    ("annotation of an unknown image", coco_case(_set("image_id", 99, 0, "annotations")),
     ["unknown image id 99", "coco.json", "annotations[0].image_id"], "skipped_unknown_image"),
    ("size differs from the image", coco_case(_set("width", 120, 2)),
     ["annotated size 120x80 differs", "coco.json", "images[2]"], "skipped_size_mismatch"),
    ("file_name climbs out with ..", coco_case(_set("file_name", "../coco.json", 2)),
     ["climbs out of the image root", "coco.json", "images[2]"], "skipped_path_escapes_root"),
    ("empty dataset", coco_case(lambda d, r: (d["images"].clear(), d["annotations"].clear())),
     ["empty dataset", "coco.json"], None),
    ("YOLO line with the wrong field count", yolo_case("0 0.5 0.5 0.2\n"), ["im1.txt", "line 1", "expected 5 fields"],
     "skipped_wrong_field_count"),
    ("YOLO coordinates not normalised", yolo_case("1 50 40 10 10\n"), ["im1.txt", "line 1", "normalised"],
     "skipped_not_normalized"),
    ("YOLO class id out of range", yolo_case("0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.1 0.1\n"), ["im1.txt", "line 2", "class id 5"],
     "skipped_unknown_category"),
    ("YOLO label file without an image", yolo_case("0 0.5 0.5 0.2 0.2\n", lambda r: (r / "labels" / "ghost.txt").write_text("")),
     ["label file has no image", "ghost.txt"], "skipped_label_without_image"),
    ("Label Studio task with no image", _labelstudio, ["task has no data.image", "ls.json", "[2].data.image"],
     "skipped_task_without_image"),
    ("CSV row with the wrong field count", _csv, ["expected 6 fields", "a.csv", "line 3"], "skipped_wrong_field_count"),
    ("VOC file that is not valid XML", _voc, ["invalid XML", "im1.xml", "line 1"], "skipped_malformed_xml"),
    ("a class mapped twice", _mapped_twice, ["class 'zebra' is mapped twice", "(classes.map[1])"], None),
    ("an unreadable directory", _unreadable, ["permission denied", "folder"], None),
    ("a file where a directory is expected", _not_a_dir, ["expected a image folder directory", "folder"], None),
    # fixed splits, points, Label Studio tasks (issue 15) and what importers used to drop or change silently (17)
    ("a point outside the image", _points_csv("images/im0.jpg,50,40,zebra\nimages/im1.jpg,150,40,zebra\n"),
     ["point (150, 40) lies 50.0 px outside the 100x80 image", "a.csv", "line 3, x"], "skipped_point_out_of_image"),
    ("an unknown split name in a split column", _points_csv("images/im0.jpg,5,5,zebra,tarin\n", "image,x,y,label,split"),
     ["unknown split name 'tarin'", "a.csv", "line 2, split"], None),
    ("an unknown split name in --source", _named_source, ["unknown split name 'tarin'", "--source", "source[0]"], None),
    ("a split file naming a missing image", _voc_sets, ["'im7' is listed but has no annotation im7.xml", "train.txt",
                                                         "line 2"], "skipped_missing_image"),
    ("a Label Studio task without a usable image reference", _ls_task(lambda t: t[1]["data"].update(image=42)),
     ["no usable image reference", "ls.json", "[1].data.image"], "skipped_task_without_image"),
    ("a Label Studio key point outside the image", _ls_task(lambda t: _ls_result(
        t, type="keypointlabels", value={"x": 130, "y": 50, "keypointlabels": ["zebra"]})),
     ["lies 30.0 px outside the 100x80 image", "ls.json", "[1].annotations[0].result[0].value"], "skipped_point_out_of_image"),
    ("a Label Studio result that is no box, point or polygon", _ls_task(lambda t: _ls_result(t, type="brushlabels")),
     ["'brushlabels' result is not a box, point or polygon", "ls.json", "[1].annotations[0].result[0].type"],
     "skipped_unsupported_result"),
    ("a COCO crowd region", coco_case(_set("iscrowd", 1, 1, "annotations")),
     ["crowd region (iscrowd=1)", "coco.json", "annotations[1].iscrowd"], "skipped_crowd_region"),
    ("a COCO RLE mask without a bbox", coco_case(lambda d, r: d["annotations"][2].update(
        bbox=None, segmentation={"size": [80, 100], "counts": "abc"})),
     ["an RLE mask without a bbox", "coco.json", "annotations[2].segmentation"], "skipped_mask_without_box"),
    ("a CSV with only its header", _points_csv("", "image_path,xmin,ymin,xmax,ymax,label"),
     ["empty dataset: the source lists no images", "a.csv"], None),
    # an image in two fixed splits (issue 24): one check for every importer, paths normalised
    ("COCO per split: an image in both files", _coco_per_split,
     ["im1.jpg is listed in both splits train and val", "val.json", "images[0]"], None),  # two --source: CLI only
    ("VOC ImageSets: an image in two split files", _voc_in_two_sets,
     ["im1.jpg is listed in both splits train and val", "val.txt"], "skipped_image_in_two_splits"),
    ("YOLO split lists sharing an image", _yolo_lists_overlap,
     ["im1.jpg is listed in both splits train and val", "data.yaml"], "skipped_image_in_two_splits"),
]


@pytest.mark.parametrize(("name", "make", "fragments", "skip_key"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(name, make, fragments, skip_key, tmp_path):
    if name == "an unreadable directory" and os.geteuid() == 0:
        pytest.skip("root reads every directory")
    args = make(tmp_path / "in")
    proc = wt_data("import", *args, "--out", tmp_path / "out")
    assert_bad_input(proc, *fragments)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
    if skip_key is None:
        return
    # the same input through the Python API (the function the CLI runs), skipping: it imports, and counts
    kwargs = {str(k).removeprefix("--"): v for k, v in zip(args[::2], args[1::2], strict=True)}
    m = import_(**kwargs, on_invalid="skip", out=tmp_path / "out")
    assert m.report.get(skip_key, 0) >= 1, m.report
    assert sum(s.images for s in m.splits.values()) >= 1 and m.path.is_file()


def test_bad_input_through_the_installed_command(tmp_path):
    """The table above runs in this process; here one case runs as a user runs it, in a fresh process."""
    args = coco_case(lambda d, r: (r / "images" / "im1.jpg").unlink())(tmp_path / "in")
    assert_bad_input(run_cli("wt-data", "import", *args, "--out", tmp_path / "out"), "image not found", "images[1]")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_clip_repairs_a_box_beyond_the_tolerance(tmp_path):
    args = coco_case(_set("bbox", [90, 10, 30, 10], 1, "annotations"))(tmp_path / "in")
    m = manifest_of(wt_data("import", *args, "--on_invalid", "clip", "--out", tmp_path / "o", check=True))
    assert m["report"] == {"clipped_box_out_of_bounds": 1} and m["splits"]["all"]["boxes"] == 3
    coco = json.loads((tmp_path / "o" / "annotations" / "all.json").read_text())
    assert coco["annotations"][1]["bbox"] == [90, 10, 10, 10]


def test_within_tolerance_is_clipped_and_counted(tmp_path):
    args = coco_case(_set("bbox", [85, 10, 16.5, 10], 1, "annotations"))(tmp_path / "in")
    m = manifest_of(wt_data("import", *args, "--out", tmp_path / "o", check=True))
    assert m["report"] == {"clipped_within_tolerance": 1}


def test_validate_lists_every_problem_and_writes_nothing(tmp_path):
    def many(doc, root):
        doc["annotations"][0]["category_id"] = 9
        doc["annotations"][1]["bbox"] = [0, 0, -1, 2]
        (root / "images" / "im2.jpg").unlink()
    args = coco_case(many)(tmp_path / "in")
    proc = wt_data("validate", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert not doc["ok"]
    assert doc["problems_by_reason"] == {"unknown_category": 1, "invalid_box": 1, "missing_image": 1}
    assert not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def tiny_sets(tmp_path_factory):
    """A tiny detect dataset and a tiny classify dataset, imported once."""
    root = tmp_path_factory.mktemp("tiny")
    doc = tiny_coco(root / "det")
    (root / "det" / "coco.json").write_text(json.dumps(doc))
    det = import_(root / "det" / "coco.json", out=root / "det_ds")
    for i, cls in enumerate(["deer", "fox"]):
        (root / "cls" / cls).mkdir(parents=True)
        Image.new("RGB", (32, 32), (i * 90, 50, 50)).save(root / "cls" / cls / "a.jpg")
    cls = import_(root / "cls", format="imagefolder", out=root / "cls_ds")
    return {"det": det.root, "cls": cls.root}


# other commands: (args with {det} / {cls} placeholders, fragments of the error line)
COMMAND_CASES = [
    ("tile a classification dataset", ["tile", "--dataset", "{cls}"], ["tiling needs a detect dataset", "manifest.json", "task"]),
    ("tile stride larger than the tile", ["tile", "--dataset", "{det}", "--size", "64", "--stride", "80"],
     ["leaves gaps", "(stride)"]),
    ("split ratios and names disagree", ["split", "--dataset", "{det}", "--ratios", "[0.5, 0.5]", "--names", "[a, b, c]"],
     ["2 ratios for 3 split names", "(ratios)"]),
    ("crops of a classification dataset", ["crops", "--dataset", "{cls}"], ["crops need a detect dataset", "task"]),
    ("imagefolder export of a detection dataset", ["export", "--dataset", "{det}", "--format", "imagefolder"],
     ["needs a classify dataset", "task"]),
    ("stats of a split that does not exist", ["stats", "--dataset", "{det}", "--split", "val"], ["no split 'val'", "splits"]),
    ("remap of an unknown class", ["remap", "--dataset", "{det}", "--classes.map", "[lion=cat]"],
     ["cannot map unknown class 'lion'", "(classes.map[0])"]),
]


@pytest.mark.parametrize(("name", "args", "fragments"), COMMAND_CASES, ids=[c[0] for c in COMMAND_CASES])
def test_other_commands_refuse_bad_input(name, args, fragments, tiny_sets, tmp_path):
    args = [a.format(**tiny_sets) for a in args]
    proc = wt_data(*args, "--out", tmp_path / "out") if args[0] != "stats" else wt_data(*args)
    assert_bad_input(proc, *fragments)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_guard_cases_of_issue_24(tmp_path, monkeypatch):
    """--out onto the input's manifest is refused for preview too; `--images /` imports (import reads only
    the files its source lists); a relative `--local_files_root ../images` is a folder, not the text '..'."""
    root = tmp_path / "in"
    root.mkdir()
    doc = tiny_coco(root)
    for im in doc["images"]:  # named from the file system's root, as `--images /` asks
        im["file_name"] = str(root / "images" / im["file_name"]).lstrip("/")
    (root / "coco.json").write_text(json.dumps(doc))
    ok = wt_data("import", "--source", root / "coco.json", "--images", "/", "--out", tmp_path / "d")
    assert ok.returncode == 0, ok.stderr
    d = tmp_path / "d"
    before = (d / "manifest.json").read_bytes()
    assert_bad_input(wt_data("preview", "--dataset", d, "--out", d / "manifest.json", "--overwrite"),
                     "--out lies inside the input dataset's directory", "out")
    assert (d / "manifest.json").read_bytes() == before
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    ls = wt_data("export", "--dataset", d, "--format", "labelstudio", "--local_files_root", "../in",
                 "--out", tmp_path / "ls")
    assert ls.returncode == 0, ls.stderr
    tasks = json.loads((tmp_path / "ls" / "tasks.json").read_text())
    assert [t["data"]["image"] for t in tasks] == [f"/data/local-files/?d=images/im{i}.jpg" for i in range(3)]
