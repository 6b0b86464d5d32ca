"""Does the realistic synthetic survey fail the way real surveys do? Learning curves of two arms, from scratch.

    python tools/bench/survey_signature.py [--epochs 40] [--tile 320] [--imgsz 320] [--seed 0]
        [--width 1280 --height 960] [--parallel] [--keep DIR] [--png curves.png]

The realistic survey (`tools/survey.py --realistic`: two train photos of one
site, a val photo of another, dense touching low-contrast animals of 25-60 px)
is tiled and trained from scratch twice, side by side: (a) bare Ultralytics
defaults (`--defaults ultralytics`) and (b) `wt-yolo fit`'s defaults. Both
validate the whole val photo every epoch (it only measures: training is the
same), so the curves are comparable. A PNG shows, by epoch and for both arms,
the whole-photo mAP50, the validation box loss (on the val tiles) and the
training box loss; stdout gets one line per arm:

    onset: the first epoch whose whole-photo mAP50 reaches 0.05 (None: never)
    val box loss from epoch 1 to the onset (rising is the real signature)
    train box loss from epoch 1 to the onset (falling)

The real signature (issue 22): no box for about the first third of the run
while the validation loss rises and the training loss falls, the update
policy moving the onset by little. `--parallel` trains both arms at once (one
core each; epoch times are then not comparable, the epochs are).
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

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tools"))

ONSET_MAP50 = 0.05
"""A run 'finds boxes' from the first epoch its whole-photo mAP50 reaches this."""
ARMS = {"a": ("bare Ultralytics", ["--defaults", "ultralytics"]), "b": ("wt-yolo defaults", [])}


def tool(name: str) -> str:
    exe = BIN / name
    return str(exe) if exe.exists() else name


def bench_env(work: Path) -> dict[str, str]:
    return {**os.environ, "WT_HOME": str(work / "home"), "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
            "MLFLOW_DISABLE_TELEMETRY": "true", "YOLO_OFFLINE": "1"}


def run_tool(env: dict[str, str], cwd: Path, *args: str | Path) -> Path:
    cmd = [tool(str(args[0])), *map(str, args[1:])]
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip())


def realistic_tiles(work: Path, env: dict[str, str], tile: int | str, seed: int, width: int, height: int,
                    train: int = 2, test: int = 2) -> tuple[Path, Path, dict]:
    """The realistic survey imported (the whole photos) and tiled; (dataset, tiles, truth)."""
    import survey

    truth = survey.realistic_survey(work / "survey", train=train, val=1, test=test, seed=seed, width=width,
                                    height=height)
    ds, tiles = import_tiles(work, env, work / "survey" / "wildata", tile)
    return ds, tiles, truth


def import_tiles(work: Path, env: dict[str, str], wildata: Path, tile: int | str) -> tuple[Path, Path]:
    """A WilData root imported (the whole photos) and its train and val photos tiled; (dataset, tiles)."""
    ds = run_tool(env, work, "wt-data", "import", "--source", wildata, "--format", "wildata", "--out", "imported")
    tiles = run_tool(env, work, "wt-data", "tile", "--dataset", ds, "--size", tile, "--empty_ratio", 0.5,
                     "--splits", "[train, val]", "--out", "tiles")
    return ds, tiles


def fit_cmd(tiles: Path, out: str, epochs: int, imgsz: int, seed: int, extra: list[str],
            model: str = "yolo11n.yaml") -> list[str]:
    return ["wt-yolo", "fit", "--dataset", str(tiles), "--model", model, "--train.epochs", str(epochs),
            "--train.imgsz", str(imgsz), "--train.batch", "8", "--train.workers", "0",
            "--device", "cpu", "--ultralytics.plots", "false", "--train.seed", str(seed),
            "--select.every", "1", *extra, "--out", out]


def train_arms(env: dict[str, str], work: Path, cmds: dict[str, list[str]], parallel: bool
               ) -> dict[str, tuple[Path, float]]:
    """Run each arm's fit (at once when `parallel`); {arm: (run manifest, wall seconds)}."""
    started: dict[str, tuple[subprocess.Popen, float, Path]] = {}
    done: dict[str, tuple[Path, float]] = {}

    def wait(k: str) -> None:
        proc, t0, log = started.pop(k)
        out, _ = proc.communicate()
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"arm ({k}) failed, see {log}")
        print(f"  ({k}) trained in {wall:.0f} s", file=sys.stderr)
        done[k] = (Path(out.strip()), wall)

    for k, cmd in cmds.items():
        log = work / f"fit-{k}.log"
        # one MLflow database per arm: two fits creating one sqlite database at once collide in its migrations
        arm_env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{work / f'mlflow-{k}.db'}"}
        proc = subprocess.Popen([tool(cmd[0]), *cmd[1:]], env=arm_env, cwd=work, stdout=subprocess.PIPE,
                                stderr=open(log, "w"), text=True)
        started[k] = (proc, time.perf_counter(), log)
        if not parallel:
            wait(k)
    for k in list(started):
        wait(k)
    return done


