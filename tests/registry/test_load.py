"""A served model under load: a real `mlflow models serve` (one worker) on 127.0.0.1, 8 concurrent clients.

Each model is registered from a tiny real run and served; the distinct requests (one or two images of a
mixed set, at the registered threshold or one of two per-call `conf`) are first sent one at a time, and their
answers kept as references. Then 8 client threads send the mixed requests; every answer must equal the
reference of the same request, no request may fail, and the server's memory (RSS of its process tree)
after the run must stay within 10 % of what it was after the first 50 requests. p50/p95 latency and the
RSS are recorded (printed, and written to `load-<model>.json` in the test's tmp dir), not asserted.

The yolo detector takes 400 requests; the wt-mmdet detector and the two-stage model (yolo detector + wt-cls
crop classifier) take 100 each, to spare the shared CPUs. Every loop is bounded in count and in time.
"""

from __future__ import annotations

import base64
import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from registry_helpers import Served, register_py

pytestmark = pytest.mark.slow
CLIENTS = 8
WARM = 50  # requests before the first memory reading
DEADLINE_S = 900  # the whole concurrent run of one model
RSS_GROWTH = 0.10


def crops_of(images: list[Path], size: tuple[int, int]) -> list[str]:
    """Base64 JPEGs of the top-left `size` (w, h) of each image, a different corner offset per image."""
    out = []
    for i, p in enumerate(images):
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        w, h = size
        y, x = min(i * 37, img.shape[0] - h), min(i * 53, img.shape[1] - w)
        ok, data = cv2.imencode(".jpg", img[max(0, y):max(0, y) + h, max(0, x):max(0, x) + w])
        assert ok
        out.append(base64.b64encode(data.tobytes()).decode())
    return out


def rss(proc) -> tuple[int, int]:
    """(RSS of the server's process tree, RSS of its largest process) in bytes."""
    import psutil

    root = psutil.Process(proc.pid)
    sizes = [p.memory_info().rss for p in [root, *root.children(recursive=True)]]
    return sum(sizes), max(sizes)


def rows_of(body: str) -> list[tuple]:
    return [(r["image_index"], r["x1"], r["y1"], r["x2"], r["y2"], r["score"], r["class_id"])
            for r in json.loads(body)["predictions"]]


def same(a: list[tuple], b: list[tuple]) -> bool:
    return len(a) == len(b) and all(x[0] == y[0] and x[6] == y[6] and np.allclose(x[1:5], y[1:5], atol=1e-3)
                                    and abs(x[5] - y[5]) < 1e-5 for x, y in zip(a, b, strict=True))


def load_run(server: Served, images: list[str], confs: list[float | None], total: int, out: Path) -> dict:
    """References sent alone, then `total` mixed requests from CLIENTS threads; returns the figures."""
    kinds = [(i,) for i in range(len(images))] + [(i, (i + 1) % len(images)) for i in range(0, len(images), 2)]
    distinct = [(k, c) for k in kinds for c in confs]

    def send(request) -> tuple[int, str, float]:
        which, conf = request
        start = time.perf_counter()
        status, body = server.invoke([images[i] for i in which], {"conf": conf} if conf is not None else None)
        return status, body, time.perf_counter() - start

    reference = {}
    for request in distinct:
        status, body, _ = send(request)
        assert status == 200, body[:2000]
        reference[request] = rows_of(body)
    for k in kinds:
        assert len({json.dumps(reference[k, c]) for c in confs}) == len(confs), "each threshold must change answers"
    draw = random.Random(0)
    requests = [draw.choice(distinct) for _ in range(total)]
    latencies: list[float] = []
    wrong, errors = [], []
    deadline = time.monotonic() + DEADLINE_S

    def check(request) -> None:
        if time.monotonic() > deadline:
            errors.append("deadline")
            return
        status, body, seconds = send(request)
        latencies.append(seconds)
        if status != 200:
            errors.append(f"{status}: {body[:300]}")
        elif not same(rows_of(body), reference[request]):
            wrong.append(request)

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(check, requests[:WARM]))
        warm_rss = rss(server.proc)
        list(pool.map(check, requests[WARM:]))
    end_rss = rss(server.proc)
    lat = np.array(latencies)
    figures = {"requests": total, "clients": CLIENTS, "distinct_requests": len(distinct), "errors": len(errors),
               "wrong_answers": len(wrong), "p50_s": round(float(np.percentile(lat, 50)), 4) if len(lat) else None,
               "p95_s": round(float(np.percentile(lat, 95)), 4) if len(lat) else None,
               "rss_after_50_mib": round(warm_rss[0] / 2**20, 1), "rss_end_mib": round(end_rss[0] / 2**20, 1),
               "worker_rss_end_mib": round(end_rss[1] / 2**20, 1)}
    out.write_text(json.dumps(figures, indent=2))
    print(f"\nload test {out.name}: {json.dumps(figures)}", file=sys.stderr)
    assert not errors, errors[:5]
    assert not wrong, f"{len(wrong)} answers differ from the same request sent alone, e.g. {wrong[:3]}"
    assert end_rss[0] <= (1 + RSS_GROWTH) * warm_rss[0], figures
    return figures


def confs_of(model_dir: Path, images: list[str], low: float) -> list[float | None]:
    """The registered threshold (None) and the 50th and 90th percentiles of the detector's scores of the images
    at `low`."""
    from wt_registry.predictor import Predictor, decode_image

    detector = Predictor.from_dir(model_dir, device="cpu").detector
    found = detector.predict_arrays([decode_image(im)[0] for im in images], conf=low)
    scores = np.unique(np.concatenate([d.scores for d in found]))
    assert len(scores) >= 2, "too few distinct scores to mix thresholds"
    return [None, float(np.percentile(scores, 50)), float(np.percentile(scores, 90))]


def test_served_yolo_model_under_load(runs, tmp_path):
    register_py(model="load-yolo", detector=str(runs["detector"]), conf=0.001, out=tmp_path / "m")
    images = crops_of(sorted(Path(runs["image"]).parent.glob("*.jpg"))[:4], (480, 360))
    confs = confs_of(tmp_path / "m" / "model", images, 0.0005)
    with Served("models:/load-yolo/1", tmp_path / "serve.log") as server:
        load_run(server, images, confs, 400, tmp_path / "load-yolo.json")


def test_served_mmdet_model_under_load(mmdet_run, tmp_path):
    register_py(model="load-mmdet", detector=str(mmdet_run["run"]), conf=0.001, out=tmp_path / "m")
    files = sorted(Path(mmdet_run["image"]).parent.glob("*.jpg"))[:4]
    images = [base64.b64encode(p.read_bytes()).decode() for p in files]
    confs = confs_of(tmp_path / "m" / "model", images, 0.0005)
    with Served("models:/load-mmdet/1", tmp_path / "serve.log") as server:
        load_run(server, images, confs, 100, tmp_path / "load-mmdet.json")


def test_served_two_stage_model_under_load(runs, tmp_path):
    register_py(model="load-2stage", detector=str(runs["detector"]), classifier=str(runs["classifier"]), conf=0.001,
                out=tmp_path / "m")
    images = crops_of(sorted(Path(runs["image"]).parent.glob("*.jpg"))[:4], (320, 240))
    confs = confs_of(tmp_path / "m" / "model", images, 0.0005)
    with Served("models:/load-2stage/1", tmp_path / "serve.log") as server:
        load_run(server, images, confs, 100, tmp_path / "load-2stage.json")
