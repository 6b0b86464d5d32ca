"""`wt-data import`: any supported annotation format into a canonical dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest
from wt_core.outputs import Output

from wt_data.canon import ClassMap, Metadata, canonicalize
from wt_data.dataset import write_dataset
from wt_data.imaging import Check
from wt_data.problems import OnInvalid, Problems

Format = Literal["coco", "yolo", "voc", "labelstudio", "csv", "wildata", "imagefolder", "csv-classify", "dataset",
                 "geotiff"]
log = get_logger("wt-data")


def read_raw(source: Path, format: str, images: Path | None, problems: Problems, task: str):
    from wt_data.formats import reader

    source = Path(source).expanduser()
    raw = reader(format)(source, Path(images).expanduser().absolute() if images else None, problems, task)
    if task != "auto" and raw.task != task:
        raise BadInput(f"format {format} gives a {raw.task} dataset, not {task}", source, "task")
    return raw


@command("wt-data", "import")
def import_(source: Path, format: Format = "coco", images: Path | None = None,
            task: Literal["auto", "detect", "classify"] = "auto", on_invalid: OnInvalid = "error",
            tolerance: float = 2.0, check: Check = "decode", classes: ClassMap = ClassMap(),
            meta: Metadata = Metadata(), out: Path | None = None, overwrite: bool = False) -> DatasetManifest:
    """Import annotations into a dataset (one COCO JSON per split, images referenced in place).

    Args:
        source: The annotation file or root: a COCO JSON, a YOLO data.yaml or folder, a VOC folder, a Label
            Studio JSON export, a CSV, a WilData root (or its datasets/<name>), or an image folder.
        format: The annotation format; csv is `image_path,xmin,ymin,xmax,ymax,label`, csv-classify is `path,label`.
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
    problems = Problems(on_invalid)
    raw = read_raw(source, format, images, problems, task)
    class_list, splits = canonicalize(raw, problems, cmap=classes, meta=meta, check=check, tolerance=tolerance)
    if not class_list:
        raise BadInput("no classes left after mapping", source, "classes")
    report = problems.report()
    for line in problems.items[:20]:
        log.warning("%s %s", line.action, line.line())
    if len(problems.items) > 20:
        log.warning("... and %d more (see the manifest's report)", len(problems.items) - 20)
    if not any(c["images"] for c, _ in splits.values()):
        raise BadInput("empty dataset: no images" + (" left after skipping invalid ones" if report else ""), source)
    output = Output("wt-data", "import", out, overwrite=overwrite)
    m = write_dataset(output, task=raw.task, classes=class_list, splits=splits, report=report,
                      details={"format": format, "source": str(Path(source).absolute())})
    for name, s in m.splits.items():
        log.info("%s: %d images, %d boxes, %d empty", name, s.images, s.boxes, s.empty_images)
    return m