def curves(run: Path) -> list[dict]:
    """A run's epoch rows (metrics.jsonl), by epoch."""
    from wt_core.metrics_log import read_metrics

    return sorted(read_metrics(run.parent), key=lambda r: r["epoch"])


def signature(rows: list[dict]) -> dict:
    """Onset epoch and the loss trends before it."""
    onset = next((r["epoch"] for r in rows if r.get("full/mAP50", 0) >= ONSET_MAP50), None)
    before = [r for r in rows if onset is None or r["epoch"] <= onset]

    def trend(key: str) -> tuple[float, float] | None:
        vals = [r[key] for r in before if key in r]
        return (vals[0], max(vals[1:] or vals)) if key.startswith("val") else (vals[0], vals[-1]) if vals else None

    return {"epochs": len(rows), "onset": onset, "val_box_loss": trend("val/box_loss"),
            "train_box_loss": trend("train/box_loss"), "final_mAP50": rows[-1].get("full/mAP50") if rows else None,
            "best_mAP50": max((r.get("full/mAP50", 0) for r in rows), default=None)}


def plot(runs: dict[str, list[dict]], labels: dict[str, str], png: Path, title: str) -> None:
    """Whole-photo mAP50, val box loss and train box loss by epoch, one line per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("full/mAP50", "whole-photo mAP50 (val site)"), ("val/box_loss", "val box loss (val tiles)"),
            ("train/box_loss", "train box loss")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (key, name) in zip(axes, keys, strict=True):
        for arm, rows in runs.items():
            pts = [(r["epoch"], r[key]) for r in rows if key in r]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=labels.get(arm, arm), marker=".", lw=1)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].axhline(ONSET_MAP50, color="grey", lw=0.6, ls="--")
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    plt.close(fig)


def describe(arm: str, label: str, s: dict) -> str:
    def fmt(t: tuple[float, float] | None) -> str:
        return "-" if t is None else f"{t[0]:.2f} -> {t[1]:.2f}"

    onset = f"epoch {s['onset']}" if s["onset"] else f"none in {s['epochs']}"
    return (f"({arm}) {label:18} onset (mAP50 >= {ONSET_MAP50}): {onset:12} val box loss {fmt(s['val_box_loss'])} "
            f"(first, max before onset), train box loss {fmt(s['train_box_loss'])}; whole-photo mAP50 final "
            f"{s['final_mAP50'] or 0:.3f}, best {s['best_mAP50'] or 0:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--tile", default="320", help="tile size in pixels, or 'auto' (wt-data tile --size auto)")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=960)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arms", default="ab", help="which arms: a (bare Ultralytics), b (wt-yolo defaults)")
    ap.add_argument("--extra_b", default="", help="more wt-yolo fit options for arm (b), space-separated")
    ap.add_argument("--parallel", action="store_true", help="train the arms at once (one core each)")
    ap.add_argument("--keep", type=Path, default=None, help="work in this directory and keep it")
    ap.add_argument("--png", type=Path, default=None, help="the learning-curve PNG (default: WORK/curves.png)")
    a = ap.parse_args()
    work = a.keep or Path(tempfile.mkdtemp(prefix="wt-bench-signature-"))
    work.mkdir(parents=True, exist_ok=True)
    env = bench_env(work)
    ds, tiles, truth = realistic_tiles(work, env, a.tile, a.seed, a.width, a.height)
    m = json.loads(tiles.read_text())
    n_tiles, tile = m["splits"]["train"]["images"], m["details"]["tiling"]["size"]
    import survey

    animals = survey.animals_per_split(truth)
    print(f"realistic survey: {n_tiles} train tiles of {tile} px from 2 photos of {a.width}x{a.height} "
          f"({animals['train']} animals); val photo of another site ({animals['val']} animals) in {work}",
          file=sys.stderr)
    cmds = {k: fit_cmd(tiles, f"run-{k}", a.epochs, a.imgsz, a.seed,
                       ARMS[k][1] + (a.extra_b.split() if k == "b" else [])) for k in a.arms}
    done = train_arms(env, work, cmds, a.parallel)
    rows = {k: curves(run) for k, (run, _) in done.items()}
    png = a.png or work / "curves.png"
    title = (f"realistic survey, {n_tiles} tiles of {tile} px ({animals['train']} animals), {a.epochs} epochs at "
             f"{a.imgsz} px, from scratch, seed {a.seed}")
    plot(rows, {k: ARMS[k][0] for k in rows}, png, title)
    print(title)
    for k, r in rows.items():
        s = signature(r)
        wall = done[k][1]
        print(describe(k, ARMS[k][0], s) + f"; {wall:.0f} s wall")
    print(f"curves: {png}")


if __name__ == "__main__":
    main()
