"""A worker: claims the study's waiting trials one by one and runs them until none are left.

`wt-tune run --workers N` starts N of these as processes
(`python -m wt_tune.worker STUDY_DIR DEADLINE [--quiet|--verbose]`); with one worker the loop runs in the
`wt-tune run` process itself. A failing trial is recorded as FAIL with the tail
of its stderr and the loop goes on; an objective metric missing from the first
finished trial stops the whole study (a mistake in the study, not a score).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

from wt_core.console import get_logger
from wt_core.errors import BadInput

from wt_tune import study as study_mod
from wt_tune.objective import Objective, ObjectiveMissing, TrialFailed
from wt_tune.study import ABORT_FILE, PARENT_RUN_ATTR, Spec

log = get_logger("wt-tune")


def claim(study) -> int | None:
    """Atomically move one waiting trial to RUNNING; its id, or None when none is left."""
    import optuna
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if study._storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                return t._trial_id
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def abort_reason(study_dir: Path) -> dict | None:
    p = study_dir / ABORT_FILE
    return json.loads(p.read_text()) if p.exists() else None


def work(spec: Spec, study_dir: Path, deadline: float | None = None) -> int:
    """Run waiting trials until none is left, the deadline passes or the study is aborted; trials run."""
    import optuna
    from optuna.trial import Trial, TrialState

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = study_mod.load(spec)
    objective = Objective(spec, study_dir, study.user_attrs.get(PARENT_RUN_ATTR))
    ran = 0
    while True:
        if abort_reason(study_dir) is not None:
            break
        if deadline is not None and time.time() >= deadline:
            log.info("timeout reached: no new trial starts")
            break
        study_mod.fail_stale(study)
        trial_id = claim(study)
        if trial_id is None:
            break
        number = study._storage.get_trial_number_from_id(trial_id)
        study.sampler = study_mod.make_sampler(spec.sampler, number)
        trial = Trial(study, trial_id)
        trial.set_user_attr("worker", study_mod.worker_tag())
        ran += 1
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except TrialFailed as e:
            log.warning("trial %d failed: %s", number, e)
            study.tell(trial, state=TrialState.FAIL)
        except ObjectiveMissing as e:
            trial.set_user_attr("error", e.line())
            study.tell(trial, state=TrialState.FAIL)
            if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                (study_dir / ABORT_FILE).write_text(json.dumps({"message": e.message, "file": e.file, "field": e.field}))
                raise
            log.warning("trial %d failed: %s", number, e.message)
        except KeyboardInterrupt:
            trial.set_user_attr("error", "interrupted")
            study.tell(trial, state=TrialState.FAIL)
            study_mod.retry_once(study, study._storage.get_trial(trial_id))  # the next run runs it again
            raise
        except Exception as e:  # the study goes on whatever one trial does
            trial.set_user_attr("error", f"{type(e).__name__}: {e}"[:2000])
            log.warning("trial %d failed: %s: %s", number, type(e).__name__, e)
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, value)
            log.info("trial %d: %s = %.6g", number, spec.objective, value)
    return ran


def main(argv: list[str] | None = None) -> int:
    import signal

    from wt_core import console, offline

    argv = sys.argv[1:] if argv is None else argv
    study_dir = Path(argv[0])
    deadline = float(argv[1]) if len(argv) > 1 and argv[1] != "none" else None
    offline.apply()
    console.setup("--verbose" in argv[2:], "--quiet" in argv[2:])  # the switches of `wt-tune run` (console.switches)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        work(Spec.load(study_dir), study_dir, deadline)
    except KeyboardInterrupt:
        return 130
    except BadInput:
        return 2  # the study's process reports it (abort.json) as its one error line
    return 0


if __name__ == "__main__":
    sys.exit(main())
