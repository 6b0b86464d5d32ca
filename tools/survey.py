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

`--realistic` draws a survey that fails the way real ones do (`realistic_survey`):
one class of animals 25-60 px long, dense and touching in colonies (boxes overlap
partly), low contrast to heterogeneous ground and light, and a site shift: the
train photos come from one site, the val photo and each test photo from other
sites (other ground, colour balance, light and density).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
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
    return _write_survey(out, rng, CLASSES, (("train", train), ("val", val), ("test", test)), width, height,
                         lambda split, i: (split, photo(rng, width, height, herds, distractors)))


def _write_survey(out: Path, rng: np.random.Generator, classes: list[str], splits: tuple[tuple[str, int], ...],
                  width: int, height: int, draw) -> dict:
    """Photos drawn by `draw(split, i) -> (site, (image, boxes))` written as images/, wildata/, truth.json."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    truth: dict = {"classes": classes, "images": [], "splits": {}}
    k = 0
    for split, n in splits:
        truth["splits"][split] = []
        for i in range(n):
            k += 1
            site, (img, boxes) = draw(split, i)
            rec = {"id": k, "file_name": f"{split}_{k:03d}.jpg", "width": width, "height": height,
                   "site": site, "flight": f"{site}-f0", "boxes": boxes}
            img.save(out / "images" / rec["file_name"], quality=92)
            truth["images"].append(rec)
            truth["splits"][split].append(k)
    write_wildata(out, truth)
    return truth


def write_wildata(out: Path, truth: dict) -> None:
    """`truth.json` and a WilData root (`wildata/`, one COCO JSON per split) for the photos in `out/images`:
    `truth` holds the classes, the image records (id, file_name, width, height, site, flight, boxes) and
    the ids of each split."""
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    ds = out / "wildata" / "datasets" / "survey"
    (ds / "annotations").mkdir(parents=True, exist_ok=True)
    for split, ids in truth["splits"].items():
        recs = [r for r in truth["images"] if r["id"] in ids]
        for rec in recs:
            _link(out / "images" / rec["file_name"], ds / "images" / split / rec["file_name"])
        (ds / "annotations" / f"{split}.json").write_text(json.dumps(_coco(truth, recs), indent=1))
    (ds / "dataset_info.json").write_text(json.dumps(
        {"name": "survey", "version": "1.0", "classes": [{"id": i + 1, "name": n} for i, n in enumerate(truth["classes"])],
         "splits": list(truth["splits"])}, indent=1))


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


# ---- the realistic survey: dense, low-contrast, one class, a site shift between the splits ----

REALISTIC_CLASSES = ["animal"]
GROUNDS = {  # name: (base colour, second tone, texture cell sizes)
    "dry_grass": ((168, 150, 96), (132, 118, 74), (90, 18)),
    "green_grass": ((92, 118, 62), (70, 92, 48), (120, 12)),
    "red_soil": ((150, 98, 70), (118, 80, 60), (70, 24)),
    "burnt": ((78, 72, 64), (104, 96, 82), (150, 30)),
    "sand": ((196, 180, 150), (170, 152, 122), (200, 40)),
}
ANIMAL_COATS = [(96, 78, 60), (128, 112, 92), (70, 60, 52), (150, 128, 100), (110, 100, 94)]


@dataclass
class Site:
    """What one site of a survey looks like: its ground, its light and how dense the animals are."""

    ground: str
    gain: tuple[float, float, float]
    """Colour balance: a gain per channel (RGB)."""
    brightness: float
    contrast: float
    """How much an animal's coat differs from the ground under it (0: the ground's colour, 1: its own)."""
    colonies: int
    """Colonies per megapixel."""
    per_colony: tuple[int, int]
    spread: float
    """A colony's spread, in animal lengths."""
    sun: float
    """The direction shadows fall, in radians."""


def draw_site(rng: np.random.Generator, ground: str | None = None) -> Site:
    """A site drawn at random (or on the named ground)."""
    g = ground or list(GROUNDS)[int(rng.integers(0, len(GROUNDS)))]
    return Site(ground=g, gain=tuple(float(v) for v in rng.uniform(0.85, 1.15, 3)),
                brightness=float(rng.uniform(0.75, 1.2)), contrast=float(rng.uniform(0.45, 0.75)),
                colonies=int(rng.integers(4, 10)), per_colony=(int(rng.integers(8, 16)), int(rng.integers(25, 50))),
                spread=float(rng.uniform(1.0, 2.2)), sun=float(rng.uniform(0, 2 * np.pi)))


