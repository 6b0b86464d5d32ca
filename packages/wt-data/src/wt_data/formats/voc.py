"""Pascal VOC: a root with Annotations/*.xml and JPEGImages/ (or a folder of XML files).

Image root when not given: JPEGImages/ beside Annotations/, else the XML folder.
Boxes are read as written (`xmin..xmax` in pixels, width = xmax - xmin), the
convention of LabelImg and CVAT exports. Classes are sorted by name.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from wt_core.errors import BadInput

from wt_data.formats.common import list_dir, need_dir
from wt_data.problems import Problems
from wt_data.raw import RawBox, RawDataset, RawImage, RawSplit


def _num(node, tag: str, file: Path, where: str) -> float:
    el = node.find(tag)
    if el is None or el.text is None:
        raise ValueError(f"missing <{tag}> in {where}")
    return float(el.text)


def parse_voc(file: Path, problems: Problems) -> RawImage | None:
    try:
        root = ET.parse(file).getroot()
    except ET.ParseError as e:
        problems.skip("malformed_xml", f"invalid XML: {e}", file, f"line {e.position[0]}")
        return None
    name = root.findtext("filename")
    if not name:
        problems.skip("missing_filename", "no <filename>", file, "filename")
        return None
    w = h = None
    size = root.find("size")
    if size is not None and size.findtext("width"):
        try:
            w, h = int(float(size.findtext("width"))), int(float(size.findtext("height") or 0))
        except ValueError:
            problems.skip("invalid_size", "size is not a number", file, "size")
            return None
        if w <= 0 or h <= 0:
            w = h = None  # some tools write 0: take the image's own size
    boxes = []
    for k, obj in enumerate(root.findall("object")):
        where = f"object[{k}]"
        label = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        if not label or bb is None:
            problems.skip("malformed_object", "an object needs a <name> and a <bndbox>", file, where)
            continue
        try:
            x0, y0, x1, y1 = (_num(bb, t, file, where) for t in ("xmin", "ymin", "xmax", "ymax"))
        except ValueError as e:
            problems.skip("invalid_box", str(e), file, f"{where}.bndbox")
            continue
        boxes.append(RawBox(label, [x0, y0, x1 - x0, y1 - y0], where=f"{file.name}: {where}.bndbox"))
    return RawImage(name, w, h, boxes=boxes, where=file.name)


def read_voc(source: Path, images: Path | None, problems: Problems, task: str = "detect") -> RawDataset:
    if task == "classify":
        raise BadInput("VOC boxes make a detect dataset", source, "task")
    need_dir(source, "VOC folder")
    ann_dir = source / "Annotations" if (source / "Annotations").is_dir() else source
    xmls = [p for p in list_dir(ann_dir) if p.suffix.lower() == ".xml"]
    if not xmls:
        raise BadInput("no .xml annotation files", ann_dir)
    raws = [r for r in (parse_voc(p, problems) for p in xmls) if r is not None]
    root = images or (ann_dir.parent / "JPEGImages" if (ann_dir.parent / "JPEGImages").is_dir() else ann_dir)
    classes = sorted({b.label for r in raws for b in r.boxes})
    return RawDataset("detect", classes, {"all": RawSplit(root.absolute(), raws, ann_dir)})
