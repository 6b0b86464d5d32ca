"""A WilData root: `datasets/<name>/dataset_info.json`, `annotations/<split>.json` (COCO), `images/<split>/`.

The source is the WilData root (with one dataset under datasets/) or the dataset's own folder.
Classes follow dataset_info.json (by id) when it lists them.
"""

from __future__ import annotations

from pathlib import Path

from wt_core.errors import BadInput
from wt_core.manifest_io import load_json

from wt_data.formats.coco import parse_coco
from wt_data.formats.common import list_dir, need_dir
from wt_data.problems import Problems
from wt_data.raw import RawDataset, RawSplit


def read_wildata(source: Path, images: Path | None, problems: Problems, task: str = "auto") -> RawDataset:
    need_dir(source, "WilData root")
    ds_dir = source
    if (source / "datasets").is_dir():
        found = [p for p in list_dir(source / "datasets") if (p / "dataset_info.json").is_file()]
        if len(found) != 1:
            names = ", ".join(p.name for p in found) or "none"
            raise BadInput(f"expected one dataset under datasets/ (found: {names}); pass datasets/<name>",
                           source / "datasets")
        ds_dir = found[0]
    info_file = ds_dir / "dataset_info.json"
    if not info_file.is_file():
        raise BadInput("no dataset_info.json (expected datasets/<name>/dataset_info.json)", ds_dir)
    info = load_json(info_file)
    ann_dir = need_dir(ds_dir / "annotations", "annotations folder")
    files = [p for p in list_dir(ann_dir) if p.suffix == ".json"]
    if not files:
        raise BadInput("no annotations/<split>.json", ann_dir)
    classes: list[str] = []
    if isinstance(info, dict) and isinstance(info.get("classes"), list):
        try:
            classes = [c["name"] for c in sorted(info["classes"], key=lambda c: c["id"])]
        except (TypeError, KeyError):
            raise BadInput("classes must be a list of {id, name}", info_file, "classes") from None
    splits: dict[str, RawSplit] = {}
    kind = task
    for f in files:
        split = f.stem
        root = images / split if images else ds_dir / "images" / split
        names, rs, kind = parse_coco(load_json(f), f, root, problems, task)
        classes += [c for c in names if c not in classes]
        splits[split] = rs
    return RawDataset(kind if kind != "auto" else "detect", classes, splits)
