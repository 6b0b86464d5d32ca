"""Logs for a file: progress as plain lines at a steady pace, no carriage returns or terminal codes; --quiet."""

from __future__ import annotations

import io
import warnings

from helpers import run_cli
from wt_core import library_logs
from wt_core.console import PlainStream, plain


def test_plain_keeps_what_a_terminal_shows_last():
    assert plain("\r\x1b[K\x1b[34m\x1b[1mtrain: \x1b[0mScanning 3/9 images: 33% ━━━───── 3/9 1.2it/s 2s<5s") == \
        "train: Scanning 3/9 images: 33% 3/9 1.2it/s 2s<5s"
    assert plain("a plain line  ") == "a plain line"


def test_a_redrawn_bar_becomes_a_line_every_interval_and_its_last_state():
    out = io.StringIO()
    stream = PlainStream(out, every=0.0)  # every redraw is due: one line per frame written
    stream.write("epoch 1\n")
    for k in range(1, 4):
        stream.write(f"\r\x1b[Kbatches: {k}/3 ━━━")
    stream.write("\n")
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    assert text.splitlines() == ["epoch 1", "batches: 1/3", "batches: 2/3", "batches: 3/3"]


def test_a_quick_bar_leaves_one_line_and_the_hook_of_ultralytics():
    out = io.StringIO()
    stream = PlainStream(out, every=3600.0)
    for k in range(1, 101):
        stream.progress("bar", f"val: {k}% ━━ {k}/100 9.0it/s 1s<0s")
    stream.progress("bar", "")
    stream.write("\n")  # what Ultralytics writes when a bar that is kept closes
    stream.write("all 56 57 0.9\n")
    assert out.getvalue() == "val: 100% 100/100 9.0it/s 1s<0s\nall 56 57 0.9\n"


def test_library_noise_is_filtered_and_data_warnings_are_not():
    library_logs.silence()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        library_logs.silence.__globals__["_done"] = False  # filters again inside the recording context
        library_logs.silence()
        warnings.warn("\x1b[33mAdd type hints to the `predict` method to enable data validation\x1b[0m", UserWarning, stacklevel=1)
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning, stacklevel=1)
        warnings.warn("image 12 has no annotations", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["image 12 has no annotations"]


def test_quiet_leaves_the_manifest_path_and_nothing_else(tmp_path):
    """--quiet keeps the manifest path on stdout, and warnings and errors on stderr, nothing else (the same
    switch in every tool: tests/core/test_vocabulary.py)."""
    from synth import make_aerial

    make_aerial(tmp_path / "raw", images=2, width=200, height=150, animals=(2, 3), seed=0)
    for quiet in (False, True):
        proc = run_cli("wt-data", "import", "--source", tmp_path / "raw/coco.json", "--format", "coco",
                       "--out", tmp_path / f"ds{quiet}", *(["--quiet"] if quiet else []), timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().endswith("manifest.json")
        assert (proc.stderr.strip() == "") == quiet, proc.stderr
