#!/usr/bin/env bash
# The checks only a GPU machine can run, in one short script (about 3-5 minutes on one GPU):
#   bash tools/gpu_check.sh [OUT]      (from the repository root, after `uv sync --locked`)
#  1. AMP: wt-yolo fit --device 0 with Ultralytics' AMP (its own check_amp passes), wt-cls fit with
#     --trainer.precision 16-mixed, wt-mmdet fit --mmdet.amp true.
#  2. Ultralytics' DDP path (`--device 0,1`): with two GPUs the real thing; with one, the same path with one
#     rank (Ultralytics launches its generated script under torch.distributed.run, so our callbacks do not run
#     in the trainer and the harness must rebuild metrics.jsonl and MLflow from results.csv).
#  3. Lightning's DDP: wt-cls fit --trainer.strategy ddp on the GPUs (nccl), one MLflow run, one metrics.jsonl.
#  4. Sliced prediction on the GPU: wt-yolo predict --device 0 on full-size images cut in tiles.
# Prints PASS/FAIL per check and exits 1 when any failed. Local tracking (sqlite) in OUT.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mkdir -p "${1:-gpu-check-out}" && cd "${1:-gpu-check-out}" && pwd)"
BIN="$ROOT/.venv/bin"
export PATH="$BIN:$PATH" WT_HOME="$OUT/home" MLFLOW_TRACKING_URI="sqlite:///$OUT/mlflow.db"
cd "$OUT"
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
check() {  # check NAME PYTHON-ASSERTIONS MANIFEST: assertions see `m` (the manifest) and `rows` (metrics.jsonl)
  local name="$1" code="$2" manifest="$3"
  if [ -z "$manifest" ] || [ ! -f "$manifest" ]; then fail "$name (no manifest; see $OUT/$name.log)"; return; fi
  if python - "$manifest" <<PY 2>>"$OUT/$name.log"
import json, sys
from pathlib import Path
m = json.loads(Path(sys.argv[1]).read_text())
rows = [json.loads(x) for x in (Path(sys.argv[1]).parent / "metrics.jsonl").read_text().splitlines()]
$code
PY
  then pass "$name"; else fail "$name (see $OUT/$name.log)"; fi
}
GPUS=$(python -c "import torch; print(torch.cuda.device_count())")
echo "GPUs: $GPUS ($(python -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")'))"
[ "$GPUS" -ge 1 ] || { echo "FAIL no GPU visible to torch"; exit 1; }

python "$ROOT/tools/synth.py" aerial --out data/aerial --images 8 >/dev/null
python "$ROOT/tools/synth.py" camtrap --out data/camtrap --per-class 20 >/dev/null
DS=$(wt-data import --source data/aerial/coco.json --format coco --out ds/aerial --overwrite 2>ds.log)
SPLIT=$(wt-data split --dataset "$DS" --ratios "[0.75, 0.25]" --names "[train, val]" --out ds/split --overwrite 2>>ds.log)
TILES=$(wt-data tile --dataset "$SPLIT" --size 640 --overlap 0.2 --out ds/tiles --overwrite 2>>ds.log)
CAM=$(wt-data import --source data/camtrap --format imagefolder --out ds/camtrap --overwrite 2>>ds.log)
YOLO="--model yolo11n.yaml --train.epochs 2 --train.imgsz 320 --train.batch 8 --ultralytics.plots false"

# 1a. Ultralytics AMP on one GPU
RUN=$(wt-yolo fit --dataset "$TILES" $YOLO --ultralytics.amp true --device 0 --out runs/yolo-amp --overwrite 2>yolo-amp.log)
check yolo-amp 'assert m["details"]["train_args"]["amp"] is True and [r["epoch"] for r in rows] == [1, 2]
assert "mAP50_95" in m["metrics"], m["metrics"]
assert "AMP: checks passed" in Path("yolo-amp.log").read_text()' "$RUN"

