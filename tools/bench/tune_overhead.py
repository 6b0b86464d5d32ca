"""wt-tune's per-trial overhead against the trial's own time.

    python tools/bench/tune_overhead.py [--trials 6] [--seconds 2.0] [--storage URL] [--quick]

The target is the toy training tool of the tests (tests/tune/toytarget.py: a real
wt-core CLI that sleeps `--seconds` in all, writes metrics.jsonl and a run
manifest). First the bare target runs `--trials` times in a row as plain
subprocesses; then `wt-tune run` runs a study of as many trials over the same
command (one worker, no tracking, no plots, median pruner on). The per-trial
overhead is the mean Optuna trial duration minus the mean bare run: what
wt-tune adds per trial (sampling, the subprocess's argument list, polling
metrics.jsonl, reading the manifest, storage writes). The study's fixed cost
(asking the target for --print_config twice, opening the storage, the report) is
shown apart. Goal: under 2 s per trial.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "tests" / "tune" / "toytarget.py"
BIN = Path(sys.executable).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=2.0, help="the target's own work per trial")
    ap.add_argument("--storage", default=None, help="an Optuna storage URL (default: the study's journal file)")
    ap.add_argument("--quick", action="store_true", help="3 trials of 1 s")
    a = ap.parse_args()
    if a.quick:
        a.trials, a.seconds = 3, 1.0
    epochs = 4
    target = [sys.executable, str(TOY), "fit", "--epochs", str(epochs), "--sleep", str(a.seconds / epochs)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bare = []
        for i in range(a.trials):
            t = time.perf_counter()
            subprocess.run([*target, "--x", str(0.1 * i), "--out", str(tmp / f"bare{i}")], check=True,
                           capture_output=True)
            bare.append(time.perf_counter() - t)
        config = {"target": shlex.join(target), "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
                  "objective": "score", "n_trials": a.trials, "track": False, "plots": False,
                  "pruner": {"name": "median", "startup_trials": a.trials}}
        if a.storage:
            config["storage"] = a.storage
        (tmp / "study.yaml").write_text(yaml.safe_dump(config))
        t = time.perf_counter()
        proc = subprocess.run([str(BIN / "wt-tune"), "run", "--config", str(tmp / "study.yaml"), "--out",
                               str(tmp / "study")], capture_output=True, text=True)
        total = time.perf_counter() - t
        if proc.returncode != 0:
            sys.exit(f"wt-tune failed:\n{proc.stderr[-3000:]}")
        m = json.loads(Path(proc.stdout.strip()).read_text())
        durations = [r["duration_s"] for r in m["details"]["trials"]]
    bare_mean, trial_mean = statistics.mean(bare), statistics.mean(durations)
    overhead = trial_mean - bare_mean
    fixed = total - sum(durations)
    rows = [
        ("bare target run (mean)", bare_mean, ""),
        ("wt-tune trial (mean)", trial_mean, f"{trial_mean / bare_mean:.2f}x"),
        ("per-trial overhead", overhead, "goal < 2 s: " + ("met" if overhead < 2 else "MISSED")),
        ("study fixed cost (setup + report)", fixed, ""),
        (f"whole study ({a.trials} trials)", total, f"{total / sum(bare):.2f}x the bare runs"),
    ]
    print(f"wt-tune overhead: {a.trials} trials, target work {a.seconds:.1f} s each, "
          f"storage {a.storage or 'journal file'}")
    print(f"{'what':36s} {'seconds':>9s}  note")
    for what, sec, note in rows:
        print(f"{what:36s} {sec:9.3f}  {note}")


if __name__ == "__main__":
    main()
