# WildTrain recipes. Run them with `uv run just <recipe>` (uv installs everything first).
set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# The demo pipeline on generated data, local tracking (sqlite), outputs under OUT.
demo out="demo-out":
    bash tools/demo.sh "{{out}}"

# The whole test suite (what CI runs): the test folders spread over the cores (pytest-xdist, one group per folder).
test *args:
    pytest -n auto --dist loadgroup {{args}}

# Lint.
lint:
    ruff check packages tools tests

# Benchmarks: ratios against the bare libraries, each measured in one run. `just bench --quick` for small sizes.
bench *args:
    for f in tools/bench/*.py; do echo "== $f"; python "$f" {{args}}; done

# JSON Schema of every manifest kind.
schema out="schema":
    python -m wt_core schema "{{out}}"

# Optional: the MMDetection step of the demo (RetinaNet on the demo's tiles, evaluated by wt-eval). Run `demo` first.
demo-mmdet out="demo-out":
    bash tools/demo_mmdet.sh "{{out}}"
