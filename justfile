# WildTrain recipes. Run them with `uv run just <recipe>` (uv installs everything first).
set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# The demo pipeline on generated data, local tracking (sqlite), outputs under OUT.
demo out="demo-out":
    bash tools/demo.sh "{{out}}"

# The whole test suite (what CI runs): the tests spread over the cores (pytest-xdist; one file on one worker, so the e2e tests share one demo).
test *args:
    pytest -n auto --dist loadfile --durations=15 {{args}}

# The fast loop: every package's tests but the `slow` ones (they train, serve or run a pipeline); under 3 min on 2 cores.
test-fast *args:
    pytest -n auto --dist load -m "not slow" {{args}}

# Lint.
lint:
    ruff check packages tools tests

# Type-check: wt-core strictly (pyproject.toml, [tool.mypy]); the other packages as a report, not yet a gate.
typecheck:
    mypy packages/wt-core/src/wt_core
    -mypy packages/wt-data/src/wt_data packages/wt-eval/src/wt_eval packages/wt-yolo/src/wt_yolo packages/wt-mmdet/src/wt_mmdet packages/wt-cls/src/wt_cls packages/wt-tune/src/wt_tune packages/wt-registry/src/wt_registry

# Benchmarks: ratios against the bare libraries, each measured in one run. `just bench --quick` for small sizes.
bench *args:
    for f in tools/bench/*.py; do echo "== $f"; python "$f" {{args}}; done

# JSON Schema of every manifest kind.
schema out="schema":
    python -m wt_core schema "{{out}}"

# Optional: the MMDetection step of the demo (RetinaNet on the demo's tiles, evaluated by wt-eval). Run `demo` first.
demo-mmdet out="demo-out":
    bash tools/demo_mmdet.sh "{{out}}"

# Training in stages (the original WildTrain YOLO curriculum) on wt-yolo's pieces: stage 1 trains on the tiles with
# random empty tiles; each later stage mines hard negatives with the previous stage's run (`wt-yolo mine`, RATIOS:
# hard negatives per positive tile) and fine-tunes from it (`wt-yolo fit --model RUN`) with its own epochs,
# learning rate and frozen layers. DATASET: a split detection dataset of whole images. Prints the last run's manifest.
stages dataset out="stages-out" size="640" epochs="30 15 10" ratios="0.5 1 2" lr0="0.002 0.001 0.0005" freeze="0 10 10" *fit_args="":
    #!/usr/bin/env bash
    set -euo pipefail
    read -ra E <<< "{{epochs}}"; read -ra R <<< "{{ratios}}"; read -ra L <<< "{{lr0}}"; read -ra F <<< "{{freeze}}"
    TILES=$(wt-data tile --dataset "{{dataset}}" --size {{size}} --empty_ratio "${R[0]}" --out "{{out}}/tiles" --overwrite)
    POOL=$(wt-data tile --dataset "{{dataset}}" --size {{size}} --empty_ratio null --max_empty_per_image null \
           --out "{{out}}/pool" --overwrite)
    MODEL=yolo11n.yaml
    DATA="$TILES"
    for i in "${!E[@]}"; do
        if [ "$i" -gt 0 ]; then
            DATA=$(wt-yolo mine --run "$MODEL" --dataset "$POOL" --ratio "${R[$i]}" --out "{{out}}/mined-$i" --overwrite)
        fi
        MODEL=$(wt-yolo fit --dataset "$DATA" --model "$MODEL" --train.epochs "${E[$i]}" --ultralytics.optimizer AdamW \
                --train.lr "${L[$i]}" --train.freeze "${F[$i]}" {{fit_args}} --out "{{out}}/stage-$i" --overwrite)
        echo "stage $i: $MODEL" >&2
    done
    echo "$MODEL"
