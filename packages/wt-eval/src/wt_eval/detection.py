"""Every detection metric of one split, from ground truth and predictions as arrays.

`evaluate_detection` returns plain numbers and tables; the `detect` command
writes them as a manifest, JSON and plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wt_core import cocometrics

from wt_eval.data import GroundTruth, Predictions
from wt_eval.matching import Curve, curve, match


@dataclass
class DetectionReport:
    metrics: dict[str, float]
    per_class: dict[str, dict[str, float]]
    confusion: np.ndarray
    """Counts [predicted class or background, true class or background]; the last row/column is background."""
    curves: dict[str, Curve]
    """'all' and one per class name: P/R/F1 against the score threshold."""
    coco: cocometrics.CocoResult | None
    counts: np.ndarray
    """Per image: [true count, predicted count] at the score threshold."""
    notes: list[str] = field(default_factory=list)


def confusion_matrix(gt: GroundTruth, pred: Predictions, first_match: np.ndarray, keep: np.ndarray,
                     iou: float) -> np.ndarray:
    """Detections kept at the threshold against ground truth, with a background row and column.

    Same-class matches first (the diagonal is the true positive count), then the
    boxes left over on both sides are matched ignoring classes: such a pair is a
    confusion between classes. What is still unmatched goes to background.
    """
    c = len(gt.classes)
    m = np.zeros((c + 1, c + 1), dtype=np.int64)
    kept = np.flatnonzero(keep)
    first = first_match[kept]
    hit = first >= 0
    np.add.at(m, (pred.cls[kept[hit]], gt.cls[first[hit]]), 1)
    free_gt = np.ones(len(gt.cls), bool)
    free_gt[first[hit]] = False
    left_d = kept[~hit]
    left_g = np.flatnonzero(free_gt)
    second = match(gt.img[left_g], gt.cls[left_g], gt.xyxy[left_g], pred.img[left_d], pred.cls[left_d],
                   pred.xyxy[left_d], pred.score[left_d], iou, class_aware=False)
    hit2 = second >= 0
    np.add.at(m, (pred.cls[left_d[hit2]], gt.cls[left_g[second[hit2]]]), 1)
    np.add.at(m, (pred.cls[left_d[~hit2]], c), 1)  # false detections: background column
    still = np.ones(len(left_g), bool)
    still[second[hit2]] = False
    np.add.at(m, (c, gt.cls[left_g[still]]), 1)  # missed animals: background row
    return m


def normalise_columns(m: np.ndarray) -> np.ndarray:
    """Each true class's column sums to 1 (what that class became); empty columns stay 0."""
    s = m.sum(axis=0, keepdims=True).astype(np.float64)
    return np.where(s > 0, m / np.where(s > 0, s, 1), 0.0)


def count_errors(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and mean bias (predicted minus true) of per-image counts."""
    if len(true) == 0:
        return {"mae": 0.0, "rmse": 0.0, "bias": 0.0}
    err = predicted.astype(np.float64) - true
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean())), "bias": float(err.mean())}


def evaluate_detection(gt: GroundTruth, pred: Predictions, score: float = 0.25, iou: float = 0.5,
                       coco: bool = True, results: list[dict[str, Any]] | None = None,
                       max_dets: int = 100) -> DetectionReport:
    """COCO metrics, P/R/F1 at (score, iou), the best-F1 threshold, confusion matrix and count errors.

    `results`: the same predictions as already checked COCO results rows (saves rebuilding them; the COCO
    evaluator adds fields to them).
    """
    c = len(gt.classes)
    notes: list[str] = []
    result = None
    metrics: dict[str, float] = {}
    per_class: dict[str, dict[str, float]] = {name: {} for name in gt.classes}
    if coco:
        result = cocometrics.evaluate(gt.coco, results if results is not None else pred.coco_results(gt.image_ids),
                                      max_dets)
        busiest = int(np.bincount(pred.img * c + pred.cls).max(initial=0)) if len(pred) else 0
        if busiest > max_dets:
            notes.append(f"an image has {busiest} detections of one class: COCO metrics count only the best "
                         f"{max_dets} per image and class (raise --max_det)")
        for k, v in result.stats.items():
            metrics[k] = v if v >= 0 else 0.0
        if len(gt.cls) == 0:
            notes.append("the split has no ground-truth boxes: COCO metrics are undefined and reported as 0")
        for k, vals in result.per_class.items():
            per_class[gt.classes[k]].update(vals)

    first = match(gt.img, gt.cls, gt.xyxy, pred.img, pred.cls, pred.xyxy, pred.score, iou, class_aware=True)
    is_tp = first >= 0
    keep = pred.score >= score
    curves = {"all": curve(pred.score, is_tp, len(gt.cls))}
    p, r, f, tp, fp = curves["all"].at(score)
    best_t, best_f = curves["all"].best()
    metrics.update({"precision": p, "recall": r, "f1": f, "tp": float(tp), "fp": float(fp),
                    "fn": float(len(gt.cls) - tp), "best_f1": best_f, "best_f1_threshold": best_t,
                    "score_threshold": float(score), "iou_threshold": float(iou)})
    true_n = np.bincount(gt.img, minlength=gt.n_images)
    pred_n = np.bincount(pred.img[keep], minlength=gt.n_images)
    counts = count_errors(true_n, pred_n)
    metrics.update({"count_mae": counts["mae"], "count_rmse": counts["rmse"], "count_bias": counts["bias"],
                    "count_true": float(true_n.sum()), "count_predicted": float(pred_n.sum())})
    true_ic = np.bincount(gt.img * c + gt.cls, minlength=gt.n_images * c).reshape(gt.n_images, c)
    pred_ic = np.bincount(pred.img[keep] * c + pred.cls[keep], minlength=gt.n_images * c).reshape(gt.n_images, c)
    for k, name in enumerate(gt.classes):
        sel = pred.cls == k
        n_gt = int((gt.cls == k).sum())
        cv = curve(pred.score[sel], is_tp[sel], n_gt)
        curves[name] = cv
        pk, rk, fk, tpk, fpk = cv.at(score)
        bt, bf = cv.best()
        ce = count_errors(true_ic[:, k], pred_ic[:, k])
        per_class[name].update({"precision": pk, "recall": rk, "f1": fk, "tp": float(tpk), "fp": float(fpk),
                                "fn": float(n_gt - tpk), "gt": float(n_gt), "best_f1": bf, "best_f1_threshold": bt,
                                "count_mae": ce["mae"], "count_bias": ce["bias"]})
    conf = confusion_matrix(gt, pred, first, keep, iou)
    return DetectionReport(metrics, per_class, conf, curves, result, np.stack([true_n, pred_n], axis=1), notes)


def confusion_doc(classes: list[str], m: np.ndarray) -> dict[str, Any]:
    return {"rows": "predicted", "columns": "true", "labels": [*classes, "background"],
            "counts": m.tolist(), "normalised": np.round(normalise_columns(m), 6).tolist()}

