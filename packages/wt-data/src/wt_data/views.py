"""Framework views of a dataset, built once inside its directory (wt_core.views.ensure_view).

`yolo_view(ds)` gives the path of an Ultralytics `data.yaml`: images linked (not
copied) under `images/<split>/`, labels written under `labels/<split>/`, names
from the dataset's classes.
"""

from __future__ import annotations

import os
from pathlib import Path

from wt_core.errors import BadInput
from wt_core.manifest import DatasetManifest
from wt_core.readers import read_dataset, require_boxes

from wt_data.dataset import load_split


def yolo_label_lines(coco: dict) -> dict[int, list[str]]:
    """YOLO label lines (`class cx cy w h`, normalised) per image id."""
    sizes = {im["id"]: (im["width"], im["height"]) for im in coco["images"]}
    lines: dict[int, list[str]] = {i: [] for i in sizes}
    for a in coco["annotations"]:
        if a.get("bbox") is None:
            continue
        w, h = sizes[a["image_id"]]
        x, y, bw, bh = a["bbox"]
        lines[a["image_id"]].append(f"{a['category_id']} {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}")
    return lines


def link(src: Path, dst: Path) -> None:
    """A symbolic link `dst` -> `src` (absolute), replacing what is there."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    os.symlink(src.absolute(), dst)


def write_yolo_layout(ds: DatasetManifest, target: Path, splits: list[str] | None = None) -> Path:
    """The Ultralytics layout of `ds` under `target`; returns its data.yaml."""
    import yaml

    require_boxes(ds)
    names = [n for n in (list(ds.splits) if splits is None else splits) if ds.splits[n].images]
    if not names:
        raise BadInput("the dataset has no images", ds.path, "splits")
    for split in names:
        coco, root = load_split(ds, split)
        lines = yolo_label_lines(coco)
        for im in coco["images"]:
            rel = Path(im["file_name"])
            link(root / rel, target / "images" / split / rel)
            lab = target / "labels" / split / rel.with_suffix(".txt")
            lab.parent.mkdir(parents=True, exist_ok=True)
            text = "\n".join(lines[im["id"]])
            lab.write_text(text + "\n" if text else "")
    data: dict = {"path": str(target.absolute())}
    train = "train" if "train" in names else names[0]
    val = next((s for s in ("val", "test") if s in names), train)
    data["train"] = f"images/{train}"
    data["val"] = f"images/{val}"
    if "test" in names:
        data["test"] = "images/test"
    data["names"] = dict(enumerate(ds.classes))
    data["nc"] = len(ds.classes)
    yaml_path = target / "data.yaml"
    yaml_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return yaml_path


def yolo_view(ds: DatasetManifest | str | Path) -> Path:
    """The path of an Ultralytics data.yaml for this dataset, built on first use and cached in its directory.

    train is the split named train (else the first), val the split named val (else test, else train);
    splits with no image are left out.
    The yaml's `path` is the view's absolute directory; every split has images/<split> and labels/<split>.
    A view left behind by a moved dataset is rebuilt.
    """
    from wt_core.views import ensure_view

    ds = read_dataset(ds)
    if ds.task != "detect":
        raise BadInput(f"a YOLO detection view needs a detect dataset, this one is {ds.task}", ds.path, "task")

    def build(tmp: Path) -> None:
        write_yolo_layout(ds, tmp)
        # the yaml names its own directory: rewrite it for the final place of the view
        final = tmp.with_name(tmp.name.removesuffix(".partial"))
        p = tmp / "data.yaml"
        p.write_text(p.read_text().replace(str(tmp.absolute()), str(final.absolute()), 1))

    target = ensure_view(ds, "yolo", build)
    import yaml

    if yaml.safe_load((target / "data.yaml").read_text()).get("path") != str(target.absolute()):  # moved: rebuild
        import shutil

        shutil.rmtree(target, ignore_errors=True)
        target = ensure_view(ds, "yolo", build)
    return target / "data.yaml"
