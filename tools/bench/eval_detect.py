"""wt-eval detect against the bare COCO evaluators, on manifests on disk.

    python tools/bench/eval_detect.py [--images 5000] [--per-image 100] [--classes 5] [--quick]
                                      [--no-pycocotools] [--repeat 1]

Writes a generated dataset and predictions manifest (perturbed, missed and false
boxes; 100 predictions per image) to a temporary directory, then runs, each in
its own process: `wt-eval detect` (with and without plots), faster-coco-eval
called directly and pycocotools called directly, all reading the same JSON files.
Prints wall time, CPU time (user+sys: steadier than wall time on a shared
machine), peak memory (max RSS) and the ratios to faster-coco-eval, and checks
that all of them report the same mAP. Goal: wt-eval at most 1.1x
faster-coco-eval.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent

BARE = {
    "faster-coco-eval": """
import json, sys
from faster_coco_eval import COCO, COCOeval_faster
gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
ev = COCOeval_faster(gt, dt, "bbox", print_function=lambda *a, **k: None)
ev.evaluate(); ev.accumulate(); ev.summarize()
print(json.dumps({"mAP": float(ev.stats[0]), "mAP50": float(ev.stats[1])}))
""",
    "pycocotools": """
import contextlib, io, json, sys
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
    ev = COCOeval(gt, dt, "bbox"); ev.evaluate(); ev.accumulate(); ev.summarize()
