"""`wt-eval calibrate`: the score threshold and NMS IoU that work best on validation predictions.

Predictions made with a low score threshold (and the trainer's own NMS) go
through one more NMS (wt_core.geometry.nms) at each IoU of a grid, class-aware
or not; for each, the score threshold that maximises F1 (or minimises the
count error) is found exactly over the distinct scores. The winner is written
as an evaluation manifest that a model registry can attach to a model.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from wt_core import geometry
from wt_core.console import get_logger, print_table
from wt_core.invocation import command
from wt_core.manifest import EvaluationManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.ranges import PositiveUnit

from wt_eval import __version__
from wt_eval.data import GroundTruth, Predictions, dumps, read_detection_inputs
from wt_eval.matching import curve, match

log = get_logger("wt-eval")
GRID = np.round(np.linspace(0, 1, 101), 2)


def apply_nms(pred: Predictions, iou: float | None, class_aware: bool) -> Predictions:
    """NMS per image (None: the predictions as they are)."""
    if iou is None or len(pred) == 0:
        return pred
    keep_all: list[np.ndarray] = []
    order = np.argsort(pred.img, kind="stable")
    img = pred.img[order]
    bounds = np.flatnonzero(np.r_[True, img[1:] != img[:-1], True])
    xyxy = pred.xyxy
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        idx = order[a:b]
        keep = geometry.nms(xyxy[idx], pred.score[idx], iou, pred.cls[idx] if class_aware else None)
        keep_all.append(idx[keep])
    mask = np.zeros(len(pred), bool)
    mask[np.concatenate(keep_all)] = True
    return pred.subset(mask)


def count_mae_curve(gt: GroundTruth, pred: Predictions, thresholds: np.ndarray) -> np.ndarray:
    true_n = np.bincount(gt.img, minlength=gt.n_images)
    out = np.empty(len(thresholds))
    for i, t in enumerate(thresholds):
        out[i] = np.abs(np.bincount(pred.img[pred.score >= t], minlength=gt.n_images) - true_n).mean() \
            if gt.n_images else 0.0
    return out


def evaluate_setting(gt: GroundTruth, pred: Predictions, match_iou: float,
                     metric: str) -> dict[str, float]:
    """The best score threshold for one NMS setting and the metrics there."""
    first = match(gt.img, gt.cls, gt.xyxy, pred.img, pred.cls, pred.xyxy, pred.score, match_iou)
    cv = curve(pred.score, first >= 0, len(gt.cls))
    if metric == "f1":
        t, _ = cv.best()
    else:
        candidates = np.unique(np.r_[GRID, cv.thresholds])
        maes = count_mae_curve(gt, pred, candidates)
        t = float(candidates[int(np.argmin(maes))])
    p, r, f, tp, fp = cv.at(t)
    keep = pred.score >= t
    true_n = np.bincount(gt.img, minlength=gt.n_images)
    err = np.bincount(pred.img[keep], minlength=gt.n_images) - true_n
    mae = float(np.abs(err).mean()) if gt.n_images else 0.0
    bias = float(err.mean()) if gt.n_images else 0.0
    return {"score_threshold": float(t), "f1": f, "precision": p, "recall": r, "tp": float(tp), "fp": float(fp),
            "count_mae": mae, "count_bias": bias}


@command("wt-eval", "calibrate", __version__)
def calibrate(dataset: str, predictions: str, split: str | None = None, metric: Literal["f1", "count_mae"] = "f1",
              iou: PositiveUnit = 0.5, nms_ious: list[PositiveUnit] | None = None,
              class_aware: Literal["both", "yes", "no"] = "both", out: str | None = None,
              overwrite: bool = False) -> EvaluationManifest:
    """Find the score threshold and NMS IoU that maximise F1 (or minimise the count error) on validation data.

    Give predictions made with a low score threshold. Each NMS IoU of the grid
    (plus no extra NMS) is tried, class-aware or not; for each, the best score
    threshold is found over the distinct scores. Writes an evaluation manifest
    whose metrics hold the winner (score_threshold, nms_iou, class_aware) and
    calibration.json with the whole grid.

    Args:
        dataset: The dataset manifest the predictions were made on (a manifest.json, its directory, or '-').
        predictions: The predictions manifest, made with a low score threshold.
        split: The split (default: the only split the predictions hold, else val).
        metric: f1: maximise F1; count_mae: minimise the mean absolute error of per-image counts. For counts,
            count_mae on photos of the sites to be counted; f1 on photos of other sites (count_mae balances
            these photos' own false positives against their misses, often at a low score, and a site with
            more look-alikes counts them all).
        iou: IoU at which a detection matches a ground-truth box.
        nms_ious: NMS IoU thresholds to try (default 0.3 to 0.8 by 0.1); no extra NMS is always tried too.
        class_aware: Whether NMS suppresses only boxes of the same class: yes, no, or try both.
        out: Output directory (default runs/eval/calibrate/<id>).
        overwrite: Replace an existing output directory.
    """
    grid = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8] if nms_ious is None else list(nms_ious)
    inputs = read_detection_inputs(dataset, predictions, split)
    ds, pred, split, gt, dets = inputs.dataset, inputs.predictions, inputs.split, inputs.gt, inputs.dets
    if len(dets) and dets.score.min() > 0.2:
        log.warning("the lowest score is %.3f: calibration can only raise the threshold above it; predict with a "
                    "low threshold (e.g. 0.001) for a full search", float(dets.score.min()))
    output = Output("wt-eval", "calibrate", out, overwrite=overwrite)
    aware = {"both": [True, False], "yes": [True], "no": [False]}[class_aware]
    results = []
    for nms_iou in [None, *grid]:
        for ca in (aware if nms_iou is not None else [True]):
            r = evaluate_setting(gt, apply_nms(dets, nms_iou, ca), iou, metric)
            results.append({"nms_iou": nms_iou, "class_aware": ca, **r})
    key = (lambda r: (r["f1"], -r["count_mae"])) if metric == "f1" else (lambda r: (-r["count_mae"], r["f1"]))
    best = max(results, key=key)  # first best wins: no extra NMS, then the lower IoU
    print_table(f"wt-eval calibrate ({metric})", ["nms_iou", "class_aware", "score", "f1", "P", "R", "count_mae"],
                [["none" if r["nms_iou"] is None else r["nms_iou"], r["class_aware"], r["score_threshold"], r["f1"],
                  r["precision"], r["recall"], r["count_mae"]] for r in results])
    output.path("calibration.json").write_text(dumps({"metric": metric, "iou": iou, "best": best,
                                                      "grid": results}) + "\n")
    output.add("calibration", "calibration.json")
    metrics = {k: float(v) for k, v in best.items() if k not in ("nms_iou", "class_aware")}
    metrics["nms_iou"] = float(best["nms_iou"]) if best["nms_iou"] is not None else 1.0
    metrics["class_aware"] = float(best["class_aware"])
    metrics["iou_threshold"] = float(iou)
    log.info("best: score >= %.4f, NMS IoU %s (%s), F1 %.4f, count MAE %.3f", best["score_threshold"],
             "none" if best["nms_iou"] is None else best["nms_iou"],
             "class-aware" if best["class_aware"] else "class-agnostic", best["f1"], best["count_mae"])
    manifest = build(EvaluationManifest, id=output.id, parents=[ds, pred], task="detect", dataset_id=ds.id,
                     split=split, predictions_id=pred.id, metrics=metrics,
                     details={"calibration": {"metric": metric, "nms_iou": best["nms_iou"],
                                              "class_aware": best["class_aware"],
                                              "score_threshold": best["score_threshold"]}})
    return output.commit(manifest)

