"""Two writers of one output at once (issue 24, item 1), with real processes.

The issue's reproduction: `wt-data tile ... --out t &`, then the same with `--resume` 3 s later. The
first writer is slowed (a sleep before each image it cuts) so the second surely meets it at work; the
second is refused with the live writer's PID and host, with or without --resume or --overwrite, and
the first finishes whole. After a kill -9 of a writer, --resume takes over and finishes the same.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from data_helpers import imported, wt_data
from helpers import assert_bad_input, killed_at_exit, manifest_of, run_cli

# wt-data's own entry point, with a pause before each image is cut (one worker: in this process).
SLOW_TILE = ("import sys, time\n"
             "import wt_data.tiling as t\n"
             "orig = t.cut_unit\n"
             "def cut(job):\n"
             "    time.sleep(2.5)\n"
             "    return orig(job)\n"
             "t.cut_unit = cut\n"
             "from wt_data.cli import main\n"
             "sys.argv[0] = 'wt-data'\n"
             "main()\n")


def _slow_tile(args: list) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SLOW_TILE, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_progress(partial: Path, proc: subprocess.Popen, n: int = 1) -> None:
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if len(list((partial / ".progress" / "all").glob("*"))) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"the first writer made no progress: {proc.stderr.read() if proc.poll() is not None else ''}")


def test_a_second_tile_is_refused_while_the_first_runs(small_aerial, tmp_path):
    imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "src")
    args = ["tile", "--dataset", tmp_path / "src", "--size", "128", "--workers", "1", "--out", tmp_path / "t"]
    first = _slow_tile(args)
    with killed_at_exit(first):
        _wait_for_progress(tmp_path / "t.partial", first)
        for flags in (("--resume",), (), ("--overwrite",)):
            second = run_cli("wt-data", *args, *flags) if flags == ("--resume",) else wt_data(*args, *flags)
            assert_bad_input(second, f"error: this output is being written by PID {first.pid} on host "
                             f"{socket.gethostname()}")
        stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    m = manifest_of(subprocess.CompletedProcess([], 0, stdout, stderr))
    fresh, _ = imported(*args[:-1], tmp_path / "fresh")
    assert m["splits"] == fresh["splits"] and m["report"] == fresh["report"]
    assert not (tmp_path / "t.partial").exists() and not (tmp_path / "t" / ".wt-lock").exists()


def test_tile_resumes_after_its_writer_is_killed(small_aerial, tmp_path):
    imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "src")
    args = ["tile", "--dataset", tmp_path / "src", "--size", "128", "--workers", "1", "--out", tmp_path / "t"]
    first = _slow_tile(args)
    _wait_for_progress(tmp_path / "t.partial", first, 2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done = wt_data(*args, "--resume", check=True)
    m = manifest_of(done)
    fresh, _ = imported(*args[:-1], tmp_path / "fresh")
    assert m["splits"] == fresh["splits"] and m["report"] == fresh["report"]
