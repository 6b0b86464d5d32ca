"""`wt-eval detect`: COCO mAP, P/R/F1, confusion matrix and count errors of detection predictions."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Literal

import numpy as np
from wt_core.console import get_logger, print_table
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest, EvaluationManifest, ManifestBase
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.ranges import PositiveUnit, UnitInterval
from wt_core.readers import read_dataset
from wt_core.slicing import Slicing

from wt_eval import __version__
from wt_eval.data import (
    GroundTruth,
    Predictions,
    dumps,
    load_coco,
    load_ground_truth,
    read_detection_inputs,
)
from wt_eval.stitching import coverage, on_full, placements

log = get_logger("wt-eval")
GRID = np.round(np.linspace(0, 1, 101), 2)


def full_dataset_of(tiles: DatasetManifest, ref: str | None) -> DatasetManifest:
    """The dataset of whole images: the one given, else the tiled dataset's parent dataset."""
    if ref is not None:
        return read_dataset(ref)
    parent = tiles.parent("dataset")
    if parent is None:
        raise BadInput("--on full needs the dataset of whole images: this dataset has no parent dataset; "
                       "pass --full_dataset", tiles.path, "parents")
    return read_dataset(tiles.parent_path(parent))


def predictions_on_full(tiles: DatasetManifest, full: DatasetManifest, split: str, tile_pred: Predictions,
                        tile_gt: GroundTruth, slicing: Slicing) -> tuple[GroundTruth, Predictions, float]:
    """Tile predictions shifted onto the whole images and merged across tile edges."""
    coco, file = load_coco(tiles, split)
    where = placements(coco["images"], file)
    gt = load_ground_truth(full, split)
    index: dict = {}
    for i, im in enumerate(gt.images):
        index[im["id"]] = i
        index.setdefault(im.get("file_name"), i)
    img, cls, xyxy, score = on_full(tile_gt.image_ids[tile_pred.img], tile_pred.cls, tile_pred.xyxy,
                                    tile_pred.score, where, index, slicing)
    xyxy[:, 2:] -= xyxy[:, :2]
    log.info("--on full: %d tile detections became %d on %d whole images", len(tile_pred), len(score), gt.n_images)
    covered = coverage(coco["images"], gt.images)
    if covered < 0.999:
        log.warning("the tiles cover %.1f%% of the whole images (empty tiles left out at tiling?): false detections "
                    "in the rest cannot be counted", 100 * covered)
    return gt, Predictions(img, cls, xyxy, score), covered


def write_plots(out: Output, gt: GroundTruth, report) -> None:
    from wt_eval import plots
    from wt_eval.detection import normalise_columns

    labels = [*gt.classes, "background"]
    plots.confusion(out.path("confusion_matrix.png"), labels, report.confusion, normalise_columns(report.confusion),
                    "Confusion matrix (columns normalised)")
    out.add("plot_confusion", "confusion_matrix.png")
    f1 = {name: c.on_grid(GRID)[2] for name, c in report.curves.items()}
    plots.f1_curves(out.path("f1_curve.png"), GRID, f1, report.curves["all"].best())
    out.add("plot_f1", "f1_curve.png")
    if report.coco is not None:
        ap50 = {n: v.get("AP50", 0.0) for n, v in report.per_class.items()}
        plots.pr_curves(out.path("pr_curve.png"), gt.classes, report.coco.precision, report.coco.recall_thresholds, ap50)
        out.add("plot_pr", "pr_curve.png")


def write_evaluation(out: Output, gt: GroundTruth, report, plots_on: bool, dets: Predictions | None = None,
                     image_root: Path | None = None, subtitle: str = "") -> dict:
    """confusion.json, curves.json, counts.csv (per image: true, predicted, error, false positives, missed), the
    plots, the error gallery and report.html; returns what the manifest's details record of them."""
    from wt_eval.detection import confusion_doc
    from wt_eval.gallery import Errors, detection_gallery, find_errors

    out.path("confusion.json").write_text(dumps(confusion_doc(gt.classes, report.confusion)) + "\n")
    out.add("confusion", "confusion.json")
    curves = {"thresholds": GRID.tolist()}
    for name, c in report.curves.items():
        p, r, f = c.on_grid(GRID)
        curves[name] = {"precision": np.round(p, 6).tolist(), "recall": np.round(r, 6).tolist(),
                        "f1": np.round(f, 6).tolist()}
    out.path("curves.json").write_text(dumps(curves) + "\n")
    out.add("curves", "curves.json")
    m = report.metrics
    errors = find_errors(gt, dets, m["score_threshold"], m["iou_threshold"]) if dets is not None else None
    table = errors.per_image.tolist() if errors else report.counts.tolist()
    columns = Errors.columns if errors else ["true", "predicted"]
    with out.path("counts.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image_id", "file_name", *columns])
        for im, row in zip(gt.images, table, strict=True):
            w.writerow([im["id"], im.get("file_name", ""), *row])
    out.add("counts", "counts.csv")
    details: dict = {"per_image": {"columns": ["image_id", *columns],
                                   "rows": [[im["id"], *row] for im, row in zip(gt.images, table, strict=True)]}}
    if plots_on:
        write_plots(out, gt, report)
        if errors is not None and image_root is not None:
            shown = detection_gallery(out.dir, gt, dets, errors, image_root, m["score_threshold"])
            for name in shown:
                out.add(f"gallery_{name.removeprefix('errors_').removesuffix('.png')}", name)
            details["gallery"] = {name: {"count": g["count"], "shown": g["shown"]} for name, g in shown.items()}
            from wt_eval.report import detection_report

            details["report"] = detection_report(out.dir, gt, dets, errors, image_root, m, report.per_class, subtitle)
            out.add("report", details["report"]["file"])
    return details


