"""`wt-eval classify`: accuracy, balanced accuracy, P/R/F1 (macro, weighted, per class), top-k, confusion matrix.

The numbers are computed with numpy from the confusion matrix (torchmetrics' conventions: a ratio
whose denominator is 0 is 0, and macro means leave out classes absent from truth and prediction).
A classification dataset's COCO file has one annotation per image (its class);
predictions are COCO-style results `{image_id, category_id, score}`, with an
optional `scores` list (one probability per class) that top-k needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from wt_core.console import get_logger, print_table
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest, EvaluationManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.readers import read_dataset, read_predictions

from wt_eval import __version__
from wt_eval.data import (
    check_pair,
    dumps,
    load_coco,
    load_predictions_rows,
    pick_split,
)

log = get_logger("wt-eval")


def labels_of(ds: DatasetManifest, split: str) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Image ids (sorted) and their class, one label per image."""
    coco, file = load_coco(ds, split)
    images = sorted(coco["images"], key=lambda im: im["id"])
    ids = np.asarray([im["id"] for im in images], dtype=np.int64)
    label = np.full(len(ids), -1, dtype=np.int64)
    for i, a in enumerate(coco["annotations"]):
        c = a.get("category_id")
        if not isinstance(c, int) or not 0 <= c < len(ds.classes):
            raise BadInput(f"category id {c!r} out of range", file, f"annotations[{i}].category_id")
        pos = int(np.searchsorted(ids, a["image_id"]))
        if pos >= len(ids) or ids[pos] != a["image_id"]:
            raise BadInput(f"annotation for unknown image id {a['image_id']}", file, f"annotations[{i}].image_id")
        if label[pos] not in (-1, c):
            raise BadInput(f"image {a['image_id']} has two classes", file, f"annotations[{i}]")
        label[pos] = c
    keep = label >= 0
    if not keep.all():
        log.warning("%d images without a class are not evaluated", int((~keep).sum()))
    return ids[keep], label[keep], [im for im, k in zip(images, keep.tolist(), strict=True) if k]


