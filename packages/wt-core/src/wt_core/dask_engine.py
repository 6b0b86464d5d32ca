"""Dask as the engine of a prediction job: its shards run as Dask tasks on a cluster.

The job is cut into `tasks` shards (`wt_core.streaming.Shard`); each is one
Dask task that predicts its shard into the output's `parts/` (so the output
directory must be on a filesystem every worker sees, as on a cluster's shared
disk). A worker loads the model once and keeps it for every task it runs
(`_loaded`, cached per worker process). A worker killed mid-task loses only
its uncommitted part: Dask runs the task again elsewhere, and the task, like
`--resume`, predicts only what the committed parts do not hold, so the result
is exact. GPUs are worker resources: start workers with `--resources GPU=1`
and give `--dask.gpus 1`.

The same engine runs per-photo work that is not prediction (`map_on_dask`: wt-data's
tiles and crops): the photos are cut into `tasks` chunks, one Dask task each, and a
lost worker's chunk runs again (each photo's files are written atomically, so a
repeat writes the same files).

No cluster given (neither `scheduler` nor `cluster`): the job runs in this process.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wt_core.console import Ticker
from wt_core.errors import BadInput

if TYPE_CHECKING:
    from distributed import Client

    from wt_core.streaming import JobImage, RecordFn

Loader = Callable[[], "RecordFn"]
"""A picklable callable that loads the model and returns its record function (once per worker)."""

_MODELS: dict[str, RecordFn] = {}
"""Loaded predictors of this (worker) process, by the loader's key: one model load per worker."""


@dataclass
class Dask:
    """Run the job's shards as Dask tasks on a cluster (nothing given: in this process, as always)."""

    scheduler: str | None = None
    """Address of a running Dask scheduler (tcp://host:8786)."""
    cluster: Path | None = None
    """A YAML file describing a dask-jobqueue cluster to start: `class` (e.g. dask_jobqueue.SLURMCluster),
    `jobs` (how many to scale to) and `options` (the class's arguments: cores, memory, queue ...)."""
    tasks: int = 0
    """Shards the job is cut into (images to predict, photos to tile or crop), one Dask task each (0: 4 per
    worker)."""
    gpus: float = 0
    """GPUs each task holds (workers started with --resources GPU=n); 0 for CPU workers."""

    @property
    def enabled(self) -> bool:
        return bool(self.scheduler or self.cluster)


def _cluster_spec(file: Path | None) -> dict[str, Any]:
    import yaml

    if file is None or not Path(file).is_file():
        raise BadInput("cluster spec not found", file, "dask.cluster")
    try:
        spec = yaml.safe_load(Path(file).read_text())
    except yaml.YAMLError as e:
        raise BadInput(f"not YAML: {' '.join(str(e).split())[:120]}", file, "dask.cluster") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise BadInput("a cluster spec is a mapping with 'class' (e.g. dask_jobqueue.SLURMCluster)", file, "class")
    if not isinstance(spec.get("options") or {}, dict):
        raise BadInput("'options' is a mapping of the cluster class's keyword arguments", file, "options")
    jobs = spec.get("jobs", 1)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise BadInput(f"'jobs' is a whole number of at least 1, got {jobs!r}", file, "jobs")
    return spec


@contextlib.contextmanager
def connect(dask: Dask) -> Iterator[Client]:
    """A distributed Client on the scheduler given, or on a dask-jobqueue cluster started from the spec.

    On leaving, the client is closed, and a cluster started here is closed too: its jobs (a SLURMCluster's
    workers are SLURM jobs) are cancelled when the work is done, not when the process exits.
    """
    from distributed import Client

    if dask.scheduler:
        try:
            client = Client(dask.scheduler, timeout="30s")  # type: ignore[no-untyped-call]
        except OSError as e:
            raise BadInput(f"cannot reach the Dask scheduler: {e}", None, "dask.scheduler") from None
        with client:
            yield client
        return
    cluster = start_cluster(dask.cluster)
    try:
        with Client(cluster) as client:  # type: ignore[no-untyped-call]
            yield client
    finally:
        cluster.close()


def start_cluster(file: Path | None) -> Any:
    """The dask-jobqueue cluster of a spec file, its `jobs` submitted (each submission checked: a job the
    batch system refuses, as sbatch refuses an unknown partition, is a BadInput, not a wait for ever)."""
    spec = _cluster_spec(file)
    module, _, name = spec["class"].rpartition(".")
    try:
        cls = getattr(importlib.import_module(module or "dask_jobqueue"), name)
    except (ImportError, AttributeError):
        raise BadInput(f"no cluster class {spec['class']!r} (is dask-jobqueue installed?)", file, "class") from None
    options, jobs = spec.get("options") or {}, spec.get("jobs", 1)
    try:
        cluster = cls(**options)
    except (TypeError, ValueError) as e:  # an unknown or missing keyword (dask-jobqueue raises ValueError)
        raise BadInput(f"{spec['class']} refused its options: {_first_line(e)}", file, "options") from None

    async def submit() -> None:
        # cluster.scale(jobs=n), awaited: scale() adds one worker spec per job and submits them in the background,
        # where a refused submission is only logged (with its traceback) and the command would wait for ever
        while len(cluster.worker_spec) < jobs:
            cluster.worker_spec.update(cluster.new_worker_spec())
        await cluster._correct_state()

    try:
        cluster.sync(submit)
    except Exception as e:
        # close() cancels the jobs submitted before one was refused, then asserts that every job started
        with contextlib.suppress(AssertionError):
            cluster.close()
        raise BadInput(f"{spec['class']} could not submit its jobs: {_first_line(e, last=True)}", file,
                       "options") from None
    return cluster


