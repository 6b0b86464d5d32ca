"""The objective: one trial is one run of the target tool in a subprocess.

`Objective(spec, study_dir)` is a plain Optuna objective, so it also works with
`study.optimize` from Python. It samples the space, runs the target with the
sampled values as `--key value` options and `--out` under `trials/`, reports
each new line of the run's `metrics.jsonl` to the pruner while it runs, stops a
pruned run with SIGTERM and removes its partial output, and returns the
objective metric of the finished run's manifest (or of the evaluation made by
the `evaluate` command after it).
"""

from __future__ import annotations

import ctypes
import math
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.manifest_io import read_manifest
from wt_core.metrics_log import METRICS_FILE, read_metrics

from wt_tune import space as space_mod
from wt_tune.study import Spec
from wt_tune.target import overrides

log = get_logger("wt-tune")
TRIALS_DIR, LOGS_DIR = "trials", "logs"
STDERR_TAIL = 2000
_PR_SET_PDEATHSIG = 1


class TrialFailed(Exception):
    """The target failed; the message holds the tail of its stderr."""


def die_with_parent() -> None:
    """In a child: receive SIGTERM when the process that started it dies (even by kill -9)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def stop(proc: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM (the tools exit 130, output left resumable), then SIGKILL after `grace` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(path: Path, limit: int = STDERR_TAIL) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


class Objective:
    """An Optuna objective that runs the study's target as a subprocess."""

    def __init__(self, spec: Spec, study_dir: str | Path, parent_run_id: str | None = None,
                 env: dict[str, str] | None = None):
        self.spec = spec
        self.dir = Path(study_dir).absolute()
        self.dists = space_mod.distributions(spec.space)
        self.parent_run_id = parent_run_id
        self.env = env or {}

    def out_dir(self, number: int) -> Path:
        return self.dir / TRIALS_DIR / f"{number:04d}"

    def command(self, params: dict[str, Any], out: Path) -> list[str]:
        return [*self.spec.target, *overrides(params), "--out", str(out)]

    def __call__(self, trial) -> float:
        import optuna

        params = space_mod.suggest(trial, self.dists)
        out = self.out_dir(trial.number)
        partial = out.with_name(out.name + ".partial")
        for stale in (out, partial):  # left by a worker that died while running this number
            shutil.rmtree(stale, ignore_errors=True)
        argv = self.command(params, out)
        err_path = self.dir / LOGS_DIR / f"{trial.number:04d}.stderr"
        err_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env}
        if self.parent_run_id:
            env["WT_PARENT_RUN_ID"] = self.parent_run_id
        trial.set_user_attr("out", str(out))
        log.info("trial %d: %s", trial.number, " ".join(overrides(params)))
        started = time.monotonic()
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                    preexec_fn=die_with_parent)
            try:
                pruned = self._watch(trial, proc, partial, started)
            except BaseException:
                stop(proc)
                raise
            stdout = proc.stdout.read().decode() if proc.stdout else ""
            if proc.stdout:
                proc.stdout.close()
        if pruned:
            shutil.rmtree(partial, ignore_errors=True)
            trial.set_user_attr("pruned_at", pruned)
            log.info("trial %d pruned at epoch %d", trial.number, pruned)
            raise optuna.TrialPruned(f"pruned at epoch {pruned}")
        if proc.returncode != 0:
            text = tail(err_path)
            trial.set_user_attr("returncode", proc.returncode)
            trial.set_user_attr("error", text)
            last = text.splitlines()[-1] if text else f"exit status {proc.returncode}"
            raise TrialFailed(f"the target exited {proc.returncode}: {last}")
        lines = [ln for ln in stdout.splitlines() if ln.strip()]
        if len(lines) != 1:
            trial.set_user_attr("error", f"expected one manifest path on stdout, got {stdout[-500:]!r}")
            raise TrialFailed("the target printed no manifest path")
        manifest = read_manifest(lines[0], hashes=False)
        trial.set_user_attr("manifest", str(manifest.path))
        trial.set_user_attr("run_id", manifest.id)
        tracking = getattr(manifest, "tracking", None)
        if tracking is not None:
            trial.set_user_attr("mlflow_run_id", tracking.run_id)
        source = manifest
        if self.spec.evaluate:
            source = self._evaluate(trial, manifest.path)
        return self._value(trial, source)

    def _watch(self, trial, proc: subprocess.Popen, partial: Path, started: float) -> int | None:
        """Poll the run: report new epochs, record heartbeats; the epoch it was pruned at, or None."""
        storage = trial.study._storage
        heartbeat = getattr(storage, "get_heartbeat_interval", lambda: None)()
        beat = 0.0
        seen = 0
        while True:
            done = proc.poll() is not None
            rows = read_metrics(partial / METRICS_FILE)
            for row in rows[seen:]:
                value = row.get(self.spec.intermediate)
                epoch = int(row.get("epoch", seen + 1))
                seen += 1
                if value is None or not math.isfinite(float(value)):
                    continue
                trial.report(float(value), step=epoch)
                if not done and epoch < self._last_step(trial) and trial.should_prune():
                    stop(proc)
                    return epoch
            if done:
                return None
            if heartbeat and time.monotonic() - beat > heartbeat:
                storage.record_heartbeat(trial._trial_id)
                beat = time.monotonic()
            if self.spec.trial_timeout and time.monotonic() - started > self.spec.trial_timeout:
                stop(proc)
                trial.set_user_attr("error", f"stopped after trial_timeout {self.spec.trial_timeout} s")
                raise TrialFailed(f"the trial ran past trial_timeout ({self.spec.trial_timeout} s)")
            try:  # wakes at once when the run ends
                proc.wait(self.spec.poll)
            except subprocess.TimeoutExpired:
                pass

    @staticmethod
    def _last_step(trial) -> float:
        """The last epoch finished trials reached: a trial there is about to finish, so it is not stopped."""
        from optuna.trial import TrialState

        done = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        steps = [max(t.intermediate_values) for t in done if t.intermediate_values]
        return max(steps) if steps else math.inf

    def _evaluate(self, trial, run_manifest: Path):
        argv = [a.replace("{run}", str(run_manifest)) for a in self.spec.evaluate]
        proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              env={**os.environ, **self.env})
        if proc.returncode != 0:
            text = proc.stderr.strip()[-STDERR_TAIL:]
            trial.set_user_attr("error", text)
            last = text.splitlines()[-1] if text else f"exit status {proc.returncode}"
            raise TrialFailed(f"the evaluation exited {proc.returncode}: {last}")
        manifest = read_manifest(proc.stdout.strip().splitlines()[-1], hashes=False)
        trial.set_user_attr("evaluation", str(manifest.path))
        return manifest

    def _value(self, trial, manifest) -> float:
        metrics = getattr(manifest, "metrics", None) or {}
        value = metrics.get(self.spec.objective)
        if value is None or not math.isfinite(float(value)):
            names = ", ".join(sorted(metrics)) or "none"
            what = "is missing from" if value is None else "is not a finite number in"
            raise ObjectiveMissing(f"objective metric {self.spec.objective!r} {what} the {manifest.kind} manifest "
                                   f"of trial {trial.number} (its metrics: {names})", manifest.path,
                                   f"metrics.{self.spec.objective}")
        return float(value)


class ObjectiveMissing(BadInput):
    """The objective is not in a finished trial's manifest: a mistake in the study, never a score of 0."""
