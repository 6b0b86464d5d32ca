"""One pool of processes for per-image work (tiles, crops): progress on stderr, Ctrl-C left to the parent."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from wt_core.console import Ticker, get_logger
from wt_core.dask_engine import Dask, map_on_dask

log = get_logger("wt-data")


def _worker_init() -> None:
    """Workers leave Ctrl-C and SIGTERM to the parent, which stops the pool and keeps the partial output."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_jobs(fn: Callable[[Any], Any], jobs: list, workers: int, desc: str, sizes: list[int] | None = None,
             unit: str = "", dask: Dask | None = None) -> None:
    """fn(job) for every job, over `workers` processes (0: one per core); in this process when 1; as Dask
    tasks on a cluster when `dask` names one (`workers` is then the cluster's).

    With `sizes` (e.g. tiles per job), progress counts those (done, rate, time left) rather than jobs.
    """
    if not jobs:
        return
    if dask is not None and dask.enabled:
        map_on_dask(dask, fn, jobs, desc, log, sizes=sizes, unit=unit)
        return
    workers = workers or os.cpu_count() or 1
    ticker = Ticker(sum(sizes) if sizes else len(jobs), desc, log, unit=unit)
    weight = dict(enumerate(sizes or [1] * len(jobs)))
    if workers <= 1 or len(jobs) == 1:
        for i, job in enumerate(jobs):
            fn(job)
            ticker.advance(weight[i])
        ticker.close()
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
    cv2_threads = _stop_cv2_threads()
    pool = ctx.Pool(min(workers, len(jobs)), initializer=_worker_init)
    try:
        for i, _ in pool.imap_unordered(_indexed, [(fn, i, job) for i, job in enumerate(jobs)]):
            ticker.advance(weight[i])
        ticker.close()
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        if cv2_threads is not None:
            import cv2

            cv2.setNumThreads(cv2_threads)


def _stop_cv2_threads() -> int | None:
    """Stop OpenCV's thread pool in this process before it forks workers; returns the thread count to restore.

    A forked worker inherits the pool's locks but not its threads: its first cv2 call that touches the pool
    (the workers' `cv2.setNumThreads(1)`) then waits forever (seen as a hung `wt-data tile` called from a
    process that had resized images with cv2 before). With the pool stopped here, workers find none."""
    import sys

    cv2 = sys.modules.get("cv2")
    if cv2 is None:
        return None
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    return threads


def _indexed(item: tuple[Callable[[Any], Any], int, Any]) -> tuple[int, Any]:
    fn, i, job = item
    return i, fn(job)


def write_image(path: str, img, quality: int = 95) -> None:
    """Write an image atomically (a reader never sees half a file; a resumed run rewrites what was cut short)."""
    import cv2

    os.makedirs(os.path.dirname(path), exist_ok=True)
    ext = os.path.splitext(path)[1]
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext.lower() in (".jpg", ".jpeg") else []
    tmp = f"{path}.tmp{ext}"
    ok, buf = cv2.imencode(ext, img, params)  # encoded here, written by Python: a full disk raises ENOSPC, not False
    if not ok:
        raise RuntimeError(f"cannot encode {path}")
    try:
        with open(tmp, "wb") as f:
            f.write(buf.tobytes())
    except OSError as e:
        e.filename = e.filename or path
        raise
    os.replace(tmp, path)
