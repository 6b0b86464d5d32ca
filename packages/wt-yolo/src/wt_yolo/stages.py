"""Training in stages: a fit that starts from a run's weights, and mining hard negatives with a run.

`wt-yolo fit --model RUN` (a run manifest, or the directory holding one) starts
from that run's best weights, and records the run as a parent; `wt-yolo mine`
predicts a dataset's empty tiles with a run and writes, through
`wt_data.hardneg`, the dataset whose empty tiles are the ones the run fired on.
So "train, mine, fine-tune" is three piped commands (see the justfile's
`stages` recipe for the original WildTrain curriculum on these pieces).
"""

from __future__ import annotations

import json
from pathlib import Path

from wt_core import console
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest, RunManifest
from wt_core.outputs import Output
from wt_core.predictions import ImageRef, folder_images
from wt_core.ranges import NonNegative, PositiveUnit
from wt_core.readers import read_detect_dataset, read_run, run_weights
from wt_core.slicing import Slicing

log = console.get_logger("wt-yolo")


def run_manifest_path(spec: str) -> Path | None:
    """The run manifest `spec` names (a manifest.json, or a directory holding one), else None."""
    p = Path(str(spec)).expanduser()
    if p.is_dir() and (p / "manifest.json").is_file():
        p = p / "manifest.json"
    if p.name != "manifest.json" or not p.is_file():
        return None
    try:
        kind = json.loads(p.read_text()).get("kind")
    except (OSError, ValueError):
        return None
    return p if kind == "run" else None


def start_from(model: str, ds: DatasetManifest) -> tuple[str, RunManifest | None]:
    """`--model` as Ultralytics takes it: a run manifest becomes its best weights (and the run a parent)."""
    path = run_manifest_path(model)
    if path is None:
        return model, None
    run = read_run(path, "yolo")
    if list(run.classes) != list(ds.classes):
        raise BadInput(f"the run was trained on classes {run.classes}, the dataset has {ds.classes}", run.path,
                       "classes")
    weights = run_weights(run)
    log.info("starting from run %s (%s)", run.id, weights)
    return str(weights), run


@command("wt-yolo", "mine")
def mine(run: str, dataset: str, split: str = "train", conf: PositiveUnit = 0.25, ratio: NonNegative | None = 1.0,
         random_ratio: NonNegative = 0.0, seed: int = 0, background: Path | None = None, imgsz: int | None = None,
         batch: int = 8, device: str | None = None, out: Path | None = None,
         overwrite: bool = False) -> DatasetManifest:
    """Predict a dataset's empty tiles with a run; write the dataset whose empty tiles are those it fired on.

    Every tile with an animal is kept; of the empty tiles, those where the run's best box scores at least
    --conf are kept as hard negatives, the most confident first, up to --ratio per positive tile. The
    counts are in the manifest (report, details.hard_negatives). Fine-tune on it with
    `wt-yolo fit --model RUN --dataset THIS`.

    Args:
        run: The run manifest (file, directory or '-').
        dataset: The (tiled) dataset whose empty tiles are mined; tile it with `--empty_ratio null` to mine
            every empty tile.
        split: The split to mine.
        conf: A tile is a hard negative when the run's best box on it scores at least this.
        ratio: Hard negatives kept per positive tile (null: all).
        random_ratio: Random empty tiles kept besides, per positive tile.
        seed: The seed of the random empty tiles.
        background: A folder of photos with no animal on them (bare ground, rocks, bushes of the survey):
            cut into tiles as the dataset was, predicted with the empty tiles, and the tiles the run fires
            on compete with them for the hard-negative places (`background_*` counts in the manifest).
        imgsz: The network input size (default: the run's training size).
        batch: Tiles per forward pass.
        device: 'cpu', '0', ... (default: Ultralytics picks).
        out: The output directory (default runs/yolo/mine/<id>).
        overwrite: Replace an existing output directory.
    """
    from wt_data.hardneg import (
        cut_background,
        empty_images,
        top_scores,
        write_hard_negatives,
    )

    r = read_run(run, "yolo")
    ds = read_detect_dataset(dataset)
    if list(r.classes) != list(ds.classes):
        raise BadInput(f"the run was trained on classes {r.classes}, the dataset has {ds.classes}", r.path, "classes")
    if split not in ds.splits:
        raise BadInput(f"no split {split!r} (splits: {', '.join(ds.splits)})", ds.path, "splits")
    from wt_data.dataset import load_split

    coco, root = load_split(ds, split)
    if coco["images"] and not any("offset" in im for im in coco["images"]):  # whole photos are no tiles
        raise BadInput("the dataset is not tiled: mine the tiles a detector trains on; tile it first "
                       f"(wt-data tile --dataset {ds.path.parent} --empty_ratio null)", ds.path, "dataset")
    if background is not None and not Path(background).expanduser().is_dir():
        raise BadInput("the background photo folder does not exist", background, "background")
    photos = folder_images(background) if background is not None else []
    todo = [ImageRef(int(im["id"]), root / im["file_name"], im["file_name"], int(im["width"]), int(im["height"]))
            for im in empty_images(ds, split)]
    output = Output("wt-yolo", "mine", out, overwrite=overwrite)
    bg_root = output.dir / "images"
    bg = cut_background(photos, (ds.details or {}).get("tiling"), bg_root,
                        first_id=max((int(im["id"]) for im in coco["images"]), default=0) + 1)
    todo += [ImageRef(im["id"], bg_root / im["file_name"], im["file_name"], im["width"], im["height"]) for im in bg]
    rows: list[dict] = []
    if todo:
        from wt_yolo.slicing import SlicedPredictor

        predictor = SlicedPredictor(run_weights(r), imgsz=imgsz or r.imgsz or 640, conf=conf,
                                    slicing=Slicing(tile=0, batch=batch), device=device)
        what = f"the empty {split} tiles" + (f" and {len(bg)} background tiles" if bg else "")
        for im, det in zip(console.progress(todo, desc=f"predicting {what}", logger=log),
                           predictor.predict_files(im.path for im in todo), strict=True):
            rows.extend(det.coco(im.id))
    else:
        log.warning("the %s split has no empty tiles to mine", split)
    output.path("predictions/empty_tiles.json").write_text(json.dumps(rows))
    output.add("predictions.empty_tiles", "predictions/empty_tiles.json")
    return write_hard_negatives(ds, split, top_scores(rows), output, conf=conf, ratio=ratio,
                                random_ratio=random_ratio, seed=seed, parents=[r], predicted=len(todo) - len(bg),
                                details={"run_id": r.id, **({"background": str(Path(background).resolve())}
                                                            if bg else {})},
                                background=bg, background_root=bg_root)
