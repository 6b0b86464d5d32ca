"""`wt-data boxes`: a box for each point annotation, of a size per class, so box detectors train on point surveys.

Sizes come from `--size elephant=80 --size zebra=40x30` (pixels; one number for a square,
a bare number for every class), or are learnt from a box-annotated dataset (`--like`: the
median width and height of each class's boxes). The box is centred on the point and
clipped to the image (counted); the point stays on the annotation beside its new bbox.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from wt_core.console import get_logger, print_table
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest
from wt_core.outputs import Output
from wt_core.readers import read_dataset

from wt_data.dataset import load_split, write_dataset

log = get_logger("wt-data")


def parse_sizes(items: list[str], classes: list[str]) -> dict[str, tuple[float, float]]:
    """`name=W` or `name=WxH` (a bare `W` for every class) as {class: (w, h)}."""
    out: dict[str, tuple[float, float]] = {}
    for i, item in enumerate(items):
        name, sep, value = str(item).rpartition("=")
        try:
            w, _, h = value.lower().partition("x")
            size = (float(w), float(h or w))
        except ValueError:
            raise BadInput(f"a size is name=W or name=WxH in pixels, got {item!r}", None, f"size[{i}]") from None
        if not all(v > 0 for v in size):
            raise BadInput(f"a size must be positive, got {item!r}", None, f"size[{i}]")
        targets = [name.strip()] if sep else classes
        for t in targets:
            if t not in classes:
                raise BadInput(f"unknown class {t!r} (classes: {', '.join(classes)})", None, f"size[{i}]")
            out[t] = size
    return out


def learnt_sizes(ref: str) -> dict[str, tuple[float, float]]:
    """The median box width and height of each class in a box-annotated dataset."""
    ds = read_dataset(ref)
    wh: dict[str, list[tuple[float, float]]] = {}
    for split in ds.splits:
        coco, _ = load_split(ds, split)
        for a in coco["annotations"]:
            if a.get("bbox"):
                wh.setdefault(ds.classes[a["category_id"]], []).append((a["bbox"][2], a["bbox"][3]))
    return {c: (statistics.median(w for w, _ in v), statistics.median(h for _, h in v)) for c, v in wh.items()}


def box_around(point: list[float], size: tuple[float, float], width: int, height: int) -> tuple[list[float], bool]:
    """A box of `size` centred on the point, clipped to the image; and whether it was clipped."""
    x0, y0 = point[0] - size[0] / 2, point[1] - size[1] / 2
    x1, y1 = x0 + size[0], y0 + size[1]
    cx0, cy0, cx1, cy1 = max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1)
    clipped = (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1)
    return [round(cx0, 3), round(cy0, 3), round(cx1 - cx0, 3), round(cy1 - cy0, 3)], clipped


@command("wt-data", "boxes")
def boxes(dataset: str, size: list[str] | None = None, like: str | None = None, out: Path | None = None,
          overwrite: bool = False) -> DatasetManifest:
    """Give each point annotation a box of a size per class (box detectors then train on point-annotated surveys).

    Args:
        dataset: The point-annotated dataset manifest (a manifest.json, its directory, or - for a path on stdin).
        size: Box sizes in pixels per class: `elephant=80`, `zebra=40x30`, or a bare `60` for every class.
        like: A box-annotated dataset whose median box width and height per class give the sizes (a --size wins).
        out: The output directory (default runs/data/boxes/<id>).
        overwrite: Replace an existing output directory.
    """
    ds = read_dataset(dataset)
    if ds.task != "detect":
        raise BadInput(f"boxes needs a detect dataset with points, this one is {ds.task}", ds.path, "task")
    sizes = learnt_sizes(like) if like else {}
    sizes = {c: v for c, v in sizes.items() if c in ds.classes}
    sizes.update(parse_sizes(size or [], list(ds.classes)))
    loaded = {name: load_split(ds, name) for name in ds.splits}
    present = {ds.classes[a["category_id"]] for coco, _ in loaded.values() for a in coco["annotations"]
               if a.get("point") is not None and a.get("bbox") is None}
    if not present:
        raise BadInput("the dataset has no point annotations to give boxes", ds.path, "splits")
    missing = sorted(present - sizes.keys())
    if missing:
        raise BadInput(f"no box size for {', '.join(missing)}: give --size {missing[0]}=PIXELS"
                       + (" (the --like dataset has no boxes of it)" if like else ""), None, "size")
    report = dict(ds.report)
    made = clipped = 0
    result = {}
    for name, (coco, root) in loaded.items():
        dims = {im["id"]: (im["width"], im["height"]) for im in coco["images"]}
        for a in coco["annotations"]:
            if a.get("point") is None or a.get("bbox") is not None:
                continue
            box, cut = box_around(a["point"], sizes[ds.classes[a["category_id"]]], *dims[a["image_id"]])
            a["bbox"], a["area"] = box, round(box[2] * box[3], 3)
            made += 1
            clipped += cut
        result[name] = (coco, root)
    report["points_given_boxes"] = report.get("points_given_boxes", 0) + made
    if clipped:
        report["point_boxes_clipped_at_edge"] = report.get("point_boxes_clipped_at_edge", 0) + clipped
    print_table("box size per class (px)", ["class", "width", "height"],
                [[c, round(sizes[c][0], 1), round(sizes[c][1], 1)] for c in ds.classes if c in sizes])
    output = Output("wt-data", "boxes", out, overwrite=overwrite)
    return write_dataset(output, task="detect", classes=ds.classes, splits=result, report=report, parents=[ds],
                         details={"boxes": {"sizes": {c: list(v) for c, v in sizes.items()}, "like": like}})