# 2. Ultralytics DDP path
if [ "$GPUS" -ge 2 ]; then
  DDP=$(wt-yolo fit --dataset "$TILES" $YOLO --device 0,1 --out runs/yolo-ddp --overwrite 2>yolo-ddp.log)
else  # one GPU: force Ultralytics' DDP launch with one rank
  DDP=$(python - "$TILES" $YOLO --device 0 --out runs/yolo-ddp --overwrite 2>yolo-ddp.log <<'PY'
import sys
from ultralytics.engine import trainer as T

init = T.BaseTrainer.__init__
def ddp_init(self, *a, **kw):
    init(self, *a, **kw)
    if T.LOCAL_RANK == -1:
        self.ddp = True  # what device '0,1' sets: train in torch.distributed.run children
T.BaseTrainer.__init__ = ddp_init
from wt_core.cli import run_tool
from wt_yolo.cli import COMMANDS, __doc__ as doc
sys.exit(run_tool("wt-yolo", doc, COMMANDS, ["fit", "--dataset", *sys.argv[1:]]))
PY
)
fi
check yolo-ddp 'assert [r["epoch"] for r in rows] == [1, 2], rows  # rebuilt from results.csv
assert m["details"]["best_epoch"] in (1, 2) and "mAP50" in m["metrics"]
import mlflow
c = mlflow.MlflowClient(m["tracking"]["uri"])
assert sorted(x.step for x in c.get_metric_history(m["tracking"]["run_id"], "mAP50")) == [1, 2]' "$DDP"

# 1b + 3. Lightning: AMP and DDP on the GPUs (nccl)
DEVICES=$([ "$GPUS" -ge 2 ] && echo "0,1" || echo "0")
WS=$([ "$GPUS" -ge 2 ] && echo 2 || echo 1)
CLS=$(wt-cls fit --dataset "$CAM" --train.split all --model.backbone resnet18 --train.imgsz 64 \
      --train.batch 16 --train.workers 2 --train.epochs 2 --trainer.progress_bar false \
      --trainer.precision 16-mixed --trainer.strategy ddp --device "$DEVICES" --out runs/cls-ddp --overwrite 2>cls-ddp.log)
check cls-ddp-amp "assert [r['epoch'] for r in rows] == [1, 2], rows
assert m['details']['world_size'] == $WS
assert m['producer']['config']['trainer']['precision'] == '16-mixed' and 'acc' in m['metrics']
import mlflow
c = mlflow.MlflowClient(m['tracking']['uri'])
runs = c.search_runs([m['tracking']['experiment_id']], filter_string=\"tags.\`wt.output\` = '\" + str(Path(sys.argv[1]).parent) + \"'\")
assert len(runs) == 1, runs" "$CLS"

# 1c. MMDetection AMP (skipped when wt-mmdet is not installed)
if command -v wt-mmdet >/dev/null; then
  MM=$(wt-mmdet fit --dataset "$SPLIT" --model retinanet_r18_fpn --train.epochs 1 --train.imgsz 320 --train.batch 2 \
       --mmdet.amp true --device 0 --out runs/mmdet-amp --overwrite 2>mmdet-amp.log)
  check mmdet-amp 'assert [r["epoch"] for r in rows] == [1] and m["producer"]["config"]["train"]["amp"] is True' "$MM"
fi

# 4. sliced prediction on the GPU, full-size images
PRED=$(wt-yolo predict --run "$RUN" --images data/aerial/images --device 0 --imgsz 320 --conf 0.01 \
       --slicing.tile 640 --slicing.overlap 0.2 --out predictions/sliced --overwrite 2>predict.log)
if [ -n "$PRED" ] && [ -f "$PRED" ] && python -c "
import json, sys; m = json.load(open(sys.argv[1])); assert m['slicing']['tile'] == 640" "$PRED" 2>>predict.log
then pass predict-sliced; else fail "predict-sliced (see $OUT/predict.log)"; fi

echo "logs and outputs: $OUT"
exit $FAILED
