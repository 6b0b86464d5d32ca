"""Label Studio JSON export: a list of tasks with rectangle labels (detect) or choices (classify).

Image paths: `/data/local-files/?d=<path>` is `<path>` under the image root (the
local files document root; default the JSON's folder); an upload or URL is its
base name under the image root. Coordinates are percent of `original_width` and
`original_height`. The first annotation of a task that was not cancelled is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from wt_core.errors import BadInput
from wt_core.manifest_io import load_json

from wt_data.formats.common import need_file
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


def _results(task: dict) -> list[dict]:
    for ann in task.get("annotations") or []:
        if isinstance(ann, dict) and not ann.get("was_cancelled"):
            return ann.get("result") or []
    return []


def read_labelstudio(source: Path, images: Path | None, problems: Problems, task: str = "auto") -> RawDataset:
    need_file(source, "Label Studio export")
    data = load_json(source)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise BadInput("a Label Studio export is a list of tasks", source)
    raws: list[RawImage] = []
    kinds: set[str] = set()
    for i, t in enumerate(data):
        where = f"[{i}]"
        img = (t.get("data") or {}).get("image") if isinstance(t, dict) else None
        if not isinstance(img, str) or not img:
            problems.skip("task_without_image", "task has no data.image", source, f"{where}.data.image")
            continue
        ref = image_ref(img)
        boxes: list[RawBox] = []
        w = h = None
        for k, r in enumerate(_results(t)):
            rw = f"{where}.annotations[0].result[{k}]"
            value: dict[str, Any] = r.get("value") or {}
            if r.get("type") == "choices" and value.get("choices"):
                kinds.add("classify")
                boxes.append(RawBox(str(value["choices"][0]), None, where=rw))
                continue
            if r.get("type") != "rectanglelabels":
                continue
            kinds.add("detect")
            labels = value.get("rectanglelabels") or []
            ow, oh = r.get("original_width"), r.get("original_height")
            if not labels or not ow or not oh or any(k not in value for k in ("x", "y", "width", "height")):
                problems.skip("malformed_result", "a rectangle needs x, y, width, height, a label and the original size",
                              source, rw)
                continue
            if value.get("rotation"):
                problems.skip("rotated_box", "rotated rectangles are not supported", source, f"{rw}.value.rotation")
                continue
            w, h = int(ow), int(oh)
            boxes.append(RawBox(str(labels[0]), [value["x"] * ow / 100, value["y"] * oh / 100,
                                                 value["width"] * ow / 100, value["height"] * oh / 100], where=rw))
        raws.append(RawImage(ref, w, h, boxes=boxes, source_id=t.get("id"), where=where))
    kind = task if task != "auto" else ("classify" if kinds == {"classify"} else "detect")
    if kind == "classify":
        for r in raws:
            r.boxes = [b for b in r.boxes if b.bbox is None][:1]
    else:
        for r in raws:
            r.boxes = [b for b in r.boxes if b.bbox is not None]
    classes = sorted({b.label for r in raws for b in r.boxes})
    root = images or source.parent
    return RawDataset(kind, classes, {"all": RawSplit(root.absolute(), raws, source)})
