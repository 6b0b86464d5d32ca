"""`wt-data remap` and `wt-data merge`: class changes on a dataset, and several datasets made one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest
from wt_core.outputs import Output
from wt_core.readers import read_dataset

from wt_data.canon import ClassMap, final_classes, mapping_table
from wt_data.dataset import coco_doc, common_root, load_split, write_dataset

log = get_logger("wt-data")


def remap_coco(coco: dict, old: list[str], table: dict[str, str | None], new: list[str], task: str,
               report: dict[str, int]) -> dict:
    """The same images with their annotations' classes mapped (dropped ones counted)."""
    index = {c: i for i, c in enumerate(new)}
    anns, keep_ids = [], set()
    for a in coco["annotations"]:
        name = table[old[a["category_id"]]]
        if name is None:
            report["dropped_by_mapping"] = report.get("dropped_by_mapping", 0) + 1
            continue
        anns.append({**a, "id": len(anns) + 1, "category_id": index[name]})
        keep_ids.add(a["image_id"])
    images = coco["images"]
    if task == "classify":  # an image whose class was dropped has no label left
        images = [im for im in images if im["id"] in keep_ids]
        report["images_dropped_by_mapping"] = report.get("images_dropped_by_mapping", 0) + len(coco["images"]) - len(images)
    return coco_doc(images, anns, new, coco.get("info"))


@command("wt-data", "remap")
def remap(dataset: str, classes: ClassMap = ClassMap(), out: Path | None = None,
          overwrite: bool = False) -> DatasetManifest:
    """Rename, merge, drop or reorder classes of a dataset (images stay where they are).

    Args:
        dataset: The dataset manifest (a manifest.json, its directory, or - for a path on stdin).
        classes: Renames and merges as --classes.map old=new, drops as --classes.drop name, --classes.order.
        out: The output directory (default runs/data/remap/<id>).
        overwrite: Replace an existing output directory.
    """
    ds = read_dataset(dataset)
    table = mapping_table(classes, ds.classes)
    new = final_classes(classes, ds.classes, table)
    if not new:
        raise BadInput("no classes left after mapping", None, "classes")
    report = dict(ds.report)
    splits = {}
    for name in ds.splits:
        coco, root = load_split(ds, name)
        splits[name] = (remap_coco(coco, ds.classes, table, new, ds.task, report), root)
    output = Output("wt-data", "remap", out, overwrite=overwrite)
    return write_dataset(output, task=ds.task, classes=new, splits=splits, report={k: v for k, v in report.items() if v},
                         parents=[ds], details={"mapping": {k: v for k, v in table.items() if k != v}})


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().casefold())


@command("wt-data", "merge")
def merge(datasets: list[str], classes: ClassMap = ClassMap(), union: bool = False, out: Path | None = None,
          overwrite: bool = False) -> DatasetManifest:
    """Merge datasets split by split, classes harmonised by name.

    Class lists must agree once mapped: names that differ only in case, spaces or
    dashes, or a class one dataset lacks (its images may hold that animal
    unlabelled), are refused unless a mapping resolves them or --union is given.

    Args:
        datasets: The dataset manifests to merge (two or more).
        classes: A mapping applied to every input (--classes.map old=new, --classes.drop, --classes.order).
        union: Accept class lists that differ: the merged classes are their union.
        out: The output directory (default runs/data/merge/<id>).
        overwrite: Replace an existing output directory.
    """
    if len(datasets) < 2:
        raise BadInput("merge needs two or more datasets", None, "datasets")
    dss = [read_dataset(d) for d in datasets]
    tasks = {d.task for d in dss}
    if len(tasks) > 1:
        raise BadInput("cannot merge detect and classify datasets", dss[-1].path, "task")
    all_names = [c for d in dss for c in d.classes]
    known = list(dict.fromkeys(all_names))
    table_all: dict[str, str | None] = {c: c for c in known}
    cm = ClassMap(map=[m for m in classes.map if m.split("=", 1)[0].strip() in known], drop=classes.drop, order=[])
    table_all.update(mapping_table(cm, known))
    mapped = [[table_all[c] for c in d.classes if table_all[c] is not None] for d in dss]
    merged: list[str] = list(dict.fromkeys(c for cl in mapped for c in cl))
    by_norm: dict[str, str] = {}
    for c in merged:
        if _norm(c) in by_norm:
            raise BadInput(f"classes {by_norm[_norm(c)]!r} and {c!r} look like one class: map one to the other "
                           f"(--classes.map '{c}={by_norm[_norm(c)]}')", None, "classes.map")
        by_norm[_norm(c)] = c
    if not union:
        for d, cl in zip(dss, mapped, strict=True):
            missing = [c for c in merged if c not in cl]
            if missing:
                raise BadInput(f"dataset lacks classes {missing} that others have (its images may hold them unlabelled); "
                               "map or drop them, or pass --union", d.path, "classes")
    if classes.order:
        merged = final_classes(ClassMap(order=classes.order), merged, {c: c for c in merged})
    index = {c: i for i, c in enumerate(merged)}
    split_names = list(dict.fromkeys(s for d in dss for s in d.splits))
    report: dict[str, int] = {}
    for d in dss:
        for k, v in d.report.items():
            report[k] = report.get(k, 0) + v
    splits: dict[str, tuple[dict, Path]] = {}
    for split in split_names:
        parts = [(d, *load_split(d, split)) for d in dss if split in d.splits]
        root = common_root([r for _, _, r in parts])
        images: list[dict] = []
        anns: list[dict] = []
        seen: set[str] = set()
        for d, coco, r in parts:
            prefix = r.relative_to(root).as_posix() if r != root else ""
            new_id: dict[Any, int] = {}
            for im in coco["images"]:
                fn = f"{prefix}/{im['file_name']}" if prefix else im["file_name"]
                if fn in seen:
                    report["duplicate_images_dropped"] = report.get("duplicate_images_dropped", 0) + 1
                    continue
                seen.add(fn)
                new_id[im["id"]] = len(images) + 1
                images.append({**im, "id": new_id[im["id"]], "file_name": fn, "dataset": d.id})
            for a in coco["annotations"]:
                name = table_all[d.classes[a["category_id"]]]
                if a["image_id"] not in new_id:
                    continue
                if name is None:
                    report["dropped_by_mapping"] = report.get("dropped_by_mapping", 0) + 1
                    continue
                anns.append({**a, "id": len(anns) + 1, "image_id": new_id[a["image_id"]], "category_id": index[name]})
        splits[split] = (coco_doc(images, anns, merged), root)
    output = Output("wt-data", "merge", out, overwrite=overwrite)
    return write_dataset(output, task=tasks.pop(), classes=merged, splits=splits, report=report, parents=dss)
