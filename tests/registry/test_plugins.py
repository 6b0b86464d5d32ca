"""Predictors as plugins: an MMDetection run (the real `wt-mmdet fit`) registered, loaded by alias and
predicting what `wt-mmdet`'s own detector predicts; the registry finds trainers by entry point only."""

from __future__ import annotations

import ast
import json
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import toy_plugin
from helpers import manifest_of
from registry_helpers import cli

CONF = 0.001  # a one-epoch RetinaNet scores about 0.01
FRAMEWORK_MODULES = {"wt_yolo", "wt_mmdet", "wt_cls", "ultralytics", "mmdet", "mmengine", "lightning", "timm"}


def test_every_trainer_declares_its_predictor_by_entry_point():
    found = {ep.name: ep.value for ep in metadata.entry_points(group="wildtrain.predictors")}
    assert found == {"yolo": "wt_yolo.predictor:plugin", "mmdet": "wt_mmdet.predictor:plugin",
                     "cls": "wt_cls.predictor:plugin"}
    from wt_registry import plugins

    assert {f: plugins.plugin(f).task for f in found} == {"yolo": "detect", "mmdet": "detect", "cls": "classify"}
    for file in Path(plugins.__file__).parent.glob("*.py"):  # the code (not the docs) names no framework
        for node in ast.walk(ast.parse(file.read_text())):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for module in modules:
                assert module.split(".")[0] not in FRAMEWORK_MODULES, f"{file.name} imports {module}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in found, f"{file.name} names the framework {node.value!r}"


def test_mmdet_run_registers_loads_by_alias_and_predicts_as_wt_mmdet_does(mmdet_run, tmp_path, capfd):
    import torch

    reg = cli(capfd, "register", "--model", "mm-det", "--detector", mmdet_run["run"], "--alias", "champion",
              "--conf", str(CONF), "--slicing.tile", "0", "--out", tmp_path / "m")
    assert reg.returncode == 0, reg.stderr[-3000:]
    m = manifest_of(reg)
    run = json.loads(Path(mmdet_run["run"]).read_text())
    assert (m["framework"], m["task"], m["classes"]) == ("mmdet", "detect", run["classes"])
    assert set(m["details"]["files"]) == {"artifacts/detector.pth", "artifacts/detector_config.py",
                                          "artifacts/model.json", "artifacts/lineage.json"}
    weights = tmp_path / "m" / "model" / "detector.pth"
    state = torch.load(weights, map_location="cpu", weights_only=True)["state_dict"]  # tensors only: no pickle
    assert any(k.startswith("bbox_head.") for k in state)

    import wt_registry
    from wt_core.slicing import Slicing
    from wt_mmdet.infer import Detector

    model = wt_registry.load("models:/mm-det@champion")
    assert model.version == "1" and model.metadata["framework"] == "mmdet"
    import mlflow

    pins = Path(mlflow.pyfunc.get_model_dependencies("models:/mm-det/1")).read_text()
    assert "mmdet==3.3.0" in pins and "wt-mmdet==" in pins and "ultralytics" not in pins
    got = model.predict([mmdet_run["image"]])[0]
    ref = next(Detector(mmdet_run["run"], conf=CONF, slicing=Slicing(tile=0)).predict_files([mmdet_run["image"]]))
    assert len(ref) > 0, "the comparison must compare boxes"
    assert len(got) == len(ref)
    order = np.argsort(-ref.scores, kind="stable")
    assert np.allclose([d.box for d in got], ref.boxes[order], atol=1e-3)
    assert np.allclose([d.score for d in got], ref.scores[order], atol=1e-5)
    assert [d.class_name for d in got] == [run["classes"][c] for c in ref.classes[order]]
    frame = model.predict_frame([mmdet_run["image"]])
    assert len(frame) == len(ref) and set(frame["class_name"]) <= set(run["classes"])



REGISTER_TOY = toy_plugin.REGISTER + r"""
import json
import numpy as np
import wt_registry
from wt_core.errors import BadInput

base = sys.argv[1]
m = wt_registry.register(model="toy-det", detector=str(toy_run(base).path), alias="champion", out=f"{base}/m")
model = wt_registry.load("models:/toy-det@champion")
dets = model.predict([np.zeros((40, 80, 3), np.uint8)])[0]
wt_registry.register(model="oldtoy-det", detector=str(toy_run(base, "oldtoy").path), out=f"{base}/m-old")
try:
    wt_registry.load("models:/oldtoy-det/1")
    refused = None
except BadInput as e:
    refused = e.line()
print(json.dumps({"framework": m.framework, "boxes": [d.box for d in dets], "scores": [d.score for d in dets],
                  "names": [d.class_name for d in dets], "refused": refused}))
"""


def test_a_future_trainer_registers_and_predicts_through_its_entry_point_alone(tmp_path):
    """A trainer installed after wt-registry was written (a module and its dist-info on the path) is found,
    registered, loaded by alias and predicts: nothing in wt-registry knows its name. One that keeps the
    older protocol (a settable threshold, none per call) is refused in one line when loaded."""
    from registry_helpers import python

    site = toy_plugin.install(tmp_path / "site")
    proc = python(REGISTER_TOY, str(tmp_path), env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["refused"] == ("error: the oldtoy predictor does not keep the predictor protocol of wt_core.predictor: "
                              "it lacks a per-call 'conf' argument of predict_arrays, a per-call 'max_det' argument "
                              "of predict_arrays; update the trainer that provides it (framework)")
    del got["refused"]
    # registered with the default threshold 0.25: the boxes scoring 0.75 and 0.45, not the one at 0.15
    assert got["scores"] == pytest.approx([0.75, 0.45])
    assert {k: got[k] for k in ("framework", "boxes", "names")} == {
        "framework": "toy", "boxes": [[20.0, 10.0, 60.0, 30.0], [20.0, 10.0, 40.0, 20.0]], "names": ["zebra", "zebra"]}
