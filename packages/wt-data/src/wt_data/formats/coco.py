"""COCO detection JSON (any category ids; mapped to 0-based names at import).

Image root when not given: the JSON's folder, else `images/` beside it, else for
`annotations/instances_<split>.json` the folder `images/<split>/` or `<split>/` beside
`annotations/` (the first that holds the first image).

Annotations: a bbox is a box; without one, a polygon becomes its bounding box and keypoints
their point (counted); crowd regions (iscrowd=1) and RLE masks without a bbox are invalid items.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.manifest_io import load_json

from wt_data.formats.common import (
    SPLIT_ALIASES,
    first_existing_root,
    list_dir,
    need_file,
    report_splits,
)
from wt_data.problems import Problems
from wt_data.raw import RawBox, RawDataset, RawImage, RawSplit

log = get_logger("wt-data")
_IMAGE_KEYS = {"id", "file_name", "width", "height", "license", "coco_url", "flickr_url", "date_captured"}


def shape_of(a: dict, file: Path, where: str, problems: Problems) -> RawBox | None:
    """An annotation's box, or point; a polygon without a bbox becomes its bounding box, keypoints without a
    bbox their point (the mean of the labelled ones), each counted. None: skipped."""
    bbox = a.get("bbox")
    if bbox is not None:
        return RawBox("", bbox, where=f"{where}.bbox")
    kps, seg = a.get("keypoints"), a.get("segmentation")
    if isinstance(kps, list) and kps:
        try:
            pts = [(float(kps[k]), float(kps[k + 1])) for k in range(0, len(kps) - 2, 3) if float(kps[k + 2]) > 0]
        except (TypeError, ValueError):
            pts = None
        if not pts or len(kps) % 3:
            problems.skip("invalid_keypoints", f"keypoints must be [x, y, v, ...] with a labelled point, got {kps!r}",
                          file, f"{where}.keypoints")
            return None
        if len(pts) > 1:
            problems.note("converted_keypoints_to_point")
        return RawBox("", None, where=f"{where}.keypoints", point=[sum(p[0] for p in pts) / len(pts),
                                                                 sum(p[1] for p in pts) / len(pts)])
    if isinstance(seg, list) and seg:
        try:
            flat = [float(v) for poly in seg for v in poly]
        except (TypeError, ValueError):
            flat = []
        if len(flat) < 6 or len(flat) % 2:
            problems.skip("invalid_segmentation", "a polygon needs at least 3 points [x1, y1, x2, y2, ...]", file,
                          f"{where}.segmentation")
            return None
        xs, ys = flat[0::2], flat[1::2]
        problems.note("converted_segmentation_to_box")
        return RawBox("", [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)], where=f"{where}.segmentation")
    if isinstance(seg, dict):
        problems.skip("mask_without_box", "an RLE mask without a bbox (give the annotation its bbox)", file,
                      f"{where}.segmentation")
        return None
    return RawBox("", None, where=where)


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
    has_shape = False
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
        if a.get("iscrowd"):
            problems.skip("crowd_region", "a crowd region (iscrowd=1) is not one animal", file, f"{where}.iscrowd")
            continue
        box = shape_of(a, file, where, problems)
        if box is None:
            continue
        box.label = cats[a["category_id"]]
        has_shape = has_shape or box.bbox is not None or box.point is not None
        target.boxes.append(box)
    if task == "auto":
        task = "detect" if has_shape or not anns else "classify"
    if task == "classify":
        for im in images.values():
            labels = {b.label for b in im.boxes}
            if len(labels) > 1:
                problems.skip("several_labels", f"a classification image has {len(labels)} labels", file, im.where)
                im.boxes = []
            im.boxes = [RawBox(b.label, None, b.where) for b in im.boxes[:1]]
    else:
        for im in images.values():
            for b in im.boxes:
                if b.bbox is None and b.point is None:
                    problems.skip("annotation_without_box", "an annotation with no bbox, segmentation or keypoints "
                                  "in a detection dataset", file, b.where)
            im.boxes = [b for b in im.boxes if b.bbox is not None or b.point is not None]
    probe = next(iter(images.values())).file_name if images else None
    stem = file.stem.removeprefix("instances_")  # COCO's own layout (annotations/instances_train2017.json, train2017/)
    root = root if root is not None else first_existing_root(
        [file.parent, file.parent / "images", file.parent.parent / "images" / stem, file.parent.parent / stem], probe)
    return classes, RawSplit(root, list(images.values()), file), task


def split_folders(source: Path) -> dict[str, Path]:
    """A Roboflow-style export: `train/ valid/ test/` folders, each with one COCO JSON beside its images."""
    out: dict[str, Path] = {}
    for d in list_dir(source):
        name = SPLIT_ALIASES.get(d.name.lower())
        if not d.is_dir() or name is None or name == "all":
            continue
        jsons = [p for p in list_dir(d) if p.suffix == ".json"]
        preferred = [p for p in jsons if p.name == "_annotations.coco.json"]
        if len(preferred or jsons) != 1:
            raise BadInput(f"expected one COCO JSON in the split folder, found {len(jsons)}", d)
        if name in out:
            raise BadInput(f"two folders for the split {name!r}", d)
        out[name] = (preferred or jsons)[0]
    return out


def read_coco(source: Path, images: Path | None, problems: Problems, task: str = "auto") -> RawDataset:
    if source.is_dir():
        files = split_folders(source)
        if not files:
            raise BadInput("a COCO folder needs train/, valid/ or test/ folders with a COCO JSON each", source)
        classes: list[str] = []
        splits = {}
        kinds = set()
        for name, f in files.items():
            names, splits[name], kind = parse_coco(load_json(f), f, images / f.parent.name if images else f.parent,
                                                   problems, task)
            classes += [c for c in names if c not in classes]
            kinds.add(kind)
        others = [d.name for d in list_dir(source) if d.is_dir() and d.name.lower() not in SPLIT_ALIASES]
        report_splits(problems, source, {k: len(v.images) for k, v in splits.items()}, 0, "")
        if others:
            log.warning("folders that are not splits were not read: %s (%s)", ", ".join(others), source)
        return RawDataset("detect" if "detect" in kinds else kinds.pop(), classes, splits)
    need_file(source, "COCO annotation file")
    classes, split, task = parse_coco(load_json(source), source, images, problems, task)
    return RawDataset(task, classes, {"all": split})