def show(report, classes: list[str]) -> None:
    m = report.metrics
    print_table("wt-eval detect", ["metric", "value"],
                [[k, m[k]] for k in ("mAP", "mAP50", "mAP75", "precision", "recall", "f1", "best_f1",
                                     "best_f1_threshold", "count_mae", "count_bias") if k in m])
    rows = [[n, v.get("AP", "-"), v.get("AP50", "-"), v["precision"], v["recall"], v["f1"], int(v["gt"])]
            for n, v in report.per_class.items()]
    print_table("per class", ["class", "AP", "AP50", "P", "R", "F1", "gt"], rows)


@command("wt-eval", "detect", __version__)
def detect(dataset: str, predictions: str, split: str | None = None, conf: UnitInterval = 0.25, iou: PositiveUnit = 0.5,
           on: Literal["images", "full"] = "images", full_dataset: str | None = None,
           slicing: Slicing = Slicing(),
           max_det: int = 100, plots: bool = True, out: str | None = None,
           overwrite: bool = False, match: Literal["boxes", "points"] = "boxes",
           radius: float = 20.0) -> EvaluationManifest:
    """Evaluate detection predictions against a dataset split.

    COCO mAP@[.5:.95], mAP50, mAP75, by size and AR (faster-coco-eval); precision,
    recall and F1 at a score threshold and IoU, and the threshold that maximises
    F1; a confusion matrix with background; count errors per image. Writes an
    evaluation manifest with confusion.json, curves.json, counts.csv and PNG plots.

    Args:
        dataset: The dataset manifest the predictions were made on (a manifest.json, its directory, or '-').
        predictions: The predictions manifest (a manifest.json, its directory, or '-').
        split: The split to evaluate (default: the only split the predictions hold, else val).
        conf: Score threshold for precision, recall, F1, the confusion matrix and counts.
        iou: IoU at which a detection matches a ground-truth box (for P/R/F1 and the confusion matrix).
        on: images: evaluate on the images the predictions were made on; full: the predictions were made on
            tiles, so shift them onto the whole images, merge duplicates across tile edges and evaluate
            against the whole images' ground truth.
        full_dataset: With --on full, the dataset of whole images (default: the tiled dataset's parent).
        slicing: With --on full, how duplicates across tile edges are merged: slicing.merge, merge_iou and
            merge_metric, as in a sliced predict (the tiles themselves are the dataset's: tile, overlap and
            batch are not used).
        max_det: COCO's maximum detections per image and class (100 as in COCO; whole survey images with
            more animals need more).
        plots: Write PNG plots (PR curves, confusion matrix, F1 against threshold).
        out: Output directory (default runs/eval/detect/<id>).
        overwrite: Replace an existing output directory.
        match: boxes: by IoU (COCO); points: a predicted box's centre matches a ground-truth point (or box
            centre) of its class within --radius pixels, HerdNet's way (P, R, F1, count error per image and class).
        radius: With --match points, the distance in pixels within which a centre matches a point.
    """
    from wt_eval.detection import evaluate_detection

    if match == "points":
        return detect_points(dataset, predictions, split, conf, radius, out, overwrite, plots)

    if max_det < 10:
        raise BadInput(f"max_det must be at least 10 (COCO also reports AR at 1 and 10), got {max_det}",
                       None, "max_det")
    t0, c0 = time.perf_counter(), time.process_time()
    inputs = read_detection_inputs(dataset, predictions, split)
    ds, pred, split, gt, rows, dets = (inputs.dataset, inputs.predictions, inputs.split, inputs.gt, inputs.rows,
                                       inputs.dets)
    del inputs
    parents: list[ManifestBase] = [ds, pred]
    evaluated = ds
    extra: dict = {}
    if on == "full":
        evaluated = full_dataset_of(ds, full_dataset)
        if evaluated.task != "detect" or list(evaluated.classes) != list(ds.classes):
            raise BadInput("the full dataset must be a detection dataset with the same classes", evaluated.path,
                           "classes")
        if split not in evaluated.splits:
            raise BadInput(f"no split {split!r} in the full dataset", evaluated.path, "splits")
        gt, dets, extra["tile_coverage"] = predictions_on_full(ds, evaluated, split, dets, gt, slicing)
        extra["merge"] = {k: v for k, v in slicing.record().items() if k.startswith("merge")}
        rows = None
        parents = [evaluated, ds, pred]
    output = Output("wt-eval", "detect", out, overwrite=overwrite)
    t1, c1 = time.perf_counter(), time.process_time()
    report = evaluate_detection(gt, dets, score=conf, iou=iou, results=rows, max_dets=max_det)
    t2, c2 = time.perf_counter(), time.process_time()
    del rows
    for note in report.notes:
        log.warning(note)
    from wt_eval.report import log_to_run, subtitle_of

    extra.update(write_evaluation(output, gt, report, plots, dets, evaluated.resolve(evaluated.splits[split].image_root),
                                  subtitle_of(evaluated, split, pred)))
    log.debug("timing (wall/cpu s): read and check %.2f/%.2f, metrics %.2f/%.2f, files and plots %.2f/%.2f",
              t1 - t0, c1 - c0, t2 - t1, c2 - c1, time.perf_counter() - t2, time.process_time() - c2)
    show(report, gt.classes)
    manifest = build(EvaluationManifest, id=output.id, parents=parents, task="detect", dataset_id=evaluated.id,
                     split=split, predictions_id=pred.id, metrics=report.metrics, per_class=report.per_class,
                     details={"on": on, "images": gt.n_images, "boxes": int(len(gt.cls)), "predictions": len(dets),
                              "classes": gt.classes, "thresholds": pred.thresholds, "slicing": pred.slicing, **extra})
    manifest = output.commit(manifest)
    if "report" in extra:
        log.info("report: %s", manifest.root / extra["report"]["file"])
        log_to_run(manifest)
    return manifest


