"""One MLflow run, logged from a helper process, so a trainer never imports mlflow.

`import mlflow` costs several CPU seconds (MLflow 3 loads its GenAI modules
too). A trainer that enters `mlflow_helper()` first, then checks its inputs,
imports its own framework and builds its model, gets both done side by side:
the helper (`python -m wt_core.mlflow_process`) imports mlflow and starts the
run while the trainer's own imports run on another core. Requests and replies are JSON
lines over the helper's stdin and stdout; every request waits for its reply
(an epoch's metrics take milliseconds), except that the run's ids are only
waited for when first asked.

The run is exactly one MLflow run (contract section 5): the
config as params, the tags, a parent run from WT_PARENT_RUN_ID, FINISHED on
success and FAILED (KILLED when interrupted) otherwise. When the trainer dies
without a word (kill -9), the helper reads end-of-file and marks the run
KILLED; `--resume` reopens it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wt_core.errors import BadInput
from wt_core.jsonable import to_jsonable
from wt_core.manifest import Tracking


class MlflowProcess:
    """The trainer's side: start the helper (it imports mlflow at once), send it requests, surface its errors."""

    def __init__(self):
        from wt_core.console import switches

        # the helper logs as the trainer does (--quiet, --verbose) and silences the same library noise
        self.proc = subprocess.Popen([sys.executable, "-m", "wt_core.mlflow_process", *switches()],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._started: Tracking | None = None
        self._start_error: Exception | None = None
        self.requested = False

    def start(self, experiment: str, run_name: str, *, params: dict[str, Any], tags: dict[str, str],
              run_id: str | None = None) -> None:
        """Start (with `run_id`, resume) the run; returns at once, `tracking` waits for it."""
        from wt_core import tracking

        uri = tracking.tracking_uri()
        tracking.check_reachable(uri)  # fail fast, with one line
        self._send({"op": "start", "uri": uri, "experiment": experiment, "run_name": run_name,
                    "params": to_jsonable(params), "tags": tags, "run_id": run_id})
        self.requested = True

    @property
    def tracking(self) -> Tracking:
        """The run's ids (waits for the helper to have started the run)."""
        if self._start_error is not None:
            raise self._start_error
        if self._started is None:
            try:
                self._started = Tracking(**self._reply())
            except Exception as e:
                self._start_error = e
                raise
        return self._started

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._call({"op": "log_metrics", "metrics": metrics, "step": step})

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._call({"op": "log_artifact", "path": str(Path(path).resolve()), "artifact_path": artifact_path})

    def log_missing_epochs(self, rows: list[dict[str, Any]]) -> None:
        """The epochs of metrics.jsonl rows the run lacks (a kill can land between the two writes)."""
        self._call({"op": "log_missing_epochs", "rows": rows})

    def end(self, status: str) -> None:
        """Mark the run `status` and let the helper exit."""
        try:
            if self.proc.poll() is None and self._start_error is None:
                self._call({"op": "end", "status": status})
        finally:
            self.close()

    def abandon(self) -> None:
        """No run was asked for (a bad input came first): stop the helper now, mid-import if need be."""
        self.proc.kill()
        self.proc.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._close_pipes()

    def _call(self, request: dict[str, Any]) -> Any:
        self.tracking  # noqa: B018  (the start's reply comes first)
        self._send(request)
        return self._reply()

    def _send(self, request: dict[str, Any]) -> None:
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            self._died()

    def _reply(self) -> Any:
        line = self.proc.stdout.readline()
        if not line:
            self._died()
        reply = json.loads(line)
        if "error" in reply:
            if reply.get("bad_input"):
                raise BadInput(reply["error"], reply.get("file"), reply.get("field"))
            raise RuntimeError(f"MLflow: {reply['error']}")
        return reply["result"]

    def _died(self):
        code = self.proc.wait()
        raise RuntimeError(f"the MLflow helper process exited with status {code} (its messages are above)")


    def close_after(self, exc_type: type[BaseException] | None) -> None:
        """End the run as the block that used it ended: FINISHED, KILLED (Ctrl-C) or FAILED; no run asked for,
        no run left (a bad input came first)."""
        if not self.requested:
            self.abandon()
            return
        if exc_type is None:
            self.end("FINISHED")
            return
        try:  # the error that stopped the block is the one to report
            self.end("KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED")
        except Exception:
            pass


@contextmanager
def mlflow_helper() -> Iterator[MlflowProcess]:
    """A helper process for the block's duration; the run it starts ends with the block.

    Start it first thing, so mlflow's import overlaps the trainer's own; a bad input found before
    `start()` leaves no run behind.
    """
    helper = MlflowProcess()
    try:
        yield helper
    except BaseException as e:
        helper.close_after(type(e))
        raise
    helper.close_after(None)


# ---- the helper's side ----------------------------------------------------------------------------------------


def _start(request: dict[str, Any]) -> dict[str, str]:
    import mlflow

    from wt_core import tracking

    os.environ["MLFLOW_TRACKING_URI"] = request["uri"]
    uri = tracking.configure()
    run_id = request["run_id"]
    tags = dict(request["tags"])
    if parent := os.environ.get("WT_PARENT_RUN_ID"):
        tags["mlflow.parentRunId"] = parent
    if run_id:
        try:
            mlflow.MlflowClient().get_run(run_id)
        except Exception:
            raise BadInput("the MLflow run to resume is not in the tracking store", run_id,
                           "MLFLOW_TRACKING_URI") from None
        run = mlflow.start_run(run_id=run_id)
    else:
        run = mlflow.start_run(experiment_id=tracking.experiment_id(request["experiment"]),
                               run_name=request["run_name"], tags=tags)
        mlflow.log_params(tracking.flatten(request["params"]))
    return {"uri": uri, "experiment_id": run.info.experiment_id, "run_id": run.info.run_id}


def _handle(request: dict[str, Any]) -> Any:
    op = request["op"]
    if op == "start":
        return _start(request)
    import mlflow

    from wt_core import tracking

    if op == "log_metrics":
        return mlflow.log_metrics(request["metrics"], step=request["step"])
    if op == "log_artifact":
        return mlflow.log_artifact(request["path"], request["artifact_path"])
    if op == "log_missing_epochs":
        return tracking.log_missing_epochs(mlflow.active_run().info.run_id, request["rows"])
    if op == "end":
        return mlflow.end_run(request["status"])
    raise ValueError(f"unknown request {op!r}")


def serve() -> None:
    """Answer requests from stdin until `end` or end-of-file (the trainer died: the run is marked KILLED)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the trainer decides; a group signal must not end the run early
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the libraries print goes to stderr
    from wt_core import console, offline

    offline.apply()
    # MLflow's table creation and migration lines, its type-hint warning: wt_core.library_logs, as in the trainer
    console.setup("--verbose" in sys.argv[1:], "--quiet" in sys.argv[1:])
    import mlflow
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply: dict[str, Any] = {"result": _handle(request)}
        except BadInput as e:
            reply = {"error": e.message, "bad_input": True, "file": e.file, "field": e.field}
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {' '.join(str(e).split())[:500]}"}
        replies.write(json.dumps(reply, default=str) + "\n")
        if request["op"] == "end":
            return
    if mlflow.active_run() is not None:
        mlflow.end_run("KILLED")


if __name__ == "__main__":
    serve()
