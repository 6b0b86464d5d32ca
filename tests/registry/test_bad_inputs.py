"""Bad inputs of wt-registry: each exits 2 with one line naming what is wrong (the table in the README)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from helpers import assert_bad_input, free_port, run_cli
from registry_helpers import cli, make_evaluation, register_py

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registered(runs, tmp_path_factory):
    """A detector registered as bad-det version 1 (alias champion)."""
    base = tmp_path_factory.mktemp("bad-det")
    register_py(model="bad-det", detector=str(runs["detector"]), alias="champion", out=base / "m")
    return base


def tampered_run(runs, tmp: Path) -> Path:
    """A copy of the detector run whose best.pt changed after training (same size, other bytes)."""
    src = runs["detector"].parent
    dst = tmp / "tampered"
    shutil.copytree(src, dst)
    m = json.loads((dst / "manifest.json").read_text())
    weights = dst / m["artifacts"]["best"]["path"]
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    return dst


def evil_tag(runs, tmp: Path):
    """A version whose recorded file list climbs out of the cache entry."""
    from wt_core.tracking import configure

    configure()
    from mlflow import MlflowClient

    MlflowClient().set_model_version_tag("bad-det", "1", "wt.files", json.dumps({"../../evil.pt": "0" * 64}))
    return ()


def toy_run(tmp: Path) -> Path:
    """A run of a framework ('toy') that no installed trainer declares a predictor for."""
    from wt_core.manifest import RunManifest
    from wt_core.manifest_io import build
    from wt_core.outputs import Output

    out = Output("wt-toy", "fit", tmp / "toy")
    out.path("best.bin").write_bytes(b"weights")
    out.add("best", "best.bin")
    return out.commit(build(RunManifest, id=out.id, framework="toy", task="detect", classes=["zebra"],
                            dataset_id="d", weights={"best": "best"})).path


CASES = {
    "weights sha256 differs from the run manifest": (
        lambda runs, tmp: ("register", "--model", "x", "--detector", tampered_run(runs, tmp)), ("sha256", "best")),
    "unknown alias": (lambda runs, tmp: ("pull", "--model", "bad-det@nope"), ("unknown alias 'nope'", "champion")),
    "classify run registered as a detector": (
        lambda runs, tmp: ("register", "--model", "x", "--detector", runs["classifier"]),
        ("classify run", "--detector takes a detection run")),
    "detection run given as the classifier": (
        lambda runs, tmp: ("register", "--model", "x", "--classifier", runs["detector"]),
        ("--classifier takes a classification run",)),
    "a run of a trainer without a predictor": (
        lambda runs, tmp: ("register", "--model", "x", "--detector", toy_run(tmp)),
        ("no predictor for toy runs is installed", "cls, mmdet, yolo", "framework")),
    "neither detector nor classifier": (lambda runs, tmp: ("register", "--model", "x"), ("give --detector",)),
    "conf above 1": (lambda runs, tmp: ("register", "--model", "x", "--detector", runs["detector"], "--conf", "1.5"),
                     ("--conf must be in [0, 1]; got 1.5", "conf)")),
    "unknown model": (lambda runs, tmp: ("show", "--model", "nosuch"), ("no registered model named 'nosuch'",)),
    "unknown version": (lambda runs, tmp: ("show", "--model", "bad-det/99"), ("no version 99",)),
    "malformed reference": (lambda runs, tmp: ("pull", "--model", "bad-det@"), ("not a model reference",)),
    "delete an alias that does not exist": (
        lambda runs, tmp: ("alias", "--model", "bad-det", "--alias", "nope", "--delete"), ("unknown alias",)),
    "alias without a version": (
        lambda runs, tmp: ("alias", "--model", "bad-det", "--alias", "staging"), ("name the version", "bad-det/VERSION")),
    "artifact path with .. on pull": (
        lambda runs, tmp: ("pull", "--model", "bad-det@champion", "--artifact", "../../etc/passwd"), ("escapes",)),
    "recorded file path with .. on pull": (
        lambda runs, tmp: ("pull", "--model", "bad-det/1", "--cache", tmp / "cache", *evil_tag(runs, tmp)),
        ("escapes", "../../evil.pt")),
    "promote with an evaluation of another run": (
        lambda runs, tmp: ("promote", "--model", "bad-det/1", "--if_better",
                           make_evaluation(tmp / "ev", runs["classifier"], "d", "val", {"mAP50": 1.0})),
        ("this evaluation is of run",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line(case, registered, runs, tmp_path, capfd):
    args, fragments = CASES[case]
    proc = cli(capfd, *args(runs, tmp_path))
    assert_bad_input(proc, *fragments)


def test_unreachable_tracking_server_fails_within_seconds(runs):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for args in (("list",), ("register", "--model", "x", "--detector", runs["detector"])):
        start = time.monotonic()
        proc = run_cli("wt-registry", *args, env={"MLFLOW_TRACKING_URI": url}, timeout=60)
        assert time.monotonic() - start < 20
        assert_bad_input(proc, "unreachable", url)
