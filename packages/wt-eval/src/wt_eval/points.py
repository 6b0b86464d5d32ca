"""`wt-eval detect --match points`: predicted centres against ground-truth points within a radius.

The ground truth's points are its `point` annotations, or the centres of its boxes; the
predictions' points are the centres of their boxes, so a box detector and a point-annotated
survey compare on the same footing (HerdNet's evaluation: a detection within R pixels of an
animal of its class is a true positive, each animal matched at most once). Reported at the
score threshold: precision, recall, F1, TP/FP/FN and count errors, overall, per class and
per image (points_per_image.csv).
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np

from wt_eval.data import (
    GroundTruth,
    Predictions,
    ground_truth_from_coco,
    load_coco,
    read_detection_inputs,
)
from wt_eval.detection import count_errors
from wt_eval.matching import match_points, prf


def point_ground_truth(ds, split: str) -> GroundTruth:
    """The split's ground truth with each point as a zero-size box at the point (boxes stay boxes)."""
    coco, file = load_coco(ds, split)
    for a in coco["annotations"]:
        if a.get("bbox") is None and isinstance(a.get("point"), list) and len(a["point"]) == 2:
            a["bbox"] = [float(a["point"][0]), float(a["point"][1]), 0.0, 0.0]
    return ground_truth_from_coco(coco, list(ds.classes), file)


def read_point_inputs(dataset, predictions, split):
    i = read_detection_inputs(dataset, predictions, split, ground_truth=point_ground_truth)
    return i.dataset, i.predictions, i.split, i.gt, i.dets


def centres(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[:, :2] + xyxy[:, 2:]) / 2 if len(xyxy) else np.zeros((0, 2))


def evaluate_points(gt: GroundTruth, pred: Predictions, score: float, radius: float) -> dict[str, Any]:
    """Metrics, per-class metrics and per-image rows of point matching at a score threshold."""
    keep = pred.score >= score
    d_img, d_cls, d_xy, d_score = pred.img[keep], pred.cls[keep], centres(pred.xyxy[keep]), pred.score[keep]
    m = match_points(gt.img, gt.cls, centres(gt.xyxy), d_img, d_cls, d_xy, d_score, radius)
    tp_flag = m >= 0
    n_cls, n_img = len(gt.classes), gt.n_images
    # (image, class) tables of ground truth, predictions and true positives
    gt_t = np.bincount(gt.img * n_cls + gt.cls, minlength=n_img * n_cls).reshape(n_img, n_cls)
    pr_t = np.bincount(d_img * n_cls + d_cls, minlength=n_img * n_cls).reshape(n_img, n_cls)
    tp_t = np.bincount(d_img[tp_flag] * n_cls + d_cls[tp_flag], minlength=n_img * n_cls).reshape(n_img, n_cls)
    tp, npred, ngt = int(tp_t.sum()), int(pr_t.sum()), int(gt_t.sum())
    p, r, f = prf(tp, npred, ngt)
    counts = count_errors(gt_t.sum(axis=1), pr_t.sum(axis=1))
    metrics = {"precision": p, "recall": r, "f1": f, "tp": float(tp), "fp": float(npred - tp), "fn": float(ngt - tp),
               "count_mae": counts["mae"], "count_rmse": counts["rmse"], "count_bias": counts["bias"],
               "count_true": float(ngt), "count_predicted": float(npred), "score_threshold": float(score),
               "radius": float(radius)}
    per_class: dict[str, dict[str, float]] = {}
    for c, name in enumerate(gt.classes):
        pc, rc, fc = prf(int(tp_t[:, c].sum()), int(pr_t[:, c].sum()), int(gt_t[:, c].sum()))
        ce = count_errors(gt_t[:, c], pr_t[:, c])
        per_class[name] = {"precision": pc, "recall": rc, "f1": fc, "tp": float(tp_t[:, c].sum()),
                           "fp": float(pr_t[:, c].sum() - tp_t[:, c].sum()), "gt": float(gt_t[:, c].sum()),
                           "count_mae": ce["mae"], "count_bias": ce["bias"]}
    rows = []
    for i, im in enumerate(gt.images):
        for c, name in enumerate([*gt.classes, "all"]):
            g = gt_t[i].sum() if name == "all" else gt_t[i, c]
            d = pr_t[i].sum() if name == "all" else pr_t[i, c]
            t = tp_t[i].sum() if name == "all" else tp_t[i, c]
            pi, ri, fi = prf(int(t), int(d), int(g))
            rows.append([im["id"], im.get("file_name", ""), name, int(g), int(d), int(t), int(d - t), int(g - t),
                         round(pi, 6), round(ri, 6), round(fi, 6), int(d - g)])
    return {"metrics": metrics, "per_class": per_class, "rows": rows, "errors": point_errors(gt, keep, m, gt_t, pr_t)}


def point_errors(gt: GroundTruth, keep: np.ndarray, matched: np.ndarray, gt_t: np.ndarray, pr_t: np.ndarray):
    """The report's view of a point matching: false positives (indices of all detections), missed points,
    and per image true, predicted, error, false positives, missed."""
    from wt_eval.gallery import Errors

    kept = np.flatnonzero(keep)
    fp = kept[matched < 0]
    found = np.zeros(len(gt.cls), bool)
    found[matched[matched >= 0]] = True
    missed = np.flatnonzero(~found)
    true_n, pred_n = gt_t.sum(axis=1), pr_t.sum(axis=1)
    n = gt.n_images
    table = np.stack([true_n, pred_n, pred_n - true_n, pred_n - np.bincount(gt.img[found], minlength=n),
                      np.bincount(gt.img[missed], minlength=n)], axis=1)
    return Errors(fp, missed, table)


def write_rows(path, rows: list[list]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image_id", "file_name", "class", "true", "predicted", "tp", "fp", "fn", "precision", "recall",
                    "f1", "count_error"])
        w.writerows(rows)
