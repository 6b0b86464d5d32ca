"""Survey-scale prediction with the session's trained run: streamed parts, kill -9 and --resume, a corrupt
photo, four shards merged, and a real dask.distributed cluster losing a worker mid-job.

Every variant must give the uninterrupted run's boxes exactly (same images, same boxes, same order).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import call_cli, dask_cluster, read_json, tool_path, written

# small parts (`--part_size`), so that a kill after the first one lands mid-job
PREDICT = ["--conf", "0.001", "--slicing.tile", "0", "--device", "cpu"]
N = 16


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    import synth

    base = tmp_path_factory.mktemp("survey")
    synth.make_aerial(base / "raw", images=N, seed=11, width=320, height=240, sites=3, empty_every=5)
    return base / "raw" / "images"


def _results(out: Path) -> tuple[dict, list[dict]]:
    m = read_json(out / "manifest.json")
    return m, read_json(out / m["artifacts"][m["splits"]["images"]]["path"])


@pytest.fixture(scope="module")
def baseline(yolo_run, survey, tmp_path_factory) -> tuple[dict, list[dict], Path]:
    out = tmp_path_factory.mktemp("baseline") / "pred"
    proc = call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", survey, *PREDICT, "--out", out)
    written(proc)
    m, results = _results(out)
    assert len(results) > N, "a 3-epoch model at conf 0.001 finds boxes on most photos"
    assert m["details"]["images"] == {"images": N} and m["details"]["failures"] == {"images": 0}
    return m, results, out


def _popen(*args, log: Path) -> subprocess.Popen:
    return subprocess.Popen([tool_path("wt-yolo"), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=open(log, "w"), text=True)


def _wait_for_part(parts: Path, proc: subprocess.Popen, timeout: float = 300) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = sorted(parts.glob("s*.jsonl")) if parts.is_dir() else []
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no part was committed (exit {proc.poll()})")


def test_killed_and_resumed_is_exact(yolo_run, survey, baseline, tmp_path):
    out = tmp_path / "pred"
    parts = tmp_path / "pred.partial" / "parts" / "images"
    first = _popen("predict", "--run", yolo_run, "--images", survey, *PREDICT, "--part_size", "2", "--out", out,
                   log=tmp_path / "first.log")
    _wait_for_part(parts, first)
    first.send_signal(signal.SIGKILL)
    first.wait(60)
    assert first.returncode == -signal.SIGKILL
    held = [json.loads(line) for p in parts.glob("s*.jsonl") for line in p.read_text().splitlines()]
    assert 0 < len(held) < N, "killed mid-job: some images committed, not all"
    again = subprocess.run([tool_path("wt-yolo"), "predict", "--run", str(yolo_run), "--images", str(survey), *PREDICT,
                            "--part_size", "2", "--out", str(out), "--resume"], capture_output=True, text=True)
    m, d = written(again)
    assert f"{len({r['pos'] for r in held})} images already predicted" in again.stderr
    records = [json.loads(line) for line in (d / "records" / "images.jsonl").read_text().splitlines()]
    assert [r["pos"] for r in records] == list(range(N)), "every image exactly once, in the job's order"
    assert _results(d)[1] == baseline[1]
    assert m["details"]["images"] == {"images": N}
    assert read_json(d / "images.json") == read_json(baseline[2] / "images.json")
    assert not (d / "parts").exists(), "the parts are folded into the artifacts"


def test_a_corrupt_photo_is_one_failure_record(yolo_run, survey, baseline, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(survey, folder)
    (folder / "survey_999.jpg").write_bytes(b"this is not a photo")  # no format Pillow identifies
    proc = call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", folder, *PREDICT, "--out", tmp_path / "p")
    m, d = written(proc)
    assert m["details"]["images"] == {"images": N + 1} and m["details"]["failures"] == {"images": 1}
    failures = [json.loads(line) for line in (d / "failures" / "images.jsonl").read_text().splitlines()]
    assert len(failures) == 1 and failures[0]["path"] == str(folder / "survey_999.jpg") 
    assert failures[0]["reason"].startswith("cannot read this image"), failures[0]["reason"]
    assert "survey_999.jpg" in proc.stderr
    assert _results(d)[1] == baseline[1], "the other photos are predicted as without it"
    assert len(read_json(d / "images.json")) == N


def test_four_shards_merged_equal_the_unsharded_run(yolo_run, survey, baseline, tmp_path):
    outs = []
    for i in range(4):
        proc = call_cli("wt-yolo", "predict", "--run", yolo_run, "--images", survey, *PREDICT, "--shard", f"{i}/4",
                        "--out", tmp_path / f"shard-{i}")
        m, d = written(proc)
        assert m["details"]["shard"]["index"] == i and m["details"]["images"] == {"images": N // 4}
        outs.append(d)
    short = call_cli("wt-eval", "merge", "--shards", json.dumps([str(o) for o in outs[:3]]), "--out", tmp_path / "bad")
    assert short.returncode == 2 and "missing [3]" in short.stderr
    twice = call_cli("wt-eval", "merge", "--shards", json.dumps([str(o) for o in [*outs[:3], outs[0]]]),
                     "--out", tmp_path / "bad")
    assert twice.returncode == 2 and "given twice [0]" in twice.stderr
    proc = call_cli("wt-eval", "merge", "--shards", json.dumps([str(o) for o in reversed(outs)]),
                    "--out", tmp_path / "merged")
    m, d = written(proc)
    assert _results(d)[1] == baseline[1]
    assert m["details"]["images"] == {"images": N} and {p["kind"] for p in m["parents"]} == {"run"}
    assert len(read_json(d / "images.json")) == N


def test_dask_cluster_loses_a_worker_mid_job_and_is_exact(yolo_run, survey, baseline, tmp_path):
    with dask_cluster(tmp_path) as (address, workers):
        out = tmp_path / "pred"
        parts = tmp_path / "pred.partial" / "parts" / "images"
        job = _popen("predict", "--run", yolo_run, "--images", survey, *PREDICT, "--part_size", "1",
                     "--dask.scheduler", address, "--dask.tasks", "2", "--out", out, log=tmp_path / "job.log")
        try:
            found = _wait_for_part(parts, job)
            pid = int(found[0].name.split("-")[2])  # s<shard>-<first pos>-<pid>-<token>-<n>.jsonl
            victim = next(w for w in workers if w.pid == pid)
            victim.send_signal(signal.SIGKILL)
            victim.wait(30)
            done = sum(len(p.read_text().splitlines()) for p in parts.glob("s*.jsonl"))
            assert done < N, "the worker was killed before the job was done"
            job.wait(600)
        finally:
            if job.poll() is None:
                job.kill()
                job.wait()
    m, d = written(subprocess.CompletedProcess(job.args, job.returncode, job.stdout.read(),
                                               (tmp_path / "job.log").read_text()))
    assert _results(d)[1] == baseline[1]
    assert m["details"]["images"] == {"images": N}
