"""The predictor protocol (`wt_core.predictor`), checked over every installed plugin and the toy trainer.

For each plugin (wt-yolo, wt-mmdet, wt-cls as installed, and the made-up trainer of tests/registry/toy_plugin.py)
a tiny real run is registered and its predictor checked four ways:

- `conf`: a per-call threshold changes the boxes as a threshold must: the answer at a higher `conf` is the
  part of the answer at a lower one that scores at least that high, and no call changes the default;
- `threads`: two threads calling the plugin's predictor at once, one with each threshold, each get the
  answer they asked for (the same as alone);
- `threads-registry`: the same through the registry's `Predictor` (what a server's threads call);
- `same`: the same image gives the same boxes through the plugin, the registry's `Predictor` and a real
  `mlflow models serve` on 127.0.0.1, at both thresholds (`params={"conf": ...}` honoured).

A classifier has no threshold: its `conf` check does not apply, and its thread checks send two threads two
different images. The table plugin x check is written to `protocol-table.json` under the session's tmp dir
and printed (pytest -s) when the module ends.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import toy_plugin
from registry_helpers import Served, register_py

pytestmark = pytest.mark.slow
PLUGINS = [*sorted(ep.name for ep in metadata.entry_points(group="wildtrain.predictors")), "toy"]
CHECKS = ["conf", "threads", "threads-registry", "same"]
ROUNDS = 4  # calls per thread
TABLE: dict[str, dict[str, str]] = {}


@dataclass
class Case:
    """A registered model of one plugin, its predictor loaded through the plugin and through the registry."""

    name: str
    task: str
    model_dir: Path
    uri: str
    images: list[Path]
    predictor: Any  # the plugin's predictor (wt_core.predictor.DetectorPredictor or ClassifierPredictor)
    registry: Any  # wt_registry.predictor.Predictor
    conf: dict[str, float] = field(default_factory=dict)  # {"low": the registered default, "high": ...}
    env: dict[str, str] = field(default_factory=dict)


def bgr(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    yield TABLE
    rows = [f"{'plugin':8} " + " ".join(f"{c:17}" for c in CHECKS)]
    rows += [f"{p:8} " + " ".join(f"{TABLE.get(p, {}).get(c, '-'):17}" for c in CHECKS) for p in PLUGINS]
    out = tmp_path_factory.getbasetemp() / "protocol-table.json"
    out.write_text(json.dumps(TABLE, indent=2))
    print("\npredictor protocol conformance (" + str(out) + ")\n" + "\n".join(rows), file=sys.stderr)


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory):
    """The toy trainer installed on sys.path (and on a server's PYTHONPATH) for this module."""
    from wt_registry import plugins

    site = toy_plugin.install(tmp_path_factory.mktemp("toy-site"))
    sys.path.insert(0, str(site))
    plugins._entry_points.cache_clear()
    plugins.plugin.cache_clear()
    yield site
    sys.path.remove(str(site))
    sys.modules.pop("toy_trainer", None)
    plugins._entry_points.cache_clear()
    plugins.plugin.cache_clear()


CASES: dict[str, Case] = {}


@pytest.fixture
def case(request, toy_site, tmp_path_factory) -> Case:
    """The registered model of the plugin named by the test's parameter (made once per module)."""
    name = request.param
    if name not in CASES:
        CASES[name] = make_case(name, request, toy_site, tmp_path_factory.mktemp(f"protocol-{name}"))
    return CASES[name]


def make_case(name: str, request, toy_site: Path, base: Path) -> Case:
    from wt_core.slicing import Slicing
    from wt_registry import plugins
    from wt_registry.predictor import Predictor, part_files

    env: dict[str, str] = {}
    if name == "yolo":
        runs = request.getfixturevalue("runs")
        kw, conf, images = {"detector": str(runs["detector"])}, 0.001, [runs["image"]]
    elif name == "mmdet":
        mm = request.getfixturevalue("mmdet_run")
        kw, conf, images = {"detector": str(mm["run"])}, 0.001, [mm["image"]]
    elif name == "cls":
        runs = request.getfixturevalue("runs")
        cam = request.getfixturevalue("camtrap")
        kw, conf, images = {"classifier": str(runs["classifier"])}, None, [sorted(d.glob("*.jpg"))[0] for d in
                                                                           sorted(p for p in cam.iterdir() if p.is_dir())][:2]
    else:
        run = toy_run(base)
        kw, conf, env = {"detector": str(run)}, 0.1, {"PYTHONPATH": str(toy_site)}
        images = [base / "image.jpg"]
        cv2.imwrite(str(images[0]), np.full((120, 200, 3), 90, np.uint8))
    m = register_py(model=f"protocol-{name}", conf=conf, slicing=Slicing(tile=0), out=base / "m", **kw)
    model_dir = base / "m" / "model"
    config = json.loads((model_dir / "model.json").read_text())
    role = "detector" if config["detector"] else "classifier"
    spec = config[role]
    predictor = plugins.plugin(spec["framework"]).load([model_dir / f for f in part_files(spec)], spec, "cpu")
    case = Case(name, config["task"] if role == "detector" else "classify", model_dir, f"models:/{m.name}/{m.version}",
                images, predictor, Predictor.from_dir(model_dir, device="cpu"), env=env)
    if role == "detector":
        low = float(spec["conf"])
        scores = np.sort(next(predictor.predict_arrays([bgr(images[0])], conf=low)).scores)[::-1]
        assert len(scores) >= 2 and scores[0] > scores[-1], f"{name}: too few distinct scores to compare thresholds"
        k = max(1, len(scores) // 2)
        while k < len(scores) and scores[k] == scores[k - 1]:
            k += 1
        case.conf = {"low": low, "high": float(scores[k - 1] + scores[k]) / 2}
    return case


def toy_run(base: Path) -> Path:
    """A run manifest of the toy trainer (its weights file holds its best score, 0.75)."""
    from wt_core.manifest import RunManifest
    from wt_core.manifest_io import build
    from wt_core.outputs import Output

    out = Output("wt-toy", "fit", base / "run")
    out.path("best.toy").write_text("0.75")
    out.add("best", "best.toy")
    return out.commit(build(RunManifest, id=out.id, framework="toy", task="detect", classes=["zebra"],
                            dataset_id="d", weights={"best": "best"})).path


def answer(case: Case, image: Path, conf: float | None = None):
    """The plugin's answer: (boxes, scores, classes) of a detector, the probabilities of a classifier."""
    if case.task == "classify":
        return case.predictor.probabilities([bgr(image)[..., ::-1]])[0]
    d = next(case.predictor.predict_arrays([bgr(image)], conf=conf))
    return d.boxes, d.scores, d.classes


def registry_answer(case: Case, image: Path, conf: float | None = None) -> list[tuple]:
    return [(tuple(d.box), d.score, d.class_id) for d in case.registry.predict([image], conf=conf)[0]]


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.allclose(a, b, atol=1e-6)
    if isinstance(a, tuple) and a and isinstance(a[0], np.ndarray):  # (boxes, scores, classes)
        return all(same(x, y) for x, y in zip(a, b, strict=True))
    return len(a) == len(b) and all(np.allclose(x[0], y[0], atol=1e-4) and abs(x[1] - y[1]) < 1e-6 and x[2] == y[2]
                                    for x, y in zip(a, b, strict=True))


def interleaved(calls: list[tuple]) -> list[list]:
    """Each (function, args) called ROUNDS times in its own thread, all started together: the answers per thread."""
    barrier = threading.Barrier(len(calls))
    got: list[list] = [[] for _ in calls]
    errors: list[BaseException] = []

    def work(i: int, fn, args) -> None:
        try:
            barrier.wait()
            for _ in range(ROUNDS):
                got[i].append(fn(*args))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, fn, args)) for i, (fn, args) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    return got


