"""A synthetic aerial survey that looks like the real thing, for the small-data benchmark.

    python tools/survey.py --out DIR [--train 3] [--val 1] [--test 3] [--seed 0] [--width 2400] [--height 1800]

Textured ground (grass of several greens, bare soil patches, tracks, soft cloud
shadows), animals of 10-60 pixels in four classes, each with its body, head and
cast shadow, in loose herds, and look-alike distractors with no label: rocks
(grey, elephant-sized), bushes (dark, buffalo-sized), termite mounds (ochre,
antelope-sized) and pale stones (zebra-sized). A few large photos per split,
written as a WilData root (`wildata/`, one COCO JSON per split: train, val,
test) that `wt-data import --format wildata` reads, with `truth.json` beside.
The train photos are what `wt-data tile` cuts into 20-40 tiles; the val photo is
validated whole during training; the test photos are held out, evaluated whole.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).parent))
from synth import _coco, _link

CLASSES = ["elephant", "buffalo", "antelope", "zebra"]
# body length range (px), body colour, aspect (width / length), herd size range
LOOK = {
    "elephant": ((40, 60), (118, 112, 106), 0.55, (1, 4)),
    "buffalo": ((24, 36), (52, 42, 36), 0.55, (2, 6)),
    "antelope": ((12, 20), (176, 122, 64), 0.45, (2, 7)),
    "zebra": ((16, 26), (226, 224, 216), 0.45, (2, 6)),
}
# look-alikes of each class: rocks, bushes, termite mounds, pale stones (size range, colour)
DISTRACTORS = {
    "rock": ((34, 60), (122, 118, 112)),
    "bush": ((22, 40), (54, 58, 34)),
    "termite_mound": ((12, 22), (168, 118, 70)),
    "stone": ((14, 24), (212, 208, 196)),
}


def _noise(rng: np.random.Generator, w: int, h: int, cell: int, sigma: float) -> np.ndarray:
    g = rng.normal(0, sigma, (h // cell + 2, w // cell + 2)).astype(np.float32)
    img = Image.fromarray(g).resize((w + cell, h + cell), Image.BICUBIC)
    return np.asarray(img, dtype=np.float32)[:h, :w]


def ground(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """Grass of several greens with soil patches, tracks and soft cloud shadows."""
    grass = np.array([96, 112, 58], dtype=np.float32) + rng.normal(0, 6, 3)
    soil = np.array([150, 122, 88], dtype=np.float32) + rng.normal(0, 6, 3)
    tone = _noise(rng, w, h, 160, 1.0) + 0.5 * _noise(rng, w, h, 40, 1.0)
    soil_mask = np.clip((tone - 0.9) * 2.0, 0, 1)[..., None]
    arr = grass * (1 - soil_mask) + soil * soil_mask
    arr += (_noise(rng, w, h, 24, 10) + _noise(rng, w, h, 6, 6))[..., None]  # tufts
    arr += rng.normal(0, 5, (h, w, 1)).astype(np.float32)  # grain
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(1, 4))):  # tracks
        pts = [(float(rng.uniform(0, w)), float(rng.uniform(0, h)))]
        for _ in range(6):
            x, y = pts[-1]
            pts.append((x + float(rng.normal(0, w / 6)), y + float(rng.normal(0, h / 6))))
        draw.line(pts, fill=tuple(int(v) for v in soil + 10), width=int(rng.integers(4, 9)), joint="curve")
    arr = np.asarray(img.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32)
    shade = np.clip(_noise(rng, w, h, 400, 1.0), -1.5, 1.5)  # cloud shadows
    arr *= (1 - 0.18 * np.clip(shade, 0, None))[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], amount: int = 14) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def draw_animal(draw: ImageDraw.ImageDraw, rng: np.random.Generator, cls: str, x: float, y: float,
                length: float, horizontal: bool) -> list[float]:
    """Body, head, legs' shade and cast shadow; returns the COCO box [x, y, w, h]."""
    _, colour, aspect, _ = LOOK[cls]
    body = _jitter(rng, colour)
    w, h = (length, length * aspect) if horizontal else (length * aspect, length)
    head = length * 0.28
    # the head sits at one end of the long axis, inside the box
    if horizontal:
        bx0, by0, bx1, by1 = x + head * 0.6, y, x + w, y + h
        hx, hy = (x, y + h / 2 - head / 2) if rng.integers(0, 2) else (x + w - head, y + h / 2 - head / 2)
        if hx > x:
            bx0, bx1 = x, x + w - head * 0.6
    else:
        bx0, by0, bx1, by1 = x, y + head * 0.6, x + w, y + h
        hx, hy = (x + w / 2 - head / 2, y) if rng.integers(0, 2) else (x + w / 2 - head / 2, y + h - head)
        if hy > y:
            by0, by1 = y, y + h - head * 0.6
    off = max(2.0, length * 0.12)
    draw.ellipse([bx0 + off, by0 + off, bx1 + off, by1 + off], fill=(30, 34, 22))  # cast shadow
    draw.ellipse([bx0, by0, bx1, by1], fill=body)
    draw.ellipse([hx, hy, hx + head, hy + head], fill=_jitter(rng, body, 8))
    if cls == "zebra":
        n = 4
        for k in range(1, n + 1):
            if horizontal:
                sx = bx0 + (bx1 - bx0) * k / (n + 1)
                draw.line([sx, by0 + 1, sx, by1 - 1], fill=(20, 20, 20), width=max(1, int(length / 12)))
            else:
                sy = by0 + (by1 - by0) * k / (n + 1)
                draw.line([bx0 + 1, sy, bx1 - 1, sy], fill=(20, 20, 20), width=max(1, int(length / 12)))
    elif cls == "antelope":  # pale belly
        draw.ellipse([bx0 + (bx1 - bx0) * 0.3, by0 + (by1 - by0) * 0.3, bx1 - (bx1 - bx0) * 0.3,
                      by1 - (by1 - by0) * 0.3], fill=_jitter(rng, (214, 186, 150), 8))
    return [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]


