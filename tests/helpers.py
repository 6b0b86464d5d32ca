"""Helpers every test folder shares: run a tool, read what it wrote, check a bad input.

Import them as `from helpers import ...`: pytest's `pythonpath` setting (pyproject.toml) puts
tests/, tools/ (so `import synth` works) and each test folder (its own `<folder>_helpers.py`)
on the import path. Fixtures stay in the conftest.py files.

Two ways to run a tool, both through the real command line (`wt_core.cli.run_tool`):

- `run_cli` starts it as a subprocess: for tests of the CLI contract (stdout, exit status,
  signals, a fresh process's environment);
- `call_cli` runs it inside the test process and returns the same `CompletedProcess`
  (exit status, stdout, stderr): for every other test, without seconds of imports per call.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"
BIN = Path(sys.executable).parent


def tool_path(tool: str) -> str:
    exe = BIN / tool
    return str(exe) if exe.exists() else tool


def run_cli(tool: str, *args: str | Path, stdin: str | None = None, check: bool = False, timeout: float = 900,
            env: dict[str, str] | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run a WildTrain CLI as a subprocess; stdout and stderr captured as text."""
    proc = subprocess.run([tool_path(tool), *map(str, args)], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"{tool} {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return proc


def call_cli(tool: str, *args: str | Path, check: bool = False, env: dict[str, str] | None = None,
             cwd: str | Path | None = None, module: str | None = None) -> subprocess.CompletedProcess:
    """Run `tool ARGS` through the tool's real command line (`run_tool`) inside this process.

    The commands are the `COMMANDS` of `module` (default: the tool's own, `wt_data.cli` for wt-data).
    Standard output and error are captured at the file-descriptor level (the manifest path is
    written to descriptor 1, logs go to descriptor 2), so the result reads like `run_cli`'s.
    """
    from wt_core import console
    from wt_core.cli import run_tool

    cli = importlib.import_module(module or f"{tool.replace('-', '_')}.cli")
    saved_env = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    saved_cwd = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    logger = logging.getLogger("wildtrain")
    saved_streams, saved_term = (sys.stdout, sys.stderr), signal.getsignal(signal.SIGTERM)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved_fds = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        for h in list(logger.handlers):  # log to this call's stderr
            logger.removeHandler(h)
        console._configured = False
        try:
            code = run_tool(tool, cli.__doc__, cli.COMMANDS, [str(a) for a in args])
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for h in list(logger.handlers):
                logger.removeHandler(h)
            console._configured = False
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])
            signal.signal(signal.SIGTERM, saved_term)
            os.chdir(saved_cwd)
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    proc = subprocess.CompletedProcess([tool, *map(str, args)], code, stdout, stderr)
    if check and code != 0:
        raise AssertionError(f"{tool} {' '.join(map(str, args))} exited {code}:\n{stderr[-4000:]}")
    return proc


def manifest_of(proc: subprocess.CompletedProcess) -> dict:
    """The manifest a CLI wrote, from the one line on its stdout."""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, f"stdout must hold one line, got {proc.stdout!r}"
    return json.loads(Path(lines[0]).read_text())


def written(proc: subprocess.CompletedProcess) -> tuple[dict, Path]:
    """The manifest a command wrote and its directory (the command must have succeeded)."""
    assert proc.returncode == 0, proc.stderr[-4000:]
    return manifest_of(proc), Path(proc.stdout.strip()).parent


def split_and_tile(coco: Path, base: Path, tile: int, val: float = 0.25) -> tuple[Path, Path]:
    """A COCO survey imported, split train/val by image (not stratified) and cut into `tile`-pixel tiles with
    20 % overlap, in this process: the directories of the whole-image dataset and of its tiles."""
    _, imported = written(call_cli("wt-data", "import", "--source", coco, "--out", base / "imported"))
    _, full = written(call_cli("wt-data", "split", "--dataset", imported, "--ratios", f"[{1 - val}, {val}]",
                               "--names", "[train, val]", "--stratify", "false", "--out", base / "full"))
    _, tiles = written(call_cli("wt-data", "tile", "--dataset", full, "--size", str(tile), "--overlap", "0.2",
                                "--out", base / "tiles"))
    return full, tiles


