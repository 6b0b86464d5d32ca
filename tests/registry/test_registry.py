"""wt-registry against sqlite tracking: register, load in a fresh process, two stages, aliases,
promote, list/show/lineage, pull, serve. The runs come from the real `wt-yolo fit` and `wt-cls fit`."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import manifest_of, run_cli
from registry_helpers import Served, cli, make_evaluation, python, register_py

pytestmark = pytest.mark.slow
NAME = "aerial-det"
CONF = 0.001  # a one-epoch detector scores low: keep its boxes so that comparisons compare something


@pytest.fixture(scope="module")
def champion(runs, tmp_path_factory) -> dict:
    """The detector registered through the CLI as aerial-det version 1, alias champion, with an evaluation."""
    base = tmp_path_factory.mktemp("champion")
    run = json.loads(runs["detector"].read_text())
    ev = make_evaluation(base / "eval-v1", runs["detector"], run["dataset_id"], "val", {"mAP50": 0.10, "mAP": 0.05})
    proc = run_cli("wt-registry", "register", "--model", NAME, "--detector", runs["detector"], "--alias", "champion",
                   "--conf", str(CONF), "--evaluation", ev, "--tags+", "owner=tests",
                   "--out", base / "model", check=True, cwd=base)
    return {"manifest": manifest_of(proc), "path": Path(proc.stdout.strip()), "eval": ev, "run": run}


def client():
    from wt_core.tracking import configure

    configure()
    from mlflow import MlflowClient

    return MlflowClient()


def test_register_writes_model_manifest_metadata_and_tags(champion, runs):
    m, run = champion["manifest"], champion["run"]
    assert (m["kind"], m["name"], m["version"], m["uri"]) == ("model", NAME, "1", f"models:/{NAME}/1")
    assert m["framework"] == "yolo" and m["task"] == "detect" and m["classes"] == run["classes"]
    assert m["aliases"] == ["champion"]
    assert [p["kind"] for p in m["parents"]] == ["run", "evaluation"] and m["parents"][0]["id"] == run["id"]
    meta = m["details"]["metadata"]
    # the keys the WildDetect inference system reads
    assert {k: meta[k] for k in ("imgsz", "tilesize", "batch", "task", "num_classes", "model_type")} == {
        "imgsz": 320, "tilesize": 640, "batch": 8, "task": "detect", "num_classes": 3, "model_type": "detector"}
    assert meta["conf"] == CONF and meta["dataset_ids"] == [run["dataset_id"]]
    assert meta["evaluations"][0]["metrics"]["mAP50"] == 0.10
    # the weights went in unchanged
    assert m["details"]["files"]["artifacts/detector.pt"] == run["artifacts"]["best"]["sha256"]

    from mlflow.models import get_model_info

    v = client().get_model_version(NAME, "1")
    assert v.tags["wt.framework"] == "yolo" and v.tags["owner"] == "tests" and "yolo detector" in v.description
    info = get_model_info(f"models:/{NAME}@champion")
    assert info.metadata["tilesize"] == 640 and info.signature.inputs.input_names() == ["image"]
    assert [p.name for p in info.signature.params] == ["conf"]


FRESH = r"""
import json, sys
import cv2, mlflow, pandas as pd
image, out = sys.argv[1], sys.argv[2]
# local paths only under the root given at load (a served model takes image bytes only)
model = mlflow.pyfunc.load_model("models:/aerial-det@champion", model_config={"image_root": sys.argv[3]})
frame = model.predict(pd.DataFrame({"image": [image]}))
pred = model.unwrap_python_model().predictor  # what wt_registry.load returns
rgb = cv2.cvtColor(cv2.imread(image), cv2.COLOR_BGR2RGB)
from_array = [d.as_dict() for d in pred.predict([rgb])[0]]
json.dump({"frame": frame.to_dict(orient="records"), "array": from_array,
           "metadata": model.metadata.metadata}, open(out, "w"))
