"""report.html: the one page a person opens to look at an evaluation.

`wt-eval detect` writes it beside its manifest: the headline metrics with what
they mean, the metrics per class, the curves and the error galleries (the PNGs
the command writes), and a table with one row per photo (true count, predicted
count at the score threshold, error, false positives, missed animals), sortable
by any column, worst photo first. A row opens the photo with its boxes drawn:
true boxes green (missed ones orange, thick) just outside their outline,
detections blue (false positives red, thick) on theirs. `wt-eval classify` writes the metrics, per class and its plots.

The photos lie beside the page in `report/` (`thumbs/<image id>.jpg`, at most
THUMB pixels a side, shown in the table and loaded lazily; `photos/<image
id>.jpg`, at most PHOTO pixels a side, opened on click), so the page stays light
for thousands of photos and works from disk, without a network.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
from wt_core.console import get_logger, progress
from wt_core.errors import BadInput
from wt_core.manifest import EvaluationManifest, RunManifest
from wt_core.raster import open_image, overview

from wt_eval import report_page as hp
from wt_eval.data import GroundTruth, Predictions

log = get_logger("wt-eval")
REPORT, FOLDER = "report.html", "report"
PHOTO, THUMB = 1600, 200
# RGB: truth green (missed orange), detections blue (false positives red), as in the error galleries
TRUE, MISSED, FOUND, FALSE = (40, 200, 60), (255, 150, 0), (40, 110, 255), (220, 30, 30)

MEANING = {
    "mAP": "COCO mean average precision over IoU 0.50 to 0.95: animals found and boxes placed tightly (1 is perfect)",
    "mAP50": "average precision at IoU 0.5: animals found, boxes placed loosely (the usual survey figure)",
    "mAP75": "average precision at IoU 0.75: boxes placed tightly",
    "precision": "of the detections at the score threshold, the share that are animals",
    "recall": "of the animals, the share found at the score threshold",
    "f1": "the balance of precision and recall at the score threshold (their harmonic mean)",
    "best_f1": "the best F1 any score threshold gives",
    "best_f1_threshold": "the score threshold that gives the best F1",
    "count_mae": "per photo, the mean absolute difference between the predicted and the true count",
    "count_rmse": "per photo, the root mean square difference between the predicted and the true count",
    "count_bias": "per photo, the mean of predicted minus true count: above 0 over-counts, below 0 under-counts",
    "count_true": "animals in the ground truth",
    "count_predicted": "detections at the score threshold",
    "tp": "detections that match an animal", "fp": "detections that match none (false positives)",
    "fn": "animals no detection matches (missed)",
    "radius": "with points: the distance in pixels within which a detection's centre matches a point",
    "score_threshold": "detections scoring below it are left out of precision, recall, F1, counts and the table",
    "iou_threshold": "the overlap (IoU) at which a detection matches a true box",
    "accuracy": "the share of images given their true class",
    "balanced_accuracy": "the mean per-class recall: each class weighs the same, however rare",
    "macro_precision": "precision averaged over the classes, each weighing the same",
    "macro_recall": "recall averaged over the classes, each weighing the same",
    "macro_f1": "F1 averaged over the classes, each weighing the same",
    "weighted_f1": "F1 averaged over the classes, weighted by their number of images",
}
DETECT_HEADLINE = ("mAP50", "mAP", "mAP75", "precision", "recall", "f1", "best_f1", "best_f1_threshold", "tp", "fp",
                   "fn", "count_mae", "count_bias", "count_true", "count_predicted", "score_threshold", "iou_threshold",
                   "radius")
CLASSIFY_HEADLINE = ("accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1")
PLOTS = (("pr_curve.png", "Precision against recall per class (IoU 0.5)"),
         ("f1_curve.png", "F1 against the score threshold"),
         ("confusion_matrix.png", "Confusion matrix (with background)"))
GALLERIES = (("errors_false_positives.png", "False positives, highest score first"),
             ("errors_missed.png", "Missed animals, largest first"),
             ("errors_confident.png", "Most confident mistakes per (true, predicted) pair"))
PER_PHOTO = ["photo", "file", "true", "predicted", "error", "false positives", "missed"]


def photo_name(image_id: object) -> str:
    """The file of one photo under report/photos and report/thumbs."""
    text = str(image_id)
    return ("".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "image") + ".jpg"


@dataclass
class Drawn:
    photo: str | None
    thumb: str | None
    size: tuple[int, int] | None  # the thumbnail's width and height


COUNTS = {"count_true", "count_predicted", "gt", "support", "tp", "fp", "fn"}


def _shown(name: str, value: float) -> float | int:
    return int(value) if name in COUNTS and float(value).is_integer() else value


def headline(metrics: dict[str, float], names: tuple[str, ...]) -> str:
    rows = [(k, _shown(k, metrics[k])) for k in names if k in metrics]
    table = hp.table(["metric", "value", "what it means"],
                     [[k, v, f'<span class="m">{escape(MEANING.get(k, ""))}</span>'] for k, v in rows], raw=[2],
                     left=[0, 2])
    return table.replace('<td class="l"><span class="m">', '<td class="meaning"><span class="m">')


def per_class_table(per_class: dict[str, dict[str, float]], columns: list[str]) -> str:
    names = {"AP": "AP", "AP50": "AP50", "precision": "precision", "recall": "recall", "f1": "F1",
             "gt": "animals", "support": "images", "count_mae": "count MAE"}
    cols = [c for c in columns if any(c in v for v in per_class.values())]
    rows = [[name, *[_shown(c, v[c]) if c in v else "" for c in cols]] for name, v in per_class.items()]
    return hp.table(["class", *[names.get(c, c) for c in cols]], rows, sortable=True, left=[0])


def _boxes_drawn(pixels: np.ndarray, scale: float,
                 boxes: list[tuple[np.ndarray, tuple[int, int, int], int, bool]]) -> None:
    """Boxes (xyxy in image pixels, RGB, weight, truth?) drawn in place; a true box just outside its outline,
    so that a detection on the same animal, drawn inside, leaves both visible."""
    import cv2

    side = max(pixels.shape[:2])
    for xyxy, rgb, weight, truth in boxes:
        width = max(1, round(side / 600)) * weight
        x0, y0, x1, y1 = (np.asarray(xyxy, float) * scale).round().astype(int).tolist()
        if truth and x1 - x0 < 2 and y1 - y0 < 2:  # a point: a ring around it
            cv2.circle(pixels, (x0, y0), 4 * width + 2, rgb[::-1], width)
            continue
        if truth:
            x0, y0, x1, y1 = x0 - width, y0 - width, x1 + width, y1 + width
        cv2.rectangle(pixels, (x0, y0), (x1, y1), rgb[::-1], width)


def draw_photos(folder: Path, gt: GroundTruth, pred: Predictions, image_root: Path, score: float,
                fp: np.ndarray, missed: np.ndarray) -> list[Drawn]:
    """Each photo with its boxes drawn (report/photos) and its thumbnail (report/thumbs), in gt.images order."""
    import cv2

    (folder / "photos").mkdir(parents=True, exist_ok=True)
    (folder / "thumbs").mkdir(parents=True, exist_ok=True)
    kept = np.flatnonzero(pred.score >= score)
    false = np.zeros(len(pred.score), bool)
    false[fp] = True
    lost = np.zeros(len(gt.cls), bool)
    lost[missed] = True
    gt_of = _grouped(gt.img, gt.n_images)
    pred_of = _grouped(pred.img[kept], gt.n_images)
    gxyxy, pxyxy = gt.xyxy, pred.xyxy
    out: list[Drawn] = []
    for i, im in enumerate(progress(gt.images, desc="report photos", logger=log)):
        name = photo_name(gt.image_ids[i])
        try:
            with open_image(image_root / im["file_name"]) as src:
                pixels, scale = overview(src, PHOTO)
        except BadInput:  # the metrics need no pixels: a photo that is gone is a row without a picture
            out.append(Drawn(None, None, None))
            continue
        pixels = np.ascontiguousarray(pixels)
        boxes = [(gxyxy[j], MISSED if lost[j] else TRUE, 2 if lost[j] else 1, True) for j in gt_of[i]]
        boxes += [(pxyxy[j], FALSE if false[j] else FOUND, 2 if false[j] else 1, False) for j in kept[pred_of[i]]]
        _boxes_drawn(pixels, scale, boxes)
        cv2.imwrite(str(folder / "photos" / name), pixels, [cv2.IMWRITE_JPEG_QUALITY, 85])
        h, w = pixels.shape[:2]
        fit = min(1.0, THUMB / max(h, w))
        tw, th = max(1, round(w * fit)), max(1, round(h * fit))
        cv2.imwrite(str(folder / "thumbs" / name), cv2.resize(pixels, (tw, th), interpolation=cv2.INTER_AREA),
                    [cv2.IMWRITE_JPEG_QUALITY, 80])
        out.append(Drawn(f"{FOLDER}/photos/{name}", f"{FOLDER}/thumbs/{name}", (tw, th)))
    return out


def _grouped(img: np.ndarray, n: int) -> list[np.ndarray]:
    """Indices per image (index into `img`), in order."""
    order = np.argsort(img, kind="stable")
    bounds = np.searchsorted(img[order], np.arange(n + 1))
    return [order[bounds[i]:bounds[i + 1]] for i in range(n)]


def per_photo_table(images: list[dict], image_ids: np.ndarray, per_image: np.ndarray, drawn: list[Drawn]) -> str:
    """One row per photo, most mistakes (missed + false positives) first."""
    order = sorted(range(len(images)), key=lambda i: (-int(per_image[i, 3] + per_image[i, 4]), i))
    rows, bad = [], []
    for i in order:
        d = drawn[i]
        true, predicted, error, fp, missed = (int(v) for v in per_image[i])
        if d.thumb is not None and d.size is not None:
            thumb = (f'<a href="{escape(d.photo or "")}" target="_blank"><img class="thumb" loading="lazy" '
                     f'src="{escape(d.thumb)}" width="{d.size[0]}" height="{d.size[1]}" alt=""></a>')
        else:
            thumb = "photo not found"
        rows.append([thumb, images[i].get("file_name", ""), true, predicted, error, fp, missed])
        bad.append({k for k, v in ((4, error), (5, fp), (6, missed)) if v})
    attrs = [{"data-image-id": str(image_ids[i]), **({"data-href": photo} if (photo := drawn[i].photo) else {})}
             for i in order]
    return hp.table(PER_PHOTO, rows, sortable=True, id="photos", row_attrs=attrs, raw=[0], left=[0, 1], bad=bad)


def detection_report(directory: Path, gt: GroundTruth, pred: Predictions, errors, image_root: Path,
                     metrics: dict[str, float], per_class: dict[str, dict[str, float]], subtitle: str,
                     title: str = "Detection evaluation") -> dict:
    """Write report.html and report/ under `directory`; returns what the manifest records of it."""
    score = metrics["score_threshold"]
    drawn = draw_photos(directory / FOLDER, gt, pred, image_root, score, errors.fp, errors.missed)
    plots = [(f, c) for f, c in PLOTS if (directory / f).is_file()]
    galleries = [(f, c) for f, c in GALLERIES if (directory / f).is_file()]
    found = sum(d.photo is not None for d in drawn)
    sections = [
        hp.section("Headline", headline(metrics, DETECT_HEADLINE), id="headline"),
        hp.section("Per class", per_class_table(per_class, ["AP", "AP50", "precision", "recall", "f1", "gt",
                                                            "count_mae"]),
                   id="per-class"),
        hp.section(
            "Per photo",
            hp.para(f"{gt.n_images} photos, most mistakes first; click a header to sort, a row to open the photo "
                    f"with its boxes (detections scoring at least {score:g})."
                    + ("" if found == gt.n_images else f" {gt.n_images - found} photos were not found.")),
            hp.key([(TRUE, "true box"), (MISSED, "missed animal"), (FOUND, "detection"),
                    (FALSE, "false positive")]),
            per_photo_table(gt.images, gt.image_ids, errors.per_image, drawn), id="per-photo"),
    ]
    if plots:
        sections.insert(2, hp.section("Curves", hp.figures(plots), id="curves"))
    if galleries:
        sections.insert(3 if plots else 2, hp.section("Mistakes", hp.figures(galleries), id="galleries"))
    (directory / REPORT).write_text(hp.page(title, subtitle, sections), encoding="utf-8")
    return {"file": REPORT, "folder": FOLDER, "photos": found}


def classification_report(directory: Path, metrics: dict[str, float], per_class: dict[str, dict[str, float]],
                          subtitle: str) -> dict:
    """report.html of a classification evaluation: headline, per class, the confusion matrix and the gallery."""
    figs = [(f, c) for f, c in (("confusion_matrix.png", "Confusion matrix (rows normalised)"), GALLERIES[2])
            if (directory / f).is_file()]
    sections = [hp.section("Headline", headline(metrics, CLASSIFY_HEADLINE), id="headline"),
                hp.section("Per class", per_class_table(per_class, ["precision", "recall", "f1", "support"]),
                           id="per-class")]
    if figs:
        sections.append(hp.section("Confusion and mistakes", hp.figures(figs), id="galleries"))
    (directory / REPORT).write_text(hp.page("Classification evaluation", subtitle, sections), encoding="utf-8")
    return {"file": REPORT}


def subtitle_of(dataset, split: str, predictions) -> str:
    by = f"{predictions.producer.tool} {predictions.producer.command}".strip()
    return (f"dataset {dataset.root.name} ({dataset.id}), split {split}; predictions {predictions.root.name} "
            f"({predictions.id}{', by ' + by if by else ''})")


def run_of(manifest: EvaluationManifest) -> RunManifest | None:
    """The training run whose model made the evaluated predictions, when its manifest is at hand."""
    from wt_core.manifest_io import read_manifest

    try:
        parent = manifest.parent("predictions")
        if parent is None:
            return None
        pred = read_manifest(manifest.parent_path(parent), "predictions", hashes=False, parents=False)
        run = pred.parent("run")
        if run is None:
            return None
        found = read_manifest(pred.parent_path(run), "run", hashes=False, parents=False)
    except (BadInput, OSError):
        return None
    return found if isinstance(found, RunManifest) else None


def log_to_run(manifest: EvaluationManifest) -> str | None:
    """Log report.html, its photos and the PNGs to the MLflow run of the model evaluated (under
    evaluations/<output name>), when that run is tracked and MLflow is installed; returns the run id."""
    run = run_of(manifest)
    if run is None or run.tracking is None or importlib.util.find_spec("mlflow") is None:
        return None
    uri = run.tracking.uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return None  # the run's local tracking store is not here (the project was moved): nothing to log to
    from wt_core import offline

    where = f"evaluations/{manifest.root.name}"
    try:
        offline.apply()  # MLflow's telemetry off
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        for art in manifest.artifacts.values():
            if art.path.endswith((".html", ".png")):
                client.log_artifact(run.tracking.run_id, str(manifest.root / art.path), where)
        if (manifest.root / FOLDER).is_dir():
            client.log_artifacts(run.tracking.run_id, str(manifest.root / FOLDER), f"{where}/{FOLDER}")
    except Exception as e:  # the evaluation is written; a tracking server that fails only loses the copy
        log.warning("the report was not logged to MLflow run %s: %s", run.tracking.run_id, " ".join(str(e).split())[:200])
        return None
    log.info("report logged to MLflow run %s under %s", run.tracking.run_id, where)
    return run.tracking.run_id
