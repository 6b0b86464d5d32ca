"""Output directories: DIR.partial, manifest last, no overwrite, resume after kill -9, piping."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import assert_bad_input, killed_at_exit


def test_stdout_is_one_line_and_logs_go_to_stderr(tmp_path, slow, slow_script):
    proc = slow("write", "--out", tmp_path / "o", "--parts", 2)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{tmp_path / 'o' / 'manifest.json'}\n"
    assert "wrote part 0" in proc.stderr  # print() inside a command lands on stderr


def test_existing_output_is_never_overwritten(tmp_path, slow_here):
    slow_here("write", "--out", tmp_path / "o", "--parts", 1)
    before = (tmp_path / "o" / "manifest.json").read_text()
    proc = slow_here("write", "--out", tmp_path / "o", "--parts", 3)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr and proc.stdout == ""
    assert (tmp_path / "o" / "manifest.json").read_text() == before
    proc = slow_here("write", "--out", tmp_path / "o", "--parts", 3, "--overwrite")
    assert proc.returncode == 0
    assert len(json.loads((tmp_path / "o" / "manifest.json").read_text())["artifacts"]) == 4


def test_default_output_under_runs(tmp_path, slow_here):
    proc = slow_here("write", "--parts", 1)
    path = Path(proc.stdout.strip())
    assert path.parent.parent == tmp_path / "runs" / "slow" / "write"


def test_kill_while_writing_leaves_no_manifest_and_resume_finishes(tmp_path, slow, slow_script):
    out = tmp_path / "o"
    p = subprocess.Popen([sys.executable, str(slow_script), "write", "--out", str(out), "--parts", "8", "--delay", "0.4"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = out.with_name("o.partial")
    deadline = time.time() + 30
    while time.time() < deadline and len(list((partial / "parts").glob("*.txt"))) < 3:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not out.exists() and not (partial / "manifest.json").exists()
    done = sorted(x.name for x in (partial / "parts").glob("*.txt"))
    assert 3 <= len(done) < 8
    again = slow("write", "--out", out, "--parts", 8)
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = slow("write", "--out", out, "--parts", 8, "--delay", "0.4", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    rewritten = [line for line in resumed.stderr.splitlines() if line.startswith("wrote part ")]
    assert rewritten == [f"wrote part {i}" for i in range(len(done), 8)]  # only the missing parts were written
    m = json.loads((out / "manifest.json").read_text())
    assert len([a for a in m["artifacts"] if a.startswith("part")]) == 8
    assert not partial.exists()


def test_sigterm_exits_130_and_keeps_partial(tmp_path, slow, slow_script):
    out = tmp_path / "o"
    p = subprocess.Popen([sys.executable, str(slow_script), "write", "--out", str(out), "--parts", "20", "--delay", "0.3"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=20)
    assert p.returncode == 130 and "--resume" in err
    assert out.with_name("o.partial").exists() and not out.exists()


def test_pipe_reads_manifest_path_from_stdin(tmp_path, slow, slow_script):
    script = (f'"{sys.executable}" "{slow_script}" write --out "{tmp_path / "o"}" --parts 1 2>"{tmp_path / "log1"}"'
              f' | "{sys.executable}" "{slow_script}" read --data - 2>"{tmp_path / "log2"}"')
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(tmp_path / "o" / "manifest.json")]
    assert "wrote part 0" in (tmp_path / "log1").read_text()
    # $(...) works too, and an empty stdin is a clean refusal
    run = subprocess.run(["bash", "-c", f'RUN=$("{sys.executable}" "{slow_script}" write --out "{tmp_path / "p"}" --parts 1 2>/dev/null); echo "got:$RUN"'],
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == f"got:{tmp_path / 'p' / 'manifest.json'}"
    empty = slow("read", "--data", "-", stdin="")
    assert empty.returncode == 2 and "standard input" in empty.stderr


def _start_writer(slow_script, out: Path, parts: int, delay: float) -> subprocess.Popen:
    """A first writer, started and waited for until it has written its first part (it holds the lock)."""
    p = subprocess.Popen([sys.executable, str(slow_script), "write", "--out", str(out), "--parts", str(parts),
                          "--delay", str(delay)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = out.with_name(out.name + ".partial")
    deadline = time.time() + 30
    while time.time() < deadline and not list((partial / "parts").glob("*.txt")):
        time.sleep(0.05)
    assert list((partial / "parts").glob("*.txt")), "the first writer did not start"
    return p


def test_a_second_writer_is_refused_whatever_its_flags(tmp_path, slow, slow_script):
    """Two writers of one --out: the second exits 2 naming the live writer (PID, host), and neither
    --resume nor --overwrite lets it touch the first's files; the first finishes whole."""
    import socket

    out = tmp_path / "o"
    first = _start_writer(slow_script, out, parts=30, delay=0.3)
    with killed_at_exit(first):
        for flags in ((), ("--resume",), ("--overwrite",)):
            second = slow("write", "--out", out, "--parts", 30, *flags)
            assert_bad_input(second, f"this output is being written by PID {first.pid} on host "
                             f"{socket.gethostname()}", "o.partial, out)")
        stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    m = json.loads((out / "manifest.json").read_text())
    assert len([a for a in m["artifacts"] if a.startswith("part")]) == 30
    assert sorted(p.name for p in (out / "parts").iterdir()) == [f"{i:03d}.txt" for i in range(30)]
    assert not (out / ".wt-lock").exists() and not out.with_name("o.partial").exists()


def test_kill_9_leaves_no_stale_lock(tmp_path, slow, slow_script):
    """The kernel drops a killed writer's lock: --resume continues at once, and a plain second run
    is told of the unfinished output (not of a live writer)."""
    out = tmp_path / "o"
    first = _start_writer(slow_script, out, parts=8, delay=0.3)
    first.send_signal(signal.SIGKILL)
    first.wait()
    plain = slow("write", "--out", out, "--parts", 8)
    assert plain.returncode == 2 and "--resume" in plain.stderr and "being written" not in plain.stderr
    resumed = slow("write", "--out", out, "--parts", 8, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert len([a for a in json.loads((out / "manifest.json").read_text())["artifacts"] if a.startswith("part")]) == 8


def test_a_failed_command_releases_its_lock_in_process(tmp_path, slow_here):
    """Run in-process, a command that ends (here refused after its output was opened) holds no lock after."""
    from wt_core.locks import acquire

    out = tmp_path / "o"
    out.with_name("o.partial").mkdir()
    proc = slow_here("write", "--out", out, "--parts", 1)
    assert proc.returncode == 2 and "--resume" in proc.stderr
    acquire(out.with_name("o.partial")).release()  # free again
    assert slow_here("write", "--out", out, "--parts", 2, "--resume").returncode == 0
