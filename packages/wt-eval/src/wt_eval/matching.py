"""Matching detections to ground truth at one IoU, and what follows from it.

The matching is COCO's greedy rule: detections in descending score order, each
takes the unmatched ground-truth box of its image (and class) with the highest
IoU at or above the threshold. Because a detection's match depends only on
detections scored above it, one matching of all detections gives the true
positives at every score threshold: precision, recall and F1 against the
threshold come from cumulative sums.

Precision, recall and F1 here are at a score threshold (a count a user can
check by hand); the COCO metrics (mAP) come from the COCO evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _pair_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, :2], b[:, :2])
    rb = np.minimum(a[:, 2:], b[:, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=1)
    union = (a[:, 2:] - a[:, :2]).prod(axis=1) + (b[:, 2:] - b[:, :2]).prod(axis=1) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def same_key_pairs(d_key: np.ndarray, g_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (detection, ground truth) index pair with the same key, without a loop."""
    if len(d_key) == 0 or len(g_key) == 0:
        e = np.zeros(0, np.int64)
        return e, e
    order = np.argsort(g_key, kind="stable")
    gk = g_key[order]
    start = np.searchsorted(gk, d_key, "left")
    count = np.searchsorted(gk, d_key, "right") - start
    total = int(count.sum())
    di = np.repeat(np.arange(len(d_key)), count)
    offs = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    return di, order[np.repeat(start, count) + offs]


def candidate_pairs(d_key: np.ndarray, d_xyxy: np.ndarray, g_key: np.ndarray, g_xyxy: np.ndarray,
                    iou: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (detection, ground truth) pairs with the same key (image, or image and class) and IoU >= `iou`."""
    di, gi = same_key_pairs(d_key, g_key)
    if len(di) == 0:
        return di, gi, np.zeros(0)
    ious = _pair_iou(d_xyxy[di], g_xyxy[gi])
    keep = ious >= iou
    return di[keep], gi[keep], ious[keep]


def greedy_match(n_det: int, n_gt: int, di: np.ndarray, gi: np.ndarray, ious: np.ndarray,
                 score: np.ndarray) -> np.ndarray:
    """For each detection, the index of its matched ground truth or -1 (COCO's greedy rule)."""
    match = np.full(n_det, -1, dtype=np.int64)
    if len(di) == 0:
        return match
    dc = np.bincount(di, minlength=n_det)
    gc = np.bincount(gi, minlength=n_gt)
    alone = (dc[di] == 1) & (gc[gi] == 1)  # a pair nothing competes for: matched without a loop
    match[di[alone]] = gi[alone]
    rest = np.flatnonzero(~alone)
    if len(rest):
        # by score (ties: detection order), then by IoU
        order = rest[np.lexsort((-ious[rest], di[rest], -score[di[rest]]))]
        used: set[int] = set()
        done: set[int] = set()
        for d, g in zip(di[order].tolist(), gi[order].tolist(), strict=True):
            if d in done or g in used:
                continue
            match[d] = g
            done.add(d)
            used.add(g)
    return match


def match(gt_img: np.ndarray, gt_cls: np.ndarray, gt_xyxy: np.ndarray, d_img: np.ndarray, d_cls: np.ndarray,
          d_xyxy: np.ndarray, score: np.ndarray, iou: float, class_aware: bool = True) -> np.ndarray:
    """Greedy matching of detections to ground truth; class_aware=False ignores classes."""
    if class_aware:
        n = int(max(gt_cls.max(initial=0), d_cls.max(initial=0))) + 1
        gk, dk = gt_img * n + gt_cls, d_img * n + d_cls
    else:
        gk, dk = gt_img, d_img
    di, gi, ious = candidate_pairs(dk, d_xyxy, gk, gt_xyxy, iou)
    return greedy_match(len(d_img), len(gt_img), di, gi, ious, score)


def prf(tp: float, n_pred: float, n_gt: float) -> tuple[float, float, float]:
    """Precision, recall, F1 from counts; 0 where a ratio has nothing to divide by."""
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gt if n_gt else 0.0
    f = 2 * tp / (n_pred + n_gt) if (n_pred + n_gt) else 0.0
    return p, r, f


@dataclass
class Curve:
    """Precision, recall and F1 against the score threshold (detections with score >= t are kept)."""

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    tp: np.ndarray
    n_pred: np.ndarray
    n_gt: int

    def at(self, t: float) -> tuple[float, float, float, int, int]:
        """P, R, F1, TP, FP at threshold t."""
        i = int(np.searchsorted(-self.thresholds, -t, side="right")) - 1  # last threshold >= t
        if i < 0:
            return 0.0, 0.0, 0.0, 0, 0
        tp, n = int(self.tp[i]), int(self.n_pred[i])
        p, r, f = prf(tp, n, self.n_gt)
        return p, r, f, tp, n - tp

    def best(self) -> tuple[float, float]:
        """The threshold with the highest F1 (the highest such threshold on ties) and that F1."""
        if len(self.f1) == 0:
            return 0.0, 0.0
        i = int(np.argmax(self.f1))
        return float(self.thresholds[i]), float(self.f1[i])

    def on_grid(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = [self.at(float(t))[:3] for t in grid]
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        return arr[:, 0], arr[:, 1], arr[:, 2]


def curve(score: np.ndarray, is_tp: np.ndarray, n_gt: int) -> Curve:
    """The curve over every distinct score (descending), from per-detection TP flags."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    tp = np.cumsum(is_tp[order])
    n = np.arange(1, len(s) + 1)
    last = np.r_[s[1:] != s[:-1], True] if len(s) else np.zeros(0, bool)  # end of each group of equal scores
    s, tp, n = s[last], tp[last], n[last]
    precision = tp / np.maximum(n, 1)
    recall = tp / n_gt if n_gt else np.zeros(len(tp))
    f1 = 2 * tp / np.maximum(n + n_gt, 1)
    return Curve(s, precision, recall, f1, tp, n, n_gt)


def point_pairs(d_key: np.ndarray, d_xy: np.ndarray, g_key: np.ndarray, g_xy: np.ndarray,
                radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (detection, ground truth) pairs with the same key whose points lie within `radius` pixels, and the distances."""
    di, gi = same_key_pairs(d_key, g_key)
    if len(di) == 0:
        return di, gi, np.zeros(0)
    dist = np.hypot(*(d_xy[di] - g_xy[gi]).T)
    keep = dist <= radius
    return di[keep], gi[keep], dist[keep]


def match_points(gt_img: np.ndarray, gt_cls: np.ndarray, gt_xy: np.ndarray, d_img: np.ndarray, d_cls: np.ndarray,
                 d_xy: np.ndarray, score: np.ndarray, radius: float) -> np.ndarray:
    """Point matching, the greedy rule with distance for IoU: detections by descending score, each takes the
    nearest unmatched ground-truth point of its image and class within `radius`; the matched index or -1."""
    n = int(max(gt_cls.max(initial=0), d_cls.max(initial=0))) + 1
    di, gi, dist = point_pairs(d_img * n + d_cls, d_xy, gt_img * n + gt_cls, gt_xy, radius)
    return greedy_match(len(d_img), len(gt_img), di, gi, -dist, score)
