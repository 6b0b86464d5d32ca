"""Registry test helpers (`from registry_helpers import ...`: pytest's pythonpath holds this folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import BIN, call_cli, free_port, stop, wait_http


def python(script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a Python script in a fresh interpreter (this venv)."""
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def make_evaluation(out: Path, parent_run: Path, dataset_id: str, split: str, metrics: dict[str, float],
                    details: dict | None = None) -> Path:
    """An evaluation manifest of a run (as wt-eval writes them), for promote --if-better."""
    from wt_core.manifest import EvaluationManifest
    from wt_core.manifest_io import build, read_manifest
    from wt_core.outputs import Output

    run = read_manifest(parent_run, "run")
    output = Output("wt-eval", "detect", out)
    m = build(EvaluationManifest, id=output.id, parents=[run], task="detect", dataset_id=dataset_id, split=split,
              metrics=metrics, details=details or {})
    return output.commit(m).path


def register_py(**kw):
    """`wt_registry.register` called from Python (the function the CLI runs; option sections may be dicts)."""
    from wt_registry.registration import register

    return register(**kw)


def cli(capfd, *args, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`wt-registry ARGS` inside this process (helpers.call_cli: mlflow stays imported, where a
    subprocess pays seconds of imports per call); `capfd` is no longer needed."""
    return call_cli("wt-registry", *args, env=env)


class Served:
    """A real `mlflow models serve` of a registered model on loopback, started by `serve(...)`."""

    def __init__(self, model_uri: str, log: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([str(BIN / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager", "local",
                                      "-h", "127.0.0.1", "-p", str(self.port), "--workers", "1"],
                                     stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=log.parent,
                                     start_new_session=True,  # mlflow starts uvicorn from PATH: the venv's
                                     env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                                          **(env or {})})

    def __enter__(self) -> Served:
        try:
            wait_http(f"{self.url}/ping", self.proc, timeout=240)
        except BaseException:
            stop(self.proc)
            raise
        return self

    def __exit__(self, *exc) -> None:
        stop(self.proc)

    def invoke(self, images: list[str], params: dict | None = None) -> tuple[int, str]:
        """POST /invocations with one `image` per row: (HTTP status, body text)."""
        import json
        import urllib.error

        payload = {"dataframe_records": [{"image": im} for im in images], **({"params": params} if params else {})}
        req = urllib.request.Request(f"{self.url}/invocations", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
