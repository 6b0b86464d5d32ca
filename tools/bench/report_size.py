"""The size of `wt-eval detect`'s report.html for an evaluation of N generated photos.

    python tools/bench/report_size.py [--images 1000] [--width 800] [--height 600] [--seed 0] [--keep DIR]
    python tools/bench/report_size.py --report EVALUATION_DIR/report.html   # an existing report (the demo's)

Writes an aerial survey of N photos with tools/synth.py (the demo's photo size and herds by default),
imports it with `wt-data import`, makes predictions from its ground truth (each animal found with
probability 0.85, its box jittered; one to three false positives a photo; scores between 0.3 and 1),
runs `wt-eval detect` on them and prints the bytes of the page, of the thumbnails the page loads as its
table scrolls, of the annotated photos opened one at a time, and of the PNG plots; with the time
`wt-eval detect` took (wall, on this machine: for scale only).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def report_sizes(report: Path) -> dict[str, int]:
    """Bytes of the page, of its thumbnails, of its annotated photos and of the plots beside it; what a
    browser loads on opening it (page, thumbnails, plots) and the number of files in report/."""
    folder = report.parent / "report"
    thumbs = sum(p.stat().st_size for p in (folder / "thumbs").glob("*.jpg"))
    photos = sum(p.stat().st_size for p in (folder / "photos").glob("*.jpg"))
    pngs = sum(p.stat().st_size for p in report.parent.glob("*.png"))
    html = report.stat().st_size
    return {"html": html, "thumbs": thumbs, "photos": photos, "pngs": pngs, "page_loads": html + thumbs + pngs,
            "files": sum(1 for p in folder.rglob("*") if p.is_file())}


def cli(tool: str, *args: object) -> str:
    proc = subprocess.run([str(BIN / tool), *map(str, args)], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{tool} {args[0]} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc.stdout.strip()


def predictions(dataset: Path, out: Path, seed: int) -> Path:
    """A predictions manifest of the dataset's split `all`, made from its ground truth."""
    from wt_core.manifest import PredictionsManifest
    from wt_core.manifest_io import build, read_manifest
    from wt_core.outputs import Output

    ds = read_manifest(dataset, "dataset")
    coco = json.loads(ds.artifact_path(ds.splits["all"].annotations).read_text())
    size = {im["id"]: (im["width"], im["height"]) for im in coco["images"]}
    rng = np.random.default_rng(seed)
    rows = []
    for a in coco["annotations"]:
        if rng.random() < 0.85:
            x, y, w, h = a["bbox"]
            jx, jy = rng.normal(0, 0.08, 2) * (w, h)
            rows.append({"image_id": a["image_id"], "category_id": a["category_id"], "bbox": [x + jx, y + jy, w, h],
                         "score": float(rng.uniform(0.3, 1))})
    for image_id, (w, h) in size.items():
        for _ in range(int(rng.integers(1, 4))):
            bw, bh = rng.uniform(12, 40, 2)
            rows.append({"image_id": image_id, "category_id": int(rng.integers(0, len(ds.classes))),
                         "bbox": [float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh)), bw, bh],
                         "score": float(rng.uniform(0.3, 0.8))})
    o = Output("bench", "predictions", out)
    o.path("all.json").write_text(json.dumps(rows))
    o.add("predictions_all", "all.json")
    m = o.commit(build(PredictionsManifest, id=o.id, parents=[ds], task="detect", classes=ds.classes, dataset_id=ds.id,
                       splits={"all": "predictions_all"}, thresholds={"score": 0.001}))
    return m.path


def show(sizes: dict[str, int], label: str) -> None:
    def kb(n: int) -> str:
        return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"

    print(f"{label}: page {kb(sizes['html'])}, thumbnails {kb(sizes['thumbs'])}, annotated photos "
          f"{kb(sizes['photos'])}, plots {kb(sizes['pngs'])}; a browser loads at most {kb(sizes['page_loads'])} "
          f"(page, thumbnails, plots); {sizes['files']} files in report/")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--width", type=int, default=800)
    ap.add_argument("--height", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="write here and keep it (default: a temporary folder, removed)")
    ap.add_argument("--report", type=Path, help="measure this report.html instead")
    a = ap.parse_args()
    if a.report:
        show(report_sizes(a.report), str(a.report))
        return
    root = a.keep or Path(tempfile.mkdtemp(prefix="wt-report-size-"))
    try:
        from synth import make_aerial

        t0 = time.perf_counter()
        make_aerial(root / "raw", images=a.images, width=a.width, height=a.height, animals=(15, 25), seed=a.seed)
        ds = cli("wt-data", "import", "--source", root / "raw" / "coco.json", "--format", "coco",
                 "--out", root / "dataset", "--overwrite")
        pred = predictions(Path(ds), root / "predictions", a.seed)
        t1 = time.perf_counter()
        ev = cli("wt-eval", "detect", "--dataset", ds, "--predictions", pred, "--split", "all",
                 "--out", root / "evaluation", "--overwrite")
        t2 = time.perf_counter()
        print(f"{a.images} photos of {a.width}-{a.width + 384} x {a.height}-{a.height + 288} px: data {t1 - t0:.0f} s, "
              f"wt-eval detect {t2 - t1:.0f} s (wall)")
        show(report_sizes(Path(ev).parent / "report.html"), "report")
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
