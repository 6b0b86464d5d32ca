"""Shared fixtures: every test runs in a temporary directory with its own WildTrain home.

Nothing touches the user's home or the current directory: WT_HOME (Ultralytics
settings, caches) and MLflow tracking (one sqlite database per session; making
one costs seconds) point into pytest's temporary directories. Helpers (running a
tool, reading its manifest) are in tests/helpers.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not fail at random on a new draw);
# `pytest --hypothesis-profile explore` draws new ones.
settings.register_profile("wildtrain", derandomize=True, database=None)
settings.register_profile("explore", max_examples=1000)
settings.load_profile("wildtrain")


@pytest.fixture(scope="session", autouse=True)
def wt_session_env(tmp_path_factory):
    """Session-wide isolation, inherited by every subprocess the tests start."""
    base = tmp_path_factory.mktemp("wt-session")
    saved = {k: os.environ.get(k) for k in ("WT_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_DISABLE_TELEMETRY", "YOLO_OFFLINE")}
    os.environ["WT_HOME"] = str(base / "home")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{base / 'mlflow.db'}"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["YOLO_OFFLINE"] = "1"
    yield base
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    """Each test runs in its own empty directory (default outputs land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def aerial(tmp_path_factory) -> Path:
    """The synthetic aerial survey set (8 images), in every format."""
    import synth

    out = tmp_path_factory.mktemp("aerial")
    synth.make_aerial(out, images=8, seed=0)
    return out


@pytest.fixture(scope="session")
def camtrap(tmp_path_factory) -> Path:
    """A balanced camera-trap-like image folder (3 classes)."""
    import synth

    out = tmp_path_factory.mktemp("camtrap")
    synth.make_camtrap(out, per_class=30, seed=0)
    return out


# Fixtures that train a model or start a server: a test that uses one is `slow` (left out of `just test-fast`).
SLOW_FIXTURES = {"trained", "run_dir", "retina", "runs", "mmdet_run", "mlflow_server", "untrained_run", "imbalanced"}
# Tests that train, start a server or run the demo themselves (node ids below tests/, or a file's prefix).
SLOW_TESTS = (
    "cls/test_ddp.py", "cls/test_resume.py", "mmdet/test_whole_images.py", "e2e/", "tune/test_postgres.py", "yolo/test_locked_outputs.py",
    "data/test_labelstudio_live.py", "yolo/test_fit.py", "mmdet/test_presets.py::test_preset_fit_test_predict",
    "mmdet/test_cli.py::test_preset_loads_and_trains_from_scratch", "yolo/test_quiet_choices.py::test_train_only",
    "yolo/test_predict_scale.py", "cls/test_torchrun.py", "data/test_dask.py", "mmdet/test_torchrun.py", "yolo/test_ortho_job.py",
)
# Tests measured at 1.5 s or more (tools/slow_tests.py writes the list from a --durations=0 run), so that
# `just test-fast` stays under 3 minutes on 2 cores.
MEASURED_SLOW = frozenset(line for line in (Path(__file__).parent / "slow_tests.txt").read_text().splitlines()
                          if line and not line.startswith("#"))


def pytest_collection_modifyitems(config, items):
    """The `slow` mark on every test that uses a fixture of `SLOW_FIXTURES` or is listed as slow.

    `just test` runs `pytest -n auto --dist loadfile`: one file's tests on one worker, so the demo that
    the two e2e tests share (a session fixture of 5 minutes) runs once. The former `--dist loadgroup` with
    one group per folder grouped nothing under pytest 9.2 (pytest-xdist#1386: xdist tags the group onto
    `item._nodeid`, which pytest 9.2 no longer reads), so both workers ran the demo.
    """
    for item in items:
        node = item.nodeid.removeprefix("tests/")
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())) or node.startswith(SLOW_TESTS) \
                or node in MEASURED_SLOW:
            item.add_marker(pytest.mark.slow)
