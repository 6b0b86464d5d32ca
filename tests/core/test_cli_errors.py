"""Errors that must say what happened (issue 17, item 5): YAML syntax in --config, a full disk.

Both through the real CLI (wt-data): the exit status and the one line on stderr.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from helpers import assert_bad_input, manifest_of, run_cli
from PIL import Image


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("dataset: a\nratios: [0.5, 0.5\nnames: [x, y]\n", 3, "expected ',' or ']'"),
    ("dataset: a\n  ratios: [0.5, 0.5]\n", 2, "mapping values are not allowed here"),
    ("dataset: a\nnames: [x, y]\n\tseed: 1\n", 3, "cannot start any token"),
])
def test_yaml_syntax_error_names_file_and_line(tmp_path, text, line, fragment):
    cfg = tmp_path / "split.yaml"
    cfg.write_text(text)
    proc = run_cli("wt-data", "split", "--config", cfg)
    assert_bad_input(proc, "error: invalid YAML:", fragment, f"({cfg}, line {line})")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 512 KiB tmpfs: a real full filesystem (needs root and mount; skipped where neither is allowed)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_says_so_and_keeps_the_output_resumable(tmp_path, tiny_disk):
    rng = np.random.default_rng(0)
    (tmp_path / "src").mkdir()
    images = []
    for i in range(3):  # noise compresses badly: its tiles overflow 512 KiB
        Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(tmp_path / "src" / f"n{i}.png")
        images.append({"id": i + 1, "file_name": f"n{i}.png", "width": 800, "height": 600})
    coco = {"images": images, "categories": [{"id": 1, "name": "seal"}],
            "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [50, 50, 40, 30]}
                            for i in range(3)]}
    (tmp_path / "src" / "coco.json").write_text(json.dumps(coco))
    ds = manifest_of(run_cli("wt-data", "import", "--source", tmp_path / "src" / "coco.json", "--out", tmp_path / "ds",
                             check=True))
    assert ds["kind"] == "dataset"
    out = tiny_disk / "tiles"
    proc = run_cli("wt-data", "tile", "--dataset", tmp_path / "ds", "--size", "256", "--image_format", "png",
                   "--out", out)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: no space left on device while writing {tiny_disk}"), line
    assert "--resume" in line
    assert not out.exists() and (tiny_disk / "tiles.partial").is_dir()  # kept, to continue once space is freed
    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)  # space freed
    again = run_cli("wt-data", "tile", "--dataset", tmp_path / "ds", "--size", "256", "--image_format", "png",
                    "--out", out, "--resume")
    assert again.returncode == 0, again.stderr[-2000:]
    ref = run_cli("wt-data", "tile", "--dataset", tmp_path / "ds", "--size", "256", "--image_format", "png",
                  "--out", tmp_path / "ref", check=True)
    assert manifest_of(again)["splits"] == manifest_of(ref)["splits"]  # the same tiles as a run with room


@pytest.mark.parametrize(("value", "extra"), [
    ('{model.neck: 3', "which is not valid YAML: expected ',' or '}'"),
    ("[1, 2]", ""),
    ("gamma=1.5", ""),
])
def test_malformed_union_option_names_it_and_what_was_expected(tmp_path, value, extra):
    """wt-mmdet's --cfg_options (dict | None) used to say only "Does not validate against any of the Union subtypes"."""
    proc = run_cli("wt-mmdet", "fit", "--dataset", tmp_path / "nowhere", "--cfg_options", value, "--out", tmp_path / "o")
    line = assert_bad_input(proc, "--cfg_options expects a mapping in YAML or JSON", f"got {value!r}", extra,
                            "(wt-mmdet, cfg_options)")
    assert "Union" not in line
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()


def test_disk_full_is_found_however_it_is_wrapped():
    import errno

    from wt_core.errors import disk_full_line

    def raised(outer, inner):
        try:
            try:
                raise inner
            except OSError as e:
                raise outer from e
        except Exception as e:
            return e

    line = disk_full_line(raised(RuntimeError("saving failed"), OSError(errno.ENOSPC, "No space left on device", "/o/w.pt")))
    assert line.startswith("error: no space left on device while writing /o/w.pt;")
    quota = disk_full_line(OSError(errno.EDQUOT, "Disk quota exceeded", "/o/x"))
    assert quota.startswith("error: disk quota exceeded while writing /o/x;")
    text = disk_full_line(RuntimeError("write failed: [Errno 28] No space left on device"))
    assert text.startswith("error: no space left on device (write failed")
    assert disk_full_line(OSError(errno.EACCES, "Permission denied", "/o")) is None


def test_bad_input_names_an_option_as_its_field_not_as_its_file():
    """`BadInput(message, file, field)`: an option is a field (`BadInput(msg, None, "size")`), never the file."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "packages"
    wrong = []
    for path in sorted(root.glob("*/src/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "BadInput" and len(node.args) > 1:
                file = node.args[1]
                text = file.value if isinstance(file, ast.Constant) else (
                    file.values[0].value if isinstance(file, ast.JoinedStr) and file.values
                    and isinstance(file.values[0], ast.Constant) else None)
                if isinstance(text, str) and text.startswith("-"):
                    wrong.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not wrong, "an option passed as the file of BadInput:\n" + "\n".join(wrong)
