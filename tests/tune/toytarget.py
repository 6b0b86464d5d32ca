"""A stand-in training tool for wt-tune's tests: a real CLI on wt-core, fast and deterministic.

    python toytarget.py fit [--x F] [--depth N] [--kind a|b|c] [--opt.lr F] [--epochs N] [--sleep S]
                            [--fail true] [--track true] --out DIR
    python toytarget.py evaluate --run MANIFEST --out DIR

Its "score" at epoch e of E is quality(config) * e / E, written to metrics.jsonl each
epoch after `sleep` seconds; the run manifest holds the final score and loss.
"""

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wt_core.cli import run_tool
from wt_core.invocation import command
from wt_core.manifest import EvaluationManifest, RunManifest
from wt_core.manifest_io import build, read_manifest
from wt_core.metrics_log import MetricsLog
from wt_core.outputs import Output

KIND_BONUS = {"a": 0.0, "b": 0.2, "c": -0.2}


@dataclass
class Opt:
    lr: float = 0.01
    """Learning rate (log scale matters: best at 0.01)."""


def quality(x: float, depth: int, kind: str, lr: float) -> float:
    return 1.0 - (x - 0.3) ** 2 - 0.01 * (depth - 4) ** 2 + KIND_BONUS[kind] - 0.05 * math.log10(lr / 0.01) ** 2


@command("wt-toy", "fit")
def fit(x: float = 0.5, depth: int = 2, kind: Literal["a", "b", "c"] = "a", opt: Opt = Opt(), epochs: int = 3,
        sleep: float = 0.0, fail: bool = False, track: bool = False, out: Path | None = None,
        overwrite: bool = False, resume: bool = False) -> RunManifest:
    """Pretend to train: one metrics.jsonl line per epoch, then a run manifest.

    Args:
        x: A float parameter (best at 0.3).
        depth: An int parameter (best at 4).
        kind: A categorical parameter (b is best).
        opt: Optimizer settings.
        epochs: Epochs to run.
        sleep: Seconds per epoch.
        fail: Crash in the second epoch.
        track: Record one MLflow run (a child of WT_PARENT_RUN_ID when set).
        out: Output directory.
        overwrite: Replace an existing output.
        resume: Continue an unfinished output.
    """
    o = Output("wt-toy", "fit", out, overwrite=overwrite, resume=resume)
    q = quality(x, depth, kind, opt.lr)
    log = MetricsLog(o.dir)
    tracking = None
    if track:
        from wt_core.mlflow_process import mlflow_helper

        with mlflow_helper() as run:
            run.start("wt-toy", o.final.name, params={"x": x, "depth": depth, "kind": kind, "opt.lr": opt.lr},
                      tags={"wt.tool": "toy"})
            tracking = run.tracking
            run.log_metrics({"score": q})
    for epoch in range(1, epochs + 1):
        time.sleep(sleep)
        if fail and epoch == 2:
            raise RuntimeError("the toy diverged (loss is nan)")
        log.write(epoch, {"score": q * epoch / epochs, "loss": 1 - q * epoch / epochs})
    o.add("metrics", "metrics.jsonl")
    m = build(RunManifest, id=o.id, framework="cls", task="classify", classes=["a", "b"], dataset_id="toy",
              metrics={"score": q, "loss": 1 - q}, tracking=tracking)
    return o.commit(m)


@command("wt-toy", "evaluate")
def evaluate(run: str, out: Path | None = None) -> EvaluationManifest:
    """Evaluate a toy run: its accuracy is its score squared.

    Args:
        run: The run manifest.
        out: Output directory.
    """
    r = read_manifest(run, "run")
    o = Output("wt-toy", "evaluate", out)
    m = build(EvaluationManifest, id=o.id, parents=[r], task="classify", dataset_id="toy", split="val",
              metrics={"acc": r.metrics["score"] ** 2})
    return o.commit(m)


if __name__ == "__main__":
    sys.exit(run_tool("wt-toy", __doc__, {"fit": fit, "evaluate": evaluate}))
