"""COCO detection JSON (any category ids; mapped to 0-based names at import).

Image root when not given: the JSON's folder, else `images/` beside it (the
first that holds the first image).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wt_core.errors import BadInput
from wt_core.manifest_io import load_json

from wt_data.formats.common import first_existing_root, need_file
from wt_data.problems import Problems
from wt_data.raw import RawBox, RawDataset, RawImage, RawSplit

_IMAGE_KEYS = {"id", "file_name", "width", "height", "license", "coco_url", "flickr_url", "date_captured"}


def parse_coco(data: Any, file: Path, root: Path, problems: Problems, task: str = "auto") -> tuple[list[str], RawSplit, str]:
    """Parse one COCO document; returns the class names (in id order), the split and the task."""
    if not isinstance(data, dict):
        raise BadInput("a COCO file must be a JSON object", file)
    for key in ("images", "categories"):
        if not isinstance(data.get(key), list):
            raise BadInput(f"missing or malformed {key!r} list", file, key)
    anns = data.get("annotations", [])
    if not isinstance(anns, list):
        raise BadInput("'annotations' must be a list", file, "annotations")
    cats: dict[Any, str] = {}
    for i, c in enumerate(data["categories"]):
        if not isinstance(c, dict) or "id" not in c or not isinstance(c.get("name"), str):
            raise BadInput("a category needs an id and a name", file, f"categories[{i}]")
        if c["id"] in cats:
            raise BadInput(f"duplicate category id {c['id']!r}", file, f"categories[{i}].id")
        if c["name"] in cats.values():
            raise BadInput(f"duplicate category name {c['name']!r}", file, f"categories[{i}].name")
        cats[c["id"]] = c["name"]
    order = sorted(cats, key=lambda k: (str(type(k)), k))
    classes = [cats[k] for k in order]
    images: dict[Any, RawImage] = {}
    for i, im in enumerate(data["images"]):
        where = f"images[{i}]"
        if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str):
            problems.skip("malformed_image", "an image needs an id and a file_name", file, where)
            continue
        if im["id"] in images:
            problems.skip("duplicate_image_id", f"duplicate image id {im['id']!r}", file, f"{where}.id")
            continue
        w, h = im.get("width"), im.get("height")
        if w is not None and (not isinstance(w, int) or not isinstance(h, int) or w <= 0 or h <= 0):
            problems.skip("invalid_size", f"image size must be positive integers, got {w!r}x{h!r}", file, f"{where}.width")
            continue
        meta = {k: v for k, v in im.items() if k not in _IMAGE_KEYS}
        images[im["id"]] = RawImage(im["file_name"], w, h, meta=meta, source_id=im["id"], where=where)
    has_bbox = False
    for i, a in enumerate(anns):
        where = f"annotations[{i}]"
        if not isinstance(a, dict):
            problems.skip("malformed_annotation", "an annotation must be an object", file, where)
            continue
        if a.get("category_id") not in cats:
            problems.skip("unknown_category", f"unknown category id {a.get('category_id')!r}", file, f"{where}.category_id")
            continue
        target = images.get(a.get("image_id"))
        if target is None:
            problems.skip("unknown_image", f"annotation refers to unknown image id {a.get('image_id')!r}", file,
                          f"{where}.image_id")
            continue
        bbox = a.get("bbox")
        has_bbox = has_bbox or bbox is not None
        target.boxes.append(RawBox(cats[a["category_id"]], bbox, where=f"{where}.bbox" if bbox is not None else where))
    if task == "auto":
        task = "detect" if has_bbox or not anns else "classify"
    if task == "classify":
        for im in images.values():
            labels = {b.label for b in im.boxes}
            if len(labels) > 1:
                problems.skip("several_labels", f"a classification image has {len(labels)} labels", file, im.where)
                im.boxes = []
            im.boxes = [RawBox(b.label, None, b.where) for b in im.boxes[:1]]
    probe = next(iter(images.values())).file_name if images else None
    root = root if root is not None else first_existing_root([file.parent, file.parent / "images"], probe)
    return classes, RawSplit(root, list(images.values()), file), task


def read_coco(source: Path, images: Path | None, problems: Problems, task: str = "auto") -> RawDataset:
    need_file(source, "COCO annotation file")
    classes, split, task = parse_coco(load_json(source), source, images, problems, task)
    return RawDataset(task, classes, {"all": split})
