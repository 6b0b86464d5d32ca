"""`wt-yolo fit` against bare `YOLO(...).train(...)`: same data, same settings, wall time ratio.

    python tools/bench/yolo_fit.py [--quick] [--epochs 3] [--images 6] [--repeats 1]

Both run as fresh processes (imports included) on the same Ultralytics view of
the same tiled synthetic dataset, with the same offline settings; wt-yolo adds
its CLI, manifest checks, MLflow run (on an already created sqlite database)
and callbacks. Prints one table on stdout (each repeat on stderr); the goal is
a wall-time ratio of at most 1.03. What wt-yolo adds is a fixed cost: MLflow
runs in a helper process (`wt_core.mlflow_process`) whose import overlaps
Ultralytics' own on the other core, so it shows in CPU time more than in wall
time; the short default run shows the cost at its largest.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tools"))

BARE = """
import sys
from wt_core import offline
offline.apply()
from ultralytics import YOLO
YOLO("yolo11n.yaml").train(data=sys.argv[1], project=sys.argv[2], name="train", exist_ok=True, epochs={epochs},
                           imgsz={imgsz}, batch={batch}, workers=0, device="cpu", plots=False)
"""


def tool(name: str) -> str:
    exe = BIN / name
    return str(exe) if exe.exists() else name


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 epoch on 3 images' tiles")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--images", type=int, default=6, help="full-size synthetic images, tiled at 640")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.images = 1, 3

    import synth

    work = Path(tempfile.mkdtemp(prefix="bench-yolo-"))
    env = {**os.environ, "WT_HOME": str(work / "home"), "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    try:
        synth.make_aerial(work / "raw", images=args.images, seed=0, width=1280, height=960)
        out = subprocess.run([tool("wt-data"), "import", "--source", str(work / "raw" / "coco.json"), "--out",
                              str(work / "ds")], env=env, capture_output=True, text=True, check=True)
        out = subprocess.run([tool("wt-data"), "tile", "--dataset", out.stdout.strip(), "--size", "640",
                              "--out", str(work / "tiles")], env=env, capture_output=True, text=True, check=True)
        tiles = Path(out.stdout.strip()).parent
        # the shared setup both sides need, untimed: the Ultralytics view and the MLflow database
        prep = ("import sys, mlflow; from wt_core import offline; offline.apply(); from wt_data import yolo_view;"
                "print(yolo_view(sys.argv[1])); mlflow.MlflowClient().search_experiments()")
        data_yaml = subprocess.run([sys.executable, "-c", prep, str(tiles)], env=env, capture_output=True, text=True,
                                   check=True).stdout.strip().splitlines()[-1]
        bare_code = BARE.format(epochs=args.epochs, imgsz=args.imgsz, batch=args.batch)
        settings = ["--train.epochs", str(args.epochs), "--train.imgsz", str(args.imgsz),
                    "--train.batch", str(args.batch), "--train.workers", "0",
                    "--device", "cpu", "--ultralytics.plots", "false"]
        bare_t, wt_t = [], []
        for i in range(args.repeats):  # alternate, so drift in machine load hits both sides
            bare_t.append(run([sys.executable, "-c", bare_code, data_yaml, str(work / f"bare{i}")], env, work))
            wt_t.append(run([tool("wt-yolo"), "fit", "--dataset", str(tiles), "--model", "yolo11n.yaml", *settings,
                             "--out", str(work / f"wt{i}")], env, work))
        for i, (b, w) in enumerate(zip(bare_t, wt_t, strict=True)):
            print(f"# repeat {i}: bare {b[0]:.2f} s wall {b[1]:.2f} s cpu; wt-yolo {w[0]:.2f} s wall {w[1]:.2f} s cpu",
                  file=sys.stderr)
        bare, ours = (statistics.median(t[0] for t in bare_t), statistics.median(t[0] for t in wt_t))
        bare_cpu, ours_cpu = (statistics.median(t[1] for t in bare_t), statistics.median(t[1] for t in wt_t))
        n_tiles = sum(1 for _ in (tiles / "images").rglob("*.jpg")) if (tiles / "images").exists() else "?"
        print(f"yolo fit: yolo11n.yaml from scratch, {args.epochs} epochs, imgsz {args.imgsz}, batch {args.batch}, "
              f"{n_tiles} tiles, CPU, median of {args.repeats}")
        print(f"{'':28}{'wall s':>10}{'cpu s':>10}")
        print(f"{'bare YOLO(...).train(...)':28}{bare:>10.2f}{bare_cpu:>10.2f}")
        print(f"{'wt-yolo fit':28}{ours:>10.2f}{ours_cpu:>10.2f}")
        print(f"{'ratio (goal <= 1.03)':28}{ours / bare:>10.3f}{ours_cpu / bare_cpu:>10.3f}")
        print(f"{'fixed cost of wt-yolo, s':28}{ours - bare:>10.2f}{ours_cpu - bare_cpu:>10.2f}"
              "   (CLI, manifests, the MLflow helper; independent of training length)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
