"""Deterministic synthetic wildlife data for tests and the demo, made in seconds.

    python tools/synth.py aerial  --out DIR [--images 12] [--seed 0]
    python tools/synth.py camtrap --out DIR [--per-class 40] [--imbalance 1] [--seed 0]

`aerial`: large survey images (about 2000x1500 and up) of textured ground with
many small animals of three classes at different sizes, some images empty, a
site and flight per image, written as COCO, YOLO, Pascal VOC, Label Studio
JSON, CSV and a WilData-style root, with `truth.json` holding the ground truth.
`camtrap`: a camera-trap-like image folder (one folder per class), classes
easy to tell apart, with an optional imbalance (first class `imbalance` times
the last).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

AERIAL_CLASSES = ["elephant", "giraffe", "zebra"]
# (min, max) body length in pixels, colour, aspect ratio
_LOOK = {
    "elephant": ((44, 72), (95, 92, 90), 0.65),
    "giraffe": ((26, 42), (214, 160, 60), 0.45),
    "zebra": ((14, 24), (245, 245, 245), 0.55),
}
CAMTRAP_CLASSES = ["deer", "fox", "boar"]
COCO_ID_OFFSET = 1  # COCO category ids start at 1: foreign ids, mapped at import


def _ground(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    base = np.array([112, 120, 70], dtype=np.float32) + rng.normal(0, 8, 3)
    coarse = rng.normal(0, 18, (h // 32 + 2, w // 32 + 2, 3)).astype(np.float32)
    img = Image.fromarray(np.clip(coarse + 128, 0, 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) - 128 + base
    arr += rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _draw_animal(draw: ImageDraw.ImageDraw, cls: str, x: float, y: float, length: float, horizontal: bool) -> list[float]:
    _, colour, aspect = _LOOK[cls]
    w, h = (length, length * aspect) if horizontal else (length * aspect, length)
    box = [x, y, x + w, y + h]
    draw.ellipse([x + 3, y + 3, x + w + 3, y + h + 3], fill=(40, 45, 25))  # shadow
    if cls == "giraffe":
        draw.rectangle(box, fill=colour)
        for k in range(3):
            cx, cy = x + w * (0.2 + 0.3 * k), y + h * (0.3 + 0.2 * (k % 2))
            draw.ellipse([cx, cy, cx + max(2, w * 0.15), cy + max(2, h * 0.15)], fill=(120, 70, 20))
    else:
        draw.ellipse(box, fill=colour)
        if cls == "zebra":
            for k in range(1, 4):
                if horizontal:
                    sx = x + w * k / 4
                    draw.line([sx, y + 1, sx, y + h - 1], fill=(10, 10, 10), width=2)
                else:
                    sy = y + h * k / 4
                    draw.line([x + 1, sy, x + w - 1, sy], fill=(10, 10, 10), width=2)
    return [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]


def make_aerial(out: Path, images: int = 12, seed: int = 0, width: int = 2000, height: int = 1500,
                sites: int = 4, empty_every: int = 6, animals: tuple[int, int] = (6, 22)) -> dict:
    """Write the aerial survey set under `out`; returns the ground truth.

    `animals`: the range of the number of animals on a non-empty image (the demo uses denser herds).
    """
    rng = np.random.default_rng(seed)
    img_dir = out / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    truth: dict = {"classes": AERIAL_CLASSES, "images": []}
    for i in range(images):
        w = width + 16 * int(rng.integers(0, 25))
        h = height + 16 * int(rng.integers(0, 19))
        img = _ground(rng, w, h)
        draw = ImageDraw.Draw(img)
        site = f"site{i % sites}"
        rec = {"id": i + 1, "file_name": f"survey_{i:03d}.jpg", "width": w, "height": h, "site": site,
               "flight": f"{site}-f{(i // sites) % 2}", "boxes": []}
        n = 0 if (empty_every and i % empty_every == empty_every - 1) else int(rng.integers(animals[0], animals[1]))
        placed: list[list[float]] = []
        tries = 0
        while len(placed) < n and tries < n * 50:
            tries += 1
            cls = AERIAL_CLASSES[int(rng.integers(0, len(AERIAL_CLASSES)))]
            lo, hi = _LOOK[cls][0]
            length = float(rng.uniform(lo, hi))
            horizontal = bool(rng.integers(0, 2))
            bw, bh = (length, length * _LOOK[cls][2]) if horizontal else (length * _LOOK[cls][2], length)
            x = float(rng.uniform(2, w - bw - 6))
            y = float(rng.uniform(2, h - bh - 6))
            cand = [x - 4, y - 4, x + bw + 8, y + bh + 8]
            if any(not (cand[2] < p[0] or p[2] < cand[0] or cand[3] < p[1] or p[3] < cand[1]) for p in placed):
                continue
            placed.append(cand)
            rec["boxes"].append({"bbox": _draw_animal(draw, cls, x, y, length, horizontal), "label": cls})
        img = img.filter(ImageFilter.GaussianBlur(0.6))
        img.save(img_dir / rec["file_name"], quality=90)
        truth["images"].append(rec)
    write_formats(out, truth)
    return truth


def _coco(truth: dict, images: list[dict] | None = None, offset: int = COCO_ID_OFFSET) -> dict:
    images = truth["images"] if images is None else images
    cats = [{"id": i + offset, "name": n, "supercategory": "animal"} for i, n in enumerate(truth["classes"])]
    coco = {"info": {"description": "WildTrain synthetic aerial survey"}, "images": [], "annotations": [], "categories": cats}
    ann_id = 1
    for rec in images:
        coco["images"].append({k: rec[k] for k in ("id", "file_name", "width", "height", "site", "flight")})
        for b in rec["boxes"]:
            x, y, w, h = b["bbox"]
            coco["annotations"].append({"id": ann_id, "image_id": rec["id"], "category_id": truth["classes"].index(b["label"]) + offset,
                                        "bbox": [x, y, w, h], "area": round(w * h, 2), "iscrowd": 0})
            ann_id += 1
    return coco


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_formats(out: Path, truth: dict) -> None:
    classes = truth["classes"]
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    (out / "coco.json").write_text(json.dumps(_coco(truth), indent=1))
    with open(out / "metadata.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["image_path", "site", "flight"])
        for rec in truth["images"]:
            wr.writerow([f"images/{rec['file_name']}", rec["site"], rec["flight"]])
    # YOLO: images/ and labels/ side by side, data.yaml with the names
    for rec in truth["images"]:
        _link(out / "images" / rec["file_name"], out / "yolo" / "images" / rec["file_name"])
        lines = []
        for b in rec["boxes"]:
            x, y, w, h = b["bbox"]
            lines.append(f"{classes.index(b['label'])} {(x + w / 2) / rec['width']:.6f} {(y + h / 2) / rec['height']:.6f} "
                         f"{w / rec['width']:.6f} {h / rec['height']:.6f}")
        lab = out / "yolo" / "labels" / (Path(rec["file_name"]).stem + ".txt")
        lab.parent.mkdir(parents=True, exist_ok=True)
        lab.write_text("\n".join(lines) + ("\n" if lines else ""))
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(classes))
    (out / "yolo" / "data.yaml").write_text(f"path: .\ntrain: images\nval: images\nnames:\n{names}\n")
    # Pascal VOC
    for rec in truth["images"]:
        _link(out / "images" / rec["file_name"], out / "voc" / "JPEGImages" / rec["file_name"])
        objs = "".join(
            f"<object><name>{escape(b['label'])}</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>"
            f"<bndbox><xmin>{b['bbox'][0]}</xmin><ymin>{b['bbox'][1]}</ymin><xmax>{b['bbox'][0] + b['bbox'][2]:.2f}</xmax>"
            f"<ymax>{b['bbox'][1] + b['bbox'][3]:.2f}</ymax></bndbox></object>"
            for b in rec["boxes"])
        xml = (f"<annotation><folder>JPEGImages</folder><filename>{rec['file_name']}</filename>"
               f"<size><width>{rec['width']}</width><height>{rec['height']}</height><depth>3</depth></size>{objs}</annotation>")
        p = out / "voc" / "Annotations" / (Path(rec["file_name"]).stem + ".xml")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(xml)
    # Label Studio JSON export (percent coordinates, local-files image URLs)
    tasks = []
    for rec in truth["images"]:
        result = []
        for k, b in enumerate(rec["boxes"]):
            x, y, w, h = b["bbox"]
            result.append({"id": f"r{rec['id']}-{k}", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
                           "original_width": rec["width"], "original_height": rec["height"], "image_rotation": 0,
                           "value": {"x": 100 * x / rec["width"], "y": 100 * y / rec["height"],
                                     "width": 100 * w / rec["width"], "height": 100 * h / rec["height"],
                                     "rotation": 0, "rectanglelabels": [b["label"]]}})
        tasks.append({"id": rec["id"], "data": {"image": f"/data/local-files/?d=images/{rec['file_name']}"},
                      "annotations": [{"id": rec["id"], "result": result}]})
    (out / "labelstudio.json").write_text(json.dumps(tasks, indent=1))
    # CSV: one row per box; an empty image has one row with empty box fields
    with open(out / "annotations.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["image_path", "xmin", "ymin", "xmax", "ymax", "label"])
        for rec in truth["images"]:
            if not rec["boxes"]:
                wr.writerow([f"images/{rec['file_name']}", "", "", "", "", ""])
            for b in rec["boxes"]:
                x, y, w, h = b["bbox"]
                wr.writerow([f"images/{rec['file_name']}", x, y, round(x + w, 2), round(y + h, 2), b["label"]])
    # WilData root: datasets/<name>/{dataset_info.json, annotations/<split>.json, images/<split>/}
    ds = out / "wildata" / "datasets" / "synthetic"
    n_val = max(1, len(truth["images"]) // 4)
    splits = {"train": truth["images"][:-n_val], "val": truth["images"][-n_val:]}
    for split, recs in splits.items():
        for rec in recs:
            _link(out / "images" / rec["file_name"], ds / "images" / split / rec["file_name"])
        (ds / "annotations").mkdir(parents=True, exist_ok=True)
        (ds / "annotations" / f"{split}.json").write_text(json.dumps(_coco(truth, recs), indent=1))
    (ds / "dataset_info.json").write_text(json.dumps(
        {"name": "synthetic", "version": "1.0", "classes": [{"id": i + 1, "name": n} for i, n in enumerate(classes)],
         "splits": list(splits)}, indent=1))


def make_camtrap(out: Path, per_class: int = 40, imbalance: float = 1.0, seed: int = 0, size: int = 96,
                 classes: list[str] | None = None) -> dict[str, int]:
    """Write an image folder `out/<class>/*.jpg`; returns images per class.

    The first class gets `per_class` images and the last `per_class / imbalance`,
    the ones between in geometric steps. Classes differ clearly in colour and shape.
    """
    classes = classes or CAMTRAP_CLASSES
    rng = np.random.default_rng(seed)
    looks = [((150, 90, 40), "ellipse"), ((220, 110, 20), "triangle"), ((50, 50, 55), "rectangle"),
             ((40, 120, 200), "ellipse"), ((200, 40, 120), "rectangle")]
    counts: dict[str, int] = {}
    k = len(classes)
    for ci, name in enumerate(classes):
        n = max(2, int(round(per_class / (imbalance ** (ci / max(1, k - 1))))))
        counts[name] = n
        colour, shape = looks[ci % len(looks)]
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        for j in range(n):
            bg = rng.normal(90, 25, (size // 8, size // 8, 3)).clip(0, 255).astype(np.uint8)
            img = Image.fromarray(bg).resize((size, size), Image.BILINEAR)
            draw = ImageDraw.Draw(img)
            s = size * float(rng.uniform(0.35, 0.6))
            x, y = float(rng.uniform(0, size - s)), float(rng.uniform(0, size - s))
            c = tuple(int(v + rng.integers(-15, 16)) for v in colour)
            if shape == "ellipse":
                draw.ellipse([x, y, x + s, y + s * 0.7], fill=c)
            elif shape == "triangle":
                draw.polygon([(x, y + s), (x + s / 2, y), (x + s, y + s)], fill=c)
            else:
                draw.rectangle([x, y, x + s, y + s * 0.6], fill=c)
            img.save(d / f"{name}_{j:04d}.jpg", quality=92)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="kind", required=True)
    a = sub.add_parser("aerial", help="aerial survey detection set")
    a.add_argument("--out", type=Path, required=True)
    a.add_argument("--images", type=int, default=12)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--width", type=int, default=2000)
    a.add_argument("--height", type=int, default=1500)
    a.add_argument("--animals", type=int, nargs=2, default=(6, 22), metavar=("LO", "HI"),
                   help="animals per non-empty image: at least LO, fewer than HI")
    a.add_argument("--empty-every", type=int, default=6, help="every Nth image is empty (0: none)")
    c = sub.add_parser("camtrap", help="camera-trap-like classification image folder")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--per-class", type=int, default=40)
    c.add_argument("--imbalance", type=float, default=1.0)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--size", type=int, default=96)
    args = ap.parse_args(argv)
    if args.kind == "aerial":
        truth = make_aerial(args.out, args.images, args.seed, args.width, args.height,
                            empty_every=args.empty_every, animals=tuple(args.animals))
        n = sum(len(r["boxes"]) for r in truth["images"])
        print(f"{len(truth['images'])} images, {n} animals in {args.out}", file=sys.stderr)
    else:
        counts = make_camtrap(args.out, args.per_class, args.imbalance, args.seed, args.size)
        print(f"{counts} in {args.out}", file=sys.stderr)
    print(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
