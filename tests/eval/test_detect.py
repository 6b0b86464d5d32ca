"""wt-eval detect: agreement with pycocotools, hand-computed P/R/F1, confusion and counts, plots."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from evalcases import coco, generated, write_dataset, write_predictions
from helpers import call_cli, manifest_of, run_cli


def pycocotools_reference(gt: dict, preds: list[dict], max_dets: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """stats and eval['precision'] from pycocotools itself (annotation ids renumbered from 1: it treats 0 as no match)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = copy.deepcopy(gt)
    for i, a in enumerate(gt["annotations"]):
        a["id"] = i + 1
    with contextlib.redirect_stdout(io.StringIO()):
        g = COCO()
        g.dataset = gt
        g.createIndex()
        d = g.loadRes(copy.deepcopy(preds)) if preds else COCO()
        ev = COCOeval(g, d, "bbox")
        ev.params.maxDets = [1, 10, max_dets]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats, ev.eval["precision"]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    base = tmp_path_factory.mktemp("gen")
    gt, preds, classes = generated(n_images=80, n_classes=3, seed=1)
    ds = write_dataset(base / "ds", classes, {"val": gt})
    pred = write_predictions(base / "pred", ds, {"val": preds})
    proc = call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path, "--out", base / "ev")
    assert proc.returncode == 0, proc.stderr
    return gt, preds, classes, manifest_of(proc), base / "ev"


def test_agrees_with_pycocotools(case):
    gt, preds, classes, m, _ = case
    stats, precision = pycocotools_reference(gt, preds)
    names = ["mAP", "mAP50", "mAP75", "mAP_small", "mAP_medium", "mAP_large", "AR1", "AR10", "AR100"]
    for k, name in enumerate(names):
        assert m["metrics"][name] == pytest.approx(stats[k], abs=1e-6), name
    assert 0.2 < m["metrics"]["mAP"] < 0.95  # the case is neither trivial nor hopeless
    for k, name in enumerate(classes):
        p = precision[:, :, k, 0, -1]
        assert m["per_class"][name]["AP"] == pytest.approx(p[p > -1].mean(), abs=1e-6)
        p50 = precision[0, :, k, 0, -1]
        assert m["per_class"][name]["AP50"] == pytest.approx(p50[p50 > -1].mean(), abs=1e-6)
        p75 = precision[5, :, k, 0, -1]
        assert m["per_class"][name]["AP75"] == pytest.approx(p75[p75 > -1].mean(), abs=1e-6)


def test_max_dets_agrees_with_pycocotools():
    """Crowded images (up to 45 detections of one class) with COCO's cap lowered to 20, as in pycocotools."""
    from wt_core.cocometrics import evaluate
    from wt_eval.data import ground_truth_from_coco

    gt, preds, classes = generated(n_images=20, n_classes=1, seed=4, max_boxes=40)
    _, precision = pycocotools_reference(gt, preds, max_dets=20)
    ap = precision[:, :, :, 0, -1]  # pycocotools' summarize looks for 100 only: average its table ourselves
    g = ground_truth_from_coco(copy.deepcopy(gt), classes, Path("gt.json"))
    ours = evaluate(g.coco, copy.deepcopy(preds), max_dets=20).stats
    assert ours["mAP"] == pytest.approx(ap[ap > -1].mean(), abs=1e-6)
    assert evaluate(g.coco, copy.deepcopy(preds)).stats["mAP"] > ours["mAP"]  # the cap did bite


def test_outputs_beside_the_manifest(case):
    _, _, classes, m, out = case
    assert m["kind"] == "evaluation" and m["task"] == "detect" and m["split"] == "val"
    for name in ("plot_pr", "plot_confusion", "plot_f1", "confusion", "curves", "counts"):
        assert (out / m["artifacts"][name]["path"]).stat().st_size > 0, name
    assert (out / "pr_curve.png").read_bytes()[:4] == b"\x89PNG"
    conf = json.loads((out / "confusion.json").read_text())
    assert conf["labels"] == [*classes, "background"]
    counts = np.array(conf["counts"])
    # the diagonal is the true positive count; the matrix accounts for every kept detection and every box
    assert counts.trace() == m["metrics"]["tp"]
    assert counts[:, :-1].sum() == len(json.loads((out.parent / "ds" / "val.json").read_text())["annotations"])
    assert counts[:-1, :].sum() == m["metrics"]["tp"] + m["metrics"]["fp"]
    best = m["metrics"]["best_f1"]
    assert best >= m["metrics"]["f1"]


