"""Output directories: DIR.partial, manifest last, no overwrite, resume after kill -9, piping."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


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
    stamps = {name: (partial / "parts" / name).stat().st_mtime_ns for name in done}
    resumed = slow("write", "--out", out, "--parts", 8, "--delay", "0.4", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.count("wrote part") == 8 - len(done)  # only the missing parts were written ...
    assert {name: (out / "parts" / name).stat().st_mtime_ns for name in done} == stamps  # ... the others kept
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


def _start_writer(slow_script, out, parts=600, delay=0.2):
    """A slowtool writer of `out`, returned once it provably holds the output (a part is written)."""
    p = subprocess.Popen([sys.executable, str(slow_script), "write", "--out", str(out), "--parts", str(parts),
                          "--delay", str(delay)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = out.with_name(out.name + ".partial")
    deadline = time.time() + 30
    while time.time() < deadline and not list((partial / "parts").glob("*.txt")):
        time.sleep(0.05)
    assert p.poll() is None, "the first writer ended before the second started"
    return p


def test_a_live_writer_locks_its_output_against_every_second_writer(tmp_path, slow, slow_script):
    out = tmp_path / "o"
    first = _start_writer(slow_script, out)
    try:
        for flags in ([], ["--resume"], ["--overwrite"], ["--resume", "--overwrite"]):
            second = slow("write", "--out", out, "--parts", 2, *flags)
            assert second.returncode == 2, (flags, second.stderr)
            assert second.stderr.count("\n") == 1 and second.stderr.startswith("error: ")
            assert f"PID {first.pid} on host {socket.gethostname()}" in second.stderr, second.stderr
            assert first.poll() is None  # the live writer is untouched ...
        assert len(list(out.with_name("o.partial").glob("parts/*.txt"))) >= 1  # ... and so are its files
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    resumed = slow("write", "--out", out, "--parts", 3, "--resume")  # the kernel dropped the lock: nothing stale
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "manifest.json").is_file() and not out.with_name("o.partial").exists()
    assert not out.with_name("o.partial.lock").exists()


def test_a_refused_or_failed_command_lets_go_of_its_lock(tmp_path, slow_here):
    out = tmp_path / "o"
    proc = slow_here("write", "--out", out, "--parts", 1, "--resume")  # nothing to resume: refused in-process
    assert proc.returncode == 2 and "nothing to resume" in proc.stderr
    assert not out.with_name("o.partial.lock").exists()
    assert slow_here("write", "--out", out, "--parts", 1).returncode == 0  # the same process may write it now