def draw_distractor(draw: ImageDraw.ImageDraw, rng: np.random.Generator, kind: str, x: float, y: float,
                    size: float) -> None:
    """An unlabelled look-alike: irregular outline, animal size and colour, a softer shadow, no head."""
    _, colour = DISTRACTORS[kind]
    c = _jitter(rng, colour)
    n = 9
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rx, ry = size / 2, size / 2 * float(rng.uniform(0.55, 0.95))
    r = rng.uniform(0.75, 1.0, n)
    cx, cy = x + rx, y + ry
    pts = [(cx + rx * r[i] * np.cos(a), cy + ry * r[i] * np.sin(a)) for i, a in enumerate(ang)]
    off = size * 0.08
    draw.polygon([(px + off, py + off) for px, py in pts], fill=(44, 48, 30))
    draw.polygon(pts, fill=c)
    if kind == "bush":
        for _ in range(4):
            px, py = pts[int(rng.integers(0, n))]
            s = size * 0.25
            draw.ellipse([px - s / 2, py - s / 2, px + s / 2, py + s / 2], fill=_jitter(rng, c, 10))


def _free(cand: list[float], placed: list[list[float]]) -> bool:
    return all(cand[2] < p[0] or p[2] < cand[0] or cand[3] < p[1] or p[3] < cand[1] for p in placed)


def photo(rng: np.random.Generator, w: int, h: int, herds: tuple[int, int], distractors: int
          ) -> tuple[Image.Image, list[dict]]:
    """One survey photo: ground, herds of animals, look-alike distractors; returns the image and its boxes."""
    img = ground(rng, w, h)
    draw = ImageDraw.Draw(img)
    placed: list[list[float]] = []
    boxes: list[dict] = []
    for _ in range(int(rng.integers(*herds))):
        cls = CLASSES[int(rng.integers(0, len(CLASSES)))]
        (lo, hi), _, aspect, (n0, n1) = LOOK[cls]
        hx, hy = float(rng.uniform(80, w - 80)), float(rng.uniform(80, h - 80))
        for _ in range(int(rng.integers(n0, n1 + 1))):
            for _try in range(30):
                length = float(rng.uniform(lo, hi))
                horizontal = bool(rng.integers(0, 2))
                bw, bh = (length, length * aspect) if horizontal else (length * aspect, length)
                x = float(np.clip(hx + rng.normal(0, 3 * hi), 2, w - bw - 8))
                y = float(np.clip(hy + rng.normal(0, 3 * hi), 2, h - bh - 8))
                cand = [x - 3, y - 3, x + bw + 8, y + bh + 8]
                if _free(cand, placed):
                    placed.append(cand)
                    boxes.append({"bbox": draw_animal(draw, rng, cls, x, y, length, horizontal), "label": cls})
                    break
    kinds = list(DISTRACTORS)
    for _ in range(distractors):
        kind = kinds[int(rng.integers(0, len(kinds)))]
        lo, hi = DISTRACTORS[kind][0]
        for _try in range(30):
            size = float(rng.uniform(lo, hi))
            x, y = float(rng.uniform(2, w - size - 8)), float(rng.uniform(2, h - size - 8))
            cand = [x - 3, y - 3, x + size + 8, y + size + 8]
            if _free(cand, placed):
                placed.append(cand)
                draw_distractor(draw, rng, kind, x, y, size)
                break
    return img.filter(ImageFilter.GaussianBlur(0.5)), boxes


