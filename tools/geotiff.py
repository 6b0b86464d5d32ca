"""Synthetic orthomosaics: a georeferenced GeoTIFF of any size, written block row by block row, with animals.

    python tools/geotiff.py --out DIR [--width 30000] [--height 30000] [--animals 400] [--dtype uint8]
                            [--layout tiled|striped] [--texture flat|smooth] [--bigtiff] [--seed 0]

Writes DIR/ortho.tif (UTM zone 36S, 5 cm pixels, origin 500000 E, 9000000 N),
DIR/ortho.geojson (each animal as a Polygon in map coordinates, property
`label`), DIR/ortho.csv (the same boxes in map coordinates: a `crs` column) and
DIR/truth.json (boxes in pixels, for tests). Memory stays at one block row
whatever the size. `flat` ground is one colour (compresses to almost nothing:
for memory tests); `smooth` ground varies slowly (for throughput benchmarks:
a real decode and a real JPEG encode per tile).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

CLASSES = ["elephant", "giraffe", "zebra"]
COLOURS = {"elephant": (95, 92, 90), "giraffe": (214, 160, 60), "zebra": (245, 245, 245)}
SIZES = {"elephant": (40, 70), "giraffe": (26, 42), "zebra": (14, 24)}
CRS = "EPSG:32736"
ORIGIN = (500000.0, 9000000.0)
PIXEL = 0.05


def transform():
    from affine import Affine

    return Affine(PIXEL, 0.0, ORIGIN[0], 0.0, -PIXEL, ORIGIN[1])


def to_map(col: float, row: float) -> tuple[float, float]:
    """Map coordinates of a pixel position (pixel corners) in the generated rasters."""
    return ORIGIN[0] + col * PIXEL, ORIGIN[1] - row * PIXEL


def make_geotiff(out: Path, width: int = 30000, height: int = 30000, animals: int = 400, seed: int = 0,
                 dtype: str = "uint8", layout: str = "tiled", texture: str = "flat", bigtiff: bool = False,
                 bands: int = 3, block: int = 512) -> dict:
    """Write the raster and its annotations; returns the truth ({path, boxes: [{label, bbox xywh px}]})."""
    import rasterio

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(animals):
        label = CLASSES[int(rng.integers(len(CLASSES)))]
        lo, hi = SIZES[label]
        w, h = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1) * 0.6) + 4
        x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        boxes.append({"label": label, "bbox": [x, y, w, h]})
    scale = 257 if dtype == "uint16" else 1
    profile = {"driver": "GTiff", "width": width, "height": height, "count": bands, "dtype": dtype, "crs": CRS,
               "transform": transform(), "compress": "deflate", "predictor": 2, "BIGTIFF": "YES" if bigtiff else "IF_SAFER"}
    rows = block if layout == "tiled" else 16
    if layout == "tiled":
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    else:
        profile.update(tiled=False, blockysize=rows)
    if bands >= 3:
        profile["photometric"] = "RGB" if dtype == "uint8" else None
    profile = {k: v for k, v in profile.items() if v is not None}
    ground = np.array([120, 110, 80, 200][:bands], dtype=np.float32)[:, None, None]
    xs = np.arange(width, dtype=np.float32)[None, :]
    path = out / "ortho.tif"
    with rasterio.open(path, "w", **profile) as dst:
        for y0 in range(0, height, rows):
            h = min(rows, height - y0)
            if texture == "smooth":  # separable waves: outer products, no sine per pixel
                ys = np.arange(y0, y0 + h, dtype=np.float32)[:, None]
                wave = (18 * np.sin(xs / 97.0)) * np.cos(ys / 131.0) + 6 * (
                    np.sin(xs / 23.0) * np.cos(ys / 23.0) + np.cos(xs / 23.0) * np.sin(ys / 23.0))
                strip = (np.clip(ground + wave[None], 0, 255) * scale).astype(dtype)
            else:
                strip = np.empty((bands, h, width), dtype)
                strip[:] = (ground * scale).astype(dtype)
            for b in boxes:
                x, y, w, bh = b["bbox"]
                if y + bh <= y0 or y >= y0 + h:
                    continue
                colour = (np.array([*COLOURS[b["label"]], 255][:bands], np.float32) * scale).astype(dtype)
                strip[:, max(y, y0) - y0:min(y + bh, y0 + h) - y0, x:x + w] = colour[:, None, None]
            dst.write(strip, window=((y0, y0 + h), (0, width)))
    t = transform()
    features, lines = [], []
    for b in boxes:
        x, y, w, h = b["bbox"]
        (mx0, my0), (mx1, my1) = to_map(x, y), to_map(x + w, y + h)
        ring = [[mx0, my0], [mx1, my0], [mx1, my1], [mx0, my1], [mx0, my0]]
        features.append({"type": "Feature", "properties": {"label": b["label"]},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
        lines.append(["ortho.tif", min(mx0, mx1), min(my0, my1), max(mx0, mx1), max(my0, my1), b["label"], CRS])
    (out / "ortho.geojson").write_text(json.dumps({"type": "FeatureCollection", "crs": {
        "type": "name", "properties": {"name": CRS}}, "features": features}))
    with open(out / "ortho.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_path", "xmin", "ymin", "xmax", "ymax", "label", "crs"])
        w.writerows(lines)
    truth = {"path": str(path), "width": width, "height": height, "crs": CRS, "transform": list(t)[:6], "boxes": boxes}
    (out / "truth.json").write_text(json.dumps(truth))
    return truth


def peak_rss_mb(cmd: list[str], **kw) -> tuple[subprocess.CompletedProcess, float]:
    """Run a command in a fresh Python that waits for it; the command's peak resident memory in MB (the largest
    process among it and its children, as getrusage(RUSAGE_CHILDREN) reports it)."""
    probe = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
             "sys.stderr.write('\\npeak_rss_kb=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", probe, *map(str, cmd)], capture_output=True, text=True, **kw)
    text, _, tail = proc.stderr.rpartition("\npeak_rss_kb=")
    proc.stderr = text
    return proc, int(tail.split()[0]) / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--width", type=int, default=30000)
    p.add_argument("--height", type=int, default=30000)
    p.add_argument("--animals", type=int, default=400)
    p.add_argument("--dtype", default="uint8", choices=["uint8", "uint16"])
    p.add_argument("--layout", default="tiled", choices=["tiled", "striped"])
    p.add_argument("--texture", default="flat", choices=["flat", "smooth"])
    p.add_argument("--bigtiff", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    make_geotiff(a.out, a.width, a.height, a.animals, a.seed, a.dtype, a.layout, a.texture, a.bigtiff)
    print(a.out / "ortho.tif")


if __name__ == "__main__":
    main()
