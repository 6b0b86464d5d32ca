"""A study's spec, its storage, and the tickets that make `n_trials` exact across workers.

The spec (what `wt-tune run` was given, resolved) is saved as `spec.json` in
the study directory; worker processes read it from there. The storage is an
Optuna JournalStorage on a file in the study directory unless a URL is given
(any Optuna RDB URL: postgresql://, mysql://, sqlite:///) or a path to a
journal file (for workers on several machines sharing a disk).

`n_trials` is kept exact however many workers join: the process that creates
the study (or raises n_trials) enqueues one waiting trial per wanted trial,
and workers only ever claim waiting trials (an atomic RUNNING transition in
every Optuna storage), never create new ones. A trial finishes as COMPLETE,
PRUNED or FAIL, so the finished trials are exactly the tickets.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from wt_core.console import get_logger
from wt_core.errors import BadInput

log = get_logger("wt-tune")

SPEC_FILE = "spec.json"
JOURNAL_FILE = "journal.log"
ABORT_FILE = "abort.json"
TICKETS_ATTR = "wt_tickets"
PARENT_RUN_ATTR = "wt_mlflow_run_id"
HEARTBEAT_S, GRACE_S = 5, 20


@dataclass
class Sampler:
    name: Literal["tpe", "random"] = "tpe"
    """tpe (seeded TPE) or random."""
    seed: int = 0
    """Seed of the sampler; each trial's sampler is seeded from it and the trial number."""
    startup_trials: int = 4
    """TPE: trials sampled at random before TPE models the results."""


@dataclass
class Pruner:
    name: Literal["median", "hyperband", "none"] = "median"
    """median, hyperband or none."""
    startup_trials: int = 2
    """median: trials that must finish before any is pruned."""
    warmup_steps: int = 0
    """median: epochs a trial runs before it can be pruned."""
    min_resource: int = 1
    """hyperband: the fewest epochs a trial runs."""
    max_resource: int | None = None
    """hyperband: the most epochs (default: learned from the first trial)."""


@dataclass
class Spec:
    """Everything a worker needs to run trials of a study."""

    name: str
    target: list[str]
    space: dict[str, dict[str, Any]]
    objective: str
    direction: str
    n_trials: int
    intermediate: str
    evaluate: list[str] = field(default_factory=list)
    storage: str = ""
    sampler: Sampler = field(default_factory=Sampler)
    pruner: Pruner = field(default_factory=Pruner)
    poll: float = 0.5
    trial_timeout: float | None = None
    directory: str = ""
    """Where the spec was read from (set on load: the study directory moves when it is committed)."""

    @property
    def storage_url(self) -> str:
        """The storage given, or the journal file in the study directory."""
        return self.storage or str(Path(self.directory) / JOURNAL_FILE)

    def save(self, directory: Path) -> None:
        tmp = directory / f".{SPEC_FILE}.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, directory / SPEC_FILE)

    @classmethod
    def load(cls, directory: Path) -> Spec:
        data = json.loads((directory / SPEC_FILE).read_text())
        data["sampler"] = Sampler(**data["sampler"])
        data["pruner"] = Pruner(**data["pruner"])
        data["directory"] = str(directory.absolute())
        return cls(**data)


def storage_arg(storage: str | None) -> str:
    """A storage as recorded in the spec: a URL, an absolute journal file path, or '' (the study's own journal)."""
    if not storage:
        return ""
    if "://" in storage:
        return storage
    return str(Path(storage).expanduser().absolute())


def open_storage(url: str):
    import optuna

    if "://" in url:
        for attempt in range(5):
            try:
                return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                                                  heartbeat_stale_trial_callback=retry_once)
            except ImportError as e:
                raise BadInput(f"the storage needs a database driver that is not installed: {e}", url,
                               "storage") from None
            except Exception as e:  # sqlalchemy's OperationalError and friends
                # workers starting together on a fresh database race to create its tables: try again
                if attempt == 4 or "already exists" not in str(e) and "UniqueViolation" not in str(e):
                    msg = " ".join(str(e).split())[:200]
                    raise BadInput(f"cannot open the storage: {msg}", url, "storage") from None
                time.sleep(1 + attempt)
    from optuna.storages.journal import JournalFileBackend

    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(url))


