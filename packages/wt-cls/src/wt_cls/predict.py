"""`wt-cls predict`: class probabilities per image, as a predictions manifest.

Each split's artifact is a JSON list in the COCO results spirit, one entry per
image: image_id, file_name, category_id (the predicted class index), label
(its name), score (its probability) and scores (every class's probability, as wt-eval reads them);
`true_category_id` is added where the dataset knows the class.
"""

from __future__ import annotations

import json
from pathlib import Path

from wt_core.console import get_logger, progress
from wt_core.devices import check_device
from wt_core.errors import BadInput
from wt_core.invocation import add_input, command
from wt_core.manifest import PredictionsManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output

from wt_cls import __version__
from wt_cls.dataset import check_images, read_classification, split_records
from wt_cls.evaluate import dataset_of
from wt_cls.predictor import resolve_checkpoint

log = get_logger("wt-cls")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _folder_records(folder: Path) -> list[tuple]:
    if not folder.is_dir():
        raise BadInput("image folder not found", folder, "images")
    add_input(folder, "image folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BadInput("no images in this folder", folder, "images")
    return [(i + 1, p.relative_to(folder).as_posix(), str(p), None) for i, p in enumerate(files)]


@command("wt-cls", "predict", __version__)
def predict(run: str, dataset: str | None = None, splits: list[str] | None = None, images: str | None = None,
            batch: int = 32, device: str = "cpu", out: str | None = None,
            overwrite: bool = False) -> PredictionsManifest:
    """Predict class probabilities per image for dataset splits or a folder of images.

    Args:
        run: A wt-cls run manifest (file, directory or -) or a .ckpt file.
        dataset: A classification dataset manifest (default: the run's own, unless --images is given).
        splits: Splits to predict (default: test if the dataset has one, else all).
        images: A folder of images to predict instead of a dataset (recorded as split 'images').
        batch: Images per batch.
        device: cpu, cuda or cuda:N.
        out: Output directory (default runs/cls/predict/<id>).
        overwrite: Replace an existing output directory.
    """
    check_device(device, "device")
    ref = run
    run_m, ckpt = resolve_checkpoint(ref)
    work: dict[str, list[tuple]] = {}
    ds = None
    if images:
        if dataset:
            raise BadInput("give --dataset or --images, not both", None, "images")
        work["images"] = _folder_records(Path(images).expanduser().resolve())
    else:
        ds = read_classification(dataset_of(run_m, dataset, ref))
        names = splits or (["test"] if "test" in ds.manifest.splits else list(ds.manifest.splits))
        for name in names:
            work[name] = split_records(ds.manifest, name)
    for records in work.values():
        check_images([(r[2], 0) for r in records])
    from wt_cls.predictor import Predictor, load_module

    predictor = Predictor(load_module(ckpt, device))
    if ds is not None and predictor.classes != ds.classes:
        raise BadInput(f"the model's classes {predictor.classes} differ from the dataset's {ds.classes}",
                       ds.manifest.path, "classes")
    output = Output("wt-cls", "predict", out, overwrite=overwrite)
    artifacts = {}
    for split, records in work.items():
        rows = []
        chunks = [records[i:i + batch] for i in range(0, len(records), batch)]
        for chunk in progress(chunks, desc=f"predicting {split}", logger=log):
            for rec, pred in zip(chunk, predictor.predict([r[2] for r in chunk], batch), strict=True):
                row = {"image_id": rec[0], "file_name": rec[1], **pred}
                if rec[3] is not None and rec[3] >= 0:
                    row["true_category_id"] = rec[3]
                rows.append(row)
        rel = f"predictions/{split}.json"
        output.path(rel).write_text(json.dumps(rows))
        output.add(f"predictions_{split}", rel)
        artifacts[split] = f"predictions_{split}"
        known = [r for r in rows if "true_category_id" in r]
        if known:
            acc = sum(r["category_id"] == r["true_category_id"] for r in known) / len(known)
            log.info("%s: %d images, accuracy %.4f on the %d with a class", split, len(rows), acc, len(known))
    parents = [p for p in (run_m, ds.manifest if ds else None) if p is not None]
    m = build(PredictionsManifest, id=output.id, parents=parents, task="classify", classes=predictor.classes,
              dataset_id=ds.manifest.id if ds else None, run_id=run_m.id if run_m else None, splits=artifacts,
              details={"checkpoint": str(ckpt), "input_size": predictor.input_size, "mean": predictor.mean,
                       "std": predictor.std, "source": images or "dataset"})
    return output.commit(m)
