"""`wt-data hardneg`: a dataset whose empty tiles are the ones a model mistook for animals.

A detector trained on a few positive tiles and a random sample of empty ones
learns little about the rocks, bushes and termite mounds that look like
animals. Given a model's predictions on the empty tiles of a split (from
`wt-yolo mine`, or any predictions manifest of that dataset), this keeps every
tile with an animal, and of the empty tiles those the model fired on with a
score of at least `conf` (the most confident first), up to `ratio` hard
negatives per positive tile, plus optionally `random_ratio` random empty tiles
per positive tile. The other splits are kept as they are. The counts go to the
manifest's report and `details.hard_negatives`; each hard negative's image entry
records its `hard_negative_score`.

Background photos (taken on the survey, no animal on them: bare ground, rocks,
bushes) join the pool: `cut_background` cuts them as `wt-data tile` cut the
dataset, and the tiles a model fires on compete with the split's empty tiles
for the same places. The mined split is then laid out in the output
(`images/tiles/` links to the kept tiles, `images/background/` the kept
background tiles), so one image root holds both.

No training framework is imported here: the predictions are COCO results.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from wt_core import console
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest, ManifestBase, PredictionsManifest
from wt_core.manifest_io import read_manifest
from wt_core.outputs import Output
from wt_core.predictions import ImageRef
from wt_core.ranges import NonNegative, PositiveUnit
from wt_core.readers import read_dataset

from wt_data.dataset import annotations_by_image, assemble, load_split, write_dataset

log = console.get_logger("wt-data")


def empty_images(ds: DatasetManifest, split: str) -> list[dict]:
    """The image entries of `split` that hold no box (the pool hard negatives are mined from)."""
    coco, _ = load_split(ds, split)
    boxed = annotations_by_image(coco)
    return [im for im in coco["images"] if not boxed.get(im["id"])]


def top_scores(rows: list[dict]) -> dict[int, float]:
    """The highest score of each image id in COCO results rows."""
    top: dict[int, float] = {}
    for r in rows:
        i = int(r["image_id"])
        top[i] = max(top.get(i, 0.0), float(r["score"]))
    return top


def cut_background(photos: list[ImageRef], tiling: dict | None, out_dir: Path, first_id: int) -> list[dict]:
    """The background photos cut into tiles as the dataset's were (its `details.tiling`: size, overlap or
    stride, format, padding; a dataset that was not tiled takes each photo whole), written under
    `out_dir/background/`; their COCO image entries (`background: true`), numbered from `first_id`."""
    from wt_data.tiling import cut_unit, plan_image, tile_name, tile_size

    entries: list[dict] = []
    for ph in console.progress(photos, desc="cutting the background photos", logger=log):
        image = {"file_name": ph.file_name, "width": ph.width, "height": ph.height}
        if tiling:
            size = (int(tiling["size"]), int(tiling["size"]))
            stride = tiling.get("stride")
            windows = [t.window for t in plan_image(image, [], size, float(tiling.get("overlap") or 0.0),
                                                    (stride, stride) if stride else None)]
            pad, fmt, quality = bool(tiling.get("pad_small", True)), tiling.get("image_format", "jpg"), \
                int(tiling.get("quality", 95))
        else:
            size, windows, pad, fmt, quality = (ph.width, ph.height), [(0, 0, ph.width, ph.height)], False, "jpg", 95
        unit = [(w, f"background/{tile_name(image, w, fmt)}") for w in windows]
        cut_unit((str(ph.path), unit, size, pad, quality, str(out_dir), None))
        for window, rel in unit:
            w, h = tile_size(window, size, pad)
            entries.append({"id": first_id + len(entries), "file_name": rel, "width": w, "height": h,
                            "source_image": str(ph.path), "offset": list(window[:2]), "background": True})
    return entries


def write_hard_negatives(ds: DatasetManifest, split: str, scores: dict[int, float], output: Output, *,
                         conf: float = 0.25, ratio: float | None = 1.0, random_ratio: float = 0.0, seed: int = 0,
                         parents: list[ManifestBase] = (), predicted: int | None = None,
                         details: dict[str, Any] | None = None, background: list[dict] = (),
                         background_root: Path | None = None) -> DatasetManifest:
    """Write the dataset with `split`'s empty tiles chosen by `scores` (highest score per image id).

    `background`: the entries of background tiles (from `cut_background`, under `background_root`) that
    compete with the empty tiles; those not kept are deleted."""
    coco, root = load_split(ds, split)
    boxed = annotations_by_image(coco)
    positives = [im for im in coco["images"] if boxed.get(im["id"])]
    empties = [im for im in coco["images"] if not boxed.get(im["id"])]
    fired = sorted((im for im in [*empties, *background] if scores.get(im["id"], 0.0) >= conf),
                   key=lambda im: (-scores[im["id"]], im["id"]))
    limit = len(fired) if ratio is None else math.floor(ratio * len(positives) + 1e-9)
    hard = fired[:limit]
    rest = [im for im in empties if im["id"] not in {h["id"] for h in hard}]
    random.Random(seed).shuffle(rest)
    extra = rest[:math.floor(random_ratio * len(positives) + 1e-9)]
    chosen = {im["id"] for im in hard}
    extra_ids = {im["id"] for im in extra}
    images = [im for im in coco["images"] if boxed.get(im["id"]) or im["id"] in chosen or im["id"] in extra_ids]
    images += [im for im in background if im["id"] in chosen]
    images = [{**im, "hard_negative_score": round(scores[im["id"]], 5)} if im["id"] in chosen else im for im in images]
    counts = {"tiles_positive": len(positives), "empty_tiles": len(empties),
              "empty_tiles_predicted": len(empties) if predicted is None else predicted,
              "hard_negatives_found": len(fired), "hard_negatives_kept": len(hard), "random_empty_kept": len(extra)}
    if background:
        counts |= {"background_tiles": len(background),
                   "background_found": sum(1 for im in fired if im.get("background")),
                   "background_kept": sum(1 for im in hard if im.get("background"))}
        for im in background:
            if im["id"] not in chosen:
                (background_root / im["file_name"]).unlink(missing_ok=True)
        images, root = _one_root(images, root, background_root)
    if not fired:
        log.warning("no hard negatives: the model scored none of the %d empty %s tiles at %.2f or more; the dataset "
                    "holds the %d positive tiles%s only", counts["empty_tiles_predicted"], split, conf,
                    len(positives), f" and {len(extra)} random empty tiles" if extra else "")
    else:
        log.info("%s: %d of %d empty tiles fired at >= %.2f; kept %d hard negatives (%.2f per positive tile) "
                 "and %d random empty tiles, with %d positive tiles", split, len(fired), len(empties), conf,
                 len(hard), len(hard) / max(len(positives), 1), len(extra), len(positives))
    splits: dict[str, tuple[dict, Path]] = {}
    for name in ds.splits:
        if name == split:
            splits[name] = (assemble(images, boxed, ds.classes), root)
        else:
            splits[name] = load_split(ds, name)
    tiling = (ds.details or {}).get("tiling")
    record = {"split": split, "conf": conf, "ratio": ratio, "random_ratio": random_ratio, "seed": seed, **counts}
    return write_dataset(output, task="detect", classes=list(ds.classes), splits=splits,
                         report={**ds.report, **counts}, parents=[ds, *parents],
                         details={**({"tiling": tiling} if tiling else {}), "hard_negatives": record,
                                  **(details or {})})


def _one_root(images: list[dict], root: Path, background_root: Path) -> tuple[list[dict], Path]:
    """The split's kept tiles linked under `background_root/tiles/` beside the background tiles: one root."""
    from wt_data.views import link

    out = []
    for im in images:
        if not im.get("background"):
            link(root / im["file_name"], background_root / "tiles" / im["file_name"])
            im = {**im, "file_name": f"tiles/{im['file_name']}"}
        out.append(im)
    return out, background_root


