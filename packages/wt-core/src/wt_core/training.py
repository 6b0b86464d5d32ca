"""One harness for every training command: output, resume state, metrics.jsonl, MLflow, config, run manifest.

Modelled on TorchGeo's `BaseTask`: what every trainer shares lives here once;
wt-yolo, wt-mmdet and wt-cls fit supply only their framework's loop and one
callback that hands each finished epoch to the harness. So a run means the
same whatever trained it.

The shape of every fit:

    spec = TrainerSpec(tool="wt-yolo", framework="yolo", task="detect", standard=DETECT_NAMES_OF_YOLO,
                       select=Select("fitness", "max"), may_change={"train.epochs": MORE, "device": ANY})
    with Training(spec, device) as t:    # the device is checked; the MLflow helper starts importing mlflow
        ds = read_dataset(dataset)       # check the inputs: a bad input here leaves nothing behind
        split, val = t.pick_splits(ds, train.split, train.val_split)
        t.choose(metric, select.mode)    # the selection metric, when not the spec's default
        t.open(ds, ds.classes, out=out, overwrite=overwrite, resume=resume, experiment=..., run_name=...)
        ...                              # build the framework's model and loop; its callback calls
        t.restart_after(done)            #   once, when training starts (done: epochs in the checkpoint)
        t.epoch(n, val={...}, train={...}, lr={...})   # once per finished epoch -> EpochRecord
        return t.finish(weights={"best": "w/best.pt", "last": "w/last.pt"}, imgsz=..., details={...})

What the harness owns:

- **Options**: the fit's `--train.*` and `--select.*` sections are
  `wt_core.train_args` (the same keys in every trainer); `Training(spec, device)`
  checks the device first (`wt_core.devices.check_fit_device`), `pick_splits` picks
  the train and val splits, `choose` the selection metric and its mode, and
  `patience` stops a framework without early stopping of its own (`EpochRecord.stop`).
- **Output**: `DIR.partial` (`t.dir`), renamed into place by `finish` after the
  manifest is written last. A bad input raised before any epoch was trained in a
  fresh run removes the partial directory again (`@command` abandons it); once an
  epoch is trained the output is kept (`invocation.keep_output`), so a refusal
  after training (a check of its results) never deletes a trained model.
- **Resume state** (`wt_core.resume_state`): one file, `wt-state.json` in the partial directory: the
  MLflow run id, the dataset id and the resolved config of the interrupted
  run. On `--resume` the new config is compared with it key by key (dotted
  names). A key in `spec.may_change` may differ (`MORE`: only a larger number,
  such as more epochs; `ANY`: any value, such as the device or the loader's
  worker count); the changes are recorded in the manifest's
  `details.changed_on_resume`. Any other difference, or another dataset, is
  refused with exit 2 and one line naming the option.
- **metrics.jsonl**: one row per epoch, `{"epoch": n, <validation metrics>,
  <standard names>, "train/<loss>": ..., "lr...": ..., "epoch_s": ...}`. A
  resumed run keeps the rows of the epochs its checkpoint holds
  (`restart_after`) and logs to MLflow those the run lacks (a kill can land
  between the two writes). An epoch goes to MLflow only once a checkpoint
  holds it, so an epoch trained again after a resume is in the run's history
  once: a framework that saves its checkpoint after the epoch is recorded
  (`spec.checkpoint_after_epoch`, Lightning) says when it has (`checkpointed`).
- **Epoch hooks**: `t.add_epoch_hook(fn)`; `fn(epoch, row)` runs before the
  row is written or logged and may return metrics to add to it (validation
  metrics, e.g. a full-image validation's `full/mAP50`). They take part in the
  selection like any other metric.
- **Selection**: `Select(metric, mode)` names the metric that picks the best
  weights (the spec's, or the one `choose` set). `t.epoch` answers `is_best` (strictly better than every earlier
  epoch, so the earliest of equal epochs wins, as in Ultralytics, Lightning and
  mmengine); the trainer's callback saves its best weights when it is true.
- **MLflow**: exactly one run, logged from a helper process
  (`wt_core.mlflow_process`) whose `import mlflow` overlaps the trainer's own
  imports. The resolved config as params; the tags `wt.tool`, `wt.command`,
  `wt.framework`, `wt.task`, `wt.dataset_id`, `wt.output`; every epoch row as
  metrics at step `epoch`; the best epoch's metrics as `best/<name>`; the
  best weights, `config.yaml`, `metrics.jsonl` and the run manifest as
  artifacts. A kill -9 leaves the run KILLED; `--resume` reopens it.
- **Preview**: `open` keeps `preview.png`, a contact sheet of the split
  `pick_splits` chose to train on (`wt_core.contact_sheet`), as an artifact and
  logs it to the MLflow run: a first look at what the model trains on.
- **Config artifact**: `config.yaml`, the resolved config exactly as
  `--config` takes it back.
- **Run manifest**: `metrics` is the validation of the weights the run
  selected as best (the selected epoch's row without `train/*`, `lr*` and
  `epoch_s`), with the standard names of its task beside the framework's own
  keys: detection `mAP50`, `mAP50_95`, `precision`, `recall`; classification
  `acc`, `f1_macro` (a name is present when the framework measures it).
  `details` adds `select`, `best_epoch`, `epochs`, `resumed` and
  `changed_on_resume` to the trainer's own details.
- **Several processes** (Lightning's DDP): only global rank 0 writes files and
  talks to MLflow; other ranks find the partial directory through the
  `WT_TRAINING_DIR` variable rank 0 sets before the framework launches them,
  and their `epoch`/`finish` calls record nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from wt_core import console, invocation, resume_state
from wt_core.devices import check_fit_device
from wt_core.errors import BadInput
from wt_core.fit_spec import ANY as ANY
from wt_core.fit_spec import MORE as MORE
from wt_core.fit_spec import EpochRecord, is_validation_key, rank
from wt_core.fit_spec import Select as Select
from wt_core.fit_spec import TrainerSpec as TrainerSpec
from wt_core.fit_spec import pick_splits as pick_splits
from wt_core.jsonable import to_jsonable
from wt_core.manifest import DatasetManifest, ManifestBase, RunManifest
from wt_core.manifest_io import build
from wt_core.metrics_log import METRICS_FILE, MetricsLog, finite_metrics
from wt_core.outputs import PARTIAL, Output
from wt_core.resume_state import STATE_FILE
from wt_core.train_args import mode_of

log = console.get_logger("wt-core")
CONFIG_FILE = "config.yaml"
DIR_ENV = "WT_TRAINING_DIR"  # rank 0's partial directory, inherited by the ranks a framework launches
PREVIEW_FILE = "preview.png"


class Training:
    """One training command's harness (see the module docstring)."""

    def __init__(self, spec: TrainerSpec, device: Any = None, devices: Any = None):
        """`device`: the fit's --device, checked first (a GPU this machine lacks is refused before any input is
        read); `devices`: Lightning's device count beside it (wt-cls)."""
        check_fit_device(device, devices)
        self.spec = spec
        self.select = spec.select
        self.train_split: str | None = None
        self.patience = 0
        """Epochs without improvement after which `epoch` answers stop (0: never); for a framework without
        early stopping of its own (wt-mmdet)."""
        self.log = console.get_logger(spec.tool)
        self.rank = rank()
        self.run = None
        if self.rank == 0:
            from wt_core.mlflow_process import MlflowProcess

            self.run = MlflowProcess()
        self.output: Output | None = None
        self.dir: Path | None = None
        self.resumed = False
        self.changed: dict[str, dict[str, Any]] = {}
        self.dataset: ManifestBase | None = None
        self.classes: list[str] = []
        self.config: dict[str, Any] = {}
        self.hooks: list[Callable[[int, dict[str, float]], dict[str, float] | None]] = []
        self.rows: list[dict[str, Any]] = []
        self._unlogged: list[tuple[int, dict[str, float]]] = []  # recorded epochs no checkpoint holds yet
        self._best: dict[str, Any] | None = None
        self._epoch_started = time.perf_counter()
        self.metrics_log: MetricsLog | None = None

    # ---- the block -----------------------------------------------------------------------------------------

    def __enter__(self) -> Training:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # A refusal before training leaves nothing behind (`@command` abandons the fresh output); once an epoch
        # is trained the output is kept (`epoch`), so a later refusal never deletes a trained model.
        if self.run is not None:
            self.run.close_after(exc_type)

    # ---- before opening ------------------------------------------------------------------------------------

    def choose(self, metric: str, mode: str | None = None) -> Select:
        """The metric that selects the best weights (mode: min for a loss or an error unless given)."""
        self.select = Select(metric, mode_of(metric, mode))
        return self.select

    def pick_splits(self, dataset: ManifestBase, split: str | None, val_split: str | None,
                    val_names: tuple[str, ...] = ("val", "test")) -> tuple[str, str | None]:
        """`pick_splits` of the fit's dataset; the preview (`open`) shows the split to train on."""
        split, val_split = pick_splits(dataset, split, val_split, val_names)
        self.train_split = split
        return split, val_split

    # ---- opening -------------------------------------------------------------------------------------------

    def open(self, dataset: ManifestBase, classes: list[str], *, out: str | Path | None, overwrite: bool,
             resume: bool, experiment: str, run_name: str | None) -> Path:
        """Open the output (or continue it), check a resume's options, start or reopen the MLflow run."""
        self.dataset, self.classes = dataset, list(classes)
        self.config = invocation.current().config
        if self.rank > 0:
            shared = os.environ.get(DIR_ENV)
            if not shared and out is None:
                raise BadInput("several processes need a shared output: pass --out", None, "out")
            final = Path(out).expanduser().absolute() if not shared else None
            self.dir = Path(shared) if shared else final.with_name(final.name + PARTIAL)
            return self.dir
        self.output = Output(self.spec.tool, "fit", out, overwrite=overwrite, resume=resume)
        self.dir = self.output.dir
        self.resumed = self.output.resumed
        os.environ[DIR_ENV] = str(self.dir)
        state = self._read_state()
        if self.resumed:
            self.changed = self._check_resume(state)
        self.metrics_log = MetricsLog(self.dir)
        self._write_state(state.get("mlflow_run_id"))
        tags = {"wt.tool": self.spec.tool, "wt.command": f"{self.spec.tool} fit", "wt.framework": self.spec.framework,
                "wt.task": self.spec.task, "wt.dataset_id": dataset.id, "wt.output": str(self.output.final)}
        self.run.start(experiment, run_name or self.output.final.name, params=self.config, tags=tags,
                       run_id=state.get("mlflow_run_id"))
        if self.train_split is not None:
            self._preview()
        return self.dir

    @property
    def state_file(self) -> Path:
        return self.dir / STATE_FILE

    def _read_state(self) -> dict[str, Any]:
        return resume_state.read(self.state_file) if self.resumed else {}

    def _write_state(self, run_id: str | None) -> None:
        resume_state.write(self.state_file, tool=self.spec.tool, run_id=run_id, dataset_id=self.dataset.id,
                           config=self.config)

    def _check_resume(self, state: dict[str, Any]) -> dict[str, dict[str, Any]]:
        changed = resume_state.changed_options(state, self.config, self.dataset.id, self.spec.may_change,
                                               self.state_file, self.dir)
        if changed:
            self.log.info("resuming with changed options: %s",
                          ", ".join(f"{k} {v['from']!r} -> {v['to']!r}" for k, v in changed.items()))
        return changed

    def _preview(self) -> None:
        """A first look at what the model trains on: a contact sheet of the training split
        (`wt_core.contact_sheet`), kept as the artifact `preview` and logged to the MLflow run (once a run)."""
        from wt_core.contact_sheet import contact_sheet

        path = self.dir / PREVIEW_FILE
        if not path.exists():
            contact_sheet(cast(DatasetManifest, self.dataset), path, splits=[self.train_split])
            self.run.log_artifact(path)
        self.output.add("preview", PREVIEW_FILE)

    # ---- epochs --------------------------------------------------------------------------------------------

    def add_epoch_hook(self, fn: Callable[[int, dict[str, float]], dict[str, float] | None]) -> None:
        """`fn(epoch, row)` runs before each epoch row is written; the metrics it returns join the row."""
        self.hooks.append(fn)

    def restart_after(self, done: int) -> None:
        """Training starts after `done` epochs (0: from scratch): keep those rows, log those MLflow lacks."""
        if self.rank > 0:
            return
        if self.metrics_log.path.exists():  # (the file appears with the first epoch's row)
            self.metrics_log.truncate_after(done)
        self.rows = self.metrics_log.read()
        self._best = None
        for row in self.rows:
            self._consider(row)
        if done:
            self.log.info("resuming after epoch %d", done)
            self.run.log_missing_epochs(self.rows)
        self._write_state(self.run.tracking.run_id)  # waits for the run, now that the framework is ready
        self._epoch_started = time.perf_counter()

    def log_restart(self) -> None:
        """A resumed run whose framework left no checkpoint yet: its training starts over."""
        self.log.info("no checkpoint yet in %s: the training starts over", self.dir)

    def epoch(self, epoch: int, val: dict[str, Any], train: dict[str, Any] | None = None,
              lr: dict[str, Any] | float | None = None) -> EpochRecord:
        """Record a finished epoch: hooks, standard names, metrics.jsonl, MLflow; whether it is the best so far."""
        row: dict[str, float] = finite_metrics(val)
        for k, v in finite_metrics(train or {}).items():
            row[k if k.startswith("train/") else f"train/{k}"] = v
        if isinstance(lr, dict):
            row.update({k if k.startswith("lr") else f"lr/{k}": v for k, v in finite_metrics(lr).items()})
        elif lr is not None:
            row["lr"] = float(lr)
        if self.rank > 0:
            return EpochRecord(epoch, row, False)
        for hook in self.hooks:
            row.update(finite_metrics(hook(epoch, dict(row)) or {}))
        for std, key in self.spec.standard.items():
            if std not in row and key in row:
                row[std] = row[key]
        now = time.perf_counter()
        row["epoch_s"] = now - self._epoch_started
        self._epoch_started = now
        self.rows = [r for r in self.rows if int(r["epoch"]) < epoch]
        self.metrics_log.write(epoch, row)
        invocation.keep_output(self.output)  # trained work: a later refusal must not delete it
        full = {"epoch": epoch, **row}
        self.rows.append(full)
        is_best = self._consider(full)
        self._unlogged = [(e, r) for e, r in self._unlogged if e < epoch]
        if self.spec.checkpoint_after_epoch:
            self.checkpointed()  # the earlier epochs are in a checkpoint by the time the next one ends
        self._unlogged.append((epoch, row))
        if not self.spec.checkpoint_after_epoch:  # its checkpoint was saved before this row
            self.checkpointed()
        shown = {k: round(v, 4) for k, v in row.items() if is_validation_key(k) and "." not in k}
        self.log.info("epoch %d: %s%s", epoch, shown, " (best)" if is_best else "")
        best_epoch = int(self._best["epoch"]) if self._best is not None else 0
        stop = self.patience > 0 and epoch - best_epoch >= self.patience
        if stop:
            self.log.info("stopping early: no better %s in %d epochs", self.select.metric, self.patience)
        return EpochRecord(epoch, row, is_best, stop)

    def checkpointed(self) -> None:
        """The framework has saved a checkpoint holding every epoch recorded so far: log their metrics to MLflow.

        Not before: a kill between an epoch's row and its checkpoint makes the resume train that epoch again,
        and MLflow cannot take back a logged value, so the run's history would hold the epoch twice."""
        if self.rank > 0:
            return
        for epoch, row in self._unlogged:
            self.run.log_metrics(row, step=epoch)
        self._unlogged.clear()

    def backfill(self, rows: list[dict[str, Any]]) -> None:
        """Epoch rows the callback never saw (a framework's DDP children), e.g. read from its results file."""
        have = {int(r["epoch"]) for r in self.rows}
        for r in rows:
            e = int(r["epoch"])
            if e not in have:
                self.epoch(e, {k: v for k, v in r.items() if k != "epoch" and is_validation_key(k)},
                           train={k: v for k, v in r.items() if k.startswith("train/")},
                           lr={k: v for k, v in r.items() if k.startswith("lr")})

    def _consider(self, row: dict[str, Any]) -> bool:
        value = row.get(self.select.metric)
        if value is None:
            return False
        if self._best is None or self.select.better(float(value), self._best[self.select.metric]):
            self._best = row
            return True
        return False

    @property
    def best(self) -> dict[str, Any] | None:
        """The selected epoch's row (None while no epoch has the selection metric)."""
        return self._best

    @property
    def best_value(self) -> float | None:
        return None if self._best is None else float(self._best[self.select.metric])

    # ---- finishing -----------------------------------------------------------------------------------------

    def finish(self, weights: dict[str, str], *, imgsz: int | None, details: dict[str, Any],
               artifacts: dict[str, str] | None = None, parents: list[ManifestBase] = ()) -> RunManifest | None:
        """Write config.yaml and the run manifest (last), move the output into place, log the artifacts.

        `parents`: manifests beside the dataset that the run grew from (the run a second stage started from)."""
        if self.rank > 0:
            return None
        import yaml

        self.checkpointed()  # the training is over: its last checkpoint is saved
        out = self.output
        for role, rel in weights.items():
            out.add(role, rel)
        for name, rel in (artifacts or {}).items():
            out.add(name, rel)
        self.metrics_log.path.touch()
        out.add("metrics", METRICS_FILE)
        out.path(CONFIG_FILE).write_text(yaml.safe_dump(to_jsonable(self.config), sort_keys=False))
        out.add("config", CONFIG_FILE)
        best = self._best
        if best is None and self.rows:
            self.log.warning("no epoch has the selection metric %r: the run's metrics are its last epoch's",
                        self.select.metric)
            best = self.rows[-1]
        metrics = {k: float(v) for k, v in (best or {}).items() if is_validation_key(k) and v is not None}
        if metrics:
            self.run.log_metrics({f"best/{k}": v for k, v in metrics.items()})
        manifest = build(RunManifest, id=out.id, parents=[self.dataset, *parents], framework=self.spec.framework,
                         task=self.spec.task, classes=self.classes, dataset_id=self.dataset.id,
                         weights={role: role for role in weights}, imgsz=imgsz, metrics=metrics,
                         tracking=self.run.tracking,
                         details={**details, "select": {"metric": self.select.metric,
                                                        "mode": self.select.mode},
                                  "best_epoch": None if best is None else int(best["epoch"]),
                                  "epochs": len(self.rows), "resumed": self.resumed,
                                  "changed_on_resume": self.changed})
        self.state_file.unlink(missing_ok=True)
        manifest = out.commit(manifest)
        os.environ.pop(DIR_ENV, None)
        self.run.log_artifact(manifest.artifact_path("best"), "weights")
        for name in ("config", "metrics"):
            self.run.log_artifact(manifest.artifact_path(name))
        self.run.log_artifact(manifest.path)
        best_line = f"{self.select.metric} = {self.best_value:.4g} at epoch {best['epoch']}" if self._best else ""
        self.log.info("finished %d epochs%s", len(self.rows), f"; best {best_line}" if best_line else "")
        return manifest
