"""The shared command line: config round trip, mistyped keys, exit statuses, light --help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

TOOLS = ["wt-data", "wt-yolo", "wt-mmdet", "wt-cls", "wt-eval", "wt-tune", "wt-registry"]
HEAVY = ["torch", "lightning", "ultralytics", "mmdet", "mmengine", "mlflow", "timm", "torchmetrics", "optuna", "cv2"]

PROBE = """
import importlib, json, sys
tool = sys.argv[1]
mod = importlib.import_module("wt_" + tool.removeprefix("wt-") + ".cli")
helps = [["--help"]] + [[name, "--help"] for name in mod.COMMANDS]
from wt_core.cli import run_tool
import contextlib, io
for argv in helps:
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        code = run_tool(tool, mod.__doc__, mod.COMMANDS, argv)
    assert code == 0 and "usage:" in buf.getvalue(), (argv, code, buf.getvalue()[:200])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(json.dumps(heavy))
"""


@pytest.mark.parametrize("tool", TOOLS)
def test_help_imports_no_heavy_library(tool, tmp_path):
    env = {"WT_HOME": str(tmp_path / "home"), "PATH": ""}
    script = f"HEAVY = {HEAVY!r}\n" + PROBE
    for cache in ("cold", "warm"):  # a fresh help cache, then the one the first run wrote
        proc = subprocess.run([sys.executable, "-c", script, tool], capture_output=True, text=True, timeout=120,
                              env={**env, "HOME": str(tmp_path)})
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout) == [], cache


def test_import_wt_core_is_light():
    proc = subprocess.run([sys.executable, "-c", "import sys, wt_core, wt_core.manifest_io, wt_core.outputs, wt_core.cli, "
                           "wt_core.tracking, wt_core.views; print(sorted(m for m in sys.modules if m.split('.')[0] in "
                           f"{HEAVY!r}))"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_print_config_round_trips(tmp_path, slow):
    cfg = slow("write", "--parts", "4", "--delay", "0", "--out", tmp_path / "o", "--print_config")
    assert cfg.returncode == 0 and "parts: 4" in cfg.stdout
    (tmp_path / "c.yaml").write_text(cfg.stdout)
    proc = slow("write", "--config", tmp_path / "c.yaml")
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["producer"]["config"]["parts"] == 4
    assert m["producer"]["argv"] == ["write", "--config", str(tmp_path / "c.yaml")]


@pytest.mark.parametrize("argv,fragment", [
    (["write", "--prts", "3"], "did you mean --parts?"),
    (["write", "--par", "3"], "did you mean --parts?"),  # no abbreviations
    (["write", "--parts", "many"], "parts"),
    (["wirte"], "did you mean write?"),
    (["read"], "data"),
])
def test_bad_usage_is_one_line_exit_2(argv, fragment, slow_here):
    proc = slow_here(*argv)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr


def test_mistyped_key_in_config_file(tmp_path, slow):
    (tmp_path / "c.yaml").write_text("parts: 2\ndelai: 0.1\n")
    proc = slow("write", "--config", tmp_path / "c.yaml")
    assert proc.returncode == 2 and "did you mean --delay?" in proc.stderr, proc.stderr


def test_verbose_shows_traceback(tmp_path, slow):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{")
    quiet = slow("read", "--data", tmp_path / "bad")
    loud = slow("read", "--data", tmp_path / "bad", "--verbose")
    assert quiet.returncode == loud.returncode == 2
    assert "Traceback" not in quiet.stderr and "Traceback" in loud.stderr


def test_dashed_option_names_are_accepted(tmp_path, slow):
    proc = slow("write", "--out", tmp_path / "o", "--parts", "1", "--over-write")
    assert proc.returncode == 2 and "did you mean --overwrite?" in proc.stderr
    proc = slow("write", "--parts", "4", "--print-config")
    assert proc.returncode == 0 and "parts: 4" in proc.stdout


def test_list_options_take_several_words(tmp_path, slow_here):
    for i, argv in enumerate([["--tags", "a", "b", "--parts", "1"], ["--tags", "[a, b]"]]):
        proc = slow_here("write", "--out", tmp_path / f"o{i}", *argv)
        assert proc.returncode == 0, proc.stderr
        assert json.loads((tmp_path / f"o{i}" / "manifest.json").read_text())["details"]["tags"] == ["a", "b"]


def test_help_of_a_script_tool_and_field_docstrings(slow):
    proc = slow("write", "--help")
    assert proc.returncode == 0 and "usage:" in proc.stdout and "How many part files to write." in proc.stdout
    again = slow("write", "--help")  # answered from the help cache
    assert again.stdout == proc.stdout


def test_lazy_package_keeps_functions_named_like_their_modules():
    proc = subprocess.run([sys.executable, "-c", "import wt_eval.detect, wt_yolo.fit, wt_eval, wt_yolo, sys; "
                           "print(callable(wt_eval.detect), callable(wt_yolo.fit), 'torch' in sys.modules)"],
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.split()[:2] == ["True", "True"], proc.stderr[-2000:]