def detect_points(dataset: str, predictions: str, split: str | None, conf: float, radius: float, out: str | None,
                  overwrite: bool, plots: bool = True) -> EvaluationManifest:
    """`--match points`: predicted centres against ground-truth points within a radius."""
    from wt_eval.points import evaluate_points, read_point_inputs, write_rows

    if not radius > 0:
        raise BadInput(f"radius must be a positive number of pixels, got {radius}", None, "radius")
    ds, pred, split, gt, dets = read_point_inputs(dataset, predictions, split)
    output = Output("wt-eval", "detect", out, overwrite=overwrite)
    result = evaluate_points(gt, dets, conf, radius)
    write_rows(output.path("points_per_image.csv"), result["rows"])
    output.add("points_per_image", "points_per_image.csv")
    m = result["metrics"]
    details: dict = {}
    if plots:
        from wt_eval.report import detection_report, log_to_run, subtitle_of

        details["report"] = detection_report(output.dir, gt, dets, result["errors"],
                                             ds.resolve(ds.splits[split].image_root), m, result["per_class"],
                                             subtitle_of(ds, split, pred), title="Point evaluation")
        output.add("report", details["report"]["file"])
    print_table(f"wt-eval detect --match points (radius {radius:g} px)", ["metric", "value"],
                [[k, m[k]] for k in ("precision", "recall", "f1", "tp", "fp", "fn", "count_mae", "count_bias")])
    print_table("per class", ["class", "P", "R", "F1", "gt", "count_mae"],
                [[n, v["precision"], v["recall"], v["f1"], int(v["gt"]), v["count_mae"]]
                 for n, v in result["per_class"].items()])
    manifest = build(EvaluationManifest, id=output.id, parents=[ds, pred], task="detect", dataset_id=ds.id, split=split,
                     predictions_id=pred.id, metrics=m, per_class=result["per_class"],
                     details={"match": "points", "radius": radius, "images": gt.n_images, "points": int(len(gt.cls)),
                              "predictions": len(dets), "classes": gt.classes, "thresholds": pred.thresholds,
                              **details})
    manifest = output.commit(manifest)
    if details:
        log.info("report: %s", manifest.root / details["report"]["file"])
        log_to_run(manifest)
    return manifest
