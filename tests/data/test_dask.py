"""wt-data tile and crops as Dask tasks on a real dask.distributed cluster (a scheduler and two worker
processes started here, as a user starts them): the output equals the one of a single process, file for file."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from data_helpers import coco_of, imported
from helpers import dask_cluster, tool_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory) -> Iterator[str]:
    with dask_cluster(tmp_path_factory.mktemp("dask")) as (address, _):
        yield address


def _files(directory: Path) -> dict[str, str]:
    """Every image written, by its path under images/, to its sha256."""
    root = directory / "images"
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command,options", [
    ("tile", ["--size", "160", "--overlap", "0.25"]),
    ("crops", ["--size", "48", "--background_ratio", "0.5"]),
])
def test_on_a_dask_cluster_equals_one_process(command, options, small_aerial_ds, scheduler, tmp_path):
    one, d1 = imported(command, "--dataset", small_aerial_ds, *options, "--workers", "1", "--out", tmp_path / "one")
    from distributed import Client, get_task_stream

    with Client(scheduler, timeout="60s") as client, get_task_stream(client=client) as stream:
        many, d2 = imported(command, "--dataset", small_aerial_ds, *options, "--dask.scheduler", scheduler,
                            "--dask.tasks", "3", "--out", tmp_path / "dask")
    ran = {str(t["key"]) for t in stream.data if str(t["key"]).startswith("wt-")}
    assert len(ran) == 3, f"the photos were cut as 3 Dask tasks on the cluster, ran: {sorted(ran)}"
    assert coco_of(d2) == coco_of(d1)
    assert json.dumps(many["report"]) == json.dumps(one["report"])
    files = _files(d1)
    assert len(files) > 6, "several tiles or crops per photo"
    assert _files(d2) == files
    assert not (d2 / ".progress").exists()


def test_tile_on_a_cluster_that_loses_a_worker_mid_job_is_exact(tmp_path):
    """A worker killed -9 while it cuts tiles: Dask runs its task again on the other, and the tiles are those
    of one process, file for file."""
    import synth

    synth.make_aerial(tmp_path / "raw", images=8, seed=5, width=2000, height=1500, sites=2, empty_every=4)
    imported("import", "--source", tmp_path / "raw" / "coco.json", "--out", tmp_path / "src")
    options = ["--dataset", tmp_path / "src", "--size", "96", "--overlap", "0.5", "--empty_ratio", "100",
               "--max_empty_per_image", "10000"]
    one, d1 = imported("tile", *options, "--workers", "1", "--out", tmp_path / "one")
    with dask_cluster(tmp_path) as (address, workers):
        out = tmp_path / "dask"
        tiles = tmp_path / "dask.partial" / "images"
        job = subprocess.Popen([tool_path("wt-data"), "tile", *map(str, options), "--dask.scheduler", address,
                                "--dask.tasks", "4", "--out", str(out)], stdout=subprocess.PIPE,
                               stderr=open(tmp_path / "job.log", "w"), text=True)
        deadline = time.monotonic() + 300
        while job.poll() is None and time.monotonic() < deadline and not any(tiles.rglob("*.jpg")):
            time.sleep(0.02)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(30)
        done = len(list((tmp_path / "dask.partial" / ".progress").rglob("*.done")))
        assert done < 8, "the worker was killed before the job was done"
        stdout, _ = job.communicate(timeout=600)
    assert job.returncode == 0, (tmp_path / "job.log").read_text()[-3000:]
    d2 = Path(stdout.strip()).parent
    assert coco_of(d2) == coco_of(d1)
    assert _files(d2) == _files(d1)
