"""YOLO (Ultralytics layout): a data.yaml, or a folder holding one, or a folder with images/ and labels/.

Splits are the yaml's train/val/test entries (a folder of images or a .txt list);
splits naming the same images are read once. Labels are found the Ultralytics
way: the last `/images/` in an image path becomes `/labels/`, the suffix `.txt`.
A relative `path:` in the yaml starts from the yaml's folder.
"""

from __future__ import annotations

import math
from pathlib import Path

from wt_core.errors import BadInput

from wt_data.formats.common import image_files, list_dir, need_dir, need_file
from wt_data.problems import Problems
from wt_data.raw import RawBox, RawDataset, RawImage, RawSplit

EPS = 1e-6


def label_path(image: Path) -> Path:
    parts = image.as_posix().rsplit("/images/", 1)
    if len(parts) != 2:
        return image.with_suffix(".txt")
    return Path(f"{parts[0]}/labels/{parts[1]}").with_suffix(".txt")


def _yaml(path: Path) -> dict:
    import yaml

    need_file(path, "YOLO data.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise BadInput(f"invalid YAML: {getattr(e, 'problem', e)}", path,
                       f"line {mark.line + 1}" if mark else None) from None
    if not isinstance(data, dict):
        raise BadInput("a data.yaml must be a mapping", path)
    return data


def _names(data: dict, file: Path) -> list[str]:
    names = data.get("names")
    if isinstance(names, dict):
        keys = sorted(names)
        if keys != list(range(len(keys))):
            raise BadInput("names must be numbered 0..n-1", file, "names")
        return [str(names[k]) for k in keys]
    if isinstance(names, list) and names:
        return [str(n) for n in names]
    raise BadInput("missing or empty names", file, "names")


def _split_images(entry, base: Path, file: Path, field: str) -> list[Path]:
    items = entry if isinstance(entry, list) else [entry]
    out: list[Path] = []
    for item in items:
        p = Path(str(item))
        p = p if p.is_absolute() else base / p
        if p.is_dir():
            out += [f for f in image_files(p)]
        elif p.suffix == ".txt" and p.is_file():
            for line in p.read_text().splitlines():
                if line.strip():
                    q = Path(line.strip())
                    out.append(q if q.is_absolute() else (p.parent / q))
        else:
            raise BadInput(f"split folder or list not found: {p}", file, field)
    return out


def parse_labels(lab: Path, nc: int, names: list[str], problems: Problems) -> list[RawBox]:
    boxes: list[RawBox] = []
    try:
        lines = lab.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        problems.skip("unreadable_label", f"cannot read label file: {e}", lab)
        return boxes
    for n, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"line {n}"
        if len(parts) != 5 and (len(parts) < 7 or len(parts) % 2 == 0):
            problems.skip("wrong_field_count", f"expected 5 fields (class cx cy w h) or a polygon, got {len(parts)}", lab, where)
            continue
        try:
            cls = int(parts[0])
            vals = [float(v) for v in parts[1:]]
        except ValueError:
            problems.skip("not_a_number", f"not a number in {line.strip()!r}", lab, where)
            continue
        if not 0 <= cls < nc:
            problems.skip("unknown_category", f"class id {cls} is not in 0..{nc - 1}", lab, where)
            continue
        if not all(math.isfinite(v) and -EPS <= v <= 1 + EPS for v in vals):
            problems.skip("not_normalized", f"coordinates must be normalised to [0, 1], got {line.strip()!r}", lab, where)
            continue
        if len(parts) == 5:
            cx, cy, w, h = vals
            box = [cx - w / 2, cy - h / 2, w, h]
        else:
            xs, ys = vals[0::2], vals[1::2]
            box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        boxes.append(RawBox(names[cls], box, where=f"{lab.name}: {where}", normalized=True))
    return boxes


def read_yolo(source: Path, images: Path | None, problems: Problems, task: str = "detect") -> RawDataset:
    if task == "classify":
        raise BadInput("YOLO detection labels make a detect dataset", source, "task")
    yaml_file = source if source.suffix in (".yaml", ".yml") else None
    if yaml_file is None:
        need_dir(source, "YOLO folder")
        found = [p for p in list_dir(source) if p.suffix in (".yaml", ".yml")]
        yaml_file = found[0] if len(found) == 1 else None
    if yaml_file is not None:
        data = _yaml(yaml_file)
        names = _names(data, yaml_file)
        base = Path(str(data.get("path") or "."))
        if not base.is_absolute():
            base = yaml_file.parent / base if (yaml_file.parent / base).exists() else Path.cwd() / base
        entries = {k: data[k] for k in ("train", "val", "test") if data.get(k)}
        if not entries:
            raise BadInput("no train/val/test entry", yaml_file, "train")
        file = yaml_file
    else:
        classes_txt = source / "classes.txt"
        if not classes_txt.is_file():
            raise BadInput("no data.yaml or classes.txt in the YOLO folder", source)
        names = [n.strip() for n in classes_txt.read_text().splitlines() if n.strip()]
        base, entries, file = source, {"all": "images"}, classes_txt
    listed: dict[str, list[Path]] = {}
    seen: dict[tuple, str] = {}
    for split, entry in entries.items():
        imgs = sorted(_split_images(entry, base, file, split))
        key = tuple(imgs)
        if key in seen:
            continue
        seen[key] = split
        listed[split] = imgs
    if len(listed) == 1:
        listed = {"all": next(iter(listed.values()))}
    splits: dict[str, RawSplit] = {}
    wanted = {label_path(i) for imgs in listed.values() for i in imgs}  # a label of any split's image has its image
    checked: set[Path] = set()
    for split, imgs in listed.items():
        root = images or (Path(__import__("os").path.commonpath([str(p.parent) for p in imgs])) if imgs else base)
        raws = []
        label_dirs: set[Path] = set()
        for img in imgs:
            lab = label_path(img)
            label_dirs.add(lab.parent)
            boxes = parse_labels(lab, len(names), names, problems) if lab.is_file() else []
            try:
                rel = img.relative_to(root).as_posix()
            except ValueError:
                rel = img.as_posix()
            raws.append(RawImage(rel, boxes=boxes, where=rel))
        for d in sorted(label_dirs - checked):
            checked.add(d)
            for lab in sorted(d.glob("*.txt")) if d.is_dir() else []:
                if lab not in wanted:
                    problems.skip("label_without_image", "label file has no image", lab)
        splits[split] = RawSplit(root.absolute(), raws, file)
    return RawDataset("detect", names, splits)
