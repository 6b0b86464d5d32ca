"""validate, test, predict and export on the session's trained run, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import manifest_of, run_cli


def _dir(m: dict) -> Path:
    return Path(m["_path"]).parent


def test_validate_and_test_write_evaluation_manifests(trained, sep_ds):
    options = {"validate": ["--batch", "16", "--workers", "0", "--device", "cpu"],
               "test": ["--batch_size", "16", "--accelerator", "cpu"]}  # old spellings: read, with a warning line
    for command, split in (("validate", "val"), ("test", "test")):
        proc = run_cli("wt-cls", command, "--run", _dir(trained), *options[command], "--out", command, check=True)
        assert ("warning: --accelerator is deprecated, use --device" in proc.stderr) == (command == "test")
        m = manifest_of(proc)
        assert m["kind"] == "evaluation" and m["split"] == split and m["dataset_id"] == trained["dataset_id"]
        assert m["metrics"]["images"] == 60
        assert 0.5 <= m["metrics"]["acc"] <= 1.0  # chance is 0.33; seen 0.65-0.90 over CPUs, threads 1-2, seeds 0-1
        assert set(m["per_class"]) == {"boar", "deer", "fox"}
        assert set(m["per_class"]["fox"]) == {"recall", "precision", "f1"}
        assert {p["kind"] for p in m["parents"]} == {"run", "dataset"}
    val = json.loads(Path("validate/manifest.json").read_text())
    assert abs(val["metrics"]["acc"] - trained["metrics"]["val/acc"]) < 1e-6  # same weights, same split


def test_predict_writes_per_image_probabilities_and_label(trained):
    m = manifest_of(run_cli("wt-cls", "predict", "--run", _dir(trained), "--out", "pred", check=True))
    assert m["kind"] == "predictions" and m["task"] == "classify" and set(m["splits"]) == {"test"}
    assert m["run_id"] == trained["id"] and m["classes"] == trained["classes"]
    rows = json.loads((Path("pred") / m["artifacts"][m["splits"]["test"]]["path"]).read_text())
    assert len(rows) == 60 and len({r["image_id"] for r in rows}) == 60
    for r in rows:
        assert len(r["scores"]) == 3 and abs(sum(r["scores"]) - 1) < 1e-5
        assert r["category_id"] == max(range(3), key=r["scores"].__getitem__)
        assert r["label"] == trained["classes"][r["category_id"]] and r["score"] == r["scores"][r["category_id"]]
    assert sum(r["category_id"] == r["true_category_id"] for r in rows) >= 30  # chance 20; seen 39-53 (see test_fit)


def test_predict_a_plain_image_folder_from_a_piped_run(trained, sep_ds):
    folder = Path(json.loads(sep_ds.read_text())["splits"]["val"]["image_root"]) / "deer"
    m = manifest_of(run_cli("wt-cls", "predict", "--run", "-", "--images", folder, "--out", "p",
                            stdin=trained["_path"] + "\n", check=True))
    rows = json.loads((Path("p") / m["artifacts"][m["splits"]["images"]]["path"]).read_text())
    assert len(rows) == 20 and m["dataset_id"] is None
    assert sum(r["label"] == "deer" for r in rows) > 10  # most of them


def test_exported_torchscript_and_onnx_equal_the_eager_model(trained, sep_ds):
    import onnxruntime as ort
    import torch
    from wt_cls.data import eval_transform, load_rgb
    from wt_cls.predictor import load_module

    m = manifest_of(run_cli("wt-cls", "export", "--run", _dir(trained), "--out", "exp", check=True))
    assert set(m["weights"]) == {"torchscript", "onnx"} and m["parents"][0]["id"] == trained["id"]
    assert m["details"]["classes"] == trained["classes"] and m["details"]["input_size"] == 64
    # real images, a batch size the export never saw (dynamic batch)
    module = load_module(_dir(trained) / trained["artifacts"]["best"]["path"])
    tf = eval_transform(64, module.hparams["mean"], module.hparams["std"])
    root = Path(json.loads(sep_ds.read_text())["splits"]["test"]["image_root"])
    x = torch.stack([tf(load_rgb(str(p))) for p in sorted(root.rglob("*.jpg"))[::6]])
    with torch.no_grad():
        eager = module(x)
        scripted = torch.jit.load(str(Path("exp") / m["artifacts"]["torchscript"]["path"]))(x)
    session = ort.InferenceSession(str(Path("exp") / m["artifacts"]["onnx"]["path"]), providers=["CPUExecutionProvider"])
    onnx_out = torch.from_numpy(session.run(None, {"images": x.numpy()})[0])
    assert x.shape[0] == 10
    assert (scripted - eager).abs().max() <= 1e-4
    assert (onnx_out - eager).abs().max() <= 1e-4
    assert m["details"]["max_abs_diff"]["onnx"] <= 1e-4