def parse_class_predictions(rows: Any, file, ids: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted class per image (in `ids` order) and the class scores (N, C) when every row has them."""
    if not isinstance(rows, list):
        raise BadInput("predictions must be a JSON list of {image_id, category_id, score}", file)
    pred = np.full(len(ids), -1, dtype=np.int64)
    scores = np.zeros((len(ids), n_classes)) if rows and all(isinstance(r, dict) and "scores" in r for r in rows) else None
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or "image_id" not in r or "category_id" not in r:
            raise BadInput("a prediction needs image_id and category_id", file, f"[{i}]")
        c = r["category_id"]
        if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < n_classes:
            raise BadInput(f"class id {c!r} out of range 0..{n_classes - 1}", file, f"[{i}].category_id")
        pos = int(np.searchsorted(ids, r["image_id"])) if isinstance(r["image_id"], int) else len(ids)
        if pos >= len(ids) or ids[pos] != r["image_id"]:
            raise BadInput(f"image id {r['image_id']!r} is not in the dataset's split", file, f"[{i}].image_id")
        if pred[pos] >= 0:
            raise BadInput(f"image {r['image_id']} is predicted twice", file, f"[{i}].image_id")
        s = r.get("score", 1.0)
        if not isinstance(s, int | float) or not np.isfinite(s) or s < 0:
            raise BadInput(f"score {s!r} is not a finite non-negative number", file, f"[{i}].score")
        pred[pos] = c
        if scores is not None:
            v = np.asarray(r["scores"], dtype=np.float64) if isinstance(r["scores"], list) else np.zeros(0)
            if v.shape != (n_classes,) or not np.isfinite(v).all():
                raise BadInput(f"scores must be {n_classes} finite numbers, one per class", file, f"[{i}].scores")
            scores[pos] = v
    if (missing := int((pred < 0).sum())) > 0:
        first = int(ids[np.argmax(pred < 0)])
        raise BadInput(f"{missing} images of the split have no prediction (first: image id {first})", file)
    return pred, scores


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (no true or no predicted item of a class scores 0, not NaN)."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def _average(score: np.ndarray, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, average: str) -> float:
    """Macro: the mean over the classes that occur (as truth or prediction); weighted: by support."""
    weights = (tp + fn).astype(np.float64) if average == "weighted" else ((tp + fp + fn) > 0).astype(np.float64)
    return float(_safe_divide(np.sum(weights * score), np.sum(weights)))


def confusion_matrix(target: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class): rows true, columns predicted."""
    return np.bincount(np.asarray(target) * n_classes + np.asarray(pred),
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def top_k_accuracy(scores: np.ndarray, target: np.ndarray, k: int) -> float:
    """The fraction of items whose true class is among the k highest scores."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == np.asarray(target)[:, None], axis=1))) if len(target) else 0.0


def classification_metrics(target: np.ndarray, pred: np.ndarray, scores: np.ndarray | None, classes: list[str],
                           top_k: int) -> tuple[dict[str, float], dict[str, dict[str, float]], np.ndarray]:
    """Multiclass metrics from the confusion matrix (rows true, columns predicted); a class with no true
    or no predicted item scores 0 where its ratio is undefined, and macro means leave out absent classes."""
    c = len(classes)
    cm = confusion_matrix(target, pred, c)
    tp = np.diag(cm).astype(np.int64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    precision, recall = _safe_divide(tp, tp + fp), _safe_divide(tp, tp + fn)
    f1 = _safe_divide(2 * tp, 2 * tp + fp + fn)
    metrics = {
        "accuracy": float(_safe_divide(tp.sum(), cm.sum())),
        "balanced_accuracy": _average(recall, tp, fp, fn, "macro"),
        "macro_precision": _average(precision, tp, fp, fn, "macro"),
        "macro_recall": _average(recall, tp, fp, fn, "macro"),
        "macro_f1": _average(f1, tp, fp, fn, "macro"),
        "weighted_precision": _average(precision, tp, fp, fn, "weighted"),
        "weighted_recall": _average(recall, tp, fp, fn, "weighted"),
        "weighted_f1": _average(f1, tp, fp, fn, "weighted"),
    }
    if scores is not None:
        for k in sorted({min(k, c) for k in (1, top_k)}):
            metrics[f"top{k}_accuracy"] = top_k_accuracy(np.asarray(scores, np.float64), target, k)
    support = np.bincount(target, minlength=c)
    per_class = {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                        "support": float(support[i])} for i, name in enumerate(classes)}
    return metrics, per_class, cm


def write_gallery(output: Output, ds: DatasetManifest, split: str, images: list[dict], target: np.ndarray,
                  pred: np.ndarray, rows: list[dict]) -> dict:
    """errors_confident.png: the most confident wrong images per (true, predicted) pair; what the manifest records."""
    from wt_eval.gallery import classification_gallery

    score = {r["image_id"]: float(r.get("score", 1.0)) for r in rows}
    confidence = np.asarray([score[im["id"]] for im in images], dtype=np.float64)
    shown = classification_gallery(output.path("errors_confident.png"), images,
                                   ds.resolve(ds.splits[split].image_root), target, pred, confidence, ds.classes)
    output.add("gallery_confident", "errors_confident.png")
    return {"wrong": shown["wrong"], "pairs": [{k: v for k, v in p.items() if k != "items"} for p in shown["pairs"]]}


@command("wt-eval", "classify", __version__)
def classify(dataset: str, predictions: str, split: str | None = None, top_k: int = 5, plots: bool = True,
             out: str | None = None, overwrite: bool = False) -> EvaluationManifest:
    """Evaluate classification predictions against a dataset split.

    Accuracy, balanced accuracy (mean per-class recall), macro and weighted
    precision, recall and F1, per class, top-k accuracy (when predictions carry
    per-class scores) and a confusion matrix (confusion.json and PNG).

    Args:
        dataset: The classification dataset manifest (a manifest.json, its directory, or '-').
        predictions: The predictions manifest (a manifest.json, its directory, or '-').
        split: The split to evaluate (default: the only split the predictions hold, else val).
        top_k: k of the top-k accuracy (also reported: top-1); capped at the number of classes.
        plots: Write the confusion matrix PNG.
        out: Output directory (default runs/eval/classify/<id>).
        overwrite: Replace an existing output directory.
    """
    if top_k < 1:
        raise BadInput(f"top_k must be at least 1, got {top_k}", None, "top_k")
    ds = read_dataset(dataset)
    pred_m = read_predictions(predictions)
    check_pair(ds, pred_m, "classify")
    split = pick_split(ds, pred_m, split)
    ids, target, images = labels_of(ds, split)
    if len(ids) == 0:
        raise BadInput(f"split {split!r} has no labelled images", ds.path, f"splits.{split}")
    rows, file = load_predictions_rows(pred_m, split)
    pred, scores = parse_class_predictions(rows, file, ids, len(ds.classes))
    output = Output("wt-eval", "classify", out, overwrite=overwrite)
    extra: dict = {}
    metrics, per_class, cm = classification_metrics(target, pred, scores, ds.classes, top_k)
    rownorm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    output.path("confusion.json").write_text(dumps({"rows": "true", "columns": "predicted", "labels": ds.classes,
                                                    "counts": cm.tolist(),
                                                    "normalised": np.round(rownorm, 6).tolist()}) + "\n")
    output.add("confusion", "confusion.json")
    if plots:
        from wt_eval import plots as plotting

        plotting.confusion(output.path("confusion_matrix.png"), ds.classes, cm, rownorm,
                           "Confusion matrix (rows normalised)", xlabel="predicted", ylabel="true")
        output.add("plot_confusion", "confusion_matrix.png")
        extra["gallery"] = write_gallery(output, ds, split, images, target, pred, rows)
        from wt_eval.report import classification_report, subtitle_of

        extra["report"] = classification_report(output.dir, metrics, per_class, subtitle_of(ds, split, pred_m))
        output.add("report", extra["report"]["file"])
    print_table("wt-eval classify", ["metric", "value"], [[k, v] for k, v in metrics.items()])
    print_table("per class", ["class", "precision", "recall", "f1", "support"],
                [[n, v["precision"], v["recall"], v["f1"], int(v["support"])] for n, v in per_class.items()])
    manifest = build(EvaluationManifest, id=output.id, parents=[ds, pred_m], task="classify", dataset_id=ds.id,
                     split=split, predictions_id=pred_m.id, metrics=metrics, per_class=per_class,
                     details={"images": len(ids), "classes": ds.classes, **extra})
    manifest = output.commit(manifest)
    if "report" in extra:
        from wt_eval.report import log_to_run

        log.info("report: %s", manifest.root / extra["report"]["file"])
        log_to_run(manifest)
    return manifest
