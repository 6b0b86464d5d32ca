"""A whole study over the toy target: manifest, best config, tracking, continuing, show."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
from helpers import call_cli, manifest_of
from tune_helpers import TOY, study_config, toy, trials_of


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Four trials with plots; then the same command with n_trials 5 continues it."""
    base = tmp_path_factory.mktemp("study")
    cfg = study_config(base / "study.yaml", target=toy("--epochs", "2"), plots=True, pruner={"name": "none"})
    out = base / "s"
    first = call_cli("wt-tune", "run", "--config", cfg, "--out", out, check=True)
    m1 = manifest_of(first)
    trials_before = [(t.number, t.value, t.params) for t in trials_of(out)]
    second = call_cli("wt-tune", "run", "--config", cfg, "--out", out, "--n_trials", "5", check=True)
    return {"out": out, "first": m1, "second": manifest_of(second), "before": trials_before, "cwd": base}


def test_study_manifest_holds_the_best_trial(study):
    m = study["first"]
    assert m["kind"] == "study" and m["objective"] == "score" and m["direction"] == "maximize"
    values = [v for _, v, _ in study["before"]]
    assert len(values) == 4 and m["best_value"] == max(values)
    best = next(p for n, v, p in study["before"] if v == m["best_value"])
    assert m["best_params"] == best
    # the best trial's run manifest is the parent, by a path relative to the study
    (parent,) = m["parents"]
    assert parent["kind"] == "run" and not Path(parent["path"]).is_absolute()
    from wt_core.manifest_io import read_manifest

    again = read_manifest(study["out"], "study")  # verifies artifacts and that the parent is intact
    assert again.parents[0].id == json.loads((study["out"] / again.parents[0].path).read_text())["id"]
    assert {"trials", "best_config", "spec", "plot_optimization_history", "plot_parallel_coordinate"} <= set(m["artifacts"])


def test_trials_csv_and_plots(study):
    rows = list(csv.DictReader((study["out"] / "trials.csv").open()))
    assert [r["number"] for r in rows] == [str(i) for i in range(5)]
    assert {r["state"] for r in rows} == {"COMPLETE"}
    assert all((study["out"] / r["run"]).is_file() for r in rows)
    for name in ("optimization_history", "param_importances", "parallel_coordinate"):
        assert (study["out"] / "plots" / f"{name}.png").stat().st_size > 1000


def test_best_yaml_reruns_the_target(study, tmp_path):
    """best.yaml is the target's own config: the target takes it back and scores the best value."""
    proc = subprocess.run([*toy().split()[:2], "fit", "--config", str(study["out"] / "best.yaml"),
                           "--out", str(tmp_path / "again")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    again = json.loads(Path(proc.stdout.strip()).read_text())
    assert again["metrics"]["score"] == pytest.approx(study["second"]["best_value"])
    assert TOY.exists()


def test_rerun_continues_the_study(study):
    """The same command with n_trials 5 adds one trial and keeps the first four as they were."""
    trials = trials_of(study["out"])
    assert [t.number for t in trials] == list(range(5))
    assert [(t.number, t.value, t.params) for t in trials[:4]] == study["before"]
    m = study["second"]
    assert m["n_trials"] == 5 and m["details"]["states"] == {"COMPLETE": 5}
    assert m["id"] == study["first"]["id"]


def test_show_lists_trials(study):
    proc = call_cli("wt-tune", "show", "--study", study["out"], "--json", check=True)
    doc = json.loads(proc.stdout)
    assert doc["states"] == {"COMPLETE": 5} and len(doc["trials"]) == 5
    assert doc["best"]["value"] == study["second"]["best_value"]
    table = call_cli("wt-tune", "show", "--study", study["out"] / "manifest.json", check=True)
    assert table.stdout == "" and "COMPLETE" in table.stderr
