"""wt_core.streaming: shards, atomic parts, kill -9 and resume, the exactly-once check (a pure-Python predictor:
what is tested is the job's bookkeeping, the detectors are tested in tests/yolo/test_predict_scale.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from wt_core.errors import BadInput
from wt_core.predictions import ImageRef
from wt_core.streaming import Shard, finalize, parts_dir, run_shard, shard_stream

JOB = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from wt_core.predictions import ImageRef
    from wt_core.streaming import Shard, run_shard

    def records(items):
        for it in items:
            time.sleep(float(sys.argv[2]))
            yield it.result([{"image_id": it.id, "score": it.id / 100}], 10, 10)

    images = [ImageRef(i + 1, Path(f"/x/{i}.jpg"), f"{i}.jpg", 0, 0) for i in range(40)]
    print(run_shard(records, Path(sys.argv[1]), "images", images, Shard(), part_size=3))
""")


def _images(n: int) -> list[ImageRef]:
    return [ImageRef(i + 1, Path(f"/x/{i}.jpg"), f"{i}.jpg", 0, 0) for i in range(n)]


def test_shard_parse_and_positions_partition_the_job():
    assert Shard.parse(None) == Shard(0, 1) and Shard.parse("2/4") == Shard(2, 4)
    for bad in ("4/4", "-1/4", "1/0", "a/b", "1"):
        with pytest.raises(BadInput):
            Shard.parse(bad)
    got = sorted(p for i in range(4) for p in Shard(i, 4).positions(37))
    assert got == list(range(37))


def test_killed_job_resumes_with_every_image_once(tmp_path):
    root = tmp_path / "out.partial"
    script = tmp_path / "job.py"
    script.write_text(JOB)
    proc = subprocess.Popen([sys.executable, str(script), str(root), "0.05"], stdout=subprocess.PIPE, text=True)
    parts = parts_dir(root, "images")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(parts.glob("s*.jsonl")):
        time.sleep(0.01)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    held = sum(len(p.read_text().splitlines()) for p in parts.glob("s*.jsonl"))
    assert 0 < held < 40 and held % 3 == 0, "only whole parts of 3 are committed"
    done = subprocess.run([sys.executable, str(script), str(root), "0"], capture_output=True, text=True, check=True)
    assert f"'done': {held}, 'predicted': {40 - held}" in done.stdout
    recs = list(shard_stream(parts, 0))
    assert [r["pos"] for r in recs] == list(range(40))
    assert [r["results"][0]["image_id"] for r in recs] == list(range(1, 41))


class _Out:
    def __init__(self, d: Path):
        self.dir = d
        self.added: dict[str, str] = {}

    def path(self, rel: str) -> Path:
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def add(self, name: str, rel: str) -> None:
        self.added[name] = rel


def test_failures_are_records_and_a_missing_image_is_refused(tmp_path):
    images = _images(6)

    def records(items):
        for it in items:
            yield it.failure("cannot decode") if it.id == 3 else it.result([{"image_id": it.id}], 4, 4)

    for s in range(2):
        run_shard(records, tmp_path, "val", images, Shard(s, 2), part_size=2)
    out = _Out(tmp_path)
    fin = finalize(out, "val", [shard_stream(parts_dir(tmp_path, "val"), s) for s in range(2)], range(6))
    assert (fin.images, fin.failures, fin.boxes) == (6, 1, 5)
    assert [r["image_id"] for r in json.loads((tmp_path / "predictions/val.json").read_text())] == [1, 2, 4, 5, 6]
    fail = [json.loads(x) for x in (tmp_path / "failures/val.jsonl").read_text().splitlines()]
    assert fail == [{"image_id": 3, "file_name": "2.jpg", "path": "/x/2.jpg", "reason": "cannot decode"}]
    with pytest.raises(BadInput, match="3 missing"):  # shard 1 alone does not cover the job
        finalize(out, "val", [shard_stream(parts_dir(tmp_path, "val"), 1)], range(6))