def thread_inputs(case: Case) -> list[tuple]:
    """Two calls that must differ: two thresholds of one image (a detector), two images (a classifier)."""
    if case.task == "classify":
        return [(case.images[0], None), (case.images[1], None)]
    return [(case.images[0], case.conf["low"]), (case.images[0], case.conf["high"])]


def record(plugin: str, check: str, value: str) -> None:
    TABLE.setdefault(plugin, {})[check] = value


@pytest.mark.parametrize("case", PLUGINS, indirect=True)
def test_per_call_conf_changes_the_boxes_as_a_threshold_must(case, table):
    record(case.name, "conf", "FAIL")
    if case.task == "classify":
        record(case.name, "conf", "n/a (no threshold)")
        pytest.skip("a classifier returns probabilities: it has no score threshold")
    image, low, high = case.images[0], case.conf["low"], case.conf["high"]
    b_low, s_low, c_low = answer(case, image, low)
    b_high, s_high, c_high = answer(case, image, high)
    assert 0 < len(s_high) < len(s_low), (len(s_high), len(s_low))
    assert s_low.min() >= low and s_high.min() >= high
    kept = s_low >= high  # a higher threshold keeps exactly the part of the lower one's answer that reaches it
    assert same((b_low[kept], s_low[kept], c_low[kept]), (b_high, s_high, c_high))
    assert same(answer(case, image), (b_low, s_low, c_low))  # no call changed the default: the registered conf
    assert case.predictor.conf == low
    record(case.name, "conf", f"pass ({len(s_low)}>{len(s_high)} boxes)")


