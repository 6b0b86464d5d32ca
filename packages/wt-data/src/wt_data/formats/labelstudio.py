"""Label Studio JSON export: a list of tasks with rectangle labels, key points (detect) or choices (classify).

Polygons become their bounding boxes (counted as converted_polygon_to_box); other result
kinds (brushes, ellipses, text) are invalid items. A task with no annotation yet (only
predictions) is left out and counted; `data.split` puts a task in its split.

Image paths: `/data/local-files/?d=<path>` is `<path>` under the image root (the
local files document root; default the JSON's folder); an upload or URL is its
base name under the image root. Coordinates are percent of `original_width` and
`original_height`. The first annotation of a task that was not cancelled is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from wt_core.errors import BadInput
from wt_core.manifest_io import load_json

from wt_data.formats.common import by_split, need_file, report_splits, split_name
from wt_data.problems import Problems
from wt_data.raw import RawBox, RawDataset, RawImage, RawSplit


def image_ref(url: str) -> str:
    """The path under the image root a Label Studio image URL stands for."""
    parsed = urlparse(url)
    if "d" in parse_qs(parsed.query) and parsed.path.rstrip("/").endswith("local-files"):
        return unquote(parse_qs(parsed.query)["d"][0])
    if parsed.scheme in ("http", "https", "s3", "gs") or url.startswith("/data/"):
        return Path(unquote(parsed.path)).name
    return url


def _results(task: dict) -> tuple[int, list[dict]] | None:
    """The first annotation that was not cancelled (its index and result); None when the task has none."""
    for n, ann in enumerate(task.get("annotations") or []):
        if isinstance(ann, dict) and not ann.get("was_cancelled"):
            return n, ann.get("result") or []
    return None


def _percent_box(value: dict, ow: float, oh: float) -> list[float]:
    return [value["x"] * ow / 100, value["y"] * oh / 100, value["width"] * ow / 100, value["height"] * oh / 100]


def parse_result(r: dict, rw: str, source: Path, problems: Problems) -> RawBox | None:
    """One result as a box, point or choice; polygons become their bounding box (counted); other kinds are
    counted and skipped."""
    kind = r.get("type")
    value: dict[str, Any] = r.get("value") or {}
    if kind == "choices" and value.get("choices"):
        return RawBox(str(value["choices"][0]), None, where=rw)
    ow, oh = r.get("original_width"), r.get("original_height")
    if kind not in ("rectanglelabels", "keypointlabels", "polygonlabels"):
        problems.skip("unsupported_result", f"a {kind!r} result is not a box, point or polygon", source, f"{rw}.type")
        return None
    labels = value.get(kind) or []
    keys = {"rectanglelabels": ("x", "y", "width", "height"), "keypointlabels": ("x", "y"), "polygonlabels": ("points",)}
    if not labels or not ow or not oh or any(k not in value for k in keys[kind]):
        problems.skip("malformed_result", f"a {kind} result needs {', '.join(keys[kind])}, a label and the original size",
                      source, rw)
        return None
    try:
        if kind == "keypointlabels":
            return RawBox(str(labels[0]), None, where=f"{rw}.value", point=[value["x"] * ow / 100, value["y"] * oh / 100])
        if kind == "polygonlabels":
            xs = [float(p[0]) for p in value["points"]]
            ys = [float(p[1]) for p in value["points"]]
            if len(xs) < 3:
                raise ValueError("fewer than 3 points")
            problems.note("converted_polygon_to_box")
            return RawBox(str(labels[0]), _percent_box({"x": min(xs), "y": min(ys), "width": max(xs) - min(xs),
                                                        "height": max(ys) - min(ys)}, ow, oh), where=f"{rw}.value")
    except (TypeError, ValueError, IndexError) as e:
        problems.skip("malformed_result", f"cannot read the {kind} result: {e}", source, f"{rw}.value")
        return None
    if value.get("rotation"):
        problems.skip("rotated_box", "rotated rectangles are not supported", source, f"{rw}.value.rotation")
        return None
    return RawBox(str(labels[0]), _percent_box(value, ow, oh), where=rw)


def task_image(t: Any, source: Path, where: str, problems: Problems) -> str | None:
    """The image a task shows: the absolute file our export names (wt_path) when it exists, else data.image as a
    path under the image root; None (counted) when there is no usable reference."""
    data = t.get("data") if isinstance(t, dict) else None
    if not isinstance(data, dict):
        problems.skip("task_without_image", "task has no data.image", source, f"{where}.data.image")
        return None
    if isinstance(data.get("wt_path"), str) and Path(data["wt_path"]).is_file():
        return data["wt_path"]
    img = data.get("image")
    if not isinstance(img, str) or not img.strip():
        problems.skip("task_without_image", "task has no data.image" if img in (None, "") else
                      f"task has no usable image reference (data.image is {img!r})", source, f"{where}.data.image")
        return None
    ref = image_ref(img)
    if not ref.strip() or ref.endswith("/"):
        problems.skip("task_without_image", f"no image file in the reference {img!r}", source, f"{where}.data.image")
        return None
    return ref


def read_labelstudio(source: Path, images: Path | None, problems: Problems, task: str = "auto") -> RawDataset:
    need_file(source, "Label Studio export")
    data = load_json(source)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise BadInput("a Label Studio export is a list of tasks", source)
    raws: list[RawImage] = []
    split_of: dict[int, str] = {}
    orders: set[tuple] = set()
    kinds: set[str] = set()
    for i, t in enumerate(data):
        where = f"[{i}]"
        ref = task_image(t, source, where, problems)
        if ref is None:
            continue
        found = _results(t)
        if found is None:
            problems.note("left_out_not_annotated")
            continue
        n, results = found
        boxes: list[RawBox] = []
        w = h = None
        for k, r in enumerate(results):
            b = parse_result(r, f"{where}.annotations[{n}].result[{k}]", source, problems) if isinstance(r, dict) else None
            if b is None:
                continue
            kinds.add("classify" if b.bbox is None and b.point is None else "detect")
            if b.bbox is not None or b.point is not None:
                w, h = int(r["original_width"]), int(r["original_height"])
            boxes.append(b)
        split = t["data"].get("split")
        if split not in (None, ""):
            split_of[len(raws)] = split_name(str(split), source, f"{where}.data.split")
        if isinstance(t["data"].get("wt_classes"), list):
            orders.add(tuple(t["data"]["wt_classes"]))
        meta = {k: v for k, v in t["data"].items() if k not in ("image", "split", "wt_path", "wt_image_id")
                and isinstance(v, (str, int, float))}
        sid = t["data"].get("wt_image_id", t.get("id"))
        raws.append(RawImage(ref, w, h, boxes=boxes, meta=meta, source_id=sid, where=where))
    kind = task if task != "auto" else ("classify" if kinds == {"classify"} else "detect")
    for r in raws:
        keep = [b for b in r.boxes if (b.bbox is None and b.point is None) == (kind == "classify")]
        if len(keep) != len(r.boxes):
            problems.note("dropped_other_task_results", len(r.boxes) - len(keep))
        r.boxes = keep[:1] if kind == "classify" else keep
    labels = {b.label for r in raws for b in r.boxes}
    order = [c for c in (orders.pop() if len(orders) == 1 else ()) if isinstance(c, str)]  # our export's class order
    classes = order + sorted(labels - set(order))  # every class of our export keeps its id, new labels follow
    root = (images or source.parent).absolute()
    if not images and raws and all(Path(r.file_name).is_absolute() for r in raws):  # our own export's wt_path
        root = Path(os.path.commonpath([str(Path(r.file_name).parent) for r in raws]))
    if not split_of:
        return RawDataset(kind, classes, {"all": RawSplit(root, raws, source)})
    splits = by_split(raws, split_of, root, source)
    report_splits(problems, source, {k: len(v.images) for k, v in splits.items()}, len(raws) - len(split_of),
                  "tasks with no data.split")
    return RawDataset(kind, classes, splits)
