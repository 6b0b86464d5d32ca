"""Bad inputs: each exits 2 with one line naming what is wrong, and no traceback.

The same cases are listed in packages/wt-yolo/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import assert_bad_input, run_cli, written
from yolo_helpers import wt_yolo


def fake_run(parent_dir: Path, out: Path, framework: str = "yolo") -> Path:
    """A run manifest with a stand-in best.pt: enough for refusals that come before any model loads."""
    from wt_core.manifest import RunManifest
    from wt_core.manifest_io import build, read_manifest
    from wt_core.outputs import Output

    ds = read_manifest(parent_dir, "dataset")
    o = Output("wt-yolo", "fit", out)
    o.path("train/weights/best.pt").write_bytes(bytes(range(256)) * 8)
    o.add("best", "train/weights/best.pt")
    return o.commit(build(RunManifest, id=o.id, parents=[ds], framework=framework, task="detect",
                          classes=list(ds.classes), dataset_id=ds.id, weights={"best": "best"}, imgsz=320)).root


@pytest.fixture(scope="module")
def bad(yolo_data, tmp_path_factory) -> SimpleNamespace:
    import synth

    base = tmp_path_factory.mktemp("yolo-bad")
    synth.make_camtrap(base / "camtrap", per_class=2, seed=0)
    _, classify = written(run_cli("wt-data", "import", "--source", base / "camtrap", "--format", "imagefolder",
                                  "--out", base / "classify"))
    coco = json.loads((yolo_data.raw / "coco.json").read_text())
    coco["annotations"] = []
    (base / "empty.json").write_text(json.dumps(coco))
    _, empty = written(run_cli("wt-data", "import", "--source", base / "empty.json", "--images",
                               yolo_data.raw / "images", "--out", base / "empty"))
    run_dir = fake_run(yolo_data.tiles, base / "run")
    tampered = fake_run(yolo_data.tiles, base / "tampered")
    best = tampered / "train" / "weights" / "best.pt"
    data = bytearray(best.read_bytes())
    data[-1] ^= 0xFF  # same size, another sha256
    best.write_bytes(bytes(data))
    other = fake_run(yolo_data.tiles, base / "cls-run", framework="cls")
    (base / "no-images").mkdir()
    return SimpleNamespace(classify=classify, empty=empty, tampered=tampered, other=other, run=run_dir,
                           tiles=yolo_data.tiles, full=yolo_data.full, no_images=base / "no-images", base=base)


CASES = {
    "classify dataset to fit": (lambda b: ["fit", "--dataset", b.classify], ["classify dataset", "task"]),
    "missing weights file": (lambda b: ["fit", "--dataset", b.tiles, "--model", "yolo11s.pt"],
                             ["weights file yolo11s.pt not found", "WT_HOME/weights", "model"]),
    "unknown model yaml": (lambda b: ["fit", "--dataset", b.tiles, "--model", "yolo11q.yaml"], ["unknown model yaml"]),
    "unknown Ultralytics argument": (lambda b: ["fit", "--dataset", b.tiles, "--ultralytics.lrff", "0.1"],
                                     ["--ultralytics.lrff", "did you mean --ultralytics.lrf"]),
    "mistyped Ultralytics value": (lambda b: ["fit", "--dataset", b.tiles, "--train.epochs", "many"], ["epochs"]),
    "empty train split": (lambda b: ["fit", "--dataset", b.empty], ["train split 'all' is empty", "0 boxes"]),
    "a run manifest given as data": (lambda b: ["fit", "--dataset", b.run], ["expected a dataset manifest"]),
    "no manifest at --dataset": (lambda b: ["fit", "--dataset", b.base / "nowhere"], ["manifest not found"]),
    "resume with nothing to resume": (lambda b: ["fit", "--dataset", b.tiles, "--out", b.base / "fresh", "--resume"],
                                      ["nothing to resume"]),
    "weights sha256 does not match": (lambda b: ["predict", "--run", b.tampered, "--dataset", b.full],
                                      ["does not match its sha256", "artifacts.best.sha256"]),
    "a cls run to wt-yolo": (lambda b: ["predict", "--run", b.other, "--dataset", b.full], ["cls run", "framework"]),
    "both --dataset and --images": (lambda b: ["predict", "--run", b.run, "--dataset", b.full, "--images", b.no_images],
                                    ["exactly one of --dataset"]),
    "unknown split": (lambda b: ["predict", "--run", b.run, "--dataset", b.full, "--split", "test"],
                      ["no split 'test'", "train, val"]),
    "image folder without images": (lambda b: ["predict", "--run", b.run, "--images", b.no_images],
                                    ["no images in this folder"]),
    "overlap of 1 or more": (lambda b: ["predict", "--run", b.run, "--dataset", b.full, "--slicing.overlap", "1.2"],
                             ["--slicing.overlap must be in [0, 1); got 1.2", "slicing.overlap)"]),
    "conf above 1": (lambda b: ["predict", "--run", b.run, "--dataset", b.full, "--conf", "2"], ["--conf must be in [0, 1]; got 2", "conf)"]),
    "shard index not below the count": (lambda b: ["predict", "--run", b.run, "--dataset", b.full, "--shard", "4/4"],
                                        ["a shard is 'i/N' with 0 <= i < N", "shard"]),
    "block smaller than a tile": (lambda b: ["predict", "--run", b.run, "--dataset", b.full, "--slicing.tile", "640",
                                             "--slicing.block", "320"],
                                  ["slicing.block must be 0 (off) or at least slicing.tile"]),
    "unknown export format": (lambda b: ["export", "--run", b.run, "--format", "tflite"], ["format"]),
    "val on a classify dataset": (lambda b: ["val", "--run", b.run, "--dataset", b.classify], ["classify dataset"]),
    "mine with a conf above 1": (lambda b: ["mine", "--run", b.run, "--dataset", b.tiles, "--conf", "2"],
                                  ["--conf must be in (0, 1]; got 2", "conf)"]),
    "mine with a background folder that does not exist": (
        lambda b: ["mine", "--run", b.run, "--dataset", b.tiles, "--background", b.tiles.parent / "no-such-folder"],
        ["the background photo folder does not exist", "no-such-folder, background)"]),
    # issue 24: messages that say what happened
    "mine on an untiled dataset": (lambda b: ["mine", "--run", b.run, "--dataset", b.full],
                                   ["the dataset is not tiled", "wt-data tile --dataset", "dataset)"]),
    "a deleted run directory as --model": (lambda b: ["fit", "--dataset", b.tiles, "--model", b.base / "deleted-run"],
                                           ["run not found", "deleted-run, model)"]),
    "fit on a GPU this machine lacks": (lambda b: ["fit", "--dataset", b.tiles, "--device", "cuda:99"],
                                        ["device 'cuda:99' asks for", "device)"]),
    "whole-image selection on an untiled dataset": (lambda b: ["fit", "--dataset", b.full, "--select.metric", "full/mAP50"],
                                                    ["needs a val split made by `wt-data tile`", "select.metric"]),
    "whole-image selection with no whole-image validation": (
        lambda b: ["fit", "--dataset", b.tiles, "--select.every", "0", "--select.metric", "full/mAP50"],
        ["select.every must be at least 1", "select.every"]),
    "a BatchNorm momentum of 1 or more": (lambda b: ["fit", "--dataset", b.tiles, "--ultralytics.bn_momentum", "2"],
                                          ["must be above 0 and below 1", "ultralytics.bn_momentum"]),
    "an EMA decay of 1 or more": (lambda b: ["fit", "--dataset", b.tiles, "--ultralytics.ema_decay", "1"],
                                  ["must be above 0 and below 1, got 1.0", "ultralytics.ema_decay"]),
    "a quarter-turn probability above 1": (lambda b: ["fit", "--dataset", b.tiles, "--ultralytics.rot90", "2"],
                                           ["must be from 0 to 1, got 2.0", "ultralytics.rot90"]),
    "an EMA ramp of 0 updates": (lambda b: ["fit", "--dataset", b.tiles, "--ultralytics.ema_tau", "0"],
                                 ["must be above 0, got 0.0", "ultralytics.ema_tau"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line(case, bad, tmp_path):
    make_args, fragments = CASES[case]
    proc = wt_yolo(*make_args(bad), cwd=tmp_path)
    assert_bad_input(proc, *fragments)
    if make_args(bad)[0] == "fit" and "resume" not in case:  # every input but a resume's options: checked before any
        assert "training defaults" not in proc.stderr and "small training split" not in proc.stderr  # policy line
    assert not (Path(tmp_path) / "runs").exists()  # nothing written, not even a partial output


def test_readme_lists_every_case():
    readme = (Path(__file__).parents[2] / "packages" / "wt-yolo" / "README.md").read_text()
    for case in CASES:
        assert f"| {case} |" in readme, case