print(json.dumps({"mAP": float(ev.stats[0]), "mAP50": float(ev.stats[1])}))
""",
}


def generate(root: Path, images: int, per_image: int, n_classes: int, seed: int = 0) -> tuple[Path, Path, Path, Path]:
    """A dataset manifest and a predictions manifest on disk, built with wt_core like the tools do."""
    from wt_core.manifest import DatasetManifest, DatasetSplit, PredictionsManifest
    from wt_core.manifest_io import build
    from wt_core.outputs import Output

    rng = np.random.default_rng(seed)
    classes = [f"class{k}" for k in range(n_classes)]
    imgs, anns, preds = [], [], []
    for i in range(images):
        imgs.append({"id": i + 1, "file_name": f"{i:06d}.jpg", "width": 1024, "height": 768})
        n = int(rng.integers(5, 30))
        wh = rng.uniform(8, 200, (n, 2))
        xy = rng.uniform(0, 1, (n, 2)) * ([1024, 768] - wh)
        cls = rng.integers(0, n_classes, n)
        for k in range(n):
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(cls[k]),
                         "bbox": [*xy[k].round(2).tolist(), *wh[k].round(2).tolist()],
                         "area": float(wh[k, 0] * wh[k, 1]), "iscrowd": 0})
        found = rng.random(n) > 0.2
        m = int(found.sum())
        jit = rng.normal(0, 0.1, (m, 4)) * np.c_[wh[found], wh[found]]
        boxes = np.c_[xy[found], wh[found]] + jit
        boxes[:, 2:] = np.maximum(boxes[:, 2:], 1)
        pcls = np.where(rng.random(m) < 0.9, cls[found], rng.integers(0, n_classes, m))
        extra = per_image - m
        fwh = rng.uniform(8, 200, (extra, 2))
        fxy = rng.uniform(0, 1, (extra, 2)) * ([1024, 768] - fwh)
        boxes = np.r_[boxes, np.c_[fxy, fwh]].round(2)
        pcls = np.r_[pcls, rng.integers(0, n_classes, extra)]
        scores = np.r_[rng.uniform(0.3, 1, m), rng.uniform(0, 0.6, extra)].round(4)
        for b, c, s in zip(boxes.tolist(), pcls.tolist(), scores.tolist(), strict=True):
            preds.append({"image_id": i + 1, "category_id": int(c), "bbox": b, "score": s})
    gt = {"images": imgs, "annotations": anns, "categories": [{"id": k, "name": n} for k, n in enumerate(classes)]}

    o = Output("bench", "dataset", root / "dataset")
    o.path("val.json").write_text(json.dumps(gt))
    o.add("val_annotations", "val.json")
    ds = o.commit(build(DatasetManifest, id=o.id, task="detect", classes=classes, splits={
        "val": DatasetSplit(annotations="val_annotations", image_root=str(root / "images"), images=images,
                            boxes=len(anns))}))
    o = Output("bench", "predictions", root / "predictions")
    o.path("val.json").write_text(json.dumps(preds))
    o.add("val_predictions", "val.json")
    pm = o.commit(build(PredictionsManifest, id=o.id, parents=[ds], task="detect", classes=classes,
                        dataset_id=ds.id, splits={"val": "val_predictions"}, thresholds={"score": 0.001}))
    return ds.path, pm.path, ds.root / "val.json", pm.root / "val.json"


def run(cmd: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak RSS in MiB of this child alone (from wait4) and its stdout."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errf:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, cwd=cwd, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        errf.seek(0)
        err = errf.read()
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(map(str, cmd[:3]))} failed (exit {proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--per-image", type=int, default=100)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool (the best wall time is kept)")
    ap.add_argument("--quick", action="store_true", help="500 images")
    ap.add_argument("--no-pycocotools", action="store_true", help="skip pycocotools (about 7x slower)")
    args = ap.parse_args()
    images = 500 if args.quick else args.images
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        ds, pm, gt_file, pred_file = generate(root, images, args.per_image, args.classes)
        print(f"# {images} images x {args.per_image} predictions, {args.classes} classes "
              f"(generated in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        wt = str(BIN / "wt-eval")
        cmds = {
            "wt-eval detect": [wt, "detect", "--dataset", str(ds), "--predictions", str(pm), "--out",
                               str(root / "ev"), "--overwrite"],
            "wt-eval detect --plots false": [wt, "detect", "--dataset", str(ds), "--predictions", str(pm),
                                             "--out", str(root / "ev2"), "--overwrite", "--plots", "false"],
            "faster-coco-eval": [sys.executable, "-c", BARE["faster-coco-eval"], str(gt_file), str(pred_file)],
        }
        if not args.no_pycocotools:
            cmds["pycocotools"] = [sys.executable, "-c", BARE["pycocotools"], str(gt_file), str(pred_file)]
        results: dict[str, tuple[float, float, float, float]] = {}
        for name, cmd in cmds.items():
            best = None
            for _ in range(max(1, args.repeat)):
                wall, cpu, rss, out = run(cmd, root)
                if name.startswith("wt-eval"):
                    mpath = Path(out.strip().splitlines()[-1])
                    m = json.loads(mpath.read_text())["metrics"]["mAP"]
                else:
                    m = json.loads(out.strip().splitlines()[-1])["mAP"]
                if best is None or wall < best[0]:
                    best = (wall, cpu, rss, m)
            results[name] = best
            print(f"# {name}: {best[0]:.2f} s", file=sys.stderr)
        base, base_cpu = results["faster-coco-eval"][:2]
        print(f"{'tool':<32} {'wall s':>8} {'x fce':>6} {'cpu s':>8} {'x fce':>6} {'peak MiB':>9} {'mAP':>10}")
        for name, (wall, cpu, rss, m) in results.items():
            print(f"{name:<32} {wall:8.2f} {wall / base:6.2f} {cpu:8.2f} {cpu / base_cpu:6.2f} {rss:9.0f} {m:10.6f}")
        maps = [r[3] for r in results.values()]
        same = max(maps) - min(maps) <= 1e-6
        ratio = results["wt-eval detect"][0] / base
        print(f"same mAP everywhere (1e-6): {'yes' if same else 'NO'}; wt-eval detect / faster-coco-eval wall "
              f"{ratio:.2f}x (goal <= 1.1x: {'met' if ratio <= 1.1 else 'not met'})")


if __name__ == "__main__":
    main()
