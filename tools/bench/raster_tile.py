"""wt-data tile on an orthomosaic against the bound of this machine: the same windows read, the same tiles encoded.

    python tools/bench/raster_tile.py [--side 30000] [--size 640] [--overlap 0.2] [--quick]

Generates a --side x --side RGB GeoTIFF (tiled 512, deflate, slowly varying
ground, so every block really decodes and every tile really encodes), imports
it, then measures, with 1 process and with one per core:
- bound: rasterio reads each row band of tiles once (the same windows) and
  OpenCV JPEG-encodes every tile of the same grid in memory (nothing else: no
  planning, no files written, no dataset);
- wt-data: `wt-data tile` (the CLI, every tile kept) writing every tile, its COCO
  JSON and manifest, with its peak memory: the sum of the resident memory of
  all its processes, sampled every 0.1 s, and the largest single process.
Prints megapixels of raster per second and the ratio wt-data / bound.
Goal: at least 0.8 with all cores, peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))


def _bound_rows(job: tuple[str, list[tuple[int, int, int, int]], int]) -> int:
    import cv2
    from wt_core.raster import open_image, read_windows

    cv2.setNumThreads(1)
    path, wins, quality = job
    n = 0
    with open_image(path) as src:
        for _, crop in read_windows(src, wins):
            ok, _ = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
            n += int(ok)
    return n


def bound(path: Path, side: int, size: int, overlap: float, quality: int, workers: int) -> tuple[float, int]:
    from wt_core.geometry import tile_grid

    rows: dict[int, list] = {}
    for w in tile_grid(side, side, size, size, overlap):
        rows.setdefault(w[1], []).append(w)
    jobs = [(str(path), wins, quality) for wins in rows.values()]
    t = time.perf_counter()
    if workers == 1:
        n = sum(map(_bound_rows, jobs))
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            n = sum(pool.imap_unordered(_bound_rows, jobs))
    return time.perf_counter() - t, n


def _tree_rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of a process and all its descendants: (sum, largest), in MB."""
    todo, seen, sizes = [pid], set(), []
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                kb = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
            sizes.append(kb / 1024)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return sum(sizes), max(sizes, default=0.0)


def ours(ds: Path, out: Path, size: int, overlap: float, quality: int, workers: int) -> tuple[float, int, float, float]:
    cmd = [str(Path(sys.executable).parent / "wt-data"), "tile", "--dataset", str(ds), "--size", str(size),
           "--overlap", str(overlap), "--empty_ratio", "null", "--max_empty_per_image", "null",
           "--partial_as_empty", "true", "--quality", str(quality), "--workers", str(workers), "--out", str(out),
           "--overwrite", "true"]
    peak = [0.0, 0.0]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        while proc.poll() is None:
            total, largest = _tree_rss_mb(proc.pid)
            peak[0], peak[1] = max(peak[0], total), max(peak[1], largest)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    elapsed = time.perf_counter() - t
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"wt-data tile failed:\n{stderr[-3000:]}")
    m = json.loads(Path(stdout.strip()).read_text())
    return elapsed, sum(s["images"] for s in m["splits"].values()), peak[0], peak[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=30000)
    ap.add_argument("--size", type=int, default=640)
    ap.add_argument("--overlap", type=float, default=0.2)
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--workers", type=int, nargs="*", help="process counts to measure (default: 1 and one per core)")
    ap.add_argument("--quick", action="store_true", help="an 8000 x 8000 raster")
    ap.add_argument("--keep", type=Path, help="make the raster in this folder, or reuse the one already there")
    a = ap.parse_args(argv)
    if a.quick:
        a.side = 8000
    import geotiff
    from wt_core.console import setup
    from wt_data.importing import import_

    setup(False)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="wt-bench-raster-") as tmp:
        tmp = Path(tmp)
        src = a.keep or tmp / "src"
        t = time.perf_counter()
        if not (src / "truth.json").exists() or json.loads((src / "truth.json").read_text())["width"] != a.side:
            geotiff.make_geotiff(src, a.side, a.side, animals=a.side // 50, seed=1, texture="smooth")
        made = time.perf_counter() - t
        path = src / "ortho.tif"
        ds = import_(path, format="geotiff", check="header", out=tmp / "ds")
        mpix = a.side * a.side / 1e6
        rows = []
        for workers in a.workers or sorted({1, cores}):
            tb, nb = bound(path, a.side, a.size, a.overlap, a.quality, workers)
            to, no, total, largest = ours(ds.root, tmp / f"tiles{workers}", a.size, a.overlap, a.quality, workers)
            assert nb == no, f"bound made {nb} tiles, wt-data {no}"
            rows.append((workers, nb, mpix / tb, mpix / to, tb / to, total, largest))
            for f in (tmp / f"tiles{workers}").rglob("*.jpg"):
                f.unlink()
        size_mb = path.stat().st_size / 1e6
    print(f"tiling a {a.side} x {a.side} RGB GeoTIFF ({mpix:.0f} MP, {size_mb:.0f} MB deflate, made in {made:.0f} s), "
          f"tiles {a.size} px, overlap {a.overlap}, {cores} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'processes':>9}  {'tiles':>6}  {'bound MP/s':>10}  {'wt-data MP/s':>12}  {'ratio':>5}  "
          f"{'peak MB (all processes)':>23}  {'peak MB (largest)':>17}")
    for w, n, b, o, r, total, largest in rows:
        print(f"{w:>9}  {n:>6}  {b:>10.1f}  {o:>12.1f}  {r:>5.2f}  {total:>23.0f}  {largest:>17.0f}")
    most = max(rows, key=lambda r: r[0])
    print(f"goal: ratio >= 0.80 with {most[0]} processes: {'met' if most[4] >= 0.8 else 'NOT met'}; "
          f"peak under 2 GB: {'met' if max(r[5] for r in rows) < 2048 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
