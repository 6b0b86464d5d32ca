#!/usr/bin/env bash
# Optional MMDetection step of the demo: RetinaNet (ResNet-18, from scratch) on the tiles the demo made,
# sliced prediction on the full-size test images, evaluated by the same wt-eval code as YOLO.
#   bash tools/demo_mmdet.sh OUT   (after `uv run just demo OUT`; run by `uv run just demo-mmdet`)
set -euo pipefail
OUT="${1:-demo-out}"
cd "$OUT"
TILES=datasets/tiles/manifest.json
SPLIT=datasets/split/manifest.json
MM_RUN=$(wt-mmdet fit --dataset "$TILES" --model retinanet_r18_fpn --train.epochs 2 --train.imgsz 320 \
         --train.batch 2 --train.workers 0 --out runs/mmdet --overwrite)
MM_PRED=$(wt-mmdet predict --run "$MM_RUN" --dataset "$SPLIT" --split test --conf 0.01 --imgsz 320 \
          --slicing.tile 640 --slicing.overlap 0.2 --out predictions/mmdet-test --overwrite)
MM_EVAL=$(wt-eval detect --dataset "$SPLIT" --predictions "$MM_PRED" --split test --out evaluations/mmdet-test --overwrite)
wt-eval compare --evaluations evaluations/yolo-test "$MM_EVAL"
echo "$MM_EVAL"
