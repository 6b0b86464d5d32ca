"""`wt-yolo fit`: train an Ultralytics YOLO detector on a dataset manifest.

The recipe, in order: read the dataset, resolve the model (offline), open the
output (`DIR.partial`), start or resume the one MLflow run, train with
Ultralytics into `DIR.partial/train` (our callbacks append `metrics.jsonl` and
log each epoch to MLflow), then record best and last weights, the config and
the final validation metrics in the run manifest, written last.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from wt_core import console, offline
from wt_core.invocation import command, current
from wt_core.manifest import RunManifest
from wt_core.manifest_io import build
from wt_core.metrics_log import MetricsLog, finite_metrics
from wt_core.mlflow_process import MlflowProcess, mlflow_helper
from wt_core.outputs import Output

from wt_yolo.args import UltralyticsArgs
from wt_yolo.data import check_trainable, read_detect_dataset, yolo_data_yaml
from wt_yolo.model import resolve_model
from wt_yolo.select import SelectArgs, whole_image_selection
from wt_yolo.small_data import Defaults, apply_small_data_policy
from wt_yolo.stages import start_from

log = console.get_logger("wt-yolo")
TRAIN_DIR = "train"  # Ultralytics' save_dir inside the partial output
STATE = "wt-yolo-state.json"  # what --resume needs besides last.pt: the MLflow run id


def clean_metric_name(key: str) -> str:
    """Ultralytics' metric keys as MLflow accepts them: 'metrics/mAP50-95(B)' -> 'mAP50-95'."""
    key = key.removeprefix("metrics/")
    for suffix in ("(B)", "(M)", "(P)"):
        key = key.removesuffix(suffix)
    return key.replace("(", "_").replace(")", "")


def finite(metrics: dict) -> dict[str, float]:
    return finite_metrics(metrics, clean_metric_name)


class EpochRecorder:
    """Ultralytics callbacks: each finished epoch goes to metrics.jsonl and the MLflow run.

    `on_fit_epoch_end` runs after every epoch and once more after training for
    the final validation of best.pt; only an epoch is preceded by
    `on_train_epoch_end`, which is how the two are told apart.
    """

    def __init__(self, metrics_log: MetricsLog, run: MlflowProcess):
        self.metrics_log = metrics_log
        self.run = run
        self.pending: int | None = None
        self.final: dict[str, float] = {}
        self.last_epoch: dict[str, float] = {}
        self.epochs_logged = 0

    def on_train_epoch_end(self, trainer) -> None:
        self.pending = trainer.epoch

    def on_fit_epoch_end(self, trainer) -> None:
        if self.pending is None:  # the final validation of best.pt
            self.final = finite(trainer.metrics or {})
            return
        epoch = self.pending + 1  # epochs counted from 1, as in Ultralytics' results.csv
        self.pending = None
        row = {**trainer.label_loss_items(trainer.tloss), **(trainer.metrics or {}), **(trainer.lr or {})}
        if trainer.fitness is not None:
            row["fitness"] = trainer.fitness
        row = finite(row)
        self.metrics_log.write(epoch, row)
        self.last_epoch = row
        self.epochs_logged += 1
        self.run.log_metrics(row, step=epoch)
        log.info("epoch %d: %s", epoch, ", ".join(f"{k}={v:.4g}" for k, v in row.items() if "/" not in k))

    def attach(self, model) -> None:
        model.add_callback("on_train_epoch_end", self.on_train_epoch_end)
        model.add_callback("on_fit_epoch_end", self.on_fit_epoch_end)


def backfill_from_results_csv(csv_path: Path, metrics_log: MetricsLog, run: MlflowProcess) -> dict[str, float]:
    """Epoch metrics from Ultralytics' results.csv when our callbacks did not run (DDP children)."""
    if not csv_path.exists():
        return {}
    last: dict[str, float] = {}
    with open(csv_path, newline="") as f:
        for rec in csv.DictReader(f):
            rec = {k.strip(): v for k, v in rec.items()}
            epoch = int(float(rec.pop("epoch")))
            rec.pop("time", None)
            last = finite(rec)
            metrics_log.write(epoch, last)
            run.log_metrics(last, step=epoch)
    return last


def _train(model_spec: str, data_yaml: Path, out: Output, u: UltralyticsArgs, recorder: EpochRecorder,
           state_file: Path, hooks: tuple = ()) -> Any:
    """Start Ultralytics' training, or continue it from last.pt when resuming.

    Ultralytics is imported and the model built while the MLflow helper starts the run; its id is
    waited for only when it is written to `state_file`, just before training starts.
    """
    from ultralytics import YOLO

    last = out.dir / TRAIN_DIR / "weights" / "last.pt"
    if out.resumed and last.exists():
        import torch

        ckpt = torch.load(last, map_location="cpu", weights_only=False)
        done = int(ckpt.get("epoch", -1)) + 1
        log.info("resuming from %s after %d epochs", last, done)
        recorder.metrics_log.truncate_after(done)
        recorder.run.log_missing_epochs(recorder.metrics_log.read())
        model = YOLO(str(last))
        # Ultralytics restores every argument from the checkpoint; data is the view path (same dataset)
        train_kwargs = {"resume": str(last), "data": str(data_yaml), "workers": u.workers, "device": u.device}
    else:
        if out.resumed:  # killed before the first epoch ended: start this run's training over
            log.info("no last.pt yet in %s: starting the training over", out.dir)
            recorder.metrics_log.path.unlink(missing_ok=True)
        model = YOLO(model_spec)
        train_kwargs = {"data": str(data_yaml), "project": str(out.dir), "name": TRAIN_DIR, "exist_ok": True,
                        **u.to_train_kwargs()}
    state_file.write_text(json.dumps({"mlflow_run_id": recorder.run.tracking.run_id}))
    recorder.attach(model)
    for hook in hooks:  # whole-image selection (wt_yolo.select)
        hook.attach(model)
    model.train(**train_kwargs)
    return model


