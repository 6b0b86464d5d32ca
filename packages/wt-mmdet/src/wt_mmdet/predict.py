"""`wt-mmdet predict`: a run's detector on a dataset split or an image folder, sliced for large images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from wt_core import console, offline
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import ManifestBase, PredictionsManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.slicing import Slicing

from wt_mmdet.infer import Detector, default_slicing, read_run

log = console.get_logger("wt-mmdet")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


def dataset_images(ds, split: str) -> list[tuple[int, Path]]:
    from wt_data.dataset import image_path, load_split

    coco, root = load_split(ds, split)
    return [(im["id"], image_path(root, im)) for im in coco["images"]]


def folder_images(folder: Path) -> list[tuple[int, Path]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput("not a folder of images", folder, "images")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise BadInput("no images in this folder", folder, "images")
    return [(i + 1, p.resolve()) for i, p in enumerate(files)]


@command("wt-mmdet", "predict")
def predict(run: str, data: str | None = None, split: str = "val", images: Path | None = None,
            slicing: Slicing = default_slicing(),  # noqa: B008
            conf: float = 0.25, max_det: int = 300, imgsz: int | None = None,
            weights: Literal["best", "last"] = "best", checkpoint: Path | None = None, device: str | None = None,
            out: Path | None = None, overwrite: bool = False) -> PredictionsManifest:
    """Predict boxes with a wt-mmdet run on a dataset split or an image folder (sliced for large images).

    Writes a predictions manifest: COCO results JSON (boxes in full-image pixels, 0-based class ids).

    Args:
        run: The run manifest of wt-mmdet fit (file, directory or '-').
        data: A detection dataset manifest whose split to predict (or give --images).
        split: The split of --data to predict.
        images: A folder of images to predict instead of a dataset split.
        slicing: Tiles, overlap, batching and the merge across tiles (tile 0: whole images).
        conf: Minimum score of a box.
        max_det: Maximum boxes per image (after merging).
        imgsz: The network input size (default: the run's training size).
        weights: Which weights of the run.
        checkpoint: Other weights for the run's model: a plain state_dict (loaded weights-only) or a
            checkpoint of a wt-mmdet run.
        device: 'cpu', 'cuda', 'cuda:1' ... (default: cuda when available).
        out: The output directory (default runs/mmdet/predict/<id>).
        overwrite: Replace an existing output directory.
    """
    offline.apply()
    if isinstance(slicing, dict):
        slicing = default_slicing(**slicing)
    if (data is None) == (images is None):
        raise BadInput("give exactly one of --data (with --split) or --images", None, "data")
    if not 0 <= conf <= 1:
        raise BadInput(f"conf must be in [0, 1], got {conf}", None, "conf")
    r = read_run(run)
    ds = None
    if data is not None:
        from wt_mmdet.data import read_detect_dataset

        ds = read_detect_dataset(data)
        if split not in ds.splits:
            raise BadInput(f"no split {split!r} (splits: {', '.join(ds.splits)})", ds.path, "splits")
    todo = dataset_images(ds, split) if ds is not None else folder_images(images)
    key = split if ds is not None else "images"
    detector = Detector(r, weights=weights, checkpoint=checkpoint, imgsz=imgsz, conf=conf, max_det=max_det,
                        slicing=slicing, device=device)
    output = Output("wt-mmdet", "predict", out, overwrite=overwrite)
    results: list[dict] = []
    dets = detector.predict_files(p for _, p in todo)
    for (image_id, _), det in zip(console.progress(todo, desc=f"predicting {key}", logger=log), dets, strict=True):
        results.extend(det.coco(image_id))
    rel = f"predictions/{key}.json"
    output.path(rel).write_text(json.dumps(results))
    output.add(f"predictions.{key}", rel)
    log.info("%s: %d boxes on %d images", key, len(results), len(todo))
    details: dict = {"weights": weights if checkpoint is None else str(Path(checkpoint).resolve())}
    if ds is None:
        import cv2

        index = []
        for image_id, p in todo:
            h, w = cv2.imread(str(p), cv2.IMREAD_UNCHANGED).shape[:2]
            index.append({"id": image_id, "file_name": str(p), "width": w, "height": h})
        output.path("images.json").write_text(json.dumps(index))
        output.add("images", "images.json")
        details["image_folder"] = str(Path(images).resolve())
    rec = detector.record()
    parents: list[ManifestBase] = [r] + ([ds] if ds is not None else [])
    m = build(PredictionsManifest, id=output.id, parents=parents, task="detect", classes=list(r.classes),
              dataset_id=ds.id if ds else None, run_id=r.id, splits={key: f"predictions.{key}"},
              thresholds=rec["thresholds"], slicing=rec["slicing"], details=details)
    return output.commit(m)