def box(x, y, w, h, c=0, i=0, s=None):
    d = {"image_id": i, "category_id": c, "bbox": [x, y, w, h]}
    if s is not None:
        d["score"] = s
    return d


def test_hand_computed(tmp_path):
    """Two images, two classes; every number below is counted by hand."""
    classes = ["zebra", "giraffe"]
    anns = [box(0, 0, 10, 10, 0, 0), box(20, 20, 10, 10, 0, 0), box(50, 50, 10, 10, 1, 0),
            box(0, 0, 10, 10, 1, 1)]
    for k, a in enumerate(anns):
        a.update(id=k + 1, area=100, iscrowd=0)
    gt = coco([{"id": 0, "width": 100, "height": 100, "file_name": "a.jpg"},
               {"id": 1, "width": 100, "height": 100, "file_name": "b.jpg"}], anns, classes)
    preds = [
        box(0, 0, 10, 10, 0, 0, 0.9),   # TP zebra
        box(1, 1, 10, 10, 0, 0, 0.8),   # duplicate of the same zebra: FP
        box(50, 50, 10, 10, 0, 0, 0.7),  # a giraffe called zebra: FP, confusion giraffe->zebra
        box(80, 80, 10, 10, 1, 0, 0.6),  # nothing there: FP giraffe
        box(0, 0, 10, 10, 1, 1, 0.5),   # TP giraffe
        box(0, 0, 10, 10, 1, 1, 0.1),   # below the threshold: not counted
    ]  # missed: zebra at (20, 20)
    ds = write_dataset(tmp_path / "ds", classes, {"val": gt})
    pred = write_predictions(tmp_path / "p", ds, {"val": preds})
    proc = run_cli("wt-eval", "detect", "--dataset", ds.root, "--predictions", "-", "--conf", "0.3",
                  "--plots", "false", stdin=f"{pred.path}\n")  # a directory, and a path piped in
    m = manifest_of(proc)
    met = m["metrics"]
    # kept: 5 detections, 2 TP, 3 FP; 4 boxes, 2 FN
    assert (met["tp"], met["fp"], met["fn"]) == (2, 3, 2)
    assert met["precision"] == pytest.approx(2 / 5)
    assert met["recall"] == pytest.approx(2 / 4)
    assert met["f1"] == pytest.approx(2 * 2 / (5 + 4))
    z, g = m["per_class"]["zebra"], m["per_class"]["giraffe"]
    assert (z["tp"], z["fp"], z["fn"]) == (1, 2, 1)
    assert (g["tp"], g["fp"], g["fn"]) == (1, 1, 1)
    # counts at 0.3: image a has 3 boxes and 4 detections (+1), image b 1 and 1 (0)
    assert met["count_mae"] == pytest.approx(0.5)
    assert met["count_rmse"] == pytest.approx(np.sqrt(0.5))
    assert met["count_bias"] == pytest.approx(0.5)
    assert z["count_mae"] == pytest.approx(0.5)  # image a: 2 zebras, 3 called zebra
    assert g["count_mae"] == 0.0  # image a: 1 giraffe, 1 called giraffe; image b: 1 and 1
    conf = json.loads((Path(proc.stdout.strip()).parent / m["artifacts"]["confusion"]["path"]).read_text())
    # rows predicted, columns true: zebra, giraffe, background
    assert conf["counts"] == [[1, 1, 1],
                              [0, 1, 1],
                              [1, 0, 0]]
    assert conf["normalised"][0] == [0.5, 0.5, 0.5]
    # the best F1 over thresholds: at 0.9 one TP of 1 kept -> 2/(1+4)=0.4; at 0.5 -> 4/9 = 0.444; at 0.1 -> 4/10
    assert met["best_f1"] == pytest.approx(4 / 9)
    assert met["best_f1_threshold"] == pytest.approx(0.5)


def test_empty_predictions_give_zeros(tmp_path):
    gt, _, classes = generated(n_images=5, seed=3)
    ds = write_dataset(tmp_path / "ds", classes, {"val": gt})
    pred = write_predictions(tmp_path / "p", ds, {"val": []})
    m = manifest_of(call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path, "--plots", "false"))
    for k in ("mAP", "mAP50", "precision", "recall", "f1", "best_f1"):
        assert m["metrics"][k] == 0.0, k
    assert m["metrics"]["count_mae"] == pytest.approx(len(gt["annotations"]) / 5)
    assert m["metrics"]["count_bias"] == pytest.approx(-len(gt["annotations"]) / 5)