@command("wt-data", "hardneg")
def hardneg(dataset: str, predictions: str, split: str = "train", conf: PositiveUnit = 0.25,
            ratio: NonNegative | None = 1.0, random_ratio: NonNegative = 0.0, seed: int = 0, out: Path | None = None,
            overwrite: bool = False) -> DatasetManifest:
    """Keep as hard negatives the empty tiles a model fired on (from a predictions manifest of this dataset).

    Args:
        dataset: The (tiled) detection dataset manifest whose empty tiles are the pool (tile it with
            `--empty_ratio null` to mine every empty tile).
        predictions: A predictions manifest of this dataset's split (e.g. from `wt-yolo predict
            --slicing.tile 0`); `wt-yolo mine` predicts the empty tiles and writes this dataset in one step.
        split: The split to mine.
        conf: A tile is a hard negative when the model's best box on it scores at least this.
        ratio: Hard negatives kept per positive tile, the most confident first (null: all).
        random_ratio: Random empty tiles kept besides, per positive tile (seeded).
        seed: The seed of the random empty tiles.
        out: The output directory (default runs/data/hardneg/<id>).
        overwrite: Replace an existing output directory.
    """
    ds = read_dataset(dataset)
    if ds.task != "detect":
        raise BadInput(f"hard negatives need a detect dataset, this one is {ds.task}", ds.path, "task")
    if split not in ds.splits:
        raise BadInput(f"no split {split!r} (splits: {', '.join(ds.splits)})", ds.path, "splits")
    pred = read_manifest(predictions, "predictions", expect=PredictionsManifest)
    if pred.dataset_id != ds.id:
        raise BadInput(f"these predictions are of dataset {pred.dataset_id}, not {ds.id}", pred.path, "dataset_id")
    if split not in pred.splits:
        raise BadInput(f"the predictions hold no split {split!r} (they hold: {', '.join(pred.splits)})", pred.path,
                       "splits")
    rows = json.loads(pred.artifact_path(pred.splits[split]).read_text())
    output = Output("wt-data", "hardneg", out, overwrite=overwrite)
    return write_hard_negatives(ds, split, top_scores(rows), output, conf=conf, ratio=ratio,
                                random_ratio=random_ratio, seed=seed, parents=[pred],
                                details={"predictions_id": pred.id})
