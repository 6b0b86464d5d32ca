"""A tiny tool built on wt-core for the tests: writes numbered parts slowly, resumable.

    python slowtool.py write --out DIR --parts N [--delay S] [--resume] [--overwrite]
    python slowtool.py read --data MANIFEST
"""

import sys
import time
from pathlib import Path

from wt_core.cli import run_tool
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest, DatasetSplit
from wt_core.manifest_io import build, read_manifest
from wt_core.outputs import Output


@command("wt-slow", "write")
def write(parts: int = 3, delay: float = 0.0, out: Path | None = None, overwrite: bool = False,
          resume: bool = False, tags: list[str] | None = None) -> DatasetManifest:
    """Write `parts` files, one per `delay` seconds, then a dataset manifest.

    Args:
        parts: How many part files to write.
        delay: Seconds to wait before each part.
        out: Output directory.
        overwrite: Replace an existing output.
        resume: Continue an unfinished output.
        tags: Words recorded in the manifest's details.
    """
    o = Output("wt-slow", "write", out, overwrite=overwrite, resume=resume)
    for i in range(parts):
        p = o.path(f"parts/{i:03d}.txt")
        if p.exists():
            continue
        time.sleep(delay)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(f"part {i}\n")
        tmp.rename(p)
        print(f"wrote part {i}")  # library noise on stdout must land on stderr
    (o.path("ann.json")).write_text('{"images": [], "annotations": [], "categories": []}')
    o.add("split_all", "ann.json")
    for i in range(parts):
        o.add(f"part{i}", f"parts/{i:03d}.txt")
    m = build(DatasetManifest, id=o.id, task="detect", classes=["a"],
              splits={"all": DatasetSplit(annotations="split_all", image_root=".")}, details={"tags": tags or []})
    return o.commit(m)


@command("wt-slow", "read")
def read(data: str) -> DatasetManifest:
    """Read and verify a manifest, print its path back.

    Args:
        data: A manifest path, a directory holding one, or '-' for a path on stdin.
    """
    return read_manifest(data, "dataset")


COMMANDS = {"write": write, "read": read}

if __name__ == "__main__":
    sys.exit(run_tool("wt-slow", __doc__, COMMANDS))
