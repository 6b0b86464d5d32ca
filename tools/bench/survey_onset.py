"""What moves the onset of learning on the realistic survey? One arm at a time, from scratch, one tiled set.

    python tools/bench/survey_onset.py --arms bare,defaults,windows,sgd [--epochs 60] [--seed 0]
        [--tile 320] [--imgsz 320] [--keep DIR] [--png_dir docs/bench] [--start yolo11n.yaml|RUN]

The realistic survey (`tools/survey.py --realistic`, 1024x768 photos: 24 train tiles of 320 px at seed 0;
two train photos, a val photo of another site) is tiled once; each
arm is a `wt-yolo fit` with its own options (ARMS below), trained one after the
other (so epoch times compare), validating the whole val photo every epoch.
One line per arm on stdout:

    onset: the first epoch with any box on the whole val photo (whole-photo mAP50 > 0),
    and the first at mAP50 >= 0.05; best and final whole-photo mAP50; seconds per epoch

and one learning-curve PNG per arm plus one with every arm (`--png_dir`). An
arm already trained in `--keep` (its run manifest there) is read, not retrained.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from survey_signature import (
    ONSET_MAP50,
    bench_env,
    curves,
    fit_cmd,
    plot,
    realistic_tiles,
    train_arms,
)

BARE = ["--defaults", "ultralytics"]
ARMS: dict[str, tuple[str, list[str]]] = {
    "bare": ("bare Ultralytics", BARE),
    "defaults": ("wt-yolo defaults", []),
    "auto": ("defaults, optimizer auto (AdamW)", ["--ultralytics.optimizer", "auto"]),
    "windows": ("defaults + --sample windows", ["--sample", "windows"]),
    "sgd": ("defaults + SGD lr 0.01", ["--ultralytics.optimizer", "SGD", "--train.lr", "0.01"]),
    # the README's 60-epoch figures were measured before the BatchNorm momentum policy (the "bn003" arm today)
    "adamw01": ("defaults + AdamW lr 0.01", ["--ultralytics.optimizer", "AdamW", "--train.lr", "0.01"]),
    "nomosaic": ("defaults + mosaic 0", ["--ultralytics.mosaic", "0"]),
    "bn003": ("defaults, BatchNorm momentum 0.03 (Ultralytics')", ["--ultralytics.bn_momentum", "0.03"]),
    "batch2": ("defaults + batch 2", ["--train.batch", "2"]),
    "batch4": ("defaults + batch 4", ["--train.batch", "4"]),
    "scale": ("defaults + scale 0.2", ["--ultralytics.scale", "0.2"]),
    "close": ("defaults + close_mosaic half", []),  # filled in from --epochs
    "site": ("defaults + rot90 + colour jitter", ["--ultralytics.degrees", "0", "--ultralytics.hsv_h", "0.05",
                                                  "--ultralytics.hsv_s", "0.9", "--ultralytics.hsv_v", "0.6"]),
    "windows_sgd": ("defaults + windows + SGD lr 0.01", ["--sample", "windows", "--ultralytics.optimizer", "SGD",
                                                         "--train.lr", "0.01"]),
}


def onsets(rows: list[dict]) -> tuple[int | None, int | None]:
    """(first epoch with any box, first epoch at mAP50 >= ONSET_MAP50) on the whole val photo."""
    first = next((r["epoch"] for r in rows if r.get("full/mAP50", 0) > 0), None)
    useful = next((r["epoch"] for r in rows if r.get("full/mAP50", 0) >= ONSET_MAP50), None)
    return first, useful


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arms", default="bare,defaults")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--tile", default="320")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--seed", type=int, default=0, help="the survey's and the training's seed")
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--png_dir", type=Path, default=None)
    ap.add_argument("--start", default="yolo11n.yaml",
                    help="the model every arm starts from: a model yaml (from scratch) or pre-trained weights or a "
                         "run (tools/pretrain_survey.py's: fine-tuning)")
    a = ap.parse_args()
    work = a.keep or Path(tempfile.mkdtemp(prefix="wt-bench-onset-"))
    work.mkdir(parents=True, exist_ok=True)
    env = bench_env(work)
    if (work / "tiles" / "manifest.json").exists():
        tiles = work / "tiles" / "manifest.json"
    else:
        _, tiles, _ = realistic_tiles(work, env, a.tile, a.seed, a.width, a.height)
    n_tiles = json.loads(tiles.read_text())["splits"]["train"]["images"]
    ARMS["close"] = (ARMS["close"][0], ["--ultralytics.close_mosaic", str(a.epochs // 2)])
    names = a.arms.split(",")
    rows: dict[str, list[dict]] = {}
    walls: dict[str, float] = {}
    for k in names:
        run = work / f"run-{k}" / "manifest.json"
        stamp = work / f"run-{k}.wall"
        if not run.exists():
            cmd = fit_cmd(tiles, f"run-{k}", a.epochs, a.imgsz, a.seed, ARMS[k][1], model=a.start)
            done = train_arms(env, work, {k: cmd}, parallel=False)
            stamp.write_text(str(done[k][1]))
        rows[k] = curves(run)
        walls[k] = float(stamp.read_text()) if stamp.exists() else float("nan")
    start = "from scratch" if a.start.endswith((".yaml", ".yml")) else f"fine-tuned from {a.start}"
    title = f"realistic survey, {n_tiles} tiles, {a.epochs} epochs at {a.imgsz} px, {start}, seed {a.seed}"
    print(title)
    tag = "" if start == "from scratch" else "-pretrained"
    for k in names:
        r = rows[k]
        first, useful = onsets(r)
        maps = [x.get("full/mAP50", 0.0) for x in r]
        print(f"{k:12} {ARMS[k][0]:34} first box: {first or '-':>4}  mAP50>={ONSET_MAP50}: {useful or '-':>4}  "
              f"best {max(maps, default=0):.3f}  final {maps[-1] if maps else 0:.3f}  "
              f"{walls[k] / max(1, len(r)):.1f} s/epoch ({len(r)} epochs)")
        if a.png_dir:
            plot({k: r}, {k: ARMS[k][0]}, a.png_dir / f"onset-{k}{tag}-seed{a.seed}-{a.epochs}ep.png", title)
    if a.png_dir:
        plot(rows, {k: ARMS[k][0] for k in rows}, a.png_dir / f"onset-arms{tag}-seed{a.seed}-{a.epochs}ep.png", title)


if __name__ == "__main__":
    main()
