"""`wt-data import`: any supported annotation format into a canonical dataset."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.invocation import add_input, command
from wt_core.manifest import DatasetManifest
from wt_core.outputs import Output

from wt_data.canon import ClassMap, Metadata, canonicalize
from wt_data.dataset import write_dataset
from wt_data.formats.common import split_name
from wt_data.imaging import Check
from wt_data.problems import OnInvalid, Problems
from wt_data.raw import RawDataset
from wt_data.summary import split_line

Format = Literal["coco", "yolo", "voc", "labelstudio", "csv", "wildata", "imagefolder", "csv-classify", "dataset",
                 "geotiff"]
log = get_logger("wt-data")


def parse_sources(source: Path | str | list) -> list[tuple[str | None, Path]]:
    """`--source` values as (split or None, path): `train=a.json` names the split of a file."""
    items = source if isinstance(source, list) else [source]
    if not items:
        raise BadInput("no --source given", None, "source")
    out: list[tuple[str | None, Path]] = []
    for i, item in enumerate(items):
        text = str(item)
        name, sep, path = text.partition("=")
        if sep and re.fullmatch(r"[A-Za-z][\w-]*", name) and not Path(text).expanduser().exists():
            out.append((split_name(name, "--source", f"source[{i}]"), Path(path).expanduser()))
        else:
            out.append((None, Path(text).expanduser()))
    if len(out) > 1 and any(n is None for n, _ in out):
        raise BadInput("with several sources, name the split of each: --source train=a.json --source val=b.json",
                       None, "source")
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise BadInput("a split is named twice", None, "source")
    return out


def read_one(source: Path, format: str, images: Path | None, problems: Problems, task: str) -> RawDataset:
    from wt_data.formats import reader

    raw = reader(format)(source, Path(images).expanduser().absolute() if images else None, problems, task)
    if task != "auto" and raw.task != task:
        raise BadInput(f"format {format} gives a {raw.task} dataset, not {task}", source, "task")
    return raw


def read_raw(source: Path | str | list, format: str, images: Path | None, problems: Problems, task: str) -> RawDataset:
    """What the reader of `format` parses from one source, or from one file per split (`train=a.json`)."""
    sources = parse_sources(source)
    if len(sources) == 1 and sources[0][0] is None:
        return read_one(sources[0][1], format, images, problems, task)
    parts: list[RawDataset] = []
    for name, path in sources:
        raw = read_one(path, format, images, problems, task)
        if len(raw.splits) != 1:
            raise BadInput(f"this source holds the splits {', '.join(raw.splits)} itself: import it alone", path)
        raw.splits = {name: next(iter(raw.splits.values()))}
        parts.append(raw)
    kinds = {r.task for r in parts}
    if len(kinds) > 1:
        raise BadInput(f"the sources give different tasks ({', '.join(sorted(kinds))}): pass --task", None, "source")
    classes: list[str] = []
    for r in parts:
        classes += [c for c in r.classes if c not in classes]
    if all(r.classes == sorted(r.classes) for r in parts):
        classes.sort()
    return RawDataset(parts[0].task, classes, {k: v for r in parts for k, v in r.splits.items()})


@command("wt-data", "import")
def import_(source: Path | list[str], format: Format = "coco", images: Path | None = None,
            task: Literal["auto", "detect", "classify"] = "auto", on_invalid: OnInvalid = "error",
            tolerance: float = 2.0, check: Check = "decode", classes: ClassMap = ClassMap(),
            meta: Metadata = Metadata(), out: Path | None = None, overwrite: bool = False) -> DatasetManifest:
    """Import annotations into a dataset (one COCO JSON per split, images referenced in place).

    Args:
        source: The annotation file or root: a COCO JSON (or a folder with train/ valid/ test/, each with its
            COCO JSON), a YOLO data.yaml or folder, a VOC folder, a Label Studio JSON export, a CSV, a WilData
            root (or its datasets/<name>), or an image folder. One file per split: `--source train=a.json
            --source val=b.json`.
        format: The annotation format; csv is `image_path,xmin,ymin,xmax,ymax,label` or points
            `image,x,y,label` (either with an optional `split` column), csv-classify is `path,label`.
        images: The image root file names start from (default: where the format's own tools look).
        task: detect or classify (auto: from the format and the annotations).
        on_invalid: What to do with an invalid image or box: error stops, skip leaves it out, clip clips boxes
            beyond the image (and skips what clipping cannot repair). Every skipped or clipped item is counted
            in the manifest's report.
        tolerance: Pixels a box may lie beyond the image before it is invalid (within it, it is clipped and counted).
        check: How images are checked: decode fully, read the header only, or none (header when a size is unknown).
        classes: Class renames, merges, drops and order.
        meta: Per-image metadata for grouped splits (path pattern, CSV, EXIF GPS).
        out: The output directory (default runs/data/import/<id>).
        overwrite: Replace an existing output directory.
    """
    for _, path in parse_sources(source):
        folder = Path(path).expanduser().is_dir()
        add_input(path, "source folder" if folder else "source file", folder=folder)
    if images is not None:  # only the files the source lists are read: --out may lie in it (`--images /`)
        add_input(images, "image folder", folder=False)
    if meta.csv is not None:
        add_input(meta.csv, "metadata CSV", folder=False)
    problems = Problems(on_invalid)
    raw = read_raw(source, format, images, problems, task)
    where = ", ".join(str(p) for _, p in parse_sources(source))
    if not any(rs.images for rs in raw.splits.values()):
        raise BadInput("empty dataset: the source lists no images", where)
    class_list, splits = canonicalize(raw, problems, cmap=classes, meta=meta, check=check, tolerance=tolerance)
    report = problems.report()
    for line in problems.items[:20]:
        log.warning("%s %s", line.action, line.line())
    if len(problems.items) > 20:
        log.warning("... and %d more (see the manifest's report)", len(problems.items) - 20)
    if report:
        log.warning("dropped or changed at import: %s", ", ".join(f"{k} {v}" for k, v in report.items()))
    if not any(c["images"] for c, _ in splits.values()):
        raise BadInput("empty dataset: no images" + (" left after skipping invalid ones" if report else ""), where)
    if not class_list:
        raise BadInput("no classes: the source has no labelled box, point or label" if not raw.classes
                       else "no classes left after mapping", where, "classes")
    output = Output("wt-data", "import", out, overwrite=overwrite)
    m = write_dataset(output, task=raw.task, classes=class_list, splits=splits, report=report,
                      details={"format": format, "source": ", ".join(
                          f"{n}={p.absolute()}" if n else str(p.absolute()) for n, p in parse_sources(source))})
    for name, s in m.splits.items():
        log.info("%s", split_line(name, s))
    return m
