#!/usr/bin/env bash
# The WildTrain demo pipeline on generated data, with local tracking (sqlite).
#   bash tools/demo.sh OUT        (run by `uv run just demo`)
# Every step prints the path of the manifest it wrote; the next step reads it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-demo-out}"
mkdir -p "$OUT"
cd "$OUT"
say() { printf '\n== %s\n' "$*" >&2; }

say "generate an aerial survey and a camera-trap set"
python "$ROOT/tools/synth.py" aerial --out data/aerial --images 8 >/dev/null
python "$ROOT/tools/synth.py" camtrap --out data/camtrap --per-class 30 >/dev/null

say "import them"
DS=$(wt-data import --source data/aerial/coco.json --format coco --out datasets/aerial --overwrite)
CAM=$(wt-data import --source data/camtrap --format imagefolder --out datasets/camtrap --overwrite)
echo "aerial dataset: $DS" >&2
echo "camera-trap dataset: $CAM" >&2

say "split by site, tile the training images, cut classifier crops"
SPLIT=$(wt-data split --dataset "$DS" --group_by site --ratios "[0.5, 0.25, 0.25]" --out datasets/split --overwrite)
TILES=$(wt-data tile --dataset "$SPLIT" --size 640 --overlap 0.2 --empty_ratio 0.2 --out datasets/tiles --overwrite)
CROPS=$(wt-data crops --dataset "$SPLIT" --size 64 --background_ratio 0.5 --out datasets/crops --overwrite)
wt-data stats --dataset "$TILES"

say "done: manifests under $(pwd)"
