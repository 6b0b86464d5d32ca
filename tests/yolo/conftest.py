"""wt-yolo fixtures: a tiny tiled dataset and one training per session, killed and resumed.

The training is the expensive part (about 30 s of CPU), so it happens once:
`fit` is started in a subprocess under a no-network audit hook, killed with
SIGKILL where epoch 2 is about to be recorded, and finished with `--resume`. Tests
of fit, resume, val, predict and export all use that run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import held_writer, split_and_tile, tool_path, written
from yolo_helpers import QUICK, nonet_env


@pytest.fixture(scope="session")
def yolo_data(tmp_path_factory) -> SimpleNamespace:
    """Four full-size survey images (about 1300x1000) split 3/1, and their 640-pixel tiles."""
    import synth

    base = tmp_path_factory.mktemp("yolo-data")
    synth.make_aerial(base / "raw", images=4, seed=5, width=1280, height=960, sites=4, empty_every=0)
    full, tiles = split_and_tile(base / "raw" / "coco.json", base, 640)
    return SimpleNamespace(base=base, raw=base / "raw", full=full, tiles=tiles)


@pytest.fixture(scope="session")
def trained(yolo_data, tmp_path_factory) -> SimpleNamespace:
    """A yolo11n run on the tiles planned for 2 epochs: killed (SIGKILL) after epoch 1, resumed with 3 epochs."""
    base = tmp_path_factory.mktemp("yolo-run")
    log = base / "nonet.jsonl"
    out = base / "run"
    partial = out.with_name("run.partial")
    args = ["fit", "--dataset", str(yolo_data.tiles), "--model", "yolo11n.yaml", *QUICK, "--out", str(out)]
    env = {**os.environ, **nonet_env(log)}
    # Ultralytics skips its own MLflow callback under pytest: hide pytest, so the test sees our settings do it
    env.pop("PYTEST_CURRENT_TEST", None)
    started_ms = int(time.time() * 1000)
    with open(base / "first.log", "w") as err:
        # held where epoch 2 is about to be recorded: epoch 1 is recorded and its last.pt saved, epoch 2's is not
        gate = tmp_path_factory.mktemp("gate") / "gate"
        first = held_writer("wt-yolo", "wt_core.training:Training.epoch", gate, *args, cwd=base, env=env, call=2,
                            stderr=err)
        first.send_signal(signal.SIGKILL)
        first.wait(60)
    cmd = [tool_path("wt-yolo"), *args]
    start = time.monotonic()
    resumed = subprocess.run([*cmd, "--resume", "--train.epochs", "3"], capture_output=True, text=True, env=env, cwd=base, timeout=900)
    return SimpleNamespace(first=first, first_stderr=(base / "first.log").read_text(), resumed=resumed,
                           resume_seconds=time.monotonic() - start, out=out, partial=partial, log=log, base=base,
                           started_ms=started_ms, finished_ms=int(time.time() * 1000))


@pytest.fixture(scope="session")
def run_dir(trained) -> Path:
    _, d = written(trained.resumed)
    return d


@pytest.fixture(scope="session")
def yolo_run(request) -> Path:
    """The session's trained run; WT_YOLO_TEST_RUN names one made earlier by the same fixture (a developer's
    shortcut while iterating on prediction tests)."""
    reuse = os.environ.get("WT_YOLO_TEST_RUN")
    return Path(reuse) if reuse else request.getfixturevalue("run_dir")
