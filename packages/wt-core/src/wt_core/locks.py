"""The lock an output's writer holds on its `DIR.partial` (contract section 3).

An OS file lock (`flock`) on `DIR.partial/.wt-lock`, held from the moment the
output is opened until it is committed, discarded or the command ends. The
kernel drops it when the process dies, however it dies, so a kill -9 leaves
nothing stale: the next `--resume` takes the lock and continues. A second
writer, with or without `--resume` or `--overwrite`, finds the lock taken and
is refused (exit 2) with the PID and host the writer wrote into the file.

`flock` locks belong to the open file, not the process: two outputs opened in
one process exclude each other too, and a child forked while the lock is held
closes its copy at once (`os.register_at_fork`), so a worker that outlives its
parent never keeps the output locked. On Linux, `flock` on NFS is carried out
with the server's byte-range locks, so writers on two hosts exclude each other.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from wt_core.errors import BadInput

LOCK_FILE = ".wt-lock"
_held: set[int] = set()  # file descriptors of the locks this process holds


def _close_in_child() -> None:
    for fd in list(_held):
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


class Lock:
    """A held lock on one output directory; `release` drops it (idempotent)."""

    def __init__(self, fd: int, path: Path):
        self.fd: int | None = fd
        self.path = path

    def release(self, unlink_in: Path | None = None) -> None:
        """Drop the lock; with `unlink_in`, first remove the lock file from that directory (the committed output)."""
        if self.fd is None:
            return
        if unlink_in is not None:
            (unlink_in / LOCK_FILE).unlink(missing_ok=True)
        _held.discard(self.fd)
        os.close(self.fd)
        self.fd = None


def holder(directory: Path) -> str:
    """Who wrote the lock file: "PID n on host h", or "another process" when it says nothing yet."""
    try:
        words = (directory / LOCK_FILE).read_text().split()
    except OSError:
        words = []
    info = dict(zip(words[::2], words[1::2], strict=False))
    if "pid" in info and "host" in info:
        return f"PID {info['pid']} on host {info['host']}"
    return "another process"


def acquire(directory: Path) -> Lock:
    """Lock `directory` (which exists) for this process, or refuse: another process is writing it (exit 2)."""
    path = directory / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise BadInput(f"this output is being written by {holder(directory)}; wait for it to finish or stop it "
                       "(neither --resume nor --overwrite may take over a live writer's output)",
                       directory, "out") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} host {socket.gethostname()}\n".encode(), 0)
    _held.add(fd)
    return Lock(fd, path)
