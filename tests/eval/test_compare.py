"""wt-eval compare: one table, best per column, refusal of evaluations that are not comparable."""

from __future__ import annotations

import json

import pytest
from evalcases import write_evaluation
from helpers import assert_bad_input, call_cli, run_cli


@pytest.fixture
def evals(tmp_path):
    a = write_evaluation(tmp_path / "yolo", {"mAP": 0.5, "mAP50": 0.8, "f1": 0.7, "count_mae": 1.5, "count_bias": -0.4})
    b = write_evaluation(tmp_path / "mmdet", {"mAP": 0.6, "mAP50": 0.8, "f1": 0.6, "count_mae": 2.0, "count_bias": 0.2})
    return a, b


def test_best_value_per_column(evals, tmp_path):
    a, b = evals
    proc = call_cli("wt-eval", "compare", "--evaluations", a.root, b.root, "--json", "--save", tmp_path / "t.md",
                    check=True)
    doc = json.loads(proc.stdout)
    assert [r["name"] for r in doc["rows"]] == ["yolo", "mmdet"]
    assert doc["best"]["mAP"] == ["mmdet"]
    assert doc["best"]["mAP50"] == ["yolo", "mmdet"]  # a tie marks both
    assert doc["best"]["f1"] == ["yolo"]
    assert doc["best"]["count_mae"] == ["yolo"]  # lower is better
    assert doc["best"]["count_bias"] == ["mmdet"]  # closest to zero
    md = (tmp_path / "t.md").read_text()
    assert "| mmdet | **0.6000** |" in md
    assert "yolo" in proc.stderr and "mAP" in proc.stderr  # the table on stderr


def test_names_the_tool_that_predicted(tmp_path):
    from evalcases import generated, write_dataset, write_predictions

    gt, preds, classes = generated(n_images=4, seed=7)
    ds = write_dataset(tmp_path / "ds", classes, {"val": gt})
    pred = write_predictions(tmp_path / "p", ds, {"val": preds})
    ev = call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path, "--plots", "false",
                  "--out", tmp_path / "ev", check=True).stdout.strip()
    doc = json.loads(call_cli("wt-eval", "compare", "--evaluations", ev, "--json", check=True).stdout)
    assert doc["rows"][0]["source"] == "wt-yolo predict" and doc["rows"][0]["dataset_id"] == ds.id


def test_csv_and_stdin(evals, tmp_path):
    a, b = evals
    proc = run_cli("wt-eval", "compare", "--evaluations", "-", "--save", tmp_path / "t.csv",
                  stdin=f"{a.path}\n{b.path}\n", check=True)
    assert proc.stdout == ""
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].startswith("evaluation,id,dataset_id,split,mAP")
    assert lines[2].startswith("mmdet,") and lines[2].endswith("mAP;mAP50;count_bias")


def test_refuses_other_datasets_unless_forced(evals, tmp_path):
    a, _ = evals
    c = write_evaluation(tmp_path / "other", {"mAP": 0.9}, dataset_id="ds-2")
    line = assert_bad_input(call_cli("wt-eval", "compare", "--evaluations", a.root, c.root),
                            "differ in dataset_id", "ds-1", "ds-2", "--force")
    assert "dataset_id" in line
    d = write_evaluation(tmp_path / "test-split", {"mAP": 0.9}, split="test")
    assert_bad_input(call_cli("wt-eval", "compare", "--evaluations", a.root, d.root), "differ in split")
    proc = call_cli("wt-eval", "compare", "--evaluations", a.root, c.root, "--force", "--json", check=True)
    assert json.loads(proc.stdout)["best"]["mAP"] == ["other"]


def test_refuses_a_non_evaluation(evals, tmp_path):
    a, _ = evals
    assert_bad_input(call_cli("wt-eval", "compare", "--evaluations", a.root, tmp_path / "missing"), "not found")
    assert_bad_input(call_cli("wt-eval", "compare", "--evaluations", a.root, "--save", tmp_path / "t.txt"), ".md")
