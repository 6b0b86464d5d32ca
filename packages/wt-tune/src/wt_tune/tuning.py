"""`wt-tune run`: start or continue an Optuna study over a tool's config."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

from wt_core import locks
from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.invocation import add_input, check_output, command
from wt_core.manifest import StudyManifest
from wt_core.manifest_io import build, new_id
from wt_core.outputs import PARTIAL, Output, default_out

from wt_tune import __version__
from wt_tune import study as study_mod
from wt_tune.study import ABORT_FILE, JOURNAL_FILE, SPEC_FILE, Pruner, Sampler, Spec

log = get_logger("wt-tune")


def _check_numbers(n_trials: int, workers: int, timeout: float | None, trial_timeout: float | None, poll: float) -> None:
    if n_trials < 1:
        raise BadInput(f"n_trials must be at least 1, got {n_trials}", None, "n_trials")
    if workers < 1:
        raise BadInput(f"workers must be at least 1, got {workers}", None, "workers")
    for name, value in (("timeout", timeout), ("trial_timeout", trial_timeout)):
        if value is not None and value <= 0:
            raise BadInput(f"{name} must be positive, got {value}", None, name)
    if poll <= 0:
        raise BadInput(f"poll must be positive, got {poll}", None, "poll")


def _open_dir(final: Path, overwrite: bool) -> Output:
    """The study directory, continued when it holds this study, started over with --overwrite."""
    partial = final.with_name(final.name + PARTIAL)
    study_id = None
    if overwrite:
        if partial.exists():  # a live study's directory is not removed under it: its writer is refused first
            locks.acquire(partial).release()
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
    elif final.exists():
        if not (final / SPEC_FILE).is_file():
            raise BadInput("output directory exists and holds no study; pass --overwrite to replace it", final)
        if partial.exists():
            raise BadInput("both a finished and an unfinished study exist here; remove one", partial)
        if (final / "manifest.json").is_file():  # the study keeps its id however often it is continued
            study_id = json.loads((final / "manifest.json").read_text()).get("id")
        os.replace(final, partial)  # continue the finished study: it is unfinished again until committed
    return Output("wt-tune", "run", final, resume=partial.exists(), id=study_id)


def _same_study(old: Spec, new: Spec, directory: Path) -> None:
    for name in ("target", "space", "objective", "direction", "intermediate", "evaluate"):
        if getattr(old, name) != getattr(new, name):
            raise BadInput(f"the study here was started with another {name}; use another --out or pass --overwrite",
                           directory / SPEC_FILE, name)


def _run_workers(spec: Spec, study_dir: Path, workers: int, deadline: float | None) -> None:
    from wt_tune.objective import die_with_parent, stop
    from wt_tune.worker import work

    if workers == 1:
        work(spec, study_dir, deadline)
        return
    from wt_core.console import switches

    argv = [sys.executable, "-m", "wt_tune.worker", str(study_dir), "none" if deadline is None else repr(deadline),
            *switches()]  # the workers log as this process does: --quiet and --verbose reach them
    procs = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=die_with_parent)
             for _ in range(workers)]
    try:
        for p in procs:
            p.wait()
    except BaseException:
        for p in procs:
            stop(p, grace=60)
        raise
    codes = [p.returncode for p in procs]
    if any(c == 130 for c in codes):
        raise KeyboardInterrupt
    failed = [c for c in codes if c not in (0, 2, -signal.SIGKILL)]
    if failed:
        log.warning("%d worker(s) exited with status %s", len(failed), failed)


def _wait_for_others(study) -> None:
    """Let trials that other live workers are running finish before the study is reported."""
    from optuna.trial import TrialState

    while True:
        study_mod.fail_stale(study)
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not running:
            return
        log.info("waiting for %d trial(s) other workers are running", len(running))
        time.sleep(2)


def _abort(output: Output, spec: Spec, created: bool, error: BadInput) -> None:
    """A mistake in the study itself: remove what this run created, then report it."""
    if created:
        if spec.storage:  # a shared storage: remove the study this run created there
            import optuna

            optuna.delete_study(study_name=spec.name, storage=study_mod.open_storage(spec.storage_url))
        output.discard()
    else:
        (output.dir / ABORT_FILE).unlink(missing_ok=True)
    raise error


@command("wt-tune", "run", __version__)
def run(
    target: str,
    space: dict[str, dict],
    objective: str,
    direction: Literal["maximize", "minimize"] = "maximize",
    n_trials: int = 10,
    timeout: float | None = None,
    target_config: Path | None = None,
    intermediate: str | None = None,
    evaluate: str | None = None,
    enqueue: list[dict] | None = None,
    sampler: Sampler = Sampler(),
    pruner: Pruner = Pruner(),
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    trial_timeout: float | None = None,
    poll: float = 0.5,
    experiment: str = "wt-tune",
    track: bool = True,
    plots: bool = True,
    out: Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
) -> StudyManifest:
    """Start or continue an Optuna study: each trial runs the target tool with sampled config values.

    Writes a study manifest with the best params and value, the best trial's run
    manifest as a parent, a trials CSV, plots, and best.yaml (the target's config
    with the best params, for its --config). Running the same command again
    continues the study (raise n_trials for more trials).

    Args:
        target: The command a trial runs, with its fixed arguments, e.g. "wt-cls fit --dataset d/manifest.json".
            Split like a shell would, never run by one.
        space: Dotted keys of the target's config to distributions: {type: float|int, low, high, log, step}
            or {type: categorical, choices: [...]}.
        objective: The metric to optimise, from the trial's run manifest (or the evaluation's, with --evaluate);
            a run's standard names: mAP50, mAP50_95, precision, recall (detection), acc, f1_macro (classification).
        direction: maximize or minimize the objective.
        n_trials: Trials in the whole study, over all workers (finished: complete, pruned or failed).
        timeout: Seconds after which no new trial starts (the study can be continued later).
        target_config: A YAML config passed to the target as --config (its base config).
        intermediate: The metrics.jsonl key reported to the pruner each epoch (default: the objective).
        evaluate: A command run after each trial that prints the path of a manifest whose metrics hold the
            objective (an evaluation); {run} is replaced by the trial's run manifest path.
        enqueue: Configurations (space key to value) tried first, in order.
        sampler: The sampler.
        pruner: The pruner.
        storage: An Optuna RDB URL (postgresql://, mysql://, sqlite:///) or a journal file path shared by workers
            on several machines (default: a journal file in the study directory).
        study: The study name (default: the output directory's name).
        workers: Worker processes on this machine.
        trial_timeout: Seconds after which a trial is stopped and recorded as failed.
        poll: Seconds between reads of a running trial's metrics.jsonl.
        experiment: MLflow experiment of the study's parent run.
        track: Record the study as a parent MLflow run of the trials' runs.
        plots: Draw the optimisation history, parameter importances and parallel coordinates.
        out: The study directory (default runs/tune/run/<study>).
        overwrite: Start the study over, deleting the one in --out.
        resume: Continue the study in --out after a crash, Ctrl-C or kill -9 (refused when --out holds none);
            a trial stopped from outside is run again once with the same parameters. The same command without
            it continues a study too.
    """
    import warnings

    import optuna

    from wt_tune import report
    from wt_tune import space as space_mod
    from wt_tune import target as target_mod

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _check_numbers(n_trials, workers, timeout, trial_timeout, poll)
    if not objective.strip():
        raise BadInput("the objective metric name is empty", None, "objective")
    dists = space_mod.distributions(space)
    space_mod.check_enqueued(enqueue or [], dists)
    argv = target_mod.base_argv(target, str(target_config) if target_config else None)
    evaluate_argv = target_mod.split_command(evaluate, "evaluate") if evaluate else []
    config = target_mod.print_config(argv)
    target_mod.check_keys(list(space), config)
    if "out" not in config:
        raise BadInput("the target has no --out option, so its trials cannot be kept apart", None, "target")

    name = study or (Path(out).name if out else new_id())
    final = Path(out).expanduser().absolute() if out else default_out("wt-tune", "run", name)
    partial = final.with_name(final.name + PARTIAL)
    if resume and overwrite:
        raise BadInput("--resume continues the study in --out and --overwrite deletes it: give one", None, "resume")
    if resume and not any((d / SPEC_FILE).is_file() for d in (partial, final)):
        raise BadInput("nothing to resume: no study in --out", partial, "resume")
    if target_config is not None:
        add_input(target_config, "target's base config", folder=False)
    check_output(final)  # before --overwrite removes anything
    spec = Spec(name=name, target=argv, space=space, objective=objective, direction=direction, n_trials=n_trials,
                intermediate=intermediate or objective, evaluate=evaluate_argv,
                storage=study_mod.storage_arg(storage), directory=str(partial),
                sampler=Sampler(**vars(sampler)), pruner=Pruner(**vars(pruner)), poll=poll,
                trial_timeout=trial_timeout)
    for existing in (partial, final):
        if not overwrite and (existing / SPEC_FILE).is_file():
            _same_study(Spec.load(existing), spec, existing)
    output = _open_dir(final, overwrite)
    if overwrite and spec.storage:
        try:
            optuna.delete_study(study_name=name, storage=study_mod.open_storage(spec.storage_url))
        except KeyError:
            pass
    spec.save(output.dir)
    (output.dir / ABORT_FILE).unlink(missing_ok=True)
    the_study, created = study_mod.create_or_load(spec, enqueue or [])
    log.info("study %s: %s trials wanted, %s", name, n_trials, study_mod.counts(the_study))
    parent_run_id = report.parent_run(the_study, experiment, name) if track else None
    deadline = time.time() + timeout if timeout else None
    try:
        _run_workers(spec, output.dir, workers, deadline)
    except BadInput as e:
        _abort(output, spec, created, e)
    from wt_tune.worker import abort_reason

    if (reason := abort_reason(output.dir)) is not None:
        _abort(output, spec, created, BadInput(reason["message"], reason["file"], reason["field"]))
    _wait_for_others(the_study)
    return _write(output, spec, the_study, parent_run_id, plots)


def _write(output: Output, spec: Spec, the_study, parent_run_id: str | None, plots: bool) -> StudyManifest:
    from optuna.trial import TrialState

    from wt_tune import report
    from wt_tune import target as target_mod

    rows = report.trial_rows(the_study, spec, output.dir)
    report.write_csv(rows, output.path("trials.csv"))
    output.add("trials", "trials.csv")
    complete = the_study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = the_study.best_trial if complete else None
    shutil.rmtree(output.dir / "plots", ignore_errors=True)  # drawn again from all the trials
    drawn = report.write_plots(the_study, output.dir / "plots") if complete and plots else {}
    for plot, rel in drawn.items():
        output.add(f"plot_{plot}", rel)
    files = [output.dir / "trials.csv", *(output.dir / rel for rel in drawn.values())]
    parents = []
    if best is not None:
        report.write_yaml(target_mod.best_config(spec.target, best.params), output.path("best.yaml"))
        output.add("best_config", "best.yaml")
        files.append(output.dir / "best.yaml")
        if (parent := report.best_parent(best, output.dir)) is not None:
            parents.append(parent)
    output.add("spec", SPEC_FILE)
    tracking = report.close_parent_run(parent_run_id, the_study, files) if parent_run_id else None
    counts = study_mod.counts(the_study)
    m = build(StudyManifest, id=output.id, direction=spec.direction, objective=spec.objective,
              n_trials=spec.n_trials, best_value=best.value if best else None, best_params=best.params if best else {},
              tracking=tracking,
              details={"study": spec.name, "storage": spec.storage or JOURNAL_FILE, "target": spec.target, "states": counts,
                       "best_trial": best.number if best else None, "trials": rows})
    m.parents = parents
    log.info("study %s: %s; best %s = %s", spec.name, counts, spec.objective, m.best_value)
    return output.commit(m)



