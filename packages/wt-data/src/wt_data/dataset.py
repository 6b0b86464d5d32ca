"""Canonical datasets: one COCO JSON per split (0-based category ids) plus an image root.

`load_split` is what trainers and evaluators call; `write_dataset` is what every
wt-data command that makes a dataset ends with.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wt_core.errors import BadInput
from wt_core.manifest import DatasetManifest, DatasetSplit
from wt_core.manifest_io import build, read_manifest
from wt_core.outputs import Output
from wt_core.readers import require_boxes  # noqa: F401  (wt-data's commands import it from here)


def read_dataset(ref: str | Path | DatasetManifest) -> DatasetManifest:
    """A dataset manifest from a path, a directory, '-' or an already read manifest."""
    if isinstance(ref, DatasetManifest):
        return ref
    return read_manifest(ref, "dataset")  # type: ignore[return-value]


def split_names(ds: DatasetManifest, split: str | None) -> list[str]:
    """The splits a command works on: one named split, or all of them."""
    if split is None:
        return list(ds.splits)
    if split not in ds.splits:
        raise BadInput(f"no split {split!r} (splits: {', '.join(ds.splits)})", ds.path, "splits")
    return [split]


def selected_splits(ds: DatasetManifest, splits: list[str] | None) -> list[str]:
    """The splits named by a --splits option (each checked), or all of them."""
    return split_names(ds, None) if not splits else [n for s in splits for n in split_names(ds, s)]


def annotations_by_image(coco: dict) -> dict[Any, list[dict]]:
    """Each image id's annotations."""
    out: dict[Any, list[dict]] = {}
    for a in coco["annotations"]:
        out.setdefault(a["image_id"], []).append(a)
    return out


def load_split(ds: str | Path | DatasetManifest, split: str) -> tuple[dict[str, Any], Path]:
    """The COCO dict of one split (0-based category ids) and the absolute root its file names start from."""
    ds = read_dataset(ds)
    if split not in ds.splits:
        raise BadInput(f"no split {split!r} (splits: {', '.join(ds.splits)})", ds.path, "splits")
    s = ds.splits[split]
    coco = json.loads(ds.artifact_path(s.annotations).read_text(encoding="utf-8"))
    return coco, ds.resolve(s.image_root).absolute()


def image_path(root: Path, image: dict[str, Any]) -> Path:
    """The file of one COCO image entry."""
    return root / image["file_name"]


def coco_doc(images: list[dict], annotations: list[dict], classes: list[str], info: dict | None = None) -> dict:
    return {"info": info or {"description": "WildTrain dataset"}, "images": images, "annotations": annotations,
            "categories": [{"id": i, "name": n} for i, n in enumerate(classes)]}


def split_counts(coco: dict, n_classes: int, task: str) -> dict[str, Any]:
    """images, boxes, empty_images and per-class counts (boxes for detect, images for classify)."""
    per_class = [0] * n_classes
    with_ann: set = set()
    boxes = points = 0
    for a in coco["annotations"]:
        per_class[a["category_id"]] += 1
        with_ann.add(a["image_id"])
        if a.get("bbox") is not None:
            boxes += 1
        elif a.get("point") is not None:
            points += 1
    n = len(coco["images"])
    return {"images": n, "boxes": boxes if task == "detect" else 0,
            "empty_images": n - len(with_ann & {im["id"] for im in coco["images"]}), "per_class": per_class,
            **({"points": points} if points else {})}


def counts_line(name: str, s: DatasetSplit, unit: str = "images") -> str:
    """One split's counts for the log: boxes and points side by side (a points dataset never reads "0 boxes")."""
    return f"{name}: {s.images} {unit}, {s.boxes} boxes, {s.points} points, {s.empty_images} empty"


def relative_root(root: Path, out_dir: Path) -> str:
    """A split's image root as recorded: relative when inside the output, else absolute."""
    root = Path(root).absolute()
    try:
        return root.relative_to(out_dir.absolute()).as_posix() or "."
    except ValueError:
        return str(root.resolve())


def write_split(out: Output, name: str, coco: dict, image_root: Path, task: str) -> DatasetSplit:
    """Write `annotations/<name>.json` into the output and describe the split."""
    rel = f"annotations/{name}.json"
    p = out.path(rel)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(coco, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, p)
    art_name = f"{name}.json"
    out.add(art_name, rel)
    root = relative_root(image_root, out.dir) if Path(image_root).is_absolute() else Path(image_root).as_posix()
    n_classes = len(coco["categories"])
    return DatasetSplit(annotations=art_name, image_root=root, **split_counts(coco, n_classes, task))


def write_dataset(out: Output, *, task: str, classes: list[str], splits: dict[str, tuple[dict, Path]],
                  report: dict[str, int] | None = None, parents: list[DatasetManifest] = (),
                  details: dict[str, Any] | None = None) -> DatasetManifest:
    """Write every split's COCO JSON and commit the dataset manifest.

    `splits` maps a split name to (COCO dict, image root); a root inside the
    output directory (tiles, crops) is recorded relative to it.
    """
    if not splits or not any(c["images"] for c, _ in splits.values()):
        out.discard()
        raise BadInput("empty dataset: no images left to write", out.final)
    written = {name: write_split(out, name, coco, root, task) for name, (coco, root) in splits.items()}
    m = build(DatasetManifest, id=out.id, parents=list(parents), task=task, classes=classes, splits=written,
              report=report or {}, details=details or {})
    return out.commit(m)


def common_root(roots: list[Path]) -> Path:
    return Path(os.path.commonpath([str(r) for r in roots])) if len(set(roots)) > 1 else roots[0]


def gather(ds: DatasetManifest, splits: list[str] | None = None) -> tuple[list[dict], dict[Any, list[dict]], Path]:
    """The images of several splits as one list (file names rebased on their common root),
    with each image's annotations by image id. Image ids are renumbered when splits share some."""
    names = split_names(ds, None) if splits is None else splits
    loaded = [load_split(ds, s) for s in names]
    root = common_root([r for _, r in loaded])
    ids = [im["id"] for coco, _ in loaded for im in coco["images"]]
    renumber = len(set(ids)) != len(ids)
    images: list[dict] = []
    anns: dict[Any, list[dict]] = {}
    for coco, r in loaded:
        by_image = annotations_by_image(coco)
        prefix = r.relative_to(root).as_posix() if r != root else ""
        for im in coco["images"]:
            new = dict(im)
            if prefix:
                new["file_name"] = f"{prefix}/{im['file_name']}"
            if renumber:
                new["id"] = len(images) + 1
            images.append(new)
            anns[new["id"]] = [{**a, "image_id": new["id"]} for a in by_image.get(im["id"], [])]
    return images, anns, root


def assemble(images: list[dict], anns: dict[Any, list[dict]], classes: list[str]) -> dict:
    """A COCO dict of these images with their annotations, annotation ids renumbered."""
    out: list[dict] = []
    for im in images:
        for a in anns.get(im["id"], []):
            out.append({**a, "id": len(out) + 1})
    return coco_doc(images, out, classes)