def assert_bad_input(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 2, nothing on stdout, one `error:` line on stderr holding each fragment, no traceback."""
    assert proc.returncode == 2, f"exit {proc.returncode}, stderr:\n{proc.stderr[-3000:]}"
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), line
    for frag in fragments:
        assert frag in line, f"{frag!r} not in {line!r}"
    return line


def read_json(path: str | Path):
    return json.loads(Path(path).read_text())


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float, log: Path | None = None) -> None:
    """Until `url` answers 200; a server that exits or does not answer in time fails with its log's tail."""
    tail = (lambda: "\n" + log.read_text()[-3000:]) if log is not None else (lambda: "")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited {proc.returncode}{tail()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s{tail()}")


def stop(proc: subprocess.Popen) -> None:
    """End a server we started, and its children (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _dask(*args: str, log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "dask"
    return subprocess.Popen([str(exe), *args], stdout=subprocess.DEVNULL, stderr=open(log, "w"))


@contextlib.contextmanager
def dask_cluster(logs: Path) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A scheduler with two single-threaded worker processes (no nanny: a killed worker stays dead); its
    address and the worker processes. All are stopped on leaving."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0",
                   log=logs / "scheduler.log")]
    try:
        deadline = time.monotonic() + 120
        while True:  # the scheduler listens: a condition, not a fixed pause (machines differ in speed)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if procs[0].poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the dask scheduler did not listen: "
                                         f"{(logs / 'scheduler.log').read_text()[-2000:]}") from None
                time.sleep(0.1)
        for k in range(2):
            procs.append(_dask("worker", address, "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                               "--memory-limit", "0", "--local-directory", str(logs / f"w{k}"),
                               log=logs / f"worker{k}.log"))
        from distributed import Client

        with Client(address, timeout="60s") as c:
            c.wait_for_workers(2, timeout=120)
        yield address, procs[1:]
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()


@contextlib.contextmanager
def killed_at_exit(proc: subprocess.Popen):
    """A child process a test started, killed if still running when the block ends (a failed assertion)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# A tool's own entry point with one of its functions held at a gate: the first call writes GATE.reached and
# waits until the file GATE exists, before (or, with "after", once) the function runs.
# argv: "module:Name[.attr]", before|after, gate, tool, the tool's arguments.
_HELD = """
import importlib, sys, time
from pathlib import Path
target, when, nth, gate, tool = sys.argv[1:6]
calls = [0]
module, path = target.split(":")
*owners, name = path.split(".")
owner = importlib.import_module(module)
for o in owners:
    owner = getattr(owner, o)
orig = getattr(owner, name)
def wait():
    calls[0] += 1
    if calls[0] == int(nth):
        Path(gate + ".reached").touch()
        while not Path(gate).exists():
            time.sleep(0.05)
def held(*args, **kw):
    if when == "before":
        wait()
    result = orig(*args, **kw)
    if when == "after":
        wait()
    return result
setattr(owner, name, held)
sys.argv = [tool, *sys.argv[6:]]
importlib.import_module("wt_" + tool.removeprefix("wt-") + ".cli").main()
"""


def held_writer(tool: str, function: str, gate: Path, *args: str | Path, cwd: str | Path | None = None,
                after: bool = False, call: int = 1, env: dict[str, str] | None = None,
                stderr: IO[str] | None = None) -> subprocess.Popen:
    """Start `tool ARGS` as a subprocess whose `function` ("module:name" or "module:Class.method") waits at `gate`
    the `call`-th time it is called: before it runs (or, with `after`, once it has run). Returns once the process
    is waiting there; create the file `gate` to let it go on (or kill it). `stderr`: a file for a chatty process
    (a full pipe would block it before it gets there), else a pipe."""
    held = [sys.executable, "-c", _HELD, function, "after" if after else "before", str(call), str(gate), tool]
    proc = subprocess.Popen([*held, *map(str, args)], stdout=subprocess.PIPE, stderr=stderr or subprocess.PIPE,
                            text=True, cwd=cwd, env=env)
    reached = Path(f"{gate}.reached")
    deadline = time.monotonic() + 300
    while not reached.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{tool} never reached {function}: {(proc.communicate()[1] or '')[-3000:]}")
        time.sleep(0.05)
    return proc


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every process below it, whatever session each one is in."""
    import psutil

    try:
        root = psutil.Process(pid)
        tree = [*root.children(recursive=True), root]  # found before any dies (an orphan leaves the tree)
    except psutil.NoSuchProcess:
        return
    for q in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            q.kill()


def torchrun_start(tool: str, args: list[str | Path], cwd: Path, nodes: int = 2,
                   log: str = "node") -> list[subprocess.Popen]:
    """`tool ARGS` under torchrun as `nodes` "nodes" on this machine (one process each, node_rank 0..n-1, one
    master port), started and not waited for; node k's stderr goes to `cwd/<log><k>.log`. The nodes share this
    machine's cores, so each process gets one thread (torchrun sets that itself only for several processes per
    node): two processes of two threads each on two busy cores made an iteration 10 times slower."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    port = free_port()
    procs = []
    for node in range(nodes):
        cmd = [str(BIN / "torchrun"), "--nnodes", str(nodes), "--nproc_per_node", "1", "--node_rank", str(node),
               "--master_addr", "127.0.0.1", "--master_port", str(port), tool_path(tool), *map(str, args)]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(cwd / f"{log}{node}.log", "w"),
                                      text=True, cwd=cwd, env=env, start_new_session=True))
    return procs


def torchrun_wait(procs: list[subprocess.Popen], cwd: Path, limit: float, log: str = "node") -> str:
    """Every node's stdout, joined, once all exit 0 (`torchrun_start`'s nodes). A node still running after
    `limit` seconds (a rank waiting forever for another: a hang) fails the test with the logs' tails; every
    node's processes are killed whatever happens: torchrun starts its workers in sessions of their own, so
    they are found as its children (`kill_tree`) before torchrun itself is killed."""
    import pytest

    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=limit)[0])
    except subprocess.TimeoutExpired:
        logs = "\n".join((cwd / f"{log}{k}.log").read_text()[-1500:] for k in range(len(procs)))
        pytest.fail(f"torchrun's {len(procs)} nodes did not finish in {limit} s (a hang):\n{logs}")
    finally:
        for p in procs:
            if p.poll() is None:
                kill_tree(p.pid)
                p.wait()
    failed = [k for k, p in enumerate(procs) if p.returncode != 0]
    assert not failed, "\n".join(f"node {k} exited {procs[k].returncode}:\n{(cwd / f'{log}{k}.log').read_text()[-2500:]}"
                                  for k in failed)  # every failed node's log: the first to fail says why
    return "".join(outputs)


def torchrun_nodes(tool: str, args: list[str | Path], cwd: Path, limit: float, nodes: int = 2) -> str:
    """`tool ARGS` under torchrun as `nodes` "nodes" (`torchrun_start`), waited for (`torchrun_wait`)."""
    return torchrun_wait(torchrun_start(tool, args, cwd, nodes), cwd, limit)
