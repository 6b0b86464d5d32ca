"""Pre-train a detector on a generated survey of many other sites: weights to fine-tune from, offline.

    python tools/pretrain_survey.py --out ~/.wildtrain/pretrained/survey-yolo11n [--sites 6] [--epochs 40]
        [--seed 1000] [--tile 320] [--imgsz 320] [--model yolo11n.yaml]

Users with a network fine-tune COCO-pretrained weights (`--model yolo11n.pt`);
none can be downloaded here. This is the stand-in: `tools/survey.py`'s
realistic photos of `--sites` sites drawn at random (two photos each: other
grounds, colour balance, light and density than the benchmark's, whose seeds
are 0 and 1), tiled and trained from scratch with `wt-yolo fit`'s defaults. It
prints the run manifest's path; fine-tune with `wt-yolo fit --model RUN`, which
starts from the run's best weights and records the run as the new run's parent.

On 2 CPU cores (torch on one thread): about 130 tiles of 320 px, 40 epochs,
in roughly half an hour.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))

from survey_signature import bench_env, fit_cmd, run_tool, train_arms


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="a new folder: the survey, its tiles and the run")
    ap.add_argument("--sites", type=int, default=6)
    ap.add_argument("--per_site", type=int, default=2, help="train photos per site")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1000, help="the sites' seed (the benchmark's are 0 and 1)")
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--tile", default="320")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--model", default="yolo11n.yaml")
    a = ap.parse_args(argv)
    import survey

    work = a.out.expanduser().resolve()
    if (work / "run" / "manifest.json").exists():
        print(work / "run" / "manifest.json")
        return 0
    work.mkdir(parents=True, exist_ok=True)
    env = bench_env(work)
    truth = survey.pretrain_survey(work / "survey", a.sites, a.per_site, a.seed, a.width, a.height)
    print(f"pre-training survey: {len(truth['images'])} photos of {a.sites + 1} sites, animals per split "
          f"{survey.animals_per_split(truth)}", file=sys.stderr)
    ds = run_tool(env, work, "wt-data", "import", "--source", work / "survey" / "wildata", "--format", "wildata",
                  "--out", "imported")
    tiles = run_tool(env, work, "wt-data", "tile", "--dataset", ds, "--size", a.tile, "--empty_ratio", 0.5,
                     "--out", "tiles")
    cmd = fit_cmd(tiles, "run", a.epochs, a.imgsz, a.seed, ["--select.every", "5"], model=a.model)
    done = train_arms(env, work, {"pretrain": cmd}, parallel=False)
    print(done["pretrain"][0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
