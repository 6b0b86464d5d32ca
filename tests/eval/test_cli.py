"""wt-eval's command line: light --help, config round trip, the Python API is the CLI's function."""

from __future__ import annotations

import subprocess
import sys

from helpers import run_cli

HEAVY = ("torch", "torchmetrics", "matplotlib", "faster_coco_eval", "pycocotools", "mlflow")


def test_help_imports_no_heavy_library():
    code = ("import sys\n"
            "from wt_core.cli import run_tool\n"
            "from wt_eval.cli import COMMANDS, __doc__ as doc\n"
            "for c in COMMANDS:\n"
            "    assert run_tool('wt-eval', doc, COMMANDS, [c, '--help']) == 0\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_print_config_round_trips(tmp_path):
    proc = run_cli("wt-eval", "detect", "--dataset", "d", "--predictions", "p", "--conf", "0.4",
                   "--slicing.merge", "greedy", "--print_config", check=True)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(proc.stdout)
    again = run_cli("wt-eval", "detect", "--config", cfg, "--print_config", check=True)
    assert again.stdout == proc.stdout and "conf: 0.4" in proc.stdout and "merge: greedy" in proc.stdout


def test_list_options_take_several_words():
    from wt_core.argv import normalize
    from wt_core.parser import build_parser
    from wt_eval.cli import COMMANDS

    parser = build_parser("wt-eval", "", COMMANDS)
    assert normalize("wt-eval", parser, ["compare", "--evaluations", "a", "b", "--json"]) == \
        ["compare", "--evaluations", '["a", "b"]', "--json", "true"]
    assert normalize("wt-eval", parser, ["compare", "--evaluations", "[a,b]"]) == ["compare", "--evaluations", "[a,b]"]


def test_mistyped_option_suggests():
    proc = run_cli("wt-eval", "detect", "--dataset", "d", "--predictions", "p", "--cnof", "0.3")
    assert proc.returncode == 2 and "--conf" in proc.stderr


def test_python_api_writes_the_same_manifest(tmp_path):
    import wt_eval
    from evalcases import generated, write_dataset, write_predictions
    from wt_core.manifest_io import read_manifest

    gt, preds, classes = generated(n_images=6, seed=2)
    ds = write_dataset(tmp_path / "ds", classes, {"val": gt})
    pred = write_predictions(tmp_path / "p", ds, {"val": preds})
    m = wt_eval.detect(str(ds.path), str(pred.path), plots=False, out=str(tmp_path / "ev"))
    again = read_manifest(m.path)
    assert again.metrics == m.metrics and again.producer.command == "detect"
    assert again.producer.config["plots"] is False
