"""A dataset manifest as MMDetection reads it: the cached 'mmdet' COCO view.

The view (built once by `wt_core.views.ensure_view`, under `views/mmdet/` of
the dataset) holds one COCO JSON per split whose category ids are 1-based
(class i has id i + 1, name classes[i]) and whose annotation ids run from 1:
pycocotools treats id 0 as "unmatched", and MMDetection maps category ids to
labels by the class names given in `metainfo=dict(classes=...)`, so its label
i is our class id i. Image ids are the dataset's own, so predictions carry
them unchanged. File names stay relative to the split's image root, which is
resolved from the manifest when a command runs (the view holds no absolute
path: a moved dataset keeps a valid view).
"""

from __future__ import annotations

import json
from pathlib import Path

from wt_core.errors import BadInput
from wt_core.invocation import warn
from wt_core.manifest import DatasetManifest
from wt_core.readers import require_boxes

VIEW = "mmdet"


def to_mmdet_coco(coco: dict, classes: list[str]) -> dict:
    """Our canonical COCO (0-based category ids) as the view stores it (1-based, ids from 1)."""
    anns = []
    for a in coco["annotations"]:
        if a.get("bbox") is None:
            continue
        x, y, w, h = a["bbox"]
        anns.append({"id": len(anns) + 1, "image_id": a["image_id"], "category_id": int(a["category_id"]) + 1,
                     "bbox": [x, y, w, h], "area": a.get("area", w * h), "iscrowd": a.get("iscrowd", 0)})
    images = [{"id": im["id"], "file_name": im["file_name"], "width": im["width"], "height": im["height"]}
              for im in coco["images"]]
    return {"images": images, "annotations": anns,
            "categories": [{"id": i + 1, "name": n} for i, n in enumerate(classes)]}


def mmdet_view(ds: DatasetManifest) -> Path:
    """The view's directory: `<split>.json` per split."""
    from wt_core.views import ensure_view

    require_boxes(ds)

    def build(tmp: Path) -> None:
        for split, s in ds.splits.items():
            coco = json.loads(ds.artifact_path(s.annotations).read_text(encoding="utf-8"))
            (tmp / f"{split}.json").write_text(json.dumps(to_mmdet_coco(coco, ds.classes)))

    return ensure_view(ds, VIEW, build)


def split_source(ds: DatasetManifest, split: str) -> tuple[Path, Path]:
    """(view COCO JSON, absolute image root) of one split."""
    if split not in ds.splits:
        raise BadInput(f"no split {split!r} (splits: {', '.join(ds.splits)})", ds.path, "splits")
    return mmdet_view(ds) / f"{split}.json", ds.resolve(ds.splits[split].image_root).absolute()


def check_splits(ds: DatasetManifest, train: str, val: str | None) -> None:
    """The train split (picked by the harness, `Training.pick_splits`) has images; without a val split, say so."""
    if ds.splits[train].images == 0:
        raise BadInput(f"split {train!r} has no images", ds.path, f"splits.{train}")
    if val is None:
        warn(f"the dataset has no val or test split besides {train!r}: nothing is validated, so the run has no "
             "validation metrics and its best weights are its last (make a val split with wt-data split)")
