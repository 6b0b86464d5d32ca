"""wt-yolo predict on an orthomosaic as a job of blocks: peak memory, time, and shards merged against one run.

    python tools/bench/ortho_predict.py [--side 30000] [--tile 1024] [--imgsz 160] [--run RUN] [--quick]

Generates a --side x --side RGB GeoTIFF (tiled 512, deflate, tools/geotiff.py; `flat` ground, so the
generation is quick and the decode cheap: the point is memory), then runs the CLI, each arm in a fresh
process, one after the other, and reports the peak resident memory (the largest process, getrusage) and
the wall time of each:
- blocks: `wt-yolo predict --slicing.block 4096` (the default), the raster cut into blocks, the job's units;
- whole: `--slicing.block 0`, the raster as one unit (sliced window by window, as before blocks);
- shards: the blocked job as 2 shards (`--shard i/2`, one after the other) and `wt-eval merge`;
and checks that the merged shards and the whole raster equal the blocked run box for box and that the GeoJSON
holds every box.
The detector is an untrained YOLO11n (its boxes are noise at --conf 0.01, which is enough to merge) unless
--run names a trained run. Goal: peak memory under 2 GB for a 30,000 x 30,000 raster.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))


def _untrained_run(where: Path, imgsz: int) -> Path:
    from ultralytics import YOLO
    from wt_core.manifest import RunManifest
    from wt_core.manifest_io import build
    from wt_core.outputs import Output

    out = where / "run"
    o = Output("wt-yolo", "fit", out)
    model = YOLO("yolo11n.yaml")
    model.save(str(o.path("weights/best.pt")))
    o.add("weights_best", "weights/best.pt")
    o.commit(build(RunManifest, id=o.id, framework="yolo", task="detect", classes=[str(v) for v in model.names.values()],
                   dataset_id="none", weights={"best": "weights_best"}, imgsz=imgsz))
    return out


def _arm(name: str, cmd: list[str]) -> tuple[dict, float, float]:
    from geotiff import peak_rss_mb

    start = time.monotonic()
    proc, peak = peak_rss_mb(cmd)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    manifest = json.loads(Path(proc.stdout.strip()).read_text())
    manifest["_dir"] = str(Path(proc.stdout.strip()).parent)
    return manifest, peak, seconds


def _results(m: dict) -> list[dict]:
    return json.loads((Path(m["_dir"]) / m["artifacts"][m["splits"]["images"]]["path"]).read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=30000)
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--imgsz", type=int, default=160)
    ap.add_argument("--conf", type=float, default=0.01)
    ap.add_argument("--run", type=Path, help="a trained wt-yolo run (default: an untrained YOLO11n)")
    ap.add_argument("--quick", action="store_true", help="an 8000 x 8000 raster")
    ap.add_argument("--keep", type=Path, help="make the raster in this folder, or reuse the one already there")
    a = ap.parse_args(argv)
    side = 8000 if a.quick else a.side
    import geotiff

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        images = (a.keep or base) / f"raster-{side}"
        if not (images / "ortho.tif").is_file():
            t = time.monotonic()
            geotiff.make_geotiff(images, side, side, animals=max(40, side // 50), seed=0)
            for extra in ("ortho.geojson", "ortho.csv", "truth.json"):
                (images / extra).unlink()
            print(f"raster {side}x{side} written in {time.monotonic() - t:.0f} s", file=sys.stderr)
        run = a.run or _untrained_run(base, a.imgsz)
        yolo = str(Path(sys.executable).parent / "wt-yolo")
        common = ["predict", "--run", str(run), "--images", str(images), "--slicing.tile", str(a.tile),
                  "--imgsz", str(a.imgsz), "--conf", str(a.conf), "--max_det", "100000", "--device", "cpu"]
        rows = []
        blocked, peak, sec = _arm("blocks", [yolo, *common, "--out", str(base / "blocks")])
        units = blocked["details"]["blocks"]["units"]["images"]
        rows.append(("blocks (default 4096)", peak, sec, len(_results(blocked)), units))
        whole, peak, sec = _arm("whole", [yolo, *common, "--slicing.block", "0", "--out", str(base / "whole")])
        rows.append(("whole raster (block 0)", peak, sec, len(_results(whole)), 1))
        shard_dirs, shard_peak, shard_sec = [], 0.0, 0.0
        for i in range(2):
            m, peak, sec = _arm(f"shard {i}", [yolo, *common, "--shard", f"{i}/2", "--out", str(base / f"shard-{i}")])
            shard_dirs.append(m["_dir"])
            shard_peak, shard_sec = max(shard_peak, peak), shard_sec + sec
        merged, peak, sec = _arm("merge", [str(Path(sys.executable).parent / "wt-eval"), "merge", "--shards",
                                           json.dumps(shard_dirs), "--out", str(base / "merged")])
        rows.append(("2 shards, one after the other", shard_peak, shard_sec, None, units))
        rows.append(("wt-eval merge", peak, sec, len(_results(merged)), units))
        same = _results(merged) == _results(blocked)
        geo = json.loads((Path(blocked["_dir"]) / blocked["artifacts"]["geo.images.ortho"]["path"]).read_text())
        boxes = _results(blocked)
        kept = {(tuple(r["bbox"]), r["score"]) for r in boxes}
        common_boxes = len(kept & {(tuple(r["bbox"]), r["score"]) for r in _results(whole)})
        same_whole = _results(whole) == boxes
    print(f"\n{side} x {side} raster, tile {a.tile}, imgsz {a.imgsz}, conf {a.conf}, cpu")
    print(f"{'arm':32s} {'peak RSS MB':>12s} {'seconds':>8s} {'boxes':>7s} {'units':>6s}")
    for name, peak, sec, count, n in rows:
        print(f"{name:32s} {peak:12.0f} {sec:8.1f} {'' if count is None else count:>7} {n:>6}")
    print(f"shards merged == blocked run, box for box: {same}")
    print(f"GeoJSON features == COCO boxes: {len(geo['features']) == len(boxes)} "
          f"({len(geo['features'])}, {geo['crs']['properties']['name']})")
    print(f"blocked run == whole raster, box for box: {same_whole} "
          f"(boxes in common: {common_boxes} of {rows[0][3]} and {rows[1][3]})")
    ok = same and all(r[1] < 2048 for r in rows) and len(geo["features"]) == len(boxes)
    print("goal (peak under 2 GB, shards exact):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
