"""One writer per output: an OS file lock beside `DIR.partial`.

The lock file `DIR.partial.lock` is locked with `fcntl.flock` for as long as its
writer builds the output, and holds the writer's PID and host. The kernel
releases the lock when the process ends, however it ends (kill -9 included),
so a lock is never stale: a left-over file with no live holder is simply taken
by the next writer. The file lives beside the partial directory, not in it, so
that `--overwrite` can remove the partial directory without removing the lock.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from wt_core.errors import BadInput

LOCK = ".lock"


class OutputLock:
    """The exclusive lock on one output, taken at once or refused (exit 2) naming the live writer."""

    def __init__(self, partial: Path):
        self.path = partial.with_name(partial.name + LOCK)
        self._fd: int | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:  # the file may be unlinked by a writer finishing between our open and our lock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode(errors="replace").split()
                os.close(fd)
                who = f"PID {holder[0]} on host {holder[1]}" if len(holder) >= 2 else "another process"
                raise BadInput(f"this output is being written by {who}; wait for it to finish or choose another "
                               "--out (--resume and --overwrite are refused while it runs)", partial, "out") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Remove the lock file and let go (the output is committed or discarded)."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still held: a newcomer that opened it retries on a fresh file
        os.close(self._fd)
        self._fd = None

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
