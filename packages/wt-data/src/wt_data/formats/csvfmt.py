"""CSV: `image_path,xmin,ymin,xmax,ymax,label` (one row per box; empty box fields for an empty
image), `image,x,y,label` (one row per point) and `path,label` for classification. An optional
`split` column puts each image in its split (train, val, test; a row with an empty split is left
out and counted); other extra columns become image metadata. Paths are relative to the image root (default the
CSV's folder). Classes are sorted by name.
"""

from __future__ import annotations

import csv
from pathlib import Path

from wt_core.errors import BadInput

from wt_data.formats.common import by_split, need_file, report_splits, split_name
from wt_data.problems import Problems
from wt_data.raw import RawBox, RawDataset, RawImage, RawSplit

BOX_COLUMNS = ["image_path", "xmin", "ymin", "xmax", "ymax", "label"]


def _rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    need_file(path, "CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise BadInput(f"cannot read CSV: {e}", path) from None
    if not rows:
        raise BadInput("empty CSV", path, "line 1")
    return [h.strip().lower() for h in rows[0]], [(n, r) for n, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]


def _complete(source: Path, head: list[str], rows: list[tuple[int, list[str]]], problems: Problems):
    """(line label, row) for each row with as many fields as the header; the others are problems."""
    for n, row in rows:
        if len(row) != len(head):
            problems.skip("wrong_field_count", f"expected {len(head)} fields, got {len(row)}", source, f"line {n}")
            continue
        yield f"line {n}", row


def read_csv_boxes(source: Path, images: Path | None, problems: Problems, task: str = "detect") -> RawDataset:
    if task == "classify":
        return read_csv_labels(source, images, problems, task)
    head, rows = _rows(source)
    points = len(head) >= 4 and head[0] in ("image", "image_path") and head[1:4] == ["x", "y", "label"]
    width = 4 if points else 6
    if not points and head[:6] != BOX_COLUMNS:
        raise BadInput(f"expected the header {','.join(BOX_COLUMNS)} (boxes) or image,x,y,label (points), got "
                       f"{','.join(head)}", source, "line 1")
    extra = [(k, h) for k, h in enumerate(head) if k >= width and h]
    by_path: dict[str, RawImage] = {}
    split_of: dict[str, str] = {}
    no_split: set[str] = set()
    for where, row in _complete(source, head, rows, problems):
        path, *coords, label = (c.strip() for c in row[:width])
        fields = {h: row[k].strip() for k, h in extra}
        split = fields.pop("split", None)
        if split is not None:
            if not split:
                no_split.add(path)
                continue
            split = split_name(split, source, f"{where}, split")
            if split_of.setdefault(path, split) != split:
                problems.skip("image_in_two_splits", f"{path!r} is in {split_of[path]} and {split}", source,
                              f"{where}, split")
                continue
        im = by_path.setdefault(path, RawImage(path, meta=fields, where=where))
        if not any(coords) and not label:
            continue  # an image with no box
        try:
            vals = [float(c) for c in coords]
        except ValueError:
            problems.skip("not_a_number", f"{'point' if points else 'box'} coordinates must be numbers, got {coords}",
                          source, where)
            continue
        if not label:
            problems.skip("missing_label", f"a {'point' if points else 'box'} needs a label", source, f"{where}, label")
            continue
        if points:
            im.boxes.append(RawBox(label, None, where=f"{where}, x", point=vals))
        else:
            x0, y0, x1, y1 = vals
            im.boxes.append(RawBox(label, [x0, y0, x1 - x0, y1 - y0], where=where))
    classes = sorted({b.label for r in by_path.values() for b in r.boxes})
    root = (images or source.parent).absolute()
    if not split_of:
        return RawDataset("detect", classes, {"all": RawSplit(root, list(by_path.values()), source)})
    raws = list(by_path.values())
    splits = by_split(raws, {i: split_of[r.file_name] for i, r in enumerate(raws) if r.file_name in split_of}, root, source)
    report_splits(problems, source, {k: len(v.images) for k, v in splits.items()}, len(no_split - split_of.keys()),
                  "rows with an empty split")
    return RawDataset("detect", classes, splits)


def read_csv_labels(source: Path, images: Path | None, problems: Problems, task: str = "classify") -> RawDataset:
    head, rows = _rows(source)
    if len(head) < 2 or head[0] not in ("path", "image_path", "file", "filename") or head[1] not in ("label", "class"):
        raise BadInput(f"expected the header path,label, got {','.join(head)}", source, "line 1")
    raws: dict[str, RawImage] = {}
    for where, row in _complete(source, head, rows, problems):
        path, label = row[0].strip(), row[1].strip()
        if not label:
            problems.skip("missing_label", "no label", source, where)
            continue
        if path in raws:
            problems.skip("duplicate_image", f"image {path!r} is listed twice", source, where)
            continue
        extra = {k: v.strip() for k, v in zip(head[2:], row[2:], strict=True) if k}
        raws[path] = RawImage(path, boxes=[RawBox(label, None, where=where)], meta=extra, where=where)
    classes = sorted({r.boxes[0].label for r in raws.values()})
    root = images or source.parent
    return RawDataset("classify", classes, {"all": RawSplit(root.absolute(), list(raws.values()), source)})
