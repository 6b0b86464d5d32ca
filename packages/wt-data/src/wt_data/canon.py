"""From what a reader parsed to canonical COCO: class mapping, metadata, image and box checks.

Shared by `import` (which writes the result) and `validate` (which only reports).
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wt_core.errors import BadInput

from wt_data.dataset import coco_doc
from wt_data.imaging import Check, escapes_root, inspect_many
from wt_data.problems import Problems
from wt_data.raw import RawDataset, RawImage

RESERVED = {"id", "file_name", "width", "height", "source_image", "source_id", "offset", "exif_orientation"}


@dataclass
class ClassMap:
    """How foreign classes become ours."""

    map: list[str] = field(default_factory=list)
    """Renames and merges as `old=new` (two olds to one new merge them; `old=` drops it)."""
    drop: list[str] = field(default_factory=list)
    """Classes to drop (their boxes are counted in the report as dropped_by_mapping)."""
    order: list[str] = field(default_factory=list)
    """The final class list in this order (default: the source order, merged names where they first appear)."""


@dataclass
class Metadata:
    """Per-image metadata kept for grouped splits (site, flight, camera)."""

    pattern: str | None = None
    """A regular expression with named groups searched in each image path, e.g. `(?P<site>site\\d+)/`."""
    csv: Path | None = None
    """A CSV whose first column is the image path (as annotated, relative to the CSV, or the base name); other columns become fields."""
    exif_gps: bool = False
    """Read GPS latitude/longitude from EXIF when present (fields lat, lon)."""


def mapping_table(cm: ClassMap, classes: list[str]) -> dict[str, str | None]:
    """Foreign name to our name (None: dropped). Refuses a class mapped twice or a mapping of an unknown class."""
    table: dict[str, str | None] = {c: c for c in classes}
    seen: set[str] = set()
    for i, item in enumerate(cm.map):
        if "=" not in item:
            raise BadInput(f"a class mapping is written old=new, got {item!r}", None, f"classes.map[{i}]")
        old, new = (s.strip() for s in item.split("=", 1))
        if old in seen:
            raise BadInput(f"class {old!r} is mapped twice", None, f"classes.map[{i}]")
        if old not in table:
            raise BadInput(f"cannot map unknown class {old!r} (classes: {', '.join(classes)})", None, f"classes.map[{i}]")
        seen.add(old)
        table[old] = new or None
    for i, name in enumerate(cm.drop):
        if name not in table:
            raise BadInput(f"cannot drop unknown class {name!r} (classes: {', '.join(classes)})", None, f"classes.drop[{i}]")
        if name in seen:
            raise BadInput(f"class {name!r} is both mapped and dropped", None, f"classes.drop[{i}]")
        table[name] = None
    return table


def final_classes(cm: ClassMap, classes: list[str], table: dict[str, str | None]) -> list[str]:
    out: list[str] = []
    for c in classes:
        new = table[c]
        if new is not None and new not in out:
            out.append(new)
    if cm.order:
        if sorted(cm.order) != sorted(out) or len(set(cm.order)) != len(cm.order):
            raise BadInput(f"--order must list each class once: {', '.join(out)}", None, "classes.order")
        out = list(cm.order)
    return out


class MetaSource:
    def __init__(self, meta: Metadata):
        self.pattern = None
        if meta.pattern:
            try:
                self.pattern = re.compile(meta.pattern)
            except re.error as e:
                raise BadInput(f"invalid regular expression: {e}", None, "meta.pattern") from None
            if not self.pattern.groupindex:
                raise BadInput("the pattern needs named groups, e.g. (?P<site>...)", None, "meta.pattern")
        self.rows: dict[str, dict[str, str]] = {}
        self.csv_dir: Path | None = None
        if meta.csv:
            self._read_csv(Path(meta.csv))

    def _read_csv(self, path: Path) -> None:
        try:
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
        except OSError as e:
            raise BadInput(f"cannot read: {e.strerror}", path) from None
        if not rows or len(rows[0]) < 2:
            raise BadInput("a metadata CSV needs a header with the image path and at least one field", path, "line 1")
        head = [h.strip() for h in rows[0]]
        self.csv_dir = path.parent.resolve()
        for n, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            if len(row) != len(head):
                raise BadInput(f"expected {len(head)} fields, got {len(row)}", path, f"line {n}")
            self.rows[row[0].strip()] = dict(zip(head[1:], (v.strip() for v in row[1:]), strict=True))
            self.rows.setdefault(Path(row[0].strip()).name, self.rows[row[0].strip()])
            self.rows[str((self.csv_dir / row[0].strip()).resolve())] = self.rows[row[0].strip()]

    def for_image(self, file_name: str, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.pattern and (m := self.pattern.search(file_name.replace("\\", "/")) or self.pattern.search(str(path))):
            out.update({k: v for k, v in m.groupdict().items() if v is not None})
        if self.rows:
            row = self.rows.get(file_name) or self.rows.get(str(path.resolve())) or self.rows.get(Path(file_name).name)
            if row:
                out.update(row)
        return out


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_box(bbox: list[float], w: int, h: int, tolerance: float, problems: Problems, file, where) -> list[float] | None:
    """A valid box inside the image, or None (skipped). Clips within the tolerance, or beyond it with --on-invalid clip."""
    if type(bbox) is list and len(bbox) == 4 and all(type(v) is float or type(v) is int for v in bbox) \
            and math.isfinite(bbox[0] + bbox[1] + bbox[2] + bbox[3]):  # the common case, checked quickly
        x, y, bw, bh = float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])
    elif not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(_finite(v) for v in bbox):
        problems.skip("invalid_box", f"box must be 4 finite numbers, got {bbox!r}", file, where)
        return None
    else:
        x, y, bw, bh = (float(v) for v in bbox)
    if bw <= 0 or bh <= 0:
        problems.skip("invalid_box", f"box has zero or negative size ({bw:g}x{bh:g})", file, where)
        return None
    over = max(-x, -y, x + bw - w, y + bh - h)
    if over > 0:
        if over > tolerance and not problems.clip(
                "box_out_of_bounds", f"box {[round(v, 2) for v in (x, y, bw, bh)]} lies {over:.1f} px beyond the {w}x{h} image "
                f"(tolerance {tolerance:g} px)", file, where):
            return None
        if over <= tolerance:
            problems.note("clipped_within_tolerance")
        x0, y0 = max(0.0, x), max(0.0, y)
        x1, y1 = min(float(w), x + bw), min(float(h), y + bh)
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            problems.note("dropped_outside_image")
            return None
        x, y, bw, bh = x0, y0, x1 - x0, y1 - y0
    return [round(x, 3), round(y, 3), round(bw, 3), round(bh, 3)]


def absolute_root(root: Path, images: list[RawImage]) -> Path:
    """The split's image root, widened to hold the absolute file names written in the source (a CSV or COCO
    naming images anywhere on disk): the paths a user wrote are taken as written, never refused."""
    import os

    root = root.absolute()
    outside = {str(Path(im.file_name).parent) for im in images
               if Path(im.file_name).is_absolute() and not Path(im.file_name).is_relative_to(root)}
    return Path(os.path.commonpath([str(root), *outside])) if outside else root


def check_point(point: list[float], w: int, h: int, tolerance: float, problems: Problems, file, where) -> list[float] | None:
    """A point inside the image (on its edge counts), or None (skipped); within the tolerance, or with
    --on_invalid clip, it is moved onto the edge (counted)."""
    if not isinstance(point, (list, tuple)) or len(point) != 2 or not all(_finite(v) for v in point):
        problems.skip("invalid_point", f"a point must be 2 finite numbers, got {point!r}", file, where)
        return None
    x, y = (float(v) for v in point)
    over = max(-x, -y, x - w, y - h)
    if over > 0:
        if over > tolerance and not problems.clip(
                "point_out_of_image", f"point ({x:g}, {y:g}) lies {over:.1f} px outside the {w}x{h} image", file, where):
            return None
        if over <= tolerance:
            problems.note("clipped_within_tolerance")
        x, y = min(max(x, 0.0), float(w)), min(max(y, 0.0), float(h))
    return [round(x, 3), round(y, 3)]


def canonicalize(raw: RawDataset, problems: Problems, *, cmap: ClassMap | None = None, meta: Metadata | None = None,
                 check: Check = "decode", tolerance: float = 2.0) -> tuple[list[str], dict[str, tuple[dict, Path]]]:
    """Map classes, attach metadata, check images and boxes; returns classes and {split: (COCO, image root)}."""
    cmap = cmap or ClassMap()
    table = mapping_table(cmap, raw.classes)
    classes = final_classes(cmap, raw.classes, table)
    index = {c: i for i, c in enumerate(classes)}
    metas = MetaSource(meta or Metadata())
    gps = bool(meta and meta.exif_gps)
    out: dict[str, tuple[dict, Path]] = {}
    split_of: dict[str, str] = {}  # an image's normalised path to the first split listing it
    for split, rs in raw.splits.items():
        root = absolute_root(Path(rs.image_root), rs.images)
        kept: list[RawImage] = []
        for im in rs.images:
            if Path(im.file_name).is_absolute():  # absolute paths as the user wrote them: the root holds them all
                im.file_name = Path(im.file_name).relative_to(root).as_posix()
            if escapes_root(im.file_name):
                problems.skip("path_escapes_root", f"file_name {im.file_name!r} climbs out of the image root {root}",
                              rs.file, im.where)
                continue
            key = os.path.normpath(root / im.file_name)  # `a/./b.jpg` and `a/b.jpg` are one image
            if key in split_of:
                if split_of[key] == split:
                    problems.skip("duplicate_image", f"image {im.file_name!r} is listed twice", rs.file, im.where)
                else:  # one check for every importer: an image may not leak from one fixed split into another
                    problems.skip("image_in_two_splits", f"image {key} is listed in both splits {split_of[key]} and "
                                  f"{split}", rs.file, im.where)
                continue
            split_of[key] = split
            kept.append(im)
        paths = [root / im.file_name for im in kept]
        needs_size = any(im.width is None for im in kept)
        infos = inspect_many(paths, check if check != "none" or not needs_size else "header", gps)
        images: list[dict] = []
        anns: list[dict] = []
        ids = [im.source_id for im in kept]
        keep_ids = all(isinstance(i, int) and not isinstance(i, bool) for i in ids) and len(set(ids)) == len(ids)
        for n, (im, path, info) in enumerate(zip(kept, paths, infos, strict=True), start=1):
            if not info.ok:
                problems.skip(info.reason or "bad_image", f"{info.error}: {path}", rs.file, im.where)
                continue
            w, h = im.width, im.height
            if info.width:
                if w is not None and (w, h) != (info.width, info.height):
                    extra = f" (EXIF orientation {info.orientation})" if info.orientation != 1 else ""
                    problems.skip("size_mismatch", f"annotated size {w}x{h} differs from the image's "
                                  f"{info.width}x{info.height}{extra}: {path}", rs.file, im.where)
                    continue
                w, h = info.width, info.height
            if w is None or h is None:
                problems.skip("missing_size", f"no width/height for {im.file_name}", rs.file, im.where)
                continue
            image_id = im.source_id if keep_ids else n
            entry: dict[str, Any] = {"id": image_id, "file_name": im.file_name, "width": int(w), "height": int(h)}
            extra_meta = {**im.meta, **metas.for_image(im.file_name, path)}
            if info.gps:
                extra_meta.setdefault("lat", info.gps[0])
                extra_meta.setdefault("lon", info.gps[1])
            entry.update({k: v for k, v in extra_meta.items() if k not in RESERVED})
            if info.orientation != 1:
                entry["exif_orientation"] = info.orientation
            img_anns: list[dict] = []
            for b in im.boxes:
                name = table.get(b.label)
                if name is None:
                    problems.note("dropped_by_mapping")
                    continue
                if b.point is not None:
                    pt = check_point(b.point, w, h, tolerance, problems, rs.file, b.where)
                    if pt is not None:
                        img_anns.append({"category_id": index[name], "point": pt, "area": 0, "iscrowd": 0})
                    continue
                if b.bbox is None:
                    img_anns.append({"category_id": index[name]})
                    continue
                bbox = [b.bbox[0] * w, b.bbox[1] * h, b.bbox[2] * w, b.bbox[3] * h] if b.normalized else b.bbox
                box = check_box(bbox, w, h, tolerance, problems, rs.file, b.where)
                if box is None:
                    continue
                img_anns.append({"category_id": index[name], "bbox": box, "area": round(box[2] * box[3], 3), "iscrowd": 0})
            if raw.task == "classify" and not img_anns:
                problems.note("dropped_by_mapping_images")
                continue
            images.append(entry)
            for a in img_anns:
                anns.append({"id": len(anns) + 1, "image_id": image_id, **a})
        out[split] = (coco_doc(images, anns, classes), root.absolute())
    return classes, out
