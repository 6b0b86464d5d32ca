"""wt-data tile against the bound of this machine: the same images decoded and the same tiles encoded.

    python tools/bench/tiling.py [--images 8] [--width 4000] [--height 3000] [--size 640] [--overlap 0.2] [--quick]

Generates survey-like JPEGs, imports them, then measures, with 1 process and
with one per core:
- bound: OpenCV decodes each image and JPEG-encodes every tile of the same grid
  in memory (nothing else: no planning, no files written);
- wt-data: `wt_data.tile` (the function the CLI runs) writing every tile of the
  same grid, with its COCO JSON and manifest.
Prints megapixels of source image per second and the ratio wt-data / bound.
Goal: at least 0.8 with all cores.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))


def _bound_one(job: tuple[str, int, float, int]) -> int:
    import cv2
    from wt_core.geometry import tile_grid

    cv2.setNumThreads(1)
    path, size, overlap, quality = job
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    n = 0
    for x0, y0, x1, y1 in tile_grid(w, h, size, size, overlap):
        ok, buf = cv2.imencode(".jpg", img[y0:y1, x0:x1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        n += int(ok)
    return n


def bound(paths: list[Path], size: int, overlap: float, quality: int, workers: int) -> tuple[float, int]:
    jobs = [(str(p), size, overlap, quality) for p in paths]
    t = time.perf_counter()
    if workers == 1:
        n = sum(map(_bound_one, jobs))
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            n = sum(pool.imap_unordered(_bound_one, jobs))
    return time.perf_counter() - t, n


def ours(ds: Path, out: Path, size: int, overlap: float, quality: int, workers: int) -> tuple[float, int]:
    from wt_data.tiling import tile

    t = time.perf_counter()
    m = tile(str(ds), size=size, overlap=overlap, empty_ratio=None, max_empty_per_image=None, partial_as_empty=True,
             quality=quality,
             workers=workers, out=out, overwrite=True)
    return time.perf_counter() - t, sum(s.images for s in m.splits.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--size", type=int, default=640)
    ap.add_argument("--overlap", type=float, default=0.2)
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--quick", action="store_true", help="4 images of 2400x1800")
    a = ap.parse_args(argv)
    if a.quick:
        a.images, a.width, a.height = 4, 2400, 1800
    import synth
    from wt_core.console import setup
    from wt_data.importing import import_

    setup(False)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="wt-bench-tiling-") as tmp:
        tmp = Path(tmp)
        truth = synth.make_aerial(tmp / "src", images=a.images, width=a.width, height=a.height, seed=1)
        mpix = sum(r["width"] * r["height"] for r in truth["images"]) / 1e6
        ds = import_(tmp / "src" / "coco.json", check="header", out=tmp / "ds")
        paths = [tmp / "src" / "images" / r["file_name"] for r in truth["images"]]
        rows = []
        for workers in sorted({1, cores}):
            tb, nb = bound(paths, a.size, a.overlap, a.quality, workers)
            to, no = ours(ds.root, tmp / f"tiles{workers}", a.size, a.overlap, a.quality, workers)
            assert nb == no, f"bound made {nb} tiles, wt-data {no}"
            rows.append((workers, nb, mpix / tb, mpix / to, tb / to))
    print(f"tiling {a.images} images ({mpix:.1f} MP), tiles {a.size} px, overlap {a.overlap}, {cores} cores")
    print(f"{'processes':>9}  {'tiles':>6}  {'bound MP/s':>10}  {'wt-data MP/s':>12}  {'ratio':>5}")
    for w, n, b, o, r in rows:
        print(f"{w:>9}  {n:>6}  {b:>10.1f}  {o:>12.1f}  {r:>5.2f}")
    print(f"goal: ratio >= 0.80 with all cores: {'met' if rows[-1][4] >= 0.8 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