def realistic_ground(rng: np.random.Generator, site: Site, w: int, h: int) -> np.ndarray:
    """Heterogeneous ground of the site's type (float RGB, before light): two tones, tufts, grain, a track."""
    base, second, (big, small) = GROUNDS[site.ground]
    base = np.array(base, np.float32) + rng.normal(0, 8, 3)
    second = np.array(second, np.float32) + rng.normal(0, 8, 3)
    mix = np.clip(_noise(rng, w, h, big * 3, 1.0) * 0.8 + 0.5 + _noise(rng, w, h, big, 0.4), 0, 1)[..., None]
    arr = base * (1 - mix) + second * mix
    arr += (_noise(rng, w, h, small, 12) + _noise(rng, w, h, 4, 7))[..., None]
    arr += rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    return arr


def _ellipse(cx: float, cy: float, a: float, b: float, angle: float, n: int = 24) -> list[tuple[float, float]]:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = a * np.cos(t), b * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    return [(float(cx + c * xi - s * yi), float(cy + s * xi + c * yi)) for xi, yi in zip(x, y, strict=True)]


def draw_realistic_animal(draw: ImageDraw.ImageDraw, rng: np.random.Generator, site: Site, under: np.ndarray,
                          cx: float, cy: float, length: float, angle: float) -> list[float]:
    """A low-contrast animal at any angle: cast shadow, body with a darker rim, head; its COCO box."""
    coat = np.array(ANIMAL_COATS[int(rng.integers(0, len(ANIMAL_COATS)))], np.float32) + rng.normal(0, 10, 3)
    coat = site.contrast * coat + (1 - site.contrast) * under  # the ground shows through: low contrast
    a, b = length / 2, length * float(rng.uniform(0.22, 0.32))
    off = length * 0.15
    sx, sy = off * np.cos(site.sun), off * np.sin(site.sun)
    draw.polygon(_ellipse(cx + sx, cy + sy, a, b, angle), fill=tuple(int(v) for v in under * 0.55))
    body = _ellipse(cx, cy, a, b, angle)
    draw.polygon(body, fill=tuple(int(np.clip(v, 0, 255)) for v in coat * 0.8))
    draw.polygon(_ellipse(cx, cy, a * 0.8, b * 0.7, angle), fill=tuple(int(np.clip(v, 0, 255)) for v in coat))
    hr = b * 0.75
    hx, hy = cx + np.cos(angle) * (a + hr * 0.4), cy + np.sin(angle) * (a + hr * 0.4)
    draw.ellipse([hx - hr, hy - hr, hx + hr, hy + hr], fill=tuple(int(np.clip(v, 0, 255)) for v in coat * 0.9))
    pts = np.array(body + [(hx - hr, hy - hr), (hx + hr, hy + hr)])
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    return [round(float(x0), 2), round(float(y0), 2), round(float(x1 - x0), 2), round(float(y1 - y0), 2)]


