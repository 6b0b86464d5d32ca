"""Two writers of one output at once (issue 24, item 1), with real wt-yolo processes: a fit and a predict.

The first writer is held at a gate once its output is open (and locked) - the fit before it trains,
the predict before it writes its predictions - so the second surely meets it at work. The second is
refused with the live writer's PID and host, with or without --resume or --overwrite, and writes
nothing; the first, let go, finishes whole. (A fit killed with kill -9 and resumed is the `trained`
fixture of conftest.py; tile's writers are tests/data/test_locked_outputs.py.)
"""

from __future__ import annotations

import socket
from pathlib import Path

from helpers import assert_bad_input, held_writer, killed_at_exit, read_json, written
from yolo_helpers import wt_yolo

ONE_EPOCH = ["--train.epochs", "1", "--train.imgsz", "64", "--train.batch", "8", "--train.workers", "0",
             "--device", "cpu", "--ultralytics.plots", "false"]


def _refused_while_held(first, args: list, flags: tuple[tuple[str, ...], ...], out: Path, cwd: Path) -> None:
    """Each second writer exits 2 naming the first (PID, host), and leaves the first's files as they were."""
    before = sorted(p.relative_to(out.parent).as_posix() for p in out.with_name(out.name + ".partial").rglob("*"))
    for extra in flags:
        assert_bad_input(wt_yolo(*args, *extra, cwd=cwd),
                         f"this output is being written by PID {first.pid} on host {socket.gethostname()}",
                         f"{out.name}.partial, out)")
    after = sorted(p.relative_to(out.parent).as_posix() for p in out.with_name(out.name + ".partial").rglob("*"))
    assert after == before and not out.exists()


def test_a_second_fit_is_refused_while_the_first_trains(yolo_data, tmp_path):
    out = tmp_path / "run"
    args = ["fit", "--dataset", yolo_data.tiles, "--model", "yolo11n.yaml", *ONE_EPOCH, "--out", out,
            "--experiment", "locked-outputs"]  # test_fit counts the runs of the `trained` fixture's experiment
    first = held_writer("wt-yolo", "wt_yolo.fit:_train", tmp_path / "go", *args, cwd=tmp_path)
    with killed_at_exit(first):
        _refused_while_held(first, args, ((), ("--resume",), ("--overwrite",)), out, tmp_path)
        (tmp_path / "go").touch()
        stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr[-3000:]
    assert Path(stdout.strip()) == out / "manifest.json"
    m = read_json(out / "manifest.json")
    assert m["kind"] == "run" and (out / m["artifacts"]["best"]["path"]).is_file()
    assert not out.with_name("run.partial").exists() and not (out / ".wt-lock").exists()


def test_a_second_predict_is_refused_while_the_first_writes(run_dir, yolo_data, tmp_path):
    out = tmp_path / "p"
    args = ["predict", "--run", run_dir, "--dataset", yolo_data.tiles, "--split", "val", "--device", "cpu",
            "--out", out]
    first = held_writer("wt-yolo", "wt_yolo.predict:predict_job", tmp_path / "go", *args, cwd=tmp_path)
    with killed_at_exit(first):
        _refused_while_held(first, args, ((), ("--overwrite",)), out, tmp_path)
        (tmp_path / "go").touch()
        stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr[-3000:]
    m = read_json(out / "manifest.json")
    alone, d = written(wt_yolo(*args[:-1], tmp_path / "alone", cwd=tmp_path))
    assert read_json(out / m["artifacts"][m["splits"]["val"]]["path"]) == \
        read_json(d / alone["artifacts"][alone["splits"]["val"]]["path"])  # the first wrote what it writes alone
    assert not out.with_name("p.partial").exists() and not (out / ".wt-lock").exists()
