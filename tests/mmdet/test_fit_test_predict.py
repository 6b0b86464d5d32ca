"""RetinaNet end to end on CPU: fit (killed and resumed), test with CocoMetric, predict whole and sliced."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from helpers import manifest_of, run_cli


def test_fit_killed_then_resumed_finishes_the_planned_epochs(retina):
    m = retina["manifest"]
    assert "resuming from epoch_1.pth" in retina["stderr"]
    assert [json.loads(x)["epoch"] for x in retina["metrics_before"].splitlines()] == [1]
    rows = [json.loads(x) for x in (retina["dir"] / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(r["train/loss"] > 0 for r in rows)
    assert m["kind"] == "run" and m["framework"] == "mmdet" and m["details"]["epochs"] == 2
    assert m["classes"] == ["elephant", "giraffe", "zebra"]
    assert {"best", "last", "metrics", "config", "mmdet_config"} <= set(m["artifacts"])
    assert not Path(str(retina["dir"]) + ".partial").exists()
    assert not list((retina["dir"] / "mmdet").glob("*.pth"))  # only weights/best.pth and last.pth remain
    # one MLflow run, resumed rather than duplicated, with both epochs' metrics
    db = Path(m["tracking"]["uri"].removeprefix("sqlite:///"))
    con = sqlite3.connect(db)
    runs = con.execute("select count(*) from runs where run_uuid in (select run_uuid from tags "
                       "where key='wt.output' and value=?)", (str(retina["dir"]),)).fetchone()[0]
    steps = sorted(r[0] for r in con.execute("select step from metrics where run_uuid=? and key='train/loss'",
                                             (m["tracking"]["run_id"],)))
    assert runs == 1
    assert steps[-1] == 2 and 1 in steps
    # the manifest's metrics: the validation of best.pth's epoch (bbox_mAP), standard names beside mmdet's
    row = next(r for r in rows if r["epoch"] == m["details"]["best_epoch"])
    if "bbox_mAP" in row:  # CocoMetric gives no numbers while every score is under 0.05 (a 2-epoch model)
        assert m["metrics"]["mAP50_95"] == m["metrics"]["bbox_mAP"] == row["bbox_mAP"]
        assert m["metrics"]["mAP50"] == row["bbox_mAP_50"]
    assert not any(k.startswith(("train/", "lr")) for k in m["metrics"])


def test_mmdet_config_has_our_classes(retina):
    text = (retina["dir"] / "mmdet_config.py").read_text()
    assert "num_classes=3" in text
    assert "'elephant'" in text


@pytest.fixture(scope="module")
def tested(retina, small_ds):
    proc = run_cli("wt-mmdet", "test", "--run", retina["dir"], "--dataset", small_ds, "--split", "all",
                   "--conf", "0.0", "--out", retina["cwd"] / "test", timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return manifest_of(proc)


def test_test_writes_predictions_and_cocometric(tested, small_ds):
    assert tested["kind"] == "predictions"
    results = json.loads((Path(tested["producer"]["config"]["out"]) / "predictions" / "all.json").read_text())
    assert results, "with score_thr 0 the model returns boxes"
    assert {r["category_id"] for r in results} <= {0, 1, 2}
    ds = json.loads((small_ds / "manifest.json").read_text())
    assert tested["dataset_id"] == ds["id"]
    assert "bbox_mAP" in tested["details"]["metrics"]


def test_wt_eval_agrees_with_cocometric(tested, small_ds, tmp_path):
    proc = run_cli("wt-eval", "detect", "--dataset", small_ds, "--predictions",
                   Path(tested["producer"]["config"]["out"]), "--split", "all", "--plots", "false",
                   "--out", tmp_path / "eval", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ev = manifest_of(proc)
    ours = tested["details"]["metrics"]
    assert ev["metrics"]["mAP"] == pytest.approx(ours["bbox_mAP"], abs=1e-3)
    assert ev["metrics"]["mAP50"] == pytest.approx(ours["bbox_mAP_50"], abs=1e-3)


def test_predict_sliced_image_folder_run_from_stdin(retina, small_ds, tmp_path):
    images = small_ds.parent / "aerial" / "images"
    proc = run_cli("wt-mmdet", "predict", "--run", "-", "--images", images, "--slicing.tile", "256",
                   "--conf", "0.0", "--out", tmp_path / "pred", stdin=f"{retina['dir'] / 'manifest.json'}\n",
                   timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    m = manifest_of(proc)
    assert m["slicing"]["tile"] == 256 and m["thresholds"]["conf"] == 0.0
    index = json.loads((tmp_path / "pred" / "images.json").read_text())
    assert len(index) == 4
    results = json.loads((tmp_path / "pred" / "predictions" / "images.json").read_text())
    sizes = {im["id"]: (im["width"], im["height"]) for im in index}
    for r in results:  # boxes are in full-image pixels, inside the image
        x, y, w, h = r["bbox"]
        W, H = sizes[r["image_id"]]
        assert -1 <= x and x + w <= W + 1 and -1 <= y and y + h <= H + 1
        assert r["category_id"] in (0, 1, 2)
    assert [p["kind"] for p in m["parents"]] == ["run"]