"""


def test_fresh_process_load_by_alias_predicts_what_wt_yolo_predict_does(champion, runs, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    image = folder / runs["image"].name
    shutil.copyfile(runs["image"], image)
    pred = run_cli("wt-yolo", "predict", "--run", runs["detector"], "--images", folder, "--conf", str(CONF),
                   "--out", tmp_path / "pred", check=True)
    pm = manifest_of(pred)
    coco = json.loads((tmp_path / "pred" / pm["artifacts"][pm["splits"]["images"]]["path"]).read_text())
    proc = python(FRESH, str(image), str(tmp_path / "out.json"), str(folder))
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads((tmp_path / "out.json").read_text())
    rows = got["frame"]
    assert len(coco) > 0, "the comparison must compare boxes"
    assert len(rows) == len(coco)
    expected = sorted(coco, key=lambda r: (-r["score"], r["bbox"][0], r["bbox"][1]))
    actual = sorted(rows, key=lambda r: (-round(r["score"], 5), round(r["x1"], 2), round(r["y1"], 2)))
    for e, a in zip(expected, actual, strict=True):
        x, y, w, h = e["bbox"]
        assert np.allclose([a["x1"], a["y1"], a["x2"], a["y2"]], [x, y, x + w, y + h], atol=0.02)
        assert abs(a["score"] - e["score"]) < 1e-4 and a["class_id"] == e["category_id"]
        assert a["class_name"] == champion["run"]["classes"][a["class_id"]] and a["image"] == str(image)
    # an RGB array gives the same boxes as the file
    assert len(got["array"]) == len(rows)
    assert np.allclose([d["box"] for d in got["array"]], [[r["x1"], r["y1"], r["x2"], r["y2"]] for r in rows])
    assert got["metadata"]["model_type"] == "detector"


def test_two_stage_model_relabels_boxes_as_its_classifier_says(champion, runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    m = register_py(model="aerial-2stage", detector=str(runs["detector"]), classifier=str(runs["classifier"]),
                    conf=CONF, out=tmp_path / "m")
    cls_run = json.loads(runs["classifier"].read_text())
    assert m.framework == "yolo+cls" and m.classes == cls_run["classes"]
    assert m.details["metadata"]["two_stage"] is True
    import cv2
    import wt_cls
    import wt_registry
    from PIL import Image
    from wt_registry.predictor import crop_box

    two = wt_registry.load("models:/aerial-2stage/1")
    det_only = wt_registry.load(f"models:/{NAME}/1")
    boxes = det_only.predict([runs["image"]])[0]
    relabelled = two.predict([runs["image"]])[0]
    assert len(boxes) > 0 and len(relabelled) == len(boxes)  # no background class: every box kept
    assert two.config["classifier"]["crop_margin"] == 0.0  # trained on whole images, not on `wt-data crops`
    # what the classifier says of each crop, asked through wt-cls's own predictor of the run
    rgb = cv2.cvtColor(cv2.imread(str(runs["image"])), cv2.COLOR_BGR2RGB)  # decoded as the model decodes files
    said = wt_cls.load(runs["classifier"]).predict([Image.fromarray(crop_box(rgb, d.box)) for d in boxes])
    expected = {tuple(np.round(d.box, 3)): (s["label"], d.score * s["score"]) for d, s in zip(boxes, said, strict=True)}
    for r in relabelled:
        name, score = expected[tuple(np.round(r.box, 3))]
        assert r.class_name == name and r.class_id == m.classes.index(name)
        assert abs(r.score - score) < 1e-4
    assert [r.score for r in relabelled] == sorted((r.score for r in relabelled), reverse=True)


def test_boxes_the_classifier_calls_background_are_dropped(champion, runs, tmp_path, monkeypatch):
    """A constructed classifier: the trained one with classes renamed and a head that always says background."""
    import torch
    from wt_core.manifest import RunManifest
    from wt_core.manifest_io import build, read_manifest
    from wt_core.outputs import Output

    monkeypatch.chdir(tmp_path)
    src = read_manifest(runs["classifier"], "run", expect=RunManifest)
    ckpt = torch.load(src.artifact_path("best"), map_location="cpu", weights_only=False)
    classes = ["background", "buffalo", "kudu"]
    ckpt["hyper_parameters"]["classes"] = classes
    head = sorted(k for k in ckpt["state_dict"] if k.startswith("head.") and k.endswith(".bias"))[-1]
    ckpt["state_dict"][head] = torch.tensor([30.0, 0.0, 0.0])
    ckpt["state_dict"][head.replace(".bias", ".weight")].zero_()
    out = Output("wt-cls", "fit", tmp_path / "bg-run")
    torch.save(ckpt, out.path("best.ckpt"))
    out.add("best", "best.ckpt")
    run = out.commit(build(RunManifest, id=out.id, parents=[src], framework="cls", task="classify", classes=classes,
                           dataset_id=src.dataset_id, weights={"best": "best"}, imgsz=src.imgsz))
    m = register_py(model="aerial-bg", detector=str(runs["detector"]), classifier=str(run.path),
                    conf=CONF, out=tmp_path / "m")
    assert m.classes == ["buffalo", "kudu"] and m.details["metadata"]["background"] == "background"
    import wt_registry

    model = wt_registry.load("models:/aerial-bg/1")
    assert len(next(model.detector.predict_files([runs["image"]]))) > 0  # the detector alone finds boxes
    assert model.predict([runs["image"]]) == [[]]


def test_calibration_sets_the_threshold_and_the_extra_nms(champion, runs, tmp_path, monkeypatch):
    """A `wt-eval calibrate` manifest (details.calibration): its score threshold and class-agnostic NMS are used."""
    from wt_core.geometry import box_iou

    monkeypatch.chdir(tmp_path)
    cal = make_evaluation(tmp_path / "cal", runs["detector"], champion["run"]["dataset_id"], "val",
                          {"score_threshold": 0.001, "nms_iou": 0.3},
                          {"calibration": {"metric": "f1", "score_threshold": 0.001, "nms_iou": 0.3,
                                           "class_aware": False}})
    m = register_py(model="aerial-cal", detector=str(runs["detector"]), calibration=str(cal), out=tmp_path / "m")
    assert m.details["metadata"]["conf"] == 0.001 and m.details["metadata"]["post_nms_iou"] == 0.3
    import wt_registry

    dets = wt_registry.load("models:/aerial-cal/1").predict([runs["image"]])[0]
    assert dets and min(d.score for d in dets) >= 0.001
    iou = box_iou(np.array([d.box for d in dets]), np.array([d.box for d in dets]))
    np.fill_diagonal(iou, 0)
    assert iou.max() <= 0.3


def test_alias_set_move_delete(champion, runs, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    register_py(model="aliased", detector=str(runs["detector"]), out=tmp_path / "v1")
    register_py(model="aliased", detector=str(runs["detector"]), conf=0.5, out=tmp_path / "v2")

    def alias(model, *args):
        return cli(capfd, "alias", "--model", model, "--alias", "staging", *args, "--json")

    first = json.loads(alias("aliased/1").stdout)
    assert (first["action"], first["to"]) == ("set", "1")
    moved = alias("aliased/2")
    assert json.loads(moved.stdout)["action"] == "moved" and "moved from version 1 to 2" in moved.stderr
    again = alias("aliased@staging")  # a version named by another alias (here its own)
    assert json.loads(again.stdout)["action"] == "unchanged"
    old = cli(capfd, "alias", "--name", "aliased", "--version", "1", "--alias", "staging", "--json")
    assert json.loads(old.stdout)["to"] == "1"  # the old spelling still works, saying so
    assert old.stderr.splitlines()[:2] == ["warning: --name is deprecated, use --model",
                                           "warning: --version is deprecated, use --model aliased/1 (or aliased@ALIAS)"]
    gone = alias("aliased", "--delete")
    assert json.loads(gone.stdout)["action"] == "deleted"
    assert "staging" not in client().get_registered_model("aliased").aliases


def test_promote_if_better_moves_only_on_a_better_metric(champion, runs, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    run, ds = champion["run"], champion["run"]["dataset_id"]
    register_py(model=NAME, detector=str(runs["detector"]), alias="challenger", conf=0.01,
                out=tmp_path / "v2")
    worse = make_evaluation(tmp_path / "worse", runs["detector"], ds, "val", {"mAP50": 0.08})
    better = make_evaluation(tmp_path / "better", runs["detector"], ds, "val", {"mAP50": 0.20})

    def promote(ev):
        return cli(capfd, "promote", "--model", f"{NAME}@challenger", "--if_better", ev, "--json")

    kept = promote(worse)
    assert kept.returncode == 0 and json.loads(kept.stdout)["moved"] is False
    assert "stays on version 1" in kept.stderr and "0.0800" in kept.stderr and "0.1000" in kept.stderr
    assert str(client().get_registered_model(NAME).aliases["champion"]) == "1"
    moved = promote(better)
    decision = json.loads(moved.stdout)
    assert decision["moved"] is True and (decision["from"], decision["to"]) == ("1", "2")
    assert "moved from version 1 to 2" in moved.stderr
    assert str(client().get_registered_model(NAME).aliases["champion"]) == "2"
    # put the champion back for the other tests
    assert cli(capfd, "alias", "--model", f"{NAME}/1", "--alias", "champion").returncode == 0
    assert run["id"]


def test_list_show_lineage_json(champion, runs, capfd):
    listed = json.loads(cli(capfd, "list", "--json").stdout)
    entry = next(e for e in listed if e["name"] == NAME)
    assert entry["aliases"]["champion"] == "1"
    shown = json.loads(cli(capfd, "show", "--model", NAME, "--json").stdout)
    v1 = shown["versions"][0]
    assert v1["version"] == "1" and "champion" in v1["aliases"]
    assert v1["evaluations"][0]["metrics"]["mAP50"] == 0.10 and v1["run_ids"] == [champion["run"]["id"]]
    one = json.loads(cli(capfd, "show", "--model", f"{NAME}@champion", "--json").stdout)
    assert one["metadata"]["tilesize"] == 640
    chain = json.loads(cli(capfd, "lineage", "--model", f"{NAME}@champion", "--json").stdout)
    assert chain[0]["kind"] == "model" and chain[1]["id"] == champion["run"]["id"]
    assert (chain[-1]["kind"], chain[-1]["tool"], chain[-1]["command"]) == ("dataset", "wt-data", "import")
    # the same chain from the lineage stored with the model, when the manifests are not on this machine
    from wt_registry.inspect_ import lineage

    client().set_model_version_tag(NAME, "1", "wt.manifest", "/nowhere/manifest.json")
    stored = lineage(f"{NAME}/1", json=True)
    assert {n["id"] for n in stored[1:]} <= {n["id"] for n in chain} and stored[1]["id"] == champion["run"]["id"]
    assert (stored[-1]["tool"], stored[-1]["command"]) == ("wt-data", "import")


def test_pull_caches_by_version_and_verifies_sha256(champion, runs, tmp_path, capfd):
    cache = tmp_path / "cache"
    first = cli(capfd, "pull", "--model", f"{NAME}@champion", "--cache", cache)
    m = manifest_of(first)
    path = Path(first.stdout.strip())
    assert path == cache / NAME / "1" / "manifest.json"
    assert m["artifacts"]["artifacts/detector.pt"]["sha256"] == champion["run"]["artifacts"]["best"]["sha256"]
    assert "ultralytics==" in (path.parent / "requirements.txt").read_text()  # explicit, pinned requirements
    again = cli(capfd, "pull", "--model", f"{NAME}/1", "--cache", cache)
    assert again.stdout.strip() == str(path) and "cached" in again.stderr
    weights = path.parent / "artifacts" / "detector.pt"
    weights.write_bytes(b"damaged")
    repaired = cli(capfd, "pull", "--model", f"{NAME}/1", "--cache", cache)
    assert "damaged" in repaired.stderr and weights.stat().st_size > 1000
    import wt_registry

    local = wt_registry.load(str(path))  # a pulled entry loads without the registry
    assert local.classes == champion["run"]["classes"]


def test_served_model_answers_rest_on_loopback(champion, runs, tmp_path):
    with Served(f"models:/{NAME}/1", tmp_path / "serve.log") as server:
        status, body = server.invoke([base64.b64encode(runs["image"].read_bytes()).decode()], {"conf": CONF})
    assert status == 200, body[:2000]
    rows = json.loads(body)["predictions"]
    assert len(rows) > 0 and set(rows[0]) == {"image_index", "image", "x1", "y1", "x2", "y2", "score", "class_id",
                                              "class_name"}
    assert rows[0]["image"] == "#0" and rows[0]["class_name"] in champion["run"]["classes"]
