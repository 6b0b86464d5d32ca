"""Pictures of a model's mistakes, cut from the whole images, worst first.

Detection (`wt-eval detect`), at the command's score threshold and IoU, with
COCO's greedy class-aware matching (the one the metrics use):
- `errors_false_positives.png`: detections that match no animal of their
  class, highest score first;
- `errors_missed.png`: animals no detection of their class found, largest first;
- per image: true and predicted counts, their difference, false positives and
  missed animals (`errors_per_image`, written to counts.csv and the manifest).
Each crop is the box with context around it (the box's own size on each side,
at least 48 pixels), read through wt_core.raster (a raster window by window),
the error's box drawn thick (red: false positive, orange: missed) and the other
side's boxes in the crop drawn thin (ground truth green, detections red), with
a caption: class and score, or class and size.

Classification (`wt-eval classify`): `errors_confident.png`, one row per
(true, predicted) class pair, most frequent pair first, its most confident
wrong images left to right.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from wt_core.errors import BadInput
from wt_core.raster import open_image, overview, read_padded

from wt_eval.data import GroundTruth, Predictions
from wt_eval.matching import match

CELL = 160
CAPTION = 28
COLS = 8
FP_COLOUR, MISSED_COLOUR, GT_COLOUR = (220, 30, 30), (255, 150, 0), (40, 200, 60)


@dataclass
class Errors:
    """False positives and missed animals at one score threshold and IoU."""

    fp: np.ndarray
    """Indices of detections (score >= threshold) that match nothing, highest score first."""
    missed: np.ndarray
    """Indices of ground-truth boxes no kept detection matched, largest first."""
    per_image: np.ndarray
    """(images, 5): true, predicted, error (predicted - true), false positives, missed."""

    columns = ["true", "predicted", "error", "false_positives", "missed"]


def find_errors(gt: GroundTruth, pred: Predictions, score: float, iou: float) -> Errors:
    keep = np.flatnonzero(pred.score >= score)
    first = match(gt.img, gt.cls, gt.xyxy, pred.img[keep], pred.cls[keep], pred.xyxy[keep], pred.score[keep], iou)
    fp = keep[first < 0]
    fp = fp[np.argsort(-pred.score[fp], kind="stable")]
    found = np.zeros(len(gt.cls), bool)
    found[first[first >= 0]] = True
    missed = np.flatnonzero(~found)
    area = (gt.xyxy[missed, 2] - gt.xyxy[missed, 0]) * (gt.xyxy[missed, 3] - gt.xyxy[missed, 1])
    missed = missed[np.argsort(-area, kind="stable")]
    n = gt.n_images
    true_n = np.bincount(gt.img, minlength=n)
    pred_n = np.bincount(pred.img[keep], minlength=n)
    table = np.stack([true_n, pred_n, pred_n - true_n, np.bincount(pred.img[fp], minlength=n),
                      np.bincount(gt.img[missed], minlength=n)], axis=1)
    return Errors(fp, missed, table)


def context_window(box: np.ndarray, margin: int = 48) -> tuple[int, int, int, int]:
    """A square around an xyxy box: the box and its own size (at least `margin` px) on each side."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    pad = max(side, margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = side / 2 + pad
    return int(np.floor(cx - half)), int(np.floor(cy - half)), int(np.ceil(cx + half)), int(np.ceil(cy + half))


def _font(size: int = 11):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def _crops(paths: list[Path], wanted: list[tuple[int, tuple[int, int, int, int]]]) -> dict[int, np.ndarray | None]:
    """The pixels of each (image index, window), each image opened once."""
    by_image: dict[int, list[tuple[int, tuple[int, int, int, int]]]] = defaultdict(list)
    for rank, (i, win) in enumerate(wanted):
        by_image[i].append((rank, win))
    out: dict[int, np.ndarray | None] = {}
    for i, items in by_image.items():
        try:
            src = open_image(paths[i])
        except BadInput:  # metrics need no pixels: an image that is gone leaves a blank cell, not a failed evaluation
            out.update({rank: None for rank, _ in items})
            continue
        with src:
            for rank, win in items:
                out[rank] = read_padded(src, win)
    return out


