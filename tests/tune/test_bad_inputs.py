"""Bad inputs: each exits 2 with one `error:` line, no traceback, and leaves no study behind."""

from __future__ import annotations

import pytest
from helpers import assert_bad_input, call_cli, run_cli
from tune_helpers import study_config, toy

X = {"type": "float", "low": 0.0, "high": 1.0}
CASES = {
    "search key not in the target's config": (
        {"space": {"opt.lrr": X}}, ["'opt.lrr' is not a key of the target's config", "did you mean 'opt.lr'?"]),
    "a section, not a key": ({"space": {"opt": X}}, ["'opt' is a section of the target's config"]),
    "empty categorical": (
        {"space": {"kind": {"type": "categorical", "choices": []}}}, ["non-empty list of choices", "space.kind.choices"]),
    "low above high": ({"space": {"x": {"type": "float", "low": 1.0, "high": 0.5}}}, ["low (1.0) is above high (0.5)"]),
    "unknown distribution type": ({"space": {"x": {"type": "uniform", "low": 0, "high": 1}}}, ["type must be one of"]),
    "log with low 0": ({"space": {"x": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}}, ["needs low > 0"]),
    "int bound not an integer": ({"space": {"depth": {"type": "int", "low": 1.5, "high": 4}}}, ["must be an integer"]),
    "empty space": ({"space": {}}, ["the search space is empty"]),
    "enqueued value outside the space": ({"enqueue": [{"x": 2.0}]}, ["2.0 lies outside the space of x"]),
    "target program not found": ({"target": "wt-no-such-tool fit"}, ["program 'wt-no-such-tool' not found"]),
    "target refuses its base args": ({"target": toy("--epochs", "many")}, ["the target refused its base config"]),
    "zero trials": ({"n_trials": 0}, ["n_trials must be at least 1"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_study_config(case, tmp_path):
    fields, fragments = CASES[case]
    cfg = study_config(tmp_path / "study.yaml", **fields)
    proc = call_cli("wt-tune", "run", "--config", cfg, "--out", tmp_path / "s")
    assert_bad_input(proc, *fragments)
    assert not (tmp_path / "s").exists() and not (tmp_path / "s.partial").exists()


def test_objective_missing_from_the_first_trial(tmp_path):
    """Never scored 0: the study stops at the first finished trial and leaves nothing behind."""
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "1"), objective="accuracy", n_trials=3)
    proc = call_cli("wt-tune", "run", "--config", cfg, "--out", tmp_path / "s")
    assert_bad_input(proc, "objective metric 'accuracy' is missing from the run manifest of trial 0",
                     "its metrics: loss, score", "metrics.accuracy")
    assert not (tmp_path / "s").exists() and not (tmp_path / "s.partial").exists()


def test_another_study_in_the_same_directory(tmp_path):
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "1"), n_trials=1)
    call_cli("wt-tune", "run", "--config", cfg, "--out", tmp_path / "s", check=True)
    other = study_config(tmp_path / "other.yaml", target=toy("--epochs", "1"), n_trials=1, space={"x": X})
    proc = call_cli("wt-tune", "run", "--config", other, "--out", tmp_path / "s")
    assert_bad_input(proc, "started with another space", "spec.json")
    assert (tmp_path / "s" / "manifest.json").is_file()  # the finished study is left as it was


def test_show_of_a_directory_without_a_study(tmp_path):
    assert_bad_input(run_cli("wt-tune", "show", "--study", tmp_path), "not a study directory")

