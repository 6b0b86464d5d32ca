"""`wt-cls predict`: class probabilities per image, as a predictions manifest.

Each split's artifact is a JSON list in the COCO results spirit, one entry per
image: image_id, file_name, category_id (the predicted class index), label
(its name), score (its probability) and scores (every class's probability, as wt-eval reads them);
`true_category_id` is added where the dataset knows the class.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wt_core.console import get_logger
from wt_core.dask_engine import Dask
from wt_core.devices import check_device
from wt_core.errors import BadInput
from wt_core.invocation import add_input, command
from wt_core.manifest import PredictionsManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.predictions import predict_job
from wt_core.streaming import ImageAt, Shard, read_batches, read_lines

from wt_cls import __version__
from wt_cls.dataset import read_classification, split_records
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
            batch: int = 32, device: str = "cpu", out: str | None = None, overwrite: bool = False,
            resume: bool = False, shard: str | None = None, part_size: int = 256,
            dask: Dask = Dask()) -> PredictionsManifest:
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
        resume: Continue the unfinished output of the same command (same --out) after a crash or kill.
        shard: 'i/N': predict only share i of N (0-based) of each split's images, for an array job; merge
            the N outputs with `wt-eval merge`.
        part_size: Images per committed part of the results (a kill loses at most one part).
        dask: Run the job's shards as Dask tasks on a cluster (scheduler address or dask-jobqueue spec).
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
    from wt_cls.predictor import Predictor, load_module

    predictor = Predictor(load_module(ckpt, device))  # the classes and preprocessing the manifest records
    if ds is not None and predictor.classes != ds.classes:
        raise BadInput(f"the model's classes {predictor.classes} differ from the dataset's {ds.classes}",
                       ds.manifest.path, "classes")
    if shard is not None and len(work) > 1:
        raise BadInput("a shard predicts one split: give --splits with one name", None, "shard")
    Shard.parse(shard)  # refused before any output directory is made
    output = Output("wt-cls", "predict", out, overwrite=overwrite, resume=resume)
    loader = Loader(str(ckpt), device, batch)
    artifacts: dict[str, str] = {}
    extra: dict[str, Any] = {}
    for split, records in work.items():
        todo = [ClsImage(r[0], Path(r[2]), r[1], true=r[3]) for r in records]
        name, details = predict_job(output, split, todo, loader, shard=shard, dask=dask, part_size=part_size,
                                    log=log)
        artifacts[split] = name
        for k, v in details.items():
            extra[k] = {**extra.get(k, {}), **v} if isinstance(v, dict) and k != "shard" else v
        known = [r for r in read_lines(output.dir / f"records/{split}.jsonl") if "error" not in r
                 and "true_category_id" in r["results"][0]]
        if known:
            acc = sum(r["results"][0]["category_id"] == r["results"][0]["true_category_id"] for r in known) / len(known)
            log.info("%s: accuracy %.4f on the %d images with a class", split, acc, len(known))
    parents = [p for p in (run_m, ds.manifest if ds else None) if p is not None]
    m = build(PredictionsManifest, id=output.id, parents=parents, task="classify", classes=predictor.classes,
              dataset_id=ds.manifest.id if ds else None, run_id=run_m.id if run_m else None, splits=artifacts,
              details={"checkpoint": str(ckpt), "input_size": predictor.input_size, "mean": predictor.mean,
                       "std": predictor.std, "source": images or "dataset", **extra})
    return output.commit(m)


@dataclass(slots=True)
class ClsImage:
    """An image to classify: id, path, file name, and its true class where the dataset knows it."""

    id: int
    path: Path
    file_name: str
    width: int = 0
    height: int = 0
    true: int | None = None


@dataclass(frozen=True)
class Loader:
    """What loads a checkpoint's classifier for a prediction job (picklable: a Dask worker loads it once)."""

    checkpoint: str
    device: str
    batch: int

    def __call__(self):
        from wt_cls.data import load_rgb
        from wt_cls.predictor import Predictor, load_module

        predictor = Predictor(load_module(self.checkpoint, self.device))

        def records(items: Iterable[ImageAt]) -> Iterator[dict]:
            for chunk, failed in read_batches(items, lambda it: load_rgb(str(it.path)), self.batch):
                yield from failed
                if not chunk:
                    continue
                for (at, im), pred in zip(chunk, predictor.predict([im for _, im in chunk], self.batch), strict=True):
                    row = {"image_id": at.id, "file_name": at.file_name, **pred}
                    true = getattr(at.image, "true", None)  # a ClsImage's class, where the dataset knows it
                    if true is not None and true >= 0:
                        row["true_category_id"] = true
                    yield at.result([row], *im.size)

        return records
