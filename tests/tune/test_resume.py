"""`wt-tune run --resume` after a kill -9 of the study mid-trial (issue 17): the study continues, the killed
trial is run again once with the same parameters and does not count against the trials asked for."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from helpers import assert_bad_input, manifest_of, run_cli, tool_path
from tune_helpers import study_config, toy, trials_of


def test_kill_9_then_resume_reruns_the_killed_trial(tmp_path):
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "3", "--sleep", "0.5"), n_trials=3, poll=0.2,
                       pruner={"name": "none"})
    argv = [tool_path("wt-tune"), "run", "--config", str(cfg), "--out", str(tmp_path / "s")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "s.partial" / "trials" / "0001.partial" / "metrics.jsonl"  # the second trial, mid-run
    deadline = time.monotonic() + 240
    while not (metrics.exists() and metrics.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metrics.exists(), "the second trial never started"
    os.kill(proc.pid, signal.SIGKILL)  # the study process is the worker: no handler runs
    proc.communicate(timeout=60)
    before = {t.number: t for t in trials_of(tmp_path / "s.partial", "s")}
    assert before[0].state.name == "COMPLETE" and before[1].state.name == "RUNNING"

    again = run_cli("wt-tune", *argv[1:], "--resume", timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    m = manifest_of(again)
    assert m["details"]["states"] == {"COMPLETE": 3, "FAIL": 1}  # three asked for, three done
    trials = trials_of(tmp_path / "s")
    killed = trials[1]
    assert killed.state.name == "FAIL" and "died" in killed.user_attrs["error"]
    (retry,) = [t for t in trials if t.user_attrs.get("retry_of") == 1]
    assert retry.state.name == "COMPLETE" and retry.params == before[1].params
    assert trials[0].value == before[0].value  # the finished trial was kept, not run again


def test_resume_without_a_study_is_refused(tmp_path):
    cfg = study_config(tmp_path / "study.yaml")
    proc = run_cli("wt-tune", "run", "--config", cfg, "--out", tmp_path / "s", "--resume")
    assert_bad_input(proc, "nothing to resume: no study in --out", "s.partial, resume")
    assert not (tmp_path / "s").exists() and not (tmp_path / "s.partial").exists()
    proc = run_cli("wt-tune", "run", "--config", cfg, "--out", tmp_path / "s", "--resume", "--overwrite")
    assert_bad_input(proc, "give one")


def test_out_holding_the_target_config_is_refused(tmp_path):
    """--overwrite would delete the base config the trials are run with."""
    (tmp_path / "s").mkdir()
    base = tmp_path / "s" / "base.yaml"
    base.write_text("epochs: 1\n")
    cfg = study_config(tmp_path / "study.yaml", target_config=str(base))
    proc = run_cli("wt-tune", "run", "--config", cfg, "--out", tmp_path / "s", "--overwrite")
    assert_bad_input(proc, "--out holds the target's base config", f"({base}, out)")
    assert base.read_text() == "epochs: 1\n"
