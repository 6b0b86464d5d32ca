"""COCO box metrics through faster-coco-eval (the same numbers as pycocotools, several times faster).

No AP is computed here by hand: this module hands the ground truth and the
detections to the library and reads back its summary and precision table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def stat_names(max_dets: int) -> tuple[str, ...]:
    """The order of COCOeval.stats for boxes, with max detections [1, 10, max_dets]."""
    return ("mAP", "mAP50", "mAP75", "mAP_small", "mAP_medium", "mAP_large",
            "AR1", "AR10", f"AR{max_dets}", "AR_small", "AR_medium", "AR_large")


@dataclass
class CocoResult:
    stats: dict[str, float]
    """Summary metrics; -1 where COCO finds nothing to measure (no ground truth in that range)."""
    per_class: dict[int, dict[str, float]]
    """Per class id: AP, AP50, AP75 (absent for a class without ground truth)."""
    precision: np.ndarray
    """COCO's precision table [IoU thresholds, recall thresholds, classes, areas, max dets]."""
    recall_thresholds: np.ndarray


def _quiet(*args: Any, **kwargs: Any) -> None:
    return None


def class_ap(precision: np.ndarray, k: int, iou_index: int | None = None) -> float:
    """AP of class k the way COCO's summarize averages it (area all, the largest max dets); -1 when undefined."""
    p = precision[:, :, k, 0, -1] if iou_index is None else precision[iou_index, :, k, 0, -1]
    p = p[p > -1]
    return float(p.mean()) if p.size else -1.0


def evaluate(gt_coco: dict[str, Any], results: list[dict[str, Any]], max_dets: int = 100) -> CocoResult:
    """Run COCO box evaluation; `results` may be modified by the library (it adds ids and areas).

    `max_dets`: COCO keeps the best `max_dets` detections per image and class (100, COCO's own, by default);
    whole survey images with hundreds of animals need more.
    """
    from faster_coco_eval import COCO, COCOeval_faster

    gt = COCO(gt_coco, print_function=_quiet)
    dt = gt.loadRes(results) if results else gt.loadRes([])
    ev = COCOeval_faster(gt, dt, "bbox", print_function=_quiet)
    if max_dets != 100:
        ev.params.maxDets = [1, 10, max_dets]
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    names = stat_names(max_dets)
    stats = {name: float(v) for name, v in zip(names, ev.stats[:len(names)], strict=True)}
    precision = np.asarray(ev.eval["precision"])
    cat_ids = list(ev.params.catIds)
    iou_thrs = np.asarray(ev.params.iouThrs)
    i50 = int(np.argmin(np.abs(iou_thrs - 0.5)))
    i75 = int(np.argmin(np.abs(iou_thrs - 0.75)))
    per_class: dict[int, dict[str, float]] = {}
    for k, cat in enumerate(cat_ids):
        ap = class_ap(precision, k)
        if ap < 0:
            continue
        per_class[int(cat)] = {"AP": ap, "AP50": class_ap(precision, k, i50), "AP75": class_ap(precision, k, i75)}
    return CocoResult(stats, per_class, precision, np.asarray(ev.params.recThrs))
