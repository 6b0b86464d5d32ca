"""What a study leaves behind: the trials table, plots, the best config as YAML, the parent MLflow run."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from wt_core.console import get_logger
from wt_core.hashing import manifest_digest
from wt_core.manifest import Parent

from wt_tune.study import Spec

log = get_logger("wt-tune")
PLOTS = ("optimization_history", "param_importances", "parallel_coordinate")


def _relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
    p = Path(path)
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return str(p)


def trial_rows(study, spec: Spec, root: Path) -> list[dict[str, Any]]:
    """One row per trial: number, state, value, duration, the sampled params, run, error."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = t.duration.total_seconds() if t.duration else None
        error = (t.user_attrs.get("error") or "").strip()
        rows.append({
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "duration_s": round(duration, 3) if duration is not None else None,
            **{f"params.{k}": t.params.get(k) for k in spec.space},
            "pruned_at": t.user_attrs.get("pruned_at"),
            "run": _relative(t.user_attrs.get("manifest"), root),
            "worker": t.user_attrs.get("worker"),
            "error": error.splitlines()[-1] if error else None,
        })
    return rows


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    columns = list(rows[0]) if rows else ["number", "state", "value"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if v is None else v for k, v in r.items()})


def write_plots(study, directory: Path) -> dict[str, str]:
    """Optimisation history, parameter importances, parallel coordinates (those the trials allow)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis

    made: dict[str, str] = {}
    directory.mkdir(parents=True, exist_ok=True)
    for name in PLOTS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = getattr(vis, f"plot_{name}")(study)
            fig = (ax if hasattr(ax, "figure") else ax.flat[0]).figure
            fig.savefig(directory / f"{name}.png", dpi=80, bbox_inches="tight")
            plt.close(fig)
            made[name] = f"{directory.name}/{name}.png"
        except Exception as e:  # too few finished trials for this plot
            log.info("no %s plot: %s", name.replace("_", " "), " ".join(str(e).split())[:200])
        finally:
            plt.close("all")
    return made


def best_parent(best, root: Path) -> Parent | None:
    """The best trial's run manifest as a parent (relative when it lies in the study directory)."""
    path = best.user_attrs.get("manifest")
    if not path or not Path(path).is_file():
        return None
    data = json.loads(Path(path).read_text())
    rel = _relative(path, root)
    return Parent(kind=data["kind"], id=data["id"], path=rel, sha256=manifest_digest(data))


def parent_run(study, experiment: str, name: str) -> str:
    """The study's MLflow run (created once, its id kept in the study so every worker finds it)."""
    from wt_core import tracking

    from wt_tune.study import PARENT_RUN_ATTR

    run_id = study.user_attrs.get(PARENT_RUN_ATTR)
    if run_id:
        return run_id
    tracking.configure()
    from mlflow import MlflowClient

    exp = tracking.experiment_id(experiment)
    run = MlflowClient().create_run(exp, run_name=name, tags={"wt.kind": "study", "wt.study": name})
    study.set_user_attr(PARENT_RUN_ATTR, run.info.run_id)
    return study.user_attrs.get(PARENT_RUN_ATTR, run.info.run_id)


def close_parent_run(run_id: str, study, artifacts: list[Path]):
    """Record the best value and params and the study's files in its MLflow run; its Tracking."""
    from mlflow import MlflowClient
    from optuna.trial import TrialState
    from wt_core import tracking
    from wt_core.manifest import Tracking

    uri = tracking.configure()
    client = MlflowClient()
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    client.log_metric(run_id, "finished_trials", len(finished), step=len(finished))
    if complete:
        best = study.best_trial
        client.log_metric(run_id, "best_value", float(best.value), step=len(finished))
        for k, v in best.params.items():
            client.set_tag(run_id, f"best.{k}", str(v))
        client.set_tag(run_id, "best.trial", str(best.number))
    for p in artifacts:
        if p.is_file():
            client.log_artifact(run_id, str(p), artifact_path=p.parent.name if p.parent.name == "plots" else None)
    client.set_terminated(run_id)
    run = client.get_run(run_id)
    return Tracking(uri=uri, experiment_id=run.info.experiment_id, run_id=run_id)


def write_yaml(config: dict[str, Any], path: Path) -> None:
    import yaml

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    os.replace(tmp, path)
