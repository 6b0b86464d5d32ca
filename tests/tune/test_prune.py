"""Pruning from metrics.jsonl, and a failing trial that does not stop the study."""

from __future__ import annotations

import sys

import pytest
from helpers import call_cli, manifest_of
from tune_helpers import study_config, toy, trials_of


@pytest.fixture(scope="module")
def pruned_study(tmp_path_factory):
    """Trial 0 is good, 1 reports a poor first epoch, 2 crashes in its second epoch, 3 is good."""
    base = tmp_path_factory.mktemp("prune")
    space = {"x": {"type": "float", "low": 0.0, "high": 1.0},
             "fail": {"type": "categorical", "choices": [False, True]}}
    cfg = study_config(base / "study.yaml", target=toy("--epochs", "4", "--sleep", "0.6"), space=space, poll=0.1,
                       pruner={"name": "median", "startup_trials": 1},
                       enqueue=[{"x": 0.3, "fail": False}, {"x": 1.0, "fail": False},
                                {"x": 0.3, "fail": True}, {"x": 0.3, "fail": False}])
    proc = call_cli("wt-tune", "run", "--config", cfg, "--out", base / "s", check=True)
    return base / "s", manifest_of(proc), trials_of(base / "s")


def test_poor_trial_is_pruned_and_its_output_removed(pruned_study):
    out, m, trials = pruned_study
    poor = trials[1]
    assert poor.state.name == "PRUNED"
    assert poor.user_attrs["pruned_at"] == 1  # stopped after its first epoch, not run to the end
    assert list(poor.intermediate_values) == [1]
    assert not (out / "trials" / "0001").exists() and not (out / "trials" / "0001.partial").exists()
    assert m["details"]["states"]["PRUNED"] == 1


def test_failing_trial_is_recorded_with_its_stderr_and_the_study_goes_on(pruned_study):
    out, m, trials = pruned_study
    failed = trials[2]
    assert failed.state.name == "FAIL"
    assert failed.user_attrs["returncode"] == 1
    assert "the toy diverged" in failed.user_attrs["error"]
    assert trials[3].state.name == "COMPLETE"
    assert m["details"]["states"] == {"COMPLETE": 2, "PRUNED": 1, "FAIL": 1}
    assert m["best_params"] == {"x": 0.3, "fail": False}
    row = next(r for r in m["details"]["trials"] if r["number"] == 2)
    assert "the toy diverged" in row["error"]


def test_objective_from_an_evaluation_after_each_trial(tmp_path):
    """--evaluate runs a command on each finished run; the objective is read from its manifest."""
    import shlex

    from tune_helpers import TOY

    space = {"x": {"type": "float", "low": 0.0, "high": 1.0}}
    evaluate = shlex.join([sys.executable, str(TOY), "evaluate", "--run", "{run}"])
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "1"), space=space, n_trials=2,
                       objective="acc", intermediate="score", evaluate=evaluate, enqueue=[{"x": 0.3}, {"x": 0.9}])
    m = manifest_of(call_cli("wt-tune", "run", "--config", cfg, "--out", tmp_path / "s", check=True))
    trials = trials_of(tmp_path / "s")
    assert m["best_params"] == {"x": 0.3}
    assert m["best_value"] == pytest.approx((1.0 - 0.01 * 4) ** 2)  # the toy's acc: its score squared
    assert all(t.user_attrs["evaluation"].endswith("manifest.json") for t in trials)


def test_objective_works_with_plain_optuna(tmp_path):
    """The objective is an ordinary Optuna objective: study.optimize runs the target as a subprocess."""
    import optuna
    from tune_helpers import TOY
    from wt_tune import Objective, Spec

    spec = Spec(name="py", target=[sys.executable, str(TOY), "fit", "--epochs", "1"],
                space={"x": {"type": "float", "low": 0.0, "high": 1.0}}, objective="score", direction="maximize",
                n_trials=2, intermediate="score")
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"x": 0.3})
    study.optimize(Objective(spec, tmp_path), n_trials=2)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.best_params == {"x": 0.3}
    assert (tmp_path / "trials" / "0000" / "manifest.json").is_file()


def test_a_trial_at_the_last_epoch_is_not_pruned(tmp_path):
    """One-epoch trials: a poor one has reached the length of the finished trials, so it finishes (not wasted)."""
    space = {"x": {"type": "float", "low": 0.0, "high": 1.0}}
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "1", "--sleep", "0.8"), space=space,
                       n_trials=2, poll=0.1, pruner={"name": "median", "startup_trials": 1},
                       enqueue=[{"x": 0.3}, {"x": 1.0}])
    m = manifest_of(call_cli("wt-tune", "run", "--config", cfg, "--out", tmp_path / "s", check=True))
    assert m["details"]["states"] == {"COMPLETE": 2}