def make_sampler(sampler: Sampler, number: int = 0):
    """The sampler for trial `number` (seeded from the study's seed and the number)."""
    import optuna

    seed = sampler.seed * 1_000_003 + number
    if sampler.name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=sampler.startup_trials)


def make_pruner(pruner: Pruner):
    import optuna

    if pruner.name == "none":
        return optuna.pruners.NopPruner()
    if pruner.name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=pruner.min_resource,
                                              max_resource=pruner.max_resource or "auto")
    return optuna.pruners.MedianPruner(n_startup_trials=pruner.startup_trials, n_warmup_steps=pruner.warmup_steps)


def load(spec: Spec, storage=None):
    import optuna

    return optuna.load_study(study_name=spec.name, storage=storage or open_storage(spec.storage_url),
                             sampler=make_sampler(spec.sampler), pruner=make_pruner(spec.pruner))


def create_or_load(spec: Spec, enqueue: list[dict[str, Any]]):
    """Open the study, creating it with its tickets, or topping the tickets up to n_trials.

    Returns (study, created). A process that joins a study another one is creating
    waits for its tickets.
    """
    import optuna

    storage = open_storage(spec.storage_url)
    created = False
    try:
        study = optuna.create_study(study_name=spec.name, storage=storage, direction=spec.direction,
                                    sampler=make_sampler(spec.sampler), pruner=make_pruner(spec.pruner))
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = load(spec, storage)
    if not created:
        if [d.name.lower() for d in study.directions] != [spec.direction]:
            raise BadInput(f"study {spec.name!r} exists with direction {study.directions[0].name.lower()}",
                           spec.storage_url, "direction")
        deadline = time.monotonic() + 60
        while TICKETS_ATTR not in study.user_attrs:  # its creator is still enqueuing
            if time.monotonic() > deadline:
                raise BadInput(f"study {spec.name!r} exists but was never given its trials", spec.storage_url, "study")
            time.sleep(0.5)
    tickets = int(study.user_attrs.get(TICKETS_ATTR, 0))
    if spec.n_trials > tickets:
        fixed = list(enqueue)[tickets:] if created else []
        for i in range(tickets, spec.n_trials):
            params = fixed[i - tickets] if i - tickets < len(fixed) else {}
            study.enqueue_trial(params, user_attrs={"ticket": i})
        study.set_user_attr(TICKETS_ATTR, spec.n_trials)
    return study, created


def counts(study) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def worker_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed, not yet reaped by its parent) is dead too
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def retry_once(study, trial) -> bool:
    """Queue a trial stopped from outside (its worker killed, Ctrl-C) again, once, with the same parameters.

    The new trial keeps the ticket, so the killed one does not count against the trials asked for. Its
    attributes follow Optuna's RetryHeartbeatStaleTrialCallback (system attrs `failed_trial`,
    `retry_history`), which RDB storages also call for a trial whose heartbeat went stale; a retry that
    is killed in turn is not retried again. Returns whether a trial was queued.
    """
    import optuna

    if trial.system_attrs.get("failed_trial") is not None or "ticket" not in trial.user_attrs:
        return False
    fixed = {k: v for k, v in trial.system_attrs.items() if k == "fixed_params"}  # enqueued values not yet suggested
    study.add_trial(optuna.create_trial(
        state=optuna.trial.TrialState.WAITING, params=trial.params, distributions=trial.distributions,
        user_attrs={"ticket": trial.user_attrs["ticket"], "retry_of": trial.number},
        system_attrs={**fixed, "failed_trial": trial.number, "retry_history": [trial.number]}))
    log.info("trial %d was stopped from outside: queued again once with the same parameters", trial.number)
    return True


def fail_stale(study) -> list[int]:
    """Fail RUNNING trials whose worker is gone (a dead process on this host, or a stale heartbeat); retry each once."""
    import optuna
    from optuna.trial import TrialState

    host = socket.gethostname()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker", "")
        name, _, pid = worker.rpartition(":")
        if name == host and pid.isdigit() and not _alive(int(pid)):
            try:
                study._storage.set_trial_user_attr(t._trial_id, "error", f"its worker {worker} died")
                if study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                    failed.append(t.number)
                    retry_once(study, study._storage.get_trial(t._trial_id))
            except optuna.exceptions.UpdateFinishedTrialError:
                pass
    optuna.storages.fail_stale_trials(study)  # RDB heartbeats: open_storage's callback retries those
    return failed