@command("wt-yolo", "fit")
def fit(data: str, model: str = "yolo11n.yaml", ultralytics: UltralyticsArgs = UltralyticsArgs(),
        out: Path | None = None, overwrite: bool = False, resume: bool = False, experiment: str = "wt-yolo",
        run_name: str | None = None, defaults: Defaults = "wildtrain", select: SelectArgs = SelectArgs()
        ) -> RunManifest:
    """Train an Ultralytics YOLO detector on a detection dataset manifest.

    One MLflow run records the config as params, the metrics of every epoch, best.pt, the config and
    the run manifest. Several GPUs: `--ultralytics.device 0,1` trains with Ultralytics' own DDP.

    Args:
        data: The detection dataset manifest (file, directory, or '-' to read its path from stdin).
        model: A model yaml (`yolo11n.yaml`: from scratch), a weights file, a pretrained name
            (`yolo11n.pt`) found in the current directory or WT_HOME/weights (nothing is downloaded), or a
            run manifest (its best weights: a second stage).
        ultralytics: Ultralytics' train arguments, passed through unchanged.
        out: The output directory (default runs/yolo/fit/<id>).
        overwrite: Replace an existing output directory.
        resume: Continue an interrupted run (same --out) from its last.pt.
        experiment: The MLflow experiment name.
        run_name: The MLflow run name (default: the output directory's name).
        defaults: 'wildtrain': on a small training split, settings that give the model enough weight
            updates (printed, and recorded in the manifest's details.small_data); 'ultralytics': Ultralytics'
            own defaults. A value set explicitly always wins.
        select: The metric best.pt is chosen by (default: mAP50 on the whole val images when the dataset was
            made by `wt-data tile`), and how often whole images are validated.
    """
    offline.apply()
    if isinstance(ultralytics, dict):  # called from Python with a plain dict
        ultralytics = UltralyticsArgs(**ultralytics)
    if isinstance(select, dict):
        select = SelectArgs(**select)
    with mlflow_helper() as run:  # imports mlflow in its own process while the inputs are checked
        ds = read_detect_dataset(data)
        train_split, val_split = check_trainable(ds)
        ultralytics, small_data = apply_small_data_policy(ultralytics, ds.splits[train_split].images, defaults)
        selector = whole_image_selection(ds, val_split, select, ultralytics.imgsz)  # wt_yolo.select
        start, start_run = start_from(model, ds)  # --model RUN: that run's best weights (wt_yolo.stages)
        model_spec = resolve_model(start)
        output = Output("wt-yolo", "fit", out, overwrite=overwrite, resume=resume)
        data_yaml = yolo_data_yaml(ds)
        state_file = output.dir / STATE
        state = json.loads(state_file.read_text()) if output.resumed and state_file.exists() else {}
        metrics_log = MetricsLog(output.dir)
        config = current().config
        run.start(experiment, run_name or output.final.name, params=config,
                  tags={"wt.dataset_id": ds.id, "wt.command": "wt-yolo fit", "wt.output": str(output.final)},
                  run_id=state.get("mlflow_run_id"))
        recorder = EpochRecorder(metrics_log, run)
        selector.metrics_log = metrics_log  # a resumed run's best so far
        trained = _train(model_spec, data_yaml, output, ultralytics, recorder, state_file, hooks=(selector,))
        trainer = trained.trainer
        if recorder.epochs_logged == 0 and not metrics_log.read():
            recorder.last_epoch = backfill_from_results_csv(Path(trainer.csv), metrics_log, run)
        final = {**(recorder.final or recorder.last_epoch), **selector.best_full}
        weights_dir = output.dir / TRAIN_DIR / "weights"
        if not (weights_dir / "best.pt").exists():
            raise RuntimeError(f"Ultralytics finished without writing {weights_dir / 'best.pt'}")
        for role in ("best", "last"):
            output.add(role, f"{TRAIN_DIR}/weights/{role}.pt")
        if (Path(trainer.csv)).exists():
            output.add("results", f"{TRAIN_DIR}/{Path(trainer.csv).name}")
        metrics_log.path.touch()
        output.add("metrics", metrics_log.path.name)
        import yaml

        output.path("config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        output.add("config", "config.yaml")
        run.log_metrics({f"final/{k}": v for k, v in final.items()})
        state_file.unlink(missing_ok=True)
        manifest = build(RunManifest, id=output.id, parents=[ds, *([start_run] if start_run else [])], framework="yolo", task="detect",
                         classes=list(ds.classes), dataset_id=ds.id, weights={"best": "best", "last": "last"},
                         imgsz=int(trainer.args.imgsz), metrics=final, tracking=run.tracking,
                         details={"model": model, "train_split": train_split, "val_split": val_split,
                                  "epochs": int(trainer.epoch) + 1,
                                  "ultralytics_version": _ultralytics_version(),
                                  "small_data": small_data.record(), "selection": selector.record(),
                                  "train_args": {k: _plain(v) for k, v in vars(trainer.args).items()
                                                 if k not in _OURS}})
        manifest = output.commit(manifest)
        for name in ("best", "config"):
            run.log_artifact(manifest.artifact_path(name))
        run.log_artifact(manifest.path)
    return manifest


_OURS = {"project", "name", "save_dir", "resume", "exist_ok", "mode"}  # set by wt-yolo (paths of the .partial dir)


def _plain(v: Any) -> Any:
    return v if v is None or isinstance(v, (bool, int, float, str, list)) else str(v)


def _ultralytics_version() -> str:
    import ultralytics

    return ultralytics.__version__
