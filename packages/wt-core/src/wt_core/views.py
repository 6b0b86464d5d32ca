"""Framework views of a dataset (Ultralytics layout, MMDetection COCO), derived on demand.

A view is built once inside the dataset directory (`views/<name>/`), under a
file lock so concurrent trainers build it once, and recorded in the manifest's
`views` field (which the manifest digest leaves out, so children stay valid).
A read-only dataset directory gets its view in WT_HOME's cache instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from wt_core.manifest import DatasetManifest
from wt_core.offline import wt_home

DONE = ".complete"


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _record(ds: DatasetManifest, name: str, rel: str) -> None:
    data = json.loads(ds.path.read_text())
    data.setdefault("views", {})[name] = rel
    tmp = ds.path.with_name(f".manifest.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, ds.path)
    ds.views[name] = rel


def ensure_view(ds: DatasetManifest, name: str, build: Callable[[Path], None]) -> Path:
    """The directory of view `name`, built by `build(dir)` the first time."""
    writable = os.access(ds.root, os.W_OK)
    base = ds.root / "views" if writable else wt_home() / "views" / ds.id
    target = base / name
    with _locked(base / f".{name}.lock"):
        if (target / DONE).exists():
            return target
        tmp = base / f"{name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        build(tmp)
        (tmp / DONE).write_text("")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
        if writable:
            _record(ds, name, f"views/{name}")
    return target