def _sheet(title: str, n: int):
    from PIL import Image, ImageDraw

    cols = min(COLS, max(n, 1))
    rows = max(1, int(np.ceil(n / cols)))
    sheet = Image.new("RGB", (max(560, cols * (CELL + 6) + 6), 30 + rows * (CELL + CAPTION + 6)), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 7), title, fill=(0, 0, 0), font=_font(14))
    return sheet, draw, cols


def _cell_origin(k: int, cols: int) -> tuple[int, int]:
    return 6 + (k % cols) * (CELL + 6), 30 + (k // cols) * (CELL + CAPTION + 6)


def _draw_crop(sheet, draw, k: int, cols: int, crop: np.ndarray | None, win, main: np.ndarray, main_colour,
               others: list[tuple[np.ndarray, tuple[int, int, int]]], caption: list[str]) -> dict:
    from PIL import Image

    ox, oy = _cell_origin(k, cols)
    s = CELL / (win[2] - win[0])
    if crop is None:
        draw.rectangle([ox, oy, ox + CELL - 1, oy + CELL - 1], fill=(200, 200, 200))
        draw.text((ox + 4, oy + 4), "image not found", fill=(0, 0, 0), font=_font(11))
    else:
        sheet.paste(Image.fromarray(crop[:, :, ::-1]).resize((CELL, CELL), Image.Resampling.BILINEAR), (ox, oy))

    def rect(b, colour, width):
        x0, y0 = ox + (b[0] - win[0]) * s, oy + (b[1] - win[1]) * s
        x1, y1 = ox + (b[2] - win[0]) * s, oy + (b[3] - win[1]) * s
        cx0, cy0, cx1, cy1 = max(ox, x0), max(oy, y0), min(ox + CELL - 1, x1), min(oy + CELL - 1, y1)
        if cx1 >= cx0 and cy1 >= cy0:
            draw.rectangle([cx0, cy0, cx1, cy1], outline=colour, width=width)
        return [x0, y0, x1, y1]

    for b, colour in others:
        rect(b, colour, 1)
    where = rect(main, main_colour, 3)
    for j, line in enumerate(caption):
        draw.text((ox + 1, oy + CELL + 2 + 12 * j), line[:CELL // 6], fill=(20, 20, 20), font=_font(11))
    return {"cell": [ox, oy], "box_on_sheet": [round(v, 1) for v in where]}


def _others(boxes: np.ndarray, img: np.ndarray, i: int, win, colour) -> list[tuple[np.ndarray, tuple]]:
    sel = np.flatnonzero(img == i)
    inside = sel[(boxes[sel, 2] > win[0]) & (boxes[sel, 0] < win[2]) & (boxes[sel, 3] > win[1]) & (boxes[sel, 1] < win[3])]
    return [(boxes[j], colour) for j in inside]


def detection_gallery(directory: Path, gt: GroundTruth, pred: Predictions, errors: Errors, image_root: Path,
                      score: float, limit: int = 48) -> dict[str, dict]:
    """Write errors_false_positives.png and errors_missed.png; returns {file: {count, shown, items}}."""
    paths = [image_root / im["file_name"] for im in gt.images]
    kept = pred.score >= score
    out: dict[str, dict] = {}
    pxyxy = pred.xyxy
    for name, idx, title, colour in (
            ("errors_false_positives.png", errors.fp, "False positives, highest score first", FP_COLOUR),
            ("errors_missed.png", errors.missed, "Missed animals, largest first", MISSED_COLOUR)):
        shown = idx[:limit]
        is_fp = name.startswith("errors_false")
        boxes = pxyxy[shown] if is_fp else gt.xyxy[shown]
        imgs = pred.img[shown] if is_fp else gt.img[shown]
        windows = [context_window(b) for b in boxes]
        crops = _crops(paths, [(int(i), w) for i, w in zip(imgs, windows, strict=True)])
        sheet, draw, cols = _sheet(f"{title} ({len(idx)} at score >= {score:g}; {len(shown)} shown)", len(shown))
        items = []
        for k, (j, i, b, win) in enumerate(zip(shown, imgs, boxes, windows, strict=True)):
            file = Path(gt.images[i]["file_name"]).name
            if is_fp:
                others = _others(gt.xyxy, gt.img, i, win, GT_COLOUR)
                caption = [f"{gt.classes[pred.cls[j]]} {pred.score[j]:.2f}", file]
            else:
                others = _others(pxyxy[kept], pred.img[kept], i, win, FP_COLOUR)
                caption = [f"{gt.classes[gt.cls[j]]} {b[2] - b[0]:.0f}x{b[3] - b[1]:.0f}", file]
            where = _draw_crop(sheet, draw, k, cols, crops[k], win, b, colour, others, caption)
            items.append({"image_id": int(gt.image_ids[i]), "file_name": gt.images[i]["file_name"],
                          "class": gt.classes[int(pred.cls[j] if is_fp else gt.cls[j])],
                          "bbox": [round(float(v), 2) for v in b],
                          **({"score": round(float(pred.score[j]), 4)} if is_fp else {}), **where})
        sheet.save(directory / name)
        out[name] = {"count": int(len(idx)), "shown": len(shown), "items": items}
    return out


def classification_gallery(path: Path, images: list[dict], image_root: Path, target: np.ndarray, pred: np.ndarray,
                           confidence: np.ndarray, classes: list[str], per_pair: int = 6,
                           pairs: int = 12) -> dict:
    """The most confident wrong images per (true, predicted) pair, one row per pair, most frequent pair first."""
    wrong = np.flatnonzero(target != pred)
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in wrong[np.argsort(-confidence[wrong], kind="stable")]:
        groups[(int(target[i]), int(pred[i]))].append(int(i))
    order = sorted(groups, key=lambda p: (-len(groups[p]), p))[:pairs]
    from PIL import Image, ImageDraw

    cols = max(1, min(per_pair, max((len(groups[p]) for p in order), default=1)))
    label_w = 150
    rows = max(1, len(order))
    sheet = Image.new("RGB", (label_w + cols * (CELL + 6) + 6, 30 + rows * (CELL + CAPTION + 6)), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 7), f"Most confident mistakes ({len(wrong)} wrong of {len(target)}), per true -> predicted pair",
              fill=(0, 0, 0), font=_font(14))
    rows_out = []
    for r, (t, p) in enumerate(order):
        y = 30 + r * (CELL + CAPTION + 6)
        draw.text((6, y + CELL // 2 - 14), f"{classes[t]}\n-> {classes[p]}\n({len(groups[(t, p)])})", fill=(0, 0, 0),
                  font=_font(13))
        items = []
        for c, i in enumerate(groups[(t, p)][:per_pair]):
            x = label_w + c * (CELL + 6)
            try:
                with open_image(image_root / images[i]["file_name"]) as src:
                    pixels, _ = overview(src, CELL * 2)
            except BadInput:
                pixels = np.full((CELL, CELL, 3), 200, np.uint8)
            h, w = pixels.shape[:2]
            fit = CELL / max(h, w)
            thumb = Image.fromarray(pixels[:, :, ::-1]).resize((max(1, round(w * fit)), max(1, round(h * fit))))
            sheet.paste(thumb, (x + (CELL - thumb.width) // 2, y + (CELL - thumb.height) // 2))
            draw.rectangle([x, y, x + CELL - 1, y + CELL - 1], outline=FP_COLOUR, width=2)
            draw.text((x + 1, y + CELL + 2), f"{confidence[i]:.2f} {Path(images[i]['file_name']).name}"[:CELL // 6],
                      fill=(20, 20, 20), font=_font(11))
            items.append({"image_id": images[i]["id"], "file_name": images[i]["file_name"],
                          "confidence": round(float(confidence[i]), 4), "cell": [x, y]})
        rows_out.append({"true": classes[t], "predicted": classes[p], "count": len(groups[(t, p)]), "items": items})
    sheet.save(path)
    return {"wrong": int(len(wrong)), "pairs": rows_out}
