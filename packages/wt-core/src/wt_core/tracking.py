"""MLflow tracking: one run per training command (contract section 5).

With no MLFLOW_TRACKING_URI, tracking is local and needs no server:
`sqlite:///mlflow.db` in the current directory, artifacts under `./mlartifacts`
(for any sqlite URI, `mlartifacts/` beside the database file).
mlflow is imported only when a run starts.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from wt_core.errors import BadInput
from wt_core.jsonable import to_jsonable


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def local_artifact_root(uri: str) -> str | None:
    """Artifacts of a sqlite-tracked experiment: `mlartifacts/` beside the database file."""
    if not uri.startswith("sqlite:///"):
        return None
    db = Path(uri.removeprefix("sqlite:///"))
    db = db if db.is_absolute() else Path.cwd() / db
    return (db.parent / "mlartifacts").as_uri()


def check_reachable(uri: str, timeout: float = 3.0) -> None:
    """Fail within seconds, with one line, when an http tracking server does not answer."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("http", "https"):
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except OSError as e:
        raise BadInput(f"MLflow tracking server unreachable: {e}", uri, "MLFLOW_TRACKING_URI") from None


def configure() -> str:
    """Point mlflow at our tracking URI, telemetry off; returns the URI."""
    from wt_core import offline

    offline.apply()
    uri = tracking_uri()
    check_reachable(uri)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    import mlflow

    mlflow.set_tracking_uri(uri)
    return uri


def experiment_id(name: str) -> str:
    """The id of experiment `name`, created (with local artifacts) if needed."""
    import mlflow

    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = local_artifact_root(mlflow.get_tracking_uri())
    try:
        return mlflow.create_experiment(name, artifact_location=location)
    except Exception:  # created by a concurrent worker in the meantime
        exp = mlflow.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested config as MLflow params ('section.key': value), values cut to 6000 chars."""
    out: dict[str, str] = {}
    for k, v in to_jsonable(config).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = str(v)[:6000]
    return out


def log_missing_epochs(run_id: str, rows: list[dict[str, Any]]) -> int:
    """Log the epochs of metrics.jsonl `rows` that run `run_id` lacks (a kill can land between the two writes).

    An epoch counts as logged when the first metric of its row has a value at that step. Returns how many
    epochs were logged now.
    """
    import mlflow

    client = mlflow.MlflowClient()
    steps: dict[str, set[int]] = {}  # metric -> the steps the run has
    logged = 0
    for row in rows:
        values = {k: float(v) for k, v in row.items() if k != "epoch" and v is not None}
        if not values:
            continue
        epoch, first = int(row["epoch"]), next(iter(values))
        if first not in steps:
            steps[first] = {m.step for m in client.get_metric_history(run_id, first)}
        if epoch not in steps[first]:
            mlflow.log_metrics(values, step=epoch, run_id=run_id)
            logged += 1
    return logged

