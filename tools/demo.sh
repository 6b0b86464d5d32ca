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
# small photos with many animals: a detector from scratch learns them in minutes on a CPU (real surveys are larger)
# WT_DEMO_SEED (default 0) draws another survey and camera-trap set: the tests' margins were checked on seeds 0 and 1
SEED="${WT_DEMO_SEED:-0}"
python "$ROOT/tools/synth.py" aerial --out data/aerial --images 8 --width 800 --height 600 --animals 15 25 \
    --seed "$SEED" >/dev/null
python "$ROOT/tools/synth.py" camtrap --out data/camtrap --per-class 30 --seed "$SEED" >/dev/null

say "import them"
DS=$(wt-data import --source data/aerial/coco.json --format coco --out datasets/aerial --overwrite)
CAM=$(wt-data import --source data/camtrap --format imagefolder --out datasets/camtrap --overwrite)
echo "aerial dataset: $DS" >&2
echo "camera-trap dataset: $CAM" >&2

say "split by site, tile the training images, cut classifier crops"
SPLIT=$(wt-data split --dataset "$DS" --group_by site --ratios "[0.5, 0.25, 0.25]" --out datasets/split --overwrite)
TILES=$(wt-data tile --dataset "$SPLIT" --size 160 --overlap 0.2 --empty_ratio 0.2 --out datasets/tiles --overwrite)
CROPS=$(wt-data crops --dataset "$SPLIT" --size 64 --background_ratio 0.5 --out datasets/crops --overwrite)
wt-data stats --dataset "$TILES"

say "train a YOLO detector on the tiles (from scratch: 30 epochs of 160-pixel tiles; small-data defaults, best.pt by mAP50 on the whole val photos)"
RUN=$(wt-yolo fit --dataset "$TILES" --model yolo11n.yaml --train.epochs 30 --train.imgsz 160 \
      --train.batch 8 --device cpu --train.workers 0 --select.every 2 --out runs/yolo --overwrite)

say "sliced prediction on the full-size test images, evaluated against their ground truth"
PRED=$(wt-yolo predict --run "$RUN" --dataset "$SPLIT" --split test --conf 0.01 --imgsz 160 \
       --slicing.tile 160 --slicing.overlap 0.2 --out predictions/yolo-test --overwrite)
EVAL=$(wt-eval detect --dataset "$SPLIT" --predictions "$PRED" --split test --out evaluations/yolo-test --overwrite)

say "calibrate the detector's score threshold on the whole val photos: the one whose counts come closest"
# the demo's sites are drawn alike, so the val photos' counts carry to the test photos; to count a real survey,
# calibrate on photos of its own sites this way, or by F1 (the default) on photos of other sites (README)
VAL_PRED=$(wt-yolo predict --run "$RUN" --dataset "$SPLIT" --split val --conf 0.01 --imgsz 160 \
           --slicing.tile 160 --slicing.overlap 0.2 --out predictions/yolo-val --overwrite)
CAL=$(wt-eval calibrate --dataset "$SPLIT" --predictions "$VAL_PRED" --split val --metric count_mae \
      --out evaluations/yolo-calibration --overwrite)

say "train a second-stage classifier on the crops and evaluate it"
CLS=$(wt-cls fit --dataset "$CROPS" --model.backbone test_efficientnet_gn --train.imgsz 64 --train.batch 8 \
      --train.workers 0 --loader.augment none --train.lr 0.005 --train.epochs 2 --out runs/cls --overwrite)
CLS_PRED=$(wt-cls predict --run "$CLS" --dataset "$CROPS" --splits "[test]" --out predictions/cls-test --overwrite)
CLS_EVAL=$(wt-eval classify --dataset "$CROPS" --predictions "$CLS_PRED" --split test --out evaluations/cls-test --overwrite)

say "register detector + classifier as one model, alias champion, and load it by alias"
MODEL=$(wt-registry register --model demo-aerial --detector "$RUN" --classifier "$CLS" --alias champion \
        --evaluation "$EVAL" --calibration "$CAL" --slicing.tile 160 --slicing.overlap 0.2 --out models/demo-aerial --overwrite)
wt-registry lineage --model demo-aerial@champion
python - "$SPLIT" "$EVAL" <<'PY'
import json
import sys
from pathlib import Path

import wt_registry
from wt_core.manifest_io import read_manifest

split, evaluation = read_manifest(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
test = split.splits["test"]
coco = json.loads(split.artifact_path(test.annotations).read_text())
image = max(coco["images"], key=lambda im: sum(a["image_id"] == im["id"] for a in coco["annotations"]))
true = sum(a["image_id"] == image["id"] for a in coco["annotations"])
path = split.resolve(test.image_root) / image["file_name"]
model = wt_registry.load("models:/demo-aerial@champion")
found = len(model.predict([str(path)])[0])
print(f"YOLO on the whole test photos: mAP50 {evaluation['metrics']['mAP50']:.3f}", file=sys.stderr)
print(f"models:/demo-aerial@champion found {found} animals in {path.name} (true count {true}, a held-out photo)",
      file=sys.stderr)
PY

say "done: manifests under $(pwd)"
echo "report of the test evaluation (open it in a browser): $(dirname "$EVAL")/report.html" >&2