@pytest.mark.parametrize("through", ["threads", "threads-registry"])
@pytest.mark.parametrize("case", PLUGINS, indirect=True)
def test_two_threads_each_get_the_answer_they_asked_for(case, through, table):
    """Through the plugin's predictor, and through the registry's `Predictor` (what a server's threads call)."""
    record(case.name, through, "FAIL")
    call = answer if through == "threads" else registry_answer
    inputs = thread_inputs(case)
    alone = [call(case, *args) for args in inputs]
    assert not same(alone[0], alone[1]), "the two calls must ask for different answers"
    for i, answers in enumerate(interleaved([(call, (case, *args)) for args in inputs])):
        assert all(same(a, alone[i]) for a in answers), f"thread {i} got another call's answer"
    record(case.name, through, f"pass (2x{ROUNDS} calls)")


@pytest.mark.parametrize("case", PLUGINS, indirect=True)
def test_plugin_registry_and_served_model_give_the_same_boxes(case, table, tmp_path):
    record(case.name, "same", "FAIL")
    confs = [None] if case.task == "classify" else [case.conf["low"], case.conf["high"]]
    image = case.images[0]
    payload = base64.b64encode(image.read_bytes()).decode()
    with Served(case.uri, tmp_path / "serve.log", env=case.env) as server:
        for conf in confs:
            status, body = server.invoke([payload], {"conf": conf} if conf is not None else None)
            assert status == 200, body[:2000]
            rows = json.loads(body)["predictions"]
            served = [((r["x1"], r["y1"], r["x2"], r["y2"]), r["score"], r["class_id"]) for r in rows]
            mine = answer(case, image, conf)
            if case.task == "classify":
                k = int(np.argmax(mine))
                h, w = bgr(image).shape[:2]
                plugin_rows = [((0.0, 0.0, float(w), float(h)), float(mine[k]), k)]
            else:
                plugin_rows = [(tuple(b), float(s), int(c)) for b, s, c in zip(*mine, strict=True)]
            assert len(plugin_rows) > 0
            assert same(registry_answer(case, image, conf), plugin_rows), f"conf {conf}: registry != plugin"
            assert same(served, plugin_rows), f"conf {conf}: served != plugin"
        if case.task != "classify":
            status, body = server.invoke([payload], {"conf": 1.5})
            assert status == 400 and "conf must be in [0, 1], got 1.5 (conf)" in body, body[:2000]
    record(case.name, "same", "pass" + ("" if case.task == "classify" else " (2 conf)"))