def make_survey(out: Path, train: int = 3, val: int = 1, test: int = 3, seed: int = 0, width: int = 2400,
                height: int = 1800, herds: tuple[int, int] = (2, 5), distractors: int = 40) -> dict:
    """Write the survey under `out` (images/, wildata/, truth.json); returns the ground truth with splits."""
    rng = np.random.default_rng(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    truth: dict = {"classes": CLASSES, "images": [], "splits": {}}
    k = 0
    for split, n in (("train", train), ("val", val), ("test", test)):
        truth["splits"][split] = []
        for _ in range(n):
            k += 1
            img, boxes = photo(rng, width, height, herds, distractors)
            rec = {"id": k, "file_name": f"{split}_{k:03d}.jpg", "width": width, "height": height,
                   "site": split, "flight": f"{split}-f0", "boxes": boxes}
            img.save(out / "images" / rec["file_name"], quality=92)
            truth["images"].append(rec)
            truth["splits"][split].append(k)
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    ds = out / "wildata" / "datasets" / "survey"
    (ds / "annotations").mkdir(parents=True, exist_ok=True)
    for split, ids in truth["splits"].items():
        recs = [r for r in truth["images"] if r["id"] in ids]
        for rec in recs:
            _link(out / "images" / rec["file_name"], ds / "images" / split / rec["file_name"])
        (ds / "annotations" / f"{split}.json").write_text(json.dumps(_coco(truth, recs), indent=1))
    (ds / "dataset_info.json").write_text(json.dumps(
        {"name": "survey", "version": "1.0", "classes": [{"id": i + 1, "name": n} for i, n in enumerate(CLASSES)],
         "splits": list(truth["splits"])}, indent=1))
    return truth


def animals_per_split(truth: dict) -> dict[str, int]:
    """The number of animals in each split of a survey's ground truth."""
    return {s: sum(len(r["boxes"]) for r in truth["images"] if r["id"] in ids) for s, ids in truth["splits"].items()}


def make_background(out: Path, photos: int = 2, seed: int = 100, width: int = 2400, height: int = 1800,
                    distractors: int = 40) -> list[Path]:
    """Photos of the same survey with no animal on them (ground and look-alikes only), as a user adds them
    for `wt-yolo mine --background`; returns their paths."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(photos):
        img, _ = photo(rng, width, height, (0, 1), distractors)
        paths.append(out / f"background_{k + 1:03d}.jpg")
        img.save(paths[-1], quality=92)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--train", type=int, default=3)
    ap.add_argument("--val", type=int, default=1)
    ap.add_argument("--test", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--width", type=int, default=2400)
    ap.add_argument("--height", type=int, default=1800)
    ap.add_argument("--distractors", type=int, default=40)
    ap.add_argument("--herds", type=int, nargs=2, default=(2, 5), metavar=("LO", "HI"), help="herds per photo")
    args = ap.parse_args(argv)
    truth = make_survey(args.out, args.train, args.val, args.test, args.seed, args.width, args.height,
                        herds=tuple(args.herds), distractors=args.distractors)
    print(f"{len(truth['images'])} photos, animals per split {animals_per_split(truth)} in {args.out}",
          file=sys.stderr)
    print(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
