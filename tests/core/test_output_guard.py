"""One guard for every output (issue 24, item 2): a table over every command of every tool, made from
the parsers as the options table is.

Every command with an `--out` has a row. A command that reads a dataset is run on a real one with
`--out` equal to, holding and inside the dataset's directory (and, for a file output, onto its
manifest), with --overwrite: each is refused with one line before anything is written, and the
dataset is left byte for byte. Commands whose first input is a trained run, predictions or a study
say where their guard is proved; a new command with `--out` fails this test until it has a row.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from helpers import assert_bad_input, call_cli, written
from options_table import all_options

# Commands run here on a detection dataset D: the extra options each needs to reach its output.
ON_A_DATASET = {
    ("wt-data", "split"): [], ("wt-data", "tile"): ["--size", "64"], ("wt-data", "crops"): [],
    ("wt-data", "remap"): ["--classes.drop", "[zebra]"], ("wt-data", "merge"): ["--datasets+", "COPY"],
    ("wt-data", "export"): ["--format", "coco"], ("wt-data", "preview"): [],
    ("wt-yolo", "fit"): ["--model", "yolo11n.yaml", "--device", "cpu"],
    ("wt-mmdet", "fit"): ["--device", "cpu"],
}
# Commands whose inputs need a trained run, predictions, a study or a registry: where their guard is proved.
ELSEWHERE = {
    ("wt-data", "import"): "tests/data/test_inputs_intact.py (source file, folder, image folder, --images /)",
    ("wt-data", "boxes"): "reads a points dataset (Output, the same guard)",
    ("wt-data", "geojson"): "reads predictions: tests/data/test_inputs_intact.py",
    ("wt-data", "hardneg"): "reads predictions: tests/data/test_inputs_intact.py",
    ("wt-yolo", "val"): "reads a run: tests/yolo (Output, the same guard)",
    ("wt-yolo", "predict"): "reads a run: tests/yolo (Output, the same guard)",
    ("wt-yolo", "export"): "reads a run: tests/yolo (Output, the same guard)",
    ("wt-yolo", "mine"): "reads a run: tests/yolo (Output, the same guard)",
    ("wt-mmdet", "test"): "reads a run: tests/mmdet (Output, the same guard)",
    ("wt-mmdet", "predict"): "reads a run: tests/mmdet (Output, the same guard)",
    ("wt-cls", "fit"): "a classification dataset: tests/cls (Output, the same guard)",
    ("wt-cls", "validate"): "reads a run: tests/cls (Output, the same guard)",
    ("wt-cls", "test"): "reads a run: tests/cls (Output, the same guard)",
    ("wt-cls", "predict"): "reads a run: tests/cls (Output, the same guard)",
    ("wt-cls", "export"): "reads a run: tests/cls (Output, the same guard)",
    ("wt-eval", "detect"): "reads predictions: tests/eval (Output, the same guard)",
    ("wt-eval", "classify"): "reads predictions: tests/eval (Output, the same guard)",
    ("wt-eval", "calibrate"): "reads predictions: tests/eval (Output, the same guard)",
    ("wt-tune", "run"): "reads a target config: tests/tune (Output, the same guard)",
    ("wt-registry", "register"): "reads a run: tests/registry (Output, the same guard)",
    ("wt-registry", "predict"): "reads a registered model: tests/registry/test_predict_scale.py (Output, the same guard)",
    ("wt-eval", "merge"): "reads shards' predictions: tests/yolo/test_predict_scale.py (Output, the same guard)",
}


def commands_with_out() -> list[tuple[str, str]]:
    """(tool, command) of every command whose parser has an `--out`, read as tools/options_table.py reads them."""
    return [(name.split(" ", 1)[0], name.split(" ", 1)[1]) for name, keys in all_options().items() if "out" in keys]


def test_every_command_with_an_output_has_a_row():
    rows = commands_with_out()
    assert set(rows) == set(ON_A_DATASET) | set(ELSEWHERE), \
        f"without a row: {sorted(set(rows) - set(ON_A_DATASET) - set(ELSEWHERE))}; " \
        f"rows of no command: {sorted((set(ON_A_DATASET) | set(ELSEWHERE)) - set(rows))}"
    assert not set(ON_A_DATASET) & set(ELSEWHERE)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    import json

    from data_helpers import tiny_coco

    root = tmp_path_factory.mktemp("guard")
    (root / "coco.json").write_text(json.dumps(tiny_coco(root)))
    _, d = written(call_cli("wt-data", "import", "--source", root / "coco.json", "--out", root / "D", check=True))
    call_cli("wt-data", "import", "--source", root / "coco.json", "--out", root / "COPY", check=True)
    return d


def _digest(d: Path) -> dict[str, str]:
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize(("tool", "command"), [pytest.param(t, c, id=f"{t} {c}") for t, c in ON_A_DATASET])
def test_out_is_never_an_input(tool, command, dataset):
    before = _digest(dataset)
    flag = "--datasets" if command == "merge" else "--dataset"
    targets = [("is", dataset), ("holds", dataset.parent), ("lies inside", dataset / "inner")]
    if command == "preview":  # a file output: onto the manifest itself, or a PNG in the dataset's folder (a folder
        # given as --out gets the default name inside it, so the dataset's parent holds nothing of the input)
        targets = [("lies inside", dataset / "manifest.json"), ("lies inside", dataset / "sheet.png")]
    for why, out in targets:
        extra = [str(dataset.with_name(a)) if a == "COPY" else a for a in ON_A_DATASET[(tool, command)]]
        proc = call_cli(tool, command, flag, dataset, *extra, "--out", out, "--overwrite")
        assert_bad_input(proc, f"--out {why} the input", "a command never writes over what it reads")
    assert _digest(dataset) == before
    assert not (dataset / "inner.partial").exists() and not dataset.with_name("D.partial").exists()
