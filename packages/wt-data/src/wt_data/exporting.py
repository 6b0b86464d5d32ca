"""`wt-data export`: a dataset in another tool's layout (yolo, coco, voc, imagefolder).

Images are linked, not copied. The output directory is itself a dataset (its
manifest lists the same splits, images in place) holding the export beside it:
- yolo: `data.yaml` (absolute `path`), `images/<split>/`, `labels/<split>/`;
- coco: `images/<split>/` and `annotations/instances_<split>.json`, category ids from `coco_id_offset` (1 by default);
- voc: `JPEGImages/`, `Annotations/*.xml`, `ImageSets/Main/<split>.txt`;
- imagefolder (classify): `<split>/<class>/<file>`;
- csv: `annotations.csv` with a split column (boxes, or points), absolute image paths;
- labelstudio: `tasks.json` (boxes and points as annotations; from a predictions manifest, as
  pre-annotations with model version and scores) and `label_config.xml` (see wt_data.lsexport).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest
from wt_core.outputs import Output
from wt_core.ranges import UnitInterval
from wt_core.readers import read_dataset, require_boxes

from wt_data.dataset import annotations_by_image, load_split, write_dataset
from wt_data.views import link, write_yolo_layout

log = get_logger("wt-data")


def flat_names(images: list[dict]) -> dict:
    """A file name without folders per image id: the base name where it is unique, else the path joined by '__'."""
    from collections import Counter

    base = Counter(Path(im["file_name"]).name for im in images)
    return {im["id"]: Path(im["file_name"]).name if base[Path(im["file_name"]).name] == 1
            else Path(im["file_name"]).as_posix().replace("/", "__") for im in images}


def _coco(ds: DatasetManifest, out: Path, offset: int) -> list[str]:
    import json

    files = []
    for split in ds.splits:
        coco, root = load_split(ds, split)
        for im in coco["images"]:
            link(root / im["file_name"], out / "images" / split / im["file_name"])
        doc = {**coco, "categories": [{"id": c["id"] + offset, "name": c["name"], "supercategory": "animal"}
                                      for c in coco["categories"]],
               "annotations": [{**a, "category_id": a["category_id"] + offset} for a in coco["annotations"]]}
        rel = f"annotations/instances_{split}.json"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(json.dumps(doc, ensure_ascii=False))
        files.append(rel)
    return files


def _voc(ds: DatasetManifest, out: Path) -> list[str]:
    for split in ds.splits:
        coco, root = load_split(ds, split)
        boxes = annotations_by_image(coco)
        names = []
        flat = flat_names(coco["images"])
        for im in coco["images"]:
            name = flat[im["id"]]
            link(root / im["file_name"], out / "JPEGImages" / name)
            objs = "".join(
                f"<object><name>{escape(ds.classes[a['category_id']])}</name><pose>Unspecified</pose><truncated>0</truncated>"
                f"<difficult>0</difficult><bndbox><xmin>{a['bbox'][0]:.2f}</xmin><ymin>{a['bbox'][1]:.2f}</ymin>"
                f"<xmax>{a['bbox'][0] + a['bbox'][2]:.2f}</xmax><ymax>{a['bbox'][1] + a['bbox'][3]:.2f}</ymax></bndbox></object>"
                for a in boxes.get(im["id"], []))
            xml = (f"<annotation><folder>JPEGImages</folder><filename>{escape(name)}</filename><size><width>{im['width']}"
                   f"</width><height>{im['height']}</height><depth>3</depth></size>{objs}</annotation>\n")
            p = out / "Annotations" / (Path(name).stem + ".xml")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(xml, encoding="utf-8")
            names.append(Path(name).stem)
        sets = out / "ImageSets" / "Main" / f"{split}.txt"
        sets.parent.mkdir(parents=True, exist_ok=True)
        sets.write_text("\n".join(names) + "\n")
    return [f"ImageSets/Main/{s}.txt" for s in ds.splits]


def csv_points(ds: DatasetManifest) -> bool:
    """Whether a dataset's CSV holds points (all its annotations are points) or boxes; refuses a mix."""
    points = sum(s.points for s in ds.splits.values())
    if points and points != sum(sum(s.per_class) for s in ds.splits.values()):
        raise BadInput("a CSV holds boxes or points, not both: give the points boxes first (wt-data boxes)", ds.path,
                       "splits")
    return bool(points)


def _csv(ds: DatasetManifest, out: Path) -> list[str]:
    """One CSV of every split: boxes `image_path,xmin,ymin,xmax,ymax,label,split` or points `image,x,y,label,split`."""
    import csv

    loaded = {split: load_split(ds, split) for split in ds.splits}
    points = csv_points(ds)
    with open(out / "annotations.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["image", "x", "y", "label", "split"] if points else ["image_path", "xmin", "ymin", "xmax", "ymax",
                                                                          "label", "split"])
        for split, (coco, root) in loaded.items():
            by_image = annotations_by_image(coco)
            for im in coco["images"]:
                path = str(root / im["file_name"])
                rows = by_image.get(im["id"], [])
                if not rows:
                    w.writerow([path, "", "", "", split] if points else [path, "", "", "", "", "", split])
                for a in rows:
                    name = ds.classes[a["category_id"]]
                    if points:
                        w.writerow([path, a["point"][0], a["point"][1], name, split])
                    else:
                        x, y, bw, bh = a["bbox"]
                        w.writerow([path, x, y, round(x + bw, 3), round(y + bh, 3), name, split])
    return ["annotations.csv"]