def _iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def realistic_photo(rng: np.random.Generator, site: Site, w: int, h: int, size: tuple[float, float] = (25, 60),
                    max_overlap: float = 0.25, distractors: float = 12.0) -> tuple[Image.Image, list[dict]]:
    """One photo of a site: colonies of touching animals (box IoU up to `max_overlap`), look-alike rocks and
    bushes (`distractors` per megapixel), uneven light; the image and its boxes."""
    arr = realistic_ground(rng, site, w, h)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    mp = w * h / 1e6
    for _ in range(rng.poisson(distractors * mp)):  # rocks and bushes of an animal's size, no head, no label
        cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        r = float(rng.uniform(*size)) / 2
        under = arr[int(min(cy, h - 1)), int(min(cx, w - 1))]
        tone = under * float(rng.uniform(0.6, 1.3))
        pts = _ellipse(cx, cy, r * float(rng.uniform(0.6, 1.0)), r * float(rng.uniform(0.5, 0.9)),
                       float(rng.uniform(0, np.pi)), 9)
        pts = [(x + float(rng.normal(0, r * 0.12)), y + float(rng.normal(0, r * 0.12))) for x, y in pts]
        draw.polygon(pts, fill=tuple(int(np.clip(v, 0, 255)) for v in tone))
    boxes: list[dict] = []
    for _ in range(max(1, rng.poisson(site.colonies * mp))):
        mean_len = float(rng.uniform(*size))
        ccx, ccy = float(rng.uniform(0.1 * w, 0.9 * w)), float(rng.uniform(0.1 * h, 0.9 * h))
        heading = float(rng.uniform(0, 2 * np.pi))
        for _ in range(int(rng.integers(*site.per_colony))):
            for _try in range(20):
                length = float(np.clip(rng.normal(mean_len, 6), *size))
                cx = ccx + float(rng.normal(0, site.spread * mean_len * 2))
                cy = ccy + float(rng.normal(0, site.spread * mean_len * 2))
                if not (length < cx < w - length and length < cy < h - length):
                    continue
                angle = heading + float(rng.normal(0, 0.6))
                r = length * 0.62
                cand = [cx - r, cy - r, 2 * r, 2 * r]
                if all(_iou(cand, b["bbox"]) <= max_overlap for b in boxes):
                    under = arr[int(cy), int(cx)]
                    boxes.append({"bbox": draw_realistic_animal(draw, rng, site, under, cx, cy, length, angle),
                                  "label": "animal"})
                    break
    out = np.asarray(img, np.float32)
    light = 1 + 0.25 * np.clip(_noise(rng, w, h, max(w, h) // 2, 1.0), -1.5, 1.5)  # uneven light, cloud shade
    out = out * light[..., None] * site.brightness * np.array(site.gain, np.float32)
    img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))
    return img, boxes


def realistic_survey(out: Path, train: int = 2, val: int = 1, test: int = 2, seed: int = 0, width: int = 1280,
                     height: int = 960, size: tuple[float, float] = (25, 60)) -> dict:
    """A survey with real surveys' troubles: the train photos from one site, the val photo from a second,
    each test photo from a site of its own (another ground, colour balance, light and density). Written
    like `make_survey` (images/, wildata/, truth.json with each photo's site)."""
    rng = np.random.default_rng(seed)
    grounds = list(rng.permutation(list(GROUNDS)))
    sites = {"train": draw_site(rng, grounds[0]), "val": draw_site(rng, grounds[1])}
    return _write_survey(out, rng, REALISTIC_CLASSES, (("train", train), ("val", val), ("test", test)), width, height,
                         lambda split, i: (f"{split}-{i}" if split == "test" else split,
                                           realistic_photo(rng, sites[split] if split in sites else
                                                           draw_site(rng, grounds[(2 + i) % len(grounds)]),
                                                           width, height, size)))


def pretrain_survey(out: Path, sites: int = 6, per_site: int = 2, seed: int = 1000, width: int = 1024,
                    height: int = 768, size: tuple[float, float] = (25, 60)) -> dict:
    """A survey of many other sites to pre-train on (a stand-in for COCO-pretrained weights, which cannot be
    downloaded here): `per_site` train photos from each of `sites` sites drawn at random (any ground, colour
    balance, light and density), one val photo of one more site, no test photo. Its seeds are not the
    benchmark's (0, 1), so no photo of the benchmark is drawn again."""
    rng = np.random.default_rng(seed)
    drawn = [draw_site(rng) for _ in range(sites + 1)]

    def draw(split: str, i: int) -> tuple[str, tuple[Image.Image, list[dict]]]:
        k = i // per_site if split == "train" else sites
        return f"site-{k}", realistic_photo(rng, drawn[k], width, height, size)

    return _write_survey(out, rng, REALISTIC_CLASSES, (("train", sites * per_site), ("val", 1)), width, height,
                         draw)


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
    ap.add_argument("--realistic", action="store_true",
                    help="one class of dense, touching, low-contrast animals and a site shift between the splits "
                         "(2 train photos, 1 val, 2 test by default; --herds and --distractors ignored)")
    args = ap.parse_args(argv)
    if args.realistic:
        truth = realistic_survey(args.out, args.train, args.val, args.test, args.seed, args.width, args.height)
        print(f"{len(truth['images'])} photos, animals per split {animals_per_split(truth)} in {args.out}",
              file=sys.stderr)
        print(args.out.resolve())
        return 0
    truth = make_survey(args.out, args.train, args.val, args.test, args.seed, args.width, args.height,
                        herds=tuple(args.herds), distractors=args.distractors)
    print(f"{len(truth['images'])} photos, animals per split {animals_per_split(truth)} in {args.out}",
          file=sys.stderr)
    print(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
