"""Two worker processes on one local study, and a worker killed with SIGKILL mid-trial (its trial runs again once)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from helpers import manifest_of, tool_path
from tune_helpers import study_config, toy, trials_of


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_two_workers_exact_trials_and_a_killed_worker(tmp_path):
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "3", "--sleep", "0.7"), n_trials=6, poll=0.2,
                       pruner={"name": "none"}, workers=2)
    out = tmp_path / "s"
    proc = subprocess.Popen([tool_path("wt-tune"), "run", "--config", str(cfg), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = tmp_path / "s.partial"
    victim = trial_child = None
    deadline = time.monotonic() + 240
    while victim is None and time.monotonic() < deadline:  # a worker that is mid-trial (an epoch written)
        time.sleep(0.3)
        try:
            trials = trials_of(partial, "s")
        except (FileNotFoundError, KeyError):  # no journal yet, or the study not yet in it
            continue
        for t in trials:
            metrics = partial / "trials" / f"{t.number:04d}.partial" / "metrics.jsonl"
            if t.state.name == "RUNNING" and "worker" in t.user_attrs and metrics.exists() and metrics.read_text():
                victim, number = int(t.user_attrs["worker"].rsplit(":", 1)[1]), t.number
                trial_child = _children(victim)
                break
    assert victim is not None, "no trial started"
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    # the killed worker's target process was stopped with it, not left running
    assert trial_child and all(_gone(p) for p in trial_child)

    m = manifest_of(subprocess.CompletedProcess([], 0, stdout, stderr))
    trials = trials_of(out)
    assert [t.number for t in trials] == list(range(7))  # n_trials, and the killed one run again
    assert all(t.state.is_finished() for t in trials)
    killed = trials[number]
    assert killed.state.name == "FAIL" and "died" in killed.user_attrs["error"]
    (retry,) = [t for t in trials if t.user_attrs.get("retry_of") == number]
    assert retry.state.name == "COMPLETE" and retry.params == killed.params  # re-queued once, same parameters
    assert retry.user_attrs["ticket"] == killed.user_attrs["ticket"]
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert sorted(t.user_attrs["ticket"] for t in complete) == list(range(6))  # every ticket done once
    assert m["details"]["states"] == {"COMPLETE": 6, "FAIL": 1}
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) >= 2  # both workers ran trials


def test_sigterm_stops_the_study_resumably(tmp_path):
    """SIGTERM (or Ctrl-C): the running trial is stopped and failed, exit 130; the same command continues."""
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "3", "--sleep", "0.7"), n_trials=2, poll=0.2,
                       pruner={"name": "none"})
    argv = [tool_path("wt-tune"), "run", "--config", str(cfg), "--out", str(tmp_path / "s")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "s.partial" / "trials" / "0000.partial" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    child = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and stdout == "", stderr[-2000:]
    assert "interrupted" in stderr.strip().splitlines()[-1]
    assert child and all(_gone(p) for p in child)
    (first,) = [t for t in trials_of(tmp_path / "s.partial", "s") if t.state.name not in ("WAITING",)]
    assert first.state.name == "FAIL" and first.user_attrs["error"] == "interrupted"
    again = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    m = manifest_of(again)
    assert m["details"]["states"] == {"FAIL": 1, "COMPLETE": 2}  # the interrupted trial ran again, not counted


def test_workers_log_as_the_study_does(tmp_path):
    """--quiet and --verbose reach the worker processes: with --quiet no worker writes its trial lines."""
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "1"), n_trials=2, poll=0.2,
                       pruner={"name": "none"}, workers=2)
    logs = {}
    for switch in ("", "--quiet"):
        out = tmp_path / f"s{switch}"
        proc = subprocess.run([tool_path("wt-tune"), "run", "--config", str(cfg), "--out", str(out),
                               *([switch] if switch else [])], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        logs[switch] = proc.stderr
    assert "trial 0: score = " in logs[""] or "trial 1: score = " in logs[""], logs[""]
    assert logs["--quiet"].strip() == "", logs["--quiet"]
