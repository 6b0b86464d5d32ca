"""Which MLflow path a training run should use: in-process (`import mlflow` in the trainer) or the helper process.

    python tools/bench/mlflow_path.py [--framework lightning] [--epochs 25] [--repeats 2]

Start-up: three fresh processes, each getting ready to train: the bare framework import; the framework import then
`mlflow` imported and a run started in the same process (in-process); a helper process started first
(`wt_core.mlflow_process`, whose import of mlflow overlaps the framework's on another core) and the run's ids
waited for after the framework import (helper). Per epoch: one realistic metrics row (30 metrics) logged at
each of `--epochs` steps, both ways, in one process each. Prints a table on stdout; the goals are a fixed
cost of at most 3 s over the bare library and at most 1 % per epoch (divide the per-epoch ms by an epoch's time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

BARE = "import time; t=time.perf_counter(); import {fw}; print(time.perf_counter()-t)"
IN_PROCESS = """
import time; t = time.perf_counter()
import {fw}
import mlflow
with mlflow.start_run(run_name="r"):
    mlflow.log_params({{"a": 1}})
    ready = time.perf_counter() - t
    row = {{f"val/m{{i}}": 0.5 for i in range(30)}}
    s = time.perf_counter()
    for e in range({epochs}):
        mlflow.log_metrics(row, step=e)
    print(ready, (time.perf_counter() - s) / {epochs})
"""
HELPER = """
import time; t = time.perf_counter()
from wt_core.mlflow_process import mlflow_helper
with mlflow_helper() as run:
    import {fw}
    run.start("bench", "r", params={{"a": 1}}, tags={{}})
    run.tracking
    ready = time.perf_counter() - t
    row = {{f"val/m{{i}}": 0.5 for i in range(30)}}
    s = time.perf_counter()
    for e in range({epochs}):
        run.log_metrics(row, step=e)
    print(ready, (time.perf_counter() - s) / {epochs})
"""


def timed(code: str, env: dict[str, str], cwd: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr[-3000:])
    return [float(x) for x in out.stdout.split()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--framework", default="lightning", help="the module a trainer imports (lightning, ultralytics)")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db", "WT_HOME": f"{tmp}/home",
               "MLFLOW_DISABLE_TELEMETRY": "true"}
        subprocess.run([sys.executable, "-c", "import mlflow; mlflow.MlflowClient().search_experiments()"], env=env,
                       cwd=tmp, check=True, capture_output=True)  # the database exists already, as in real use
        rows: dict[str, list[list[float]]] = {"bare": [], "in-process": [], "helper": []}
        for _ in range(args.repeats):  # alternate, so drift in machine load hits every side
            rows["bare"].append(timed(BARE.format(fw=args.framework), env, tmp))
            rows["in-process"].append(timed(IN_PROCESS.format(fw=args.framework, epochs=args.epochs), env, tmp))
            rows["helper"].append(timed(HELPER.format(fw=args.framework, epochs=args.epochs), env, tmp))
            print(json.dumps(rows), file=sys.stderr)
    bare = statistics.median(r[0] for r in rows["bare"])
    print(f"MLflow paths with {args.framework}: median of {args.repeats}, {args.epochs} epochs of 30 metrics")
    print(f"{'':<12}{'ready s':>10}{'over bare s':>13}{'ms/epoch':>10}")
    print(f"{'bare':<12}{bare:>10.2f}{0:>13.2f}{'':>10}")
    for name in ("in-process", "helper"):
        ready = statistics.median(r[0] for r in rows[name])
        per = statistics.median(r[1] for r in rows[name]) * 1000
        print(f"{name:<12}{ready:>10.2f}{ready - bare:>13.2f}{per:>10.1f}")


if __name__ == "__main__":
    main()