def _imagefolder(ds: DatasetManifest, out: Path) -> list[str]:
    for split in ds.splits:
        coco, root = load_split(ds, split)
        label = {a["image_id"]: a["category_id"] for a in coco["annotations"]}
        flat = flat_names(coco["images"])
        for im in coco["images"]:
            link(root / im["file_name"], out / split / ds.classes[label[im["id"]]] / flat[im["id"]])
    return []


@command("wt-data", "export")
def export(dataset: str, format: Literal["yolo", "coco", "voc", "imagefolder", "labelstudio", "csv"] = "yolo",
           coco_id_offset: int = 1, out: Path | None = None, overwrite: bool = False,
           local_files_root: Path | None = None, url_prefix: str | None = None, conf: UnitInterval = 0.25) -> DatasetManifest:
    """Export a dataset to another tool's layout, images linked not copied.

    Args:
        dataset: The dataset manifest (a manifest.json, its directory, or - for a path on stdin).
        format: yolo (Ultralytics layout with data.yaml), coco, voc (detection), imagefolder (classification), or
            labelstudio (tasks; `--dataset` may then be a predictions manifest, for pre-annotations), csv.
        coco_id_offset: The COCO category id of the first class (COCO's own convention starts at 1).
        out: The output directory (default runs/data/export/<id>).
        overwrite: Replace an existing output directory.
        local_files_root: labelstudio: the folder Label Studio serves local files from (its
            LOCAL_FILES_DOCUMENT_ROOT); images are named `/data/local-files/?d=<path under it>` (default: the
            folder holding every split's images).
        url_prefix: labelstudio: name images by this URL prefix and their file names instead (e.g. a bucket).
        conf: labelstudio from a predictions manifest: pre-annotate with the detections scoring at least this.
    """
    predictions = None
    if format == "labelstudio":
        ds, predictions = dataset_or_predictions(dataset)
    else:
        ds = read_dataset(dataset)
    if format == "imagefolder" and ds.task != "classify":
        raise BadInput("imagefolder export needs a classify dataset (make one with wt-data crops)", ds.path, "task")
    if format in ("yolo", "voc", "labelstudio", "csv") and ds.task != "detect":
        raise BadInput(f"{format} export needs a detect dataset", ds.path, "task")
    if format in ("yolo", "voc"):
        require_boxes(ds)
    if format == "csv":
        csv_points(ds)
    if format == "labelstudio":  # every image reference is checked before anything is written
        from wt_data.lsexport import ImageRefs, tasks_for

        refs = ImageRefs(local_files_root, url_prefix, [load_split(ds, n)[1] for n in ds.splits])
        tasks = tasks_for(ds, refs, predictions, conf)
    output = Output("wt-data", "export", out, overwrite=overwrite)
    if format == "yolo":
        yaml_path = write_yolo_layout(ds, output.dir)
        yaml_path.write_text(yaml_path.read_text().replace(str(output.dir.absolute()), str(output.final), 1))
        files = ["data.yaml"]
    elif format == "coco":
        files = _coco(ds, output.dir, coco_id_offset)
    elif format == "voc":
        files = _voc(ds, output.dir)
    elif format == "csv":
        files = _csv(ds, output.dir)
    elif format == "labelstudio":
        from wt_data.lsexport import write_labelstudio

        files = write_labelstudio(output.dir, ds, tasks)
        if refs.prefix is None:
            log.info("Label Studio reads these images with LOCAL_FILES_SERVING_ENABLED=true "
                     "LOCAL_FILES_DOCUMENT_ROOT=%s", refs.root)
    else:
        files = _imagefolder(ds, output.dir)
    for rel in files:
        output.add(f"export/{rel}", rel)
    splits = {name: load_split(ds, name) for name in ds.splits}
    extra = {"predictions_id": predictions.id} if predictions else {}
    return write_dataset(output, task=ds.task, classes=ds.classes, splits=splits, report=dict(ds.report),
                         parents=[ds, *([predictions] if predictions else [])],
                         details={"export": {"format": format, "files": files, **extra}})


def dataset_or_predictions(ref: str):
    """A dataset manifest, or a predictions manifest and the dataset it was made on (its parent)."""
    from wt_core.manifest_io import read_manifest
    from wt_core.readers import read_dataset_or_predictions

    m = read_dataset_or_predictions(ref)
    if m.kind == "dataset":
        return m, None
    parent = m.parent("dataset")
    if parent is None or m.task != "detect":
        raise BadInput("these predictions were not made on a detection dataset: Label Studio tasks need its images",
                       m.path, "parents")
    ds = read_manifest(m.parent_path(parent), "dataset")
    if list(ds.classes) != list(m.classes):
        raise BadInput("the predictions' classes differ from their dataset's", m.path, "classes")
    return ds, m
