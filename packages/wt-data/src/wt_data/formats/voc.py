"""Pascal VOC: a root with Annotations/*.xml and JPEGImages/ (or a folder of XML files).

Splits: `ImageSets/Main/{train,val,test}.txt` when present (one image stem per line); an
annotated image listed in none of them is left out and counted.

Image root when not given: JPEGImages/ beside Annotations/, else the XML folder.
Boxes are read as written (`xmin..xmax` in pixels, width = xmax - xmin), the
convention of LabelImg and CVAT exports. Classes are sorted by name.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from wt_core.console import get_logger
from wt_core.errors import BadInput

from wt_data.formats.common import SPLIT_ALIASES, list_dir, need_dir, report_splits
from wt_data.problems import Problems
from wt_data.raw import RawBox, RawDataset, RawImage, RawSplit

log = get_logger("wt-data")


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
    root = (images or (ann_dir.parent / "JPEGImages" if (ann_dir.parent / "JPEGImages").is_dir() else ann_dir)).absolute()
    sets = image_sets(ann_dir.parent / "ImageSets" / "Main")
    if not sets:
        raws = [r for r in (parse_voc(p, problems) for p in xmls) if r is not None]
        classes = sorted({b.label for r in raws for b in r.boxes})
        return RawDataset("detect", classes, {"all": RawSplit(root, raws, ann_dir)})
    by_stem = {p.stem: p for p in xmls}
    splits: dict[str, RawSplit] = {}
    listed: dict[str, str] = {}
    for name, txt in sets.items():
        ims = []
        for n, line in enumerate(txt.read_text(encoding="utf-8").splitlines(), start=1):
            stem = line.split()[0] if line.split() else ""
            if not stem:
                continue
            if stem not in by_stem:
                problems.skip("missing_image", f"{stem!r} is listed but has no annotation {stem}.xml", txt, f"line {n}")
                continue
            listed[stem] = name
            r = parse_voc(by_stem[stem], problems)
            if r is not None:
                ims.append(r)
        splits[name] = RawSplit(root, ims, txt)
    left = len(by_stem.keys() - listed.keys())
    report_splits(problems, ann_dir.parent / "ImageSets" / "Main", {k: len(v.images) for k, v in splits.items()}, left,
                  "annotated but listed in no ImageSets/Main file")
    classes = sorted({b.label for rs in splits.values() for r in rs.images for b in r.boxes})
    return RawDataset("detect", classes, splits)


def image_sets(folder: Path) -> dict[str, Path]:
    """VOC's `ImageSets/Main/{train,val,test}.txt` (trainval only when train and val are absent); the
    per-class lists (`<class>_train.txt`) repeat them and are not read."""
    if not folder.is_dir():
        return {}
    files = {p.stem.lower(): p for p in list_dir(folder) if p.suffix == ".txt" and "_" not in p.stem}
    out = {SPLIT_ALIASES[k]: p for k, p in files.items() if k in SPLIT_ALIASES and SPLIT_ALIASES[k] != "all"}
    if "trainval" in files and not ({"train", "val"} & out.keys()):
        out["train"] = files["trainval"]
    others = sorted(set(files) - {"trainval"} - set(SPLIT_ALIASES))
    if others:
        log.warning("ImageSets/Main lists that are not train, val or test were not read: %s (%s)",
                    ", ".join(others), folder)
    return out