def _first_line(e: BaseException, last: bool = False) -> str:
    """The telling line of an exception's message (the last non-empty one of a failed command's stderr)."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
    return (lines[-1] if last else lines[0])[:200]


def _loaded(loader: Loader) -> RecordFn:
    key = getattr(loader, "key", None) or repr(loader)
    if key not in _MODELS:
        from wt_core import offline

        offline.apply()  # a worker process runs no command (`@command` does this for every command)
        _MODELS.clear()  # one model per worker: a new job's model replaces the last one
        _MODELS[key] = loader()
    return _MODELS[key]


def _task(loader: Loader, root: str, key: str, images: Sequence[JobImage], index: int, count: int, part_size: int) -> dict[str, int]:
    from wt_core.streaming import Shard, run_shard

    return run_shard(_loaded(loader), Path(root), key, images, Shard(index, count), part_size=part_size,
                     log=logging.getLogger("wildtrain.dask"))


def run_on_dask(dask: Dask, loader: Loader, root: Path, key: str, images: Sequence[JobImage], count: int, part_size: int,
                log: logging.Logger, job_id: str) -> None:
    """Run shards 0..count-1 of the job as Dask tasks and wait for all of them (a failed task fails the job)."""
    from distributed import as_completed

    with connect(dask) as client:
        resources = {"GPU": dask.gpus} if dask.gpus else None
        # a big job's image list goes to every worker once, not with each task
        big = len(images) > 10_000
        scattered = client.scatter(images, broadcast=True) if big else images  # type: ignore[no-untyped-call]
        futures = {client.submit(_task, loader, str(root), key, scattered, i, count, part_size,
                                 key=f"wt-predict-{job_id}-{key}-{i}-of-{count}", pure=False,
                                 resources=resources): i for i in range(count)}
        ticker = Ticker(len(images), f"predicting {key} on Dask ({count} tasks)", log, unit="images")
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            out = fut.result()
            ticker.advance(out["done"] + out["predicted"])
        ticker.close()


def map_on_dask(dask: Dask, fn: Callable[[Any], Any], jobs: Sequence[Any], desc: str, log: logging.Logger,
                sizes: Sequence[int] | None = None, unit: str = "") -> None:
    """fn(job) for every job, as Dask tasks on the cluster (wt-data's tiles and crops over many photos).

    The jobs are cut into `dask.tasks` chunks (0: 4 per worker), one task each. `fn` must be idempotent and
    write where every worker and this process see it (the output directory on a shared disk): a task whose
    worker was lost runs again elsewhere. With `sizes`, progress counts those (tiles) rather than jobs.
    """
    from distributed import as_completed

    if not jobs:
        return
    count = task_count(dask, len(jobs))
    chunks = [list(range(i, len(jobs), count)) for i in range(count)]
    weight = list(sizes) if sizes is not None else [1] * len(jobs)
    with connect(dask) as client:
        resources = {"GPU": dask.gpus} if dask.gpus else None
        token = uuid.uuid4().hex[:12]
        futures = {client.submit(_map_chunk, fn, [jobs[j] for j in chunk], key=f"wt-{desc}-{token}-{i}-of-{count}",
                                 pure=False, resources=resources): i for i, chunk in enumerate(chunks)}
        ticker = Ticker(sum(weight), f"{desc} on Dask ({count} tasks)", log, unit=unit)
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            fut.result()  # a task's error fails the job, as a process pool's does
            ticker.advance(sum(weight[j] for j in chunks[futures[fut]]))
        ticker.close()


def _map_chunk(fn: Callable[[Any], Any], jobs: list[Any]) -> int:
    from wt_core import offline

    offline.apply()  # a worker process runs no command
    for job in jobs:
        fn(job)
    return len(jobs)


def task_count(dask: Dask, n_images: int) -> int:
    """Shards of a Dask job: as given, else 4 per worker connected (at least 1, at most one per image)."""
    if dask.tasks:
        return max(1, min(dask.tasks, n_images))
    from distributed import Client

    if dask.scheduler:
        with Client(dask.scheduler, timeout="30s") as c:  # type: ignore[no-untyped-call]
            workers = len(c.scheduler_info()["workers"])
    else:
        workers = int(_cluster_spec(dask.cluster).get("jobs", 1))
    return max(1, min(4 * max(1, workers), n_images))
