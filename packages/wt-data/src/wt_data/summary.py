"""`wt-data stats`: images, boxes and empty images per split and class, boxes per image, box sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from wt_core.console import print_table
from wt_core.invocation import command
from wt_core.readers import read_dataset

from wt_data.dataset import load_split, split_names


def split_line(name: str, s: Any, unit: str = "images") -> str:
    """A split's one-line summary, the same in every command that writes a dataset: boxes and points beside each other."""
    return f"{name}: {s.images} {unit}, {s.boxes} boxes, {s.points} points, {s.empty_images} empty"


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"min": 0.0, "median": 0.0, "mean": 0.0, "max": 0.0}
    a = np.asarray(values, dtype=np.float64)
    return {"min": float(a.min()), "median": float(np.median(a)), "mean": float(a.mean()), "max": float(a.max())}


def split_stats(coco: dict, classes: list[str]) -> dict[str, Any]:
    sizes = {im["id"]: (im["width"], im["height"]) for im in coco["images"]}
    per_image = dict.fromkeys(sizes, 0)
    cls: list[dict[str, Any]] = [{"images": set(), "boxes": 0, "px": [], "rel": []} for _ in classes]
    px, rel = [], []
    for a in coco["annotations"]:
        c = cls[a["category_id"]]
        c["images"].add(a["image_id"])
        if a.get("bbox") is None:
            continue
        per_image[a["image_id"]] += 1
        c["boxes"] += 1
        w, h = a["bbox"][2], a["bbox"][3]
        iw, ih = sizes[a["image_id"]]
        side, rside = float(np.sqrt(w * h)), float(np.sqrt((w / iw) * (h / ih)))
        px.append(side)
        rel.append(rside)
        c["px"].append(side)
        c["rel"].append(rside)
    with_ann = {a["image_id"] for a in coco["annotations"]}
    counts = list(per_image.values())
    return {
        "images": len(sizes), "boxes": sum(counts), "empty_images": len(set(sizes) - with_ann),
        "boxes_per_image": _summary([float(c) for c in counts]),
        "box_size_px": _summary(px), "box_size_relative": _summary(rel),
        "image_width": _summary([float(w) for w, _ in sizes.values()]),
        "image_height": _summary([float(h) for _, h in sizes.values()]),
        "classes": {name: {"images": len(c["images"]), "boxes": c["boxes"], "box_size_px": _summary(c["px"]),
                           "box_size_relative": _summary(c["rel"])} for name, c in zip(classes, cls, strict=True)},
        "_px": px, "_counts": counts,
    }


def _plots(stats: dict[str, dict], classes: list[str], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, s in stats.items():
        fig, axes = plt.subplots(1, 3, figsize=(14, 4))
        axes[0].bar(classes, [s["classes"][c]["boxes"] or s["classes"][c]["images"] for c in classes])
        axes[0].set_title(f"{name}: per class")
        axes[1].hist(s["_counts"], bins=min(30, max(1, len(set(s["_counts"])))))
        axes[1].set_title("boxes per image")
        axes[2].hist(s["_px"] or [0], bins=30)
        axes[2].set_title("box size (sqrt area, px)")
        fig.tight_layout()
        p = out / f"stats_{name}.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        written.append(str(p))
    return written


@command("wt-data", "stats")
def stats(dataset: str, split: str | None = None, plots: Path | None = None, json: bool = False) -> dict[str, Any] | None:
    """Images, boxes and empty images per split and class, boxes per image, box sizes in pixels and relative.

    Args:
        dataset: The dataset manifest (a manifest.json, its directory, or - for a path on stdin).
        split: One split (default all).
        plots: A directory to write PNG plots into (per split: class counts, boxes per image, box sizes).
        json: Print one JSON document on stdout instead of tables on stderr.
    """
    ds = read_dataset(dataset)
    result = {name: split_stats(load_split(ds, name)[0], ds.classes) for name in split_names(ds, split)}
    written = _plots(result, ds.classes, Path(plots)) if plots else []
    clean = {n: {k: v for k, v in s.items() if not k.startswith("_")} for n, s in result.items()}
    if json:
        return {"dataset": ds.id, "task": ds.task, "classes": ds.classes, "splits": clean, "plots": written}
    rows = [[n, s["images"], s["empty_images"], s["boxes"], round(s["boxes_per_image"]["mean"], 2),
             round(s["box_size_px"]["median"], 1), round(s["box_size_relative"]["median"], 4)] for n, s in clean.items()]
    print_table(f"dataset {ds.id} ({ds.task})", ["split", "images", "empty", "boxes", "boxes/image",
                                                  "median box px", "median box rel"], rows)
    crow = [[n, c, v["images"], v["boxes"], round(v["box_size_px"]["median"], 1)]
            for n, s in clean.items() for c, v in s["classes"].items()]
    print_table("per class", ["split", "class", "images", "boxes", "median box px"], crow)
    return None
