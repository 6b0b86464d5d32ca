"""Output directories (contract section 3).

An output `DIR` is built as `DIR.partial` and renamed into place when complete;
`manifest.json` is the last file written. An existing `DIR` is never replaced
without `--overwrite`; a left-over `DIR.partial` is continued with `--resume`.

An input is never destroyed by its own command: every manifest the command
reads (and its parents) and every source folder it scans is recorded in the
invocation (`wt_core.invocation.add_input`, called by the readers), and an
output that is, holds or lies inside one is refused before anything is
written, whichever comes first, the input or the `Output`. A command refused
with `BadInput` leaves no fresh `DIR.partial` behind.

A `DIR.partial` is locked by its writer for as long as the command runs
(`wt_core.locks`: an OS file lock the kernel drops when the process dies): a
second writer, with or without `--resume` or `--overwrite`, is refused with
the writer's PID and host, and a `--resume` after the writer died continues.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TypeVar

from wt_core import invocation, locks
from wt_core.errors import BadInput
from wt_core.manifest import Artifact, ManifestBase
from wt_core.manifest_io import MANIFEST, check_relative, make_artifact, new_id, write_manifest

M = TypeVar("M", bound=ManifestBase)
PARTIAL = ".partial"


def default_out(tool: str, command: str, id: str) -> Path:
    return Path.cwd() / "runs" / tool.removeprefix("wt-") / command / id


def output_file(path: str | Path, overwrite: bool = False) -> Path:
    """A command's single output file (a preview PNG): checked as an output directory is, absolute.

    The same guard as `Output`: it is not, does not hold and does not lie in anything the command
    reads, and an existing file is replaced only with --overwrite.
    """
    target = Path(path).expanduser().absolute()
    invocation.check_output(target)
    if target.exists() and not overwrite:
        raise BadInput("the output file exists; pass --overwrite to replace it", target, "out")
    if target.is_dir():
        raise BadInput("--out is a directory; give a file name", target, "out")
    return target


class Output:
    """A command's output directory while it is being built.

    Write files under `output.dir` (the `.partial` directory), record them with
    `add`, then `commit` the manifest: it is written last and the directory
    renamed into place.
    """

    def __init__(self, tool: str, command: str, out: str | Path | None = None, *,
                 overwrite: bool = False, resume: bool = False, id: str | None = None):
        self.id = id or new_id()
        self.final = (Path(out).expanduser() if out else default_out(tool, command, self.id)).absolute()
        self.dir = self.final.with_name(self.final.name + PARTIAL)
        self.resumed = False
        self.artifacts: dict[str, Artifact] = {}
        invocation.check_output(self.final)  # before --overwrite removes anything
        self.lock: locks.Lock | None = None
        if self.dir.exists():  # a live writer is refused whatever the flags: its lock is taken first
            self.lock = locks.acquire(self.dir)
        try:
            if self.final.exists() and not overwrite:
                raise BadInput("output directory exists; pass --overwrite to replace it", self.final)
            if self.lock is not None:
                if resume:
                    self.resumed = True
                    saved = self.dir / ".wt-id"
                    if saved.is_file():
                        self.id = saved.read_text().strip() or self.id
                elif overwrite:
                    _empty(self.dir)
                else:
                    raise BadInput("an unfinished output exists; pass --resume to continue it or --overwrite to start over",
                                   self.dir)
            elif resume:
                raise BadInput("nothing to resume: no unfinished output", self.dir)
            else:
                self.dir.mkdir(parents=True, exist_ok=True)
                self.lock = locks.acquire(self.dir)
        except BaseException:
            self.release()
            raise
        (self.dir / ".wt-id").write_text(self.id)
        invocation.add_output(self)

    def path(self, rel: str | Path) -> Path:
        """An absolute path inside the partial directory, parents created."""
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def add(self, name: str, rel: str | Path) -> Artifact:
        """Record a file already written under the directory as an artifact."""
        rel = Path(rel).as_posix()
        check_relative(rel, self.dir / MANIFEST, f"artifacts.{name}.path")
        art = make_artifact(self.dir, rel)
        self.artifacts[name] = art
        return art

    def commit(self, manifest: M) -> M:
        """Write the manifest last, then move the directory into its final place."""
        manifest.artifacts = {**manifest.artifacts, **self.artifacts}
        here = self.final.parent.resolve() / self.final.name
        for parent in manifest.parents:  # found relative to the child first: the tree can move whole
            if parent.relpath is None and Path(parent.path).is_absolute():
                parent.relpath = Path(os.path.relpath(parent.path, here)).as_posix()
        write_manifest(self.dir, manifest)
        (self.dir / ".wt-id").unlink(missing_ok=True)
        old = None
        if self.final.exists():
            old = self.final.with_name(self.final.name + f".old-{self.id}")
            os.replace(self.final, old)
        os.replace(self.dir, self.final)
        self.release(unlink_in=self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        manifest._path = self.final / MANIFEST
        invocation.done_output(self)
        return manifest

    def discard(self) -> None:
        """Remove the partial directory (a command refused its input before any work)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self.release()

    def abandon(self) -> None:
        """The command was refused (BadInput): remove the partial directory unless it was resumed.

        A resumed output holds earlier work, kept for the next --resume; a fresh one could only be
        continued with the same, refused, inputs.
        """
        if not self.resumed:
            self.discard()
        self.release()

    def release(self, unlink_in: Path | None = None) -> None:
        """Drop the writer's lock (the command is over: committed, refused or failed); idempotent."""
        if self.lock is not None:
            self.lock.release(unlink_in)


def _empty(directory: Path) -> None:
    """Remove everything in `directory` but its lock file (--overwrite of an unfinished output we hold)."""
    for p in directory.iterdir():
        if p.name == locks.LOCK_FILE:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
