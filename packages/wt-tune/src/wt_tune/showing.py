"""`wt-tune show`: the trials of a study, finished or still running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wt_core.console import print_table
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.outputs import PARTIAL

from wt_tune import __version__
from wt_tune.study import SPEC_FILE, Spec


def _study_dir(study: str) -> Path:
    p = Path(study).expanduser()
    if p.is_file():
        p = p.parent
    for candidate in (p, p.with_name(p.name + PARTIAL)):
        if (candidate / SPEC_FILE).is_file():
            return candidate
    raise BadInput("not a study directory (no spec.json here or in its .partial)", p)


@command("wt-tune", "show", __version__)
def show(study: str, json: bool = False) -> dict[str, Any] | None:
    """Show a study's trials (its directory, its manifest, or the directory of one still running).

    Args:
        study: The study directory or its manifest.json (a running study's DIR or DIR.partial).
        json: Print one JSON document on standard output instead of a table on standard error.
    """
    import warnings

    import optuna

    from wt_tune import report
    from wt_tune import study as study_mod

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directory = _study_dir(study)
    spec = Spec.load(directory)
    try:
        the_study = study_mod.load(spec)
    except KeyError:
        raise BadInput(f"study {spec.name!r} is not in its storage", spec.storage_url, "storage") from None
    rows = report.trial_rows(the_study, spec, directory)
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    best = the_study.best_trial if complete else None
    doc = {"study": spec.name, "directory": str(directory), "objective": spec.objective, "direction": spec.direction,
           "n_trials": spec.n_trials, "states": study_mod.counts(the_study),
           "best": {"number": best.number, "value": best.value, "params": best.params} if best else None,
           "trials": rows}
    if json:
        return doc
    keys = [f"params.{k}" for k in spec.space]
    print_table(f"study {spec.name}: {spec.direction} {spec.objective}, {len(rows)}/{spec.n_trials} trials",
                ["#", "state", "value", "seconds", *keys, "error"],
                [[r["number"], r["state"], "" if r["value"] is None else r["value"], r["duration_s"] or "",
                  *[r[k] for k in keys], (r["error"] or "")[:60]] for r in rows])
    if best:
        print_table("best", ["#", spec.objective, *spec.space], [[best.number, best.value, *best.params.values()]])
    return None
