"""`wt-cls --help` answers without importing torch, lightning, timm or mlflow."""

from __future__ import annotations

import os
import subprocess
import sys

HEAVY = ("torch", "lightning", "timm", "torchvision", "torchmetrics", "mlflow")
PROBE = """
import sys
from wt_core.cli import run_tool
from wt_cls.cli import COMMANDS, __doc__ as doc
code = run_tool("wt-cls", doc, COMMANDS, sys.argv[1:])
print("HEAVY", [m for m in {heavy!r} if m in sys.modules], file=sys.stderr)
"""


def test_help_imports_no_heavy_library(tmp_path):
    for argv in (["--help"], ["fit", "--help"], ["predict", "--help"]):
        # a fresh WT_HOME: no cached help, the parser is really built
        proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv], capture_output=True, text=True,
                              env={**os.environ, "WT_HOME": str(tmp_path / argv[0])}, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "HEAVY []" in proc.stderr, proc.stderr
        assert "usage: wt-cls" in proc.stdout


def test_fit_help_lists_the_config_sections():
    from helpers import run_cli

    text = run_cli("wt-cls", "fit", "--help", check=True).stdout
    for key in ("--model.backbone", "--loss.class_weights", "--loader.sampler", "--trainer.strategy",
                "--trainer.precision", "--train.lr", "--scheduler.name", "--select.metric", "--resume"):
        assert key in text


def test_print_config_round_trips(tmp_path):
    from helpers import run_cli

    first = run_cli("wt-cls", "fit", "--dataset", "d", "--model.hidden", "[64]", "--loss.name", "focal",
                    "--print_config", check=True).stdout
    assert "backbone: resnet18" in first and "name: focal" in first
    (tmp_path / "fit.yaml").write_text(first)
    again = run_cli("wt-cls", "fit", "--config", tmp_path / "fit.yaml", "--print_config", check=True).stdout
    assert again == first
